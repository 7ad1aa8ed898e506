//! mwbench — the Rust half of misp-warden's side-by-side benchmark.
//!
//!   mwbench gen    --out DIR [--sizes 1,10,100]
//!   mwbench remote --listen ADDR:PORT --cert PEM --key PEM --data DIR
//!   mwbench small  --ca PEM --req get|head|index --conc N --mode keepalive|newconn --secs S [--h2]
//!   mwbench push   --ca PEM --file F [--encoding none|gzip|br] --count N [--h2]
//!   mwbench pull   --ca PEM --size MB [--encoding none|gzip|br] --count N [--h2]
//!   mwbench sync   --ca PEM --file F --jobs J --events E
//!   mwbench small-during-push --ca PEM --req get|head|index --file F --secs S [--max-pushes N]
//!
//! The clients dial 203.0.113.20:443 (`--addr`) with SNI and Host
//! misp.partner.example (`--host`), HTTP/1.1 over TLS (rustls, no session
//! resumption: a new connection is a full handshake), and print one JSON
//! object on stdout. With `--h2` they offer only `h2` in ALPN, speak HTTP/2
//! (one request at a time per connection, as over HTTP/1.1) and fail if a
//! connection did not negotiate `h2`. The remote offers `h2` and `http/1.1`.
//! Run by bench/run.py (scripts/bench.sh), not by hand.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

// ---------------------------------------------------------------- arguments

struct Args(HashMap<String, String>);

/// The arguments that take no value.
const FLAGS: &[&str] = &["h2"];

impl Args {
    fn parse(raw: &[String]) -> Args {
        let mut m = HashMap::new();
        let mut it = raw.iter();
        while let Some(k) = it.next() {
            let k = k.strip_prefix("--").unwrap_or_else(|| die(&format!("bad argument {k}")));
            if FLAGS.contains(&k) {
                m.insert(k.to_string(), String::new());
                continue;
            }
            let v = it.next().unwrap_or_else(|| die(&format!("--{k} needs a value")));
            m.insert(k.to_string(), v.clone());
        }
        Args(m)
    }
    fn get(&self, k: &str) -> String {
        self.0.get(k).cloned().unwrap_or_else(|| die(&format!("--{k} is required")))
    }
    fn or(&self, k: &str, d: &str) -> String {
        self.0.get(k).cloned().unwrap_or_else(|| d.to_string())
    }
    fn flag(&self, k: &str) -> bool {
        self.0.contains_key(k)
    }
    fn num(&self, k: &str, d: u64) -> u64 {
        self.0.get(k).map_or(d, |v| v.parse().unwrap_or_else(|_| die(&format!("--{k}: not a number"))))
    }
}

fn die(msg: &str) -> ! {
    eprintln!("mwbench: {msg}");
    std::process::exit(2)
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.len() < 2 {
        die("usage: mwbench gen|remote|small|push|pull|sync|small-during-push --key value ...");
    }
    let args = Args::parse(&argv[2..]);
    let cmd = argv[1].as_str();
    if cmd == "gen" {
        return generate(&args);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.num("threads", 2) as usize)
        .enable_all()
        .build()
        .unwrap();
    let out = rt.block_on(async {
        match cmd {
            "remote" => remote(&args).await.map(|_| json!(null)),
            "small" => small(&args).await,
            "push" => push(&args).await,
            "pull" => pull(&args).await,
            "sync" => sync_jobs(&args).await,
            "small-during-push" => small_during_push(&args).await,
            _ => die(&format!("unknown command {cmd}")),
        }
    });
    match out {
        Ok(v) => println!("{v}"),
        Err(e) => die(&e.to_string()),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

// ---------------------------------------------------------------- generator

/// A small deterministic PRNG (xorshift64*), so every run pushes the same bytes.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(n);
        s
    }
    fn uuid(&mut self) -> String {
        let h = self.hex(32);
        format!("{}-{}-4{}-8{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
    }
    fn word(&mut self) -> &'static str {
        const W: &[&str] = &[
            "login", "portal", "secure", "update", "invoice", "cdn", "mail", "auth", "cloud", "files", "static", "api",
            "billing", "support", "account", "verify", "sync", "office",
        ];
        W[self.below(W.len() as u64) as usize]
    }
}

/// The UUID of the generated event of `mb` MB (pulls name it in the path).
fn event_uuid(mb: u64) -> String {
    format!("5be0c0de-0000-4000-8000-{mb:012}")
}

