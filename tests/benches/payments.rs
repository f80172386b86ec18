//! Single-hop payments settled per second between two in-process channel state machines
//! with real crypto, every monitor update serialized and read back as a persister would;
//! next to the cost of just the signatures and verifications those payments need,
//! measured in the same run.
//!
//! Two workloads: payments one at a time (each pays for its own two rounds of
//! `commitment_signed`/`revoke_and_ack`), and in batches of 10 sent together (the rounds
//! are shared, as concurrent payments share them in a busy channel).
//!
//! Run: `cargo bench -p tests --bench payments` (release profile).

use std::hint::black_box;
use std::time::Instant;

use lightning::bitcoin::hashes::{sha256, Hash};
use lightning::bitcoin::secp256k1::{Message as SecpMessage, PublicKey, Secp256k1, SecretKey};
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
    let mut signature_seconds = 0.0;
    let mut quarter_start = Instant::now();
    for first in (0..PAYMENTS).step_by(batch) {
        pay_batch(&mut pair, (first / batch) % 2, first, batch);
        if (first + batch) % (PAYMENTS / 4) == 0 {
            quarter_seconds.push(quarter_start.elapsed().as_secs_f64());
            signature_seconds += signatures_only_seconds(signatures / 4);
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
    println!(
        "  first / last 500:      {first:.0} / {last:.0} payments/s ({:.0}%)",
        100.0 * last / first
    );
    println!("  monitor growth:        {growth:.1} bytes per payment");
}

fn main() {
    run(1);
    run(10);
}
