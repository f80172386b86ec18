//! Funding depth and chain heights: `channel_ready` waits for the depth both sides ask,
//! a confirmation counts once and for its own funding, and heights at the end of `u32`
//! (the user's chain data) neither overflow nor wrap.

use lightning::bitcoin::Transaction;
use lightning::chan::channel::ChannelPhase;
use lightning::chan::manager::payments::MIN_FINAL_CLTV_EXPIRY_DELTA;
use lightning::chan::manager::{ApiError, ChannelManagerConfig};
use lightning::events::Event;
use lightning::wire::ChannelId;
use tests::node_pair::*;

use super::node_e2e::{both_see, connected_channel, fund, fund_with, LINK};

/// Two connected nodes with a channel from the first, funded but not yet confirmed.
fn funded_unconfirmed() -> (Node, Node, ChannelId, Transaction) {
    let (mut a, mut b) = (node(1), node(2));
    connect(&mut a, &mut b, LINK);
    let (channel_id, funding) = fund(&mut a, &mut b);
    (a, b, channel_id, funding)
}

/// `channel_ready` goes out when the funding is three blocks deep, not a block sooner.
#[test]
fn channel_ready_waits_for_the_minimum_depth() {
    let (mut a, mut b, channel_id, funding) = funded_unconfirmed();
    for (best_height, ready) in [(102, false), (103, true)] {
        both_see(&mut a, &mut b, &funding, 101, best_height);
        pump(&mut a, &mut b, LINK);
        let phase = a.channel_handler().channel(&channel_id).map(|c| c.phase());
        assert_eq!(
            phase == Some(ChannelPhase::Normal),
            ready,
            "at height {best_height}: {phase:?}"
        );
    }
}

/// Each node hears `ChannelReady` once, whichever of the two reaches the depth first:
/// here the funder learns of the funding's depth only after its peer's `channel_ready`
/// arrived, and the channel turns usable on its own confirmation.
#[test]
fn the_node_that_reaches_the_depth_last_hears_channel_ready_too() {
    let (mut a, mut b, channel_id, funding) = funded_unconfirmed();
    b.channel_handler_mut().transaction_confirmed(&funding, 101);
    b.channel_handler_mut().best_block_updated(103);
    pump(&mut a, &mut b, LINK);
    assert_eq!(events(&mut b), vec![], "b waits for a's channel_ready");
    assert_eq!(events(&mut a), vec![], "a has not seen the funding confirm");
    a.channel_handler_mut().transaction_confirmed(&funding, 101);
    a.channel_handler_mut().best_block_updated(103);
    pump(&mut a, &mut b, LINK);
    let (a_node, b_node) = (a.node_id(), b.node_id());
    assert_eq!(
        events(&mut a),
        vec![Event::ChannelReady {
            channel_id,
            counterparty_node_id: b_node
        }]
    );
    assert_eq!(
        events(&mut b),
        vec![Event::ChannelReady {
            channel_id,
            counterparty_node_id: a_node
        }]
    );
}

/// A confirmation counts only for the channel whose funding it is, and only the first
/// time it is reported.
#[test]
fn a_confirmation_counts_for_its_own_funding_only_and_once() {
    let (mut a, mut b, first, first_funding) = funded_unconfirmed();
    let (second, _) = fund_with(&mut a, &mut b, 500_000, 9);
    let phase = |n: &Node, id: &ChannelId| n.channel_handler().channel(id).map(|c| c.phase());
    for n in [&mut a, &mut b] {
        n.channel_handler_mut().transaction_confirmed(&first_funding, 101);
        n.channel_handler_mut().best_block_updated(102);
        // Reported again a block later: the depth still counts from 101.
        n.channel_handler_mut().transaction_confirmed(&first_funding, 102);
        n.channel_handler_mut().best_block_updated(103);
    }
    pump(&mut a, &mut b, LINK);
    assert_eq!(phase(&a, &first), Some(ChannelPhase::Normal));
    assert_ne!(
        phase(&a, &second),
        Some(ChannelPhase::Normal),
        "its funding never confirmed"
    );
}

