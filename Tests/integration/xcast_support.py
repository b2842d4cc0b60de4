"""Shared helpers for the xcast6 tests: the binary, free UDP ports, processes that are always stopped."""
import os
import signal
import socket
import subprocess
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
RTP_CAPS = 'application/x-rtp,media=video,clock-rate=90000,encoding-name=JPEG,payload=26'


def xcast6_binary():
    path = os.environ.get('XCAST6')
    if not path:
        out = subprocess.run(['swift', 'build', '--show-bin-path'], cwd=ROOT, capture_output=True, text=True, check=True)
        path = os.path.join(out.stdout.strip(), 'xcast6')
    assert os.path.exists(path), f'{path} missing: run `swift build`'
    return path


def free_udp_ports(n, family=socket.AF_INET6, addr='::1'):
    """n even ports p with p and p+1 free (RTP and RTCP)."""
    ports = []
    while len(ports) < n:
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.bind((addr, 0))
        p = s.getsockname()[1]
        s.close()
        if p % 2 == 1 or p + 1 > 65535 or p in ports or p + 1 in ports:
            continue
        try:
            t = socket.socket(family, socket.SOCK_DGRAM)
            t.bind((addr, p + 1))
            t.close()
        except OSError:
            continue
        ports.append(p)
    return ports


class Procs:
    """Started processes, stopped (SIGINT, then SIGKILL) when the test ends, pass or fail."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []

    def start(self, name, argv, **kw):
        log = open(os.path.join(self.tmp, name + '.log'), 'w')
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, **kw)
        p.name = name
        p.log_path = log.name
        self.procs.append(p)
        return p

    def log(self, p):
        return open(p.log_path).read()

    def stop(self, p, timeout=15):
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return p.returncode

    def stop_all(self):
        for p in reversed(self.procs):
            self.stop(p, timeout=5)


def wait_for(predicate, timeout, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
