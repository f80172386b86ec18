//! Normal operation (BOLT 2): adding and removing HTLCs, `update_fee`, and the
//! `commitment_signed` / `revoke_and_ack` dance, with every limit of the peer and of our
//! own checked before anything is signed.

use alloc::vec;
use alloc::vec::Vec;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, SecretKey};

use super::Cause;
use super::{
    close, ignore, signer_error, Channel, ChannelError, ChannelLimits, ChannelPhase, CLTV_TIMESTAMP_THRESHOLD,
};
use crate::chan::commitment::{fee_for_weight, COMMITMENT_BASE_WEIGHT, COMMITMENT_WEIGHT_PER_HTLC};
use crate::chan::ledger::{ChannelLedger, Coverage, Htlc, LedgerError, Removal, Side, Update};
use crate::chan::monitor_update::MonitorStep;
use crate::chan::secrets::INITIAL_COMMITMENT_NUMBER;
use crate::sign::ChannelSigner;
use crate::wire::{
    CommitmentSigned, CommitmentSignedTlvs, NoTlvs, OnionPacket, PaymentHash, PaymentPreimage, RevokeAndAck,
    SettleHtlcTlvs, UpdateAddHtlc, UpdateAddHtlcTlvs, UpdateFailHtlc, UpdateFailMalformedHtlc, UpdateFee,
    UpdateFulfillHtlc,
};

/// The lowest feerate relayed by default (1 sat/vbyte): no commitment goes below it.
pub const MIN_FEERATE_PER_KW: u32 = 253;

fn ledger_error(e: LedgerError) -> ChannelError {
    close(alloc::format!("{e:?}"))
}

/// The commitment fee the funder pays at `feerate_per_kw` with `htlc_count` HTLCs, each
/// counted as untrimmed (the most it could be).
fn worst_case_fee_msat(feerate_per_kw: u32, htlc_count: usize) -> u64 {
    let weight = COMMITMENT_BASE_WEIGHT + COMMITMENT_WEIGHT_PER_HTLC * htlc_count as u64;
    fee_for_weight(feerate_per_kw, weight) * 1000
}

impl<S: ChannelSigner> Channel<S> {
    /// New HTLCs need an open channel with the peer connected.
    fn require_normal(&self) -> Result<(), ChannelError> {
        match self.phase {
            ChannelPhase::Normal if self.connected => Ok(()),
            ChannelPhase::Normal => Err(ignore(Cause::PeerDisconnected)),
            _ => Err(ignore(Cause::NotOpen)),
        }
    }

    /// Whether HTLCs may still settle and commitments move (open, or shutting down).
    pub(crate) fn is_operational(&self) -> bool {
        matches!(self.phase, ChannelPhase::Normal | ChannelPhase::ShuttingDown)
    }

    /// Settling HTLCs needs the channel open or shutting down, with the peer connected.
    fn require_operational(&self) -> Result<(), ChannelError> {
        if !self.is_operational() {
            return Err(ignore(Cause::NotOpen));
        }
        if !self.connected {
            return Err(ignore(Cause::PeerDisconnected));
        }
        Ok(())
    }

    /// Forgets onions of HTLCs no longer in our log (committed on both sides).
    fn prune_onions(&mut self) {
        let base = self.ledger.log_end(Side::Holder) - self.ledger.pending_updates_of(Side::Holder) as u64;
        let pending: alloc::collections::BTreeSet<u64> = self
            .ledger
            .holder_updates_from(base)
            .filter_map(|(_, u)| match u {
                Update::AddHtlc(h) => Some(h.id),
                _ => None,
            })
            .collect();
        self.pending_onions.retain(|id, _| pending.contains(id));
    }

    /// The limits the receiver of `offerer`'s HTLCs set.
    fn receiver_limits(&self, offerer: Side) -> &ChannelLimits {
        match offerer {
            // We offer to the peer: its limits, sent in its open/accept.
            Side::Holder => &self.counterparty_limits,
            Side::Counterparty => &self.holder_limits,
        }
    }

