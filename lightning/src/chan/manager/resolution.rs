//! What became of the HTLCs we offered, handed to whoever offered them: a payment of
//! ours ([`super::outbound`]) or a forward ([`super::forward`]).
//!
//! A fulfill is acted on at once: the preimage is ours whatever happens next. A failure
//! waits until its removal is irrevocably committed (BOLT 2 "Forwarding HTLCs"): until
//! then a reconnection may undo it, or the peer may still claim the HTLC with a
//! commitment that holds it, so neither a retry nor a failure upstream may depend on it.

use alloc::vec::Vec;

use super::{ChannelManager, HtlcRef};
use crate::chain::{Broadcaster, Persist};
use crate::chan::ledger::Side;
use crate::sign::{EntropySource, NodeSigner, SignerProvider};
use crate::wire::{ChannelId, PaymentPreimage};

/// How the peer failed an HTLC we offered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutgoingFailure {
    /// With an error onion (`update_fail_htlc`).
    Onion(Vec<u8>),
    /// Its onion could not be parsed (`update_fail_malformed_htlc`).
    Malformed {
        /// The BADONION code.
        failure_code: u16,
        /// SHA-256 of the onion it received.
        sha256_of_onion: [u8; 32],
    },
}

impl<K: NodeSigner + EntropySource + SignerProvider, P: Persist, B: Broadcaster> ChannelManager<K, P, B> {
    /// The peer fulfilled an HTLC we offered.
    pub(crate) fn outgoing_fulfilled(&mut self, htlc: HtlcRef, preimage: PaymentPreimage) {
        // A failure it sent before a reconnection undid it is void now.
        self.failed_outgoing.remove(&htlc);
        if self.forwards.is_outgoing(&htlc) {
            self.forward_fulfilled(htlc, preimage);
        } else {
            self.payment_part_fulfilled(htlc, preimage);
        }
    }

    /// The peer failed an HTLC we offered: acted on once irrevocable.
    pub(crate) fn outgoing_failed(&mut self, htlc: HtlcRef, failure: OutgoingFailure) {
        self.failed_outgoing.insert(htlc, failure);
    }

    /// Hands over the failures on `channel_id` that became irrevocable.
    pub(crate) fn process_failed_outgoing(&mut self, channel_id: &ChannelId) {
        let mut waiting = self.failed_outgoing.range(HtlcRef::all_of(*channel_id)).peekable();
        if waiting.peek().is_none() {
            return;
        }
        let Some(managed) = self.channels.get(channel_id) else {
            return;
        };
        let ledger = managed.channel.ledger();
        let irrevocable: Vec<HtlcRef> = waiting
            .map(|(htlc, _)| *htlc)
            .filter(|htlc| ledger.is_removal_irrevocable(Side::Holder, htlc.htlc_id))
            .collect();
        for htlc in irrevocable {
            let Some(failure) = self.failed_outgoing.remove(&htlc) else {
                continue;
            };
            if self.forwards.is_outgoing(&htlc) {
                self.forward_failed(htlc, failure);
            } else {
                self.payment_part_failed(htlc, failure);
            }
        }
    }
}
