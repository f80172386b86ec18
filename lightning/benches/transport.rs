//! BOLT 8 transport throughput: encrypt and then decrypt one message, per message size.
//! The 64 KiB case is the largest message the protocol carries (65,535 bytes).
//!
//! Run: `cargo bench -p lightning --bench transport`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lightning::transport::cipher::LENGTH_HEADER_LEN;
use lightning::transport::TransportCipher;

fn transport(c: &mut Criterion) {
    let mut group = c.benchmark_group("transport_encrypt_decrypt");
    for size in [1024usize, 16 * 1024, 65535] {
        let message = vec![0x5au8; size];
        let mut sender = TransportCipher::new([1; 32], [2; 32], [3; 32]);
        let mut receiver = TransportCipher::new([1; 32], [3; 32], [2; 32]);
        let mut wire = Vec::with_capacity(size + 34);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &message, |b, message| {
            b.iter(|| {
                wire.clear();
                sender.encrypt_message(black_box(message), &mut wire);
                let mut header = [0u8; LENGTH_HEADER_LEN];
                header.copy_from_slice(&wire[..LENGTH_HEADER_LEN]);
                let body_len = receiver.decrypt_length(&header).expect("authentic");
                let plaintext = receiver.decrypt_body(&mut wire[LENGTH_HEADER_LEN..LENGTH_HEADER_LEN + body_len]);
                black_box(plaintext.map(|p| p.len()).expect("authentic"))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, transport);
criterion_main!(benches);
