//! Every BOLT 2 limit on the peer's HTLCs: a peer that breaks one fails the channel, and
//! our own sends that would break the peer's limits are refused with the channel intact.

use lightning::chan::channel::{Cause, ChannelError, ChannelLimits};
use lightning::chan::ledger::Side;
use lightning::wire::{Message, UpdateAddHtlc};
use tests::channel_pair::*;

/// An `update_add_htlc` as node 0 would send it, built by hand so node 0's own checks
/// do not stop it.
fn raw_add(pair: &Pair, id: u64, amount_msat: u64) -> UpdateAddHtlc {
    UpdateAddHtlc {
        channel_id: pair.nodes[0].channel.channel_id(),
        id,
        amount_msat,
        payment_hash: preimage(id as u8).1,
        cltv_expiry: 800_000,
        onion_routing_packet: onion(),
        tlvs: Default::default(),
    }
}

fn limits(f: impl FnOnce(&mut ChannelLimits)) -> ChannelLimits {
    let mut limits = ChannelLimits::default_for(FUNDING_SATOSHIS);
    f(&mut limits);
    limits
}

#[test]
fn more_htlcs_than_max_accepted_htlcs() {
    let b_limits = limits(|l| l.max_accepted_htlcs = 2);
    let mut pair = open_pair_with(0, ChannelLimits::default_for(FUNDING_SATOSHIS), b_limits);
    for id in 0..2 {
        pair.nodes[1]
            .channel
            .update_add_htlc(&raw_add(&pair, id, 1_000_000))
            .expect("within the limit");
    }
    let third = raw_add(&pair, 2, 1_000_000);
    assert!(matches!(
        pair.nodes[1].channel.update_add_htlc(&third),
        Err(ChannelError::Close(_))
    ));
    // Node 0 refuses to send the third itself.
    let mut pair = open_pair_with(0, ChannelLimits::default_for(FUNDING_SATOSHIS), b_limits);
    for n in 0..2 {
        let add = pair.nodes[0]
            .channel
            .send_htlc(1_000_000, preimage(n).1, 800_000, onion())
            .expect("fits");
        pair.send(0, Message::UpdateAddHtlc(Box::new(add)));
    }
    let refused = pair.nodes[0]
        .channel
        .send_htlc(1_000_000, preimage(3).1, 800_000, onion());
    assert!(matches!(refused, Err(ChannelError::Ignore(_))));
    pair.settle();
}

/// The onion of an HTLC the channel refuses is never made; one the channel takes is made
/// once, and a failure to make it refuses the HTLC with the channel untouched.
#[test]
fn an_onion_is_made_only_for_an_htlc_the_channel_takes() {
    let b_limits = limits(|l| l.max_accepted_htlcs = 1);
    let mut pair = open_pair_with(0, ChannelLimits::default_for(FUNDING_SATOSHIS), b_limits);
    let mut made = 0;
    let failed = pair.nodes[0]
        .channel
        .send_htlc_with(1_000_000, preimage(0).1, 800_000, || {
            made += 1;
            Err(ChannelError::Ignore("no onion".into()))
        });
    assert!(matches!(failed, Err(ChannelError::Ignore(reason)) if reason.mentions("no onion")));
    assert_eq!(
        pair.nodes[0].channel.ledger().next_htlc_id(Side::Holder),
        0,
        "untouched"
    );
    let add = pair.nodes[0]
        .channel
        .send_htlc_with(1_000_000, preimage(0).1, 800_000, || {
            made += 1;
            Ok(onion())
        })
        .expect("fits");
    assert_eq!(add.onion_routing_packet, onion());
    let refused = pair.nodes[0]
        .channel
        .send_htlc_with(1_000_000, preimage(1).1, 800_000, || {
            made += 1;
            Ok(onion())
        });
    assert!(matches!(refused, Err(ChannelError::Ignore(_))));
    assert_eq!(made, 2, "one failed attempt and one onion, none for the refused HTLC");
    pair.send(0, Message::UpdateAddHtlc(Box::new(add)));
    pair.settle();
}

