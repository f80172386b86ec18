//! Writes seed corpora from real traffic: two whole nodes open a channel, pay both
//! ways, fail a payment, stall persistence and close, and every message, onion, hop
//! payload, persisted manager, channel, monitor and monitor update they produce becomes
//! a seed for its target; the byte stream a node reads becomes a peer-manager seed.
//!
//! `cargo run -p lnfuzz --bin seeds -- [DIR]` (default `corpora`). Files are named by
//! a hash of their content, so running it twice adds nothing; at most a few seeds per
//! message type keep the corpora small.

use std::collections::BTreeMap;
use std::path::PathBuf;

use lightning::bitcoin::hashes::{sha256, Hash};
use lightning::bitcoin::secp256k1::Secp256k1;
use lightning::chan::manager::payments::MIN_FINAL_CLTV_EXPIRY_DELTA;
use lightning::events::Event;
use lightning::onion::errors::build_failure_packet;
use lightning::onion::packet::peel_onion_packet;
use lightning::sign::KeysManager;
use lightning::transport::{PeerId, TransportCipher};
use lightning::wire::{BigSize, Encode, Message};
use sim::node::{events, node, node_with_config, regtest, Node};
use sim::wallet::fund_channel;

const LINK: PeerId = PeerId(1);
/// Seeds kept per message type (wire messages) or per kind of state.
const PER_KIND: usize = 3;

struct Corpus {
    dir: PathBuf,
    kinds: BTreeMap<(String, String), usize>,
    written: usize,
}

impl Corpus {
    /// Adds `bytes` to `target`'s corpus unless `kind` already has enough seeds.
    fn add(&mut self, target: &str, kind: &str, bytes: &[u8]) {
        let count = self.kinds.entry((target.to_string(), kind.to_string())).or_default();
        if *count >= PER_KIND {
            return;
        }
        *count += 1;
        let dir = self.dir.join(target);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let name: String = sha256::Hash::hash(bytes).to_byte_array()[..10]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let path = dir.join(name);
        if !path.exists() {
            std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            self.written += 1;
        }
    }
}

fn whole_node(keys_seed: u8, session_seed: u8) -> Node {
    node_with_config(
        [keys_seed; 32],
        [session_seed; 32],
        lightning::chan::manager::ChannelManagerConfig::new(regtest(), sim::node::REGTEST_FEERATE_PER_KW),
        true,
    )
}

/// Moves bytes both ways until quiet, then feeds every message either side decoded to
/// the corpus (each node's message log keeps them until taken).
fn pump(a: &mut Node, b: &mut Node, corpus: &mut Corpus) {
    sim::node::pump(a, b, LINK);
    for n in [a, b] {
        for record in n.take_message_log().into_iter().filter(|r| !r.sent) {
            corpus.add("wire_message", record.name, &record.encoded);
        }
    }
}

/// The onion of an `update_add_htlc` the payee (keys seed 3, the onion target's key)
/// receives, with its associated data; and the payload it peels to.
fn onion_seeds(encoded: &[u8], corpus: &mut Corpus) {
    let Ok(Message::UpdateAddHtlc(add)) = Message::decode(encoded) else {
        return;
    };
    // The onion target's first byte picks the mode: even for a raw packet.
    let mut seed = vec![0];
    seed.extend_from_slice(&add.onion_routing_packet.encode_to_vec());
    seed.extend_from_slice(&add.payment_hash.0);
    corpus.add("onion_peel", "update_add_htlc", &seed);
    let keys = KeysManager::new(&[3; 32], &[4; 32]);
    if let Ok(peeled) = peel_onion_packet(&Secp256k1::new(), &add.onion_routing_packet, &keys, &add.payment_hash.0) {
        corpus.add("hop_payload", "final", &peeled.payload);
        corpus.add("tlv_stream", "hop payload", &peeled.payload);
        // Odd: the sender's plaintext, a final hop (length, payload, a zero HMAC).
        let mut plaintext = vec![1];
        lightning::wire::BigSize(peeled.payload.len() as u64).encode(&mut plaintext);
        plaintext.extend_from_slice(&peeled.payload);
        plaintext.extend_from_slice(&[0; 32]);
        corpus.add("onion_peel", "sender plaintext", &plaintext);
    }
}

