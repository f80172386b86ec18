//! Each node's books: what it held in each channel when the channel became ready, and
//! what its payment events say moved since (claimed, paid with fees, earned forwarding).
//! Once the network is quiet, what a node holds in its channels must be exactly what its
//! books say: a forwarder that paid out more than it took in, a payment counted twice or
//! value that appeared or vanished shows as a difference. Nodes with a channel closed or
//! failed (its value left the channels), or holding an HTLC left to the chain, are not
//! judged.

use std::collections::BTreeMap;

use lightning::chan::channel::ChannelPhase;
use lightning::events::Event;
use lightning::routing::Path;
use lightning::wire::{ChannelId, PaymentHash};

use super::{FailureKind, Network, Violation};

/// One node's books. Keyed so an event delivered again (a restart before it was
/// handled) counts once.
#[derive(Clone, Debug, Default)]
pub(super) struct Books {
    /// Its balance in each channel when the channel became ready.
    opened_msat: BTreeMap<ChannelId, u64>,
    claimed_msat: BTreeMap<PaymentHash, u64>,
    /// What each payment it sent cost: the amount and the fees.
    paid_msat: BTreeMap<PaymentHash, u64>,
    /// What each forward earned, by payment and incoming channel.
    earned_msat: BTreeMap<(PaymentHash, ChannelId), u64>,
}

#[cfg(test)]
impl Books {
    /// The claims, to tamper with in a test.
    pub(super) fn claimed_msat_mut(&mut self) -> &mut BTreeMap<PaymentHash, u64> {
        &mut self.claimed_msat
    }
}

impl Network {
    /// Records what `event` of node `i` moves in its books.
    pub(super) fn book(&mut self, i: usize, event: &Event) {
        match event {
            Event::ChannelReady { channel_id, .. } => {
                let balance = self.nodes[i]
                    .channel_handler()
                    .channel(channel_id)
                    .map(|c| c.holder_view().holder_balance_msat);
                if let Some(balance) = balance {
                    self.books[i].opened_msat.entry(*channel_id).or_insert(balance);
                }
            }
            Event::PaymentClaimed {
                payment_hash,
                amount_msat,
            } => {
                self.books[i].claimed_msat.insert(*payment_hash, *amount_msat);
            }
            Event::PaymentSent {
                payment_hash,
                fee_paid_msat,
                paths,
                ..
            } => {
                let amount: u64 = paths.iter().map(Path::amount_msat).sum();
                self.books[i].paid_msat.insert(*payment_hash, amount + fee_paid_msat);
            }
            Event::PaymentForwarded {
                payment_hash,
                incoming_channel_id,
                fee_earned_msat,
                ..
            } => {
                self.books[i]
                    .earned_msat
                    .insert((*payment_hash, *incoming_channel_id), *fee_earned_msat);
            }
            _ => {}
        }
    }

    /// The first node, among those whose channels are all open, whose holdings differ
    /// from its books.
    pub(super) fn unbalanced_books(&self) -> Option<Violation> {
        for (i, node) in self.nodes.iter().enumerate() {
            let manager = node.channel_handler();
            let books = &self.books[i];
            let ids = manager.channel_ids();
            // A channel holding an HTLC once quiet holds one left to the chain (its value
            // is neither ours nor paid yet): such a node is not judged.
            let all_open = ids.iter().all(|id| {
                manager
                    .channel(id)
                    .is_some_and(|c| c.phase() == ChannelPhase::Normal && c.holder_view().htlcs.is_empty())
                    && books.opened_msat.contains_key(id)
                    && !self.excused_channels.contains(id)
            }) && ids.len() == books.opened_msat.len();
            if !all_open || ids.is_empty() {
                continue;
            }
            let holds: u64 = ids
                .iter()
                .filter_map(|id| manager.channel(id))
                .map(|c| c.holder_view().holder_balance_msat)
                .sum();
            let opened: u64 = books.opened_msat.values().sum();
            let claimed: u64 = books.claimed_msat.values().sum();
            let paid: u64 = books.paid_msat.values().sum();
            let earned: u64 = books.earned_msat.values().sum();
            let expected = i128::from(opened) + i128::from(claimed) + i128::from(earned) - i128::from(paid);
            if i128::from(holds) != expected {
                return Some(self.violation(
                    FailureKind::Invariant,
                    format!(
                        "value: node {i} holds {holds} msat in its channels, but its books say {expected}: \
                         {opened} at opening, {claimed} claimed, {earned} earned forwarding, {paid} paid"
                    ),
                ));
            }
        }
        None
    }
}
