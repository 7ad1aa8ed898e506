//! What the guard itself answers: MISP-style JSON, never plain text.
//!
//! MISP's sync code calls `->json()` on an error response inside its catch
//! block; a body that is not JSON throws again and aborts the whole job
//! instead of skipping one event. So every refusal looks like MISP's own
//! errors: `{"name": ..., "message": ..., "url": ...}`.

use crate::body;
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use hyper::body::{Frame, SizeHint};
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A body sent whole: an answer of the guard's own, or a body that was
/// received and judged, sent on as the chunks it came in — the very
/// buffers that were judged, never copied into one piece.
#[derive(Debug, Default)]
pub struct Body {
    chunks: std::vec::IntoIter<Bytes>,
    /// Bytes not yet handed over (the exact size hint hyper frames by).
    remaining: u64,
    /// Whether it is large enough that its memory should go back to the
    /// system once it is dropped ([`body::give_back`]).
    large: bool,
}

impl Drop for Body {
    fn drop(&mut self) {
        if self.large {
            self.chunks = Vec::new().into_iter();
            body::give_back();
        }
    }
}

impl Body {
    pub fn new(bytes: Bytes) -> Body {
        Body::from_chunks(vec![bytes])
    }

    pub fn from_chunks(chunks: Vec<Bytes>) -> Body {
        let remaining = chunks.iter().map(|c| c.len() as u64).sum();
        Body {
            chunks: chunks.into_iter(),
            remaining,
            large: remaining >= body::buffer::LARGE as u64,
        }
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        for chunk in self.chunks.by_ref() {
            if chunk.is_empty() {
                continue;
            }
            self.remaining -= chunk.len() as u64;
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

/// An answer of the guard's own with a MISP-style JSON body.
pub fn json_error(status: StatusCode, message: &str, path: &str) -> Response<Body> {
    let name = status.canonical_reason().unwrap_or("Error");
    let body = serde_json::json!({ "name": name, "message": message, "url": path });
    let mut response = Response::new(Body::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
