//! BOLT 4 key generation (HMAC-SHA256 keyed by the key type) and the ChaCha20 pseudo-random
//! byte stream with a zero nonce.

#[cfg(not(lightning_cheap_aead))]
use bitcoin::hashes::{hmac, sha256, Hash, HashEngine};
#[cfg(not(lightning_cheap_aead))]
use chacha20::cipher::{KeyIvInit, StreamCipher};
#[cfg(not(lightning_cheap_aead))]
use chacha20::ChaCha20;

// Whole-node fuzz builds swap in primitives that cost next to nothing (see cheap_crypto.rs).
#[cfg(lightning_cheap_aead)]
pub use super::cheap_crypto::{generate_key, hmac_parts, xor_stream};

/// Key type for the stream that obfuscates hop payloads.
pub const RHO: &[u8] = b"rho";
/// Key type for the packet HMACs.
pub const MU: &[u8] = b"mu";
/// Key type for the error packet HMAC.
pub const UM: &[u8] = b"um";
/// Key type for the initial random padding.
pub const PAD: &[u8] = b"pad";
/// Key type for the stream that obfuscates error packets.
pub const AMMAG: &[u8] = b"ammag";

#[cfg(not(lightning_cheap_aead))]
/// `HMAC-SHA256(key = key_type, message = secret)`.
pub fn generate_key(key_type: &[u8], secret: &[u8; 32]) -> [u8; 32] {
    let mut engine = hmac::HmacEngine::<sha256::Hash>::new(key_type);
    engine.input(secret);
    hmac::Hmac::<sha256::Hash>::from_engine(engine).to_byte_array()
}

#[cfg(not(lightning_cheap_aead))]
/// XORs `buffer` with the ChaCha20 stream of `key` (zero nonce), starting at `offset`
/// bytes into the stream.
pub fn xor_stream(key: &[u8; 32], offset: u64, buffer: &mut [u8]) {
    use chacha20::cipher::StreamCipherSeek;
    let mut cipher = ChaCha20::new(key.into(), &[0u8; 12].into());
    cipher.seek(offset);
    cipher.apply_keystream(buffer);
}

#[cfg(not(lightning_cheap_aead))]
/// `HMAC-SHA256(key, parts...)`.
pub fn hmac_parts(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut engine = hmac::HmacEngine::<sha256::Hash>::new(key);
    for part in parts {
        engine.input(part);
    }
    hmac::Hmac::<sha256::Hash>::from_engine(engine).to_byte_array()
}

/// Compares two MACs in time independent of where they differ.
pub fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
