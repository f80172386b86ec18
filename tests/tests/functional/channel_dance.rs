//! Two channel state machines with real keys and signatures, messages moved by hand:
//! establishment, payments both ways, simultaneous commitments, fail, fulfill,
//! `update_fee`, and the peer's limit violations failing the channel.

use lightning::chan::channel::ChannelError;
use lightning::chan::ledger::Side;
use lightning::chan::snapshot::ChannelSnapshot;
use lightning::wire::{Message, PaymentHash, PaymentPreimage};
use tests::channel_pair::*;

#[test]
fn payments_both_ways_settle_and_move_value() {
    let mut pair = open_pair(200_000_000);
    let id = pair.pay(0, 50_000_000, 1);
    assert_eq!(pair.balances(), (750_000_000, 200_000_000));
    let fulfill = pair.nodes[1]
        .channel
        .fulfill_htlc(id, preimage(1).0)
        .expect("committed");
    pair.send(1, Message::UpdateFulfillHtlc(fulfill));
    pair.settle();
    assert_eq!(pair.balances(), (750_000_000, 250_000_000));
    assert_eq!(pair.nodes[0].preimages, vec![preimage(1).0]);

    let id = pair.pay(1, 30_000_000, 2);
    let fulfill = pair.nodes[0]
        .channel
        .fulfill_htlc(id, preimage(2).0)
        .expect("committed");
    pair.send(0, Message::UpdateFulfillHtlc(fulfill));
    pair.settle();
    assert_eq!(pair.balances(), (780_000_000, 220_000_000));
    assert!(pair.nodes[0].channel.holder_view().htlcs.is_empty());
    assert_eq!(pair.nodes[0].channel.ledger().pending_updates(), 0);
}

#[test]
fn a_failed_htlc_returns_to_its_offerer() {
    let mut pair = open_pair(0);
    let id = pair.pay(0, 10_000_000, 3);
    let fail = pair.nodes[1].channel.fail_htlc(id, vec![0xaa; 292]).expect("committed");
    pair.send(1, Message::UpdateFailHtlc(fail));
    pair.settle();
    assert_eq!(pair.balances(), (1_000_000_000, 0));
    assert!(pair.nodes[0].preimages.is_empty());
}

#[test]
fn simultaneous_commitment_signed_from_both_sides() {
    let mut pair = open_pair(300_000_000);
    let (_, h1) = preimage(4);
    let (_, h2) = preimage(5);
    let a_add = pair.nodes[0]
        .channel
        .send_htlc(20_000_000, h1, 800_000, onion())
        .expect("add");
    let b_add = pair.nodes[1]
        .channel
        .send_htlc(10_000_000, h2, 800_000, onion())
        .expect("add");
    pair.send(0, Message::UpdateAddHtlc(Box::new(a_add)));
    pair.send(1, Message::UpdateAddHtlc(Box::new(b_add)));
    // Both sign before either hears the other's signature.
    pair.commit(0);
    pair.commit(1);
    assert!(matches!(pair.wires[0].back(), Some(Message::CommitmentSigned(_))));
    assert!(matches!(pair.wires[1].back(), Some(Message::CommitmentSigned(_))));
    pair.settle();
    assert_eq!(pair.nodes[0].channel.holder_view().htlcs.len(), 2);
    assert_eq!(pair.balances(), (680_000_000, 290_000_000));
}

#[test]
fn update_fee_changes_both_commitments() {
    let mut pair = open_pair(0);
    let fee = pair.nodes[0].channel.send_update_fee(5000).expect("funder");
    pair.send(0, Message::UpdateFee(fee));
    pair.settle();
    assert_eq!(pair.nodes[0].channel.holder_view().feerate_per_kw, 5000);
    assert_eq!(pair.nodes[1].channel.holder_view().feerate_per_kw, 5000);
    // The fundee may not change the fee.
    assert!(matches!(
        pair.nodes[1].channel.send_update_fee(6000),
        Err(ChannelError::Ignore(_))
    ));
}

