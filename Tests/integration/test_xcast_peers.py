"""xcast6 against players we did not write: GStreamer and ffmpeg receive `xcast6 send` through two
relays (the last hop plain RTP) and decode every frame; GStreamer's rtpjpegpay feeds `xcast6 recv`."""
import hashlib
import os
import shutil
import subprocess
import time

import pytest

from xcast_support import RTP_CAPS, Procs, free_udp_ports, wait_for, xcast6_binary

pytestmark = pytest.mark.skipif(not shutil.which('gst-launch-1.0') or not shutil.which('ffmpeg'),
                                reason='gstreamer1.0-tools / ffmpeg missing: `make deps` installs deps/apt-xcast.txt')

FRAMES = 45


@pytest.fixture
def procs(tmp_path):
    p = Procs(str(tmp_path))
    yield p
    p.stop_all()


def decoded_md5(files):
    """md5 of the pictures decoded to raw YUV 4:2:0 by ffmpeg: equal pixels, whatever the headers."""
    h = hashlib.md5()
    for f in files:
        out = subprocess.run(['ffmpeg', '-v', 'error', '-i', f, '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-'],
                             capture_output=True, check=True)
        h.update(out.stdout)
    return h.hexdigest()


def make_jpegs(folder, n):
    os.makedirs(folder)
    subprocess.run(['ffmpeg', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30', '-frames:v', str(n),
                    '-c:v', 'mjpeg', '-huffman', 'default', '-pix_fmt', 'yuvj420p', '-q:v', '5',
                    os.path.join(folder, 'src_%05d.jpg')], check=True)
    return sorted(os.path.join(folder, f) for f in os.listdir(folder))


def scan_data(path):
    """The entropy-coded data of a JPEG (after SOS up to EOI): what RTP/JPEG carries unchanged."""
    b = open(path, 'rb').read()
    i = 2
    while i < len(b):
        assert b[i] == 0xFF
        m = b[i + 1]
        length = b[i + 2] << 8 | b[i + 3]
        if m == 0xDA:
            end = len(b) - 2 if b[-2:] == b'\xff\xd9' else len(b)
            return b[i + 2 + length:end]
        i += 2 + length
    raise AssertionError(f'{path}: no scan')


