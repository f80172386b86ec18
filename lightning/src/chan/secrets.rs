//! Per-commitment secrets (BOLT 3): generation from a seed, and the compact storage of a
//! counterparty's revealed secrets (49 entries for up to 2^48 secrets) that detects a
//! counterparty whose secrets do not come from one seed.

use alloc::vec::Vec;
use core::fmt;

use bitcoin::hashes::{sha256, Hash};

use crate::wire::{Decode, DecodeError, Encode, Reader};

/// The first commitment uses this index; each later one the index below it.
pub const INITIAL_COMMITMENT_NUMBER: u64 = (1 << 48) - 1;

/// `generate_from_seed`: the secret at `index` (48 bits), derived from `seed`.
pub fn build_commitment_secret(seed: &[u8; 32], index: u64) -> [u8; 32] {
    derive_secret(*seed, 48, index)
}

/// `derive_secret(base, bits, I)`: walks bits `bits - 1` down to 0 of `index`, flipping
/// and hashing for each set bit.
fn derive_secret(secret: [u8; 32], bits: u32, index: u64) -> [u8; 32] {
    derive_secret_bits(secret, 0..bits, index)
}

/// The walk of `derive_secret` over the bits in `bits` only, highest first.
fn derive_secret_bits(mut secret: [u8; 32], bits: core::ops::Range<u32>, index: u64) -> [u8; 32] {
    for bit in bits.rev() {
        if index & (1 << bit) != 0 {
            secret[(bit / 8) as usize] ^= 1 << (bit % 8);
            secret = sha256::Hash::hash(&secret).to_byte_array();
        }
    }
    secret
}

/// `generate_from_seed` for one seed, keeping two points of the walk for the indices in
/// use: after bits 47..16 (shared by 65,536 consecutive indices) and after bits 47..8
/// (shared by 256). A secret in the focused block of 256 then costs at most 8 hashes, one
/// in its 65,536 at most 16, instead of up to 48. Indices count down from
/// [`INITIAL_COMMITMENT_NUMBER`], one per commitment, so [`Self::focus`] on the next one
/// after each revocation keeps nearly every secret a channel asks for in the block.
#[derive(Clone)]
pub struct CommitmentSecretGenerator {
    seed: [u8; 32],
    /// `index >> 16` of the focused index, and the walk over its bits 47..16.
    high: (u64, [u8; 32]),
    /// `index >> 8` of the focused index, and the walk over its bits 47..8.
    block: (u64, [u8; 32]),
}

impl CommitmentSecretGenerator {
    /// A generator for `seed`, focused on [`INITIAL_COMMITMENT_NUMBER`].
    pub fn new(seed: [u8; 32]) -> Self {
        let high = (
            INITIAL_COMMITMENT_NUMBER >> 16,
            derive_secret_bits(seed, 16..48, INITIAL_COMMITMENT_NUMBER),
        );
        let block = (
            INITIAL_COMMITMENT_NUMBER >> 8,
            derive_secret_bits(high.1, 8..16, INITIAL_COMMITMENT_NUMBER),
        );
        CommitmentSecretGenerator { seed, high, block }
    }

    /// Moves the kept walk points to `index`'s block (at most 40 hashes, 8 within the same
    /// 65,536 indices, none within the same 256).
    pub fn focus(&mut self, index: u64) {
        if index >> 16 != self.high.0 {
            self.high = (index >> 16, derive_secret_bits(self.seed, 16..48, index));
        }
        if index >> 8 != self.block.0 {
            self.block = (index >> 8, derive_secret_bits(self.high.1, 8..16, index));
        }
    }

    /// The secret at `index`: `build_commitment_secret(seed, index)`.
    pub fn secret(&self, index: u64) -> [u8; 32] {
        let (start, bits_left) = self.walk_from(index);
        derive_secret_bits(start, 0..bits_left, index)
    }

    /// Where the walk to `index` starts: the nearest kept point covering it, and how many
    /// low bits are left to walk from there.
    pub(crate) fn walk_from(&self, index: u64) -> ([u8; 32], u32) {
        if index >> 8 == self.block.0 {
            (self.block.1, 8)
        } else if index >> 16 == self.high.0 {
            (self.high.1, 16)
        } else {
            (self.seed, 48)
        }
    }
}

