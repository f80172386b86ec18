//! Reload from persisted state: either node restarts from its last saved channel and
//! monitor at every point of a payment's dance and the payment completes; a stale
//! monitor or a stale channel is detected and nothing revoked is signed or broadcast.

use lightning::chan::channel::persist::MonitorMismatch;
use lightning::chan::channel::{ChannelError, ChannelLimits, ChannelPhase};
use lightning::wire::ChannelId;
use tests::channel_pair::dance::{self, finish, start, step, Kind};
use tests::channel_pair::*;

#[test]
fn either_node_restarts_from_its_saved_state_at_every_point_and_finishes() {
    for kind in dance::ALL {
        for restarting in 0..2 {
            for delivered in 0..=dance::messages(kind) {
                let mut pair = start(kind);
                for _ in 0..delivered {
                    step(&mut pair, kind);
                }
                let saved = pair.save(restarting);
                pair.restart(restarting, &saved).expect("channel and monitor in sync");
                pair.reconnect()
                    .unwrap_or_else(|e| panic!("{kind:?}: node {restarting} after {delivered}: {e}"));
                finish(&mut pair, kind);
            }
        }
    }
}

#[test]
fn a_monitor_missing_an_update_is_detected_and_nothing_is_signed() {
    let mut pair = start(Kind::Fulfill);
    let early = pair.save(0);
    for _ in 0..4 {
        step(&mut pair, Kind::Fulfill);
    }
    let late = pair.save(0);
    // The channel from late, the monitor from early: updates the channel acted on are
    // missing from the monitor.
    let stale_monitor = Saved {
        channel: late.channel.clone(),
        monitor: early.monitor.clone(),
    };
    let mismatch = pair.restart(0, &stale_monitor);
    // The first update the monitor lacks is the one after its latest.
    let first_missing = pair.nodes[0].monitor.latest_update_id() + 1;
    assert_eq!(mismatch, Err(MonitorMismatch::MonitorBehind { first_missing }));
    let node = &mut pair.nodes[0].channel;
    assert_eq!(node.phase(), ChannelPhase::Failed);
    assert_eq!(node.send_commitment(), Ok(None));
    let b_reestablish = pair.nodes[1].channel.channel_reestablish_message().expect("message");
    assert!(matches!(
        pair.nodes[0].channel.channel_reestablish(&b_reestablish),
        Err(ChannelError::Close(_))
    ));
}

#[test]
fn a_channel_older_than_its_monitor_is_detected() {
    let mut pair = start(Kind::Fulfill);
    let early = pair.save(1);
    for _ in 0..4 {
        step(&mut pair, Kind::Fulfill);
    }
    let late = pair.save(1);
    let stale_channel = Saved {
        channel: early.channel.clone(),
        monitor: late.monitor.clone(),
    };
    let mismatch = pair.restart(1, &stale_channel);
    assert!(
        matches!(mismatch, Err(MonitorMismatch::ChannelBehind { .. })),
        "{mismatch:?}"
    );
    assert_eq!(pair.nodes[1].channel.phase(), ChannelPhase::Failed);
    // The monitor still holds the latest holder commitment to close from.
    let monitor = &pair.nodes[1].monitor;
    assert!(monitor.holder_commitment().is_some_and(|h| h.commitment_number >= 1));
}

#[test]
fn corrupt_or_truncated_channel_bytes_are_an_error() {
    let pair = start(Kind::Fulfill);
    let saved = pair.save(0);
    for cut in [0, 1, 10, saved.channel.len() / 2, saved.channel.len() - 1] {
        assert!(
            Chan::read(&saved.channel[..cut], signer_for(0)).is_err(),
            "cut at {cut}"
        );
    }
    let mut flipped = saved.channel.clone();
    flipped[1] = 0xff; // the phase tag
    assert!(Chan::read(&flipped, signer_for(0)).is_err());
    assert!(Chan::read(&saved.channel, signer_for(0)).is_ok());
}

