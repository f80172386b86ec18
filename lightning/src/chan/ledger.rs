//! The channel ledger: what each commitment transaction contains, as BOLT 2's update and
//! commitment dance changes it.
//!
//! Each side appends its updates (add, fulfill/fail, fee) to its own log. A commitment
//! covers a prefix of each log, written as a [`Coverage`]. The rules that make both
//! parties agree:
//!
//! - the counterparty commitment we sign covers every update we have sent, and the
//!   counterparty's updates we have acknowledged with `revoke_and_ack`;
//! - the holder commitment we receive covers every update the counterparty has sent, and
//!   our updates the counterparty has acknowledged with its `revoke_and_ack`.
//!
//! Updates committed irrevocably on both sides are folded into a base state, so the logs
//! stay as short as the dance in flight.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;

use crate::wire::{PaymentHash, PaymentPreimage};

#[path = "ledger_totals.rs"]
mod totals;
pub use totals::{OfferedHtlcs, ViewTotals};

/// One of the two parties, from the point of view of the node holding the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    /// This node.
    Holder,
    /// The peer.
    Counterparty,
}

impl Side {
    /// The other party.
    pub fn other(self) -> Side {
        match self {
            Side::Holder => Side::Counterparty,
            Side::Counterparty => Side::Holder,
        }
    }
}

/// An HTLC as offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Htlc {
    /// The offerer's id for it.
    pub id: u64,
    /// Its value.
    pub amount_msat: u64,
    /// The hash it is locked to.
    pub payment_hash: PaymentHash,
    /// The block height it expires at.
    pub cltv_expiry: u32,
}

/// How an HTLC leaves the channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Removal {
    /// Settled with the preimage: the value goes to the HTLC's receiver.
    Fulfill(PaymentPreimage),
    /// Failed with an error onion: the value returns to the offerer.
    Fail(Vec<u8>),
    /// Failed because its onion could not be parsed.
    FailMalformed {
        /// SHA-256 of the onion.
        sha256_of_onion: [u8; 32],
        /// The BADONION failure code.
        failure_code: u16,
    },
}

impl Removal {
    /// Who gets the HTLC's value when `remover` (the side that did not offer it) removes
    /// it this way.
    pub fn paid_to(&self, remover: Side) -> Side {
        match self {
            Removal::Fulfill(_) => remover,
            Removal::Fail(_) | Removal::FailMalformed { .. } => remover.other(),
        }
    }
}

/// One entry of a side's update log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Update {
    /// The proposer offers an HTLC.
    AddHtlc(Htlc),
    /// The proposer removes an HTLC the *other* side offered.
    RemoveHtlc {
        /// The other side's id of the HTLC.
        htlc_id: u64,
        /// How.
        removal: Removal,
    },
    /// The funder changes the feerate.
    Fee {
        /// The new feerate.
        feerate_per_kw: u32,
    },
}

/// Which updates a commitment includes: the first `holder_updates` of the holder's log
/// and the first `counterparty_updates` of the counterparty's (counts since the channel
/// opened).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Holder updates included.
    pub holder_updates: u64,
    /// Counterparty updates included.
    pub counterparty_updates: u64,
}

impl Coverage {
    /// The updates included from `side`'s log.
    pub fn of(self, side: Side) -> u64 {
        match side {
            Side::Holder => self.holder_updates,
            Side::Counterparty => self.counterparty_updates,
        }
    }

    /// The same coverage as the other party names it.
    pub fn mirrored(self) -> Coverage {
        Coverage {
            holder_updates: self.counterparty_updates,
            counterparty_updates: self.holder_updates,
        }
    }
}

/// What one commitment contains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitmentView {
    /// The holder's balance.
    pub holder_balance_msat: u64,
    /// The counterparty's balance.
    pub counterparty_balance_msat: u64,
    /// The HTLCs, by offerer and id.
    pub htlcs: BTreeMap<(Side, u64), Htlc>,
    /// The feerate.
    pub feerate_per_kw: u32,
}

impl CommitmentView {
    /// Balances plus HTLCs: always the channel's value.
    /// Saturates rather than overflows: a peer's absurd HTLC makes the total wrong (and
    /// the channel fail its conservation check), never panics.
    pub fn total_msat(&self) -> u64 {
        self.htlcs.values().fold(
            self.holder_balance_msat.saturating_add(self.counterparty_balance_msat),
            |total, h| total.saturating_add(h.amount_msat),
        )
    }
}

/// Why an update could not be applied: the peer (or a caller) broke the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LedgerError {
    /// A removal names an HTLC that is not committed (or was already removed).
    UnknownHtlc {
        /// The offerer of the named HTLC.
        offerer: Side,
        /// The id named.
        htlc_id: u64,
    },
    /// An HTLC id was reused or skipped.
    UnexpectedHtlcId {
        /// The id expected.
        expected: u64,
        /// The id given.
        given: u64,
    },
    /// An added HTLC is more than its offerer holds in some commitment that may include
    /// it: a balance would go negative and the commitment would hold more than the channel.
    InsufficientBalance,
    /// The update would take an HTLC id or an update count to the bound persisted
    /// ledgers stay below (no live channel gets near it; only corrupt bytes put one there).
    CountsExhausted,
}

