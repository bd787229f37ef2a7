#!/usr/bin/env python3
"""Posts N distinct CallKeeper hooks to a running `callfeed dev` and measures the spine.

Prints requests/s, p50/p99 latency of the 202 (which includes Kafka acks=all), and how long until
every call is a row in the SQLite warehouse. Standard library only.

    .build/release/callfeed dev --db /tmp/bench.db &
    python3 bench/webhooks.py --db /tmp/bench.db --count 5000 --concurrency 8
"""
import argparse, http.client, json, sqlite3, statistics, threading, time, pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
SAMPLE = json.loads((ROOT / "Tests/CallFeedCoreTests/Fixtures/callkeeper.webhook.after-call-finish.sample.json").read_text())


def body(n, run):
    hook = dict(SAMPLE)
    hook["id"] = run * 10_000_000 + n
    hook["phone2"] = "7999%07d" % n
    hook["record_url"] = "https://callkeeper.ru/records/bench/%d.mp3" % n
    return json.dumps(hook).encode()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--token", default="dev-callkeeper-token")
    p.add_argument("--db", default="./callfeed.db")
    p.add_argument("--count", type=int, default=5000)
    p.add_argument("--concurrency", type=int, default=8)
    a = p.parse_args()
    run = int(time.time()) % 100 + 1
    bodies = [body(n, run) for n in range(a.count)]
    latencies, statuses, lock = [], {}, threading.Lock()

    def worker(i):
        conn = http.client.HTTPConnection(a.host, a.port, timeout=30)
        mine = []
        for b in bodies[i::a.concurrency]:
            t = time.perf_counter()
            conn.request("POST", "/webhooks/callkeeper?token=" + a.token, body=b,
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse(); r.read()
            mine.append(time.perf_counter() - t)
            with lock:
                statuses[r.status] = statuses.get(r.status, 0) + 1
        with lock:
            latencies.extend(mine)

    db = sqlite3.connect(a.db)
    before = db.execute("select count(*) from calls").fetchone()[0]
    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(a.concurrency)]
    for t in threads: t.start()
    for t in threads: t.join()
    posted = time.perf_counter() - start
    while db.execute("select count(*) from calls").fetchone()[0] < before + a.count:
        if time.perf_counter() - start > 300: break
        time.sleep(0.01)
    loaded = time.perf_counter() - start
    rows = db.execute("select count(*) from calls").fetchone()[0] - before
    latencies.sort()
    q = lambda f: latencies[min(len(latencies) - 1, int(f * len(latencies)))] * 1000
    print(f"hooks {a.count}, concurrency {a.concurrency}, statuses {statuses}")
    print(f"ingest: {a.count / posted:,.0f} req/s; latency p50 {q(0.5):.1f} ms, p99 {q(0.99):.1f} ms, max {latencies[-1]*1000:.1f} ms")
    print(f"warehouse: {rows} new rows, all loaded {loaded:.2f} s after the first post ({rows / loaded:,.0f} rows/s end to end)")


if __name__ == "__main__":
    main()
