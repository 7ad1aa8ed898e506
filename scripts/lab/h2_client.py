#!/usr/bin/env python3
"""HTTP/2 at the frame level, for the bypass corpus (lab tests).

    h2_client.py CA.pem streams ALLOWED.json BLOCKED.json
        three POST streams on one connection — allowed, blocked, allowed —
        their DATA frames interleaved; prints {"statuses": [s1, s2, s3],
        "streams": [{"status", "content_type", "body_b64"}, ...]}
    h2_client.py CA.pem continuation-flood
        a HEADERS frame without END_HEADERS followed by up to 2000
        CONTINUATION frames of 16 KiB; prints what stopped it
    h2_client.py CA.pem reset-mid-body BLOCKED.json
        a push whose body stops halfway with RST_STREAM, then a GET on the
        same connection; prints {"after_reset": status or null}

Target: misp.partner.example (203.0.113.20:443); the certificate must chain
to CA.pem. Every wait is bounded.
"""

import base64
import json
import socket
import ssl
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions

HOST = "misp.partner.example"
PUSH = "/events/add/metadata:1"


def connect(ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.set_alpn_protocols(["h2"])
    s = ctx.wrap_socket(socket.create_connection(("203.0.113.20", 443), timeout=10), server_hostname=HOST)
    assert s.selected_alpn_protocol() == "h2", s.selected_alpn_protocol()
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    s.sendall(conn.data_to_send())
    return s, conn


def headers(method, path, length=None):
    h = [(":method", method), (":path", path), (":scheme", "https"), (":authority", HOST)]
    if length is not None:
        h += [("content-type", "application/json"), ("content-length", str(length))]
    return h


def pump(s, conn, until, limit=15):
    """Reads events until until(events_so_far) or the connection ends."""
    events, deadline = [], time.time() + limit
    s.settimeout(1)
    while time.time() < deadline and not until(events):
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            events.append("closed")
            break
        if not data:
            events.append("closed")
            break
        try:
            events += conn.receive_data(data)
        except h2.exceptions.ProtocolError as e:
            events.append(f"protocol error: {e}")
            break
        out = conn.data_to_send()
        if out:
            s.sendall(out)
    return events


def header_of(events, stream, name):
    for e in events:
        if isinstance(e, h2.events.ResponseReceived) and e.stream_id == stream:
            return dict(e.headers).get(name)
    return None


def body_of(events, stream):
    return b"".join(e.data for e in events if isinstance(e, h2.events.DataReceived) and e.stream_id == stream)


def status_of(events, stream):
    for e in events:
        if isinstance(e, h2.events.ResponseReceived) and e.stream_id == stream:
            return int(dict(e.headers)[":status"])
    return None


def streams(ca, allowed, blocked):
    s, conn = connect(ca)
    bodies = {1: allowed, 3: blocked, 5: allowed}
    for sid, body in bodies.items():
        conn.send_headers(sid, headers("POST", PUSH, len(body)))
    # Interleave the bodies, a chunk of each in turn.
    chunk, offsets = 1024, {sid: 0 for sid in bodies}
    while any(offsets[sid] < len(b) for sid, b in bodies.items()):
        for sid, body in bodies.items():
            o = offsets[sid]
            if o < len(body):
                piece = body[o : o + chunk]
                offsets[sid] = o + len(piece)
                conn.send_data(sid, piece, end_stream=offsets[sid] == len(body))
        s.sendall(conn.data_to_send())
    ended = lambda ev: sum(isinstance(e, h2.events.StreamEnded) for e in ev) >= 3
    events = pump(s, conn, ended)
    return {
        "statuses": [status_of(events, sid) for sid in bodies],
        "streams": [
            {
                "status": status_of(events, sid),
                "content_type": header_of(events, sid, "content-type"),
                "body_b64": base64.b64encode(body_of(events, sid)).decode(),
            }
            for sid in bodies
        ],
    }


def continuation_flood(ca):
    s, conn = connect(ca)
    # The server's preface first, so that what comes later is its answer.
    pump(s, conn, lambda ev: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in ev), limit=5)
    # A valid HEADERS frame (no END_HEADERS flag) for stream 1, by hand.
    block = conn.encoder.encode(headers("GET", "/servers/getVersion"))
    frame = lambda kind, flags, payload: len(payload).to_bytes(3, "big") + bytes([kind, flags]) + (1).to_bytes(4, "big") + payload
    s.sendall(frame(0x1, 0x0, block))
    junk = conn.encoder.encode([("x-flood", "a" * 16000)])
    sent, stopped, pending = 0, None, b""
    start = time.time()
    s.settimeout(0.05)
    while sent < 2000 and stopped is None:
        try:
            s.sendall(frame(0x9, 0x0, junk))
            sent += 1
        except OSError as e:
            stopped = f"send failed: {type(e).__name__}"
            break
        try:
            data = s.recv(65536)
            if not data:
                stopped = "closed"
                break
            pending += data
        except socket.timeout:
            pass
        except OSError as e:
            stopped = f"recv failed: {type(e).__name__}"
            break
        # Whole frames received so far: GOAWAY (7) or RST_STREAM (3) ends it.
        while len(pending) >= 9:
            length = int.from_bytes(pending[:3], "big")
            if len(pending) < 9 + length:
                break
            kind = pending[3]
            pending = pending[9 + length :]
            if kind == 0x7:
                stopped = "GOAWAY"
            elif kind == 0x3:
                stopped = "RST_STREAM"
    return {"continuations_sent": sent, "stopped": stopped, "seconds": round(time.time() - start, 2)}


def reset_mid_body(ca, blocked):
    s, conn = connect(ca)
    conn.send_headers(1, headers("POST", PUSH, len(blocked)))
    conn.send_data(1, blocked[: len(blocked) // 2])
    s.sendall(conn.data_to_send())
    time.sleep(0.3)
    conn.reset_stream(1)
    conn.send_headers(3, headers("GET", "/servers/getVersion"), end_stream=True)
    s.sendall(conn.data_to_send())
    ended = lambda ev: any(isinstance(e, h2.events.StreamEnded) and e.stream_id == 3 for e in ev)
    events = pump(s, conn, ended)
    return {"after_reset": status_of(events, 3)}


def main():
    ca, action = sys.argv[1], sys.argv[2]
    read = lambda p: open(p, "rb").read()
    if action == "streams":
        out = streams(ca, read(sys.argv[3]), read(sys.argv[4]))
    elif action == "continuation-flood":
        out = continuation_flood(ca)
    elif action == "reset-mid-body":
        out = reset_mid_body(ca, read(sys.argv[3]))
    else:
        sys.exit(f"unknown action {action}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