#[test]
fn more_in_flight_than_max_htlc_value_in_flight() {
    let b_limits = limits(|l| l.max_htlc_value_in_flight_msat = 10_000_000);
    let mut pair = open_pair_with(0, ChannelLimits::default_for(FUNDING_SATOSHIS), b_limits);
    pair.nodes[1]
        .channel
        .update_add_htlc(&raw_add(&pair, 0, 6_000_000))
        .expect("within the cap");
    let over = raw_add(&pair, 1, 6_000_000);
    // The cause is a type a caller matches, not a phrase.
    assert_eq!(
        pair.nodes[1].channel.update_add_htlc(&over),
        Err(ChannelError::Close(Cause::AboveInFlightCap))
    );
}

/// A channel whose peer is gone, or which is not open, says so as a type: what a router
/// needs to skip it.
#[test]
fn a_channel_without_its_peer_refuses_as_disconnected() {
    let mut pair = open_pair_with(
        0,
        ChannelLimits::default_for(FUNDING_SATOSHIS),
        ChannelLimits::default_for(FUNDING_SATOSHIS),
    );
    pair.nodes[0].channel.peer_disconnected();
    let refused = pair.nodes[0].channel.send_htlc(5_000, preimage(1).1, 800_000, onion());
    assert_eq!(refused.err().map(|e| e.cause().clone()), Some(Cause::PeerDisconnected));
}

#[test]
fn an_htlc_below_the_minimum() {
    let b_limits = limits(|l| l.htlc_minimum_msat = 5_000);
    let mut pair = open_pair_with(0, ChannelLimits::default_for(FUNDING_SATOSHIS), b_limits);
    let small = raw_add(&pair, 0, 4_999);
    assert_eq!(
        pair.nodes[1].channel.update_add_htlc(&small),
        Err(ChannelError::Close(Cause::BelowHtlcMinimum))
    );
    let refused = pair.nodes[0].channel.send_htlc(4_999, preimage(1).1, 800_000, onion());
    assert!(matches!(refused, Err(ChannelError::Ignore(Cause::BelowHtlcMinimum))));
    // The minimum itself is fine, both ways.
    let mut pair = open_pair_with(0, ChannelLimits::default_for(FUNDING_SATOSHIS), b_limits);
    let at_minimum = raw_add(&pair, 0, 5_000);
    assert_eq!(pair.nodes[1].channel.update_add_htlc(&at_minimum), Ok(()));
    assert!(pair.nodes[0]
        .channel
        .send_htlc(5_000, preimage(1).1, 800_000, onion())
        .is_ok());
}

#[test]
fn an_htlc_eating_into_the_reserve() {
    // B demands a 100 000 sat reserve of A; A holds 1 000 000 sat less the fee.
    let b_limits = limits(|l| l.channel_reserve_satoshis = 100_000);
    let mut pair = open_pair_with(0, ChannelLimits::default_for(FUNDING_SATOSHIS), b_limits);
    let too_much = raw_add(&pair, 0, 899_500_000);
    assert!(matches!(
        pair.nodes[1].channel.update_add_htlc(&too_much),
        Err(ChannelError::Close(_))
    ));
    let mut pair = open_pair_with(0, ChannelLimits::default_for(FUNDING_SATOSHIS), b_limits);
    let fits = raw_add(&pair, 0, 850_000_000);
    assert_eq!(pair.nodes[1].channel.update_add_htlc(&fits), Ok(()));
}

#[test]
fn a_fee_update_the_funder_cannot_afford() {
    let mut pair = open_pair(0);
    // The fundee may never change the fee; the funder may not price itself out.
    let refused = pair.nodes[0].channel.send_update_fee(100_000_000);
    assert!(matches!(refused, Err(ChannelError::Ignore(_))));
    let fee = lightning::wire::UpdateFee {
        channel_id: pair.nodes[0].channel.channel_id(),
        feerate_per_kw: 100_000_000,
        extension: Default::default(),
    };
    assert!(matches!(
        pair.nodes[1].channel.update_fee(&fee),
        Err(ChannelError::Close(_))
    ));
    let low = lightning::wire::UpdateFee {
        feerate_per_kw: 252,
        ..fee.clone()
    };
    assert!(matches!(
        pair.nodes[1].channel.update_fee(&low),
        Err(ChannelError::Close(_))
    ));
    // The relay floor itself (253 sat/kw) is fine.
    let floor = lightning::wire::UpdateFee {
        feerate_per_kw: 253,
        ..fee
    };
    assert_eq!(pair.nodes[1].channel.update_fee(&floor), Ok(()));
}

