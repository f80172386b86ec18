//! BOLT 7 gossip: `announcement_signatures`, `channel_announcement`, `node_announcement`
//! and `channel_update`.
//!
//! Gossip is signed over its whole encoding, extension included, so every message keeps
//! its unknown extension records and re-encodes to the signed bytes.

use alloc::vec::Vec;

use bitcoin::constants::ChainHash;
use bitcoin::secp256k1::{ecdsa::Signature, PublicKey};

use crate::wire::codec::{Decode, DecodeError, Encode, Reader};
use crate::wire::features::Features;
use crate::wire::tlv::NoTlvs;
use crate::wire::types::{ChannelId, ShortChannelId};
use crate::wire::wire_message;

wire_message! {
    /// `announcement_signatures` (259): a channel party's signatures for the channel's
    /// `channel_announcement`.
    pub struct AnnouncementSignatures = 259 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The channel's short id.
        pub short_channel_id: ShortChannelId,
        /// The sender's node-key signature.
        pub node_signature: Signature,
        /// The sender's funding-key signature.
        pub bitcoin_signature: Signature,
        /// The extension.
        pub extension: NoTlvs,
    }
}

wire_message! {
    /// `channel_announcement` (256): proof that a channel exists between two nodes.
    pub struct ChannelAnnouncement = 256 {
        /// Signature by `node_id_1`.
        pub node_signature_1: Signature,
        /// Signature by `node_id_2`.
        pub node_signature_2: Signature,
        /// Signature by `bitcoin_key_1`.
        pub bitcoin_signature_1: Signature,
        /// Signature by `bitcoin_key_2`.
        pub bitcoin_signature_2: Signature,
        /// The channel's features.
        pub features: Features,
        /// The chain the channel is on.
        pub chain_hash: ChainHash,
        /// The funding output's location.
        pub short_channel_id: ShortChannelId,
        /// The lexicographically lesser node id.
        pub node_id_1: PublicKey,
        /// The other node id.
        pub node_id_2: PublicKey,
        /// `node_id_1`'s funding key.
        pub bitcoin_key_1: PublicKey,
        /// `node_id_2`'s funding key.
        pub bitcoin_key_2: PublicKey,
        /// The extension.
        pub extension: NoTlvs,
    }
}

/// A network address from `node_announcement` (BOLT 7's address descriptors).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SocketAddress {
    /// Type 1.
    Ipv4 {
        /// The address.
        addr: [u8; 4],
        /// The port.
        port: u16,
    },
    /// Type 2.
    Ipv6 {
        /// The address.
        addr: [u8; 16],
        /// The port.
        port: u16,
    },
    /// Type 3, deprecated Tor v2: skipped by readers but kept for re-encoding.
    TorV2Deprecated([u8; 12]),
    /// Type 4: a Tor v3 onion service.
    TorV3 {
        /// ed25519 public key, checksum and version.
        onion_addr: [u8; 35],
        /// The port.
        port: u16,
    },
    /// Type 5: a DNS hostname (ASCII; punycode for anything else).
    Hostname {
        /// The hostname bytes.
        hostname: Vec<u8>,
        /// The port.
        port: u16,
    },
}

impl Encode for SocketAddress {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            SocketAddress::Ipv4 { addr, port } => {
                out.push(1);
                out.extend_from_slice(addr);
                port.encode(out);
            }
            SocketAddress::Ipv6 { addr, port } => {
                out.push(2);
                out.extend_from_slice(addr);
                port.encode(out);
            }
            SocketAddress::TorV2Deprecated(data) => {
                out.push(3);
                out.extend_from_slice(data);
            }
            SocketAddress::TorV3 { onion_addr, port } => {
                out.push(4);
                out.extend_from_slice(onion_addr);
                port.encode(out);
            }
            SocketAddress::Hostname { hostname, port } => {
                out.push(5);
                assert!(hostname.len() <= 255, "hostname longer than 255 bytes");
                out.push(hostname.len() as u8);
                out.extend_from_slice(hostname);
                port.encode(out);
            }
        }
    }
}

