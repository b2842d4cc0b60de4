"""Issue 14, the map server: every hostile input we know of (and variations), sent to the real
monnemo-server binary over its real sockets. After each one the server must still be running and
answer normal requests, and nothing may have been stored or changed."""
import json
import os
import socket
import sqlite3
import struct
import subprocess
import tempfile
import threading
import time
import urllib.parse

import pytest

from conftest import ServerProcess, fix

T0 = 1152698400.0  # 2006-07-12T10:00:00Z


def alive(server):
    assert server.proc.poll() is None, 'monnemo-server died: ' + open(server.log_path).read()[-3000:]
    assert server.get('/healthz')[0] == 200


def snapshot(server, vehicle):
    """What the public API says about a vehicle: every record of every kind, and the vehicle list."""
    out = {}
    for kind in ('fix', 'climate', 'picture'):
        status, body, _ = server.get(f'/api/v1/vehicles/{vehicle}/readings?kind={kind}&limit=5000')
        assert status == 200
        out[kind] = json.loads(body)
    status, body, _ = server.get('/api/v1/vehicles')
    out['vehicles'] = [{k: v for k, v in x.items() if k != 'lastSeen'} for x in json.loads(body)]
    return out


def raw_request(port, data, timeout=10):
    """Sends bytes as they are (no client-side validation) and returns the status code, or None."""
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
        s.sendall(data)
        reply = b''
        while b'\r\n' not in reply:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
    if not reply.startswith(b'HTTP/1.1 '):
        return None
    return int(reply.split(b' ')[1])


def valid_jpeg(width=64, height=48):
    """A real JPEG from ffmpeg (a peer we did not write)."""
    out = subprocess.run(['ffmpeg', '-loglevel', 'error', '-f', 'lavfi', '-i', f'testsrc=size={width}x{height}:rate=1',
                          '-frames:v', '1', '-f', 'mjpeg', '-'], capture_output=True, check=True)
    return out.stdout


def with_metadata(jpeg):
    """The JPEG with an EXIF segment holding a GPS position, an XMP segment and a comment after SOI."""
    def seg(marker, payload):
        return bytes([0xFF, marker]) + struct.pack('>H', len(payload) + 2) + payload
    exif = seg(0xE1, b'Exif\x00\x00MM\x00\x2a GPSLatitude 48.8583701 GPSLongitude 2.2944813')
    xmp = seg(0xE1, b'http://ns.adobe.com/xap/1.0/\x00<exif:GPSLatitude>48.8583701</exif:GPSLatitude>')
    com = seg(0xFE, b'taken at 48.8583701,2.2944813')
    return jpeg[:2] + exif + xmp + com + jpeg[2:]


