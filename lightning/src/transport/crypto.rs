//! The primitives BOLT 8 builds on: HKDF-SHA256 with two 32-byte outputs, and
//! ChaCha20-Poly1305 with the 96-bit nonce made of four zero bytes and a little-endian
//! 64-bit counter.

use bitcoin::hashes::{hmac, sha256, Hash, HashEngine};
#[cfg(not(lightning_cheap_aead))]
use chacha20poly1305::aead::AeadInPlace;
#[cfg(not(lightning_cheap_aead))]
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce, Tag};

/// The Poly1305 tag length.
pub const TAG_LEN: usize = 16;

/// HKDF (RFC 5869) with SHA-256, `salt` as the chaining key, an empty info, and 64 bytes
/// of output split into two keys.
pub fn hkdf(salt: &[u8; 32], ikm: &[u8]) -> ([u8; 32], [u8; 32]) {
    let mut extract = hmac::HmacEngine::<sha256::Hash>::new(salt);
    extract.input(ikm);
    let prk = hmac::Hmac::<sha256::Hash>::from_engine(extract);

    let mut first = hmac::HmacEngine::<sha256::Hash>::new(prk.as_byte_array());
    first.input(&[1]);
    let t1 = hmac::Hmac::<sha256::Hash>::from_engine(first);

    let mut second = hmac::HmacEngine::<sha256::Hash>::new(prk.as_byte_array());
    second.input(t1.as_byte_array());
    second.input(&[2]);
    let t2 = hmac::Hmac::<sha256::Hash>::from_engine(second);

    (t1.to_byte_array(), t2.to_byte_array())
}

/// SHA-256 of the concatenation of `parts` (the handshake hash updates).
pub fn sha256_concat(parts: &[&[u8]]) -> [u8; 32] {
    let mut engine = sha256::Hash::engine();
    for part in parts {
        engine.input(part);
    }
    sha256::Hash::from_engine(engine).to_byte_array()
}

#[cfg(not(lightning_cheap_aead))]
fn nonce(counter: u64) -> Nonce {
    let mut bytes = [0u8; 12];
    bytes[4..].copy_from_slice(&counter.to_le_bytes());
    Nonce::from(bytes)
}

/// An AEAD key ready for use.
#[cfg(not(lightning_cheap_aead))]
#[derive(Clone)]
pub struct AeadKey(ChaCha20Poly1305);

#[cfg(not(lightning_cheap_aead))]
impl AeadKey {
    /// Sets up a key.
    pub fn new(key: &[u8; 32]) -> Self {
        AeadKey(ChaCha20Poly1305::new(Key::from_slice(key)))
    }

    /// Encrypts `buffer` in place and returns the tag.
    pub fn seal(&self, counter: u64, ad: &[u8], buffer: &mut [u8]) -> [u8; TAG_LEN] {
        // Encryption only fails for buffers longer than ChaCha20's 256 GiB keystream.
        match self.0.encrypt_in_place_detached(&nonce(counter), ad, buffer) {
            Ok(tag) => tag.into(),
            Err(_) => panic!("ChaCha20-Poly1305 refused a {}-byte buffer", buffer.len()),
        }
    }

    /// Checks `tag` and decrypts `buffer` in place; on a bad tag the buffer is left
    /// unspecified and `false` is returned.
    #[must_use]
    pub fn open(&self, counter: u64, ad: &[u8], buffer: &mut [u8], tag: &[u8; TAG_LEN]) -> bool {
        self.0
            .decrypt_in_place_detached(&nonce(counter), ad, buffer, Tag::from_slice(tag))
            .is_ok()
    }
}

// Whole-node fuzz builds swap in an AEAD that does not encrypt (see cheap_aead.rs).
#[cfg(lightning_cheap_aead)]
pub use super::cheap_aead::AeadKey;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hkdf_matches_the_bolt8_act_one_trace() {
        // From BOLT 8 Appendix A: HKDF(ck, es) in the initiator's act one.
        let ck = hex32("2640f52eebcd9e882958951c794250eedb28002c05d7dc2ea0f195406042caf1");
        let es = hex32("1e2fb3c8fe8fb9f262f649f64d26ecf0f2c0a805a767cf02dc2d77a6ef1fdcc3");
        let (ck2, temp_k1) = hkdf(&ck, &es);
        assert_eq!(
            ck2,
            hex32("b61ec1191326fa240decc9564369dbb3ae2b34341d1e11ad64ed89f89180582f")
        );
        assert_eq!(
            temp_k1,
            hex32("e68f69b7f096d7917245f5e5cf8ae1595febe4d4644333c99f9c4a1282031c9f")
        );
    }

    #[test]
    fn seal_then_open_round_trips_and_detects_tampering() {
        let key = AeadKey::new(&[7; 32]);
        let mut buf = *b"hello";
        let tag = key.seal(3, b"ad", &mut buf);
        assert_ne!(&buf, b"hello");
        let mut tampered = buf;
        tampered[0] ^= 1;
        assert!(!key.open(3, b"ad", &mut tampered, &tag));
        assert!(!key.open(4, b"ad", &mut buf.clone(), &tag));
        assert!(key.open(3, b"ad", &mut buf, &tag));
        assert_eq!(&buf, b"hello");
    }

    fn hex32(s: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap_or_default();
        }
        out
    }
}
