"""The store's own limit, without the server: durable transactions of 500 fixes into the server's
own schema (the tables a real `monnemo-server vehicle add` created), one client, as fast as the
database commits them. The server's batched ingest is reported as a ratio to these figures,
measured in the same run on the same machine."""
import sqlite3
import time

COLUMNS = ('vehicle_id', 'seq', 'kind', 'time_us', 'received_us', 'lat', 'lon', 'alt', 'speed', 'track', 'mode',
           'eph', 'temperature', 'humidity', 'picture_bytes')
BATCH = 500


def rows(vehicle, first):
    now_us = int(time.time() * 1e6)
    # Times rise with seq, 10 ms apart, as in the server bench's batches.
    return [(vehicle, seq, 'fix', 1152698400000000 + seq * 10000, now_us, 43.2 + seq * 1e-7, -0.3, None, 8.3, None,
             3, None, None, None, None) for seq in range(first, first + BATCH)]


def sqlite_rows_per_s(path, vehicle, seconds):
    """SQLite as the server opens it (WAL, synchronous=FULL): BEGIN, one INSERT … ON CONFLICT DO
    NOTHING per row of the batch (a prepared statement, as the server's), COMMIT."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute('PRAGMA journal_mode=WAL')
    db.execute('PRAGMA synchronous=FULL')
    sql = (f'INSERT INTO record ({", ".join(COLUMNS)}) VALUES ({", ".join("?" * len(COLUMNS))}) '
           'ON CONFLICT DO NOTHING')
    stored, seq = 0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        batch = rows(vehicle, seq)
        seq += BATCH
        db.execute('BEGIN IMMEDIATE')
        db.executemany(sql, batch)
        db.execute('COMMIT')
        stored += BATCH
    elapsed = time.perf_counter() - start
    db.close()
    return stored / elapsed


def postgres_rows_per_s(url, vehicle, seconds):
    """PostgreSQL (synchronous_commit on, as the server's database has it): one multi-row INSERT …
    ON CONFLICT DO NOTHING per batch, committed, over one connection (psycopg2, Debian's)."""
    import psycopg2
    import psycopg2.extras
    db = psycopg2.connect(url.replace('postgres://', 'postgresql://'))
    cur = db.cursor()
    sql = f'INSERT INTO record ({", ".join(COLUMNS)}) VALUES %s ON CONFLICT DO NOTHING'
    stored, seq = 0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        psycopg2.extras.execute_values(cur, sql, rows(vehicle, seq), page_size=BATCH)
        db.commit()
        seq += BATCH
        stored += BATCH
    elapsed = time.perf_counter() - start
    db.close()
    return stored / elapsed
