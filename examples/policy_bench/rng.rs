//! A deterministic PRNG: xorshift64*.

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        // splitmix64 once, so that small seeds give well-mixed states.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        ((self.next() >> 11) % n as u64) as usize
    }

    /// Inclusive range.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    pub fn weighted<'a, T>(&mut self, items: &'a [(usize, T)]) -> &'a T {
        let total: usize = items.iter().map(|(w, _)| w).sum();
        let mut n = self.below(total);
        for (w, item) in items {
            if n < *w {
                return item;
            }
            n -= w;
        }
        &items[items.len() - 1].1
    }

    pub fn uuid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            8 + (b >> 62),
            (b >> 48) & 0xfff,
            b & 0xffff_ffff_ffff
        )
    }

    pub fn hex(&mut self, s: &mut String, n: usize) {
        for _ in 0..n {
            s.push(char::from(b"0123456789abcdef"[self.below(16)]));
        }
    }

    pub fn letters(&mut self, s: &mut String, n: usize) {
        for _ in 0..n {
            s.push(char::from(
                b"abcdefghijklmnopqrstuvwxyz0123456789"[self.below(36)],
            ));
        }
    }
}
