//! The select-like peer manager: the caller owns the sockets (or serial lines, or test
//! pipes) and names each connection with a [`PeerId`]; the manager does the BOLT 8
//! handshake, the `init` exchange with feature negotiation, pings, and hands decoded
//! messages to the channel and gossip handlers.
//!
//! A typical loop: `new_outbound`/`new_inbound` when a connection opens; `read` with
//! whatever bytes arrived; `take_outbound` whenever the socket can take more; `timer_tick`
//! every [`RECOMMENDED_TIMER_TICK_SECONDS`]; `take_disconnects` to learn which
//! connections the manager wants closed; `disconnected` once a connection is gone.
//! `has_outbound` (and `peers_with_outbound`, `take_outbound`, `take_disconnects`) first
//! collect what the handlers queued, so a command given through `channel_handler_mut`
//! (an opening, a payment, a close) shows at once to a loop that asks.

use alloc::collections::BTreeMap;
use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use bitcoin::constants::ChainHash;
use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, SecretKey};

use super::disconnect::DisconnectReason;
use super::handler::{HandlerAction, MessageHandler};
use super::handshake::{Handshake, HandshakeStep};
use super::peer::{Inbound, Link, Peer};
use crate::sign::{EntropySource, NodeSigner};
use crate::wire::msgs::MAX_PONG_BYTES_ANSWERED;
use crate::wire::{ChannelId, Features, Init, InitTlvs, Message, MessageGroup, Networks, NoTlvs, Ping, Pong, Warning};

/// How often the caller should call [`PeerManager::timer_tick`]. A silent peer is dropped
/// after one to two ticks, so this sets the ping timeout too.
pub const RECOMMENDED_TIMER_TICK_SECONDS: u64 = 30;

/// An opaque connection id the caller chooses (a socket number, a test index).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(pub u64);

/// The id passed to `new_outbound`/`new_inbound` is already in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerIdInUse(pub PeerId);

impl fmt::Display for PeerIdInUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "peer id {} is already in use", self.0 .0)
    }
}

/// Limits and network choice.
#[derive(Clone, Debug)]
pub struct PeerManagerConfig {
    /// The chain this node is on; a peer whose `networks` lacks it is disconnected.
    pub chain_hash: ChainHash,
    /// `take_outbound` hands out about this many bytes per call (one message more at
    /// most), so a slow socket never makes the caller buffer much.
    pub max_take_bytes: usize,
    /// Past this many bytes waiting to be sent, `read` asks the caller to pause reading
    /// from the peer until it has drained some: a peer that sends pings but does not read
    /// its pongs cannot grow our buffers.
    pub pause_read_bytes: usize,
    /// Past this many bytes waiting, the peer is plainly not reading: disconnect it.
    pub max_buffered_bytes: usize,
    /// Timer ticks a connection may take to finish the handshake and `init`.
    pub handshake_timeout_ticks: u32,
    /// The pong length our pings ask for.
    pub ping_pong_bytes: u16,
    /// Keep a log of the messages received and of those the handlers send, for
    /// [`PeerManager::take_message_log`] (a simulator draws them; off by default).
    pub record_messages: bool,
}

/// One message in the log [`PeerManagerConfig::record_messages`] turns on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRecord {
    /// The connection.
    pub peer: PeerId,
    /// Sent (queued for the peer) rather than received.
    pub sent: bool,
    /// The message's name.
    pub name: &'static str,
    /// The message as on the wire (type, then payload), before encryption.
    pub encoded: Vec<u8>,
}

impl PeerManagerConfig {
    /// Defaults for `chain_hash`: 256 KiB per take (four maximal messages), pause at
    /// 1 MiB, disconnect at 8 MiB (channel traffic never comes near it; only a peer that
    /// stopped reading does), two ticks for the handshake, and 8-byte pongs.
    pub fn new(chain_hash: ChainHash) -> Self {
        PeerManagerConfig {
            chain_hash,
            max_take_bytes: 256 * 1024,
            pause_read_bytes: 1024 * 1024,
            max_buffered_bytes: 8 * 1024 * 1024,
            handshake_timeout_ticks: 2,
            ping_pong_bytes: 8,
            record_messages: false,
        }
    }
}

