//! What the library hands back to the user, pulled with `take_events`.

use alloc::string::String;

use bitcoin::secp256k1::PublicKey;
use bitcoin::ScriptBuf;

use crate::wire::{ChannelId, PaymentHash, PaymentPreimage};

/// Something the user should know or act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The peer accepted our channel: the user's wallet must build a transaction paying
    /// `funding_satoshis` to `output_script`, then call `funding_transaction_generated`.
    FundingGenerationReady {
        /// The channel's temporary id.
        temporary_channel_id: ChannelId,
        /// The peer.
        counterparty_node_id: PublicKey,
        /// The value of the funding output.
        funding_satoshis: u64,
        /// The funding output's script.
        output_script: ScriptBuf,
    },
    /// The funding transaction may be broadcast: the peer's signature on our first
    /// commitment is verified and persisted.
    FundingSigned {
        /// The channel.
        channel_id: ChannelId,
    },
    /// The channel is open for payments.
    ChannelReady {
        /// The channel.
        channel_id: ChannelId,
        /// The peer.
        counterparty_node_id: PublicKey,
    },
    /// A payment to us is irrevocably committed: claim it with its preimage.
    PaymentClaimable {
        /// Its hash.
        payment_hash: PaymentHash,
        /// What it pays us.
        amount_msat: u64,
    },
    /// We claimed a payment: its fulfill is on the way.
    PaymentClaimed {
        /// Its hash.
        payment_hash: PaymentHash,
        /// What it paid us.
        amount_msat: u64,
    },
    /// A payment we sent succeeded: the preimage is the proof.
    PaymentSent {
        /// Its hash.
        payment_hash: PaymentHash,
        /// The preimage.
        payment_preimage: PaymentPreimage,
    },
    /// A payment we sent failed.
    PaymentFailed {
        /// Its hash.
        payment_hash: PaymentHash,
        /// The failure code from the error onion, when a hop could be identified.
        failure_code: Option<u16>,
    },
    /// A channel closed (or failed).
    ChannelClosed {
        /// The channel.
        channel_id: ChannelId,
        /// Why.
        reason: String,
    },
}
