//! Building and signing a counterparty commitment with 0, 10 and 483 HTLCs (the commitment
//! and every HTLC transaction signed), next to the bare signing it contains: the same
//! number of ECDSA signatures over fixed messages. Per-commitment key derivation, done once
//! per commitment before building, is measured on its own.
//!
//! Run: `cargo bench -p lightning --bench commitment`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use lightning::bitcoin::hashes::Hash;
use lightning::bitcoin::secp256k1::{Message, Secp256k1, SecretKey};
use lightning::bitcoin::{OutPoint, Txid};
use lightning::chan::commitment::commitment_number_obscure_factor;
use lightning::chan::script::to_remote_script_pubkey;
use lightning::chan::{CommitmentHtlc, CommitmentKeys, CommitmentParams, CommitmentTransaction};
use lightning::sign::{ChannelSigner, ChannelTransactionParameters, KeysManager};
use lightning::wire::PaymentHash;

fn commitment(c: &mut Criterion) {
    let secp = Secp256k1::new();
    let mut holder = KeysManager::new(&[1; 32], &[0; 32]).derive_channel_signer(&[1; 32]);
    let counterparty = KeysManager::new(&[2; 32], &[0; 32]).derive_channel_signer(&[2; 32]);
    let funding_outpoint = OutPoint {
        txid: Txid::from_byte_array([7; 32]),
        vout: 0,
    };
    let funding_satoshis = 100_000_000;
    holder.provide_channel_parameters(&ChannelTransactionParameters {
        holder_is_funder: true,
        funding_outpoint,
        funding_satoshis,
        counterparty_pubkeys: *counterparty.pubkeys(),
        holder_to_self_delay: 144,
        counterparty_to_self_delay: 144,
    });
    let point = counterparty.per_commitment_point(5).expect("point");
    let (broadcaster, countersignatory) = (*counterparty.pubkeys(), *holder.pubkeys());
    let obscure = commitment_number_obscure_factor(&countersignatory.payment_basepoint, &broadcaster.payment_basepoint);

    let mut group = c.benchmark_group("commitment");
    group.bench_function("derive_keys", |b| {
        b.iter(|| CommitmentKeys::derive(&secp, black_box(&point), &broadcaster, &countersignatory))
    });
    let keys = CommitmentKeys::derive(&secp, &point, &broadcaster, &countersignatory).expect("keys");
    let bare_key = SecretKey::from_slice(&[3; 32]).expect("key");
    for htlc_count in [0usize, 10, 483] {
        let htlcs: Vec<CommitmentHtlc> = (0..htlc_count)
            .map(|i| CommitmentHtlc {
                offered: i % 2 == 0,
                amount_msat: 1_000_000 + i as u64 * 1000,
                cltv_expiry: 800_000 + i as u32,
                payment_hash: PaymentHash([i as u8; 32]),
            })
            .collect();
        let htlc_total: u64 = htlcs.iter().map(|h| h.amount_msat).sum();
        let params = CommitmentParams {
            funding_outpoint,
            funding_satoshis,
            commitment_number: 5,
            obscure_factor: obscure,
            broadcaster_is_funder: false,
            to_broadcaster_msat: 40_000_000_000,
            to_countersignatory_msat: funding_satoshis * 1000 - 40_000_000_000 - htlc_total,
            feerate_per_kw: 253,
            dust_limit_satoshis: 546,
            to_self_delay: 144,
            keys: &keys,
            to_remote_script_pubkey: &to_remote_script_pubkey(&countersignatory.payment_basepoint),
            htlcs: &htlcs,
        };
        let signatures = 1 + CommitmentTransaction::build(&params)
            .expect("builds")
            .htlc_outputs
            .len();
        assert_eq!(signatures, 1 + htlc_count, "every HTLC is untrimmed");
        group.bench_with_input(BenchmarkId::new("build_and_sign", htlc_count), &params, |b, params| {
            b.iter(|| {
                let tx = CommitmentTransaction::build(black_box(params)).expect("builds");
                holder
                    .sign_counterparty_commitment(5, &tx, &htlcs, &keys, 253)
                    .expect("signs")
            })
        });
        let messages: Vec<Message> = (0..signatures)
            .map(|i| Message::from_digest([i as u8 + 1; 32]))
            .collect();
        group.bench_with_input(
            BenchmarkId::new("bare_signing", htlc_count),
            &messages,
            |b, messages| {
                b.iter(|| {
                    messages
                        .iter()
                        .map(|m| secp.sign_ecdsa(black_box(m), &bare_key))
                        .collect::<Vec<_>>()
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, commitment);
criterion_main!(benches);