    /// Checks BOLT 2's limits on `offerer`'s commitments once `ledger` includes the new
    /// update: every commitment it could end up in must respect the receiver's HTLC
    /// count and in-flight caps, and leave the offerer its reserve and (for the funder)
    /// the fee.
    fn check_offerer_limits(&self, ledger: &ChannelLedger, offerer: Side) -> Result<(), Cause> {
        let limits = self.receiver_limits(offerer);
        // The reserve the offerer keeps is the one the *other* side demanded of it.
        #[allow(unused_mut)]
        let mut reserve_msat = match offerer {
            Side::Holder => self.counterparty_limits.channel_reserve_satoshis * 1000,
            Side::Counterparty => self.holder_limits.channel_reserve_satoshis * 1000,
        };
        #[allow(unused_mut, unused_assignments)]
        let mut max_accepted_htlcs = limits.max_accepted_htlcs;
        #[cfg(feature = "planted-bugs")]
        match (self.planted_bug, offerer) {
            (Some(crate::chan::planted::PlantedBug::HtlcCapFromOwnLimits), Side::Holder) => {
                max_accepted_htlcs = self.holder_limits.max_accepted_htlcs;
            }
            (Some(crate::chan::planted::PlantedBug::ReserveFromOwnLimits), Side::Holder) => {
                reserve_msat = self.holder_limits.channel_reserve_satoshis * 1000;
            }
            _ => {}
        }
        let everything = Coverage {
            holder_updates: ledger.log_end(Side::Holder),
            counterparty_updates: ledger.log_end(Side::Counterparty),
        };
        // Sums, not views: this runs for every HTLC either side offers. Only the funder's
        // own offer needs the HTLCs themselves (below).
        let least_favourable = ledger.totals(ledger.least_favourable_to(offerer));
        let coverages = [
            everything,
            ledger.next_holder_commitment(),
            ledger.next_counterparty_commitment(),
        ];
        for totals in coverages.map(|coverage| ledger.totals(coverage)) {
            let offered = totals.offered_by(offerer);
            if offered.count > usize::from(max_accepted_htlcs) {
                return Err(Cause::TooManyHtlcs);
            }
            if offered.amount_msat() > limits.max_htlc_value_in_flight_msat {
                return Err(Cause::AboveInFlightCap);
            }
            if totals.total_msat() != self.funding_satoshis * 1000 {
                return Err("the commitment does not hold the channel's value".into());
            }
        }
        // The reserve and, for the funder, the commitment fee, against the smallest
        // balance the offerer can have. Both ends must reach the same verdict although
        // each knows a different set of the other's updates: the receiver counts only
        // what the sender had seen (see `least_favourable_to`), and the sender, to be
        // judged fairly whatever it had seen, counts every HTLC it knows of at the highest
        // feerate it knows of. So an honest sender never looks like a cheat, however the
        // two sides' adds cross on the wire.
        let balance = least_favourable.balance_msat(offerer);
        let offerer_is_funder = self.holder_is_funder == (offerer == Side::Holder);
        let fee = match (offerer_is_funder, offerer) {
            (false, _) => 0,
            (true, Side::Counterparty) => {
                worst_case_fee_msat(least_favourable.feerate_per_kw, least_favourable.htlc_count())
            }
            (true, Side::Holder) => {
                let views = coverages
                    .into_iter()
                    .chain(core::iter::once(ledger.least_favourable_to(offerer)))
                    .map(|coverage| ledger.view(coverage))
                    .collect::<Vec<_>>();
                let known: alloc::collections::BTreeSet<&(Side, u64)> =
                    views.iter().flat_map(|v| v.htlcs.keys()).collect();
                let feerate_per_kw = views.iter().map(|v| v.feerate_per_kw).max().unwrap_or(0);
                #[allow(unused_mut)]
                let mut htlc_count = known.len();
                #[cfg(feature = "planted-bugs")]
                if self.planted_bug == Some(crate::chan::planted::PlantedBug::FunderForgetsNextHtlcFee) {
                    htlc_count = htlc_count.saturating_sub(1);
                }
                worst_case_fee_msat(feerate_per_kw, htlc_count)
            }
        };
        if least_favourable.total_msat() != self.funding_satoshis * 1000 || balance < reserve_msat.saturating_add(fee) {
            return Err(Cause::OffererCannotAfford);
        }
        Ok(())
    }

