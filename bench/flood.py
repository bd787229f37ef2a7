#!/usr/bin/env python3
"""Floods a running webhook receiver with hostile clients and samples its memory (RSS).

Four kinds of client, `--connections` of each, for `--seconds`, all at once:
  max:      POST a body of exactly max_body_bytes with a wrong token (read in full, then 401)
  too-big:  POST a body over max_body_bytes (413; dropped as it arrives, never buffered)
  slow-body: headers at once, then 1 KiB of a 1 MiB body per second (cut at the read deadline)
  slowloris: headers one byte per second (cut at the read deadline)
Meanwhile one well-behaved client posts a valid hook every second and records its latency.
The receiver's VmRSS is sampled from /proc/<pid>/status every 0.5 s; VmHWM is read at the end.
Standard library only. bench/flood.sh starts `callfeed dev` and runs this against it.

    python3 bench/flood.py --pid $(pgrep -n callfeed) --port 8080 --connections 200 --seconds 40
"""
import argparse, asyncio, json, pathlib, time

ROOT = pathlib.Path(__file__).resolve().parent.parent
SAMPLE = json.loads((ROOT / "Tests/CallFeedCoreTests/Fixtures/callkeeper.webhook.after-call-finish.sample.json").read_text())


def status_kib(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


async def post(a, path, length, chunks, delay):
    """One request: headers, then `chunks` of the body with `delay` between them; returns the status or an error."""
    try:
        reader, writer = await asyncio.open_connection(a.host, a.port)
        writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n".encode())
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()
            if delay: await asyncio.sleep(delay)
        line = await asyncio.wait_for(reader.readline(), 60)
        writer.close()
        return line.split()[1].decode() if line else "closed"
    except (ConnectionError, asyncio.TimeoutError, OSError) as e:
        return type(e).__name__


async def slowloris(a):
    try:
        reader, writer = await asyncio.open_connection(a.host, a.port)
        for b in b"POST /webhooks/callkeeper HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 10_000:
            writer.write(bytes([b]))
            await writer.drain()
            await asyncio.sleep(1)
        return "finished"
    except (ConnectionError, OSError):
        return "closed"


async def client(kind, a, stop, counts):
    big = b" " * a.max_body
    while time.monotonic() < stop:
        if kind == "max":
            r = await post(a, "/webhooks/callkeeper?token=wrong-flood-token", len(big), [big], 0)
        elif kind == "too-big":
            over = a.max_body * 2
            r = await post(a, "/webhooks/callkeeper?token=" + a.token, over, [b" " * 65536] * (over // 65536), 0)
        elif kind == "slow-body":
            r = await post(a, "/webhooks/callkeeper?token=" + a.token, a.max_body, [b" " * 1024] * (a.max_body // 1024), 1)
        else:
            r = await slowloris(a)
        counts[(kind, r)] = counts.get((kind, r), 0) + 1


async def good(a, stop, latencies):
    n = 0
    while time.monotonic() < stop:
        hook = dict(SAMPLE, id=990_000_000 + n, phone2="7998%07d" % n)
        body = json.dumps(hook).encode()
        t = time.perf_counter()
        r = await post(a, "/webhooks/callkeeper?token=" + a.token, len(body), [body], 0)
        latencies.append((r, time.perf_counter() - t))
        n += 1
        await asyncio.sleep(1)


async def sample(a, stop, samples):
    while time.monotonic() < stop + 2:
        samples.append(status_kib(a.pid, "VmRSS"))
        await asyncio.sleep(0.5)


async def main(a):
    baseline = status_kib(a.pid, "VmRSS")
    stop = time.monotonic() + a.seconds
    counts, latencies, samples = {}, [], []
    tasks = [client(kind, a, stop, counts) for kind in a.kinds.split(",") for _ in range(a.connections)]
    await asyncio.gather(sample(a, stop, samples), good(a, stop, latencies), *tasks)
    ok = [t for r, t in latencies if r == "202"]
    print(f"clients: {a.connections} x {a.kinds}, {a.seconds} s, max_body_bytes={a.max_body}")
    print(f"RSS: baseline {baseline / 1024:.1f} MiB, peak sampled {max(samples) / 1024:.1f} MiB, "
          f"VmHWM {status_kib(a.pid, 'VmHWM') / 1024:.1f} MiB, after {status_kib(a.pid, 'VmRSS') / 1024:.1f} MiB")
    print(f"good client: {len(ok)}/{len(latencies)} answered 202, max latency {max(ok, default=0) * 1000:.0f} ms")
    for (kind, result), n in sorted(counts.items()):
        print(f"  {kind:10} {result:22} {n}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pid", type=int, required=True, help="the receiver's process id (for /proc/<pid>/status)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--token", default="dev-callkeeper-token")
    p.add_argument("--max-body", type=int, default=1_048_576, help="the receiver's ingest.max_body_bytes")
    p.add_argument("--connections", type=int, default=200, help="clients of each kind")
    p.add_argument("--seconds", type=int, default=40)
    p.add_argument("--kinds", default="max,too-big,slow-body,slowloris")
    asyncio.run(main(p.parse_args()))
