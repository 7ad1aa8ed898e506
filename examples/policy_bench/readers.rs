//! `--readers`: the judge's JSON reader before (`str::from_utf8`, then
//! serde_json's `from_str`) and now (`misp_warden::json`), side by side on
//! the same bodies — whole, as one chunk and in 16 KiB chunks — and merely
//! skipping (`IgnoredAny`); then the judge running *while* a body arrives:
//! a producer thread pushes 16 KiB chunks at a given rate, the judge reads
//! them on another thread, and the time from the last byte to the verdict
//! is what is left of the judge's time.

use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use misp_warden::config::Config;
use misp_warden::json::{self, Arrival};
use misp_warden::policy::{
    Connection, EventVerdicts, Framing, RequestKind, SourceSpec, judge_head, judge_request_body,
    judge_request_body_arriving, with_serde_json,
};
use serde::de::IgnoredAny;

use crate::deployment::{TARGET, build_config};
use crate::die;
use crate::generator::generate;
use crate::measure::{Workload, measure_interleaved};

const CHUNK: usize = 16 << 10;

/// The head of the benchmark's push, gzip-encoded or not.
fn head(gzip: bool) -> http::request::Parts {
    let mut b = http::Request::builder()
        .method("POST")
        .uri(TARGET)
        .header("host", "misp.partner.example.org")
        .header("content-type", "application/json");
    if gzip {
        b = b.header("content-encoding", "gzip");
    }
    b.body(()).expect("literal").into_parts().0
}

/// What the head stage admits the push as.
fn admitted<'c>(config: &'c Config, head: &http::request::Parts) -> RequestKind<'c> {
    let connection = Connection {
        source: SourceSpec::Ip("10.20.0.11".parse().expect("literal")),
        destination_ip: Some("10.30.0.12".parse().expect("literal")),
        port: 443,
        tls: true,
        sni: Some("misp.partner.example.org"),
    };
    match judge_head(config, &connection, head, Framing::default()) {
        Ok(a) => a.kind,
        Err(b) => die(&format!("the push's head is refused: {b}")),
    }
}

/// One body and the ways it is given to the judge.
struct Body {
    label: String,
    /// Decoded size (what MB/s counts).
    decoded: usize,
    gzip: bool,
    raw: Bytes,
    one_chunk: Arrival,
    chunked: Arrival,
}

impl Body {
    fn new(label: &str, decoded: usize, raw: Vec<u8>, gzip: bool) -> Body {
        let raw = Bytes::from(raw);
        Body {
            label: label.to_string(),
            decoded,
            gzip,
            one_chunk: Arrival::whole(raw.clone()),
            chunked: Arrival::from_chunks(in_chunks(&raw)),
            raw,
        }
    }
}

/// `raw` in 16 KiB slices (no copy).
fn in_chunks(raw: &Bytes) -> Vec<Bytes> {
    (0..raw.len())
        .step_by(CHUNK)
        .map(|at| raw.slice(at..(at + CHUNK).min(raw.len())))
        .collect()
}

fn allowed<E: std::fmt::Display>(what: &str, verdict: Result<impl Sized, E>) {
    if let Err(e) = verdict {
        die(&format!("{what}: expected allow, got {e}"));
    }
}