/// Saves what each node persists: the manager with its monitors, each channel (keys id, then state) of
/// the node with keys seed 9, each monitor.
fn state_seeds(a: &Node, b: &Node, stage: &str, corpus: &mut Corpus) {
    for n in [a, b] {
        let manager = n.channel_handler();
        let restart = lnfuzz::targets::persist::restart_input(&manager.encode(), &manager.persister().monitors);
        corpus.add("manager_read", stage, &restart);
        for monitor in manager.persister().monitors.values() {
            corpus.add("monitor_read", stage, &monitor.encode_to_vec());
        }
    }
    let manager = a.channel_handler();
    for id in manager.channel_ids() {
        if let (Some(channel), Some(keys_id)) = (manager.channel(&id), manager.channel_keys_id(&id)) {
            let mut seed = keys_id.to_vec();
            seed.extend_from_slice(&channel.encode_state());
            let signer = lnfuzz::targets::keys(9).derive_channel_signer(&keys_id);
            assert!(
                lightning::chan::channel::Channel::read(&seed[32..], signer).is_ok(),
                "a channel_read seed must read with the target's keys"
            );
            corpus.add("channel_read", stage, &seed);
        }
    }
}

fn pay(payer: &mut Node, payee: &mut Node, amount_msat: u64, corpus: &mut Corpus, claim: bool) {
    let payee_id = payee.node_id();
    let (hash, secret) = payee.channel_handler_mut().create_inbound_payment(Some(amount_msat));
    payer
        .channel_handler_mut()
        .send_payment(payee_id, hash, secret, amount_msat, MIN_FINAL_CLTV_EXPIRY_DELTA)
        .expect("a usable channel");
    // Take the update_add_htlc before the pump feeds it to the payee.
    let to_payee = payer.take_outbound(LINK);
    payee.read(LINK, &to_payee).expect("valid bytes");
    for record in payee.take_message_log().into_iter().filter(|r| !r.sent) {
        onion_seeds(&record.encoded, corpus);
        corpus.add("wire_message", record.name, &record.encoded);
    }
    pump(payer, payee, corpus);
    if claim {
        let preimage = payee.channel_handler().payment_preimage(&hash).expect("ours");
        payee.channel_handler_mut().claim_payment(preimage).expect("claimable");
        pump(payer, payee, corpus);
    }
    events(payer);
    events(payee);
}

