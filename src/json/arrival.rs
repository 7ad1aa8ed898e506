//! [`Arrival`]: a body as it arrives, chunk by chunk, shared between the
//! task that receives it and the thread that reads it.

use bytes::Bytes;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// A body as it arrives: the chunks received so far, in order, each kept
/// whole and never moved until the `Arrival` is dropped (or taken apart by
/// [`into_chunks`](Arrival::into_chunks)), and whether more will come.
///
/// One producer — the task receiving the body, which must never block —
/// appends with [`push`](Arrival::push) and ends with
/// [`finish`](Arrival::finish) or [`fail`](Arrival::fail) (or through a
/// [`Producer`], which fails the body if dropped before its end). Readers
/// on other threads wait for what has not arrived yet
/// ([`wait_chunk`](Arrival::wait_chunk), [`wait_end`](Arrival::wait_end),
/// [`Reader`]) and may borrow from the chunks for as long as they hold a
/// reference to the `Arrival`: a chunk once pushed stays where it is.
///
/// The chunks are stored in a [`boxcar::Vec`], an append-only vector whose
/// elements never move, so `push(&self)` and `&Bytes` handed out earlier
/// live side by side without a lock on the reading path (and without
/// `unsafe` here); a mutex and a condition variable carry only the count
/// and the end, for the waits.
pub struct Arrival {
    chunks: boxcar::Vec<Bytes>,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    /// Chunks pushed (`chunks.count()` once their pushes returned).
    count: usize,
    /// Bytes pushed.
    bytes: usize,
    end: End,
    /// Readers waiting on `changed`: a push wakes them only when there are
    /// some (a wake-up is a system call).
    waiting: usize,
}

#[derive(Default)]
enum End {
    #[default]
    Open,
    Finished,
    Failed(Arc<str>),
}

/// The producer gave up on the body (a broken connection, a body over a
/// limit, a decoder's error…): the reason it gave.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Failed(pub Arc<str>);

impl Default for Arrival {
    fn default() -> Self {
        Arrival::new()
    }
}

impl Arrival {
    /// An empty body, open: more will come.
    pub fn new() -> Arrival {
        Arrival {
            chunks: boxcar::Vec::new(),
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        }
    }

    /// A body that is already all there (eval, tests, fuzzers): one chunk,
    /// finished.
    pub fn whole(body: impl Into<Bytes>) -> Arrival {
        Arrival::from_chunks([body.into()])
    }

    /// A body that is all there, in these chunks (empty ones included).
    pub fn from_chunks(chunks: impl IntoIterator<Item = Bytes>) -> Arrival {
        let arrival = Arrival::new();
        for chunk in chunks {
            arrival.push(chunk);
        }
        arrival.finish();
        arrival
    }

    /// A shared, open body and the [`Producer`] that fills it.
    pub fn channel() -> (Arc<Arrival>, Producer) {
        let arrival = Arc::new(Arrival::new());
        (arrival.clone(), Producer(arrival))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; a poisoned one is as good.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends a chunk (an empty one too: it is kept, as received). Never
    /// blocks but on the short lock readers take to look at the count.
    /// After the end (finished or failed) a push is ignored.
    pub fn push(&self, chunk: Bytes) {
        let mut state = self.lock();
        if !matches!(state.end, End::Open) {
            debug_assert!(
                matches!(state.end, End::Failed(_)),
                "a chunk pushed after finish()"
            );
            return;
        }
        state.bytes += chunk.len();
        // Under the lock: `count` and the vector agree for readers that
        // look at `count` under it.
        self.chunks.push(chunk);
        state.count += 1;
        self.wake(state);
    }

    /// No more chunks will come: readers see the end of the body.
    pub fn finish(&self) {
        let mut state = self.lock();
        if matches!(state.end, End::Open) {
            state.end = End::Finished;
        }
        self.wake(state);
    }

    /// The body will not arrive whole: readers waiting for more get
    /// [`Failed`] with this reason (what arrived before stays readable).
    /// Ignored once the body ended.
    pub fn fail(&self, reason: impl Into<Arc<str>>) {
        let mut state = self.lock();
        if matches!(state.end, End::Open) {
            state.end = End::Failed(reason.into());
        }
        self.wake(state);
    }

    fn wake(&self, state: MutexGuard<'_, State>) {
        let waiting = state.waiting > 0;
        drop(state);
        if waiting {
            self.changed.notify_all();
        }
    }

    /// Bytes arrived so far.
    pub fn len(&self) -> usize {
        self.lock().bytes
    }

    /// Whether no byte arrived so far.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the body ended (finished or failed): nothing more will come.
    pub fn is_ended(&self) -> bool {
        !matches!(self.lock().end, End::Open)
    }

    /// Chunk `index`, waiting until it arrives; `None` when the body
    /// finished with fewer chunks.
    pub fn wait_chunk(&self, index: usize) -> Result<Option<&Bytes>, Failed> {
        if let Some(chunk) = self.chunks.get(index) {
            return Ok(Some(chunk));
        }
        let mut state = self.lock();
        loop {
            if state.count > index {
                return Ok(self.chunks.get(index));
            }
            match &state.end {
                End::Finished => return Ok(None),
                End::Failed(why) => return Err(Failed(why.clone())),
                End::Open => {}
            }
            state.waiting += 1;
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.waiting -= 1;
        }
    }

    /// Chunk `index` if it arrived, without waiting.
    pub(crate) fn chunk_at(&self, index: usize) -> Option<&Bytes> {
        self.chunks.get(index)
    }

    /// Waits for the end of the body: its length once finished.
    pub fn wait_end(&self) -> Result<usize, Failed> {
        let mut state = self.lock();
        loop {
            match &state.end {
                End::Finished => return Ok(state.bytes),
                End::Failed(why) => return Err(Failed(why.clone())),
                End::Open => {}
            }
            state.waiting += 1;
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.waiting -= 1;
        }
    }

    /// Waits until the body is known to be empty (`Ok(true)`: it finished
    /// without a byte) or not (`Ok(false)`: a byte arrived).
    pub fn wait_is_empty(&self) -> Result<bool, Failed> {
        let mut index = 0;
        while let Some(chunk) = self.wait_chunk(index)? {
            if !chunk.is_empty() {
                return Ok(false);
            }
            index += 1;
        }
        Ok(true)
    }

    /// The chunks arrived so far, in order, without waiting (all of them
    /// once the body finished): the very chunks pushed, to forward.
    pub fn chunks(&self) -> impl Iterator<Item = &Bytes> {
        let count = self.lock().count;
        (0..count).map_while(|i| self.chunks.get(i))
    }

    /// The chunks, taken out: the very ones pushed, in order.
    pub fn into_chunks(self) -> impl Iterator<Item = Bytes> {
        self.chunks.into_iter()
    }

    /// A blocking [`std::io::Read`] over the body, from its first byte.
    pub fn reader(&self) -> Reader<'_> {
        Reader {
            arrival: self,
            next: 0,
            current: &[],
        }
    }

