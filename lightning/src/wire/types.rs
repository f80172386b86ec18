//! The fundamental field types of BOLT 1 that are not plain integers, and their wire
//! encodings: channel ids, short channel ids, chain hashes, payment hashes, onion
//! packets, scripts and length-prefixed byte strings.

use alloc::vec::Vec;
use core::fmt;

use bitcoin::constants::ChainHash;
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::{ScriptBuf, Txid};

use super::codec::{encode_u16_prefixed, Decode, DecodeError, Encode, Reader};

macro_rules! bytes32_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub [u8; 32]);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(", stringify!($name))?;
                for b in self.0 {
                    write!(f, "{b:02x}")?;
                }
                f.write_str(")")
            }
        }

        impl Encode for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.0);
            }
        }

        impl Decode for $name {
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok($name(r.array()?))
            }
        }
    };
}

bytes32_newtype!(
    /// A channel's id (BOLT 2): the funding txid XOR the funding output index, or a
    /// temporary id before the funding transaction exists. All zeros means "all channels"
    /// in `error` and `warning`.
    ChannelId
);
bytes32_newtype!(
    /// The SHA-256 of a payment preimage.
    PaymentHash
);
bytes32_newtype!(
    /// The secret whose hash locks an HTLC.
    PaymentPreimage
);

impl ChannelId {
    /// The all-zero id that refers to every channel with a peer.
    pub const ALL: ChannelId = ChannelId([0; 32]);

    /// Whether this is the all-zero id.
    pub fn is_all(&self) -> bool {
        self.0 == [0; 32]
    }
}

/// A short channel id (BOLT 7): block height, transaction index and output index of the
/// funding output, packed into 3, 3 and 2 bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ShortChannelId(pub u64);

impl ShortChannelId {
    /// Packs the three coordinates. Each must fit its field (24, 24 and 16 bits).
    pub fn new(block_height: u32, tx_index: u32, output_index: u16) -> Option<Self> {
        if block_height >= 1 << 24 || tx_index >= 1 << 24 {
            return None;
        }
        Some(ShortChannelId(
            (u64::from(block_height) << 40) | (u64::from(tx_index) << 16) | u64::from(output_index),
        ))
    }

    /// The block the funding transaction confirmed in.
    pub fn block_height(&self) -> u32 {
        (self.0 >> 40) as u32
    }

    /// The funding transaction's index in its block.
    pub fn tx_index(&self) -> u32 {
        ((self.0 >> 16) & 0xff_ffff) as u32
    }

    /// The funding output's index in its transaction.
    pub fn output_index(&self) -> u16 {
        (self.0 & 0xffff) as u16
    }
}

impl fmt::Debug for ShortChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}x{}", self.block_height(), self.tx_index(), self.output_index())
    }
}

impl Encode for ShortChannelId {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }
}

impl Decode for ShortChannelId {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ShortChannelId(u64::decode(r)?))
    }
}

impl Encode for ChainHash {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
}

impl Decode for ChainHash {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ChainHash::from(r.array::<32>()?))
    }
}

/// A txid as the wire carries it: the internal (not the reversed display) byte order.
impl Encode for Txid {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_byte_array());
    }
}

impl Decode for Txid {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Txid::from_byte_array(r.array()?))
    }
}

/// Every variable-length byte field of BOLT 1, 2 and 7 is a `u16` length and the bytes.
impl Encode for Vec<u8> {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_u16_prefixed(self, out);
    }
}

impl Decode for Vec<u8> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(r.u16_prefixed()?.to_vec())
    }
}

/// A script is a `u16`-length-prefixed byte string (as in `shutdown`).
impl Encode for ScriptBuf {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_u16_prefixed(self.as_bytes(), out);
    }
}

impl Decode for ScriptBuf {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ScriptBuf::from_bytes(r.u16_prefixed()?.to_vec()))
    }
}

/// A `u16` count followed by that many 64-byte signatures (`commitment_signed`).
impl Encode for Vec<Signature> {
    fn encode(&self, out: &mut Vec<u8>) {
        assert!(self.len() <= usize::from(u16::MAX), "more than 65535 signatures");
        (self.len() as u16).encode(out);
        out.reserve(self.len() * 64);
        for sig in self {
            sig.encode(out);
        }
    }
}

impl Decode for Vec<Signature> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let count = usize::from(u16::decode(r)?);
        // Check the length before allocating, so a short message cannot make us reserve
        // room for 65535 signatures.
        r.ensure_room_for(count as u64, 64)?;
        let mut sigs = Vec::with_capacity(count);
        for _ in 0..count {
            sigs.push(Signature::decode(r)?);
        }
        Ok(sigs)
    }
}

/// The length of a BOLT 4 onion routing packet in `update_add_htlc`.
pub const ONION_PACKET_LEN: usize = 1366;
/// The length of the hop payloads inside the packet.
pub const ONION_HOP_PAYLOADS_LEN: usize = 1300;

/// A BOLT 4 onion routing packet, kept as raw fields: a packet with a bad version or an
/// invalid public key must still decode, so the node can answer it with
/// `update_fail_malformed_htlc` rather than close the connection.
#[derive(Clone, PartialEq, Eq)]
pub struct OnionPacket {
    /// The packet version (0 today).
    pub version: u8,
    /// The sender's ephemeral public key, unparsed.
    pub public_key: [u8; 33],
    /// The encrypted hop payloads.
    pub hop_payloads: [u8; ONION_HOP_PAYLOADS_LEN],
    /// The HMAC over the packet for the first hop.
    pub hmac: [u8; 32],
}

impl fmt::Debug for OnionPacket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnionPacket")
            .field("version", &self.version)
            .field("public_key", &PublicKeyHex(&self.public_key))
            .field("hmac", &PublicKeyHex(&self.hmac))
            .finish_non_exhaustive()
    }
}

struct PublicKeyHex<'a>(&'a [u8]);

impl fmt::Debug for PublicKeyHex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl Encode for OnionPacket {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.version);
        out.extend_from_slice(&self.public_key);
        out.extend_from_slice(&self.hop_payloads);
        out.extend_from_slice(&self.hmac);
    }
}

impl Decode for OnionPacket {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(OnionPacket {
            version: u8::decode(r)?,
            public_key: r.array()?,
            hop_payloads: r.array()?,
            hmac: r.array()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_channel_id_packs_its_coordinates() {
        let scid = ShortChannelId::new(539268, 845, 1);
        assert_eq!(
            scid.map(|s| (s.block_height(), s.tx_index(), s.output_index())),
            Some((539268, 845, 1))
        );
        assert_eq!(ShortChannelId::new(1 << 24, 0, 0), None);
        assert_eq!(ShortChannelId(0x0000000000000226).output_index(), 550);
    }

    #[test]
    fn signature_vector_rejects_a_count_past_the_end() {
        let bytes = [0xff, 0xff, 0x00];
        assert_eq!(
            Vec::<Signature>::decode(&mut Reader::new(&bytes)),
            Err(DecodeError::ShortRead)
        );
    }
}
