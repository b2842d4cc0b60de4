#!/usr/bin/env python3
"""Sequence-numbered UDP stream for the handover benchmark.

send DST PORT RATE SECONDS        sends RATE packets/s for SECONDS (payload: 8-byte sequence number);
                                  prints the count and the wall-clock start time
recv PORT SECONDS OUT.json        records the sequence numbers and arrival times it receives
"""
import json, socket, struct, sys, time

def send(dst, port, rate, seconds):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    interval = 1.0 / rate
    wall = time.time()
    start = time.perf_counter()
    n = int(rate * seconds)
    for seq in range(n):
        target = start + seq * interval
        while True:
            now = time.perf_counter()
            if now >= target:
                break
            if target - now > 0.002:
                time.sleep(target - now - 0.001)
        try:
            s.sendto(struct.pack("!Q", seq) + b"x" * 92, (dst, port))
        except OSError:
            pass
    print(n, repr(wall))

def recv(port, seconds, out):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::", port))
    s.settimeout(0.2)
    end = time.monotonic() + seconds
    arrivals = []
    while time.monotonic() < end:
        try:
            data, _ = s.recvfrom(2048)
        except socket.timeout:
            continue
        arrivals.append((struct.unpack("!Q", data[:8])[0], time.monotonic()))
    json.dump(arrivals, open(out, "w"))

if __name__ == "__main__":
    if sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))
    else:
        recv(int(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
