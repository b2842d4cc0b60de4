"""`make demo`'s scenario (Demos/tour/tour.py), shortened: three vehicles ride a minute at five
times real speed over the mobility stack in network namespaces, handing over as their replayed
positions enter and leave coverage. Its report is asserted: no reading lost, handovers recorded by
the mobile routers, the car's video at both viewers, the call's audio; and nothing left behind.
Also: a run killed with SIGKILL is cleaned up by the next one, and without root `make demo`'s
script says why and runs the loopback demo."""
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import ROOT, dependency_missing

TOUR = os.path.join(ROOT, 'Demos', 'tour', 'tour.py')


def bin_dir():
    out = subprocess.run(['swift', 'build', '--show-bin-path'], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def namespaces(prefix):
    out = subprocess.run(['ip', 'netns', 'list'], capture_output=True, text=True).stdout
    return [l.split()[0] for l in out.splitlines() if l.split() and l.split()[0].startswith(prefix + '-')]


def processes_using(path):
    """PIDs of processes whose command line mentions `path` (the run's data folder)."""
    out = subprocess.run(['pgrep', '-f', path], capture_output=True, text=True).stdout
    return [int(p) for p in out.split() if int(p) != os.getpid()]


@pytest.fixture
def run(tmp_path):
    """Runs tour.py with a unique namespace prefix and ports; removes whatever is left at the end."""
    if os.geteuid() != 0:
        dependency_missing('the tour needs root for network namespaces')
    why = subprocess.run([sys.executable, TOUR, '--check', '--bin-dir', bin_dir()], capture_output=True, text=True)
    if why.returncode != 0:
        dependency_missing(why.stderr.strip())
    prefix = f'tt{os.getpid() % 1000}{random.randrange(100)}'
    started = []

    def start(*extra, data='data'):
        data = str(tmp_path / data)
        argv = [sys.executable, TOUR, '--bin-dir', bin_dir(), '--prefix', prefix, '--data', data,
                '--port', '0', '--video-port', '0', *extra]
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        started.append(p)
        return p, data

    yield prefix, start
    for p in started:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    sys.path.insert(0, os.path.dirname(TOUR))
    import topology
    topology.remove(prefix)


def look_at_the_map(port):
    """The public page on the host's localhost while the vehicles ride: every vehicle listed, and
    the car's panel showing its live video (XCAST6 → viewer → MJPEG), frames changing."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    from test_browser import assert_car_video_plays, chrome, handover_markers
    driver = chrome()
    try:
        driver.get(f'http://localhost:{port}/')
        WebDriverWait(driver, 30).until(lambda d: d.execute_script('return document.body.dataset.ready') == 'true')
        for v in ('bike-1', 'bike-2', 'car'):
            WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, f'button[data-vehicle="{v}"]'))
        assert_car_video_plays(driver, timeout=20)
        # SONAR on the map: the routers' handovers (collected by the agents) as markers, and the
        # tracks coloured by the access technology in use.
        WebDriverWait(driver, 60).until(lambda d: len(handover_markers(d)) >= 3)
        WebDriverWait(driver, 30).until(lambda d: {'wlan', 'cellular'} & set(d.execute_script(
            "return Array.from(document.querySelectorAll('path.track-tech')).map(p => p.dataset.tech)")))
    finally:
        driver.quit()


def test_the_tour_over_the_mobility_stack(run):
    prefix, start = run
    p, data = start('--duration', '60', '--speed', '5')
    head = []
    while True:
        line = p.stdout.readline()
        assert line, ''.join(head)
        head.append(line)
        if 'running over NEMO: open http://localhost:' in line:
            port = int(line.split('http://localhost:')[1].split('/')[0])
            break
    look_at_the_map(port)
    rest, _ = p.communicate(timeout=600)
    out = ''.join(head) + rest
    print(out[-6000:])
    assert p.returncode == 0, out[-4000:]
    r = json.load(open(os.path.join(data, 'report.json')))

    # The outbox loses nothing across handovers and outages: every reading sent is stored once.
    for vid, v in r['vehicles'].items():
        rd = v['readings']
        assert rd['sent'] > 100 and rd['lost'] == 0 and rd['stored'] == rd['sent'], (vid, rd)
        assert rd['outbox_left'] == 0 and rd['drain_exit_status'] == 0, (vid, rd)
        assert rd['by_kind_stored']['fix'] > 100 and rd['by_kind_stored']['climate'] > 0, (vid, rd)
    assert r['totals']['readings_lost'] == 0

    # Handovers where the route says (at least 10), and the mobile routers saw them too: their own
    # handover counters (primary uplink changes) count at least the controller's uplink changes
    # that moved the vehicle from one technology to the other.
    assert r['totals']['handovers'] >= 10, r['totals']
    for vid, v in r['vehicles'].items():
        moved = sum(n for t, n in v['handovers_by_type'].items() if '→' in t)
        assert v['handovers'] > 0, (vid, v['handovers_by_type'])
        assert v['mobile_router']['counters'].get('handovers', 0) >= moved, (vid, v['mobile_router'], v['handovers_by_type'])
        # SONAR: every handover the router made reached the map server as a record, once.
        so = v['sonar']
        assert so['router_handovers'] >= moved and so['records_stored'] == so['router_handovers'], (vid, so)
        # The probes lost nothing but around handovers and in outages (and the cellular link's 0.1 %).
        pr = v['probes']
        assert pr['other'] <= 0.01 * pr['sent'] + 3, (vid, pr)

    # The server listed every vehicle with its latest fix while they rode.
    assert sorted(x['id'] for x in r['listed_by_server']) == ['bike-1', 'bike-2', 'car']
    assert all(x['latest_fix'] for x in r['listed_by_server']), r['listed_by_server']

    # Video frames reach every viewer: all that could (the car had an uplink), give or take the
    # frames in flight at a handover.
    vd = r['video']
    assert vd['sent'] and vd['sent'] > 300, vd
    for viewer, ratio in vd['delivered_ratio_with_uplink'].items():
        assert ratio is not None and ratio >= 0.9, (viewer, vd)

    # The call keeps its audio: answered, iLBC, packets through, and speech recognisable (PESQ).
    # It went through kamailio, the registrar the correspondent registered with (make test installs it).
    call = r['call']
    if shutil.which('kamailio') or os.path.exists('/usr/sbin/kamailio'):
        assert call['via'] == 'kamailio', call
    else:
        dependency_missing('kamailio (deps/apt-phone.txt) is not installed')
    first = call['calls'][0]
    assert first['answered'] and first['packets_received'] > 500, call
    assert first['loss'] is not None and first['loss'] < 0.2, call
    if r['call']['pesq_note'] is None:           # the shared speech sample is there (it is in CI)
        down = call['pesq'].get('call-1-down')
        assert isinstance(down, float) and down > 1.0, call['pesq']

    # The onboard footprint was measured.
    assert r['footprint']['bicycle']['rss_peak_mb'] > 0 and r['footprint']['car']['rss_peak_mb'] > 0
    # Counted by distinct physical pages, the processes' shared libraries count once.
    b = r['footprint']['bicycle']
    assert 0 < b['distinct_pages_peak_mb'] < b['rss_peak_mb'], b

    # Nothing left behind: no namespace, no process of this run.
    assert namespaces(prefix) == []
    assert processes_using(data) == []


def test_dual_stack_mobility_over_an_ipv4_only_cellular_network(run):
    """Demos/dual-stack.sh's scenario: the cellular network is IPv4-only; each router registers an
    IPv4 care-of address (DSMIPv6) beside its IPv6 hotspot one, hands over between them, and keeps
    its IPv6 prefix: nothing is lost from the outboxes, and data really went over IPv4."""
    prefix, start = run
    p, data = start('--duration', '30', '--speed', '5', '--ipv4-cellular')
    out, _ = p.communicate(timeout=600)
    assert p.returncode == 0, out[-4000:]
    r = json.load(open(os.path.join(data, 'report.json')))
    assert r['mode'] == 'mcoa+ipv4-cellular'
    assert r['totals']['readings_lost'] == 0 and r['totals']['handovers'] >= 5, r['totals']
    for vid, v in r['vehicles'].items():
        b = {x['uplink']: x for x in v['mobile_router']['bindings']}
        assert b['cell']['careOf'].startswith('203.0.113.') and b['cell']['state'] == 'registered', (vid, b)
        assert b['wlan']['careOf'].startswith('2001:db8:'), (vid, b)
        assert v['mobile_router']['counters'].get('packets_to_tunnel_cell', 0) > 50, (vid, v['mobile_router'])
        assert v['readings']['lost'] == 0 and v['readings']['sent'] > 50, (vid, v['readings'])
    assert namespaces(prefix) == []


def test_the_ebag_a_personal_network_carried_by_a_walker(run):
    """Demos/ebag.sh's scenario: one mobile router, a laptop and a phone behind it on a bridge,
    both with addresses from its prefix; the walker hands over, the laptop's agent loses nothing,
    the phone's call is answered and carries audio."""
    prefix, start = run
    p, data = start('--duration', '40', '--speed', '30', '--scenario', 'ebag')
    out, _ = p.communicate(timeout=600)
    assert p.returncode == 0, out[-4000:]
    assert 'laptop 2001:db8:a1:' in out and 'phone 2001:db8:a1:' in out, out[:3000]
    r = json.load(open(os.path.join(data, 'report.json')))
    assert r['scenario'] == 'ebag' and list(r['vehicles']) == ['walker'], r['vehicles'].keys()
    w = r['vehicles']['walker']
    assert w['readings']['sent'] > 50 and w['readings']['lost'] == 0, w['readings']
    assert w['handovers'] >= 3, w['handovers_by_type']
    assert w['sonar']['records_stored'] == w['sonar']['router_handovers'] >= 3, w['sonar']
    first = r['call']['calls'][0]
    assert first['answered'] and first['packets_received'] > 300, r['call']
    assert namespaces(prefix) == []


def test_the_home_agent_service_people_sign_up_join_and_stay_reachable(run):
    """Demos/ha-service.sh's scenario: two people sign up at nemo-service through its API, each
    router joins with `nemo mr --join` (its own file holds only its interfaces), both register,
    walk between hotspots and cellular, lose no reading, and the operator's statistics count them."""
    prefix, start = run
    p, data = start('--duration', '40', '--speed', '30', '--scenario', 'service')
    out, _ = p.communicate(timeout=600)
    assert p.returncode == 0, out[-4000:]
    assert 'Alice signed up at the Home Agent service' in out and 'Bob signed up' in out, out[:3000]
    r = json.load(open(os.path.join(data, 'report.json')))
    assert r['scenario'] == 'service' and list(r['vehicles']) == ['alice', 'bob'], r['vehicles'].keys()
    sv = r['service']
    assert sorted(x['owner'] for x in sv['routers']) == ['alice', 'bob'], sv
    assert all(x['joined'] and x['status'] == 'active' for x in sv['routers']), sv
    # The routers run with what the service gave them: their prefixes reach the laptops.
    for x in sv['routers']:
        assert f'laptop {x["prefixes"][0].split("::")[0]}:' in out, (x, out[:3000])
    assert all(s['registered_ms'] < 15000 for s in sv['signups'].values()), sv['signups']
    assert sv['statistics']['registrations_in_period'] >= 4, sv['statistics']
    for vid, v in r['vehicles'].items():
        assert v['readings']['sent'] > 20 and v['readings']['lost'] == 0, (vid, v['readings'])
        assert v['sonar']['records_stored'] == v['sonar']['router_handovers'] >= 1, (vid, v['sonar'])
    # The operator's delay distribution per technology: every handover the map shows the public,
    # collected from its API, each technology the people handed over to, with its delays.
    techs = sv['statistics']['handover_delays']['technologies']
    public = sv['public_handovers']
    assert public['before'] >= 2, sv
    assert public['before'] <= sum(t['handovers'] for t in techs) <= public['after'], (techs, public)
    # Each router's page shows its vehicle's handovers (the router names its vehicle on the map).
    assert all(x['vehicle'] == x['owner'] and x['handovers'] >= 1 for x in sv['routers']), sv['routers']
    # (asked after the statistics, before the second count of what the public sees)
    assert sum(t['handovers'] for t in techs) <= sum(x['handovers'] for x in sv['routers']) <= public['after'], (sv['routers'], techs)
    assert {'wlan', 'cellular'} & {t['technology'] for t in techs}, techs
    assert all(t['with_delay'] == 0 or t['median_ms'] is not None for t in techs), techs
    assert 'handovers to ' in out and '(from SONAR)' in out, out[-3000:]
    # No key in any log of the run.
    key_files = [os.path.join(data, 'service', 'accounts.json')]
    keys = [a['key'] for f in key_files for a in json.load(open(f))['mobileRouters']]
    logs = os.path.join(data, 'logs')
    for name in os.listdir(logs):
        text = open(os.path.join(logs, name), errors='replace').read()
        assert not any(k in text for k in keys), name
    assert namespaces(prefix) == []


def test_a_killed_run_is_cleaned_up_by_the_next(run):
    prefix, start = run
    first, data1 = start(data='first')
    seen = []
    end = time.time() + 300
    while time.time() < end:
        line = first.stdout.readline()
        if not line:
            break
        seen.append(line)
        if 'running over NEMO' in line:
            break
    assert any('running over NEMO' in l for l in seen), ''.join(seen)
    time.sleep(2)
    first.send_signal(signal.SIGKILL)          # the script only: its programs run on
    first.wait()
    left = namespaces(prefix)
    assert len(left) > 5, left                        # the killed run left its network behind
    assert processes_using(data1), 'the killed run left no process: the test proves nothing'

    second, data2 = start('--duration', '10', '--speed', '5', data='second')
    out, _ = second.communicate(timeout=600)
    assert second.returncode == 0, out[-4000:]
    assert 'removed what an earlier run left' in out, out[:2000]
    assert namespaces(prefix) == []
    assert processes_using(data1) == [] and processes_using(data2) == []


@pytest.fixture
def open_dir():
    """A folder outside pytest's (which is private to root) that an unprivileged user can enter."""
    import tempfile
    d = tempfile.mkdtemp(prefix='tour-nonroot-')
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_without_root_make_demo_says_why_and_runs_the_loopback_demo(open_dir):
    """`make demo`'s script as an unprivileged user (from a copy of what it needs, readable by
    that user): it names what is missing and serves the loopback demo instead."""
    if os.geteuid() != 0:
        dependency_missing('switching to an unprivileged user needs root')
    import pathlib
    tmp_path = pathlib.Path(open_dir)
    d = bin_dir()
    root = tmp_path / 'repo'
    shutil.copytree(os.path.join(ROOT, 'Demos'), root / 'Demos')
    shutil.copytree(os.path.join(ROOT, 'Web'), root / 'Web')
    os.makedirs(root / 'Sensors' / 'traces')
    for v in ('bike-1', 'bike-2', 'car'):
        shutil.copy(os.path.join(ROOT, 'Sensors', 'traces', f'tdf-{v}.gpx'), root / 'Sensors' / 'traces')
    os.makedirs(root / 'bin')
    for b in ('monnemo-server', 'monnemo-agent', 'nemo', 'xcast6', 'softphone'):
        shutil.copy(os.path.join(d, b), root / 'bin')
    for dirpath, dirnames, filenames in os.walk(tmp_path):
        os.chmod(dirpath, 0o777)
    port = free_port()
    env = {'PATH': '/usr/bin:/bin', 'HOME': str(tmp_path), 'BIN_DIR': str(root / 'bin'), 'PORT': str(port),
           'OSMAND_PORT': str(free_port()), 'DEMO_DURATION': '8'}
    p = subprocess.Popen(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'bash',
                          str(root / 'Demos' / 'tour-de-france.sh')], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, cwd=str(tmp_path))
    listed = None
    end = time.time() + 60
    while time.time() < end and p.poll() is None and listed is None:
        try:
            with urllib.request.urlopen(f'http://127.0.0.1:{port}/api/v1/vehicles', timeout=2) as r:
                listed = json.loads(r.read())
        except OSError:
            time.sleep(0.3)
    out, _ = p.communicate(timeout=60)
    assert 'the namespace demo cannot run here: it needs root' in out, out
    assert 'running the loopback demo instead' in out, out
    assert 'Nautilus demo running (loopback)' in out, out
    assert p.returncode == 0, out
    assert listed is not None and sorted(v['id'] for v in listed) == ['bike-1', 'bike-2', 'car'], listed