/// One attribute as MISP exports it (event view / push body).
fn attribute(r: &mut Rng, id: u64, object_id: u64, relation: Option<(&str, &str)>) -> String {
    let ts = 1_700_000_000 + r.below(30_000_000);
    let (ty, cat, value) = match relation {
        Some((ty, _)) => {
            let v = match ty {
                "md5" => r.hex(32),
                "sha1" => r.hex(40),
                "sha256" => r.hex(64),
                "filename" => format!("{}-{}.exe", r.word(), r.below(100000)),
                _ => format!("{}", r.below(10_000_000)),
            };
            (ty, "Payload delivery", v)
        }
        None => match r.below(6) {
            0 => ("ip-dst", "Network activity", format!("198.51.{}.{}", r.below(256), r.below(256))),
            1 => ("domain", "Network activity", format!("{}-{}.{}.example", r.word(), r.word(), r.hex(6))),
            2 => (
                "url",
                "Network activity",
                format!(
                    "https://{}.{}.example/{}/{}?id={}",
                    r.word(),
                    r.hex(8),
                    r.word(),
                    r.word(),
                    r.below(1_000_000)
                ),
            ),
            3 => ("sha256", "Payload delivery", r.hex(64)),
            4 => ("md5", "Payload delivery", r.hex(32)),
            _ => ("email-src", "Payload delivery", format!("{}.{}@{}.example", r.word(), r.below(1000), r.hex(6))),
        },
    };
    let tags = match r.below(4) {
        0 => r##"[{"id":"3","name":"tlp:green","colour":"#33FF00","exportable":true,"local":false}]"##,
        1 => r##"[{"id":"12","name":"type:OSINT","colour":"#004646","exportable":true,"local":false}]"##,
        _ => "[]",
    };
    let rel = relation.map_or("null".to_string(), |(_, n)| format!("\"{n}\""));
    format!(
        r#"{{"id":"{id}","type":"{ty}","category":"{cat}","to_ids":{},"uuid":"{}","event_id":"1","distribution":"5","timestamp":"{ts}","comment":"seen in {} campaign wave {}","sharing_group_id":"0","deleted":false,"disable_correlation":false,"object_id":"{object_id}","object_relation":{rel},"first_seen":null,"last_seen":null,"value":"{value}","Tag":{tags}}}"#,
        r.below(2) == 0,
        r.uuid(),
        r.word(),
        r.below(50),
    )
}

/// A MISP event of about `target` bytes: mostly attributes, every tenth
/// item a `file` object with three attributes.
fn event_json(target: usize, uuid: &str, seed: u64) -> Vec<u8> {
    let mut r = Rng(seed | 1);
    let mut attrs = Vec::new();
    let mut objects = Vec::new();
    let mut size = 2000;
    let mut id = 1;
    while size < target {
        if id % 10 == 0 {
            let oid = id;
            let mut inner = Vec::new();
            for rel in [("md5", "md5"), ("sha256", "sha256"), ("filename", "filename")] {
                id += 1;
                inner.push(attribute(&mut r, id, oid, Some(rel)));
            }
            let o = format!(
                r#"{{"id":"{oid}","name":"file","meta-category":"file","description":"File object describing a file with meta-information","template_uuid":"688c46fb-5edb-40a3-8273-1af7923e2215","template_version":"24","event_id":"1","uuid":"{}","timestamp":"1700000000","distribution":"5","sharing_group_id":"0","comment":"","deleted":false,"first_seen":null,"last_seen":null,"Attribute":[{}]}}"#,
                r.uuid(),
                inner.join(",")
            );
            size += o.len() + 1;
            objects.push(o);
        } else {
            let a = attribute(&mut r, id, 0, None);
            size += a.len() + 1;
            attrs.push(a);
        }
        id += 1;
    }
    format!(
        r##"{{"Event":{{"id":"1","orgc_id":"1","org_id":"1","date":"2026-11-20","threat_level_id":"2","info":"Benchmark event of {target} bytes: phishing and malware infrastructure","published":true,"uuid":"{uuid}","attribute_count":"{}","analysis":"2","timestamp":"1763600000","distribution":"1","proposal_email_lock":false,"locked":false,"publish_timestamp":"1763600000","sharing_group_id":"0","disable_correlation":false,"extends_uuid":"","protected":null,"event_creator_email":"analyst@internal.example","Org":{{"id":"1","name":"our CERT","uuid":"11111111-2222-4333-8444-555555555555","local":true}},"Orgc":{{"id":"1","name":"our CERT","uuid":"11111111-2222-4333-8444-555555555555","local":true}},"Tag":[{{"id":"3","name":"tlp:green","colour":"#33FF00","exportable":true,"local":false}},{{"id":"12","name":"type:OSINT","colour":"#004646","exportable":true,"local":false}}],"Attribute":[{}],"ShadowAttribute":[],"RelatedEvent":[],"Galaxy":[],"Object":[{}],"EventReport":[]}}}}"##,
        id - 1,
        attrs.join(","),
        objects.join(",")
    )
    .into_bytes()
}

