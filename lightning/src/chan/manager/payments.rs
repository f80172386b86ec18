//! Payments to us: invoices' hashes and secrets, each incoming HTLC once irrevocably
//! committed (onion peeled: ours to claim, or a forward's), the final hop's checks,
//! claims, and failing back what is not claimed in time.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use bitcoin::hashes::{sha256, Hash};

use super::forward::IncomingHtlc;
use super::{ApiError, ChannelManager, HtlcRef};
use crate::chain::{Broadcaster, Persist};
use crate::chan::channel::ChannelError;
use crate::chan::ledger::Side;
use crate::events::Event;
use crate::onion::errors::{
    INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS, INVALID_ONION_HMAC, INVALID_ONION_KEY, INVALID_ONION_VERSION, MPP_TIMEOUT,
    TEMPORARY_NODE_FAILURE,
};
use crate::onion::{build_failure_packet, peel_onion_packet, HopPayload, OnionError};
use crate::sign::{EntropySource, NodeSigner, SignerProvider};
use crate::wire::{ChannelId, Decode, Encode, Message, OnionPacket, PaymentHash, PaymentPreimage};

/// A payment we can receive.
#[derive(Clone, Debug)]
pub(crate) struct InboundPayment {
    pub preimage: PaymentPreimage,
    pub secret: [u8; 32],
    pub amount_msat: Option<u64>,
}

/// An HTLC paying us, held until the user claims it (or it nears expiry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ClaimableHtlc {
    pub channel_id: ChannelId,
    pub htlc_id: u64,
    pub amount_msat: u64,
    pub cltv_expiry: u32,
    /// The onion's shared secret, to fail it back with an error onion.
    pub shared_secret: [u8; 32],
}

/// Blocks a multi-part payment's parts wait for the rest: then every part fails back
/// with `mpp_timeout` (BOLT 4 asks for "some reasonable timeout"; blocks are this
/// library's only clock, and two are about twenty minutes).
pub const MPP_TIMEOUT_BLOCKS: u32 = 2;

/// The parts of a multi-part payment that arrived, until they add up to its total.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IncompleteSet {
    /// The total every part's onion names.
    pub total_msat: u64,
    /// The height the first part arrived at.
    pub first_seen_height: u32,
    pub htlcs: Vec<ClaimableHtlc>,
}

/// Fail an unclaimed HTLC back this many blocks before it expires: the payer's node must
/// still be able to fail it upstream, and we must not be forced on chain to claim it.
pub const CLAIM_DEADLINE_BLOCKS: u32 = 12;
/// The fewest blocks an arriving final HTLC may have left before expiry: the
/// `min_final_cltv_expiry_delta` of every payment this node receives (BOLT 11's default,
/// which an invoice without a `c` field asks). A payer must give at least this.
pub const MIN_FINAL_CLTV_EXPIRY_DELTA: u32 = 18;
/// Blocks a payment's final expiry gets beyond the payee's minimum: blocks found while
/// the HTLC is on its way count against the payee's minimum (BOLT 4's final-node check
/// compares with the height when the HTLC arrives).
pub const FINAL_CLTV_TRANSIT_BLOCKS: u32 = 3;

#[derive(Clone, Default)]
pub(crate) struct Payments {
    pub inbound: BTreeMap<PaymentHash, InboundPayment>,
    /// Onions of inbound HTLCs not yet processed.
    pub inbound_onions: BTreeMap<(ChannelId, u64), OnionPacket>,
    /// HTLCs that pay us, waiting for the user's claim.
    pub claimable: BTreeMap<PaymentHash, Vec<ClaimableHtlc>>,
    /// Multi-part payments some of whose parts arrived, until the rest do (then they
    /// are claimable) or time runs out (then every part fails back).
    pub incomplete: BTreeMap<PaymentHash, IncompleteSet>,
    /// Payments the user claimed, some of whose HTLCs (still in `claimable`, the preimage
    /// still in `inbound`) could not be fulfilled yet: their channel's peer was
    /// disconnected. Fulfilled once it is back; never failed back.
    pub claiming: alloc::collections::BTreeSet<PaymentHash>,
}

fn sha256_of(bytes: &[u8]) -> [u8; 32] {
    sha256::Hash::hash(bytes).to_byte_array()
}