def decoded(jpeg):
    """Pixels as ffmpeg decodes them."""
    with tempfile.NamedTemporaryFile(suffix='.jpg') as f:
        f.write(jpeg)
        f.flush()
        return subprocess.run(['ffmpeg', '-loglevel', 'error', '-i', f.name, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
                              capture_output=True, check=True).stdout


@pytest.fixture
def seeded(server):
    token = server.add_vehicle('bike-1')
    server.start()
    records = [fix(i, T0 + i, lat=48 + i * 1e-4) for i in range(1, 6)]
    records.append({'seq': 6, 'time': '2006-07-12T10:00:06Z', 'kind': 'climate', 'temperature': 21.5, 'humidity': 40})
    assert server.post_batch(token, records)[0] == 200
    return server, token


READ_PATHS = ['/api/v1/vehicles/bike-1/track', '/api/v1/vehicles/bike-1/track.gpx', '/api/v1/vehicles/bike-1/track.geojson',
              '/api/v1/vehicles/bike-1/readings', '/api/v1/vehicles/bike-1/pictures']


def test_read_queries_that_crashed_or_could_crash(seeded):
    server, _ = seeded
    before = snapshot(server, 'bike-1')
    clamped = ['limit=9223372036854775807', 'limit=9223372036854775806', 'limit=18446744073709551616',
               'limit=' + '9' * 300, 'limit=5001']
    refused = ['limit=0', 'limit=-1', 'limit=-9223372036854775808', 'limit=1e3', 'limit=0x10', 'limit=%2B5', 'limit=',
               'limit=1&limit=2', 'simplify=nan', 'simplify=inf', 'simplify=1e400', 'simplify=-0.1', 'simplify=1e6',
               'from=1e300', 'from=-1e300', 'to=nan', 'to=inf', 'from=9999999999999999999999',
               'from=2006-02-30T00:00:00Z', 'to=2006-07-12T25:00:00Z', 'kind=nope', 'from=' + '1' * 5000]
    for path in READ_PATHS:
        for q in clamped:
            status, body, _ = server.get(f'{path}?{q}')
            assert status == 200, (path, q, body[:200])
            alive(server)
        for q in refused:
            if q == 'kind=nope' and not path.endswith('/readings'):
                continue
            if q.startswith('simplify=') and '/track' not in path:
                continue  # only the track is simplified; elsewhere it is an unknown parameter, ignored
            status, body, _ = server.get(f'{path}?{q}')
            assert status == 400, (path, q, status, body[:200])
            err = json.loads(body)
            assert err['error'] == 'bad_request' and err['field'] == q.split('=')[0], (path, q, err)
        alive(server)
    # Also straight onto the socket, with bytes no client library would send.
    for q in [b'limit=9223372036854775807', b'limit=%00', b'simplify=%ff%fe', b'from=\xff\xfe', b'limit=' + b'9' * 8000]:
        status = raw_request(server.http_port, b'GET /api/v1/vehicles/bike-1/track?' + q + b' HTTP/1.1\r\nHost: x\r\n\r\n')
        assert status in (200, 400, 431, None), (q, status)
        alive(server)
    assert snapshot(server, 'bike-1') == before


def test_a_read_without_limit_is_paged(seeded):
    server, token = seeded
    for start in range(100, 3100, 1000):
        assert server.post_batch(token, [fix(s, T0 + 10 + s * 0.01) for s in range(start, start + 1000)])[0] == 200
    status, body, headers = server.get('/api/v1/vehicles/bike-1/readings?kind=fix')
    assert status == 200 and len(json.loads(body)) == 1000 and 'rel="next"' in headers['Link']
    # Following the Link headers gives every record exactly once.
    seen, url, pages = [], '/api/v1/vehicles/bike-1/readings?kind=fix&limit=700', 0
    while url:
        status, body, headers = server.get(url)
        assert status == 200
        seen += [r['seq'] for r in json.loads(body)]
        link = headers.get('Link')
        url = link[1:link.index('>')] if link else None
        pages += 1
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 3005 and pages == 5
    status, body, _ = server.get('/api/v1/vehicles/bike-1/track?limit=99999999999')
    props = json.loads(body)['features'][0]['properties']
    assert props['points'] == 3005 and props['next'] is None  # 3005 ≤ the maximum of 5000
    status, body, _ = server.get('/api/v1/vehicles/bike-1/track')
    assert json.loads(body)['features'][0]['properties']['points'] == 1000


BAD_MODES = ['1e19', '-1e19', '9223372036854775807', '-9223372036854775808', '18446744073709551616', '1.5', '3.0000001',
             '1e308', '-1e308', '2e-308', '1E400']


def test_batch_numbers_that_crashed_or_could_crash(seeded):
    server, token = seeded
    before = snapshot(server, 'bike-1')
    headers = {'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'}
    bodies = []
    for mode in BAD_MODES:
        bodies.append('{"records":[%s,{"seq":101,"time":"2006-07-12T10:01:00Z","kind":"fix","lat":48,"lon":2,"mode":%s}]}'
                      % (json.dumps(fix(100, T0 + 59)), mode))
    for field, value in [('seq', '1e19'), ('seq', '-1'), ('seq', '18446744073709551616'), ('seq', '1.5'),
                         ('lat', '1e400'), ('lon', '-1e400'), ('alt', '1e400'), ('speed', '1e400'), ('eph', '-1e400'),
                         ('track', '1e19'), ('lat', 'true'), ('seq', '"1"')]:
        bodies.append('{"records":[{"seq":102,"time":"2006-07-12T10:01:00Z","kind":"fix","lat":48,"lon":2,"%s":%s}]}'
                      % (field, value))
    bodies.append('{"records":[{"seq":103,"time":"2099-01-01T00:00:00Z","kind":"fix","lat":48,"lon":2}]}')
    bodies.append('{"records":[{"seq":104,"time":"9999-12-31T23:59:59.999999Z","kind":"climate","humidity":1}]}')
    bodies.append('{"records":[{"seq":105,"time":"2006-07-12T10:00:00' + '9' * 5000 + 'Z","kind":"climate","humidity":1}]}')
    bodies.append('{"records":[' + ','.join(['{}'] * 1001) + ']}')
    bodies.append('[' * 100000)
    for body in bodies:
        status, reply, _ = server.request('POST', '/api/v1/telemetry', body.encode(), headers)
        assert status in (400, 413, 422), (body[:120], status, reply[:200])
        err = json.loads(reply)
        assert set(err) <= {'error', 'detail', 'index', 'field'}
        alive(server)
    status, reply, _ = server.request('POST', '/api/v1/telemetry', bodies[0].encode(), headers)
    assert json.loads(reply)['index'] == 1
    assert snapshot(server, 'bike-1') == before


def test_future_records_are_refused_naming_the_record(seeded):
    server, token = seeded
    now = time.time()
    status, body, _ = server.post_batch(token, [fix(200, now + 3600), fix(201, now + 2 * 86400)])
    assert status == 422
    err = json.loads(body)
    assert err['index'] == 1 and err['field'] == 'time' and 'record 1' in err['detail']
    assert server.post_batch(token, [fix(200, now + 3600)])[0] == 200


def test_osmand_numbers_that_could_crash(seeded):
    server, _ = seeded
    before = snapshot(server, 'bike-1')
    device = server.osmand_ids['bike-1']
    base = {'id': device, 'lat': '48.1', 'lon': '2.1', 'timestamp': '1152698500'}
    variations = [('timestamp', '1e300'), ('timestamp', '99999999999999999999'), ('timestamp', '-1'), ('timestamp', 'nan'),
                  ('timestamp', '4102444800'), ('timestamp', '4102444800000'), ('timestamp', '9999-12-31T23:59:59Z'),
                  ('speed', '1e400'), ('speed', 'nan'), ('bearing', 'inf'), ('heading', '-inf'), ('altitude', '1e999'),
                  ('accuracy', 'nan'), ('batt', '1e999'), ('lat', 'nan'), ('lat', '1e400'), ('lon', '-inf'),
                  ('id', 'x' * 100), ('id', '../../etc'), ('location', '1e400,1e400')]
    for key, value in variations:
        q = dict(base)
        if key == 'location':
            del q['lat'], q['lon']
        q[key] = value
        status, body, _ = server.request('GET', '/?' + urllib.parse.urlencode(q), port=server.osmand_port)
        assert status in (400, 401), (key, value, status, body[:200])
        alive(server)
    json_bodies = [
        {'device_id': device, 'location': {'timestamp': 1e300, 'coords': {'latitude': 48, 'longitude': 2}}},
        {'device_id': device, 'location': {'timestamp': '2099-01-01T00:00:00Z', 'coords': {'latitude': 48, 'longitude': 2}}},
        {'device_id': device, 'location': {'timestamp': 18446744073709551616, 'coords': {'latitude': 48, 'longitude': 2}}},
    ]
    for body in json_bodies:
        status, _, _ = server.request('POST', '/', json.dumps(body).encode(), {'Content-Type': 'application/json'},
                                      port=server.osmand_port)
        assert status == 400, body
        alive(server)
    for raw in [b'{"device_id":"' + device.encode() + b'","location":{"coords":{"latitude":48,"longitude":2,"speed":1e400,"altitude":-1e400}}}',
                b'{"device_id":"' + device.encode() + b'","location":{"timestamp":"x","coords":{"latitude":1e400,"longitude":2}}}']:
        status, _, _ = server.request('POST', '/', raw, {'Content-Type': 'application/json'}, port=server.osmand_port)
        assert status in (200, 400)
        alive(server)
    after = snapshot(server, 'bike-1')
    # The one report with infinite speed/altitude but a good position may be stored (non-finite values dropped);
    # nothing else is.
    extra = [r for r in after['fix'] if r not in before['fix']]
    assert len(extra) <= 1 and all('speed' not in r and 'alt' not in r for r in extra), extra
    after['fix'] = [r for r in after['fix'] if r not in extra]
    after['vehicles'] = before['vehicles']
    assert after == before


def test_pictures_hostile_and_stripped(seeded):
    server, token = seeded
    before = snapshot(server, 'bike-1')
    headers = {'Authorization': 'Bearer ' + token, 'Content-Type': 'image/jpeg'}
    jpeg = valid_jpeg()
    png = b'\x89PNG\r\n\x1a\n' + b'\x00\x00\x00\x1btEXtComment\x00at 48.8583701,2.2944813' + b'\x00' * 20
    for query, body, want in [
        ('seq=18446744073709551616&time=2006-07-12T10:00:00Z', jpeg, 422),
        ('seq=-1&time=2006-07-12T10:00:00Z', jpeg, 422),
        ('seq=10&time=2099-01-01T00:00:00Z', jpeg, 422),
        ('seq=10&time=1e300', jpeg, 422),
        ('seq=10&time=2006-07-12T10:00:00Z&lat=nan&lon=2', jpeg, 422),
        ('seq=10&time=2006-07-12T10:00:00Z&lat=1e400&lon=2', jpeg, 422),
        ('seq=10&time=2006-07-12T10:00:00Z', png, 422),
        ('seq=10&time=2006-07-12T10:00:00Z', b'\xff\xd8\xff\xe1\xff\xff' + b'\x00' * 10 + b'\xff\xd9', 422),
        ('seq=10&time=2006-07-12T10:00:00Z', jpeg[:-2], 422),
    ]:
        status, reply, _ = server.request('POST', '/api/v1/pictures?' + query, body, headers)
        assert status == want, (query, status, reply[:200])
        alive(server)
    assert snapshot(server, 'bike-1') == before
    assert not os.path.exists(os.path.join(server.data, 'pictures', 'bike-1', '10.jpg'))
    # A real JPEG with EXIF GPS, XMP and a comment: stored and served without them, pixels unchanged.
    tagged = with_metadata(jpeg)
    status, _, _ = server.request('POST', '/api/v1/pictures?seq=11&time=2006-07-12T10:00:07Z&lat=48.8583701&lon=2.2944813',
                                  tagged, headers)
    assert status == 201
    status, served, _ = server.get('/api/v1/pictures/bike-1-11')
    assert status == 200
    assert b'48.858' not in served and b'Exif' not in served and b'taken at' not in served and b'xap' not in served
    assert decoded(served) == decoded(jpeg)
    assert len(served) <= len(jpeg)  # ffmpeg's own comment (encoder name) goes too


def test_commit_queue_is_bounded(data_dir):
    server = ServerProcess(data_dir, ['--max-pending-commits', '1'])
    token = server.add_vehicle('bike-1')
    server.start()
    # Another writer holds SQLite's write lock: commits queue up behind it (as on a stalled disk).
    db = sqlite3.connect(os.path.join(data_dir, 'monnemo.sqlite'), timeout=5, isolation_level=None)
    db.execute('BEGIN IMMEDIATE')
    results = {}

    def post(seq):
        results[seq] = server.post_batch(token, [fix(seq, T0 + seq)])

    first = threading.Thread(target=post, args=(1,))
    first.start()
    time.sleep(0.5)
    second = threading.Thread(target=post, args=(2,))
    second.start()
    time.sleep(0.5)
    status, body, headers = server.post_batch(token, [fix(3, T0 + 3)])
    assert status == 503 and headers['Retry-After'] == '1' and json.loads(body)['error'] == 'busy'
    db.execute('ROLLBACK')
    db.close()
    first.join(30)
    second.join(30)
    assert results[1][0] == 200 and results[2][0] == 200
    status, body, _ = server.get('/api/v1/vehicles/bike-1/readings?kind=fix')
    assert [r['seq'] for r in json.loads(body)] == [1, 2]
    server.kill()


def live_subscribers(server):
    for line in server.get('/metrics')[1].decode().splitlines():
        if line.startswith('monnemo_live_subscribers '):
            return int(line.split()[1])
    raise AssertionError('no monnemo_live_subscribers in /metrics')


def test_live_subscribers_capped_and_a_reader_that_never_reads_is_dropped(data_dir):
    server = ServerProcess(data_dir, ['--max-live-per-address', '3', '--live-write-timeout', '2'])
    token = server.add_vehicle('bike-1')
    server.start()
    # A subscriber with a tiny receive buffer that never reads …
    stalled = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    stalled.connect(('127.0.0.1', server.http_port))
    stalled.sendall(b'GET /api/v1/live HTTP/1.1\r\nHost: x\r\n\r\n')
    # … and two that read everything.
    stop = threading.Event()
    readers = []

    def read(sock):
        sock.settimeout(1)
        while not stop.is_set():
            try:
                if not sock.recv(65536):
                    return
            except socket.timeout:
                pass

    for _ in range(2):
        s = socket.create_connection(('127.0.0.1', server.http_port), timeout=10)
        s.sendall(b'GET /api/v1/live HTTP/1.1\r\nHost: x\r\n\r\n')
        assert s.recv(4096).startswith(b'HTTP/1.1 200')
        t = threading.Thread(target=read, args=(s,), daemon=True)
        t.start()
        readers.append((s, t))
    deadline = time.time() + 10
    while live_subscribers(server) < 3 and time.time() < deadline:
        time.sleep(0.1)
    # The address has its three: a fourth is refused.
    status, body, headers = server.get('/api/v1/live')
    assert status == 429 and 'Retry-After' in headers and json.loads(body)['error'] == 'too_many_subscriptions'
    # Flood the feed until the stalled subscriber's buffers are full and its write times out.
    seq, deadline = 1000, time.time() + 120
    while time.time() < deadline and live_subscribers(server) == 3:
        assert server.post_batch(token, [fix(s, T0 + s * 0.001, lat=48.123456, lon=2.654321, speed=1.5, alt=35.25, eph=3.5)
                                         for s in range(seq, seq + 1000)])[0] == 200
        seq += 1000
        time.sleep(0.2)
    deadline = time.time() + 10
    while live_subscribers(server) == 3 and time.time() < deadline:
        time.sleep(0.2)
    assert live_subscribers(server) == 2, 'the subscriber that reads nothing is still held'
    # The server closed the stalled connection (after what was already in the socket buffers).
    stalled.settimeout(10)
    while True:
        chunk = stalled.recv(1 << 20)
        if not chunk:
            break
    stop.set()
    for s, t in readers:
        t.join(5)
        s.close()
    alive(server)
    server.kill()


def test_idle_and_half_sent_connections_are_closed(data_dir):
    server = ServerProcess(data_dir, ['--idle-timeout', '2'])
    server.start()
    idle = socket.create_connection(('127.0.0.1', server.http_port), timeout=10)
    half = socket.create_connection(('127.0.0.1', server.http_port), timeout=10)
    half.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n')  # the head never ends
    body = socket.create_connection(('127.0.0.1', server.http_port), timeout=10)
    body.sendall(b'POST /api/v1/telemetry HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
                 b'Content-Length: 1000\r\n\r\n{"rec')  # the body never ends
    t = time.time()
    assert idle.recv(1) == b'' and half.recv(1) == b''
    reply = body.recv(4096)
    while reply and body.recv(4096):
        pass
    assert time.time() - t < 8
    for s in (idle, half, body):
        s.close()
    alive(server)
    server.kill()


def test_connections_are_capped(data_dir):
    server = ServerProcess(data_dir, ['--max-connections', '3'])
    server.start()
    # Three held connections fill the listener; a fourth client waits until one goes.
    held = [socket.create_connection(('127.0.0.1', server.http_port), timeout=10) for _ in range(3)]
    time.sleep(0.3)
    waiting = socket.create_connection(('127.0.0.1', server.http_port), timeout=1.5)
    waiting.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
    with pytest.raises(socket.timeout):
        waiting.recv(100)
    for s in held:
        s.close()
    waiting.settimeout(10)
    assert waiting.recv(100).startswith(b'HTTP/1.1 200')
    waiting.close()
    alive(server)
    server.kill()


def test_orphan_picture_files_go_at_start(data_dir):
    server = ServerProcess(data_dir)
    token = server.add_vehicle('car')
    server.start()
    jpeg = valid_jpeg()
    assert server.request('POST', '/api/v1/pictures?seq=1&time=2006-07-12T10:00:00Z', jpeg,
                          {'Authorization': 'Bearer ' + token, 'Content-Type': 'image/jpeg'})[0] == 201
    server.kill()
    folder = os.path.join(data_dir, 'pictures', 'car')
    for name in ('2.jpg', '3.jpg.5A5A.tmp'):
        open(os.path.join(folder, name), 'wb').write(jpeg)
    server.start()
    assert sorted(os.listdir(folder)) == ['1.jpg']
    assert server.get('/api/v1/pictures/car-1')[0] == 200
    server.kill()


def test_metrics_from_loopback_and_with_the_token(data_dir):
    server = ServerProcess(data_dir, ['--metrics-token', 'a-long-metrics-token'])
    server.start()
    assert server.get('/metrics')[0] == 200  # the test talks over loopback
    status, _, _ = server.request('GET', '/metrics', headers={'Authorization': 'Bearer a-long-metrics-token'})
    assert status == 200
    server.kill()
    short = subprocess.run([server.binary, 'serve', '--data', data_dir, '--metrics-token', 'short'], capture_output=True, text=True)
    assert short.returncode != 0 and 'at least 16' in short.stderr


def test_operator_values_that_overflow_or_disable_privacy_are_refused(server):
    for args, words in [
        (['vehicle', 'add', 'a', '--public-delay', '99999999999999999999'], 'public-delay'),
        (['vehicle', 'add', 'a', '--public-delay', '9223372036854775807'], 'public-delay'),
        (['vehicle', 'add', 'a', '--public-delay', '-5'], 'public-delay'),
        (['vehicle', 'add', 'a', '--public-precision', '12'], 'public-precision'),
        (['vehicle', 'add', 'a', '--public-precision', '-1'], 'public-precision'),
    ]:
        out = server.cli(*args, check=False)
        assert out.returncode != 0 and words in out.stderr, (args, out.stderr)
        assert 'Fatal error' not in out.stderr
    server.add_vehicle('car', '--public-delay', '300', '--public-precision', '3')
    for args in (['--public-delay', '99999999999'], ['--public-delay', '-1'], ['--public-precision', '-2'],
                 ['--public-precision', '10']):
        out = server.cli('vehicle', 'set', 'car', *args, check=False)
        assert out.returncode != 0 and 'Fatal error' not in out.stderr, (args, out.stderr)
    listed = json.loads(server.cli('vehicle', 'list', '--json').stdout)
    assert listed[0]['publicDelay'] == 300 and listed[0]['publicPrecision'] == 3
    assert server.cli('vehicle', 'set', 'car', '--public-precision', '-1').returncode == 0
    assert json.loads(server.cli('vehicle', 'list', '--json').stdout)[0]['publicPrecision'] is None
    for days in ('inf', 'nan', '1e300', '0', '-3'):
        out = subprocess.run([server.binary, 'serve', '--data', server.data, '--http-port', '0', '--osmand-port=-1',
                              '--retention-days', days], capture_output=True, text=True, timeout=30)
        assert out.returncode != 0 and 'retention-days' in out.stderr, (days, out.stderr)


def raw_get(port, path, source='127.0.0.1'):
    """One GET over a socket bound to `source` (another loopback address is another client)."""
    s = socket.create_connection(('127.0.0.1', port), timeout=10, source_address=(source, 0))
    s.sendall(f'GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'.encode())
    answer = b''
    while chunk := s.recv(65536):
        answer += chunk
    s.close()
    head, _, body = answer.partition(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    headers = {k.lower(): v.strip() for k, _, v in (l.partition(':') for l in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def test_a_flooding_client_gets_429_while_another_is_served(data_dir):
    """Per-client rate limit over real sockets: 127.0.0.1 floods the public API and the OsmAnd
    listener and is held to its rate with 429 + Retry-After; 127.0.0.2 (another client) is served."""
    server = ServerProcess(data_dir, ['--rate-limit', '5/10'])
    server.add_vehicle('bike-1')
    server.start()
    statuses = [raw_get(server.http_port, '/api/v1/vehicles')[0] for _ in range(40)]
    # (start() already spent one of the burst on /healthz)
    assert statuses[:5] == [200] * 5 and statuses.count(429) >= 25, statuses
    status, headers, body = raw_get(server.http_port, '/api/v1/vehicles')
    assert status == 429 and 1 <= int(headers['retry-after']) <= 60
    assert json.loads(body)['error'] == 'rate_limited'
    assert raw_get(server.http_port, '/api/v1/vehicles', source='127.0.0.2')[0] == 200
    # The OsmAnd listener has limits of its own (a flood there does not eat the API's).
    device = server.osmand_ids['bike-1']
    osmand = [raw_get(server.osmand_port, f'/?id={device}&lat=1&lon=1&timestamp={1152698400 + i}')[0] for i in range(40)]
    assert osmand.count(200) <= 20 and osmand.count(429) >= 20, osmand
    assert raw_get(server.osmand_port, f'/?id={device}&lat=1&lon=1&timestamp=1152699999', source='127.0.0.2')[0] == 200
    # Once the client waits as told, it is served again; the counter says how many were refused.
    time.sleep(int(headers['retry-after']) + 0.5)
    assert raw_get(server.http_port, '/api/v1/vehicles')[0] == 200
    metrics = raw_get(server.http_port, '/metrics', source='127.0.0.3')[2].decode()
    refused = int(next(l.split()[-1] for l in metrics.splitlines() if l.startswith('monnemo_rate_limited_total')))
    assert refused >= statuses.count(429) + osmand.count(429)
    assert server.proc.poll() is None and raw_get(server.http_port, '/healthz', source='127.0.0.4')[0] == 200
    server.kill()
