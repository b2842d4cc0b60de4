#!/usr/bin/env python3
"""Drives one demo vehicle: replays a GPX route against monnemo-server as a live vehicle would.

Fixes at 1 Hz with the time shifted to now, a synthetic climate reading every 10 s, a picture
every 30 s (from a folder of JPEGs), all through the Telemetry API v1 with the vehicle's token.
The route loops. Sequence numbers come from the record time, so restarting never collides with
what the server already has. Stdlib only. This stands in for monnemo-agent until it lands.
"""
import argparse
import glob
import json
import math
import os
import random
import signal
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

NS = {'g': 'http://www.topografix.com/GPX/1/1'}


def load_gpx(path):
    root = ET.parse(path).getroot()
    pts = []
    for p in root.iterfind('.//g:trkpt', NS):
        ele = p.find('g:ele', NS)
        pts.append((float(p.get('lat')), float(p.get('lon')), float(ele.text) if ele is not None else None))
    if len(pts) < 2:
        sys.exit(f'{path}: needs at least two track points')
    return pts


def iso(t):
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t)) + '.%03dZ' % int((t % 1) * 1000)


def bearing(a, b):
    y = math.sin(math.radians(b[1] - a[1])) * math.cos(math.radians(b[0]))
    x = math.cos(math.radians(a[0])) * math.sin(math.radians(b[0])) - \
        math.sin(math.radians(a[0])) * math.cos(math.radians(b[0])) * math.cos(math.radians(b[1] - a[1]))
    return (math.degrees(math.atan2(y, x)) + 360) % 360


def dist(a, b):
    dlat = math.radians(b[0] - a[0])
    dlon = math.radians(b[1] - a[1]) * math.cos(math.radians(a[0]))
    return 6_371_000 * math.hypot(dlat, dlon)


class Client:
    def __init__(self, server, token, name):
        self.server, self.token, self.name = server.rstrip('/'), token, name
        self.pending = []

    def post(self, path, body, content_type):
        req = urllib.request.Request(self.server + path, data=body, method='POST', headers={
            'Authorization': 'Bearer ' + self.token, 'Content-Type': content_type})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b'{}')

    def send(self, records):
        """Queues records and sends everything queued; on failure keeps them for the next try."""
        self.pending.extend(records)
        if not self.pending:
            return
        try:
            batch = self.pending[:1000]
            self.post('/api/v1/telemetry', json.dumps({'records': batch}).encode(), 'application/json')
            del self.pending[:len(batch)]
        except (urllib.error.URLError, OSError) as e:
            print(f'{self.name}: upload failed ({e}); {len(self.pending)} records kept for retry', file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--server', default='http://127.0.0.1:8080')
    ap.add_argument('--token', required=True)
    ap.add_argument('--gpx', required=True)
    ap.add_argument('--name', default='vehicle')
    ap.add_argument('--pictures', help='folder of JPEGs to upload in turn')
    ap.add_argument('--speed', type=float, default=1.0, help='replay speed factor (1 = real time)')
    ap.add_argument('--picture-interval', type=float, default=30.0)
    ap.add_argument('--climate-interval', type=float, default=10.0)
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    pts = load_gpx(args.gpx)
    pics = sorted(glob.glob(os.path.join(args.pictures, '*.jpg'))) if args.pictures else []
    client = Client(args.server, args.token, args.name)
    rnd = random.Random(args.seed)
    start = time.time()
    i, step = 0, 0
    next_climate, next_picture = start, start + 5
    temp_base = 24 + rnd.uniform(-2, 2)
    print(f'{args.name}: replaying {len(pts)} points from {os.path.basename(args.gpx)} to {args.server}', flush=True)
    while True:
        now = time.time()
        a, b = pts[i], pts[(i + 1) % len(pts)]
        speed = dist(a, b)  # the route is sampled at 1 Hz: metres per sample = metres per second
        records = [{'seq': int(now * 1000) * 4, 'time': iso(now), 'kind': 'fix', 'lat': round(a[0], 7),
                    'lon': round(a[1], 7), 'alt': a[2], 'speed': round(speed, 2), 'track': round(bearing(a, b), 1),
                    'mode': 3, 'eph': round(3 + rnd.random() * 2, 1)}]
        if now >= next_climate:
            hours = now / 3600
            temp = temp_base + 3 * math.sin(hours * 2 * math.pi / 24) - (a[2] or 0) * 0.0065 + rnd.gauss(0, 0.1)
            records.append({'seq': int(now * 1000) * 4 + 1, 'time': iso(now), 'kind': 'climate',
                            'temperature': round(temp, 2), 'humidity': round(min(100, max(0, 55 - (temp - 24) * 2 + rnd.gauss(0, 0.5))), 1)})
            next_climate = now + args.climate_interval / args.speed
        client.send(records)
        if pics and now >= next_picture:
            pic = pics[step % len(pics)]
            seq = int(now * 1000) * 4 + 2
            try:
                with open(pic, 'rb') as f:
                    client.post(f'/api/v1/pictures?seq={seq}&time={iso(now)}&lat={a[0]:.7f}&lon={a[1]:.7f}',
                                f.read(), 'image/jpeg')
            except (urllib.error.URLError, OSError) as e:
                print(f'{args.name}: picture upload failed ({e})', file=sys.stderr)
            next_picture = now + args.picture_interval / args.speed
        i = (i + 1) % len(pts)
        step += 1
        time.sleep(max(0.0, start + step / args.speed - time.time()))


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:
        pass
