"""kill -9 the server during a stream of acknowledged batches: after a restart every acknowledged
record is there exactly once."""
import json
import random
import signal
import threading
import time

from conftest import ServerProcess, fix


def test_acknowledged_records_survive_kill_9(data_dir):
    server = ServerProcess(data_dir)
    tokens = [server.add_vehicle(f'v{i}') for i in range(4)]
    acknowledged = {i: set() for i in range(4)}
    server.start()
    stop = threading.Event()
    rnd = random.Random(7)

    def writer(i):
        seq = 0
        while not stop.is_set():
            batch = [fix(seq + k, 1152698400 + seq + k) for k in range(rnd.randint(1, 50))]
            try:
                status, body, _ = server.post_batch(tokens[i], batch)
            except OSError:
                return  # the server died under us: this batch was never acknowledged
            if status == 200:
                acknowledged[i].update(r['seq'] for r in batch)
            seq += len(batch)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(2.5)
    server.kill(signal.SIGKILL)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    total = sum(len(a) for a in acknowledged.values())
    assert total > 100, f'only {total} records were acknowledged before the kill'

    server.start()
    for i in range(4):
        status, body, _ = server.get(f'/api/v1/vehicles/v{i}/readings?kind=fix')
        assert status == 200
        seqs = [r['seq'] for r in json.loads(body)]
        assert len(seqs) == len(set(seqs)), 'a record is stored twice'
        missing = acknowledged[i] - set(seqs)
        assert not missing, f'v{i}: {len(missing)} acknowledged records lost, e.g. {sorted(missing)[:5]}'
    server.kill()
