#!/usr/bin/env python3
"""A fake remote MISP for the namespace lab (Python stdlib only).

Records every request it receives, one JSON line each, in the --record file:
    {"method", "path", "headers": [[k, v], ...], "body_b64", "body_sha256",
     "peer", "peer_port", "tls": {"sni", "alpn", "version"} | null,
     "error": null | why it could not be parsed}
A request it cannot parse (request line, headers, framing) is recorded too,
before the 400 goes out, with what was read of it and "error" set.

With --capture DIR, it also keeps every byte it receives, parsed or not, per
connection: DIR/NNNNNN.json ({"peer", "peer_port", "tls"}, written when the
connection opens) and DIR/NNNNNN.bin (the bytes as they were read from the
socket, after TLS, appended as they come). When it stops reading a
connection (an error, `Connection: close`), it drains what the peer still
sends (until EOF, or 0.25 s of silence) into the capture before it closes.

It answers well enough for MISP's server sync and PyMISP: canned responses
from the --routes file (re-read on every request; a JSON list of {"method",
"path", "status", "headers", "body_b64", optional "when_headers": {name:
value} that the request must carry too, optional "delay_ms"}, the first
match wins), else the defaults below.

    remote_misp.py --listen 203.0.113.20:443 --listen [2001:db8:2::20]:443 \
        --cert partner.pem --key partner.key --record rec.jsonl --ready ready \
        --capture conns/
"""

import argparse
import base64
import hashlib
import http.server
import io
import itertools
import json
import os
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time

VERSION = {
    "version": "2.5.21",
    "pymisp_recommended_version": "2.5.21",
    "perm_sync": True,
    "perm_sighting": True,
    "perm_galaxy_editor": True,
    "perm_analyst_data": True,
    "request_encoding": ["gzip", "br"],
    "filter_sightings": True,
}

# Enough of /users/view/me for PyMISP's constructor (MISPUser, MISPRole).
ME = {
    "User": {
        "id": "1",
        "org_id": "1",
        "email": "sync@partner.example",
        "autoalert": False,
        "authkey": None,
        "invited_by": "0",
        "gpgkey": None,
        "certif_public": "",
        "nids_sid": "4000000",
        "termsaccepted": True,
        "newsread": "0",
        "role_id": "5",
        "change_pw": False,
        "contactalert": False,
        "disabled": False,
        "expiration": None,
        "current_login": "0",
        "last_login": "0",
        "force_logout": False,
        "date_created": None,
        "date_modified": "0",
        "last_pw_change": "0",
    },
    "Role": {
        "id": "5",
        "name": "Sync user",
        "perm_add": True,
        "perm_modify": True,
        "perm_modify_org": True,
        "perm_publish": True,
        "perm_delegate": True,
        "perm_sync": True,
        "perm_admin": False,
        "perm_audit": False,
        "perm_auth": True,
        "perm_site_admin": False,
        "perm_regexp_access": False,
        "perm_tagger": True,
        "perm_template": False,
        "perm_sharing_group": True,
        "perm_tag_editor": True,
        "perm_sighting": True,
        "perm_object_template": False,
        "perm_galaxy_editor": True,
        "perm_analyst_data": True,
        "default_role": False,
        "memory_limit": "",
        "max_execution_time": "",
        "restricted_to_site_admin": False,
        "perm_publish_zmq": False,
        "perm_publish_kafka": False,
        "perm_decaying": False,
        "enforce_rate_limit": False,
        "rate_limit_count": "0",
        "permission": "3",
        "permission_description": "publish",
    },
    "UserSetting": [],
    "Organisation": {
        "id": "1",
        "name": "Partner CERT",
        "uuid": "5f6a7b8c-1d2e-4f3a-9b8c-7d6e5f4a3b2c",
        "local": True,
    },
}

RECORD_LOCK = threading.Lock()
CONNECTION_IDS = itertools.count(1)

# The drain after the handler stops reading: silence that ends it, and bounds.
DRAIN_SILENCE = 0.25
DRAIN_MAX_SECONDS = 3
DRAIN_MAX_BYTES = 256 << 20


class CapturingIO(socket.SocketIO):
    """The socket's reading side, appending every byte it reads to `sink`
    (a file opened unbuffered) before anything parses it."""

    def __init__(self, sock, sink):
        super().__init__(sock, "rb")
        sock._io_refs += 1  # as socket.makefile does; SocketIO.close undoes it
        self.sink = sink

    def readinto(self, b):
        n = super().readinto(b)
        if n:
            self.sink.write(bytes(memoryview(b)[:n]))
        return n