/// Where a saved channel's monitor-update counter (the id its next update takes) is
/// written: after the one-byte awaiting-revoke flag (clear when settled), before the
/// one-byte last-sent tag (0 to 2) and the count of held onions.
fn monitor_update_counter_at(saved: &[u8], channel: &Chan) -> usize {
    let next_id = channel.latest_monitor_update_id() + 1;
    let counter_at = saved
        .windows(9)
        .enumerate()
        .filter(|(_, w)| w[0] == 0 && w[1..] == next_id.to_be_bytes())
        .map(|(i, _)| i + 1)
        .filter(|at| saved.get(at + 8).is_some_and(|tag| *tag <= 2))
        .collect::<Vec<_>>();
    assert_eq!(counter_at.len(), 1, "the counter is found once: {counter_at:?}");
    counter_at[0]
}

/// Where a saved channel's two commitment numbers are written, side by side, holder
/// first: the first place they occur (the ledger, written right after them, may repeat
/// them among its coverages).
fn commitment_numbers_at(saved: &[u8], channel: &Chan) -> usize {
    let numbers = [
        channel.holder_commitment_number().to_be_bytes(),
        channel.counterparty_commitment_number().to_be_bytes(),
    ]
    .concat();
    saved
        .windows(16)
        .position(|w| w == numbers.as_slice())
        .expect("the numbers are written")
}

/// `corrupt` is refused as a saved channel, for its counters.
fn assert_refused_for_counters(corrupt: &[u8], what: &str) {
    let refused = Chan::read(corrupt, signer_for(0)).err().map(|e| e.to_string());
    assert!(
        refused.as_deref().is_some_and(|e| e.contains("channel counters")),
        "{what}: {refused:?}"
    );
}

/// A saved channel whose monitor-update counter reads 0 (ids start at 1, so no channel
/// can have written it) is refused rather than trusted: the next update would reuse an
/// id the monitor has already applied.
#[test]
fn a_zero_monitor_update_counter_is_refused() {
    let mut pair = open_pair(0);
    pair.pay(0, 1_000_000, 1);
    let saved = pair.save(0);
    let at = monitor_update_counter_at(&saved.channel, &pair.nodes[0].channel);
    let mut zeroed = saved.channel.clone();
    zeroed[at..at + 8].fill(0);
    assert!(Chan::read(&saved.channel, signer_for(0)).is_ok());
    assert_refused_for_counters(&zeroed, "a zero counter");
}

/// A channel whose monitor-update ids have run out (only corrupt bytes put one there)
/// refuses the update it cannot number, a force close's included, instead of
/// overflowing, and is left as it was: it still writes bytes that read back.
#[test]
fn a_channel_out_of_monitor_update_ids_refuses_to_update() {
    let mut pair = open_pair(0);
    pair.pay(0, 1_000_000, 1);
    let saved = pair.save(0);
    let at = monitor_update_counter_at(&saved.channel, &pair.nodes[0].channel);
    let mut exhausted = saved.channel.clone();
    exhausted[at..at + 8].copy_from_slice(&u64::MAX.to_be_bytes());
    let mut channel = Chan::read(&exhausted, signer_for(0)).expect("a counter at the end of u64 reads");
    assert_eq!(channel.latest_monitor_update_id(), u64::MAX - 1);
    assert!(
        matches!(&channel.force_close(), Err(ChannelError::Close(why)) if why.mentions("monitor update ids")),
        "the force close is refused"
    );
    assert_eq!(
        channel.phase(),
        ChannelPhase::Normal,
        "the refused close changed nothing"
    );
    assert!(channel.take_monitor_updates().is_empty());
    assert_eq!(channel.encode_state(), exhausted);
}