#[test]
fn hostile_amounts_and_counters_fail_the_channel_without_panicking() {
    let mut pair = open_pair(0);
    let huge = raw_add(&pair, 0, u64::MAX);
    assert!(matches!(
        pair.nodes[1].channel.update_add_htlc(&huge),
        Err(ChannelError::Close(_))
    ));
    let mut pair = open_pair(0);
    let mut reestablish = pair.nodes[0].channel.channel_reestablish_message().expect("message");
    pair.disconnect();
    reestablish.next_revocation_number = u64::MAX;
    assert!(matches!(
        pair.nodes[1].channel.channel_reestablish(&reestablish),
        Err(ChannelError::Close(_))
    ));
    reestablish.next_revocation_number = 0;
    reestablish.next_commitment_number = u64::MAX;
    assert!(matches!(
        pair.nodes[1].channel.channel_reestablish(&reestablish),
        Err(ChannelError::Close(_))
    ));
}

#[test]
fn huge_htlcs_under_an_unbounded_in_flight_cap_fail_the_channel_without_panicking() {
    let b_limits = limits(|l| l.max_htlc_value_in_flight_msat = u64::MAX);
    let mut pair = open_pair_with(0, ChannelLimits::default_for(FUNDING_SATOSHIS), b_limits);
    let first = raw_add(&pair, 0, u64::MAX / 2 + 1);
    assert!(matches!(
        pair.nodes[1].channel.update_add_htlc(&first),
        Err(ChannelError::Close(_))
    ));
    let mut pair = open_pair_with(0, ChannelLimits::default_for(FUNDING_SATOSHIS), b_limits);
    pair.nodes[1]
        .channel
        .update_add_htlc(&raw_add(&pair, 0, 1_000_000))
        .expect("small");
    let second = raw_add(&pair, 1, u64::MAX - 10);
    assert!(matches!(
        pair.nodes[1].channel.update_add_htlc(&second),
        Err(ChannelError::Close(_))
    ));
}

