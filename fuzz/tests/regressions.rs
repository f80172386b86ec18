//! Findings promoted by `scripts/promote.sh`, each a named test replaying its minimized
//! input from `corpora/regressions/TARGET/NAME` (the corpora test replays them too).

macro_rules! regression {
    ($test:ident, $target:literal, $name:literal) => {
        #[test]
        fn $test() {
            let input = include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../corpora/regressions/",
                $target,
                "/",
                $name
            ));
            let target = lnfuzz::target($target).expect("a target of that name");
            target(input);
        }
    };
}

// Promoted findings (scripts/promote.sh appends one line each):
regression!(
    consistency_several_htlcs_failed_back_at_once,
    "consistency",
    "several_htlcs_failed_back_at_once"
);
regression!(
    consistency_crash_after_out_of_order_completion,
    "consistency",
    "crash_after_out_of_order_completion"
);
regression!(
    consistency_crash_with_later_updates_completed,
    "consistency",
    "crash_with_later_updates_completed"
);
regression!(
    consistency_concurrent_adds_make_an_honest_add_look_unaffordable,
    "consistency",
    "concurrent_adds_make_an_honest_add_look_unaffordable"
);
regression!(
    consistency_own_fee_update_refusal_warned_the_peer,
    "consistency",
    "own_fee_update_refusal_warned_the_peer"
);
regression!(
    channel_read_persisted_update_count_at_the_end_of_u64,
    "channel_read",
    "persisted_update_count_at_the_end_of_u64"
);
regression!(
    channel_read_an_htlc_its_offerer_cannot_afford_in_the_log,
    "channel_read",
    "an_htlc_its_offerer_cannot_afford_in_the_log"
);
regression!(
    channel_read_acknowledged_updates_beyond_our_commitment,
    "channel_read",
    "acknowledged_updates_beyond_our_commitment"
);
regression!(
    channel_read_a_logged_add_out_of_htlc_id_sequence,
    "channel_read",
    "a_logged_add_out_of_htlc_id_sequence"
);
regression!(
    channel_read_a_monitor_update_counter_with_no_room_to_grow,
    "channel_read",
    "a_monitor_update_counter_with_no_room_to_grow"
);
regression!(
    channel_read_a_force_close_taking_the_last_readable_update_id,
    "channel_read",
    "a_force_close_taking_the_last_readable_update_id"
);
regression!(
    manager_read_a_funding_depth_past_the_last_height,
    "manager_read",
    "a_funding_depth_past_the_last_height"
);
regression!(
    manager_read_a_reserve_no_opening_accepts,
    "manager_read",
    "a_reserve_no_opening_accepts"
);
regression!(
    channel_read_a_funding_that_saturates_in_millisatoshis,
    "channel_read",
    "a_funding_that_saturates_in_millisatoshis"
);
regression!(
    channel_read_an_htlc_id_taken_at_the_last_readable_value,
    "channel_read",
    "an_htlc_id_taken_at_the_last_readable_value"
);
regression!(
    manager_read_a_monitor_at_the_last_update_id,
    "manager_read",
    "a_monitor_at_the_last_update_id"
);
// A harness finding: with cheap keys the channel order put the end paid down to its
// reserve where the closing check sent from; the plain build orders them otherwise, so
// `targets::consistency::tests::an_end_paid_down_to_its_reserve_does_not_fail_the_closing_check`
// reproduces it with any keys.
regression!(
    consistency_an_end_paid_down_to_its_reserve,
    "consistency",
    "an_end_paid_down_to_its_reserve"
);
regression!(
    consistency_older_monitors_of_a_channel_already_failed,
    "consistency",
    "older_monitors_of_a_channel_already_failed"
);
regression!(
    consistency_a_stale_restart_onto_older_monitors,
    "consistency",
    "a_stale_restart_onto_older_monitors"
);
// A harness finding: A restarted stale closes its channels with B, and B's forward of a
// payment from C sits on one of them: B may not fail C's HTLC before the chain resolves
// its own, so that HTLC is left pending, on purpose.
regression!(
    forwarding_a_forward_whose_outgoing_channel_a_stale_restart_closed,
    "forwarding",
    "a_forward_whose_outgoing_channel_a_stale_restart_closed"
);
// A harness finding: C restarted stale forgets a two-part payment one of whose parts
// already reached A; A fails it only after the MPP timeout, so settling lets the
// timeout's blocks pass whenever an HTLC is left, not only while a payer waits.
regression!(
    forwarding_a_part_its_payer_forgot_waits_for_the_timeout,
    "forwarding",
    "a_part_its_payer_forgot_waits_for_the_timeout"
);
