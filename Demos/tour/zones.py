#!/usr/bin/env python3
"""The demo's coverage along its routes (deterministic: the same every run). tour.py writes it to
DATA/config/zones.json at start (or takes another file with --zones); `zones.py OUT.json` writes it.

Hotspots (WLAN-like, short range) sit along every route like villages and cafés: one every
350-650 m of road, 70-130 m of radius. The cellular network covers everything but a few dead
zones (a valley, a tunnel): one about 1.5 km after each start, then one every 8-11 km, 200-260 m
of radius. At the routes' 8 m/s that is about two hotspot handovers a minute per vehicle at real
time, and an outage of half a minute now and then."""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coverage import distance_m, load_route  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def along(points, first_m, gap, rng):
    """Points of the route at road distances first_m, then every gap() metres."""
    out, travelled, next_at = [], 0.0, first_m
    for a, b in zip(points, points[1:]):
        travelled += distance_m(a, b)
        if travelled >= next_at:
            out.append(b)
            next_at = travelled + gap(rng)
    return out


def build():
    rng = random.Random(2006)
    wlan, dead = [], []
    for v in ('bike-1', 'bike-2', 'car'):
        route = load_route(os.path.join(ROOT, 'Sensors', 'traces', f'tdf-{v}.gpx'))
        for lat, lon in along(route, 150, lambda r: r.uniform(350, 650), rng):
            wlan.append([round(lat, 6), round(lon, 6), round(rng.uniform(70, 130))])
        for lat, lon in along(route, 1500, lambda r: r.uniform(8000, 11000), rng):
            dead.append([round(lat, 6), round(lon, 6), round(rng.uniform(200, 260))])
    return {'about': 'Coverage along the demo routes (Demos/tour/zones.py): wlan = hotspot circles '
                     '[lat, lon, radius m]; cellular_dead = circles where the cellular network does not reach.',
            'wlan': wlan, 'cellular_dead': dead}


def write(path):
    spec = build()
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(spec, f, indent=0)
        f.write('\n')
    return spec


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit('usage: zones.py OUT.json')
    spec = write(sys.argv[1])
    print(f'{sys.argv[1]}: {len(spec["wlan"])} hotspots, {len(spec["cellular_dead"])} cellular dead zones')