    fn check_htlc_fields(&self, offerer: Side, amount_msat: u64, cltv_expiry: u32) -> Result<(), Cause> {
        let limits = self.receiver_limits(offerer);
        if amount_msat == 0 || amount_msat < limits.htlc_minimum_msat {
            return Err(Cause::BelowHtlcMinimum);
        }
        if cltv_expiry >= CLTV_TIMESTAMP_THRESHOLD {
            return Err("cltv_expiry is a timestamp".into());
        }
        Ok(())
    }

    /// The ledger with our `htlc` added, if every check `send_htlc` makes
    /// passes (the peer's limits, our reserve and, as funder, the fee).
    fn ledger_with_our_htlc(&self, htlc: Htlc) -> Result<ChannelLedger, ChannelError> {
        self.require_normal()?;
        self.check_htlc_fields(Side::Holder, htlc.amount_msat, htlc.cltv_expiry)
            .map_err(ignore)?;
        let mut ledger = self.ledger.clone();
        // Our own add: refused, never fatal (the ledger refuses only what we cannot afford).
        ledger
            .propose(Side::Holder, Update::AddHtlc(htlc))
            .map_err(|e| ignore(alloc::format!("{e:?}")))?;
        self.check_offerer_limits(&ledger, Side::Holder).map_err(ignore)?;
        Ok(ledger)
    }

    /// The largest HTLC we could offer now, or `None` if we could offer none: found by
    /// bisection over the checks [`Channel::send_htlc`] makes, so one msat more is
    /// refused. Bisection finds the edge because every check is monotonic in the amount
    /// (the fee counts every HTLC, trimmed or not).
    pub fn max_sendable_msat(&self) -> Option<u64> {
        let fits = |amount_msat| {
            let htlc = Htlc {
                id: self.ledger.next_htlc_id(Side::Holder),
                amount_msat,
                payment_hash: PaymentHash([0; 32]),
                cltv_expiry: 0,
            };
            self.ledger_with_our_htlc(htlc).is_ok()
        };
        let mut sendable_msat = self.counterparty_limits.htlc_minimum_msat.max(1);
        if !fits(sendable_msat) {
            return None;
        }
        let mut refused_msat = self.funding_satoshis.saturating_mul(1000).saturating_add(1);
        while refused_msat - sendable_msat > 1 {
            let middle = sendable_msat + (refused_msat - sendable_msat) / 2;
            if fits(middle) {
                sendable_msat = middle;
            } else {
                refused_msat = middle;
            }
        }
        Some(sendable_msat)
    }

    /// Offers an HTLC to the peer. Refused (with the channel untouched) if it breaks the
    /// peer's limits or our reserve.
    pub fn send_htlc(
        &mut self,
        amount_msat: u64,
        payment_hash: PaymentHash,
        cltv_expiry: u32,
        onion_routing_packet: OnionPacket,
    ) -> Result<UpdateAddHtlc, ChannelError> {
        self.send_htlc_with(amount_msat, payment_hash, cltv_expiry, || Ok(onion_routing_packet))
    }