/// What `read` tells the caller about the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadStatus {
    /// Stop reading from this peer until `take_outbound` has drained its backlog.
    pub pause_read: bool,
}

/// Drives many connections. See the module documentation for the calling pattern.
///
/// A clone copies each connection's cipher state and the handlers: for harnesses that
/// restore a prepared state, never for two live copies of one node.
#[derive(Clone)]
pub struct PeerManager<S: NodeSigner, E: EntropySource, C: MessageHandler, G: MessageHandler> {
    config: PeerManagerConfig,
    signer: S,
    entropy: E,
    channel_handler: C,
    gossip_handler: G,
    secp: crate::secp_context::SharedSecp,
    peers: BTreeMap<PeerId, Peer>,
    /// Connections whose handshake completed, by the peer's node id.
    node_ids: BTreeMap<PublicKey, PeerId>,
    disconnects: Vec<(PeerId, DisconnectReason)>,
    message_log: Vec<MessageRecord>,
}

impl<S: NodeSigner, E: EntropySource, C: MessageHandler, G: MessageHandler> PeerManager<S, E, C, G> {
    /// A manager with no connections.
    pub fn new(config: PeerManagerConfig, signer: S, entropy: E, channel_handler: C, gossip_handler: G) -> Self {
        PeerManager {
            config,
            signer,
            entropy,
            channel_handler,
            gossip_handler,
            secp: crate::secp_context::shared(),
            peers: BTreeMap::new(),
            node_ids: BTreeMap::new(),
            disconnects: Vec::new(),
            message_log: Vec::new(),
        }
    }

    /// The messages logged since the last call (empty unless
    /// [`PeerManagerConfig::record_messages`] is set), in order.
    pub fn take_message_log(&mut self) -> Vec<MessageRecord> {
        core::mem::take(&mut self.message_log)
    }

    /// Logs `message` (as `encoded`, its bytes on the wire before encryption).
    fn log_message(&mut self, peer: PeerId, sent: bool, message: &Message, encoded: Vec<u8>) {
        self.message_log.push(MessageRecord {
            peer,
            sent,
            name: message.name(),
            encoded,
        });
    }

    /// This node's id.
    pub fn node_id(&self) -> PublicKey {
        self.signer.node_id()
    }

    /// The channel message handler.
    pub fn channel_handler(&self) -> &C {
        &self.channel_handler
    }

    /// The channel message handler, for user commands.
    pub fn channel_handler_mut(&mut self) -> &mut C {
        &mut self.channel_handler
    }

    /// The gossip message handler.
    pub fn gossip_handler(&self) -> &G {
        &self.gossip_handler
    }

    /// The gossip message handler, mutably.
    pub fn gossip_handler_mut(&mut self) -> &mut G {
        &mut self.gossip_handler
    }

    /// The features we send in `init`: what the handlers need.
    pub fn init_features(&self) -> Features {
        self.channel_handler
            .init_features()
            .union(&self.gossip_handler.init_features())
    }

    /// Peers that completed `init`, with their node ids, in id order.
    pub fn connected_peers(&self) -> Vec<(PeerId, PublicKey)> {
        self.peers
            .iter()
            .filter(|(_, p)| p.is_initialized() && !p.closing)
            .filter_map(|(id, p)| p.their_node_id.map(|n| (*id, n)))
            .collect()
    }

    /// The features a connected peer sent in `init`.
    pub fn peer_features(&self, node_id: &PublicKey) -> Option<&Features> {
        let id = self.node_ids.get(node_id)?;
        self.peers.get(id)?.their_features.as_ref()
    }

    fn ephemeral_key(&mut self) -> SecretKey {
        let mut bytes = self.entropy.random_bytes();
        loop {
            // Zero or above the curve order (odds about 2^-128): rehash rather than fail.
            if let Ok(key) = SecretKey::from_slice(&bytes) {
                return key;
            }
            bytes = sha256::Hash::hash(&bytes).to_byte_array();
        }
    }

    /// Registers an outbound connection to `their_node_id` and returns act one, to be
    /// written to the connection.
    pub fn new_outbound(&mut self, id: PeerId, their_node_id: PublicKey) -> Result<Vec<u8>, PeerIdInUse> {
        if self.peers.contains_key(&id) {
            return Err(PeerIdInUse(id));
        }
        let ephemeral = self.ephemeral_key();
        let (handshake, act_one) = Handshake::new_outbound(&self.secp, their_node_id, ephemeral);
        self.peers
            .insert(id, Peer::new(Link::Handshaking(handshake), Some(their_node_id)));
        Ok(act_one.to_vec())
    }

