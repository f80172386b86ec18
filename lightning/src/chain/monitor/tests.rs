//! The monitor on its own: updates in order, contradictions refused without a trace,
//! revocation secrets kept and checked, and its encoding.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use bitcoin::absolute::LockTime;
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{ecdsa::Signature, PublicKey, Secp256k1, SecretKey};
use bitcoin::transaction::Version;
use bitcoin::{OutPoint, Transaction, Txid};

use super::*;
use crate::chan::commitment::ChannelPublicKeys;
use crate::chan::secrets::build_commitment_secret;

const SEED: [u8; 32] = [9; 32];

/// The point of the secret key made of `byte` (the monitor update codec's tests use it too).
pub(crate) fn point(byte: u8) -> PublicKey {
    PublicKey::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[byte; 32]).expect("key"))
}

/// A funding step (the monitor update codec's tests use it too).
pub(crate) fn funding() -> MonitorStep {
    let keys = |b: u8| ChannelPublicKeys {
        funding_pubkey: point(b),
        revocation_basepoint: point(b + 1),
        payment_basepoint: point(b + 2),
        delayed_payment_basepoint: point(b + 3),
        htlc_basepoint: point(b + 4),
    };
    MonitorStep::Funding(Box::new(FundingInfo {
        funding_outpoint: OutPoint {
            txid: Txid::from_byte_array([1; 32]),
            vout: 0,
        },
        funding_satoshis: 1_000_000,
        holder_is_funder: true,
        holder_pubkeys: keys(1),
        counterparty_pubkeys: keys(10),
        holder_to_self_delay: 144,
        counterparty_to_self_delay: 144,
    }))
}

fn holder_commitment(commitment_number: u64) -> MonitorStep {
    MonitorStep::HolderCommitment {
        commitment_number,
        transaction: Transaction {
            version: Version::TWO,
            lock_time: LockTime::from_consensus(commitment_number as u32),
            input: Vec::new(),
            output: Vec::new(),
        },
        counterparty_signature: Signature::from_compact(&[1; 64]).expect("signature"),
        htlc_signatures: Vec::new(),
        htlcs: Vec::new(),
    }
}

fn counterparty_commitment(commitment_number: u64) -> MonitorStep {
    MonitorStep::CounterpartyCommitment {
        commitment_number,
        txid: Txid::from_byte_array([commitment_number as u8 + 2; 32]),
        per_commitment_point: point(20),
        htlcs: Vec::new(),
    }
}

fn secret(commitment_number: u64) -> [u8; 32] {
    build_commitment_secret(&SEED, INITIAL_COMMITMENT_NUMBER - commitment_number)
}

fn revoke(commitment_number: u64) -> MonitorStep {
    MonitorStep::CommitmentSecret {
        commitment_number,
        secret: secret(commitment_number),
    }
}

fn update(update_id: u64, steps: Vec<MonitorStep>) -> ChannelMonitorUpdate {
    ChannelMonitorUpdate { update_id, steps }
}

/// A funded monitor with holder commitment 0 and counterparty commitments 0 and 1.
fn funded() -> ChannelMonitor {
    let mut monitor = ChannelMonitor::new();
    let steps = vec![
        funding(),
        holder_commitment(0),
        counterparty_commitment(0),
        counterparty_commitment(1),
    ];
    monitor.update(&update(1, steps)).expect("first update");
    monitor
}

#[test]
fn updates_apply_in_id_order_only() {
    let mut monitor = ChannelMonitor::new();
    assert!(!monitor.is_closed());
    assert_eq!(monitor.latest_update_id(), 0);
    assert_eq!(
        monitor.update(&update(2, vec![funding()])),
        Err(MonitorError::Gap { expected: 1, given: 2 })
    );
    monitor.update(&update(1, vec![funding()])).expect("applies");
    assert_eq!(
        monitor.update(&update(1, vec![holder_commitment(0)])),
        Err(MonitorError::Stale { latest: 1, given: 1 })
    );
    assert_eq!(monitor.latest_update_id(), 1);
    assert!(monitor.funding().is_some());
    assert!(monitor.holder_commitment().is_none());
}

/// A monitor read at the last `u64` update id (only corrupt storage holds one) has no
/// next update: every update is stale, none overflows the id it expects.
#[test]
fn a_monitor_at_the_last_update_id_finds_every_update_stale() {
    let mut bytes = funded().encode_to_vec();
    bytes[1..9].copy_from_slice(&u64::MAX.to_be_bytes());
    let mut monitor = ChannelMonitor::decode_exact(&bytes).expect("only the id changed");
    let before = monitor.clone();
    for given in [u64::MAX, 2] {
        assert_eq!(
            monitor.update(&update(given, vec![revoke(0)])),
            Err(MonitorError::Stale {
                latest: u64::MAX,
                given
            })
        );
    }
    assert_eq!(monitor, before);
}

/// One update cannot fund a channel twice either.
#[test]
fn a_first_update_with_two_fundings_is_refused() {
    let mut monitor = ChannelMonitor::new();
    assert_eq!(
        monitor.update(&update(1, vec![funding(), funding()])),
        Err(MonitorError::Inconsistent("second funding"))
    );
    assert_eq!(monitor, ChannelMonitor::new());
}

