//! Exposure to trimmed HTLCs (BOLT 2, `max_dust_htlc_exposure_msat`): HTLCs too small
//! for an output become fees if a commitment goes on chain, so each node bounds their
//! value per commitment. The sender does not offer one past its bound; the receiver
//! fails one past its own, first come first served, and never reveals its preimage.

use lightning::chan::manager::payments::MIN_FINAL_CLTV_EXPIRY_DELTA;
use lightning::chan::manager::{ApiError, ChannelManagerConfig};
use lightning::events::Event;
use lightning::onion::errors::TEMPORARY_NODE_FAILURE;
use tests::node_pair::*;

use super::node_e2e::{open, start_payment, LINK};

/// Far below any dust threshold (100 sat).
const DUST_MSAT: u64 = 100_000;
/// Above every dust threshold at the default feerate (5,000 sat).
const NOT_DUST_MSAT: u64 = 5_000_000;
/// Exactly two dust HTLCs of [`DUST_MSAT`]: the bound itself is allowed.
const TIGHT_MSAT: u64 = 200_000;

fn node_bounding_dust(seed: u8, max_dust_htlc_exposure_msat: u64, feerate_per_kw: u32) -> Node {
    let config = ChannelManagerConfig {
        max_dust_htlc_exposure_msat,
        feerate_per_kw,
        ..ChannelManagerConfig::new(regtest(), sim::node::REGTEST_FEERATE_PER_KW)
    };
    node_with_config([seed; 32], [seed; 32], config, false)
}

/// Connected nodes with an open channel from `a` to `b` at the default feerate, each
/// bounding its dust exposure as given.
fn pair(a_max_msat: u64, b_max_msat: u64) -> (Node, Node) {
    pair_at(
        a_max_msat,
        b_max_msat,
        ChannelManagerConfig::new(regtest(), sim::node::REGTEST_FEERATE_PER_KW).feerate_per_kw,
    )
}

/// [`pair`] with the channel's commitments at `feerate_per_kw`.
fn pair_at(a_max_msat: u64, b_max_msat: u64, feerate_per_kw: u32) -> (Node, Node) {
    let (mut a, mut b) = (
        node_bounding_dust(1, a_max_msat, feerate_per_kw),
        node_bounding_dust(2, b_max_msat, feerate_per_kw),
    );
    connect(&mut a, &mut b, LINK);
    open(&mut a, &mut b);
    (a, b)
}

/// `a` refuses at once to pay `b` `amount_msat`, for dust exposure.
fn assert_refused_for_dust(a: &mut Node, b: &mut Node, amount_msat: u64) {
    let b_id = b.node_id();
    let (hash, secret) = b.channel_handler_mut().create_inbound_payment(None);
    let refused = a
        .channel_handler_mut()
        .send_payment(b_id, hash, secret, amount_msat, MIN_FINAL_CLTV_EXPIRY_DELTA);
    assert!(
        matches!(&refused, Err(ApiError::Channel(why)) if why.cause().mentions("dust exposure")),
        "{refused:?}"
    );
}

#[test]
fn the_sender_offers_no_dust_htlc_past_its_bound_and_other_htlcs_still_go() {
    let default_max =
        ChannelManagerConfig::new(regtest(), sim::node::REGTEST_FEERATE_PER_KW).max_dust_htlc_exposure_msat;
    let (mut a, mut b) = pair(TIGHT_MSAT, default_max);
    for _ in 0..2 {
        start_payment(&mut a, &mut b, DUST_MSAT, None);
        pump(&mut a, &mut b, LINK);
    }
    assert_refused_for_dust(&mut a, &mut b, DUST_MSAT);
    assert!(a.take_outbound(LINK).is_empty(), "nothing offered");
    start_payment(&mut a, &mut b, NOT_DUST_MSAT, None);
    pump(&mut a, &mut b, LINK);
    let claimable = events(&mut b);
    assert_eq!(
        claimable
            .iter()
            .filter(|e| matches!(e, Event::PaymentClaimable { .. }))
            .count(),
        3,
        "{claimable:?}"
    );
}

