#!/usr/bin/env python3
"""forward.py FD TARGET_HOST TARGET_PORT

Accepts TCP connections on the listening socket FD (inherited: it was opened in the host's
network namespace, so http://localhost:PORT/ works there) and relays each one, both ways, to
TARGET_HOST:TARGET_PORT as seen from the namespace this process runs in (`ip netns exec`).
Streams (Server-Sent Events, MJPEG) pass through as they come. Runs until SIGTERM."""
import selectors
import signal
import socket
import sys


def main():
    fd, host, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    listener = socket.socket(fileno=fd)
    listener.setblocking(False)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, None)
    peers = {}

    def close(s):
        for x in (s, peers.get(s)):
            if x is not None and x in peers:
                sel.unregister(x)
                peers.pop(x, None)
                x.close()

    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if s is listener:
                try:
                    client, _ = listener.accept()
                except OSError:
                    continue
                try:
                    upstream = socket.create_connection((host, port), timeout=5)
                except OSError:
                    client.close()   # the service is not up (yet): the browser retries
                    continue
                for x in (client, upstream):
                    x.setblocking(True)
                    x.settimeout(30)
                peers[client], peers[upstream] = upstream, client
                sel.register(client, selectors.EVENT_READ, None)
                sel.register(upstream, selectors.EVENT_READ, None)
                continue
            try:
                data = s.recv(65536)
            except OSError:
                data = b''
            if not data:
                close(s)
                continue
            try:
                peers[s].sendall(data)
            except OSError:
                close(s)


if __name__ == '__main__':
    main()
