//! BigSize (BOLT 1): Bitcoin's CompactSize, big-endian, and always minimally encoded.
//! Also the truncated integers (`tu16`, `tu32`, `tu64`) used as final TLV values.

use alloc::vec::Vec;

use super::codec::{Decode, DecodeError, Encode, Reader};

/// A variable-length unsigned integer, 1, 3, 5 or 9 bytes on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BigSize(pub u64);

impl BigSize {
    /// How many bytes the minimal encoding of `value` takes.
    pub const fn encoded_len(value: u64) -> usize {
        if value < 0xfd {
            1
        } else if value <= 0xffff {
            3
        } else if value <= 0xffff_ffff {
            5
        } else {
            9
        }
    }
}

impl Encode for BigSize {
    fn encode(&self, out: &mut Vec<u8>) {
        let v = self.0;
        if v < 0xfd {
            out.push(v as u8);
        } else if v <= 0xffff {
            out.push(0xfd);
            out.extend_from_slice(&(v as u16).to_be_bytes());
        } else if v <= 0xffff_ffff {
            out.push(0xfe);
            out.extend_from_slice(&(v as u32).to_be_bytes());
        } else {
            out.push(0xff);
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
}

impl Decode for BigSize {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let (value, minimum) = match u8::decode(r)? {
            0xfd => (u64::from(u16::decode(r)?), 0xfd),
            0xfe => (u64::from(u32::decode(r)?), 0x1_0000),
            0xff => (u64::decode(r)?, 0x1_0000_0000),
            small => (u64::from(small), 0),
        };
        if value < minimum {
            return Err(DecodeError::NonCanonicalBigSize);
        }
        Ok(BigSize(value))
    }
}

/// Appends `value` as a truncated integer: big-endian with leading zero bytes omitted.
pub fn encode_truncated(value: u64, out: &mut Vec<u8>) {
    let bytes = value.to_be_bytes();
    let skip = (value.leading_zeros() / 8) as usize;
    out.extend_from_slice(&bytes[skip..]);
}

/// Reads a truncated integer of at most `max_len` bytes that spans all of `bytes`,
/// rejecting leading zeros (the encoding must be minimal).
pub fn decode_truncated(bytes: &[u8], max_len: usize) -> Result<u64, DecodeError> {
    if bytes.len() > max_len.min(8) {
        return Err(DecodeError::NonMinimalTruncatedInt);
    }
    if bytes.first() == Some(&0) {
        return Err(DecodeError::NonMinimalTruncatedInt);
    }
    Ok(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

macro_rules! truncated_int {
    ($($(#[$meta:meta])* $name:ident($t:ty, $max_len:expr);)*) => {$(
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub $t);

        impl super::tlv::TlvValue for $name {
            fn value_len(&self) -> usize {
                (<$t>::BITS - self.0.leading_zeros()).div_ceil(8) as usize
            }
            fn encode_value(&self, out: &mut Vec<u8>) {
                encode_truncated(u64::from(self.0), out);
            }
            fn decode_value(bytes: &[u8]) -> Result<Self, DecodeError> {
                // At most `$max_len` bytes, so the value always fits the type.
                decode_truncated(bytes, $max_len).map(|v| $name(v as $t))
            }
        }
    )*};
}

truncated_int! {
    /// A `tu16` TLV value.
    Tu16(u16, 2);
    /// A `tu32` TLV value.
    Tu32(u32, 4);
    /// A `tu64` TLV value.
    Tu64(u64, 8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_len_matches_encoding() {
        for v in [0, 0xfc, 0xfd, 0xffff, 0x1_0000, 0xffff_ffff, 0x1_0000_0000, u64::MAX] {
            assert_eq!(BigSize(v).encode_to_vec().len(), BigSize::encoded_len(v), "{v}");
        }
    }

    #[test]
    fn truncated_integers_are_minimal() {
        let mut out = Vec::new();
        encode_truncated(0, &mut out);
        assert!(out.is_empty());
        encode_truncated(0x0100, &mut out);
        assert_eq!(out, [1, 0]);
        assert_eq!(decode_truncated(&[1, 0], 2), Ok(256));
        assert_eq!(decode_truncated(&[], 8), Ok(0));
        assert_eq!(decode_truncated(&[0, 1], 8), Err(DecodeError::NonMinimalTruncatedInt));
        assert_eq!(
            decode_truncated(&[1, 0, 0], 2),
            Err(DecodeError::NonMinimalTruncatedInt)
        );
        assert_eq!(
            decode_truncated(&[0xff; 9], 8),
            Err(DecodeError::NonMinimalTruncatedInt)
        );
    }
}
