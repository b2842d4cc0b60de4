#!/usr/bin/env python3
"""PESQ (ITU-T P.862 narrow band, PyPI `pesq`) of what `phone-bench voice-pesq DIR ...` wrote.

usage: phone-pesq.py DIR
DIR holds ref.pcm (the speech sent) and, per codec NAME, NAME.clean.pcm (codec only) and
NAME.lossy.pcm (5 % loss, 40 ms jitter, our jitter buffer and concealment), 8 kHz s16le.
Prints `bench:` lines: PESQ under loss, and its ratio to the clean run (the baseline).
Exit status 77 with a reason when numpy or pesq is missing.
"""
import os
import sys

try:
    import numpy as np
    from pesq import pesq
except ImportError as error:
    print(f"SKIP: python module missing ({error}); pip install numpy pesq")
    sys.exit(77)

work = sys.argv[1]


def read(path):
    return np.fromfile(path, dtype="<i2").astype(np.float64)


def score(reference, degraded):
    n = min(len(reference), len(degraded))
    return float(pesq(8000, reference[:n], degraded[:n], "nb"))


ref = read(os.path.join(work, "ref.pcm"))
# iLBC's own design point for 5 % loss is ~2.5 (RFC 3951 PLC); Opus should do better with FEC
targets = {"pcmu": 2.8, "ilbc20": 2.5, "ilbc30": 2.5, "opus": 3.0}
for name, target in targets.items():
    clean_path = os.path.join(work, f"{name}.clean.pcm")
    if not os.path.exists(clean_path):
        continue
    clean = score(ref, read(clean_path))
    lossy = score(ref, read(os.path.join(work, f"{name}.lossy.pcm")))
    loss_only = score(ref, read(os.path.join(work, f"{name}.loss.pcm")))
    jitter_only = score(ref, read(os.path.join(work, f"{name}.jitter.pcm")))
    print(f"  {name}: PESQ clean {clean:.2f}, 5 % loss + 40 ms jitter {lossy:.2f}"
          f" (5 % loss alone {loss_only:.2f}, 40 ms jitter alone {jitter_only:.2f})")
    print(f"bench: voice_{name}_loss5_jitter40_pesq {lossy:.2f} mos_lqo target >= {target}")
    print(f"bench: voice_{name}_loss5_pesq {loss_only:.2f} mos_lqo target >= {target}")
    print(f"bench: voice_{name}_loss5_jitter40_pesq_vs_clean {lossy / clean:.2f} ratio target >= 0.75")
