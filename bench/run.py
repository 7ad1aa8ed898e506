#!/usr/bin/env python3
"""The side-by-side benchmark's driver (root; Python stdlib only).

Builds four namespace labs (scripts/lab.sh), one per path, each with its own
fast remote MISP (mwbench remote):

    direct       the gateway only routes                         clients trust remote-ca.pem
    misp-warden  TPROXY ruleset + `misp-warden run` in NAME-gw    clients trust warden-ca.pem
    mitmproxy    nft redirect to mitmdump --mode transparent      clients trust mitmproxy's CA
    nginx        nft redirect to nginx (TLS terminated, TLS       clients trust nginx-ca.pem
                 re-originated, nothing judged)

and with --warden-b BIN a fifth, misp-warden-b: set up as misp-warden is, with
BIN (another build) in its own lab, to compare two builds in one run;
then runs every workload on the paths back to back (the order rotates
from one workload to the next), samples the daemons' /proc figures around
each run, prints one table and optionally writes it as JSON. Everything it
creates (namespaces, processes, its temp dir) is removed on exit.

Started by scripts/bench.sh, which builds the binaries and the event cache:

    run.py --warden BIN --mwbench BIN --mitmdump BIN --nginx BIN --data DIR [--quick] [--json FILE]
           [--only SUBSTR,...] [--paths PATH,...] [--warden-b BIN] [--repeat N]

--paths runs only some of the paths (--mitmdump and --nginx are needed only
when theirs run); the ratio columns whose two paths are not both run are
left out. --repeat N runs each workload N times over the paths (the order
rotating each time) and shows each path's median and the median of the
ratios taken within each run; the JSON keeps every run.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB = os.path.join(REPO, "scripts", "lab.sh")
# Every path, in the table's column order; misp-warden-b runs with --warden-b.
PATHS = ["direct", "misp-warden", "mitmproxy", "nginx", "misp-warden-b"]
CLK = os.sysconf("SC_CLK_TCK")
MITM_PORT = 8080
NGINX_PORT = 8443


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, a, paths):
        self.a = a
        self.paths = paths  # the paths this run measures (--paths), in PATHS' order
        self.tmp = tempfile.mkdtemp(prefix="misp-warden-bench.")
        os.chmod(self.tmp, 0o755)
        self.procs = []  # (name, Popen), every process started, killed by PID on exit
        self.labs = []
        base = f"mwb{os.getpid() % 100000}"
        self.name = {"direct": base + "d", "misp-warden": base + "w", "mitmproxy": base + "m", "nginx": base + "n",
                     "misp-warden-b": base + "b"}
        self.dir = {p: os.path.join(self.tmp, p) for p in PATHS}
        self.ca = {}
        self.daemon = {}  # path -> pids of the interception daemon (nginx: master and workers)
        # (pid, namespace) of processes that are no child of ours (nginx's
        # workers): killed by PID on exit if still in that namespace.
        self.strays = []
        self.remote = {}  # path -> pid of the lab's remote

    # ------------------------------------------------------------ setup

    def spawn(self, label, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.procs.append((label, p))
        return p

    def lab_up(self, path):
        name, d = self.name[path], self.dir[path]
        os.makedirs(d)
        subprocess.run([LAB, "up", name, d], check=True, stdout=subprocess.DEVNULL)
        self.labs.append(name)
        # Many short connections (newconn workloads): reuse TIME_WAIT ports.
        for ns in (f"{name}-in", f"{name}-gw"):
            subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.tcp_tw_reuse=1",
                            "net.ipv4.ip_local_port_range=1024 65000"], check=True)
        ready = os.path.join(d, "remote.ready")
        p = self.spawn(f"remote-{path}", ["ip", "netns", "exec", f"{name}-out", self.a.mwbench, "remote",
                                          "--listen", "203.0.113.20:443", "--cert", f"{d}/partner.pem",
                                          "--key", f"{d}/partner.key", "--data", self.a.data,
                                          "--ready", ready, "--threads", "2"],
                       stderr=open(os.path.join(d, "remote.log"), "w"))
        self.remote[path] = p.pid
        wait_for(lambda: os.path.exists(ready), f"remote of {path}", p)

    def setup_direct(self):
        self.lab_up("direct")
        self.ca["direct"] = os.path.join(self.dir["direct"], "remote-ca.pem")

    def setup_warden(self, path="misp-warden"):
        """misp-warden, or misp-warden-b: the same setup with the --warden-b
        binary (its own lab, config, CA, ruleset rendered by that binary)."""
        binary = self.a.warden if path == "misp-warden" else self.a.warden_b
        self.lab_up(path)
        name, d = self.name[path], self.dir[path]
        cfg = json.load(open(os.path.join(REPO, "config", "misp-warden.json")))
        cfg["warden"].update({
            "ca_cert": f"{d}/warden-ca.pem", "ca_key": f"{d}/warden-ca.key",
            "upstream_ca": f"{d}/remote-ca.pem", "user": "nobody", "group": "nogroup",
            # 100 MB events must pass: the limit above them, the budget above
            # a few of them in flight.
            "max_body_bytes": 300 << 20, "body_budget_bytes": 1200 << 20,
        })
        conf = os.path.join(d, "config.json")
        json.dump(cfg, open(conf, "w"), indent=2)
        subprocess.run([LAB, "guard", name, conf, "gateway"], check=True,
                       env=dict(os.environ, MISP_WARDEN=binary), stdout=subprocess.DEVNULL)
        wlog = os.path.join(d, "warden.log")
        p = self.spawn(path, ["ip", "netns", "exec", f"{name}-gw", binary, "run",
                              "--config", conf], stderr=open(wlog, "w"))
        wait_for(lambda: "misp-warden ready" in open(wlog).read(), path, p)
        self.daemon[path] = [p.pid]  # `ip netns exec` execs the daemon in place
        self.ca[path] = f"{d}/warden-ca.pem"

    def setup_mitm(self):
        path = "mitmproxy"
        self.lab_up(path)
        name, d = self.name[path], self.dir[path]
        rules = (
            "table inet bench_mitm {\n"
            "  chain pre {\n"
            "    type nat hook prerouting priority dstnat; policy accept;\n"
            f'    iifname "gw-in" tcp dport 443 redirect to :{MITM_PORT}\n'
            "  }\n"
            "}\n"
        )
        subprocess.run(["ip", "netns", "exec", f"{name}-gw", "nft", "-f", "-"], input=rules.encode(), check=True)
        conf = os.path.join(d, "mitm")
        os.makedirs(conf)
        p = self.spawn("mitmdump", ["ip", "netns", "exec", f"{name}-gw", self.a.mitmdump, "-q",
                                    "--mode", "transparent", "--listen-port", str(MITM_PORT),
                                    "--set", f"confdir={conf}",
                                    "--set", f"ssl_verify_upstream_trusted_ca={d}/remote-ca.pem"],
                       stdout=open(os.path.join(d, "mitm.log"), "w"), stderr=subprocess.STDOUT,
                       env=dict(os.environ, HOME=d))
        ca = os.path.join(conf, "mitmproxy-ca-cert.pem")
        wait_for(lambda: os.path.exists(ca) and listening(f"{name}-gw", MITM_PORT), "mitmdump", p, 60)
        self.daemon[path] = [p.pid]
        self.ca[path] = ca

    def setup_nginx(self):
        path = "nginx"
        self.lab_up(path)
        name, d = self.name[path], self.dir[path]
        # Its own CA and a leaf for the names the remote's certificate has,
        # as lab.sh makes them (ECDSA P-256).
        make_ca(d, "nginx-ca", "misp-warden bench nginx CA")
        make_leaf(d, "nginx-leaf", "nginx-ca",
                  "DNS:misp.partner.example,DNS:misp6.partner.example,IP:203.0.113.20,IP:2001:db8:2::20")
        rules = (
            "table inet bench_nginx {\n"
            "  chain pre {\n"
            "    type nat hook prerouting priority dstnat; policy accept;\n"
            f'    iifname "gw-in" tcp dport 443 redirect to :{NGINX_PORT}\n'
            "  }\n"
            "}\n"
        )
        subprocess.run(["ip", "netns", "exec", f"{name}-gw", "nft", "-f", "-"], input=rules.encode(), check=True)
        prefix = os.path.join(d, "nginx")
        os.makedirs(prefix)
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(nginx_conf(d, prefix, not self.a.nginx_no_access_log))
        elog = os.path.join(prefix, "error.log")
        p = self.spawn("nginx", ["ip", "netns", "exec", f"{name}-gw", self.a.nginx, "-p", prefix + "/", "-c", conf,
                                 "-e", elog, "-g", "daemon off;"],
                       stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "nginx.log"), "w"))
        # `ip netns exec` execs nginx in place: P is the master; its workers
        # (`worker_processes auto`: one per CPU) are its children.
        want = os.cpu_count()
        wait_for(lambda: listening(f"{name}-gw", NGINX_PORT) and len(children(p.pid)) >= want, "nginx", p)
        workers = children(p.pid)
        self.strays += [(pid, f"/run/netns/{name}-gw") for pid in workers]
        self.daemon[path] = [p.pid, *workers]
        self.ca[path] = os.path.join(d, "nginx-ca.pem")

    def setup(self, path):
        {"direct": self.setup_direct, "misp-warden": self.setup_warden, "mitmproxy": self.setup_mitm,
         "nginx": self.setup_nginx, "misp-warden-b": lambda: self.setup_warden("misp-warden-b")}[path]()

    def remote_protocols(self):
        """The protocols each path's remote was spoken to in (its first-connection lines)."""
        out = {}
        for p in self.paths:
            with open(os.path.join(self.dir[p], "remote.log"), errors="replace") as f:
                out[p] = [line.split(" over ", 1)[1].strip() for line in f if "first connection over" in line]
        return out

    def cleanup(self):
        for label, p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        deadline = time.time() + 10
        for label, p in reversed(self.procs):
            try:
                p.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        # nginx's workers stop with their master; should one outlive it (a
        # master killed above), it goes by its PID, if that PID is still a
        # process in the lab's namespace.
        for pid, ns in self.strays:
            try:
                if os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(ns).st_ino:
                    os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for name in self.labs:
            subprocess.run([LAB, "down", name])
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ------------------------------------------------------------ measuring

    def client(self, path, argv):
        """Runs one mwbench client in PATH's lab; its JSON and its CPU seconds."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = subprocess.run(["ip", "netns", "exec", f"{self.name[path]}-in", self.a.mwbench, *argv,
                            "--ca", self.ca[path]], capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if r.returncode != 0:
            raise RuntimeError(f"client {argv} on {path}: {r.stderr.strip()}")
        for line in r.stderr.splitlines()[:5]:
            log(f"  {path}: {line}")
        out = json.loads(r.stdout)
        if "s_per_event" in out:
            out["ms_per_event"] = out["s_per_event"] * 1000
        out["client_cpu_s"] = round((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), 3)
        return out

    def measure(self, path, argv, run=0):
        # The daemon's processes (nginx: the master and its workers): their
        # RSS and peaks are summed, and so are their CPU seconds.
        daemon = self.daemon.get(path, [])
        remote = self.remote[path]
        if daemon:
            rss0 = sum(proc_status(pid)["VmRSS"] for pid in daemon)
            for pid in daemon:
                with open(f"/proc/{pid}/clear_refs", "w") as f:
                    f.write("5")  # resets VmHWM: the peak is this workload's
            d0 = sum(cpu_s(pid) for pid in daemon)
        r0 = cpu_s(remote)
        o0 = tcp_opens(f"{self.name[path]}-out")
        perf = None
        if self.a.perf and path == "misp-warden":
            os.makedirs(self.a.perf, exist_ok=True)
            slug = "-".join(x.strip("-") for x in argv if not x.startswith("/"))[:80]
            if self.a.repeat > 1:
                slug += f".{run + 1}"
            perf = subprocess.Popen(["perf", "record", "-q", "-F", "999", *(["--call-graph", "fp"] if self.a.perf_callgraph else []), "-p", str(daemon[0]),
                                     "-o", os.path.join(self.a.perf, f"{slug}.data")],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.3)
        out = self.client(path, argv)
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait()
        out["remote_cpu_s"] = round(cpu_s(remote) - r0, 3)
        # TCP connections the remote accepted: shows whether a proxy reuses
        # its upstream connections.
        out["remote_connections"] = tcp_opens(f"{self.name[path]}-out") - o0
        if daemon:
            st = [proc_status(pid) for pid in daemon]
            out["daemon"] = {
                "peak_rss_mib": round(sum(x["VmHWM"] for x in st) / 1024, 1),
                "rss_before_mib": round(rss0 / 1024, 1),
                "rss_after_mib": round(sum(x["VmRSS"] for x in st) / 1024, 1),
                "cpu_s": round(sum(cpu_s(pid) for pid in daemon) - d0, 3),
                "processes": len(daemon),
            }
            if len(daemon) > 1:
                out["daemon"]["peak_rss_mib_each"] = [round(x["VmHWM"] / 1024, 1) for x in st]
        return out


def wait_for(cond, what, proc, secs=30):
    deadline = time.time() + secs
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            if cond():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready after {secs}s")


def listening(ns, port):
    r = subprocess.run(["ip", "netns", "exec", ns, "ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True)
    return bool(r.stdout.strip())


def tcp_opens(ns):
    """TcpPassiveOpens of namespace NS: connections accepted there so far."""
    r = subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/net/snmp"], capture_output=True, text=True,
                       check=True)
    tcp = [line.split() for line in r.stdout.splitlines() if line.startswith("Tcp:")]
    return int(tcp[1][tcp[0].index("PassiveOpens")])


def cpu_s(pid):
    """utime + stime of PID and its threads, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS"):
                out[k] = int(v.split()[0])
    if len(out) < 2:  # a zombie: the daemon (or one of nginx's processes) exited
        raise RuntimeError(f"process {pid} exited")
    return out


