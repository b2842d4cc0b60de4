"""monnemo-agent against the real monnemo-server: no loss and no duplicates while the server is
down for a minute, while the agent is killed with SIGKILL over and over, and through a lossy TCP
path; and against a fake server that answers 500, 422, garbage or too slowly."""
import http.server
import json
import os
import random
import signal
import socket
import sqlite3
import struct
import subprocess
import threading
import time

import pytest

from conftest import ServerProcess, server_binary


def agent_binary():
    path = os.environ.get('MONNEMO_AGENT') or os.path.join(os.path.dirname(server_binary()), 'monnemo-agent')
    assert os.path.exists(path), f'{path} missing: run `swift build`'
    return path


def write_gpx(path, points):
    """A route of `points` fixes one second apart (a bicycle going east at ~9 m/s)."""
    with open(path, 'w') as f:
        f.write('<?xml version="1.0"?>\n<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">'
                '<trk><trkseg>\n')
        for i in range(points):
            t = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(1152698400 + i))
            f.write(f'<trkpt lat="{43.3 + i * 1e-5:.6f}" lon="{-0.37 + i * 1e-4:.6f}"><ele>{190 + i % 7}</ele>'
                    f'<time>{t}</time></trkpt>\n')
        f.write('</trkseg></trk></gpx>\n')
    return path


class Agent:
    def __init__(self, data, url, token, gpx, speed, *extra):
        self.data, self.args = data, [agent_binary(), 'run', '--server', url, '--token', token, '--data', data,
                                      '--gpx', gpx, '--speed', str(speed), *extra]
        self.proc = None
        self.log_path = os.path.join(data, 'agent.log')

    def start(self):
        os.makedirs(self.data, exist_ok=True)
        self.log = open(self.log_path, 'a')
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f'agent still running after {timeout} s; log: ' + self.tail())
        finally:
            self.log.close()

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)

    def tail(self):
        return open(self.log_path).read()[-3000:]

    def full_log(self):
        return open(self.log_path).read()

    def status(self):
        out = subprocess.run([agent_binary(), 'status', '--data', self.data, '--json'], capture_output=True, text=True, check=True)
        return json.loads(out.stdout)


class LossyProxy:
    """A TCP proxy in front of the server. With probability `loss` a connection is reset before
    the request reaches the server, or (as often) after the server answered but before the answer
    reaches the agent: the case where only a resend and the server's duplicate check prevent loss."""

    def __init__(self, target_port, loss=0.0, seed=7):
        self.target_port, self.loss, self.rng = target_port, loss, random.Random(seed)
        self.counts = {'reset_before': 0, 'drop_answer': 0, 'passed': 0, 'refused': 0}
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.running = True
        threading.Thread(target=self.accept_loop, daemon=True).start()

    @property
    def url(self):
        return f'http://127.0.0.1:{self.port}'

    @staticmethod
    def reset(s):
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            s.close()
        except OSError:
            pass

    def accept_loop(self):
        while self.running:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(client,), daemon=True).start()

    def handle(self, client):
        r = self.rng.random()
        if r < self.loss / 2:
            self.counts['reset_before'] += 1
            return self.reset(client)
        drop_answer = r < self.loss
        try:
            upstream = socket.create_connection(('127.0.0.1', self.target_port), timeout=10)
        except OSError:
            self.counts['refused'] += 1
            return self.reset(client)

        def pump_up():
            try:
                while (chunk := client.recv(65536)):
                    upstream.sendall(chunk)
            except OSError:
                pass
            try:
                upstream.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        threading.Thread(target=pump_up, daemon=True).start()
        try:
            while (chunk := upstream.recv(65536)):
                if drop_answer:
                    self.counts['drop_answer'] += 1
                    break
                client.sendall(chunk)
            else:
                self.counts['passed'] += 1
        except OSError:
            pass
        self.reset(client) if drop_answer else client.close()
        upstream.close()

    def close(self):
        self.running = False
        self.sock.close()


def server_records(data_dir, vehicle):
    db = sqlite3.connect(f'file:{os.path.join(data_dir, "monnemo.sqlite")}?mode=ro', uri=True, timeout=30)
    try:
        return db.execute('SELECT seq, kind, time_us FROM record WHERE vehicle_id = ? ORDER BY seq', (vehicle,)).fetchall()
    finally:
        db.close()


