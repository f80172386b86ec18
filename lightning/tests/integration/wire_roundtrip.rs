//! Properties of the wire codec: for every message type, decode(encode(m)) == m and the
//! encoding is stable; and decoding arbitrary bytes never panics.

use std::sync::LazyLock;

use lightning::bitcoin::constants::ChainHash;
use lightning::bitcoin::hashes::Hash;
use lightning::bitcoin::secp256k1::{ecdsa::Signature, All, PublicKey, Secp256k1, SecretKey};
use lightning::bitcoin::{ScriptBuf, Txid};
use lightning::wire::*;
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;

static SECP: LazyLock<Secp256k1<All>> = LazyLock::new(Secp256k1::new);

fn point() -> impl Strategy<Value = PublicKey> {
    any::<[u8; 32]>()
        .prop_filter_map("valid secret", |b| SecretKey::from_slice(&b).ok())
        .prop_map(|sk| PublicKey::from_secret_key(&SECP, &sk))
}

fn signature() -> impl Strategy<Value = Signature> {
    (any::<[u8; 32]>(), any::<[u8; 32]>()).prop_filter_map("valid signature", |(mut r, mut s)| {
        // Keep r and s below the curve order.
        r[0] &= 0x7f;
        s[0] &= 0x7f;
        let mut compact = [0u8; 64];
        compact[..32].copy_from_slice(&r);
        compact[32..].copy_from_slice(&s);
        Signature::from_compact(&compact).ok()
    })
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..max)
}

fn features() -> impl Strategy<Value = Features> {
    bytes(12).prop_map(Features::from_be_bytes)
}

fn script() -> impl Strategy<Value = ScriptBuf> {
    bytes(40).prop_map(ScriptBuf::from_bytes)
}

fn channel_id() -> impl Strategy<Value = ChannelId> {
    any::<[u8; 32]>().prop_map(ChannelId)
}

fn chain_hash() -> impl Strategy<Value = ChainHash> {
    any::<[u8; 32]>().prop_map(ChainHash::from)
}

fn txid() -> impl Strategy<Value = Txid> {
    any::<[u8; 32]>().prop_map(Txid::from_byte_array)
}

fn scid() -> impl Strategy<Value = ShortChannelId> {
    any::<u64>().prop_map(ShortChannelId)
}

/// Unknown odd records with types above every known type of any stream here.
fn unknown_tlvs() -> impl Strategy<Value = UnknownTlvs> {
    btree_map((11u64..u64::MAX / 2).prop_map(|t| t * 2 + 1), bytes(20), 0..3).prop_map(|records| {
        UnknownTlvs(
            records
                .into_iter()
                .map(|(tlv_type, value)| TlvRecord { tlv_type, value })
                .collect(),
        )
    })
}

fn no_tlvs() -> impl Strategy<Value = NoTlvs> {
    unknown_tlvs().prop_map(|unknown| NoTlvs { unknown })
}

fn onion() -> impl Strategy<Value = OnionPacket> {
    (
        any::<u8>(),
        vec(any::<u8>(), 33),
        vec(any::<u8>(), 1300),
        any::<[u8; 32]>(),
    )
        .prop_map(|(version, key, payloads, hmac)| {
            let mut public_key = [0u8; 33];
            public_key.copy_from_slice(&key);
            let mut hop_payloads = [0u8; 1300];
            hop_payloads.copy_from_slice(&payloads);
            OnionPacket {
                version,
                public_key,
                hop_payloads,
                hmac,
            }
        })
}

fn attribution() -> impl Strategy<Value = Option<Box<AttributionData>>> {
    option::of(
        (vec(any::<u32>(), 20), vec(any::<[u8; 4]>(), 210)).prop_map(|(times, hmacs)| {
            let mut data = AttributionData {
                htlc_hold_times: [0; 20],
                truncated_hmacs: [[0; 4]; 210],
            };
            data.htlc_hold_times.copy_from_slice(&times);
            data.truncated_hmacs.copy_from_slice(&hmacs);
            Box::new(data)
        }),
    )
}

