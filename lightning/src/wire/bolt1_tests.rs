//! BOLT 1 test vectors: Appendix A (BigSize), Appendix B (TLV streams) and Appendix C
//! (message extension).
//!
//! Source: the Lightning specification, lightning/bolts `01-messaging.md` at commit
//! a3772650d8ebc06acf457fcadf97968ebfc4dfff, licensed CC-BY 4.0.

use alloc::vec::Vec;

use bitcoin::secp256k1::PublicKey;

use super::bigsize::{Tu32, Tu64};
use super::codec::{Decode, DecodeError, Encode, Reader};
use super::message::Message;
use super::tlv::{tlv_stream, TlvValue};
use super::types::ShortChannelId;
use super::BigSize;

fn hex(s: &str) -> Vec<u8> {
    let s: alloc::string::String = s.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(s.len() % 2 == 0, "odd hex length: {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

// ---- Appendix A ----

#[test]
fn bolt1_bigsize_decoding() {
    let cases: &[(&str, u64, &str, Option<DecodeError>)] = &[
        ("zero", 0, "00", None),
        ("one byte high", 252, "fc", None),
        ("two byte low", 253, "fd00fd", None),
        ("two byte high", 65535, "fdffff", None),
        ("four byte low", 65536, "fe00010000", None),
        ("four byte high", 4294967295, "feffffffff", None),
        ("eight byte low", 4294967296, "ff0000000100000000", None),
        ("eight byte high", 18446744073709551615, "ffffffffffffffffff", None),
        (
            "two byte not canonical",
            0,
            "fd00fc",
            Some(DecodeError::NonCanonicalBigSize),
        ),
        (
            "four byte not canonical",
            0,
            "fe0000ffff",
            Some(DecodeError::NonCanonicalBigSize),
        ),
        (
            "eight byte not canonical",
            0,
            "ff00000000ffffffff",
            Some(DecodeError::NonCanonicalBigSize),
        ),
        ("two byte short read", 0, "fd00", Some(DecodeError::ShortRead)),
        ("four byte short read", 0, "feffff", Some(DecodeError::ShortRead)),
        ("eight byte short read", 0, "ffffffffff", Some(DecodeError::ShortRead)),
        ("one byte no read", 0, "", Some(DecodeError::ShortRead)),
        ("two byte no read", 0, "fd", Some(DecodeError::ShortRead)),
        ("four byte no read", 0, "fe", Some(DecodeError::ShortRead)),
        ("eight byte no read", 0, "ff", Some(DecodeError::ShortRead)),
    ];
    for (name, value, bytes, error) in cases {
        let decoded = BigSize::decode(&mut Reader::new(&hex(bytes)));
        match error {
            None => assert_eq!(decoded, Ok(BigSize(*value)), "{name}"),
            Some(e) => assert_eq!(decoded, Err(e.clone()), "{name}"),
        }
    }
}

#[test]
fn bolt1_bigsize_encoding() {
    let cases: &[(&str, u64, &str)] = &[
        ("zero", 0, "00"),
        ("one byte high", 252, "fc"),
        ("two byte low", 253, "fd00fd"),
        ("two byte high", 65535, "fdffff"),
        ("four byte low", 65536, "fe00010000"),
        ("four byte high", 4294967295, "feffffffff"),
        ("eight byte low", 4294967296, "ff0000000100000000"),
        ("eight byte high", 18446744073709551615, "ffffffffffffffffff"),
    ];
    for (name, value, bytes) in cases {
        assert_eq!(BigSize(*value).encode_to_vec(), hex(bytes), "{name}");
    }
}

// ---- Appendix B ----

/// `n1`'s `tlv3`: a node id and two amounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct N1Tlv3 {
    pub node_id: PublicKey,
    pub amount_msat_1: u64,
    pub amount_msat_2: u64,
}

impl TlvValue for N1Tlv3 {
    fn value_len(&self) -> usize {
        49
    }
    fn encode_value(&self, out: &mut Vec<u8>) {
        self.node_id.encode(out);
        self.amount_msat_1.encode(out);
        self.amount_msat_2.encode(out);
    }
    fn decode_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() != 49 {
            return Err(DecodeError::TlvBadLength { tlv_type: 3 });
        }
        let mut r = Reader::new(bytes);
        Ok(N1Tlv3 {
            node_id: PublicKey::decode(&mut r)?,
            amount_msat_1: u64::decode(&mut r)?,
            amount_msat_2: u64::decode(&mut r)?,
        })
    }
}

tlv_stream! {
    /// The `n1` namespace.
    pub struct N1 {
        /// tu64 amount_msat.
        1 => tlv1: Tu64,
        /// short_channel_id.
        2 => tlv2: ShortChannelId,
        /// point and two u64.
        3 => tlv3: N1Tlv3,
        /// u16 cltv_delta.
        254 => tlv4: u16,
    }
}