#[test]
fn a_contradicting_update_changes_nothing() {
    let mut monitor = funded();
    let before = monitor.clone();
    for (steps, why) in [
        (vec![funding()], "second funding"),
        (vec![holder_commitment(0)], "holder commitment does not move forward"),
        (
            vec![holder_commitment(2), holder_commitment(1)],
            "holder commitment does not move forward",
        ),
        // A good step before a bad one is not applied either.
        (
            vec![
                holder_commitment(1),
                MonitorStep::CommitmentSecret {
                    commitment_number: 0,
                    secret: [7; 32],
                },
                revoke(1),
            ],
            "revocation secret",
        ),
    ] {
        assert_eq!(monitor.update(&update(2, steps)), Err(MonitorError::Inconsistent(why)));
        assert_eq!(monitor, before);
    }
}

#[test]
fn revocation_secrets_are_kept_and_must_derive_each_other() {
    let mut monitor = funded();
    monitor
        .update(&update(2, vec![counterparty_commitment(2), revoke(0)]))
        .expect("the first secret");
    monitor
        .update(&update(3, vec![counterparty_commitment(3), revoke(1)]))
        .expect("the second secret");
    assert_eq!(monitor.counterparty_secret(0), Some(secret(0)));
    assert_eq!(monitor.counterparty_secret(1), Some(secret(1)));
    assert_eq!(monitor.counterparty_secret(2), None);
    assert_eq!(monitor.counterparty_secret(INITIAL_COMMITMENT_NUMBER + 1), None);
    // Revoked commitments are no longer tracked as live states.
    let live: Vec<u64> = monitor.counterparty_commitments().keys().copied().collect();
    assert_eq!(live, vec![2, 3]);
    // A secret from another seed does not derive the earlier ones. (Secret 3 is the
    // first after 1 whose index lets it be checked against the ones before it.)
    monitor
        .update(&update(4, vec![counterparty_commitment(4), revoke(2)]))
        .expect("the third secret");
    let foreign = build_commitment_secret(&[8; 32], INITIAL_COMMITMENT_NUMBER - 3);
    let refused = monitor.update(&update(
        5,
        vec![MonitorStep::CommitmentSecret {
            commitment_number: 3,
            secret: foreign,
        }],
    ));
    assert_eq!(refused, Err(MonitorError::Inconsistent("revocation secret")));
    assert_eq!(monitor.counterparty_secret(3), None);
}

#[test]
fn a_closed_monitor_takes_no_more_updates() {
    let mut monitor = funded();
    monitor
        .update(&update(2, vec![MonitorStep::ChannelClosed]))
        .expect("closes");
    assert!(monitor.is_closed());
    assert_eq!(
        monitor.update(&update(3, vec![holder_commitment(1)])),
        Err(MonitorError::Closed)
    );
}

#[test]
fn a_monitor_reads_back_as_written() {
    let mut monitor = funded();
    let preimage = crate::wire::PaymentPreimage([6; 32]);
    monitor
        .update(&update(
            2,
            vec![holder_commitment(1), revoke(0), MonitorStep::PaymentPreimage(preimage)],
        ))
        .expect("applies");
    let hash = PaymentHash(sha256::Hash::hash(&preimage.0).to_byte_array());
    assert_eq!(monitor.preimage(&hash), Some(preimage));
    assert_eq!(
        ChannelMonitor::decode_exact(&monitor.encode_to_vec()),
        Ok(monitor.clone())
    );
    monitor
        .update(&update(3, vec![MonitorStep::ChannelClosed]))
        .expect("closes");
    let bytes = monitor.encode_to_vec();
    assert_eq!(ChannelMonitor::decode_exact(&bytes), Ok(monitor));
    // The closed flag is a boolean.
    let mut bad = bytes.clone();
    bad[9] = 2;
    assert_eq!(
        ChannelMonitor::decode_exact(&bad),
        Err(DecodeError::InvalidValue { field: "closed" })
    );
    let mut bad = bytes;
    bad[0] = MONITOR_VERSION + 1;
    assert_eq!(
        ChannelMonitor::decode_exact(&bad),
        Err(DecodeError::InvalidValue {
            field: "monitor version"
        })
    );
}

/// A step type this version does not know is skipped when odd (a later version's
/// optional step) and refused when even.
#[test]
fn unknown_odd_steps_are_skipped_and_even_ones_refused() {
    use crate::wire::{BigSize, Decode, Encode};

    let known = update(1, vec![funding()]);
    for (step_type, readable) in [(99u64, true), (98, false)] {
        let mut bytes = known.encode_to_vec();
        BigSize(step_type).encode(&mut bytes);
        BigSize(3).encode(&mut bytes);
        bytes.extend_from_slice(&[1, 2, 3]);
        let read = ChannelMonitorUpdate::decode_exact(&bytes);
        assert_eq!(read.as_ref().ok(), readable.then_some(&known), "step type {step_type}");
    }
}