fn write_encoded(path: &Path, plain: &[u8]) {
    let gz = path.with_extension("json.gz");
    if !gz.exists() {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(plain).unwrap();
        std::fs::write(&gz, e.finish().unwrap()).unwrap();
    }
    let br = path.with_extension("json.br");
    if !br.exists() {
        let mut out = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut out, 1 << 16, 5, 22);
            w.write_all(plain).unwrap();
        }
        std::fs::write(&br, out).unwrap();
    }
}

/// `gen --out DIR --sizes 1,10,100`: event-<N>mb.json(.gz|.br) and
/// sync-event.json, each written only if missing (the cache).
fn generate(a: &Args) {
    let out = PathBuf::from(a.get("out"));
    std::fs::create_dir_all(&out).unwrap();
    for s in a.or("sizes", "1,10,100").split(',') {
        let mb: u64 = s.parse().unwrap_or_else(|_| die("--sizes: numbers"));
        let p = out.join(format!("event-{mb}mb.json"));
        let plain = if p.exists() {
            std::fs::read(&p).unwrap()
        } else {
            let v = event_json((mb * 1_000_000) as usize, &event_uuid(mb), 0x9e37_79b9 + mb);
            std::fs::write(&p, &v).unwrap();
            v
        };
        write_encoded(&p, &plain);
    }
    let p = out.join("sync-event.json");
    if !p.exists() {
        std::fs::write(&p, event_json(20_000, "5be0c0de-0000-4000-8000-5e0000000001", 7)).unwrap();
    }
}

// ---------------------------------------------------------------- remote

const VERSION: &str = r#"{"version":"2.5.21","pymisp_recommended_version":"2.5.21","perm_sync":true,"perm_sighting":true,"perm_galaxy_editor":true,"perm_analyst_data":true,"request_encoding":["gzip","br"],"filter_sightings":true}"#;

