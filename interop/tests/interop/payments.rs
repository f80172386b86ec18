//! Payments with LDK: both ways at and around every trim threshold at several feerates,
//! crossing payments, and the limits each side imposes refused locally and cleanly.

use interop::harness::{Pair, Side};
use ldk::util::config::UserConfig;
use lightning::chan::channel::Cause;
use lightning::chan::manager::{ApiError, ChannelManagerConfig};
use sim::node::regtest;

use crate::common::*;

/// BOLT 3's weights of the second-stage transactions (without anchors): what an HTLC
/// must pay for its output to be worth having.
const HTLC_TIMEOUT_WEIGHT: u64 = 663;
const HTLC_SUCCESS_WEIGHT: u64 = 703;
/// The nodes' dust limits: ours (`ChannelLimits::default_for`) and LDK's.
const OUR_DUST_LIMIT_SAT: u64 = 546;
const LDK_DUST_LIMIT_SAT: u64 = 354;

/// The amounts (sat) at which an HTLC stops being trimmed on some commitment, at
/// `feerate_per_kw`: offered and received, on each node's commitment.
fn trim_thresholds_sat(feerate_per_kw: u32) -> Vec<u64> {
    let fee = |weight: u64| u64::from(feerate_per_kw) * weight / 1000;
    let mut thresholds: Vec<u64> = [OUR_DUST_LIMIT_SAT, LDK_DUST_LIMIT_SAT]
        .into_iter()
        .flat_map(|dust| [dust + fee(HTLC_TIMEOUT_WEIGHT), dust + fee(HTLC_SUCCESS_WEIGHT)])
        .collect();
    thresholds.sort();
    thresholds.dedup();
    thresholds
}

/// A pair whose nodes both estimate `feerate_per_kw`, with a channel from `funder` of
/// 1,000,000 sat, half of it pushed, connected.
pub fn pair_at(feerate_per_kw: u32, funder: Side) -> (Pair, lightning::wire::ChannelId) {
    let mut pair = Pair::with_configs(
        ChannelManagerConfig::new(regtest(), feerate_per_kw),
        UserConfig::default(),
    );
    pair.connect(funder);
    let channel_id = pair.open_channel(funder, 1_000_000, 500_000_000);
    (pair, channel_id)
}

#[test]
fn payments_both_ways_at_and_around_every_trim_threshold() {
    for feerate_per_kw in [253, 2_500, 10_000] {
        for funder in [Side::Ours, Side::Ldk] {
            let (mut pair, channel_id) = pair_at(feerate_per_kw, funder);
            let commitment_feerate = pair
                .ours
                .manager()
                .channel(&channel_id)
                .expect("open")
                .holder_view()
                .feerate_per_kw;
            assert_eq!(commitment_feerate, feerate_per_kw);
            for threshold_sat in trim_thresholds_sat(feerate_per_kw) {
                for amount_sat in [threshold_sat - 1, threshold_sat, threshold_sat + 1] {
                    for payer in [Side::Ours, Side::Ldk] {
                        // A msat above the whole satoshi too: the fraction is never counted.
                        for extra_msat in [0, 999] {
                            pay(&mut pair, payer, amount_sat * 1000 + extra_msat);
                        }
                    }
                }
            }
            assert_eq!(
                closures(&pair),
                Vec::<String>::new(),
                "feerate {feerate_per_kw}, funder {funder:?}"
            );
        }
    }
}

/// Several HTLCs in flight at once, some trimmed and some not, both ways: every
/// commitment in between is signed and checked by the other implementation.
#[test]
fn crossing_payments_both_ways_settle() {
    for funder in [Side::Ours, Side::Ldk] {
        let (mut pair, _) = pair_at(2_500, funder);
        let mut payments = Vec::new();
        for (i, amount_msat) in [1_000_000, 2_500_000, 30_000_000, 2_200_000, 9_000_000]
            .into_iter()
            .enumerate()
        {
            let payer = if i % 2 == 0 { Side::Ours } else { Side::Ldk };
            payments.push((payer, start_payment(&mut pair, payer, amount_msat).expect("sent")));
            let other = start_payment(&mut pair, payer.other(), amount_msat + 1).expect("sent");
            payments.push((payer.other(), other));
            // Part of the dance before the next pair of payments starts.
            pair.deliver_some(3);
        }
        pair.deliver_all();
        for (payer, payment) in &payments {
            assert_eq!(outcome(&pair, *payer, payment), Outcome::Sent, "funder {funder:?}");
        }
        assert_eq!(closures(&pair), Vec::<String>::new());
    }
}

