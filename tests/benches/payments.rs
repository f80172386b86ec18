//! Single-hop payments settled per second between two in-process channel state machines
//! with real crypto, every monitor update serialized and read back as a persister would;
//! next to the cost of just the signatures and verifications those payments need,
//! measured in the same run.
//!
//! Two workloads: payments one at a time (each pays for its own two rounds of
//! `commitment_signed`/`revoke_and_ack`), and in batches of 10 sent together (the rounds
//! are shared, as concurrent payments share them in a busy channel).
//!
//! A second bound adds what else the protocol makes each round pair compute whatever
//! the implementation: the BOLT 3 keys of the 8 commitments built (a revocation key and
//! a delayed key each, two HTLC keys for the 4 that carry HTLCs), and 4 per-commitment
//! points announced and 4 secrets checked against theirs.
//!
//! Run: `cargo bench -p tests --bench payments` (release profile).

use std::hint::black_box;
use std::time::Instant;

use lightning::bitcoin::hashes::{sha256, Hash};
use lightning::bitcoin::secp256k1::{Message as SecpMessage, PublicKey, Secp256k1, SecretKey};
use lightning::chan::keys::{derive_public_key, derive_revocation_public_key_with_secret, KnownRevocationSecret};
use lightning::wire::{Encode, Message, PaymentHash, PaymentPreimage};
use tests::channel_pair::*;

const PAYMENTS: usize = 2000;

fn unique_preimage(n: usize) -> (PaymentPreimage, PaymentHash) {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&(n as u64).to_be_bytes());
    let preimage = PaymentPreimage(bytes);
    (preimage, PaymentHash(sha256::Hash::hash(&preimage.0).to_byte_array()))
}

/// Each payment: above the dust limit plus the second-stage fee at the harness's
/// feerate, so every HTLC gets its output and its signatures.
const AMOUNT_MSAT: u64 = 2_000_000;

/// `payer` sends `batch` payments together, settles, the payee fulfills them all,
/// settles.
fn pay_batch(pair: &mut Pair, payer: usize, first: usize, batch: usize) {
    let mut sent = Vec::with_capacity(batch);
    for n in first..first + batch {
        let (preimage, hash) = unique_preimage(n);
        let add = pair.nodes[payer]
            .channel
            .send_htlc(AMOUNT_MSAT, hash, 800_000, onion())
            .expect("can pay");
        sent.push((add.id, preimage));
        pair.send(payer, Message::UpdateAddHtlc(Box::new(add)));
    }
    pair.settle();
    let payee = 1 - payer;
    for (id, preimage) in sent {
        let fulfill = pair.nodes[payee].channel.fulfill_htlc(id, preimage).expect("committed");
        pair.send(payee, Message::UpdateFulfillHtlc(fulfill));
    }
    pair.settle();
}

/// Signatures (and as many verifications) a batch needs: the adds' round signs both
/// commitments with `batch` HTLCs (1 + batch signatures each), the fulfills' round signs
/// both without HTLCs (1 each).
fn signatures_per_batch(batch: usize) -> usize {
    2 * (1 + batch) + 2
}

fn signatures_only_seconds(signatures: usize) -> f64 {
    let secp = Secp256k1::new();
    let key = SecretKey::from_slice(&[7; 32]).expect("key");
    let public = PublicKey::from_secret_key(&secp, &key);
    let start = Instant::now();
    for i in 0..signatures {
        let message = SecpMessage::from_digest([i as u8 + 1; 32]);
        let signature = secp.sign_ecdsa(black_box(&message), &key);
        black_box(secp.verify_ecdsa(&message, &signature, &public).is_ok());
    }
    start.elapsed().as_secs_f64()
}

