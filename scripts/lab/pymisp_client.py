#!/usr/bin/env python3
"""PyMISP as a real client in the namespace lab; prints one JSON line.

    pymisp_client.py --url https://misp.partner.example --ca CA.pem --event EVENT.json add
    pymisp_client.py --url https://misp.partner.example --ca CA.pem get UUID
    pymisp_client.py ... --proxy http://192.0.2.1:3128 get UUID   (through a CONNECT proxy)

`add` loads the file into a MISPEvent (which needs what MISP needs, e.g. an
object_relation on object attributes); `add --raw` posts the file's JSON as is.

Output: {"ok": bool, "status": last HTTP status or null, "errors": ... or null,
         "uuid": event UUID or null, "requests": [[method, path, status], ...]}

PyMISP 2.5's constructor itself calls, in this order:
  GET /servers/getVersion         (getPyMISPVersion.json only when the answer
                                   lacks "pymisp_recommended_version")
  GET /users/view/me              must answer {"User", "Role", "UserSetting"}
  GET /attributes/describeTypes.json   any failure (a guard's 403 included)
                                   falls back to PyMISP's bundled copy
"""

import argparse
import json
import logging
import sys
import urllib.parse

import requests

# Every HTTP exchange, the constructor's included, in order.
EXCHANGES = []
_send = requests.Session.send


def _recording_send(self, request, **kwargs):
    response = _send(self, request, **kwargs)
    path = urllib.parse.urlsplit(request.url).path
    EXCHANGES.append([request.method, path, response.status_code])
    return response


requests.Session.send = _recording_send

# Imported after the hook so that nothing PyMISP sends escapes it.
from pymisp import MISPEvent, PyMISP


def event_uuid(r):
    # MISP answers {"Event": {...}}; PyMISP itself posts the bare event object.
    if isinstance(r, dict) and isinstance(r.get("Event"), dict):
        r = r["Event"]
    return r.get("uuid") if isinstance(r, dict) else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--ca", required=True, help="CA bundle that verifies the server")
    ap.add_argument("--key", default="lab0" * 10, help="API key (40 chars; nobody checks it)")
    ap.add_argument("--event", help='event JSON file ({"Event": ...}) for add')
    ap.add_argument(
        "--raw", action="store_true", help="add: post the file's JSON as is (a dict), not re-serialised by MISPEvent"
    )
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--proxy", help="an HTTP proxy for https (PyMISP's proxies=), e.g. http://192.0.2.1:3128")
    ap.add_argument("action", choices=["add", "get"])
    ap.add_argument("uuid", nargs="?", help="event UUID for get")
    a = ap.parse_args()
    if a.action == "add" and not a.event:
        ap.error("add needs --event")
    if a.action == "get" and not a.uuid:
        ap.error("get needs a UUID")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    out = {"ok": False, "status": None, "errors": None, "uuid": None}
    try:
        proxies = {"https": a.proxy, "http": a.proxy} if a.proxy else None
        misp = PyMISP(a.url, a.key, ssl=a.ca, timeout=a.timeout, proxies=proxies)
        if a.action == "add" and a.raw:
            with open(a.event) as f:
                r = misp.add_event(json.load(f))  # PyMISP json.dumps()es a dict as it is
        elif a.action == "add":
            event = MISPEvent()
            event.load_file(a.event)  # PyMISP validates and re-serialises the event
            r = misp.add_event(event)
        else:
            r = misp.get_event(a.uuid)
        if isinstance(r, dict) and "errors" in r:
            out["errors"] = r["errors"]
        else:
            out["ok"] = True
            out["uuid"] = event_uuid(r)
    except Exception as e:  # noqa: BLE001  PyMISPError, requests' SSLError/ConnectionError, ...
        out["errors"] = f"{type(e).__name__}: {e}"
    out["status"] = EXCHANGES[-1][2] if EXCHANGES else None
    out["requests"] = EXCHANGES
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
