#!/usr/bin/env bash
# Builds (up) or removes (down) the NEMO test network in namespaces named after PREFIX:
#
#   host --lan-- MR ==wa== arA ==\
#                   ==wb== arB === HA (outer 2001:db8:f::1, 192.0.2.100) --- CN (2001:db8:c::5, 198.18.0.5)
#                   ==wc== arC (IPv4 only) ==/
#
# arA/arB/arC know nothing of the mobile network prefix, so host<->CN traffic can only pass
# through the tunnel. Addresses are documentation ranges, local to these namespaces.
# (down also removes PREFIXmr2, the bystander a test may add behind arA.)
# Usage: topology.sh up|down PREFIX
set -euo pipefail
cmd="$1"; P="$2"
ns() { ip netns exec "$P$1" "${@:2}"; }

if [ "$cmd" = down ]; then
  for n in h mr mr2 ara arb arc ha cn; do ip netns del "$P$n" 2>/dev/null || true; done
  exit 0
fi

for n in cn ha ara arb arc mr h; do
  ip netns add "$P$n"
  ns "$n" ip link set lo up
  ns "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
    net.ipv6.conf.all.keep_addr_on_down=1 net.ipv6.conf.default.keep_addr_on_down=1 \
    net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
done
for n in ha ara arb arc mr; do ns "$n" sysctl -qw net.ipv6.conf.all.forwarding=1 net.ipv4.ip_forward=1; done

link() { # nsA ifA nsB ifB
  ip link add "$2" netns "$P$1" type veth peer name "$4" netns "$P$3"
  ns "$1" ip link set "$2" up
  ns "$3" ip link set "$4" up
}
link cn eth0 ha cn0
link ha ta ara up0
link ha tb arb up0
link ha tc arc up0
link ara down0 mr wa
link arb down0 mr wb
link arc down0 mr wc
link mr lan h eth0

a6() { ns "$1" ip -6 addr add "$3" dev "$2" nodad; }
# Correspondent side.
a6 cn eth0 2001:db8:c::5/64; a6 ha cn0 2001:db8:c::1/64
ns cn ip -6 route add default via 2001:db8:c::1
# IPv4 on the correspondent's link (IPv4 home address tests): the CN reaches anything beyond only
# via the HA, and the HA reaches a mobile router's IPv4 home address only through its tunnel.
ns cn ip addr add 198.18.0.5/24 dev eth0; ns ha ip addr add 198.18.0.1/24 dev cn0
ns cn ip route add default via 198.18.0.1
# Home agent outer addresses.
a6 ha lo 2001:db8:f::1/128
ns ha ip addr add 192.0.2.100/32 dev lo
# Access routers.
a6 ha ta 2001:db8:fa::1/64; a6 ara up0 2001:db8:fa::2/64
a6 ha tb 2001:db8:fb::1/64; a6 arb up0 2001:db8:fb::2/64
ns ha ip addr add 198.51.100.1/30 dev tc; ns arc ip addr add 198.51.100.2/30 dev up0
ns ara ip -6 route add 2001:db8:f::/64 via 2001:db8:fa::1
ns arb ip -6 route add 2001:db8:f::/64 via 2001:db8:fb::1
ns arc ip route add 192.0.2.100/32 via 198.51.100.1
a6 ara down0 2001:db8:1::1/64; a6 mr wa 2001:db8:1::100/64
a6 arb down0 2001:db8:2::1/64; a6 mr wb 2001:db8:2::100/64
ns arc ip addr add 203.0.113.1/24 dev down0; ns mr ip addr add 203.0.113.100/24 dev wc
ns ha ip -6 route add 2001:db8:1::/64 via 2001:db8:fa::2
ns ha ip -6 route add 2001:db8:2::/64 via 2001:db8:fb::2
ns ha ip route add 203.0.113.0/24 via 198.51.100.2
# The MR's uplinks: a default route each; its UDP sockets are tied to their device.
ns mr ip -6 route add default via 2001:db8:1::1 dev wa metric 100
ns mr ip -6 route add default via 2001:db8:2::1 dev wb metric 200
ns mr ip route add default via 203.0.113.1 dev wc metric 300
# The mobile network: static set-up (host address and default route to the MR).
a6 h eth0 2001:db8:aaaa:1::5/64
ns h ip -6 route add default via 2001:db8:aaaa:1::1
