//! A watch on the raw bytes of HTTP/1.1 request heads, for the one fact
//! hyper's parsed head hides: a `Content-Length` beside
//! `Transfer-Encoding`.
//!
//! hyper follows RFC 9112 §6.3 the lenient way — the chunked framing
//! wins, the `Content-Length` is silently dropped from the header map, and
//! the connection is closed after the answer. The guard takes the strict
//! way the RFC also allows: such a request "ought to be handled as an
//! error", so it is refused (400, `ambiguous_framing`) before anything is
//! forwarded. To know, [`Watch`] reads along as hyper reads the client's
//! bytes: it finds each request head, notes which length fields it had,
//! and steps over the body by the same framing rules — so it is back at
//! the next head when hyper is. The exchange takes the note for its
//! request ([`Facts::take`]) and hands it to the head judge.
//!
//! The watch only reads; it never changes a byte or blocks a read. Should
//! it ever lose its place (bytes hyper would refuse anyway), it says so,
//! and a chunked request whose head it could not see is refused as
//! unverifiable rather than waved through. HTTP/2 has no such ambiguity
//! (its frames carry the length; `transfer-encoding` is a malformed field
//! there), so the watch stands aside once it sees the HTTP/2 preface.

use crate::policy::Framing;
use http::header;
use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Largest request head the watch follows; hyper refuses larger ones.
const MAX_HEAD: usize = 64 * 1024 + 4;
/// Largest chunk-size line or trailer line followed.
const MAX_LINE: usize = 4096;

/// What the watch learnt of one request head.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Note {
    method: String,
    target: String,
    length_and_chunked: bool,
}

/// The notes of one connection, in request order, shared by the watch
/// (writing) and the exchanges (reading).
#[derive(Debug, Clone, Default)]
pub struct Facts(Arc<Mutex<Shared>>);

#[derive(Debug, Default)]
struct Shared {
    notes: VecDeque<Note>,
    /// The watch lost its place; later heads were not seen.
    lost: bool,
}

impl Facts {
    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The framing facts of the request hyper parsed as `parts`: the
    /// watch's oldest note, which must be of the same request line.
    pub fn take(&self, parts: &http::request::Parts) -> Framing {
        if parts.version == http::Version::HTTP_2 {
            return Framing::default();
        }
        let mut shared = self.lock();
        let target = parts.uri.path_and_query().map_or("", |p| p.as_str());
        match shared.notes.pop_front() {
            Some(note) if note.method == parts.method.as_str() && note.target == target => {
                Framing {
                    length_and_chunked: note.length_and_chunked,
                    unverified: false,
                }
            }
            // Out of step with hyper: nothing later can be trusted.
            Some(_) | None => {
                shared.lost = true;
                shared.notes.clear();
                Framing {
                    length_and_chunked: false,
                    unverified: parts.headers.contains_key(header::TRANSFER_ENCODING),
                }
            }
        }
    }

    fn note(&self, note: Note) {
        let mut shared = self.lock();
        if !shared.lost {
            shared.notes.push_back(note);
        }
    }

    fn lose(&self) {
        let mut shared = self.lock();
        shared.lost = true;
        shared.notes.clear();
    }
}

/// Where in the request stream the watch is.
#[derive(Debug)]
enum State {
    /// Gathering a request head up to its empty line.
    Head(Vec<u8>),
    /// Stepping over this many body bytes.
    Body(u64),
    /// Gathering a chunk-size line.
    ChunkSize(Vec<u8>),
    /// Stepping over chunk data, then its CRLF.
    ChunkData(u64),
    /// Gathering trailer lines up to the empty one.
    Trailers(Vec<u8>),
    /// HTTP/2 (the preface was seen), or the place is lost: only pass
    /// bytes on.
    Aside,
}

/// The client stream, read along.
pub struct Watch<T> {
    inner: T,
    state: State,
    facts: Facts,
}

impl<T> Watch<T> {
    pub fn new(inner: T, facts: Facts) -> Self {
        Watch {
            inner,
            state: State::Head(Vec::new()),
            facts,
        }
    }