def children(pid):
    """The PIDs whose parent is PID."""
    out = []
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                with open(f"/proc/{e}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(e))
            except (OSError, IndexError, ValueError):
                pass
    return sorted(out)


def make_ca(d, name, cn):
    """A self-signed ECDSA P-256 CA, D/NAME.pem + D/NAME.key (as scripts/lab.sh makes them)."""
    subprocess.run(["openssl", "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.pem", "-days", "30",
                    "-subj", f"/CN={cn}", "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"], check=True, capture_output=True)


def make_leaf(d, name, issuer, san):
    """A server certificate D/NAME.pem + .key for SAN, signed by D/ISSUER."""
    cn = san.split(",")[0].removeprefix("DNS:")
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.csr", "-subj", f"/CN={cn}"],
                   check=True, capture_output=True)
    with open(f"{d}/{name}.ext", "w") as f:
        f.write(f"subjectAltName={san}\nbasicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    subprocess.run(["openssl", "x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f"{d}/{issuer}.pem",
                    "-CAkey", f"{d}/{issuer}.key", "-set_serial", "0x" + os.urandom(8).hex(), "-days", "30",
                    "-extfile", f"{d}/{name}.ext", "-out", f"{d}/{name}.pem"], check=True, capture_output=True)
    os.remove(f"{d}/{name}.csr")
    os.remove(f"{d}/{name}.ext")


