//! Exposure to trimmed HTLCs (BOLT 2, `max_dust_htlc_exposure_msat`): an HTLC too small
//! for an output on a commitment becomes that commitment's fee if it goes on chain, so a
//! node bounds the value it lets sit in such HTLCs, on each side's commitment.

use alloc::collections::BTreeMap;

use super::Channel;
use crate::chan::commitment::{htlc_success_fee, htlc_timeout_fee, CommitmentHtlc};
use crate::chan::ledger::{Coverage, Htlc, Side};
use crate::sign::ChannelSigner;
use crate::wire::PaymentHash;

impl<S: ChannelSigner> Channel<S> {
    /// The smallest HTLC we could offer now that gets an output on our next commitment
    /// and on the peer's, in that order: each side's dust limit plus the second-stage fee
    /// at the latest feerate proposed (an HTLC we offer is timed out on ours and claimed
    /// with the preimage on theirs). One msat less is trimmed: where a payment changes
    /// the commitment's shape.
    pub fn offered_trim_thresholds_msat(&self) -> [u64; 2] {
        let ledger = &self.ledger;
        let everything = Coverage {
            holder_updates: ledger.log_end(Side::Holder),
            counterparty_updates: ledger.log_end(Side::Counterparty),
        };
        let feerate_per_kw = ledger.feerate_per_kw(everything);
        [
            self.holder_limits
                .dust_limit_satoshis
                .saturating_add(htlc_timeout_fee(feerate_per_kw)),
            self.counterparty_limits
                .dust_limit_satoshis
                .saturating_add(htlc_success_fee(feerate_per_kw)),
        ]
        .map(|satoshis| satoshis.saturating_mul(1000))
    }

    /// Whether an HTLC of `amount_msat` offered by `offerer` would take the value trimmed
    /// on a commitment past `max_exposure_msat`, on either commitment where the HTLC is
    /// trimmed itself (BOLT 2: the sender does not send it, the receiver fails it).
    ///
    /// Counted: every HTLC in either side's current commitment or proposed since, each
    /// side's commitment at the highest feerate any of them carries, except, with
    /// `before_id`, `offerer`'s HTLCs from that id on: an HTLC already added is judged
    /// against the ones offered before it, so they are accepted first come, first served.
    pub fn exceeds_dust_exposure(
        &self,
        offerer: Side,
        amount_msat: u64,
        before_id: Option<u64>,
        max_exposure_msat: u64,
    ) -> bool {
        let ledger = &self.ledger;
        let everything = Coverage {
            holder_updates: ledger.log_end(Side::Holder),
            counterparty_updates: ledger.log_end(Side::Counterparty),
        };
        let coverages = [ledger.holder_commitment(), ledger.counterparty_commitment(), everything];
        let feerate_per_kw = coverages.iter().map(|c| ledger.feerate_per_kw(*c)).max().unwrap_or(0);
        let trimmed = |broadcaster: Side, htlc_offerer: Side, amount_msat: u64| {
            let dust_limit_satoshis = match broadcaster {
                Side::Holder => self.holder_limits.dust_limit_satoshis,
                Side::Counterparty => self.counterparty_limits.dust_limit_satoshis,
            };
            let htlc = CommitmentHtlc {
                offered: htlc_offerer == broadcaster,
                amount_msat,
                cltv_expiry: 0,
                payment_hash: PaymentHash([0; 32]),
            };
            htlc.is_trimmed(dust_limit_satoshis, feerate_per_kw)
        };
        // An HTLC with an output on both commitments adds nothing to either's exposure,
        // and most are: their check needs no view.
        if !trimmed(Side::Holder, offerer, amount_msat) && !trimmed(Side::Counterparty, offerer, amount_msat) {
            return false;
        }
        let mut known: BTreeMap<(Side, u64), Htlc> = BTreeMap::new();
        for coverage in coverages {
            known.extend(ledger.view(coverage).htlcs);
        }
        if let Some(id) = before_id {
            known.retain(|(side, htlc_id), _| *side != offerer || *htlc_id < id);
        }
        [Side::Holder, Side::Counterparty].into_iter().any(|broadcaster| {
            if !trimmed(broadcaster, offerer, amount_msat) {
                return false;
            }
            let exposure_msat = known
                .iter()
                .filter(|((htlc_offerer, _), htlc)| trimmed(broadcaster, *htlc_offerer, htlc.amount_msat))
                .fold(amount_msat, |sum, (_, htlc)| sum.saturating_add(htlc.amount_msat));
            exposure_msat > max_exposure_msat
        })
    }
}