/// Commitment numbers are 48 bits (BOLT 3): a saved channel with one beyond them is
/// refused, not left to fail when its secrets or points are derived.
#[test]
fn a_commitment_number_beyond_48_bits_is_refused() {
    let mut pair = open_pair(0);
    pair.pay(0, 1_000_000, 1);
    let saved = pair.save(0);
    let channel = &pair.nodes[0].channel;
    let numbers_at = commitment_numbers_at(&saved.channel, channel);
    let mut moved = saved.channel.clone();
    moved[numbers_at + 8..numbers_at + 16]
        .copy_from_slice(&(channel.counterparty_commitment_number() + 1).to_be_bytes());
    assert_eq!(
        Chan::read(&moved, signer_for(0)).map(|c| c.counterparty_commitment_number()),
        Ok(channel.counterparty_commitment_number() + 1),
        "the numbers are found"
    );
    for (which, number) in [(0, 1u64 << 48), (8, 1 << 48), (0, u64::MAX), (8, u64::MAX)] {
        let at = numbers_at + which;
        let mut corrupt = saved.channel.clone();
        corrupt[at..at + 8].copy_from_slice(&number.to_be_bytes());
        assert_refused_for_counters(&corrupt, &format!("number {number} at offset {which}"));
    }
}

/// The last commitment number (BOLT 3 gives them 48 bits) is the last a channel signs:
/// with an update still to commit, the next `commitment_signed` is refused and the
/// channel must close, instead of numbering a commitment past the end and writing bytes
/// it cannot read back. Only corrupt bytes put a channel there.
#[test]
fn a_channel_at_the_last_commitment_number_signs_no_more() {
    use lightning::chan::secrets::INITIAL_COMMITMENT_NUMBER;
    use lightning::sign::ChannelSigner;
    use lightning::wire::msgs::ChannelReestablish;

    let mut pair = open_pair(0);
    pair.pay(0, 1_000_000, 1);
    let (_, hash) = preimage(2);
    pair.nodes[0]
        .channel
        .send_htlc(2_000_000, hash, 800_000, onion())
        .expect("can pay");
    let saved = pair.save(0);
    let numbers_at = commitment_numbers_at(&saved.channel, &pair.nodes[0].channel);
    let mut at_the_end = saved.channel.clone();
    at_the_end[numbers_at + 8..numbers_at + 16].copy_from_slice(&INITIAL_COMMITMENT_NUMBER.to_be_bytes());
    let mut channel = Chan::read(&at_the_end, signer_for(0)).expect("the last number reads");
    assert_eq!(channel.counterparty_commitment_number(), INITIAL_COMMITMENT_NUMBER);

    // A peer in step: it expects the commitment after the last, and holds our secrets.
    let holder_number = channel.holder_commitment_number();
    let theirs = ChannelReestablish {
        channel_id: channel.channel_id(),
        next_commitment_number: INITIAL_COMMITMENT_NUMBER + 1,
        next_revocation_number: holder_number,
        your_last_per_commitment_secret: channel
            .signer()
            .clone()
            .release_commitment_secret(holder_number - 1)
            .expect("a revoked commitment's secret"),
        my_current_per_commitment_point: signer_for(1).pubkeys().funding_pubkey,
        tlvs: Default::default(),
    };
    channel.channel_reestablish(&theirs).expect("in step");
    assert!(
        channel.ledger().counterparty_commitment_outdated(),
        "an update waits to be committed"
    );
    assert!(
        matches!(&channel.send_commitment(), Err(ChannelError::Close(why)) if why.mentions("commitment numbers")),
        "the commitment after the last is refused"
    );
    assert_eq!(channel.counterparty_commitment_number(), INITIAL_COMMITMENT_NUMBER);
    assert!(Chan::read(&channel.encode_state(), signer_for(0)).is_ok());
}

mod corrupted {
    use super::*;
    use lightning::chain::ChannelMonitor;
    use lightning::chan::monitor_update::ChannelMonitorUpdate;
    use lightning::wire::Decode;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Flipped bytes anywhere in saved state never panic the readers.
        #[test]
        fn flipped_bytes_never_panic(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
            let mut pair = start(Kind::Fulfill);
            step(&mut pair, Kind::Fulfill);
            step(&mut pair, Kind::Fulfill);
            let saved = pair.save(0);
            let mut channel = saved.channel.clone();
            let mut monitor = saved.monitor.clone();
            for (index, value) in &flips {
                let i = index.index(channel.len());
                channel[i] ^= value | 1;
                let j = index.index(monitor.len());
                monitor[j] ^= value | 1;
            }
            let _ = Chan::read(&channel, signer_for(0));
            let _ = ChannelMonitor::decode_exact(&monitor);
            let _ = ChannelMonitorUpdate::decode_exact(&monitor);
        }
    }
}