tlv_stream! {
    /// The `n2` namespace.
    pub struct N2 {
        /// tu64 amount_msat.
        0 => tlv1: Tu64,
        /// tu32 cltv_expiry.
        11 => tlv2: Tu32,
    }
}

fn n1(stream: &str) -> Result<N1, DecodeError> {
    N1::decode_exact(&hex(stream))
}

fn n2(stream: &str) -> Result<N2, DecodeError> {
    N2::decode_exact(&hex(stream))
}

const ANY_NAMESPACE_FAILURES: &[(&str, &str)] = &[
    ("fd", "type truncated"),
    ("fd01", "type truncated"),
    ("fd0001 00", "not minimally encoded type"),
    ("fd0101", "missing length"),
    ("0f fd", "length truncated"),
    ("0f fd26", "length truncated"),
    ("0f fd2602", "missing value"),
    ("0f fd0001 00", "not minimally encoded length"),
    ("12 00", "unknown even type"),
    ("fd0102 00", "unknown even type"),
    ("fe01000002 00", "unknown even type"),
    ("ff0100000000000002 00", "unknown even type"),
];

fn value_truncated_stream() -> alloc::string::String {
    let mut s = alloc::string::String::from("0f fd0201 ");
    for _ in 0..256 {
        s.push_str("00");
    }
    s
}

#[test]
fn bolt1_tlv_decoding_failures_in_any_namespace() {
    let long = value_truncated_stream();
    let mut cases: Vec<(&str, &str)> = ANY_NAMESPACE_FAILURES.to_vec();
    cases.push((long.as_str(), "value truncated"));
    for (stream, reason) in cases {
        assert!(n1(stream).is_err(), "n1 accepted {stream} ({reason})");
        assert!(n2(stream).is_err(), "n2 accepted {stream} ({reason})");
    }
}

#[test]
fn bolt1_tlv_decoding_failures_in_n1() {
    let cases: &[(&str, &str)] = &[
        ("01 09 ffffffffffffffffff", "greater than encoding length for tlv1"),
        ("01 01 00", "amount_msat not minimal"),
        ("01 02 0001", "amount_msat not minimal"),
        ("01 03 000100", "amount_msat not minimal"),
        ("01 04 00010000", "amount_msat not minimal"),
        ("01 05 0001000000", "amount_msat not minimal"),
        ("01 06 000100000000", "amount_msat not minimal"),
        ("01 07 00010000000000", "amount_msat not minimal"),
        ("01 08 0001000000000000", "amount_msat not minimal"),
        ("02 07 01010101010101", "less than encoding length for tlv2"),
        ("02 09 010101010101010101", "greater than encoding length for tlv2"),
        (
            "03 21 023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb",
            "less than encoding length for tlv3",
        ),
        (
            "03 29 023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb0000000000000001",
            "less than encoding length for tlv3",
        ),
        (
            "03 30 023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb000000000000000100000000000001",
            "less than encoding length for tlv3",
        ),
        (
            "03 31 043da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb00000000000000010000000000000002",
            "node_id is not a valid point",
        ),
        (
            "03 32 023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb0000000000000001000000000000000001",
            "greater than encoding length for tlv3",
        ),
        ("fd00fe 00", "less than encoding length for tlv4"),
        ("fd00fe 01 01", "less than encoding length for tlv4"),
        ("fd00fe 03 010101", "greater than encoding length for tlv4"),
        ("00 00", "unknown even field for n1"),
    ];
    for (stream, reason) in cases {
        assert!(n1(stream).is_err(), "n1 accepted {stream} ({reason})");
    }
    // The bad point is reported as such, not as a length problem.
    assert_eq!(n1(cases[14].0), Err(DecodeError::InvalidValue { field: "point" }));
}

const IGNORED_IN_EITHER_NAMESPACE: &[&str] = &[
    "",
    "21 00",
    "fd0201 00",
    "fd00fd 00",
    "fd00ff 00",
    "fe02000001 00",
    "ff0200000000000001 00",
];

#[test]
fn bolt1_tlv_decoding_successes_ignored() {
    for stream in IGNORED_IN_EITHER_NAMESPACE {
        let a = n1(stream);
        let b = n2(stream);
        assert_eq!(
            a.as_ref()
                .map(|s| s.tlv1.is_none() && s.tlv2.is_none() && s.tlv3.is_none()),
            Ok(true),
            "{stream}"
        );
        assert_eq!(
            b.as_ref().map(|s| s.tlv1.is_none() && s.tlv2.is_none()),
            Ok(true),
            "{stream}"
        );
        // Ignored records are kept, so the stream re-encodes to its own bytes.
        assert_eq!(a.map(|s| s.encode_to_vec()), Ok(hex(stream)), "{stream}");
    }
}

