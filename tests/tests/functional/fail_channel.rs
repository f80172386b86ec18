//! Failing a channel (BOLT 5): unless a node knows its state is stale, it broadcasts the
//! latest commitment its peer signed, with both signatures, after telling its monitor;
//! with nothing signed yet it just forgets the channel.

use lightning::bitcoin::Transaction;
use lightning::chan::manager::ApiError;
use lightning::events::Event;
use lightning::transport::{HandlerAction, MessageHandler};
use lightning::wire::{ChannelId, ErrorMessage, Message, NoTlvs, UpdateAddHtlc, UpdateAddHtlcTlvs};
use tests::node_pair::*;

use super::node_e2e::{accepted_unfunded_channel, assert_channel_failed, connected_channel, pay, start_payment, LINK};

fn error(channel_id: ChannelId) -> Message {
    Message::Error(ErrorMessage {
        channel_id,
        data: b"test".to_vec(),
        extension: NoTlvs::default(),
    })
}

/// Node `n` broadcast exactly one transaction: the commitment its monitor holds for
/// `channel_id`, signed by both (a 2-of-2 witness), with its monitor closed.
fn assert_broadcast_its_commitment(n: &Node, channel_id: &ChannelId) -> Transaction {
    let broadcast = &n.channel_handler().broadcaster().transactions;
    let [commitment] = broadcast.as_slice() else {
        panic!("one broadcast expected: {broadcast:?}")
    };
    let monitor = &n.channel_handler().persister().monitors[channel_id];
    assert!(monitor.is_closed(), "the monitor was not told of the close");
    let held = monitor.holder_commitment().expect("a holder commitment");
    assert_eq!(commitment.compute_txid(), held.transaction.compute_txid());
    let funding = monitor.funding().expect("funded");
    assert_eq!(commitment.input[0].previous_output, funding.funding_outpoint);
    assert_eq!(commitment.input[0].witness.len(), 4, "both signatures");
    commitment.clone()
}

fn sent_errors(n: &mut Node) -> usize {
    n.channel_handler_mut()
        .take_actions()
        .iter()
        .filter(|a| {
            matches!(
                a,
                HandlerAction::Send {
                    message: Message::Error(_),
                    ..
                }
            )
        })
        .count()
}

/// The peer's `error` fails the channel (BOLT 1) and so puts our commitment on chain; it
/// is not answered with an `error` of our own.
#[test]
fn a_peer_error_puts_our_latest_commitment_on_chain() {
    let (mut a, mut b, channel_id) = connected_channel();
    pay(&mut a, &mut b, 100_000_000);
    let a_id = a.node_id();
    b.channel_handler_mut().handle_message(&a_id, error(channel_id));
    assert_channel_failed(&mut b, channel_id, "peer error: test");
    let commitment = assert_broadcast_its_commitment(&b, &channel_id);
    assert!(
        commitment.output.iter().any(|o| o.value.to_sat() == 100_000),
        "our balance is on chain: {commitment:?}"
    );
    assert_eq!(sent_errors(&mut b), 0, "an error is not answered with one");
}

/// A peer that breaks the protocol fails the channel: we broadcast and tell it with an
/// `error`, and it, told, broadcasts its own commitment.
#[test]
fn a_protocol_violation_fails_the_channel_on_chain_at_both_ends() {
    let (mut a, mut b, channel_id) = connected_channel();
    pay(&mut a, &mut b, 100_000_000);
    let hostile = UpdateAddHtlc {
        channel_id,
        id: 1,
        amount_msat: 0,
        payment_hash: lightning::wire::PaymentHash([7; 32]),
        cltv_expiry: 500,
        onion_routing_packet: tests::channel_pair::onion(),
        tlvs: UpdateAddHtlcTlvs::default(),
    };
    let a_id = a.node_id();
    b.channel_handler_mut()
        .handle_message(&a_id, Message::UpdateAddHtlc(Box::new(hostile)));
    assert_channel_failed(&mut b, channel_id, "htlc_minimum");
    assert_broadcast_its_commitment(&b, &channel_id);

    // B's error reaches A, which fails its end and broadcasts its own commitment.
    pump(&mut a, &mut b, LINK);
    assert_channel_failed(&mut a, channel_id, "peer error");
    let ours = assert_broadcast_its_commitment(&a, &channel_id);
    let theirs = &b.channel_handler().broadcaster().transactions[0];
    assert_ne!(ours.compute_txid(), theirs.compute_txid(), "each broadcasts its own");
}