/// The ledger of one channel, from one node's point of view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelLedger {
    base: CommitmentView,
    /// Log indices at which `base` stands.
    base_coverage: Coverage,
    holder_log: VecDeque<Update>,
    counterparty_log: VecDeque<Update>,
    /// The holder's current commitment.
    holder_commitment: Coverage,
    /// The latest counterparty commitment we signed.
    counterparty_commitment: Coverage,
    /// The holder commitment our last revocation made current.
    holder_commitment_revoked_to: Coverage,
    /// The counterparty commitment its last revocation made current.
    counterparty_commitment_revoked_to: Coverage,
    /// Counterparty updates we acknowledged with `revoke_and_ack`.
    counterparty_updates_acked: u64,
    /// Holder updates the counterparty acknowledged with `revoke_and_ack`.
    holder_updates_acked: u64,
    next_holder_htlc_id: u64,
    next_counterparty_htlc_id: u64,
}

impl ChannelLedger {
    /// A fresh channel: the balances and feerate of both commitment number 0.
    pub fn new(holder_balance_msat: u64, counterparty_balance_msat: u64, feerate_per_kw: u32) -> Self {
        ChannelLedger {
            base: CommitmentView {
                holder_balance_msat,
                counterparty_balance_msat,
                htlcs: BTreeMap::new(),
                feerate_per_kw,
            },
            base_coverage: Coverage::default(),
            holder_log: VecDeque::new(),
            counterparty_log: VecDeque::new(),
            holder_commitment: Coverage::default(),
            counterparty_commitment: Coverage::default(),
            holder_commitment_revoked_to: Coverage::default(),
            counterparty_commitment_revoked_to: Coverage::default(),
            counterparty_updates_acked: 0,
            holder_updates_acked: 0,
            next_holder_htlc_id: 0,
            next_counterparty_htlc_id: 0,
        }
    }

    fn log(&self, side: Side) -> &VecDeque<Update> {
        match side {
            Side::Holder => &self.holder_log,
            Side::Counterparty => &self.counterparty_log,
        }
    }

    /// How many of `side`'s updates were compacted into the base.
    fn log_base(&self, side: Side) -> u64 {
        match side {
            Side::Holder => self.base_coverage.holder_updates,
            Side::Counterparty => self.base_coverage.counterparty_updates,
        }
    }

    /// How many updates `side` has proposed since the channel opened.
    pub fn log_end(&self, side: Side) -> u64 {
        self.log_base(side) + self.log(side).len() as u64
    }

    /// The id the next HTLC `side` offers must have.
    pub fn next_htlc_id(&self, side: Side) -> u64 {
        match side {
            Side::Holder => self.next_holder_htlc_id,
            Side::Counterparty => self.next_counterparty_htlc_id,
        }
    }

    /// Appends an update `side` proposed. Checks only what the ledger itself can: ids in
    /// sequence, removals of HTLCs the other side offered and that are committed in both
    /// current commitments. Limits (reserve, dust, in-flight) are the channel's to check.
    pub fn propose(&mut self, side: Side, update: Update) -> Result<(), LedgerError> {
        match &update {
            Update::AddHtlc(htlc) => {
                let expected = self.next_htlc_id(side);
                if htlc.id != expected {
                    return Err(LedgerError::UnexpectedHtlcId {
                        expected,
                        given: htlc.id,
                    });
                }
                // No commitment may hold more than the channel: the offerer must afford
                // the HTLC even in the commitment least kind to it, which has all its own
                // updates and only the other side's that every current commitment has
                // (a later one has more, and the other side's removals only pay it back).
                let worst = self.totals(self.least_favourable_to(side));
                if worst.balance_msat(side) < htlc.amount_msat {
                    return Err(LedgerError::InsufficientBalance);
                }
            }
            Update::RemoveHtlc { htlc_id, .. } => {
                let offerer = side.other();
                let in_both = self.view_holds(self.holder_commitment, offerer, *htlc_id)
                    && self.view_holds(self.counterparty_commitment, offerer, *htlc_id);
                let already_removing = self.pending_removal(side, *htlc_id);
                if !in_both || already_removing {
                    return Err(LedgerError::UnknownHtlc {
                        offerer,
                        htlc_id: *htlc_id,
                    });
                }
            }
            Update::Fee { .. } => {}
        }
        // Counts stay below the bound the decoder holds them to, so that what the channel
        // writes reads back (a ledger read near it takes no more updates).
        let id_room = !matches!(update, Update::AddHtlc(_)) || self.next_htlc_id(side) + 1 < MAX_PERSISTED_COUNT;
        if !id_room || self.log_end(side) + 1 >= MAX_PERSISTED_COUNT {
            return Err(LedgerError::CountsExhausted);
        }
        if let Update::AddHtlc(_) = update {
            match side {
                Side::Holder => self.next_holder_htlc_id += 1,
                Side::Counterparty => self.next_counterparty_htlc_id += 1,
            }
        }
        match side {
            Side::Holder => self.holder_log.push_back(update),
            Side::Counterparty => self.counterparty_log.push_back(update),
        }
        Ok(())
    }

    /// The coverage of the commitment that leaves `side` the least: all of `side`'s
    /// updates, and of the other side's only those both current commitments include.
    /// When `side` is the peer, these are also the updates of ours it must have seen
    /// before its latest message (the transport keeps order).
    pub fn least_favourable_to(&self, side: Side) -> Coverage {
        let (holder, counterparty) = (self.holder_commitment, self.counterparty_commitment);
        match side {
            Side::Holder => Coverage {
                holder_updates: self.log_end(Side::Holder),
                counterparty_updates: holder.counterparty_updates.min(counterparty.counterparty_updates),
            },
            Side::Counterparty => Coverage {
                holder_updates: holder.holder_updates.min(counterparty.holder_updates),
                counterparty_updates: self.log_end(Side::Counterparty),
            },
        }
    }

