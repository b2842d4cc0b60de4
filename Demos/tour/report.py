"""What the Tour de France demo measured, put together: handovers from the coverage controller's
events, packets lost around them from the probes, readings sent (the agents' outboxes) against
stored (the map server's public API), video frames sent against shown per viewer, the call's
loss and PESQ, the onboard footprint. `build` returns the report (JSON), `text` prints it."""
import glob
import json
import os
import re
import subprocess
import sys
import struct
import time
import urllib.request
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# The 2006 result: with several interfaces, one third to one tenth of the loss of one interface.
RESULT_2006 = 'one third to one tenth of the single-interface loss (Nautilus6, Tour de France 2006)'
HANDOVER_WINDOW = (-0.1, 2.0)     # seconds around an uplink event where a lost probe counts for it


# ---- coverage events -> handovers -------------------------------------------------------------

def fmt_ms(v):
    return '-' if v is None else f'{v:.0f} ms'

def best(state, vid, access):
    return next((t for t in access if state[(vid, t)]), None)


def describe_uplinks(state, vid, access):
    up = [access[t]['label'] for t in access if state[(vid, t)]]
    return ('uplinks: ' + ', '.join(up)) if up else 'no uplink (outage)'


def handovers(events, vehicles, access, since=0.0):
    """Uplink events with an uplink before and after (the vehicle stays connected): handovers.
    Returns [{t, vehicle, type, from, to}]; `outages` gives the rest."""
    return _walk(events, vehicles, access, since)[0]


def outages(events, vehicles, access, since=0.0, until=None):
    return _walk(events, vehicles, access, since, until)[1]


def _walk(events, vehicles, access, since=0.0, until=None):
    state = {(v.id, t): True for v in vehicles for t in access}
    out, gaps, down_since = [], [], {}
    for e in sorted(events, key=lambda e: e['t']):
        vid = e['vehicle']
        before = best(state, vid, access)
        state[(vid, e['tech'])] = e['up']
        after = best(state, vid, access)
        if e.get('initial'):
            if after is None:
                down_since[vid] = e['t']
            continue
        if e.get('end'):
            if vid in down_since:
                gaps.append({'vehicle': vid, 'from': down_since.pop(vid), 'to': e['t']})
            continue
        if before is not None and after is not None:
            label = access[e['tech']]['label']
            kind = (f'{label} found' if e['up'] else f'{label} lost') + (f' ({before} → {after})' if before != after else f' (stays on {after})')
            if e['t'] >= since:
                out.append({'t': e['t'], 'vehicle': vid, 'type': kind, 'from': before, 'to': after,
                            'lat': e.get('lat'), 'lon': e.get('lon')})
        elif after is None and before is not None:
            down_since[vid] = e['t']
        elif before is None and after is not None and vid in down_since:
            gaps.append({'vehicle': vid, 'from': down_since.pop(vid), 'to': e['t']})
    for vid, t in down_since.items():
        gaps.append({'vehicle': vid, 'from': t, 'to': until})
    return out, gaps


def load_probes(probe_dir, vid, direction):
    try:
        sent = json.load(open(os.path.join(probe_dir, f'{vid}-{direction}-send.json')))
        got = set(json.load(open(os.path.join(probe_dir, f'{vid}-{direction}-recv.json')))['received'])
    except (OSError, ValueError):
        return None
    return sent, got


def dark_intervals(probe_dir, vid, gaps, before=0.3):
    """When a vehicle could not be reached: each outage (no uplink at all) from a little before it
    began (packets in flight) until the first probe, either way, that got through after it ended:
    the re-registration after an outage is measured, not assumed."""
    out = []
    probes = [p for p in (load_probes(probe_dir, vid, d) for d in ('up', 'down')) if p]
    for g in gaps:
        if g['vehicle'] != vid:
            continue
        end = g['to'] if g['to'] is not None else float('inf')
        back = end
        for sent, got in probes:
            start, rate = sent['start'], sent['rate']
            first = next((q for q in sorted(got) if start + q / rate > end), None)
            if first is not None:
                back = max(back, start + first / rate)
        out.append((g['from'] - before, back))
    return out


