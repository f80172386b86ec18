//! Test doubles for the peer manager: seeded entropy, a recording handler, a raw BOLT 8
//! peer that can send any bytes, and a pipe that moves bytes between two managers in
//! chosen chunk sizes.

use std::cell::RefCell;
use std::rc::Rc;

use lightning::bitcoin::constants::ChainHash;
use lightning::bitcoin::hashes::{sha256, Hash};
use lightning::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lightning::bitcoin::Network;
use lightning::sign::{EntropySource, InMemoryNodeSigner, NodeSigner};
use lightning::transport::cipher::LENGTH_HEADER_LEN;
use lightning::transport::{
    HandlerAction, Handshake, HandshakeStep, MessageHandler, PeerId, PeerManager, PeerManagerConfig, TransportCipher,
};
use lightning::wire::{Feature, Features, Init, Message};

/// Deterministic entropy: SHA-256 of a seed and a counter.
pub struct TestEntropy {
    seed: u64,
    counter: u64,
}

impl TestEntropy {
    pub fn new(seed: u64) -> Self {
        TestEntropy { seed, counter: 0 }
    }
}

impl EntropySource for TestEntropy {
    fn random_bytes(&mut self) -> [u8; 32] {
        self.counter += 1;
        let mut input = self.seed.to_be_bytes().to_vec();
        input.extend_from_slice(&self.counter.to_be_bytes());
        sha256::Hash::hash(&input).to_byte_array()
    }
}

/// What a [`RecordingHandler`] saw.
#[derive(Default, Debug)]
pub struct Record {
    pub connected: Vec<PublicKey>,
    pub disconnected: Vec<PublicKey>,
    pub messages: Vec<(PublicKey, Message)>,
    pub pending_actions: Vec<HandlerAction>,
    pub reject_with: Option<String>,
}

/// A handler that records everything and sends what the test queues. The record is
/// shared so the test can inspect it while the manager owns the handler.
#[derive(Clone)]
pub struct RecordingHandler {
    pub features: Features,
    pub record: Rc<RefCell<Record>>,
}

impl RecordingHandler {
    pub fn new(features: Features) -> Self {
        RecordingHandler {
            features,
            record: Rc::default(),
        }
    }
}

impl MessageHandler for RecordingHandler {
    fn init_features(&self) -> Features {
        self.features.clone()
    }
    fn peer_connected(&mut self, their_node_id: &PublicKey, _: &Init) -> Result<(), String> {
        let mut record = self.record.borrow_mut();
        record.connected.push(*their_node_id);
        match &record.reject_with {
            Some(why) => Err(why.clone()),
            None => Ok(()),
        }
    }
    fn peer_disconnected(&mut self, their_node_id: &PublicKey) {
        self.record.borrow_mut().disconnected.push(*their_node_id);
    }
    fn handle_message(&mut self, their_node_id: &PublicKey, message: Message) {
        self.record.borrow_mut().messages.push((*their_node_id, message));
    }
    fn take_actions(&mut self) -> Vec<HandlerAction> {
        std::mem::take(&mut self.record.borrow_mut().pending_actions)
    }
}

pub type TestPeerManager = PeerManager<InMemoryNodeSigner, TestEntropy, RecordingHandler, RecordingHandler>;

/// The features our test nodes use: the assumed ones, required.
pub fn node_features() -> Features {
    let mut f = Features::empty();
    f.set_required(Feature::DataLossProtect)
        .set_required(Feature::VarOnionOptin)
        .set_required(Feature::StaticRemoteKey)
        .set_required(Feature::PaymentSecret)
        .set_optional(Feature::ChannelType);
    f
}

pub fn secret_for(n: u8) -> SecretKey {
    SecretKey::from_slice(&[n; 32]).expect("valid key")
}

pub fn chain() -> ChainHash {
    ChainHash::using_genesis_block(Network::Regtest)
}

pub struct Node {
    pub pm: TestPeerManager,
    pub channel: Rc<RefCell<Record>>,
    pub gossip: Rc<RefCell<Record>>,
}

pub fn node(n: u8) -> Node {
    node_with(n, PeerManagerConfig::new(chain()))
}

pub fn node_with(n: u8, config: PeerManagerConfig) -> Node {
    let channel = RecordingHandler::new(node_features());
    let gossip = RecordingHandler::new(Features::empty());
    let (channel_record, gossip_record) = (channel.record.clone(), gossip.record.clone());
    let pm = PeerManager::new(
        config,
        InMemoryNodeSigner::new(secret_for(n)),
        TestEntropy::new(u64::from(n)),
        channel,
        gossip,
    );
    Node {
        pm,
        channel: channel_record,
        gossip: gossip_record,
    }
}

