//! A hostile peer's messages, decoded from arbitrary bytes and aimed at a live channel,
//! never panic the channel manager; and the honest peer's channel keeps its value. A
//! peer played by a bare channel state machine offers HTLCs with unreadable onions.

use lightning::bitcoin::secp256k1::{ecdsa::Signature, PublicKey, Secp256k1, SecretKey};
use lightning::chan::manager::payments::MIN_FINAL_CLTV_EXPIRY_DELTA;
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

/// Nodes 1 and 2 with a channel from 1 to 2 (1,000,000 sat, 400,000,000 msat pushed),
/// funded from the wallet coin `[8; 32]`, confirmed and ready at both ends. Its id is
/// the same on every call (the nodes' keys are fixed), so the hostile messages can aim
/// at it before it is opened.
fn open_hostile_target() -> (Node, Node, ChannelId) {
    let (mut a, mut b) = (node(1), node(2));
    connect(&mut a, &mut b, LINK);
    let b_id = b.node_id();
    a.channel_handler_mut()
        .open_channel(b_id, 1_000_000, 400_000_000)
        .expect("connected");
    pump(&mut a, &mut b, LINK);
    let ready = events(&mut a);
    let (channel_id, funding) = sim::wallet::fund_channel(&mut a, &ready[0], [8; 32]).expect("funded");
    pump(&mut a, &mut b, LINK);
    for n in [&mut a, &mut b] {
        n.channel_handler_mut().transaction_confirmed(&funding, 101);
        n.channel_handler_mut().best_block_updated(103);
    }
    pump(&mut a, &mut b, LINK);
    (a, b, channel_id)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn hostile_well_formed_messages_never_panic_the_manager(
        messages in proptest::collection::vec(hostile(open_hostile_target().2), 1..10)
    ) {
        let (a, mut b, channel_id) = open_hostile_target();
        prop_assert_eq!(
            b.channel_handler().channel(&channel_id).map(|c| c.phase()),
            Some(lightning::chan::channel::ChannelPhase::Normal)
        );
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

/// A node's channel manager with its peer played by a bare channel state machine, so the
/// peer can put anything in its HTLCs' onions while signing real commitments.
mod hand_driven_peer {
    use super::*;
    use lightning::bitcoin::Transaction;
    use sim::wallet::{fund_channel, funding_outpoint, funding_transaction};

    use lightning::chan::channel::ChannelLimits;
    use lightning::chan::channel::ChannelPhase;
    use lightning::onion::errors::{INVALID_ONION_HMAC, INVALID_ONION_KEY, INVALID_ONION_VERSION};
    use lightning::transport::HandlerAction;
    use lightning::wire::Shutdown;
    use lightning::wire::{OnionPacket, UpdateFailMalformedHtlc};
    use tests::channel_pair::{
        chain, committed_upfront, open_params, preimage, shutdown_script, signer_for, Chan, FUNDING_SATOSHIS,
    };

    /// The messages among a handler's actions.
    fn sent(actions: Vec<HandlerAction>) -> Vec<Message> {
        actions
            .into_iter()
            .filter_map(|action| match action {
                HandlerAction::Send { message, .. } => Some(message),
                _ => None,
            })
            .collect()
    }

    /// Hands `message` to `b`'s manager as if `a_id` sent it; returns what it sends back.
    fn to_manager(b: &mut Node, a_id: &PublicKey, message: Message) -> Vec<Message> {
        let manager = b.channel_handler_mut();
        manager.handle_message(a_id, message);
        sent(manager.take_actions())
    }

    fn only<T>(messages: Vec<Message>, pick: impl Fn(Message) -> Option<T>) -> T {
        let found: Vec<T> = messages.into_iter().filter_map(pick).collect();
        assert_eq!(found.len(), 1, "expected exactly one");
        found.into_iter().next().expect("one")
    }

    /// The funding transaction confirms at both ends and they exchange `channel_ready`.
    fn exchange_channel_ready(peer: &mut Chan, b: &mut Node, a_id: &PublicKey, funding: &Transaction) {
        let manager = b.channel_handler_mut();
        manager.transaction_confirmed(funding, 101);
        manager.best_block_updated(103);
        let b_ready = only(sent(manager.take_actions()), |m| match m {
            Message::ChannelReady(m) => Some(m),
            _ => None,
        });
        let ready = peer.funding_confirmed().expect("ready");
        to_manager(b, a_id, Message::ChannelReady(ready));
        peer.channel_ready(&b_ready).expect("ready");
    }

    /// An open channel from the bare peer to node `b`; returns them.
    fn open() -> (Chan, Node, PublicKey) {
        let (mut a, mut b) = (node(1), node(2));
        connect(&mut a, &mut b, LINK);
        let a_id = a.node_id();
        let params = open_params(FUNDING_SATOSHIS, 0, 1000);
        let (mut peer, open) = Chan::new_outbound(signer_for(0), &params).expect("open");
        let replies = to_manager(&mut b, &a_id, Message::OpenChannel(Box::new(open)));
        let accept = only(replies, |m| match m {
            Message::AcceptChannel(m) => Some(m),
            _ => None,
        });
        peer.accept_channel(&accept).expect("accepted");
        let script = peer.funding_script_pubkey().expect("both funding keys known");
        let funding = funding_transaction([5; 32], FUNDING_SATOSHIS, script);
        let created = peer
            .funding_transaction_generated(funding_outpoint(&funding))
            .expect("funding_created");
        let replies = to_manager(&mut b, &a_id, Message::FundingCreated(created));
        let signed = only(replies, |m| match m {
            Message::FundingSigned(m) => Some(m),
            _ => None,
        });
        peer.funding_signed(&signed).expect("commitment 0 verified");
        exchange_channel_ready(&mut peer, &mut b, &a_id, &funding);
        let _ = peer.take_monitor_updates();
        (peer, b, a_id)
    }

    /// The peer offers an HTLC with `onion` and completes the dance; returns what `b`
    /// answers once the HTLC is irrevocably committed.
    fn offer(onion: OnionPacket) -> Vec<Message> {
        let (mut peer, mut b, a_id) = open();
        let add = peer.send_htlc(5_000_000, preimage(1).1, 800_000, onion).expect("add");
        to_manager(&mut b, &a_id, Message::UpdateAddHtlc(Box::new(add)));
        let signed = peer.send_commitment().expect("signs").expect("something to sign");
        let replies = to_manager(&mut b, &a_id, Message::CommitmentSigned(signed));
        let mut answers = Vec::new();
        for reply in replies {
            match reply {
                Message::RevokeAndAck(m) => peer.revoke_and_ack(&m).expect("valid revocation"),
                Message::CommitmentSigned(m) => {
                    let revoke = peer.commitment_signed(&m).expect("valid commitment");
                    answers.extend(to_manager(&mut b, &a_id, Message::RevokeAndAck(revoke)));
                }
                other => answers.push(other),
            }
        }
        answers
    }

    /// A channel from node `b` to the bare peer, which plays the fundee; returns them.
    fn open_from_node() -> (Chan, Node, PublicKey) {
        let (mut a, mut b) = (node(1), node(2));
        connect(&mut a, &mut b, LINK);
        let a_id = a.node_id();
        let manager = b.channel_handler_mut();
        manager.open_channel(a_id, FUNDING_SATOSHIS, 0).expect("connected");
        let open = only(sent(manager.take_actions()), |m| match m {
            Message::OpenChannel(m) => Some(m),
            _ => None,
        });
        let limits = ChannelLimits::default_for(FUNDING_SATOSHIS);
        let (mut peer, accept) =
            Chan::new_inbound(signer_for(1), chain(), limits, 3, &committed_upfront(1), &open).expect("accepted");
        to_manager(&mut b, &a_id, Message::AcceptChannel(Box::new(accept)));
        let ready = events(&mut b);
        let (_, funding) = fund_channel(&mut b, &ready[0], [5; 32]).expect("funded");
        let created = only(sent(b.channel_handler_mut().take_actions()), |m| match m {
            Message::FundingCreated(m) => Some(m),
            _ => None,
        });
        let signed = peer.funding_created(&created).expect("commitment 0 verified");
        to_manager(&mut b, &a_id, Message::FundingSigned(signed));
        exchange_channel_ready(&mut peer, &mut b, &a_id, &funding);
        b.channel_handler_mut().take_events();
        (peer, b, a_id)
    }

    /// Delivers `messages` from `b` to the peer and what each side answers, the peer
    /// signing whenever it has something to sign, until both are quiet.
    fn settle_with(peer: &mut Chan, b: &mut Node, a_id: &PublicKey, mut messages: Vec<Message>) {
        for _ in 0..20 {
            let mut to_b = Vec::new();
            for message in messages.drain(..) {
                match message {
                    Message::UpdateAddHtlc(m) => peer.update_add_htlc(&m).expect("a valid add"),
                    Message::CommitmentSigned(m) => {
                        let revoke = peer.commitment_signed(&m).expect("a valid commitment");
                        to_b.push(Message::RevokeAndAck(revoke));
                    }
                    Message::RevokeAndAck(m) => peer.revoke_and_ack(&m).expect("a valid revocation"),
                    other => panic!("unexpected {other:?}"),
                }
            }
            if let Some(signed) = peer.send_commitment().expect("signs") {
                to_b.push(Message::CommitmentSigned(signed));
            }
            if to_b.is_empty() {
                return;
            }
            for message in to_b {
                messages.extend(to_manager(b, a_id, message));
            }
        }
        panic!("did not settle");
    }

    /// The peer failing our HTLC as malformed fails the payment, with the peer's code.
    #[test]
    fn a_malformed_failure_from_the_peer_fails_the_payment_with_its_code() {
        let (mut peer, mut b, a_id) = open_from_node();
        let hash = preimage(1).1;
        let manager = b.channel_handler_mut();
        manager
            .send_payment(a_id, hash, [3; 32], 5_000_000, MIN_FINAL_CLTV_EXPIRY_DELTA)
            .expect("a usable channel");
        let messages = sent(manager.take_actions());
        let add_id = messages
            .iter()
            .find_map(|m| match m {
                Message::UpdateAddHtlc(add) => Some(add.id),
                _ => None,
            })
            .expect("an add");
        settle_with(&mut peer, &mut b, &a_id, messages);
        let failed = peer
            .fail_malformed_htlc(add_id, [0; 32], INVALID_ONION_HMAC)
            .expect("committed");
        let answers = to_manager(&mut b, &a_id, Message::UpdateFailMalformedHtlc(failed));
        settle_with(&mut peer, &mut b, &a_id, answers);
        assert_eq!(
            outcomes(&b.channel_handler_mut().take_events()),
            vec![Outcome::Failed(hash, Some(INVALID_ONION_HMAC))]
        );
        assert!(peer.holder_view().htlcs.is_empty());
    }

    fn malformed_code(answers: Vec<Message>) -> u16 {
        let failed: UpdateFailMalformedHtlc = only(answers, |m| match m {
            Message::UpdateFailMalformedHtlc(m) => Some(m),
            _ => None,
        });
        failed.failure_code
    }

    /// BOLT 2/4: an onion the node cannot read is failed back as malformed, with the
    /// code naming what was wrong: an unknown version, a key that is not a point, or an
    /// HMAC that does not verify.
    #[test]
    fn unreadable_onions_are_failed_as_malformed_with_their_codes() {
        let mut onion = lightning::wire::OnionPacket {
            version: 1,
            public_key: [2; 33],
            hop_payloads: [0; 1300],
            hmac: [0; 32],
        };
        assert_eq!(malformed_code(offer(onion.clone())), INVALID_ONION_VERSION);
        onion.version = 0;
        onion.public_key = [4; 33];
        assert_eq!(malformed_code(offer(onion.clone())), INVALID_ONION_KEY);
        onion.public_key =
            PublicKey::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[3; 32]).expect("key")).serialize();
        assert_eq!(malformed_code(offer(onion)), INVALID_ONION_HMAC);
    }

    /// BOLT 2: a `shutdown` to another script than the peer committed to at opening
    /// fails the connection (a `warning`, then a disconnect), not the channel: nothing
    /// goes on chain, and the committed script still closes the channel later.
    #[test]
    fn a_shutdown_breaking_the_upfront_commitment_fails_the_connection_not_the_channel() {
        let (peer, mut b, a_id) = open();
        let channel_id = peer.channel_id();
        let elsewhere = Shutdown {
            channel_id,
            scriptpubkey: shutdown_script(5),
            extension: NoTlvs::default(),
        };
        let manager = b.channel_handler_mut();
        manager.take_events();
        manager.handle_message(&a_id, Message::Shutdown(elsewhere));
        let actions = manager.take_actions();
        assert!(
            matches!(
                actions.as_slice(),
                [HandlerAction::Disconnect { node_id, message: Some(Message::Warning(w)), .. }]
                    if *node_id == a_id && w.channel_id == channel_id
            ),
            "{actions:?}"
        );
        assert!(manager.take_events().is_empty(), "no event: the channel is not closed");
        assert!(manager.broadcaster().transactions.is_empty(), "nothing on chain");
        let channel = manager.channel(&channel_id).expect("still managed");
        assert_eq!(channel.phase(), ChannelPhase::Normal);
        assert_eq!(channel.close_state().counterparty_script, None);
        let committed = Shutdown {
            channel_id,
            scriptpubkey: shutdown_script(0),
            extension: NoTlvs::default(),
        };
        let reply = only(to_manager(&mut b, &a_id, Message::Shutdown(committed)), |m| match m {
            Message::Shutdown(m) => Some(m),
            _ => None,
        });
        assert_eq!(reply.channel_id, channel_id);
    }

    /// Node `b` pays the peer twice over `channel_id`: the first HTLC is signed, the
    /// second waits for the peer's revocation. Returns what `b` sent.
    fn two_htlcs_the_second_unsigned(b: &mut Node, channel_id: &ChannelId) -> Vec<Message> {
        let manager = b.channel_handler_mut();
        for n in [1, 2] {
            manager
                .send_payment_over(
                    channel_id,
                    preimage(n).1,
                    [0; 32],
                    1_000_000,
                    MIN_FINAL_CLTV_EXPIRY_DELTA,
                )
                .expect("sent");
        }
        let sent_by_b = sent(manager.take_actions());
        assert!(
            matches!(
                sent_by_b.as_slice(),
                [
                    Message::UpdateAddHtlc(_),
                    Message::CommitmentSigned(_),
                    Message::UpdateAddHtlc(_)
                ]
            ),
            "the second HTLC waits for a revocation: {sent_by_b:?}"
        );
        sent_by_b
    }

    /// The peer takes `messages` (adds and a `commitment_signed`) and returns its
    /// revocation.
    fn peer_revokes(peer: &mut Chan, messages: Vec<Message>) -> Message {
        let mut revocation = None;
        for message in messages {
            match message {
                Message::UpdateAddHtlc(m) => peer.update_add_htlc(&m).expect("a valid add"),
                Message::CommitmentSigned(m) => {
                    revocation = Some(Message::RevokeAndAck(peer.commitment_signed(&m).expect("valid")))
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        revocation.expect("a commitment to revoke for")
    }

    /// `answers` are a `commitment_signed`, then the `shutdown` for `channel_id`.
    #[track_caller]
    fn assert_commitment_then_shutdown(answers: &[Message], channel_id: ChannelId) {
        assert!(
            matches!(
                answers,
                [Message::CommitmentSigned(_), Message::Shutdown(s)] if s.channel_id == channel_id
            ),
            "{answers:?}"
        );
    }

    /// BOLT 2: the node answers the peer's `shutdown` only once nothing of its own is
    /// pending on the peer's commitment. With an HTLC it could not sign yet (awaiting
    /// the peer's `revoke_and_ack`), its `shutdown` follows the `commitment_signed`
    /// that the revocation lets it send.
    #[test]
    fn a_shutdown_reply_follows_the_commitment_of_our_pending_htlc() {
        let (mut peer, mut b, a_id) = open_from_node();
        let channel_id = peer.channel_id();
        let first = two_htlcs_the_second_unsigned(&mut b, &channel_id);
        let shutdown = peer
            .send_shutdown(shutdown_script(1))
            .expect("nothing of the peer's pending");
        let answers = to_manager(&mut b, &a_id, Message::Shutdown(shutdown));
        assert!(answers.is_empty(), "no shutdown yet: {answers:?}");
        let revocation = peer_revokes(&mut peer, first);
        assert_commitment_then_shutdown(&to_manager(&mut b, &a_id, revocation), channel_id);
    }

    /// A close asked for while an HTLC of ours waits for the peer's revocation is taken,
    /// and the node's `shutdown` follows the `commitment_signed` that the revocation
    /// lets it send (BOLT 2: never with updates pending on the peer's commitment).
    #[test]
    fn a_close_asked_for_with_an_unsigned_htlc_shuts_down_once_it_is_signed() {
        let (mut peer, mut b, a_id) = open_from_node();
        let channel_id = peer.channel_id();
        let first = two_htlcs_the_second_unsigned(&mut b, &channel_id);
        let manager = b.channel_handler_mut();
        manager.close_channel(&channel_id).expect("taken, to be sent when due");
        let actions = manager.take_actions();
        assert!(actions.is_empty(), "nothing yet: {actions:?}");
        let revocation = peer_revokes(&mut peer, first);
        assert_commitment_then_shutdown(&to_manager(&mut b, &a_id, revocation), channel_id);
    }

    /// The peer offers node `b` an HTLC of `htlc_msat` expiring at `htlc_cltv` for one of
    /// `b`'s invoices, its onion saying `onion_msat` and `onion_cltv`; returns the
    /// failure code `b` sends back, read with the onion's shared secret.
    fn final_failure(htlc_msat: u64, htlc_cltv: u32, onion_msat: u64, onion_cltv: u32) -> Option<u16> {
        use lightning::bitcoin::secp256k1::{Secp256k1, SecretKey};
        use lightning::onion::{construct_onion_packet, decode_failure_packet, HopPayload, OnionHop};
        use lightning::wire::Encode;
        let (mut peer, mut b, a_id) = open();
        let (hash, secret) = b.channel_handler_mut().create_inbound_payment(Some(onion_msat));
        let hop = OnionHop {
            node_id: b.node_id(),
            payload: HopPayload::receive(onion_msat, onion_cltv, secret, onion_msat).encode_to_vec(),
        };
        let session_key = SecretKey::from_slice(&[0x33; 32]).expect("key");
        let (onion, secrets) =
            construct_onion_packet(&Secp256k1::new(), &session_key, &[hop], &hash.0).expect("one hop fits");
        let add = peer.send_htlc(htlc_msat, hash, htlc_cltv, onion).expect("add");
        to_manager(&mut b, &a_id, Message::UpdateAddHtlc(Box::new(add)));
        let signed = peer.send_commitment().expect("signs").expect("something to sign");
        let mut answers = Vec::new();
        for reply in to_manager(&mut b, &a_id, Message::CommitmentSigned(signed)) {
            match reply {
                Message::RevokeAndAck(m) => peer.revoke_and_ack(&m).expect("valid revocation"),
                Message::CommitmentSigned(m) => {
                    let revoke = peer.commitment_signed(&m).expect("valid commitment");
                    answers.extend(to_manager(&mut b, &a_id, Message::RevokeAndAck(revoke)));
                }
                other => answers.push(other),
            }
        }
        let failed = only(answers, |m| match m {
            Message::UpdateFailHtlc(m) => Some(m),
            _ => None,
        });
        decode_failure_packet(&secrets, &failed.reason).and_then(|d| d.failure_code())
    }

    /// BOLT 4: a final HTLC bringing less value or time than its onion says fails with
    /// `final_incorrect_htlc_amount` or `final_incorrect_cltv_expiry`; the onion naming
    /// more than the invoice's total is the payment's details.
    #[test]
    fn a_final_htlc_cut_short_of_its_onion_has_its_own_codes() {
        use lightning::onion::errors::{
            FINAL_INCORRECT_CLTV_EXPIRY, FINAL_INCORRECT_HTLC_AMOUNT, INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS,
        };
        assert_eq!(
            final_failure(5_000_000, 800_000, 5_000_001, 800_000),
            Some(FINAL_INCORRECT_HTLC_AMOUNT)
        );
        assert_eq!(
            final_failure(5_000_000, 800_000, 5_000_000, 800_001),
            Some(FINAL_INCORRECT_CLTV_EXPIRY)
        );
        // Too near to expire is the payment's details, whatever the onion says.
        assert_eq!(
            final_failure(5_000_000, 110, 5_000_000, 110),
            Some(INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS)
        );
    }
}