impl<K: NodeSigner + EntropySource + SignerProvider, P: Persist, B: Broadcaster> ChannelManager<K, P, B> {
    /// A new payment we can receive: its hash and secret go in the invoice.
    pub fn create_inbound_payment(&mut self, amount_msat: Option<u64>) -> (PaymentHash, [u8; 32]) {
        let preimage = PaymentPreimage(self.keys.random_bytes());
        let secret = self.keys.random_bytes();
        let hash = PaymentHash(sha256_of(&preimage.0));
        self.payments.inbound.insert(
            hash,
            InboundPayment {
                preimage,
                secret,
                amount_msat,
            },
        );
        (hash, secret)
    }

    /// The preimage of a payment we created, to claim it when it arrives.
    pub fn payment_preimage(&self, payment_hash: &PaymentHash) -> Option<PaymentPreimage> {
        self.payments.inbound.get(payment_hash).map(|p| p.preimage)
    }

    /// Payments that arrived and wait for the user's claim, with the amount each pays:
    /// what `PaymentClaimable` events announced, still unclaimed. A node restarted after
    /// taking an event but before acting on it learns here what it still has to claim.
    pub fn claimable_payments(&self) -> Vec<(PaymentHash, u64)> {
        self.payments
            .claimable
            .iter()
            .filter(|(hash, _)| !self.payments.claiming.contains(hash))
            .map(|(hash, htlcs)| (*hash, htlcs.iter().map(|h| h.amount_msat).sum()))
            .collect()
    }

    /// Claims every HTLC paying `preimage`'s hash. An HTLC whose channel's peer is
    /// disconnected is fulfilled once the channel is reestablished (the claim is kept
    /// with the manager's state until then).
    pub fn claim_payment(&mut self, preimage: PaymentPreimage) -> Result<(), ApiError> {
        let hash = PaymentHash(sha256_of(&preimage.0));
        if self.payments.claiming.contains(&hash) {
            // Claimed already; what waits goes out on reconnection.
            return Ok(());
        }
        let htlcs = self.payments.claimable.get(&hash).ok_or(ApiError::UnknownPayment)?;
        let amount_msat = htlcs.iter().map(|h| h.amount_msat).sum();
        self.payments.claiming.insert(hash);
        self.fulfill_claimed(hash, preimage);
        self.events.push(Event::PaymentClaimed {
            payment_hash: hash,
            amount_msat,
        });
        Ok(())
    }

    /// Fulfills the HTLCs of the claimed payment `hash` whose channels can take it now;
    /// the rest stay claimable, and the claim in `claiming`, until they can.
    fn fulfill_claimed(&mut self, hash: PaymentHash, preimage: PaymentPreimage) {
        let htlcs = self.payments.claimable.remove(&hash).unwrap_or_default();
        let mut waiting = Vec::new();
        for htlc in htlcs {
            let Some(managed) = self.channels.get_mut(&htlc.channel_id) else {
                continue;
            };
            if !managed.channel.is_connected() {
                waiting.push(htlc);
                continue;
            }
            let result = managed
                .channel
                .fulfill_htlc(htlc.htlc_id, preimage)
                .map(|m| alloc::vec![Message::UpdateFulfillHtlc(m)]);
            self.after_channel_call(&htlc.channel_id, result);
        }
        if waiting.is_empty() {
            self.payments.claiming.remove(&hash);
            self.payments.inbound.remove(&hash);
        } else {
            self.payments.claimable.insert(hash, waiting);
        }
    }

    /// Fulfills what claimed payments still wait for: called when a channel is back.
    pub(crate) fn fulfill_waiting_claims(&mut self) {
        let claiming: Vec<PaymentHash> = self.payments.claiming.iter().copied().collect();
        for hash in claiming {
            match self.payments.inbound.get(&hash).map(|p| p.preimage) {
                Some(preimage) => self.fulfill_claimed(hash, preimage),
                None => {
                    // Cannot happen: the preimage goes only with the last fulfill.
                    debug_assert!(false, "a claim without its preimage");
                    self.payments.claiming.remove(&hash);
                }
            }
        }
    }

