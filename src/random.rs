//! Unpredictable bytes for what must not be guessed or forged: the run's digest key (when the
//! inventory gives none), secret tokens, batch markers. std seeds each `RandomState` from the
//! OS's randomness, so hashing with fresh ones draws from it without another dependency.

use std::hash::{BuildHasher as _, Hasher as _};

/// `count` bytes, rounded up to whole 8-byte draws.
pub fn bytes(count: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(count.div_ceil(8) * 8);
    while bytes.len() < count {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_usize(bytes.len());
        bytes.extend_from_slice(&hasher.finish().to_le_bytes());
    }
    bytes
}

/// A word of `count` random bytes in hex.
pub fn word(count: usize) -> String {
    hex::encode(bytes(count))
}

#[cfg(test)]
mod tests {
    #[test]
    fn draws_differ() {
        assert_ne!(super::word(16), super::word(16));
        assert_eq!(super::word(16).len(), 32);
    }
}
