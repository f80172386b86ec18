//! Two ledgers driven through random interleavings of the BOLT 2 dance: each
//! `commitment_signed` must cover exactly what the receiver expects, value is conserved in
//! every commitment, and once quiet both sides hold mirror images of each other.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use proptest::prelude::*;

use super::ledger::*;
use crate::wire::{PaymentHash, PaymentPreimage};

const CAPACITY_MSAT: u64 = 10_000_000_000;

#[derive(Clone, Debug)]
enum Msg {
    Update(Update),
    /// The sender's view of the receiver's new commitment.
    CommitmentSigned(Coverage),
    RevokeAndAck,
}

struct Party {
    ledger: ChannelLedger,
    awaiting_revoke: bool,
}

struct Pair {
    parties: [Party; 2],
    /// In flight from party i to the other, in order.
    wires: [VecDeque<Msg>; 2],
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Add { from: usize, amount_msat: u64 },
    Fulfill { by: usize, pick: usize },
    Fail { by: usize, pick: usize },
    Fee { feerate_per_kw: u32 },
    Sign { by: usize },
    Deliver { to: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..2usize, 1_000u64..500_000_000).prop_map(|(from, amount_msat)| Op::Add { from, amount_msat }),
        (0..2usize, any::<usize>()).prop_map(|(by, pick)| Op::Fulfill { by, pick }),
        (0..2usize, any::<usize>()).prop_map(|(by, pick)| Op::Fail { by, pick }),
        (253u32..10_000).prop_map(|feerate_per_kw| Op::Fee { feerate_per_kw }),
        (0..2usize).prop_map(|by| Op::Sign { by }),
        (0..2usize).prop_map(|to| Op::Deliver { to }),
        (0..2usize).prop_map(|to| Op::Deliver { to }),
    ]
}

impl Pair {
    fn new() -> Self {
        let a = ChannelLedger::new(6_000_000_000, 4_000_000_000, 253);
        let b = ChannelLedger::new(4_000_000_000, 6_000_000_000, 253);
        Pair {
            parties: [
                Party {
                    ledger: a,
                    awaiting_revoke: false,
                },
                Party {
                    ledger: b,
                    awaiting_revoke: false,
                },
            ],
            wires: [VecDeque::new(), VecDeque::new()],
        }
    }

    fn propose(&mut self, from: usize, update: Update) {
        if self.parties[from].ledger.propose(Side::Holder, update.clone()).is_ok() {
            self.wires[from].push_back(Msg::Update(update));
        }
    }

    fn apply(&mut self, op: Op) {
        self.apply_op(op);
        for party in &self.parties {
            assert_shortcuts_match_view(&party.ledger);
        }
    }

