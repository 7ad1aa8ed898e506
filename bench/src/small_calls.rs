//! `mwbench small`: small calls (GET, HEAD, an index) by N workers for S
//! seconds, over kept-alive or new connections, and their latencies.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::json;

use crate::connection::{Conn, Target};
use crate::generator::event_uuid;
use crate::{Args, BoxError, die};

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

/// The three small sync calls: (method, path, body, expected status).
pub fn small_call(req: &str) -> (&'static str, String, Bytes, u16) {
    match req {
        "get" => ("GET", "/servers/getVersion".into(), Bytes::new(), 200),
        "head" => ("HEAD", format!("/events/view/{}", event_uuid(7)), Bytes::new(), 404),
        "index" => ("POST", "/events/index".into(), Bytes::from_static(br#"{"minimal":1,"published":1}"#), 200),
        _ => die("--req get|head|index"),
    }
}

/// A call that takes longer than this counts as an error (a hung path must
/// not hang the run).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// One small-call worker: calls `req` in a loop until `deadline` or until
/// `go` turns false, over `conn` (opened first if `None`) kept alive, or
/// over a new connection per call (`newconn`). The latency of each call
/// answered with the expected status, in µs; the others count in `errors`.
pub async fn small_worker(
    target: Target,
    req: String,
    newconn: bool,
    deadline: Instant,
    go: Arc<AtomicBool>,
    errors: Arc<AtomicU64>,
    mut conn: Option<Conn>,
) -> Vec<u32> {
    let (m, p, b, want) = small_call(&req);
    let mut lat: Vec<u32> = Vec::with_capacity(1 << 16);
    while Instant::now() < deadline && go.load(Ordering::Relaxed) {
        let t = Instant::now();
        let r = tokio::time::timeout(CALL_TIMEOUT, async {
            if newconn || conn.is_none() {
                conn = Some(target.connect().await?);
            }
            conn.as_mut().unwrap().call(m, &p, b.clone(), &[]).await
        })
        .await;
        match r {
            Ok(Ok(x)) if x.status == want => lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32),
            _ => {
                errors.fetch_add(1, Ordering::Relaxed);
                conn = None;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        if newconn {
            conn = None;
        }
    }
    lat
}

/// The small-call figures of sorted latencies (µs) over `secs`.
pub fn small_result(lat: &[u32], errors: u64, secs: f64) -> serde_json::Value {
    json!({
        "requests": lat.len(),
        "errors": errors,
        "secs": secs,
        "rps": lat.len() as f64 / secs,
        "p50_ms": percentile(lat, 50.0),
        "p99_ms": percentile(lat, 99.0),
        "p999_ms": percentile(lat, 99.9),
    })
}

/// `small`: --conc workers, each calling in a loop for --secs seconds, over
/// one kept-alive connection each (`keepalive`) or a new one per call
/// (`newconn`, the latency then includes TCP and the TLS handshake).
pub async fn small(a: &Args) -> Result<serde_json::Value, BoxError> {
    let target = Target::new(a)?;
    let conc = a.num("conc", 1) as usize;
    let newconn = a.or("mode", "keepalive") == "newconn";
    let secs = a.num("secs", 5);
    let req = a.get("req");
    // Warm up (the interception CA mints the leaf once, caches are filled).
    {
        let (m, p, b, _) = small_call(&req);
        let mut c = target.connect().await?;
        c.call(m, &p, b, &[]).await?;
    }
    let errors = Arc::new(AtomicU64::new(0));
    let go = Arc::new(AtomicBool::new(true));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let w = small_worker(target.clone(), req.clone(), newconn, deadline, go.clone(), errors.clone(), None);
        tasks.push(tokio::spawn(w));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let mut out = small_result(&all, errors.load(Ordering::Relaxed), elapsed);
    out["protocol"] = json!(target.protocol());
    Ok(out)
}