/// Chain data is the user's: a funding confirmed near the last `u32` height reaches its
/// depth (3) at the last height, counted without overflowing.
#[test]
fn a_funding_confirmed_near_the_last_height_becomes_ready_without_overflowing() {
    let (mut a, mut b, channel_id, funding) = funded_unconfirmed();
    both_see(&mut a, &mut b, &funding, u32::MAX - 2, u32::MAX - 1);
    pump(&mut a, &mut b, LINK);
    assert_eq!(events(&mut b), vec![], "two confirmations are not three");
    for n in [&mut a, &mut b] {
        n.channel_handler_mut().best_block_updated(u32::MAX);
    }
    pump(&mut a, &mut b, LINK);
    let a_node = a.node_id();
    assert_eq!(
        events(&mut b),
        vec![Event::ChannelReady {
            channel_id,
            counterparty_node_id: a_node
        }]
    );
}

/// A confirmation reported at the last `u32` height is one confirmation deep: the depth
/// it needs lies past the last height, and it must not wrap around to "deep enough".
#[test]
fn a_confirmation_at_the_last_height_never_wraps_to_deep_enough() {
    let (mut a, mut b, channel_id, funding) = funded_unconfirmed();
    both_see(&mut a, &mut b, &funding, u32::MAX, u32::MAX);
    pump(&mut a, &mut b, LINK);
    assert_eq!(events(&mut b), vec![]);
    assert_ne!(
        a.channel_handler().channel(&channel_id).map(|c| c.phase()),
        Some(ChannelPhase::Normal)
    );
}

/// A payment's final expiry is the tip plus `final_cltv_expiry_delta`; past the last
/// block height it is refused, not wrapped to a small (already expired) height.
#[test]
fn a_payment_whose_expiry_passes_the_last_height_is_refused() {
    let (mut a, mut b, _) = connected_channel();
    for n in [&mut a, &mut b] {
        n.channel_handler_mut().best_block_updated(u32::MAX - 1);
    }
    pump(&mut a, &mut b, LINK);
    let b_id = b.node_id();
    let (hash, secret) = b.channel_handler_mut().create_inbound_payment(None);
    let refused = a
        .channel_handler_mut()
        .send_payment(b_id, hash, secret, 10_000, MIN_FINAL_CLTV_EXPIRY_DELTA);
    assert!(matches!(refused, Err(ApiError::Channel(_))), "{refused:?}");
    assert!(a.take_outbound(LINK).is_empty(), "no HTLC offered");
}

/// A node whose manager asks `minimum_depth` confirmations of the fundings it accepts.
fn node_asking_depth(seed: u8, minimum_depth: u32) -> Node {
    let config = ChannelManagerConfig {
        minimum_depth,
        ..ChannelManagerConfig::new(regtest(), sim::node::REGTEST_FEERATE_PER_KW)
    };
    node_with_config([seed; 32], [seed; 32], config, false)
}

/// BOLT 2: the funder waits for the depth the fundee asked in `accept_channel` before it
/// sends `channel_ready`, even where it would ask less itself.
#[test]
fn the_funder_waits_for_the_depth_its_peer_asked() {
    let (mut a, mut b) = (node(1), node_asking_depth(2, 6));
    connect(&mut a, &mut b, LINK);
    let (channel_id, funding) = fund(&mut a, &mut b);
    for best_height in 103..=105 {
        both_see(&mut a, &mut b, &funding, 101, best_height);
        pump(&mut a, &mut b, LINK);
        assert_eq!(
            b.channel_handler().channel(&channel_id).map(|c| c.phase()),
            Some(ChannelPhase::AwaitingChannelReady {
                sent: false,
                received: false
            }),
            "at depth {}",
            best_height - 100
        );
    }
    for n in [&mut a, &mut b] {
        n.channel_handler_mut().best_block_updated(106);
    }
    pump(&mut a, &mut b, LINK);
    for n in [&a, &b] {
        assert_eq!(
            n.channel_handler().channel(&channel_id).map(|c| c.phase()),
            Some(ChannelPhase::Normal)
        );
    }
}

