//! BOLT 1 setup and control messages: `init`, `error`, `warning`, `ping`, `pong`.

use alloc::vec::Vec;

use bitcoin::constants::ChainHash;

use crate::wire::codec::{DecodeError, Encode, Reader};
use crate::wire::features::Features;
use crate::wire::tlv::{tlv_stream, NoTlvs, TlvValue};
use crate::wire::types::ChannelId;
use crate::wire::wire_message;

/// The chains a node is interested in (`init`'s `networks`): a whole number of hashes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Networks(pub Vec<ChainHash>);

impl TlvValue for Networks {
    fn value_len(&self) -> usize {
        self.0.len() * 32
    }
    fn encode_value(&self, out: &mut Vec<u8>) {
        for chain in &self.0 {
            chain.encode(out);
        }
    }
    fn decode_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() % 32 != 0 {
            return Err(DecodeError::TlvBadLength { tlv_type: 1 });
        }
        let mut r = Reader::new(bytes);
        let mut chains = Vec::with_capacity(bytes.len() / 32);
        while !r.is_empty() {
            chains.push(ChainHash::from(r.array::<32>()?));
        }
        Ok(Networks(chains))
    }
}

tlv_stream! {
    /// `init_tlvs`.
    pub struct InitTlvs {
        /// The chains the node will gossip or open channels for.
        1 => networks: Networks,
        /// The peer's address as the sender sees it (an address descriptor, unparsed).
        3 => remote_addr: Vec<u8>,
    }
}

wire_message! {
    /// `init` (16): the first message on every connection, with the sender's features.
    pub struct Init = 16 {
        /// Legacy global features (bits up to 13); combined with `features` by OR.
        pub global_features: Features,
        /// The sender's features.
        pub features: Features,
        /// The extension.
        pub tlvs: InitTlvs,
    }
}

impl Init {
    /// The sender's features: `global_features` OR `features`, as BOLT 1 requires.
    pub fn combined_features(&self) -> Features {
        self.global_features.union(&self.features)
    }
}

wire_message! {
    /// `error` (17): the referenced channel (or all, if the id is zero) has failed.
    pub struct ErrorMessage = 17 {
        /// The failed channel, or all zeros for every channel with the peer.
        pub channel_id: ChannelId,
        /// Free-form diagnostic bytes; print only if printable ASCII.
        pub data: Vec<u8>,
        /// The extension.
        pub extension: NoTlvs,
    }
}

wire_message! {
    /// `warning` (1): something is wrong, but nothing has failed.
    pub struct Warning = 1 {
        /// The channel concerned, or all zeros.
        pub channel_id: ChannelId,
        /// Free-form diagnostic bytes; print only if printable ASCII.
        pub data: Vec<u8>,
        /// The extension.
        pub extension: NoTlvs,
    }
}

/// Diagnostic bytes as text, if they are printable ASCII (BOLT 1: otherwise they SHOULD
/// NOT be printed verbatim).
pub fn printable_data(data: &[u8]) -> Option<&str> {
    if data.iter().all(|b| (32..=126).contains(b)) {
        core::str::from_utf8(data).ok()
    } else {
        None
    }
}

/// A ping asking for this many pong bytes or more gets no answer (BOLT 1).
pub const MAX_PONG_BYTES_ANSWERED: u16 = 65532;

wire_message! {
    /// `ping` (18): keep-alive; the peer answers with `num_pong_bytes` bytes of pong.
    pub struct Ping = 18 {
        /// How many bytes the `pong` must carry; 65532 or more means "do not answer".
        pub num_pong_bytes: u16,
        /// Padding, zeros by convention.
        pub ignored: Vec<u8>,
        /// The extension.
        pub extension: NoTlvs,
    }
}

wire_message! {
    /// `pong` (19): the answer to a `ping`.
    pub struct Pong = 19 {
        /// Padding of the length the ping asked for.
        pub ignored: Vec<u8>,
        /// The extension.
        pub extension: NoTlvs,
    }
}