class BadRequest(Exception):
    pass


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    timeout = 60  # an idle keep-alive connection ends after this
    server_version = "fake-misp/1"

    # http.server writes the head and the body separately; without this,
    # Nagle holds the body until the client's delayed ACK (40 ms a request).
    disable_nagle_algorithm = True

    def setup(self):
        self.capture = None
        self.recorded = False
        super().setup()  # sets the socket timeout
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()  # deferred from accept(), see main()
        directory = self.server.lab.capture
        if directory:
            n = next(CONNECTION_IDS)
            meta = {"peer": self.client_address[0], "peer_port": self.client_address[1], "tls": self.tls_info()}
            with open(os.path.join(directory, f"{n:06}.json"), "w") as f:
                json.dump(meta, f)
            self.capture = open(os.path.join(directory, f"{n:06}.bin"), "ab", buffering=0)
            # Replaces the reader StreamRequestHandler made: every byte read
            # from here on passes through the capture first.
            self.rfile.close()
            self.rfile = io.BufferedReader(CapturingIO(self.connection, self.capture))

    def finish(self):
        try:
            if self.capture:
                self.drain()
        finally:
            try:
                super().finish()
            finally:
                if self.capture:
                    self.capture.close()

    def drain(self):
        """Whatever the peer sent that the handler did not read (what the
        reader buffered is in the capture already): the socket until EOF,
        a short silence, or the bounds."""
        try:
            self.connection.settimeout(DRAIN_SILENCE)
            deadline, total = time.monotonic() + DRAIN_MAX_SECONDS, 0
            while time.monotonic() < deadline and total < DRAIN_MAX_BYTES:
                b = self.connection.recv(65536)
                if not b:
                    break
                self.capture.write(b)
                total += len(b)
        except (OSError, ValueError):
            pass  # a timeout, a reset, an unclean TLS end: done

    def __getattr__(self, name):
        # Every method (GET, POST, HEAD, PUT, DELETE, anything) goes to one place.
        if name.startswith("do_"):
            return self.handle_any
        raise AttributeError(name)

    def log_message(self, fmt, *args):
        sys.stderr.write(f"remote_misp: {self.client_address[0]} {fmt % args}\n")

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if te:
            if te.strip().lower() != "chunked":
                raise BadRequest("unsupported Transfer-Encoding")
            return self.read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not length.strip().isdigit():
            raise BadRequest("bad Content-Length")
        body = self.rfile.read(int(length))
        if len(body) != int(length):
            self.partial_body = body
            raise BadRequest("short body")
        return body

    def read_chunked(self):
        chunks = []
        while True:
            line = self.rfile.readline(65537)
            size = line.split(b";", 1)[0].strip()
            try:
                n = int(size, 16)
            except ValueError:
                self.partial_body = b"".join(chunks)
                raise BadRequest("bad chunk size")
            if n == 0:
                break
            chunk = self.rfile.read(n)
            chunks.append(chunk)
            if len(chunk) != n or self.rfile.read(2) != b"\r\n":
                self.partial_body = b"".join(chunks)
                raise BadRequest("bad chunk")
        while True:  # trailers, up to the empty line
            line = self.rfile.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
        return b"".join(chunks)

    def tls_info(self):
        conn = self.connection
        if not isinstance(conn, ssl.SSLSocket):
            return None
        return {
            "sni": getattr(conn, "lab_sni", None),
            "alpn": conn.selected_alpn_protocol(),
            "version": conn.version(),
        }

    def record(self, body, error=None):
        self.recorded = True
        headers = getattr(self, "headers", None)
        line = json.dumps(
            {
                "method": getattr(self, "command", None),
                "path": getattr(self, "path", None),
                "headers": [[k, v] for k, v in headers.items()] if headers else [],
                "body_b64": base64.b64encode(body).decode(),
                "body_sha256": hashlib.sha256(body).hexdigest(),
                "peer": self.client_address[0],
                "peer_port": self.client_address[1],
                "tls": self.tls_info(),
                "error": error,
            }
        )
        with RECORD_LOCK, open(self.server.lab.record, "a") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())

    def route_matches(self, r):
        """A route matches on method and exact path, and on every header of
        its optional "when_headers" ({name: value}, names without case,
        values exactly): one path can answer different requests apart."""
        if r.get("method") != self.command or r.get("path") != self.path:
            return False
        return all(self.headers.get(k) == v for k, v in r.get("when_headers", {}).items())

    def route(self, body):
        """(status, extra headers, body) for this request."""
        for r in self.server.lab.routes():
            if self.route_matches(r):
                # "delay_ms": a slow remote, for drain and timeout tests.
                time.sleep(min(int(r.get("delay_ms", 0)), 30000) / 1000)
                return (
                    int(r.get("status", 200)),
                    dict(r.get("headers", {})),
                    base64.b64decode(r.get("body_b64", "")),
                )
        m, p = self.command, self.path
        if m == "HEAD":
            return 404, {}, b""
        if m == "GET" and p == "/servers/getVersion":
            return 200, {}, json.dumps(VERSION).encode()
        if m == "GET" and p in ("/users/view/me", "/users/view/me.json"):
            return 200, {}, json.dumps(ME).encode()
        if m == "POST" and (p.startswith("/events/add") or p.startswith("/events/edit/")):
            # MISP answers a push with the event it saved: the body echoed,
            # in the coding it came in.
            coding = self.headers.get("Content-Encoding")
            if coding:
                return 200, {"Content-Encoding": coding}, body
            try:
                event = json.loads(body)
            except ValueError:
                return 200, {}, body
            if isinstance(event, dict) and "Event" not in event:
                event = {"Event": event}  # a bare event (PyMISP) comes back wrapped
            return 200, {}, json.dumps(event).encode()
        ok = {"saved": True, "success": True, "name": "ok", "message": "ok", "url": p}
        return 200, {}, json.dumps(ok).encode()

    def send_error(self, code, message=None, explain=None):
        # Every error the remote answers itself (a request line or headers
        # http.server cannot parse, bad framing) is a request it received:
        # recorded before the answer, with what was read of it.
        if not self.recorded:
            self.record(getattr(self, "partial_body", b""), error=f"{code} {message or ''}".strip())
        super().send_error(code, message, explain)

    def handle_one_request(self):
        # Nothing of the previous request on this connection may stand in
        # for this one's when it fails to parse.
        self.recorded = False
        self.partial_body = b""
        self.command = self.path = self.headers = None
        super().handle_one_request()

    def handle_any(self):
        try:
            body = self.read_body()
        except BadRequest as e:
            self.close_connection = True
            self.send_error(400, str(e))
            return
        self.record(body)
        status, headers, payload = self.route(body)
        self.send_response(status)
        names = {k.lower() for k in headers}
        if "content-type" not in names:
            self.send_header("Content-Type", "application/json")
        for k, v in headers.items():
            if k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