    fn apply_op(&mut self, op: Op) {
        match op {
            Op::Add { from, amount_msat } => {
                let ledger = &self.parties[from].ledger;
                // Offer only what both of the sender's views can afford.
                let affordable = [ledger.holder_commitment(), ledger.next_counterparty_commitment()]
                    .iter()
                    .all(|c| ledger.view(*c).holder_balance_msat >= amount_msat);
                if affordable {
                    let id = ledger.next_htlc_id(Side::Holder);
                    let htlc = Htlc {
                        id,
                        amount_msat,
                        payment_hash: PaymentHash([id as u8; 32]),
                        cltv_expiry: 500_000,
                    };
                    self.propose(from, Update::AddHtlc(htlc));
                }
            }
            Op::Fulfill { by, pick } | Op::Fail { by, pick } => {
                let ledger = &self.parties[by].ledger;
                let candidates: Vec<u64> = ledger
                    .view(ledger.holder_commitment())
                    .htlcs
                    .keys()
                    .filter(|(offerer, id)| {
                        *offerer == Side::Counterparty && ledger.is_irrevocably_committed(*offerer, *id)
                    })
                    .map(|(_, id)| *id)
                    .collect();
                if candidates.is_empty() {
                    return;
                }
                let htlc_id = candidates[pick % candidates.len()];
                let removal = if matches!(op, Op::Fulfill { .. }) {
                    Removal::Fulfill(PaymentPreimage([htlc_id as u8; 32]))
                } else {
                    Removal::Fail(alloc::vec![1, 2, 3])
                };
                self.propose(by, Update::RemoveHtlc { htlc_id, removal });
            }
            // Party 0 is the funder: only it changes the fee.
            Op::Fee { feerate_per_kw } => self.propose(0, Update::Fee { feerate_per_kw }),
            Op::Sign { by } => {
                let party = &mut self.parties[by];
                if party.awaiting_revoke || !party.ledger.counterparty_commitment_outdated() {
                    return;
                }
                let coverage = party.ledger.sent_commitment_signed();
                party.awaiting_revoke = true;
                self.wires[by].push_back(Msg::CommitmentSigned(coverage));
            }
            Op::Deliver { to } => {
                let from = 1 - to;
                let Some(msg) = self.wires[from].pop_front() else {
                    return;
                };
                let receiver = &mut self.parties[to];
                match msg {
                    Msg::Update(update) => {
                        receiver
                            .ledger
                            .propose(Side::Counterparty, update)
                            .expect("the sender checked it");
                    }
                    Msg::CommitmentSigned(coverage) => {
                        // The sender's view of our commitment is exactly what we expect.
                        assert_eq!(receiver.ledger.next_holder_commitment(), coverage.mirrored());
                        let own = receiver.ledger.received_commitment_signed();
                        let sender = &self.parties[from].ledger;
                        let theirs = sender.view(sender.counterparty_commitment());
                        let ours = self.parties[to].ledger.view(own);
                        assert_eq!(ours.holder_balance_msat, theirs.counterparty_balance_msat);
                        assert_eq!(ours.counterparty_balance_msat, theirs.holder_balance_msat);
                        assert_eq!(ours.feerate_per_kw, theirs.feerate_per_kw);
                        assert_eq!(ours.total_msat(), CAPACITY_MSAT);
                        self.parties[to].ledger.sent_revoke_and_ack();
                        self.wires[to].push_back(Msg::RevokeAndAck);
                    }
                    Msg::RevokeAndAck => {
                        assert!(
                            receiver.awaiting_revoke,
                            "a revoke_and_ack answers our commitment_signed"
                        );
                        receiver.awaiting_revoke = false;
                        receiver.ledger.received_revoke_and_ack();
                    }
                }
            }
        }
    }

