//! `mwbench remote`: the fast fake remote MISP, answering sync calls from
//! the generated events over HTTP/1.1 and HTTP/2.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;

use crate::generator::Rng;
use crate::{Args, BoxError, provider};

const VERSION: &str = r#"{"version":"2.5.21","pymisp_recommended_version":"2.5.21","perm_sync":true,"perm_sighting":true,"perm_galaxy_editor":true,"perm_analyst_data":true,"request_encoding":["gzip","br"],"filter_sightings":true}"#;

struct Remote {
    pub data: PathBuf,
    index: Bytes,
    cache: Mutex<HashMap<String, Bytes>>,
}

impl Remote {
    /// A file of the data directory, read once and kept.
    fn file(&self, name: &str) -> std::io::Result<Bytes> {
        if let Some(b) = self.cache.lock().unwrap().get(name) {
            return Ok(b.clone());
        }
        let b = Bytes::from(std::fs::read(self.data.join(name))?);
        self.cache.lock().unwrap().insert(name.to_string(), b.clone());
        Ok(b)
    }
}

fn reply(status: StatusCode, body: Bytes, encoding: Option<&str>) -> Response<Full<Bytes>> {
    let mut r = Response::builder()
        .status(status)
        .header("Content-Type", "application/json")
        .header("Content-Length", body.len());
    if let Some(e) = encoding {
        r = r.header("Content-Encoding", e);
    }
    r.body(Full::new(body)).unwrap()
}

async fn drain(body: Incoming) -> Result<(u64, Bytes), hyper::Error> {
    // Keeps only the first 64 KiB (enough for the small bodies answered from).
    let mut body = body;
    let mut n = 0u64;
    let mut head = Vec::new();
    while let Some(f) = body.frame().await {
        if let Ok(d) = f?.into_data() {
            n += d.len() as u64;
            if head.len() < 65536 {
                head.extend_from_slice(&d[..d.len().min(65536 - head.len())]);
            }
        }
    }
    Ok((n, Bytes::from(head)))
}

/// The UUID of a pushed event: the first `"uuid":"…"` of the body (the
/// generated events have the event's own first), decoded as far as its
/// first 64 KiB go when it came gzip- or br-encoded.
fn pushed_uuid(head: &[u8], encoding: &str) -> Option<String> {
    use std::io::Read;
    let mut text = Vec::new();
    let mut reader: Box<dyn Read + '_> = match encoding {
        "gzip" => Box::new(flate2::read::GzDecoder::new(head)),
        "br" => Box::new(brotli::Decompressor::new(head, 4096)),
        _ => Box::new(head),
    };
    // A cut-off stream ends in an error, after what could be decoded.
    let mut buf = [0u8; 4096];
    while text.len() < 65536 {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.extend_from_slice(&buf[..n]),
        }
    }
    let key = b"\"uuid\":\"";
    let at = text.windows(key.len()).position(|w| w == key)? + key.len();
    let len = text[at..].iter().position(|&b| b == b'"')?;
    String::from_utf8(text[at..at + len].to_vec()).ok()
}

/// The answer to `filterEventIdsForPush` wanting every event offered: the
/// UUIDs of `[{"Event":{"uuid":…,"timestamp":…}},…]`, as a list.
fn wanted_uuids(body: &[u8]) -> Bytes {
    let offered: Vec<serde_json::Value> = serde_json::from_slice(body).unwrap_or_default();
    let uuids: Vec<&serde_json::Value> = offered.iter().filter_map(|e| e.get("Event")?.get("uuid")).collect();
    Bytes::from(serde_json::to_vec(&uuids).unwrap())
}

