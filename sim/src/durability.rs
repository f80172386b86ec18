//! Durability at delivery: what a peer already holds must be enforceable from the
//! sender's durable monitor. Checked by the simulator after every event and by the
//! consistency target after every delivery, so that a message released before the
//! monitor update it depends on is a finding even when nothing crashes at that moment.
//!
//! - A commitment a node holds with its peer's signature (the peer's `funding_created`,
//!   `funding_signed` or `commitment_signed`) is one it can broadcast: the peer's durable
//!   monitor must know it (or hold its revocation secret, to punish it).
//! - A preimage a payer learned (the payee's `update_fulfill_htlc`) must be in the
//!   payee's durable monitor: otherwise a crash leaves the payee unable to claim on chain
//!   what its peer already knows it was paid.
//!
//! The third rule, a `revoke_and_ack` only once the new holder commitment is durable, is
//! the simulator's `revoked_state_on_disk` and the targets' broadcast checks.

use std::collections::BTreeMap;

use lightning::chain::ChannelMonitor;
use lightning::chan::channel::ChannelPhase;
use lightning::wire::{ChannelId, PaymentHash};

use crate::network::hex;
use crate::node::Manager;

/// The first commitment `holder` can broadcast on a channel with `signer`, signed by
/// `signer`, that `signer`'s durable monitors neither know nor can punish: the channel
/// and the commitment number. Left out: a channel `signer` no longer has (it dropped it
/// at a restart that found its monitor lacking: storage lost writes, and the node
/// noticed rather than ran on), and those `excused` says (the harness knows their
/// storage went back, as a restore from an old backup does, which only the peer's
/// `channel_reestablish` can reveal).
pub fn unenforceable_commitment(
    holder: &Manager,
    signer: &Manager,
    excused: impl Fn(&ChannelId) -> bool,
) -> Option<(ChannelId, u64)> {
    let signer_monitors = &signer.persister().monitors;
    holder.channel_ids().into_iter().find_map(|id| {
        if holder.counterparty_of(&id) != Some(signer.node_id()) || signer.channel(&id).is_none() || excused(&id) {
            return None;
        }
        let channel = holder.channel(&id)?;
        let holds_signed = matches!(
            channel.phase(),
            ChannelPhase::AwaitingChannelReady { .. } | ChannelPhase::Normal | ChannelPhase::ShuttingDown
        );
        if !holds_signed {
            return None;
        }
        let number = channel.holder_commitment_number();
        let enforceable = signer_monitors.get(&id).is_some_and(|monitor| {
            monitor.counterparty_commitments().contains_key(&number) || monitor.counterparty_secret(number).is_some()
        });
        (!enforceable).then_some((id, number))
    })
}

/// Whether any of `monitors` durably holds the preimage of `payment_hash`.
pub fn preimage_is_durable(monitors: &BTreeMap<ChannelId, ChannelMonitor>, payment_hash: &PaymentHash) -> bool {
    monitors.values().any(|m| m.preimage(payment_hash).is_some())
}

/// The finding for [`unenforceable_commitment`], naming the message and the update.
pub fn describe_unenforceable(signer: usize, holder: usize, (channel_id, number): (ChannelId, u64)) -> String {
    format!(
        "channel {}: node {holder} holds its commitment {number} signed by node {signer} (a commitment_signed or \
         funding message delivered), but node {signer}'s durable monitor has no monitor update holding it",
        hex(&channel_id.0)
    )
}

/// The finding for a fulfill delivered before its preimage was durable.
pub fn describe_undurable_preimage(payee: usize, payer: usize, payment_hash: &PaymentHash) -> String {
    format!(
        "payment {}: node {payer} learned the preimage (an update_fulfill_htlc delivered) before node {payee}'s \
         durable monitor held it",
        hex(&payment_hash.0)
    )
}