    /// Fails back unclaimed HTLCs close to expiry, and fails channels whose offered HTLCs
    /// expired without an answer (only the chain can resolve them now).
    pub(crate) fn check_htlc_timeouts(&mut self) {
        self.check_incomplete_payments();
        let height = self.best_height;
        let expiring: Vec<(PaymentHash, ClaimableHtlc)> = self
            .payments
            .claimable
            .iter()
            // A claimed payment is never failed back: it is fulfilled once its peer is back.
            .filter(|(hash, _)| !self.payments.claiming.contains(hash))
            .flat_map(|(hash, htlcs)| htlcs.iter().map(move |h| (*hash, *h)))
            .filter(|(_, h)| height.saturating_add(CLAIM_DEADLINE_BLOCKS) >= h.cltv_expiry)
            .collect();
        for (hash, htlc) in expiring {
            let mut failure = INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS.to_be_bytes().to_vec();
            failure.extend_from_slice(&htlc.amount_msat.to_be_bytes());
            failure.extend_from_slice(&height.to_be_bytes());
            let reason = build_failure_packet(&htlc.shared_secret, &failure);
            let Some(managed) = self.channels.get_mut(&htlc.channel_id) else {
                continue;
            };
            let result = managed.channel.fail_htlc(htlc.htlc_id, reason);
            if let Err(ChannelError::Ignore(_)) = result {
                // Disconnected for now: try again at the next block.
                continue;
            }
            if let Some(htlcs) = self.payments.claimable.get_mut(&hash) {
                htlcs.retain(|h| *h != htlc);
                if htlcs.is_empty() {
                    self.payments.claimable.remove(&hash);
                }
            }
            self.after_channel_call(
                &htlc.channel_id,
                result.map(|m| alloc::vec![Message::UpdateFailHtlc(m)]),
            );
        }
        let timed_out: Vec<ChannelId> = self
            .channels
            .iter()
            .filter(|(_, m)| {
                m.channel
                    .holder_view()
                    .htlcs
                    .iter()
                    .any(|((offerer, _), h)| *offerer == Side::Holder && height >= h.cltv_expiry)
            })
            .map(|(id, _)| *id)
            .collect();
        for channel_id in timed_out {
            self.fail_channel(&channel_id, "an HTLC we offered expired unresolved".into(), true);
        }
        // A forward whose preimage we hold but whose incoming channel has not taken the
        // claim (its peer away) goes on chain before the incoming HTLC expires (BOLT 2):
        // else the peer could time it out while we paid the next hop.
        let unclaimed: Vec<ChannelId> = self
            .forwards
            .pairs
            .values()
            .filter(|p| {
                matches!(p.stage(), super::forward::ForwardStage::Fulfilled { .. })
                    && height.saturating_add(CLAIM_DEADLINE_BLOCKS) >= p.incoming.cltv_expiry
            })
            .map(|p| p.incoming.htlc.channel_id)
            .collect();
        for channel_id in unclaimed {
            self.fail_channel(
                &channel_id,
                "an HTLC we must claim with a preimage we hold nears expiry".into(),
                true,
            );
        }
    }

    /// Looks at the channel's inbound HTLCs that became irrevocably committed: peels
    /// their onions and makes them claimable, or fails them.
    pub(crate) fn process_inbound_htlcs(&mut self, channel_id: &ChannelId) {
        let mut onions = self
            .payments
            .inbound_onions
            .range((*channel_id, 0)..=(*channel_id, u64::MAX))
            .peekable();
        // Mostly none: then the channel need not be looked up.
        if onions.peek().is_none() {
            return;
        }
        let Some(managed) = self.channels.get(channel_id) else {
            return;
        };
        let ready: Vec<u64> = onions
            .map(|((_, id), _)| *id)
            .filter(|id| {
                managed
                    .channel
                    .ledger()
                    .is_irrevocably_committed(Side::Counterparty, *id)
            })
            .collect();
        for htlc_id in ready {
            // Failing an HTLC back re-enters this processing through the channel call,
            // which may already have handled the rest of `ready`: handle each once.
            let Some(onion) = self.payments.inbound_onions.remove(&(*channel_id, htlc_id)) else {
                continue;
            };
            self.process_inbound_htlc(channel_id, htlc_id, &onion);
        }
    }

