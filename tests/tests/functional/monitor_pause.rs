//! Monitor updates held in progress: the channel holds back exactly what depends on them,
//! releases it in order when the updates complete (in any order), the monitor read back
//! from its stored bytes tracks the channel, and random interleavings of payments,
//! deliveries and pauses always settle to agreeing snapshots.

use lightning::chain::ChannelMonitor;
use lightning::chan::ledger::Side;
use lightning::wire::{Decode, Encode, Message};
use proptest::prelude::*;
use tests::channel_pair::*;

fn kinds(wire: &std::collections::VecDeque<Message>) -> Vec<&'static str> {
    wire.iter()
        .map(|m| match m {
            Message::UpdateAddHtlc(_) => "update_add_htlc",
            Message::CommitmentSigned(_) => "commitment_signed",
            Message::RevokeAndAck(_) => "revoke_and_ack",
            Message::UpdateFulfillHtlc(_) => "update_fulfill_htlc",
            _ => "other",
        })
        .collect()
}

#[test]
fn a_paused_monitor_holds_back_exactly_the_dependent_messages() {
    let mut pair = open_pair(0);
    pair.nodes[0].persist_mode = PersistMode::InProgress;
    let (_, hash) = preimage(1);
    let add = pair.nodes[0]
        .channel
        .send_htlc(10_000_000, hash, 800_000, onion())
        .expect("add");
    pair.send(0, Message::UpdateAddHtlc(Box::new(add)));
    // No durable change behind the add: it goes out at once.
    assert_eq!(kinds(&pair.wires[0]), ["update_add_htlc"]);
    pair.commit(0);
    // The commitment_signed waits for the counterparty commitment to be persisted.
    assert_eq!(kinds(&pair.wires[0]), ["update_add_htlc"]);
    assert_eq!(pair.nodes[0].in_progress.len(), 1);
    pair.deliver(1).expect("add");
    pair.complete_all(0);
    assert_eq!(kinds(&pair.wires[0]), ["commitment_signed"]);
    pair.settle();
    // A's own commitment update is in progress again: its revoke_and_ack waits.
    assert!(!pair.nodes[0].outbox.is_empty(), "A's revoke_and_ack is held");
    pair.complete_all(0);
    pair.nodes[0].persist_mode = PersistMode::Completed;
    pair.settle();
    pair.assert_mirrored();
    assert!(pair.nodes[1]
        .channel
        .ledger()
        .is_irrevocably_committed(Side::Counterparty, 0));
}

#[test]
fn completions_out_of_order_release_only_what_is_fully_persisted() {
    let mut pair = open_pair(300_000_000);
    let (_, h1) = preimage(2);
    let (_, h2) = preimage(3);
    pair.nodes[0].persist_mode = PersistMode::InProgress;
    let a_add = pair.nodes[0]
        .channel
        .send_htlc(10_000_000, h1, 800_000, onion())
        .expect("add");
    pair.send(0, Message::UpdateAddHtlc(Box::new(a_add)));
    pair.commit(0); // A's update k: counterparty commitment; commitment_signed held.
    let b_add = pair.nodes[1]
        .channel
        .send_htlc(5_000_000, h2, 800_000, onion())
        .expect("add");
    pair.send(1, Message::UpdateAddHtlc(Box::new(b_add)));
    pair.commit(1);
    pair.deliver(0).expect("B's add");
    pair.deliver(0).expect("B's commitment_signed"); // A's update k+1: holder commitment.
    assert_eq!(pair.nodes[0].in_progress.len(), 2);
    assert_eq!(kinds(&pair.wires[0]), ["update_add_htlc"]);
    // The later update completes first: nothing may overtake the earlier one.
    assert!(pair.nodes[0].complete_last());
    pair.flush(0);
    assert_eq!(kinds(&pair.wires[0]), ["update_add_htlc"]);
    assert!(pair.nodes[0].complete_first());
    pair.flush(0);
    assert_eq!(
        kinds(&pair.wires[0]),
        ["update_add_htlc", "commitment_signed", "revoke_and_ack"]
    );
    pair.nodes[0].persist_mode = PersistMode::Completed;
    pair.settle();
    pair.assert_mirrored();
    assert_eq!(pair.balances(), (690_000_000, 295_000_000));
}

