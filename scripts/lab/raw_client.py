#!/usr/bin/env python3
"""Sends hand-made bytes over TLS and reports what came back (lab tests).

    raw_client.py CA.pem CASES.json

CASES.json is a list of {"ip", "port", "sni" (null: no SNI), "data_b64"}.
Each case gets a connection of its own: the bytes are sent as they are (one
write), then everything the server answers is read until it closes, resets,
or is silent for 3 s. Prints one JSON list, per case:

    {"responses": [{"status", "reason", "headers": [[k, v], ...],
                    "body_b64", "complete"}, ...],
     "trailing_b64": bytes after the last response that are none,
     "received": how many bytes came back in all,
     "end": "closed" | "reset" | "silent" | "tls" (the handshake failed) |
            "connect" (no connection) | "send" (the bytes could not be sent),
     "error": str | null}

Whatever was read before a reset or an error is kept and parsed: a reset
after an answer does not hide the answer. Responses are parsed in order: a
1xx has no body, a response to HEAD (the request's first bytes are "HEAD ")
has none either, else Content-Length, chunked, or up to the end. "complete"
is false when the body ended early.

The server certificate must chain to CA.pem; its name is not checked (a
leaf minted for an address or for a name other than the one dialled is part
of what the cases probe).
"""

import base64
import json
import re
import socket
import ssl
import sys

STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3})(?: ([^\r\n]*))?\r?\n")


def parse_responses(data, head_request):
    """The responses in data, and the bytes after the last one."""
    responses, pos = [], 0
    while pos < len(data):
        m = STATUS_LINE.match(data, pos)
        if not m:
            break
        end = data.find(b"\r\n\r\n", m.end() - 2)
        if end < 0:
            break
        status = int(m.group(1))
        headers = []
        for line in data[m.end() : end].split(b"\r\n"):
            if not line:
                continue
            k, _, v = line.partition(b":")
            headers.append([k.decode("latin-1").strip(), v.decode("latin-1").strip()])
        pos = end + 4
        lower = {k.lower(): v for k, v in headers}
        body, complete = b"", True
        if 100 <= status < 200 or status in (204, 304) or (head_request and not responses_final(responses)):
            pass
        elif "chunked" in lower.get("transfer-encoding", "").lower():
            body, pos, complete = dechunk(data, pos)
        elif "content-length" in lower and lower["content-length"].isdigit():
            n = int(lower["content-length"])
            body = data[pos : pos + n]
            complete = len(body) == n
            pos += len(body)
        else:
            body, pos = data[pos:], len(data)
        responses.append(
            {
                "status": status,
                "reason": (m.group(2) or b"").decode("latin-1"),
                "headers": headers,
                "body_b64": base64.b64encode(body).decode(),
                "complete": complete,
            }
        )
    return responses, data[pos:]


def responses_final(responses):
    """Whether a final (non-1xx) response was parsed already: only the
    first request of a case can be a HEAD."""
    return any(r["status"] >= 200 for r in responses)


def dechunk(data, pos):
    out = b""
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return out, len(data), False
        try:
            n = int(data[pos:eol].split(b";")[0].strip(), 16)
        except ValueError:
            return out, pos, False
        pos = eol + 2
        if n == 0:
            end = data.find(b"\r\n\r\n", pos - 2)
            return out, (end + 4 if end >= 0 else len(data)), end >= 0
        out += data[pos : pos + n]
        if pos + n + 2 > len(data):
            return out, len(data), False
        pos += n + 2


def run(ca, case):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False
    ctx.set_alpn_protocols(["http/1.1"])
    data = base64.b64decode(case["data_b64"])
    got, end, error = b"", None, None
    try:
        raw = socket.create_connection((case["ip"], case["port"]), timeout=10)
    except OSError as e:
        raw, end, error = None, "connect", f"{type(e).__name__}: {e}"
    s = None
    if raw is not None:
        try:
            s = ctx.wrap_socket(raw, server_hostname=case["sni"])
        except (OSError, ssl.SSLError) as e:
            end, error = "tls", f"{type(e).__name__}: {e}"
            raw.close()
    if s is not None:
        try:
            s.sendall(data)
        except (OSError, ssl.SSLError) as e:
            # The server may have answered and closed before taking it all:
            # read what it said all the same.
            end, error = "send", f"{type(e).__name__}: {e}"
        s.settimeout(3)
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                end = end or "silent"
                break
            except (ConnectionResetError, BrokenPipeError) as e:
                end, error = end or "reset", error or f"{type(e).__name__}: {e}"
                break
            except (OSError, ssl.SSLError) as e:
                # An SSL error after the handshake: the stream ended uncleanly.
                end, error = end or "reset", error or f"{type(e).__name__}: {e}"
                break
            if not b:
                end = end or "closed"
                break
            got += b
        s.close()
    responses, trailing = parse_responses(got, data.startswith(b"HEAD "))
    return {
        "responses": responses,
        "trailing_b64": base64.b64encode(trailing).decode(),
        "received": len(got),
        "end": end,
        "error": error,
    }


def main():
    ca, cases = sys.argv[1], json.load(open(sys.argv[2]))
    print(json.dumps([run(ca, c) for c in cases]))


if __name__ == "__main__":
    main()