    /// Whether `side` has already proposed removing the other side's HTLC `htlc_id`.
    fn pending_removal(&self, side: Side, htlc_id: u64) -> bool {
        self.log(side)
            .iter()
            .any(|u| matches!(u, Update::RemoveHtlc { htlc_id: id, .. } if *id == htlc_id))
    }

    /// The updates beyond the base that a commitment covering `coverage` includes: the
    /// holder's, then the counterparty's, each in the order proposed.
    fn updates_in(&self, coverage: Coverage) -> impl Iterator<Item = (Side, &Update)> {
        let included = |side: Side, end: u64| {
            let count = end.saturating_sub(self.log_base(side)) as usize;
            self.log(side).iter().take(count).map(move |u| (side, u))
        };
        included(Side::Holder, coverage.holder_updates)
            .chain(included(Side::Counterparty, coverage.counterparty_updates))
    }

    /// The feerate of the commitment covering `coverage`, as its [`Self::view`] has it,
    /// without building the view: the last fee update it includes, or the base's.
    pub fn feerate_per_kw(&self, coverage: Coverage) -> u32 {
        self.updates_in(coverage)
            .filter_map(|(_, update)| match update {
                Update::Fee { feerate_per_kw } => Some(*feerate_per_kw),
                _ => None,
            })
            .last()
            .unwrap_or(self.base.feerate_per_kw)
    }

    /// The contents of the commitment covering `coverage`.
    pub fn view(&self, coverage: Coverage) -> CommitmentView {
        let (view, holder_msat, counterparty_msat) = self.signed_view(coverage);
        // `propose` refuses adds an offerer cannot afford in any commitment, and a ledger
        // read back is checked for it, so neither balance goes negative; if one did,
        // flooring it would show in the total.
        debug_assert!(
            holder_msat >= 0 && counterparty_msat >= 0,
            "an HTLC its offerer cannot afford"
        );
        view
    }

    /// [`Self::view`], with both balances also as signed sums (the view's are floored at
    /// zero).
    fn signed_view(&self, coverage: Coverage) -> (CommitmentView, i128, i128) {
        let mut view = self.base.clone();
        // Walked twice, never collected: views are built several times per update (the
        // checks, both commitments), and this way they allocate only for their HTLCs.
        let updates = || self.updates_in(coverage);
        // Balances move by signed sums, so an add that a removal in the same view pays
        // for does not go below zero on the way (adds are applied before removals).
        let (mut holder_msat, mut counterparty_msat) = (
            i128::from(view.holder_balance_msat),
            i128::from(view.counterparty_balance_msat),
        );
        let balance = |side: Side, holder: &mut i128, counterparty: &mut i128, delta: i128| match side {
            Side::Holder => *holder += delta,
            Side::Counterparty => *counterparty += delta,
        };
        // Adds first: a removal is only ever included with the add it removes.
        for (side, update) in updates() {
            if let Update::AddHtlc(htlc) = update {
                balance(
                    side,
                    &mut holder_msat,
                    &mut counterparty_msat,
                    -i128::from(htlc.amount_msat),
                );
                view.htlcs.insert((side, htlc.id), *htlc);
            }
        }
        // Fee updates come from the funder only, so their order is the funder's log order.
        for (side, update) in updates() {
            match update {
                Update::RemoveHtlc { htlc_id, removal } => {
                    let offerer = side.other();
                    let Some(htlc) = view.htlcs.remove(&(offerer, *htlc_id)) else {
                        continue;
                    };
                    balance(
                        removal.paid_to(side),
                        &mut holder_msat,
                        &mut counterparty_msat,
                        i128::from(htlc.amount_msat),
                    );
                }
                Update::Fee { feerate_per_kw } => view.feerate_per_kw = *feerate_per_kw,
                Update::AddHtlc(_) => {}
            }
        }
        let floor = |msat: i128| u64::try_from(msat.max(0)).unwrap_or(u64::MAX);
        view.holder_balance_msat = floor(holder_msat);
        view.counterparty_balance_msat = floor(counterparty_msat);
        (view, holder_msat, counterparty_msat)
    }

    /// The holder's current commitment.
    pub fn holder_commitment(&self) -> Coverage {
        self.holder_commitment
    }

    /// The latest counterparty commitment signed.
    pub fn counterparty_commitment(&self) -> Coverage {
        self.counterparty_commitment
    }

    /// What the next counterparty commitment we sign covers.
    pub fn next_counterparty_commitment(&self) -> Coverage {
        Coverage {
            holder_updates: self.log_end(Side::Holder),
            counterparty_updates: self.counterparty_updates_acked,
        }
    }

    /// What the next holder commitment the counterparty signs must cover.
    pub fn next_holder_commitment(&self) -> Coverage {
        Coverage {
            holder_updates: self.holder_updates_acked,
            counterparty_updates: self.log_end(Side::Counterparty),
        }
    }

    /// Whether signing a new counterparty commitment would change anything.
    pub fn counterparty_commitment_outdated(&self) -> bool {
        self.next_counterparty_commitment() != self.counterparty_commitment
    }

    /// We sent `commitment_signed` for [`ChannelLedger::next_counterparty_commitment`].
    pub fn sent_commitment_signed(&mut self) -> Coverage {
        self.counterparty_commitment = self.next_counterparty_commitment();
        self.counterparty_commitment
    }

