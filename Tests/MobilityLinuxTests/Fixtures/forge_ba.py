#!/usr/bin/env python3
"""An on-path attacker for the live hostile-input tests: waits on INTERFACE (an access router's
link to the mobile router) for the next Binding Update, then answers it with a forged Binding
Acknowledgement that seems to come from the home agent (outer source HA:4191, inner source the
HA's home-link address) and carries the BU's sequence number and replay timestamp.

forge_ba.py INTERFACE MODE KEYHEX
  MODE noauth   status 146, no MN-HA option
  MODE badauth  status 146, an MN-HA option with a wrong authenticator
  MODE notlast  status 0, a correct MN-HA authenticator (KEYHEX) followed by another option
Prints "seq=N coa=ADDR" once sent. Raw sockets only (root, inside the namespace)."""
import hashlib
import hmac
import os
import select
import socket
import struct
import sys
import time

iface, mode, key = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])
HA_OUTER = socket.inet_pton(socket.AF_INET6, '2001:db8:f::1')
HA_INNER = socket.inet_pton(socket.AF_INET6, '2001:db8:ffff::1')


def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def pseudo(src, dst, length, nh):
    return src + dst + struct.pack('!I3xB', length, nh)


def options(mh, start):
    """(type, offset, data) of each option of an MH from `start`."""
    i, out = start, []
    while i < len(mh):
        t = mh[i]
        if t == 0:
            i += 1
            continue
        ln = mh[i + 1]
        out.append((t, i, mh[i + 2:i + 2 + ln]))
        i += 2 + ln
    return out


sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86dd))
sniff.bind((iface, 0))
deadline = time.time() + 20
while True:
    left = deadline - time.time()
    if left <= 0 or not select.select([sniff], [], [], left)[0]:
        sys.exit('no binding update seen')
    frame, addr = sniff.recvfrom(65535)
    if addr[2] == socket.PACKET_OUTGOING:
        continue
    ip = frame[14:]
    if len(ip) < 48 + 40 + 12 or ip[6] != 17:
        continue
    sport, dport = struct.unpack('!HH', ip[40:44])
    inner = ip[48:]
    if dport != 4191 or inner[0] >> 4 != 6 or inner[6] != 135:
        continue
    mh = inner[40:]
    if mh[2] != 5:
        continue
    coa_outer, hoa = ip[8:24], inner[8:24]
    seq = struct.unpack('!H', mh[6:8])[0]
    opts = options(mh, 12)
    stamp = next((d for t, _, d in opts if t == 10), None)
    bid = next((d for t, _, d in opts if t == 35), None)
    coa_auth = bid[4:20] if bid is not None and len(bid) == 20 else bytes(16)
    break

# The BA: fixed part, BID echo (2n) at 12, timestamp (8n+2) at 18, Pad1, MN-HA (≡5 mod 8) at 29.
status = 0 if mode == 'notlast' else 146
body = struct.pack('!BBHH', status, 0x40, seq, 150 if status == 0 else 0)
body += bytes([35, 4]) + (bid[0:2] if bid else b'\0\1') + b'\0' + (bid[3:4] if bid else b'\1')
body += bytes([10, 8]) + (stamp or bytes(8))
tail = b''
if mode in ('badauth', 'notlast'):
    body += b'\0' + bytes([9, 17, 1]) + struct.pack('!I', 256)
    auth_at = 6 + len(body)
    if mode == 'notlast':
        tail = bytes([2, 2, 0, 1]) + bytes([1, 2, 0, 0])   # Binding Refresh Advice after the MN-HA option, PadN
else:
    body += bytes([1, 10]) + bytes(10)
total = 6 + len(body) + (12 if mode != 'noauth' else 0) + len(tail)
assert total % 8 == 0, total
head = bytes([59, total // 8 - 1, 6, 0, 0, 0])
if mode == 'notlast':
    authenticator = hmac.new(key, coa_auth + hoa + head + body, hashlib.sha1).digest()[:12]
elif mode == 'badauth':
    authenticator = os.urandom(12)
else:
    authenticator = b''
mh = bytearray(head + body + authenticator + tail)
mh[4:6] = struct.pack('!H', csum(pseudo(HA_INNER, hoa, len(mh), 135) + bytes(mh)))
inner_packet = struct.pack('!IHBB', 0x60000000, len(mh), 135, 64) + HA_INNER + hoa + bytes(mh)
udp = struct.pack('!HHHH', 4191, sport, 8 + len(inner_packet), 0) + inner_packet
udp = udp[:6] + struct.pack('!H', csum(pseudo(HA_OUTER, coa_outer, len(udp), 17) + udp) or 0xffff) + udp[8:]
packet = struct.pack('!IHBB', 0x60000000, len(udp), 17, 64) + HA_OUTER + coa_outer + udp
raw = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
raw.sendto(packet, (socket.inet_ntop(socket.AF_INET6, coa_outer), 0))
print(f'seq={seq} coa={socket.inet_ntop(socket.AF_INET6, coa_outer)}', flush=True)
