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
