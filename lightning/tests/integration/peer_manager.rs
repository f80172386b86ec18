//! Two peer managers wired to each other, and a raw BOLT 8 peer that misbehaves.

use crate::common::*;
use lightning::transport::{DisconnectReason, HandlerAction, HandshakeError, PeerId, PeerManagerConfig};
use lightning::wire::{
    ChannelId, DecodeError, Feature, FeatureError, Features, Init, InitTlvs, Message, Networks, NoTlvs, Ping, UpdateFee,
};
use proptest::prelude::*;

const A: PeerId = PeerId(7);

fn connected_pair(chunks: &[usize]) -> (Node, Node) {
    let mut a = node(1);
    let mut b = node(2);
    connect(&mut a.pm, &mut b.pm, A.0, chunks);
    (a, b)
}

fn assert_connected(a: &Node, b: &Node) {
    assert_eq!(a.pm.connected_peers(), vec![(A, b.pm.node_id())]);
    assert_eq!(b.pm.connected_peers(), vec![(A, a.pm.node_id())]);
    assert_eq!(a.channel.borrow().connected, vec![b.pm.node_id()]);
    assert_eq!(b.gossip.borrow().connected, vec![a.pm.node_id()]);
    assert!(a
        .pm
        .peer_features(&b.pm.node_id())
        .is_some_and(|f| f.requires(Feature::StaticRemoteKey)));
}

#[test]
fn init_exchange_in_one_piece() {
    let (a, b) = connected_pair(&[usize::MAX]);
    assert_connected(&a, &b);
}

#[test]
fn init_exchange_one_byte_at_a_time() {
    let (a, b) = connected_pair(&[1]);
    assert_connected(&a, &b);
}

