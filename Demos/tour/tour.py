#!/usr/bin/env python3
"""The Tour de France over the mobility stack: two bicycles and a car, each a NEMO mobile network
handing over between hotspots and a cellular network as it rides, feeding the public map, the
car streaming its camera over XCAST6 and a bicycle holding a SIP call; at the end, a report of
what was lost.

usage: tour.py [--duration S] [--speed X] [--single-coa] [--port 8080] [--data DIR] [--prefix P]

Needs root, network namespaces and /dev/net/tun (`make demo` checks and otherwise runs the
loopback demo). Open http://localhost:PORT/ while it rides. Ctrl-C (or --duration) stops it:
the coverage is restored, every agent's outbox is drained, the report is printed and written to
DATA/report.json, and every namespace, link and process it made is removed. A run that was
killed leaves namespaces behind: the next run (same --prefix) removes them first.
"""
import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import coverage  # noqa: E402
import report  # noqa: E402
import topology  # noqa: E402
import zones as zone_maker  # noqa: E402
from topology import SERVICES, Vehicle  # noqa: E402

def scenario(name):
    """The vehicles of a scenario: the Tour de France (two bicycles, the first calling, and a car
    streaming its camera), or the E-Bag (a walker's personal network: one mobile router, a laptop
    reporting the walker's position and a phone holding a call behind it; at a walker's pace)."""
    if name == 'service':
        # The Home Agent service demonstration: two people sign up their personal networks at the
        # service (a laptop behind each router), join with one command, walk from room to room
        # (hotspot to hotspot, cellular between) and stay reachable.
        people = [Vehicle('alice', 'Alice', 'al', 1, route='bike-1', pace=0.15, hosts=('laptop',), agent_host='laptop'),
                  Vehicle('bob', 'Bob', 'bo', 2, route='bike-2', pace=0.15, hosts=('laptop',), agent_host='laptop')]
        for v in people:
            v.prefix = None       # given by the service at sign-up
        return people
    if name == 'ebag':
        return [Vehicle('walker', 'Walker (E-Bag)', 'wk', 1, route='bike-1', pace=0.15, hosts=('laptop', 'phone'),
                        agent_host='laptop', call_host='phone')]
    return [Vehicle('bike-1', 'Bicycle 1', 'b1', 1, call_host='lan'), Vehicle('bike-2', 'Bicycle 2', 'b2', 2),
            Vehicle('car', 'Car', 'car', 3, video=True)]
# The access networks: a hotspot (fast, short range) and the cellular network (slower, longer
# delay, a little loss, wide coverage). Delay and loss are each way.
ACCESS = {'wlan': {'rate': '20mbit', 'delay_ms': 5, 'loss_percent': 0.0, 'label': 'WLAN hotspot', 'family': 'ipv6'},
          'cell': {'rate': '4mbit', 'delay_ms': 40, 'loss_percent': 0.1, 'label': 'cellular', 'family': 'ipv6'}}


def access_networks(ipv4_cellular):
    """The access networks of a run: with `ipv4_cellular` the cellular network is IPv4-only, and
    the routers reach their home agent over it with IPv4 care-of addresses (DSMIPv6, RFC 5555)."""
    out = {t: dict(spec) for t, spec in ACCESS.items()}
    if ipv4_cellular:
        out['cell'].update(family='ipv4', label='cellular (IPv4 only)')
    return out
PROBE_RATE = 50           # probe packets per second, each way, per vehicle
CALL_SECONDS = 30         # one call lasts this long; the bicycle calls again when it ends
VIDEO_PORTS = (5004, 5006)
RELAY_PORT = 4000
# Each access network's technology, as the mobile routers' SONAR records name it.
TECHNOLOGY = {'wlan': 'wlan', 'cell': 'cellular'}
SIP_PORT = 5060            # kamailio, the registrar and proxy (the correspondent itself without it)
CORRESPONDENT_PORT = 5070  # the correspondent, registered at kamailio as `tour`


class Unavailable(Exception):
    """The machine cannot run the namespace demo (the reason says what is missing)."""


def log(msg):
    print(f'[{time.strftime("%H:%M:%S")}] {msg}', flush=True)


def requirements(bin_dir, scenario_name='tour'):
    if os.geteuid() != 0:
        raise Unavailable('it needs root (network namespaces, TUN devices): run `sudo make demo`')
    if not shutil.which('ip') or not shutil.which('tc'):
        raise Unavailable('iproute2 (ip, tc) is missing: apt-get install iproute2')
    if not os.path.exists('/dev/net/tun'):
        raise Unavailable('/dev/net/tun is missing: modprobe tun (in a container: --device /dev/net/tun)')
    probe = f'tdfcheck{os.getpid()}'
    r = subprocess.run(['ip', 'netns', 'add', probe], capture_output=True, text=True)
    subprocess.run(['ip', 'netns', 'del', probe], capture_output=True)
    if r.returncode != 0:
        raise Unavailable(f'network namespaces cannot be made here ({r.stderr.strip()}): a privileged container or a VM is needed')
    for b in ('nemo', 'monnemo-server', 'monnemo-agent', 'xcast6', 'softphone') + (('nemo-service',) if scenario_name == 'service' else ()):
        if not os.access(os.path.join(bin_dir, b), os.X_OK):
            raise Unavailable(f'{b} is not built in {bin_dir}: swift build -c release')


