//! Reading a body off the wire: whole, within the size limit, paid for as
//! it arrives — or, for a request refused on its head, read and thrown away
//! so the client hears the refusal.

use super::budget::{Budget, Payment};
use super::buffer::{self, MappedBuffer};
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

/// Reads a whole body, refusing one declared or found larger than `limit`,
/// paying for each chunk as it arrives.
pub async fn read(
    body: &mut Incoming,
    headers: &HeaderMap,
    limit: u64,
    what: &'static str,
    budget: &Budget,
    held: &mut Payment,
) -> Result<Bytes, ReadError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ReadError::TooLarge { what, limit });
    }
    if let Some(n) = declared {
        // Paid for before the buffer is made, so the buffer never exceeds
        // what was paid.
        budget.pay(n, held).map_err(|_| ReadError::Busy)?;
    }
    let mut buf = Buffer::for_declared(declared);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ReadError::Broken {
            what,
            reason: e.to_string(),
        })?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers: never forwarded, nothing to judge
        };
        let total = (buf.len() + data.len()) as u64;
        if total > limit {
            return Err(ReadError::TooLarge { what, limit });
        }
        if declared.is_none_or(|n| total > n) {
            // (hyper refuses a body longer than its Content-Length.)
            budget
                .pay(data.len() as u64, held)
                .map_err(|_| ReadError::Busy)?;
        }
        buf.extend(&data);
    }
    Ok(buf.freeze())
}

/// Where a body is gathered: a large declared one in memory mapped for it
/// (see [`super::buffer`]), else on the heap.
enum Buffer {
    Heap(BytesMut),
    Mapped(MappedBuffer),
}

impl Buffer {
    fn for_declared(declared: Option<u64>) -> Buffer {
        match declared.map(|n| n as usize) {
            Some(n) if n >= buffer::LARGE => match MappedBuffer::new(n) {
                Some(mapped) => Buffer::Mapped(mapped),
                None => Buffer::Heap(BytesMut::with_capacity(n)),
            },
            Some(n) => Buffer::Heap(BytesMut::with_capacity(n)),
            None => Buffer::Heap(BytesMut::new()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Buffer::Heap(b) => b.len(),
            Buffer::Mapped(m) => m.len(),
        }
    }

    fn extend(&mut self, data: &[u8]) {
        if let Buffer::Mapped(m) = self
            && !m.extend(data)
        {
            // More than declared (hyper refuses that; kept safe anyway).
            let mut heap = BytesMut::with_capacity(m.len() + data.len());
            heap.extend_from_slice(m);
            *self = Buffer::Heap(heap);
        }
        if let Buffer::Heap(b) = self {
            b.extend_from_slice(data);
        }
    }

    fn freeze(self) -> Bytes {
        match self {
            Buffer::Heap(b) => b.freeze(),
            Buffer::Mapped(m) => m.into_bytes(),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_declared_body_is_mapped_and_kept_whole_past_its_size() {
        let n = buffer::LARGE + 1;
        let data: Vec<u8> = (0..n + 2).map(|i| (i % 251) as u8).collect();
        let mut buf = Buffer::for_declared(Some(n as u64));
        assert!(matches!(buf, Buffer::Mapped(_)));
        buf.extend(&data[..n]);
        assert!(matches!(buf, Buffer::Mapped(_)));
        // Bytes beyond the declared size go on, on the heap.
        buf.extend(&data[n..]);
        assert!(matches!(buf, Buffer::Heap(_)));
        assert_eq!(&buf.freeze()[..], &data[..]);
        assert!(matches!(Buffer::for_declared(Some(1000)), Buffer::Heap(_)));
    }
}