fn valid_n1_cases() -> Vec<(&'static str, N1)> {
    let amount = |v: u64| N1 {
        tlv1: Some(Tu64(v)),
        ..N1::default()
    };
    let node_id = PublicKey::from_slice(&hex(
        "023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb",
    ))
    .expect("vector point");
    alloc::vec![
        ("01 00", amount(0)),
        ("01 01 01", amount(1)),
        ("01 02 0100", amount(256)),
        ("01 03 010000", amount(65536)),
        ("01 04 01000000", amount(16777216)),
        ("01 05 0100000000", amount(4294967296)),
        ("01 06 010000000000", amount(1099511627776)),
        ("01 07 01000000000000", amount(281474976710656)),
        ("01 08 0100000000000000", amount(72057594037927936)),
        (
            "02 08 0000000000000226",
            N1 {
                tlv2: ShortChannelId::new(0, 0, 550),
                ..N1::default()
            }
        ),
        (
            "03 31 023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb00000000000000010000000000000002",
            N1 {
                tlv3: Some(N1Tlv3 {
                    node_id,
                    amount_msat_1: 1,
                    amount_msat_2: 2
                }),
                ..N1::default()
            },
        ),
        (
            "fd00fe 02 0226",
            N1 {
                tlv4: Some(550),
                ..N1::default()
            }
        ),
    ]
}

#[test]
fn bolt1_tlv_decoding_successes_in_n1() {
    for (stream, expected) in valid_n1_cases() {
        assert_eq!(n1(stream), Ok(expected.clone()), "{stream}");
        assert_eq!(expected.encode_to_vec(), hex(stream), "re-encoding {stream}");
    }
}

#[test]
fn bolt1_tlv_stream_appending() {
    let valid = valid_n1_cases();
    let long = value_truncated_stream();
    let mut invalid: Vec<&str> = ANY_NAMESPACE_FAILURES.iter().map(|(s, _)| *s).collect();
    invalid.push(long.as_str());
    // Any appending of an invalid stream to a valid stream fails.
    for (prefix, _) in &valid {
        for bad in &invalid {
            let joined = alloc::format!("{prefix}{bad}");
            assert!(n1(&joined).is_err(), "accepted {joined}");
        }
    }
    // Any appending of a higher-numbered valid stream to a lower-numbered one succeeds.
    for (low, low_value) in &valid {
        for (high, high_value) in &valid {
            let low_type = hex(low)[0];
            let high_type = hex(high)[0];
            if high_type <= low_type {
                continue;
            }
            let joined = alloc::format!("{low}{high}");
            let decoded = n1(&joined);
            assert!(decoded.is_ok(), "rejected {joined}: {decoded:?}");
            let decoded = decoded.expect("checked above");
            assert!(decoded.tlv1 == low_value.tlv1 || decoded.tlv1 == high_value.tlv1);
        }
    }
}

#[test]
fn bolt1_tlv_stream_decoding_failures() {
    let n1_cases = [
        (
            "02 08 0000000000000226 01 01 2a",
            "valid TLV records but invalid ordering",
        ),
        ("02 08 0000000000000231 02 08 0000000000000451", "duplicate TLV type"),
        ("1f 00 0f 01 2a", "valid (ignored) TLV records but invalid ordering"),
        ("1f 00 1f 01 2a", "duplicate TLV type (ignored)"),
    ];
    for (stream, reason) in n1_cases {
        assert!(
            matches!(n1(stream), Err(DecodeError::TlvNotIncreasing { .. })),
            "{stream}: {reason}"
        );
    }
    assert!(matches!(
        n2("ffffffffffffffffff 00 00 00"),
        Err(DecodeError::TlvNotIncreasing { tlv_type: 0 })
    ));
}

// ---- Appendix C ----

#[test]
fn bolt1_message_extension() {
    for valid in ["001000000000", "001000000000c9012acb0104"] {
        let decoded = Message::decode(&hex(valid));
        assert!(matches!(decoded, Ok(Message::Init(_))), "{valid}: {decoded:?}");
        assert_eq!(decoded.map(|m| m.encode_to_vec()), Ok(hex(valid)), "{valid}");
    }
    assert_eq!(Message::decode(&hex("00100000000001")), Err(DecodeError::ShortRead));
    assert_eq!(
        Message::decode(&hex("001000000000ca012a")),
        Err(DecodeError::UnknownEvenTlv { tlv_type: 0xca })
    );
    assert_eq!(
        Message::decode(&hex("001000000000c90101c90102")),
        Err(DecodeError::TlvNotIncreasing { tlv_type: 0xc9 })
    );
}

#[test]
fn bolt1_unknown_message_types_follow_its_ok_to_be_odd() {
    assert_eq!(
        Message::decode(&hex("8001 aabb")),
        Ok(Message::Unknown {
            msg_type: 0x8001,
            payload: hex("aabb")
        })
    );
    assert_eq!(
        Message::decode(&hex("8000 aabb")),
        Err(DecodeError::UnknownEvenMessage { msg_type: 0x8000 })
    );
    assert_eq!(Message::decode(&hex("00")), Err(DecodeError::ShortRead));
}
