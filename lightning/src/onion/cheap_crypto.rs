//! The onion's primitives under the `lightning_cheap_aead` cfg, for fuzzing whole nodes
//! only (scripts/fuzz-env.sh sets it): a Sphinx layer is encrypt-then-MAC, and each
//! payment spends more on it (ChaCha20 over 1,300 to 2,600 bytes, HMAC-SHA256 over
//! 1,366) than on anything but its commitments. Here the stream is all zeros and the
//! MAC a multiplicative hash of the data under the key: construction, peeling and error
//! attribution still agree with each other, and a wrong key or a changed byte still
//! fails the check. A fuzzer, which does not know the key, forges it no more easily
//! than HMAC, so hostile onions still stop at the check.

/// Mixes the key type into the secret, so each type yields its own key.
pub fn generate_key(key_type: &[u8], secret: &[u8; 32]) -> [u8; 32] {
    let mut key = *secret;
    for (i, b) in key_type.iter().enumerate() {
        key[i % 32] ^= b;
    }
    key[31] ^= key_type.len() as u8;
    key
}

/// XORs nothing: the stream is all zeros, at any offset.
pub fn xor_stream(_key: &[u8; 32], _offset: u64, _buffer: &mut [u8]) {}

/// The key XORed with a multiplicative hash of the parts (as one message, read in
/// 8-byte words into four lanes, so the multiplications do not wait on each other): any
/// changed byte shows.
pub fn hmac_parts(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    const MULTIPLIER: u64 = 0x517c_c1b7_2722_0a95;
    let mix = |state: u64, word: u64| (state.rotate_left(5) ^ word).wrapping_mul(MULTIPLIER);
    let mut lanes = [1u64, 2, 3, 4];
    let mut words = 0usize;
    for part in parts {
        // Whole words as loads, the short tail zero-padded (a copy of variable length in
        // the loop would be a call per word).
        let whole = part.chunks_exact(8);
        let tail = whole.remainder();
        for chunk in whole {
            let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
            lanes[words % 4] = mix(lanes[words % 4], word);
            words += 1;
        }
        if !tail.is_empty() {
            let mut word = [0u8; 8];
            word[..tail.len()].copy_from_slice(tail);
            lanes[words % 4] = mix(lanes[words % 4], u64::from_le_bytes(word));
            words += 1;
        }
        lanes[0] = mix(lanes[0], part.len() as u64);
    }
    let mut mac = *key;
    for (i, bytes) in mac.chunks_exact_mut(8).enumerate() {
        let folded = lanes.iter().fold(i as u64, |acc, &lane| mix(acc, lane)).to_le_bytes();
        for (b, m) in bytes.iter_mut().zip(folded) {
            *b ^= m;
        }
    }
    mac
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn the_cheap_mac_sees_a_changed_key_byte_or_order_and_the_stream_is_zero() {
        let key = [7u8; 32];
        let data: Vec<u8> = (0..1366u32).map(|i| (i * 31 % 251) as u8).collect();
        let mac = hmac_parts(&key, &[&data[..1300], &data[1300..]]);
        assert_eq!(mac, hmac_parts(&key, &[&data[..1300], &data[1300..]]));
        let mut other_key = key;
        other_key[31] ^= 1;
        assert_ne!(mac, hmac_parts(&other_key, &[&data[..1300], &data[1300..]]));
        for at in [0, 7, 8, 650, 1299, 1300, 1365] {
            let mut changed = data.clone();
            changed[at] ^= 0x80;
            assert_ne!(
                mac,
                hmac_parts(&key, &[&changed[..1300], &changed[1300..]]),
                "byte {at}"
            );
        }
        let mut swapped = data.clone();
        swapped.swap(0, 32);
        assert_ne!(mac, hmac_parts(&key, &[&swapped[..1300], &swapped[1300..]]));
        assert_ne!(generate_key(b"rho", &key), generate_key(b"mu", &key));
        let mut streamed = data.clone();
        xor_stream(&key, 100, &mut streamed);
        assert_eq!(streamed, data, "the stream is all zeros");
    }
}
