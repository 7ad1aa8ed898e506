//! What the daemon counts, and the small HTTP server that shows it
//! (`warden.metrics_listen`).
//!
//! Three paths: `/metrics` (Prometheus/OpenMetrics text, encoded by the
//! `prometheus-client` crate), `/healthz` (the process answers: liveness) and
//! `/readyz` (listeners bound, a policy in force, not stopping: whether to
//! send it traffic — keepalived or a load balancer asks this one).
//!
//! Labels carry only names the config or the endpoint table defines
//! (directions, endpoint names, verdicts, rule ids, causes), never a value
//! from a request: a peer cannot grow the label space, and nothing secret
//! can reach a scrape.

use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// push, pull, control, feed, allowlist — or unknown when refused
    /// before the endpoint was known.
    direction: &'static str,
    /// The endpoint table's name (`events/add`), or `-`.
    endpoint: &'static str,
    /// allow, block, would_block, error.
    verdict: &'static str,
    /// The rule id that refused, or `-`.
    rule: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Part {
    part: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Cause {
    cause: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConfigLabels {
    sha256: String,
}

/// One exchange as the metrics see it.
pub struct ExchangeRecord {
    pub direction: &'static str,
    pub endpoint: &'static str,
    pub verdict: &'static str,
    pub rule: &'static str,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    inspected_bytes: Family<Part, Counter>,
    inspection_seconds: Histogram,
    handshake_failures: Family<Cause, Counter>,
    upstream_errors: Family<Cause, Counter>,
    active_connections: Gauge,
    connections_refused: Family<Cause, Counter>,
    leaf_cache: Family<Outcome, Counter>,
    reloads: Family<Outcome, Counter>,
    config_info: Family<ConfigLabels, Gauge>,
    /// The interception CA by its certificate's fingerprint: two boxes of
    /// a pair must show the same (MISP trusts one CA).
    ca_info: Family<ConfigLabels, Gauge>,
    config_loaded: Gauge,
    /// Bytes of bodies held now (`warden.body_budget_bytes` is the most),
    /// read from the budget at each scrape.
    body_budget_used: Watched,
    /// `warden.body_budget_bytes` in force (read at start).
    body_budget_total: Gauge,
    /// Events whose verdict the guard remembers (their sightings and
    /// proposals go where they went), read at each scrape.
    remembered_events: Watched,
    /// `/readyz` as a series, so an alert can see a daemon not ready.
    ready_gauge: Gauge,
    /// The hash `config_info` currently shows, to clear its series on reload.
    config_hash: std::sync::Mutex<String>,
    ready: AtomicBool,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("misp_warden");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Exchanges judged, by direction, endpoint, verdict and rule",
            requests.clone(),
        );
        let inspected_bytes = Family::<Part, Counter>::default();
        registry.register(
            "inspected_bytes",
            "Body bytes read and judged (as received, before decoding)",
            inspected_bytes.clone(),
        );
        // 100 µs .. ~52 s.
        let inspection_seconds = Histogram::new(exponential_buckets(0.0001, 4.0, 10));
        registry.register(
            "inspection_seconds",
            "Time spent decoding and judging bodies, per exchange",
            inspection_seconds.clone(),
        );
        let handshake_failures = Family::<Cause, Counter>::default();
        registry.register(
            "tls_handshake_failures",
            "Client TLS handshakes that failed, by cause",
            handshake_failures.clone(),
        );
        let upstream_errors = Family::<Cause, Counter>::default();
        registry.register(
            "upstream_errors",
            "Upstream connections or exchanges that failed (502/504), by cause",
            upstream_errors.clone(),
        );
        let active_connections = Gauge::default();
        registry.register(
            "active_connections",
            "Client connections open now",
            active_connections.clone(),
        );
        let connections_refused = Family::<Cause, Counter>::default();
        registry.register(
            "connections_refused",
            "Client connections closed at once by a limit, by cause",
            connections_refused.clone(),
        );
        let leaf_cache = Family::<Outcome, Counter>::default();
        registry.register(
            "certificate_cache",
            "Leaf certificate lookups: hit (cached) or miss (minted)",
            leaf_cache.clone(),
        );
        let reloads = Family::<Outcome, Counter>::default();
        registry.register(
            "config_reloads",
            "Config reloads: applied, or refused (the previous config stayed)",
            reloads.clone(),
        );
        let config_info = Family::<ConfigLabels, Gauge>::default();
        registry.register(
            "config_info",
            "The config in force, by the SHA-256 of its file (value 1)",
            config_info.clone(),
        );
        let ca_info = Family::<ConfigLabels, Gauge>::default();
        registry.register(
            "ca_info",
            "The interception CA in force, by the SHA-256 of its certificate (DER; value 1)",
            ca_info.clone(),
        );
        let config_loaded = Gauge::default();
        registry.register(
            "config_loaded_timestamp_seconds",
            "When the config in force was loaded (Unix time)",
            config_loaded.clone(),
        );
        let body_budget_used = Watched::default();
        registry.register(
            "body_budget_used_bytes",
            "Bytes of request and response bodies held in memory now, received and decoded (at most warden.body_budget_bytes)",
            body_budget_used.gauge.clone(),
        );
        let remembered_events = Watched::default();
        registry.register(
            "remembered_events",
            "Events whose verdict the guard remembers for the children it judges by them (sightings, proposals); 0 after a start, or a reload that changed the rules",
            remembered_events.gauge.clone(),
        );
        let ready_gauge = Gauge::default();
        registry.register(
            "ready",
            "1 while the daemon takes connections (listeners bound, a policy in force), 0 from SIGTERM on: /readyz as a series",
            ready_gauge.clone(),
        );
        let body_budget_total = Gauge::default();
        registry.register(
            "body_budget_bytes",
            "warden.body_budget_bytes: the most bytes of bodies held at once",
            body_budget_total.clone(),
        );
        Metrics {
            registry,
            requests,
            inspected_bytes,
            inspection_seconds,
            handshake_failures,
            upstream_errors,
            active_connections,
            connections_refused,
            leaf_cache,
            reloads,
            config_info,
            ca_info,
            config_loaded,
            body_budget_used,
            body_budget_total,
            remembered_events,
            ready_gauge,
            config_hash: Default::default(),
            ready: AtomicBool::new(false),
        }
    }

    pub fn exchange(&self, r: &ExchangeRecord, bytes_in: usize, bytes_out: usize) {
        self.requests
            .get_or_create(&RequestLabels {
                direction: r.direction,
                endpoint: r.endpoint,
                verdict: r.verdict,
                rule: r.rule,
            })
            .inc();
        let add = |part, n: usize| {
            self.inspected_bytes
                .get_or_create(&Part { part })
                .inc_by(n as u64);
        };
        add("request", bytes_in);
        add("response", bytes_out);
    }

    pub fn inspection(&self, spent: Duration) {
        self.inspection_seconds.observe(spent.as_secs_f64());
    }

    pub fn handshake_failed(&self, cause: &'static str) {
        self.handshake_failures
            .get_or_create(&Cause { cause })
            .inc();
    }

    pub fn upstream_failed(&self, cause: &'static str) {
        self.upstream_errors.get_or_create(&Cause { cause }).inc();
    }

    pub fn connection_opened(&self) {
        self.active_connections.inc();
    }

    pub fn connection_closed(&self) {
        self.active_connections.dec();
    }

    pub fn connection_refused(&self, cause: &'static str) {
        self.connections_refused
            .get_or_create(&Cause { cause })
            .inc();
    }

    pub fn leaf_lookup(&self, cached: bool) {
        let result = if cached { "hit" } else { "miss" };
        self.leaf_cache.get_or_create(&Outcome { result }).inc();
    }

    pub fn reload(&self, applied: bool) {
        let result = if applied { "applied" } else { "refused" };
        self.reloads.get_or_create(&Outcome { result }).inc();
    }

    /// The config now in force: its file's hash, loaded now.
    pub fn config_in_force(&self, sha256: &str) {
        let mut shown = self.config_hash.lock().unwrap_or_else(|p| p.into_inner());
        self.config_info.remove(&ConfigLabels {
            sha256: shown.clone(),
        });
        self.config_info
            .get_or_create(&ConfigLabels {
                sha256: sha256.to_string(),
            })
            .set(1);
        *shown = sha256.to_string();
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.config_loaded.set(now as i64);
    }

    /// The interception CA, by its certificate's SHA-256; set once, at
    /// start (the CA changes only on restart).
    pub fn ca_in_force(&self, sha256: &str) {
        self.ca_info
            .get_or_create(&ConfigLabels {
                sha256: sha256.to_string(),
            })
            .set(1);
    }

    /// Ready (listeners bound, policy loaded) or not (stopping).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    /// The body budget (`total` bytes) and where the bytes it holds now are
    /// read from; set once, at start.
    pub fn watch_body_budget(&self, total: u64, usage: impl Fn() -> u64 + Send + Sync + 'static) {
        self.body_budget_total
            .set(i64::try_from(total).unwrap_or(i64::MAX));
        self.body_budget_used.watch(usage);
    }

    /// How many event verdicts are remembered, read at each scrape.
    pub fn watch_remembered_events(&self, count: impl Fn() -> u64 + Send + Sync + 'static) {
        self.remembered_events.watch(count);
    }

    fn encode(&self) -> String {
        self.body_budget_used.refresh();
        self.remembered_events.refresh();
        self.ready_gauge
            .set(i64::from(self.ready.load(Ordering::SeqCst)));
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// A gauge whose value is read from elsewhere when scraped.
#[derive(Default)]
struct Watched {
    gauge: Gauge,
    read: std::sync::OnceLock<Box<dyn Fn() -> u64 + Send + Sync>>,
}

impl Watched {
    fn watch(&self, read: impl Fn() -> u64 + Send + Sync + 'static) {
        let _ = self.read.set(Box::new(read));
    }

    fn refresh(&self) {
        if let Some(read) = self.read.get() {
            self.gauge.set(i64::try_from(read()).unwrap_or(i64::MAX));
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Serves `/metrics`, `/healthz` and `/readyz` on `listener` until the task
/// is dropped. GET (and HEAD) only; anything else is a 404 or 405.
pub async fn serve(metrics: Arc<Metrics>, listener: tokio::net::TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| answer(metrics.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    metrics: Arc<Metrics>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let reply = |status: StatusCode, content_type: &str, body: String| {
        Response::builder()
            .status(status)
            .header(http::header::CONTENT_TYPE, content_type)
            .body(Full::new(Bytes::from(body)))
            .expect("static response parts")
    };
    const TEXT: &str = "text/plain; charset=utf-8";
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Ok(reply(
            StatusCode::METHOD_NOT_ALLOWED,
            TEXT,
            "GET only\n".into(),
        ));
    }
    Ok(match req.uri().path() {
        "/metrics" => reply(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.encode(),
        ),
        "/healthz" => reply(StatusCode::OK, TEXT, "ok\n".into()),
        "/readyz" if metrics.ready.load(Ordering::SeqCst) => {
            reply(StatusCode::OK, TEXT, "ready\n".into())
        }
        "/readyz" => reply(StatusCode::SERVICE_UNAVAILABLE, TEXT, "not ready\n".into()),
        _ => reply(StatusCode::NOT_FOUND, TEXT, "not found\n".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exchange_moves_its_series_and_the_bytes() {
        let m = Metrics::new();
        let record = ExchangeRecord {
            direction: "push",
            endpoint: "events/add",
            verdict: "block",
            rule: "blocked_tags",
        };
        m.exchange(&record, 120, 0);
        m.exchange(&record, 30, 0);
        let text = m.encode();
        assert!(
            text.contains(r#"misp_warden_requests_total{direction="push",endpoint="events/add",verdict="block",rule="blocked_tags"} 2"#),
            "{text}"
        );
        assert!(text.contains(r#"misp_warden_inspected_bytes_total{part="request"} 150"#));
    }

    #[test]
    fn config_info_shows_only_the_config_in_force() {
        let m = Metrics::new();
        m.config_in_force("aaaa");
        m.config_in_force("bbbb");
        let text = m.encode();
        assert!(
            text.contains(r#"misp_warden_config_info{sha256="bbbb"} 1"#),
            "{text}"
        );
        assert!(!text.contains("aaaa"), "{text}");
    }

    #[test]
    fn ca_info_shows_the_fingerprint() {
        let m = Metrics::new();
        m.ca_in_force("cccc");
        let text = m.encode();
        assert!(
            text.contains(r#"misp_warden_ca_info{sha256="cccc"} 1"#),
            "{text}"
        );
    }
}