def probe_losses(probe_dir, vid, hands, gaps):
    """Lost probes of one vehicle (both directions), split into: lost around a handover, lost in
    an outage (no uplink at all, until the first packet through again), and the rest (the links'
    own loss)."""
    result = {'sent': 0, 'received': 0, 'handover': 0, 'outage': 0, 'other': 0, 'per_handover': {}}
    mine = [h for h in hands if h['vehicle'] == vid]
    dark = dark_intervals(probe_dir, vid, gaps)
    result['reattach_seconds'] = [round(b - (g['to'] or b), 3) for g, (_, b) in zip([g for g in gaps if g['vehicle'] == vid], dark)]
    for d in ('up', 'down'):
        p = load_probes(probe_dir, vid, d)
        if p is None:
            continue
        sent, got = p
        start, rate, count = sent['start'], sent['rate'], sent['count']
        result['sent'] += count
        result['received'] += len(got & set(range(count)))
        # The last half second may still be in flight when the receivers stop: not counted as lost.
        for seq in range(max(0, count - int(rate / 2))):
            if seq in got:
                continue
            t = start + seq / rate
            if any(a <= t <= b for a, b in dark):
                result['outage'] += 1
                continue
            h = next((h for h in mine if h['t'] + HANDOVER_WINDOW[0] <= t <= h['t'] + HANDOVER_WINDOW[1]), None)
            if h is None:
                result['other'] += 1
            else:
                result['handover'] += 1
                result['per_handover'][h['type']] = result['per_handover'].get(h['type'], 0) + 1
    return result


# ---- readings, video, call --------------------------------------------------------------------
def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def stored_readings(database, vid):
    """Sequence numbers the map server stored for a vehicle, by kind, read from its database
    (read-only). The public API would hide fixes stamped ahead of the clock, which a replay faster
    than real time makes."""
    import sqlite3
    db = sqlite3.connect(f'file:{database}?mode=ro', uri=True)
    try:
        out = {k: [] for k in ('fix', 'climate', 'picture', 'handover')}
        for seq, kind in db.execute('SELECT seq, kind FROM record WHERE vehicle_id = ?', (vid,)):
            out.setdefault(kind, []).append(seq)
        return out
    finally:
        db.close()


def frames_shown(url, ns):
    r = subprocess.run(['ip', 'netns', 'exec', ns, 'curl', '-fsS', '--max-time', '5', url], capture_output=True, text=True)
    m = re.search(r'^xcast6_frames_completed(?:\{[^}]*\})? ([0-9.e+]+)$', r.stdout, re.M)
    return int(float(m.group(1))) if m else None


def frames_sent(log_path):
    try:
        m = re.findall(r'sent (\d+) frames', open(log_path, errors='replace').read())
    except OSError:
        return None
    return int(m[-1]) if m else None


def frame_send_times(timing_path):
    try:
        return [float(line.split()[2]) for line in open(timing_path) if len(line.split()) == 3]
    except OSError:
        return []


def shared_folder():
    d = os.environ.get('NAUTILUS_SHARED')
    if d:
        return d
    d = ROOT
    while d != '/':
        if os.path.isdir(os.path.join(os.path.dirname(d), 'shared', 'vectors')):
            return os.path.join(os.path.dirname(d), 'shared')
        d = os.path.dirname(d)
    return None