def nginx_conf(d, prefix, access_log):
    """The nginx path's configuration: TLS terminated with nginx-leaf.pem
    (HTTP/1.1 and HTTP/2 offered), TLS re-originated to the remote
    (verified against remote-ca.pem, HTTP/1.1, a keep-alive pool), request
    bodies stored whole before they go on, nothing judged. Started as
    root (the master), the workers as nobody; everything it writes is under
    PREFIX. bench/README.md quotes it."""
    log = f"access_log {prefix}/access.log;" if access_log else "access_log off;"
    return f"""\
worker_processes auto;
user nobody nogroup;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{
    # Client and upstream connections alike; open files as run.py raised them.
    worker_connections 4096;
}}
http {{
    {log}
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    # The default, 1000, would close each client and upstream connection
    # after 1000 requests (the other paths do not).
    keepalive_requests 1000000;

    upstream remote {{
        server 203.0.113.20:443;
        keepalive 64;
        keepalive_requests 1000000;
    }}

    server {{
        listen {NGINX_PORT} ssl http2;
        server_name misp.partner.example misp6.partner.example;
        ssl_certificate {d}/nginx-leaf.pem;
        ssl_certificate_key {d}/nginx-leaf.key;
        ssl_protocols TLSv1.2 TLSv1.3;

        client_max_body_size 300m;
        client_body_buffer_size 512m;
        proxy_request_buffering on;

        location / {{
            proxy_pass https://remote;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_ssl_protocols TLSv1.2 TLSv1.3;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate {d}/remote-ca.pem;
            proxy_ssl_name misp.partner.example;
            proxy_ssl_server_name on;
            # Answers relayed through the default in-memory buffers
            # (proxy_buffering on, 8 x 4k): never spilled to a temporary
            # file, as misp-warden and mitmproxy keep them in memory too.
            proxy_max_temp_file_size 0;
        }}
    }}
}}
"""


