//! `mwbench small-during-push`: small calls timed while large pushes run
//! beside them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::json;
use tokio::sync::Notify;

use crate::connection::{Conn, Target};
use crate::small_calls::{small_call, small_result, small_worker};
use crate::{Args, BoxError};

/// A push that takes longer than this counts as an error.
const PUSH_TIMEOUT: Duration = Duration::from_secs(120);

/// What the pusher of `small-during-push` did.
struct PushLog {
    /// (start, end) of every push answered 200.
    pushes: Vec<(Instant, Instant)>,
    pub errors: u64,
    /// When the first push started (`None`: no connection ever).
    first: Option<Instant>,
    /// When the last push ended and the pusher stopped.
    stopped: Instant,
}

/// The pusher of `small-during-push`: POST /events/add/metadata:1 of `body`,
/// one at a time, back to back, over one kept-alive connection (a new one
/// after an error), until `stop` is set, after `max` attempts or once
/// `limit` has passed. Wakes `in_flight` as each push's body starts going
/// out; clears `pushing` when it stops.
async fn pusher(
    target: Target,
    body: Bytes,
    max: u64,
    limit: Duration,
    stop: Arc<AtomicBool>,
    pushing: Arc<AtomicBool>,
    in_flight: Arc<Notify>,
) -> PushLog {
    let begin = Instant::now();
    let mut log = PushLog { pushes: Vec::new(), errors: 0, first: None, stopped: begin };
    let mut conn: Option<Conn> = None;
    let mut attempts = 0;
    while !stop.load(Ordering::Relaxed) && attempts < max && begin.elapsed() < limit {
        attempts += 1;
        let r = tokio::time::timeout(PUSH_TIMEOUT, async {
            if conn.is_none() {
                let mut c = target.connect().await?;
                c.call("GET", "/servers/getVersion", Bytes::new(), &[]).await?;
                conn = Some(c);
            }
            // Timed from here: the connection is up.
            let t = Instant::now();
            log.first.get_or_insert(t);
            let c = conn.as_mut().unwrap();
            let x = c.call_notify("POST", "/events/add/metadata:1", body.clone(), &[], Some(in_flight.clone())).await?;
            Ok::<_, BoxError>((t, x))
        })
        .await;
        match r {
            Ok(Ok((t, x))) if x.status == 200 => log.pushes.push((t, Instant::now())),
            other => {
                log.errors += 1;
                if log.errors <= 3 {
                    match other {
                        Ok(Ok((_, x))) => eprintln!("mwbench small-during-push: push status {}", x.status),
                        Ok(Err(e)) => eprintln!("mwbench small-during-push: push: {e}"),
                        Err(_) => eprintln!("mwbench small-during-push: push timed out"),
                    }
                }
                conn = None;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    pushing.store(false, Ordering::Relaxed);
    log.stopped = Instant::now();
    log
}

/// `small-during-push`: small calls (`--req`, concurrency 1, one kept-alive
/// connection, opened and warmed up first) for --secs seconds while a
/// pusher on a thread of its own POSTs --file (the plain event) back to
/// back. The window opens once the first push's body is going out and
/// closes before the pusher is told to stop (it then finishes its push);
/// if the pusher stopped early, the run fails. Reports the small calls'
/// figures and the pushes that completed inside the window.
pub async fn small_during_push(a: &Args) -> Result<serde_json::Value, BoxError> {
    let target = Target::new(a)?;
    let secs = a.num("secs", 5);
    let req = a.or("req", "get");
    let body = Bytes::from(std::fs::read(a.get("file"))?);
    let event_bytes = body.len() as u64;
    // The small calls' connection, warmed up (the leaf is minted) before
    // the pushes start: no handshake in the window.
    let mut conn = target.connect().await?;
    {
        let (m, p, b, want) = small_call(&req);
        let x = conn.call(m, &p, b, &[]).await?;
        if x.status != want {
            return Err(format!("warm-up call: status {}", x.status).into());
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let pushing = Arc::new(AtomicBool::new(true));
    let in_flight = Arc::new(Notify::new());
    let wait = Duration::from_secs(60);
    let thread = {
        let (target, stop, pushing, in_flight) = (target.clone(), stop.clone(), pushing.clone(), in_flight.clone());
        let (max, limit) = (a.num("max-pushes", 10_000), Duration::from_secs(secs) + wait + 2 * PUSH_TIMEOUT);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(pusher(target, body, max, limit, stop, pushing, in_flight))
        })
    };
    if tokio::time::timeout(wait, in_flight.notified()).await.is_err() {
        return Err("no push in flight after 60 s".into());
    }
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut lat = small_worker(target, req, false, deadline, pushing, errors.clone(), Some(conn)).await;
    let end = Instant::now();
    stop.store(true, Ordering::Relaxed);
    let log = tokio::task::spawn_blocking(move || thread.join()).await?.map_err(|_| "the pusher panicked")?;
    if log.stopped < end {
        return Err(format!("the pusher stopped before the window closed ({} errors)", log.errors).into());
    }
    lat.sort_unstable();
    let mut out = small_result(&lat, errors.load(Ordering::Relaxed), (end - start).as_secs_f64());
    // The pushes that ended inside the window, and their rate (the first
    // one started just before the window opened).
    let done: Vec<f64> =
        log.pushes.iter().filter(|(_, e)| *e >= start && *e <= end).map(|(s, e)| (*e - *s).as_secs_f64()).collect();
    let busy: f64 = done.iter().sum();
    let o = out.as_object_mut().unwrap();
    o.insert("event_bytes".into(), json!(event_bytes));
    o.insert("pushes_in_window".into(), json!(done.len()));
    o.insert("pushes_total".into(), json!(log.pushes.len()));
    o.insert("push_errors".into(), json!(log.errors));
    o.insert(
        "push_mb_per_s".into(),
        json!(if busy > 0.0 { event_bytes as f64 * done.len() as f64 / busy / 1e6 } else { f64::NAN }),
    );
    o.insert(
        "push_ms_per_event".into(),
        json!(if done.is_empty() { f64::NAN } else { busy * 1000.0 / done.len() as f64 }),
    );
    // How long the pushes ran before the window opened and after it closed.
    o.insert("push_lead_ms".into(), json!(log.first.map_or(f64::NAN, |f| (start - f).as_secs_f64() * 1000.0)));
    o.insert("push_tail_ms".into(), json!((log.stopped - end).as_secs_f64() * 1000.0));
    Ok(out)
}