#[test]
fn the_receiver_fails_dust_htlcs_past_its_bound_first_come_first_served() {
    let default_max =
        ChannelManagerConfig::new(regtest(), sim::node::REGTEST_FEERATE_PER_KW).max_dust_htlc_exposure_msat;
    let (mut a, mut b) = pair(default_max, TIGHT_MSAT);
    // All three are committed in one round: the first two fit, the third fails.
    let hashes: Vec<_> = (0..3).map(|_| start_payment(&mut a, &mut b, DUST_MSAT, None)).collect();
    pump(&mut a, &mut b, LINK);
    let claimable: Vec<_> = events(&mut b)
        .into_iter()
        .filter_map(|e| match e {
            Event::PaymentClaimable { payment_hash, .. } => Some(payment_hash),
            _ => None,
        })
        .collect();
    assert_eq!(claimable, hashes[..2]);
    assert!(b.channel_handler().payment_preimage(&hashes[2]).is_some(), "b knows it");
    let failed = events(&mut a);
    assert!(
        outcomes(&failed).contains(&Outcome::Failed(hashes[2], Some(TEMPORARY_NODE_FAILURE))),
        "{failed:?}"
    );
    assert!(
        !failed.iter().any(|e| matches!(e, Event::PaymentSent { .. })),
        "{failed:?}"
    );
    // A larger HTLC is no dust and arrives whatever the exposure.
    let large = start_payment(&mut a, &mut b, NOT_DUST_MSAT, None);
    pump(&mut a, &mut b, LINK);
    assert!(events(&mut b).contains(&Event::PaymentClaimable {
        payment_hash: large,
        amount_msat: NOT_DUST_MSAT
    }));
}

/// Trimming depends on the commitment's feerate (the second-stage fee comes out of the
/// HTLC): at 10,000 sat/kw an HTLC of 5,000 sat is dust too, and counts.
#[test]
fn a_higher_feerate_makes_larger_htlcs_dust() {
    let (mut a, mut b) = pair_at(TIGHT_MSAT, TIGHT_MSAT, 10_000);
    assert_refused_for_dust(&mut a, &mut b, NOT_DUST_MSAT);
    // Above every threshold at that feerate (20,000 sat): not dust, so it goes.
    start_payment(&mut a, &mut b, 20_000_000, None);
    pump(&mut a, &mut b, LINK);
    assert!(events(&mut b).iter().any(|e| matches!(
        e,
        Event::PaymentClaimable {
            amount_msat: 20_000_000,
            ..
        }
    )));
}

/// Each commitment trims with its own side's dust limit and, for the second-stage fee,
/// whether the HTLC is offered or received there. With the peer's dust limit at 5,000
/// sat and 1,000 sat/kw: an HTLC of 5,680 sat that we offer is trimmed on the peer's
/// commitment (below 5,000 + 703, the HTLC-success fee, as the peer receives it) and
/// counts past a 5,000-sat bound; one the peer offers is trimmed on its commitment
/// below 5,000 + 663 (its HTLC-timeout fee), so 5,670 sat is not and 5,650 sat is.
#[test]
fn each_commitment_trims_with_its_own_dust_limit_and_second_stage_fee() {
    use lightning::chan::channel::ChannelLimits;
    use lightning::chan::ledger::Side;
    use tests::channel_pair::{open_pair_with, FUNDING_SATOSHIS};

    let ours = ChannelLimits::default_for(FUNDING_SATOSHIS);
    let theirs = ChannelLimits {
        dust_limit_satoshis: 5_000,
        ..ours
    };
    let pair = open_pair_with(500_000_000, ours, theirs);
    let channel = &pair.nodes[0].channel;
    assert_eq!(channel.holder_view().feerate_per_kw, 1_000);
    let bound_msat = 5_000_000;
    assert!(channel.exceeds_dust_exposure(Side::Holder, 5_680_000, None, bound_msat));
    assert!(
        !channel.exceeds_dust_exposure(Side::Holder, 5_710_000, None, bound_msat),
        "no dust"
    );
    assert!(
        !channel.exceeds_dust_exposure(Side::Counterparty, 5_670_000, None, bound_msat),
        "no dust"
    );
    assert!(channel.exceeds_dust_exposure(Side::Counterparty, 5_650_000, None, bound_msat));

    // The mirror: our commitment, with the 5,000-sat limit, trims an HTLC we offer below
    // 5,000 + 663 sat, which the peer's commitment keeps as an output.
    let pair = open_pair_with(500_000_000, theirs, ours);
    let channel = &pair.nodes[0].channel;
    assert!(channel.exceeds_dust_exposure(Side::Holder, 5_650_000, None, bound_msat));
    assert!(
        !channel.exceeds_dust_exposure(Side::Holder, 5_670_000, None, bound_msat),
        "no dust"
    );
}
