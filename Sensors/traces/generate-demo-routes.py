#!/usr/bin/env python3
"""Generates the demo routes (our own, synthetic): three vehicles of a Tour de France stage.

Each route follows a smooth, winding road-like path between waypoints in the Pyrenees foothills
(Pau → Lourdes → Argelès-Gazost), with realistic speeds (bicycles 20–45 km/h, slower uphill;
the car follows the riders). Output: GPX 1.1 tracks at 1 Hz with elevation and time.
Deterministic (fixed seeds): run it again and the files come out the same.
"""
import math
import random
import sys

WAYPOINTS = [  # (lat, lon, elevation m): a plausible stage, not a surveyed road
    (43.2951, -0.3708, 190), (43.2612, -0.2905, 260), (43.2109, -0.2231, 330), (43.1702, -0.1492, 380),
    (43.1263, -0.0889, 420), (43.0946, -0.0457, 440), (43.0632, -0.0651, 470), (43.0113, -0.0978, 520),
    (42.9778, -0.1067, 560),
]


def interpolate(points, per_segment):
    """Catmull-Rom spline through the waypoints: a smooth road."""
    out = []
    pts = [points[0]] + points + [points[-1]]
    for i in range(1, len(pts) - 2):
        p0, p1, p2, p3 = pts[i - 1], pts[i], pts[i + 1], pts[i + 2]
        for s in range(per_segment):
            t = s / per_segment
            t2, t3 = t * t, t * t * t
            out.append(tuple(0.5 * ((2 * p1[k]) + (-p0[k] + p2[k]) * t + (2 * p0[k] - 5 * p1[k] + 4 * p2[k] - p3[k]) * t2
                                    + (-p0[k] + 3 * p1[k] - 3 * p2[k] + p3[k]) * t3) for k in range(3)))
    out.append(points[-1])
    return out


def wiggle(path, seed, amplitude_m):
    """Adds the bends of a country road: low-frequency lateral offsets."""
    rnd = random.Random(seed)
    phases = [rnd.uniform(0, 2 * math.pi) for _ in range(3)]
    freqs = [rnd.uniform(0.004, 0.01), rnd.uniform(0.015, 0.03), rnd.uniform(0.05, 0.08)]
    out = []
    for i, (lat, lon, ele) in enumerate(path):
        j = min(i + 1, len(path) - 1)
        k = max(i - 1, 0)
        dlat, dlon = path[j][0] - path[k][0], (path[j][1] - path[k][1]) * math.cos(math.radians(lat))
        norm = math.hypot(dlat, dlon) or 1
        nlat, nlon = -dlon / norm, dlat / norm  # unit normal, in degrees of latitude
        off = sum(amplitude_m / (n + 1) * math.sin(f * i + p) for n, (f, p) in enumerate(zip(freqs, phases)))
        out.append((lat + nlat * off / 111_320, lon + nlon * off / (111_320 * math.cos(math.radians(lat))), ele))
    return out


def distance(a, b):
    dlat = math.radians(b[0] - a[0])
    dlon = math.radians(b[1] - a[1]) * math.cos(math.radians((a[0] + b[0]) / 2))
    return 6_371_000 * math.hypot(dlat, dlon)


def drive(path, seed, base_kmh, duration_s, start_offset_m):
    """Moves along the path at a speed that varies with gradient and noise; one fix per second."""
    rnd = random.Random(seed)
    cum = [0.0]
    for a, b in zip(path, path[1:]):
        cum.append(cum[-1] + distance(a, b))
    pos, seg, fixes, speed = start_offset_m, 0, [], base_kmh / 3.6
    for t in range(duration_s):
        while seg < len(path) - 2 and cum[seg + 1] < pos:
            seg += 1
        a, b = path[seg], path[seg + 1]
        f = 0 if cum[seg + 1] == cum[seg] else (pos - cum[seg]) / (cum[seg + 1] - cum[seg])
        f = max(0.0, min(1.0, f))
        lat, lon, ele = (a[k] + (b[k] - a[k]) * f for k in range(3))
        grade = (b[2] - a[2]) / max(1.0, cum[seg + 1] - cum[seg])
        target = base_kmh / 3.6 * (1 - 6 * grade) * (1 + 0.08 * math.sin(t / 37.0))
        speed += 0.2 * (max(3.0, target) - speed) + rnd.gauss(0, 0.15)
        speed = max(1.0, speed)
        fixes.append((lat, lon, ele, t))
        pos = min(pos + speed, cum[-1] - 1)
    return fixes


def write_gpx(name, title, fixes, path):
    with open(path, 'w') as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        f.write('<gpx version="1.1" creator="Nautilus generate-demo-routes.py" xmlns="http://www.topografix.com/GPX/1/1">\n')
        f.write(f'<metadata><name>{title}</name><desc>Synthetic demo route (Nautilus project, generated)</desc></metadata>\n')
        f.write(f'<trk><name>{name}</name><trkseg>\n')
        for lat, lon, ele, t in fixes:
            hh, mm, ss = 10 + t // 3600, t // 60 % 60, t % 60
            f.write(f'<trkpt lat="{lat:.6f}" lon="{lon:.6f}"><ele>{ele:.1f}</ele>'
                    f'<time>2006-07-12T{hh:02d}:{mm:02d}:{ss:02d}Z</time></trkpt>\n')
        f.write('</trkseg></trk>\n</gpx>\n')


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else '.'
    road = interpolate(WAYPOINTS, 400)
    duration = 3600
    for name, title, seed, kmh, offset, amp in [
        ('bike-1', 'Bicycle 1', 1, 32, 0, 60), ('bike-2', 'Bicycle 2', 2, 30, 400, 60), ('car', 'Car', 3, 31, 900, 60),
    ]:
        fixes = drive(wiggle(road, 10, amp), seed, kmh, duration, offset)
        write_gpx(name, title, fixes, f'{out}/tdf-{name}.gpx')
        print(f'tdf-{name}.gpx: {len(fixes)} fixes')


if __name__ == '__main__':
    main()