    fn process_inbound_htlc(&mut self, channel_id: &ChannelId, htlc_id: u64, onion: &OnionPacket) {
        let Some(managed) = self.channels.get(channel_id) else {
            return;
        };
        let Some(htlc) = managed.channel.holder_commitment_htlc(Side::Counterparty, htlc_id) else {
            return;
        };
        // BOLT 2: a trimmed HTLC past our dust exposure is failed once committed, its
        // preimage never revealed; HTLCs offered before it were judged first.
        let too_much_dust = managed.channel.exceeds_dust_exposure(
            Side::Counterparty,
            htlc.amount_msat,
            Some(htlc_id),
            self.config.max_dust_htlc_exposure_msat,
        );
        let peeled = peel_onion_packet(&self.secp, onion, &self.keys, &htlc.payment_hash.0);
        let message = match peeled {
            Err(OnionError::UnknownVersion(_) | OnionError::InvalidPublicKey | OnionError::HmacMismatch) => {
                let code = match peeled {
                    Err(OnionError::UnknownVersion(_)) => INVALID_ONION_VERSION,
                    Err(OnionError::InvalidPublicKey) => INVALID_ONION_KEY,
                    _ => INVALID_ONION_HMAC,
                };
                let sha = sha256_of(&onion.encode_to_vec());
                let managed = self.channels.get_mut(channel_id).map(|m| &mut m.channel);
                let result = managed.map(|c| {
                    c.fail_malformed_htlc(htlc_id, sha, code)
                        .map(|m| alloc::vec![Message::UpdateFailMalformedHtlc(m)])
                });
                if let Some(result) = result {
                    self.after_channel_call(channel_id, result);
                }
                return;
            }
            Err(_) => None,
            Ok(peeled) => Some(peeled),
        };
        let Some(peeled) = message else { return };
        if peeled.next_packet.is_some() {
            let incoming = IncomingHtlc {
                htlc: HtlcRef {
                    channel_id: *channel_id,
                    htlc_id,
                },
                amount_msat: htlc.amount_msat,
                cltv_expiry: htlc.cltv_expiry,
                payment_hash: htlc.payment_hash,
                shared_secret: peeled.shared_secret,
            };
            return self.accept_forward(incoming, &peeled, too_much_dust);
        }
        let part = ClaimableHtlc {
            channel_id: *channel_id,
            htlc_id,
            amount_msat: htlc.amount_msat,
            cltv_expiry: htlc.cltv_expiry,
            shared_secret: peeled.shared_secret,
        };
        let accepted = if too_much_dust {
            Err(TEMPORARY_NODE_FAILURE.to_be_bytes().to_vec())
        } else {
            self.check_final_payload(&peeled.payload, htlc.amount_msat, htlc.cltv_expiry, &htlc.payment_hash)
                .and_then(|total_msat| self.accept_part(htlc.payment_hash, part, total_msat))
        };
        match accepted {
            Ok(()) => {}
            Err(failure_message) => {
                let reason = build_failure_packet(&peeled.shared_secret, &failure_message);
                let managed = self.channels.get_mut(channel_id).map(|m| &mut m.channel);
                if let Some(channel) = managed {
                    let result = channel
                        .fail_htlc(htlc_id, reason)
                        .map(|m| alloc::vec![Message::UpdateFailHtlc(m)]);
                    self.after_channel_call(channel_id, result);
                }
            }
        }
    }

    /// The payment's total (what every part names) if the final payload pays a payment
    /// we expect; the failure message if not.
    fn check_final_payload(
        &self,
        payload: &[u8],
        amount_msat: u64,
        cltv_expiry: u32,
        payment_hash: &PaymentHash,
    ) -> Result<u64, Vec<u8>> {
        let details_failure = || {
            let mut message = INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS.to_be_bytes().to_vec();
            message.extend_from_slice(&amount_msat.to_be_bytes());
            message.extend_from_slice(&self.best_height.to_be_bytes());
            Err(message)
        };
        let payload = HopPayload::decode_exact(payload).ok();
        // BOLT 4: a final payload carries the amount and the expiry.
        let Some((payload, onion_amount_msat, onion_cltv_expiry)) =
            payload.and_then(|p| Some((p.clone(), p.amt_to_forward?.0, p.outgoing_cltv_value?.0)))
        else {
            let mut message = crate::onion::errors::INVALID_ONION_PAYLOAD.to_be_bytes().to_vec();
            crate::wire::BigSize(0).encode(&mut message);
            0u16.encode(&mut message);
            return Err(message);
        };
        let Some(expected) = self.payments.inbound.get(payment_hash) else {
            return details_failure();
        };
        let Some(payment_data) = payload.payment_data.filter(|d| d.payment_secret == expected.secret) else {
            return details_failure();
        };
        // A part brings at least what its onion says, and the parts together at least
        // the invoice's amount (each part alone when there is one).
        let total_msat = payment_data.total_msat;
        #[allow(unused_mut)]
        let mut amount_ok = onion_amount_msat <= total_msat && expected.amount_msat.is_none_or(|a| total_msat >= a);
        #[cfg(feature = "planted-bugs")]
        if self.config.planted_bug == Some(super::PlantedBug::PayeeAcceptsUnderpayment) {
            amount_ok = true;
        }
        let cltv_ok = cltv_expiry >= self.best_height.saturating_add(MIN_FINAL_CLTV_EXPIRY_DELTA);
        if !(amount_ok && cltv_ok) {
            return details_failure();
        }
        // BOLT 4: the HTLC brings less time or value than the onion says the payer
        // gave: the hop before us cut it, and says so with its own codes.
        if cltv_expiry < onion_cltv_expiry {
            let mut message = crate::onion::errors::FINAL_INCORRECT_CLTV_EXPIRY.to_be_bytes().to_vec();
            cltv_expiry.encode(&mut message);
            return Err(message);
        }
        if amount_msat < onion_amount_msat {
            let mut message = crate::onion::errors::FINAL_INCORRECT_HTLC_AMOUNT.to_be_bytes().to_vec();
            amount_msat.encode(&mut message);
            return Err(message);
        }
        Ok(total_msat)
    }

