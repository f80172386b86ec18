//! A hostile peer's messages, decoded from arbitrary bytes and aimed at a live channel,
//! never panic the channel manager; and the honest peer's channel keeps its value.

use lightning::bitcoin::secp256k1::{ecdsa::Signature, PublicKey, Secp256k1, SecretKey};
use lightning::transport::{MessageHandler, PeerId};
use lightning::wire::Message;
use lightning::wire::{ChannelId, NoTlvs, PaymentHash, PaymentPreimage};
use proptest::prelude::*;
use tests::node_pair::*;

const LINK: PeerId = PeerId(1);

/// Channel message types a peer may send once a channel is open.
const TYPES: [u16; 14] = [32, 33, 34, 35, 36, 38, 39, 128, 130, 131, 132, 133, 134, 136];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_channel_messages_never_panic_the_manager(
        messages in proptest::collection::vec((prop::sample::select(TYPES.to_vec()), proptest::collection::vec(any::<u8>(), 0..1500)), 1..8)
    ) {
        let (mut a, mut b) = (node(1), node(2));
        connect(&mut a, &mut b, LINK);
        let b_id = b.node_id();
        let temporary = a.channel_handler_mut().open_channel(b_id, 1_000_000, 0).expect("connected");
        pump(&mut a, &mut b, LINK);
        let outpoint = lightning::bitcoin::OutPoint { txid: lightning::bitcoin::Txid::from_raw_hash(lightning::bitcoin::hashes::Hash::all_zeros()), vout: 0 };
        let channel_id = a.channel_handler_mut().funding_transaction_generated(&temporary, outpoint).expect("funded");
        pump(&mut a, &mut b, LINK);
        let a_id = a.node_id();
        for (msg_type, payload) in messages {
            let mut bytes = msg_type.to_be_bytes().to_vec();
            // Aim at the live channel: most channel messages start with its id.
            let mut payload = payload;
            if payload.len() >= 32 && msg_type != 32 {
                payload[..32].copy_from_slice(&channel_id.0);
            }
            bytes.extend_from_slice(&payload);
            if let Ok(message) = Message::decode(&bytes) {
                let manager = b.channel_handler_mut();
                manager.handle_message(&a_id, message.clone());
                let _ = manager.take_actions();
                prop_assert_eq!(Message::decode(&message.encode_to_vec()).map(|m| m.msg_type()), Ok(msg_type));
            }
        }
        // Whatever happened, the channel (if it survived) still holds its whole value.
        if let Some(channel) = b.channel_handler().channel(&channel_id) {
            prop_assert_eq!(channel.holder_view().total_msat(), 1_000_000_000);
        }
    }
}

/// Well-formed but hostile channel messages: valid encodings, arbitrary values.
fn hostile(channel_id: ChannelId) -> impl Strategy<Value = Message> {
    let point = any::<[u8; 32]>().prop_filter_map("valid key", |b| {
        SecretKey::from_slice(&b)
            .ok()
            .map(|k| PublicKey::from_secret_key(&Secp256k1::signing_only(), &k))
    });
    let signature = any::<[u8; 32]>().prop_map(|mut b| {
        b[0] &= 0x7f;
        let mut compact = [0u8; 64];
        compact[..32].copy_from_slice(&b);
        compact[32..].copy_from_slice(&b);
        Signature::from_compact(&compact).expect("below the order")
    });
    prop_oneof![
        (any::<u64>(), any::<u64>(), any::<u32>()).prop_map(move |(id, amount_msat, cltv_expiry)| {
            Message::UpdateAddHtlc(Box::new(lightning::wire::UpdateAddHtlc {
                channel_id,
                id: id % 4,
                amount_msat,
                payment_hash: PaymentHash([1; 32]),
                cltv_expiry,
                onion_routing_packet: lightning::wire::OnionPacket {
                    version: 0,
                    public_key: [2; 33],
                    hop_payloads: [0; 1300],
                    hmac: [0; 32],
                },
                tlvs: Default::default(),
            }))
        }),
        (any::<u64>(), any::<[u8; 32]>()).prop_map(move |(id, preimage)| {
            Message::UpdateFulfillHtlc(lightning::wire::UpdateFulfillHtlc {
                channel_id,
                id: id % 4,
                payment_preimage: PaymentPreimage(preimage),
                tlvs: Default::default(),
            })
        }),
        any::<u64>().prop_map(move |id| Message::UpdateFailHtlc(lightning::wire::UpdateFailHtlc {
            channel_id,
            id: id % 4,
            reason: vec![0; 292],
            tlvs: Default::default(),
        })),
        (signature.clone(), proptest::collection::vec(signature.clone(), 0..3)).prop_map(
            move |(signature, htlc_signatures)| {
                Message::CommitmentSigned(lightning::wire::CommitmentSigned {
                    channel_id,
                    signature,
                    htlc_signatures,
                    tlvs: Default::default(),
                })
            }
        ),
        (any::<[u8; 32]>(), point.clone()).prop_map(move |(per_commitment_secret, next_per_commitment_point)| {
            Message::RevokeAndAck(lightning::wire::RevokeAndAck {
                channel_id,
                per_commitment_secret,
                next_per_commitment_point,
                extension: NoTlvs::default(),
            })
        }),
        any::<u32>().prop_map(move |feerate_per_kw| Message::UpdateFee(lightning::wire::UpdateFee {
            channel_id,
            feerate_per_kw,
            extension: NoTlvs::default(),
        })),
        (any::<u64>(), any::<u64>(), any::<[u8; 32]>(), point).prop_map(move |(n, r, secret, point)| {
            Message::ChannelReestablish(lightning::wire::ChannelReestablish {
                channel_id,
                next_commitment_number: n % 5,
                next_revocation_number: r % 5,
                your_last_per_commitment_secret: secret,
                my_current_per_commitment_point: point,
                tlvs: Default::default(),
            })
        }),
    ]
}

/// The channel the hostile tests open: funded from txid `[8; 32]`, output 0.
const FUNDING_TXID: [u8; 32] = [8; 32];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn hostile_well_formed_messages_never_panic_the_manager(
        messages in proptest::collection::vec(hostile(ChannelId(FUNDING_TXID)), 1..10)
    ) {
        let (mut a, mut b) = (node(1), node(2));
        connect(&mut a, &mut b, LINK);
        let b_id = b.node_id();
        let temporary = a.channel_handler_mut().open_channel(b_id, 1_000_000, 400_000_000).expect("connected");
        pump(&mut a, &mut b, LINK);
        let txid = lightning::bitcoin::Txid::from_raw_hash(lightning::bitcoin::hashes::Hash::from_byte_array(FUNDING_TXID));
        let outpoint = lightning::bitcoin::OutPoint { txid, vout: 0 };
        let channel_id = a.channel_handler_mut().funding_transaction_generated(&temporary, outpoint).expect("funded");
        prop_assert_eq!(channel_id, ChannelId(FUNDING_TXID));
        pump(&mut a, &mut b, LINK);
        for n in [&mut a, &mut b] {
            n.channel_handler_mut().transaction_confirmed(&outpoint.txid, 101);
            n.channel_handler_mut().best_block_updated(103);
        }
        pump(&mut a, &mut b, LINK);
        let a_id = a.node_id();
        for message in messages {
            let manager = b.channel_handler_mut();
            manager.handle_message(&a_id, message);
            let _ = manager.take_actions();
        }
        if let Some(channel) = b.channel_handler().channel(&channel_id) {
            prop_assert_eq!(channel.holder_view().total_msat(), 1_000_000_000);
        }
    }
}
