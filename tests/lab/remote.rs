//! The fake remote MISPs of a lab (`scripts/lab/remote_misp.py` in
//! `NAME-out`): starting them, their routes, and what they received.

use super::*;

/// One request as the remote MISP received it.
#[derive(Debug, Clone)]
pub struct Record {
    pub method: String,
    /// The request target exactly as sent.
    pub path: String,
    /// In order, as sent (names keep their case).
    pub headers: Vec<(String, String)>,
    /// The body as received (chunked encoding removed, nothing else).
    pub body: Vec<u8>,
    /// The client address the remote saw (the gateway's when the guard forwarded it).
    pub peer: String,
    /// Its port: the same port means the same (kept-alive) connection.
    pub peer_port: u64,
    /// The SNI the client sent, for TLS connections.
    pub sni: Option<String>,
    /// Why the remote could not parse the request (it answered 400 and
    /// recorded what it had read of it), or `None`.
    pub error: Option<String>,
}

/// One connection as the remote MISP received it: every byte, parsed or not.
#[derive(Debug, Clone)]
pub struct Received {
    /// Which connection, in the order they were opened (across listeners).
    pub id: u64,
    pub peer: String,
    pub peer_port: u64,
    /// The SNI the client sent, for TLS connections.
    pub sni: Option<String>,
    /// Everything read from the connection (after TLS), in order.
    pub bytes: Vec<u8>,
}

impl Record {
    /// The first header of that name, compared without case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (panics when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} {}: body is not JSON ({e}): {}",
                self.method,
                self.path,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// A fake remote MISP started by [`Lab::start_remote`].
pub(super) struct Remote {
    record: PathBuf,
    routes: PathBuf,
    log: PathBuf,
    /// Every byte received, per connection (`remote_misp.py --capture`).
    capture: PathBuf,
}

impl Lab {
    /// Starts `remote_misp.py` in `NAME-out` listening on each `ADDR:PORT`
    /// (`[V6]:PORT`), with TLS and certificate `DIR/{cert}.pem` ("partner" or
    /// "rogue") or plain HTTP when `cert` is None. Returns its index.
    pub fn start_remote(&mut self, listen: &[&str], cert: Option<&str>) -> usize {
        self.start_remote_with(listen, cert, &[])
    }

    /// [`Lab::start_remote`] with more arguments for `remote_misp.py`, e.g.
    /// `["--client-ca", path]` for a remote that demands a client certificate.
    pub fn start_remote_with(
        &mut self,
        listen: &[&str],
        cert: Option<&str>,
        extra: &[&str],
    ) -> usize {
        self.start_remote_in("out", listen, cert, extra)
    }