# ---------------------------------------------------------------- workloads

def workloads(quick, data):
    """(name, kind, mwbench argv) in the order they run."""
    w = []
    secs = "2" if quick else "5"
    for req, label in (("get", "GET /servers/getVersion"), ("head", "HEAD /events/view/{uuid}"),
                       ("index", "POST /events/index")):
        for conc in ("1", "32"):
            for mode in ("keepalive", "newconn"):
                w.append((f"{label} c={conc} {'keep-alive' if mode == 'keepalive' else 'new conn'}", "small",
                          ["small", "--req", req, "--conc", conc, "--mode", mode, "--secs", secs]))
            if req == "get":  # MISP's curl offers h2: its twin over HTTP/2
                w.append((f"{label} c={conc} keep-alive h2", "small",
                          ["small", "--req", req, "--conc", conc, "--mode", "keepalive", "--secs", secs, "--h2"]))
    sizes = ((1, 5), (10, 2)) if quick else ((1, 30), (10, 6), (50, 3), (100, 3))
    for direction in ("push", "pull"):
        for mb, count in sizes:
            for enc in ("none", "gzip", "br"):
                f = os.path.join(data, f"event-{mb}mb.json")
                argv = [direction, "--file", f, "--encoding", enc, "--count", str(count)]
                if direction == "pull":
                    argv += ["--size", str(mb)]
                label = f"{direction} {mb} MB {'plain' if enc == 'none' else enc} ×{count}"
                w.append((label, "transfer", argv))
                if direction == "push" and enc == "none" and mb >= 10:
                    w.append((f"{label} h2", "transfer", argv + ["--h2"]))
    # The latency target "small calls' p99 under 5 ms while a 100 MB event is
    # inspected": getVersion at c=1 while the plain event is pushed back to
    # back (the 10 MB one with --quick: the 100 MB one is not generated).
    mb = 10 if quick else 100
    w.append((f"GET /servers/getVersion c=1 keep-alive during {mb} MB pushes", "during",
              ["small-during-push", "--req", "get", "--file", os.path.join(data, f"event-{mb}mb.json"),
               "--secs", secs]))
    jobs, events = ("8", "50") if quick else ("16", "200")
    w.append((f"sync {jobs} jobs × {events} events (20 KB)", "sync",
              ["sync", "--file", os.path.join(data, "sync-event.json"), "--jobs", jobs, "--events", events]))
    return w


