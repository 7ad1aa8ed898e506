#!/usr/bin/env python3
"""Abuse and normal sync at once, against misp-warden in the lab (scripts/load.sh).

    load.py --ca WARDEN-CA.pem --pid DAEMON-PID --seconds 30 [--idle 3000]
            [--slowloris 200] [--bombs 20] [--idlers IP,...] [--slowlorises IP,...] [--bomber IP]

Runs inside the lab's internal namespace. For --seconds, at the same time:
  - idle: TCP connections to the partner's sync port that never say a word,
    from the attacker addresses, reopened when the daemon closes them;
  - slowloris: TLS connections that send a request head one byte every 2 s;
  - bombs: pushes of a gzip body that decodes to 1 GiB of zeros, one after
    another from one attacker;
  - normal: MISP (192.0.2.10) pushing a 100 KB allowed event, one at a time.
It samples the daemon's memory (VmRSS) and open descriptors from /proc every
0.25 s (the lab shares /proc), and prints one JSON object with the figures.
"""

import argparse
import asyncio
import json
import os
import resource
import socket
import ssl
import statistics
import threading
import time
import zlib

PARTNER = ("203.0.113.20", 443)
HOST = "misp.partner.example"
PUSH = "/events/add/metadata:1"


def event(tag, size):
    return json.dumps({"Event": {"uuid": "5f1c3a2e-1111-4222-8333-444455556666", "info": "load",
                                  "distribution": "1", "Tag": [{"name": tag}],
                                  "Attribute": [{"type": "comment", "category": "Other", "value": "v" * size}]}}).encode()


def bomb():
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    return b"".join(c.compress(chunk) for _ in range(1024)) + c.flush()


def request(body, extra=""):
    head = (f"POST {PUSH} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n")
    return head.encode() + body


class Stats:
    def __init__(self):
        self.normal_ok = self.normal_failed = 0
        self.latencies = []
        self.idle_opened = self.idle_closed_by_daemon = self.idle_refused = 0
        self.slow_opened = self.slow_cut = 0
        self.bombs_sent = self.bombs_refused = 0
        self.peak_rss_kib = self.peak_fds = 0
        self.statuses = {}


async def send(ctx, data, source=None, timeout=30):
    """One TLS exchange; returns the status code (0 when none)."""
    kw = {"local_addr": (source, 0)} if source else {}
    r, w = await asyncio.wait_for(asyncio.open_connection(*PARTNER, ssl=ctx, server_hostname=HOST, **kw), timeout)
    try:
        w.write(data)
        await w.drain()
        line = await asyncio.wait_for(r.readline(), timeout)
        return int(line.split()[1]) if line.startswith(b"HTTP/") else 0
    finally:
        w.close()


async def normal(ctx, stats, until):
    body = request(event("tlp:green", 100_000))
    while time.time() < until:
        start = time.time()
        try:
            status = await send(ctx, body)
        except Exception:  # noqa: BLE001  a failure is a data point
            status = 0
        stats.statuses[status] = stats.statuses.get(status, 0) + 1
        if status == 200:
            stats.normal_ok += 1
            stats.latencies.append(time.time() - start)
        else:
            stats.normal_failed += 1


async def idle(stats, sources, count, until):
    async def one(source):
        while time.time() < until:
            try:
                r, w = await asyncio.open_connection(*PARTNER, local_addr=(source, 0))
            except OSError:
                stats.idle_refused += 1
                await asyncio.sleep(1)
                continue
            stats.idle_opened += 1
            try:
                if await asyncio.wait_for(r.read(1), max(0.1, until - time.time())) == b"":
                    stats.idle_closed_by_daemon += 1
            except (asyncio.TimeoutError, OSError):
                pass
            finally:
                w.close()
    await asyncio.gather(*(one(sources[i % len(sources)]) for i in range(count)))


async def slowloris(ctx, stats, sources, count, until):
    async def one(source):
        while time.time() < until:
            try:
                r, w = await asyncio.open_connection(*PARTNER, ssl=ctx, server_hostname=HOST, local_addr=(source, 0))
            except OSError:
                await asyncio.sleep(1)
                continue
            stats.slow_opened += 1
            head = f"POST {PUSH} HTTP/1.1\r\nHost: {HOST}\r\nX-Slow: ".encode() + b"a" * 10_000
            try:
                for b in head:
                    if time.time() >= until:
                        break
                    w.write(bytes([b]))
                    await w.drain()
                    await asyncio.sleep(2)
            except OSError:
                stats.slow_cut += 1
            finally:
                w.close()
    await asyncio.gather(*(one(sources[i % len(sources)]) for i in range(count)))


async def bombs(ctx, stats, source, count, until):
    data = request(bomb(), "Content-Encoding: gzip\r\n")
    for _ in range(count):
        if time.time() >= until:
            break
        stats.bombs_sent += 1
        try:
            status = await send(ctx, data, source)
        except Exception:  # noqa: BLE001
            status = 0
        if status >= 400 or status == 0:
            stats.bombs_refused += 1


async def sample(pid, stats, until):
    while time.time() < until:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        stats.peak_rss_kib = max(stats.peak_rss_kib, int(line.split()[1]))
            stats.peak_fds = max(stats.peak_fds, len(os.listdir(f"/proc/{pid}/fd")))
        except OSError:
            pass
        await asyncio.sleep(0.25)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ca", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--idle", type=int, default=3000)
    ap.add_argument("--slowloris", type=int, default=200)
    ap.add_argument("--bombs", type=int, default=20)
    ap.add_argument("--idlers", default="192.0.2.60,192.0.2.61,192.0.2.62,192.0.2.63")
    ap.add_argument("--slowlorises", default="192.0.2.70,192.0.2.71")
    ap.add_argument("--bomber", default="192.0.2.80")
    a = ap.parse_args()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ctx = ssl.create_default_context(cafile=a.ca)
    stats = Stats()
    until = time.time() + a.seconds
    # MISP's traffic on a loop (and thread) of its own, so that the
    # attackers' work in this process does not count as the daemon's delay.
    misp = threading.Thread(target=lambda: asyncio.run(normal(ssl.create_default_context(cafile=a.ca), stats, until)))
    misp.start()
    await asyncio.gather(
        sample(a.pid, stats, until + 2),
        idle(stats, a.idlers.split(","), a.idle, until),
        slowloris(ctx, stats, a.slowlorises.split(","), a.slowloris, until),
        bombs(ctx, stats, a.bomber, a.bombs, until),
        return_exceptions=False,
    )
    misp.join()
    lat = sorted(stats.latencies)
    q = lambda p: round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 1) if lat else None
    total = stats.normal_ok + stats.normal_failed
    print(json.dumps({
        "seconds": a.seconds,
        "normal_pushes": total,
        "normal_success_rate": round(stats.normal_ok / total, 4) if total else None,
        "normal_statuses": stats.statuses,
        "normal_latency_ms": {"p50": q(0.5), "p99": q(0.99), "mean": round(statistics.mean(lat) * 1000, 1) if lat else None},
        "idle_connections_opened": stats.idle_opened,
        "idle_closed_by_daemon": stats.idle_closed_by_daemon,
        "slowloris_opened": stats.slow_opened,
        "slowloris_cut": stats.slow_cut,
        "bombs_sent": stats.bombs_sent,
        "bombs_refused": stats.bombs_refused,
        "daemon_peak_rss_mib": round(stats.peak_rss_kib / 1024, 1),
        "daemon_peak_fds": stats.peak_fds,
    }))


if __name__ == "__main__":
    asyncio.run(main())