    /// We accepted the counterparty's `commitment_signed` for our next commitment.
    pub fn received_commitment_signed(&mut self) -> Coverage {
        self.holder_commitment = self.next_holder_commitment();
        self.holder_commitment
    }

    /// We revoked our previous commitment: the counterparty updates in our current one
    /// are acknowledged.
    pub fn sent_revoke_and_ack(&mut self) {
        self.counterparty_updates_acked = self.holder_commitment.counterparty_updates;
        self.holder_commitment_revoked_to = self.holder_commitment;
        self.compact();
    }

    /// The counterparty revoked its previous commitment: our updates in the commitment we
    /// last signed are acknowledged.
    pub fn received_revoke_and_ack(&mut self) {
        self.holder_updates_acked = self.counterparty_commitment.holder_updates;
        self.counterparty_commitment_revoked_to = self.counterparty_commitment;
        self.compact();
    }

    /// Whether an HTLC is committed irrevocably on both sides (safe to fulfill, fail, or
    /// forward): in both commitments whose predecessors are revoked.
    pub fn is_irrevocably_committed(&self, offerer: Side, htlc_id: u64) -> bool {
        self.view_holds(self.holder_commitment_revoked_to, offerer, htlc_id)
            && self.view_holds(self.counterparty_commitment_revoked_to, offerer, htlc_id)
    }

    /// Whether an HTLC that was committed is gone from every commitment either side may
    /// still broadcast: ours, the peer's current one and the one we last signed for it.
    /// Only then is its removal irrevocable: no commitment holding it can reach the chain.
    /// (An HTLC never committed is gone from all of them too: ask only of removed ones.)
    pub fn is_removal_irrevocable(&self, offerer: Side, htlc_id: u64) -> bool {
        [
            self.holder_commitment,
            self.holder_commitment_revoked_to,
            self.counterparty_commitment,
            self.counterparty_commitment_revoked_to,
        ]
        .iter()
        .all(|coverage| !self.view_holds(*coverage, offerer, htlc_id))
    }

    /// Whether `self.view(coverage)` holds the HTLC, without building the view: the
    /// manager asks this for every inbound HTLC after every message.
    pub fn view_holds(&self, coverage: Coverage, offerer: Side, htlc_id: u64) -> bool {
        self.htlc_in(coverage, offerer, htlc_id).is_some()
    }

    /// The HTLC as `self.view(coverage)` holds it, without building the view.
    pub fn htlc_in(&self, coverage: Coverage, offerer: Side, htlc_id: u64) -> Option<Htlc> {
        let included = |side: Side| {
            let count = coverage.of(side).saturating_sub(self.base_coverage.of(side));
            self.log(side).iter().take(count as usize)
        };
        // A removal comes from the side that did not offer the HTLC.
        if included(offerer.other()).any(|u| matches!(u, Update::RemoveHtlc { htlc_id: id, .. } if *id == htlc_id)) {
            return None;
        }
        self.base.htlcs.get(&(offerer, htlc_id)).copied().or_else(|| {
            included(offerer).find_map(|u| match u {
                Update::AddHtlc(h) if h.id == htlc_id => Some(*h),
                _ => None,
            })
        })
    }

    /// Folds the updates every current commitment includes into the base.
    fn compact(&mut self) {
        let (ours, theirs) = (
            self.holder_commitment_revoked_to,
            self.counterparty_commitment_revoked_to,
        );
        let target = Coverage {
            holder_updates: ours.holder_updates.min(theirs.holder_updates),
            counterparty_updates: ours.counterparty_updates.min(theirs.counterparty_updates),
        };
        if target == self.base_coverage {
            return;
        }
        let new_base = self.view(target);
        let drop_holder = (target.holder_updates - self.base_coverage.holder_updates) as usize;
        let drop_counterparty = (target.counterparty_updates - self.base_coverage.counterparty_updates) as usize;
        self.holder_log.drain(..drop_holder);
        self.counterparty_log.drain(..drop_counterparty);
        self.base = new_base;
        self.base_coverage = target;
    }

    /// Reverses the counterparty's updates that no commitment we received covers (BOLT 2,
    /// on disconnection): the peer will send them again. Returns how many were dropped.
    pub fn reverse_uncommitted_counterparty_updates(&mut self) -> usize {
        let keep = self.holder_commitment.counterparty_updates;
        let keep_in_log = (keep - self.base_coverage.counterparty_updates) as usize;
        let dropped: Vec<Update> = self.counterparty_log.drain(keep_in_log..).collect();
        if let Some(first_id) = dropped.iter().find_map(|u| match u {
            Update::AddHtlc(h) => Some(h.id),
            _ => None,
        }) {
            self.next_counterparty_htlc_id = first_id;
        }
        dropped.len()
    }

    /// The holder's updates from index `from` to the end of its log, with their indices.
    pub fn holder_updates_from(&self, from: u64) -> impl Iterator<Item = (u64, &Update)> {
        let base = self.base_coverage.holder_updates;
        let skip = from.saturating_sub(base) as usize;
        self.holder_log
            .iter()
            .enumerate()
            .skip(skip)
            .map(move |(i, u)| (base + i as u64, u))
    }

    /// Our commitment our last revocation made current.
    pub fn holder_commitment_revoked_to(&self) -> Coverage {
        self.holder_commitment_revoked_to
    }

    /// The counterparty commitment its last revocation made current.
    pub fn counterparty_commitment_revoked_to(&self) -> Coverage {
        self.counterparty_commitment_revoked_to
    }

