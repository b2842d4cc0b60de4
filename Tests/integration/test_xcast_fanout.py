"""More receivers than one Xcast header holds: the sender splits the list over several datagrams per
RTP packet and every receiver still gets every packet exactly once through a relay."""
import json
import os
import subprocess

from xcast_support import Procs, free_udp_ports, wait_for, xcast6_binary


def test_more_receivers_than_one_header(tmp_path):
    xc = xcast6_binary()
    tmp = str(tmp_path)
    procs = Procs(tmp)
    try:
        (relay,) = free_udp_ports(1)
        n = 130
        # The 130 sink ports lie below the kernel's ephemeral range: inside it, the relay's port (picked
        # by binding port 0) or the sender's could be one of them and take that receiver's packets.
        low = int(open('/proc/sys/net/ipv4/ip_local_port_range').read().split()[0])
        base = max(1024, low - 2 * n - 1000) & ~1
        out = os.path.join(tmp, 'sink.json')
        procs.start('sink', [xc, 'sink', '--port', str(base), '--count', str(n), '--output', out, '--idle', '2'])
        assert wait_for(lambda: os.path.exists(out + '.ready'), 10)
        open(os.path.join(tmp, 'r.table'), 'w').write('::/0 direct\n')
        procs.start('relay', [xc, 'relay', '--listen', f'[::1]:{relay}', '--table', os.path.join(tmp, 'r.table'), '--allow-loopback'])
        args = [xc, 'send', '--camera', 'test', '--size', '160x120', '--fps', '20', '--frames', '20', '--per-packet', '50',
                '--relay', f'[::1]:{relay}', '--allow-loopback']
        for i in range(n):
            args += ['--receiver', f'[::1]:{base + 2 * i}']
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        line = [l for l in r.stderr.splitlines() if l.startswith('xcast6: sent ')][-1]
        rtp = int(line.split()[4])
        datagrams = int(line.split()[7])
        assert datagrams >= 3 * rtp       # 130 receivers, 50 per header: 3 datagrams per RTP packet
        assert wait_for(lambda: os.path.exists(out), 15)
        c = json.load(open(out))
        assert c['unique'] == [rtp] * n
        assert c['duplicates'] == [0] * n
    finally:
        procs.stop_all()
