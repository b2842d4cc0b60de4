#!/usr/bin/env python3
"""Map server benchmarks (make bench-server). Each figure is one line:
`bench: NAME VALUE UNIT target OP VALUE`. Load comes from wrk (Debian) and Python clients in other
processes on loopback; the server runs as its release binary with a fresh data folder."""
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'Tests', 'integration'))
from conftest import ServerProcess, fix  # noqa: E402

DURATION = int(os.environ.get('BENCH_SECONDS', '10'))

# Every wrk thread numbers itself (thread_id) so the threads' sequence numbers never collide.
THREAD_PREAMBLE_LUA = r'''
local counter = 0
local thread_id = 0
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  thread_id = id
end
'''

BATCH_LUA = THREAD_PREAMBLE_LUA + r'''
request = function()
  local parts = {}
  local base = (thread_id * 100000000) + counter * 500
  counter = counter + 1
  for i = 0, 499 do
    parts[#parts + 1] = string.format('{"seq":%d,"time":"2006-07-12T10:%02d:%02d.%03dZ","kind":"fix","lat":%.6f,"lon":%.6f,"speed":8.3,"mode":3}',
      base + i, math.floor(i / 60) % 60, i % 60, i % 1000, 43.2 + i * 0.00001, -0.3 + i * 0.00001)
  end
  return wrk.format("POST", "/api/v1/telemetry", nil, '{"records":[' .. table.concat(parts, ",") .. ']}')
end
'''

OSMAND_LUA = THREAD_PREAMBLE_LUA + r'''
request = function()
  counter = counter + 1
  local ms = 1152698400000 + counter * 8 + thread_id
  return wrk.format("GET", string.format("/?id=DEVICE_ID&lat=43.3&lon=-0.37&speed=10&bearing=90&timestamp=%d", ms))
end
'''


def wrk(url, script_text, connections, threads, headers=(), seconds=DURATION):
    with tempfile.NamedTemporaryFile('w', suffix='.lua', delete=False) as f:
        f.write(script_text)
        script = f.name
    cmd = ['wrk', '-t', str(threads), '-c', str(connections), '-d', f'{seconds}s', '--latency', '-s', script]
    for h in headers:
        cmd += ['-H', h]
    run = subprocess.run(cmd + [url], capture_output=True, text=True)
    os.unlink(script)
    out = run.stdout
    if run.stderr.strip():  # a Lua error makes wrk fall back to plain GETs: the figure would be wrong
        raise SystemExit('wrk: ' + run.stderr.strip())
    rps = float(next(l for l in out.splitlines() if l.startswith('Requests/sec')).split()[1])
    non2xx = [l.strip() for l in out.splitlines() if 'Non-2xx' in l or 'Socket errors' in l]
    if any('Non-2xx' in l for l in non2xx):
        raise SystemExit('the server refused requests during the load: ' + '; '.join(non2xx))
    return rps, non2xx, out


def line(name, value, unit, op, target, note=''):
    print(f'bench: {name} {value:.6g} {unit} target {op} {target}' + (f'  # {note}' if note else ''), flush=True)


def count(server, vid):
    m = server.get('/metrics')[1].decode()
    return m


def batched_ingest(server, token):
    rps, errors, out = wrk(server.url, BATCH_LUA, connections=8, threads=2,
                           headers=[f'Authorization: Bearer {token}', 'Content-Type: application/json'])
    if errors:
        print('  wrk: ' + '; '.join(errors), file=sys.stderr)
    line('server_batched_ingest', rps * 500, 'fixes/s', '>=', 50000, f'{rps:.1f} batches/s of 500, 8 clients')


def osmand_load(server, seconds=DURATION, report=True):
    # Reports name phone-1 by its secret OsmAnd device id, as a Traccar Client would.
    script = OSMAND_LUA.replace('DEVICE_ID', server.osmand_ids['phone-1'])
    rps, errors, out = wrk(f'http://127.0.0.1:{server.osmand_port}', script, connections=64, threads=2,
                           seconds=seconds)
    if errors:
        print('  wrk: ' + '; '.join(errors), file=sys.stderr)
    if report:
        line('server_osmand_requests', rps, 'requests/s', '>=', 5000, '64 connections, each answered after its commit')
    return rps


