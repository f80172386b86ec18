//! TLV streams (BOLT 1): records in strictly increasing type order, minimally encoded
//! types and lengths, unknown even types rejected, unknown odd types kept aside so a
//! message re-encodes to the bytes that were signed.

use alloc::vec::Vec;

use super::bigsize::BigSize;
use super::codec::{Decode, DecodeError, Encode, Reader};

/// Walks a TLV stream, enforcing the BOLT 1 rules that do not depend on the namespace:
/// minimal BigSize type and length, strictly increasing types, and lengths within the
/// remaining bytes.
#[derive(Debug)]
pub struct TlvReader<'a> {
    r: Reader<'a>,
    last_type: Option<u64>,
}

impl<'a> TlvReader<'a> {
    /// A reader over a whole stream (zero or more records).
    pub fn new(stream: &'a [u8]) -> Self {
        TlvReader {
            r: Reader::new(stream),
            last_type: None,
        }
    }

    /// The next record as `(type, value)`, or `None` once the stream is exhausted.
    #[allow(clippy::should_implement_trait)] // fallible, so not an `Iterator`
    pub fn next(&mut self) -> Result<Option<(u64, &'a [u8])>, DecodeError> {
        if self.r.is_empty() {
            return Ok(None);
        }
        let tlv_type = BigSize::decode(&mut self.r)?.0;
        if let Some(last) = self.last_type {
            if tlv_type <= last {
                return Err(DecodeError::TlvNotIncreasing { tlv_type });
            }
        }
        self.last_type = Some(tlv_type);
        let len = BigSize::decode(&mut self.r)?.0;
        if len > self.r.remaining() as u64 {
            return Err(DecodeError::TlvLengthExceedsRemaining { tlv_type });
        }
        let value = self.r.take(len as usize)?;
        Ok(Some((tlv_type, value)))
    }
}

/// A TLV record this node does not understand, kept so the message re-encodes exactly.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TlvRecord {
    /// The record type (always odd when it came from a peer).
    pub tlv_type: u64,
    /// The raw value bytes.
    pub value: Vec<u8>,
}

/// The unknown odd records of a stream, in increasing type order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct UnknownTlvs(pub Vec<TlvRecord>);

impl UnknownTlvs {
    /// Keeps an unknown record if it is odd ("it's ok to be odd"); an unknown even record
    /// makes the whole stream invalid.
    pub fn keep(&mut self, tlv_type: u64, value: &[u8]) -> Result<(), DecodeError> {
        if tlv_type % 2 == 0 {
            return Err(DecodeError::UnknownEvenTlv { tlv_type });
        }
        self.0.push(TlvRecord {
            tlv_type,
            value: value.to_vec(),
        });
        Ok(())
    }

    /// Whether no unknown records were kept.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Writes a TLV stream: the caller writes its known records in increasing type order and
/// the writer interleaves the kept unknown records where their types belong.
pub struct TlvWriter<'a> {
    out: &'a mut Vec<u8>,
    unknown: &'a [TlvRecord],
    last_type: Option<u64>,
}

impl<'a> TlvWriter<'a> {
    /// Starts a stream at the end of `out`.
    pub fn new(out: &'a mut Vec<u8>, unknown: &'a UnknownTlvs) -> Self {
        TlvWriter {
            out,
            unknown: &unknown.0,
            last_type: None,
        }
    }

    fn raw(&mut self, tlv_type: u64, value: &[u8]) {
        // A stream we emit must be one we would accept: types strictly increase.
        assert!(
            self.last_type.is_none_or(|last| tlv_type > last),
            "TLV type {tlv_type} written out of order"
        );
        self.last_type = Some(tlv_type);
        BigSize(tlv_type).encode(self.out);
        BigSize(value.len() as u64).encode(self.out);
        self.out.extend_from_slice(value);
    }

    fn flush_unknown_below(&mut self, tlv_type: u64) {
        while let Some((first, rest)) = self.unknown.split_first() {
            if first.tlv_type >= tlv_type {
                break;
            }
            self.unknown = rest;
            self.raw(first.tlv_type, &first.value);
        }
    }

    /// Writes one known record.
    pub fn record(&mut self, tlv_type: u64, value: &[u8]) {
        self.flush_unknown_below(tlv_type);
        self.raw(tlv_type, value);
    }

    /// Writes one known record of `value_len` bytes, produced by `write_value` straight
    /// into the output (no intermediate buffer).
    pub fn record_with(&mut self, tlv_type: u64, value_len: usize, write_value: impl FnOnce(&mut Vec<u8>)) {
        self.flush_unknown_below(tlv_type);
        assert!(
            self.last_type.is_none_or(|last| tlv_type > last),
            "TLV type {tlv_type} written out of order"
        );
        self.last_type = Some(tlv_type);
        BigSize(tlv_type).encode(self.out);
        BigSize(value_len as u64).encode(self.out);
        let start = self.out.len();
        write_value(self.out);
        assert_eq!(self.out.len() - start, value_len, "TLV type {tlv_type} length mismatch");
    }

    /// Writes any unknown records after the last known one.
    pub fn finish(mut self) {
        self.flush_unknown_below(u64::MAX);
        let unknown = self.unknown;
        for record in unknown {
            self.raw(record.tlv_type, &record.value);
        }
    }
}

/// The value of a known TLV record: its exact length and its encoding. Decoding must
/// consume the whole value; a length that does not fit the encoding is an error.
pub trait TlvValue: Sized {
    /// The encoded length in bytes.
    fn value_len(&self) -> usize;
    /// Appends the encoding.
    fn encode_value(&self, out: &mut Vec<u8>);
    /// Decodes a value spanning all of `bytes`.
    fn decode_value(bytes: &[u8]) -> Result<Self, DecodeError>;
}

