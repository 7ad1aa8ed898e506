#!/usr/bin/env python3
"""A fake remote MISP for the namespace lab (Python stdlib only).

Records every request it receives, one JSON line each, in the --record file:
    {"method", "path", "headers": [[k, v], ...], "body_b64", "body_sha256",
     "peer", "peer_port", "tls": {"sni", "alpn", "version"} | null}
and answers well enough for MISP's server sync and PyMISP: canned responses
from the --routes file (re-read on every request), else the defaults below.

    remote_misp.py --listen 203.0.113.20:443 --listen [2001:db8:2::20]:443 \
        --cert partner.pem --key partner.key --record rec.jsonl --ready ready
"""

import argparse
import base64
import hashlib
import http.server
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
        super().setup()  # sets the socket timeout
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()  # deferred from accept(), see main()

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
                raise BadRequest("bad chunk size")
            if n == 0:
                break
            chunk = self.rfile.read(n)
            if len(chunk) != n or self.rfile.read(2) != b"\r\n":
                raise BadRequest("bad chunk")
            chunks.append(chunk)
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

    def record(self, body):
        line = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "headers": [[k, v] for k, v in self.headers.items()],
                "body_b64": base64.b64encode(body).decode(),
                "body_sha256": hashlib.sha256(body).hexdigest(),
                "peer": self.client_address[0],
                "peer_port": self.client_address[1],
                "tls": self.tls_info(),
            }
        )
        with RECORD_LOCK, open(self.server.lab.record, "a") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())

    def route(self, body):
        """(status, extra headers, body) for this request."""
        for r in self.server.lab.routes():
            if r.get("method") == self.command and r.get("path") == self.path:
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
        if m == "POST" and p.startswith("/events/add"):
            return 200, {}, body  # echo the event, as MISP answers with the saved event
        ok = {"saved": True, "success": True, "name": "ok", "message": "ok", "url": p}
        return 200, {}, json.dumps(ok).encode()

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
    """What every listener shares: the record and routes files."""

    def __init__(self, record, routes):
        self.record = record
        self.routes_file = routes

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
    a = ap.parse_args()
    if bool(a.cert) != bool(a.key):
        ap.error("--cert and --key go together")

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    lab = Lab(a.record, a.routes)
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
