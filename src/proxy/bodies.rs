//! Bodies in memory: read whole within the size limit, decoded for the
//! policy, and paid for out of one budget shared by every exchange.
//!
//! A body is judged before it is forwarded, so it must be held; what bounds
//! the memory of the whole box is [`Budget`] (`warden.body_budget_bytes`).
//! Every byte received is paid for as it arrives, and every byte a decoder
//! may produce before it runs; the payment is held until the exchange ends.
//! When the budget is spent the request is answered 503 at once (MISP
//! retries), instead of the box running out of memory for everybody.
//!
//! What a compressed body may decode to is the policy's to say
//! ([`crate::policy::DecodePlan`]); that much is paid for here before the
//! decoder runs, and given back once the body is judged.

use crate::buffer::{self, MappedBuffer};
use crate::policy::{Block, Rule};
use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderMap};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a refused request's body is read for, at most.
pub const DISCARD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The bytes of bodies the whole daemon may hold at once.
pub struct Budget(Arc<Semaphore>);

impl Budget {
    pub fn new(bytes: u64) -> Budget {
        let permits = usize::try_from(bytes)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        Budget(Arc::new(Semaphore::new(permits)))
    }

    /// How many bytes are held now, as a function the metrics call at
    /// each scrape.
    pub fn usage(&self) -> impl Fn() -> u64 + Send + Sync + 'static {
        let (semaphore, total) = (self.0.clone(), self.0.available_permits());
        move || total.saturating_sub(semaphore.available_permits()) as u64
    }

    /// Takes `bytes` from the budget into `held`, or says it is spent
    /// (and takes nothing).
    fn pay(&self, bytes: u64, held: &mut Held) -> Result<(), Spent> {
        // The semaphore hands out at most u32::MAX permits at a time; a
        // larger payment (a limit over 4 GiB) is made in pieces.
        let mut payment: Option<OwnedSemaphorePermit> = None;
        let mut left = bytes;
        while left > 0 {
            let n = u32::try_from(left).unwrap_or(u32::MAX);
            let permit = self
                .0
                .clone()
                .try_acquire_many_owned(n)
                .map_err(|_| Spent)?; // what was taken so far goes back with `payment`
            match &mut payment {
                Some(p) => p.merge(permit),
                None => payment = Some(permit),
            }
            left -= u64::from(n);
        }
        if let Some(permit) = payment {
            match &mut held.0 {
                Some(h) => h.merge(permit),
                None => held.0 = Some(permit),
            }
        }
        Ok(())
    }
}

/// What one exchange has taken from the budget; given back when dropped.
#[derive(Default)]
pub struct Held(Option<OwnedSemaphorePermit>);

/// The budget is spent.
#[derive(Debug)]
pub struct Spent;

/// Why a body could not be had.
#[derive(Debug)]
pub enum BodyError {
    /// Refused: too large, malformed, undecodable, over the ratio.
    Blocked(Block),
    /// Not now: the budget is spent (503).
    Busy,
}

impl From<Block> for BodyError {
    fn from(b: Block) -> Self {
        BodyError::Blocked(b)
    }
}

impl From<Spent> for BodyError {
    fn from(_: Spent) -> Self {
        BodyError::Busy
    }
}

/// Reads a whole body, refusing one declared or found larger than `limit`,
/// paying for each chunk as it arrives.
pub async fn read(
    body: &mut Incoming,
    headers: &HeaderMap,
    limit: u64,
    what: &str,
    budget: &Budget,
    held: &mut Held,
) -> Result<Bytes, BodyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(what, limit).into());
    }
    if let Some(n) = declared {
        // Paid for before the buffer is made, so the buffer never exceeds
        // what was paid.
        budget.pay(n, held)?;
    }
    let mut buf = Buffer::for_declared(declared);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            Block::new(
                Rule::MalformedBody,
                format!("the {what} body could not be read: {e}"),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers: never forwarded, nothing to judge
        };
        let total = (buf.len() + data.len()) as u64;
        if total > limit {
            return Err(too_large(what, limit).into());
        }
        if declared.is_none_or(|n| total > n) {
            // (hyper refuses a body longer than its Content-Length.)
            budget.pay(data.len() as u64, held)?;
        }
        buf.extend(&data);
    }
    Ok(buf.freeze())
}

/// Where a body is gathered: a large declared one in memory mapped for it
/// (see [`crate::buffer`]), else on the heap.
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

fn too_large(what: &str, limit: u64) -> Block {
    Block::new(
        Rule::BodyTooLarge,
        format!("{what} body larger than warden.max_body_bytes ({limit} bytes)"),
    )
}

/// Takes `bytes` from the budget for as long as the returned [`Held`]
/// lives (a decoder's output, while it is judged).
pub fn hold(budget: &Budget, bytes: u64) -> Result<Held, BodyError> {
    let mut held = Held::default();
    budget.pay(bytes, &mut held)?;
    Ok(held)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Payments over 4 GiB (the semaphore's largest single acquisition)
    /// go through; one the budget cannot cover takes nothing.
    #[test]
    fn payments_past_u32_are_made_in_pieces() {
        let budget = Budget::new(10 << 30);
        let mut held = Held::default();
        budget.pay(6 << 30, &mut held).expect("6 GiB of 10");
        assert_eq!(budget.0.available_permits(), 4 << 30);
        let mut more = Held::default();
        assert!(
            budget.pay(5 << 30, &mut more).is_err(),
            "5 GiB of the 4 left"
        );
        assert_eq!(
            budget.0.available_permits(),
            4 << 30,
            "a refused payment takes nothing"
        );
        drop(held);
        assert_eq!(budget.0.available_permits(), 10 << 30);
    }

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