    /// Registers an inbound connection; the peer speaks first.
    pub fn new_inbound(&mut self, id: PeerId) -> Result<(), PeerIdInUse> {
        if self.peers.contains_key(&id) {
            return Err(PeerIdInUse(id));
        }
        let ephemeral = self.ephemeral_key();
        let handshake = Handshake::new_inbound(&self.secp, &self.signer.node_id(), ephemeral);
        self.peers.insert(id, Peer::new(Link::Handshaking(handshake), None));
        Ok(())
    }

    /// Feeds bytes read from a connection, split anywhere. On `Err` the connection must
    /// be closed (after flushing `take_outbound`, which may hold a `warning` saying why).
    pub fn read(&mut self, id: PeerId, data: &[u8]) -> Result<ReadStatus, DisconnectReason> {
        let peer = self.peers.get_mut(&id).ok_or(DisconnectReason::UnknownPeer)?;
        if peer.closing {
            return Err(DisconnectReason::AlreadyDisconnecting);
        }
        peer.push_inbound(data);
        let result = self.process_inbound(id);
        if let Some(peer) = self.peers.get_mut(&id) {
            peer.compact_inbound();
        }
        if let Err(reason) = result {
            self.begin_disconnect(id, &reason);
            return Err(reason);
        }
        self.process_events();
        let Some(peer) = self.peers.get(&id) else {
            return Err(DisconnectReason::UnknownPeer);
        };
        if peer.closing {
            // A handler asked for the disconnect while we were reading.
            return Err(DisconnectReason::AlreadyDisconnecting);
        }
        let buffered_bytes = peer.buffered_bytes();
        if buffered_bytes > self.config.max_buffered_bytes {
            let reason = DisconnectReason::OutboundOverflow { buffered_bytes };
            self.begin_disconnect(id, &reason);
            return Err(reason);
        }
        Ok(ReadStatus {
            pause_read: buffered_bytes >= self.config.pause_read_bytes,
        })
    }

    fn process_inbound(&mut self, id: PeerId) -> Result<(), DisconnectReason> {
        loop {
            let peer = self.peers.get_mut(&id).ok_or(DisconnectReason::UnknownPeer)?;
            if peer.closing {
                return Ok(());
            }
            match peer.next_inbound(&self.signer, self.config.record_messages)? {
                Inbound::NeedMore => return Ok(()),
                Inbound::Handshake(step) => self.handshake_step(id, step)?,
                Inbound::Message(message, plaintext) => {
                    if let Some(encoded) = plaintext {
                        self.log_message(id, false, &message, encoded);
                    }
                    self.handle_message(id, message)?
                }
            }
        }
    }

    fn handshake_step(&mut self, id: PeerId, step: HandshakeStep) -> Result<(), DisconnectReason> {
        let peer = self.peers.get_mut(&id).ok_or(DisconnectReason::UnknownPeer)?;
        match step {
            HandshakeStep::ActTwo(act_two) => peer.push_raw_outbound(&act_two),
            HandshakeStep::Complete {
                act_three,
                their_node_id,
                cipher,
            } => {
                if let Some(act_three) = act_three {
                    peer.push_raw_outbound(&act_three);
                }
                peer.link = Link::Encrypted(cipher);
                peer.their_node_id = Some(their_node_id);
                if self.node_ids.contains_key(&their_node_id) {
                    // One connection per peer (BOLT 1): the established one stays.
                    return Err(DisconnectReason::DuplicateConnection);
                }
                self.node_ids.insert(their_node_id, id);
                let init = Init {
                    global_features: Features::empty(),
                    features: self.init_features(),
                    tlvs: InitTlvs {
                        networks: Some(Networks(vec![self.config.chain_hash])),
                        ..InitTlvs::default()
                    },
                };
                if let Some(peer) = self.peers.get_mut(&id) {
                    peer.queue(&Message::Init(init));
                }
            }
        }
        Ok(())
    }