# Table rows per kind: (metric label, key in the client's JSON, higher is better).
METRICS = {
    "small": [("req/s", "rps"), ("p50 ms", "p50_ms"), ("p99 ms", "p99_ms"), ("p99.9 ms", "p999_ms")],
    "transfer": [("MB/s", "mb_per_s"), ("ms/event", "ms_per_event")],
    "sync": [("total s", "secs"), ("events/s", "events_per_s")],
    "during": [("req/s", "rps"), ("p50 ms", "p50_ms"), ("p99 ms", "p99_ms"), ("p99.9 ms", "p999_ms"),
               ("pushes in window", "pushes_in_window"), ("push MB/s", "push_mb_per_s")],
}


def rows_for(name, kind, res, paths):
    """The table's rows of one workload over PATHS (the paths run): one per
    figure, each path's value (None where it has none) and the ratios of the
    pairs both run."""
    daemons = [p for p in paths if p != "direct"]  # the paths with a process in the middle

    def row(metric, f, over=paths):
        return {"workload": name, "metric": metric, **{p: f(res[p]) if p in over else None for p in paths}}

    rows = [row(label, lambda r, key=key: r.get(key)) for label, key in METRICS[kind]]
    rows.append(row("daemon peak RSS MiB", lambda r: r["daemon"]["peak_rss_mib"], daemons))
    rows.append(row("daemon CPU s", lambda r: r["daemon"]["cpu_s"], daemons))
    if kind == "small":
        rows.append(row("remote conns per 1k req",
                        lambda r: round(1000 * r["remote_connections"] / max(1, r["requests"]), 1)))
        rows.append(row("daemon CPU µs/req", lambda r: round(1e6 * r["daemon"]["cpu_s"] / max(1, r["requests"]), 1),
                        daemons))
        # What the two ends (client and remote) spend per call: on `direct`
        # they alone fill the cores, which bounds what any proxy in the
        # middle can reach.
        rows.append(row("client+remote CPU µs/req",
                        lambda r: round(1e6 * (r["client_cpu_s"] + r["remote_cpu_s"]) / max(1, r["requests"]), 1)))
    errs = row("errors", lambda r: r.get("errors", 0))
    if any(errs[p] for p in paths):
        rows.append(errs)
    push_errs = row("push errors", lambda r: r.get("push_errors", 0))  # the pusher of "during"
    if any(push_errs[p] for p in paths):
        rows.append(push_errs)
    for r in rows:
        for col, num, den in ratios_for(paths):
            # nginx's peak RSS is the sum of its processes' peaks (master and
            # workers, shared pages counted in each): shown, not divided.
            if "nginx" in (num, den) and r["metric"] == "daemon peak RSS MiB":
                r[col] = None
            else:
                r[col] = ratio(r[num], r[den])
    return rows


