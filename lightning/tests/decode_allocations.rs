//! Decoding allocates nothing beyond a message's own vectors, and a long session keeps
//! no more memory than a short one: counted with a global allocator that tallies the
//! allocations, and the bytes still allocated, on the current thread.

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
    static LIVE_BYTES: Cell<isize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        LIVE_BYTES.with(|b| b.set(b.get() + layout.size() as isize));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.with(|b| b.set(b.get() - layout.size() as isize));
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

#[allow(dead_code)]
#[path = "integration/common.rs"]
mod common;

/// A peer that sends 2.4 MB in whole frames costs no more memory than one that sent a
/// few: consumed inbound bytes are dropped, so the reassembly buffer never holds more
/// than the frame being read.
#[test]
fn a_long_session_keeps_only_the_frame_being_read() {
    use common::{node, RawPeer};
    use lightning::transport::PeerId;

    let id = PeerId(1);
    let mut a = node(1);
    let mut raw = RawPeer::connect(&mut a.pm, id, 9);
    let init = raw.frame(&RawPeer::init_bytes());
    a.pm.read(id, &init).expect("init accepted");
    a.pm.take_outbound(id);
    // An unknown odd message (type 32,769), ignored by the node: 60,000 bytes each.
    let mut unknown = vec![0x80, 0x01];
    unknown.resize(60_000, 0xab);
    let frames: Vec<Vec<u8>> = (0..40).map(|_| raw.frame(&unknown)).collect();
    let live = || LIVE_BYTES.with(Cell::get);
    a.pm.read(id, &frames[0]).expect("ignored");
    let after_one = live();
    for frame in &frames[1..] {
        a.pm.read(id, frame).expect("ignored");
    }
    let growth = live() - after_one;
    assert!(
        growth < 200_000,
        "{growth} bytes more after 2.4 MB than after one frame"
    );
    assert_eq!(a.pm.connected_peers(), vec![(id, raw.node_id())]);
}

/// A signature count the bytes cannot hold is refused before any room is reserved.
#[test]
fn a_short_signature_list_is_refused_before_reserving_room() {
    use lightning::wire::{DecodeError, Reader};
    let mut bytes = 65_535u16.to_be_bytes().to_vec();
    bytes.extend_from_slice(&signature(1).serialize_compact());
    let (decoded, allocations) = allocations_during(|| Vec::<Signature>::decode(&mut Reader::new(&bytes)));
    assert_eq!(decoded, Err(DecodeError::ShortRead));
    assert_eq!(allocations, 0);
}