fn socket_address() -> impl Strategy<Value = SocketAddress> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>()).prop_map(|(addr, port)| SocketAddress::Ipv4 { addr, port }),
        (any::<[u8; 16]>(), any::<u16>()).prop_map(|(addr, port)| SocketAddress::Ipv6 { addr, port }),
        any::<[u8; 12]>().prop_map(SocketAddress::TorV2Deprecated),
        (vec(any::<u8>(), 35), any::<u16>()).prop_map(|(b, port)| {
            let mut onion_addr = [0u8; 35];
            onion_addr.copy_from_slice(&b);
            SocketAddress::TorV3 { onion_addr, port }
        }),
        (bytes(60), any::<u16>()).prop_map(|(hostname, port)| SocketAddress::Hostname { hostname, port }),
    ]
}

fn node_addresses() -> impl Strategy<Value = NodeAddresses> {
    // Unparsed bytes always start with a type this node does not know.
    (vec(socket_address(), 0..4), option::of((6u8..=255, bytes(10)))).prop_map(|(known, tail)| {
        let unparsed = tail.map(|(t, rest)| [vec![t], rest].concat()).unwrap_or_default();
        NodeAddresses { known, unparsed }
    })
}

fn init() -> impl Strategy<Value = Init> {
    (
        features(),
        features(),
        option::of(vec(chain_hash(), 0..3)),
        option::of(bytes(20)),
        unknown_tlvs(),
    )
        .prop_map(|(global_features, features, networks, remote_addr, unknown)| Init {
            global_features,
            features,
            tlvs: InitTlvs {
                networks: networks.map(Networks),
                remote_addr,
                unknown,
            },
        })
}

fn open_channel_tlvs() -> impl Strategy<Value = OpenChannelTlvs> {
    (option::of(script()), option::of(features()), unknown_tlvs()).prop_map(
        |(upfront_shutdown_script, channel_type, unknown)| OpenChannelTlvs {
            upfront_shutdown_script,
            channel_type,
            unknown,
        },
    )
}

fn basepoints() -> impl Strategy<Value = [PublicKey; 6]> {
    [point(), point(), point(), point(), point(), point()]
}

fn open_channel() -> impl Strategy<Value = OpenChannel> {
    (
        (
            chain_hash(),
            channel_id(),
            any::<[u64; 6]>(),
            any::<u32>(),
            any::<[u16; 2]>(),
        ),
        (basepoints(), any::<u8>(), open_channel_tlvs()),
    )
        .prop_map(
            |((chain_hash, temporary_channel_id, n, feerate_per_kw, d), (k, channel_flags, tlvs))| OpenChannel {
                chain_hash,
                temporary_channel_id,
                funding_satoshis: n[0],
                push_msat: n[1],
                dust_limit_satoshis: n[2],
                max_htlc_value_in_flight_msat: n[3],
                channel_reserve_satoshis: n[4],
                htlc_minimum_msat: n[5],
                feerate_per_kw,
                to_self_delay: d[0],
                max_accepted_htlcs: d[1],
                funding_pubkey: k[0],
                revocation_basepoint: k[1],
                payment_basepoint: k[2],
                delayed_payment_basepoint: k[3],
                htlc_basepoint: k[4],
                first_per_commitment_point: k[5],
                channel_flags,
                tlvs,
            },
        )
}

fn accept_channel() -> impl Strategy<Value = AcceptChannel> {
    (
        (channel_id(), any::<[u64; 4]>(), any::<u32>(), any::<[u16; 2]>()),
        (basepoints(), open_channel_tlvs()),
    )
        .prop_map(
            |((temporary_channel_id, n, minimum_depth, d), (k, tlvs))| AcceptChannel {
                temporary_channel_id,
                dust_limit_satoshis: n[0],
                max_htlc_value_in_flight_msat: n[1],
                channel_reserve_satoshis: n[2],
                htlc_minimum_msat: n[3],
                minimum_depth,
                to_self_delay: d[0],
                max_accepted_htlcs: d[1],
                funding_pubkey: k[0],
                revocation_basepoint: k[1],
                payment_basepoint: k[2],
                delayed_payment_basepoint: k[3],
                htlc_basepoint: k[4],
                first_per_commitment_point: k[5],
                tlvs,
            },
        )
}

