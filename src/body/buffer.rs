//! Large bodies in memory mapped for them alone.
//!
//! Megabytes written into fresh heap memory cost one page fault per 4 KiB
//! as they are first touched: on a 100 MB push the faults were an eighth of
//! the daemon's time, and a fifth of decoding a 100 MB gzip body. A
//! [`MappedBuffer`] is an anonymous mapping of the most the body may grow
//! to (address space only). Its pages are made resident a few megabytes at
//! a time, just ahead of the bytes written, by one `MADV_POPULATE_WRITE`
//! call per step, so resident memory follows the bytes, and all of it goes
//! back to the system the moment the buffer is dropped.
//!
//! Below [`LARGE`] bodies stay on the heap: glibc serves allocations up
//! to 32 MiB from memory it keeps and reuses (already resident, often in
//! cache), which beats fresh pages however they are made resident; above
//! that it maps fresh memory anyway.
//!
//! A body received from the network is not gathered here: it stays in the
//! chunks the connection read it into, on the heap, in the arenas of the
//! threads that allocated them. glibc keeps what is freed there for reuse,
//! and a thread that lands on another arena next time takes fresh memory:
//! three 100 MB pulls on different threads held 200 MiB. After a large
//! body is let go, [`give_back`] returns the heap's free pages.

use bytes::Bytes;
use memmap2::{Advice, MmapMut};
use std::ops::Deref;

/// From this size up a body is worth a mapping of its own (glibc's
/// largest mmap threshold).
pub const LARGE: usize = 32 << 20;

/// How much is made resident at once, ahead of the bytes.
const RESIDENT_STEP: usize = 8 << 20;

pub struct MappedBuffer {
    map: MmapMut,
    /// Bytes written.
    len: usize,
    /// `map[..resident]` is made resident (always a whole number of steps,
    /// so every advice starts on a page boundary).
    resident: usize,
}

impl MappedBuffer {
    /// A buffer that can hold `capacity` bytes, or `None` when the system
    /// will not map that much (the caller then uses the heap).
    pub fn new(capacity: usize) -> Option<MappedBuffer> {
        let map = MmapMut::map_anon(capacity.max(1)).ok()?;
        Some(MappedBuffer {
            map,
            len: 0,
            resident: 0,
        })
    }

    pub fn capacity(&self) -> usize {
        self.map.len()
    }

    /// Room for up to `n` more bytes, made resident: empty when full.
    /// Write into it, then [`advance`](Self::advance) by what was written.
    pub fn spare(&mut self, n: usize) -> &mut [u8] {
        let end = self.len.saturating_add(n).min(self.map.len());
        while self.resident < end {
            let step = RESIDENT_STEP.min(self.map.len() - self.resident);
            // A kernel before 5.14 refuses the advice; the pages then come
            // one fault at a time, as on the heap.
            let _ = self
                .map
                .advise_range(Advice::PopulateWrite, self.resident, step);
            self.resident += step;
        }
        &mut self.map[self.len..end]
    }

    pub fn advance(&mut self, n: usize) {
        assert!(self.len + n <= self.map.len(), "advanced past the buffer");
        self.len += n;
    }

    /// Appends `data` whole, or returns false (and appends nothing) when it
    /// does not fit.
    pub fn extend(&mut self, data: &[u8]) -> bool {
        if data.len() > self.map.len() - self.len {
            return false;
        }
        self.spare(data.len()).copy_from_slice(data);
        self.advance(data.len());
        true
    }

    /// The bytes written, without a copy.
    pub fn into_bytes(self) -> Bytes {
        Bytes::from_owner(self)
    }
}

impl Deref for MappedBuffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map[..self.len]
    }
}

impl AsRef<[u8]> for MappedBuffer {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

/// Returns the free memory of every heap arena to the system, after a
/// large body was let go (see the module docs). Walking the arenas takes
/// milliseconds, so it runs on a blocking thread when there is a runtime.
pub fn give_back() {
    fn trim() {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim takes no pointer; it only walks glibc's own
        // free lists, each arena under its lock.
        unsafe {
            libc::malloc_trim(0);
        }
    }
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn_blocking(trim)),
        Err(_) => trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_every_byte_in_order_across_steps_and_refuses_overflow() {
        let n = RESIDENT_STEP * 2 + 12_345;
        let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
        let mut buf = MappedBuffer::new(n).expect("a mapping");
        for piece in data.chunks(100_003) {
            assert!(buf.extend(piece));
        }
        assert!(buf.spare(10).is_empty(), "full");
        assert!(!buf.extend(b"x"), "nothing past the capacity");
        assert_eq!(&buf[..], &data[..]);
        assert_eq!(&buf.into_bytes()[..], &data[..]);
    }
}
