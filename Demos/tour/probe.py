#!/usr/bin/env python3
"""Sequence-numbered UDP probes for the handover figures (runs until SIGTERM).

probe.py send SRC_PORT DST PORT RATE OUT   sends RATE packets/s from SRC_PORT (a port the
                                           mobile router's media flow policy matches) to DST:PORT;
                                           on SIGTERM writes {"start": t, "rate": r, "count": n}
probe.py recv ADDR PORT OUT                records every sequence number received; on SIGTERM
                                           writes {"received": [...]}
A packet's send time is start + seq / rate, so a loss can be placed in time against the
coverage controller's events."""
import json
import select
import signal
import socket
import struct
import sys
import time

stop = False


def on_term(*_):
    global stop
    stop = True


def send(src_port, dst, port, rate, out):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(('::', src_port))
    interval = 1.0 / rate
    start, seq = time.time(), 0
    while not stop:
        target = start + seq * interval
        delay = target - time.time()
        if delay > 0:
            time.sleep(delay)
            continue
        try:
            s.sendto(struct.pack('!Qd', seq, target) + b'p' * 84, (dst, port))
        except OSError:
            pass        # no route (every uplink down): the packet is lost, as on a real link
        seq += 1
    json.dump({'start': start, 'rate': rate, 'count': seq}, open(out, 'w'))


def recv(addr, port, out):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind((addr, port))
    got = set()
    while not stop:
        r, _, _ = select.select([s], [], [], 0.2)
        if r:
            data = s.recv(2048)
            if len(data) >= 8:
                got.add(struct.unpack('!Q', data[:8])[0])
    json.dump({'received': sorted(got)}, open(out, 'w'))


if __name__ == '__main__':
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    if sys.argv[1] == 'send':
        send(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
    elif sys.argv[1] == 'recv':
        recv(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        sys.exit(__doc__)