def test_gstreamer_and_ffmpeg_receive_through_two_relays(procs, tmp_path):
    xc = xcast6_binary()
    tmp = str(tmp_path)
    sources = make_jpegs(os.path.join(tmp, 'src'), FRAMES)
    relay1, relay2, gst_port, ff_port, ours_port = free_udp_ports(5)
    # relay 1 hands everything to relay 2; relay 2 serves the receivers directly (X2U).
    open(os.path.join(tmp, 'r1.table'), 'w').write(f'::/0 relay [::1]:{relay2}\n')
    open(os.path.join(tmp, 'r2.table'), 'w').write('::/0 direct\n')
    r2 = procs.start('relay2', [xc, 'relay', '--listen', f'[::1]:{relay2}', '--table', os.path.join(tmp, 'r2.table'), '--allow-loopback'])
    r1 = procs.start('relay1', [xc, 'relay', '--listen', f'[::1]:{relay1}', '--table', os.path.join(tmp, 'r1.table'), '--allow-loopback'])
    gst_dir = os.path.join(tmp, 'gst')
    os.makedirs(gst_dir)
    gst = procs.start('gst', ['gst-launch-1.0', '-e', 'udpsrc', 'address=::1', f'port={gst_port}', 'buffer-size=4194304',
                              f'caps={RTP_CAPS}', '!', 'rtpjpegdepay', '!', 'multifilesink',
                              f'location={gst_dir}/f_%05d.jpg'])
    sdp = os.path.join(tmp, 'recv.sdp')
    open(sdp, 'w').write(f'v=0\no=- 0 0 IN IP6 ::1\ns=xcast6\nc=IN IP6 ::1\nt=0 0\nm=video {ff_port} RTP/AVP 26\na=rtpmap:26 JPEG/90000\n')
    ff_dir = os.path.join(tmp, 'ff')
    os.makedirs(ff_dir)
    ff = procs.start('ffmpeg', ['ffmpeg', '-nostdin', '-v', 'error', '-protocol_whitelist', 'file,udp,rtp', '-rw_timeout', '3000000',
                                '-i', sdp, '-c:v', 'copy', '-f', 'image2', os.path.join(ff_dir, 'f_%05d.jpg')])
    ours_dir = os.path.join(tmp, 'ours')
    ours = procs.start('recv', [xc, 'recv', '--listen', f'[::1]:{ours_port}', '--output', ours_dir, '--frames', str(FRAMES)])
    time.sleep(2)   # receivers up (GStreamer and ffmpeg take a moment)
    for p in (r1, r2, gst, ff, ours):
        assert p.poll() is None, procs.log(p)
    send = subprocess.run([xc, 'send', '--camera', 'dir:' + os.path.join(tmp, 'src'), '--fps', '30', '--relay', f'[::1]:{relay1}',
                           '--receiver', f'[::1]:{gst_port}', '--receiver', f'[::1]:{ff_port}', '--receiver', f'[::1]:{ours_port}',
                           '--allow-loopback', '--session', 'car42'], capture_output=True, text=True, timeout=60)
    assert send.returncode == 0, send.stderr
    assert f'sent {FRAMES} frames' in send.stderr, send.stderr
    assert wait_for(lambda: len(os.listdir(gst_dir)) >= FRAMES, 10), procs.log(gst)
    assert ours.wait(15) == 0, procs.log(ours)
    assert wait_for(lambda: ff.poll() is not None, 20), 'ffmpeg did not stop after the stream'
    procs.stop(gst)
    got_gst = sorted(os.path.join(gst_dir, f) for f in os.listdir(gst_dir))
    got_ff = sorted(os.path.join(ff_dir, f) for f in os.listdir(ff_dir))
    got_ours = sorted(os.path.join(ours_dir, f) for f in os.listdir(ours_dir))
    assert len(got_gst) == FRAMES, procs.log(gst)
    assert len(got_ff) == FRAMES, procs.log(ff)
    assert len(got_ours) == FRAMES, procs.log(ours)
    # Pass-through: the JPEG data is byte-identical end to end; decoded pixels are equal everywhere.
    for src, a, b, c in zip(sources, got_gst, got_ff, got_ours):
        assert scan_data(a) == scan_data(src)
        assert scan_data(b) == scan_data(src)
        assert scan_data(c) == scan_data(src)
    want = decoded_md5(sources)
    assert decoded_md5(got_gst) == want
    assert decoded_md5(got_ff) == want
    assert decoded_md5(got_ours) == want


def test_xcast6_recv_reassembles_gstreamer_rtpjpegpay(procs, tmp_path):
    xc = xcast6_binary()
    tmp = str(tmp_path)
    (port,) = free_udp_ports(1)
    out = os.path.join(tmp, 'frames')
    n = 40
    recv = procs.start('recv', [xc, 'recv', '--listen', f'[::1]:{port}', '--output', out, '--frames', str(n), '--duration', '30'])
    time.sleep(0.5)
    gst = subprocess.run(['gst-launch-1.0', '-q', 'videotestsrc', f'num-buffers={n}', 'is-live=true', 'pattern=ball', '!',
                          'video/x-raw,format=I420,width=320,height=240,framerate=30/1', '!', 'jpegenc', 'quality=85', '!',
                          'rtpjpegpay', 'pt=26', 'mtu=1400', '!', 'udpsink', 'host=::1', f'port={port}'],
                         capture_output=True, text=True, timeout=60)
    assert gst.returncode == 0, gst.stderr
    assert recv.wait(15) == 0, procs.log(recv)
    files = sorted(os.listdir(out))
    assert len(files) == n, procs.log(recv)
    # every frame decodes (ffmpeg) to 320x240, and consecutive frames differ (the ball moves)
    sums = set()
    for f in files:
        r = subprocess.run(['ffmpeg', '-v', 'error', '-i', os.path.join(out, f), '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-'],
                           capture_output=True, check=True)
        assert len(r.stdout) == 320 * 240 * 3 // 2
        sums.add(hashlib.md5(r.stdout).hexdigest())
    assert len(sums) > n // 2