    /// [`Channel::send_htlc`] with the onion made by `make_onion` only once the HTLC
    /// passed every check: an onion costs an ECDH per hop and ChaCha20 and HMAC passes
    /// over 1,300 bytes, wasted on an HTLC the channel refuses (as it does every one past
    /// the peer's HTLC cap). An error from `make_onion` refuses the HTLC the same way.
    pub fn send_htlc_with(
        &mut self,
        amount_msat: u64,
        payment_hash: PaymentHash,
        cltv_expiry: u32,
        make_onion: impl FnOnce() -> Result<OnionPacket, ChannelError>,
    ) -> Result<UpdateAddHtlc, ChannelError> {
        let id = self.ledger.next_htlc_id(Side::Holder);
        let htlc = Htlc {
            id,
            amount_msat,
            payment_hash,
            cltv_expiry,
        };
        let ledger = self.ledger_with_our_htlc(htlc)?;
        let onion_routing_packet = make_onion()?;
        self.ledger = ledger;
        self.pending_onions.insert(id, onion_routing_packet.clone());
        Ok(UpdateAddHtlc {
            channel_id: self.channel_id,
            id,
            amount_msat,
            payment_hash,
            cltv_expiry,
            onion_routing_packet,
            tlvs: UpdateAddHtlcTlvs::default(),
        })
    }

    /// The peer offers an HTLC; any limit it breaks fails the channel.
    pub fn update_add_htlc(&mut self, msg: &UpdateAddHtlc) -> Result<(), ChannelError> {
        let after_their_shutdown = self.close.counterparty_script.is_some();
        if !self.is_operational() || after_their_shutdown {
            return Err(close("update_add_htlc outside an open channel or after shutdown"));
        }
        self.check_htlc_fields(Side::Counterparty, msg.amount_msat, msg.cltv_expiry)
            .map_err(close)?;
        #[allow(unused_mut)]
        let mut htlc = Htlc {
            id: msg.id,
            amount_msat: msg.amount_msat,
            payment_hash: msg.payment_hash,
            cltv_expiry: msg.cltv_expiry,
        };
        #[cfg(feature = "planted-bugs")]
        if self.planted_bug == Some(crate::chan::planted::PlantedBug::HtlcIdUnchecked) {
            htlc.id = self.ledger.next_htlc_id(Side::Counterparty);
        }
        let mut ledger = self.ledger.clone();
        ledger
            .propose(Side::Counterparty, Update::AddHtlc(htlc))
            .map_err(ledger_error)?;
        self.check_offerer_limits(&ledger, Side::Counterparty).map_err(close)?;
        self.ledger = ledger;
        Ok(())
    }

    fn remove(&mut self, by: Side, htlc_id: u64, removal: Removal) -> Result<Htlc, ChannelError> {
        let offerer = by.other();
        if by == Side::Holder && !self.ledger.is_irrevocably_committed(offerer, htlc_id) {
            return Err(ignore("the HTLC is not irrevocably committed yet"));
        }
        let htlc = self
            .holder_commitment_htlc(offerer, htlc_id)
            .ok_or_else(|| close("removal of an unknown HTLC"))?;
        #[allow(unused_mut)]
        let mut check_preimage = true;
        #[cfg(feature = "planted-bugs")]
        if self.planted_bug == Some(crate::chan::planted::PlantedBug::PreimageUnchecked) {
            check_preimage = false;
        }
        if let (Removal::Fulfill(preimage), true) = (&removal, check_preimage) {
            if sha256::Hash::hash(&preimage.0).to_byte_array() != htlc.payment_hash.0 {
                return Err(close("preimage does not match the payment hash"));
            }
        }
        self.ledger
            .propose(by, Update::RemoveHtlc { htlc_id, removal })
            .map_err(ledger_error)?;
        Ok(htlc)
    }

    /// Settles an HTLC the peer offered us.
    pub fn fulfill_htlc(&mut self, htlc_id: u64, preimage: PaymentPreimage) -> Result<UpdateFulfillHtlc, ChannelError> {
        self.require_operational()?;
        self.remove(Side::Holder, htlc_id, Removal::Fulfill(preimage))?;
        // Revealed only once the monitor can claim with it on chain.
        self.push_monitor_update(vec![MonitorStep::PaymentPreimage(preimage)])?;
        Ok(UpdateFulfillHtlc {
            channel_id: self.channel_id,
            id: htlc_id,
            payment_preimage: preimage,
            tlvs: SettleHtlcTlvs::default(),
        })
    }

