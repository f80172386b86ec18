//! Disconnection at every point of the commitment dance, then `channel_reestablish` and
//! retransmission; and a node that lost data stopping without broadcasting.

use lightning::chan::channel::ChannelError;
use tests::channel_pair::dance::{self, finish, start, step, Kind};
use tests::channel_pair::*;

#[test]
fn the_dance_runs_without_disconnection() {
    let mut pair = start(Kind::Fulfill);
    let mut delivered = 0;
    while step(&mut pair, Kind::Fulfill) {
        delivered += 1;
    }
    assert_eq!(
        delivered,
        dance::messages(Kind::Fulfill),
        "add, 2x(cs, raa), fulfill, 2x(cs, raa)"
    );
    finish(&mut pair, Kind::Fulfill);
}

#[test]
fn a_disconnect_before_and_after_every_message_recovers() {
    for kind in dance::ALL {
        for delivered_before_disconnect in 0..=dance::messages(kind) {
            for lose_in_flight in [true, false] {
                let mut pair = start(kind);
                for _ in 0..delivered_before_disconnect {
                    step(&mut pair, kind);
                }
                if !lose_in_flight {
                    // Let one more message land first: a disconnect right after it.
                    step(&mut pair, kind);
                }
                pair.disconnect();
                pair.reconnect()
                    .unwrap_or_else(|e| panic!("{kind:?}: reconnect after {delivered_before_disconnect}: {e}"));
                finish(&mut pair, kind);
            }
        }
    }
}

#[test]
fn two_disconnects_in_a_row_recover() {
    for delivered in [1, 3, 6] {
        let mut pair = start(Kind::Fulfill);
        for _ in 0..delivered {
            step(&mut pair, Kind::Fulfill);
        }
        pair.disconnect();
        pair.reconnect().expect("first reconnect");
        step(&mut pair, Kind::Fulfill);
        pair.disconnect();
        pair.reconnect().expect("second reconnect");
        finish(&mut pair, Kind::Fulfill);
    }
}

#[test]
fn a_disconnect_with_a_paused_monitor_recovers_once_it_completes() {
    for kind in dance::ALL {
        for paused in 0..2 {
            for delivered in 0..dance::messages(kind) {
                let mut pair = start(kind);
                pair.nodes[paused].persist_mode = PersistMode::InProgress;
                for _ in 0..delivered {
                    step(&mut pair, kind);
                }
                pair.disconnect();
                pair.reconnect().expect("reconnect");
                pair.nodes[paused].persist_mode = PersistMode::Completed;
                pair.complete_all(paused);
                finish(&mut pair, kind);
            }
        }
    }
}

#[test]
fn a_node_restored_from_stale_state_learns_it_and_does_not_broadcast() {
    let mut pair = start(Kind::Fulfill);
    for _ in 0..3 {
        step(&mut pair, Kind::Fulfill);
    }
    let stale_b = pair.nodes[1].channel.clone();
    // B goes on to revoke its commitment 1 (step 10): the stale copy is still at 1.
    for _ in 0..7 {
        step(&mut pair, Kind::Fulfill);
    }
    pair.disconnect();
    pair.nodes[1].channel = stale_b;
    pair.nodes[1].channel.peer_disconnected();
    let a_reestablish = pair.nodes[0].channel.channel_reestablish_message().expect("message");
    let result = pair.nodes[1].channel.channel_reestablish(&a_reestablish);
    assert!(matches!(result, Err(ChannelError::DataLoss(_))), "{result:?}");
}

#[test]
fn a_peer_out_of_step_fails_the_channel() {
    let mut pair = start(Kind::Fulfill);
    for _ in 0..3 {
        step(&mut pair, Kind::Fulfill);
    }
    let stale_b = pair.nodes[1].channel.clone();
    for _ in 0..5 {
        step(&mut pair, Kind::Fulfill);
    }
    pair.disconnect();
    pair.nodes[1].channel = stale_b;
    pair.nodes[1].channel.peer_disconnected();
    // The stale node forgot signing A's commitments: the numbers do not line up.
    let a_reestablish = pair.nodes[0].channel.channel_reestablish_message().expect("message");
    let result = pair.nodes[1].channel.channel_reestablish(&a_reestablish);
    assert!(matches!(result, Err(ChannelError::Close(_))), "{result:?}");
}

/// A channel knows whether its peer is connected and reestablished.
#[test]
fn a_channel_knows_when_its_peer_is_away() {
    let mut pair = open_pair(0);
    assert!(pair.nodes.iter().all(|n| n.channel.is_connected()));
    pair.disconnect();
    assert!(pair.nodes.iter().all(|n| !n.channel.is_connected()));
    pair.reconnect().expect("reestablished");
    pair.settle();
    assert!(pair.nodes.iter().all(|n| n.channel.is_connected()));
}

/// An HTLC added while the previous commitment awaits its revocation keeps its onion when
/// that revocation arrives: the add is still ours to retransmit if the connection drops
/// before the peer has it.
#[test]
fn an_add_sent_while_awaiting_a_revocation_is_retransmitted_with_its_onion() {
    use lightning::wire::Message;

    let mut pair = open_pair(0);
    let add = |pair: &mut Pair, n: u8| {
        let add = pair.nodes[0]
            .channel
            .send_htlc(1_000_000 * u64::from(n), preimage(n).1, 800_000, onion())
            .expect("add");
        pair.send(0, Message::UpdateAddHtlc(Box::new(add)));
    };
    add(&mut pair, 1);
    pair.commit(0);
    // Node 1 gets the first add and its commitment_signed, and revokes.
    assert!(pair.deliver(1).expect("add") && pair.deliver(1).expect("commitment_signed"));
    add(&mut pair, 2);
    // The revocation reaches node 0 after it sent the second add.
    assert!(pair.deliver(0).expect("revoke_and_ack"));
    pair.commit(0);
    // The connection drops before node 1 has the second add and its commitment.
    pair.disconnect();
    pair.reconnect().expect("the add is retransmitted with its onion");
    pair.settle();
    assert_eq!(pair.nodes[1].channel.holder_view().htlcs.len(), 2);
}
