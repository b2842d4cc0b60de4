"""The real server over real sockets: the CLI contract, the API, OsmAnd as Traccar Client sends it, SSE."""
import json
import socket
import subprocess
import threading
import time
import urllib.parse

from conftest import fix


def test_cli_contract(server):
    out = server.cli('vehicle', 'add', 'bike-1', '--name', 'Bicycle 1')
    lines = out.stdout.strip().splitlines()
    token = lines[-1]
    assert len(token) == 64 and all(c in '0123456789abcdef' for c in token)
    # The OsmAnd device id: a secret of its own, on its own line before the token.
    assert lines[-2].startswith('osmand-id: ')
    device = lines[-2].split(': ', 1)[1]
    assert len(device) == 24 and all(c in 'abcdefghijklmnopqrstuvwxyz0123456789' for c in device)
    assert device not in (token, 'bike-1')
    renewed = server.cli('vehicle', 'osmand-id', 'bike-1').stdout.strip().splitlines()
    assert renewed[-1].startswith('osmand-id: ') and renewed[-1] != lines[-2]
    assert server.cli('vehicle', 'osmand-id', 'nobody', check=False).returncode != 0
    listed = server.cli('vehicle', 'list').stdout
    assert 'bike-1' in listed and 'Bicycle 1' in listed and 'active' in listed
    again = server.cli('vehicle', 'add', 'bike-1', check=False)
    assert again.returncode != 0 and 'already exists' in again.stderr
    bad = server.cli('vehicle', 'add', 'Bad_ID', check=False)
    assert bad.returncode != 0 and 'a-z 0-9' in bad.stderr
    assert server.cli('vehicle', 'revoke', 'bike-1').returncode == 0
    assert 'revoked' in server.cli('vehicle', 'list').stdout
    missing = server.cli('vehicle', 'revoke', 'nobody', check=False)
    assert missing.returncode != 0 and 'no vehicle nobody' in missing.stderr


def test_help_explains_every_command(server):
    import subprocess
    for args in (['--help'], ['serve', '--help'], ['vehicle', 'add', '--help']):
        out = subprocess.run([server.binary, *args], capture_output=True, text=True)
        assert out.returncode == 0 and 'USAGE' in out.stdout.upper()
    serve_help = subprocess.run([server.binary, 'serve', '--help'], capture_output=True, text=True).stdout
    for flag in ('--data', '--http-port', '--osmand-port', '--bind', '--retention-days'):
        assert flag in serve_help


def test_ingest_and_read_over_a_socket(server):
    token = server.add_vehicle('bike-1')
    server.start()
    t0 = 1152698400.0
    status, body, _ = server.post_batch(token, [fix(i, t0 + i, lat=48 + i * 0.001) for i in range(1, 11)])
    assert status == 200 and json.loads(body) == {'accepted': 10, 'duplicates': 0}
    status, body, _ = server.post_batch(token, [fix(i, t0 + i) for i in range(5, 13)])
    assert json.loads(body) == {'accepted': 2, 'duplicates': 6}
    status, body, headers = server.get('/api/v1/vehicles/bike-1/track')
    assert status == 200 and headers['Content-Type'] == 'application/geo+json'
    coords = json.loads(body)['features'][0]['geometry']['coordinates']
    assert len(coords) == 12
    status, body, _ = server.get('/api/v1/vehicles/bike-1/track.gpx')
    assert status == 200 and body.count(b'<trkpt') == 12
    status, body, _ = server.get('/api/v1/vehicles')
    assert json.loads(body)[0]['fix']['seq'] == 12
    # Every bad request answers with JSON and the server keeps answering.
    for method, path, data, headers, want in [
        ('POST', '/api/v1/telemetry', b'{', {'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'}, 400),
        ('POST', '/api/v1/telemetry', b'{"records":[]}', {'Content-Type': 'application/json'}, 401),
        ('POST', '/api/v1/telemetry', b'{"records":[]}', {'Authorization': 'Bearer nope', 'Content-Type': 'application/json'}, 401),
        ('POST', '/api/v1/telemetry', b'x' * (1 << 20 + 1), {'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'}, 413),
        ('POST', '/api/v1/telemetry', b'{}', {'Authorization': 'Bearer ' + token, 'Content-Type': 'text/csv'}, 415),
        ('DELETE', '/api/v1/vehicles', None, {}, 405),
        ('GET', '/api/v1/nope', None, {}, 404),
    ]:
        status, body, _ = server.request(method, path, data, headers)
        assert status == want, (path, status, body)
        err = json.loads(body)
        assert set(err) == {'error', 'detail'}
    assert server.get('/healthz')[0] == 200
    metrics = server.get('/metrics')[1].decode()
    assert 'monnemo_records_accepted_total{kind="fix"} 12' in metrics


def test_osmand_as_traccar_client_sends_it(server):
    server.add_vehicle('phone-1')
    device = server.osmand_ids['phone-1']
    server.start()
    q = urllib.parse.urlencode({'id': device, 'timestamp': '1152698400', 'lat': '48.8566', 'lon': '2.3522',
                                'speed': '5.4', 'bearing': '271.5', 'altitude': '35', 'accuracy': '4.2', 'batt': '88'})
    status, _, _ = server.request('POST', '/?' + q, b'', port=server.osmand_port)
    assert status == 200
    status, _, _ = server.request('GET', '/?' + q, port=server.osmand_port)  # resent: duplicate
    assert status == 200
    body = json.dumps({'location': {'timestamp': '2006-07-12T10:00:05.000Z', 'coords': {
        'latitude': 48.857, 'longitude': 2.353, 'accuracy': 5, 'speed': 2.0, 'heading': 90, 'altitude': 36},
        'battery': {'level': 0.8, 'is_charging': False}}, 'device_id': device}).encode()
    status, _, _ = server.request('POST', '/', body, {'Content-Type': 'application/json'}, port=server.osmand_port)
    assert status == 200
    status, body, _ = server.get('/api/v1/vehicles/phone-1/readings?kind=fix')
    fixes = json.loads(body)
    assert [f['time'] for f in fixes] == ['2006-07-12T10:00:00.000Z', '2006-07-12T10:00:05.000Z']
    assert abs(fixes[0]['speed'] - 5.4 * 1852 / 3600) < 1e-6
    status, _, _ = server.request('GET', '/?id=intruder&lat=1&lon=1', port=server.osmand_port)
    assert status == 401


