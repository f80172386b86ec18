//! Claims the payee makes when it cannot send the fulfill at once: its peer disconnected,
//! or itself restarted after taking the `PaymentClaimable` event.

use lightning::events::Event;
use tests::node_pair::*;

use lightning::wire::{ChannelId, PaymentHash};

use super::node_e2e::{balances, connected_channel, start_payment, LINK};

/// A channel from `a` to `b`, a payment of 7,000 sat from `a` claimable at `b` (which
/// took the event), and the connection dropped.
fn claimable_then_disconnected() -> (Node, Node, ChannelId, PaymentHash) {
    let (mut a, mut b, channel_id) = connected_channel();
    let hash = start_payment(&mut a, &mut b, 7_000_000, None);
    pump(&mut a, &mut b, LINK);
    assert!(events(&mut b)
        .iter()
        .any(|e| matches!(e, Event::PaymentClaimable { .. })));
    disconnect(&mut a, &mut b, LINK);
    (a, b, channel_id, hash)
}

/// A payee that claims while its peer is disconnected still gets paid: the fulfill goes
/// out once the channel is reestablished, and survives a restart in between. (Found by
/// the simulator once payees held HTLCs: the claim was dropped with the connection and
/// the HTLC left to expire.)
#[test]
fn a_claim_made_while_disconnected_is_fulfilled_on_reconnection() {
    for restart_before_reconnecting in [false, true] {
        let (mut a, mut b, channel_id, hash) = claimable_then_disconnected();
        let preimage = b.channel_handler().payment_preimage(&hash).expect("ours");
        b.channel_handler_mut().claim_payment(preimage).expect("claimable");
        if restart_before_reconnecting {
            let monitors = b.channel_handler().persister().monitors.clone();
            let (restarted, mismatches) = restart(&b, 2, &monitors);
            assert!(mismatches.is_empty(), "{mismatches:?}");
            b = restarted;
        }
        connect(&mut a, &mut b, LINK);
        pump(&mut a, &mut b, LINK);
        let sent = Outcome::Sent(hash, preimage);
        assert!(
            outcomes(&events(&mut a)).contains(&sent),
            "restart {restart_before_reconnecting}"
        );
        assert_eq!(balances(&a, &channel_id), (993_000_000, 7_000_000));
    }
}

/// A payee that took the `PaymentClaimable` event and crashed before claiming finds the
/// payment in `claimable_payments` after its restart, and claiming it then pays.
#[test]
fn a_payment_claimable_before_a_crash_is_listed_after_it() {
    let (mut a, b, _, hash) = claimable_then_disconnected();
    let monitors = b.channel_handler().persister().monitors.clone();
    let (mut b, _) = restart(&b, 2, &monitors);
    assert_eq!(b.channel_handler().claimable_payments(), vec![(hash, 7_000_000)]);
    let preimage = b.channel_handler().payment_preimage(&hash).expect("ours");
    b.channel_handler_mut().claim_payment(preimage).expect("claimable");
    assert!(b.channel_handler().claimable_payments().is_empty(), "claimed");
    connect(&mut a, &mut b, LINK);
    pump(&mut a, &mut b, LINK);
    assert!(events(&mut a).iter().any(|e| matches!(e, Event::PaymentSent { .. })));
}