/// A saved channel holds only a funding and limits that opening accepted: a funding of
/// 2^24 sat or more, a reserve beyond the channel, a dust limit below 354 or beyond the
/// other side's reserve, or an HTLC count of 0 is refused when read, not left to
/// overflow the first time an HTLC is checked against it.
#[test]
fn a_saved_channel_with_a_funding_or_limits_no_opening_accepts_is_refused() {
    use lightning::wire::Encode;
    let mut pair = open_pair(0);
    pair.pay(0, 1_000_000, 1);
    let saved = pair.save(0).channel;
    assert!(Chan::read(&saved, signer_for(0)).is_ok());
    let funding_at = saved
        .windows(8)
        .position(|w| w == FUNDING_SATOSHIS.to_be_bytes())
        .expect("the funding is written");
    let limits = ChannelLimits::default_for(FUNDING_SATOSHIS).encode_to_vec();
    // Holder limits, then the counterparty's (equal in this pair), after the outpoint.
    let holder_limits_at = funding_at + 8 + 1 + 32 + 4;
    for at in [holder_limits_at, holder_limits_at + limits.len()] {
        assert_eq!(saved[at..at + limits.len()], limits[..], "limits are found");
    }
    // Without option_support_large_channel (not offered) no channel exceeds 2^24 - 1 sat.
    for funding_satoshis in [1u64 << 24, u64::MAX / 1000 + 1, u64::MAX] {
        let mut corrupt = saved.clone();
        corrupt[funding_at..funding_at + 8].copy_from_slice(&funding_satoshis.to_be_bytes());
        let refused = Chan::read(&corrupt, signer_for(0)).err().map(|e| e.to_string());
        assert!(
            refused.as_deref().is_some_and(|e| e.contains("funding_satoshis")),
            "a funding of {funding_satoshis} sat: {refused:?}"
        );
    }
    let mut cases: Vec<(usize, Vec<u8>, String)> = Vec::new();
    for (side, at) in [
        ("holder", holder_limits_at),
        ("counterparty", holder_limits_at + limits.len()),
    ] {
        cases.push((at, 0u64.to_be_bytes().to_vec(), format!("{side} dust limit 0")));
        cases.push((
            at,
            u64::MAX.to_be_bytes().to_vec(),
            format!("{side} dust limit u64::MAX"),
        ));
        cases.push((
            at + 16,
            (FUNDING_SATOSHIS + 1).to_be_bytes().to_vec(),
            format!("{side} reserve beyond the channel"),
        ));
        cases.push((
            at + 16,
            u64::MAX.to_be_bytes().to_vec(),
            format!("{side} reserve u64::MAX"),
        ));
        cases.push((
            at + 34,
            0u16.to_be_bytes().to_vec(),
            format!("{side} max_accepted_htlcs 0"),
        ));
    }
    for (at, bytes, what) in cases {
        let mut corrupt = saved.clone();
        corrupt[at..at + bytes.len()].copy_from_slice(&bytes);
        let refused = Chan::read(&corrupt, signer_for(0)).err().map(|e| e.to_string());
        assert!(
            refused.as_deref().is_some_and(|e| e.contains("channel limits")),
            "{what}: {refused:?}"
        );
    }
}

/// The largest channel opening allows without `option_support_large_channel` (2^24 - 1
/// sat) reads back: the reader's bound on a funding is the opening's own.
#[test]
fn the_largest_channel_an_opening_allows_reads_back() {
    use lightning::chan::channel::establish::MAX_FUNDING_SATOSHIS_NO_LARGE;
    let params = open_params(MAX_FUNDING_SATOSHIS_NO_LARGE, 0, 1000);
    let (channel, _) = Chan::new_outbound(signer_for(0), &params).expect("the largest opening");
    assert_eq!(
        Chan::read(&channel.encode_state(), signer_for(0)).map(|c| c.funding_satoshis()),
        Ok(MAX_FUNDING_SATOSHIS_NO_LARGE)
    );
}