pub fn readers(seconds: u64) -> ExitCode {
    let config = build_config();
    eprint!("generating events…");
    let mut bodies: Vec<Body> = [1usize, 10, 100]
        .into_iter()
        .map(|n| {
            let g = generate(n * 1_000_000, n as u64);
            Body::new(&format!("event {n} MB"), g.body.len(), g.body, false)
        })
        .collect();
    let ten = bodies[1].raw.clone();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, &ten).expect("in memory");
    let gz = enc.finish().expect("in memory");
    bodies.push(Body::new("event 10 MB, gzip", ten.len(), gz, true));
    let heads = [head(false), head(true)];
    let kinds = [admitted(&config, &heads[0]), admitted(&config, &heads[1])];
    let judge_whole = |b: &Body| {
        let i = usize::from(b.gzip);
        judge_request_body(
            &config,
            &kinds[i],
            &heads[i].headers,
            &b.raw,
            &EventVerdicts::default(),
        )
    };
    let judge_arriving = |b: &Body, a: &Arrival| {
        let i = usize::from(b.gzip);
        judge_request_body_arriving(
            &config,
            &kinds[i],
            &heads[i].headers,
            a,
            &EventVerdicts::default(),
        )
    };
    for b in &bodies {
        allowed(&b.label, judge_whole(b));
        allowed(&b.label, with_serde_json(|| judge_whole(b)));
        allowed(&b.label, judge_arriving(b, &b.one_chunk));
        allowed(&b.label, judge_arriving(b, &b.chunked));
    }

    eprint!(" throughput (~{seconds} s)…");
    let mut workloads = Vec::new();
    for b in &bodies {
        workloads.push(Workload::new(b.decoded, || {
            allowed(&b.label, with_serde_json(|| judge_whole(b)))
        }));
        workloads.push(Workload::new(b.decoded, || {
            allowed(&b.label, judge_whole(b))
        }));
        workloads.push(Workload::new(b.decoded, || {
            allowed(&b.label, judge_arriving(b, &b.one_chunk))
        }));
        workloads.push(Workload::new(b.decoded, || {
            allowed(&b.label, judge_arriving(b, &b.chunked))
        }));
    }
    let big = &bodies[2];
    let skip_old = || {
        let text = std::str::from_utf8(&big.raw).unwrap_or_else(|_| die("not UTF-8"));
        allowed("skip", serde_json::from_str::<IgnoredAny>(text));
    };
    let skip_slice = || allowed("skip", serde_json::from_slice::<IgnoredAny>(&big.raw));
    let skip_whole = || allowed("skip", json::from_arrival::<IgnoredAny>(&big.one_chunk));
    let skip_chunked = || allowed("skip", json::from_arrival::<IgnoredAny>(&big.chunked));
    workloads.push(Workload::new(big.decoded, skip_old));
    workloads.push(Workload::new(big.decoded, skip_slice));
    workloads.push(Workload::new(big.decoded, skip_whole));
    workloads.push(Workload::new(big.decoded, skip_chunked));
    measure_interleaved(&mut workloads, Duration::from_secs(seconds));

    eprint!(" streaming…");
    let streams = streaming(&bodies, &judge_arriving);
    eprintln!(" done");

    println!(
        "misp-warden policy_bench --readers — the judge on POST {TARGET}, verdict allow; \
         MB/s of decoded JSON, median of interleaved runs, one thread per judge"
    );
    println!();
    println!(
        "{:<20} {:>6} {:>14} {:>14} {:>14} {:>14} {:>9}",
        "body", "runs", "old serde_json", "new, slice", "new, 1 chunk", "new, 16 KiB", "new/old"
    );
    for (b, w) in bodies.iter().zip(workloads.chunks(4)) {
        let r: Vec<f64> = w.iter().map(|w| w.result().median_mbps).collect();
        println!(
            "{:<20} {:>6} {:>14.0} {:>14.0} {:>14.0} {:>14.0} {:>8.2}×",
            b.label,
            w[0].result().runs,
            r[0],
            r[1],
            r[2],
            r[3],
            r[2] / r[0]
        );
    }
    let s: Vec<f64> = workloads[16..]
        .iter()
        .map(|w| w.result().median_mbps)
        .collect();
    println!(
        "{:<20} {:>6} {:>14.0} {:>14} {:>14.0} {:>14.0} {:>8.2}×",
        "skip 100 MB",
        workloads[16].result().runs,
        s[0],
        format!("({:.0} from_slice)", s[1]),
        s[2],
        s[3],
        s[2] / s[0]
    );
    println!();
    println!(
        "old: str::from_utf8 then serde_json::from_str (a gzip body decoded whole first), as the \
         judge read before; new: misp_warden::json over the body as a slice (eval), as one chunk \
         and as 16 KiB chunks (an Arrival all there: no waiting; gzip decoded into 128 KiB \
         pieces). skip: IgnoredAny over the 100 MB body (old: with from_utf8, and serde_json's \
         from_slice, which checks no UTF-8 in skipped strings)."
    );
    println!();
    println!(
        "streaming: a producer thread pushes 16 KiB chunks at a rate while the judge reads on \
         another (gzip: a third decodes); after last byte = from the producer's last push to the \
         verdict (median, max of {STREAM_RUNS} runs); judge whole = the same body judged after \
         it arrived (the old way's wait)."
    );
    println!(
        "{:<20} {:>12} {:>12} {:>18} {:>12} {:>14}",
        "body", "rate MB/s", "transfer s", "after last byte", "max", "judge whole"
    );
    for s in streams {
        println!(
            "{:<20} {:>12} {:>12.3} {:>15.2} ms {:>9.2} ms {:>11.1} ms",
            s.label,
            s.rate
                .map(|r| format!("{r:.0}"))
                .unwrap_or_else(|| "unpaced".into()),
            s.transfer,
            s.after_last_ms,
            s.max_ms,
            s.whole_ms
        );
    }
    ExitCode::SUCCESS
}