/// Fixed-size values: the record's length must be exactly the encoding's.
macro_rules! fixed_tlv_value {
    ($($t:ty => $len:expr),* $(,)?) => {$(
        impl TlvValue for $t {
            fn value_len(&self) -> usize {
                $len
            }
            fn encode_value(&self, out: &mut Vec<u8>) {
                self.encode(out);
            }
            fn decode_value(bytes: &[u8]) -> Result<Self, DecodeError> {
                if bytes.len() != $len {
                    return Err(DecodeError::TlvBadLength { tlv_type: 0 });
                }
                <$t>::decode(&mut Reader::new(bytes))
            }
        }
    )*};
}

fixed_tlv_value!(
    bitcoin::secp256k1::PublicKey => 33,
    bitcoin::secp256k1::ecdsa::Signature => 64,
    bitcoin::Txid => 32,
    super::types::ShortChannelId => 8,
    u8 => 1,
    u16 => 2,
    u64 => 8,
    [u8; 32] => 32,
);

impl<T: TlvValue> TlvValue for alloc::boxed::Box<T> {
    fn value_len(&self) -> usize {
        (**self).value_len()
    }
    fn encode_value(&self, out: &mut Vec<u8>) {
        (**self).encode_value(out)
    }
    fn decode_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        T::decode_value(bytes).map(alloc::boxed::Box::new)
    }
}

/// Raw bytes: the whole value, with no inner length (BOLT 1 forbids the redundant one).
impl TlvValue for Vec<u8> {
    fn value_len(&self) -> usize {
        self.len()
    }
    fn encode_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
    fn decode_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(bytes.to_vec())
    }
}

impl TlvValue for bitcoin::ScriptBuf {
    fn value_len(&self) -> usize {
        self.len()
    }
    fn encode_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
    fn decode_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(bitcoin::ScriptBuf::from_bytes(bytes.to_vec()))
    }
}

impl TlvValue for super::features::Features {
    fn value_len(&self) -> usize {
        self.as_be_bytes().len()
    }
    fn encode_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_be_bytes());
    }
    fn decode_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(super::features::Features::from_be_bytes(bytes.to_vec()))
    }
}

/// Declares a TLV stream: a struct with one optional field per known record and the kept
/// unknown odd records, and its encoding (records in type order) and decoding (BOLT 1
/// rules, with a known record's bad length reported against its type).
macro_rules! tlv_stream {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $tlv_type:literal => $field:ident : $t:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: Option<$t>, )*
            /// Unknown odd records, kept so the message re-encodes exactly.
            pub unknown: $crate::wire::tlv::UnknownTlvs,
        }

        impl $crate::wire::codec::Encode for $name {
            fn encode(&self, out: &mut alloc::vec::Vec<u8>) {
                #[allow(unused_imports)]
                use $crate::wire::tlv::TlvValue;
                #[allow(unused_mut)]
                let mut w = $crate::wire::tlv::TlvWriter::new(out, &self.unknown);
                $(
                    if let Some(value) = &self.$field {
                        w.record_with($tlv_type, value.value_len(), |o| value.encode_value(o));
                    }
                )*
                w.finish();
            }
        }

        impl $crate::wire::codec::Decode for $name {
            fn decode(
                r: &mut $crate::wire::codec::Reader<'_>,
            ) -> Result<Self, $crate::wire::codec::DecodeError> {
                #[allow(unused_imports)]
                use $crate::wire::codec::DecodeError;
                #[allow(unused_imports)]
                use $crate::wire::tlv::TlvValue;
                let mut stream = $name::default();
                let mut reader = $crate::wire::tlv::TlvReader::new(r.take_rest());
                while let Some((tlv_type, value)) = reader.next()? {
                    match tlv_type {
                        $(
                            $tlv_type => {
                                stream.$field = Some(<$t>::decode_value(value).map_err(|e| match e {
                                    DecodeError::TlvBadLength { .. } | DecodeError::ShortRead => {
                                        DecodeError::TlvBadLength { tlv_type }
                                    }
                                    other => other,
                                })?);
                            }
                        )*
                        _ => stream.unknown.keep(tlv_type, value)?,
                    }
                }
                Ok(stream)
            }
        }
    };
}
pub(crate) use tlv_stream;

tlv_stream! {
    /// A stream with no known records (the extension of messages that define none).
    pub struct NoTlvs {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn writer_interleaves_unknown_records_in_order() {
        let unknown = UnknownTlvs(vec![
            TlvRecord {
                tlv_type: 1,
                value: vec![0xaa],
            },
            TlvRecord {
                tlv_type: 5,
                value: vec![],
            },
            TlvRecord {
                tlv_type: u64::MAX,
                value: vec![0xbb],
            },
        ]);
        let mut out = Vec::new();
        let mut w = TlvWriter::new(&mut out, &unknown);
        w.record(2, &[7]);
        w.finish();
        let mut expected = vec![1, 1, 0xaa, 2, 1, 7, 5, 0];
        expected.extend_from_slice(&[0xff; 9]);
        expected.extend_from_slice(&[1, 0xbb]);
        assert_eq!(out, expected);
        assert_eq!(
            NoTlvs::decode_exact(&out),
            Err(DecodeError::UnknownEvenTlv { tlv_type: 2 })
        );
    }

    #[test]
    fn unknown_stream_round_trips() {
        let bytes = [0x21, 0x00, 0xfd, 0x02, 0x01, 0x01, 0x09];
        let stream = NoTlvs::decode_exact(&bytes);
        let Ok(stream) = stream else { panic!("{stream:?}") };
        assert_eq!(stream.unknown.0.len(), 2);
        let out = stream.encode_to_vec();
        assert_eq!(out, bytes);
    }
}