/// Why a revealed secret was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretStorageError {
    /// The secret does not derive the secrets already stored: the counterparty's secrets
    /// are not from one seed.
    Inconsistent {
        /// The index of the refused secret.
        index: u64,
    },
    /// Secrets must arrive in order, from [`INITIAL_COMMITMENT_NUMBER`] down.
    OutOfOrder {
        /// The index expected next.
        expected: u64,
        /// The index given.
        given: u64,
    },
}

impl fmt::Display for SecretStorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretStorageError::Inconsistent { index } => {
                write!(f, "per-commitment secret {index} does not match the earlier ones")
            }
            SecretStorageError::OutOfOrder { expected, given } => {
                write!(f, "per-commitment secret {given} given, {expected} expected")
            }
        }
    }
}

/// The counterparty's revealed per-commitment secrets, stored compactly: bucket `b` holds
/// the latest secret whose index has `b` trailing zeros, from which every later-revealed
/// index sharing its prefix can be derived.
#[derive(Clone, PartialEq, Eq)]
pub struct CounterpartyCommitmentSecrets {
    buckets: [Option<(u64, [u8; 32])>; 49],
}

impl Default for CounterpartyCommitmentSecrets {
    fn default() -> Self {
        CounterpartyCommitmentSecrets { buckets: [None; 49] }
    }
}

impl fmt::Debug for CounterpartyCommitmentSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets are not printed.
        f.debug_struct("CounterpartyCommitmentSecrets")
            .field("next_index", &self.next_index())
            .finish()
    }
}

fn bucket_for(index: u64) -> usize {
    // Trailing zeros of a 48-bit index; index 0 goes in bucket 48.
    (index.trailing_zeros() as usize).min(48)
}

impl CounterpartyCommitmentSecrets {
    /// No secrets yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The lowest index stored, if any: the latest secret revealed.
    pub fn min_index(&self) -> Option<u64> {
        self.buckets.iter().flatten().map(|(index, _)| *index).min()
    }

    /// The index of the next secret to be revealed.
    pub fn next_index(&self) -> u64 {
        self.min_index()
            .map_or(INITIAL_COMMITMENT_NUMBER, |i| i.wrapping_sub(1))
    }

    /// Stores the secret for `index`, checking it derives every stored secret below its
    /// bucket.
    pub fn insert(&mut self, index: u64, secret: [u8; 32]) -> Result<(), SecretStorageError> {
        let expected = self.next_index();
        if index != expected || index > INITIAL_COMMITMENT_NUMBER {
            return Err(SecretStorageError::OutOfOrder { expected, given: index });
        }
        let bucket = bucket_for(index);
        for (known_index, known_secret) in self.buckets[..bucket].iter().flatten() {
            if derive_secret(secret, bucket as u32, *known_index) != *known_secret {
                return Err(SecretStorageError::Inconsistent { index });
            }
        }
        self.buckets[bucket] = Some((index, secret));
        Ok(())
    }

    /// The secret for `index`, if it has been revealed.
    pub fn get(&self, index: u64) -> Option<[u8; 32]> {
        for (bucket, entry) in self.buckets.iter().enumerate() {
            let Some((known_index, known_secret)) = entry else {
                continue;
            };
            let mask = !((1u64 << bucket) - 1);
            if index & mask == *known_index {
                return Some(derive_secret(*known_secret, bucket as u32, index));
            }
        }
        None
    }
}

impl Encode for CounterpartyCommitmentSecrets {
    fn encode(&self, out: &mut Vec<u8>) {
        let count = self.buckets.iter().flatten().count() as u8;
        count.encode(out);
        for (bucket, entry) in self.buckets.iter().enumerate() {
            if let Some((index, secret)) = entry {
                (bucket as u8).encode(out);
                index.encode(out);
                secret.encode(out);
            }
        }
    }
}