    /// `side`'s updates not yet folded into the base.
    pub fn pending_updates_of(&self, side: Side) -> usize {
        self.log(side).len()
    }

    /// Updates not yet folded into the base (the dance in flight).
    pub fn pending_updates(&self) -> usize {
        self.holder_log.len() + self.counterparty_log.len()
    }
}

// ---- Persistence ----

use crate::wire::{Decode, DecodeError, Encode, Reader};

impl Encode for Coverage {
    fn encode(&self, out: &mut Vec<u8>) {
        self.holder_updates.encode(out);
        self.counterparty_updates.encode(out);
    }
}

impl Decode for Coverage {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Coverage {
            holder_updates: Decode::decode(r)?,
            counterparty_updates: Decode::decode(r)?,
        })
    }
}

impl Encode for Htlc {
    fn encode(&self, out: &mut Vec<u8>) {
        self.id.encode(out);
        self.amount_msat.encode(out);
        self.payment_hash.encode(out);
        self.cltv_expiry.encode(out);
    }
}

impl Decode for Htlc {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Htlc {
            id: Decode::decode(r)?,
            amount_msat: Decode::decode(r)?,
            payment_hash: Decode::decode(r)?,
            cltv_expiry: Decode::decode(r)?,
        })
    }
}

fn encode_side(side: Side, out: &mut Vec<u8>) {
    out.push(match side {
        Side::Holder => 0,
        Side::Counterparty => 1,
    });
}

fn decode_side(r: &mut Reader<'_>) -> Result<Side, DecodeError> {
    match u8::decode(r)? {
        0 => Ok(Side::Holder),
        1 => Ok(Side::Counterparty),
        _ => Err(DecodeError::InvalidValue { field: "side" }),
    }
}

impl Encode for Update {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Update::AddHtlc(htlc) => {
                out.push(0);
                htlc.encode(out);
            }
            Update::RemoveHtlc {
                htlc_id,
                removal: Removal::Fulfill(preimage),
            } => {
                out.push(1);
                htlc_id.encode(out);
                preimage.encode(out);
            }
            Update::RemoveHtlc {
                htlc_id,
                removal: Removal::Fail(reason),
            } => {
                out.push(2);
                htlc_id.encode(out);
                reason.encode(out);
            }
            Update::RemoveHtlc {
                htlc_id,
                removal:
                    Removal::FailMalformed {
                        sha256_of_onion,
                        failure_code,
                    },
            } => {
                out.push(3);
                htlc_id.encode(out);
                sha256_of_onion.encode(out);
                failure_code.encode(out);
            }
            Update::Fee { feerate_per_kw } => {
                out.push(4);
                feerate_per_kw.encode(out);
            }
        }
    }
}

impl Decode for Update {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match u8::decode(r)? {
            0 => Update::AddHtlc(Htlc::decode(r)?),
            1 => Update::RemoveHtlc {
                htlc_id: Decode::decode(r)?,
                removal: Removal::Fulfill(Decode::decode(r)?),
            },
            2 => Update::RemoveHtlc {
                htlc_id: Decode::decode(r)?,
                removal: Removal::Fail(Decode::decode(r)?),
            },
            3 => Update::RemoveHtlc {
                htlc_id: Decode::decode(r)?,
                removal: Removal::FailMalformed {
                    sha256_of_onion: Decode::decode(r)?,
                    failure_code: Decode::decode(r)?,
                },
            },
            4 => Update::Fee {
                feerate_per_kw: Decode::decode(r)?,
            },
            _ => return Err(DecodeError::InvalidValue { field: "ledger update" }),
        })
    }
}

fn encode_log(log: &VecDeque<Update>, out: &mut Vec<u8>) {
    (log.len() as u32).encode(out);
    for update in log {
        update.encode(out);
    }
}

fn decode_log(r: &mut Reader<'_>) -> Result<VecDeque<Update>, DecodeError> {
    let count = u32::decode(r)?;
    // Each update takes at least 5 bytes (tag and a 4-byte field).
    r.ensure_room_for(u64::from(count), 5)?;
    (0..count).map(|_| Update::decode(r)).collect()
}

impl Encode for ChannelLedger {
    fn encode(&self, out: &mut Vec<u8>) {
        self.base.holder_balance_msat.encode(out);
        self.base.counterparty_balance_msat.encode(out);
        self.base.feerate_per_kw.encode(out);
        (self.base.htlcs.len() as u32).encode(out);
        for ((side, _), htlc) in &self.base.htlcs {
            encode_side(*side, out);
            htlc.encode(out);
        }
        self.base_coverage.encode(out);
        encode_log(&self.holder_log, out);
        encode_log(&self.counterparty_log, out);
        for coverage in [
            self.holder_commitment,
            self.counterparty_commitment,
            self.holder_commitment_revoked_to,
            self.counterparty_commitment_revoked_to,
        ] {
            coverage.encode(out);
        }
        self.counterparty_updates_acked.encode(out);
        self.holder_updates_acked.encode(out);
        self.next_holder_htlc_id.encode(out);
        self.next_counterparty_htlc_id.encode(out);
    }
}