async fn handle(st: Arc<Remote>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let accept = req.headers().get("accept-encoding").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let encoding = req.headers().get("content-encoding").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let (_n, head) = drain(req.into_body()).await?;
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    Ok(match (method.as_str(), segs.as_slice()) {
        ("GET", ["servers", "getVersion"]) => reply(StatusCode::OK, Bytes::from_static(VERSION.as_bytes()), None),
        ("HEAD", ["events", "view", _]) => reply(StatusCode::NOT_FOUND, Bytes::new(), None),
        ("POST", ["events", "index"]) => reply(StatusCode::OK, st.index.clone(), None),
        // MISP answers with the UUIDs it wants pushed: all of them here.
        ("POST", ["events", "filterEventIdsForPush"]) => reply(StatusCode::OK, wanted_uuids(&head), None),
        // events/add/metadata:1 answers with the saved event's metadata:
        // the pushed event's UUID (misp-warden refuses an answer showing
        // another event than the one pushed).
        ("POST", ["events", "add", ..]) => reply(
            StatusCode::OK,
            Bytes::from(format!(
                r#"{{"Event":{{"id":"{}","uuid":"{}","info":"saved","published":true,"distribution":"1","Tag":[{{"name":"tlp:green"}}]}}}}"#,
                _n,
                pushed_uuid(&head, &encoding).unwrap_or_else(|| "5be0c0de-0000-4000-8000-000000000000".into())
            )),
            None,
        ),
        ("GET", ["events", "view", uuid, ..]) => {
            let mb = uuid.rsplit('-').next().and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
            let (suffix, enc) = if accept.contains("br") {
                (".br", Some("br"))
            } else if accept.contains("gzip") {
                (".gz", Some("gzip"))
            } else {
                ("", None)
            };
            match st.file(&format!("event-{mb}mb.json{suffix}")) {
                Ok(b) => reply(StatusCode::OK, b, enc),
                Err(_) => reply(StatusCode::NOT_FOUND, Bytes::from_static(b"{\"message\":\"Invalid event\"}"), None),
            }
        }
        _ => reply(StatusCode::OK, Bytes::from_static(b"{\"saved\":true,\"success\":true}"), None),
    })
}

pub async fn remote(a: &Args) -> Result<(), BoxError> {
    let certs: Vec<CertificateDer> = CertificateDer::pem_file_iter(a.get("cert"))?.collect::<Result<_, _>>()?;
    let key = PrivateKeyDer::from_pem_file(a.get("key"))?;
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    // The protocol is the one ALPN chose (HTTP/1.1 without ALPN), so no
    // connection is sniffed for the HTTP/2 preface.
    let mut h1 = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new()).http1_only();
    h1.http1().keep_alive(true);
    let h1 = Arc::new(h1);
    let h2 = Arc::new(hyper_util::server::conn::auto::Builder::new(TokioExecutor::new()).http2_only());
    let seen = Arc::new([AtomicBool::new(false), AtomicBool::new(false)]);
    // A minimal events/index answer: 100 entries, as MISP's pull and push list them.
    let mut r = Rng(42);
    let entries: Vec<String> = (0..100)
        .map(|i| {
            format!(
                r#"{{"id":"{i}","timestamp":"1763600000","sighting_timestamp":"0","published":true,"uuid":"{}","orgc_uuid":"11111111-2222-4333-8444-555555555555"}}"#,
                r.uuid()
            )
        })
        .collect();
    let st = Arc::new(Remote {
        data: PathBuf::from(a.get("data")),
        index: Bytes::from(format!("[{}]", entries.join(","))),
        cache: Mutex::new(HashMap::new()),
    });
    let addr: SocketAddr = a.get("listen").parse()?;
    let listener = TcpListener::bind(addr).await?;
    if let Some(ready) = a.0.get("ready") {
        std::fs::write(ready, b"")?;
    }
    loop {
        let (tcp, _) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        let (acceptor, st, h1, h2, seen) = (acceptor.clone(), st.clone(), h1.clone(), h2.clone(), seen.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else { return };
            let is_h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
            // One line per protocol, on its first connection: remote.log
            // tells which ones the path's upstream leg used.
            if !seen[is_h2 as usize].swap(true, Ordering::Relaxed) {
                eprintln!("mwbench remote: first connection over {}", if is_h2 { "h2" } else { "http/1.1" });
            }
            let svc = hyper::service::service_fn(move |req| handle(st.clone(), req));
            let http = if is_h2 { h2 } else { h1 };
            let _ = http.serve_connection(TokioIo::new(tls), svc).await;
        });
    }
}