    /// Waits for the whole body, then checks that it is UTF-8: `Err` with
    /// the offset of the first byte that is not (`str::from_utf8`'s
    /// `valid_up_to`), or with the failure if it did not arrive whole.
    pub fn check_utf8(&self) -> Result<Result<(), usize>, Failed> {
        self.wait_end()?;
        Ok(utf8_across(self.chunks().map(|c| &c[..])))
    }
}

impl std::fmt::Debug for Arrival {
    /// Its size and state only: a body's bytes never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        let end = match &state.end {
            End::Open => "open",
            End::Finished => "finished",
            End::Failed(_) => "failed",
        };
        write!(
            f,
            "Arrival({} bytes in {} chunks, {end})",
            state.bytes, state.count
        )
    }
}

/// Whether these pieces, end to end, are UTF-8: `Err(offset)` of the first
/// byte that is not (a character cut by the end counts as invalid where
/// it starts).
pub(crate) fn utf8_across<'c>(pieces: impl IntoIterator<Item = &'c [u8]>) -> Result<(), usize> {
    // A character begun in an earlier piece: its bytes so far, and where
    // it starts in the body.
    let mut carry = [0u8; 4];
    let mut carried = 0;
    let mut carry_start = 0;
    let mut offset = 0; // where the current piece starts in the body
    for piece in pieces {
        let mut rest = piece;
        while carried > 0 && !rest.is_empty() {
            carry[carried] = rest[0];
            carried += 1;
            rest = &rest[1..];
            match std::str::from_utf8(&carry[..carried]) {
                Ok(_) => carried = 0,
                Err(e) if e.error_len().is_some() => return Err(carry_start),
                Err(_) => {}
            }
        }
        let start = piece.len() - rest.len();
        match std::str::from_utf8(rest) {
            Ok(_) => {}
            Err(e) if e.error_len().is_some() => return Err(offset + start + e.valid_up_to()),
            Err(e) => {
                let tail = &rest[e.valid_up_to()..];
                carry[..tail.len()].copy_from_slice(tail);
                carried = tail.len();
                carry_start = offset + start + e.valid_up_to();
            }
        }
        offset += piece.len();
    }
    if carried > 0 {
        return Err(carry_start);
    }
    Ok(())
}

/// The producing end of a shared [`Arrival`] (see [`Arrival::channel`]):
/// the body fails if this is dropped before [`finish`](Producer::finish)
/// or [`fail`](Producer::fail), so that a reader never waits for a
/// receiving task that was cancelled or panicked.
pub struct Producer(Arc<Arrival>);

impl Producer {
    /// See [`Arrival::push`].
    pub fn push(&self, chunk: Bytes) {
        self.0.push(chunk);
    }

    /// See [`Arrival::finish`].
    pub fn finish(self) {
        self.0.finish();
    }

    /// See [`Arrival::fail`].
    pub fn fail(self, reason: impl Into<Arc<str>>) {
        self.0.fail(reason);
    }

    /// The body being produced.
    pub fn arrival(&self) -> &Arc<Arrival> {
        &self.0
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.0.fail("the body stopped arriving before its end");
    }
}

/// A blocking [`std::io::Read`] over an [`Arrival`] ([`Arrival::reader`]):
/// a read waits for the next chunk; the end of the body reads as the end of
/// the stream, a failed body as an error.
pub struct Reader<'a> {
    arrival: &'a Arrival,
    next: usize,
    current: &'a [u8],
}

impl std::io::Read for Reader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.arrival.wait_chunk(self.next) {
                Ok(Some(chunk)) => {
                    self.next += 1;
                    self.current = chunk;
                }
                Ok(None) => return Ok(0),
                Err(failed) => return Err(std::io::Error::other(failed)),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = &self.current[n..];
        Ok(n)
    }
}

impl std::io::BufRead for Reader<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.current.is_empty() {
            match self.arrival.wait_chunk(self.next) {
                Ok(Some(chunk)) => {
                    self.next += 1;
                    self.current = chunk;
                }
                Ok(None) => break,
                Err(failed) => return Err(std::io::Error::other(failed)),
            }
        }
        Ok(self.current)
    }

    fn consume(&mut self, n: usize) {
        self.current = &self.current[n..];
    }
}