impl Decode for ChannelLedger {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let holder_balance_msat = u64::decode(r)?;
        let counterparty_balance_msat = u64::decode(r)?;
        let feerate_per_kw = u32::decode(r)?;
        let count = u32::decode(r)?;
        let mut htlcs = BTreeMap::new();
        for _ in 0..count {
            let side = decode_side(r)?;
            let htlc = Htlc::decode(r)?;
            if htlcs.insert((side, htlc.id), htlc).is_some() {
                return Err(DecodeError::InvalidValue {
                    field: "ledger htlc id",
                });
            }
        }
        let ledger = ChannelLedger {
            base: CommitmentView {
                holder_balance_msat,
                counterparty_balance_msat,
                htlcs,
                feerate_per_kw,
            },
            base_coverage: Coverage::decode(r)?,
            holder_log: decode_log(r)?,
            counterparty_log: decode_log(r)?,
            holder_commitment: Coverage::decode(r)?,
            counterparty_commitment: Coverage::decode(r)?,
            holder_commitment_revoked_to: Coverage::decode(r)?,
            counterparty_commitment_revoked_to: Coverage::decode(r)?,
            counterparty_updates_acked: u64::decode(r)?,
            holder_updates_acked: u64::decode(r)?,
            next_holder_htlc_id: u64::decode(r)?,
            next_counterparty_htlc_id: u64::decode(r)?,
        };
        ledger
            .check_consistent()
            .map_err(|field| DecodeError::InvalidValue { field })?;
        Ok(ledger)
    }
}

/// Above any count a channel reaches (a few updates per payment, at most 2^48
/// commitments): persisted counts must stay below it.
const MAX_PERSISTED_COUNT: u64 = 1 << 62;

impl ChannelLedger {
    /// Whether `side`'s HTLC ids run as [`ChannelLedger::propose`] numbers them: its adds
    /// in the log one after another, after every HTLC of its already committed, and the
    /// next id right after the last add (after every committed HTLC if none). A
    /// reconnection takes the first reversed add's id as the next one, so a gap here
    /// would move the next id backwards or out of range.
    fn htlc_ids_in_sequence(&self, side: Side) -> bool {
        let mut last = self
            .base
            .htlcs
            .range((side, 0)..=(side, u64::MAX))
            .next_back()
            .map(|((_, id), _)| *id);
        let mut adds = self.log(side).iter().filter_map(|update| match update {
            Update::AddHtlc(htlc) => Some(htlc.id),
            _ => None,
        });
        if let Some(first) = adds.next() {
            if last.is_some_and(|committed| first <= committed) {
                return false;
            }
            last = Some(first);
            for id in adds {
                if Some(id) != last.and_then(|l| l.checked_add(1)) {
                    return false;
                }
                last = Some(id);
            }
            return last.and_then(|l| l.checked_add(1)) == Some(self.next_htlc_id(side));
        }
        last.is_none_or(|committed| committed < self.next_htlc_id(side))
    }

    /// Checks what every method relies on: every coverage lies between the base and the
    /// ends of the logs. A ledger read from corrupt bytes fails here, not later.
    fn check_consistent(&self) -> Result<(), &'static str> {
        // Every count must leave room to grow: a count near the end of u64 comes only
        // from corrupt bytes, and the channel's next update would overflow it.
        for side in [Side::Holder, Side::Counterparty] {
            let end = self.log_base(side).checked_add(self.log(side).len() as u64);
            if end.is_none_or(|end| end >= MAX_PERSISTED_COUNT) {
                return Err("ledger update count");
            }
        }
        if self.next_holder_htlc_id.max(self.next_counterparty_htlc_id) >= MAX_PERSISTED_COUNT {
            return Err("ledger htlc id");
        }
        for side in [Side::Holder, Side::Counterparty] {
            if !self.htlc_ids_in_sequence(side) {
                return Err("ledger htlc id");
            }
        }
        let ends = Coverage {
            holder_updates: self.log_end(Side::Holder),
            counterparty_updates: self.log_end(Side::Counterparty),
        };
        let within = |c: Coverage| {
            (self.base_coverage.holder_updates..=ends.holder_updates).contains(&c.holder_updates)
                && (self.base_coverage.counterparty_updates..=ends.counterparty_updates)
                    .contains(&c.counterparty_updates)
        };
        let coverages = [
            self.holder_commitment,
            self.counterparty_commitment,
            self.holder_commitment_revoked_to,
            self.counterparty_commitment_revoked_to,
        ];
        if !coverages.into_iter().all(within) {
            return Err("ledger coverage");
        }
        let acked_ok = (self.base_coverage.counterparty_updates..=ends.counterparty_updates)
            .contains(&self.counterparty_updates_acked)
            && (self.base_coverage.holder_updates..=ends.holder_updates).contains(&self.holder_updates_acked);
        if !acked_ok {
            return Err("ledger acknowledgements");
        }
        // The order a live ledger keeps among the peer's updates: what its commitment
        // covers we acknowledged, and what we acknowledged our current commitment covers
        // (a reconnection keeps exactly that much of the peer's log); each side's
        // revoked-to commitment is at most its current one.
        let cp = |c: Coverage| c.counterparty_updates;
        let ordered = cp(self.counterparty_commitment) <= self.counterparty_updates_acked
            && self.counterparty_updates_acked <= cp(self.holder_commitment)
            && cp(self.holder_commitment_revoked_to) <= cp(self.holder_commitment)
            && cp(self.counterparty_commitment_revoked_to) <= cp(self.counterparty_commitment);
        if !ordered {
            return Err("ledger commitment order");
        }
        // Every commitment the channel builds or judges an add by leaves both sides a
        // balance: the current and next ones, everything proposed, and the least
        // favourable to each side. A live channel keeps this (each add is checked
        // against these, and later updates only pay balances back); corrupt bytes need not.
        let viewed = [
            self.holder_commitment,
            self.counterparty_commitment,
            self.next_holder_commitment(),
            self.next_counterparty_commitment(),
            ends,
            self.least_favourable_to(Side::Holder),
            self.least_favourable_to(Side::Counterparty),
        ];
        let affordable = |c: Coverage| {
            let (_, holder_msat, counterparty_msat) = self.signed_view(c);
            holder_msat >= 0 && counterparty_msat >= 0
        };
        if !viewed.into_iter().all(affordable) {
            return Err("ledger balances");
        }
        Ok(())
    }
}

