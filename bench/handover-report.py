#!/usr/bin/env python3
"""Summarises a handover run.

handover-report.py RATE CUTS.txt STREAM...   where STREAM is SENDER_OUTPUT:RECEIVER.json
SENDER_OUTPUT holds "count start_wall_time"; CUTS.txt one wall-clock time per link-down.
Prints "lost_per_handover resume_ms_mean resume_ms_max failed" and then, per stream, its losses
per handover and where they fell ("up/down" = during link down / after link up again):
 - lost: packets (all streams) never received, divided by the number of cuts;
 - resume: for each cut and stream, from the link-down to the send time of the first packet
   delivered after the last packet lost around that cut (0 when none was lost);
 - failed: (cut, stream) pairs after which no packet of the stream ever arrived again. They are
   not left out: each counts in the resume figures with the time from the cut to the end of the
   stream (a lower bound), and a run with any is a failed run.
"""
import json, sys

rate = float(sys.argv[1])
cuts = [float(x) for x in open(sys.argv[2]).read().split()]
lost_total = 0
resumes = []
failed = 0
detail = []
for spec in sys.argv[3:]:
    sender, receiver = spec.split(":")
    count, start = open(sender).read().split()
    count, start = int(count), float(start)
    received = {s for s, _ in json.load(open(receiver))}
    lost = [s for s in range(count) if s not in received]
    lost_set = set(lost)
    lost_total += len(lost)
    # Each cut is followed by 0.5 s down, then 0.7 s up (bench-mobility.sh).
    at_down = sum(1 for s in lost for c in cuts if c - 0.02 <= start + s / rate < c + 0.5)
    detail.append(f"{len(lost) / max(1, len(cuts)):.2f}({at_down}/{len(lost) - at_down})")
    for cut in cuts:
        first = max(0, int((cut - start) * rate) - 20)   # a little before the cut: packets in flight
        if first >= count:
            continue                                      # the stream had ended before this cut
        window = [s for s in lost if first <= s <= first + int(0.5 * rate)]
        if not window:
            resumes.append(0.0)
            continue
        after = next((s for s in range(window[-1] + 1, count) if s not in lost_set), None)
        if after is None:
            # Traffic never came back after this cut.
            failed += 1
            resumes.append(max(0.0, (start + count / rate - cut) * 1000))
        else:
            resumes.append(max(0.0, (start + after / rate - cut) * 1000))
print(f"{lost_total / max(1, len(cuts)):.2f} {sum(resumes) / max(1, len(resumes)):.1f} {max(resumes, default=0):.1f} {failed} {' '.join(detail)}")