const STREAM_RUNS: usize = 5;

struct Stream {
    label: String,
    rate: Option<f64>,
    transfer: f64,
    after_last_ms: f64,
    max_ms: f64,
    whole_ms: f64,
}

/// For the 10 and 100 MB events and the gzip one, at each rate: the
/// judge started before the first byte, the producer pushing 16 KiB
/// chunks on schedule.
fn streaming<V, E: std::fmt::Display>(
    bodies: &[Body],
    judge: &(impl Fn(&Body, &Arrival) -> Result<V, E> + Sync),
) -> Vec<Stream> {
    let mut out = Vec::new();
    for b in &bodies[1..] {
        let whole_ms = {
            let mut times: Vec<f64> = (0..STREAM_RUNS)
                .map(|_| {
                    let t = Instant::now();
                    allowed(&b.label, judge(b, &b.one_chunk));
                    t.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            times.sort_by(f64::total_cmp);
            times[STREAM_RUNS / 2]
        };
        let rates: &[Option<f64>] = if b.gzip {
            &[Some(20.0), Some(50.0), None]
        } else {
            &[Some(100.0), Some(400.0), None]
        };
        for &rate in rates {
            let mut after = Vec::new();
            let mut transfer = Vec::new();
            for _ in 0..STREAM_RUNS {
                let (t, a) = stream_once(b, rate, judge);
                transfer.push(t);
                after.push(a);
            }
            after.sort_by(f64::total_cmp);
            transfer.sort_by(f64::total_cmp);
            out.push(Stream {
                label: b.label.clone(),
                rate,
                transfer: transfer[STREAM_RUNS / 2],
                after_last_ms: after[STREAM_RUNS / 2],
                max_ms: after[STREAM_RUNS - 1],
                whole_ms,
            });
        }
    }
    out
}

/// One streamed body: (seconds from the first push to the last, ms from
/// the last push to the verdict).
fn stream_once<V, E: std::fmt::Display>(
    b: &Body,
    rate: Option<f64>,
    judge: &(impl Fn(&Body, &Arrival) -> Result<V, E> + Sync),
) -> (f64, f64) {
    let chunks = in_chunks(&b.raw);
    let (arrival, producer) = Arrival::channel();
    thread::scope(|s| {
        let judged = s.spawn(|| {
            let verdict = judge(b, &arrival);
            (verdict.is_ok(), Instant::now())
        });
        let start = Instant::now();
        for (i, chunk) in chunks.into_iter().enumerate() {
            if let Some(rate) = rate {
                let due = start + Duration::from_secs_f64((i * CHUNK) as f64 / (rate * 1e6));
                let now = Instant::now();
                if due > now {
                    thread::sleep(due - now);
                }
            }
            producer.push(chunk);
        }
        producer.finish();
        let last = Instant::now();
        let (ok, at) = judged.join().expect("the judge does not panic");
        if !ok {
            die(&format!("{}: streamed, expected allow", b.label));
        }
        (
            (last - start).as_secs_f64(),
            at.saturating_duration_since(last).as_secs_f64() * 1e3,
        )
    })
}