def assert_exactly_once(records, status, min_fixes):
    """The server holds every sequence number the agent ever gave, each once, and nothing else;
    per kind, the times rise with the sequence numbers (no reading stored twice, none reordered)."""
    assert status['depth'] == 0, status
    assert status['quarantined'] == 0, status
    seqs = [r[0] for r in records]
    expected = list(range(status['first_seq'], status['next_seq']))
    missing = sorted(set(expected) - set(seqs))
    extra = sorted(set(seqs) - set(expected))
    assert not missing and not extra, f'{len(missing)} missing (e.g. {missing[:5]}), {len(extra)} unexpected'
    assert seqs == expected
    for kind in ('fix', 'climate', 'picture'):
        times = [r[2] for r in records if r[1] == kind]
        assert all(a < b for a, b in zip(times, times[1:])), f'{kind} times not rising with seq'
    assert sum(1 for r in records if r[1] == 'fix') >= min_fixes


@pytest.fixture
def live(data_dir):
    server = ServerProcess(os.path.join(data_dir, 'server'))
    os.makedirs(server.data)
    token = server.add_vehicle('bike-1')
    server.start()
    proxy = LossyProxy(server.http_port)
    yield server, proxy, token, data_dir
    proxy.close()
    server.kill()


COMMON = ['--climate', 'synthetic', '--climate-interval', '10', '--camera', 'test', '--picture-size', '160x120',
          '--retry-base', '0.1', '--retry-cap', '1', '--request-timeout', '5', '--upload-interval', '0.2',
          '--exit-after-replay']


def test_server_down_for_a_minute(live):
    server, proxy, token, d = live
    gpx = write_gpx(os.path.join(d, 'route.gpx'), 1500)
    agent = Agent(os.path.join(d, 'agent'), proxy.url, token, gpx, 20, *COMMON, '--picture-interval', '30').start()
    time.sleep(4)
    server.stop()
    time.sleep(60)
    status = agent.status()
    assert status['depth'] > 0, 'readings taken while the server was down must wait in the outbox'
    assert status['last_upload'].startswith('failed'), status['last_upload']
    assert agent.proc.poll() is None
    server = ServerProcess(server.data)
    server.start()
    proxy.target_port = server.http_port
    try:
        assert agent.wait(60) == 0, agent.tail()
        records = server_records(server.data, 'bike-1')
        assert_exactly_once(records, agent.status(), 1500)
        assert sum(1 for r in records if r[1] == 'picture') >= 40
        assert sum(1 for r in records if r[1] == 'climate') >= 140
        log = agent.full_log()
        assert 'uploaded' in log and 'failed' in log
    finally:
        server.kill()


def test_sigkill_twenty_times(live):
    server, proxy, token, d = live
    gpx = write_gpx(os.path.join(d, 'route.gpx'), 300)
    rng = random.Random(20)
    data = os.path.join(d, 'agent')
    for _ in range(20):
        agent = Agent(data, proxy.url, token, gpx, 30, *COMMON, '--picture-interval', '5').start()
        time.sleep(rng.uniform(0.3, 2.5))
        agent.kill(signal.SIGKILL)
        agent.log.close()
    agent = Agent(data, proxy.url, token, gpx, 30, *COMMON, '--picture-interval', '5').start()
    assert agent.wait(90) == 0, agent.tail()
    records = server_records(server.data, 'bike-1')
    assert_exactly_once(records, agent.status(), 300)
    assert sum(1 for r in records if r[1] == 'picture') >= 10


def test_lossy_network_path(live):
    server, proxy, token, d = live
    proxy.loss = 0.4
    gpx = write_gpx(os.path.join(d, 'route.gpx'), 400)
    agent = Agent(os.path.join(d, 'agent'), proxy.url, token, gpx, 20, *COMMON, '--picture-interval', '5',
                  '--batch-limit', '50').start()
    assert agent.wait(120) == 0, agent.tail()
    assert_exactly_once(server_records(server.data, 'bike-1'), agent.status(), 400)
    assert proxy.counts['reset_before'] > 0 and proxy.counts['drop_answer'] > 0, proxy.counts
    metrics = server.get('/metrics')[1].decode()
    dup_lines = [l for l in metrics.splitlines() if 'duplicate' in l and not l.startswith('#')]
    assert any(float(l.split()[-1]) > 0 for l in dup_lines), 'answers were lost, so the server must have seen resends'