#[test]
fn the_monitor_read_back_from_storage_tracks_the_channel() {
    let mut pair = open_pair(0);
    let id = pair.pay(0, 25_000_000, 4);
    let fulfill = pair.nodes[1]
        .channel
        .fulfill_htlc(id, preimage(4).0)
        .expect("committed");
    pair.send(1, Message::UpdateFulfillHtlc(fulfill));
    pair.settle();
    for node in &pair.nodes {
        let monitor = &node.monitor;
        let bytes = monitor.encode_to_vec();
        assert_eq!(ChannelMonitor::decode_exact(&bytes).as_ref(), Ok(monitor));
        assert_eq!(monitor.latest_update_id(), node.channel.latest_monitor_update_id());
        assert_eq!(
            monitor.preimage(&preimage(4).1),
            Some(preimage(4).0),
            "node {}",
            node.channel.is_funder()
        );
        let holder = monitor.holder_commitment().expect("holder commitment");
        assert_eq!(holder.commitment_number, node.channel.holder_commitment_number());
        // Every counterparty commitment before the current one is revoked and its
        // secret kept.
        let current = node.channel.counterparty_commitment_number();
        assert!(monitor
            .counterparty_commitments()
            .keys()
            .all(|n| *n >= current.saturating_sub(1)));
        assert!((0..current).all(|n| monitor.counterparty_secret(n).is_some()));
        // Truncated or corrupt bytes are an error, never a panic.
        for cut in [0, 1, 9, bytes.len() / 2, bytes.len() - 1] {
            assert!(ChannelMonitor::decode_exact(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }
}

#[test]
fn the_monitor_grows_by_at_most_64_bytes_per_payment() {
    let mut pair = open_pair(0);
    let size = |pair: &Pair| {
        pair.nodes
            .iter()
            .map(|n| n.monitor.encode_to_vec().len())
            .max()
            .unwrap_or(0)
    };
    let warm_up = pair.pay(0, 1_000_000, 100);
    let fulfill = pair.nodes[1]
        .channel
        .fulfill_htlc(warm_up, preimage(100).0)
        .expect("committed");
    pair.send(1, Message::UpdateFulfillHtlc(fulfill));
    pair.settle();
    let before = size(&pair);
    let payments = 20;
    for n in 0..payments {
        let id = pair.pay(0, 1_000_000, n);
        let fulfill = pair.nodes[1]
            .channel
            .fulfill_htlc(id, preimage(n).0)
            .expect("committed");
        pair.send(1, Message::UpdateFulfillHtlc(fulfill));
        pair.settle();
    }
    let growth_per_payment = (size(&pair) - before) / usize::from(payments);
    assert!(growth_per_payment <= 64, "{growth_per_payment} bytes per payment");
}

#[derive(Clone, Copy, Debug)]
enum Step {
    Pay { from: usize, amount_msat: u64 },
    Settle { by: usize, fulfill: bool },
    Commit { by: usize },
    Deliver { to: usize },
    Pause { node: usize },
    Resume { node: usize },
    CompleteFirst { node: usize },
    CompleteLast { node: usize },
    Reconnect,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..2usize, 1_000_000u64..50_000_000).prop_map(|(from, amount_msat)| Step::Pay { from, amount_msat }),
        (0..2usize, any::<bool>()).prop_map(|(by, fulfill)| Step::Settle { by, fulfill }),
        (0..2usize).prop_map(|by| Step::Commit { by }),
        (0..2usize).prop_map(|to| Step::Deliver { to }),
        (0..2usize).prop_map(|to| Step::Deliver { to }),
        (0..2usize).prop_map(|node| Step::Pause { node }),
        (0..2usize).prop_map(|node| Step::Resume { node }),
        (0..2usize).prop_map(|node| Step::CompleteFirst { node }),
        (0..2usize).prop_map(|node| Step::CompleteLast { node }),
        Just(Step::Reconnect),
    ]
}

fn run(pair: &mut Pair, step: Step, next_hash: &mut u8) {
    match step {
        Step::Pay { from, amount_msat } => {
            *next_hash = next_hash.wrapping_add(1);
            let (_, hash) = preimage(*next_hash);
            if let Ok(add) = pair.nodes[from].channel.send_htlc(amount_msat, hash, 800_000, onion()) {
                pair.send(from, Message::UpdateAddHtlc(Box::new(add)));
            }
        }
        Step::Settle { by, fulfill } => {
            let channel = &pair.nodes[by].channel;
            let Some((id, htlc)) = channel
                .holder_view()
                .htlcs
                .iter()
                .find(|((offerer, id), _)| {
                    *offerer == Side::Counterparty && channel.ledger().is_irrevocably_committed(*offerer, *id)
                })
                .map(|((_, id), h)| (*id, *h))
            else {
                return;
            };
            let channel = &mut pair.nodes[by].channel;
            let message = if fulfill {
                let known = (0..=255u8).map(preimage).find(|(_, h)| *h == htlc.payment_hash);
                let Some((preimage, _)) = known else { return };
                channel.fulfill_htlc(id, preimage).map(Message::UpdateFulfillHtlc)
            } else {
                channel.fail_htlc(id, vec![0; 292]).map(Message::UpdateFailHtlc)
            };
            if let Ok(message) = message {
                pair.send(by, message);
            }
        }
        Step::Commit { by } => pair.commit(by),
        Step::Deliver { to } => {
            pair.deliver(to).expect("an honest peer's messages are valid");
        }
        Step::Pause { node } => pair.nodes[node].persist_mode = PersistMode::InProgress,
        Step::Resume { node } => pair.nodes[node].persist_mode = PersistMode::Completed,
        Step::CompleteFirst { node } => {
            pair.nodes[node].complete_first();
            pair.flush(node);
        }
        Step::CompleteLast { node } => {
            pair.nodes[node].complete_last();
            pair.flush(node);
        }
        Step::Reconnect => {
            pair.disconnect();
            pair.reconnect().expect("honest peers always reestablish");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any interleaving of payments, settlements, deliveries, disconnections, pauses and
    /// out-of-order completions ends, once everything completes and drains, in agreeing snapshots with
    /// the channel's value intact and the monitors matching their channels.
    #[test]
    fn random_interleavings_with_pauses_settle_and_agree(steps in proptest::collection::vec(step(), 0..60)) {
        let mut pair = open_pair(400_000_000);
        let mut next_hash = 0u8;
        for step in steps {
            run(&mut pair, step, &mut next_hash);
            for node in &pair.nodes {
                prop_assert_eq!(node.channel.holder_view().total_msat(), FUNDING_SATOSHIS * 1000);
            }
        }
        for i in 0..2 {
            pair.nodes[i].persist_mode = PersistMode::Completed;
            pair.complete_all(i);
        }
        pair.settle();
        pair.commit(0);
        pair.commit(1);
        pair.settle();
        pair.assert_mirrored();
        for node in &pair.nodes {
            prop_assert_eq!(node.monitor.latest_update_id(), node.channel.latest_monitor_update_id());
        }
    }
}
