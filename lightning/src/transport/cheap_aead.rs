//! The transport AEAD under the `lightning_cheap_aead` cfg, for fuzzing whole nodes
//! only (scripts/fuzz-env.sh sets it): no encryption, so no time goes to ChaCha20-Poly1305.
//! Never a cargo feature: a cfg cannot be switched on by a dependency.

use super::crypto::TAG_LEN;

/// No encryption, and a tag made of the nonce and the key's first bytes: a wrong key or
/// a message out of order still fails to open, while a fuzzer can forge frames.
#[derive(Clone)]
pub struct AeadKey([u8; 32]);

impl AeadKey {
    /// Sets up a key.
    pub fn new(key: &[u8; 32]) -> Self {
        AeadKey(*key)
    }

    fn tag(&self, counter: u64) -> [u8; TAG_LEN] {
        let mut tag = [0u8; TAG_LEN];
        tag[..8].copy_from_slice(&counter.to_le_bytes());
        tag[8..].copy_from_slice(&self.0[..8]);
        tag
    }

    /// Leaves `buffer` as it is and returns the tag.
    pub fn seal(&self, counter: u64, _ad: &[u8], _buffer: &mut [u8]) -> [u8; TAG_LEN] {
        self.tag(counter)
    }

    /// Checks `tag`; the buffer is left as it is.
    #[must_use]
    pub fn open(&self, counter: u64, _ad: &[u8], _buffer: &mut [u8], tag: &[u8; TAG_LEN]) -> bool {
        self.tag(counter) == *tag
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cheap_tag_fails_for_another_key_or_nonce() {
        let key = AeadKey::new(&[3u8; 32]);
        let mut buffer = *b"a frame";
        let tag = key.seal(5, b"", &mut buffer);
        assert_eq!(&buffer, b"a frame", "nothing is encrypted");
        assert!(key.open(5, b"", &mut buffer, &tag));
        assert!(!key.open(6, b"", &mut buffer, &tag));
        let mut other = [3u8; 32];
        other[0] = 4;
        assert!(!AeadKey::new(&other).open(5, b"", &mut buffer, &tag));
    }
}
