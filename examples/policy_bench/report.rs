//! The report: the table, or JSON, with the machine's CPU model.

use crate::deployment::TARGET;
use crate::measure::Throughput;
use crate::run::Row;

pub fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")?
                    .split_once(':')
                    .map(|x| x.1.trim().to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

pub fn print_table(rows: &[Row], floor: &Throughput) {
    println!(
        "misp-warden policy_bench — evaluate(), POST {TARGET}, verdict allow (whole event walked)"
    );
    println!(
        "{}, {} logical CPUs; one thread; MB = 10^6 bytes of decoded JSON",
        cpu_model(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!();
    println!(
        "{:<30} {:>8} {:>7} {:>7} {:>5} {:>8} {:>9} {:>9} {:>9} {:>10}",
        "body",
        "size MB",
        "attrs",
        "objects",
        "runs",
        "MB/s med",
        "MB/s best",
        "eval peak",
        "peak/body",
        "total/body"
    );
    for r in rows {
        let label = match r.encoded_bytes {
            Some(e) => format!("{} ({:.2} MB gz)", r.label, mb(e as u64)),
            None => r.label.clone(),
        };
        let (peak, ratio, total) = match &r.memory {
            Some(m) => {
                let star = if m.clean { "" } else { "*" };
                let body = r.body_bytes as f64;
                (
                    format!("{:.1} MB{star}", mb(m.eval_peak)),
                    format!("{:.2}×", m.eval_peak as f64 / body),
                    format!("{:.2}×", (m.body_rss + m.eval_peak) as f64 / body),
                )
            }
            None => ("n/a".into(), "n/a".into(), "n/a".into()),
        };
        println!(
            "{:<30} {:>8.2} {:>7} {:>7} {:>5} {:>8.0} {:>9.0} {:>9} {:>9} {:>10}",
            label,
            mb(r.body_bytes as u64),
            r.attributes,
            r.objects,
            r.throughput.runs,
            r.throughput.median_mbps,
            r.throughput.best_mbps,
            peak,
            ratio,
            total
        );
    }
    println!();
    println!("eval peak: peak RSS during one evaluation (fresh process) minus RSS just before it;");
    println!(
        "peak/body: that divided by the decoded body size; total/body: body as read (compressed"
    );
    println!("for gzip) plus eval peak, divided by the decoded body size.");
    println!(
        "reference: serde_json only skipping the 100 MB body (IgnoredAny: no model, no rules): \
         {:.0} MB/s median, {:.0} best.",
        floor.median_mbps, floor.best_mbps
    );
    if rows
        .iter()
        .any(|r| r.memory.as_ref().is_some_and(|m| !m.clean))
    {
        println!("* VmHWM could not be reset: the figure is a lower bound.");
    }
}

pub fn print_json(rows: &[Row], floor: &Throughput) {
    let rows: Vec<_> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "body": r.label,
                "body_bytes": r.body_bytes,
                "encoded_bytes": r.encoded_bytes,
                "encoding": if r.encoded_bytes.is_some() { "gzip" } else { "identity" },
                "attributes": r.attributes,
                "objects": r.objects,
                "runs": r.throughput.runs,
                "mb_per_s_median": r.throughput.median_mbps,
                "mb_per_s_best": r.throughput.best_mbps,
                "eval_peak_rss_bytes": r.memory.as_ref().map(|m| m.eval_peak),
                "body_rss_bytes": r.memory.as_ref().map(|m| m.body_rss),
                "eval_peak_per_body": r.memory.as_ref().map(|m| m.eval_peak as f64 / r.body_bytes as f64),
                "total_peak_per_body": r.memory.as_ref().map(|m| (m.body_rss + m.eval_peak) as f64 / r.body_bytes as f64),
                "peak_measurement_clean": r.memory.as_ref().map(|m| m.clean),
                "cold_eval_secs": r.memory.as_ref().map(|m| m.cold_secs),
            })
        })
        .collect();
    let doc = serde_json::json!({
        "benchmark": "policy::evaluate",
        "request": format!("POST {TARGET}"),
        "verdict": "allow",
        "cpu": cpu_model(),
        "threads": 1,
        "mb": 1_000_000,
        "results": rows,
        "reference_serde_json_skip_100mb_mb_per_s_median": floor.median_mbps,
        "reference_serde_json_skip_100mb_mb_per_s_best": floor.best_mbps,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&doc).expect("serialisable")
    );
}