/// Moves every waiting byte between `a` (whose connection is `a_id`) and `b` (`b_id`),
/// handing each side's output to the other in chunks whose sizes cycle through `chunks`,
/// until neither side has anything to send. Panics if a read fails.
pub fn pump(a: &mut TestPeerManager, a_id: PeerId, b: &mut TestPeerManager, b_id: PeerId, chunks: &[usize]) {
    let mut chunk_index = 0;
    for _ in 0..10_000 {
        let from_a = a.take_outbound(a_id);
        let from_b = b.take_outbound(b_id);
        if from_a.is_empty() && from_b.is_empty() && !a.has_outbound(a_id) && !b.has_outbound(b_id) {
            return;
        }
        for (bytes, to, to_id) in [(from_a, &mut *b, b_id), (from_b, &mut *a, a_id)] {
            let mut rest = &bytes[..];
            while !rest.is_empty() {
                let size = chunks[chunk_index % chunks.len()].clamp(1, rest.len());
                chunk_index += 1;
                let (chunk, tail) = rest.split_at(size);
                if let Err(e) = to.read(to_id, chunk) {
                    panic!("read failed: {e}");
                }
                rest = tail;
            }
        }
    }
    panic!("pump did not settle");
}

/// Connects `a` to `b` (outbound from `a`), each naming the connection `PeerId(id)`.
pub fn connect(a: &mut TestPeerManager, b: &mut TestPeerManager, id: u64, chunks: &[usize]) {
    let act_one = a.new_outbound(PeerId(id), b.node_id()).expect("fresh id");
    b.new_inbound(PeerId(id)).expect("fresh id");
    b.read(PeerId(id), &act_one).expect("act one");
    pump(a, PeerId(id), b, PeerId(id), chunks);
}

/// A peer that speaks raw BOLT 8, so a test can send any plaintext at all.
pub struct RawPeer {
    pub signer: InMemoryNodeSigner,
    pub cipher: TransportCipher,
    inbound: Vec<u8>,
}

impl RawPeer {
    /// Connects to `target` as a new inbound connection `id`, finishing the handshake.
    /// `target` has queued its `init`, which the raw peer has not read yet.
    pub fn connect(target: &mut TestPeerManager, id: PeerId, key: u8) -> RawPeer {
        let signer = InMemoryNodeSigner::new(secret_for(key));
        let (mut handshake, act_one) =
            Handshake::new_outbound(&Secp256k1::new(), target.node_id(), secret_for(key.wrapping_add(100)));
        target.new_inbound(id).expect("fresh id");
        target.read(id, &act_one).expect("act one");
        let act_two = target.take_outbound(id);
        let Ok(HandshakeStep::Complete {
            act_three: Some(act_three),
            cipher,
            ..
        }) = handshake.process_act(&act_two, &signer)
        else {
            panic!("raw handshake failed");
        };
        target.read(id, &act_three).expect("act three");
        RawPeer {
            signer,
            cipher,
            inbound: Vec::new(),
        }
    }

    pub fn node_id(&self) -> PublicKey {
        self.signer.node_id()
    }

    /// Encrypts one plaintext message into a frame.
    pub fn frame(&mut self, plaintext: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.cipher.encrypt_message(plaintext, &mut out);
        out
    }

    /// Decrypts every whole frame in `bytes` (plus what was left over before).
    pub fn receive(&mut self, bytes: &[u8]) -> Vec<Message> {
        self.inbound.extend_from_slice(bytes);
        let mut messages = Vec::new();
        loop {
            if self.inbound.len() < LENGTH_HEADER_LEN {
                return messages;
            }
            let mut header = [0u8; LENGTH_HEADER_LEN];
            header.copy_from_slice(&self.inbound[..LENGTH_HEADER_LEN]);
            // Peek without advancing the nonce: work on a clone until the frame is whole.
            let mut probe = self.cipher.clone();
            let body_len = probe.decrypt_length(&header).expect("valid header");
            if self.inbound.len() < LENGTH_HEADER_LEN + body_len {
                return messages;
            }
            let mut frame: Vec<u8> = self.inbound.drain(..LENGTH_HEADER_LEN + body_len).collect();
            let plaintext = probe.decrypt_body(&mut frame[LENGTH_HEADER_LEN..]).expect("valid body");
            messages.push(Message::decode(plaintext).expect("decodable"));
            self.cipher = probe;
        }
    }

    /// An `init` with our usual features.
    pub fn init_bytes() -> Vec<u8> {
        Message::Init(Init {
            global_features: Features::empty(),
            features: node_features(),
            tlvs: Default::default(),
        })
        .encode_to_vec()
    }
}