def speech_wav(path, seconds):
    """A WAV of speech (the shared iLBC test speech, 8 kHz) about `seconds` long for the call, or
    None without the shared folder (the call then sends a tone and PESQ is not computed)."""
    shared = shared_folder()
    if not shared:
        return None
    files = sorted(glob.glob(os.path.join(shared, 'vectors', 'ilbc', 'sp_*.pcm')))
    files = [f for f in files if re.fullmatch(r'sp_[a-z_0-9]+\.pcm', os.path.basename(f))]
    if not files:
        return None
    pcm = b''
    while len(pcm) < seconds * 16000:
        for f in files:
            pcm += open(f, 'rb').read()
    pcm = pcm[:seconds * 16000]
    with wave.open(path, 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(pcm)
    return {'path': path, 'sources': [os.path.basename(f) for f in files]}


def call_summary(tour):
    calls = []
    for c in tour.calls:
        events = [json.loads(l) for l in open(c['events'], errors='replace') if l.startswith('{')]
        ended = next((e for e in events if e.get('event') == 'ended'), None)
        answered = any(e.get('event') in ('answered', 'established', 'connected') for e in events)
        stats = (ended or {}).get('statistics', {})
        calls.append({'n': c['n'], 'answered': answered or bool(stats.get('packets_received')),
                      'reason': (ended or {}).get('reason'), 'packets_sent': stats.get('packets_sent'),
                      'packets_received': stats.get('packets_received'), 'loss': stats.get('loss')})
    return calls


def correspondent_losses(path):
    """What the correspondent received per call (its `ended` events)."""
    try:
        events = [json.loads(l) for l in open(path, errors='replace') if l.startswith('{')]
    except OSError:
        return []
    return [e.get('statistics', {}) for e in events if e.get('event') == 'ended']


def pesq_score(reference, degraded):
    """PESQ (P.862 narrow band) of the received call against the speech played, through the
    project's virtual environment (PyPI pesq); None and the reason when it cannot be computed."""
    py = os.path.join(ROOT, '.venv', 'bin', 'python')
    if not os.path.exists(py):
        return None, 'no .venv (make deps installs pesq)'
    r = subprocess.run([py, os.path.join(HERE, 'pesq_score.py'), reference, degraded], capture_output=True, text=True)
    if r.returncode != 0:
        return None, (r.stderr or r.stdout).strip()[-300:]
    return float(r.stdout.split()[0]), None


# ---- onboard footprint ------------------------------------------------------------------------
class Footprint:
    """Resident memory and CPU of groups of processes (by the demo's process names), sampled."""

    PAGES_EVERY = 2.0   # seconds between two counts of distinct pages (they read /proc/PID/pagemap)

    def __init__(self, groups, procs):
        self.groups, self.procs = groups, procs
        self.peak = {g: 0 for g in groups}
        self.pages_peak = {g: 0 for g in groups}
        self.pages_at = 0.0
        self.cpu = {}        # pid -> (group names, last ticks)
        self.tick = os.sysconf('SC_CLK_TCK')

    @staticmethod
    def _rss_kb(pid):
        try:
            for line in open(f'/proc/{pid}/status'):
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    @staticmethod
    def _ticks(pid):
        try:
            fields = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
            return int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            return None

    @staticmethod
    def _distinct_kb(pids):
        """Resident pages of `pids` with each physical page counted once (root reads the frame
        numbers in /proc/PID/pagemap): what the box has to hold. A shared library's pages are in the
        RSS of every process that maps it, but in memory once."""
        seen = set()
        for pid in pids:
            try:
                maps = open(f'/proc/{pid}/maps').read().splitlines()
                pm = open(f'/proc/{pid}/pagemap', 'rb')
            except OSError:
                continue
            with pm:
                for line in maps:
                    if line.endswith('[vsyscall]'):
                        continue
                    lo, hi = (int(x, 16) for x in line.split()[0].split('-'))
                    try:
                        pm.seek(lo // 4096 * 8)
                        raw = pm.read((hi - lo) // 4096 * 8)
                    except OSError:
                        continue
                    for (e,) in struct.iter_unpack('<Q', raw[:len(raw) // 8 * 8]):
                        if e >> 63:
                            seen.add(e & ((1 << 55) - 1))
        return len(seen) * 4

    def sample(self):
        count_pages = time.time() - self.pages_at >= self.PAGES_EVERY
        if count_pages:
            self.pages_at = time.time()
        for g, names in self.groups.items():
            total = 0
            pids = []
            for n in names:
                p = self.procs.running.get(n)
                if p is None or p.poll() is not None:
                    continue
                pids.append(p.pid)
                total += self._rss_kb(p.pid)
                t = self._ticks(p.pid)
                if t is not None:
                    self.cpu[(g, p.pid)] = t
            self.peak[g] = max(self.peak[g], total)
            if count_pages and len(pids) > 1:
                self.pages_peak[g] = max(self.pages_peak[g], self._distinct_kb(pids))

    def result(self, seconds):
        out = {}
        for g in self.groups:
            ticks = sum(t for (gg, _), t in self.cpu.items() if gg == g)
            out[g] = {'rss_peak_mb': round(self.peak[g] / 1024, 1),
                      'cpu_percent': round(100.0 * ticks / self.tick / max(seconds, 1e-9), 1)}
            if self.pages_peak[g]:
                out[g]['distinct_pages_peak_mb'] = round(self.pages_peak[g] / 1024, 1)
        return out


# ---- the report -------------------------------------------------------------------------------
def build(tour, video, video_sent, mr, mr_final, agents, stored, listed):
    VEHICLES, ACCESS = tour.vehicles, tour.access
    since = tour.ride_started
    hands = handovers(tour.events, VEHICLES, ACCESS, since)
    gaps = outages(tour.events, VEHICLES, ACCESS, since, tour.ride_ended)
    probe_dir = os.path.join(tour.data, 'probes')
    vehicles = {}
    for v in VEHICLES:
        ob = (agents[v.id] or {}).get('outbox') or {}
        first, nxt = ob.get('first_seq', 0), ob.get('next_seq', 0)
        got = stored[v.id]
        stored_set = {s for k in got for s in got[k] if first <= s < nxt}
        dropped = ob.get('dropped_pictures', 0) + ob.get('dropped_climate', 0) + ob.get('quarantined', 0)
        sent = nxt - first - dropped
        by_type = {}
        for h in hands:
            if h['vehicle'] == v.id:
                by_type[h['type']] = by_type.get(h['type'], 0) + 1
        mine = [g for g in gaps if g['vehicle'] == v.id]
        status = mr.get(v.id) or {}
        final = (mr_final.get(v.id) or {}).get('counters') or {}
        vehicles[v.id] = {
            'name': v.name,
            'readings': {'sent': sent, 'stored': len(stored_set), 'lost': sent - len(stored_set),
                         'by_kind_stored': {k: len([s for s in got[k] if first <= s < nxt]) for k in got},
                         'dropped_by_cap_or_refused': dropped, 'outbox_left': ob.get('depth'),
                         'drain_exit_status': agents[v.id]['drain_status']},
            'handovers': sum(by_type.values()), 'handovers_by_type': by_type,
            # SONAR: the router's handovers (its counter once the agent had stopped) against the
            # handover records the map server stored through the agent's outbox.
            'sonar': {'router_handovers': final.get('handovers'), 'records_stored': len(got.get('handover', []))},
            'outages': len(mine), 'outage_seconds': round(sum(((g['to'] or tour.ride_ended) - g['from']) for g in mine), 1),
            'probes': probe_losses(probe_dir, v.id, hands, gaps),
            'mobile_router': {'bindings': [{k: b.get(k) for k in ('uplink', 'state', 'bid', 'careOf') if k in b}
                                           for b in status.get('bindings', [])],
                              'counters': {k: c for k, c in (status.get('counters') or {}).items()
                                           if k.startswith(('packets_to_tunnel', 'binding', 'handover', 'bu_', 'ba_'))}},
        }
    n_hand = sum(v['handovers'] for v in vehicles.values())
    lost_hand = sum(v['probes']['handover'] for v in vehicles.values())
    # Video: frames sent while the car had no uplink at all cannot arrive; the delivered ratio is
    # given both overall and over the frames sent with an uplink.
    # Frames sent while the car had no coverage at all cannot arrive; those sent while it was
    # re-registering after an outage count against the delivery ratio.
    car_dark = [(g['from'], g['to'] or tour.ride_ended) for g in gaps if tour.camera and g['vehicle'] == tour.camera.id]
    times = frame_send_times(os.path.join(tour.data, 'video-timing.txt'))
    in_dark = sum(1 for t in times if any(a <= t <= b for a, b in car_dark))
    shown = {k: x for k, x in video.items()}
    reachable = (video_sent or 0) - in_dark
    # "during outage": from the loss of the last uplink until coverage came back.
    video_report = {'sent': video_sent, 'sent_during_outage': in_dark, 'shown': shown,
                    'delivered_ratio': {k: round(x / video_sent, 4) if video_sent and x is not None else None for k, x in shown.items()},
                    'delivered_ratio_with_uplink': {k: round(x / reachable, 4) if reachable > 0 and x is not None else None
                                                    for k, x in shown.items()}}
    calls = call_summary(tour)
    received = correspondent_losses(os.path.join(tour.data, 'call', 'correspondent.jsonl'))
    pesq, why = {}, None
    if not tour.speech:
        why = 'no speech sample (../shared/vectors missing): the call sent a tone'
    else:
        # Downlink: what each call's bicycle recorded of the correspondent's speech; uplink: what
        # the correspondent recorded (complete only for calls whose BYE reached it).
        recs = [(f'call-{c["n"]}-down', os.path.join(tour.data, 'call', f'call-{c["n"]}.wav')) for c in tour.calls]
        recs += [('first-up', os.path.join(tour.data, 'call', 'received.wav'))]
        for name, path in recs:
            if os.path.exists(path):
                score, note = pesq_score(tour.speech['path'], path)
                pesq[name] = score if score is not None else f'n/a: {note}'
    return {
        'scenario': tour.args.scenario,
        'mode': ('single-coa' if tour.args.single_coa else 'mcoa') + ('+ipv4-cellular' if tour.args.ipv4_cellular else ''),
        'speed': tour.args.speed,
        'ride_seconds': round(tour.ride_ended - tour.ride_started, 1),
        'access': ACCESS,
        'vehicles': vehicles,
        'listed_by_server': [{'id': x.get('id'), 'latest_fix': x.get('fix') or x.get('latest_fix') or x.get('latest')}
                             for x in (listed if isinstance(listed, list) else listed.get('vehicles', []))],
        'totals': {'handovers': n_hand, 'outages': sum(v['outages'] for v in vehicles.values()),
                   'readings_sent': sum(v['readings']['sent'] for v in vehicles.values()),
                   'readings_lost': sum(v['readings']['lost'] for v in vehicles.values()),
                   'probes_lost_per_handover': round(lost_hand / n_hand, 3) if n_hand else None},
        'video': video_report,
        'call': {'calls': calls, 'received_by_correspondent': received, 'pesq': pesq, 'pesq_note': why,
                 'codec': 'iLBC', 'caller': tour.caller.name if tour.caller else None,
                 'via': 'kamailio' if tour.sip_proxy else 'direct'},
        'footprint': tour.footprint,
        'handovers': hands,
        'outage_intervals': gaps,
        'result_2006': RESULT_2006,
        'service': getattr(tour, 'service_report', None),
    }


def text(r):
    title = {'ebag': 'E-Bag', 'service': 'Home Agent service'}.get(r.get('scenario'), 'Tour de France')
    lines = ['', f'{title} report ({r["mode"]}, {r["ride_seconds"]} s of riding at {r["speed"]}×)', '']
    for vid, v in r['vehicles'].items():
        rd, p = v['readings'], v['probes']
        lines.append(f'  {v["name"]}: readings sent {rd["sent"]}, stored {rd["stored"]}, lost {rd["lost"]} '
                     f'(fixes {rd["by_kind_stored"].get("fix")}, climate {rd["by_kind_stored"].get("climate")}, '
                     f'pictures {rd["by_kind_stored"].get("picture")})')
        lines.append(f'    handovers {v["handovers"]}: ' + (', '.join(f'{k} ×{n}' for k, n in sorted(v['handovers_by_type'].items())) or 'none')
                     + f'; outages {v["outages"]} ({v["outage_seconds"]} s without any uplink)')
        so = v.get('sonar') or {}
        lines.append(f'    SONAR: the mobile router made {so.get("router_handovers")} handover records, the map server stored {so.get("records_stored")}')
        lines.append(f'    probes ({p["sent"]} sent both ways): lost {p["handover"]} around handovers, '
                     f'{p["outage"]} in outages, {p["other"]} elsewhere (link loss)')
    t = r['totals']
    lines.append('')
    lines.append(f'  handovers: {t["handovers"]}, probe packets lost per handover: {t["probes_lost_per_handover"]} '
                 f'({r["mode"]}; 2006: {r["result_2006"]})')
    vd = r['video']
    if vd['sent'] is not None or vd['shown']:
        lines.append(f'  video (car, XCAST6 through a relay): sent {vd["sent"]} frames ({vd["sent_during_outage"]} during outages), '
                     + ', '.join(f'{k} showed {n}' for k, n in vd['shown'].items()))
    c = r['call']
    done = [x for x in c['calls'] if x['answered']]
    if c.get('caller') or c['calls']:
        lines.append(f'  call ({c.get("caller", "bicycle 1")} → {"kamailio → " if c.get("via") == "kamailio" else ""}correspondent, {c["codec"]}): {len(done)} of {len(c["calls"])} calls answered; '
                     + ', '.join(f'loss {s.get("loss")}' for s in c['received_by_correspondent'][:3])
                     + '; PESQ ' + (', '.join(f'{k} {v:.2f}' if isinstance(v, float) else f'{k} {v}' for k, v in c['pesq'].items())
                                    if c['pesq'] else f'n/a: {c["pesq_note"]}'))
    sv = r.get('service')
    if sv and not sv.get('error'):
        st = sv['statistics']
        lines.append(f'  Home Agent service: {len(sv["signups"])} people signed up, '
                     + ', '.join(f'{x["owner"]} {x["status"]} ({"joined" if x["joined"] else "not joined"}, {x["home_address"]}, {", ".join(x["prefixes"])})' for x in sv['routers'])
                     + '; sign-up to first binding: ' + ', '.join(f'{k} {v.get("registered_ms")} ms' for k, v in sv['signups'].items())
                     + f'; the operator\'s statistics: {st.get("registrations_in_period")} registrations, refusals {st.get("refusals_by_status") or "none"}')
        for t in (st.get('handover_delays') or {}).get('technologies', []):
            lines.append(f'    handovers to {t["technology"]} (from SONAR): {t["handovers"]}, registration delay median {fmt_ms(t.get("median_ms"))}, '
                         f'90th {fmt_ms(t.get("p90_ms"))}, max {fmt_ms(t.get("maximum_ms"))}; {t["lost"]} packets lost')
    elif sv:
        lines.append(f'  Home Agent service: {sv["error"]}')
    for g, f in (r.get('footprint') or {}).items():
        pages = f' ({f["distinct_pages_peak_mb"]} MB of distinct pages: what the box holds)' if f.get('distinct_pages_peak_mb') else ''
        lines.append(f'  onboard footprint {g}: {f["rss_peak_mb"]} MB RSS peak{pages}, {f["cpu_percent"]} % of a core')
    lines.append('')
    return '\n'.join(lines)


if __name__ == '__main__':
    # report.py DATA/report.json: print a saved report again.
    print(text(json.load(open(sys.argv[1]))))