impl SocketAddress {
    /// Reads one descriptor; `Ok(None)` for a type this node does not know, whose length
    /// it therefore cannot skip.
    fn decode_known(r: &mut Reader<'_>) -> Result<Option<Self>, DecodeError> {
        let addr = match u8::decode(r)? {
            1 => SocketAddress::Ipv4 {
                addr: r.array()?,
                port: u16::decode(r)?,
            },
            2 => SocketAddress::Ipv6 {
                addr: r.array()?,
                port: u16::decode(r)?,
            },
            3 => SocketAddress::TorV2Deprecated(r.array()?),
            4 => SocketAddress::TorV3 {
                onion_addr: r.array()?,
                port: u16::decode(r)?,
            },
            5 => {
                let len = usize::from(u8::decode(r)?);
                SocketAddress::Hostname {
                    hostname: r.take(len)?.to_vec(),
                    port: u16::decode(r)?,
                }
            }
            _ => return Ok(None),
        };
        Ok(Some(addr))
    }
}

/// The `addresses` field: the descriptors this node understands, then, from the first
/// descriptor of unknown type on, the raw bytes it cannot parse (BOLT 7: readers ignore
/// them, but they are signed, so they are kept).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeAddresses {
    /// The parsed descriptors, in order.
    pub known: Vec<SocketAddress>,
    /// Bytes from the first unknown descriptor type to the end of the field.
    pub unparsed: Vec<u8>,
}

impl Encode for NodeAddresses {
    fn encode(&self, out: &mut Vec<u8>) {
        let len_at = out.len();
        out.extend_from_slice(&[0, 0]);
        for addr in &self.known {
            addr.encode(out);
        }
        out.extend_from_slice(&self.unparsed);
        let len = out.len() - len_at - 2;
        assert!(len <= usize::from(u16::MAX), "addresses longer than 65535 bytes");
        out[len_at..len_at + 2].copy_from_slice(&(len as u16).to_be_bytes());
    }
}

impl Decode for NodeAddresses {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut field = Reader::new(r.u16_prefixed()?);
        let mut addresses = NodeAddresses::default();
        while !field.is_empty() {
            let before = field.clone();
            match SocketAddress::decode_known(&mut field) {
                Ok(Some(addr)) => addresses.known.push(addr),
                // An unknown type, or a known one cut short: keep the rest as it came.
                Ok(None) | Err(_) => {
                    addresses.unparsed = before.clone().take_rest().to_vec();
                    break;
                }
            }
        }
        Ok(addresses)
    }
}

wire_message! {
    /// `node_announcement` (257): a node's features, alias and addresses.
    pub struct NodeAnnouncement = 257 {
        /// Signature by `node_id` over the rest of the message.
        pub signature: Signature,
        /// The node's features.
        pub features: Features,
        /// Seconds since the epoch; a newer announcement replaces an older one.
        pub timestamp: u32,
        /// The announcing node.
        pub node_id: PublicKey,
        /// A colour for displays.
        pub rgb_color: [u8; 3],
        /// A UTF-8 alias, zero-padded.
        pub alias: [u8; 32],
        /// Where to reach the node.
        pub addresses: NodeAddresses,
        /// The extension.
        pub extension: NoTlvs,
    }
}

/// `channel_update` `message_flags` bit 0: always set (`must_be_one`).
pub const MESSAGE_FLAG_MUST_BE_ONE: u8 = 1;
/// `channel_update` `channel_flags` bit 0: the update is from `node_id_2`.
pub const CHANNEL_FLAG_DIRECTION: u8 = 1;
/// `channel_update` `channel_flags` bit 1: the channel is disabled in this direction.
pub const CHANNEL_FLAG_DISABLE: u8 = 2;

wire_message! {
    /// `channel_update` (258): one direction's routing policy for a channel.
    pub struct ChannelUpdate = 258 {
        /// Signature by the origin node over the rest of the message.
        pub signature: Signature,
        /// The chain the channel is on.
        pub chain_hash: ChainHash,
        /// The channel.
        pub short_channel_id: ShortChannelId,
        /// Seconds since the epoch; a newer update replaces an older one.
        pub timestamp: u32,
        /// Bit 0 must be one.
        pub message_flags: u8,
        /// Bit 0: direction; bit 1: disabled.
        pub channel_flags: u8,
        /// Blocks the origin subtracts from an HTLC's expiry when forwarding.
        pub cltv_expiry_delta: u16,
        /// The smallest HTLC the origin forwards.
        pub htlc_minimum_msat: u64,
        /// The base forwarding fee.
        pub fee_base_msat: u32,
        /// The proportional forwarding fee, in millionths.
        pub fee_proportional_millionths: u32,
        /// The largest HTLC the origin forwards.
        pub htlc_maximum_msat: u64,
        /// The extension.
        pub extension: NoTlvs,
    }
}