    /// A part of a payment to us passed its checks: it joins the payment's set, and the
    /// set is claimable once its parts add up to the total. A part naming another total
    /// than the set's, or arriving after the payment was complete, fails back.
    fn accept_part(&mut self, payment_hash: PaymentHash, part: ClaimableHtlc, total_msat: u64) -> Result<(), Vec<u8>> {
        let details_failure = || {
            let mut message = INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS.to_be_bytes().to_vec();
            message.extend_from_slice(&part.amount_msat.to_be_bytes());
            message.extend_from_slice(&self.best_height.to_be_bytes());
            message
        };
        if self.payments.claimable.contains_key(&payment_hash) || self.payments.claiming.contains(&payment_hash) {
            return Err(details_failure());
        }
        let best_height = self.best_height;
        let set = self.payments.incomplete.entry(payment_hash).or_insert(IncompleteSet {
            total_msat,
            first_seen_height: best_height,
            htlcs: Vec::new(),
        });
        if set.total_msat != total_msat {
            return Err(details_failure());
        }
        set.htlcs.push(part);
        let arrived_msat: u64 = set.htlcs.iter().map(|h| h.amount_msat).sum();
        if arrived_msat < total_msat {
            return Ok(());
        }
        let set = self.payments.incomplete.remove(&payment_hash).expect("just filled");
        self.payments.claimable.insert(payment_hash, set.htlcs);
        self.events.push(Event::PaymentClaimable {
            payment_hash,
            amount_msat: arrived_msat,
        });
        Ok(())
    }

    /// Fails back every part of multi-part payments whose rest did not arrive within
    /// [`MPP_TIMEOUT_BLOCKS`], or one of whose parts nears its expiry.
    fn check_incomplete_payments(&mut self) {
        let height = self.best_height;
        let expired: Vec<PaymentHash> = self
            .payments
            .incomplete
            .iter()
            .filter(|(_, set)| {
                height >= set.first_seen_height.saturating_add(MPP_TIMEOUT_BLOCKS)
                    || set
                        .htlcs
                        .iter()
                        .any(|h| height.saturating_add(CLAIM_DEADLINE_BLOCKS) >= h.cltv_expiry)
            })
            .map(|(hash, _)| *hash)
            .collect();
        for hash in expired {
            let htlcs = self
                .payments
                .incomplete
                .get(&hash)
                .map(|s| s.htlcs.clone())
                .unwrap_or_default();
            for htlc in htlcs {
                let reason = build_failure_packet(&htlc.shared_secret, &MPP_TIMEOUT.to_be_bytes());
                let Some(managed) = self.channels.get_mut(&htlc.channel_id) else {
                    continue;
                };
                let result = managed.channel.fail_htlc(htlc.htlc_id, reason);
                if let Err(ChannelError::Ignore(_)) = result {
                    continue; // Its peer is away: again at the next block.
                }
                if let Some(set) = self.payments.incomplete.get_mut(&hash) {
                    set.htlcs.retain(|h| *h != htlc);
                    if set.htlcs.is_empty() {
                        self.payments.incomplete.remove(&hash);
                    }
                }
                self.after_channel_call(
                    &htlc.channel_id,
                    result.map(|m| alloc::vec![Message::UpdateFailHtlc(m)]),
                );
            }
        }
    }
}