/// A full channel life between a funder (keys seed 9) and a payee (keys seed 3).
fn channel_life(corpus: &mut Corpus) {
    let (mut a, mut b) = (whole_node(9, 10), whole_node(3, 4));
    let act_one = a.new_outbound(LINK, b.node_id()).expect("fresh id");
    b.new_inbound(LINK).expect("fresh id");
    b.read(LINK, &act_one).expect("act one");
    pump(&mut a, &mut b, corpus);
    a.channel_handler_mut()
        .open_channel(b.node_id(), 1_000_000, 100_000_000)
        .expect("connected");
    pump(&mut a, &mut b, corpus);
    let ready = events(&mut a);
    let (_, funding) = fund_channel(&mut a, &ready[0], [8; 32]).expect("funded");
    pump(&mut a, &mut b, corpus);
    state_seeds(&a, &b, "funded", corpus);
    for n in [&mut a, &mut b] {
        n.channel_handler_mut().transaction_confirmed(&funding, 101);
        n.channel_handler_mut().best_block_updated(103);
    }
    pump(&mut a, &mut b, corpus);
    events(&mut a);
    events(&mut b);
    pay(&mut a, &mut b, 5_000_000, corpus, true);
    pay(&mut b, &mut a, 2_000_000, corpus, true);
    // Unclaimed, then failed back when it nears expiry.
    pay(&mut a, &mut b, 3_000_000, corpus, false);
    state_seeds(&a, &b, "htlc pending", corpus);
    b.channel_handler_mut().best_block_updated(131);
    pump(&mut a, &mut b, corpus);
    // Stalled persistence: the updates it holds are monitor-update seeds.
    b.channel_handler_mut().persister_mut().hold = true;
    pay(&mut a, &mut b, 1_000_000, corpus, false);
    for (_, _, bytes) in &b.channel_handler().persister().in_progress {
        corpus.add("monitor_update_read", "held", bytes);
    }
    let completed = b.channel_handler_mut().persister_mut().complete_all();
    b.channel_handler_mut().persister_mut().hold = false;
    for (id, update_id) in completed {
        b.channel_handler_mut().monitor_update_completed(&id, update_id);
    }
    pump(&mut a, &mut b, corpus);
    // Fee update, then a cooperative close.
    a.channel_handler_mut().feerate_updated(2_000);
    pump(&mut a, &mut b, corpus);
    state_seeds(&a, &b, "settled", corpus);
    let id = a.channel_handler().channel_ids()[0];
    a.channel_handler_mut().close_channel(&id).expect("open");
    pump(&mut a, &mut b, corpus);
    state_seeds(&a, &b, "closed", corpus);
    // A reconnection: reestablish.
    a.disconnected(LINK);
    b.disconnected(LINK);
    let act_one = a.new_outbound(LINK, b.node_id()).expect("fresh id");
    b.new_inbound(LINK).expect("fresh id");
    b.read(LINK, &act_one).expect("act one");
    pump(&mut a, &mut b, corpus);
}

/// The bytes node 7 (the peer-manager target's node) reads from node 8 (its `other`)
/// through the handshake, `init` and a channel opening, as the target's op stream:
/// a new inbound connection, then each read (in pieces of at most 256 bytes) followed by
/// taking what the node wants to send.
fn peer_manager_seeds(corpus: &mut Corpus) {
    let (mut initiator, mut responder) = (node(8), node(7));
    let mut ops = vec![0x00];
    let feed = |responder: &mut Node, bytes: &[u8], ops: &mut Vec<u8>| {
        for piece in bytes.chunks(256) {
            ops.push(0x02);
            ops.push((piece.len() - 1) as u8);
            ops.extend_from_slice(piece);
            ops.push(0x0c);
        }
        responder.read(PeerId(0), bytes).expect("valid bytes");
    };
    let act_one = initiator.new_outbound(PeerId(0), responder.node_id()).expect("fresh");
    responder.new_inbound(PeerId(0)).expect("fresh");
    feed(&mut responder, &act_one, &mut ops);
    let mut opened = false;
    for _ in 0..50 {
        let to_initiator = responder.take_outbound(PeerId(0));
        if !to_initiator.is_empty() {
            initiator.read(PeerId(0), &to_initiator).expect("valid bytes");
        }
        if !opened && initiator.connected_peers().len() == 1 && responder.connected_peers().len() == 1 {
            initiator
                .channel_handler_mut()
                .open_channel(responder.node_id(), 500_000, 0)
                .expect("connected");
            opened = true;
        }
        for event in events(&mut initiator) {
            if matches!(event, Event::FundingGenerationReady { .. }) {
                fund_channel(&mut initiator, &event, [6; 32]).expect("funded");
            }
        }
        let to_responder = initiator.take_outbound(PeerId(0));
        if to_responder.is_empty() && to_initiator.is_empty() {
            break;
        }
        if !to_responder.is_empty() {
            feed(&mut responder, &to_responder, &mut ops);
        }
    }
    // The target replays the input into a fresh node 7, whose entropy is the same as
    // this one's: the handshake completes again and the channel opens again.
    let replayed = lnfuzz::targets::transport::drive_peer_manager(&ops);
    assert_eq!(
        replayed.connected_peers().len(),
        1,
        "the seed no longer completes the handshake"
    );
    assert_eq!(
        replayed.channel_handler().channel_ids().len(),
        1,
        "the seed no longer opens a channel"
    );
    corpus.add("peer_manager", "handshake, init and opening", &ops);
}

