//! `mwbench push`, `pull` and `sync`: large bodies, encoded or not, timed
//! call by call, and concurrent sync jobs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use serde_json::json;

use crate::connection::{Exchange, Target};
use crate::generator::event_uuid;
use crate::{Args, BoxError, die};

fn encoding_header(enc: &str) -> Option<&'static str> {
    match enc {
        "none" => None,
        "gzip" => Some("gzip"),
        "br" => Some("br"),
        _ => die("--encoding none|gzip|br"),
    }
}

fn transfer_result(times: &[f64], event_bytes: u64, wire: u64, errors: u64) -> serde_json::Value {
    let total: f64 = times.iter().sum();
    let mut s = times.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    json!({
        "events": times.len(),
        "errors": errors,
        "event_bytes": event_bytes,
        "wire_bytes_per_event": wire,
        "secs": total,
        "mb_per_s": if total > 0.0 { event_bytes as f64 * times.len() as f64 / total / 1e6 } else { 0.0 },
        "s_per_event": if times.is_empty() { f64::NAN } else { total / times.len() as f64 },
        "s_per_event_median": if s.is_empty() { f64::NAN } else { s[s.len() / 2] },
    })
}

/// `count` sequential calls over one kept-alive connection (warmed up with
/// getVersion; a new one after a failure): the seconds of each answered
/// 200, the failures, and the wire bytes of the last answer.
async fn timed_calls(
    target: &Target,
    what: &str,
    count: u64,
    method: &str,
    path: &str,
    body: Bytes,
    headers: &[(&str, &str)],
) -> Result<(Vec<f64>, u64, u64), BoxError> {
    let mut c = target.connect().await?;
    c.call("GET", "/servers/getVersion", Bytes::new(), &[]).await?;
    let (mut times, mut errors, mut wire) = (Vec::new(), 0, 0);
    for _ in 0..count {
        let t = Instant::now();
        match c.call(method, path, body.clone(), headers).await {
            Ok(x) if x.status == 200 => {
                times.push(t.elapsed().as_secs_f64());
                wire = x.wire_bytes;
            }
            Ok(x) => {
                errors += 1;
                eprintln!("mwbench {what}: status {}", x.status);
                c = target.connect().await?;
            }
            Err(e) => {
                errors += 1;
                eprintln!("mwbench {what}: {e}");
                c = target.connect().await?;
            }
        }
    }
    Ok((times, errors, wire))
}

/// `push`: --count sequential POST /events/add/metadata:1 of --file (the
/// plain event; `--encoding` picks FILE.gz / FILE.br and its
/// Content-Encoding) over one kept-alive connection.
pub async fn push(a: &Args) -> Result<serde_json::Value, BoxError> {
    let target = Target::new(a)?;
    let file = a.get("file");
    let enc = a.or("encoding", "none");
    let plain_len = std::fs::metadata(&file)?.len();
    let body = Bytes::from(match encoding_header(&enc) {
        None => std::fs::read(&file)?,
        Some("gzip") => std::fs::read(format!("{file}.gz"))?,
        Some(_) => std::fs::read(format!("{file}.br"))?,
    });
    let wire = body.len() as u64;
    let headers: Vec<(&str, &str)> = encoding_header(&enc).map(|e| vec![("Content-Encoding", e)]).unwrap_or_default();
    let (times, errors, _) =
        timed_calls(&target, "push", a.num("count", 3), "POST", "/events/add/metadata:1", body, &headers).await?;
    let mut out = transfer_result(&times, plain_len, wire, errors);
    out["protocol"] = json!(target.protocol());
    Ok(out)
}

/// `pull`: --count sequential GET /events/view/<uuid of the --size MB event>
/// (Accept-Encoding from --encoding; the remote answers encoded) over one
/// kept-alive connection; --file is the plain event, for its size.
pub async fn pull(a: &Args) -> Result<serde_json::Value, BoxError> {
    let target = Target::new(a)?;
    let mb = a.num("size", 1);
    let plain_len = std::fs::metadata(a.get("file"))?.len();
    let enc = a.or("encoding", "none");
    let headers: Vec<(&str, &str)> = encoding_header(&enc).map(|e| vec![("Accept-Encoding", e)]).unwrap_or_default();
    let path = format!("/events/view/{}/deleted[]:0/deleted[]:1/excludeGalaxy:1", event_uuid(mb));
    let (times, errors, wire) =
        timed_calls(&target, "pull", a.num("count", 3), "GET", &path, Bytes::new(), &headers).await?;
    let mut out = transfer_result(&times, plain_len, wire, errors);
    out["protocol"] = json!(target.protocol());
    Ok(out)
}

/// `sync`: --jobs parallel push jobs as MISP runs them, each on its own
/// kept-alive connection: getVersion, filterEventIdsForPush with the
/// --events UUIDs, then per event HEAD /events/view/<uuid> (404: new) and
/// POST /events/add/metadata:1 of --file.
pub async fn sync_jobs(a: &Args) -> Result<serde_json::Value, BoxError> {
    let target = Target::new(a)?;
    let body = Bytes::from(std::fs::read(a.get("file"))?);
    let jobs = a.num("jobs", 16);
    let events = a.num("events", 200);
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for j in 0..jobs {
        let (target, body, errors) = (target.clone(), body.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let uuids: Vec<String> = (0..events).map(|e| format!("5be0c0de-{j:04x}-4000-8000-{e:012x}")).collect();
            let mut c = target.connect().await?;
            let ok = |x: Result<Exchange, BoxError>, want: u16| match x {
                Ok(x) if x.status == want => true,
                _ => {
                    errors.fetch_add(1, Ordering::Relaxed);
                    false
                }
            };
            ok(c.call("GET", "/servers/getVersion", Bytes::new(), &[]).await, 200);
            // What MISP's push sends: its events' UUIDs and timestamps.
            let stubs: Vec<_> =
                uuids.iter().map(|u| json!({"Event": {"uuid": u, "timestamp": "1763600000"}})).collect();
            let list = serde_json::to_vec(&stubs)?;
            ok(c.call("POST", "/events/filterEventIdsForPush", Bytes::from(list), &[]).await, 200);
            for u in &uuids {
                let r = c.call("HEAD", &format!("/events/view/{u}"), Bytes::new(), &[]).await;
                if !ok(r, 404) {
                    c = target.connect().await?;
                }
                let r = c.call("POST", "/events/add/metadata:1", body.clone(), &[]).await;
                if !ok(r, 200) {
                    c = target.connect().await?;
                }
            }
            Ok::<(), BoxError>(())
        }));
    }
    for t in tasks {
        if let Err(e) = t.await? {
            eprintln!("mwbench sync: {e}");
            errors.fetch_add(1, Ordering::Relaxed);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    Ok(json!({
        "jobs": jobs,
        "events": jobs * events,
        "errors": errors.load(Ordering::Relaxed),
        "secs": secs,
        "events_per_s": (jobs * events) as f64 / secs,
        "event_bytes": body.len(),
    }))
}