/// BOLT 2 lets the funder fail a channel whose `minimum_depth` is unreasonably large: it
/// does, past two weeks of blocks (when a fundee forgets a funding it never saw).
#[test]
fn an_unreasonably_large_minimum_depth_fails_the_channel() {
    for (minimum_depth, accepted) in [(2016, true), (2017, false)] {
        let (mut a, mut b) = (node(1), node_asking_depth(2, minimum_depth));
        connect(&mut a, &mut b, LINK);
        let b_id = b.node_id();
        a.channel_handler_mut()
            .open_channel(b_id, 1_000_000, 0)
            .expect("peer connected");
        pump(&mut a, &mut b, LINK);
        let got = events(&mut a);
        assert_eq!(
            matches!(got.first(), Some(Event::FundingGenerationReady { .. })),
            accepted,
            "minimum_depth {minimum_depth}: {got:?}"
        );
        assert_eq!(a.channel_handler().channel_ids().is_empty(), !accepted);
    }
}

/// BOLT 2: a fundee that never sees the funding confirm forgets the channel after 2016
/// blocks (nothing of its own is at stake), counted from the block it signed at and
/// across a restart; the funder, whose coins the funding spends, never does.
#[test]
fn a_fundee_forgets_a_funding_unseen_for_2016_blocks() {
    let (mut a, b, channel_id, _) = funded_unconfirmed();
    let signed_at = START_HEIGHT;
    let monitors = b.channel_handler().persister().monitors.clone();
    let (mut b, mismatches) = restart(&b, 2, &monitors);
    assert!(mismatches.is_empty(), "{mismatches:?}");
    b.channel_handler_mut().best_block_updated(signed_at + 2015);
    assert!(
        b.channel_handler().channel(&channel_id).is_some(),
        "kept up to 2015 blocks"
    );
    let (mut b, _) = restart(&b, 2, &monitors);
    b.channel_handler_mut().best_block_updated(signed_at + 2016);
    assert!(
        b.channel_handler().channel(&channel_id).is_none(),
        "forgotten at 2016 blocks"
    );
    let closed = events(&mut b);
    assert!(
        matches!(closed.as_slice(), [Event::ChannelClosed { channel_id: id, reason }] if *id == channel_id && reason.contains("2016")),
        "{closed:?}"
    );
    assert!(b.channel_handler().broadcaster().transactions.is_empty());
    a.channel_handler_mut().best_block_updated(signed_at + 10_000);
    assert_eq!(
        a.channel_handler().channel(&channel_id).map(|c| c.phase()),
        Some(ChannelPhase::AwaitingChannelReady {
            sent: false,
            received: false
        }),
        "the funder waits for its own funding"
    );
}

/// The final HTLC carries the payee's `min_final_cltv_expiry_delta` (BOLT 11 `c`, which
/// BOLT 4's final-node check enforces) plus blocks for transit, and never less than the
/// payer's own `final_cltv_expiry_delta`: a payee asking more than our default (another
/// implementation asks 42) is paid, not refused.
#[test]
fn a_payment_expires_no_sooner_than_the_payee_asks() {
    use lightning::chan::ledger::Side;
    use lightning::chan::manager::payments::FINAL_CLTV_TRANSIT_BLOCKS;
    let default_delta = ChannelManagerConfig::new(regtest(), sim::node::REGTEST_FEERATE_PER_KW).final_cltv_expiry_delta;
    for payee_asks in [MIN_FINAL_CLTV_EXPIRY_DELTA, 42, 144] {
        let (mut a, mut b, channel_id) = connected_channel();
        let tip = 110;
        for n in [&mut a, &mut b] {
            n.channel_handler_mut().best_block_updated(tip);
        }
        let b_id = b.node_id();
        let (hash, secret) = b.channel_handler_mut().create_inbound_payment(None);
        a.channel_handler_mut()
            .send_payment(b_id, hash, secret, 10_000, payee_asks)
            .expect("a usable channel");
        pump(&mut a, &mut b, LINK);
        let view = b.channel_handler().channel(&channel_id).expect("open").holder_view();
        let (_, htlc) = view
            .htlcs
            .iter()
            .find(|((offerer, _), _)| *offerer == Side::Counterparty)
            .expect("the HTLC arrived");
        let expected = tip + (payee_asks + FINAL_CLTV_TRANSIT_BLOCKS).max(default_delta);
        assert_eq!(htlc.cltv_expiry, expected, "payee asks {payee_asks}");
        assert!(htlc.cltv_expiry >= tip + payee_asks);
    }
}