/// While the peer is disconnected nothing can be settled or changed: fulfill, fail, a new
/// HTLC and `update_fee` are refused and leave the channel as it was; after reconnecting they work.
#[test]
fn nothing_settles_while_the_peer_is_disconnected() {
    let mut pair = open_pair(0);
    let id = pair.pay(0, 10_000_000, 7);
    pair.disconnect();
    let before: Vec<ChannelSnapshot> = pair.nodes.iter().map(|n| ChannelSnapshot::of(&n.channel)).collect();
    let payee = &mut pair.nodes[1].channel;
    assert!(matches!(
        payee.fulfill_htlc(id, preimage(7).0),
        Err(ChannelError::Ignore(_))
    ));
    assert!(matches!(
        payee.fail_htlc(id, vec![0; 292]),
        Err(ChannelError::Ignore(_))
    ));
    assert!(matches!(
        payee.fail_malformed_htlc(id, [0; 32], lightning::onion::errors::BADONION | 5),
        Err(ChannelError::Ignore(_))
    ));
    assert!(matches!(
        pair.nodes[0].channel.send_update_fee(5_000),
        Err(ChannelError::Ignore(_))
    ));
    assert!(matches!(
        pair.nodes[0]
            .channel
            .send_htlc(1_000_000, preimage(8).1, 800_000, onion()),
        Err(ChannelError::Ignore(_))
    ));
    let after: Vec<ChannelSnapshot> = pair.nodes.iter().map(|n| ChannelSnapshot::of(&n.channel)).collect();
    assert_eq!(before, after);
    assert_eq!(pair.nodes[1].channel.ledger().pending_updates(), 0);
    pair.reconnect().expect("reestablished");
    pair.settle();
    let fulfill = pair.nodes[1]
        .channel
        .fulfill_htlc(id, preimage(7).0)
        .expect("connected");
    pair.send(1, Message::UpdateFulfillHtlc(fulfill));
    pair.settle();
    assert_eq!(pair.balances(), (990_000_000, 10_000_000));
}

/// The funder may set the feerate down to the relay floor of 253 sat/kw, not below.
#[test]
fn update_fee_stops_at_the_relay_floor() {
    let mut pair = open_pair(0);
    let floor = lightning::chan::channel::operation::MIN_FEERATE_PER_KW;
    assert!(matches!(
        pair.nodes[0].channel.send_update_fee(floor - 1),
        Err(ChannelError::Ignore(_))
    ));
    let fee = pair.nodes[0].channel.send_update_fee(5_000).expect("above the floor");
    pair.send(0, Message::UpdateFee(fee));
    pair.settle();
    let fee = pair.nodes[0].channel.send_update_fee(floor).expect("at the floor");
    pair.send(0, Message::UpdateFee(fee));
    pair.settle();
    assert_eq!(pair.nodes[1].channel.holder_view().feerate_per_kw, floor);
}

#[test]
fn limit_violations_by_the_peer_fail_the_channel() {
    let mut pair = open_pair(0);
    let (_, hash) = preimage(6);
    // A zero-value HTLC.
    let mut add = pair.nodes[0].channel.clone_add_for_test(1, hash);
    add.amount_msat = 0;
    assert!(matches!(
        pair.nodes[1].channel.update_add_htlc(&add),
        Err(ChannelError::Close(_))
    ));
    // More than the sender has.
    add.amount_msat = 2_000_000_000;
    assert!(matches!(
        pair.nodes[1].channel.update_add_htlc(&add),
        Err(ChannelError::Close(_))
    ));
    // A timestamp expiry.
    add.amount_msat = 1_000;
    add.cltv_expiry = 500_000_000;
    assert!(matches!(
        pair.nodes[1].channel.update_add_htlc(&add),
        Err(ChannelError::Close(_))
    ));
    // A skipped id.
    add.cltv_expiry = 800_000;
    add.id = 7;
    assert!(matches!(
        pair.nodes[1].channel.update_add_htlc(&add),
        Err(ChannelError::Close(_))
    ));
    // Our own sends are refused, not fatal, and leave the channel untouched.
    assert!(matches!(
        pair.nodes[0].channel.send_htlc(2_000_000_000, hash, 800_000, onion()),
        Err(ChannelError::Ignore(_))
    ));
    assert_eq!(pair.nodes[0].channel.ledger().pending_updates(), 0);
    // The fundee has nothing to send.
    assert!(matches!(
        pair.nodes[1].channel.send_htlc(1_000, hash, 800_000, onion()),
        Err(ChannelError::Ignore(_))
    ));
}

#[test]
fn a_wrong_preimage_or_signature_fails_the_channel() {
    let mut pair = open_pair(0);
    let id = pair.pay(0, 10_000_000, 7);
    let mut fulfill = pair.nodes[1]
        .channel
        .fulfill_htlc(id, preimage(7).0)
        .expect("committed");
    fulfill.payment_preimage = PaymentPreimage([0xee; 32]);
    assert!(matches!(
        pair.nodes[0].channel.update_fulfill_htlc(&fulfill),
        Err(ChannelError::Close(_))
    ));

    let mut pair = open_pair(0);
    let (_, hash) = preimage(8);
    let add = pair.nodes[0]
        .channel
        .send_htlc(10_000_000, hash, 800_000, onion())
        .expect("add");
    pair.nodes[1].channel.update_add_htlc(&add).expect("valid");
    let mut signed = pair.nodes[0]
        .channel
        .send_commitment()
        .expect("signs")
        .expect("something to sign");
    signed.htlc_signatures[0] = signed.signature;
    assert!(matches!(
        pair.nodes[1].channel.commitment_signed(&signed),
        Err(ChannelError::Close(_))
    ));
    // An empty commitment_signed is a violation too.
    let mut pair = open_pair(0);
    let signed_nothing = lightning::wire::CommitmentSigned {
        channel_id: pair.nodes[0].channel.channel_id(),
        signature: signed.signature,
        htlc_signatures: vec![],
        tlvs: Default::default(),
    };
    assert!(matches!(
        pair.nodes[1].channel.commitment_signed(&signed_nothing),
        Err(ChannelError::Close(_))
    ));
    let _ = pair.deliver(0);
}

