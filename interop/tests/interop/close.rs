//! Cooperative close with LDK: by either side, on either side's channel, with the
//! fundee's balance around both nodes' dust limits (ours 546 sat, LDK's 354), with and
//! without an HTLC in flight. None may end in a force close, and a close we fund pays
//! the fee our estimate asks, not what the peer may pick from our range.

use interop::harness::{Pair, Side, FEERATE_PER_KW};
use ldk::events::{ClosureReason, Event as LdkEvent};
use lightning::chan::channel::ChannelPhase;
use lightning::wire::ChannelId;

use crate::common::*;

const FUNDING_SATOSHIS: u64 = 1_000_000;

/// The fee our estimate asks for a closing transaction with two P2WPKH outputs (both
/// nodes close to P2WPKH): 426 weight units for version, locktime, the funding input and
/// its witness with two 73-byte signatures, and 4 × 31 for each output.
fn estimate_fee_satoshis() -> u64 {
    u64::from(FEERATE_PER_KW) * (426 + 2 * 4 * (8 + 1 + 22)) / 1000
}

/// Closes `channel_id` with `closer` starting it, mines the closing transaction and
/// checks both ends closed cooperatively. The closing transaction.
fn close_cooperatively(pair: &mut Pair, closer: Side, channel_id: &ChannelId) -> bitcoin::Transaction {
    pair.start_close(closer, channel_id).expect("the close starts");
    pair.deliver_all();
    pair.mine_blocks(1);
    let closed = closures(pair);
    let ldk_reason = pair.ldk.events.iter().find_map(|e| match e {
        LdkEvent::ChannelClosed { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert!(
        matches!(
            ldk_reason,
            Some(
                ClosureReason::LocallyInitiatedCooperativeClosure
                    | ClosureReason::CounterpartyInitiatedCooperativeClosure
            )
        ),
        "LDK closed cooperatively: {closed:?}"
    );
    assert!(
        closed.iter().any(|c| c == "ours: closed cooperatively"),
        "our node closed cooperatively: {closed:?}"
    );
    assert_eq!(
        pair.ours.manager().channel(channel_id).map(|c| c.phase()),
        Some(ChannelPhase::Closed)
    );
    let tx = pair.mined_spend_of(channel_id).expect("a closing transaction mined");
    assert_eq!(
        tx.lock_time,
        bitcoin::absolute::LockTime::ZERO,
        "a close, not a commitment"
    );
    tx
}

fn fee_of(pair: &Pair, tx: &bitcoin::Transaction) -> u64 {
    let input = pair
        .mined_value(&tx.input[0].previous_output)
        .expect("spends the funding");
    input - tx.output.iter().map(|o| o.value.to_sat()).sum::<u64>()
}

/// The fundee's balance at each side of both dust limits, closed by either node, on a
/// channel either node funded: always cooperative, the fundee's output there exactly
/// when it reaches the dust limit its own node applies, and a close we fund paying what
/// our estimate asks.
#[test]
fn closes_by_either_side_around_both_dust_limits_stay_cooperative() {
    let mut figures = Vec::new();
    for funder in [Side::Ours, Side::Ldk] {
        for fundee_sat in [300, 354, 355, 400, 545, 546, 600] {
            for closer in [Side::Ours, Side::Ldk] {
                let mut pair = Pair::new();
                pair.connect(Side::Ours);
                let channel_id = pair.open_channel(funder, FUNDING_SATOSHIS, fundee_sat * 1000);
                let tx = close_cooperatively(&mut pair, closer, &channel_id);
                let fee = fee_of(&pair, &tx);
                let fundee_output = tx.output.iter().any(|o| o.value.to_sat() == fundee_sat);
                // The fundee's output is there exactly when it is above LDK's dust limit
                // (354; LDK leaves out an output at its limit too): as LDK's fundee, the
                // close we sign keeps what LDK builds; as LDK's funder, LDK signs what it
                // builds and we take that variant, though our own limit is 546.
                let fundee_keeps = fundee_sat > 354;
                assert_eq!(
                    fundee_output, fundee_keeps,
                    "funder {funder:?}, fundee at {fundee_sat} sat, closed by {closer:?}: {tx:?}"
                );
                if funder == Side::Ours {
                    // The estimate's fee, and a fundee's output below the dust limit.
                    let dropped_sat = if fundee_output { 0 } else { fundee_sat };
                    assert_eq!(
                        fee,
                        estimate_fee_satoshis() + dropped_sat,
                        "we pay what the estimate asks"
                    );
                }
                figures.push(format!(
                    "funder {funder:?} fundee {fundee_sat} sat closer {closer:?}: fee {fee} sat, {} outputs",
                    tx.output.len()
                ));
            }
        }
    }
    println!("{}", figures.join("\n"));
}

/// The figure the issue asks for: a 1,000,000 sat channel we fund, closed at 2,500
/// sat/kW, pays 1,685 sat (the estimate's fee), not the top of LDK's range (LDK as
/// fundee takes the highest fee both ranges allow).
#[test]
fn a_close_we_fund_pays_the_estimates_fee() {
    let mut pair = Pair::new();
    pair.connect(Side::Ldk);
    let channel_id = pair.open_channel(Side::Ours, FUNDING_SATOSHIS, 400_000_000);
    let tx = close_cooperatively(&mut pair, Side::Ldk, &channel_id);
    let fee = fee_of(&pair, &tx);
    assert_eq!(fee, 1_685);
    assert_eq!(fee, estimate_fee_satoshis());
    println!("closing fee for a {FUNDING_SATOSHIS} sat channel at {FEERATE_PER_KW} sat/kW: {fee} sat");
}

/// A close started with an HTLC in flight waits for it: the HTLC is resolved, then the
/// channel closes cooperatively, whichever side starts and whichever side pays. (LDK
/// fails back an HTLC to it that is committed after a `shutdown`; BOLT 2 lets it
/// settle either way.)
#[test]
fn a_close_with_an_htlc_in_flight_settles_it_first() {
    for funder in [Side::Ours, Side::Ldk] {
        for payer in [Side::Ours, Side::Ldk] {
            for closer in [Side::Ours, Side::Ldk] {
                let mut pair = Pair::new();
                pair.connect(Side::Ours);
                let channel_id = pair.open_channel(funder, FUNDING_SATOSHIS, 500_000_000);
                let payment = start_payment(&mut pair, payer, 20_000_000).expect("sent");
                // The add and its commitment reach the payee, nothing more.
                pair.deliver_one(payer.other());
                pair.deliver_one(payer.other());
                start_close_mid_dance(&mut pair, closer, &channel_id);
                close_cooperatively_after_delivery(&mut pair, &channel_id);
                assert_ne!(
                    outcome(&pair, payer, &payment),
                    Outcome::Pending,
                    "funder {funder:?}, payer {payer:?}, closer {closer:?}"
                );
            }
        }
    }
}

/// `closer` starts the close as soon as it takes the command: LDK refuses while an HTLC
/// it received is still being committed, so messages go one at a time until it takes it.
fn start_close_mid_dance(pair: &mut Pair, closer: Side, channel_id: &ChannelId) {
    for _ in 0..20 {
        match pair.start_close(closer, channel_id) {
            Ok(()) => {
                let channel = pair.ours.manager().channel(channel_id).expect("open");
                let in_flight = channel.holder_view().htlcs.len() + channel.counterparty_view().htlcs.len();
                assert!(in_flight > 0, "the close starts with the HTLC still in flight");
                return;
            }
            Err(why) => {
                assert!(why.contains("pending HTLCs"), "{why}");
                let delivered = pair.deliver_one(Side::Ours) || pair.deliver_one(Side::Ldk);
                assert!(delivered, "nothing left to deliver and still refused: {why}");
            }
        }
    }
    panic!("{closer:?} never took the close");
}

fn close_cooperatively_after_delivery(pair: &mut Pair, channel_id: &ChannelId) {
    pair.deliver_all();
    pair.mine_blocks(1);
    let closed = closures(pair);
    assert!(closed.iter().any(|c| c == "ours: closed cooperatively"), "{closed:?}");
    let tx = pair.mined_spend_of(channel_id).expect("mined");
    assert_eq!(tx.lock_time, bitcoin::absolute::LockTime::ZERO, "a close: {closed:?}");
}