    fn handle_message(&mut self, id: PeerId, message: Message) -> Result<(), DisconnectReason> {
        let peer = self.peers.get_mut(&id).ok_or(DisconnectReason::UnknownPeer)?;
        let node_id = peer.their_node_id.ok_or(DisconnectReason::UnknownPeer)?;
        if !peer.is_initialized() {
            let Message::Init(init) = message else {
                return Err(DisconnectReason::MessageBeforeInit {
                    msg_type: message.msg_type(),
                });
            };
            return self.accept_init(id, &node_id, &init);
        }
        match message {
            Message::Init(_) => return Err(DisconnectReason::DuplicateInit),
            Message::Ping(ping) => {
                // BOLT 1: a ping asking for 65532 bytes or more is not answered.
                if ping.num_pong_bytes < MAX_PONG_BYTES_ANSWERED {
                    let pong = Pong {
                        ignored: vec![0; usize::from(ping.num_pong_bytes)],
                        extension: NoTlvs::default(),
                    };
                    peer.queue(&Message::Pong(pong));
                }
            }
            Message::Pong(pong) => {
                let expected_len = peer.awaiting_pong;
                if expected_len.map(usize::from) != Some(pong.ignored.len()) {
                    return Err(DisconnectReason::UnexpectedPong {
                        expected_len,
                        received_len: pong.ignored.len(),
                    });
                }
                peer.awaiting_pong = None;
            }
            // Odd types we do not know: BOLT 1 says ignore.
            Message::Unknown { .. } => {}
            Message::Error(_) | Message::Warning(_) => self.channel_handler.handle_message(&node_id, message),
            message => match message.group() {
                MessageGroup::Routing => self.gossip_handler.handle_message(&node_id, message),
                _ => self.channel_handler.handle_message(&node_id, message),
            },
        }
        Ok(())
    }

    fn accept_init(&mut self, id: PeerId, node_id: &PublicKey, init: &Init) -> Result<(), DisconnectReason> {
        if let Some(peer) = self.peers.get_mut(&id) {
            peer.init_received = true;
        }
        let features = init.combined_features();
        features
            .check_against(&self.init_features())
            .map_err(DisconnectReason::Features)?;
        if let Some(networks) = &init.tlvs.networks {
            if !networks.0.contains(&self.config.chain_hash) {
                return Err(DisconnectReason::NoCommonChain);
            }
        }
        let peer = self.peers.get_mut(&id).ok_or(DisconnectReason::UnknownPeer)?;
        peer.their_features = Some(features);
        self.channel_handler
            .peer_connected(node_id, init)
            .map_err(DisconnectReason::Rejected)?;
        self.gossip_handler
            .peer_connected(node_id, init)
            .map_err(DisconnectReason::Rejected)?;
        Ok(())
    }

    /// Collects what the handlers want sent or done and queues it.
    pub fn process_events(&mut self) {
        let mut actions = self.channel_handler.take_actions();
        actions.extend(self.gossip_handler.take_actions());
        for action in actions {
            match action {
                HandlerAction::Send { node_id, message } => self.send_to(&node_id, &message),
                HandlerAction::Disconnect {
                    node_id,
                    message,
                    reason,
                } => {
                    let Some(&id) = self.node_ids.get(&node_id) else {
                        continue;
                    };
                    if let Some(message) = message {
                        self.send_to(&node_id, &message);
                    }
                    let reason = DisconnectReason::HandlerRequested(reason);
                    self.begin_disconnect(id, &reason);
                    self.disconnects.push((id, reason));
                }
            }
        }
    }

    /// Queues a handler's `message` for `node_id` if it is connected and initialized,
    /// and logs it as sent. Encoded once: the log keeps a copy of the queued bytes.
    fn send_to(&mut self, node_id: &PublicKey, message: &Message) {
        let Some(&id) = self.node_ids.get(node_id) else {
            return;
        };
        let record_messages = self.config.record_messages;
        let Some(peer) = self.initialized_peer_mut(node_id) else {
            return;
        };
        let encoded = message.encode_to_vec();
        let logged = record_messages.then(|| encoded.clone());
        peer.queue_encoded(encoded);
        if let Some(encoded) = logged {
            self.log_message(id, true, message, encoded);
        }
    }