/// Node b of two channels from a to b, restarted with each channel's stored monitor put
/// under the other's id (a user restoring the wrong files); the mismatches it reports.
fn restart_with_swapped_monitors(
    b: &tests::node_pair::Node,
    first: ChannelId,
    second: ChannelId,
) -> (tests::node_pair::Node, Vec<(ChannelId, MonitorMismatch)>) {
    let mut monitors = b.channel_handler().persister().monitors.clone();
    let (first_monitor, second_monitor) = (monitors[&first].clone(), monitors[&second].clone());
    assert_eq!(
        first_monitor.latest_update_id(),
        second_monitor.latest_update_id(),
        "ids alone cannot tell them apart"
    );
    monitors.insert(first, second_monitor);
    monitors.insert(second, first_monitor);
    let (b, mut mismatches) = tests::node_pair::restart(b, 2, &monitors);
    mismatches.sort_by_key(|(id, _)| *id);
    (b, mismatches)
}

/// Each of `channels` failed at `b`'s restart as watched by another funding's monitor,
/// and nothing was broadcast.
fn assert_failed_as_other_funding(
    b: &mut tests::node_pair::Node,
    mismatches: &[(ChannelId, MonitorMismatch)],
    mut channels: Vec<ChannelId>,
) {
    use lightning::events::Event;
    channels.sort();
    assert_eq!(mismatches.iter().map(|(id, _)| *id).collect::<Vec<_>>(), channels);
    assert!(
        mismatches
            .iter()
            .all(|(_, m)| matches!(m, MonitorMismatch::OtherFunding { .. })),
        "{mismatches:?}"
    );
    assert!(b.channel_handler().broadcaster().transactions.is_empty());
    for id in &channels {
        assert!(b.channel_handler().channel(id).is_none());
    }
    let closed = tests::node_pair::events(b);
    assert_eq!(closed.len(), channels.len(), "{closed:?}");
    assert!(
        closed
            .iter()
            .all(|e| matches!(e, Event::ChannelClosed { reason, .. } if reason.contains("another funding"))),
        "{closed:?}"
    );
}

/// A restart handed another channel's monitor under this channel's id finds it by its
/// funding outpoint, even where the update ids agree: the channel fails, and nothing is
/// broadcast from a monitor that watches another funding.
#[test]
fn a_monitor_for_another_funding_is_found_whatever_its_update_id() {
    let (mut a, mut b, first) = super::node_e2e::connected_channel();
    let second = super::node_e2e::open_another(&mut a, &mut b, 9);
    let (mut b, mismatches) = restart_with_swapped_monitors(&b, first, second);
    assert_failed_as_other_funding(&mut b, &mismatches, vec![first, second]);
}

/// Updates in flight that would fill the gap to a monitor do not make another channel's
/// monitor this channel's.
#[test]
fn in_flight_updates_do_not_fill_the_gap_to_another_fundings_monitor() {
    let (mut a, mut b, first) = super::node_e2e::connected_channel();
    let second = super::node_e2e::open_another(&mut a, &mut b, 9);
    b.channel_handler_mut().persister_mut().hold = true;
    super::node_e2e::start_payment(&mut a, &mut b, 2_000_000, None);
    tests::node_pair::pump(&mut a, &mut b, super::node_e2e::LINK);
    let in_flight = [first, second].map(|id| b.channel_handler().in_flight_monitor_updates(&id));
    assert_eq!(in_flight.iter().filter(|n| **n > 0).count(), 1, "{in_flight:?}");
    let (mut b, mismatches) = restart_with_swapped_monitors(&b, first, second);
    assert_failed_as_other_funding(&mut b, &mismatches, vec![first, second]);
}