    /// Hands the monitor a preimage for an HTLC the peer offered us that cannot be
    /// fulfilled now (its peer is away): a forward whose next hop was paid is then
    /// claimable on chain whatever happens to the manager.
    pub fn record_preimage(&mut self, preimage: PaymentPreimage) -> Result<(), ChannelError> {
        self.push_monitor_update(vec![MonitorStep::PaymentPreimage(preimage)])
    }

    /// Fails an HTLC the peer offered us, with an error onion for the payer.
    pub fn fail_htlc(&mut self, htlc_id: u64, reason: Vec<u8>) -> Result<UpdateFailHtlc, ChannelError> {
        self.require_operational()?;
        self.remove(Side::Holder, htlc_id, Removal::Fail(reason.clone()))?;
        Ok(UpdateFailHtlc {
            channel_id: self.channel_id,
            id: htlc_id,
            reason,
            tlvs: SettleHtlcTlvs::default(),
        })
    }

    /// Fails an HTLC the peer offered us whose onion we could not parse.
    pub fn fail_malformed_htlc(
        &mut self,
        htlc_id: u64,
        sha256_of_onion: [u8; 32],
        failure_code: u16,
    ) -> Result<UpdateFailMalformedHtlc, ChannelError> {
        self.require_operational()?;
        if failure_code & crate::onion::errors::BADONION == 0 {
            return Err(ignore("malformed failures carry the BADONION bit"));
        }
        self.remove(
            Side::Holder,
            htlc_id,
            Removal::FailMalformed {
                sha256_of_onion,
                failure_code,
            },
        )?;
        Ok(UpdateFailMalformedHtlc {
            channel_id: self.channel_id,
            id: htlc_id,
            sha256_of_onion,
            failure_code,
            extension: NoTlvs::default(),
        })
    }

    /// The peer settles one of our HTLCs: returns it, and the preimage proves the payment.
    pub fn update_fulfill_htlc(&mut self, msg: &UpdateFulfillHtlc) -> Result<Htlc, ChannelError> {
        let htlc = self.remove(Side::Counterparty, msg.id, Removal::Fulfill(msg.payment_preimage))?;
        // Kept so an upstream HTLC can be claimed even if this channel closes.
        self.push_monitor_update(vec![MonitorStep::PaymentPreimage(msg.payment_preimage)])?;
        Ok(htlc)
    }

    /// The peer fails one of our HTLCs.
    pub fn update_fail_htlc(&mut self, msg: &UpdateFailHtlc) -> Result<Htlc, ChannelError> {
        self.remove(Side::Counterparty, msg.id, Removal::Fail(msg.reason.clone()))
    }

    /// The peer fails one of our HTLCs because it could not parse the onion.
    pub fn update_fail_malformed_htlc(&mut self, msg: &UpdateFailMalformedHtlc) -> Result<Htlc, ChannelError> {
        if msg.failure_code & crate::onion::errors::BADONION == 0 {
            return Err(close("update_fail_malformed_htlc without the BADONION bit"));
        }
        let removal = Removal::FailMalformed {
            sha256_of_onion: msg.sha256_of_onion,
            failure_code: msg.failure_code,
        };
        self.remove(Side::Counterparty, msg.id, removal)
    }