fn update_add_htlc() -> impl Strategy<Value = UpdateAddHtlc> {
    (
        channel_id(),
        any::<[u64; 2]>(),
        any::<[u8; 32]>(),
        any::<u32>(),
        onion(),
        option::of(point()),
        unknown_tlvs(),
    )
        .prop_map(
            |(channel_id, n, hash, cltv_expiry, onion_routing_packet, blinded_path, unknown)| UpdateAddHtlc {
                channel_id,
                id: n[0],
                amount_msat: n[1],
                payment_hash: PaymentHash(hash),
                cltv_expiry,
                onion_routing_packet,
                tlvs: UpdateAddHtlcTlvs { blinded_path, unknown },
            },
        )
}

fn settle_tlvs() -> impl Strategy<Value = SettleHtlcTlvs> {
    (attribution(), unknown_tlvs()).prop_map(|(attribution_data, unknown)| SettleHtlcTlvs {
        attribution_data,
        unknown,
    })
}

fn channel_announcement() -> impl Strategy<Value = ChannelAnnouncement> {
    (
        [signature(), signature(), signature(), signature()],
        (
            features(),
            chain_hash(),
            scid(),
            [point(), point(), point(), point()],
            no_tlvs(),
        ),
    )
        .prop_map(
            |(s, (features, chain_hash, short_channel_id, k, extension))| ChannelAnnouncement {
                node_signature_1: s[0],
                node_signature_2: s[1],
                bitcoin_signature_1: s[2],
                bitcoin_signature_2: s[3],
                features,
                chain_hash,
                short_channel_id,
                node_id_1: k[0],
                node_id_2: k[1],
                bitcoin_key_1: k[2],
                bitcoin_key_2: k[3],
                extension,
            },
        )
}

fn node_announcement() -> impl Strategy<Value = NodeAnnouncement> {
    (
        signature(),
        features(),
        any::<u32>(),
        point(),
        any::<[u8; 3]>(),
        any::<[u8; 32]>(),
        node_addresses(),
        no_tlvs(),
    )
        .prop_map(
            |(signature, features, timestamp, node_id, rgb_color, alias, addresses, extension)| NodeAnnouncement {
                signature,
                features,
                timestamp,
                node_id,
                rgb_color,
                alias,
                addresses,
                extension,
            },
        )
}

fn channel_update() -> impl Strategy<Value = ChannelUpdate> {
    (
        (signature(), chain_hash(), scid(), any::<u32>(), any::<[u8; 2]>()),
        (any::<u16>(), any::<[u64; 2]>(), any::<[u32; 2]>(), no_tlvs()),
    )
        .prop_map(
            |((signature, chain_hash, short_channel_id, timestamp, flags), (cltv_expiry_delta, m, f, extension))| {
                ChannelUpdate {
                    signature,
                    chain_hash,
                    short_channel_id,
                    timestamp,
                    message_flags: flags[0],
                    channel_flags: flags[1],
                    cltv_expiry_delta,
                    htlc_minimum_msat: m[0],
                    fee_base_msat: f[0],
                    fee_proportional_millionths: f[1],
                    htlc_maximum_msat: m[1],
                    extension,
                }
            },
        )
}

fn check_round_trip(m: &Message) -> Result<(), TestCaseError> {
    let encoded = m.encode_to_vec();
    let decoded = Message::decode(&encoded);
    prop_assert_eq!(decoded.as_ref(), Ok(m));
    prop_assert_eq!(decoded.map(|d| d.encode_to_vec()), Ok(encoded));
    Ok(())
}

