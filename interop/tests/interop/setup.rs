//! Connecting and opening, either way.

use interop::harness::{Pair, Side};

use crate::common::*;

#[test]
fn handshake_and_init_either_way_then_pings() {
    for initiator in [Side::Ours, Side::Ldk] {
        let mut pair = Pair::new();
        pair.connect(initiator);
        // Pings both ways over a few ticks keep the connection up.
        let before = pair.transcript.len();
        for _ in 0..4 {
            pair.timer_tick();
            pair.deliver_all();
        }
        assert!(pair.is_connected(), "{initiator:?} dialled: still connected");
        let carried = &pair.transcript[before..];
        for receiver in [Side::Ours, Side::Ldk] {
            let count = carried.iter().filter(|(to, _)| *to == receiver).count();
            assert!(count >= 2, "{receiver:?} got pings and pongs: {count} messages");
        }
    }
}

#[test]
fn channels_open_either_way_with_and_without_push_and_carry_payments() {
    for funder in [Side::Ours, Side::Ldk] {
        for push_msat in [0, 300_000_000] {
            let mut pair = Pair::new();
            pair.connect(funder.other());
            let _channel_id = pair.open_channel(funder, 1_000_000, push_msat);
            pay(&mut pair, funder, 50_000_000);
            pay(&mut pair, funder.other(), 5_000_000);
            assert_eq!(closures(&pair), Vec::<String>::new());
        }
    }
}

/// Why the fee estimate has no default: a channel opened at the relay floor is refused
/// by a peer whose estimate is realistic (LDK takes no less than half its estimate),
/// and one opened at our estimate is taken.
#[test]
fn a_channel_at_the_relay_floor_is_refused_by_a_realistic_peer() {
    use ldk::util::config::UserConfig;
    use lightning::chan::manager::ChannelManagerConfig;
    use sim::node::regtest;

    let mut pair = Pair::with_configs(ChannelManagerConfig::new(regtest(), 253), UserConfig::default());
    pair.ldk.set_feerate(2_500);
    pair.connect(Side::Ours);
    let ldk_id = pair.ldk.node_id();
    pair.ours
        .manager_mut()
        .open_channel(ldk_id, 1_000_000, 0)
        .expect("sent");
    pair.deliver_all();
    let closed = closures(&pair);
    assert!(
        closed.iter().any(|c| c.starts_with("ours:") && c.contains("feerate")),
        "refused for its feerate: {closed:?}"
    );
    assert!(pair.ours.manager().channel_ids().is_empty());

    pair.ours.manager_mut().feerate_updated(2_500);
    pair.open_channel(Side::Ours, 1_000_000, 0);
}
