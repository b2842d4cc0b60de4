"""Three monnemo-server instances on one PostgreSQL behind nginx, as an operator following a whole race
runs them. Writers that behave like real clients (every batch resent until it is acknowledged, and
some acknowledged batches sent again, as by a client that lost its bookkeeping) post through the
balancer while one instance is killed with SIGKILL and PostgreSQL is restarted. Afterwards every
record is readable exactly once, and the live feed of every instance showed every record, whichever
instance stored it."""
import json
import random
import signal
import threading
import time
from collections import Counter

import pytest

from cluster_support import LiveReader, Nginx, Postgres, free_tcp_port
from conftest import ServerProcess, all_readings, fix

INSTANCES = 3
WRITERS = 4
START_CLOCK = time.monotonic()
START = time.time() - 3600  # fix times: the last hour (the live feed shows them, none is in the future)


@pytest.fixture
def postgres():
    pg = Postgres()
    yield pg
    pg.stop()


class Writer:
    """One vehicle's client: numbered batches, each resent until acknowledged, a few at a time."""

    def __init__(self, url_port, token, seed):
        self.port, self.token, self.rnd = url_port, token, random.Random(seed)
        self.next_seq = 0
        self.acknowledged = []
        self.refusals = Counter()  # answers other than 200 (and connection errors) that were resent
        self.log = []               # (seconds since START_CLOCK, answer) of each refusal, for the failure message
        self.duplicates_reported = 0

    def post(self, batch):
        import urllib.error
        import urllib.request
        req = urllib.request.Request(f'http://127.0.0.1:{self.port}/api/v1/telemetry', method='POST',
                                     data=json.dumps({'records': batch}).encode(),
                                     headers={'Authorization': 'Bearer ' + self.token,
                                              'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, None
        except OSError as e:
            return type(e).__name__, None

    def send_until_acknowledged(self, batch, deadline):
        while time.time() < deadline:
            status, answer = self.post(batch)
            if status == 200:
                assert answer['accepted'] + answer['duplicates'] == len(batch), answer
                self.duplicates_reported += answer['duplicates']
                self.acknowledged.append(batch)
                return answer
            self.refusals[status] += 1
            self.log.append((round(time.monotonic() - START_CLOCK, 2), status))
            time.sleep(0.1)
        raise AssertionError(f'a batch was never acknowledged (refusals, seconds into the test: {self.log[-10:]})')

    def new_batch(self):
        n = self.rnd.randint(1, 8)
        batch = [fix(s, START + s * 0.01, lat=48 + s * 1e-5, lon=2.0) for s in range(self.next_seq, self.next_seq + n)]
        self.next_seq += n
        return batch

    def run_until(self, stop):
        while not stop.is_set():
            self.send_until_acknowledged(self.new_batch(), time.time() + 60)
            time.sleep(0.05)


def wait_until(predicate, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline and not predicate():
        time.sleep(0.1)
    return predicate()


def test_instances_behind_nginx_survive_a_kill_and_a_database_restart(postgres, data_dir):
    global START_CLOCK
    START_CLOCK = time.monotonic()
    url = postgres.create_database()
    # One client address (127.0.0.1 via nginx) writes for every vehicle as fast as it can: the
    # per-client limit is policy, not what this test is about.
    extra = ['--database', url, '--rate-limit', 'off', '--token-rate-limit', 'off']
    instances = [ServerProcess(data_dir, extra, name=f'instance{k}', http_port=free_tcp_port()) for k in range(INSTANCES)]
    nginx = None
    readers = []
    try:
        tokens = [instances[0].add_vehicle(f'bike-{i}', '--database', url) for i in range(WRITERS)]
        for s in instances:
            s.start()
        nginx = Nginx([s.http_port for s in instances])
        readers = [LiveReader(s.http_port) for s in instances]
        writers = [Writer(nginx.port, tokens[i], seed=11 + i) for i in range(WRITERS)]
        stop = threading.Event()
        failures = []

        def run(w):
            try:
                w.run_until(stop)
            except BaseException as e:  # noqa: B036 - reported below
                failures.append(e)

        threads = [threading.Thread(target=run, args=(w,)) for w in writers]
        for t in threads:
            t.start()
        acknowledged = lambda: sum(len(w.acknowledged) for w in writers)  # noqa: E731
        progress = []
        time.sleep(2)
        progress.append(acknowledged())
        print(f'{time.monotonic() - START_CLOCK:.2f} s: kill -9 instance 1')
        instances[1].kill(signal.SIGKILL)          # mid-ingest: its answers in flight are lost
        assert instances[1].proc.returncode == -signal.SIGKILL
        time.sleep(2)
        progress.append(acknowledged())
        print(f'{time.monotonic() - START_CLOCK:.2f} s: restart PostgreSQL')
        postgres.restart()                          # every connection of every instance is cut
        time.sleep(2)
        progress.append(acknowledged())
        print(f'{time.monotonic() - START_CLOCK:.2f} s: start instance 1 again')
        instances[1].start()                        # back on its port, on its own
        readers.append(LiveReader(instances[1].http_port))
        time.sleep(3)
        progress.append(acknowledged())
        stop.set()
        for t in threads:
            t.join(timeout=120)
        assert not failures, failures[0]
        # Writes were acknowledged before the kill, between the kill and the restart, and again after
        # the restart (a request caught in the restart may wait up to 5 s before its 503).
        assert progress[0] > 0 and progress[1] > progress[0] and progress[3] > progress[1], \
            f'acknowledged batches at the kill, the restart, the instance\'s return and the end: {progress}'
        refused = sum((w.refusals for w in writers), Counter())

        # Clients that lost their bookkeeping send their last acknowledged batches again.
        forgotten = 0
        for w in writers:
            for batch in w.acknowledged[-3:]:
                answer = w.send_until_acknowledged(batch, time.time() + 30)
                assert answer['duplicates'] == len(batch), f'a resent batch was stored again: {answer}'
                forgotten += len(batch)
        # A last batch each, seen by the restarted instance's new live reader too.
        final = {(f'bike-{i}', s['seq']) for i, w in enumerate(writers)
                 for s in w.send_until_acknowledged(w.new_batch(), time.time() + 30) and w.acknowledged[-1]}

        for i, w in enumerate(writers):
            seqs = all_readings(instances[0], f'bike-{i}', port=nginx.port)
            twice = [s for s, n in Counter(seqs).items() if n > 1]
            assert not twice, f'bike-{i}: stored more than once: {twice[:5]}'
            assert set(seqs) == set(range(w.next_seq)), \
                f'bike-{i}: {len(set(range(w.next_seq)) - set(seqs))} acknowledged records missing'
        stored = {(f'bike-{i}', s) for i, w in enumerate(writers) for s in range(w.next_seq)}

        # The live feeds: the instances never killed saw every record, whichever instance stored it
        # (also what was stored while PostgreSQL restarted); the restarted one sees what came after.
        for k in (0, 2):
            assert wait_until(lambda: stored <= readers[k].keys(), 20), \
                f'instance {k} live feed missed {len(stored - readers[k].keys())} of {len(stored)} records, ' \
                f'e.g. {sorted(stored - readers[k].keys())[:5]}'
        assert wait_until(lambda: final <= readers[-1].keys(), 20), \
            f'the restarted instance\'s live feed missed {sorted(final - readers[-1].keys())[:5]}'
        print(f'records {len(stored)}, resent and absorbed {forgotten}, duplicates reported '
              f'{sum(w.duplicates_reported for w in writers)}, refused answers {dict(refused)}')
    finally:
        for s in instances:  # shown when the test fails: what went wrong, without the request lines
            lines = [l for l in open(s.log_path, errors='replace') if ' 200 ' not in l]
            print(f'--- {s.log_path}\n' + ''.join(lines[-40:]))
        for r in readers:
            r.close()
        if nginx:
            nginx.stop()
        for s in instances:
            s.kill()


def test_an_instance_that_loses_the_database_answers_503_and_recovers_on_its_own(postgres, data_dir):
    url = postgres.create_database()
    server = ServerProcess(data_dir, ['--database', url], name='alone')
    try:
        token = server.add_vehicle('car', '--database', url)
        server.start()
        assert server.post_batch(token, [fix(1, START)])[0] == 200
        postgres.halt()
        started = time.time()
        status, body, headers = server.post_batch(token, [fix(2, START + 1)])
        assert status == 503, (status, body)
        assert headers.get('Retry-After') == '5' and json.loads(body)['error'] == 'busy', (headers, body)
        assert time.time() - started < 15, 'the refusal took longer than the connection wait'
        assert server.get('/healthz')[0] == 503
        assert server.proc.poll() is None, 'the server died without its database'
        postgres.start()
        # Back on its own: the refused batch was not stored, the resend is new, not a duplicate.
        assert wait_until(lambda: server.get('/healthz')[0] == 200, 30), 'the server did not reconnect'
        status, body, _ = server.post_batch(token, [fix(2, START + 1)])
        answer = json.loads(body)
        assert status == 200 and (answer['accepted'], answer['duplicates']) == (1, 0), body
        assert all_readings(server, 'car') == [1, 2]
    finally:
        print(open(server.log_path, errors='replace').read()[-3000:])
        server.kill()


# A well-formed JPEG without metadata (the server stores it byte for byte).
JPEG = (bytes([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10]) + b'JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00'
        + bytes([0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x11, 0x00])
        + bytes([0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]) + b'\x34' * 100 + bytes([0xFF, 0xD9]))


def test_a_picture_posted_to_one_instance_is_served_by_another(postgres, data_dir):
    # The instances share the data folder, where picture files live (their rows are in PostgreSQL).
    url = postgres.create_database()
    a = ServerProcess(data_dir, ['--database', url], name='a')
    b = ServerProcess(data_dir, ['--database', url], name='b')
    try:
        token = a.add_vehicle('car', '--database', url)
        a.start()
        b.start()
        headers = {'Authorization': 'Bearer ' + token, 'Content-Type': 'image/jpeg'}
        status, body, _ = a.request('POST', '/api/v1/pictures?seq=7&time=2006-07-12T10:00:02Z', JPEG, headers)
        assert status == 201 and json.loads(body) == {'id': 'car-7', 'duplicate': False}, body
        assert b.get('/api/v1/pictures/car-7')[:2] == (200, JPEG)
        assert json.loads(b.get('/api/v1/vehicles/car/pictures')[1])[0]['id'] == 'car-7'
        # The same picture resent to the other instance is a duplicate there too.
        status, body, _ = b.request('POST', '/api/v1/pictures?seq=7&time=2006-07-12T10:00:02Z', JPEG, headers)
        assert status in (200, 201) and json.loads(body)['duplicate'] is True, body
        # An instance starting later keeps the other's young picture file (its row may be a moment away).
        b.kill()
        b.start()
        assert a.get('/api/v1/pictures/car-7')[:2] == (200, JPEG)
    finally:
        a.kill()
        b.kill()