def sse_latency(server, token, samples=200):
    """Posts single fixes while the OsmAnd load runs; measures post-sent to SSE-event-received."""
    sock = socket.create_connection(('127.0.0.1', server.http_port))
    sock.sendall(b'GET /api/v1/live HTTP/1.1\r\nHost: x\r\n\r\n')
    buf = b''
    while b'connected' not in buf:
        buf += sock.recv(65536)
    buf = b''
    sent = {}
    latencies = []
    done = threading.Event()

    def reader():
        nonlocal buf
        while not done.is_set():
            try:
                data = sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            now = time.perf_counter()
            buf += data
            while b'\n\n' in buf:
                event, buf = buf.split(b'\n\n', 1)
                for l in event.split(b'\n'):
                    if l.startswith(b'data: ') and b'"vehicle":"probe"' in l:
                        seq = json.loads(l[6:])['seq']
                        if seq in sent:
                            latencies.append(now - sent.pop(seq))

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    load = threading.Thread(target=osmand_load, args=(server, DURATION + 2, False))
    load.start()
    time.sleep(1)
    for i in range(samples):
        body = json.dumps({'records': [fix(i + 1, 1152698400 + i)]}).encode()
        req = urllib.request.Request(server.url + '/api/v1/telemetry', data=body, method='POST',
                                     headers={'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'})
        sent[i + 1] = time.perf_counter()
        urllib.request.urlopen(req).read()
        time.sleep(DURATION / samples / 1.5)
    time.sleep(1)
    done.set()
    load.join()
    sock.close()
    if len(latencies) < samples * 0.9:
        print(f'  only {len(latencies)} of {samples} probe events arrived', file=sys.stderr)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    line('server_post_to_sse_p99', p99, 'ms', '<', 50,
         f'p50 {statistics.median(latencies) * 1000:.1f} ms over {len(latencies)} events under OsmAnd load')


def page_first_view(server, tokens):
    from selenium.webdriver.support.ui import WebDriverWait
    sys.path.insert(0, os.path.join(ROOT, 'Tests', 'integration'))
    from test_browser import chrome
    base = 1152698400
    for k, token in enumerate(tokens):
        for start in range(0, 10000, 1000):
            recs = [fix(i + 1, base + i, lat=43.0 + k * 0.01 + i * 0.00002, lon=-0.3 + 0.0005 * ((i // 50) % 7), speed=8)
                    for i in range(start, start + 1000)]
            assert server.post_batch(token, recs)[0] == 200
    times = []
    for _ in range(3):
        driver = chrome()
        try:
            t0 = time.time()
            driver.get(server.url + '/')
            WebDriverWait(driver, 30).until(lambda d: d.execute_script('return document.body.dataset.ready') == 'true')
            times.append(time.time() - t0)
        finally:
            driver.quit()
    line('server_page_first_view', min(times), 's', '<', 1, f'3 vehicles x 10,000 fixes; runs {", ".join(f"{t:.2f}" for t in times)} s')


def main():
    data = tempfile.mkdtemp(prefix='monnemo-bench-')
    try:
        server = ServerProcess(data, extra=['--log-level', 'warning', '--rate-limit', 'off', '--token-rate-limit', 'off'])  # capacity, not policy
        token = server.add_vehicle('bench-1')
        probe = server.add_vehicle('probe')
        server.add_vehicle('phone-1')
        page_tokens = [server.add_vehicle(f'page-{i}') for i in range(3)]
        server.start()
        batched_ingest(server, token)
        osmand_load(server)
        sse_latency(server, probe)
        server.kill()
        # The page figure on its own store: only the three page vehicles.
        shutil.rmtree(data)
        os.makedirs(data)
        server = ServerProcess(data, extra=['--log-level', 'warning', '--rate-limit', 'off', '--token-rate-limit', 'off'])  # capacity, not policy
        page_tokens = [server.add_vehicle(f'page-{i}') for i in range(3)]
        server.start()
        page_first_view(server, page_tokens)
        server.kill()
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == '__main__':
    main()