/// With the library's default configuration (only the fee estimate given), a payment
/// from our node reaches an LDK payee, which asks for more final CLTV than we would give
/// by default (42 blocks against our 40).
#[test]
fn a_payment_to_ldk_with_the_default_configuration() {
    let mut pair = Pair::new();
    assert_eq!(
        pair.ours.manager().channel_ids().len(),
        0,
        "a fresh node with ChannelManagerConfig::new(chain, estimate)"
    );
    pair.connect(Side::Ours);
    pair.open_channel(Side::Ours, 1_000_000, 0);
    let ldk_asks = u32::from(ldk::ln::channelmanager::MIN_FINAL_CLTV_EXPIRY_DELTA);
    let our_default = ChannelManagerConfig::new(regtest(), 2_500).final_cltv_expiry_delta;
    assert!(
        ldk_asks > our_default,
        "LDK asks {ldk_asks}, we give {our_default} unless asked"
    );
    pay(&mut pair, Side::Ours, 20_000_000);

    // The payment as it went before: the final CLTV our node gives unasked, which LDK
    // fails back.
    let (hash, secret) = pair
        .ldk
        .manager
        .create_inbound_payment(Some(1_000_000), 3600, None)
        .expect("an invoice");
    let ldk_id = pair.ldk.node_id();
    pair.ours
        .manager_mut()
        .send_payment(ldk_id, lightning::wire::PaymentHash(hash.0), secret.0, 1_000_000, 0)
        .expect("sent");
    pair.deliver_all();
    let payment = Payment { hash: hash.0 };
    assert_eq!(outcome(&pair, Side::Ours, &payment), Outcome::Failed);
    assert_eq!(closures(&pair), Vec::<String>::new(), "failed back, nothing closed");
}

/// What LDK demands of our HTLCs (at most 10% of the channel in flight, 50 HTLCs) and
/// what each side must keep (its reserve) are refused by the sender before anything is
/// sent, and the channel goes on.
#[test]
fn each_sides_limits_are_refused_locally() {
    // At the relay floor 1,000 sat HTLCs are above every trim threshold: fifty of them
    // stay inside both nodes' dust exposure bounds and LDK's in-flight cap.
    let (mut pair, channel_id) = pair_at(253, Side::Ours);
    let send = |pair: &mut Pair, amount_msat: u64| {
        let ldk_id = pair.ldk.node_id();
        let (hash, secret) = pair
            .ldk
            .manager
            .create_inbound_payment(Some(amount_msat), 3600, None)
            .expect("an invoice");
        let delta = u32::from(ldk::ln::channelmanager::MIN_FINAL_CLTV_EXPIRY_DELTA);
        pair.ours.manager_mut().send_payment(
            ldk_id,
            lightning::wire::PaymentHash(hash.0),
            secret.0,
            amount_msat,
            delta,
        )
    };
    // LDK takes at most 10% of the channel in flight from us.
    let in_flight_max_msat = 100_000_000;
    let refused = send(&mut pair, in_flight_max_msat + 1);
    assert!(
        matches!(&refused, Err(ApiError::Channel(e)) if e.cause() == &Cause::AboveInFlightCap),
        "{refused:?}"
    );
    assert_eq!(pair.waiting(Side::Ldk), 0, "nothing sent");
    // LDK accepts at most 50 HTLCs from us at once.
    for n in 0..50 {
        send(&mut pair, 1_000_000 + n).expect("within LDK's count");
    }
    let refused = send(&mut pair, 1_000_000);
    assert!(
        matches!(&refused, Err(ApiError::Channel(e)) if e.cause() == &Cause::TooManyHtlcs),
        "the 51st HTLC: {refused:?}"
    );
    pair.deliver_all();
    let channel = pair.ours.manager().channel(&channel_id).expect("open");
    assert!(channel.holder_view().htlcs.is_empty(), "all 50 settled");
    // Our reserve for LDK: 1% of the channel, 10,000 sat, stays with LDK. LDK holds
    // 550,000 sat less fees now; paying us more than it has above the reserve is refused.
    let ldk_outbound_msat = pair
        .ldk_channel(&channel_id)
        .expect("open")
        .next_outbound_htlc_limit_msat;
    assert!(start_payment(&mut pair, Side::Ldk, ldk_outbound_msat + 1).is_err());
    pay(&mut pair, Side::Ldk, ldk_outbound_msat);
    assert_eq!(closures(&pair), Vec::<String>::new());

    // And ours: on a channel LDK funded, pushing us 50,000 sat, we may not send below
    // the 10,000 sat reserve LDK asks of us.
    let mut pair = Pair::with_configs(ChannelManagerConfig::new(regtest(), 253), UserConfig::default());
    pair.connect(Side::Ldk);
    let channel_id = pair.open_channel(Side::Ldk, 1_000_000, 50_000_000);
    let our_view = pair.ours.manager().channel(&channel_id).expect("open").holder_view();
    assert_eq!(our_view.holder_balance_msat, 50_000_000);
    let refused = send(&mut pair, 40_000_001);
    assert!(
        matches!(&refused, Err(ApiError::Channel(e)) if e.cause() == &Cause::OffererCannotAfford),
        "below our reserve: {refused:?}"
    );
    assert_eq!(pair.waiting(Side::Ldk), 0, "nothing sent");
    pay(&mut pair, Side::Ours, 40_000_000);
    assert_eq!(closures(&pair), Vec::<String>::new());
}

