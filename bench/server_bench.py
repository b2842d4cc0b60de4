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
from cluster_support import LiveReader, Nginx, Postgres  # noqa: E402
from conftest import ServerProcess, fix  # noqa: E402

import store_limit as store_limit_module  # noqa: E402

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
  -- Times rise with seq, 10 ms apart, as a vehicle's do (and as the store-limit baseline's do):
  -- the time index then grows at its end instead of taking every batch's 500 times again.
  for i = 0, 499 do
    local seq = base + i
    local centis = seq % 100
    local secs = 1152698400 + math.floor(seq / 100)
    parts[#parts + 1] = string.format('{"seq":%d,"time":"%s.%02dZ","kind":"fix","lat":%.6f,"lon":%.6f,"speed":8.3,"mode":3}',
      seq, os.date("!%Y-%m-%dT%H:%M:%S", secs), centis, 43.2 + i * 0.00001, -0.3 + i * 0.00001)
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


def batched_ingest(url, token, name, note=''):
    """Fixes/s that the server (or a balancer before several) stores from 8 clients sending 500-fix batches."""
    rps, errors, out = wrk(url, BATCH_LUA, connections=8, threads=2,
                           headers=[f'Authorization: Bearer {token}', 'Content-Type: application/json'])
    if errors:
        print('  wrk: ' + '; '.join(errors), file=sys.stderr)
    if name:
        line(name, rps * 500, 'fixes/s', '>=', 50000, f'{rps:.1f} batches/s of 500, 8 clients{note}')
    return rps * 500


def osmand_load(server, seconds=DURATION, report=True):
    # Reports name phone-1 by its secret OsmAnd device id, as a Traccar Client would.
    script = OSMAND_LUA.replace('DEVICE_ID', server.osmand_ids['phone-1'])
    rps, errors, out = wrk(f'http://127.0.0.1:{server.osmand_port}', script, connections=64, threads=2,
                           seconds=seconds)
    if errors:
        print('  wrk: ' + '; '.join(errors), file=sys.stderr)
    if report:
        line('server_osmand_requests', rps, 'requests/s', '>=', 10000, '64 connections, each answered after its commit')
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
    for _ in range(5):
        driver = chrome()
        try:
            t0 = time.time()
            driver.get(server.url + '/')
            WebDriverWait(driver, 30).until(lambda d: d.execute_script('return document.body.dataset.ready') == 'true')
            times.append(time.time() - t0)
        finally:
            driver.quit()
    line('server_page_first_view', statistics.median(times), 's', '<', 1,
         f'median of 5, 3 vehicles x 10,000 fixes; runs {", ".join(f"{t:.2f}" for t in times)} s')


# Capacity, not policy: every client is on loopback, the rate limits would measure themselves.
FLAGS = ['--log-level', 'warning', '--rate-limit', 'off', '--token-rate-limit', 'off']


def store_limit(kind, folder, database=None):
    """The store's own limit (bench/store_limit.py) on a schema the server itself created."""
    extra = ['--database', database] if database else []
    ServerProcess(folder, name='limit').add_vehicle('limit', *extra)
    if database:
        rate = store_limit_module.postgres_rows_per_s(database, 'limit', DURATION)
    else:
        rate = store_limit_module.sqlite_rows_per_s(os.path.join(folder, 'monnemo.sqlite'), 'limit', DURATION)
    line(f'store_limit_{kind}_rows_per_s', rate, 'rows/s', '>', 0,
         'the store alone: durable transactions of 500 rows, one client, no HTTP')
    return rate


