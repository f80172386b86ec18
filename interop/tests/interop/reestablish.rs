//! Disconnections and restarts with LDK: cut after every message of an HTLC's dance,
//! either node funding, either paying; `update_fee` from either side, also across a
//! cut; our node restarting mid-payment. Every payment must resolve, the channel must
//! stay open and carry the next payment.

use interop::harness::{Pair, Side};

use crate::common::*;
use crate::payments::pair_at;

/// Messages an HTLC's whole dance takes: add, two commitment rounds, the fulfill and
/// two more, with room to spare; cuts past the end are quiet connections.
const DANCE_MESSAGES: usize = 14;

fn reconnect(pair: &mut Pair, dialler: Side) {
    pair.disconnect();
    pair.connect(dialler);
    pair.deliver_all();
}

#[test]
fn a_cut_after_every_message_of_an_htlc_dance_loses_nothing() {
    for funder in [Side::Ours, Side::Ldk] {
        for payer in [Side::Ours, Side::Ldk] {
            for cut_after in 0..=DANCE_MESSAGES {
                let (mut pair, _) = pair_at(2_500, funder);
                let payment = start_payment(&mut pair, payer, 30_000_000).expect("sent");
                let delivered = pair.deliver_some(cut_after);
                // The funder redials, as a node with a channel to keep would.
                reconnect(&mut pair, funder);
                let case = format!("funder {funder:?}, payer {payer:?}, cut after {delivered} messages");
                // An HTLC not yet committed when the line dropped is forgotten by both
                // (BOLT 2): LDK's payer then retries nothing (no retries asked) and reports
                // it failed; ours tells its user likewise. Either way, resolved.
                let resolved = outcome(&pair, payer, &payment);
                assert_ne!(resolved, Outcome::Pending, "{case}");
                // Once the payee holds the add and a commitment with it, it is committed
                // and paid.
                if delivered >= 2 {
                    assert_eq!(resolved, Outcome::Sent, "{case}");
                }
                assert_eq!(closures(&pair), Vec::<String>::new(), "{case}");
                pay(&mut pair, payer, 10_000_000);
                pay(&mut pair, payer.other(), 10_000_000);
            }
        }
    }
}

/// `update_fee` from the funder, whichever node that is, taken by the other; and cut
/// after every message of the fee's dance, then completed on reconnection.
#[test]
fn update_fee_from_either_funder_also_across_a_cut() {
    for funder in [Side::Ours, Side::Ldk] {
        for cut_after in [None, Some(0), Some(1), Some(2), Some(3), Some(4)] {
            let (mut pair, channel_id) = pair_at(2_500, funder);
            let new_feerate = 5_000;
            pair.ldk.set_feerate(new_feerate);
            pair.ours.manager_mut().feerate_updated(new_feerate);
            // LDK moves its channels to its estimate at a timer tick.
            pair.timer_tick();
            if let Some(messages) = cut_after {
                pair.deliver_some(messages);
                reconnect(&mut pair, funder);
                // LDK resends a fee update it had not got committed at its next tick.
                pair.timer_tick();
            }
            pair.deliver_all();
            let case = format!("funder {funder:?}, cut after {cut_after:?}");
            let ours = pair.ours.manager().channel(&channel_id).expect("open");
            assert_eq!(ours.holder_view().feerate_per_kw, new_feerate, "{case}");
            assert_eq!(ours.counterparty_view().feerate_per_kw, new_feerate, "{case}");
            let ldk_feerate = pair.ldk_channel(&channel_id).expect("open").feerate_sat_per_1000_weight;
            assert_eq!(ldk_feerate, Some(new_feerate), "{case}");
            pay(&mut pair, Side::Ours, 10_000_000);
            pay(&mut pair, Side::Ldk, 10_000_000);
            assert_eq!(closures(&pair), Vec::<String>::new(), "{case}");
        }
    }
}

/// Our node crashes at every point of a payment's dance (either way) and restarts from
/// what it saved after the last message it handled (its manager) and its durable
/// monitors; whatever it had queued for LDK is lost with the connection. It reconnects,
/// the payment resolves and the channel goes on.
#[test]
fn our_node_restarting_mid_payment_loses_nothing() {
    for payer in [Side::Ours, Side::Ldk] {
        for crash_after in 0..=DANCE_MESSAGES {
            let (mut pair, channel_id) = pair_at(2_500, Side::Ours);
            let payment = start_payment(&mut pair, payer, 30_000_000).expect("sent");
            pair.deliver_some(crash_after);
            let saved = pair.ours.manager().encode();
            let case = format!("payer {payer:?}, crash after {crash_after} messages");
            pair.disconnect();
            let height = pair.chain.height;
            let mismatched = pair.ours.restart(Some(saved), height);
            assert_eq!(mismatched, Vec::new(), "{case}: the channel matches its monitor");
            pair.connect(Side::Ours);
            pair.deliver_all();
            // A preimage our restarted node learned again, or an HTLC it must offer again:
            // everything resolves once both sides have been through reestablish.
            assert_ne!(outcome(&pair, payer, &payment), Outcome::Pending, "{case}");
            assert!(pair.ours.manager().channel(&channel_id).is_some(), "{case}");
            assert_eq!(closures(&pair), Vec::<String>::new(), "{case}");
            pay(&mut pair, Side::Ours, 10_000_000);
            pay(&mut pair, Side::Ldk, 10_000_000);
        }
    }
}