/// LDK's limits of us are ours to keep, and ours of LDK are LDK's: a node of ours that
/// accepts at most 5 HTLCs gets at most 5 from LDK at once; LDK refuses a sixth before
/// sending anything, and sends it once one resolves. (3,000 sat each: LDK counts smaller
/// ones as dust at the feerate it buffers for.)
#[test]
fn ldk_keeps_to_the_htlc_count_we_accept() {
    let config = ChannelManagerConfig {
        max_accepted_htlcs: 5,
        ..ChannelManagerConfig::new(regtest(), 253)
    };
    let mut pair = Pair::with_configs(config, UserConfig::default());
    pair.connect(Side::Ours);
    let channel_id = pair.open_channel(Side::Ours, 1_000_000, 500_000_000);
    pair.auto_claim = false;
    let mut payments: Vec<Payment> = (0..5)
        .map(|n| start_payment(&mut pair, Side::Ldk, 3_000_000 + n).expect("within our count"))
        .collect();
    let refused = start_payment(&mut pair, Side::Ldk, 3_000_000);
    assert!(
        matches!(&refused, Err(why) if why.contains("RouteNotFound")),
        "the sixth: {:?}",
        refused.map(|p| p.hash)
    );
    pair.deliver_all();
    let offered_to_us = |pair: &Pair| {
        let channel = pair.ours.manager().channel(&channel_id).expect("open");
        channel.holder_view().htlcs.len()
    };
    assert_eq!(offered_to_us(&pair), 5, "LDK offers no more than we accept");
    // Claiming one frees a slot for the sixth.
    pair.auto_claim = true;
    let claimable: Vec<lightning::wire::PaymentHash> = pair
        .ours
        .events
        .iter()
        .filter_map(|e| match e {
            lightning::events::Event::PaymentClaimable { payment_hash, .. } => Some(*payment_hash),
            _ => None,
        })
        .collect();
    assert_eq!(claimable.len(), 5);
    for hash in claimable {
        let preimage = pair.ours.manager().payment_preimage(&hash).expect("ours");
        pair.ours.manager_mut().claim_payment(preimage).expect("claimable");
    }
    pair.deliver_all();
    payments.push(start_payment(&mut pair, Side::Ldk, 3_000_000).expect("room again"));
    pair.deliver_all();
    for payment in &payments {
        assert_eq!(outcome(&pair, Side::Ldk, payment), Outcome::Sent);
    }
    assert_eq!(closures(&pair), Vec::<String>::new());
}

/// The same case carries the same bytes every run: keys, time, fee estimates and
/// entropy are all fixed, on both sides.
#[test]
fn the_same_case_carries_the_same_bytes() {
    let run = || {
        let (mut pair, _) = pair_at(2_500, Side::Ldk);
        for (i, amount_msat) in [3_000_000, 45_000_000, 2_100_000].into_iter().enumerate() {
            let payer = if i % 2 == 0 { Side::Ours } else { Side::Ldk };
            start_payment(&mut pair, payer, amount_msat).expect("sent");
            pair.deliver_some(2);
        }
        pair.deliver_all();
        pair.transcript
    };
    let first = run();
    assert!(first.len() > 30, "a real exchange: {} messages", first.len());
    assert_eq!(first, run());
}