def sse_across_instances(postgres, folder, samples=200):
    """Two instances on one PostgreSQL: a fix posted to A, its live event read from B."""
    database = postgres.create_database()
    a = ServerProcess(folder, FLAGS + ['--database', database], name='a')
    b = ServerProcess(folder, FLAGS + ['--database', database], name='b')
    token = a.add_vehicle('probe', '--database', database)
    a.start()
    b.start()
    try:
        reader = LiveReader(b.http_port)
        latencies = []
        for i in range(samples):
            t0 = time.perf_counter()
            assert a.post_batch(token, [fix(i + 1, time.time() - 60)])[0] == 200
            while ('probe', i + 1) not in reader.keys():
                if time.perf_counter() - t0 > 5:
                    raise SystemExit(f'the event of fix {i + 1} never reached the other instance')
                time.sleep(0.0005)
            latencies.append(time.perf_counter() - t0)
            time.sleep(0.02)
        reader.close()
    finally:
        a.kill()
        b.kill()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    line('server_post_to_sse_across_instances_p99', p99, 'ms', '<', 50,
         f'posted to instance A, read on B (LISTEN/NOTIFY); p50 {statistics.median(latencies) * 1000:.1f} ms, '
         f'{samples} events')


def instances_scaling(postgres, folder, counts=(1, 2, 4)):
    """Batched ingest through nginx over 1, 2 and 4 instances on one PostgreSQL."""
    rates = {}
    for n in counts:
        database = postgres.create_database()
        sub = os.path.join(folder, f'n{n}')
        os.makedirs(sub)
        instances = [ServerProcess(sub, FLAGS + ['--database', database], name=f'i{k}') for k in range(n)]
        token = instances[0].add_vehicle('bench-1', '--database', database)
        nginx = None
        try:
            for s in instances:
                s.start()
            nginx = Nginx([s.http_port for s in instances])
            rates[n] = batched_ingest(f'http://127.0.0.1:{nginx.port}', token, None)
            line(f'server_ingest_postgres_{n}_instances', rates[n], 'fixes/s', '>', 0,
                 f'batches of 500 from 8 clients through nginx over {n} instance(s)')
        finally:
            if nginx:
                nginx.stop()
            for s in instances:
                s.kill()
    for n in counts[1:]:
        line(f'server_ingest_postgres_scaling_{n}_vs_1', rates[n] / rates[1], 'ratio', '>=', 1,
             f'{os.cpu_count()} cores run the instances, nginx, PostgreSQL and the clients')


def main():
    data = tempfile.mkdtemp(prefix='monnemo-bench-')
    postgres = None

    def folder(name):
        path = os.path.join(data, name)
        os.makedirs(path)
        return path

    try:
        # SQLite: the store's limit and the server's ingest side by side, then the request figures.
        limit = store_limit('sqlite', folder('limit-sqlite'))
        server = ServerProcess(folder('sqlite'), extra=FLAGS)
        token = server.add_vehicle('bench-1')
        probe = server.add_vehicle('probe')
        server.add_vehicle('phone-1')
        server.start()
        ingest = batched_ingest(server.url, token, 'server_batched_ingest')
        line('server_batched_ingest_vs_store_limit_sqlite', ingest / limit, 'ratio', '>=', 0.7,
             'goal >= 0.9: the server stores batches at this fraction of what SQLite alone commits')
        osmand_load(server)
        sse_latency(server, probe)
        server.kill()

        # PostgreSQL: the same two, then several instances.
        postgres = Postgres()
        limit = store_limit('postgres', folder('limit-postgres'), postgres.create_database())
        database = postgres.create_database()
        server = ServerProcess(folder('postgres'), extra=FLAGS + ['--database', database])
        token = server.add_vehicle('bench-1', '--database', database)
        server.start()
        ingest = batched_ingest(server.url, token, 'server_batched_ingest_postgres')
        line('server_batched_ingest_vs_store_limit_postgres', ingest / limit, 'ratio', '>=', 0.7,
             'goal >= 0.9: the server stores batches at this fraction of what PostgreSQL alone commits')
        server.kill()
        instances_scaling(postgres, folder('instances'))
        sse_across_instances(postgres, folder('sse'))

        # The page figure on its own store: only the three page vehicles.
        server = ServerProcess(folder('page'), extra=FLAGS)
        page_tokens = [server.add_vehicle(f'page-{i}') for i in range(3)]
        server.start()
        page_first_view(server, page_tokens)
        server.kill()
    finally:
        if postgres:
            postgres.stop()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == '__main__':
    main()
