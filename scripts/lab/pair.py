#!/usr/bin/env python3
"""Failover scenarios on a misp-warden pair (scripts/pair.sh), and their figures.

    pair.py run SCENARIO [--name NAME] [--dir DIR] [--keep]
        one scenario; prints what it saw as one JSON object
    pair.py bench [--runs N] [--faults kill,term,links,remove] [--markdown]
        N failovers per fault; prints min/median/max of each (a program
        that measures, not a test); exit 1 if any run let something through

Scenarios (box a is active at the start, b passive):

    kill, term, links, remove   the fault on box a while MISP pushes allowed
                                and blocked events in a loop: its daemon
                                SIGKILLed or SIGTERMed, its two interfaces
                                downed, its namespace removed with every
                                process in it
    failback                    kill a's daemon (b takes over), start it
                                again (nopreempt: b stays active), SIGTERM
                                b's daemon (a takes over again)
    passive-restart             remove box b and build it again while a
                                serves; probe b directly before and after
                                its daemon starts
    drift                       both boxes' config and CA fingerprints from
                                /metrics, then after b's config changes,
                                then after b restarts with another CA

Root only; MISP_WARDEN is the binary. Run it with the repository's .venv
Python (scripts/lab/find_markers.py needs brotli and zstandard). Every
process it starts is its child, stopped by PID; the lab is removed at the
end whatever happens (`pair.sh down`), and so is DIR unless --keep.

What each failover run checks (the JSON says what it found; the test and
bench judge it):
  - no blocked byte reached the remote: find_markers.py over every byte the
    remote received, raw and decoded; no blocked push was answered 200;
  - nothing passed unguarded: every connection the remote accepted came
    from a box's own outside address (a forwarded, unguarded connection
    would show MISP's 192.0.2.10), and every allowed push that arrived has
    the audit line of the box it came through (matched by its length,
    unique per push) — but for pushes in flight on the faulted box at the
    instant of the fault that never got their answer: a killed daemon
    writes no line, and one whose links went down, or whose client gave
    up, has none to write (its line comes with the answer);
  - the time from the fault to the end of the first allowed push answered
    200 that arrived through the other box.
"""

import argparse
import base64
import ctypes
import hashlib
import json
import os
import random
import re
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pair_push  # noqa: E402  (the bodies it sends)

PAIR_SH = os.path.join(HERE, "..", "pair.sh")
PUSHER = os.path.join(HERE, "pair_push.py")
FIND_MARKERS = os.path.join(HERE, "find_markers.py")
PUSH_PATH = "/events/add/metadata:1"
BOX_OF = {"203.0.113.2": "a", "203.0.113.3": "b"}
OTHER = {"a": "b", "b": "a"}
FAULTS = {
    "kill": "daemon SIGKILL",
    "term": "daemon SIGTERM",
    "links": "interfaces down",
    "remove": "box removed",
}
AUDIT = re.compile(r'method=POST path=/events/add/metadata:1 verdict="(\w+)".* bytes_in=(\d+)')
# Probes of one box only: connections from these source ports take the
# routing table PROBE_TABLE in MISP's namespace (via the box's own address).
PROBE_PORTS = (40000, 40999)
PROBE_TABLE = "17"


def log(msg):
    print(f"pair.py: {msg}", file=sys.stderr, flush=True)


