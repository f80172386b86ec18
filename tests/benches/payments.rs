//! Single-hop payments settled per second between two in-process channel state machines
//! with real crypto, every monitor update serialized and read back as a persister would;
//! next to the cost of just the signatures and verifications one payment needs, measured
//! in the same run.
//!
//! Run: `cargo bench -p tests --bench payments` (release profile). Prints the rate, the
//! signatures-only bound, the first and last 500 payments' rates, and the monitor's growth
//! per payment.

use std::hint::black_box;
use std::time::Instant;

use lightning::bitcoin::hashes::{sha256, Hash};
use lightning::bitcoin::secp256k1::{Message as SecpMessage, PublicKey, Secp256k1, SecretKey};
use lightning::wire::{Encode, Message, PaymentHash, PaymentPreimage};
use tests::channel_pair::*;

const PAYMENTS: usize = 2000;
/// Per payment: the add's dance signs both commitments with one HTLC (2 signatures
/// each), the fulfill's dance signs both without (1 each); every signature is checked
/// by the other side.
const SIGNATURES_PER_PAYMENT: usize = 6;
const VERIFICATIONS_PER_PAYMENT: usize = 6;

fn unique_preimage(n: usize) -> (PaymentPreimage, PaymentHash) {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&(n as u64).to_be_bytes());
    let preimage = PaymentPreimage(bytes);
    (preimage, PaymentHash(sha256::Hash::hash(&preimage.0).to_byte_array()))
}

fn pay_and_settle(pair: &mut Pair, n: usize) {
    let (preimage, hash) = unique_preimage(n);
    let add = pair.nodes[0]
        .channel
        .send_htlc(100_000, hash, 800_000, onion())
        .expect("can pay");
    let id = add.id;
    pair.send(0, Message::UpdateAddHtlc(Box::new(add)));
    pair.settle();
    let fulfill = pair.nodes[1].channel.fulfill_htlc(id, preimage).expect("committed");
    pair.send(1, Message::UpdateFulfillHtlc(fulfill));
    pair.settle();
}

fn signatures_only_seconds(rounds: usize) -> f64 {
    let secp = Secp256k1::new();
    let key = SecretKey::from_slice(&[7; 32]).expect("key");
    let public = PublicKey::from_secret_key(&secp, &key);
    let start = Instant::now();
    for i in 0..rounds {
        let message = SecpMessage::from_digest([i as u8 + 1; 32]);
        let signatures: Vec<_> = (0..SIGNATURES_PER_PAYMENT)
            .map(|_| secp.sign_ecdsa(black_box(&message), &key))
            .collect();
        for signature in signatures.iter().cycle().take(VERIFICATIONS_PER_PAYMENT) {
            black_box(secp.verify_ecdsa(&message, signature, &public).is_ok());
        }
    }
    start.elapsed().as_secs_f64()
}

fn main() {
    let mut pair = open_pair(0);
    // One payment to reach steady state before measuring the monitor.
    pay_and_settle(&mut pair, usize::MAX);
    let monitor_size = |pair: &Pair| {
        pair.nodes
            .iter()
            .map(|n| n.monitor.encode_to_vec().len())
            .max()
            .unwrap_or(0)
    };
    let size_before = monitor_size(&pair);

    let mut quarter_seconds = Vec::new();
    let start = Instant::now();
    let mut quarter_start = Instant::now();
    for n in 0..PAYMENTS {
        pay_and_settle(&mut pair, n);
        if (n + 1) % (PAYMENTS / 4) == 0 {
            quarter_seconds.push(quarter_start.elapsed().as_secs_f64());
            quarter_start = Instant::now();
        }
    }
    let total_seconds = start.elapsed().as_secs_f64();
    let growth = (monitor_size(&pair) - size_before) as f64 / PAYMENTS as f64;
    assert_eq!(
        pair.balances(),
        (
            1_000_000_000 - 100_000 * (PAYMENTS as u64 + 1),
            100_000 * (PAYMENTS as u64 + 1)
        )
    );

    let rate = PAYMENTS as f64 / total_seconds;
    let bound = PAYMENTS as f64 / signatures_only_seconds(PAYMENTS);
    let first = (PAYMENTS / 4) as f64 / quarter_seconds[0];
    let last = (PAYMENTS / 4) as f64 / quarter_seconds[3];
    println!("payments settled:              {PAYMENTS}");
    println!("rate:                          {rate:.0} payments/s");
    println!("signatures-only bound:         {bound:.0} payments/s ({SIGNATURES_PER_PAYMENT} signatures + {VERIFICATIONS_PER_PAYMENT} verifications each)");
    println!("rate / bound:                  {:.0}%", 100.0 * rate / bound);
    println!(
        "first 500 / last 500:          {first:.0} / {last:.0} payments/s ({:.0}%)",
        100.0 * last / first
    );
    println!("monitor growth:                {growth:.1} bytes per payment");
}