def test_sigterm_stops_cleanly_and_keeps_the_outbox(live):
    server, proxy, token, d = live
    proxy.target_port = 1  # nothing listens: every upload fails
    gpx = write_gpx(os.path.join(d, 'route.gpx'), 1000)
    agent = Agent(os.path.join(d, 'agent'), proxy.url, token, gpx, 10, '--climate', 'none', '--camera', 'none',
                  '--retry-base', '0.1', '--retry-cap', '0.5').start()
    time.sleep(3)
    started = time.time()
    agent.kill(signal.SIGTERM)
    assert agent.proc.returncode == 0, agent.tail()
    assert time.time() - started < 10
    agent.log.close()
    status = agent.status()
    assert status['depth'] > 5 and status['fix'] == status['depth'] and 'oldest_unsent' in status
    text = subprocess.run([agent_binary(), 'status', '--data', agent.data], capture_output=True, text=True, check=True).stdout
    assert f"outbox: {status['depth']} reading(s) waiting" in text and 'last upload: failed' in text
    assert 'agent stopped' in agent.full_log()


class ScriptedServer(http.server.ThreadingHTTPServer):
    """A fake map server: answers telemetry uploads from a script, then acknowledges properly."""

    def __init__(self, script):
        self.script, self.requests, self.times, self.stored, self.tokens = list(script), 0, [], {}, []
        super().__init__(('127.0.0.1', 0), ScriptedHandler)


class ScriptedHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def do_POST(self):
        s = self.server
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        s.requests += 1
        s.times.append(time.monotonic())
        answer = s.script.pop(0) if s.script else None
        if answer == 'slow':
            time.sleep(3)
            answer = None
        if answer == '500':
            return self.reply(500, b'{"error":"internal","detail":"boom"}')
        if answer == 'garbage':
            return self.reply(200, b'\x00\xffnot json at all')
        if answer == '422':
            return self.reply(422, b'{"error":"invalid_record","detail":"record 0: lat 95 outside -90..90; nothing of this batch was stored","index":0}')
        if isinstance(answer, tuple):  # (status, body) as given: hostile answers
            return self.reply(answer[0], answer[1])
        s.tokens.append(self.headers.get('Authorization'))
        records = json.loads(body)['records']
        for r in records:
            s.stored[r['seq']] = r
        return self.reply(200, json.dumps({'accepted': len(records), 'duplicates': 0}).encode())

    def reply(self, status, body):
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_bad_answers_are_retried_or_quarantined_without_a_hot_loop(data_dir):
    fake = ScriptedServer(['500', 'garbage', 'slow', '500', '422', '500', 'garbage'])
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    try:
        gpx = write_gpx(os.path.join(data_dir, 'route.gpx'), 20)
        agent = Agent(os.path.join(data_dir, 'agent'), f'http://127.0.0.1:{fake.server_address[1]}', 'token', gpx, 20,
                      '--climate', 'none', '--camera', 'none', '--retry-base', '0.2', '--retry-cap', '1',
                      '--request-timeout', '1', '--upload-interval', '0.2', '--exit-after-replay').start()
        assert agent.wait(60) == 0, agent.tail()
        status = agent.status()
        assert status['depth'] == 0 and status['quarantined'] == 1, status
        quarantined = status['quarantine'][0]
        assert 'lat 95' in quarantined['reason']
        # Every reading but the refused one arrived (the slow answer's batch may hold it too: the
        # fake stored that batch after the agent had given up waiting).
        every = set(range(status['first_seq'], status['next_seq']))
        assert every - {quarantined['seq']} <= set(fake.stored) <= every
        # Seven bad answers, then a few good uploads: no hot loop.
        assert fake.requests <= 7 + 25, fake.requests
        gaps = [b - a for a, b in zip(fake.times, fake.times[1:])][:4]
        assert all(g >= 0.09 for g in gaps), gaps
        log = agent.full_log()
        assert 'quarantined' in log and 'HTTP 500' in log and 'retry' in log
    finally:
        fake.shutdown()


# Answers a server (or a man in the middle) could send; each once, then proper acknowledgements.
HOSTILE_ANSWERS = [
    (200, b'{"accepted": 9223372036854775807, "duplicates": 1}'),
    (200, b'{"accepted": 1, "duplicates": 9223372036854775807}'),
    (200, b'{"accepted": 18446744073709551616, "duplicates": -18446744073709551615}'),
    (200, b'{"accepted": 1e300, "duplicates": -1e300}'),
    (200, b'{"accepted": -1, "duplicates": 2}'),
    (422, b'{"error":"invalid_record","detail":"record 9223372036854775807: x","index":9223372036854775807}'),
    (422, b'{"error":"invalid_record","detail":"record 99999999999999999999999: x"}'),
    (200, b'[' * 5000),
]


