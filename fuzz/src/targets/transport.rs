//! BOLT 8 and the peer manager: the responder's handshake, the cipher, and a whole peer
//! manager fed arbitrary connection events.

use lightning::bitcoin::secp256k1::SecretKey;
use lightning::sign::NodeSigner;
use lightning::transport::{Handshake, HandshakeStep, PeerId, TransportCipher};

use super::{secp, shared_keys};

/// The responder's side fed the input as act one (50 bytes) and act three (66): a typed
/// error or a completed handshake, never a panic.
pub fn handshake(data: &[u8]) {
    let signer = shared_keys(5);
    let node_id = signer.node_id();
    let ephemeral = SecretKey::from_slice(&[0x22; 32]).expect("a valid key");
    let mut responder = Handshake::new_inbound(secp(), &node_id, ephemeral);
    let (act_one, rest) = data.split_at(data.len().min(responder.expected_len()));
    let Ok(HandshakeStep::ActTwo(_)) = responder.process_act(act_one, signer) else {
        return;
    };
    let act_three = &rest[..rest.len().min(responder.expected_len())];
    if let Ok(step) = responder.process_act(act_three, signer) {
        assert!(matches!(step, HandshakeStep::Complete { act_three: None, .. }));
    }
}

/// Frames decrypted with fixed keys: each length header and body either decrypts or is
/// refused, never a panic; what decrypts re-encrypts on the mirrored cipher to the same
/// bytes.
pub fn cipher(data: &[u8]) {
    let (ck, sk, rk) = ([1u8; 32], [2u8; 32], [3u8; 32]);
    let mut receiver = TransportCipher::new(ck, sk, rk);
    let mut sender = TransportCipher::new(ck, rk, sk);
    let mut rest = data;
    while rest.len() >= 18 {
        let header: [u8; 18] = rest[..18].try_into().expect("18 bytes");
        let Ok(len) = receiver.decrypt_length(&header) else {
            return;
        };
        let Some(body) = rest.get(18..18 + len + 16) else {
            return;
        };
        let mut body = body.to_vec();
        let Ok(plaintext) = receiver.decrypt_body(&mut body) else {
            return;
        };
        let plaintext = plaintext.to_vec();
        let mut frame = Vec::new();
        sender.encrypt_message(&plaintext, &mut frame);
        assert_eq!(
            frame,
            &rest[..18 + len + 16],
            "a decrypted frame re-encrypts differently"
        );
        rest = &rest[18 + len + 16..];
    }
}

/// A whole node's peer manager driven by events from the input: new connections, bytes
/// read at any split, disconnections, timer ticks, outbound bytes taken. Hostile bytes
/// end in a typed disconnect, never a panic.
pub fn peer_manager(data: &[u8]) {
    drive_peer_manager(data);
}

/// The peer-manager target's node after the input's events (for seed checks).
pub fn drive_peer_manager(data: &[u8]) -> sim::node::Node {
    let mut node = sim::node::node(7);
    let other = sim::node::node(8).node_id();
    let mut rest = data;
    while let Some((&op, tail)) = rest.split_first() {
        rest = tail;
        let peer = PeerId(u64::from(op >> 4) % 4);
        match op & 0x0f {
            0 => {
                let _ = node.new_inbound(peer);
            }
            1 => {
                let _ = node.new_outbound(peer, other);
            }
            2..=9 => {
                // Read the next 1 to 256 bytes as one delivery.
                let Some((&len, tail)) = rest.split_first() else { break };
                let len = (usize::from(len) + 1).min(tail.len());
                let (chunk, tail) = tail.split_at(len);
                rest = tail;
                let _ = node.read(peer, chunk);
            }
            10 => node.disconnected(peer),
            11 => node.timer_tick(),
            _ => {
                let _ = node.take_outbound(peer);
                let _ = node.take_disconnects();
            }
        }
    }
    node
}