/// An HTLC we offered that the peer leaves unresolved past its expiry fails the channel:
/// the commitment that goes out carries it, so it can be timed out on chain.
#[test]
fn an_expired_offered_htlc_goes_on_chain_with_our_commitment() {
    let (mut a, mut b, channel_id) = connected_channel();
    start_payment(&mut a, &mut b, 3_000_000, None);
    pump(&mut a, &mut b, LINK);
    disconnect(&mut a, &mut b, LINK);
    a.channel_handler_mut().best_block_updated(143);
    assert_channel_failed(&mut a, channel_id, "expired");
    let commitment = assert_broadcast_its_commitment(&a, &channel_id);
    assert!(
        commitment.output.iter().any(|o| o.value.to_sat() == 3_000),
        "the HTLC's output: {commitment:?}"
    );
    let held = a.channel_handler().persister().monitors[&channel_id]
        .holder_commitment()
        .cloned()
        .expect("held");
    assert_eq!(held.htlcs.len(), 1);
}

/// A node that knows its state is stale fails the channel without broadcasting (its
/// commitment may be revoked); its peer, told with an `error`, broadcasts its own.
#[test]
fn a_stale_node_does_not_broadcast_but_its_peer_does() {
    let (mut a, mut b, channel_id) = connected_channel();
    let stale = b.channel_handler().persister().monitors.clone();
    pay(&mut a, &mut b, 20_000_000);
    a.disconnected(LINK);
    let (mut b, mismatches) = restart(&b, 2, &stale);
    assert_eq!(mismatches.len(), 1, "{mismatches:?}");
    assert_channel_failed(&mut b, channel_id, "not broadcasting");
    assert!(b.channel_handler().broadcaster().transactions.is_empty());

    // B no longer knows the channel; A reconnects, and B answers its reestablish with an
    // error, on which A goes on chain.
    connect(&mut a, &mut b, LINK);
    pump(&mut a, &mut b, LINK);
    assert_channel_failed(&mut a, channel_id, "peer error");
    assert_broadcast_its_commitment(&a, &channel_id);
    assert!(b.channel_handler().broadcaster().transactions.is_empty());
}

/// Before the peer signed any commitment of ours there is nothing to claim on chain: an
/// `error` then just forgets the channel.
#[test]
fn a_channel_failed_before_any_signed_commitment_is_forgotten() {
    let (mut a, b, temporary) = accepted_unfunded_channel();
    let b_id = b.node_id();
    let _ = events(&mut a);
    a.channel_handler_mut().handle_message(&b_id, error(temporary));
    assert!(a.channel_handler().channel(&temporary).is_none());
    assert!(events(&mut a)
        .iter()
        .any(|e| matches!(e, Event::ChannelClosed { channel_id, .. } if *channel_id == temporary)));
    assert!(a.channel_handler().broadcaster().transactions.is_empty());
    assert_eq!(
        a.channel_handler_mut().force_close_channel(&temporary),
        Err(ApiError::UnknownChannel)
    );
}

/// A user's force close broadcasts once: failing the channel afterwards does not
/// broadcast it again.
#[test]
fn a_force_close_broadcasts_once() {
    let (mut a, mut b, channel_id) = connected_channel();
    pay(&mut a, &mut b, 10_000_000);
    a.channel_handler_mut()
        .force_close_channel(&channel_id)
        .expect("a signed commitment");
    assert_channel_failed(&mut a, channel_id, "force-closed");
    assert_broadcast_its_commitment(&a, &channel_id);
    pump(&mut a, &mut b, LINK);
    assert_channel_failed(&mut b, channel_id, "force-closed by the user");
    assert_broadcast_its_commitment(&b, &channel_id);
}
