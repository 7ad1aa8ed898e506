//! The daemon of a lab: its config and ruleset, starting and stopping it,
//! its log and its metrics.

use super::*;

impl Lab {
    /// Writes `config` (a full misp-warden config; see [`Lab::write_config`]),
    /// loads the gateway ruleset `misp-warden nft` renders for it
    /// ([`Lab::guard`]), then runs `misp-warden run` in `NAME-gw` and waits
    /// until its log says `misp-warden ready`. Panics with the log if it exits
    /// or is not ready in 10 s.
    pub fn start_warden(&mut self, config: &Value) {
        self.start_warden_as(config, |lab, path| {
            let mut cmd = lab.ns_cmd(lab.warden_ns(), WARDEN);
            cmd.args(["run", "--config"]).arg(path);
            cmd
        });
    }

    /// [`Lab::start_warden`] with the daemon started by `command(lab, config
    /// path)` instead (a container, say); its output goes to `DIR/warden.log`
    /// and stopping it is a SIGTERM to the process `command` starts.
    pub fn start_warden_as(
        &mut self,
        config: &Value,
        command: impl FnOnce(&Lab, &Path) -> Command,
    ) {
        assert!(self.warden.is_none(), "the warden is already running");
        let path = self.write_config(config);
        // `check` must accept every config the tests run (it refuses what
        // `run` would refuse: the same checks, tests/cli.rs).
        let checked = Command::new(WARDEN)
            .args(["check", "--config"])
            .arg(&path)
            .output()
            .expect("run misp-warden check");
        assert!(
            checked.status.success(),
            "check refused a config the test runs: {}",
            show(&checked)
        );
        self.guard();
        let log_path = self.dir().join("warden.log");
        let log = File::create(&log_path).expect("create warden.log");
        let child = command(self, &path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .expect("spawn misp-warden");
        self.warden = Some(child);
        self.wait_for(
            "misp-warden",
            &log_path,
            |log| log.lines().any(|l| l.contains("misp-warden ready")),
            |lab| {
                lab.warden
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten())
            },
        );
    }

    /// Writes `config` to `DIR/config.json` with the lab's `warden` settings
    /// filled in (listeners :8888, `DIR/warden-ca.pem`/`.key`, `upstream_ca` =
    /// `DIR/remote-ca.pem`, user nobody/nogroup; the caller's other `warden`
    /// keys kept). Returns the path.
    pub fn write_config(&self, config: &Value) -> PathBuf {
        let mut config = config.clone();
        let root = config.as_object_mut().expect("config is a JSON object");
        let warden = root.entry("warden").or_insert_with(|| json!({}));
        let warden = warden.as_object_mut().expect("\"warden\" is a JSON object");
        let d = |f: &str| path_str(&self.dir().join(f));
        for (k, v) in [
            ("listen", json!(["0.0.0.0:8888", "[::]:8888"])),
            ("ca_cert", json!(d("warden-ca.pem"))),
            ("ca_key", json!(d("warden-ca.key"))),
            ("upstream_ca", json!(d("remote-ca.pem"))),
            ("user", json!("nobody")),
            ("group", json!("nogroup")),
        ] {
            warden.insert(k.to_string(), v);
        }
        let path = self.config_path();
        fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).expect("write config");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod config");
        path
    }

    /// Loads the ruleset `misp-warden nft` renders for `DIR/config.json`
    /// (`scripts/lab.sh guard`: `--mode gateway`, `--nat`, `container-host`
    /// or `same-host`, as the lab was made), replacing the previous one.
    /// Nothing for a direct lab.
    pub fn guard(&self) {
        let (mode, nat) = match self.guard {
            Guard::None => return,
            Guard::Tproxy => ("gateway", None),
            Guard::Nat => ("gateway", Some("--nat")),
            Guard::ContainerHost => ("container-host", None),
            Guard::SameHost => ("same-host", None),
        };
        let mut cmd = self.script();
        cmd.env("MISP_WARDEN", WARDEN)
            .args(["guard", &self.name])
            .arg(self.config_path())
            .arg(mode)
            .args(nat);
        let out = cmd.output().expect("run scripts/lab.sh guard");
        assert!(out.status.success(), "lab.sh guard failed: {}", show(&out));
    }

    /// `DIR/config.json`, the file `start_warden` wrote (rewrite it to test reloads).
    pub fn config_path(&self) -> PathBuf {
        self.dir().join("config.json")
    }

    pub fn warden_pid(&self) -> u32 {
        self.warden
            .as_ref()
            .expect("the warden is not running")
            .id()
    }

    /// Everything the daemon wrote to stderr and stdout so far.
    pub fn warden_log(&self) -> String {
        read_lossy(&self.dir().join("warden.log"))
    }

    /// GET `path` of the daemon's metrics listener ([`METRICS`], which the
    /// test's config must set as `warden.metrics_listen`), from inside the
    /// daemon's namespace: the status (0 when nothing answered) and body.
    pub fn scrape(&self, path: &str) -> (u16, String) {
        let out = self
            .ns_cmd(self.warden_ns(), "curl")
            .args(["-sS", "--max-time", "5", "-w", "\n%{http_code}"])
            .arg(format!("http://{METRICS}{path}"))
            .stdin(Stdio::null())
            .output()
            .expect("curl the metrics");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (status.trim().parse().unwrap_or(0), body.to_string())
    }

    /// Polls `/metrics` (≤ 10 s) until `series` (name and labels as
    /// encoded) satisfies `wanted`; returns its value. Panics with the last
    /// scrape otherwise. How a test waits for a state of the daemon — a
    /// connection counted, a body held — instead of guessing a sleep.
    pub fn wait_for_metric(&self, series: &str, what: &str, wanted: impl Fn(f64) -> bool) -> f64 {
        let start = Instant::now();
        loop {
            let (_, text) = self.scrape("/metrics");
            let v = metric(&text, series);
            if wanted(v) {
                return v;
            }
            assert!(
                start.elapsed() < READY_TIMEOUT,
                "{series} never became {what} (last {v}):\n{text}\n{}",
                self.warden_log()
            );
            sleep(Duration::from_millis(50));
        }
    }

    /// Sends `signal` ("HUP", "TERM", ...) to the daemon.
    pub fn signal_warden(&self, signal: &str) {
        send_signal(self.warden_pid(), signal);
    }

    /// SIGTERM to the daemon, then waits for it (SIGKILL after 10 s).
    pub fn stop_warden(&mut self) -> ExitStatus {
        let mut child = self.warden.take().expect("the warden is not running");
        let status = terminate(&mut child, "misp-warden");
        if !status.success() {
            eprintln!(
                "misp-warden exited with {status}; its log:\n{}",
                self.warden_log()
            );
        }
        status
    }

    /// Waits for the daemon to exit by itself (a SIGTERM already sent, the
    /// drain under way) — at most its 30 s drain and 10 s more — and
    /// returns how it exited. Panics with the log if it does not.
    pub fn wait_for_exit(&mut self) -> ExitStatus {
        let mut child = self.warden.take().expect("the warden is not running");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(40) {
            if let Some(status) = child.try_wait().expect("wait for the warden") {
                return status;
            }
            sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("misp-warden did not exit by itself:\n{}", self.warden_log());
    }
}