/// The largest HTLC `from` may offer now, by its own checks (found on a copy).
fn largest_affordable(pair: &Pair, from: usize) -> u64 {
    let (mut low, mut high) = (1u64, FUNDING_SATOSHIS * 1000);
    while low < high {
        let mid = low + (high - low).div_ceil(2);
        let mut copy = pair.nodes[from].channel.clone();
        if copy.send_htlc(mid, preimage(200).1, 800_000, onion()).is_ok() {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    low
}

/// Both sides add HTLCs at once: the funder offers all it can afford by what it knows,
/// while the fundee's own adds (each one more output for the funder to pay for) are
/// still on the wire. Neither may take the other's honest add for a violation: the
/// receiver judges an add by the commitment least favourable to its sender that the
/// sender could have known about.
#[test]
fn concurrent_adds_from_both_sides_are_not_violations() {
    let mut pair = open_pair(300_000_000);
    // Node 0, the funder, leaves itself exactly enough for one more HTLC's fee.
    let amount_msat = largest_affordable(&pair, 0);
    let add = pair.nodes[0]
        .channel
        .send_htlc(amount_msat, preimage(1).1, 800_000, onion())
        .expect("affordable");
    pair.send(0, Message::UpdateAddHtlc(Box::new(add)));
    // Meanwhile node 1 offers three HTLCs of its own.
    for n in 2..5 {
        let add = pair.nodes[1]
            .channel
            .send_htlc(1_000_000, preimage(n).1, 800_000, onion())
            .expect("node 1 can pay");
        pair.send(1, Message::UpdateAddHtlc(Box::new(add)));
    }
    assert_eq!(pair.deliver(1).map_err(|e| e.to_string()), Ok(true), "node 0's add");
    for _ in 0..3 {
        assert_eq!(pair.deliver(0).map_err(|e| e.to_string()), Ok(true), "node 1's adds");
    }
    pair.settle();
    let view = pair.nodes[0].channel.holder_view();
    assert_eq!(view.htlcs.len(), 4);
    assert_eq!(view.total_msat(), FUNDING_SATOSHIS * 1000);
}

/// Limits no channel should accept, from either side's `open_channel` or
/// `accept_channel`, or from our own configuration; and the edges that are fine.
#[test]
fn unreasonable_channel_limits_are_refused() {
    use lightning::chan::channel::establish::OpenChannelParams;

    type Patch = fn(&mut ChannelLimits);
    let bad: [(&str, Patch); 5] = [
        ("no HTLCs at all", |l| l.max_accepted_htlcs = 0),
        ("more HTLCs than the protocol's 483", |l| l.max_accepted_htlcs = 484),
        ("a delay over two weeks", |l| l.to_self_delay = 2017),
        ("dust below 354 sat", |l| l.dust_limit_satoshis = 353),
        ("a reserve larger than the channel", |l| {
            l.channel_reserve_satoshis = FUNDING_SATOSHIS + 1
        }),
    ];
    let fine: [(&str, Patch); 4] = [
        ("one HTLC", |l| l.max_accepted_htlcs = 1),
        ("483 HTLCs", |l| l.max_accepted_htlcs = 483),
        ("two weeks of delay", |l| l.to_self_delay = 2016),
        ("dust at 354 sat", |l| l.dust_limit_satoshis = 354),
    ];
    let params = |limits: ChannelLimits| OpenChannelParams {
        limits,
        ..open_params(FUNDING_SATOSHIS, 0, 1000)
    };
    let good = ChannelLimits::default_for(FUNDING_SATOSHIS);
    let opened = |limits: ChannelLimits| Chan::new_outbound(signer_for(0), &params(limits));
    let accepted = |open: &lightning::wire::OpenChannel| {
        Chan::new_inbound(signer_for(1), chain(), good, 3, &committed_upfront(1), open)
    };
    for (what, patch) in bad {
        let mut limits = good;
        patch(&mut limits);
        assert!(
            matches!(opened(limits), Err(ChannelError::Close(_))),
            "our own open: {what}"
        );
        // The peer's open_channel carries it.
        let (_, mut open) = opened(good).expect("a good open");
        open.max_accepted_htlcs = limits.max_accepted_htlcs;
        open.to_self_delay = limits.to_self_delay;
        open.dust_limit_satoshis = limits.dust_limit_satoshis;
        open.channel_reserve_satoshis = limits.channel_reserve_satoshis;
        assert!(
            matches!(accepted(&open), Err(ChannelError::Close(_))),
            "their open: {what}"
        );
        // The peer's accept_channel carries it.
        let (mut funder, open) = opened(good).expect("a good open");
        let (_, mut accept) = accepted(&open).expect("a good accept");
        accept.max_accepted_htlcs = limits.max_accepted_htlcs;
        accept.to_self_delay = limits.to_self_delay;
        accept.dust_limit_satoshis = limits.dust_limit_satoshis;
        accept.channel_reserve_satoshis = limits.channel_reserve_satoshis;
        assert!(
            matches!(funder.accept_channel(&accept), Err(ChannelError::Close(_))),
            "their accept: {what}"
        );
    }
    for (what, patch) in fine {
        let mut limits = good;
        patch(&mut limits);
        let (_, open) = opened(limits).unwrap_or_else(|e| panic!("{what}: {e}"));
        accepted(&open).unwrap_or_else(|e| panic!("{what}: {e}"));
    }
}

/// Opening checks on amounts: a push larger than the channel, a funder that cannot pay
/// the first commitment's fee, and reserves below the other side's dust limit, each way.
#[test]
fn opening_amounts_and_reserves_are_checked() {
    let good = ChannelLimits::default_for(FUNDING_SATOSHIS);
    let params = |push_msat: u64, feerate_per_kw: u32| open_params(FUNDING_SATOSHIS, push_msat, feerate_per_kw);
    let refused = |push_msat, feerate_per_kw| {
        matches!(
            Chan::new_outbound(signer_for(0), &params(push_msat, feerate_per_kw)),
            Err(ChannelError::Close(_))
        )
    };
    assert!(refused(FUNDING_SATOSHIS * 1000 + 1, 1000), "a push over the channel");
    // A push of the whole channel passes the push check; the fee check refuses it.
    let whole = Chan::new_outbound(signer_for(0), &params(FUNDING_SATOSHIS * 1000, 1000)).err();
    let whole = whole.map(|e| e.to_string());
    assert!(
        whole
            .as_deref()
            .is_some_and(|e| e.contains("cannot pay the initial commitment fee")),
        "{whole:?}"
    );
    // At 10,000 sat/kw the first commitment (724 WU) costs 7,240 sat.
    assert!(
        refused((FUNDING_SATOSHIS - 7_239) * 1000, 10_000),
        "the fee is not covered"
    );
    assert!(
        !refused((FUNDING_SATOSHIS - 7_240) * 1000, 10_000),
        "the fee is exactly covered"
    );

    let accept_with = |patch: fn(&mut lightning::wire::AcceptChannel)| {
        let (mut funder, open) = Chan::new_outbound(signer_for(0), &params(0, 1000)).expect("open");
        let (_, mut accept) =
            Chan::new_inbound(signer_for(1), chain(), good, 3, &committed_upfront(1), &open).expect("accept");
        patch(&mut accept);
        funder.accept_channel(&accept)
    };
    assert!(accept_with(|_| {}).is_ok());
    // Their reserve below our dust limit (546).
    assert!(matches!(
        accept_with(|a| a.channel_reserve_satoshis = 545),
        Err(ChannelError::Close(_))
    ));
    // Our reserve (10,000) below their dust limit.
    assert!(matches!(
        accept_with(|a| a.dust_limit_satoshis = 10_001),
        Err(ChannelError::Close(_))
    ));
}

/// `update_fail_malformed_htlc` must carry the BADONION bit, on sending and receiving;
/// with it, the HTLC fails back to its offerer.
#[test]
fn a_malformed_failure_needs_the_badonion_bit() {
    use lightning::onion::errors::{BADONION, INVALID_ONION_HMAC};
    use lightning::wire::UpdateFailMalformedHtlc;

    let mut pair = open_pair(0);
    let id = pair.pay(0, 5_000_000, 1);
    let without_bit = INVALID_ONION_HMAC & !BADONION;
    assert!(matches!(
        pair.nodes[1].channel.fail_malformed_htlc(id, [3; 32], without_bit),
        Err(ChannelError::Ignore(_))
    ));
    let forged = UpdateFailMalformedHtlc {
        channel_id: pair.nodes[0].channel.channel_id(),
        id,
        sha256_of_onion: [3; 32],
        failure_code: without_bit,
        extension: Default::default(),
    };
    let mut copy = pair.nodes[0].channel.clone();
    assert!(matches!(
        copy.update_fail_malformed_htlc(&forged),
        Err(ChannelError::Close(_))
    ));
    let fail = pair.nodes[1]
        .channel
        .fail_malformed_htlc(id, [3; 32], INVALID_ONION_HMAC)
        .expect("with the bit");
    pair.send(1, Message::UpdateFailMalformedHtlc(fail));
    pair.settle();
    assert_eq!(pair.balances(), (FUNDING_SATOSHIS * 1000, 0), "the HTLC failed back");
}

/// Channels of 2^24 sat or more need `option_support_large_channel`, which this node does
/// not offer: the largest plain channel opens, one satoshi more does not.
#[test]
fn channels_of_two_to_the_24_satoshis_are_refused() {
    use lightning::chan::channel::establish::MAX_FUNDING_SATOSHIS_NO_LARGE;

    assert_eq!(MAX_FUNDING_SATOSHIS_NO_LARGE, 16_777_215);
    let open = |funding_satoshis: u64| {
        let params = open_params(funding_satoshis, 0, 1000);
        Chan::new_outbound(signer_for(0), &params).map(|_| ())
    };
    assert!(open(16_777_215).is_ok());
    assert!(matches!(open(16_777_216), Err(ChannelError::Close(_))));
    // The fundee takes the largest channel and refuses one satoshi more.
    let params = open_params(16_777_215, 0, 1000);
    let (_, mut open_message) = Chan::new_outbound(signer_for(0), &params).expect("open");
    let fundee_limits = ChannelLimits::default_for(16_777_215);
    let inbound = |open: &lightning::wire::OpenChannel| {
        Chan::new_inbound(signer_for(1), chain(), fundee_limits, 3, &committed_upfront(1), open).map(|_| ())
    };
    assert!(inbound(&open_message).is_ok());
    open_message.funding_satoshis += 1;
    assert!(matches!(inbound(&open_message), Err(ChannelError::Close(_))));
}

/// BOLT 2: the channel id is the funding txid with the output index XORed into its last
/// two bytes.
#[test]
fn a_channel_id_is_the_funding_txid_xor_the_output_index() {
    use lightning::bitcoin::hashes::Hash;
    use lightning::bitcoin::{OutPoint, Txid};
    use lightning::chan::channel::establish::channel_id_from_outpoint;

    let outpoint = OutPoint {
        txid: Txid::from_byte_array([0xff; 32]),
        vout: 0x0102,
    };
    let mut expected = [0xff; 32];
    expected[30] = 0xfe;
    expected[31] = 0xfd;
    assert_eq!(channel_id_from_outpoint(&outpoint).0, expected);
}

/// The edges of the opening checks: a reserve exactly at the other side's dust limit, or
/// a dust limit exactly at one's own reserve, is fine; a peer reusing our funding key, a push over the channel, and funding messages
/// for another channel are refused.
#[test]
fn opening_edges() {
    use lightning::bitcoin::hashes::Hash;
    use lightning::bitcoin::{OutPoint, Txid};

    use lightning::wire::ChannelId;

    let good = ChannelLimits::default_for(FUNDING_SATOSHIS);
    let params = open_params(FUNDING_SATOSHIS, 0, 1000);
    let (funder, open) = Chan::new_outbound(signer_for(0), &params).expect("open");
    // The channel type is exactly option_static_remotekey (bit 12), required.
    let channel_type = open.tlvs.channel_type.clone().expect("channel_type");
    assert_eq!(channel_type.set_bits().collect::<Vec<_>>(), vec![12]);
    let inbound = |open: &lightning::wire::OpenChannel| {
        Chan::new_inbound(signer_for(1), chain(), good, 3, &committed_upfront(1), open)
    };
    let (_, accept) = inbound(&open).expect("accept");
    let accept_with = |patch: &dyn Fn(&mut lightning::wire::AcceptChannel)| {
        let mut funder = funder.clone();
        let mut accept = accept.clone();
        patch(&mut accept);
        funder.accept_channel(&accept)
    };
    // Exactly at the other side's dust limit, each way (ours 546; our reserve 10,000).
    assert!(accept_with(&|a| a.channel_reserve_satoshis = 546).is_ok());
    assert!(accept_with(&|a| a.dust_limit_satoshis = 10_000).is_ok());
    // The fundee answering with the funder's own funding key.
    assert!(matches!(
        accept_with(&|a| a.funding_pubkey = open.funding_pubkey),
        Err(ChannelError::Close(_))
    ));

    // The funder offering a channel whose funding key is the fundee's own.
    let (_, fundee_accept) = inbound(&open).expect("accept");
    let mut reused = open.clone();
    reused.funding_pubkey = fundee_accept.funding_pubkey;
    assert!(matches!(inbound(&reused), Err(ChannelError::Close(_))));
    // The funder's dust limit may equal its own reserve (10,000), not exceed it.
    let mut dust_at_reserve = open.clone();
    dust_at_reserve.dust_limit_satoshis = open.channel_reserve_satoshis;
    assert!(inbound(&dust_at_reserve).is_ok());
    dust_at_reserve.dust_limit_satoshis += 1;
    assert!(matches!(inbound(&dust_at_reserve), Err(ChannelError::Close(_))));
    // A push of the whole channel is allowed by this check (the fee check then refuses a
    // funder left with nothing); one msat more is refused outright.
    let mut over = open.clone();
    over.push_msat = FUNDING_SATOSHIS * 1000;
    let refused = inbound(&over).err().map(|e| e.to_string());
    assert!(
        refused
            .as_deref()
            .is_some_and(|e| e.contains("cannot pay the initial commitment fee")),
        "{refused:?}"
    );
    over.push_msat = FUNDING_SATOSHIS * 1000 + 1;
    let refused = inbound(&over).err().map(|e| e.to_string());
    assert!(
        refused.as_deref().is_some_and(|e| e.contains("push_msat exceeds")),
        "{refused:?}"
    );

    // Funding messages naming another channel.
    let (mut fundee, accept) = inbound(&open).expect("accept");
    let mut funder = funder.clone();
    funder.accept_channel(&accept).expect("accepted");
    let outpoint = OutPoint {
        txid: Txid::from_byte_array([5; 32]),
        vout: 1,
    };
    let created = funder.funding_transaction_generated(outpoint).expect("funding_created");
    let mut stranger = created.clone();
    stranger.temporary_channel_id = ChannelId([1; 32]);
    assert!(matches!(
        fundee.clone().funding_created(&stranger),
        Err(ChannelError::Close(_))
    ));
    let signed = fundee.funding_created(&created).expect("funding_signed");
    let mut stranger = signed.clone();
    stranger.channel_id = ChannelId([1; 32]);
    assert!(matches!(
        funder.clone().funding_signed(&stranger),
        Err(ChannelError::Close(_))
    ));
    assert!(funder.funding_signed(&signed).is_ok());
}

/// The HTLC limits hold at their exact edges: in flight up to the cap, and a balance down
/// to exactly the reserve plus the commitment fee (BOLT 3: 724 weight units plus 172 per
/// HTLC at 1,000 sat/kw, so 896 sat with one HTLC).
#[test]
fn htlc_limits_at_their_exact_edges() {
    let b_limits = limits(|l| l.max_htlc_value_in_flight_msat = 10_000_000);
    let mut pair = open_pair_with(0, ChannelLimits::default_for(FUNDING_SATOSHIS), b_limits);
    for (id, amount_msat) in [(0, 6_000_000), (1, 4_000_000)] {
        let add = raw_add(&pair, id, amount_msat);
        assert_eq!(pair.nodes[1].channel.update_add_htlc(&add), Ok(()), "HTLC {id}");
    }

    let b_limits = limits(|l| l.channel_reserve_satoshis = 100_000);
    let edge_msat = 1_000_000_000 - 100_000_000 - 896_000;
    let pair = open_pair_with(0, ChannelLimits::default_for(FUNDING_SATOSHIS), b_limits);
    let mut fundee = pair.nodes[1].channel.clone();
    assert_eq!(fundee.update_add_htlc(&raw_add(&pair, 0, edge_msat)), Ok(()));
    let mut fundee = pair.nodes[1].channel.clone();
    assert!(matches!(
        fundee.update_add_htlc(&raw_add(&pair, 0, edge_msat + 1)),
        Err(ChannelError::Close(_))
    ));
    assert_eq!(largest_affordable(&pair, 0), edge_msat);
}

/// The fundee refuses a channel where both sides would start at or below the reserve it
/// demands, counting the funder's balance after the first commitment's fee; one where
/// either starts above it is fine.
#[test]
fn a_channel_where_nobody_starts_above_the_reserve_is_refused() {
    let funding_satoshis = 20_000;
    // The funder keeps 15,100 sat and pays a 183-sat fee at 253 sat/kw: 14,917 sat left.
    let open_with_push = |push_msat: u64| {
        let params = open_params(funding_satoshis, push_msat, 253);
        Chan::new_outbound(signer_for(0), &params).expect("open").1
    };
    let accepted_with_reserve = |push_msat: u64, reserve_satoshis: u64| {
        let mut ours = ChannelLimits::default_for(funding_satoshis);
        ours.channel_reserve_satoshis = reserve_satoshis;
        Chan::new_inbound(
            signer_for(1),
            chain(),
            ours,
            3,
            &committed_upfront(1),
            &open_with_push(push_msat),
        )
        .map(|_| ())
    };
    let refused = accepted_with_reserve(4_900_000, 15_000).err().map(|e| e.to_string());
    assert!(
        refused
            .as_deref()
            .is_some_and(|e| e.contains("at or below the reserve")),
        "{refused:?}"
    );
    // The funder above the reserve after the fee, or the pushed side above it, is fine.
    assert_eq!(accepted_with_reserve(4_900_000, 14_916), Ok(()));
    assert_eq!(accepted_with_reserve(16_000_000, 15_000), Ok(()));
}

/// `accept_channel` comes once, for the channel we opened: a second one, or one naming
/// another temporary id, fails the channel. A reserve of the whole channel is allowed
/// (BOLT 2 refuses only one greater than the funding); one satoshi more is not.
#[test]
fn accept_channel_is_checked_against_the_open() {
    use lightning::wire::ChannelId;

    let params = open_params(FUNDING_SATOSHIS, 0, 1000);
    let (funder, open) = Chan::new_outbound(signer_for(0), &params).expect("open");
    let (_, accept) = Chan::new_inbound(
        signer_for(1),
        chain(),
        ChannelLimits::default_for(FUNDING_SATOSHIS),
        3,
        &committed_upfront(1),
        &open,
    )
    .expect("accept");
    let accept_with = |patch: &dyn Fn(&mut lightning::wire::AcceptChannel)| {
        let mut funder = funder.clone();
        let mut accept = accept.clone();
        patch(&mut accept);
        funder.accept_channel(&accept)
    };
    assert!(matches!(
        accept_with(&|a| a.temporary_channel_id = ChannelId([8; 32])),
        Err(ChannelError::Close(_))
    ));
    assert!(accept_with(&|a| a.channel_reserve_satoshis = FUNDING_SATOSHIS).is_ok());
    assert!(matches!(
        accept_with(&|a| a.channel_reserve_satoshis = FUNDING_SATOSHIS + 1),
        Err(ChannelError::Close(_))
    ));
    let mut twice = funder.clone();
    twice.accept_channel(&accept).expect("the first");
    assert!(matches!(twice.accept_channel(&accept), Err(ChannelError::Close(_))));
}

/// `max_sendable_msat` is the edge of what the channel takes: that much is offered and
/// accepted by the peer, one msat more is refused, for the funder (which also keeps the
/// fee of one more HTLC) and the fundee, under an in-flight cap and without one.
#[test]
fn the_most_a_channel_can_send_is_sent_and_one_msat_more_is_refused() {
    for (cap_msat, sender) in [(u64::MAX, 0), (u64::MAX, 1), (300_000_000, 0)] {
        let capped = limits(|l| l.max_htlc_value_in_flight_msat = cap_msat.min(l.max_htlc_value_in_flight_msat));
        let mut pair = open_pair_with(400_000_000, capped, capped);
        let most_msat = pair.nodes[sender]
            .channel
            .max_sendable_msat()
            .expect("both ends hold funds");
        let mut copy = pair.nodes[sender].channel.clone();
        assert!(
            matches!(
                copy.send_htlc(most_msat + 1, preimage(1).1, 800_000, onion()),
                Err(ChannelError::Ignore(_))
            ),
            "one msat past {most_msat} (cap {cap_msat}, sender {sender})"
        );
        let add = pair.nodes[sender]
            .channel
            .send_htlc(most_msat, preimage(1).1, 800_000, onion())
            .expect("the most it can send");
        pair.send(sender, Message::UpdateAddHtlc(Box::new(add)));
        pair.settle();
        assert_eq!(
            pair.nodes[sender].channel.max_sendable_msat(),
            None,
            "nothing more fits"
        );
        if cap_msat != u64::MAX {
            assert_eq!(most_msat, cap_msat, "the cap binds first");
        }
    }
}