impl Decode for CounterpartyCommitmentSecrets {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let count = u8::decode(r)?;
        let mut secrets = CounterpartyCommitmentSecrets::new();
        for _ in 0..count {
            let bucket = usize::from(u8::decode(r)?);
            let index = u64::decode(r)?;
            let secret = <[u8; 32]>::decode(r)?;
            if bucket > 48 || bucket_for(index) != bucket || secrets.buckets[bucket].is_some() {
                return Err(DecodeError::InvalidValue {
                    field: "commitment secret bucket",
                });
            }
            secrets.buckets[bucket] = Some((index, secret));
        }
        Ok(secrets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use proptest::prelude::*;

    /// What the generator promises: a secret in the focused block walks at most 8 bits,
    /// one elsewhere in its 65,536 at most 16, and focusing moves both.
    #[test]
    fn focusing_keeps_the_walk_short_where_the_channel_is() {
        let mut generator = CommitmentSecretGenerator::new([7; 32]);
        let bits_left = |g: &CommitmentSecretGenerator, index: u64| g.walk_from(index).1;
        let start = INITIAL_COMMITMENT_NUMBER;
        assert_eq!(bits_left(&generator, start), 8);
        assert_eq!(bits_left(&generator, start - 255), 8);
        assert_eq!(bits_left(&generator, start - 256), 16);
        assert_eq!(bits_left(&generator, start - 65_536), 48);
        for index in [start - 256, start - 70_000, 12_345] {
            generator.focus(index);
            assert_eq!(bits_left(&generator, index), 8, "focused on {index}");
            assert_eq!(bits_left(&generator, index ^ 0x100), 16, "beside {index}");
            assert_eq!(bits_left(&generator, index ^ 0x1_0000), 48, "past {index}");
            assert_eq!(generator.secret(index), build_commitment_secret(&[7; 32], index));
        }
    }

    proptest! {
        /// The kept walk points give `generate_from_seed`'s secret inside their ranges, at
        /// their edges and past them, wherever the generator is focused.
        #[test]
        fn the_generator_agrees_with_generate_from_seed(
            seed in any::<[u8; 32]>(),
            steps_down in prop_oneof![0u64..70_000, 65_530u64..65_540, 250u64..260, 0u64..(1 << 48)],
            focus_delta in prop_oneof![0u64..2, 0u64..300, 0u64..70_000, 0u64..(1 << 48)],
        ) {
            let index = INITIAL_COMMITMENT_NUMBER - steps_down;
            let focus = INITIAL_COMMITMENT_NUMBER - (steps_down + focus_delta) % (1 << 48);
            prop_assert_eq!(CommitmentSecretGenerator::new(seed).secret(index), build_commitment_secret(&seed, index));
            let mut focused = CommitmentSecretGenerator::new(seed);
            focused.focus(focus);
            prop_assert_eq!(focused.secret(index), build_commitment_secret(&seed, index));
        }
    }

    /// One stored entry as `encode` writes it: bucket, index, secret.
    fn entry(bucket: u8, index: u64, secret: [u8; 32]) -> Vec<u8> {
        let mut out = vec![bucket];
        index.encode(&mut out);
        out.extend_from_slice(&secret);
        out
    }

    fn decode(bytes: &[u8]) -> Result<CounterpartyCommitmentSecrets, DecodeError> {
        CounterpartyCommitmentSecrets::decode(&mut Reader::new(bytes))
    }

    #[test]
    fn stored_secrets_read_back_and_still_answer() {
        let seed = [7; 32];
        let mut secrets = CounterpartyCommitmentSecrets::new();
        for index in (INITIAL_COMMITMENT_NUMBER - 5..=INITIAL_COMMITMENT_NUMBER).rev() {
            secrets
                .insert(index, build_commitment_secret(&seed, index))
                .expect("in order");
        }
        let mut bytes = Vec::new();
        secrets.encode(&mut bytes);
        let read = decode(&bytes).expect("valid");
        assert!(read == secrets);
        let index = INITIAL_COMMITMENT_NUMBER - 3;
        assert_eq!(read.get(index), Some(build_commitment_secret(&seed, index)));
        assert_eq!(read.next_index(), INITIAL_COMMITMENT_NUMBER - 6);
    }

    /// Stored bytes that put a secret in a bucket its index does not belong in, repeat a
    /// bucket, or name a bucket past 48 are corrupt: refused, never trusted or indexed.
    #[test]
    fn corrupt_stored_secrets_are_refused() {
        let secret = [1; 32];
        let cases = [
            // Index 5 (odd) belongs in bucket 0, not 1.
            [vec![1], entry(1, 5, secret)].concat(),
            // Index 4 belongs in bucket 2, not 0.
            [vec![1], entry(0, 4, secret)].concat(),
            [vec![2], entry(0, 5, secret), entry(0, 3, secret)].concat(),
            [vec![1], entry(49, 0, secret)].concat(),
            [vec![1], entry(200, 1 << 50, secret)].concat(),
        ];
        for bytes in cases {
            assert!(
                matches!(decode(&bytes), Err(DecodeError::InvalidValue { .. })),
                "{bytes:02x?}"
            );
        }
        // Index 0 is the one entry of bucket 48.
        assert!(decode(&[vec![1], entry(48, 0, secret)].concat()).is_ok());
    }
}
