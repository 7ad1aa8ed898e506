#!/usr/bin/env python3
"""Sends hand-made bytes over TLS and reports what came back (lab tests).

    raw_client.py CA.pem CASES.json

CASES.json is a list of {"ip", "port", "sni" (null: no SNI), "data_b64"}.
Each case gets a connection of its own: the bytes are sent as they are (one
write), then everything the server answers is read until it closes or is
silent for 3 s. Prints one JSON list: per case {"statuses": [int, ...] (the
status of every response, in order), "closed": bool, "error": str | null}.

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

STATUS = re.compile(rb"HTTP/1\.[01] (\d{3}) ")


def run(ca, case):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False
    ctx.set_alpn_protocols(["http/1.1"])
    out = {"statuses": [], "closed": False, "error": None}
    try:
        raw = socket.create_connection((case["ip"], case["port"]), timeout=10)
        s = ctx.wrap_socket(raw, server_hostname=case["sni"])
        s.sendall(base64.b64decode(case["data_b64"]))
        s.settimeout(3)
        got = b""
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                out["closed"] = True
                break
            got += b
        # Every status line, wherever it starts: a response body need not
        # end in a newline (the bodies here are JSON, which never holds one).
        out["statuses"] = [int(m.group(1)) for m in STATUS.finditer(got)]
        s.close()
    except (OSError, ssl.SSLError) as e:
        out["error"] = f"{type(e).__name__}: {e}"
        out["closed"] = True
    return out


def main():
    ca, cases = sys.argv[1], json.load(open(sys.argv[2]))
    print(json.dumps([run(ca, c) for c in cases]))


if __name__ == "__main__":
    main()
