//! Measurements: peak memory of one evaluation in a child process, and
//! throughput of the workloads timed interleaved.

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use crate::deployment::{build_config, decode_gzip, evaluate_allowed};
use crate::die;

/// Reads a `kB` field of /proc/self/status.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| {
        let rest = l.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// Resets VmHWM to the current RSS (Linux >= 4.0).
fn reset_hwm() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The child: one evaluation in a fresh process, memory figures on stdout.
pub fn child(args: &[String]) -> ExitCode {
    let (path, gzip) = match args {
        [p] => (p, false),
        [p, flag] if flag == "--gzip" => (p, true),
        _ => die("usage: policy_bench --measure-one FILE [--gzip]"),
    };
    let config = build_config();
    let rss_start = status_kib("VmRSS");
    let raw = std::fs::read(path).unwrap_or_else(|e| die(&format!("cannot read {path}: {e}")));
    let reset = reset_hwm();
    let rss_before = status_kib("VmRSS");
    let hwm_before = status_kib("VmHWM");
    let t = Instant::now();
    let body_bytes = if gzip {
        let decoded = decode_gzip(&config, &raw);
        evaluate_allowed(&config, &decoded, path);
        decoded.len()
    } else {
        evaluate_allowed(&config, &raw, path);
        raw.len()
    };
    let secs = t.elapsed().as_secs_f64();
    let hwm_after = status_kib("VmHWM");
    let show = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
    println!(
        "body_bytes={body_bytes} encoded_bytes={} rss_start_kib={} rss_before_kib={} hwm_before_kib={} hwm_after_kib={} hwm_reset={reset} cold_secs={secs}",
        raw.len(),
        show(rss_start),
        show(rss_before),
        show(hwm_before),
        show(hwm_after),
    );
    ExitCode::SUCCESS
}

pub struct Memory {
    /// Peak RSS during evaluation above the RSS just before, in bytes.
    pub eval_peak: u64,
    /// RSS before evaluation above the process's RSS before the body was read.
    pub body_rss: u64,
    /// Whether VmHWM could be reset after reading the body.
    pub clean: bool,
    pub cold_secs: f64,
}

pub fn measure_memory(path: &Path, gzip: bool) -> Option<Memory> {
    let exe = std::env::current_exe().unwrap_or_else(|e| die(&format!("current_exe: {e}")));
    let mut cmd = Command::new(exe);
    cmd.arg("--measure-one").arg(path);
    if gzip {
        cmd.arg("--gzip");
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| die(&format!("cannot run the child: {e}")));
    if !out.status.success() {
        die(&format!(
            "child for {} failed ({}): {}",
            path.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |k: &str| -> Option<&str> {
        text.split_whitespace()
            .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('='))
    };
    let num = |k: &str| field(k).and_then(|v| v.parse::<u64>().ok());
    let start = num("rss_start_kib")?;
    let before = num("rss_before_kib")?;
    let after = num("hwm_after_kib")?;
    Some(Memory {
        eval_peak: after.saturating_sub(before) * 1024,
        body_rss: before.saturating_sub(start) * 1024,
        clean: field("hwm_reset") == Some("true"),
        cold_secs: field("cold_secs")
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN),
    })
}

pub struct Throughput {
    pub runs: usize,
    pub median_mbps: f64,
    pub best_mbps: f64,
}

/// One thing to time: `run` processes `bytes` of decoded JSON.
pub struct Workload<'a> {
    pub bytes: usize,
    pub run: Box<dyn FnMut() + 'a>,
    times: Vec<f64>,
}

impl<'a> Workload<'a> {
    pub fn new(bytes: usize, run: impl FnMut() + 'a) -> Self {
        Workload {
            bytes,
            run: Box::new(run),
            times: Vec::new(),
        }
    }

    pub fn result(&self) -> Throughput {
        let mut times = self.times.clone();
        times.sort_by(f64::total_cmp);
        let n = times.len();
        let median = if n % 2 == 1 {
            times[n / 2]
        } else {
            (times[n / 2 - 1] + times[n / 2]) / 2.0
        };
        let mb = self.bytes as f64 / 1e6;
        Throughput {
            runs: n,
            median_mbps: mb / median,
            best_mbps: mb / times[0],
        }
    }
}

/// Times the workloads interleaved — round after round, each gets a slice of
/// about `total / (ROUNDS × workloads)` — so that a noisy phase of the
/// machine falls on all of them alike rather than on one row. One warm-up
/// run each first; at least `MIN_RUNS` timed runs each.
pub fn measure_interleaved(workloads: &mut [Workload], total: Duration) {
    const ROUNDS: u32 = 10;
    const MIN_RUNS: usize = 7;
    const MAX_RUNS: usize = 5000;
    for w in workloads.iter_mut() {
        (w.run)();
    }
    let slice = total / (ROUNDS * workloads.len() as u32);
    let started = Instant::now();
    loop {
        for w in workloads.iter_mut() {
            let slice_start = Instant::now();
            while w.times.len() < MAX_RUNS {
                let t = Instant::now();
                (w.run)();
                w.times.push(t.elapsed().as_secs_f64());
                if slice_start.elapsed() >= slice {
                    break;
                }
            }
        }
        if started.elapsed() >= total && workloads.iter().all(|w| w.times.len() >= MIN_RUNS) {
            break;
        }
    }
}