def test_hostile_answers_never_crash_the_agent(data_dir):
    fake = ScriptedServer(HOSTILE_ANSWERS)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    try:
        gpx = write_gpx(os.path.join(data_dir, 'route.gpx'), 30)
        agent = Agent(os.path.join(data_dir, 'agent'), f'http://127.0.0.1:{fake.server_address[1]}', 'token', gpx, 20,
                      '--climate', 'none', '--camera', 'none', '--retry-base', '0.05', '--retry-cap', '0.2',
                      '--upload-interval', '0.1', '--exit-after-replay').start()
        assert agent.wait(90) == 0, agent.tail()
        status = agent.status()
        # Nothing was taken for an acknowledgement on a lie: every reading arrived, except the one a
        # 422 refused while the agent was sending one at a time (a 422 on a single record is a refusal
        # of that record, and it is quarantined, with the server's reason).
        assert status['depth'] == 0 and status['quarantined'] <= 1, status
        quarantined = {q['seq'] for q in status['quarantine']}
        assert all('record 99999999999999999999999' in q['reason'] for q in status['quarantine'])
        assert set(fake.stored) | quarantined == set(range(status['first_seq'], status['next_seq']))
        assert fake.requests > len(HOSTILE_ANSWERS)
    finally:
        fake.shutdown()


def test_the_token_leaves_the_command_line(data_dir):
    fake = ScriptedServer([])
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    url = f'http://127.0.0.1:{fake.server_address[1]}'
    gpx = write_gpx(os.path.join(data_dir, 'route.gpx'), 5)
    token_file = os.path.join(data_dir, 'token')
    with open(token_file, 'w') as f:
        f.write('tok-from-a-file\n')
    try:
        base = [agent_binary(), 'run', '--server', url, '--gpx', gpx, '--speed', '20', '--climate', 'none',
                '--camera', 'none', '--upload-interval', '0.1', '--exit-after-replay']
        env = {k: v for k, v in os.environ.items() if k != 'MONNEMO_TOKEN'}
        # A token file others may read is refused, saying what to do.
        os.chmod(token_file, 0o644)
        out = subprocess.run(base + ['--data', os.path.join(data_dir, 'a'), '--token-file', token_file],
                             capture_output=True, text=True, env=env, timeout=60)
        assert out.returncode != 0 and 'chmod 600' in out.stderr and '0644' in out.stderr, out.stderr
        os.chmod(token_file, 0o600)
        out = subprocess.run(base + ['--data', os.path.join(data_dir, 'a'), '--token-file', token_file],
                             capture_output=True, text=True, env=env, timeout=60)
        assert out.returncode == 0, out.stderr[-2000:]
        assert 'clear text' not in out.stderr  # loopback: no warning
        out = subprocess.run(base + ['--data', os.path.join(data_dir, 'b')], capture_output=True, text=True,
                             env=dict(env, MONNEMO_TOKEN='tok-from-env'), timeout=60)
        assert out.returncode == 0, out.stderr[-2000:]
        assert set(fake.tokens) == {'Bearer tok-from-a-file', 'Bearer tok-from-env'}, set(fake.tokens)
        # Neither a token nor two of them.
        out = subprocess.run(base + ['--data', os.path.join(data_dir, 'c')], capture_output=True, text=True, env=env, timeout=60)
        assert out.returncode != 0 and '--token-file' in out.stderr and 'MONNEMO_TOKEN' in out.stderr
        out = subprocess.run(base + ['--data', os.path.join(data_dir, 'c'), '--token-file', token_file],
                             capture_output=True, text=True, env=dict(env, MONNEMO_TOKEN='x'), timeout=60)
        assert out.returncode != 0 and 'more than once' in out.stderr
        # Plain http to another host: a warning (drain with an empty outbox sends nothing).
        os.makedirs(os.path.join(data_dir, 'd'))
        out = subprocess.run([agent_binary(), 'drain', '--server', 'http://map.example.org', '--data', os.path.join(data_dir, 'd')],
                             capture_output=True, text=True, env=dict(env, MONNEMO_TOKEN='x'), timeout=60)
        assert out.returncode == 0 and 'clear text' in out.stderr and 'map.example.org' in out.stderr, out.stderr
    finally:
        fake.shutdown()


def test_flags_that_would_trap_are_refused(data_dir):
    base = [agent_binary(), 'run', '--server', 'http://127.0.0.1:9', '--data', os.path.join(data_dir, 'a'), '--camera', 'none']
    env = dict(os.environ, MONNEMO_TOKEN='x')
    for flag, value in [('--retry-base', '1e300'), ('--retry-cap', 'nan'), ('--climate-interval', 'inf'),
                        ('--picture-interval', '-1'), ('--request-timeout', '1e20'), ('--upload-interval', '1e19'),
                        ('--speed', '0'), ('--outbox-cap-mb', '99999999999999'), ('--picture-size', '99999999999999999999x2')]:
        out = subprocess.run(base + [flag, value], capture_output=True, text=True, env=env, timeout=60)
        assert out.returncode != 0 and out.returncode != -4 and out.returncode != 132, (flag, out.returncode, out.stderr)
        assert 'Fatal error' not in out.stderr, (flag, out.stderr)


