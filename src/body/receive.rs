//! Reading a body off the wire: whole, as the chunks it came in, within the
//! size limit, paid for as it arrives and shown to the judge as it comes —
//! or, for a request refused on its head, read and thrown away
//! so the client hears the refusal.

use super::budget::{Budget, Payment};
use crate::config::limits::DISCARD_TIMEOUT;
use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderMap};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

/// Why a body could not be had. The first two are refusals (the daemon
/// names them by rule: `max_body_bytes`, `malformed_body`), the last is
/// "not now" (503).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{what} body larger than warden.max_body_bytes ({limit} bytes)")]
    TooLarge { what: &'static str, limit: u64 },
    #[error("the {what} body could not be read: {reason}")]
    Broken { what: &'static str, reason: String },
    #[error("the memory for bodies (warden.body_budget_bytes) is spent")]
    Busy,
}

/// A body as received: its chunks in the order they came, each as the
/// connection handed it over — never copied into one piece to be
/// forwarded — and their total length.
#[derive(Debug, Clone, Default)]
pub struct Received {
    chunks: Vec<Bytes>,
    len: usize,
}

impl Received {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn chunks(&self) -> &[Bytes] {
        &self.chunks
    }

    pub fn into_chunks(self) -> Vec<Bytes> {
        self.chunks
    }

    /// The body in one piece, for a judge that reads slices: the one chunk
    /// itself, or a copy of several.
    pub fn contiguous(&self) -> Bytes {
        match self.chunks.as_slice() {
            [] => Bytes::new(),
            [one] => one.clone(),
            many => {
                let mut whole = BytesMut::with_capacity(self.len);
                for chunk in many {
                    whole.extend_from_slice(chunk);
                }
                whole.freeze()
            }
        }
    }

    fn push(&mut self, chunk: Bytes) {
        self.len += chunk.len();
        self.chunks.push(chunk);
    }
}

impl From<Bytes> for Received {
    fn from(bytes: Bytes) -> Received {
        let mut received = Received::default();
        if !bytes.is_empty() {
            received.push(bytes);
        }
        received
    }
}

/// The length a message's head declares, if it declares one.
pub fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// Reads a whole body, refusing one declared or found larger than `limit`,
/// paying for each chunk as it arrives and showing each to `arrived` as it
/// comes (the judge reading it as it arrives).
pub async fn read<B>(
    body: &mut B,
    headers: &HeaderMap,
    limit: u64,
    what: &'static str,
    budget: &Budget,
    held: &mut Payment,
    mut arrived: impl FnMut(&Bytes),
) -> Result<Received, ReadError>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let declared = declared_length(headers);
    if declared.is_some_and(|n| n > limit) {
        return Err(ReadError::TooLarge { what, limit });
    }
    if let Some(n) = declared {
        // Paid for before a byte is held, so what is held never exceeds
        // what was paid.
        budget.pay(n, held).map_err(|_| ReadError::Busy)?;
    }
    let mut received = Received::default();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ReadError::Broken {
            what,
            reason: e.to_string(),
        })?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers: never forwarded, nothing to judge
        };
        let total = (received.len() + data.len()) as u64;
        if total > limit {
            return Err(ReadError::TooLarge { what, limit });
        }
        if declared.is_none_or(|n| total > n) {
            // (hyper refuses a body longer than its Content-Length.)
            budget
                .pay(data.len() as u64, held)
                .map_err(|_| ReadError::Busy)?;
        }
        if !data.is_empty() {
            arrived(&data);
            received.push(data);
        }
    }
    Ok(received)
}

/// Reads and throws away a request body the guard refused on its head
/// alone, so that the client — still sending it — reads the refusal instead
/// of a reset (HTTP/1.1 would close under unread bytes; HTTP/2 would cancel
/// the stream). At most `limit` bytes within [`DISCARD_TIMEOUT`], held one
/// chunk at a time; nothing is read from a client that waits for `100
/// Continue` (it has sent nothing, and must not be invited to).
pub async fn discard(body: Incoming, headers: &HeaderMap, limit: u64) {
    // (Also after a failed `read`: whatever it left unread.)
    let waits_for_continue = headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if waits_for_continue {
        return;
    }
    let drain = async {
        let mut body = Limited::new(body, limit as usize);
        while let Some(Ok(_)) = body.frame().await {}
    };
    let _ = tokio::time::timeout(DISCARD_TIMEOUT, drain).await;
}
