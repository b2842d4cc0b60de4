"""kill -9 the server during a stream of batches from writers that behave like real clients: after
the restart they resend everything that was not acknowledged (and, like a client killed between an
answer and its bookkeeping, what was acknowledged just before the kill), so duplicates really reach
the server. Then every record must be readable through the API exactly once."""
import json
import random
import signal
import threading
import time
from collections import Counter

from conftest import ServerProcess, all_readings, fix

WRITERS = 4
# Acknowledgements received this long before the kill are "forgotten" by the writer, as by a client
# that was killed between reading the answer and recording it: it sends those batches again.
FORGET_WINDOW = 0.5


class Writer:
    """One client: numbered batches, each resent until acknowledged."""

    def __init__(self, server, token, seed):
        self.server, self.token, self.rnd = server, token, random.Random(seed)
        self.next_seq = 0
        self.unacknowledged = []  # batches sent (or about to be) without an answer
        self.acknowledged = []    # (time of the answer, batch)
        self.duplicates_reported = 0

    def new_batch(self):
        batch = [fix(self.next_seq + k, 1152698400 + self.next_seq + k) for k in range(self.rnd.randint(1, 50))]
        self.next_seq += len(batch)
        return batch

    def send(self, batch):
        """True when the server acknowledged the batch."""
        try:
            status, body, _ = self.server.post_batch(self.token, batch)
        except OSError:
            return False
        if status != 200:
            return False
        answer = json.loads(body)
        assert answer['accepted'] + answer['duplicates'] == len(batch)
        self.duplicates_reported += answer['duplicates']
        self.acknowledged.append((time.monotonic(), batch))
        return True

    def run_until(self, stop):
        while not stop.is_set():
            batch = self.new_batch()
            self.unacknowledged.append(batch)
            if not self.send(batch):
                return  # the server died under us: this batch (and the rest) is not acknowledged
            self.unacknowledged.remove(batch)

    def forget_recent(self, killed_at):
        recent = [b for t, b in self.acknowledged if t >= killed_at - FORGET_WINDOW]
        self.acknowledged = [(t, b) for t, b in self.acknowledged if t < killed_at - FORGET_WINDOW]
        self.unacknowledged = recent + self.unacknowledged
        return sum(len(b) for b in recent)

    def resend(self):
        while self.unacknowledged:
            assert self.send(self.unacknowledged[0]), 'the restarted server refused a resend'
            self.unacknowledged.pop(0)

    def sent_seqs(self):
        return set(range(self.next_seq))


def test_acknowledged_records_survive_kill_9_exactly_once(data_dir):
    # Every writer is on 127.0.0.1 and writes as fast as it can: the per-client limit would hold them
    # all to one client's rate, and the per-token limit (200 requests' burst) each writer to 50
    # requests/s, and a writer that gets 429 stops. This test is about commits under full load, so
    # both limits are off.
    server = ServerProcess(data_dir, ['--rate-limit', 'off', '--token-rate-limit', 'off'])
    tokens = [server.add_vehicle(f'v{i}') for i in range(WRITERS)]
    server.start()
    writers = [Writer(server, tokens[i], seed=7 + i) for i in range(WRITERS)]
    stop = threading.Event()
    threads = [threading.Thread(target=w.run_until, args=(stop,)) for w in writers]
    for t in threads:
        t.start()
    time.sleep(2.5)
    server.kill(signal.SIGKILL)
    killed_at = time.monotonic()
    stop.set()
    for t in threads:
        t.join(timeout=30)
    acknowledged_before = {i: {r['seq'] for _, b in w.acknowledged for r in b} for i, w in enumerate(writers)}
    total = sum(len(a) for a in acknowledged_before.values())
    assert total > 100, f'only {total} records were acknowledged before the kill'
    forgotten = sum(w.forget_recent(killed_at) for w in writers)
    assert forgotten > 0, 'no acknowledgement fell in the window: nothing would be sent twice'

    server.start()
    duplicates_before = sum(w.duplicates_reported for w in writers)
    for w in writers:
        w.resend()
    # The resends really reached the server as duplicates (each forgotten record at least).
    assert sum(w.duplicates_reported for w in writers) - duplicates_before >= forgotten

    for i, w in enumerate(writers):
        seqs = all_readings(server, f'v{i}')
        twice = [s for s, n in Counter(seqs).items() if n > 1]
        assert not twice, f'v{i}: stored more than once: {twice[:5]}'
        missing = acknowledged_before[i] - set(seqs)
        assert not missing, f'v{i}: {len(missing)} acknowledged records lost, e.g. {sorted(missing)[:5]}'
        # Everything the writer ever sent is now acknowledged, and the API returns exactly that.
        assert set(seqs) == w.sent_seqs(), f'v{i}: the API returns other records than were sent'
    server.kill()