class Procs:
    """Every process the demo starts, by name, each in a namespace, with its log in DATA/logs."""

    def __init__(self, logs):
        self.logs, self.running = logs, {}

    def start(self, name, ns, argv, stdout=None, **kw):
        out = stdout or open(os.path.join(self.logs, f'{name}.log'), 'ab')
        p = subprocess.Popen(['ip', 'netns', 'exec', ns, *argv], stdout=out,
                             stderr=subprocess.STDOUT if stdout is None else open(os.path.join(self.logs, f'{name}.log'), 'ab'),
                             start_new_session=True, **kw)
        self.running[name] = p
        return p

    def stop(self, name, timeout=10):
        p = self.running.pop(name, None)
        if p is None or p.poll() is not None:
            return p
        p.terminate()
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        return p

    def stop_all(self):
        for name in list(self.running):
            self.stop(name, timeout=5)


def wait_for(what, cond, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return
        time.sleep(0.1)
    raise TimeoutError(f'timed out after {timeout:.0f} s waiting for {what}')


def listener(port, family, host):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((host, port))
    s.listen(64)
    s.set_inheritable(True)
    return s


class Tour:
    def __init__(self, args):
        self.args = args
        self.bin = args.bin_dir
        self.data = os.path.abspath(args.data)
        self.access = access_networks(args.ipv4_cellular)
        self.vehicles = scenario(args.scenario)
        self.caller = next((v for v in self.vehicles if v.call_host), None)
        self.camera = next((v for v in self.vehicles if v.video), None)
        self.net = topology.Network(args.prefix, self.vehicles, self.access)
        self.events = []          # coverage changes: {t, vehicle, tech, up, lat, lon}
        self.calls = []
        self.started = {}

    # ---- set-up -------------------------------------------------------------------------
    def prepare_folder(self):
        marker = os.path.join(self.data, '.nautilus-tour')
        if os.path.isdir(self.data) and os.listdir(self.data) and not os.path.exists(marker):
            raise ValueError(f'{self.data} holds files of something else; the tour empties its folder at start, '
                             f'so give it a new or empty one with --data')
        if os.path.exists(self.data):
            shutil.rmtree(self.data)
        os.makedirs(self.data)
        open(marker, 'w').write('A Demos/tour/tour.py run folder: emptied by the next run.\n')
        for sub in ('logs', 'agents', 'tokens', 'probes', 'call', 'config', 'run'):
            os.makedirs(os.path.join(self.data, sub), exist_ok=True)
        os.chmod(os.path.join(self.data, 'config'), 0o700)
        os.chmod(os.path.join(self.data, 'tokens'), 0o700)
        self.procs = Procs(os.path.join(self.data, 'logs'))

    def write_configs(self):
        cfg = os.path.join(self.data, 'config')
        if self.args.zones:
            self.zones_path = os.path.abspath(self.args.zones)
            coverage.Zones.load(self.zones_path)        # a bad file fails here, before any namespace
        else:
            self.zones_path = os.path.join(cfg, 'zones.json')
            zone_maker.write(self.zones_path)
        routers, self.mr_configs = [], {}
        self.service = self.args.scenario == 'service'
        for i, v in enumerate(self.vehicles):
            if self.service:
                continue                    # signed up at the service once the network is up (start_mobility)
            key = secrets.token_hex(16)      # a fresh RFC 4285 key per run
            routers.append({'homeAddress': v.home_address, 'nai': f'{v.id}@tour.example', 'spi': 256 + i, 'key': key,
                            'prefixes': [v.prefix], 'maximumLifetime': 600, 'duplicateDownlink': True})
            mr = {'homeAddress': v.home_address, 'homeAgentAddress': '2001:db8:ffff::1',
                  'homeAgentEndpoints': [topology.HA_OUTER, topology.HA_OUTER4], 'prefixes': [v.prefix], 'spi': 256 + i, 'key': key,
                  'nai': f'{v.id}@tour.example', 'lifetime': 120, 'multipleCareOf': not self.args.single_coa}
            mr.update(self.vehicle_local_config(v))
            path = os.path.join(cfg, f'mr-{v.id}.json')
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as f:
                json.dump(mr, f, indent=1)
            self.mr_configs[v.id] = path
        ha = {'listen': [topology.HA_RELAYED, topology.HA_OUTER, topology.HA_RELAYED4, topology.HA_OUTER4], 'port': 4191, 'homeAgentAddress': '2001:db8:ffff::1',
              'homePrefix': topology.HOME_PREFIX, 'tunnel': 'nemo0', 'mtu': 1400, 'allowMultipleCareOf': True,
              'mobileRouters': routers, 'metricsPort': 9464}
        if self.service:
            ha['accountsFile'] = os.path.join(self.data, 'service', 'accounts.json')
        self.ha_config = os.path.join(cfg, 'ha.json')
        with open(os.open(self.ha_config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as f:
            json.dump(ha, f, indent=1)

    def vehicle_local_config(self, v):
        """What a mobile router's own file says whoever gives it its account: its uplinks (the
        access networks' gateways), its vehicle network, its tunnel and its flow policies."""
        uplinks = [{'name': t, 'bid': n, 'priority': n, 'family': spec['family'], 'gateway': v.gateway(n, spec['family']),
                    'technology': TECHNOLOGY.get(t, 'other')}
                   for n, (t, spec) in enumerate(self.access.items(), start=1)]
        return {'discardDuplicates': True, 'uplinks': uplinks,
                'ingress': {'interface': 'lan', 'address': f'{v.router_lan}/64', 'routerAdvertisements': True},
                'tunnel': 'nemo0', 'mtu': 1400,
                # Voice and video over the better uplink (the hotspot while there is one), their
                  # downlink make-before-break (the home agent sends it down both uplinks, the router
                  # keeps the first copy: losing the hotspot loses nothing in flight); the telemetry
                  # (TCP) anywhere, cellular first so that it leaves the hotspot to the media.
                'flowPolicies': [
                    {'name': 'media', 'fid': 1, 'priority': 1, 'match': {'protocol': 17, 'localPorts': [16384, 32767]},
                     'uplinks': ['wlan', 'cell'], 'duplicate': True},
                    {'name': 'video', 'fid': 2, 'priority': 2, 'match': {'protocol': 17, 'remotePorts': [RELAY_PORT, RELAY_PORT]},
                     'uplinks': ['wlan', 'cell'], 'duplicate': True},
                    {'name': 'telemetry', 'fid': 3, 'priority': 3, 'match': {'protocol': 6}, 'uplinks': ['cell', 'wlan']}],
                'metricsPort': 9465}

    def tool(self, name):
        return os.path.join(self.bin, name)

    def start_mobility(self):
        run = os.path.join(self.data, 'run')
        self.procs.start('ha', self.net.ns('home'), [self.tool('nemo'), 'ha', '--config', self.ha_config,
                                                     '--control', f'{run}/ha.sock', '--state-dir', f'{run}/ha-state'])
        wait_for('the home agent', lambda: os.path.exists(f'{run}/ha.sock'), 20)
        for v in self.vehicles:
            for tech, spec in self.access.items():
                self.procs.start(f'link-{v.id}-{tech}', self.net.ns(f'{v.short}-{tech}'),
                                 [sys.executable, os.path.join(ROOT, 'bench', 'link-delay.py'),
                                  *((topology.HA_OUTER4, topology.HA_RELAYED4) if spec['family'] == 'ipv4'
                                    else (topology.HA_OUTER, topology.HA_RELAYED)),
                                  str(spec['delay_ms']), str(spec['loss_percent'])])
        time.sleep(0.3)
        join = {}
        if self.service:
            join = self.sign_up_at_service()
        for v in self.vehicles:
            self.procs.start(f'mr-{v.id}', self.net.ns(v.short),
                             [self.tool('nemo'), 'mr', '--config', self.mr_configs[v.id], '--control', f'{run}/mr-{v.id}.sock']
                             + join.get(v.id, []))
        want = 1 if self.args.single_coa else len(self.access)
        for v in self.vehicles:
            wait_for(f'{v.name} to register with the home agent', lambda v=v: self.registered(v) >= 1, 30)
            if self.service:
                self.signups[v.id]['registered_ms'] = round((time.time() - self.signups[v.id]['signed_up_at']) * 1000)
            wait_for(f'{v.name} to register every uplink', lambda v=v: self.registered(v) >= want, 30)
            for h in v.hosts:
                wait_for(f'{v.name} {h} address (router advertisement)', lambda v=v, h=h: self.net.lan_address(v, h), 30)
                v.addresses[h] = self.net.lan_address(v, h)
            v.lan = v.addresses[v.agent_host]
        log('mobile routers registered: ' + ', '.join(f'{v.id} {v.prefix} (' + ', '.join(f'{h} {a}' for h, a in v.addresses.items()) + ')'
                                                      for v in self.vehicles))

    # ---- the Home Agent service scenario ---------------------------------------------------
    SERVICE_URL = f'http://[{topology.SERVICE_ADDRESS}]:8090'

    def service_call(self, method, path, body=None, token=None):
        """The service's API from the Internet namespace (each person signs up from a PC at home), with curl."""
        argv = ['ip', 'netns', 'exec', self.net.ns('net'), 'curl', '-sS', '-g', '-m', '10', '-X', method, '-w', '\n%{http_code}',
                '-H', 'Content-Type: application/json']
        if token:
            argv += ['-H', f'Authorization: Bearer {token}']
        if body is not None:
            argv += ['--data-binary', json.dumps(body)]
        r = subprocess.run(argv + [self.SERVICE_URL + path], capture_output=True, text=True)
        lines = r.stdout.rsplit('\n', 1)
        if r.returncode != 0 or len(lines) != 2:
            raise OSError(f'the Home Agent service did not answer {method} {path}: {r.stderr.strip() or r.stdout.strip()}')
        return int(lines[1]), (json.loads(lines[0]) if lines[0].strip().startswith(('{', '[')) else {})

    def sign_up_at_service(self):
        """Starts nemo-service beside the home agent; each person creates an account, signs up a
        mobile router (its uplinks, its LAN) and gets a join token; each router's own file holds
        only its interfaces. Returns the `--join URL --token T` arguments of each router."""
        sdir = os.path.join(self.data, 'service')
        os.makedirs(sdir, mode=0o700, exist_ok=True)
        self.operator_password = secrets.token_hex(12)
        pw = os.path.join(sdir, 'operator-password')
        with open(os.open(pw, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as f:
            f.write(self.operator_password + '\n')
        conf = {'database': os.path.join(sdir, 'service.sqlite'), 'listen': topology.SERVICE_ADDRESS, 'port': 8090,
                'publicURL': self.SERVICE_URL, 'accountsFile': os.path.join(sdir, 'accounts.json'),
                'homeAgentControl': os.path.join(self.data, 'run', 'ha.sock'), 'sampleInterval': 2,
                # SONAR: the map server's public handover records give the operator's delays per technology.
                'sonarURL': f'http://[{SERVICES}]:8080', 'sonarInterval': 2,
                'settings': {'homePrefix': topology.HOME_PREFIX, 'homeAgentAddress': '2001:db8:ffff::1',
                             'homeAgentEndpoints': [topology.HA_OUTER, topology.HA_OUTER4], 'port': 4191,
                             'prefixPool': topology.SERVICE_PREFIX_POOL, 'defaultLifetime': 120, 'maximumPrefixesPerRouter': 2,
                             'multipleCareOfAllowed': True, 'openSignUp': True, 'joinTokenLifetime': 3600}}
        path = os.path.join(sdir, 'service.json')
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as f:
            json.dump(conf, f, indent=1)
        self.procs.start('service', self.net.ns('home'), [self.tool('nemo-service'), 'serve', '--config', path,
                                                          '--operator', 'operator', '--operator-password-file', pw])
        wait_for('the Home Agent service', lambda: self._service_up(), 30)
        self.signups = {}
        join = {}
        for v in self.vehicles:
            password = secrets.token_hex(10)
            status, answer = self.service_call('POST', '/api/v1/users', {'name': v.id, 'password': password})
            if status != 201:
                raise OSError(f'signing up {v.id} at the service: {status} {answer}')
            status, session = self.service_call('POST', '/api/v1/sessions', {'name': v.id, 'password': password})
            t0 = time.time()
            status, made = self.service_call('POST', '/api/v1/routers', {
                'name': f'{v.name}\'s personal network', 'prefixes': 1,
                'uplinks': [{'name': t, 'technology': TECHNOLOGY.get(t, 'other')} for t in self.access],
                'ingress': 'lan', 'multiple_care_of': not self.args.single_coa,
                'vehicle': v.id}, token=session.get('token'))
            if status != 201:
                raise OSError(f'signing up {v.name}\'s router: {status} {made}')
            router = made['router']
            v.signed_up(router['prefixes'][0], router['home_address'])
            self.net.route_prefix(v.prefix)
            self.signups[v.id] = {'router': router['id'], 'home_address': router['home_address'], 'prefix': v.prefix,
                                  'signed_up_at': t0, 'home_agent': made.get('home_agent')}
            log(f'{v.name} signed up at the Home Agent service: home address {v.home_address}, prefix {v.prefix} '
                f'(home agent: {made.get("home_agent")})')
            local = self.vehicle_local_config(v)
            cpath = os.path.join(self.data, 'config', f'mr-{v.id}.json')
            with open(os.open(cpath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as f:
                json.dump(local, f, indent=1)
            self.mr_configs[v.id] = cpath
            join[v.id] = ['--join', self.SERVICE_URL, '--token', made['join_token']]
        return join

    def _service_up(self):
        try:
            return self.service_call('GET', '/healthz')[0] == 200
        except OSError:
            return False

    def service_statistics(self, handovers_stored=0):
        """What the operator sees at the end: the routers, their history and the HA's statistics,
        once the service has collected the `handovers_stored` the map server holds (it collects
        every 2 s; at most 15 s are waited)."""
        if not getattr(self, 'service', False):
            return None
        try:
            status, session = self.service_call('POST', '/api/v1/sessions', {'name': 'operator', 'password': self.operator_password})
            token = session.get('token')
            _, routers = self.service_call('GET', '/api/v1/routers', token=token)
            deadline = time.time() + 15
            while True:
                _, stats = self.service_call('GET', '/api/v1/statistics', token=token)
                collected = sum(t['handovers'] for t in stats.get('handover_delays', {}).get('technologies', []))
                if collected >= handovers_stored or time.time() > deadline:
                    break
                time.sleep(0.5)
        except OSError as error:
            return {'error': str(error)}
        def handovers(r):
            try:
                return len(self.service_call('GET', f'/api/v1/routers/{r["id"]}', token=token)[1].get('handovers') or [])
            except OSError:
                return None
        return {'signups': self.signups, 'routers': [{'id': r['id'], 'owner': r['owner_name'], 'status': r['status'], 'joined': r['joined'],
                                                      'home_address': r['home_address'], 'prefixes': r['prefixes'], 'vehicle': r.get('vehicle'),
                                                      'handovers': handovers(r)} for r in routers],
                'statistics': {k: stats.get(k) for k in ('registrations_in_period', 'refusals_by_status', 'bindings_now',
                                                          'routers_registered_now', 'samples', 'handover_delays')}}

    def mr_status(self, v):
        r = subprocess.run(['ip', 'netns', 'exec', self.net.ns(v.short), self.tool('nemo'), 'status', '--control',
                            os.path.join(self.data, 'run', f'mr-{v.id}.sock'), '--json'], capture_output=True, text=True)
        try:
            return json.loads(r.stdout)
        except ValueError:
            return None

    def registered(self, v):
        s = self.mr_status(v)
        return 0 if s is None else sum(b.get('state') == 'registered' for b in s.get('bindings', []))

    def start_internet(self):
        self.speech = report.speech_wav(os.path.join(self.data, 'call', 'speech.wav'), CALL_SECONDS)
        srv = self.tool('monnemo-server')
        sdata = os.path.join(self.data, 'server')
        self.tokens = {}
        for v in self.vehicles:
            out = subprocess.run([srv, 'vehicle', 'add', v.id, '--name', v.name, '--data', sdata],
                                 capture_output=True, text=True, check=True).stdout
            path = os.path.join(self.data, 'tokens', v.id)
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as f:
                f.write(out.strip().splitlines()[-1] + '\n')
            self.tokens[v.id] = path
        net = self.net.ns('net')
        # The map (and the car's video) on the host's localhost: listening sockets opened here,
        # in the host's namespace (port 0: any free one), served by a relay that runs in the
        # Internet namespace.
        listening = []
        for which, target in (('port', 8080), ('video_port', 8091)):
            p = getattr(self.args, which)
            try:
                socks = [listener(p, socket.AF_INET, '127.0.0.1')]
            except OSError as error:
                raise OSError(f'port {p} on localhost is taken ({error.strerror}): stop what uses it, or choose '
                              f'another with --port/--video-port') from None
            p = socks[0].getsockname()[1]
            setattr(self.args, which, p)
            try:
                socks.append(listener(p, socket.AF_INET6, '::1'))
            except OSError:
                pass
            listening.append((p, target, socks))
        self.procs.start('server', net, [srv, 'serve', '--data', sdata, '--bind', '::', '--http-port', '8080',
                                         '--osmand-port=-1', '--web-dir', os.path.join(ROOT, 'Web'),
                                         '--live-video', f'car=http://localhost:{self.args.video_port}/stream.mjpg'])
        for p, target, socks in listening:
            for i, s in enumerate(socks):
                self.procs.start(f'forward-{p}-{i}', net, [sys.executable, os.path.join(HERE, 'forward.py'), str(s.fileno()),
                                                         '::1', str(target)], pass_fds=[s.fileno()])
                s.close()
        wait_for('the map server', lambda: self.http_ok('/healthz'), 30)
        # XCAST6: a relay in the Internet and two viewers (the first re-served to the map page).
        table = os.path.join(self.data, 'config', 'relay.table')
        open(table, 'w').write('::/0 direct\n')
        self.procs.start('xcast-relay', net, [self.tool('xcast6'), 'relay', '--listen', f'[{SERVICES}]:{RELAY_PORT}',
                                              '--table', table])
        for i, rtp in enumerate(VIDEO_PORTS):
            self.procs.start(f'viewer-{i + 1}', net, [self.tool('xcast6'), 'recv', '--listen', f'[{SERVICES}]:{rtp}',
                                                      '--serve', f'[::1]:{8091 + i}'])
        # kamailio as the registrar and proxy (when installed), and the SIP correspondent, which
        # registers there as `tour`, answers every call and records it.
        self.sip_proxy = shutil.which('kamailio') or (os.path.exists('/usr/sbin/kamailio') and '/usr/sbin/kamailio')
        answer = [self.tool('softphone'), 'answer', '--auto', '--record', os.path.join(self.data, 'call', 'received.wav'),
                  '--json'] + (['--play', self.speech['path']] if self.speech else ['--tone', '330'])
        events = os.path.join(self.data, 'call', 'correspondent.jsonl')
        if self.sip_proxy:
            rundir = os.path.join(self.data, 'run', 'kamailio')
            os.makedirs(rundir, exist_ok=True)
            self.procs.start('kamailio', net, [self.sip_proxy, '-f', os.path.join(HERE, 'kamailio.cfg'), '-l',
                                               f'udp:[{SERVICES}]:{SIP_PORT}', '-DD', '-E', '-Y', rundir])
            time.sleep(1.0)
            answer += ['--listen', f'[{SERVICES}]:{CORRESPONDENT_PORT}', '--user', 'tour',
                       '--registrar', f'sip:[{SERVICES}]:{SIP_PORT}', '--expires', '600']
        else:
            log('kamailio is not installed: the call goes straight to the correspondent (apt-get install kamailio)')
            answer += ['--listen', f'[{SERVICES}]:{SIP_PORT}']
        self.procs.start('correspondent', net, answer, stdout=open(events, 'ab'))
        if self.sip_proxy:
            wait_for('the correspondent to register with kamailio',
                     lambda: '"registered"' in open(events, errors='replace').read(), 20)

    def http_ok(self, path):
        try:
            with urllib.request.urlopen(f'http://127.0.0.1:{self.args.port}{path}', timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def start_probes(self):
        net = self.net.ns('net')
        pdir = os.path.join(self.data, 'probes')
        for v in self.vehicles:
            lan = self.net.host_ns(v, v.agent_host)
            up, down = 9000 + v.index, 21000 + v.index
            self.procs.start(f'probe-up-recv-{v.id}', net, [sys.executable, os.path.join(HERE, 'probe.py'), 'recv', SERVICES,
                                                            str(up), f'{pdir}/{v.id}-up-recv.json'])
            self.procs.start(f'probe-down-recv-{v.id}', lan, [sys.executable, os.path.join(HERE, 'probe.py'), 'recv', v.lan,
                                                              str(down), f'{pdir}/{v.id}-down-recv.json'])
        time.sleep(0.5)
        for v in self.vehicles:
            lan = self.net.host_ns(v, v.agent_host)
            up, down = 9000 + v.index, 21000 + v.index
            self.procs.start(f'probe-up-send-{v.id}', lan, [sys.executable, os.path.join(HERE, 'probe.py'), 'send',
                                                            str(20000 + v.index), SERVICES, str(up), str(PROBE_RATE),
                                                            f'{pdir}/{v.id}-up-send.json'])
            self.procs.start(f'probe-down-send-{v.id}', net, [sys.executable, os.path.join(HERE, 'probe.py'), 'send',
                                                              str(9100 + v.index), v.lan, str(down), str(PROBE_RATE),
                                                              f'{pdir}/{v.id}-down-send.json'])

    def start_onboard(self):
        for v in self.vehicles:
            lan = self.net.host_ns(v, v.agent_host)
            self.started[v.id] = time.time()
            self.procs.start(f'agent-{v.id}', lan, [
                self.tool('monnemo-agent'), 'run', '--server', f'http://[{SERVICES}]:8080', '--token-file', self.tokens[v.id],
                '--data', os.path.join(self.data, 'agents', v.id), '--gpx', os.path.join(ROOT, 'Sensors', 'traces', f'tdf-{v.route}.gpx'),
                '--speed', str(self.args.speed * v.pace), '--loop', '--climate', 'synthetic', '--climate-interval', '10',
                '--camera', 'test', '--picture-interval', '30', '--picture-size', '320x240',
                '--retry-cap', '2', '--request-timeout', '5',
                # Its router's handovers go to the map as SONAR records (a Unix socket: reachable from this namespace).
                '--mobile-router', f'{self.data}/run/mr-{v.id}.sock'])
        car = self.camera
        if car is None:
            self.next_call = time.time() + 2
            return
        send = [self.tool('xcast6'), 'send', '--camera', 'test', '--size', '320x240', '--fps', '10', '--quality', '60',
                '--relay', f'[{SERVICES}]:{RELAY_PORT}', '--session', 'tour',
                '--timing', os.path.join(self.data, 'video-timing.txt')]
        for rtp in VIDEO_PORTS:
            send += ['--receiver', f'[{SERVICES}]:{rtp}']
        self.procs.start('xcast-send', self.net.host_ns(car, car.agent_host), send)
        self.next_call = time.time() + 2

    def call_if_due(self):
        """The first bicycle (the walker's phone) calls the correspondent, again each time a call ends."""
        if self.caller is None:
            return
        p = self.procs.running.get('call')
        if p is not None and p.poll() is None:
            return
        if time.time() < self.next_call:
            return
        n = len(self.calls) + 1
        bike = self.caller
        path = os.path.join(self.data, 'call', f'call-{n}.jsonl')
        args = [self.tool('softphone'), 'call', f'sip:tour@[{SERVICES}]:{SIP_PORT}', '--codec', 'ilbc',
                '--rtp-ports', '16384-16483', '--duration', str(CALL_SECONDS), '--answer-timeout', '20', '--json']
        args += ['--play', self.speech['path']] if self.speech else ['--tone', '440']
        args += ['--record', os.path.join(self.data, 'call', f'call-{n}.wav')]
        self.procs.start('call', self.net.host_ns(bike, bike.call_host), args, stdout=open(path, 'ab'))
        self.calls.append({'n': n, 'events': path, 'started': time.time()})
        self.next_call = time.time() + 2

    # ---- riding -------------------------------------------------------------------------
    def ride(self):
        zones = coverage.Zones.load(self.zones_path)
        replays = {v.id: coverage.Replay(coverage.load_route(os.path.join(ROOT, 'Sensors', 'traces', f'tdf-{v.route}.gpx')),
                                         self.args.speed * v.pace) for v in self.vehicles}
        state = {(v.id, t): True for v in self.vehicles for t in self.access}
        groups = {}
        if self.caller:      # one bicycle's (the E-Bag's) whole onboard stack
            groups['bicycle' if self.args.scenario == 'tour' else 'ebag'] = [f'mr-{self.caller.id}', f'agent-{self.caller.id}', 'call']
            groups['agent'] = [f'agent-{self.caller.id}']
        if self.camera:
            groups['car'] = [f'mr-{self.camera.id}', f'agent-{self.camera.id}', 'xcast-send']
        sampler = report.Footprint(groups, self.procs)
        for v in self.vehicles:       # where the vehicles start: no event, nothing was riding yet
            pos = replays[v.id].at(0)
            for tech in self.access:
                if not zones.covered(tech, pos):
                    self.net.set_uplink(v, tech, False)
                    state[(v.id, tech)] = False
                    self.events.append({'t': time.time(), 'vehicle': v.id, 'tech': tech, 'up': False, 'initial': True})
        end = time.time() + self.args.duration if self.args.duration else None
        last_status = time.time()
        self.ride_started = time.time()
        while not self.stopping and (end is None or time.time() < end):
            now = time.time()
            for v in self.vehicles:
                pos = replays[v.id].at(now - self.started[v.id])
                for tech in self.access:
                    want = zones.covered(tech, pos)
                    if want != state[(v.id, tech)]:
                        self.net.set_uplink(v, tech, want)
                        state[(v.id, tech)] = want
                        self.events.append({'t': time.time(), 'vehicle': v.id, 'tech': tech, 'up': want,
                                            'lat': pos[0], 'lon': pos[1]})
                        log(f'{v.name}: {self.access[tech]["label"]} {"up" if want else "down"} at '
                            f'{pos[0]:.5f},{pos[1]:.5f} → {report.describe_uplinks(state, v.id, self.access)}')
            self.call_if_due()
            sampler.sample()
            if now - last_status >= 15:
                last_status = now
                hand = report.handovers(self.events, self.vehicles, self.access, self.ride_started)
                log(f'riding {now - self.ride_started:.0f} s: {len(hand)} handovers; map on http://localhost:{self.args.port}/')
            time.sleep(0.1)
        self.ride_ended = time.time()
        self.footprint = sampler.result(self.ride_ended - self.ride_started)
        # Coverage back everywhere, so the outboxes can drain.
        for v in self.vehicles:
            for tech in self.access:
                if not state[(v.id, tech)]:
                    self.net.set_uplink(v, tech, True)
                    state[(v.id, tech)] = True
                    self.events.append({'t': time.time(), 'vehicle': v.id, 'tech': tech, 'up': True, 'end': True})

    # ---- the end ------------------------------------------------------------------------
    def finish(self):
        log('stopping: coverage restored, draining the outboxes…')
        # Stop the call (it ends with a BYE), the video and the probes first, then the agents.
        self.procs.stop('call', timeout=40)        # SIGTERM: it hangs up, its BYE answered (at most 32 s)
        self.procs.stop('xcast-send')
        for v in self.vehicles:
            self.procs.stop(f'probe-up-send-{v.id}')
            self.procs.stop(f'probe-down-send-{v.id}')
        time.sleep(1.0)
        for v in self.vehicles:
            self.procs.stop(f'probe-up-recv-{v.id}')
            self.procs.stop(f'probe-down-recv-{v.id}')
        video = {f'viewer-{i + 1}': report.frames_shown(f'http://[::1]:{8091 + i}/metrics', self.net.ns('net'))
                 for i in range(len(VIDEO_PORTS))} if self.camera else {}
        video_sent = report.frames_sent(os.path.join(self.data, 'logs', 'xcast-send.log'))
        mr = {v.id: self.mr_status(v) for v in self.vehicles}
        agents = {}
        for v in self.vehicles:
            self.procs.stop(f'agent-{v.id}', timeout=20)
            d = subprocess.run(['ip', 'netns', 'exec', self.net.host_ns(v, v.agent_host), self.tool('monnemo-agent'), 'drain',
                                '--server', f'http://[{SERVICES}]:8080', '--token-file', self.tokens[v.id], '--data',
                                os.path.join(self.data, 'agents', v.id), '--timeout', '120'], capture_output=True, text=True)
            st = subprocess.run([self.tool('monnemo-agent'), 'status', '--data', os.path.join(self.data, 'agents', v.id), '--json'],
                                capture_output=True, text=True)
            agents[v.id] = {'drain_status': d.returncode, 'outbox': json.loads(st.stdout) if st.returncode == 0 else None}
        # The routers' handover counters once every agent has collected its router's last records.
        mr_final = {v.id: self.mr_status(v) for v in self.vehicles}
        stored = {v.id: report.stored_readings(os.path.join(self.data, 'server', 'monnemo.sqlite'), v.id) for v in self.vehicles}
        listed = report.get_json(f'http://127.0.0.1:{self.args.port}/api/v1/vehicles')
        # What the service can collect: the handovers the map shows the public (a replay faster
        # than real time stamps records ahead of the clock, which the public API holds back).
        # More become public as the clock goes on: counted before and after the service is asked.
        def public():
            return sum(len(report.get_json(f'http://127.0.0.1:{self.args.port}/api/v1/vehicles/{v.id}/readings?kind=handover&limit=5000') or [])
                       for v in self.vehicles) if getattr(self, 'service', False) else 0
        before = public()
        self.service_report = self.service_statistics(before)
        if self.service_report is not None and 'error' not in self.service_report:
            self.service_report['public_handovers'] = {'before': before, 'after': public()}
        self.procs.stop('correspondent', timeout=15)
        return report.build(self, video=video, video_sent=video_sent, mr=mr, mr_final=mr_final, agents=agents, stored=stored,
                            listed=listed)

    def run(self):
        self.stopping = False
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self.on_signal)
        left = topology.remove(self.args.prefix)
        if left:
            log(f'removed what an earlier run left: {len(left)} namespaces ({", ".join(left[:4])}…)')
        self.prepare_folder()
        self.write_configs()
        try:
            log(f'building the network ({self.args.scenario}): {len(self.vehicles)} mobile network(s) × {len(self.access)} access networks, home agent, Internet '
                f'(namespaces {self.args.prefix}-*)')
            self.net.up()
            self.start_mobility()
            self.start_internet()
            self.start_probes()
            self.start_onboard()
            print()
            print(f'  Nautilus Tour de France running over NEMO: open http://localhost:{self.args.port}/')
            print(f'  ({"single care-of address" if self.args.single_coa else "multiple care-of addresses"}, '
                  f'{"IPv4-only cellular (DSMIPv6), " if self.args.ipv4_cellular else ""}'
                  f'replay speed {self.args.speed}×; {"for " + str(self.args.duration) + " s" if self.args.duration else "Ctrl-C stops"})')
            print()
            self.ride()
            result = self.finish()
            path = os.path.join(self.data, 'report.json')
            with open(path, 'w') as f:
                json.dump(result, f, indent=1)
            print(report.text(result))
            log(f'report: {path}')
            return 0
        finally:
            self.procs.stop_all()
            topology.remove(self.args.prefix)
            log(f'removed the namespaces {self.args.prefix}-* and every process in them')

    def on_signal(self, *_):
        if self.stopping:
            raise KeyboardInterrupt
        self.stopping = True


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog='The report (DATA/report.json and printed) gives, per vehicle, readings sent and stored, '
                                        'handovers by type and the packets lost around them, video frames per viewer, the call\'s '
                                        'loss and PESQ, and the onboard footprint.')
    ap.add_argument('--duration', type=float, default=0, help='ride this many seconds, then stop and report (default: until Ctrl-C)')
    ap.add_argument('--speed', type=float, default=1.0, help='route replay speed (1 = real time, about 2 handovers a minute per vehicle)')
    ap.add_argument('--single-coa', action='store_true', help='one care-of address at a time (the baseline MCoA is measured against)')
    ap.add_argument('--scenario', choices=('tour', 'ebag', 'service'), default='tour',
                    help='tour: two bicycles and a car (default); ebag: a walker\'s personal network, a laptop and a phone '
                         'behind one mobile router, at a walking pace; service: two people sign up at the Home Agent service '
                         '(nemo-service), join with `nemo mr --join` and walk from room to room')
    ap.add_argument('--ipv4-cellular', action='store_true',
                    help='dual-stack mobility: the cellular network is IPv4-only, the routers register over it with '
                         'IPv4 care-of addresses (DSMIPv6) and keep their IPv6 home address and prefix')
    ap.add_argument('--port', type=int, default=8080, help='the map on http://localhost:PORT/ (default 8080; 0: any free port)')
    ap.add_argument('--video-port', type=int, default=8081, help='the car\'s video (MJPEG) on localhost (default 8081)')
    ap.add_argument('--data', default=os.path.join(ROOT, 'demo-data', 'tour'), help='run folder (an earlier run\'s is emptied at start; another non-empty folder is refused): logs, outboxes, report')
    ap.add_argument('--zones', help='coverage file (JSON: "wlan" hotspot circles and "cellular_dead" circles, '
                                    '[lat, lon, radius m]; default: Demos/tour/zones.py along the routes)')
    ap.add_argument('--prefix', default='tdf', help='namespace name prefix (a second run with the same prefix removes the first one\'s leftovers)')
    ap.add_argument('--bin-dir', default=os.environ.get('BIN_DIR') or os.path.join(ROOT, '.build', 'release'),
                    help='where nemo, monnemo-server, monnemo-agent, xcast6 and softphone are (default .build/release)')
    ap.add_argument('--check', action='store_true', help='only say whether this machine can run it (exit 0) or why not (exit 3)')
    args = ap.parse_args(argv)
    if args.speed <= 0 or args.speed > 100:
        ap.error('--speed must be in (0, 100]')
    if args.duration < 0:
        ap.error('--duration must not be negative')
    try:
        requirements(args.bin_dir, args.scenario)
    except Unavailable as why:
        print(f'tour: the namespace demo cannot run here: {why}', file=sys.stderr)
        return 3
    if args.check:
        return 0
    try:
        return Tour(args).run()
    except (TimeoutError, OSError, ValueError, topology.CommandFailed, subprocess.CalledProcessError) as error:
        print(f'tour: stopped: {error} (the logs of every program are in {os.path.join(os.path.abspath(args.data), "logs")})',
              file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
