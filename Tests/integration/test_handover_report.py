"""bench/handover-report.py on synthetic runs: a cut after which traffic never came back is a
failure, counted as such and in the resume figures, never left out."""
import json
import os
import subprocess
import sys

from conftest import ROOT

REPORT = os.path.join(ROOT, 'bench', 'handover-report.py')
RATE = 100.0
START = 1000.0


def run(tmp_path, cuts, received_seqs, count=500):
    (tmp_path / 'cuts.txt').write_text('\n'.join(f'{c:.3f}' for c in cuts))
    (tmp_path / 'send.txt').write_text(f'{count} {START}')
    (tmp_path / 'recv.json').write_text(json.dumps([[s, START + s / RATE] for s in received_seqs]))
    out = subprocess.run([sys.executable, REPORT, str(RATE), str(tmp_path / 'cuts.txt'),
                          f"{tmp_path / 'send.txt'}:{tmp_path / 'recv.json'}"],
                         capture_output=True, text=True, check=True).stdout.split()
    lost, mean, worst, failed = float(out[0]), float(out[1]), float(out[2]), int(out[3])
    return lost, mean, worst, failed


def test_cut_that_never_resumes_is_a_failure(tmp_path):
    # Cut 1 at 1.0 s: 10 packets lost, then back. Cut 2 at 3.0 s: nothing arrives after it.
    received = [s for s in range(500) if not (100 <= s < 110) and s < 300]
    lost, mean, worst, failed = run(tmp_path, [START + 1.0, START + 3.0], received)
    assert failed == 1
    assert lost == (10 + 200) / 2
    # The dead cut counts with (at least) the 2 s from the cut to the end of the stream.
    assert worst >= 2000.0
    assert mean >= (100.0 + 2000.0) / 2 - 1


def test_clean_run_has_no_failure(tmp_path):
    received = [s for s in range(500) if not (100 <= s < 110)]
    lost, mean, worst, failed = run(tmp_path, [START + 1.0, START + 3.0], received)
    assert failed == 0
    assert lost == 5.0
    assert 90.0 <= worst <= 110.0
    assert mean == worst / 2
