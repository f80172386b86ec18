//! The one pair of encode/decode traits used by the wire and by persistence, the bounded
//! reader every decoder reads through, and the typed decode error.
//!
//! Decoding never panics: every read is bounds-checked and returns
//! [`DecodeError::ShortRead`] when the input runs out.

use alloc::vec::Vec;
use core::fmt;

use bitcoin::secp256k1::{ecdsa::Signature, PublicKey};

/// Why a byte string could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended before a field was complete ("unexpected EOF").
    ShortRead,
    /// A BigSize value was not minimally encoded.
    NonCanonicalBigSize,
    /// A truncated integer (`tu16`, `tu32`, `tu64`) had a leading zero byte or was too long.
    NonMinimalTruncatedInt,
    /// A field had the right size but an invalid value (a point not on the curve, an
    /// invalid signature encoding, an out-of-range flag).
    InvalidValue {
        /// The field, as the specification names it.
        field: &'static str,
    },
    /// TLV record types were not strictly increasing (out of order or repeated).
    TlvNotIncreasing {
        /// The offending type.
        tlv_type: u64,
    },
    /// A TLV record claimed more bytes than remain in the stream.
    TlvLengthExceedsRemaining {
        /// The record's type.
        tlv_type: u64,
    },
    /// A known TLV record's length differed from what its encoding requires.
    TlvBadLength {
        /// The record's type.
        tlv_type: u64,
    },
    /// A TLV record of unknown even type: the stream must be rejected.
    UnknownEvenTlv {
        /// The record's type.
        tlv_type: u64,
    },
    /// A message of unknown even type: the connection must be closed.
    UnknownEvenMessage {
        /// The message type.
        msg_type: u16,
    },
    /// The message is longer than the 65,535 bytes BOLT 8 can carry.
    MessageTooLong,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::ShortRead => f.write_str("unexpected EOF"),
            DecodeError::NonCanonicalBigSize => f.write_str("decoded bigsize is not canonical"),
            DecodeError::NonMinimalTruncatedInt => f.write_str("truncated integer is not minimally encoded"),
            DecodeError::InvalidValue { field } => write!(f, "invalid value for `{field}`"),
            DecodeError::TlvNotIncreasing { tlv_type } => {
                write!(f, "TLV type {tlv_type} is not strictly increasing")
            }
            DecodeError::TlvLengthExceedsRemaining { tlv_type } => {
                write!(f, "TLV type {tlv_type} length exceeds the remaining bytes")
            }
            DecodeError::TlvBadLength { tlv_type } => {
                write!(f, "TLV type {tlv_type} has the wrong length for its encoding")
            }
            DecodeError::UnknownEvenTlv { tlv_type } => {
                write!(f, "unknown even TLV type {tlv_type}")
            }
            DecodeError::UnknownEvenMessage { msg_type } => {
                write!(f, "unknown even message type {msg_type}")
            }
            DecodeError::MessageTooLong => f.write_str("message longer than 65535 bytes"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DecodeError {}

/// A cursor over borrowed bytes. Every read checks bounds.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads from the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Whether everything has been read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Takes the next `len` bytes.
    pub fn take(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        if len > self.buf.len() {
            return Err(DecodeError::ShortRead);
        }
        let (head, tail) = self.buf.split_at(len);
        self.buf = tail;
        Ok(head)
    }

    /// Refuses `count` items of at least `min_item_len` bytes each when the bytes left
    /// cannot hold them: a corrupt count fails at once, before any loop or reservation.
    pub fn ensure_room_for(&self, count: u64, min_item_len: usize) -> Result<(), DecodeError> {
        if count.saturating_mul(min_item_len as u64) > self.remaining() as u64 {
            return Err(DecodeError::ShortRead);
        }
        Ok(())
    }

    /// Takes everything that is left.
    pub fn take_rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.buf)
    }

    /// Takes exactly `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// Reads a `u16`-length-prefixed byte string.
    pub fn u16_prefixed(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = u16::decode(self)?;
        self.take(usize::from(len))
    }
}