struct Remote {
    data: PathBuf,
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

async fn handle(st: Arc<Remote>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let accept = req.headers().get("accept-encoding").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let (_n, head) = drain(req.into_body()).await?;
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    Ok(match (method.as_str(), segs.as_slice()) {
        ("GET", ["servers", "getVersion"]) => reply(StatusCode::OK, Bytes::from_static(VERSION.as_bytes()), None),
        ("HEAD", ["events", "view", _]) => reply(StatusCode::NOT_FOUND, Bytes::new(), None),
        ("POST", ["events", "index"]) => reply(StatusCode::OK, st.index.clone(), None),
        // MISP answers with the UUIDs it wants pushed: all of them here.
        ("POST", ["events", "filterEventIdsForPush"]) => reply(StatusCode::OK, head, None),
        // events/add/metadata:1 answers with the saved event's metadata.
        ("POST", ["events", "add", ..]) => reply(
            StatusCode::OK,
            Bytes::from(format!(
                r#"{{"Event":{{"id":"{}","uuid":"5be0c0de-0000-4000-8000-000000000000","info":"saved","published":true,"distribution":"1","Tag":[{{"name":"tlp:green"}}]}}}}"#,
                _n
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

async fn remote(a: &Args) -> Result<(), BoxError> {
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

// ---------------------------------------------------------------- clients

#[derive(Clone)]
struct Target {
    addr: SocketAddr,
    host: String,
    tls: tokio_rustls::TlsConnector,
    /// `--h2`: HTTP/2, ALPN `h2` only, and nothing else accepted.
    h2: bool,
}

impl Target {
    fn new(a: &Args) -> Result<Target, BoxError> {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(a.get("ca"))? {
            roots.add(c?)?;
        }
        let mut cfg = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let h2 = a.flag("h2");
        cfg.alpn_protocols = vec![if h2 { b"h2".to_vec() } else { b"http/1.1".to_vec() }];
        cfg.resumption = rustls::client::Resumption::disabled();
        Ok(Target {
            addr: a.or("addr", "203.0.113.20:443").parse()?,
            host: a.or("host", "misp.partner.example"),
            tls: tokio_rustls::TlsConnector::from(Arc::new(cfg)),
            h2,
        })
    }

    /// The protocol every connection spoke, for the client's JSON.
    fn protocol(&self) -> &'static str {
        if self.h2 { "h2" } else { "http/1.1" }
    }

    async fn connect(&self) -> Result<Conn, BoxError> {
        let tcp = TcpStream::connect(self.addr).await?;
        tcp.set_nodelay(true)?;
        let name = ServerName::try_from(self.host.clone())?;
        let tls = self.tls.connect(name, tcp).await?;
        if !self.h2 {
            let (send, conn) = hyper::client::conn::http1::handshake::<_, ReqBody>(TokioIo::new(tls)).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            return Ok(Conn { send: Sender::H1(send), host: self.host.clone() });
        }
        // A path that fell back to HTTP/1.1 must not pass for HTTP/2.
        let alpn = tls.get_ref().1.alpn_protocol();
        if alpn != Some(b"h2") {
            let got = alpn.map_or("none".to_string(), |p| String::from_utf8_lossy(p).into_owned());
            return Err(format!("--h2: the server negotiated ALPN {got}, not h2").into());
        }
        let (send, conn) =
            hyper::client::conn::http2::handshake::<_, _, ReqBody>(TokioExecutor::new(), TokioIo::new(tls)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn { send: Sender::H2(send), host: self.host.clone() })
    }
}

enum Sender {
    H1(hyper::client::conn::http1::SendRequest<ReqBody>),
    H2(hyper::client::conn::http2::SendRequest<ReqBody>),
}

struct Conn {
    send: Sender,
    host: String,
}

/// A request body: the bytes in one frame (as `Full`), and optionally a
/// `Notify` woken when hyper first asks for the body, that is once the
/// request head is written and the body is going out: the pusher of
/// `small-during-push` tells with it that its push is in flight.
struct ReqBody {
    data: Option<Bytes>,
    polled: Option<Arc<Notify>>,
}

impl ReqBody {
    fn new(data: Bytes, polled: Option<Arc<Notify>>) -> ReqBody {
        ReqBody { data: Some(data).filter(|d| !d.is_empty()), polled }
    }
}

impl hyper::body::Body for ReqBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(n) = self.polled.take() {
            n.notify_one();
        }
        Poll::Ready(self.data.take().map(|d| Ok(Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
    }
}

struct Exchange {
    status: u16,
    wire_bytes: u64,
}

impl Conn {
    async fn call(
        &mut self,
        method: &str,
        path: &str,
        body: Bytes,
        headers: &[(&str, &str)],
    ) -> Result<Exchange, BoxError> {
        self.call_notify(method, path, body, headers, None).await
    }

    /// `call`, waking `polled` once the request body starts going out.
    async fn call_notify(
        &mut self,
        method: &str,
        path: &str,
        body: Bytes,
        headers: &[(&str, &str)],
        polled: Option<Arc<Notify>>,
    ) -> Result<Exchange, BoxError> {
        let b = match self.send {
            Sender::H1(_) => Request::builder().uri(path).header("Host", &self.host),
            // HTTP/2: the host goes in :authority (as curl sends it), the
            // scheme in :scheme, both from the absolute URI.
            Sender::H2(_) => Request::builder().uri(format!("https://{}{path}", self.host)),
        };
        let mut b = b
            .method(method)
            .header("Accept", "application/json")
            .header("Authorization", "bench0000000000000000000000000000000000000")
            .header("User-Agent", "MISP 2.5.21 - #mwbench");
        if !body.is_empty() || method == "POST" {
            b = b.header("Content-Type", "application/json").header("Content-Length", body.len());
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b.body(ReqBody::new(body, polled))?;
        let resp = match &mut self.send {
            Sender::H1(s) => {
                s.ready().await?;
                s.send_request(req).await?
            }
            Sender::H2(s) => {
                s.ready().await?;
                let resp = s.send_request(req).await?;
                if resp.version() != http::Version::HTTP_2 {
                    return Err(format!("--h2: a response in {:?}", resp.version()).into());
                }
                resp
            }
        };
        let status = resp.status().as_u16();
        let mut body = resp.into_body();
        let mut n = 0u64;
        while let Some(f) = body.frame().await {
            if let Ok(d) = f?.into_data() {
                n += d.len() as u64;
            }
        }
        Ok(Exchange { status, wire_bytes: n })
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

/// The three small sync calls: (method, path, body, expected status).
fn small_call(req: &str) -> (&'static str, String, Bytes, u16) {
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
async fn small_worker(
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
fn small_result(lat: &[u32], errors: u64, secs: f64) -> serde_json::Value {
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
async fn small(a: &Args) -> Result<serde_json::Value, BoxError> {
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
async fn push(a: &Args) -> Result<serde_json::Value, BoxError> {
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
async fn pull(a: &Args) -> Result<serde_json::Value, BoxError> {
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
async fn sync_jobs(a: &Args) -> Result<serde_json::Value, BoxError> {
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
            let list = serde_json::to_vec(&uuids)?;
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

/// A push that takes longer than this counts as an error.
const PUSH_TIMEOUT: Duration = Duration::from_secs(120);

/// What the pusher of `small-during-push` did.
struct PushLog {
    /// (start, end) of every push answered 200.
    pushes: Vec<(Instant, Instant)>,
    errors: u64,
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
async fn small_during_push(a: &Args) -> Result<serde_json::Value, BoxError> {
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