    /// The funder changes the commitment feerate.
    pub fn send_update_fee(&mut self, feerate_per_kw: u32) -> Result<UpdateFee, ChannelError> {
        self.require_operational()?;
        if !self.holder_is_funder {
            return Err(ignore("only the funder sends update_fee"));
        }
        // BOLT 2: after `shutdown`, updates only settle HTLCs; once none remains the
        // commitment must not change before the closing negotiation.
        let htlcs_remain = !self.holder_view().htlcs.is_empty() || !self.counterparty_view().htlcs.is_empty();
        if self.phase == ChannelPhase::ShuttingDown && !htlcs_remain {
            return Err(ignore("shutting down with no HTLC left: no more updates"));
        }
        if feerate_per_kw < MIN_FEERATE_PER_KW {
            return Err(ignore("feerate below the relay floor"));
        }
        let mut ledger = self.ledger.clone();
        ledger
            .propose(Side::Holder, Update::Fee { feerate_per_kw })
            .map_err(ledger_error)?;
        self.check_offerer_limits(&ledger, Side::Holder).map_err(ignore)?;
        self.ledger = ledger;
        Ok(UpdateFee {
            channel_id: self.channel_id,
            feerate_per_kw,
            extension: NoTlvs::default(),
        })
    }

    /// The funder's new feerate.
    pub fn update_fee(&mut self, msg: &UpdateFee) -> Result<(), ChannelError> {
        if self.holder_is_funder {
            return Err(close("update_fee from the non-funder"));
        }
        if !self.is_operational() || msg.feerate_per_kw < MIN_FEERATE_PER_KW {
            return Err(close("update_fee out of place or below the relay floor"));
        }
        let mut ledger = self.ledger.clone();
        ledger
            .propose(
                Side::Counterparty,
                Update::Fee {
                    feerate_per_kw: msg.feerate_per_kw,
                },
            )
            .map_err(ledger_error)?;
        self.check_offerer_limits(&ledger, Side::Counterparty).map_err(close)?;
        self.ledger = ledger;
        Ok(())
    }

    /// Signs the peer's next commitment if there is anything new to commit and the
    /// previous one has been revoked; `None` otherwise.
    pub fn send_commitment(&mut self) -> Result<Option<CommitmentSigned>, ChannelError> {
        if !self.is_operational() || self.awaiting_revoke || !self.ledger.counterparty_commitment_outdated() {
            return Ok(None);
        }
        let number = next_commitment_number(self.counterparty_commitment_number)?;
        let (signed, step) = self.sign_counterparty_commitment(number, self.ledger.next_counterparty_commitment())?;
        self.push_monitor_update(vec![step])?;
        self.ledger.sent_commitment_signed();
        self.counterparty_commitment_number = number;
        self.awaiting_revoke = true;
        self.last_sent = Some(super::LastSent::CommitmentSigned);
        Ok(Some(signed))
    }

    /// Builds and signs the peer's commitment `number` covering `coverage`, with the
    /// peer's next per-commitment point; returns the message and the monitor step that
    /// records it. Signing is deterministic, so a retransmission is the same bytes.
    pub(crate) fn sign_counterparty_commitment(
        &mut self,
        number: u64,
        coverage: Coverage,
    ) -> Result<(CommitmentSigned, MonitorStep), ChannelError> {
        let point = self
            .counterparty_next_point
            .ok_or_else(|| close("no per-commitment point for the peer"))?;
        let built = self.build_commitment(Side::Counterparty, number, &point, coverage)?;
        let (signature, htlc_signatures) = self
            .signer
            .sign_counterparty_commitment(
                number,
                &built.transaction,
                &built.htlcs,
                &built.keys,
                built.feerate_per_kw,
            )
            .map_err(|e| signer_error("counterparty commitment", e))?;
        let signed = CommitmentSigned {
            channel_id: self.channel_id,
            signature,
            htlc_signatures,
            tlvs: CommitmentSignedTlvs::default(),
        };
        Ok((signed, Self::counterparty_commitment_step(number, &point, &built)))
    }