    /// [`Lab::start_remote_with`] in namespace `ns`: "in" makes it the
    /// internal MISP (192.0.2.10), for inbound sync from outside.
    pub fn start_remote_in(
        &mut self,
        ns: &str,
        listen: &[&str],
        cert: Option<&str>,
        extra: &[&str],
    ) -> usize {
        let i = self.remotes.len();
        let file = |suffix: &str| self.dir().join(format!("remote-{i}{suffix}"));
        let remote = Remote {
            record: file(".jsonl"),
            routes: file("-routes.json"),
            log: file(".log"),
            capture: file("-capture"),
        };
        let ready = file(".ready");
        let script = format!("{MANIFEST}/scripts/lab/remote_misp.py");
        let mut args = vec!["-u".to_string(), script];
        for l in listen {
            args.extend(["--listen".to_string(), l.to_string()]);
        }
        if let Some(c) = cert {
            let pem = self.dir().join(format!("{c}.pem"));
            let key = self.dir().join(format!("{c}.key"));
            assert!(pem.exists(), "no certificate {c:?} in the lab");
            args.extend([
                "--cert".into(),
                path_str(&pem),
                "--key".into(),
                path_str(&key),
            ]);
        }
        args.extend(extra.iter().map(|a| a.to_string()));
        for (flag, path) in [
            ("--record", &remote.record),
            ("--routes", &remote.routes),
            ("--ready", &ready),
            ("--capture", &remote.capture),
        ] {
            args.extend([flag.to_string(), path_str(path)]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let log = format!("remote-{i}.log");
        self.spawn(ns, "python3", &args, &log);
        let child = self.children.len() - 1;
        self.wait_for(
            &format!("remote {i} ({listen:?})"),
            &remote.log,
            |_| ready.exists(),
            |lab| lab.children[child].child.try_wait().ok().flatten(),
        );
        self.remotes.push(remote);
        i
    }

    /// Sets canned responses of remote `remote`: a JSON list of
    /// `{"method", "path", "status", "headers": {..}, "body_b64"}`, matched
    /// exactly on method and path, and on the request headers of an
    /// optional `"when_headers": {..}` (see `scripts/lab/remote_misp.py`).
    pub fn set_routes(&self, remote: usize, routes: &Value) {
        let path = &self.remote(remote).routes;
        let tmp = path.with_extension("tmp");
        fs::write(&tmp, serde_json::to_vec(routes).unwrap()).expect("write routes");
        fs::rename(&tmp, path).expect("rename routes"); // read whole or not at all
    }

    /// Every request remote `remote` received so far, in order.
    pub fn records(&self, remote: usize) -> Vec<Record> {
        let text = fs::read_to_string(&self.remote(remote).record).unwrap_or_default();
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("record line is JSON");
                let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
                Record {
                    method: s("method"),
                    path: s("path"),
                    headers: v["headers"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|h| {
                            let hs = |i: usize| h[i].as_str().unwrap_or_default().to_string();
                            (hs(0), hs(1))
                        })
                        .collect(),
                    body: base64_decode(v["body_b64"].as_str().unwrap_or_default()),
                    peer: s("peer"),
                    peer_port: v["peer_port"].as_u64().unwrap_or(0),
                    sni: v["tls"]["sni"].as_str().map(str::to_string),
                    error: v["error"].as_str().map(str::to_string),
                }
            })
            .collect()
    }

    /// The file where remote `remote` records each request (one JSON line).
    pub fn record_file(&self, remote: usize) -> &Path {
        &self.remote(remote).record
    }

    /// The directory where remote `remote` keeps every byte it received,
    /// per connection: `NNNNNN.json` (peer, port, TLS) and `NNNNNN.bin`.
    pub fn capture_dir(&self, remote: usize) -> &Path {
        &self.remote(remote).capture
    }

    /// Every connection remote `remote` accepted so far (past the TLS
    /// handshake), with every byte read from it, parsed or not, in order.
    pub fn received(&self, remote: usize) -> Vec<Received> {
        let dir = self.capture_dir(remote);
        let mut names: Vec<String> = fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter(|n| n.ends_with(".json"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
            .iter()
            .map(|name| {
                let stem = name.trim_end_matches(".json");
                let meta: Value =
                    serde_json::from_slice(&fs::read(dir.join(name)).unwrap_or_default())
                        .unwrap_or(Value::Null);
                Received {
                    id: stem.parse().unwrap_or(0),
                    peer: meta["peer"].as_str().unwrap_or_default().to_string(),
                    peer_port: meta["peer_port"].as_u64().unwrap_or(0),
                    sni: meta["tls"]["sni"].as_str().map(str::to_string),
                    bytes: fs::read(dir.join(format!("{stem}.bin"))).unwrap_or_default(),
                }
            })
            .collect()
    }

    /// The stderr of remote `remote`.
    pub fn remote_log(&self, remote: usize) -> String {
        read_lossy(&self.remote(remote).log)
    }

    fn remote(&self, i: usize) -> &Remote {
        self.remotes
            .get(i)
            .unwrap_or_else(|| panic!("no remote {i}"))
    }
}
