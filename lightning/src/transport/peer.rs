//! One connection's byte-level state: the handshake or cipher, the inbound reassembly
//! buffer, and the outbound queue.
//!
//! Inbound bytes may arrive split anywhere, down to one byte at a time: they are
//! buffered until a whole act or frame is present, then consumed from the front.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use bitcoin::secp256k1::PublicKey;

use super::cipher::{TransportCipher, LENGTH_HEADER_LEN};
use super::disconnect::DisconnectReason;
use super::handshake::{Handshake, HandshakeStep};
use crate::sign::NodeSigner;
use crate::wire::{Features, Message};

/// The link's cryptographic state.
#[derive(Clone, Debug)]
pub(super) enum Link {
    Handshaking(Handshake),
    Encrypted(TransportCipher),
}

/// What the next complete unit of inbound bytes was.
// A transient return value, consumed at once: not worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(super) enum Inbound {
    /// Not enough bytes yet.
    NeedMore,
    /// A handshake act was processed.
    Handshake(HandshakeStep),
    /// A message was decrypted and decoded; with its plaintext if it was asked for.
    Message(Message, Option<Vec<u8>>),
}

#[derive(Clone, Debug)]
pub(super) struct Peer {
    pub link: Link,
    /// Known from the start for outbound connections, after act three for inbound ones.
    pub their_node_id: Option<PublicKey>,
    /// Set once the peer's `init` has arrived, accepted or not: from then on we may send
    /// it messages (a `warning`, at least).
    pub init_received: bool,
    /// Set once the peer's `init` has been accepted.
    pub their_features: Option<Features>,
    /// The pong length we wait for, if a ping is outstanding.
    pub awaiting_pong: Option<u16>,
    /// Whether any bytes arrived since the last timer tick.
    pub received_since_tick: bool,
    /// Timer ticks seen before `init` completed.
    pub ticks_before_init: u32,
    /// The manager decided to drop this peer; only outbound bytes remain to flush.
    pub closing: bool,
    inbound: Vec<u8>,
    read_pos: usize,
    /// The size of the frame body (message and MAC) once its header is decrypted.
    body_len: Option<usize>,
    /// Encrypted bytes ready for the caller.
    outbound: Vec<u8>,
    /// Encoded messages not yet encrypted (encrypted lazily, as the caller takes bytes).
    queued: VecDeque<Vec<u8>>,
    queued_bytes: usize,
}

impl Peer {
    pub fn new(link: Link, their_node_id: Option<PublicKey>) -> Self {
        Peer {
            link,
            their_node_id,
            init_received: false,
            their_features: None,
            awaiting_pong: None,
            received_since_tick: false,
            ticks_before_init: 0,
            closing: false,
            inbound: Vec::new(),
            read_pos: 0,
            body_len: None,
            outbound: Vec::new(),
            queued: VecDeque::new(),
            queued_bytes: 0,
        }
    }

    pub fn is_initialized(&self) -> bool {
        self.their_features.is_some()
    }

    pub fn push_inbound(&mut self, data: &[u8]) {
        self.inbound.extend_from_slice(data);
        if !data.is_empty() {
            self.received_since_tick = true;
        }
    }

    /// Drops consumed inbound bytes, so the buffer holds at most one partial frame.
    pub fn compact_inbound(&mut self) {
        self.inbound.drain(..self.read_pos);
        self.read_pos = 0;
    }

    /// Processes the next complete act or frame, if the buffer holds one; a message
    /// comes with its plaintext too if `keep_plaintext` (for a message log).
    pub fn next_inbound<S: NodeSigner + ?Sized>(
        &mut self,
        signer: &S,
        keep_plaintext: bool,
    ) -> Result<Inbound, DisconnectReason> {
        match &mut self.link {
            Link::Handshaking(handshake) => {
                let needed = handshake.expected_len();
                if needed == 0 || self.inbound.len() - self.read_pos < needed {
                    return Ok(Inbound::NeedMore);
                }
                let act = &self.inbound[self.read_pos..self.read_pos + needed];
                let step = handshake
                    .process_act(act, signer)
                    .map_err(DisconnectReason::Handshake)?;
                self.read_pos += needed;
                Ok(Inbound::Handshake(step))
            }
            Link::Encrypted(cipher) => {
                let available = self.inbound.len() - self.read_pos;
                let body_len = match self.body_len {
                    Some(len) => len,
                    None => {
                        if available < LENGTH_HEADER_LEN {
                            return Ok(Inbound::NeedMore);
                        }
                        let mut header = [0u8; LENGTH_HEADER_LEN];
                        header.copy_from_slice(&self.inbound[self.read_pos..self.read_pos + LENGTH_HEADER_LEN]);
                        let len = cipher.decrypt_length(&header).map_err(DisconnectReason::Decrypt)?;
                        self.read_pos += LENGTH_HEADER_LEN;
                        self.body_len = Some(len);
                        len
                    }
                };
                if self.inbound.len() - self.read_pos < body_len {
                    return Ok(Inbound::NeedMore);
                }
                let body = &mut self.inbound[self.read_pos..self.read_pos + body_len];
                let plaintext = cipher.decrypt_body(body).map_err(DisconnectReason::Decrypt)?;
                let message = Message::decode(plaintext).map_err(|error| DisconnectReason::Decode {
                    msg_type: (plaintext.len() >= 2).then(|| u16::from_be_bytes([plaintext[0], plaintext[1]])),
                    error,
                })?;
                let plaintext = keep_plaintext.then(|| plaintext.to_vec());
                self.read_pos += body_len;
                self.body_len = None;
                Ok(Inbound::Message(message, plaintext))
            }
        }
    }

    /// Appends handshake bytes to send.
    pub fn push_raw_outbound(&mut self, bytes: &[u8]) {
        self.outbound.extend_from_slice(bytes);
    }

    /// Queues a message for encryption.
    pub fn queue(&mut self, message: &Message) {
        self.queue_encoded(message.encode_to_vec());
    }

    /// Queues a message already encoded (type, then payload).
    pub fn queue_encoded(&mut self, encoded: Vec<u8>) {
        self.queued_bytes += encoded.len();
        self.queued.push_back(encoded);
    }

    /// Bytes waiting to be sent, encrypted or not.
    pub fn buffered_bytes(&self) -> usize {
        self.outbound.len() + self.queued_bytes
    }

    pub fn has_outbound(&self) -> bool {
        !self.outbound.is_empty() || !self.queued.is_empty()
    }

    /// Encrypts queued messages until about `max_bytes` are ready, and hands them out.
    pub fn take_outbound(&mut self, max_bytes: usize) -> Vec<u8> {
        if let Link::Encrypted(cipher) = &mut self.link {
            while self.outbound.len() < max_bytes {
                let Some(message) = self.queued.pop_front() else {
                    break;
                };
                self.queued_bytes -= message.len();
                cipher.encrypt_message(&message, &mut self.outbound);
            }
        }
        core::mem::take(&mut self.outbound)
    }
}