#[cfg(test)]
mod codec_tests {
    use super::*;

    /// A fresh ledger (1,000 and 2,000 msat, 253 sat/kw) changed by `tweak`, written and
    /// read back.
    fn read_back(tweak: impl FnOnce(&mut ChannelLedger)) -> Result<ChannelLedger, DecodeError> {
        let mut ledger = ChannelLedger::new(1_000, 2_000, 253);
        tweak(&mut ledger);
        ChannelLedger::decode_exact(&ledger.encode_to_vec())
    }

    /// An HTLC for the codec tests: only its id and value matter to them.
    fn htlc(id: u64, amount_msat: u64) -> Htlc {
        Htlc {
            id,
            amount_msat,
            payment_hash: PaymentHash([7; 32]),
            cltv_expiry: 500_000,
        }
    }

    /// Persisted counts so large that the next update would overflow them are refused
    /// when read (they come only from corrupt bytes), instead of panicking or wrapping.
    #[test]
    fn counts_with_no_room_to_grow_are_refused_when_read() {
        let fee = Update::Fee { feerate_per_kw: 253 };
        let at_the_end = |ledger: &mut ChannelLedger| {
            ledger.base_coverage.holder_updates = u64::MAX;
            ledger.holder_commitment.holder_updates = u64::MAX;
            ledger.counterparty_commitment.holder_updates = u64::MAX;
            ledger.holder_commitment_revoked_to.holder_updates = u64::MAX;
            ledger.counterparty_commitment_revoked_to.holder_updates = u64::MAX;
            ledger.holder_updates_acked = u64::MAX;
        };
        assert_eq!(
            read_back(|l| {
                at_the_end(l);
                l.holder_log.push_back(fee.clone());
            }),
            Err(DecodeError::InvalidValue {
                field: "ledger update count"
            })
        );
        assert_eq!(
            read_back(at_the_end),
            Err(DecodeError::InvalidValue {
                field: "ledger update count"
            })
        );
        assert_eq!(
            read_back(|l| l.next_counterparty_htlc_id = u64::MAX),
            Err(DecodeError::InvalidValue {
                field: "ledger htlc id"
            })
        );
        let fine = ChannelLedger::new(1_000, 2_000, 253);
        assert_eq!(ChannelLedger::decode_exact(&fine.encode_to_vec()), Ok(fine));
    }

    /// A ledger read at the last counts its decoder accepts proposes nothing that would
    /// take a count to the bound: the bytes it wrote would not read back. The proposal is
    /// refused and the ledger left as it was.
    #[test]
    fn a_ledger_at_the_last_readable_counts_refuses_to_grow_past_them() {
        let last = MAX_PERSISTED_COUNT - 1;
        let at_last_id = read_back(|l| l.next_holder_htlc_id = last).expect("the last id reads");
        let mut grown = at_last_id.clone();
        assert_eq!(
            grown.propose(Side::Holder, Update::AddHtlc(htlc(last, 100))),
            Err(LedgerError::CountsExhausted)
        );
        assert_eq!(grown, at_last_id);
        let at_last_update = read_back(|l| {
            for coverage in [
                &mut l.base_coverage,
                &mut l.holder_commitment,
                &mut l.counterparty_commitment,
                &mut l.holder_commitment_revoked_to,
                &mut l.counterparty_commitment_revoked_to,
            ] {
                coverage.counterparty_updates = last;
            }
            l.counterparty_updates_acked = last;
        })
        .expect("the last update count reads");
        let mut grown = at_last_update.clone();
        assert_eq!(
            grown.propose(Side::Counterparty, Update::Fee { feerate_per_kw: 300 }),
            Err(LedgerError::CountsExhausted)
        );
        assert_eq!(grown, at_last_update);
        let mut room = read_back(|l| l.next_holder_htlc_id = last - 1).expect("reads");
        room.propose(Side::Holder, Update::AddHtlc(htlc(last - 1, 100)))
            .expect("one below the last, an add fits");
        assert!(ChannelLedger::decode_exact(&room.encode_to_vec()).is_ok());
    }

    /// Fee updates are the shortest (5 bytes), the bound the decoder checks a count
    /// against: a log of them that fills its bytes exactly decodes, one byte less does not.
    #[test]
    fn a_log_that_fills_its_bytes_exactly_decodes() {
        let log: VecDeque<Update> = [253, 300]
            .into_iter()
            .map(|feerate_per_kw| Update::Fee { feerate_per_kw })
            .collect();
        let mut bytes = Vec::new();
        encode_log(&log, &mut bytes);
        assert_eq!(bytes.len(), 4 + 2 * 5);
        assert_eq!(decode_log(&mut Reader::new(&bytes)), Ok(log));
        assert_eq!(
            decode_log(&mut Reader::new(&bytes[..bytes.len() - 1])),
            Err(DecodeError::ShortRead)
        );
    }