/// Serializes a value the way the wire (and persistence) lays it out.
pub trait Encode {
    /// Appends the encoding of `self` to `out`.
    fn encode(&self, out: &mut Vec<u8>);

    /// The encoding as a fresh vector.
    fn encode_to_vec(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

/// Parses a value from a [`Reader`], consuming exactly its encoding.
pub trait Decode: Sized {
    /// Reads one value.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes a value that must span all of `bytes`. Values whose encoding ends in a TLV
    /// stream consume everything, so this only rejects leftovers of fixed-size values.
    fn decode_exact(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let value = Self::decode(&mut r)?;
        if r.is_empty() {
            Ok(value)
        } else {
            Err(DecodeError::InvalidValue {
                field: "trailing bytes",
            })
        }
    }
}

/// An optional value as a presence byte (0 or 1) and the value: the persisted formats'
/// way of writing what may be absent.
pub fn encode_option<T: Encode>(value: &Option<T>, out: &mut Vec<u8>) {
    match value {
        Some(v) => {
            out.push(1);
            v.encode(out);
        }
        None => out.push(0),
    }
}

/// Reads what [`encode_option`] wrote; a presence byte other than 0 or 1 is an error.
pub fn decode_option<T: Decode>(r: &mut Reader<'_>) -> Result<Option<T>, DecodeError> {
    match u8::decode(r)? {
        0 => Ok(None),
        1 => T::decode(r).map(Some),
        _ => Err(DecodeError::InvalidValue { field: "option flag" }),
    }
}

/// A pair, one after the other (a record of a persisted list).
impl<A: Encode, B: Encode> Encode for (A, B) {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
        self.1.encode(out);
    }
}

impl<A: Decode, B: Decode> Decode for (A, B) {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok((A::decode(r)?, B::decode(r)?))
    }
}

macro_rules! impl_be_int {
    ($($t:ty),*) => {$(
        impl Encode for $t {
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_be_bytes());
            }
        }
        impl Decode for $t {
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(<$t>::from_be_bytes(r.array()?))
            }
        }
    )*};
}
// Signed integers are big-endian two's complement (BOLT 1 Appendix D).
impl_be_int!(u8, u16, u32, u64, i8, i16, i32, i64);

impl<const N: usize> Encode for [u8; N] {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

impl<const N: usize> Decode for [u8; N] {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array()
    }
}

impl Encode for PublicKey {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.serialize());
    }
}

impl Decode for PublicKey {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let bytes: [u8; 33] = r.array()?;
        PublicKey::from_slice(&bytes).map_err(|_| DecodeError::InvalidValue { field: "point" })
    }
}

impl Encode for Signature {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.serialize_compact());
    }
}

impl Decode for Signature {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let bytes: [u8; 64] = r.array()?;
        Signature::from_compact(&bytes).map_err(|_| DecodeError::InvalidValue { field: "signature" })
    }
}