ERROR_ROWS = ("errors", "push errors")


def median_rows(name, runs, paths):
    """One workload's rows over its runs (each run's rows_for): each path's
    median, and each ratio's median over the runs (the ratio taken within
    each run, so the two paths of a pair measured minutes apart in another
    run do not meet); figures or ratios a run has none of (None) are left
    out of the median. Errors are summed over the runs, and so a run's
    errors show, their ratios those of the sums. With one run: that run's rows."""
    ratios = ratios_for(paths)
    metrics = [r["metric"] for r in runs[0] if r["metric"] not in ERROR_ROWS]
    metrics += [m for m in ERROR_ROWS if any(r["metric"] == m for rows in runs for r in rows)]
    out = []
    for m in metrics:
        per = [next((r for r in rows if r["metric"] == m), None) for rows in runs]
        row = {"workload": name, "metric": m}
        if m in ERROR_ROWS:  # a run without the row had none
            row.update({p: sum(r[p] or 0 for r in per if r) for p in paths})
            row.update({col: ratio(row[num], row[den]) for col, num, den in ratios})
        else:
            row.update({p: median([r[p] for r in per]) for p in paths})
            row.update({col: median([r[col] for r in per], 3) for col, _, _ in ratios})
        out.append(row)
    return out


def median(values, digits=None):
    vs = [v for v in values if v is not None and v == v]
    if not vs:
        return None
    m = statistics.median(vs)
    return round(m, digits) if digits is not None and len(vs) > 1 else m


# The ratio columns: (column, numerator path, denominator path); a column is
# in the table when both its paths are run.
RATIOS = [("warden/direct", "misp-warden", "direct"), ("mitm/warden", "mitmproxy", "misp-warden"),
          ("warden/nginx", "misp-warden", "nginx"), ("b/warden", "misp-warden-b", "misp-warden")]


def ratios_for(paths):
    return [r for r in RATIOS if r[1] in paths and r[2] in paths]


def ratio(a, b):
    if a is None or b is None or b == 0 or a != a or b != b:
        return None
    return round(a / b, 2)


def fmt(v):
    if v is None:
        return "—"
    if isinstance(v, float):
        if v != v:
            return "—"
        if abs(v) >= 100:
            return f"{v:.0f}"
        if abs(v) >= 10:
            return f"{v:.1f}"
        if abs(v) >= 0.1:
            return f"{v:.2f}"
        return f"{v:.3f}"
    return str(v)


