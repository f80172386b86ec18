//! The consistency target against the library's planted bugs, one input per bug class it
//! must see (lying peers, different policies at the two ends, edge amounts, lost storage,
//! payments the payee must reject): each input runs clean on the honest library and
//! fails with its bug planted. `scripts/recall.sh` measures what the fuzzer finds
//! unaided; these keep the harness from losing the ability.

use std::panic::{catch_unwind, AssertUnwindSafe};

use lightning::chan::manager::PlantedBug;
use lnfuzz::targets::consistency::consistency_with;

/// Op bytes (see `lnfuzz::targets::consistency`): the first picks the policies.
const PAY_1000_SAT_FROM_0: u8 = 0x04;
const PAY_1000_SAT_FROM_1: u8 = 0x05;
const PUMP: u8 = 0x2c;
const ARM_LIE: u8 = 0x64;
const EDGE: u8 = 0x74;
const CHECKPOINT_1: u8 = 0x51;
const RESTART_1_FROM_OLD_MONITORS: u8 = 0x8d;
const PAY_0_TO_BE_REJECTED: u8 = 0x8e;

/// The op that makes `liar` tell the `index`-th lie of `sim::lies::Lie::ALL`.
fn lie(index: u8, liar: u8) -> u8 {
    ARM_LIE + (index << 1) + liar
}

/// The finding `input` gives with `bug` planted, after checking it runs clean without.
fn finding(bug: PlantedBug, input: &[u8]) -> String {
    consistency_with(input, None);
    let caught = catch_unwind(AssertUnwindSafe(|| consistency_with(input, Some(bug))));
    let Err(payload) = caught else {
        panic!("{} went unseen", bug.name())
    };
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn an_unchecked_htlc_id_is_seen_when_a_peer_lies() {
    let why = finding(
        PlantedBug::HtlcIdUnchecked,
        &[0x00, lie(2, 0), PAY_1000_SAT_FROM_0, PUMP],
    );
    assert!(why.contains("accepted a corrupted htlc_id"), "{why}");
}

#[test]
fn an_unchecked_revocation_secret_is_seen_when_a_peer_lies() {
    let why = finding(
        PlantedBug::RevocationSecretUnchecked,
        &[0x00, lie(5, 1), PAY_1000_SAT_FROM_0, PUMP],
    );
    assert!(why.contains("accepted a corrupted revocation_secret"), "{why}");
}

#[test]
fn an_unchecked_preimage_is_seen_when_a_payee_lies() {
    let why = finding(
        PlantedBug::PreimageUnchecked,
        &[0x00, lie(6, 1), PAY_1000_SAT_FROM_0, PUMP],
    );
    assert!(why.contains("accepted a corrupted preimage"), "{why}");
}

/// Node 0 under profile 2 (accepts 12 HTLCs), node 1 under profile 1 (accepts 2): node 0
/// counting its HTLCs against its own cap offers node 1 more than it accepts.
#[test]
fn an_htlc_cap_read_from_the_wrong_side_is_seen_when_caps_differ() {
    let mut input = vec![0x08 + 2];
    input.extend([PAY_1000_SAT_FROM_0; 6]);
    input.push(PUMP);
    let why = finding(PlantedBug::HtlcCapFromOwnLimits, &input);
    assert!(why.contains("max_accepted_htlcs"), "{why}");
}

/// Node 1 under profile 4 demands a 10% reserve of node 0, which demands 1%: node 0
/// keeping only what it demands pays past the reserve it owes.
#[test]
fn a_reserve_read_from_the_wrong_side_is_seen_when_reserves_differ() {
    let why = finding(PlantedBug::ReserveFromOwnLimits, &[0x20, EDGE, PUMP, EDGE + 2, PUMP]);
    assert!(why.contains("reserve"), "{why}");
}

/// The most node 0 can send, paid over each channel: as funder of one it must keep the
/// fee of the HTLC it adds.
#[test]
fn a_funder_forgetting_the_next_htlcs_fee_is_seen_at_the_edge() {
    let why = finding(
        PlantedBug::FunderForgetsNextHtlcFee,
        &[0x00, EDGE, PUMP, EDGE + 2, PUMP],
    );
    assert!(why.contains("reserve") || why.contains("afford"), "{why}");
}

#[test]
fn a_restart_running_on_an_older_monitor_is_seen() {
    let why = finding(
        PlantedBug::MonitorBehindRunsOn,
        &[
            0x00,
            CHECKPOINT_1,
            PAY_1000_SAT_FROM_0,
            PUMP,
            PAY_1000_SAT_FROM_1,
            PUMP,
            RESTART_1_FROM_OLD_MONITORS,
            PUMP,
        ],
    );
    assert!(why.contains("durable monitor"), "{why}");
}

#[test]
fn a_payee_claiming_an_underpayment_is_seen() {
    let why = finding(
        PlantedBug::PayeeAcceptsUnderpayment,
        &[0x00, PAY_0_TO_BE_REJECTED, 0x02, PUMP],
    );
    assert!(why.contains("must reject"), "{why}");
}