def test_clear_errors(tmp_path):
    xc = xcast6_binary()
    r = subprocess.run([xc, 'send', '--receiver', '[::1]:5004'], capture_output=True, text=True)
    assert r.returncode != 0 and '--allow-loopback' in r.stderr
    r = subprocess.run([xc, 'send', '--receiver', '::1:5004'], capture_output=True, text=True)
    assert r.returncode != 0 and 'is not [IPV6-ADDRESS]:PORT' in r.stderr
    bad = tmp_path / 'bad.table'
    bad.write_text('::/0 direct\n2001:db8::/33 via x\n')
    r = subprocess.run([xc, 'relay', '--table', str(bad)], capture_output=True, text=True)
    assert r.returncode != 0 and 'line 2' in r.stderr
    for sub in ('send', 'relay', 'recv', 'members'):
        h = subprocess.run([xc, sub, '--help'], capture_output=True, text=True)
        assert h.returncode == 0 and 'USAGE' in h.stdout.upper()


def test_join_members_and_receiver_reports(procs, tmp_path):
    """A receiver joins with the token (a wrong token is refused), `xcast6 members` lists it, frames
    arrive, its RTCP receiver reports reach the sender's metrics, and it is gone after it leaves."""
    import urllib.request
    xc = xcast6_binary()
    ctl, rtp, metrics = free_udp_ports(3)
    snd = procs.start('send', [xc, 'send', '--camera', 'test', '--size', '160x120', '--fps', '15', '--duration', '60',
                               '--session', 'car42', '--token', 's3cret', '--listen', f'[::1]:{ctl}',
                               '--metrics', f'[::1]:{metrics}', '--allow-loopback'])
    time.sleep(1)
    bad = subprocess.run([xc, 'recv', '--listen', '[::1]:0', '--join', f'[::1]:{ctl}', '--session', 'car42', '--token', 'wrong',
                          '--duration', '5'], capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0 and 'refused' in bad.stderr and 'badToken' in bad.stderr, bad.stderr
    out = os.path.join(str(tmp_path), 'frames')
    recv = procs.start('recv', [xc, 'recv', '--listen', f'[::1]:{rtp}', '--output', out, '--join', f'[::1]:{ctl}',
                                '--session', 'car42', '--token', 's3cret', '--lifetime', '6'])
    members = lambda: subprocess.run([xc, 'members', '--sender', f'[::1]:{ctl}', '--session', 'car42', '--token', 's3cret'],
                                     capture_output=True, text=True).stdout
    assert wait_for(lambda: f'[::1]:{rtp}' in members(), 10), procs.log(recv) + procs.log(snd)
    assert wait_for(lambda: os.path.isdir(out) and len(os.listdir(out)) >= 10, 10), procs.log(recv)

    def scrape():
        with urllib.request.urlopen(f'http://[::1]:{metrics}/metrics', timeout=5) as r:
            return r.read().decode()
    assert wait_for(lambda: 'xcast6_receiver_fraction_lost{member="::1"}' in scrape(), 15), scrape()
    assert 'xcast6_session_members{role="sender",session="car42"} 1' in scrape()
    assert procs.stop(recv) == 0, procs.log(recv)
    assert f'[::1]:{rtp}' not in members()
    assert 'left session car42' in procs.log(snd)


def test_sender_keeps_trying_a_camera_that_is_not_there(tmp_path):
    """A V4L2 camera that is missing (or goes away) is retried every second, and the sender says so."""
    xc = xcast6_binary()
    (port,) = free_udp_ports(1)
    missing = str(tmp_path / 'video-gone')   # a path no device will ever have
    r = subprocess.run([xc, 'send', '--camera', '/dev/' + os.path.basename(missing), '--duration', '3.5',
                        '--receiver', f'[::1]:{port}', '--allow-loopback'], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count('trying again in 1 s') >= 2, r.stderr
    assert 'sent 0 frames' in r.stderr
