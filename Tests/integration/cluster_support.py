"""Several map server instances on one PostgreSQL behind nginx, as an operator runs them: a real
PostgreSQL (Debian's package) in a temporary folder on a free port, nginx (Debian's) balancing over
the instances, and live-feed (SSE) readers. Everything runs on loopback and is stopped even when a
test fails."""
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from conftest import dependency_missing


def free_tcp_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Postgres:
    """initdb, pg_ctl start/restart/stop of a throw-away cluster. As root it runs as `postgres`
    (PostgreSQL refuses to run as root)."""

    def __init__(self):
        found = sorted(glob.glob('/usr/lib/postgresql/*/bin/initdb'), key=lambda p: int(p.split('/')[4]))
        if not found:
            dependency_missing('PostgreSQL (/usr/lib/postgresql/*/bin/initdb): `make deps` installs Debian\'s postgresql')
        self.bin = os.path.dirname(found[-1])
        self.dir = tempfile.mkdtemp(prefix='monnemo-pg-')
        self.as_user = []
        if os.getuid() == 0:
            pw = pwd.getpwnam('postgres')
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.as_user = ['runuser', '-u', 'postgres', '--']
        self.port = free_tcp_port()
        self.data = os.path.join(self.dir, 'data')
        self._run('initdb', '-D', self.data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-instructions')
        self.start()
        self.databases = 0

    def _run(self, tool, *args, timeout=120):
        out = subprocess.run([*self.as_user, os.path.join(self.bin, tool), *args],
                             capture_output=True, text=True, timeout=timeout)
        assert out.returncode == 0, f'{tool} {" ".join(args)}: {out.stdout[-1500:]}{out.stderr[-1500:]}'
        return out.stdout

    def _ctl(self, *args):
        # pg_ctl's server keeps inherited pipes open: its output goes to the log file, not to us.
        subprocess.run([*self.as_user, os.path.join(self.bin, 'pg_ctl'), '-D', self.data, '-l',
                        os.path.join(self.dir, 'log'), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=120, check=True)

    def start(self):
        self._ctl('-w', '-t', '60', '-o', f'-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 '
                  '-c max_connections=300', 'start')

    def restart(self):
        """A fast restart: every connection is cut, the data stays."""
        self._ctl('-w', '-t', '60', '-m', 'fast', 'restart')

    def halt(self):
        """The database goes away (fast shutdown); start() brings it back with its data."""
        self._ctl('-w', '-t', '60', '-m', 'fast', 'stop')

    def stop(self):
        try:
            self._ctl('-w', '-m', 'immediate', 'stop')
        except Exception:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def create_database(self):
        self.databases += 1
        name = f'cluster_{os.getpid()}_{self.databases}'
        subprocess.run(['psql', '-h', '127.0.0.1', '-p', str(self.port), '-U', 'postgres', '-d', 'postgres',
                        '-v', 'ON_ERROR_STOP=1', '-qc', f'CREATE DATABASE {name}'], check=True, capture_output=True)
        return f'postgres://postgres@127.0.0.1:{self.port}/{name}'


class Nginx:
    """nginx in the foreground with its own prefix folder, balancing over the given HTTP ports."""

    def __init__(self, backends):
        if not shutil.which('nginx') and not os.path.exists('/usr/sbin/nginx'):
            dependency_missing('nginx: `make deps` installs Debian\'s nginx')
        self.binary = shutil.which('nginx') or '/usr/sbin/nginx'
        self.dir = tempfile.mkdtemp(prefix='monnemo-nginx-')
        self.port = free_tcp_port()
        servers = '\n'.join(f'        server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;' for p in backends)
        user = 'user root;' if os.getuid() == 0 else ''
        conf = f"""
{user}
worker_processes 1;
daemon off;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {self.dir}/body;
    proxy_temp_path {self.dir}/proxy;
    fastcgi_temp_path {self.dir}/fastcgi;
    uwsgi_temp_path {self.dir}/uwsgi;
    scgi_temp_path {self.dir}/scgi;
    upstream monnemo {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{self.port};
        client_max_body_size 8m;
        location / {{
            proxy_pass http://monnemo;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_buffering off;
            proxy_read_timeout 1h;
        }}
    }}
}}
"""
        path = os.path.join(self.dir, 'nginx.conf')
        with open(path, 'w') as f:
            f.write(conf)
        self.proc = subprocess.Popen([self.binary, '-p', self.dir, '-c', path], stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, 'stderr'), 'w'))
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(('127.0.0.1', self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError('nginx did not start: ' + open(os.path.join(self.dir, 'stderr')).read()[-2000:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class LiveReader:
    """An SSE client of one instance's /api/v1/live: collects (vehicle, seq) of every fix event."""

    def __init__(self, port):
        self.seen = []
        self.lock = threading.Lock()
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=30)
        self.sock.sendall(b'GET /api/v1/live HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n')
        raw = b''
        while b'\r\n\r\n' not in raw:
            chunk = self.sock.recv(65536)
            assert chunk, 'the live feed closed before it answered'
            raw += chunk
        head, self.raw = raw.split(b'\r\n\r\n', 1)
        assert head.startswith(b'HTTP/1.1 200'), head
        self.chunked = b'transfer-encoding: chunked' in head.lower()
        self.text = b''
        self.connected = threading.Event()
        self.sock.settimeout(None)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        assert self.connected.wait(30), 'the live feed sent no `: connected` line'

    def _dechunk(self):
        """Moves whole chunks of the body from raw to text (HTTP/1.1 chunked transfer coding)."""
        if not self.chunked:
            self.text += self.raw
            self.raw = b''
            return
        while b'\r\n' in self.raw:
            size_line, rest = self.raw.split(b'\r\n', 1)
            size = int(size_line.split(b';')[0], 16)
            if len(rest) < size + 2:
                return
            self.text += rest[:size]
            self.raw = rest[size + 2:]

    def _read(self):
        try:
            while True:
                self._dechunk()
                *events, self.text = self.text.split(b'\n\n')
                found = []
                for e in events:
                    lines = e.split(b'\n')
                    if b': connected' in lines:
                        self.connected.set()
                    if b'event: fix' in lines:
                        data = next(l for l in lines if l.startswith(b'data: '))
                        event = json.loads(data[6:])
                        found.append((event['vehicle'], event['seq']))
                with self.lock:
                    self.seen += found
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    return
                self.raw += chunk
        except OSError:
            return

    def keys(self):
        with self.lock:
            return set(self.seen)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
