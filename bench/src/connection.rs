//! The clients' side of a connection: the target (address, SNI, TLS
//! config), one connection over HTTP/1.1 or HTTP/2, request bodies, and one
//! timed exchange.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::Request;
use hyper::body::{Frame, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::{Args, BoxError, provider};

#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    host: String,
    tls: tokio_rustls::TlsConnector,
    /// `--h2`: HTTP/2, ALPN `h2` only, and nothing else accepted.
    pub h2: bool,
}

impl Target {
    pub fn new(a: &Args) -> Result<Target, BoxError> {
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
    pub fn protocol(&self) -> &'static str {
        if self.h2 { "h2" } else { "http/1.1" }
    }

    pub async fn connect(&self) -> Result<Conn, BoxError> {
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

pub struct Conn {
    send: Sender,
    host: String,
}

/// A request body: the bytes in one frame (as `Full`), and optionally a
/// `Notify` woken when hyper first asks for the body, that is once the
/// request head is written and the body is going out: the pusher of
/// `small-during-push` tells with it that its push is in flight.
struct ReqBody {
    pub data: Option<Bytes>,
    polled: Option<Arc<Notify>>,
}

impl ReqBody {
    pub fn new(data: Bytes, polled: Option<Arc<Notify>>) -> ReqBody {
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

pub struct Exchange {
    pub status: u16,
    pub wire_bytes: u64,
}

impl Conn {
    pub async fn call(
        &mut self,
        method: &str,
        path: &str,
        body: Bytes,
        headers: &[(&str, &str)],
    ) -> Result<Exchange, BoxError> {
        self.call_notify(method, path, body, headers, None).await
    }

    /// `call`, waking `polled` once the request body starts going out.
    pub async fn call_notify(
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