def wait_until(what, cond, timeout, every=0.05):
    """Polls cond() until it is true (returns its value) or fails after timeout s."""
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            raise RuntimeError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def subreaper():
    """Orphans of our children (keepalived's own child when its namespace is
    removed) come to us, and are reaped by reap_orphans()."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def reap_orphans(known):
    """Reaps our zombie children that no Popen owns (by PID)."""
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in known:
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields[0] == "Z" and int(fields[1]) == me:
            try:
                os.waitpid(int(entry), os.WNOHANG)
            except ChildProcessError:
                pass


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def cert_fingerprint(pem_path):
    with open(pem_path) as f:
        return sha256_hex(ssl.PEM_cert_to_DER_cert(f.read()))


class Pair:
    def __init__(self, name, directory, warden):
        self.name, self.dir, self.warden = name, directory, warden
        self.procs = {}  # (what, box) -> Popen
        self.env = dict(os.environ, MISP_WARDEN=warden)
        for var in ("http_proxy", "https_proxy", "all_proxy", "no_proxy",
                    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
            self.env.pop(var, None)
        self.probes = 0

    # -- the lab ---------------------------------------------------------

    def sh(self, *args, check=True):
        out = subprocess.run(["bash", PAIR_SH, *args], env=self.env, stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=120)
        if check and out.returncode != 0:
            raise RuntimeError(f"pair.sh {' '.join(args)}: {out.returncode}\n{out.stdout}{out.stderr}")
        return out.stdout.strip()

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def spawn(self, key, args, logfile):
        with open(logfile, "ab") as logf:
            p = subprocess.Popen(["bash", PAIR_SH, *args], env=self.env, stdin=subprocess.DEVNULL,
                                 stdout=logf, stderr=subprocess.STDOUT)
        self.procs[key] = p
        return p

    def up(self):
        """The lab, the remote, both daemons; keepalived on a (until it is
        active), then on b (until it is backup)."""
        self.sh("up", self.name, self.dir)
        remote = self.spawn(("remote", None), ["remote", self.name, self.dir], self.path("remote.log"))
        wait_until("the remote", lambda: os.path.exists(self.path("remote.ready"))
                   or self.exited(remote, "remote"), 10)
        self.start_warden("a")
        self.start_warden("b")
        self.start_keepalived("a")
        wait_until("box a active", lambda: self.active() == "a", 20)
        self.start_keepalived("b")
        wait_until("box b backup", lambda: self.states("b")["inside"] == "BACKUP"
                   and self.states("b")["outside"] == "BACKUP", 20)

    def start_warden(self, box):
        p = self.spawn(("warden", box), ["warden", self.name, self.dir, box], self.path(box, "warden.log"))
        wait_until(f"{box}'s daemon ready", lambda: self.scrape(box, "/readyz")[0] == 200
                   or self.exited(p, f"{box}'s daemon"), 10)

    def start_keepalived(self, box):
        self.spawn(("keepalived", box), ["keepalived", self.name, self.dir, box],
                   self.path(box, "keepalived.log"))

    def exited(self, p, what):
        if p.poll() is not None:
            raise RuntimeError(f"{what} exited with {p.returncode}")
        return False

    def active(self):
        return self.sh("active", self.name)

    def states(self, box):
        """The last state keepalived's log shows for each instance."""
        st = {"inside": None, "outside": None}
        for line in self.read(box, "keepalived.log").splitlines():
            m = re.search(r"\((inside|outside)\) Entering (\w+) STATE", line)
            if m:
                st[m.group(1)] = m.group(2)
        return st

    def masters(self, box):
        """How often box's inside instance became MASTER."""
        return len(re.findall(r"\(inside\) Entering MASTER STATE", self.read(box, "keepalived.log")))

    def read(self, *parts):
        try:
            with open(self.path(*parts), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def scrape(self, box, path):
        out = subprocess.run(["ip", "netns", "exec", f"{self.name}-{box}", "curl", "-s", "--max-time", "5",
                              "-w", "\n%{http_code}", f"http://127.0.0.1:9102{path}"],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10)
        body, _, status = out.stdout.rpartition("\n")
        return int(status or 0), body

    def stop(self, key, sig=signal.SIGTERM, timeout=35):
        p = self.procs.pop(key, None)
        if p is None or p.poll() is not None:
            return p.returncode if p else None
        p.send_signal(sig)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            return p.wait()

    def close(self, keep=False):
        open(self.path("stop"), "w").close()
        for key in sorted(self.procs, key=lambda k: k[0] != "pusher"):
            self.stop(key, timeout=10)
        try:
            self.sh("down", self.name, check=False)
        finally:
            reap_orphans({p.pid for p in self.procs.values()})
            if not keep:
                shutil.rmtree(self.dir, ignore_errors=True)

    # -- MISP pushing ----------------------------------------------------

    def pusher_cmd(self, out, stop, extra=()):
        return ["ip", "netns", "exec", f"{self.name}-in", sys.executable, "-u", PUSHER,
                "--ca", self.path("ca.pem"), "--out", out, "--stop", stop, *extra]

    def run_pusher(self):
        with open(self.path("pusher.log"), "ab") as logf:
            self.procs[("pusher", None)] = subprocess.Popen(
                self.pusher_cmd(self.path("attempts.jsonl"), self.path("stop")),
                env=self.env, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)

    def stop_pusher(self):
        open(self.path("stop"), "w").close()
        p = self.procs.pop(("pusher", None))
        p.wait(60)

    def lines(self, name):
        """The complete lines of a file another process appends to (a line
        being written is left for the next read)."""
        return [line for line in self.read(name).split("\n")[:-1] if line.strip()]

    def attempts(self, name="attempts.jsonl"):
        return [json.loads(line) for line in self.lines(name)]

    def records(self):
        """The pushes the remote received: [{len, peer, body}]."""
        out = []
        for line in self.lines("remote.jsonl"):
            r = json.loads(line)
            if r["method"] == "POST" and r["path"] == PUSH_PATH:
                body = base64.b64decode(r["body_b64"])
                out.append({"len": len(body), "peer": r["peer"], "body": body, "error": r.get("error")})
        return out

    def served(self):
        """Allowed attempts answered 200, each with the box it went through
        (None when nothing arrived for it), by start time."""
        by_len = {r["len"]: BOX_OF.get(r["peer"], r["peer"]) for r in self.records()}
        ok = [a for a in self.attempts() if a["kind"] == "allowed" and a["status"] == 200]
        return sorted(((a, by_len.get(a["len"])) for a in ok), key=lambda x: x[0]["start"])

    def wait_serving(self, box, after, more=20, timeout=30):
        """Until an allowed push that started after `after` went through box
        and `more` attempts of both kinds ended after it; its end time."""
        def first():
            for a, b in self.served():
                if b == box and a["start"] >= after:
                    return a["end"]
            return None

        t = wait_until(f"a push through {box}", first, timeout)
        wait_until(f"{more} attempts after it", lambda: sum(
            1 for a in self.attempts() if a["start"] > t) >= more, timeout)
        return t

    def probe(self, box):
        """One allowed and one blocked push from MISP through `box` only
        (its own address as the gateway): the two attempt records."""
        self.probes += 1
        n = self.probes
        port = PROBE_PORTS[0] + 2 * n
        ns = f"{self.name}-in"
        octet = {"a": "2", "b": "3"}[box]
        subprocess.run(["ip", "-n", ns, "route", "replace", "default", "via", f"192.0.2.{octet}",
                        "dev", "in0", "table", PROBE_TABLE], check=True)
        out = self.path(f"probe-{n}.jsonl")
        cmd = self.pusher_cmd(out, self.path("no-stop"), ["--first", str(100000 + 2 * n), "--max-attempts", "2",
                                                         "--interval", "0", "--source-port", str(port)])
        subprocess.run(cmd, env=self.env, stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=True)
        return self.attempts(f"probe-{n}.jsonl")


# -- what a run proves -------------------------------------------------------


def audit_lengths(pair, box):
    """The lengths of the pushes box's daemon judged allowed (and then
    forwarded: verdict allow, or error when the upstream failed after)."""
    return {int(m.group(2)) for m in AUDIT.finditer(pair.read(box, "warden.log"))
            if m.group(1) in ("allow", "error")}


def blocks_logged(pair, box):
    return sum(1 for m in AUDIT.finditer(pair.read(box, "warden.log")) if m.group(1) == "block")


def evidence(pair, faulted=(), attempt_files=("attempts.jsonl",)):
    """Everything the remote received, checked against what MISP sent and
    what the boxes logged. faulted: [(box, start, done)] of the faults."""
    attempts = [a for f in attempt_files for a in pair.attempts(f)]
    by_len = {a["len"]: a for a in attempts if a["kind"] == "allowed"}
    found = subprocess.run([sys.executable, FIND_MARKERS, "--capture", pair.path("capture"),
                            "--record", pair.path("remote.jsonl")],
                           capture_output=True, text=True, timeout=300)
    if found.returncode != 0:
        raise RuntimeError(f"find_markers.py: {found.stderr}")
    markers = json.loads(found.stdout)

    conns = {}
    capture = pair.path("capture")
    for f in sorted(os.listdir(capture)) if os.path.isdir(capture) else []:
        if f.endswith(".json"):
            with open(os.path.join(capture, f)) as fh:
                peer = json.load(fh).get("peer", "?")
            conns[peer] = conns.get(peer, 0) + 1

    judged = {b: audit_lengths(pair, b) for b in ("a", "b")}
    records = pair.records()
    arrived = set()
    unknown, unjudged, in_flight = [], [], []
    def at_fault(a, box):
        """a was in flight on box while box failed, and got no answer."""
        return a["status"] != 200 and any(
            b == box and a["start"] <= done and a["end"] >= start for b, start, done in faulted)

    for r in records:
        box = BOX_OF.get(r["peer"])
        if r["error"]:
            # Cut short: the box failed while it forwarded an allowed push.
            cut = [a for a in by_len.values() if at_fault(a, box) and _body(a).startswith(r["body"])]
            if cut:
                in_flight.append(cut[0]["i"])
            else:
                unknown.append({"len": r["len"], "peer": r["peer"], "error": r["error"]})
            continue
        a = by_len.get(r["len"])
        if a is None or r["body"] != _body(a):
            unknown.append({"len": r["len"], "peer": r["peer"]})
            continue
        arrived.add(a["i"])
        if box is None or r["len"] in judged[box]:
            continue  # unguarded peers are reported above
        if at_fault(a, box):
            in_flight.append(a["i"])
        else:
            unjudged.append({"i": a["i"], "box": box})

    allowed = [a for a in attempts if a["kind"] == "allowed"]
    blocked = [a for a in attempts if a["kind"] == "blocked"]
    answers = {}
    for a in blocked:
        k = str(a["status"]) if a["status"] is not None else "no answer"
        answers[k] = answers.get(k, 0) + 1
    return {
        "attempts": len(attempts),
        "allowed": len(allowed),
        "allowed_ok": sum(1 for a in allowed if a["status"] == 200),
        "allowed_failed": sum(1 for a in allowed if a["status"] != 200),
        "blocked": len(blocked),
        "blocked_answers": answers,
        "blocked_passed": [a["i"] for a in blocked if a["status"] == 200],
        "markers_found": markers["found"],
        "bytes_searched": markers["bytes"],
        "connections": conns,
        "unguarded_connections": {p: n for p, n in conns.items() if p not in BOX_OF},
        "records": len(records),
        "unknown_records": unknown,
        "unjudged": unjudged,
        "unlogged_in_flight": in_flight,
        "ok_without_record": [a["i"] for a in allowed if a["status"] == 200 and a["i"] not in arrived],
        "blocks_logged": {b: blocks_logged(pair, b) for b in ("a", "b")},
    }


def _body(a):
    return pair_push.event(a["i"], a["kind"])[1]


def serving_sequence(pair):
    """The boxes allowed pushes went through, in order, repeats collapsed."""
    seq = []
    for _, box in pair.served():
        if box and (not seq or seq[-1] != box):
            seq.append(box)
    return seq


def fault(pair, kind, box):
    """Injects the fault at a random point of keepalived's one-second check
    cycle (a run set up like the last would otherwise hit the same point,
    and every run measure the same). Returns (box, start, done): the time
    just before it, from which failover is measured, and the time it had
    taken effect."""
    time.sleep(random.uniform(0, 1))
    t = time.time()
    if kind == "kill":
        pair.procs[("warden", box)].send_signal(signal.SIGKILL)
        done = time.time()
    elif kind == "term":
        pair.procs[("warden", box)].send_signal(signal.SIGTERM)
        done = time.time()
    elif kind == "links":
        pair.sh("links", pair.name, box, "down")
        done = time.time()
    elif kind == "remove":
        done = float(pair.sh("remove", pair.name, box))
        for what in ("warden", "keepalived"):
            p = pair.procs.pop((what, box), None)
            if p:
                p.wait(10)
    else:
        raise ValueError(kind)
    return box, t, done


def failover(pair, kind):
    pair.up()
    pair.run_pusher()
    pair.wait_serving("a", 0)
    f = fault(pair, kind, "a")
    t = f[1]
    first = pair.wait_serving("b", t)
    pair.stop_pusher()
    facts = evidence(pair, [f])
    facts.update(scenario=kind, failovers=[round(first - t, 3)], serving=serving_sequence(pair),
                 active_end=pair.active(), masters={b: pair.masters(b) for b in ("a", "b")})
    return facts


def failback(pair):
    pair.up()
    pair.run_pusher()
    pair.wait_serving("a", 0)
    f1 = fault(pair, "kill", "a")
    t1 = f1[1]
    first = pair.wait_serving("b", t1)
    pair.stop(("warden", "a"))  # reaps the killed daemon
    pair.start_warden("a")
    backups = lambda: pair.states("a") == {"inside": "BACKUP", "outside": "BACKUP"}  # noqa: E731
    wait_until("box a backup again", backups, 20)
    # a is healthy and has the higher priority: with nopreempt, b keeps
    # serving. Watched for 40 more attempts (about 2 s).
    seen = set()
    mark = len(pair.attempts())
    wait_until("40 attempts with a back", lambda: seen.add(pair.active()) or len(pair.attempts()) >= mark + 40, 30)
    f2 = fault(pair, "term", "b")
    t2 = f2[1]
    back = pair.wait_serving("a", t2)
    pair.stop_pusher()
    facts = evidence(pair, [f1, f2])
    facts.update(scenario="failback", failovers=[round(first - t1, 3), round(back - t2, 3)],
                 serving=serving_sequence(pair), active_while_a_back=sorted(seen),
                 active_end=pair.active(), masters={b: pair.masters(b) for b in ("a", "b")})
    return facts


def passive_restart(pair):
    pair.up()
    ns = f"{pair.name}-in"
    subprocess.run(["ip", "-n", ns, "rule", "add", "ipproto", "tcp", "sport",
                    f"{PROBE_PORTS[0]}-{PROBE_PORTS[1]}", "lookup", PROBE_TABLE], check=True)
    pair.run_pusher()
    pair.wait_serving("a", 0)
    pair.sh("remove", pair.name, "b")
    for what in ("warden", "keepalived"):
        pair.procs.pop((what, "b")).wait(10)
    pair.sh("box", pair.name, pair.dir, "b")
    # b is back with its ruleset but no daemon yet: what reaches it is refused.
    without = pair.probe("b")
    pair.start_warden("b")
    with_daemon = pair.probe("b")
    pair.start_keepalived("b")
    wait_until("box b backup", lambda: pair.states("b") == {"inside": "BACKUP", "outside": "BACKUP"}, 20)
    mark = len(pair.attempts())
    wait_until("20 attempts with b back", lambda: len(pair.attempts()) >= mark + 20, 30)
    pair.stop_pusher()
    probes = [f"probe-{n}.jsonl" for n in range(1, pair.probes + 1)]
    facts = evidence(pair, attempt_files=("attempts.jsonl", *probes))
    main = evidence(pair)  # the loop's own attempts only
    facts.update(scenario="passive-restart", serving=serving_sequence(pair), active_end=pair.active(),
                 loop_allowed_failed=main["allowed_failed"], loop_allowed=main["allowed"],
                 probe_without_daemon=[{k: a[k] for k in ("kind", "status", "error")} for a in without],
                 probe_with_daemon=[{k: a[k] for k in ("kind", "status", "error")} for a in with_daemon],
                 probe_arrived_from=[r["peer"] for r in pair.records() if r["len"] >= 100000],
                 masters={b: pair.masters(b) for b in ("a", "b")})
    return facts


def metric_labels(text, name):
    return sorted(m.group(1) for m in re.finditer(rf'^{name}\{{sha256="([0-9a-f]+)"\}} 1$', text, re.M))


def drift(pair):
    pair.up()

    def shown():
        out = {}
        for b in ("a", "b"):
            status, text = pair.scrape(b, "/metrics")
            assert status == 200, f"{b}: /metrics {status}"
            out[b] = {"config": metric_labels(text, "misp_warden_config_info"),
                      "ca": metric_labels(text, "misp_warden_ca_info")}
        return out

    def file_sha(b):
        with open(pair.path(b, "config.json"), "rb") as f:
            return sha256_hex(f.read())

    facts = {"scenario": "drift", "ca_pem": cert_fingerprint(pair.path("ca.pem")),
             "config_files": {b: file_sha(b) for b in ("a", "b")}, "same": shown()}
    # Box b's config changes (a tag more blocked): saved, reloaded on its own.
    path = pair.path("b", "config.json")
    with open(path) as f:
        config = json.load(f)
    config["instances"]["misp_internal"]["taxonomies_rules"]["blocked_tags"].append("tlp:amber")
    with open(path + ".tmp", "w") as f:
        json.dump(config, f, indent=2)
    os.chmod(path + ".tmp", 0o644)
    os.rename(path + ".tmp", path)
    new_sha = file_sha("b")
    wait_until("b's new config in force", lambda: shown()["b"]["config"] == [new_sha], 20, every=0.2)
    facts["config_changed"] = shown()
    facts["config_file_b"] = new_sha
    # Box b restarts with a CA of its own.
    pair.stop(("warden", "b"))
    subprocess.run([pair.warden, "ca", "init", "--dir", pair.path("b", "newca")], check=True,
                   capture_output=True)
    shutil.copy(pair.path("b", "newca", "ca.pem"), pair.path("b", "ca.pem"))
    shutil.copy(pair.path("b", "newca", "ca.key"), pair.path("b", "ca.key"))
    pair.start_warden("b")
    facts["ca_changed"] = shown()
    facts["ca_pem_b"] = cert_fingerprint(pair.path("b", "ca.pem"))
    return facts


SCENARIOS = {
    "kill": lambda p: failover(p, "kill"),
    "term": lambda p: failover(p, "term"),
    "links": lambda p: failover(p, "links"),
    "remove": lambda p: failover(p, "remove"),
    "failback": failback,
    "passive-restart": passive_restart,
    "drift": drift,
}


def unsafe(facts):
    """Why a run let something through (empty: it did not)."""
    why = []
    for key in ("blocked_passed", "markers_found", "unguarded_connections", "unknown_records",
                "unjudged", "ok_without_record"):
        if facts.get(key):
            why.append(f"{key}: {facts[key]}")
    return why


def run_one(scenario, name=None, directory=None, keep=False):
    warden = os.environ.get("MISP_WARDEN")
    if not warden or not os.path.isfile(warden):
        raise SystemExit("pair.py: set MISP_WARDEN to the misp-warden binary")
    name = name or f"mwp{os.getpid() % 100000}"
    directory = directory or tempfile.mkdtemp(prefix=f"misp-warden-{name}.")
    os.makedirs(directory, exist_ok=True)
    os.chmod(directory, 0o755)
    pair = Pair(name, directory, os.path.abspath(warden))
    started = time.monotonic()
    try:
        facts = SCENARIOS[scenario](pair)
    except Exception:
        keep = True
        for f in ("a/warden.log", "a/keepalived.log", "b/warden.log", "b/keepalived.log",
                  "remote.log", "pusher.log"):
            tail = pair.read(*f.split("/")).splitlines()[-15:]
            log(f"--- {f} (last {len(tail)} lines)\n" + "\n".join(tail))
        log(f"{scenario} failed; the lab's files are kept in {directory}")
        raise
    finally:
        pair.close(keep=keep)
    facts["name"] = name
    facts["seconds"] = round(time.monotonic() - started, 1)
    return facts


def bench(runs, faults, markdown):
    figures = {f: [] for f in faults}
    lost = {f: [] for f in faults}
    bad = []
    for n in range(runs):
        for f in faults:
            facts = run_one(f, name=f"mwpb{os.getpid() % 10000}{n}")
            t = facts["failovers"][0]
            figures[f].append(t)
            lost[f].append(facts["allowed_failed"])
            why = unsafe(facts)
            if why:
                bad.append((f, n, why))
            log(f"run {n + 1}/{runs} {FAULTS[f]}: {t:.3f} s, {facts['allowed_failed']} allowed pushes failed, "
                f"blocked {facts['blocked_answers']}{' UNSAFE: ' + '; '.join(why) if why else ''}")
    rows = []
    for f in faults:
        xs = sorted(figures[f])
        rows.append((FAULTS[f], len(xs), min(xs), statistics.median(xs), max(xs),
                     statistics.median(lost[f])))
    if markdown:
        print("| fault on the active box | runs | min s | median s | max s | allowed pushes failed meanwhile (median) |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for r in rows:
            print(f"| {r[0]} | {r[1]} | {r[2]:.2f} | {r[3]:.2f} | {r[4]:.2f} | {r[5]:g} |")
    else:
        print(f"{'fault on the active box':<24} {'runs':>4} {'min s':>7} {'median s':>9} {'max s':>7}"
              f" {'allowed pushes failed (median)':>31}")
        for r in rows:
            print(f"{r[0]:<24} {r[1]:>4} {r[2]:>7.2f} {r[3]:>9.2f} {r[4]:>7.2f} {r[5]:>31g}")
    print(json.dumps({"figures": figures}), file=sys.stderr)
    for f, n, why in bad:
        print(f"UNSAFE: {FAULTS[f]} run {n + 1}: {'; '.join(why)}")
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("scenario", choices=sorted(SCENARIOS))
    r.add_argument("--name", help="namespace prefix (unique on this host)")
    r.add_argument("--dir", help="the lab's files (created; removed at the end unless --keep)")
    r.add_argument("--keep", action="store_true")
    b = sub.add_parser("bench")
    b.add_argument("--runs", type=int, default=10)
    b.add_argument("--faults", default=",".join(FAULTS))
    b.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("pair.py: run as root (network namespaces)")
    subreaper()
    if args.cmd == "run":
        print(json.dumps(run_one(args.scenario, args.name, args.dir, args.keep)))
        return 0
    faults = [f for f in args.faults.split(",") if f]
    for f in faults:
        if f not in FAULTS:
            raise SystemExit(f"pair.py: unknown fault {f} ({', '.join(FAULTS)})")
    return bench(args.runs, faults, args.markdown)


if __name__ == "__main__":
    sys.exit(main())
