//! A commitment's sums without its view: what the limit checks read on every HTLC offered
//! (balances, each side's HTLC count and value, the feerate), folded over the base and the
//! logs with no map built. [`ChannelLedger::view`] clones the base's HTLCs and inserts the
//! logged ones for each of the four commitments a check looks at; these sums allocate
//! nothing. The ledger's tests check them against the view in every commitment of random
//! dances.

use super::{ChannelLedger, Coverage, Side, Update};

/// One side's HTLCs in a commitment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OfferedHtlcs {
    /// How many.
    pub count: usize,
    /// Their value, exact: a removal takes back exactly what its add put in.
    value_msat: u128,
}

impl OfferedHtlcs {
    /// Their value, saturating at `u64::MAX` as the view's sums do.
    pub fn amount_msat(&self) -> u64 {
        u64::try_from(self.value_msat).unwrap_or(u64::MAX)
    }

    fn add(&mut self, amount_msat: u64) {
        self.count += 1;
        self.value_msat += u128::from(amount_msat);
    }

    /// Takes out an HTLC counted by `add` (the fold removes only what it added).
    fn remove(&mut self, amount_msat: u64) {
        self.count -= 1;
        self.value_msat -= u128::from(amount_msat);
    }
}

/// The sums of the commitment covering a [`Coverage`], as its view has them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ViewTotals {
    /// The holder's balance as a signed sum (the view's is floored at zero).
    pub holder_msat: i128,
    /// The counterparty's balance as a signed sum.
    pub counterparty_msat: i128,
    /// The HTLCs the holder offered.
    pub holder_offered: OfferedHtlcs,
    /// The HTLCs the counterparty offered.
    pub counterparty_offered: OfferedHtlcs,
    /// The feerate.
    pub feerate_per_kw: u32,
}

impl ViewTotals {
    /// `side`'s balance as the view has it (floored at zero).
    pub fn balance_msat(&self, side: Side) -> u64 {
        let signed = match side {
            Side::Holder => self.holder_msat,
            Side::Counterparty => self.counterparty_msat,
        };
        u64::try_from(signed.max(0)).unwrap_or(u64::MAX)
    }

    /// The HTLCs `offerer` offered.
    pub fn offered_by(&self, offerer: Side) -> OfferedHtlcs {
        match offerer {
            Side::Holder => self.holder_offered,
            Side::Counterparty => self.counterparty_offered,
        }
    }

    /// How many HTLCs the commitment holds.
    pub fn htlc_count(&self) -> usize {
        self.holder_offered.count + self.counterparty_offered.count
    }

    /// Balances plus HTLCs, as `CommitmentView::total_msat` sums them (saturating).
    pub fn total_msat(&self) -> u64 {
        let total = u128::from(self.balance_msat(Side::Holder))
            + u128::from(self.balance_msat(Side::Counterparty))
            + self.holder_offered.value_msat
            + self.counterparty_offered.value_msat;
        u64::try_from(total).unwrap_or(u64::MAX)
    }

    fn offered_mut(&mut self, offerer: Side) -> &mut OfferedHtlcs {
        match offerer {
            Side::Holder => &mut self.holder_offered,
            Side::Counterparty => &mut self.counterparty_offered,
        }
    }

    fn move_balance(&mut self, side: Side, delta_msat: i128) {
        match side {
            Side::Holder => self.holder_msat += delta_msat,
            Side::Counterparty => self.counterparty_msat += delta_msat,
        }
    }
}