/// Pings both ways and checks both pongs arrive: a tick with no answer since the last
/// would drop the peer, so two quiet rounds prove the pongs were matched.
fn ping_round(a: &mut Node, b: &mut Node, chunks: &[usize]) {
    a.pm.timer_tick();
    b.pm.timer_tick();
    pump(&mut a.pm, A, &mut b.pm, A, chunks);
    assert!(a.pm.take_disconnects().is_empty());
    assert!(b.pm.take_disconnects().is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_chunking_gives_the_same_session(chunks in proptest::collection::vec(1usize..300, 1..8)) {
        let (mut a, mut b) = connected_pair(&chunks);
        assert_connected(&a, &b);
        for _ in 0..3 {
            ping_round(&mut a, &mut b, &chunks);
        }
        prop_assert_eq!(a.pm.connected_peers().len(), 1);
        // Channel messages flow both ways across the same chunking.
        let fee = |feerate_per_kw| Message::UpdateFee(UpdateFee { channel_id: ChannelId([3; 32]), feerate_per_kw, extension: NoTlvs::default() });
        a.channel.borrow_mut().pending_actions.push(HandlerAction::Send { node_id: b.pm.node_id(), message: fee(253) });
        b.channel.borrow_mut().pending_actions.push(HandlerAction::Send { node_id: a.pm.node_id(), message: fee(254) });
        pump(&mut a.pm, A, &mut b.pm, A, &chunks);
        prop_assert_eq!(&b.channel.borrow().messages, &vec![(a.pm.node_id(), fee(253))]);
        prop_assert_eq!(&a.channel.borrow().messages, &vec![(b.pm.node_id(), fee(254))]);
    }
}

#[test]
fn pings_are_answered_and_silence_is_dropped() {
    let (mut a, mut b) = connected_pair(&[usize::MAX]);
    ping_round(&mut a, &mut b, &[usize::MAX]);
    ping_round(&mut a, &mut b, &[usize::MAX]);
    // Now b goes silent: a pings, hears nothing, and drops b at the next tick.
    a.pm.timer_tick();
    let _ping = a.pm.take_outbound(A);
    assert!(a.pm.take_disconnects().is_empty());
    a.pm.timer_tick();
    assert_eq!(a.pm.take_disconnects(), vec![(A, DisconnectReason::PingTimeout)]);
    assert!(a.pm.connected_peers().is_empty());
    assert_eq!(a.channel.borrow().disconnected, vec![b.pm.node_id()]);
    a.pm.disconnected(A);
    assert!(!a.pm.has_outbound(A));
}

#[test]
fn a_stalled_handshake_is_dropped() {
    let mut a = node(1);
    a.pm.new_inbound(A).expect("fresh");
    assert_eq!(
        a.pm.read(A, &[0; 10]),
        Ok(lightning::transport::ReadStatus { pause_read: false })
    );
    a.pm.timer_tick();
    assert!(a.pm.take_disconnects().is_empty());
    a.pm.timer_tick();
    assert_eq!(a.pm.take_disconnects(), vec![(A, DisconnectReason::HandshakeTimeout)]);
    assert_eq!(a.pm.read(A, &[0; 40]), Err(DisconnectReason::AlreadyDisconnecting));
}

#[test]
fn garbage_instead_of_a_handshake_is_refused() {
    let mut a = node(1);
    a.pm.new_inbound(A).expect("fresh");
    let mut garbage: Vec<u8> = (0..50u8).map(|i| i.wrapping_mul(37)).collect();
    garbage[0] = 1;
    assert_eq!(
        a.pm.read(A, &garbage),
        Err(DisconnectReason::Handshake(HandshakeError::BadVersion {
            act: 1,
            version: 1
        }))
    );
    let mut a = node(1);
    a.pm.new_inbound(A).expect("fresh");
    garbage[0] = 0;
    assert!(matches!(a.pm.read(A, &garbage), Err(DisconnectReason::Handshake(_))));
}

#[test]
fn garbage_after_the_handshake_fails_decryption() {
    let mut a = node(1);
    let _raw = RawPeer::connect(&mut a.pm, A, 9);
    let result = a.pm.read(A, &[0xab; 40]);
    assert!(matches!(result, Err(DisconnectReason::Decrypt(_))), "{result:?}");
}

#[test]
fn a_message_before_init_disconnects() {
    let mut a = node(1);
    let mut raw = RawPeer::connect(&mut a.pm, A, 9);
    let ping = Message::Ping(Ping {
        num_pong_bytes: 4,
        ignored: vec![],
        extension: NoTlvs::default(),
    });
    let frame = raw.frame(&ping.encode_to_vec());
    assert_eq!(
        a.pm.read(A, &frame),
        Err(DisconnectReason::MessageBeforeInit { msg_type: 18 })
    );
    assert!(a.channel.borrow().connected.is_empty());
}

/// Connects a raw peer and completes `init`, returning it with a's `init` consumed.
fn raw_after_init(a: &mut Node) -> RawPeer {
    let mut raw = RawPeer::connect(&mut a.pm, A, 9);
    let frame = raw.frame(&RawPeer::init_bytes());
    a.pm.read(A, &frame).expect("init accepted");
    let received = raw.receive(&a.pm.take_outbound(A));
    assert!(matches!(received.as_slice(), [Message::Init(_)]), "{received:?}");
    // Our init names the chain we are on (BOLT 1 `networks`), so the peer can check it.
    let Message::Init(init) = &received[0] else {
        panic!("not an init")
    };
    assert_eq!(init.tlvs.networks.as_ref().map(|n| n.0.clone()), Some(vec![chain()]));
    raw
}

/// Sends `plaintext` from the raw peer and expects a disconnect with a warning.
fn expect_warned_disconnect(a: &mut Node, raw: &mut RawPeer, plaintext: &[u8]) -> DisconnectReason {
    let frame = raw.frame(plaintext);
    let reason = a.pm.read(A, &frame).expect_err("must disconnect");
    let received = raw.receive(&a.pm.take_outbound(A));
    let Some(Message::Warning(warning)) = received.last() else {
        panic!("no warning: {received:?}")
    };
    assert_eq!(warning.channel_id, ChannelId::ALL);
    assert_eq!(String::from_utf8_lossy(&warning.data), reason.to_string());
    assert!(a.pm.connected_peers().is_empty());
    assert_eq!(a.channel.borrow().disconnected, vec![raw.node_id()]);
    reason
}

#[test]
fn a_length_past_the_end_of_the_message_disconnects_with_a_warning() {
    let mut a = node(1);
    let mut raw = raw_after_init(&mut a);
    // A ping whose `byteslen` claims 1000 bytes of a 6-byte message.
    let reason = expect_warned_disconnect(&mut a, &mut raw, &[0x00, 0x12, 0x00, 0x04, 0x03, 0xe8]);
    assert_eq!(
        reason,
        DisconnectReason::Decode {
            msg_type: Some(18),
            error: DecodeError::ShortRead
        }
    );
}

#[test]
fn an_oversize_tlv_length_disconnects_with_a_warning() {
    let mut a = node(1);
    let mut raw = raw_after_init(&mut a);
    // A pong with an extension record (type 1) claiming 200 bytes where 1 remains.
    let reason = expect_warned_disconnect(&mut a, &mut raw, &[0x00, 0x13, 0x00, 0x00, 0x01, 0xc8, 0x00]);
    assert_eq!(
        reason,
        DisconnectReason::Decode {
            msg_type: Some(19),
            error: DecodeError::TlvLengthExceedsRemaining { tlv_type: 1 }
        }
    );
}

#[test]
fn unknown_odd_messages_are_ignored_and_even_ones_disconnect() {
    let mut a = node(1);
    let mut raw = raw_after_init(&mut a);
    let frame = raw.frame(&[0x80, 0x01, 1, 2, 3]);
    assert!(a.pm.read(A, &frame).is_ok());
    assert!(a.channel.borrow().messages.is_empty());
    let reason = expect_warned_disconnect(&mut a, &mut raw, &[0x80, 0x02, 1, 2, 3]);
    assert_eq!(
        reason,
        DisconnectReason::Decode {
            msg_type: Some(0x8002),
            error: DecodeError::UnknownEvenMessage { msg_type: 0x8002 }
        }
    );
}

#[test]
fn unknown_required_features_disconnect() {
    let mut a = node(1);
    let mut raw = RawPeer::connect(&mut a.pm, A, 9);
    let mut features = node_features();
    features.set(100);
    let init = Message::Init(Init {
        global_features: Features::empty(),
        features,
        tlvs: InitTlvs::default(),
    });
    let frame = raw.frame(&init.encode_to_vec());
    assert_eq!(
        a.pm.read(A, &frame),
        Err(DisconnectReason::Features(FeatureError::UnknownRequiredBit(100)))
    );
    let received = raw.receive(&a.pm.take_outbound(A));
    assert!(
        matches!(received.as_slice(), [Message::Init(_), Message::Warning(_)]),
        "{received:?}"
    );
}

#[test]
fn a_peer_on_another_chain_is_refused() {
    let mut a = node(1);
    let mut raw = RawPeer::connect(&mut a.pm, A, 9);
    let other_chain = lightning::bitcoin::constants::ChainHash::BITCOIN;
    let init = Message::Init(Init {
        global_features: Features::empty(),
        features: node_features(),
        tlvs: InitTlvs {
            networks: Some(Networks(vec![other_chain])),
            ..InitTlvs::default()
        },
    });
    let frame = raw.frame(&init.encode_to_vec());
    assert_eq!(a.pm.read(A, &frame), Err(DisconnectReason::NoCommonChain));
}

#[test]
fn a_handler_can_refuse_a_peer() {
    let mut a = node(1);
    a.channel.borrow_mut().reject_with = Some("no channels with strangers".into());
    let mut raw = RawPeer::connect(&mut a.pm, A, 9);
    let frame = raw.frame(&RawPeer::init_bytes());
    assert_eq!(
        a.pm.read(A, &frame),
        Err(DisconnectReason::Rejected("no channels with strangers".into()))
    );
    assert_eq!(a.channel.borrow().disconnected, vec![raw.node_id()]);
}

#[test]
fn messages_reach_the_right_handler() {
    let mut a = node(1);
    let mut raw = raw_after_init(&mut a);
    let update = Message::UpdateFee(UpdateFee {
        channel_id: ChannelId([1; 32]),
        feerate_per_kw: 1000,
        extension: NoTlvs::default(),
    });
    let frame = raw.frame(&update.encode_to_vec());
    a.pm.read(A, &frame).expect("valid");
    assert_eq!(a.channel.borrow().messages, vec![(raw.node_id(), update)]);
    assert!(a.gossip.borrow().messages.is_empty());
}

#[test]
fn a_second_connection_to_the_same_node_is_refused() {
    let mut a = node(1);
    let _first = raw_after_init(&mut a);
    assert_eq!(a.pm.new_inbound(PeerId(8)), Ok(()));
    // Same key as the first raw peer.
    let (mut handshake, act_one) = lightning::transport::Handshake::new_outbound(
        &lightning::bitcoin::secp256k1::Secp256k1::new(),
        a.pm.node_id(),
        secret_for(200),
    );
    a.pm.read(PeerId(8), &act_one).expect("act one");
    let act_two = a.pm.take_outbound(PeerId(8));
    let signer = lightning::sign::InMemoryNodeSigner::new(secret_for(9));
    let Ok(lightning::transport::HandshakeStep::Complete {
        act_three: Some(act_three),
        ..
    }) = handshake.process_act(&act_two, &signer)
    else {
        panic!("handshake");
    };
    let second = a.pm.read(PeerId(8), &act_three);
    assert_eq!(second, Err(DisconnectReason::DuplicateConnection));
    assert_eq!(a.pm.connected_peers().len(), 1);
}

#[test]
fn a_peer_that_does_not_read_is_paused_then_dropped() {
    let mut config = PeerManagerConfig::new(chain());
    config.pause_read_bytes = 200_000;
    config.max_buffered_bytes = 1_000_000;
    let mut a = node_with(1, config);
    let mut raw = raw_after_init(&mut a);
    let big_ping = Message::Ping(Ping {
        num_pong_bytes: 65531,
        ignored: vec![],
        extension: NoTlvs::default(),
    });
    let mut paused_after = None;
    let mut result = Ok(lightning::transport::ReadStatus { pause_read: false });
    for i in 0..20 {
        let frame = raw.frame(&big_ping.encode_to_vec());
        result = a.pm.read(A, &frame);
        match &result {
            Ok(status) if status.pause_read && paused_after.is_none() => paused_after = Some(i),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert_eq!(paused_after, Some(3), "paused once about 200 kB were waiting");
    assert!(matches!(result, Err(DisconnectReason::OutboundOverflow { buffered_bytes }) if buffered_bytes > 1_000_000));
}

#[test]
fn take_outbound_hands_out_bounded_chunks() {
    let mut config = PeerManagerConfig::new(chain());
    config.max_take_bytes = 100_000;
    let mut a = node_with(1, config);
    let mut raw = raw_after_init(&mut a);
    let big_ping = Message::Ping(Ping {
        num_pong_bytes: 65531,
        ignored: vec![],
        extension: NoTlvs::default(),
    });
    for _ in 0..5 {
        let frame = raw.frame(&big_ping.encode_to_vec());
        a.pm.read(A, &frame).expect("within limits");
    }
    let mut pongs = 0;
    while a.pm.has_outbound(A) {
        let chunk = a.pm.take_outbound(A);
        // At most one frame past the bound.
        assert!(chunk.len() < 100_000 + 65535 + 34, "chunk of {} bytes", chunk.len());
        pongs += raw
            .receive(&chunk)
            .iter()
            .filter(|m| matches!(m, Message::Pong(p) if p.ignored.len() == 65531))
            .count();
    }
    assert_eq!(pongs, 5);
}

#[test]
fn a_handler_can_disconnect_a_peer_with_an_error() {
    let (mut a, mut b) = connected_pair(&[usize::MAX]);
    let error = Message::Error(lightning::wire::ErrorMessage {
        channel_id: ChannelId([5; 32]),
        data: b"bad signature".to_vec(),
        extension: NoTlvs::default(),
    });
    a.channel.borrow_mut().pending_actions.push(HandlerAction::Disconnect {
        node_id: b.pm.node_id(),
        message: Some(error.clone()),
        reason: "channel failed".into(),
    });
    let bytes = a.pm.take_outbound(A);
    assert_eq!(
        a.pm.take_disconnects(),
        vec![(A, DisconnectReason::HandlerRequested("channel failed".into()))]
    );
    b.pm.read(A, &bytes).expect("error is a valid message");
    assert_eq!(b.channel.borrow().messages, vec![(a.pm.node_id(), error)]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Arbitrary bytes in place of a handshake never panic: they fail the handshake or
    /// wait for more.
    #[test]
    fn arbitrary_handshake_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..6)) {
        let mut a = node(1);
        a.pm.new_inbound(A).expect("fresh");
        for chunk in chunks {
            if a.pm.read(A, &chunk).is_err() {
                break;
            }
        }
    }

    /// Arbitrary plaintexts inside valid frames, after `init`, never panic: each is
    /// handled or disconnects with a reason, and a disconnect is final.
    #[test]
    fn arbitrary_frames_never_panic(plaintexts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..10)) {
        let mut a = node(1);
        let mut raw = raw_after_init(&mut a);
        let mut failed = false;
        for plaintext in plaintexts {
            let frame = raw.frame(&plaintext);
            match a.pm.read(A, &frame) {
                Ok(_) => prop_assert!(!failed),
                Err(DisconnectReason::AlreadyDisconnecting) => prop_assert!(failed),
                Err(_) => {
                    prop_assert!(!failed);
                    failed = true;
                }
            }
        }
    }
}

/// The buffer limit is inclusive: a peer with exactly `max_buffered_bytes` waiting is
/// kept, one byte more and it is dropped.
#[test]
fn the_buffer_limit_is_inclusive() {
    let big_ping = Message::Ping(Ping {
        num_pong_bytes: 65531,
        ignored: vec![],
        extension: NoTlvs::default(),
    });
    let read_one_ping = |max_buffered_bytes: usize| {
        let mut config = PeerManagerConfig::new(chain());
        config.max_buffered_bytes = max_buffered_bytes;
        let mut a = node_with(1, config);
        let mut raw = raw_after_init(&mut a);
        let frame = raw.frame(&big_ping.encode_to_vec());
        a.pm.read(A, &frame)
    };
    // One pong waiting: learn its size from the overflow a small limit reports (one that
    // the handshake and `init` fit in).
    let Err(DisconnectReason::OutboundOverflow { buffered_bytes }) = read_one_ping(1_000) else {
        panic!("a 1,000-byte limit drops the peer");
    };
    assert!(buffered_bytes > 65531, "the pong is waiting: {buffered_bytes}");
    assert!(read_one_ping(buffered_bytes).is_ok());
    assert!(matches!(
        read_one_ping(buffered_bytes - 1),
        Err(DisconnectReason::OutboundOverflow { buffered_bytes: b }) if b == buffered_bytes
    ));
}

/// A handler's message for a peer whose handshake finished but whose `init` has not
/// arrived is not sent: nothing but `init` may come first (BOLT 1). So is one for a peer
/// being disconnected.
#[test]
fn handler_messages_wait_for_init_and_stop_at_disconnect() {
    let mut a = node(1);
    let mut raw = RawPeer::connect(&mut a.pm, A, 9);
    let ping = |n: u16| {
        Message::Ping(Ping {
            num_pong_bytes: n,
            ignored: vec![],
            extension: NoTlvs::default(),
        })
    };
    let raw_id = raw.node_id();
    let send = |a: &Node, message: Message| {
        a.channel.borrow_mut().pending_actions.push(HandlerAction::Send {
            node_id: raw_id,
            message,
        })
    };
    send(&a, ping(1));
    let received = raw.receive(&a.pm.take_outbound(A));
    assert!(matches!(received.as_slice(), [Message::Init(_)]), "{received:?}");

    let frame = raw.frame(&RawPeer::init_bytes());
    a.pm.read(A, &frame).expect("init accepted");
    send(&a, ping(2));
    let received = raw.receive(&a.pm.take_outbound(A));
    assert!(
        matches!(received.as_slice(), [Message::Ping(p)] if p.num_pong_bytes == 2),
        "{received:?}"
    );

    a.channel.borrow_mut().pending_actions.extend([
        HandlerAction::Disconnect {
            node_id: raw.node_id(),
            message: None,
            reason: "done".into(),
        },
        HandlerAction::Send {
            node_id: raw.node_id(),
            message: ping(3),
        },
    ]);
    let received = raw.receive(&a.pm.take_outbound(A));
    assert!(received.is_empty(), "{received:?}");
}

/// BOLT 1: a ping asking for fewer than 65,532 bytes is answered with that many; one
/// asking for 65,532 or more is not answered.
#[test]
fn pings_asking_for_65532_bytes_or_more_are_not_answered() {
    let mut a = node(1);
    let mut raw = raw_after_init(&mut a);
    for (num_pong_bytes, answered) in [(65_531, true), (65_532, false), (65_535, false)] {
        let ping = Message::Ping(Ping {
            num_pong_bytes,
            ignored: vec![],
            extension: NoTlvs::default(),
        });
        let frame = raw.frame(&ping.encode_to_vec());
        a.pm.read(A, &frame).expect("a ping is fine");
        let received = raw.receive(&a.pm.take_outbound(A));
        let pongs: Vec<usize> = received
            .iter()
            .filter_map(|m| match m {
                Message::Pong(p) => Some(p.ignored.len()),
                _ => None,
            })
            .collect();
        let expected = if answered {
            vec![usize::from(num_pong_bytes)]
        } else {
            vec![]
        };
        assert_eq!(pongs, expected, "ping for {num_pong_bytes} bytes");
    }
}

/// A length header that fails its MAC drops the peer as soon as the header is in, without
/// waiting for a body.
#[test]
fn a_forged_length_header_alone_drops_the_peer() {
    let mut a = node(1);
    let mut raw = raw_after_init(&mut a);
    let mut frame = raw.frame(
        &Message::Ping(Ping {
            num_pong_bytes: 1,
            ignored: vec![],
            extension: NoTlvs::default(),
        })
        .encode_to_vec(),
    );
    frame[0] ^= 1;
    let reason = a.pm.read(A, &frame[..18]).expect_err("a forged header");
    assert!(matches!(reason, DisconnectReason::Decrypt(_)), "{reason:?}");
}

/// `take_outbound` stops encrypting once `max_take_bytes` are ready: a bound of exactly
/// one frame hands out one frame, then the next. And what was handed out no longer
/// counts as waiting: a peer that reads keeps being served.
#[test]
fn take_outbound_stops_at_the_bound_and_forgets_what_it_handed_out() {
    // A pong for 10 bytes is a 14-byte message: an 18 + 14 + 16 = 48-byte frame.
    let frame_len = 48;
    let mut config = PeerManagerConfig::new(chain());
    config.max_take_bytes = frame_len;
    config.max_buffered_bytes = 2 * frame_len;
    let mut a = node_with(1, config);
    let mut raw = raw_after_init(&mut a);
    let ping = |n: u16| {
        Message::Ping(Ping {
            num_pong_bytes: n,
            ignored: vec![],
            extension: NoTlvs::default(),
        })
        .encode_to_vec()
    };
    for _ in 0..2 {
        let frame = raw.frame(&ping(10));
        a.pm.read(A, &frame).expect("within limits");
    }
    assert_eq!(a.pm.take_outbound(A).len(), frame_len);
    assert_eq!(a.pm.take_outbound(A).len(), frame_len);
    assert!(!a.pm.has_outbound(A));
    // Many more rounds, each within the limit once the last was taken.
    for _ in 0..10 {
        let frame = raw.frame(&ping(10));
        a.pm.read(A, &frame).expect("what was taken is not waiting any more");
        assert_eq!(a.pm.take_outbound(A).len(), frame_len);
    }
}

/// After a bounded `take_outbound`, what it left queued still counts as waiting: reads
/// pause again as soon as that and the next answer reach the limit.
#[test]
fn what_a_bounded_take_leaves_queued_still_counts() {
    // A pong for 10 bytes is a 14-byte message (a 48-byte frame).
    let mut config = PeerManagerConfig::new(chain());
    config.max_take_bytes = 48;
    config.pause_read_bytes = 2 * 14;
    let mut a = node_with(1, config);
    let mut raw = raw_after_init(&mut a);
    let ping = Message::Ping(Ping {
        num_pong_bytes: 10,
        ignored: vec![],
        extension: NoTlvs::default(),
    })
    .encode_to_vec();
    let mut read_ping = |a: &mut Node| a.pm.read(A, &raw.frame(&ping)).expect("within limits").pause_read;
    assert!(!read_ping(&mut a), "one pong waiting");
    assert!(read_ping(&mut a), "two pongs waiting: the limit");
    assert_eq!(a.pm.take_outbound(A).len(), 48, "one frame handed out");
    // One pong still queued, and the answer to this ping: the limit again.
    assert!(read_ping(&mut a), "the pong left queued is still waiting");
}

/// Gossip (BOLT 7's routing messages) goes to the gossip handler, not the channel one.
#[test]
fn gossip_reaches_the_gossip_handler() {
    let mut a = node(1);
    let mut raw = raw_after_init(&mut a);
    // node_announcement: signature, no features, timestamp, node id, colour, alias, no
    // addresses.
    let mut plaintext = 257u16.to_be_bytes().to_vec();
    plaintext.extend_from_slice(&[0x11; 64]);
    plaintext.extend_from_slice(&[0, 0]);
    plaintext.extend_from_slice(&1_700_000_000u32.to_be_bytes());
    plaintext.extend_from_slice(&raw.node_id().serialize());
    plaintext.extend_from_slice(&[1, 2, 3]);
    plaintext.extend_from_slice(&[b'a'; 32]);
    plaintext.extend_from_slice(&[0, 0]);
    let announcement = Message::decode(&plaintext).expect("a node_announcement");
    assert!(matches!(announcement, Message::NodeAnnouncement(_)));
    let frame = raw.frame(&plaintext);
    a.pm.read(A, &frame).expect("valid");
    assert_eq!(a.gossip.borrow().messages, vec![(raw.node_id(), announcement)]);
    assert!(a.channel.borrow().messages.is_empty());
}

/// A peer whose pong is late but that keeps sending is alive: only a tick with no bytes
/// at all after the ping drops it (an empty read is no sign of life).
#[test]
fn a_peer_still_sending_is_kept_while_its_pong_is_late() {
    let mut a = node(1);
    let mut raw = raw_after_init(&mut a);
    a.pm.timer_tick();
    let ping = raw.receive(&a.pm.take_outbound(A));
    assert!(matches!(ping.as_slice(), [Message::Ping(_)]), "{ping:?}");
    // An unknown odd message (ignored), instead of the pong.
    let frame = raw.frame(&[0x80, 0x01, 0xaa]);
    a.pm.read(A, &frame).expect("ignored");
    a.pm.timer_tick();
    assert!(a.pm.take_disconnects().is_empty(), "bytes arrived since the last tick");
    a.pm.read(A, &[]).expect("nothing to read");
    a.pm.timer_tick();
    assert_eq!(a.pm.take_disconnects(), vec![(A, DisconnectReason::PingTimeout)]);
}