/// The key derivations and point work `batches` round pairs need on top of their
/// signatures (see the module documentation): point multiplications only, so secrets
/// here are made by counting, not by BOLT 3's hash walk.
fn key_work_only_seconds(batches: usize) -> f64 {
    let secp = Secp256k1::new();
    let base_secret = SecretKey::from_slice(&[9; 32]).expect("key");
    let basepoint = PublicKey::from_secret_key(&secp, &base_secret);
    let mut secret_bytes = [5u8; 32];
    let start = Instant::now();
    for b in 0..batches {
        for commitment in 0..8u8 {
            secret_bytes[..8].copy_from_slice(&(b as u64).to_be_bytes());
            secret_bytes[8] = commitment;
            let secret = SecretKey::from_slice(&secret_bytes).expect("secret");
            // 8 points per round pair: they stand for the 4 announced and the 4 checked.
            let point = PublicKey::from_secret_key(&secp, &secret);
            let known = KnownRevocationSecret::RevocationBasepoint(&base_secret);
            black_box(derive_revocation_public_key_with_secret(&secp, &point, &basepoint, known).expect("key"));
            black_box(derive_public_key(&secp, &point, &basepoint).expect("key"));
            if commitment < 4 {
                black_box(derive_public_key(&secp, &point, &basepoint).expect("key"));
                black_box(derive_public_key(&secp, &point, &basepoint).expect("key"));
            }
        }
    }
    start.elapsed().as_secs_f64()
}

fn run(batch: usize) {
    // Balanced, so payments can go both ways; they alternate batch by batch.
    let mut pair = open_pair(500_000_000);
    // Two batches to reach steady state before measuring the monitor.
    pay_batch(&mut pair, 0, usize::MAX - 2 * batch, batch);
    pay_batch(&mut pair, 1, usize::MAX - batch, batch);
    let monitor_size = |pair: &Pair| {
        pair.nodes
            .iter()
            .map(|n| n.monitor.encode_to_vec().len())
            .max()
            .unwrap_or(0)
    };
    let size_before = monitor_size(&pair);

    // The signatures-only cost is measured after each quarter, on the same number of
    // signatures, so drift in the machine's speed (a shared virtual machine here) hits
    // both figures alike.
    let signatures = signatures_per_batch(batch) * PAYMENTS / batch;
    let mut quarter_seconds = Vec::new();
    // Per quarter, so the first and last quarters can also be compared each against
    // the machine's speed measured beside it.
    let mut crypto_seconds = Vec::new();
    let mut signature_seconds = 0.0;
    let mut key_work_seconds = 0.0;
    let mut quarter_start = Instant::now();
    for first in (0..PAYMENTS).step_by(batch) {
        pay_batch(&mut pair, (first / batch) % 2, first, batch);
        if (first + batch) % (PAYMENTS / 4) == 0 {
            quarter_seconds.push(quarter_start.elapsed().as_secs_f64());
            let (signing, key_work) = (
                signatures_only_seconds(signatures / 4),
                key_work_only_seconds(PAYMENTS / batch / 4),
            );
            signature_seconds += signing;
            key_work_seconds += key_work;
            crypto_seconds.push(signing + key_work);
            quarter_start = Instant::now();
        }
    }
    let total_seconds: f64 = quarter_seconds.iter().sum();
    let growth = (monitor_size(&pair) - size_before) as f64 / PAYMENTS as f64;
    assert_eq!(
        pair.balances(),
        (500_000_000, 500_000_000),
        "every payment settled, both ways"
    );

    let rate = PAYMENTS as f64 / total_seconds;
    let bound = PAYMENTS as f64 / signature_seconds;
    let first = (PAYMENTS / 4) as f64 / quarter_seconds[0];
    let last = (PAYMENTS / 4) as f64 / quarter_seconds[3];
    println!("batches of {batch}:");
    println!("  rate:                  {rate:.0} payments/s ({PAYMENTS} payments)");
    println!(
        "  signatures-only bound: {bound:.0} payments/s ({:.1} signatures + as many verifications each)",
        signatures as f64 / PAYMENTS as f64
    );
    println!("  rate / bound:          {:.0}%", 100.0 * rate / bound);
    let protocol_bound = PAYMENTS as f64 / (signature_seconds + key_work_seconds);
    println!("  with BOLT 3 key work:  {protocol_bound:.0} payments/s");
    println!("  rate / that bound:     {:.0}%", 100.0 * rate / protocol_bound);
    // Each quarter's time over the crypto measured just after it: a slower machine
    // stretches both alike.
    let relative = (quarter_seconds[0] / crypto_seconds[0]) / (quarter_seconds[3] / crypto_seconds[3]);
    println!(
        "  first / last 500:      {first:.0} / {last:.0} payments/s ({:.0}%; {:.0}% against the crypto beside each)",
        100.0 * last / first,
        100.0 * relative
    );
    println!("  monitor growth:        {growth:.1} bytes per payment");
}

fn main() {
    run(1);
    run(10);
}