    fn initialized_peer_mut(&mut self, node_id: &PublicKey) -> Option<&mut Peer> {
        let id = self.node_ids.get(node_id)?;
        self.peers.get_mut(id).filter(|p| p.is_initialized() && !p.closing)
    }

    /// Bytes to write to the connection: at most about `max_take_bytes`, so call again
    /// while [`PeerManager::has_outbound`] says more is waiting.
    pub fn take_outbound(&mut self, id: PeerId) -> Vec<u8> {
        self.process_events();
        let max_take_bytes = self.config.max_take_bytes;
        self.peers
            .get_mut(&id)
            .map(|p| p.take_outbound(max_take_bytes))
            .unwrap_or_default()
    }

    /// Whether bytes are waiting for the connection, the handlers' latest messages
    /// included (a user command such as opening a channel or paying is queued here, so
    /// a select loop that asks first never stalls).
    pub fn has_outbound(&mut self, id: PeerId) -> bool {
        self.process_events();
        self.peers.get(&id).is_some_and(|p| p.has_outbound())
    }

    /// Connections with bytes waiting, in id order (after collecting handler actions).
    pub fn peers_with_outbound(&mut self) -> Vec<PeerId> {
        self.process_events();
        self.peers
            .iter()
            .filter(|(_, p)| p.has_outbound())
            .map(|(id, _)| *id)
            .collect()
    }

    /// The connections the manager wants closed (timeouts, handler requests), since the
    /// last call. Failures reported by `read` are not repeated here.
    pub fn take_disconnects(&mut self) -> Vec<(PeerId, DisconnectReason)> {
        // A handler's request since the last call counts (a channel failed by a command).
        self.process_events();
        core::mem::take(&mut self.disconnects)
    }

    /// The connection is gone (closed by either side). Forgets it entirely.
    pub fn disconnected(&mut self, id: PeerId) {
        self.begin_disconnect(id, &DisconnectReason::UnknownPeer);
        self.peers.remove(&id);
    }

    /// Marks a peer as closing: tells the peer why if it broke the protocol, releases its
    /// node id and tells the handlers it is gone.
    fn begin_disconnect(&mut self, id: PeerId, reason: &DisconnectReason) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        if peer.closing {
            return;
        }
        if reason.warrants_warning() && peer.init_received {
            let warning = Warning {
                channel_id: ChannelId::ALL,
                data: reason.to_string().into_bytes(),
                extension: NoTlvs::default(),
            };
            peer.queue(&Message::Warning(warning));
        }
        peer.closing = true;
        let was_initialized = peer.is_initialized();
        let Some(node_id) = peer.their_node_id else {
            return;
        };
        if self.node_ids.get(&node_id) == Some(&id) {
            self.node_ids.remove(&node_id);
        }
        if was_initialized {
            self.channel_handler.peer_disconnected(&node_id);
            self.gossip_handler.peer_disconnected(&node_id);
        }
    }

    /// Periodic work: pings connected peers, drops peers that did not answer the last
    /// ping, and drops connections that did not finish the handshake in time.
    pub fn timer_tick(&mut self) {
        let ids: Vec<PeerId> = self.peers.keys().copied().collect();
        for id in ids {
            let Some(peer) = self.peers.get_mut(&id) else {
                continue;
            };
            if peer.closing {
                continue;
            }
            let timed_out = if !peer.is_initialized() {
                peer.ticks_before_init += 1;
                (peer.ticks_before_init >= self.config.handshake_timeout_ticks)
                    .then_some(DisconnectReason::HandshakeTimeout)
            } else if peer.awaiting_pong.is_some() {
                // Any bytes since the last tick show the peer is alive; keep waiting.
                (!peer.received_since_tick).then_some(DisconnectReason::PingTimeout)
            } else {
                let ping = Ping {
                    num_pong_bytes: self.config.ping_pong_bytes,
                    ignored: Vec::new(),
                    extension: NoTlvs::default(),
                };
                peer.queue(&Message::Ping(ping));
                peer.awaiting_pong = Some(self.config.ping_pong_bytes);
                None
            };
            peer.received_since_tick = false;
            if let Some(reason) = timed_out {
                self.begin_disconnect(id, &reason);
                self.disconnects.push((id, reason));
            }
        }
    }
}