/// The responder's handshake target (keys seed 5): a real act one and act three.
fn handshake_seeds(corpus: &mut Corpus) {
    let (mut initiator, mut responder) = (node(8), whole_node(5, 6));
    let act_one = initiator.new_outbound(LINK, responder.node_id()).expect("fresh");
    responder.new_inbound(LINK).expect("fresh");
    responder.read(LINK, &act_one).expect("act one");
    let act_two = responder.take_outbound(LINK);
    initiator.read(LINK, &act_two).expect("act two");
    let act_three = initiator.take_outbound(LINK);
    let mut seed = act_one;
    seed.extend_from_slice(&act_three[..act_three.len().min(66)]);
    corpus.add("handshake", "acts one and three", &seed);
}

fn small_seeds(corpus: &mut Corpus) {
    for value in [0u64, 0xfc, 0xfd, 0xffff, 0x1_0000, 0xffff_ffff, 0x1_0000_0000, u64::MAX] {
        let mut bytes = Vec::new();
        BigSize(value).encode(&mut bytes);
        corpus.add("bigsize", &bytes.len().to_string(), &bytes);
    }
    // Frames the cipher target's receiver decrypts: its sender's keys mirrored.
    let mut sender = TransportCipher::new([1; 32], [3; 32], [2; 32]);
    let mut frames = Vec::new();
    for message in [&b"\x00\x12\x00\x04\x00\x00"[..], &[0u8; 300][..]] {
        sender.encrypt_message(message, &mut frames);
    }
    corpus.add("cipher", "two frames", &frames);
    let mut error = vec![1u8];
    error.extend_from_slice(&[7; 32]);
    error.extend_from_slice(&build_failure_packet(&[7; 32], &[0x40, 0x0f, 0, 0]));
    corpus.add("onion_error", "one hop", &error);
    for dir in ["../sim/scenarios", "../tests/scenarios/regressions"] {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        paths.sort();
        for path in paths {
            if let Ok(text) = std::fs::read(&path) {
                corpus.add("scenario_parse", &path.display().to_string(), &text);
            }
        }
    }
}

/// Opcode streams for the node target (see its module for the ops).
fn node_seeds(corpus: &mut Corpus) {
    let mut forged_update_fee = vec![0x10, 0x2c, 0x4e, 38, 0x00, 0x86];
    forged_update_fee.extend_from_slice(&[0; 32]);
    forged_update_fee.extend_from_slice(&[0, 0, 0x10, 0, 0x2c]);
    let streams: [(&str, &[u8]); 5] = [
        ("pay both ways, force close", &[0x00, 0x2c, 0x03, 0x2c, 0x49, 0x2c]),
        ("the fundee's forged update_fee", &forged_update_fee),
        (
            "raw bytes on a connection",
            &[0x4f, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0x32, 0x2c],
        ),
        ("an HTLC left to expire", &[0x10, 0x20, 0x21, 0x43, 0x2c]),
        ("a restart mid-payment", &[0x34, 0x0c, 0x2c, 0x39, 0x32, 0x33, 0x2c]),
    ];
    for (kind, stream) in streams {
        corpus.add("node", kind, stream);
    }
}