    /// Delivers and signs until nothing is left to do.
    fn settle(&mut self) {
        for _ in 0..1000 {
            let idle = self.wires.iter().all(|w| w.is_empty())
                && self
                    .parties
                    .iter()
                    .all(|p| !p.awaiting_revoke && !p.ledger.counterparty_commitment_outdated());
            if idle {
                return;
            }
            for i in 0..2 {
                self.apply(Op::Sign { by: i });
                self.apply(Op::Deliver { to: i });
            }
        }
        panic!("did not settle");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_dances_agree_and_conserve_value(ops in proptest::collection::vec(op(), 0..120)) {
        let mut pair = Pair::new();
        for op in ops {
            pair.apply(op);
        }
        pair.settle();
        // A second round commits everything the first round's revocations acknowledged.
        pair.apply(Op::Sign { by: 0 });
        pair.apply(Op::Sign { by: 1 });
        pair.settle();
        let [a, b] = &pair.parties;
        let a_own = a.ledger.view(a.ledger.holder_commitment());
        let b_own = b.ledger.view(b.ledger.holder_commitment());
        let a_theirs = a.ledger.view(a.ledger.counterparty_commitment());
        prop_assert_eq!(a_own.total_msat(), CAPACITY_MSAT);
        prop_assert_eq!(a_own.holder_balance_msat, b_own.counterparty_balance_msat);
        prop_assert_eq!(a_own.htlcs.len(), b_own.htlcs.len());
        prop_assert_eq!(&a_theirs, &b_own_mirrored(&b_own));
        prop_assert_eq!(a.ledger.holder_commitment(), b.ledger.counterparty_commitment().mirrored());
        // Once quiet, every update is folded away, and each side's latest commitments are
        // the ones the last revocations made current.
        prop_assert_eq!(a.ledger.pending_updates(), 0);
        prop_assert_eq!(b.ledger.pending_updates(), 0);
        for ledger in [&a.ledger, &b.ledger] {
            prop_assert_eq!(ledger.holder_commitment_revoked_to(), ledger.holder_commitment());
            prop_assert_eq!(ledger.counterparty_commitment_revoked_to(), ledger.counterparty_commitment());
        }
    }
}

/// `view_holds` and `htlc_in` (for every HTLC either side ever offered), `feerate_per_kw`
/// and `totals` answer as the built view does, in every commitment the ledger tracks or
/// checks.
fn assert_shortcuts_match_view(ledger: &ChannelLedger) {
    let coverages = [
        ledger.holder_commitment(),
        ledger.counterparty_commitment(),
        ledger.next_holder_commitment(),
        ledger.next_counterparty_commitment(),
        ledger.holder_commitment_revoked_to(),
        ledger.counterparty_commitment_revoked_to(),
        ledger.least_favourable_to(Side::Holder),
        ledger.least_favourable_to(Side::Counterparty),
        Coverage {
            holder_updates: ledger.log_end(Side::Holder),
            counterparty_updates: ledger.log_end(Side::Counterparty),
        },
    ];
    for coverage in coverages {
        let view = ledger.view(coverage);
        assert_eq!(ledger.feerate_per_kw(coverage), view.feerate_per_kw, "{coverage:?}");
        let totals = ledger.totals(coverage);
        assert_eq!(totals.feerate_per_kw, view.feerate_per_kw, "{coverage:?}");
        assert_eq!(
            totals.balance_msat(Side::Holder),
            view.holder_balance_msat,
            "{coverage:?}"
        );
        assert_eq!(
            totals.balance_msat(Side::Counterparty),
            view.counterparty_balance_msat,
            "{coverage:?}"
        );
        assert_eq!(totals.htlc_count(), view.htlcs.len(), "{coverage:?}");
        assert_eq!(totals.total_msat(), view.total_msat(), "{coverage:?}");
        for offerer in [Side::Holder, Side::Counterparty] {
            let offered: Vec<u64> = view
                .htlcs
                .iter()
                .filter(|((o, _), _)| *o == offerer)
                .map(|(_, h)| h.amount_msat)
                .collect();
            assert_eq!(totals.offered_by(offerer).count, offered.len(), "{coverage:?}");
            assert_eq!(
                totals.offered_by(offerer).amount_msat(),
                offered.iter().sum::<u64>(),
                "{coverage:?}"
            );
        }
        for offerer in [Side::Holder, Side::Counterparty] {
            for id in 0..ledger.next_htlc_id(offerer) {
                assert_eq!(
                    ledger.view_holds(coverage, offerer, id),
                    view.htlcs.contains_key(&(offerer, id)),
                    "{offerer:?} HTLC {id} in {coverage:?}"
                );
                assert_eq!(
                    ledger.htlc_in(coverage, offerer, id).as_ref(),
                    view.htlcs.get(&(offerer, id)),
                    "{offerer:?} HTLC {id} in {coverage:?}"
                );
            }
        }
    }
}

fn b_own_mirrored(view: &CommitmentView) -> CommitmentView {
    CommitmentView {
        holder_balance_msat: view.counterparty_balance_msat,
        counterparty_balance_msat: view.holder_balance_msat,
        htlcs: view
            .htlcs
            .iter()
            .map(|((side, id), h)| ((side.other(), *id), *h))
            .collect(),
        feerate_per_kw: view.feerate_per_kw,
    }
}

#[test]
fn an_htlc_walks_through_the_dance() {
    let mut pair = Pair::new();
    pair.apply(Op::Add {
        from: 0,
        amount_msat: 1_000_000,
    });
    pair.apply(Op::Sign { by: 0 });
    pair.apply(Op::Deliver { to: 1 }); // update_add_htlc
    pair.apply(Op::Deliver { to: 1 }); // commitment_signed: in B's commitment
    let b = &pair.parties[1].ledger;
    assert!(b
        .view(b.holder_commitment())
        .htlcs
        .contains_key(&(Side::Counterparty, 0)));
    assert!(!b.is_irrevocably_committed(Side::Counterparty, 0));
    // Until both commitments hold it, the add stays in the log.
    assert_eq!((b.pending_updates(), b.pending_updates_of(Side::Counterparty)), (1, 1));
    pair.apply(Op::Deliver { to: 0 }); // revoke_and_ack
    pair.apply(Op::Sign { by: 1 });
    pair.apply(Op::Deliver { to: 0 }); // commitment_signed: in A's commitment
    pair.apply(Op::Deliver { to: 1 }); // revoke_and_ack
    let b = &pair.parties[1].ledger;
    assert!(b.is_irrevocably_committed(Side::Counterparty, 0));
    assert_eq!(
        b.view(b.holder_commitment()).counterparty_balance_msat,
        6_000_000_000 - 1_000_000
    );
    // B fulfills; after the dance, the value has moved to B.
    pair.apply(Op::Fulfill { by: 1, pick: 0 });
    pair.settle();
    pair.apply(Op::Sign { by: 0 });
    pair.apply(Op::Sign { by: 1 });
    pair.settle();
    let b = &pair.parties[1].ledger;
    let view = b.view(b.holder_commitment());
    assert!(view.htlcs.is_empty());
    assert_eq!(view.holder_balance_msat, 4_000_000_000 + 1_000_000);
    assert_eq!(b.pending_updates(), 0);
}

#[test]
fn removals_of_unknown_or_uncommitted_htlcs_are_refused() {
    let mut ledger = ChannelLedger::new(5_000, 5_000, 253);
    let removal = Update::RemoveHtlc {
        htlc_id: 0,
        removal: Removal::Fail(Vec::new()),
    };
    assert_eq!(
        ledger.propose(Side::Holder, removal),
        Err(LedgerError::UnknownHtlc {
            offerer: Side::Counterparty,
            htlc_id: 0
        })
    );
    let htlc = Htlc {
        id: 1,
        amount_msat: 1,
        payment_hash: PaymentHash([0; 32]),
        cltv_expiry: 1,
    };
    assert_eq!(
        ledger.propose(Side::Counterparty, Update::AddHtlc(htlc)),
        Err(LedgerError::UnexpectedHtlcId { expected: 0, given: 1 })
    );
}

/// A removal needs the HTLC in both current commitments, and only one removal per HTLC.
#[test]
fn removals_need_the_htlc_in_both_commitments_and_come_once() {
    let mut ledger = ChannelLedger::new(5_000_000, 5_000_000, 253);
    let htlc = Htlc {
        id: 0,
        amount_msat: 1_000,
        payment_hash: PaymentHash([0; 32]),
        cltv_expiry: 1,
    };
    let fail = || Update::RemoveHtlc {
        htlc_id: 0,
        removal: Removal::Fail(Vec::new()),
    };
    let unknown = Err(LedgerError::UnknownHtlc {
        offerer: Side::Holder,
        htlc_id: 0,
    });
    ledger.propose(Side::Holder, Update::AddHtlc(htlc)).expect("add");
    // Signed into their commitment only: not yet removable.
    ledger.sent_commitment_signed();
    assert_eq!(ledger.propose(Side::Counterparty, fail()), unknown);
    // In both once they revoke and sign ours back.
    ledger.received_revoke_and_ack();
    ledger.received_commitment_signed();
    ledger.sent_revoke_and_ack();
    assert_eq!(ledger.propose(Side::Counterparty, fail()), Ok(()));
    assert_eq!(ledger.propose(Side::Counterparty, fail()), unknown);
}

/// Every kind of update survives the ledger's own encoding.
#[test]
fn every_update_kind_reads_back() {
    use crate::wire::{Decode, Encode, Reader};

    let updates = [
        Update::AddHtlc(Htlc {
            id: 3,
            amount_msat: 1_000,
            payment_hash: PaymentHash([1; 32]),
            cltv_expiry: 500_000,
        }),
        Update::RemoveHtlc {
            htlc_id: 4,
            removal: Removal::Fulfill(PaymentPreimage([2; 32])),
        },
        Update::RemoveHtlc {
            htlc_id: 5,
            removal: Removal::Fail(alloc::vec![3; 40]),
        },
        Update::RemoveHtlc {
            htlc_id: 6,
            removal: Removal::FailMalformed {
                sha256_of_onion: [4; 32],
                failure_code: 0xc005,
            },
        },
        Update::Fee { feerate_per_kw: 1_234 },
    ];
    for update in updates {
        let mut bytes = Vec::new();
        update.encode(&mut bytes);
        assert_eq!(Update::decode(&mut Reader::new(&bytes)), Ok(update));
    }
}

#[test]
fn an_htlc_its_offerer_cannot_afford_is_refused() {
    // Found by `random_dances_agree_and_conserve_value`: adds summing to one msat more
    // than the offerer held made a commitment worth one msat more than the channel.
    let htlc = |id, amount_msat| {
        Update::AddHtlc(Htlc {
            id,
            amount_msat,
            payment_hash: PaymentHash([id as u8; 32]),
            cltv_expiry: 500,
        })
    };
    for side in [Side::Holder, Side::Counterparty] {
        let mut ledger = ChannelLedger::new(100_000, 100_000, 253);
        assert_eq!(ledger.propose(side, htlc(0, 60_000)), Ok(()));
        assert_eq!(
            ledger.propose(side, htlc(1, 40_001)),
            Err(LedgerError::InsufficientBalance)
        );
        assert_eq!(ledger.propose(side, htlc(1, 40_000)), Ok(()));
        let all = ledger.view(ledger.next_counterparty_commitment());
        assert_eq!(all.total_msat(), 200_000);
    }
}

#[test]
fn an_add_paid_for_by_a_fulfill_in_the_same_commitment_is_counted_exactly() {
    // Found by the simulator: the view applied adds before removals, so an add larger than
    // the balance before an earlier fulfill floored the balance at zero, the commitment
    // held more than the channel, and the payment was refused.
    let mut ledger = ChannelLedger::new(5_000, 10_000, 253);
    let their_htlc = Htlc {
        id: 0,
        amount_msat: 6_000,
        payment_hash: PaymentHash([1; 32]),
        cltv_expiry: 500,
    };
    ledger
        .propose(Side::Counterparty, Update::AddHtlc(their_htlc))
        .expect("affordable");
    ledger.received_commitment_signed();
    ledger.sent_revoke_and_ack();
    ledger.sent_commitment_signed();
    ledger.received_revoke_and_ack();
    let fulfill = Update::RemoveHtlc {
        htlc_id: 0,
        removal: Removal::Fulfill(PaymentPreimage([2; 32])),
    };
    ledger.propose(Side::Holder, fulfill).expect("committed on both sides");
    let ours = Htlc {
        id: 0,
        amount_msat: 8_000,
        payment_hash: PaymentHash([3; 32]),
        cltv_expiry: 500,
    };
    ledger
        .propose(Side::Holder, Update::AddHtlc(ours))
        .expect("affordable once the fulfill pays us");
    let view = ledger.view(ledger.next_counterparty_commitment());
    assert_eq!(
        (
            view.holder_balance_msat,
            view.counterparty_balance_msat,
            view.total_msat()
        ),
        (3_000, 4_000, 15_000)
    );
}

/// A persisted ledger whose acknowledgement counts point past its logs is corrupt:
/// reading it fails, on either side's count.
#[test]
fn acknowledgements_past_the_logs_are_refused_on_read() {
    use crate::wire::{Decode, DecodeError, Encode};

    let ledger = ChannelLedger::new(5_000, 5_000, 253);
    let bytes = ledger.encode_to_vec();
    assert_eq!(ChannelLedger::decode_exact(&bytes).map(|l| l.pending_updates()), Ok(0));
    // The encoding ends with both acknowledgement counts, then both next HTLC ids.
    let end = bytes.len();
    for field in [end - 32..end - 24, end - 24..end - 16] {
        let mut corrupt = bytes.clone();
        corrupt[field].copy_from_slice(&1u64.to_be_bytes());
        assert_eq!(
            ChannelLedger::decode_exact(&corrupt).map(|l| l.pending_updates()),
            Err(DecodeError::InvalidValue {
                field: "ledger acknowledgements"
            })
        );
    }
}
