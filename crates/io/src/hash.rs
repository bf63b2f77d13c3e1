//! The 64-bit FNV-1a hash (Fowler, Noll, Vo), the one hash of this crate:
//! checkpoints' checksums and data sets' fingerprints.
//!
//! For each byte, `h = (h ^ byte) * 0x100000001b3`, from
//! `h = 0xcbf29ce484222325`. Not cryptographic: it catches flipped bits and
//! tells data sets apart, it does not resist forgery.

/// FNV-1a, fed in pieces: hashing `a` then `b` gives the hash of `a ++ b`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Fnv1a(u64);

impl Fnv1a {
    /// The hash of no bytes, where every hash starts.
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    /// The 64-bit FNV prime.
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    /// A hash of no bytes yet.
    pub fn new() -> Self {
        Self(Self::OFFSET)
    }

    /// Feeds `bytes` into the hash.
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(Self::PRIME);
        }
    }

    /// The hash of everything written so far.
    pub fn finish(&self) -> u64 {
        self.0
    }
}

impl Default for Fnv1a {
    fn default() -> Self {
        Self::new()
    }
}

/// The FNV-1a hash of `bytes`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h = Fnv1a::new();
    h.write(bytes);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_hash_like_the_whole_and_match_the_published_values() {
        let mut h = Fnv1a::new();
        h.write(b"foo");
        h.write(b"");
        h.write(b"bar");
        assert_eq!(h.finish(), fnv1a64(b"foobar"));
        // Test vectors of the FNV reference.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