    /// Follows `bytes`, as hyper is about to read them.
    fn follow(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            match &mut self.state {
                State::Aside => return,
                State::Body(left) | State::ChunkData(left) => {
                    let n = (*left).min(bytes.len() as u64);
                    *left -= n;
                    bytes = &bytes[n as usize..];
                    if *left == 0 {
                        self.state = match self.state {
                            State::ChunkData(_) => State::ChunkSize(Vec::new()),
                            _ => State::Head(Vec::new()),
                        };
                    }
                }
                State::Head(buf) => {
                    let (taken, done) = gather(buf, bytes, b"\r\n\r\n", MAX_HEAD, true);
                    bytes = &bytes[taken..];
                    if done {
                        let head = std::mem::take(buf);
                        self.state = self.head(&head);
                    } else if buf.len() >= MAX_HEAD {
                        self.lose();
                    }
                }
                State::ChunkSize(buf) => {
                    let (taken, done) = gather(buf, bytes, b"\r\n", MAX_LINE, false);
                    bytes = &bytes[taken..];
                    if done {
                        let line = std::mem::take(buf);
                        self.state = match chunk_size(&line) {
                            // The chunk, then the CRLF that ends it.
                            Some(0) => State::Trailers(Vec::new()),
                            Some(n) => State::ChunkData(n + 2),
                            None => State::Aside,
                        };
                        if matches!(self.state, State::Aside) {
                            self.facts.lose();
                        }
                    } else if buf.len() >= MAX_LINE {
                        self.lose();
                    }
                }
                State::Trailers(buf) => {
                    // Trailer lines, then an empty one; with no trailers
                    // the empty line comes at once.
                    let (taken, done) = gather(buf, bytes, b"\r\n", MAX_HEAD, false);
                    bytes = &bytes[taken..];
                    if done {
                        if buf.len() == 2 {
                            self.state = State::Head(Vec::new());
                        } else {
                            buf.clear();
                        }
                    } else if buf.len() >= MAX_HEAD {
                        self.lose();
                    }
                }
            }
        }
    }

    fn lose(&mut self) {
        self.state = State::Aside;
        self.facts.lose();
    }

    /// Reads a complete head; returns where the stream goes next.
    fn head(&mut self, head: &[u8]) -> State {
        let text = String::from_utf8_lossy(head);
        let mut lines = text.split("\r\n");
        let request_line = lines.next().unwrap_or_default();
        if request_line.starts_with("PRI * HTTP/2.0") {
            return State::Aside;
        }
        let mut words = request_line.split(' ');
        let (Some(method), Some(target)) = (words.next(), words.next()) else {
            self.facts.lose();
            return State::Aside;
        };
        let mut lengths = Vec::new();
        let mut codings = None;
        for line in lines.filter(|l| !l.is_empty()) {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim_matches([' ', '\t']);
            if name.eq_ignore_ascii_case("content-length") {
                lengths.push(value.to_string());
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                codings = Some(value.to_ascii_lowercase());
            }
        }
        self.facts.note(Note {
            method: method.to_string(),
            target: target.to_string(),
            length_and_chunked: codings.is_some() && !lengths.is_empty(),
        });
        match (codings, lengths.first()) {
            (Some(codings), _) if codings.rsplit(',').next().map(str::trim) == Some("chunked") => {
                State::ChunkSize(Vec::new())
            }
            // Chunked not last: hyper refuses the request and closes.
            (Some(_), _) => State::Aside,
            (None, Some(length)) => match length.parse::<u64>() {
                Ok(0) => State::Head(Vec::new()),
                Ok(n) => State::Body(n),
                Err(_) => State::Aside,
            },
            (None, None) => State::Head(Vec::new()),
        }
    }
}

/// Appends from `bytes` to `buf` up to and including `end`. Returns how
/// many bytes were taken and whether `end` was reached. With
/// `skip_blank_lines`, CRLFs before anything else are dropped (a client
/// may send empty lines before a request line).
fn gather(
    buf: &mut Vec<u8>,
    bytes: &[u8],
    end: &[u8],
    max: usize,
    skip_blank_lines: bool,
) -> (usize, bool) {
    let mut taken = 0;
    for &b in bytes {
        taken += 1;
        if skip_blank_lines && buf.is_empty() && (b == b'\r' || b == b'\n') {
            continue;
        }
        buf.push(b);
        if buf.ends_with(end) {
            return (taken, true);
        }
        if buf.len() >= max {
            return (taken, false);
        }
    }
    (taken, false)
}

/// A chunk-size line: hex digits, optional `;extensions`, CRLF.
fn chunk_size(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\r\n")?;
    let digits = line.split(|b| *b == b';').next()?.trim_ascii_end();
    let digits = std::str::from_utf8(digits).ok()?;
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

impl<T: AsyncRead + Unpin> AsyncRead for Watch<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = read
            && !matches!(this.state, State::Aside)
        {
            this.follow(&buf.filled()[before..]);
        }
        read
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watch<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(method: &str, target: &str, chunked: bool) -> http::request::Parts {
        let mut b = http::Request::builder().method(method).uri(target);
        if chunked {
            b = b.header("transfer-encoding", "chunked");
        }
        b.body(()).unwrap().into_parts().0
    }

    /// Feeds `stream` to a watch `step` bytes at a time.
    fn watched(stream: &[u8], step: usize) -> Facts {
        let facts = Facts::default();
        let mut watch = Watch::new((), facts.clone());
        for piece in stream.chunks(step) {
            watch.follow(piece);
        }
        facts
    }

    const PIPELINE: &[u8] = b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\
POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n\
3;ext=1\r\nabc\r\n0\r\nTrailer: x\r\n\r\n\
\r\nGET /c HTTP/1.1\r\nHost: x\r\ncontent-length: 0\r\nTRANSFER-ENCODING: gzip, chunked\r\n\r\n0\r\n\r\n\
GET /d HTTP/1.1\r\nHost: x\r\n\r\n";

    #[test]
    fn each_head_of_a_pipeline_is_noted_in_order_whatever_the_reads() {
        for step in [1, 2, 7, 64, PIPELINE.len()] {
            let facts = watched(PIPELINE, step);
            let a = facts.take(&parts("POST", "/a", false));
            assert!(!a.length_and_chunked && !a.unverified, "step {step}");
            let b = facts.take(&parts("POST", "/b", true));
            assert!(b.length_and_chunked, "step {step}");
            let c = facts.take(&parts("GET", "/c", true));
            assert!(c.length_and_chunked, "step {step}");
            let d = facts.take(&parts("GET", "/d", false));
            assert!(!d.length_and_chunked && !d.unverified, "step {step}");
        }
    }

    #[test]
    fn a_watch_out_of_step_refuses_to_vouch_for_chunked_requests() {
        let facts = watched(b"POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nok", 3);
        let other = facts.take(&parts("POST", "/z", true));
        assert!(other.unverified);
        // Lost for good: even a request it could have seen is unverified.
        let later = facts.take(&parts("POST", "/a", true));
        assert!(later.unverified);
        // A request with no Transfer-Encoding has nothing to verify.
        assert!(!facts.take(&parts("GET", "/", false)).unverified);
    }

    #[test]
    fn http2_and_broken_chunks_put_the_watch_aside() {
        let facts = watched(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 5);
        assert!(facts.lock().notes.is_empty());
        let facts = watched(
            b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            4,
        );
        assert!(facts.lock().lost);
    }
}
