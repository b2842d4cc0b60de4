"""Where each access network reaches, and where a replayed vehicle is.

The routes are the agents' GPX files (one point per second of route time). An agent replaying
with `--speed S` started at wall time t0 is at point `int((t - t0) * S) mod N` (it loops), so
the coverage controller can follow it without asking it.

zones.json holds, per access technology, circles `[lat, lon, radius_m]`: a hotspot covers its
circles; the cellular network covers everywhere except its circles (dead zones).
"""
import json
import math
import re

EARTH_RADIUS_M = 6371000.0


def load_route(path):
    """[(lat, lon)] of a GPX track, in order."""
    text = open(path, encoding='utf-8').read()
    points = [(float(a), float(b)) for a, b in re.findall(r'<trkpt\s+lat="([^"]+)"\s+lon="([^"]+)"', text)]
    if not points:
        raise ValueError(f'{path}: no <trkpt lat=… lon=…> points')
    return points


def distance_m(a, b):
    """Great-circle distance between two (lat, lon) points, metres (haversine)."""
    la1, lo1, la2, lo2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


class Zones:
    """Coverage of each technology: `covered(tech, point)`."""

    def __init__(self, spec):
        if not isinstance(spec, dict):
            raise ValueError('a coverage file is a JSON object with "wlan" and "cellular_dead" lists')
        self.hotspots = self._circles(spec, 'wlan')
        self.dead = self._circles(spec, 'cellular_dead')

    @staticmethod
    def _circles(spec, key):
        out = []
        for i, c in enumerate(spec.get(key, [])):
            ok = (isinstance(c, list) and len(c) == 3 and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in c)
                  and -90 <= c[0] <= 90 and -180 <= c[1] <= 180 and 0 < c[2] <= 1e6)
            if not ok:
                raise ValueError(f'coverage: {key}[{i}] must be [latitude, longitude, radius in metres], got {c!r}')
            out.append(tuple(c))
        return out

    @classmethod
    def load(cls, path):
        return cls(json.load(open(path, encoding='utf-8')))

    @staticmethod
    def _inside(circles, point):
        return any(distance_m(point, (lat, lon)) <= r for lat, lon, r in circles)

    def covered(self, tech, point):
        if tech == 'wlan':
            return self._inside(self.hotspots, point)
        if tech == 'cell':
            return not self._inside(self.dead, point)
        raise ValueError(f'unknown access technology {tech!r}')


class Replay:
    """Where a vehicle is `elapsed` wall seconds after its agent started replaying at `speed`."""

    def __init__(self, points, speed):
        self.points, self.speed = points, speed

    def index(self, elapsed):
        return int(max(0.0, elapsed) * self.speed) % len(self.points)

    def at(self, elapsed):
        return self.points[self.index(elapsed)]