    /// The peer signed our next commitment: check every signature, then revoke our
    /// previous commitment.
    pub fn commitment_signed(&mut self, msg: &CommitmentSigned) -> Result<RevokeAndAck, ChannelError> {
        if !self.is_operational() {
            return Err(close("commitment_signed outside an open channel"));
        }
        let coverage = self.ledger.next_holder_commitment();
        if coverage == self.ledger.holder_commitment() {
            return Err(close("commitment_signed without any update"));
        }
        let number = next_commitment_number(self.holder_commitment_number)?;
        let point = self.holder_per_commitment_point(number)?;
        let built = self.build_commitment(Side::Holder, number, &point, coverage)?;
        self.signer
            .validate_holder_commitment(
                number,
                &built.transaction,
                &built.htlcs,
                &built.keys,
                built.feerate_per_kw,
                &msg.signature,
                &msg.htlc_signatures,
            )
            .map_err(|_| close("invalid signatures in commitment_signed"))?;
        // The revoke_and_ack below depends on the new commitment being persisted.
        self.push_monitor_update(vec![Self::holder_commitment_step(
            number,
            &built,
            &msg.signature,
            &msg.htlc_signatures,
        )])?;
        self.ledger.received_commitment_signed();
        self.holder_commitment_number = number;
        self.holder_commitment_signature = Some(msg.signature);
        let secret = self
            .signer
            .release_commitment_secret(number - 1)
            .map_err(|e| signer_error("revocation", e))?;
        let next_point = self.holder_per_commitment_point(number + 1)?;
        self.ledger.sent_revoke_and_ack();
        self.last_sent = Some(super::LastSent::RevokeAndAck);
        Ok(RevokeAndAck {
            channel_id: self.channel_id,
            per_commitment_secret: secret,
            next_per_commitment_point: next_point,
            extension: NoTlvs::default(),
        })
    }

    /// The peer revoked its previous commitment: check the secret against the point it
    /// gave for it, store it, and move to the next point.
    pub fn revoke_and_ack(&mut self, msg: &RevokeAndAck) -> Result<(), ChannelError> {
        if !self.awaiting_revoke {
            return Err(close("revoke_and_ack without a commitment_signed to answer"));
        }
        let revoked_number = self.counterparty_commitment_number - 1;
        let secret = SecretKey::from_slice(&msg.per_commitment_secret)
            .map_err(|_| close("per_commitment_secret is not a valid key"))?;
        let expected = self
            .counterparty_current_point
            .ok_or_else(|| close("no point for the revoked commitment"))?;
        #[allow(unused_mut)]
        let mut checked = true;
        #[cfg(feature = "planted-bugs")]
        if self.planted_bug == Some(crate::chan::planted::PlantedBug::RevocationSecretUnchecked) {
            checked = false;
        }
        if checked && PublicKey::from_secret_key(&self.secp, &secret) != expected {
            return Err(close("per_commitment_secret does not match the commitment's point"));
        }
        let stored = self
            .counterparty_secrets
            .insert(INITIAL_COMMITMENT_NUMBER - revoked_number, msg.per_commitment_secret);
        if checked {
            stored.map_err(|e| close(alloc::format!("{e}")))?;
        }
        self.push_monitor_update(vec![MonitorStep::CommitmentSecret {
            commitment_number: revoked_number,
            secret: msg.per_commitment_secret,
        }])?;
        self.counterparty_current_point = self.counterparty_next_point;
        self.counterparty_next_point = Some(msg.next_per_commitment_point);
        self.ledger.received_revoke_and_ack();
        self.awaiting_revoke = false;
        self.prune_onions();
        Ok(())
    }
}

/// The commitment number after `current`. Commitment numbers are 48 bits (BOLT 3): after
/// the last one a channel can only close. No live channel gets there; a channel read
/// from corrupt bytes may start at the last one.
fn next_commitment_number(current: u64) -> Result<u64, ChannelError> {
    if current >= INITIAL_COMMITMENT_NUMBER {
        return Err(close("commitment numbers exhausted"));
    }
    Ok(current + 1)
}
