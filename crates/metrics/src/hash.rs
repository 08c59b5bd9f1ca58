//! A small, fast, non-cryptographic hasher (the Fx hash of rustc) for the label lookup tables.
//!
//! The tables are keyed by values fixed at start-up (domain values, series keys); hostile input
//! can only look up, never insert, so a DoS-resistant hash buys nothing on this hot path.

use std::hash::{BuildHasherDefault, Hasher};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// The Fx hasher state.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            self.add(tail_word(rest));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // The multiply mixes upwards only: the low bits of the state depend on the low bits of
        // the input alone, and strings that differ late ("strat_1", "strat_2") would all land
        // in one bucket group. hashbrown indexes with the low bits, so bring the well-mixed
        // high bits down (as rustc-hash 2 does).
        self.hash.rotate_left(26)
    }
}

/// `BuildHasher` for `HashMap<_, _, FxBuild>`.
pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;

/// A 64-bit hash of a list of label values for the lookup fast path: Fx over 8-byte words, the
/// value's length folded into its last word (so `["ab", "c"]` and `["a", "bc"]` differ), then
/// the well-mixed high half folded onto the low half, which hashbrown uses as the bucket index.
#[inline]
pub(crate) fn hash_values(values: &[&str]) -> u64 {
    let mut h = FxHasher::default();
    for v in values {
        let bytes = v.as_bytes();
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            h.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        h.add(tail_word(rest) ^ ((bytes.len() as u64) << 56));
    }
    h.hash ^ (h.hash >> 32)
}

/// The bytes of a tail shorter than 8 as a little-endian word, from fixed-size reads (a
/// variable-length copy becomes a `memcpy` call plus a store-forwarding stall).
#[inline]
fn tail_word(rest: &[u8]) -> u64 {
    let (mut word, mut shift, mut r) = (0u64, 0u32, rest);
    if r.len() >= 4 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&r[..4]);
        word = u64::from(u32::from_le_bytes(b));
        shift = 32;
        r = &r[4..];
    }
    if r.len() >= 2 {
        let mut b = [0u8; 2];
        b.copy_from_slice(&r[..2]);
        word |= u64::from(u16::from_le_bytes(b)) << shift;
        shift += 16;
        r = &r[2..];
    }
    if let Some(&b) = r.first() {
        word |= u64::from(b) << shift;
    }
    word
}
