//! Encode and decode of the two hottest channel messages: `commitment_signed` with the
//! maximum 483 HTLC signatures, and `update_add_htlc` with its 1366-byte onion; and of
//! the monitor update every `commitment_signed` received makes the user persist.
//!
//! Run: `cargo bench -p lightning --bench wire`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lightning::bitcoin::secp256k1::ecdsa::Signature;
use lightning::bitcoin::{absolute, transaction, Amount, ScriptBuf, Transaction, TxIn, TxOut, Witness};
use lightning::chan::commitment::CommitmentHtlc;
use lightning::chan::monitor_update::{ChannelMonitorUpdate, MonitorStep};
use lightning::wire::{
    ChannelId, CommitmentSigned, CommitmentSignedTlvs, Decode, Encode, OnionPacket, PaymentHash, UpdateAddHtlc,
    UpdateAddHtlcTlvs,
};

fn signature(i: u16) -> Signature {
    let mut compact = [0x11u8; 64];
    compact[30..32].copy_from_slice(&i.to_be_bytes());
    Signature::from_compact(&compact).expect("valid")
}

fn commitment_signed() -> CommitmentSigned {
    CommitmentSigned {
        channel_id: ChannelId([1; 32]),
        signature: signature(0),
        htlc_signatures: (0..483).map(signature).collect(),
        tlvs: CommitmentSignedTlvs::default(),
    }
}

fn update_add_htlc() -> UpdateAddHtlc {
    UpdateAddHtlc {
        channel_id: ChannelId([2; 32]),
        id: 7,
        amount_msat: 1_000_000,
        payment_hash: PaymentHash([3; 32]),
        cltv_expiry: 800_000,
        onion_routing_packet: OnionPacket {
            version: 0,
            public_key: [2; 33],
            hop_payloads: [4; 1300],
            hmac: [5; 32],
        },
        tlvs: UpdateAddHtlcTlvs::default(),
    }
}

/// Our new commitment with eight HTLCs, as a commitment carrying them is persisted: the
/// transaction with its funding witness, the counterparty's signatures and the HTLCs.
fn holder_commitment_update() -> ChannelMonitorUpdate {
    let mut witness = Witness::new();
    for element in [&[][..], &[0x30; 72][..], &[0x30; 71][..], &[0x52; 71][..]] {
        witness.push(element);
    }
    let transaction = Transaction {
        version: transaction::Version::TWO,
        lock_time: absolute::LockTime::from_consensus(0x2000_0000),
        input: vec![TxIn {
            witness,
            ..TxIn::default()
        }],
        output: (0..10)
            .map(|i| TxOut {
                value: Amount::from_sat(10_000 + i),
                script_pubkey: ScriptBuf::from_bytes(vec![0x00; 34]),
            })
            .collect(),
    };
    let htlcs = (0..8u8)
        .map(|i| CommitmentHtlc {
            offered: i % 2 == 0,
            amount_msat: 1_000_000 + u64::from(i),
            cltv_expiry: 800_000,
            payment_hash: PaymentHash([i; 32]),
        })
        .collect();
    ChannelMonitorUpdate {
        update_id: 42,
        steps: vec![MonitorStep::HolderCommitment {
            commitment_number: 7,
            transaction,
            counterparty_signature: signature(0),
            htlc_signatures: (1..=8).map(signature).collect(),
            htlcs,
        }],
    }
}

fn bench<M: Encode + Decode>(c: &mut Criterion, name: &str, message: M) {
    let encoded = message.encode_to_vec();
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(encoded.len() as u64));
    let mut out = Vec::with_capacity(encoded.len());
    group.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            black_box(&message).encode(&mut out);
            black_box(out.len())
        })
    });
    group.bench_function("decode", |b| b.iter(|| M::decode_exact(black_box(&encoded)).is_ok()));
    group.finish();
}

fn wire(c: &mut Criterion) {
    bench(c, "commitment_signed_483_htlcs", commitment_signed());
    bench(c, "update_add_htlc", update_add_htlc());
    bench(
        c,
        "monitor_update_holder_commitment_8_htlcs",
        holder_commitment_update(),
    );
}

criterion_group!(benches, wire);
criterion_main!(benches);