class Lab:
    """What every listener shares: the record and routes files, the capture
    directory."""

    def __init__(self, record, routes, capture):
        self.record = record
        self.routes_file = routes
        self.capture = capture

    def routes(self):
        if not self.routes_file or not os.path.exists(self.routes_file):
            return []
        with open(self.routes_file) as f:
            return json.load(f)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self):
        # HTTPServer.server_bind would reverse-resolve the address (DNS, slow).
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        # One line instead of a traceback (TLS handshake failures, resets, timeouts).
        sys.stderr.write(f"remote_misp: {client_address[0]}: {sys.exc_info()[1]!r}\n")


class Server6(Server):
    address_family = socket.AF_INET6


def parse_listen(s):
    host, _, port = s.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        return Server6, host[1:-1], int(port)
    return Server, host, int(port)


def tls_context(cert, key, client_ca):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    if client_ca:
        # Like a MISP behind a web server that demands client certificates.
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)
    ctx.set_alpn_protocols(["http/1.1"])

    def remember_sni(sock, name, _ctx):
        sock.lab_sni = name  # read back by Handler.tls_info

    ctx.sni_callback = remember_sni
    return ctx


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", action="append", required=True, help="ADDR:PORT, [V6]:PORT; repeatable")
    ap.add_argument("--cert", help="server certificate (PEM); with --key, serve TLS")
    ap.add_argument("--key", help="server key (PEM)")
    ap.add_argument("--record", required=True, help="append one JSON line per request here")
    ap.add_argument("--routes", help="JSON list of canned responses, re-read on every request")
    ap.add_argument("--ready", help="touch this file once every socket listens")
    ap.add_argument("--client-ca", help="require a client certificate issued by this CA (PEM)")
    ap.add_argument("--capture", help="keep every byte received, per connection, in this directory")
    a = ap.parse_args()
    if bool(a.cert) != bool(a.key):
        ap.error("--cert and --key go together")

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    if a.capture:
        os.makedirs(a.capture, exist_ok=True)
    lab = Lab(a.record, a.routes, a.capture)
    ctx = tls_context(a.cert, a.key, a.client_ca) if a.cert else None
    servers = []
    for spec in a.listen:
        cls, host, port = parse_listen(spec)
        srv = cls((host, port), Handler)
        srv.lab = lab
        if ctx:
            # The handshake happens on first read, in the connection's own thread,
            # so a stalled client never blocks accept().
            srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
        servers.append(srv)
    open(a.record, "a").close()
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    if a.ready:
        open(a.ready, "w").close()
    threading.Event().wait()


if __name__ == "__main__":
    main()