def table(rows, paths):
    cols = ["workload", "metric", *paths, *(r[0] for r in ratios_for(paths))]
    cells = [cols] + [[fmt(r[c]) if c not in ("workload", "metric") else r[c] for c in cols] for r in rows]
    # Show each workload's name once.
    last = None
    for c in cells[1:]:
        if c[0] == last:
            c[0] = ""
        else:
            last = c[0]
    widths = [max(len(c[i]) for c in cells) for i in range(len(cols))]
    out = []
    for n, c in enumerate(cells):
        line = " | ".join(c[i].ljust(widths[i]) if i < 2 else c[i].rjust(widths[i]) for i in range(len(cols)))
        out.append(f"| {line} |")
        if n == 0:
            out.append("|" + "|".join(("-" * (w + 2)) if i < 2 else ("-" * (w + 1) + ":") for i, w in enumerate(widths)) + "|")
    return "\n".join(out)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def machine():
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    mem = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":")
            mem[k] = v.strip()
    return {"loadavg": load, "mem_available": mem.get("MemAvailable")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--warden", required=True)
    ap.add_argument("--mwbench", required=True)
    ap.add_argument("--mitmdump", help="mitmproxy's mitmdump (needed when the mitmproxy path runs)")
    ap.add_argument("--nginx", help="nginx (needed when the nginx path runs)")
    ap.add_argument("--nginx-no-access-log", action="store_true",
                    help="nginx without its access log (the table's runs have it on, to a file)")
    ap.add_argument("--data", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--only", help="comma-separated substrings: run only workloads whose name has one")
    ap.add_argument("--paths", help=f"comma-separated subset of {','.join(PATHS)}: run only these paths "
                                    "(default: all, misp-warden-b with --warden-b)")
    ap.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="run each workload N times (the path order rotating each time): the table shows "
                         "each path's median and the median of the ratios taken within each run")
    ap.add_argument("--warden-b", metavar="BIN",
                    help="another misp-warden binary: a fifth path, misp-warden-b, set up as misp-warden is")
    ap.add_argument("--perf", metavar="DIR", help="record misp-warden with `perf record` during each workload into DIR")
    ap.add_argument("--perf-callgraph", action="store_true",
                    help="with --perf: record call graphs (frame pointers; build misp-warden with "
                         "RUSTFLAGS='-C force-frame-pointers=yes' and pass it with --warden)")
    a = ap.parse_args()
    if a.repeat < 1:
        ap.error("--repeat: N is at least 1")
    paths = [p for p in PATHS if p != "misp-warden-b" or a.warden_b]
    if a.paths:
        want = [p.strip() for p in a.paths.split(",") if p.strip()]
        unknown = [p for p in want if p not in PATHS]
        if unknown or not want:
            ap.error(f"--paths: {', '.join(unknown) or 'empty'}: the paths are {', '.join(PATHS)}")
        paths = [p for p in PATHS if p in want]  # the columns' order, whatever the list's
    if a.warden_b:
        a.warden_b = os.path.abspath(a.warden_b)
        if not os.access(a.warden_b, os.X_OK):
            ap.error(f"--warden-b: {a.warden_b} is not an executable")
        if "misp-warden-b" not in paths:
            ap.error("--warden-b: misp-warden-b is not in --paths")
    elif "misp-warden-b" in paths:
        ap.error("--paths: misp-warden-b needs --warden-b BIN")
    for p, opt in (("mitmproxy", a.mitmdump), ("nginx", a.nginx)):
        if p in paths and not opt:
            ap.error(f"the {p} path needs --{'mitmdump' if p == 'mitmproxy' else 'nginx'}")
    if a.perf and "misp-warden" not in paths:
        ap.error("--perf records misp-warden: add misp-warden to --paths")
    if os.geteuid() != 0:
        sys.exit("bench: run as root (network namespaces)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)

    b = Bench(a, paths)

    def on_signal(sig, _frame):
        raise KeyboardInterrupt(f"signal {sig}")

    signal.signal(signal.SIGTERM, on_signal)
    started = time.time()
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": socket.gethostname(), "kernel": platform.release(), "cpus": os.cpu_count(),
        "quick": a.quick, "paths": paths, "repeat": a.repeat, "before": machine(),
        "misp_warden": subprocess.run([a.warden, "--version"], capture_output=True, text=True).stdout.strip(),
        "git": subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"], capture_output=True,
                              text=True).stdout.strip(),
    }
    if "misp-warden-b" in paths:
        meta["warden_b"] = a.warden_b
        meta["misp_warden_b"] = subprocess.run([a.warden_b, "--version"], capture_output=True,
                                               text=True).stdout.strip()
        # Whether the two builds differ at all (an A/A run has one hash).
        meta["sha256"] = {p: sha256(f) for p, f in (("misp-warden", a.warden), ("misp-warden-b", a.warden_b))}
    if "mitmproxy" in paths:
        meta["mitmproxy"] = subprocess.run([a.mitmdump, "--version"], capture_output=True,
                                           text=True).stdout.splitlines()[0:1]
    if "nginx" in paths:
        meta["nginx"] = subprocess.run([a.nginx, "-v"], capture_output=True, text=True).stderr.strip()
        meta["nginx_access_log"] = not a.nginx_no_access_log
    results, rows = [], []
    try:
        log(f"setting up the {len(paths)} labs")
        for p in paths:
            b.setup(p)
        for p in paths:  # every path answers before anything is measured
            r = b.client(p, ["small", "--req", "get", "--conc", "1", "--secs", "1"])
            if r["errors"] or not r["requests"]:
                raise RuntimeError(f"{p}: sanity check failed: {r}")
        wl = workloads(a.quick, a.data)
        if a.only:
            keys = a.only.split(",")
            wl = [w for w in wl if any(k in w[0] for k in keys)]
        for i, (name, kind, argv) in enumerate(wl):
            runs = []
            for n in range(a.repeat):
                # The order rotates by one path from one run to the next (of
                # a workload, and from one workload to the next): no path is
                # always measured first or last.
                k = (i * a.repeat + n) % len(paths)
                order = paths[k:] + paths[:k]
                res = {}
                for p in order:
                    res[p] = b.measure(p, argv, n)
                log(f"[{i + 1}/{len(wl)}{f' run {n + 1}/{a.repeat}' if a.repeat > 1 else ''}] {name}: "
                    + ", ".join(f"{p} {fmt(res[p].get(METRICS[kind][0][1]))} {METRICS[kind][0][0]}"
                                for p in paths))
                runs.append({"order": order, "paths": res, "rows": rows_for(name, kind, res, paths)})
            entry = {"workload": name, "kind": kind, "argv": argv, "runs": runs}
            if a.repeat == 1:  # the layout before --repeat, kept for what reads it
                entry.update(order=runs[0]["order"], paths=runs[0]["paths"])
            results.append(entry)
            rows += median_rows(name, [r["rows"] for r in runs], paths)
        # Which protocols reached the remotes (the upstream legs): with --h2
        # the clients check their own leg themselves.
        meta["remote_protocols"] = b.remote_protocols()
        log("remotes spoken to in: " + "; ".join(f"{p} {', '.join(v) or '—'}"
                                                 for p, v in meta["remote_protocols"].items()))
    except KeyboardInterrupt as e:
        log(f"interrupted ({e}); cleaning up")
        b.cleanup()
        sys.exit(130)
    except Exception:
        for p in paths:
            for f in ("warden.log", "mitm.log", "nginx.log", "nginx/error.log", "remote.log"):
                fp = os.path.join(b.dir[p], f)
                if os.path.exists(fp):
                    tail = open(fp, errors="replace").read()[-2000:]
                    log(f"--- {p}/{f} (tail)\n{tail}")
        b.cleanup()
        raise
    b.cleanup()
    meta["after"] = machine()
    meta["wall_s"] = round(time.time() - started, 1)
    text = table(rows, paths)
    print(text)
    reps = f" × {a.repeat} runs" if a.repeat > 1 else ""
    print(f"\n{len(results)} workloads × {len(paths)} paths{reps} in {meta['wall_s']:.0f} s; load average before "
          f"{' '.join(meta['before']['loadavg'])}, after {' '.join(meta['after']['loadavg'])} "
          f"({meta['cpus']} CPUs, shared).")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"meta": meta, "rows": rows, "results": results, "table": text}, f, indent=1)
        log(f"wrote {a.json}")


if __name__ == "__main__":
    main()
