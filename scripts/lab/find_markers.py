#!/usr/bin/env python3
"""Finds markers (`BLOCKED-<n>`) in what a lab remote received (lab tests).

    find_markers.py [--capture DIR]... [--record FILE]... [--pattern REGEX]

Reads every connection of each --capture directory (remote_misp.py
--capture: NNNNNN.bin, every byte received) and every request of each
--record file (remote_misp.py --record), and looks for the pattern
(default `BLOCKED-[0-9]+`) in them and in everything they decode to.
Prints one JSON object:

    {"connections": n, "bytes": n, "records": n,
     "found": [{"marker", "where", "how"}, ...]}

It decodes with its own code and Python's decoders (zlib, brotli,
zstandard), never with the guard's: a decoder bug shared by the guard and
the test would otherwise hide exactly the event it let through. It is
lenient where the guard is strict, so that broken framing cannot hide a
body:

  - the raw bytes of each connection are searched as they are;
  - every head (text up to a blank line) is parsed as loosely as a server
    might: its body from the blank line to the end, cut at Content-Length,
    and de-chunked when any Transfer-Encoding says chunked (up to the first
    broken chunk); each decoded by the Content-Encodings it declares (every
    header, comma lists, any case, x-gzip), last applied first;
  - every piece of data found so far is also tried, whatever its headers
    say, as gzip or zlib or zstd wherever their magic bytes start, and as
    brotli and raw deflate from its start, to four levels of nesting.

Decoders keep what they produced before an error or the end of the input:
a truncated or corrupted stream still yields its readable part.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import sys
import zlib

import brotli
import zstandard

# How much one decoding may produce, and how deep encodings may nest.
OUTPUT_LIMIT = 64 << 20
MAX_DEPTH = 4
GZIP_MAGIC = b"\x1f\x8b\x08"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
ZLIB_HEADERS = re.compile(rb"\x78[\x01\x5e\x9c\xda]")
HEAD_END = re.compile(rb"\r?\n\r?\n")


def gunzip(data):
    """Every gzip member from the start of data, as far as each decodes."""
    out = b""
    while data[:3] == GZIP_MAGIC and len(out) < OUTPUT_LIMIT:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out += feed_zlib(d, data)
        if not d.eof:
            break
        data = d.unused_data
    return out


def feed_zlib(d, data, piece=1024):
    out = b""
    for i in range(0, len(data), piece):
        try:
            out += d.decompress(data[i : i + piece], OUTPUT_LIMIT - len(out))
        except zlib.error:
            break
        if d.eof or len(out) >= OUTPUT_LIMIT:
            break
    return out


def inflate(data):
    """zlib-wrapped deflate (what HTTP calls deflate)."""
    return feed_zlib(zlib.decompressobj(zlib.MAX_WBITS), data)


def inflate_raw(data):
    """Raw deflate (what some servers send as deflate)."""
    return feed_zlib(zlib.decompressobj(-zlib.MAX_WBITS), data)


def unbrotli(data):
    """Brotli has no magic bytes: fed byte by byte at first, so that what
    decoded before an error (or before trailing bytes) is kept."""
    d, out = brotli.Decompressor(), b""
    pos = 0
    while pos < len(data) and len(out) < OUTPUT_LIMIT:
        step = 1 if pos < 65536 else 16384
        try:
            out += d.process(data[pos : pos + step])
        except brotli.error:
            break
        pos += step
        if getattr(d, "is_finished", lambda: False)():
            break
    return out


def unzstd(data):
    out = b""
    while data[:4] == ZSTD_MAGIC and len(out) < OUTPUT_LIMIT:
        d = zstandard.ZstdDecompressor().decompressobj()
        for i in range(0, len(data), 1024):
            try:
                out += d.decompress(data[i : i + 1024])
            except zstandard.ZstdError:
                return out
            if d.eof or len(out) >= OUTPUT_LIMIT:
                break
        if not d.eof:
            break
        data = d.unused_data
    return out


DECLARED = {
    "gzip": gunzip,
    "x-gzip": gunzip,
    "deflate": lambda b: inflate(b) or inflate_raw(b),
    "br": unbrotli,
    "zstd": unzstd,
    "identity": lambda b: b,
}


def header_values(head, name):
    """Every value of header `name` in a head, loosely (LF or CRLF, spaces
    or controls around the name, any case)."""
    values = []
    for line in re.split(rb"\r?\n", head)[1:]:
        k, sep, v = line.partition(b":")
        if sep and k.strip(b" \t\x00-\x1f\x7f").lower() == name:
            values.append(v.strip())
    return values


def codings(values):
    return [t.strip().lower().decode("latin-1") for v in values for t in v.split(b",") if t.strip()]


def dechunk(data):
    """Chunked framing removed up to the first broken chunk (kept as far as
    it goes)."""
    out, pos = b"", 0
    while pos < len(data):
        m = re.match(rb"[ \t]*([0-9A-Fa-f]+)[^\r\n]*\r?\n", data[pos:])
        if not m:
            break
        n = int(m.group(1), 16)
        pos += m.end()
        if n == 0:
            break
        out += data[pos : pos + n]
        pos += n
        m = re.match(rb"\r?\n", data[pos:])
        pos += m.end() if m else 0
    return out


def declared_decode(body, names):
    """The body decoded as the codings say (last applied first), keeping
    each stage; an unknown coding ends it."""
    stages = []
    for name in reversed(names):
        fn = DECLARED.get(name)
        if fn is None:
            break
        body = fn(body)
        stages.append((name, body))
    return stages


class Finder:
    def __init__(self, pattern):
        self.pattern = re.compile(pattern.encode())
        self.found = {}
        self.seen = set()

    def search(self, data, where, how):
        for m in self.pattern.finditer(data):
            key = (m.group(0), where)
            self.found.setdefault(key, how)

    def explore(self, data, where, how, depth=0):
        """Search data, then everything it decodes to."""
        digest = hashlib.sha256(data).digest()
        if digest in self.seen or not data:
            return
        self.seen.add(digest)
        self.search(data, where, how)
        if depth >= MAX_DEPTH:
            return
        tries = [(0, "br", unbrotli), (0, "deflate-raw", inflate_raw)]
        tries += [(m.start(), "gzip", gunzip) for m in re.finditer(re.escape(GZIP_MAGIC), data)]
        tries += [(m.start(), "zstd", unzstd) for m in re.finditer(re.escape(ZSTD_MAGIC), data)]
        tries += [(m.start(), "zlib", inflate) for m in ZLIB_HEADERS.finditer(data)]
        for at, name, fn in tries:
            out = fn(data[at:])
            if out:
                self.explore(out, where, f"{how} > {name}@{at}", depth + 1)

    def stream(self, data, where):
        """One connection's bytes: raw, then every loosely parsed body."""
        self.explore(data, where, "raw")
        start = 0
        for m in HEAD_END.finditer(data):
            head, rest = data[start : m.start()], data[m.end() :]
            start = m.end()
            self.body(head, rest, where, f"body@{m.end()}")

    def body(self, head, rest, where, how):
        candidates = [(how, rest)]
        lengths = [v for v in header_values(head, b"content-length") if v.isdigit()]
        for v in lengths:
            candidates.append((f"{how} length {int(v)}", rest[: int(v)]))
        if any(b"chunked" in v.lower() for v in header_values(head, b"transfer-encoding")):
            candidates.append((f"{how} dechunked", dechunk(rest)))
        names = codings(header_values(head, b"content-encoding"))
        for label, body in candidates:
            self.explore(body, where, label)
            for name, decoded in declared_decode(body, names):
                label = f"{label} > {name}"
                self.explore(decoded, where, label)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--capture", action="append", default=[], help="a remote_misp.py --capture directory")
    ap.add_argument("--record", action="append", default=[], help="a remote_misp.py --record file")
    ap.add_argument("--pattern", default=r"BLOCKED-[0-9]+")
    a = ap.parse_args()
    finder = Finder(a.pattern)
    connections = total = records = 0
    for directory in a.capture:
        for name in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
            if not name.endswith(".bin"):
                continue
            with open(os.path.join(directory, name), "rb") as f:
                data = f.read()
            connections += 1
            total += len(data)
            finder.stream(data, f"{directory}/{name}")
    for path in a.record:
        lines = open(path).read().splitlines() if os.path.exists(path) else []
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            r = json.loads(line)
            records += 1
            body = base64.b64decode(r.get("body_b64") or "")
            head = b"\r\n".join(
                [f"{r.get('method')} {r.get('path')} HTTP/1.1".encode("latin-1", "replace")]
                + [f"{k}: {v}".encode("latin-1", "replace") for k, v in r.get("headers") or []]
            )
            finder.body(head, body, f"{path}:{i + 1}", "record body")
    found = [{"marker": m.decode("latin-1"), "where": w, "how": h} for (m, w), h in sorted(finder.found.items())]
    json.dump({"connections": connections, "bytes": total, "records": records, "found": found}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