def test_a_listed_vehicle_id_alone_moves_nothing(server):
    """Found by trying: a plain curl to port 5055 with an id from the public vehicle list was stored."""
    server.add_vehicle('bike-1')
    server.start()
    listed = [v['id'] for v in json.loads(server.get('/api/v1/vehicles')[1])]
    assert listed == ['bike-1']
    out = subprocess.run(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}',
                          f'http://127.0.0.1:{server.osmand_port}/?id={listed[0]}&lat=48.1&lon=2.1&timestamp=1152698400'],
                         capture_output=True, text=True, check=True)
    assert out.stdout == '401'
    body = json.dumps({'device_id': listed[0], 'location': {'coords': {'latitude': 48.1, 'longitude': 2.1}}}).encode()
    assert server.request('POST', '/', body, {'Content-Type': 'application/json'}, port=server.osmand_port)[0] == 401
    assert json.loads(server.get('/api/v1/vehicles/bike-1/readings?kind=fix')[1]) == []
    # The secret one does move it.
    q = f'/?id={server.osmand_ids["bike-1"]}&lat=48.1&lon=2.1&timestamp=1152698400'
    assert server.request('GET', q, port=server.osmand_port)[0] == 200
    assert len(json.loads(server.get('/api/v1/vehicles/bike-1/readings?kind=fix')[1])) == 1


def test_server_sent_events_after_durable_commit(server):
    token = server.add_vehicle('bike-1')
    server.start()
    sock = socket.create_connection(('127.0.0.1', server.http_port), timeout=10)
    sock.sendall(b'GET /api/v1/live HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n')
    received = b''
    while b'connected' not in received:
        received += sock.recv(4096)
    assert b'text/event-stream' in received
    t0 = time.time()
    status, _, _ = server.post_batch(token, [fix(1, t0, lat=48.5, lon=2.5)])
    assert status == 200
    while b'event: fix' not in received:
        received += sock.recv(4096)
    sock.close()
    data_line = [l for l in received.split(b'\n') if l.startswith(b'data: {')][0]
    event = json.loads(data_line[6:])
    assert event['vehicle'] == 'bike-1' and event['lat'] == 48.5 and event['seq'] == 1


def test_sigterm_stops_cleanly_with_a_live_client(server):
    server.add_vehicle('bike-1')
    server.start()
    sock = socket.create_connection(('127.0.0.1', server.http_port), timeout=10)
    sock.sendall(b'GET /api/v1/live HTTP/1.1\r\nHost: x\r\n\r\n')
    time.sleep(0.3)
    t = time.time()
    server.stop()
    assert time.time() - t < 15
    assert server.proc.returncode == 0


def test_every_read_endpoint_and_pictures_over_a_socket(server):
    token = server.add_vehicle('car', '--name', 'Car')
    server.start()
    t0 = 1152698400.0
    assert server.post_batch(token, [fix(1, t0, lat=43.1, lon=-0.3),
                                     {'seq': 2, 'time': '2006-07-12T10:00:01Z', 'kind': 'climate',
                                      'temperature': 22.5, 'humidity': 61}])[0] == 200
    # A well-formed JPEG (JFIF, a frame, a scan) without metadata: the server stores it byte for byte.
    jpeg = (bytes([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10]) + b'JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00'
            + bytes([0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x11, 0x00])
            + bytes([0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]) + b'\x12' * 100 + bytes([0xFF, 0xD9]))
    headers = {'Authorization': 'Bearer ' + token, 'Content-Type': 'image/jpeg'}
    status, body, _ = server.request('POST', '/api/v1/pictures?seq=3&time=2006-07-12T10:00:02Z&lat=43.1&lon=-0.3',
                                     jpeg, headers)
    assert status == 201 and json.loads(body) == {'id': 'car-3', 'duplicate': False}
    status, body, _ = server.request('POST', '/api/v1/pictures?seq=4&time=2006-07-12T10:00:02Z', b'GIF89a', headers)
    assert status == 422 and json.loads(body)['error'] == 'invalid_picture'
    checks = {
        '/api/v1/vehicles/car': lambda b: json.loads(b)['picture']['url'] == '/api/v1/pictures/car-3',
        '/api/v1/vehicles/car/readings?kind=climate': lambda b: json.loads(b)[0]['humidity'] == 61,
        '/api/v1/vehicles/car/pictures': lambda b: json.loads(b)[0]['id'] == 'car-3',
        '/api/v1/pictures/car-3': lambda b: b == jpeg,
        '/api/v1/vehicles/car/track.geojson': lambda b: json.loads(b)['features'][0]['properties']['points'] == 1,
        '/api/v1/config': lambda b: 'tileURL' in json.loads(b),
        '/': lambda b: b'Nautilus' in b,
        '/app.js': lambda b: b'EventSource' in b,
        '/vendor/leaflet/leaflet.js': lambda b: len(b) > 10000,
    }
    for path, ok in checks.items():
        status, body, _ = server.get(path)
        assert status == 200 and ok(body), path
    assert server.get('/api/v1/pictures/car-99')[0] == 404
    assert server.get('/api/v1/vehicles/nobody/track')[0] == 404