/// Commitment parameters in the commitment target's layout (see its module): BOLT 3's
/// Appendix C channel (10,000,000 sat, 546 sat dust limit, delay 144, commitment 42) with
/// no HTLC, its five HTLCs at a low and a high feerate, and one balance that does not add up.
fn commitment_seeds(corpus: &mut Corpus) {
    /// (offered, amount msat, CLTV expiry)
    type Htlc = (bool, u64, u32);
    let htlcs: [Htlc; 5] = [
        (false, 1_000_000, 500),
        (false, 2_000_000, 501),
        (true, 2_000_000, 502),
        (true, 3_000_000, 503),
        (false, 4_000_000, 504),
    ];
    let cases: [(&str, u8, u64, u32, &[Htlc]); 4] = [
        ("no htlcs", 1, 7_000_000_000, 15_000, &[]),
        ("five htlcs", 1, 6_988_000_000, 0, &htlcs),
        ("five htlcs, high feerate", 1, 6_988_000_000, 2_069, &htlcs),
        ("balances off by one", 5, 6_988_000_001, 647, &htlcs),
    ];
    for (kind, flags, to_broadcaster_msat, feerate_per_kw, htlcs) in cases {
        let mut bytes = vec![flags];
        bytes.extend_from_slice(&10_000_000u64.to_be_bytes());
        bytes.extend_from_slice(&to_broadcaster_msat.to_be_bytes());
        bytes.extend_from_slice(&3_000_000_000u64.to_be_bytes());
        bytes.extend_from_slice(&feerate_per_kw.to_be_bytes());
        bytes.extend_from_slice(&546u64.to_be_bytes());
        bytes.extend_from_slice(&144u16.to_be_bytes());
        bytes.extend_from_slice(&42u64.to_be_bytes());
        bytes.extend_from_slice(&0x2bb0_3852_1914u64.to_be_bytes());
        bytes.push(9);
        for (i, (offered, amount_msat, cltv_expiry)) in htlcs.iter().enumerate() {
            bytes.push(u8::from(*offered));
            bytes.extend_from_slice(&amount_msat.to_be_bytes());
            bytes.extend_from_slice(&cltv_expiry.to_be_bytes());
            bytes.push(i as u8);
        }
        corpus.add("commitment", kind, &bytes);
    }
}

/// Opcode streams for the consistency target (see its module for the ops): the dance
/// with each kind of interruption.
fn consistency_seeds(corpus: &mut Corpus) {
    let streams: [(&str, &[u8]); 7] = [
        ("pay both ways", &[0x06, 0x2c, 0x07, 0x2c]),
        (
            "one chunk at a time",
            &[0x04, 0x20, 0x21, 0x20, 0x21, 0x20, 0x21, 0x05, 0x21, 0x20, 0x21],
        ),
        (
            "stalled persistence, completed last first",
            &[0x38, 0x06, 0x2c, 0x3e, 0x3c, 0x2c, 0x3a, 0x40, 0x2c],
        ),
        (
            "disconnect mid-dance",
            &[0x06, 0x20, 0x21, 0x30, 0x33, 0x2c, 0x07, 0x21, 0x30, 0x33, 0x2c],
        ),
        ("crash mid-dance", &[0x39, 0x06, 0x20, 0x21, 0x53, 0x33, 0x2c]),
        ("stale restart", &[0x50, 0x06, 0x2c, 0x07, 0x2c, 0x54, 0x33, 0x2c]),
        (
            "fee spike and blocks",
            &[0x56, 0x40, 0x2c, 0x06, 0x60, 0x2c, 0x57, 0x05, 0x2c],
        ),
    ];
    for (kind, stream) in streams {
        lnfuzz::targets::consistency::consistency(stream);
        corpus.add("consistency", kind, stream);
    }
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| "corpora".into());
    let mut corpus = Corpus {
        dir,
        kinds: BTreeMap::new(),
        written: 0,
    };
    channel_life(&mut corpus);
    peer_manager_seeds(&mut corpus);
    handshake_seeds(&mut corpus);
    small_seeds(&mut corpus);
    consistency_seeds(&mut corpus);
    commitment_seeds(&mut corpus);
    node_seeds(&mut corpus);
    println!("{} new seeds under {}", corpus.written, corpus.dir.display());
}
