//! BOLT 2 channel establishment v1: `open_channel`, `accept_channel`, `funding_created`,
//! `funding_signed`, `channel_ready`.

use bitcoin::constants::ChainHash;
use bitcoin::secp256k1::{ecdsa::Signature, PublicKey};
use bitcoin::{ScriptBuf, Txid};

use crate::wire::features::Features;
use crate::wire::tlv::{tlv_stream, NoTlvs};
use crate::wire::types::{ChannelId, ShortChannelId};
use crate::wire::wire_message;

tlv_stream! {
    /// `open_channel_tlvs` and `accept_channel_tlvs`.
    pub struct OpenChannelTlvs {
        /// The script the sender commits to close to (empty: no commitment).
        0 => upfront_shutdown_script: ScriptBuf,
        /// The channel type the sender proposes (or accepts).
        1 => channel_type: Features,
    }
}

/// `channel_flags` bit 0: announce the channel to the network.
pub const CHANNEL_FLAG_ANNOUNCE: u8 = 1;

wire_message! {
    /// `open_channel` (32): a funder proposes a channel and its parameters.
    pub struct OpenChannel = 32 {
        /// The chain the channel is on.
        pub chain_hash: ChainHash,
        /// An id for the channel until the funding transaction exists.
        pub temporary_channel_id: ChannelId,
        /// The channel's capacity.
        pub funding_satoshis: u64,
        /// The amount given to the fundee at opening.
        pub push_msat: u64,
        /// Outputs below this are not created in the funder's commitment transactions.
        pub dust_limit_satoshis: u64,
        /// Cap on the total value of outstanding HTLCs offered to the funder.
        pub max_htlc_value_in_flight_msat: u64,
        /// The minimum balance the fundee must keep.
        pub channel_reserve_satoshis: u64,
        /// The smallest HTLC the funder will accept.
        pub htlc_minimum_msat: u64,
        /// The initial commitment feerate.
        pub feerate_per_kw: u32,
        /// Blocks the fundee's to-self outputs must wait.
        pub to_self_delay: u16,
        /// Cap on the number of HTLCs offered to the funder.
        pub max_accepted_htlcs: u16,
        /// The funder's key in the 2-of-2 funding output.
        pub funding_pubkey: PublicKey,
        /// The funder's revocation basepoint.
        pub revocation_basepoint: PublicKey,
        /// The funder's payment basepoint.
        pub payment_basepoint: PublicKey,
        /// The funder's delayed payment basepoint.
        pub delayed_payment_basepoint: PublicKey,
        /// The funder's HTLC basepoint.
        pub htlc_basepoint: PublicKey,
        /// The funder's per-commitment point for commitment number 0.
        pub first_per_commitment_point: PublicKey,
        /// Bit 0: announce the channel.
        pub channel_flags: u8,
        /// The extension.
        pub tlvs: OpenChannelTlvs,
    }
}

wire_message! {
    /// `accept_channel` (33): the fundee accepts and states its own parameters.
    pub struct AcceptChannel = 33 {
        /// The `temporary_channel_id` of the `open_channel`.
        pub temporary_channel_id: ChannelId,
        /// Outputs below this are not created in the fundee's commitment transactions.
        pub dust_limit_satoshis: u64,
        /// Cap on the total value of outstanding HTLCs offered to the fundee.
        pub max_htlc_value_in_flight_msat: u64,
        /// The minimum balance the funder must keep.
        pub channel_reserve_satoshis: u64,
        /// The smallest HTLC the fundee will accept.
        pub htlc_minimum_msat: u64,
        /// Confirmations the fundee waits for before `channel_ready`.
        pub minimum_depth: u32,
        /// Blocks the funder's to-self outputs must wait.
        pub to_self_delay: u16,
        /// Cap on the number of HTLCs offered to the fundee.
        pub max_accepted_htlcs: u16,
        /// The fundee's key in the 2-of-2 funding output.
        pub funding_pubkey: PublicKey,
        /// The fundee's revocation basepoint.
        pub revocation_basepoint: PublicKey,
        /// The fundee's payment basepoint.
        pub payment_basepoint: PublicKey,
        /// The fundee's delayed payment basepoint.
        pub delayed_payment_basepoint: PublicKey,
        /// The fundee's HTLC basepoint.
        pub htlc_basepoint: PublicKey,
        /// The fundee's per-commitment point for commitment number 0.
        pub first_per_commitment_point: PublicKey,
        /// The extension.
        pub tlvs: OpenChannelTlvs,
    }
}

wire_message! {
    /// `funding_created` (34): the funder names the funding outpoint and signs the
    /// fundee's first commitment transaction.
    pub struct FundingCreated = 34 {
        /// The `temporary_channel_id` of the `open_channel`.
        pub temporary_channel_id: ChannelId,
        /// The funding transaction's id.
        pub funding_txid: Txid,
        /// The funding output's index.
        pub funding_output_index: u16,
        /// The funder's signature on the fundee's commitment number 0.
        pub signature: Signature,
        /// The extension.
        pub extension: NoTlvs,
    }
}

wire_message! {
    /// `funding_signed` (35): the fundee signs the funder's first commitment transaction.
    pub struct FundingSigned = 35 {
        /// The real channel id, derived from the funding outpoint.
        pub channel_id: ChannelId,
        /// The fundee's signature on the funder's commitment number 0.
        pub signature: Signature,
        /// The extension.
        pub extension: NoTlvs,
    }
}

tlv_stream! {
    /// `channel_ready_tlvs`.
    pub struct ChannelReadyTlvs {
        /// An alias the peer may use in routing hints instead of the real short channel id.
        1 => short_channel_id: ShortChannelId,
    }
}

wire_message! {
    /// `channel_ready` (36): the funding transaction is deep enough to use the channel.
    pub struct ChannelReady = 36 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The sender's per-commitment point for commitment number 1.
        pub second_per_commitment_point: PublicKey,
        /// The extension.
        pub tlvs: ChannelReadyTlvs,
    }
}
