"""The demo's network, in network namespaces named PREFIX-…:

    Internet (PREFIX-net): map server, XCAST6 relay and viewers, the SIP correspondent, probe sinks
        |-- home network (PREFIX-home): `nemo ha`, outer addresses 2001:db8:f::1 and ::2
        |-- per vehicle V and access technology T (wlan, cell): an access router PREFIX-V-T
              (rate by tbf on its links, delay and loss by a userspace relay: this kernel has no
              netem), whose radio side is one uplink of
              the mobile router PREFIX-V (`nemo mr`, one uplink per technology)
                 |-- the vehicle LAN PREFIX-V-lan (addresses from the vehicle's /64 by router
                     advertisement): monnemo-agent, xcast6 send, softphone (an E-Bag: several
                     machines, PREFIX-V-laptop and PREFIX-V-phone, on a bridge in the router)

The access routers know nothing of the vehicles' prefixes, so every packet of the onboard
programs crosses the NEMO tunnel. Addresses are documentation ranges, local to the namespaces.
Everything made here is found again by its prefix: `remove(prefix)` kills every process left in
those namespaces and deletes them, also after a crash of the script that made them.
"""
import ipaddress
import os
import signal
import subprocess
import time

SERVICES = '2001:db8:100::1'        # every service of "the Internet" listens here
HA_OUTER = '2001:db8:f::1'          # the home agent as the mobile routers address it
HA_RELAYED = '2001:db8:f::2'        # where the access routers' relays hand their datagrams
HOME_PREFIX = '2001:db8:ffff::/64'
SERVICE_ADDRESS = '2001:db8:f::3'   # the Home Agent service (`nemo-service`), on the home network
SERVICE_PREFIX_POOL = '2001:db8:a000::/40'   # its pool of mobile network prefixes
HA_OUTER4 = '192.0.2.100'           # the same two over IPv4 (an IPv4-only access network: DSMIPv6)
HA_RELAYED4 = '192.0.2.101'


class CommandFailed(Exception):
    def __init__(self, argv, stderr):
        super().__init__(f'{" ".join(argv)}: {stderr.strip()}')
        self.argv, self.stderr = argv, stderr