def test_https_is_refused_with_what_to_do_instead(data_dir):
    """The agent has no TLS: an https:// server is refused at start, saying why and what to do."""
    env = dict(os.environ, MONNEMO_TOKEN='x')
    for command in (['run', '--camera', 'none', '--climate', 'none', '--gpsd', '127.0.0.1:1'], ['drain', '--timeout', '5']):
        out = subprocess.run([agent_binary(), command[0], '--server', 'https://map.example.org', '--data',
                              os.path.join(data_dir, 'a'), *command[1:]], capture_output=True, text=True, env=env, timeout=60)
        assert out.returncode != 0, (command, out.stderr)
        assert 'https:// is not supported' in out.stderr and 'TLS-terminating proxy' in out.stderr, out.stderr
        assert 'Fatal error' not in out.stderr, out.stderr


def test_a_corrupt_outbox_is_moved_aside(data_dir):
    fake = ScriptedServer([])
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    try:
        folder = os.path.join(data_dir, 'agent')
        os.makedirs(folder)
        with open(os.path.join(folder, 'outbox.sqlite'), 'wb') as f:
            f.write(b'not a database at all' * 100)
        gpx = write_gpx(os.path.join(data_dir, 'route.gpx'), 5)
        agent = Agent(folder, f'http://127.0.0.1:{fake.server_address[1]}', 'token', gpx, 20,
                      '--climate', 'none', '--camera', 'none', '--upload-interval', '0.1', '--exit-after-replay').start()
        assert agent.wait(60) == 0, agent.tail()
        aside = [n for n in os.listdir(folder) if n.startswith('outbox.sqlite.corrupt-')]
        assert len(aside) == 1 and open(os.path.join(folder, aside[0]), 'rb').read().startswith(b'not a database')
        assert 'THE OUTBOX WAS DAMAGED' in agent.full_log()
        assert len(fake.stored) == 5
    finally:
        fake.shutdown()


class SlowLinkHandler(http.server.BaseHTTPRequestHandler):
    """A map server behind a slow uplink: picture bodies arrive over 2.5 s + 0.4 s per 8 KiB, longer
    than the agent's --request-timeout (2 s) but within what a size-proportional timeout allows."""
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def do_POST(self):
        s = self.server
        length = int(self.headers.get('Content-Length', 0))
        if self.path.startswith('/api/v1/pictures'):
            s.picture_attempts += 1
            seconds = 2.5 + 0.4 * length / 8192
            body, started = b'', time.monotonic()
            while len(body) < length:
                body += self.rfile.read(min(4096, length - len(body)))
                wait = started + seconds * len(body) / length - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            seq = int(self.path.split('seq=')[1].split('&')[0])
            s.pictures[seq] = len(body)
            reply = json.dumps({'id': f'v-{seq}', 'duplicate': False}).encode()
            status = 201
        else:
            records = json.loads(self.rfile.read(length))['records']
            reply = json.dumps({'accepted': len(records), 'duplicates': 0}).encode()
            status = 200
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


def test_large_pictures_on_a_slow_link_get_time_in_proportion(data_dir):
    fake = http.server.ThreadingHTTPServer(('127.0.0.1', 0), SlowLinkHandler)
    fake.picture_attempts, fake.pictures = 0, {}
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    try:
        gpx = write_gpx(os.path.join(data_dir, 'route.gpx'), 8)
        agent = Agent(os.path.join(data_dir, 'agent'), f'http://127.0.0.1:{fake.server_address[1]}', 'token', gpx, 1,
                      '--climate', 'none', '--camera', 'test', '--picture-interval', '3', '--picture-size', '640x480',
                      '--request-timeout', '2', '--retry-base', '0.2', '--retry-cap', '1', '--upload-interval', '0.2',
                      '--exit-after-replay').start()
        assert agent.wait(120) == 0, agent.tail()
        status = agent.status()
        assert status['depth'] == 0 and status['picture'] == 0, status
        assert fake.pictures and min(fake.pictures.values()) > 8192, fake.pictures
        # Each picture took longer than --request-timeout and still went through on the first try.
        assert fake.picture_attempts == len(fake.pictures), (fake.picture_attempts, fake.pictures)
    finally:
        fake.shutdown()