/// Declares one strategy per message type: a named round-trip property test for each,
/// and `message()`, their union, for the properties that span every type.
macro_rules! message_strategies {
    ($($name:ident => $strategy:expr,)*) => {
        fn message() -> BoxedStrategy<Message> {
            prop_oneof![$($strategy.boxed()),*].boxed()
        }

        /// decode(encode(m)) == m, and re-encoding is stable, for each message type.
        mod round_trip {
            use super::*;
            proptest! {
                #![proptest_config(ProptestConfig::with_cases(128))]
                $(
                    #[test]
                    fn $name(m in $strategy) {
                        check_round_trip(&m)?;
                    }
                )*
            }
        }
    };
}

message_strategies! {
    warning_round_trips => (channel_id(), bytes(100), no_tlvs()).prop_map(|(channel_id, data, extension)| Message::Warning(Warning { channel_id, data, extension })),
    init_round_trips => init().prop_map(Message::Init),
    error_round_trips => (channel_id(), bytes(100), no_tlvs()).prop_map(|(channel_id, data, extension)| Message::Error(ErrorMessage { channel_id, data, extension })),
    ping_round_trips => (any::<u16>(), bytes(100), no_tlvs()).prop_map(|(num_pong_bytes, ignored, extension)| Message::Ping(Ping { num_pong_bytes, ignored, extension })),
    pong_round_trips => (bytes(100), no_tlvs()).prop_map(|(ignored, extension)| Message::Pong(Pong { ignored, extension })),
    open_channel_round_trips => open_channel().prop_map(|m| Message::OpenChannel(Box::new(m))),
    accept_channel_round_trips => accept_channel().prop_map(|m| Message::AcceptChannel(Box::new(m))),
    funding_created_round_trips => (channel_id(), txid(), any::<u16>(), signature(), no_tlvs()).prop_map(|(temporary_channel_id, funding_txid, funding_output_index, signature, extension)| {
            Message::FundingCreated(FundingCreated { temporary_channel_id, funding_txid, funding_output_index, signature, extension })
        }),
    funding_signed_round_trips => (channel_id(), signature(), no_tlvs()).prop_map(|(channel_id, signature, extension)| Message::FundingSigned(FundingSigned { channel_id, signature, extension })),
    channel_ready_round_trips => (channel_id(), point(), option::of(scid()), unknown_tlvs()).prop_map(|(channel_id, second_per_commitment_point, short_channel_id, unknown)| {
            Message::ChannelReady(ChannelReady { channel_id, second_per_commitment_point, tlvs: ChannelReadyTlvs { short_channel_id, unknown } })
        }),
    shutdown_round_trips => (channel_id(), script(), no_tlvs()).prop_map(|(channel_id, scriptpubkey, extension)| Message::Shutdown(Shutdown { channel_id, scriptpubkey, extension })),
    closing_signed_round_trips => (channel_id(), any::<u64>(), signature(), option::of(any::<[u64; 2]>()), unknown_tlvs()).prop_map(|(channel_id, fee_satoshis, signature, range, unknown)| {
            let fee_range = range.map(|r| FeeRange { min_fee_satoshis: r[0], max_fee_satoshis: r[1] });
            Message::ClosingSigned(ClosingSigned { channel_id, fee_satoshis, signature, tlvs: ClosingSignedTlvs { fee_range, unknown } })
        }),
    update_add_htlc_round_trips => update_add_htlc().prop_map(|m| Message::UpdateAddHtlc(Box::new(m))),
    update_fulfill_htlc_round_trips => (channel_id(), any::<u64>(), any::<[u8; 32]>(), settle_tlvs()).prop_map(|(channel_id, id, preimage, tlvs)| {
            Message::UpdateFulfillHtlc(UpdateFulfillHtlc { channel_id, id, payment_preimage: PaymentPreimage(preimage), tlvs })
        }),
    update_fail_htlc_round_trips => (channel_id(), any::<u64>(), bytes(300), settle_tlvs()).prop_map(|(channel_id, id, reason, tlvs)| Message::UpdateFailHtlc(UpdateFailHtlc { channel_id, id, reason, tlvs })),
    update_fail_malformed_htlc_round_trips => (channel_id(), any::<u64>(), any::<[u8; 32]>(), any::<u16>(), no_tlvs()).prop_map(|(channel_id, id, sha256_of_onion, failure_code, extension)| {
            Message::UpdateFailMalformedHtlc(UpdateFailMalformedHtlc { channel_id, id, sha256_of_onion, failure_code, extension })
        }),
    commitment_signed_round_trips => (channel_id(), signature(), vec(signature(), 0..20), option::of(txid()), unknown_tlvs()).prop_map(|(channel_id, signature, htlc_signatures, funding_txid, unknown)| {
            Message::CommitmentSigned(CommitmentSigned { channel_id, signature, htlc_signatures, tlvs: CommitmentSignedTlvs { funding_txid, unknown } })
        }),
    revoke_and_ack_round_trips => (channel_id(), any::<[u8; 32]>(), point(), no_tlvs()).prop_map(|(channel_id, per_commitment_secret, next_per_commitment_point, extension)| {
            Message::RevokeAndAck(RevokeAndAck { channel_id, per_commitment_secret, next_per_commitment_point, extension })
        }),
    update_fee_round_trips => (channel_id(), any::<u32>(), no_tlvs()).prop_map(|(channel_id, feerate_per_kw, extension)| Message::UpdateFee(UpdateFee { channel_id, feerate_per_kw, extension })),
    channel_reestablish_round_trips => (channel_id(), any::<[u64; 2]>(), any::<[u8; 32]>(), point(), option::of((txid(), any::<u8>())), option::of((txid(), any::<u8>())), unknown_tlvs()).prop_map(
            |(channel_id, n, your_last_per_commitment_secret, my_current_per_commitment_point, next, locked, unknown)| {
                let retransmit = |(txid, retransmit_flags)| FundingRetransmit { txid, retransmit_flags };
                Message::ChannelReestablish(ChannelReestablish {
                    channel_id,
                    next_commitment_number: n[0],
                    next_revocation_number: n[1],
                    your_last_per_commitment_secret,
                    my_current_per_commitment_point,
                    tlvs: ChannelReestablishTlvs { next_funding: next.map(retransmit), my_current_funding_locked: locked.map(retransmit), unknown },
                })
            }
        ),
    channel_announcement_round_trips => channel_announcement().prop_map(|m| Message::ChannelAnnouncement(Box::new(m))),
    node_announcement_round_trips => node_announcement().prop_map(|m| Message::NodeAnnouncement(Box::new(m))),
    channel_update_round_trips => channel_update().prop_map(Message::ChannelUpdate),
    announcement_signatures_round_trips => (channel_id(), scid(), signature(), signature(), no_tlvs()).prop_map(|(channel_id, short_channel_id, node_signature, bitcoin_signature, extension)| {
            Message::AnnouncementSignatures(AnnouncementSignatures { channel_id, short_channel_id, node_signature, bitcoin_signature, extension })
        }),
    unknown_odd_round_trips => ((0u16..=u16::MAX / 2).prop_map(|t| t * 2 + 1).prop_filter("not a known type", |t| *t > 511), bytes(50))
            .prop_map(|(msg_type, payload)| Message::Unknown { msg_type, payload }),
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// The same round trip over a mix of every type.
    #[test]
    fn every_message_round_trips(m in message()) {
        check_round_trip(&m)?;
    }

    /// Cutting a message short never panics, and never yields a different message.
    #[test]
    fn truncated_messages_fail_cleanly(m in message(), cut in any::<prop::sample::Index>()) {
        let encoded = m.encode_to_vec();
        let len = cut.index(encoded.len());
        if let Ok(decoded) = Message::decode(&encoded[..len]) {
            // Only the TLV extension can be dropped whole; everything before it must match.
            prop_assert_eq!(decoded.msg_type(), m.msg_type());
        }
    }

    /// Arbitrary bytes never panic the decoder.
    #[test]
    fn arbitrary_bytes_never_panic(data in bytes(2000)) {
        let _ = Message::decode(&data);
    }

    /// Arbitrary payloads behind every known type never panic, and whatever decodes
    /// re-encodes to bytes that decode to the same message.
    #[test]
    fn arbitrary_payloads_of_known_types_never_panic(
        msg_type in prop::sample::select(vec![1u16, 16, 17, 18, 19, 32, 33, 34, 35, 36, 38, 39, 128, 130, 131, 132, 133, 134, 135, 136, 256, 257, 258, 259]),
        payload in bytes(1600),
    ) {
        let mut data = msg_type.to_be_bytes().to_vec();
        data.extend_from_slice(&payload);
        if let Ok(decoded) = Message::decode(&data) {
            let again = Message::decode(&decoded.encode_to_vec());
            prop_assert_eq!(again, Ok(decoded));
        }
    }
}