#[test]
fn the_ledger_offers_irrevocability_only_after_both_revocations() {
    let mut pair = open_pair(0);
    let (_, hash) = preimage(9);
    let add = pair.nodes[0]
        .channel
        .send_htlc(10_000_000, hash, 800_000, onion())
        .expect("add");
    pair.send(0, Message::UpdateAddHtlc(Box::new(add)));
    pair.deliver(1).expect("add");
    pair.commit(0);
    // With the signature in flight the two ends disagree, and the snapshot diff says where.
    let diffs =
        ChannelSnapshot::of(&pair.nodes[0].channel).diff_against_peer(&ChannelSnapshot::of(&pair.nodes[1].channel));
    assert!(diffs.iter().any(|d| d.starts_with("htlc")), "{diffs:?}");
    assert!(
        diffs.iter().any(|d| d.starts_with("counterparty commitment")),
        "{diffs:?}"
    );
    pair.deliver(1).expect("commitment_signed");
    // Once delivered, both describe the same two commitments.
    let diffs =
        ChannelSnapshot::of(&pair.nodes[0].channel).diff_against_peer(&ChannelSnapshot::of(&pair.nodes[1].channel));
    assert!(diffs.is_empty(), "{diffs:?}");
    // In B's commitment, but not yet irrevocable: B may not fulfill it.
    assert!(!pair.nodes[1]
        .channel
        .ledger()
        .is_irrevocably_committed(Side::Counterparty, 0));
    assert!(matches!(
        pair.nodes[1].channel.fulfill_htlc(0, preimage(9).0),
        Err(ChannelError::Ignore(_))
    ));
    pair.settle();
    assert!(pair.nodes[1]
        .channel
        .ledger()
        .is_irrevocably_committed(Side::Counterparty, 0));
}

trait AddForTest {
    fn clone_add_for_test(&self, amount_msat: u64, hash: PaymentHash) -> lightning::wire::UpdateAddHtlc;
}

impl AddForTest for Chan {
    fn clone_add_for_test(&self, amount_msat: u64, payment_hash: PaymentHash) -> lightning::wire::UpdateAddHtlc {
        lightning::wire::UpdateAddHtlc {
            channel_id: self.channel_id(),
            id: 0,
            amount_msat,
            payment_hash,
            cltv_expiry: 800_000,
            onion_routing_packet: onion(),
            tlvs: Default::default(),
        }
    }
}

/// A settled HTLC leaves nothing behind in the persisted channel: its 1,366-byte onion,
/// kept only to retransmit the add after a reconnection, is dropped once both sides
/// committed to it, so the channel's bytes do not grow with the payments it made.
#[test]
fn settled_payments_do_not_grow_the_persisted_channel() {
    let mut pair = open_pair(0);
    let mut sizes = Vec::new();
    for n in 1..=6 {
        let id = pair.pay(0, 1_000_000, n);
        let fulfill = pair.nodes[1]
            .channel
            .fulfill_htlc(id, preimage(n).0)
            .expect("committed");
        pair.send(1, Message::UpdateFulfillHtlc(fulfill));
        pair.settle();
        sizes.push(pair.nodes[0].channel.encode_state().len());
    }
    let (first, last) = (sizes[0], sizes[sizes.len() - 1]);
    // Revocation secrets are stored compactly (at most 49, one per trailing-zero count),
    // so a few bytes of growth are expected; an onion per payment is not.
    assert!(last <= first + 200, "channel bytes after each payment: {sizes:?}");
}

/// An HTLC is offered on its offerer's commitment and received on the other's (BOLT 3:
/// the two take different scripts), as each monitor records it.
#[test]
fn an_htlc_is_offered_by_its_sender_and_received_by_the_other() {
    let mut pair = open_pair(0);
    pair.pay(0, 20_000_000, 7);
    for (node, offered) in [(0, true), (1, false)] {
        let holder = pair.nodes[node].monitor.holder_commitment().expect("commitment");
        let flags: Vec<(bool, u64)> = holder.htlcs.iter().map(|h| (h.offered, h.amount_msat)).collect();
        assert_eq!(flags, vec![(offered, 20_000_000)], "node {node}");
    }
}
