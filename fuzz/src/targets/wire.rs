//! Decoders of the wire format: every message, BigSize, TLV streams.

use lightning::wire::{BigSize, Decode, Encode, Message, Reader, TlvReader, TlvWriter, UnknownTlvs};

/// Any bytes as a typed message: decoding never panics, and what decodes re-encodes to
/// bytes that decode to the same message.
pub fn wire_message(data: &[u8]) {
    let Ok(message) = Message::decode(data) else { return };
    let bytes = message.encode_to_vec();
    let again = Message::decode(&bytes).expect("a re-encoded message decodes");
    assert_eq!(again, message, "message changed through a round trip");
    // Encoding is canonical: a second round trip gives the same bytes.
    assert_eq!(again.encode_to_vec(), bytes);
}

/// A BigSize decodes only from its minimal encoding, which it re-encodes to exactly.
pub fn bigsize(data: &[u8]) {
    let mut r = Reader::new(data);
    let Ok(value) = BigSize::decode(&mut r) else { return };
    let consumed = data.len() - r.remaining();
    let mut out = Vec::new();
    value.encode(&mut out);
    assert_eq!(out, &data[..consumed], "BigSize {} re-encodes differently", value.0);
}

/// A TLV stream the reader accepts (strictly increasing types, minimal BigSizes, lengths
/// in bounds) is written back byte for byte.
pub fn tlv_stream(data: &[u8]) {
    let mut reader = TlvReader::new(data);
    let mut records = Vec::new();
    loop {
        match reader.next() {
            Ok(Some((tlv_type, value))) => records.push((tlv_type, value.to_vec())),
            Ok(None) => break,
            Err(_) => return,
        }
    }
    let mut out = Vec::new();
    let none = UnknownTlvs::default();
    let mut writer = TlvWriter::new(&mut out, &none);
    for (tlv_type, value) in &records {
        writer.record(*tlv_type, value);
    }
    writer.finish();
    assert_eq!(out, data, "an accepted stream re-encodes differently");
}
