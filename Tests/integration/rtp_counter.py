#!/usr/bin/env python3
"""Counts RTP packets on one UDP port: every sequence number, duplicates, frames (marker bits) and,
for latency, the arrival time of each frame's last packet. Writes a JSON summary on SIGINT/SIGTERM
or after --idle seconds without packets.

usage: rtp_counter.py ADDR PORT OUT.json [--idle SECONDS]"""
import json
import signal
import socket
import sys
import time


def main():
    addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    idle = float(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == '--idle' else None
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((addr, port))
    s.settimeout(0.2)
    seqs = {}
    packets = 0
    frames = 0
    first = last = None
    marker_times = {}
    done = []
    signal.signal(signal.SIGINT, lambda *a: done.append(1))
    signal.signal(signal.SIGTERM, lambda *a: done.append(1))
    with open(out + '.ready', 'w') as f:
        f.write('ready\n')
    while not done:
        try:
            b = s.recv(65536)
        except socket.timeout:
            if idle and last and time.time() - last > idle:
                break
            continue
        now = time.time()
        if len(b) < 12 or b[0] >> 6 != 2 or 72 <= (b[1] & 0x7F) <= 76:
            continue
        packets += 1
        first = first or now
        last = now
        seq = b[2] << 8 | b[3]
        seqs[seq] = seqs.get(seq, 0) + 1
        if b[1] & 0x80:
            frames += 1
            ts = int.from_bytes(b[4:8], 'big')
            marker_times[ts] = now
    json.dump({'packets': packets, 'unique': len(seqs), 'duplicates': sum(c - 1 for c in seqs.values()),
               'frames': frames, 'first': first, 'last': last,
               'seqs': sorted(seqs), 'marker_times': marker_times}, open(out, 'w'))


main()