def sh(*argv, check=True):
    r = subprocess.run(list(argv), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise CommandFailed(list(argv), r.stderr or r.stdout)
    return r


def ours(prefix):
    """Namespaces whose names start with PREFIX- (a run's, or a killed run's leftovers)."""
    out = sh('ip', 'netns', 'list', check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.split() and line.split()[0].startswith(prefix + '-')]


def remove(prefix):
    """Stops every process in the prefix's namespaces and deletes them. Returns what it removed."""
    names = ours(prefix)
    pids = set()
    for ns in names:
        pids |= {int(p) for p in sh('ip', 'netns', 'pids', ns, check=False).stdout.split()}
    pids.discard(os.getpid())
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in pids:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        end = time.time() + 3
        while time.time() < end and any(os.path.exists(f'/proc/{p}') for p in pids):
            time.sleep(0.05)
    for ns in names:
        sh('ip', 'netns', 'del', ns, check=False)
    return names


class Vehicle:
    """A vehicle (or a walker's E-Bag) and its mobile network: index i (1-based) picks its
    prefixes; `hosts` are the machines on its LAN (one: `lan`; several: on a bridge in the
    router); the monnemo-agent and the probes run on `agent_host`, the softphone (when `calls`) on
    `call_host`, xcast6 send (when `video`) on `agent_host`. It follows the route `route`
    (Sensors/traces/tdf-ROUTE.gpx) at `pace` times the run's replay speed."""

    def __init__(self, ident, name, short, index, route=None, pace=1.0, hosts=('lan',), agent_host='lan',
                 call_host=None, video=False):
        self.id, self.name, self.short, self.index = ident, name, short, index
        self.route, self.pace, self.hosts = route or ident, pace, tuple(hosts)
        self.agent_host, self.call_host, self.video = agent_host, call_host, video
        self.addresses = {}
        self.prefix = f'2001:db8:a{index}::/64'
        self.router_lan = f'2001:db8:a{index}::1'
        self.home_address = f'2001:db8:ffff::1{index}'

    def signed_up(self, prefix, home_address):
        """The prefix and home address the Home Agent service gave this vehicle."""
        self.prefix = prefix
        self.router_lan = str(ipaddress.ip_network(prefix)[1])
        self.home_address = home_address

    def access_subnet(self, tech_index):
        return f'2001:db8:{self.index}{tech_index}'

    def access_subnet4(self, tech_index):
        """The IPv4 /28 of an IPv4-only access network: (router address, mobile router address)."""
        base = 16 * (2 * (self.index - 1) + tech_index - 1)
        return f'203.0.113.{base + 1}', f'203.0.113.{base + 14}'

    def gateway(self, tech_index, family):
        return self.access_subnet4(tech_index)[0] if family == 'ipv4' else f'{self.access_subnet(tech_index)}::1'


class Network:
    def __init__(self, prefix, vehicles, techs):
        self.prefix, self.vehicles, self.techs = prefix, vehicles, techs
        self.made = []

    def ns(self, short):
        return f'{self.prefix}-{short}'

    def _add(self, short, router=False):
        name = self.ns(short)
        sh('ip', 'netns', 'add', name)
        self.made.append(name)
        sh('ip', '-n', name, 'link', 'set', 'lo', 'up')
        settings = ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0',
                    'net.ipv6.conf.all.keep_addr_on_down=1', 'net.ipv6.conf.default.keep_addr_on_down=1']
        if router:
            settings += ['net.ipv6.conf.all.forwarding=1', 'net.ipv6.conf.all.accept_ra=0',
                         'net.ipv6.conf.default.accept_ra=0', 'net.ipv4.ip_forward=1']
        sh('ip', 'netns', 'exec', name, 'sysctl', '-qw', *settings)
        return name

    def _link(self, a, if_a, b, if_b):
        sh('ip', 'link', 'add', if_a, 'netns', a, 'type', 'veth', 'peer', 'name', if_b, 'netns', b)
        sh('ip', '-n', a, 'link', 'set', if_a, 'up')
        sh('ip', '-n', b, 'link', 'set', if_b, 'up')

    @staticmethod
    def _addr(ns, dev, addr):
        sh('ip', '-n', ns, '-6', 'addr', 'add', addr, 'dev', dev, 'nodad')

    @staticmethod
    def _route(ns, dest, via, *extra):
        sh('ip', '-n', ns, '-6', 'route', 'add', dest, 'via', via, *extra)

    def up(self):
        net = self._add('net', router=True)
        home = self._add('home', router=True)
        self._addr(net, 'lo', SERVICES + '/128')
        self._link(net, 'home0', home, 'up0')
        self._addr(net, 'home0', '2001:db8:e::1/64')
        self._addr(home, 'up0', '2001:db8:e::2/64')
        self._addr(home, 'lo', HA_OUTER + '/128')
        self._addr(home, 'lo', HA_RELAYED + '/128')
        self._addr(home, 'lo', SERVICE_ADDRESS + '/128')
        self._route(home, 'default', '2001:db8:e::1')
        self._route(net, '2001:db8:f::/64', '2001:db8:e::2')
        self._route(net, HOME_PREFIX, '2001:db8:e::2')
        self._route(net, SERVICE_PREFIX_POOL, '2001:db8:e::2')
        # IPv4 beside it, for IPv4-only access networks.
        sh('ip', '-n', net, 'addr', 'add', '192.0.2.1/30', 'dev', 'home0')
        sh('ip', '-n', home, 'addr', 'add', '192.0.2.2/30', 'dev', 'up0')
        for a in (HA_OUTER4, HA_RELAYED4):
            sh('ip', '-n', home, 'addr', 'add', a + '/32', 'dev', 'lo')
        sh('ip', '-n', home, 'route', 'add', 'default', 'via', '192.0.2.1')
        sh('ip', '-n', net, 'route', 'add', '192.0.2.100/31', 'via', '192.0.2.2')
        for v in self.vehicles:
            mr = self._add(v.short, router=True)
            if len(v.hosts) > 1:       # several machines: a bridge named `lan` in the router
                sh('ip', '-n', mr, 'link', 'add', 'lan', 'type', 'bridge')
                sh('ip', '-n', mr, 'link', 'set', 'lan', 'up')
            for h in v.hosts:
                host = self._add(f'{v.short}-{h}')
                # The vehicle's machines take their addresses from the MR's router advertisements.
                sh('ip', 'netns', 'exec', host, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_ra=1',
                   'net.ipv6.conf.default.accept_ra=1', 'net.ipv6.conf.all.autoconf=1', 'net.ipv6.conf.default.autoconf=1')
                if len(v.hosts) == 1:
                    self._link(mr, 'lan', host, 'eth0')
                else:
                    port = f'lan-{h}'[:15]
                    self._link(mr, port, host, 'eth0')
                    sh('ip', '-n', mr, 'link', 'set', port, 'master', 'lan')
            if v.prefix:        # a vehicle signed up at the service learns its prefix later (the pool is routed)
                self._route(net, v.prefix, '2001:db8:e::2')
            for t, (tech, spec) in enumerate(self.techs.items(), start=1):
                ar = self._add(f'{v.short}-{tech}', router=True)
                sub = v.access_subnet(t)
                link_if = f'{v.short}{tech}'[:15]
                self._link(net, link_if, ar, 'up0')
                self._link(ar, 'down0', mr, tech)
                if spec.get('family') == 'ipv4':
                    k = 4 * (2 * (v.index - 1) + t)          # a /30 per IPv4 access router's upstream link
                    sh('ip', '-n', net, 'addr', 'add', f'198.51.100.{k + 1}/30', 'dev', link_if)
                    sh('ip', '-n', ar, 'addr', 'add', f'198.51.100.{k + 2}/30', 'dev', 'up0')
                    sh('ip', '-n', ar, 'route', 'add', 'default', 'via', f'198.51.100.{k + 1}')
                    # The home agent's IPv4 outer address ends here: the relay carries it on.
                    sh('ip', '-n', ar, 'addr', 'add', HA_OUTER4 + '/32', 'dev', 'lo')
                    gw, mine = v.access_subnet4(t)
                    sh('ip', '-n', ar, 'addr', 'add', gw + '/28', 'dev', 'down0')
                    sh('ip', '-n', mr, 'addr', 'add', mine + '/28', 'dev', tech)
                    sh('ip', '-n', mr, 'route', 'add', 'default', 'via', gw, 'dev', tech, 'metric', str(100 * t))
                else:
                    self._addr(net, link_if, f'2001:db8:e{v.index}{t}::1/64')
                    self._addr(ar, 'up0', f'2001:db8:e{v.index}{t}::2/64')
                    self._route(ar, 'default', f'2001:db8:e{v.index}{t}::1')
                    self._route(net, f'{sub}::/64', f'2001:db8:e{v.index}{t}::2')
                    # The home agent's outer address ends here: the relay carries it on, delayed.
                    self._addr(ar, 'lo', HA_OUTER + '/128')
                    self._addr(ar, 'down0', f'{sub}::1/64')
                    self._addr(mr, tech, f'{sub}::100/64')
                    sh('ip', '-n', mr, '-6', 'route', 'add', 'default', 'via', f'{sub}::1', 'dev', tech, 'metric', str(100 * t))
                for ns, dev in ((ar, 'down0'), (mr, tech)):
                    sh('ip', 'netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', spec['rate'],
                       'burst', spec.get('burst', '64kb'), 'latency', '200ms')

    def route_prefix(self, prefix):
        """A prefix the Home Agent service handed out: the Internet reaches it through the home network
        (already so, through the pool's route; said again per prefix for readers of `ip route`)."""
        sh('ip', '-n', self.ns('net'), '-6', 'route', 'replace', prefix, 'via', '2001:db8:e::2')

    def host_ns(self, v, host):
        return self.ns(f'{v.short}-{host}')

    def lan_address(self, v, host):
        """A LAN machine's address from the MR's prefix (SLAAC), or None while there is none."""
        out = sh('ip', '-n', self.host_ns(v, host), '-6', '-o', 'addr', 'show', 'dev', 'eth0', 'scope', 'global',
                 check=False).stdout
        for line in out.split('\n'):
            parts = line.split()
            if 'inet6' in parts:
                addr = parts[parts.index('inet6') + 1].split('/')[0]
                if addr.startswith(v.prefix.split('::')[0] + ':'):
                    return addr
        return None

    def set_uplink(self, v, tech, up):
        sh('ip', '-n', self.ns(v.short), 'link', 'set', tech, 'up' if up else 'down')
