//! Decoding allocates nothing beyond a message's own vectors: counted with a global
//! allocator that tallies allocations made on the current thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use lightning::bitcoin::secp256k1::ecdsa::Signature;
use lightning::wire::{
    ChannelId, CommitmentSigned, CommitmentSignedTlvs, Decode, Encode, Message, OnionPacket, PaymentHash,
    UpdateAddHtlc, UpdateAddHtlcTlvs,
};

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let value = f();
    (value, ALLOCATIONS.with(Cell::get) - before)
}

fn signature(i: u8) -> Signature {
    let mut compact = [0x11u8; 64];
    compact[31] = i;
    Signature::from_compact(&compact).expect("valid")
}

#[test]
fn commitment_signed_with_483_htlcs_allocates_only_its_signature_vector() {
    let message = CommitmentSigned {
        channel_id: ChannelId([1; 32]),
        signature: signature(0),
        htlc_signatures: (0..483).map(|i| signature(i as u8)).collect(),
        tlvs: CommitmentSignedTlvs::default(),
    };
    let payload = message.encode_to_vec();
    let (decoded, allocations) = allocations_during(|| CommitmentSigned::decode_exact(&payload));
    assert_eq!(decoded.as_ref(), Ok(&message));
    assert_eq!(allocations, 1, "one vector of 483 signatures, nothing else");
}

#[test]
fn update_add_htlc_decodes_without_allocating() {
    let message = UpdateAddHtlc {
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
    };
    let payload = message.encode_to_vec();
    let (decoded, allocations) = allocations_during(|| UpdateAddHtlc::decode_exact(&payload));
    assert_eq!(decoded.as_ref(), Ok(&message));
    assert_eq!(allocations, 0);
    // Through the message enum the 1.4 kB struct is boxed: that one box is all.
    let wire = Message::UpdateAddHtlc(Box::new(message)).encode_to_vec();
    let (decoded, allocations) = allocations_during(|| Message::decode(&wire));
    assert!(matches!(decoded, Ok(Message::UpdateAddHtlc(_))));
    assert_eq!(allocations, 1);
}
