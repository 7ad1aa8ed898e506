//! The memory for bodies: one budget shared by every exchange.
//!
//! A body is judged before it is forwarded, so it must be held; what bounds
//! the memory of the whole box is [`Budget`] (`warden.body_budget_bytes`).
//! Every byte received is paid for as it arrives, and every byte a decoder
//! may produce before it runs; a [`Payment`] gives its bytes back when it
//! is dropped. When the budget is spent the request is answered 503 at
//! once (MISP retries), instead of the box running out of memory for
//! everybody.

use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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
    pub fn pay(&self, bytes: u64, held: &mut Payment) -> Result<(), Spent> {
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

/// What one body (received, or being decoded) has taken from the budget;
/// given back when dropped.
#[derive(Default)]
pub struct Payment(Option<OwnedSemaphorePermit>);

/// The budget is spent.
#[derive(Debug)]
pub struct Spent;

/// Takes `bytes` from the budget for as long as the returned [`Payment`]
/// lives (a decoder's output, while it is judged).
pub fn hold(budget: &Budget, bytes: u64) -> Result<Payment, Spent> {
    let mut held = Payment::default();
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
        let mut held = Payment::default();
        budget.pay(6 << 30, &mut held).expect("6 GiB of 10");
        assert_eq!(budget.0.available_permits(), 4 << 30);
        let mut more = Payment::default();
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
}
