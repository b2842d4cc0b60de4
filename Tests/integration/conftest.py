"""Fixtures that run the real monnemo-server binary on free loopback ports with a fresh data folder."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))

# `make test` installs every dependency and sets NAUTILUS_STRICT=1 (so does CI): a missing one then
# fails the test instead of skipping it. The only skip strict mode allows is a missing hardware device.
STRICT = os.environ.get('NAUTILUS_STRICT') == '1'
HARDWARE = 'hardware: '


def dependency_missing(what):
    """A test cannot run because `what` is missing: a failure in strict mode, a skip otherwise."""
    if STRICT:
        pytest.fail(f'{what} (strict mode, NAUTILUS_STRICT=1: `make test` installs it, so its absence fails the run)',
                    pytrace=False)
    pytest.skip(what)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Strict mode turns any other skip (importorskip, a stray pytest.skip) into a failure."""
    outcome = yield
    report = outcome.get_result()
    if STRICT and report.skipped and not getattr(report, 'wasxfail', None):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if not reason.startswith('Skipped: ' + HARDWARE) and not reason.startswith(HARDWARE):
            report.outcome = 'failed'
            report.longrepr = f'strict mode (NAUTILUS_STRICT=1) allows no skip but a missing hardware device: {reason}'


def server_binary():
    path = os.environ.get('MONNEMO_SERVER')
    if not path:
        out = subprocess.run(['swift', 'build', '--show-bin-path'], cwd=ROOT,
                             capture_output=True, text=True, check=True)
        path = os.path.join(out.stdout.strip(), 'monnemo-server')
    assert os.path.exists(path), f'{path} missing: run `swift build`'
    return path


class ServerProcess:
    """One monnemo-server process; start() waits until /healthz answers."""

    def __init__(self, data, extra=(), name='server', http_port=0):
        self.binary = server_binary()
        self.data = data
        self.extra = list(extra)
        self.proc = None
        self.http_port = None
        self.fixed_http_port = http_port  # 0: any free port (an instance behind a balancer keeps its own)
        self.osmand_port = None
        self.osmand_ids = {}
        # Several instances may share one data folder (their pictures): each has its own log and port file.
        self.log_path = os.path.join(data, name + '.log')
        self.port_file = os.path.join(data, name + '.ports')

    def cli(self, *args, check=True):
        return subprocess.run([self.binary, *args, '--data', self.data], capture_output=True, text=True, check=check)

    def add_vehicle(self, vid, *extra):
        """Registers a vehicle; returns its token (the last line) and keeps its OsmAnd device id."""
        lines = self.cli('vehicle', 'add', vid, *extra).stdout.strip().splitlines()
        self.osmand_ids[vid] = next(l.split(': ', 1)[1] for l in lines if l.startswith('osmand-id: '))
        return lines[-1]

    def start(self):
        port_file = self.port_file
        if os.path.exists(port_file):
            os.unlink(port_file)
        self.log = open(self.log_path, 'a')
        self.proc = subprocess.Popen(
            [self.binary, 'serve', '--data', self.data, '--bind', '127.0.0.1', '--http-port', str(self.fixed_http_port), '--osmand-port', '0',
             '--web-dir', os.path.join(ROOT, 'Web'), '--tile-url', '', '--port-file', port_file, *self.extra],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if os.path.exists(port_file):
                ports = dict(line.split() for line in open(port_file).read().split('\n') if line.strip())
                if 'http' in ports and 'osmand' in ports:
                    self.http_port, self.osmand_port = int(ports['http']), int(ports['osmand'])
                    try:
                        if self.get('/healthz')[0] == 200:
                            return self
                    except OSError:
                        pass
            if self.proc.poll() is not None:
                raise RuntimeError('monnemo-server exited: ' + open(self.log_path).read()[-2000:])
            time.sleep(0.05)
        raise RuntimeError('monnemo-server did not come up: ' + open(self.log_path).read()[-2000:])

    @property
    def url(self):
        return f'http://127.0.0.1:{self.http_port}'

    def request(self, method, path, body=None, headers=None, port=None):
        url = f'http://127.0.0.1:{port or self.http_port}{path}'
        req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read(), dict(e.headers)

    def get(self, path):
        return self.request('GET', path)

    def post_batch(self, token, records):
        return self.request('POST', '/api/v1/telemetry', json.dumps({'records': records}).encode(),
                            {'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'})

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
        if getattr(self, 'log', None):
            self.log.close()

    def stop(self):
        self.kill(signal.SIGTERM)


@pytest.fixture
def data_dir():
    d = tempfile.mkdtemp(prefix='monnemo-it-')
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def server(data_dir):
    s = ServerProcess(data_dir)
    yield s
    s.kill()


def fix(seq, t, lat=48.0, lon=2.0, **extra):
    rec = {'seq': seq, 'time': time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t)) + '.%03dZ' % int((t % 1) * 1000),
           'kind': 'fix', 'lat': lat, 'lon': lon, 'mode': 3}
    rec.update(extra)
    return rec


def all_readings(server, vehicle, port=None):
    """Every fix of a vehicle through the public API, following the paging links (`port`: another
    listener for the same data, such as a balancer in front of several instances)."""
    seqs, url = [], f'/api/v1/vehicles/{vehicle}/readings?kind=fix&limit=5000'
    while url:
        status, body, headers = server.request('GET', url, port=port)
        assert status == 200, body[:200]
        seqs += [r['seq'] for r in json.loads(body)]
        link = headers.get('Link')
        url = link[1:link.index('>')] if link else None
    return seqs
