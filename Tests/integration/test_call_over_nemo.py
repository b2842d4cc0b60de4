"""A call from a host behind the mobile router to a correspondent node keeps going through a
handover, with no re-INVITE: the host's address never changes, only the MR's care-of address does.

Real programs in network namespaces (root): the NEMO test network of
Tests/MobilityLinuxTests/Fixtures/topology.sh, `nemo ha` and `nemo mr` with two uplinks (MCoA),
`softphone answer` on the correspondent and `softphone call` on the host. The flow policy sends
RTP over uplink B; B is cut mid-call, so the media must move to A."""
import json
import math
import os
import random
import shutil
import subprocess
import tempfile
import time
import wave

import pytest

from conftest import ROOT, dependency_missing

FIXTURES = os.path.join(ROOT, 'Tests', 'MobilityLinuxTests', 'Fixtures')
CN = '2001:db8:c::5'


def bin_dir():
    out = subprocess.run(['swift', 'build', '--show-bin-path'], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def requirements():
    if os.geteuid() != 0:
        return 'needs root for network namespaces'
    if not shutil.which('ip') or not os.path.exists('/dev/net/tun'):
        return 'needs iproute2 and /dev/net/tun'
    d = bin_dir()
    for b in ('nemo', 'softphone'):
        if not os.path.exists(os.path.join(d, b)):
            return f'{b} not built (swift build)'
    return None


@pytest.fixture
def network():
    why = requirements()
    if why:
        dependency_missing(why)
    prefix = f'ncall{os.getpid() % 1000}{random.randrange(1000)}'
    work = tempfile.mkdtemp(prefix='nemo-call-')
    procs = []
    subprocess.run(['bash', os.path.join(FIXTURES, 'topology.sh'), 'up', prefix], check=True, capture_output=True)
    try:
        yield prefix, work, procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        subprocess.run(['bash', os.path.join(FIXTURES, 'topology.sh'), 'down', prefix], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def in_ns(prefix, ns, args, **kw):
    return ['ip', 'netns', 'exec', prefix + ns] + args


def nemo_status(prefix, ns, control):
    out = subprocess.run(in_ns(prefix, ns, [os.path.join(bin_dir(), 'nemo'), 'status', '--control', control, '--json']),
                         capture_output=True, text=True)
    try:
        return json.loads(out.stdout)
    except ValueError:
        return None


def wait_for(what, cond, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f'timed out waiting for {what}')


def window_rms(path, seconds=1.0):
    with wave.open(path) as w:
        rate, n = w.getframerate(), w.getnframes()
        data = w.readframes(n)
    samples = [int.from_bytes(data[i:i + 2], 'little', signed=True) for i in range(0, len(data), 2)]
    step = int(rate * seconds)
    return [math.sqrt(sum(s * s for s in samples[i:i + step]) / step) for i in range(0, len(samples) - step + 1, step)]


def test_call_survives_handover_without_reinvite(network):
    prefix, work, procs = network
    d = bin_dir()
    ha_sock, mr_sock = os.path.join(work, 'ha.sock'), os.path.join(work, 'mr.sock')
    logs = {n: open(os.path.join(work, n + '.log'), 'w') for n in ('ha', 'mr', 'answer', 'call')}
    procs.append(subprocess.Popen(in_ns(prefix, 'ha', [os.path.join(d, 'nemo'), 'ha', '--config',
                                                      os.path.join(FIXTURES, 'ha.json'), '--control', ha_sock,
                                                      '--state-dir', os.path.join(work, 'ha-state')]),
                                  stdout=logs['ha'], stderr=subprocess.STDOUT))
    wait_for('home agent', lambda: os.path.exists(ha_sock))
    procs.append(subprocess.Popen(in_ns(prefix, 'mr', [os.path.join(d, 'nemo'), 'mr', '--config',
                                                      os.path.join(FIXTURES, 'mr.json'), '--control', mr_sock]),
                                  stdout=logs['mr'], stderr=subprocess.STDOUT))

    def registered():
        s = nemo_status(prefix, 'mr', mr_sock)
        return s is not None and sum(b.get('state') == 'registered' for b in s.get('bindings', [])) == 2
    wait_for('both bindings', registered)

    record = os.path.join(work, 'received.wav')
    answer = subprocess.Popen(in_ns(prefix, 'cn', [os.path.join(d, 'softphone'), 'answer', '--listen', f'[{CN}]:5070',
                                                   '--record', record, '--json']),
                              stdout=subprocess.PIPE, stderr=logs['answer'], text=True)
    procs.append(answer)
    time.sleep(1.0)
    def sent_by_uplink():
        """Packets the MR has sent into the tunnel by uplink: (wa, wb)."""
        c = nemo_status(prefix, 'mr', mr_sock)['counters']
        return c.get('packets_to_tunnel_wa', 0), c.get('packets_to_tunnel_wb', 0)

    # Nothing else crosses the tunnel during the call but the call itself: its SIP (port 5070, no
    # flow policy: the default uplink A) and its RTP/RTCP (local ports 16384-32767: policy "rtp",
    # uplink B first).
    at_start = sent_by_uplink()
    call = subprocess.Popen(in_ns(prefix, 'h', [os.path.join(d, 'softphone'), 'call', f'sip:cn@[{CN}]:5070',
                                                '--tone', '440', '--duration', '12', '--codec', 'pcmu', '--json']),
                            stdout=subprocess.PIPE, stderr=logs['call'], text=True)
    procs.append(call)
    time.sleep(4.0)
    before_cut = sent_by_uplink()
    # Cut uplink B (the one the RTP flow policy uses) for three seconds, then restore it.
    subprocess.run(['ip', '-n', prefix + 'mr', 'link', 'set', 'wb', 'down'], check=True)
    time.sleep(3.0)
    end_of_cut = sent_by_uplink()
    subprocess.run(['ip', '-n', prefix + 'mr', 'link', 'set', 'wb', 'up'], check=True)
    call_out, _ = call.communicate(timeout=60)
    answer_out, _ = answer.communicate(timeout=30)
    call_events = [json.loads(l) for l in call_out.splitlines() if l.startswith('{')]
    answer_events = [json.loads(l) for l in answer_out.splitlines() if l.startswith('{')]
    mr_log = open(os.path.join(work, 'mr.log')).read()

    assert call.returncode == 0, (call_events, mr_log[-2000:])
    ended = [e for e in call_events if e['event'] == 'ended']
    assert ended and ended[0]['reason'] == 'local-hangup', call_events
    # No re-INVITE: one incoming call, never a media update, on either side.
    assert sum(e['event'] == 'incoming' for e in answer_events) == 1, answer_events
    assert not [e for e in call_events + answer_events if e['event'] == 'media-updated']
    # Audio kept arriving through and after the handover.
    stats = [e for e in answer_events if e['event'] == 'ended'][0]['statistics']
    assert stats['packets_received'] > 400, stats
    assert stats['loss'] < 0.05, stats
    rms = window_rms(record)
    assert len(rms) >= 10, f'only {len(rms)} s recorded'
    silent = [i for i, r in enumerate(rms[1:11], start=1) if r < 500]
    assert not silent, f'silent seconds in the recording: {silent} (rms {[round(r) for r in rms]})'
    # And the media really moved, counted per uplink by the MR (50 RTP packets/s with PCMU):
    # before the cut RTP went by B and A carried only the few SIP messages; while B was down
    # RTP went by A; once B was back and registered, RTP returned to B.
    after = sent_by_uplink()
    wa_before, wb_before = before_cut[0] - at_start[0], before_cut[1] - at_start[1]
    wa_cut, wb_cut = end_of_cut[0] - before_cut[0], end_of_cut[1] - before_cut[1]
    wb_after = after[1] - end_of_cut[1]
    moved = dict(wa_before=wa_before, wb_before=wb_before, wa_cut=wa_cut, wb_cut=wb_cut, wb_after=wb_after)
    print('RTP packets by uplink:', moved)
    assert wb_before >= 100 and wa_before < 30, f'RTP before the cut did not use uplink B: {moved}'
    assert wa_cut >= 100 and wb_cut < 10, f'RTP did not move to uplink A while B was down: {moved}'
    assert wb_after >= 100, f'RTP did not return to uplink B: {moved}'
