//! Receiving a body and judging it — at once, for a large one.
//!
//! A body the judge reads is received whole before a byte of it goes on
//! (fail closed, in both modes). What changes with its size is *when* it
//! is judged:
//!
//! - a small body (or one of undeclared length) is judged once it is all
//!   there, on the connection's own thread: handing it to another thread
//!   would cost more than its parse;
//! - a large one — declared at least [`JUDGE_WHILE_ARRIVING`] — is judged
//!   on a thread of its own *while it arrives*. Each chunk the connection
//!   hands over is kept for forwarding and also pushed into an [`Arrival`]
//!   that the judge reads as it fills (a compressed body is decoded on a
//!   third thread as it arrives). The verdict is ready a few milliseconds
//!   after the last byte instead of a whole parse later, and the parse runs
//!   on the other core while this one reads and decrypts.
//!
//! Both ways run the policy's one judge on the same bytes (the policy tests
//! hold the two readings to one verdict), in an inspection slot
//! (`max_concurrent_inspections`) with the memory decoding may take paid
//! for first. A judge while arriving holds its slot as long as the body
//! takes to come, so it takes one only when one is free and another is
//! left: a slow sender never makes anyone else's small call wait. The body
//! forwarded is the chunks received, never a copy.

use super::Proxy;
use super::audit::Audit;
use super::refusal::Refusal;
use crate::body::{self, Payment, ReadError, Received};
use crate::config::Warden;
use crate::json::Arrival;
use crate::policy::{self, Block};
use http::HeaderMap;
use std::sync::Arc;
use tokio::time::Instant;

/// From this declared size up a body is judged while it arrives.
pub(super) const JUDGE_WHILE_ARRIVING: u64 = 256 * 1024;

/// A judge on a body as it arrives: it runs on a thread of its own, so it
/// owns what it reads (the config by its `Arc`, the header fields).
pub(super) type ArrivingJudge<T> = Box<dyn FnOnce(&Arrival) -> Result<T, Block> + Send>;

/// Why a body was not had.
pub(super) enum NotReceived {
    Read(ReadError),
    /// Not all there by the deadline.
    Late,
}

/// A body received, what it holds of the budget, and the verdict on it.
pub(super) struct Judged<T> {
    pub body: Received,
    pub paid: Payment,
    pub verdict: Result<T, Refusal>,
}

/// One body to receive: whose, within which limits.
pub(super) struct Receiving<'a> {
    pub proxy: &'a Arc<Proxy>,
    pub warden: &'a Warden,
    pub headers: &'a HeaderMap,
    /// "request" or "response", for the reasons given.
    pub what: &'static str,
    /// When the body must be all there.
    pub deadline: Instant,
}

impl Receiving<'_> {
    /// Receives a body nobody judges — whole all the same: a request body
    /// is never streamed through uninspected.
    pub async fn unjudged<B>(&self, body: &mut B) -> Result<(Received, Payment), NotReceived>
    where
        B: hyper::body::Body<Data = bytes::Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        self.receive(body, |_| {}).await
    }

    /// Receives a body and judges it: with `whole` once it is all there,
    /// or — a large one — with the judge `arriving` makes, on a thread of
    /// its own while it arrives.
    pub async fn judged<B, T>(
        &self,
        body: &mut B,
        audit: &mut Audit,
        whole: impl FnOnce(&[u8]) -> Result<T, Block>,
        arriving: impl FnOnce() -> ArrivingJudge<T>,
    ) -> Result<Judged<T>, NotReceived>
    where
        B: hyper::body::Body<Data = bytes::Bytes> + Unpin,
        B::Error: std::fmt::Display,
        T: Send + 'static,
    {
        let declared = body::declared_length(self.headers);
        // The slot is held for as long as the body takes to arrive, so it
        // is taken only when free, and never the last one: slow uploads
        // never make a body judged whole wait. Without one — or when its
        // decoding cannot be planned or paid for (refused the usual way,
        // below) — the body is read whole and judged after.
        let inspections = &self.proxy.inspections;
        if declared.is_some_and(|n| n >= JUDGE_WHILE_ARRIVING)
            && inspections.available_permits() > 1
            && let Ok(_slot) = inspections.try_acquire()
            && let Ok(plan) = policy::decode_plan(self.headers, declared_len(declared), self.warden)
            && let Ok(_decoding) = body::hold(&self.proxy.budget, plan.memory())
        {
            return self.judged_while_arriving(body, audit, arriving()).await;
        }
        let (received, paid) = self.receive(body, |_| {}).await?;
        let raw = received.contiguous();
        let verdict = inspect(self.proxy, self.warden, audit, self.headers, &raw, || {
            whole(&raw)
        })
        .await;
        Ok(Judged {
            body: received,
            paid,
            verdict,
        })
    }

    async fn judged_while_arriving<B, T>(
        &self,
        body: &mut B,
        audit: &mut Audit,
        judge: ArrivingJudge<T>,
    ) -> Result<Judged<T>, NotReceived>
    where
        B: hyper::body::Body<Data = bytes::Bytes> + Unpin,
        B::Error: std::fmt::Display,
        T: Send + 'static,
    {
        let (arrival, producer) = Arrival::channel();
        let judging = tokio::task::spawn_blocking(move || judge(&arrival));
        // On any early return the producer is dropped unfinished: the body
        // fails, and the judge's thread ends on its own.
        let (received, paid) = self
            .receive(body, |chunk| producer.push(chunk.clone()))
            .await?;
        producer.finish();
        let waiting = std::time::Instant::now();
        let verdict = judging
            .await
            .unwrap_or_else(|failed| std::panic::resume_unwind(failed.into_panic()));
        audit.inspected(waiting.elapsed());
        Ok(Judged {
            body: received,
            paid,
            verdict: verdict.map_err(Refusal::from),
        })
    }

    async fn receive<B>(
        &self,
        body: &mut B,
        arrived: impl FnMut(&bytes::Bytes),
    ) -> Result<(Received, Payment), NotReceived>
    where
        B: hyper::body::Body<Data = bytes::Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        let mut paid = Payment::default();
        let read = body::read(
            body,
            self.headers,
            self.warden.max_body_bytes,
            self.what,
            &self.proxy.budget,
            &mut paid,
            arrived,
        );
        match tokio::time::timeout_at(self.deadline, read).await {
            Ok(Ok(received)) => Ok((received, paid)),
            Ok(Err(e)) => Err(NotReceived::Read(e)),
            Err(_) => Err(NotReceived::Late),
        }
    }
}

fn declared_len(declared: Option<u64>) -> usize {
    declared.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// Runs `judge` on a body that is all there, with these header fields, in
/// an inspection slot (`max_concurrent_inspections`), with the memory its
/// decoding may take paid for first and given back once judged (the
/// decoded copy is never forwarded).
pub(super) async fn inspect<T>(
    proxy: &Proxy,
    warden: &Warden,
    audit: &mut Audit,
    headers: &HeaderMap,
    raw: &[u8],
    judge: impl FnOnce() -> Result<T, Block>,
) -> Result<T, Refusal> {
    let _slot = proxy.inspections.acquire().await;
    audit.inspect(raw.len(), || {
        let plan = policy::decode_plan(headers, raw.len(), warden)?;
        let _decoding = body::hold(&proxy.budget, plan.memory())?;
        Ok(judge()?)
    })
}
