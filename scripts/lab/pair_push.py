#!/usr/bin/env python3
"""MISP pushing through the pair (scripts/pair.sh), in a bounded loop (stdlib only).

    pair_push.py --ca CA.pem --out attempts.jsonl --stop STOPFILE
                 [--interval 0.05] [--max-attempts 2400] [--max-seconds 120]
                 [--first I] [--source-port P]

Starts one push every --interval seconds, each on a connection of its own
(MISP's connection would break at a failover anyway; a new one per push shows
when the path is back), at most --inflight at once: even attempts push an
allowed event (tlp:green), odd ones a blocked event (tlp:red) whose attribute
value is the marker BLOCKED-<i>, which must never reach the remote (counted
from --first; --source-port pins each attempt's source port, for a routing
rule that sends a probe through one box).

Every allowed body has a length of its own, 1000 + i bytes, so the audit
line a daemon writes for it (bytes_in=...) names it: the test can prove
each allowed push that arrived was judged, and by which box.

It stops after --max-attempts attempts, after --max-seconds, or once
STOPFILE exists, waits for the attempts in flight (each bounded by
--connect-timeout and --timeout), and exits. One JSON line per attempt, when
it ends:

    {"i", "kind": "allowed"|"blocked", "uuid", "len", "start", "end",
     "status": HTTP status or null, "error": null or why it failed}

Times are Unix seconds (time.time(): the clock the driver stamps faults with).
"""

import argparse
import json
import os
import socket
import ssl
import sys
import threading
import time
import uuid

PATH = "/events/add/metadata:1"


def event(i, kind):
    """The body of attempt i: an allowed event of 1000 + i bytes, or a blocked one."""
    u = str(uuid.UUID(int=(0x5A17 << 112) | i, version=4))
    if kind == "blocked":
        tag, value = "tlp:red", f"BLOCKED-{i}"
    else:
        tag, value = "tlp:green", ""
    doc = {
        "Event": {
            "uuid": u,
            "info": f"pair push {i}",
            "distribution": "1",
            "published": True,
            "Tag": [{"name": tag}],
            "Attribute": [
                {"type": "comment", "category": "Other", "value": value, "distribution": "5"}
            ],
        }
    }
    body = json.dumps(doc, separators=(",", ":")).encode()
    if kind == "allowed":
        want = 1000 + i
        pad = want - len(body)
        assert pad >= 0, f"attempt {i}: body longer than {want}"
        doc["Event"]["Attribute"][0]["value"] = "x" * pad
        body = json.dumps(doc, separators=(",", ":")).encode()
        assert len(body) == want
    return u, body


def push(args, ctx, i, kind):
    u, body = event(i, kind)
    rec = {"i": i, "kind": kind, "uuid": u, "len": len(body), "start": time.time()}
    status, error = None, None
    sock = None
    try:
        source = ("0.0.0.0", args.source_port + i - args.first) if args.source_port else None
        sock = socket.create_connection((args.addr, args.port), timeout=args.connect_timeout,
                                        source_address=source)
        sock.settimeout(args.timeout)
        tls = ctx.wrap_socket(sock, server_hostname=args.host)
        sock = tls
        head = (
            f"POST {PATH} HTTP/1.1\r\nHost: {args.host}\r\n"
            "Content-Type: application/json\r\nAccept: application/json\r\n"
            "Authorization: pair-lab-key-not-a-real-one\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        tls.sendall(head + body)
        answer = b""
        while True:
            chunk = tls.recv(65536)
            if not chunk:
                break
            answer += chunk
        line = answer.split(b"\r\n", 1)[0].split()
        if len(line) >= 2 and line[0].startswith(b"HTTP/"):
            status = int(line[1])
        else:
            error = f"no HTTP answer ({len(answer)} bytes)"
    except (OSError, ValueError) as e:
        error = f"{type(e).__name__}: {e}"
    finally:
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass
    rec.update(end=time.time(), status=status, error=error)
    return rec


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="misp.partner.example")
    ap.add_argument("--addr", default="203.0.113.20")
    ap.add_argument("--port", type=int, default=443)
    ap.add_argument("--ca", required=True, help="the interception CA MISP trusts (PEM)")
    ap.add_argument("--out", required=True, help="append one JSON line per attempt here")
    ap.add_argument("--stop", required=True, help="stop once this file exists")
    ap.add_argument("--first", type=int, default=0, help="number of the first attempt")
    ap.add_argument("--source-port", type=int, help="attempt i connects from port SOURCE_PORT + i - FIRST")
    ap.add_argument("--interval", type=float, default=0.05)
    ap.add_argument("--max-attempts", type=int, default=2400)
    ap.add_argument("--max-seconds", type=float, default=120)
    ap.add_argument("--inflight", type=int, default=48)
    ap.add_argument("--connect-timeout", type=float, default=1.0)
    ap.add_argument("--timeout", type=float, default=4.0)
    args = ap.parse_args()

    ctx = ssl.create_default_context(cafile=args.ca)
    ctx.set_alpn_protocols(["http/1.1"])
    out = open(args.out, "a", buffering=1)
    lock = threading.Lock()
    slots = threading.BoundedSemaphore(args.inflight)
    threads = []

    def run(i, kind):
        try:
            rec = push(args, ctx, i, kind)
            with lock:
                out.write(json.dumps(rec) + "\n")
        finally:
            slots.release()

    deadline = time.monotonic() + args.max_seconds
    next_at = time.monotonic()
    for i in range(args.first, args.first + args.max_attempts):
        if os.path.exists(args.stop) or time.monotonic() > deadline:
            break
        slots.acquire()
        kind = "allowed" if (i - args.first) % 2 == 0 else "blocked"
        t = threading.Thread(target=run, args=(i, kind))
        t.start()
        threads.append(t)
        next_at += args.interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    for t in threads:
        t.join()
    out.close()
    print(f"pair_push: {len(threads)} attempts", file=sys.stderr)


if __name__ == "__main__":
    main()