#[test]
fn every_known_type_is_generated() {
    // The strategy list above must cover every variant: check the type numbers it can
    // produce against the enum's, so a new message cannot be added without a property.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = message();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..3000 {
        let m = strategy.new_tree(&mut runner).expect("generate").current();
        if !matches!(m, Message::Unknown { .. }) {
            seen.insert(m.msg_type());
        }
    }
    let expected: std::collections::BTreeSet<u16> = [
        1, 16, 17, 18, 19, 32, 33, 34, 35, 36, 38, 39, 128, 130, 131, 132, 133, 134, 135, 136, 256, 257, 258, 259,
    ]
    .into();
    assert_eq!(seen, expected);
}

/// `encode_typed` writes the type, then the message: what `Message` encodes.
#[test]
fn encode_typed_matches_the_message_encoding() {
    let ping = Ping {
        num_pong_bytes: 4,
        ignored: vec![0; 3],
        extension: NoTlvs::default(),
    };
    let mut typed = Vec::new();
    encode_typed(&ping, &mut typed);
    assert_eq!(typed[..2], [0, 18]);
    assert_eq!(typed, Message::Ping(ping).encode_to_vec());
}

/// Unknown odd records are kept (and reported), unknown even ones refused.
#[test]
fn unknown_odd_records_are_kept_and_even_ones_refused() {
    let mut unknown = UnknownTlvs::default();
    assert!(unknown.is_empty());
    unknown.keep(7, &[1, 2]).expect("odd is ok");
    assert!(!unknown.is_empty());
    assert_eq!(unknown.keep(8, &[]), Err(DecodeError::UnknownEvenTlv { tlv_type: 8 }));
    assert_eq!(unknown.0.len(), 1);
}

/// BOLT 1's type ranges: 0-31 setup and control, 32-255 channel, 256-511 routing.
#[test]
fn messages_fall_in_their_bolt1_groups() {
    let ping = Message::Ping(Ping {
        num_pong_bytes: 1,
        ignored: vec![],
        extension: NoTlvs::default(),
    });
    let fee = Message::UpdateFee(UpdateFee {
        channel_id: ChannelId([1; 32]),
        feerate_per_kw: 253,
        extension: NoTlvs::default(),
    });
    let unknown = |msg_type: u16| Message::decode(&[&msg_type.to_be_bytes()[..], &[0; 4]].concat()).expect("odd: kept");
    assert_eq!(ping.group(), MessageGroup::SetupAndControl);
    assert_eq!(fee.group(), MessageGroup::Channel);
    assert_eq!(unknown(255).group(), MessageGroup::Channel);
    assert_eq!(unknown(261).group(), MessageGroup::Routing);
    assert_eq!(unknown(32_769).group(), MessageGroup::Other);
}
