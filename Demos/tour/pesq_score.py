#!/usr/bin/env python3
"""pesq_score.py REFERENCE.wav DEGRADED.wav: prints the PESQ (ITU-T P.862, narrow band, PyPI
`pesq`) of DEGRADED against REFERENCE, both 8 kHz mono 16-bit (the call's played speech and the
correspondent's recording). Run with the project's virtual environment (.venv, `make deps`)."""
import sys
import wave

import numpy as np
from pesq import pesq


def read(path):
    """The samples of a 16-bit mono 8 kHz WAV. A recording whose writer was stopped before it
    wrote the sizes (data chunk size 0) still has its samples: everything after the data header."""
    with wave.open(path) as w:
        if w.getframerate() != 8000 or w.getsampwidth() != 2 or w.getnchannels() != 1:
            sys.exit(f'{path}: want 8 kHz mono 16-bit, got {w.getframerate()} Hz, {w.getnchannels()} channel(s), {8 * w.getsampwidth()}-bit')
        frames = w.readframes(w.getnframes())
    if not frames:
        raw = open(path, 'rb').read()
        at = raw.find(b'data')
        frames = raw[at + 8:] if at >= 0 else b''
        frames = frames[:len(frames) // 2 * 2]
    return np.frombuffer(frames, dtype='<i2').astype(np.float64)


ref, deg = read(sys.argv[1]), read(sys.argv[2])
n = min(len(ref), len(deg))
if n < 8000 * 2:
    sys.exit(f'too short to score: {n / 8000:.1f} s in common')
print(f'{pesq(8000, ref[:n], deg[:n], "nb"):.3f}')