    /// A log holding an add its offerer cannot afford (its balance would go below zero
    /// in a commitment the channel builds) comes only from corrupt bytes: refused when
    /// read, instead of failing the view's invariant later.
    #[test]
    fn an_add_its_offerer_cannot_afford_is_refused_when_read() {
        let add = |id: u64, amount_msat: u64| Update::AddHtlc(htlc(id, amount_msat));
        let read = |side: Side, amount_msat: u64| {
            read_back(|l| match side {
                Side::Holder => {
                    l.holder_log.push_back(add(0, amount_msat));
                    l.next_holder_htlc_id = 1;
                }
                Side::Counterparty => {
                    l.counterparty_log.push_back(add(0, amount_msat));
                    l.next_counterparty_htlc_id = 1;
                }
            })
        };
        let refused = Err(DecodeError::InvalidValue {
            field: "ledger balances",
        });
        assert_eq!(read(Side::Holder, 1_001), refused);
        assert_eq!(read(Side::Counterparty, 2_001), refused);
        assert!(read(Side::Holder, 1_000).is_ok());
        assert!(read(Side::Counterparty, 2_000).is_ok());
    }

    /// Coverages out of the order a live ledger keeps them in (here: counterparty updates
    /// acknowledged beyond what our current commitment covers) come only from corrupt
    /// bytes: refused when read, instead of a reconnection dropping updates something
    /// still counts and the channel writing bytes it cannot read back.
    #[test]
    fn coverages_out_of_order_are_refused_when_read() {
        let read = |acked: u64, their_commitment: u64, our_revoked_to: u64, their_revoked_to: u64| {
            read_back(|ledger| {
                for feerate_per_kw in [300, 400] {
                    ledger.counterparty_log.push_back(Update::Fee { feerate_per_kw });
                }
                ledger.holder_commitment.counterparty_updates = 1;
                ledger.counterparty_updates_acked = acked;
                ledger.counterparty_commitment.counterparty_updates = their_commitment;
                ledger.holder_commitment_revoked_to.counterparty_updates = our_revoked_to;
                ledger.counterparty_commitment_revoked_to.counterparty_updates = their_revoked_to;
            })
        };
        let refused = Err(DecodeError::InvalidValue {
            field: "ledger commitment order",
        });
        assert!(read(1, 1, 1, 1).is_ok());
        assert_eq!(read(2, 1, 1, 1), refused);
        assert_eq!(read(1, 2, 1, 1), refused);
        assert_eq!(read(1, 1, 2, 1), refused);
        assert_eq!(read(1, 1, 1, 2), refused);
        assert_eq!(read(0, 1, 1, 1), refused, "their commitment covers more than we acked");
    }

    /// HTLC ids out of the sequence a live ledger keeps (each side's adds numbered from
    /// its committed HTLCs up to the next id, each once) come only from corrupt bytes:
    /// refused when read, instead of a reconnection taking a dropped add's id as the next
    /// one and the channel writing bytes it cannot read back.
    #[test]
    fn htlc_ids_out_of_sequence_are_refused_when_read() {
        let read = |committed: &[u64], logged: &[u64], next: u64| {
            read_back(|l| {
                for &id in committed {
                    l.base.htlcs.insert((Side::Counterparty, id), htlc(id, 100));
                }
                for &id in logged {
                    l.counterparty_log.push_back(Update::AddHtlc(htlc(id, 100)));
                }
                l.next_counterparty_htlc_id = next;
            })
        };
        let refused = Err(DecodeError::InvalidValue {
            field: "ledger htlc id",
        });
        assert!(read(&[], &[], 0).is_ok());
        assert!(read(&[], &[], 9).is_ok(), "ids of HTLCs long removed are not kept");
        assert!(read(&[0, 3], &[4, 5], 6).is_ok());
        assert!(read(&[0, 3], &[], 4).is_ok());
        assert_eq!(read(&[], &[5], 0), refused, "an add at or beyond the next id");
        assert_eq!(read(&[], &[1 << 61], 3), refused);
        assert_eq!(read(&[], &[0, 2], 3), refused, "a gap among the adds");
        assert_eq!(read(&[], &[0, 1], 3), refused, "the next id not after the last add");
        assert_eq!(read(&[4], &[4], 5), refused, "an add with a committed HTLC's id");
        assert_eq!(read(&[6], &[], 5), refused, "a committed HTLC beyond the next id");
        assert_eq!(read(&[5], &[], 5), refused, "a committed HTLC at the next id");
    }

    /// Two committed HTLCs of one offerer with one id come only from corrupt bytes:
    /// refused, not one silently kept.
    #[test]
    fn a_committed_htlc_id_twice_is_refused_when_read() {
        let mut ledger = ChannelLedger::new(1_000, 2_000, 253);
        let htlc = htlc(0, 100);
        ledger.base.htlcs.insert((Side::Holder, 0), htlc);
        ledger.next_holder_htlc_id = 1;
        let mut bytes = ledger.encode_to_vec();
        assert_eq!(ChannelLedger::decode_exact(&bytes), Ok(ledger.clone()));
        // The count of committed HTLCs sits after both balances and the feerate.
        let count_at = 8 + 8 + 4;
        bytes[count_at..count_at + 4].copy_from_slice(&2u32.to_be_bytes());
        let mut second = Vec::new();
        encode_side(Side::Holder, &mut second);
        htlc.encode(&mut second);
        let end_of_htlcs = count_at + 4 + second.len();
        bytes.splice(end_of_htlcs..end_of_htlcs, second);
        assert_eq!(
            ChannelLedger::decode_exact(&bytes),
            Err(DecodeError::InvalidValue {
                field: "ledger htlc id"
            })
        );
    }
}
