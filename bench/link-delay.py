#!/usr/bin/env python3
"""A userspace access-link delay for the handover benchmark (this kernel has no sch_netem).

link-delay.py LISTEN UPSTREAM DELAY_MS [LOSS_PERCENT]

Runs in an access router's namespace, bound to LISTEN:4191 (the home agent's outer address,
also put on the router's loopback so the mobile router's datagrams stop here), and relays
each datagram to UPSTREAM:4191 (another address of the same home agent) and the answers back,
each DELAY_MS later, in order. One upstream socket per mobile-router address, so the home
agent sees this router as a NAT: everything over this access link, signaling and data, takes
the delay both ways. With LOSS_PERCENT, that share of datagrams (each way, at random) is
dropped, as a lossy radio link would (the Tour de France demo's cellular network).
"""
import heapq, itertools, random, select, socket, sys, time

listen, upstream, delay = sys.argv[1], sys.argv[2], float(sys.argv[3]) / 1000
loss = float(sys.argv[4]) / 100 if len(sys.argv) > 4 else 0.0
PORT = 4191
FAMILY = socket.AF_INET6 if ":" in listen else socket.AF_INET   # IPv4 too (DSMIPv6 over an IPv4-only link)
down = socket.socket(FAMILY, socket.SOCK_DGRAM)
down.bind((listen, PORT))
down.setblocking(False)
ups, client_of = {}, {}
queue, order = [], itertools.count()

def push(sock, data, dest):
    if loss and random.random() < loss:
        return
    heapq.heappush(queue, (time.monotonic() + delay, next(order), sock, data, dest))

while True:
    timeout = max(0.0, queue[0][0] - time.monotonic()) if queue else 1.0
    readable, _, _ = select.select([down, *ups.values()], [], [], timeout)
    for s in readable:
        while True:
            try:
                data, addr = s.recvfrom(65536)
            except (BlockingIOError, OSError):
                break
            if s is down:
                key = addr[:2]
                u = ups.get(key)
                if u is None:
                    u = socket.socket(FAMILY, socket.SOCK_DGRAM)
                    u.bind(("::" if FAMILY == socket.AF_INET6 else "0.0.0.0", 0))
                    u.setblocking(False)
                    ups[key], client_of[u] = u, key
                push(u, data, (upstream, PORT))
            else:
                push(down, data, client_of[s])
    now = time.monotonic()
    while queue and queue[0][0] <= now:
        _, _, sock, data, dest = heapq.heappop(queue)
        try:
            sock.sendto(data, dest)
        except OSError:
            pass   # the access link is down: the datagram is lost, as on a real link