/// Writes `bytes` behind a `u16` length. Callers keep `bytes` within `u16::MAX`; a longer
/// slice is a bug in the caller, not in peer input.
pub(crate) fn encode_u16_prefixed(bytes: &[u8], out: &mut Vec<u8>) {
    assert!(
        bytes.len() <= usize::from(u16::MAX),
        "u16-prefixed field longer than 65535 bytes"
    );
    (bytes.len() as u16).encode(out);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn reader_never_reads_past_the_end() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.take(2), Ok(&[1u8, 2][..]));
        assert_eq!(r.take(2), Err(DecodeError::ShortRead));
        assert_eq!(r.array::<1>(), Ok([3]));
        assert!(r.is_empty());
        assert_eq!(u8::decode(&mut r), Err(DecodeError::ShortRead));
    }

    #[test]
    fn a_count_is_checked_against_the_bytes_left() {
        let r = Reader::new(&[0; 12]);
        assert_eq!(r.ensure_room_for(3, 4), Ok(()), "exactly enough");
        assert_eq!(r.ensure_room_for(4, 3), Ok(()));
        assert_eq!(r.ensure_room_for(3, 5), Err(DecodeError::ShortRead));
        assert_eq!(r.ensure_room_for(13, 1), Err(DecodeError::ShortRead));
        assert_eq!(
            r.ensure_room_for(u64::MAX, 2),
            Err(DecodeError::ShortRead),
            "no overflow"
        );
        assert_eq!(r.ensure_room_for(u64::MAX, 0), Ok(()), "items of no bytes always fit");
    }

    #[test]
    fn u16_prefixed_rejects_a_length_past_the_end() {
        let mut r = Reader::new(&[0, 3, 9, 9]);
        assert_eq!(r.u16_prefixed(), Err(DecodeError::ShortRead));
        let mut r = Reader::new(&[0, 2, 9, 8, 7]);
        assert_eq!(r.u16_prefixed(), Ok(&[9u8, 8][..]));
        assert_eq!(r.remaining(), 1);
    }

    #[test]
    fn decode_exact_rejects_trailing_bytes() {
        assert_eq!(u16::decode_exact(&[1, 2]), Ok(0x0102));
        assert!(u16::decode_exact(&[1, 2, 3]).is_err());
    }

    // BOLT 1 Appendix D: signed integers, each in the smallest width that holds it.
    #[test]
    fn bolt1_signed_integer_vectors() {
        fn smallest(v: i64) -> Vec<u8> {
            if let Ok(x) = i8::try_from(v) {
                x.encode_to_vec()
            } else if let Ok(x) = i16::try_from(v) {
                x.encode_to_vec()
            } else if let Ok(x) = i32::try_from(v) {
                x.encode_to_vec()
            } else {
                v.encode_to_vec()
            }
        }
        let vectors: &[(i64, &[u8])] = &[
            (0, &[0x00]),
            (42, &[0x2a]),
            (-42, &[0xd6]),
            (127, &[0x7f]),
            (-128, &[0x80]),
            (128, &[0x00, 0x80]),
            (-129, &[0xff, 0x7f]),
            (15000, &[0x3a, 0x98]),
            (-15000, &[0xc5, 0x68]),
            (32767, &[0x7f, 0xff]),
            (-32768, &[0x80, 0x00]),
            (32768, &[0x00, 0x00, 0x80, 0x00]),
            (-32769, &[0xff, 0xff, 0x7f, 0xff]),
            (21000000, &[0x01, 0x40, 0x6f, 0x40]),
            (-21000000, &[0xfe, 0xbf, 0x90, 0xc0]),
            (2147483647, &[0x7f, 0xff, 0xff, 0xff]),
            (-2147483648, &[0x80, 0x00, 0x00, 0x00]),
            (2147483648, &[0, 0, 0, 0, 0x80, 0, 0, 0]),
            (-2147483649, &[0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff]),
            (500000000000, &[0, 0, 0, 0x74, 0x6a, 0x52, 0x88, 0]),
            (-500000000000, &[0xff, 0xff, 0xff, 0x8b, 0x95, 0xad, 0x78, 0]),
            (i64::MAX, &[0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            (i64::MIN, &[0x80, 0, 0, 0, 0, 0, 0, 0]),
        ];
        for (value, bytes) in vectors {
            assert_eq!(smallest(*value), bytes.to_vec(), "encoding {value}");
            let decoded = match bytes.len() {
                1 => i8::decode_exact(bytes).map(i64::from),
                2 => i16::decode_exact(bytes).map(i64::from),
                4 => i32::decode_exact(bytes).map(i64::from),
                _ => i64::decode_exact(bytes),
            };
            assert_eq!(decoded, Ok(*value));
        }
        assert_eq!(vec![0x80u8], (-128i8).encode_to_vec());
    }
}
