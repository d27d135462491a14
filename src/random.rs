//! Unpredictable bytes for what must not be guessed or forged: the run's digest key (when the
//! inventory gives none), secret tokens, batch markers. They come from the operating system's
//! generator (getrandom(2), or what the OS has instead, through the `getrandom` crate): std's
//! `RandomState` is seeded from it only once per thread and is not documented as a
//! cryptographic generator.

/// `count` bytes from the operating system's generator.
pub fn bytes(count: usize) -> Vec<u8> {
    let mut bytes = vec![0; count];
    // There is nothing safe to fall back to: a key or nonce from anything weaker could be
    // guessed, so a run without the OS's generator stops here.
    getrandom::fill(&mut bytes).expect("the operating system's random generator answers");
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

    #[test]
    fn a_draw_has_exactly_the_bytes_asked_for() {
        for count in [0, 1, 7, 8, 9, 32] {
            assert_eq!(super::bytes(count).len(), count);
        }
    }
}
