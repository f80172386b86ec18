//! Encode and decode of the two hottest channel messages: `commitment_signed` with the
//! maximum 483 HTLC signatures, and `update_add_htlc` with its 1366-byte onion.
//!
//! Run: `cargo bench -p lightning --bench wire`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lightning::bitcoin::secp256k1::ecdsa::Signature;
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
}

criterion_group!(benches, wire);
criterion_main!(benches);