impl ChannelLedger {
    /// The sums of `self.view(coverage)`, without building it. Folds as the view does:
    /// adds first, then removals (each paying the HTLC's value to whom it goes, and only
    /// for an HTLC the commitment holds, once) and fee updates in log order.
    pub fn totals(&self, coverage: Coverage) -> ViewTotals {
        let base = &self.base;
        let mut totals = ViewTotals {
            holder_msat: i128::from(base.holder_balance_msat),
            counterparty_msat: i128::from(base.counterparty_balance_msat),
            holder_offered: OfferedHtlcs::default(),
            counterparty_offered: OfferedHtlcs::default(),
            feerate_per_kw: base.feerate_per_kw,
        };
        for ((offerer, _), htlc) in &base.htlcs {
            totals.offered_mut(*offerer).add(htlc.amount_msat);
        }
        // As `updates_in`, one side at a time.
        let included = |side: Side| {
            let count = coverage.of(side).saturating_sub(self.log_base(side)) as usize;
            self.log(side).iter().take(count)
        };
        for side in [Side::Holder, Side::Counterparty] {
            for update in included(side) {
                if let Update::AddHtlc(htlc) = update {
                    totals.move_balance(side, -i128::from(htlc.amount_msat));
                    totals.offered_mut(side).add(htlc.amount_msat);
                }
            }
        }
        for side in [Side::Holder, Side::Counterparty] {
            let offerer = side.other();
            for (position, update) in included(side).enumerate() {
                match update {
                    Update::RemoveHtlc { htlc_id, removal } => {
                        // A second removal of one HTLC finds it gone from the view.
                        let removed_before = included(side)
                            .take(position)
                            .any(|u| matches!(u, Update::RemoveHtlc { htlc_id: id, .. } if id == htlc_id));
                        let amount_msat = base.htlcs.get(&(offerer, *htlc_id)).map(|h| h.amount_msat).or_else(|| {
                            included(offerer).find_map(|u| match u {
                                Update::AddHtlc(h) if h.id == *htlc_id => Some(h.amount_msat),
                                _ => None,
                            })
                        });
                        let Some(amount_msat) = amount_msat.filter(|_| !removed_before) else {
                            continue;
                        };
                        totals.offered_mut(offerer).remove(amount_msat);
                        totals.move_balance(removal.paid_to(side), i128::from(amount_msat));
                    }
                    Update::Fee { feerate_per_kw } => totals.feerate_per_kw = *feerate_per_kw,
                    Update::AddHtlc(_) => {}
                }
            }
        }
        totals
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use super::super::{Htlc, Removal};
    use super::*;
    use crate::wire::{PaymentHash, PaymentPreimage};

    /// A log the channel never writes but a persisted ledger may hold (its decoder checks
    /// ids and balances, not removals): an HTLC removed twice, and one the commitment
    /// never held. The view pays each held HTLC out once and skips the rest; so must the
    /// sums.
    #[test]
    fn a_repeated_or_unknown_removal_pays_nothing_as_in_the_view() {
        let mut ledger = ChannelLedger::new(6_000_000, 4_000_000, 253);
        let htlc = |id, amount_msat| Htlc {
            id,
            amount_msat,
            payment_hash: PaymentHash([id as u8; 32]),
            cltv_expiry: 500,
        };
        ledger.base.htlcs.insert((Side::Holder, 0), htlc(0, 1_000_000));
        ledger.base.holder_balance_msat -= 1_000_000;
        ledger.holder_log.push_back(Update::AddHtlc(htlc(1, 2_000_000)));
        let fulfill = |htlc_id| Update::RemoveHtlc {
            htlc_id,
            removal: Removal::Fulfill(PaymentPreimage([1; 32])),
        };
        let fail = |htlc_id| Update::RemoveHtlc {
            htlc_id,
            removal: Removal::Fail(Vec::new()),
        };
        for update in [fulfill(0), fulfill(0), fail(1), fail(1), fulfill(7)] {
            ledger.counterparty_log.push_back(update);
        }
        for (holder_updates, counterparty_updates) in [(1, 5), (1, 1), (1, 2), (0, 3), (1, 4), (0, 5)] {
            let coverage = Coverage {
                holder_updates,
                counterparty_updates,
            };
            let (view, totals) = (ledger.view(coverage), ledger.totals(coverage));
            assert_eq!(
                totals.balance_msat(Side::Holder),
                view.holder_balance_msat,
                "{coverage:?}"
            );
            let counterparty_msat = view.counterparty_balance_msat;
            assert_eq!(
                totals.balance_msat(Side::Counterparty),
                counterparty_msat,
                "{coverage:?}"
            );
            assert_eq!(totals.htlc_count(), view.htlcs.len(), "{coverage:?}");
            let held_msat: u64 = view.htlcs.values().map(|h| h.amount_msat).sum();
            assert_eq!(totals.offered_by(Side::Holder).amount_msat(), held_msat, "{coverage:?}");
            assert_eq!(totals.total_msat(), 10_000_000, "{coverage:?}");
        }
        // Everything: the first HTLC paid to the counterparty once, the second back once.
        let totals = ledger.totals(Coverage {
            holder_updates: 1,
            counterparty_updates: 5,
        });
        assert_eq!(totals.balance_msat(Side::Holder), 5_000_000);
        assert_eq!(totals.balance_msat(Side::Counterparty), 5_000_000);
    }
}
