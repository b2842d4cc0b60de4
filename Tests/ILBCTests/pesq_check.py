#!/usr/bin/env python3
"""PESQ (ITU-T P.862 narrow band, PyPI `pesq`) of our encoder's streams.

usage: pesq_check.py WORKDIR VECTORS

WORKDIR holds, per speech case NAME and mode M, our bitstream NAME.M.lbc and our decoder's
output for it, NAME.M.ours.pcm (enhancer on). For each pair this prints one JSON line:
  ours          PESQ of our decoder's output         (compare: figures.json pesq_ref)
  ref_live      PESQ of the reference's NAME.M.out.pcm, measured here (checks the set-up)
  ffmpeg_ours   PESQ of ffmpeg's decoding of our stream, first 10 frames skipped
  ffmpeg_ref    the same for the reference stream, measured here
Exit status 77 (with a reason on stdout) when ffmpeg or the pesq module is missing.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

try:
    import numpy as np
    from pesq import pesq
except ImportError as error:
    print(f"SKIP: python module missing ({error}); pip install pesq numpy")
    sys.exit(77)
if shutil.which("ffmpeg") is None:
    print("SKIP: ffmpeg not installed (apt-get install ffmpeg)")
    sys.exit(77)

work, vectors = sys.argv[1], sys.argv[2]
figures = json.load(open(os.path.join(vectors, "figures.json")))


def read(path):
    return np.fromfile(path, dtype="<i2").astype(np.float64)


def ffmpeg_decode(lbc):
    with tempfile.NamedTemporaryFile(suffix=".pcm", dir=work, delete=False) as out:
        name = out.name
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", lbc,
                    "-f", "s16le", "-acodec", "pcm_s16le", name], check=True)
    samples = read(name)
    os.unlink(name)
    return samples


def score(reference, degraded):
    n = min(len(reference), len(degraded))
    return float(pesq(8000, reference[:n], degraded[:n], "nb"))


for name in sorted(figures):
    if not name.startswith("sp_"):
        continue
    source = read(os.path.join(vectors, f"{name}.pcm"))
    for mode in ("20", "30"):
        ours_lbc = os.path.join(work, f"{name}.{mode}.lbc")
        if not os.path.exists(ours_lbc):
            continue
        skip = 10 * (160 if mode == "20" else 240)
        row = {
            "case": name,
            "mode": int(mode),
            "figure": figures[name][mode]["pesq_ref"],
            "ours": score(source, read(os.path.join(work, f"{name}.{mode}.ours.pcm"))),
            "ref_live": score(source, read(os.path.join(vectors, f"{name}.{mode}.out.pcm"))),
            "ffmpeg_ours": score(source[skip:], ffmpeg_decode(ours_lbc)[skip:]),
            "ffmpeg_ref": score(source[skip:], ffmpeg_decode(os.path.join(vectors, f"{name}.{mode}.lbc"))[skip:]),
        }
        print(json.dumps(row), flush=True)
