//! Two nodes in one process: a BOLT 8 handshake, the `init` exchange and a round of
//! pings, with every byte carried by hand between the two peer managers, as a socket loop
//! would. Prints what crosses the wire.
//!
//! Run: `cargo run -p lightning --example two_peers`

use lightning::bitcoin::constants::ChainHash;
use lightning::bitcoin::hashes::{sha256, Hash};
use lightning::bitcoin::secp256k1::SecretKey;
use lightning::bitcoin::Network;
use lightning::sign::{EntropySource, InMemoryNodeSigner};
use lightning::transport::{IgnoringHandler, PeerId, PeerManager, PeerManagerConfig};

/// Entropy from a seed: the example is deterministic, byte for byte.
struct SeededEntropy([u8; 32]);

impl EntropySource for SeededEntropy {
    fn random_bytes(&mut self) -> [u8; 32] {
        self.0 = sha256::Hash::hash(&self.0).to_byte_array();
        self.0
    }
}

type Node = PeerManager<InMemoryNodeSigner, SeededEntropy, IgnoringHandler, IgnoringHandler>;

fn node(seed: u8) -> Node {
    let secret = SecretKey::from_slice(&[seed; 32]).expect("valid key");
    let config = PeerManagerConfig::new(ChainHash::using_genesis_block(Network::Regtest));
    PeerManager::new(
        config,
        InMemoryNodeSigner::new(secret),
        SeededEntropy([seed; 32]),
        IgnoringHandler,
        IgnoringHandler,
    )
}

/// Carries bytes both ways until both sides are quiet. Returns how many bytes moved.
fn pump(alice: &mut Node, bob: &mut Node, id: PeerId) -> Result<usize, String> {
    let mut moved = 0;
    loop {
        let to_bob = alice.take_outbound(id);
        let to_alice = bob.take_outbound(id);
        if to_bob.is_empty() && to_alice.is_empty() {
            return Ok(moved);
        }
        if !to_bob.is_empty() {
            println!("alice -> bob   {:>4} bytes", to_bob.len());
            bob.read(id, &to_bob).map_err(|e| format!("bob: {e}"))?;
        }
        if !to_alice.is_empty() {
            println!("bob   -> alice {:>4} bytes", to_alice.len());
            alice.read(id, &to_alice).map_err(|e| format!("alice: {e}"))?;
        }
        moved += to_bob.len() + to_alice.len();
    }
}

fn main() -> Result<(), String> {
    let mut alice = node(1);
    let mut bob = node(2);
    let id = PeerId(0);
    println!("alice {}\nbob   {}", alice.node_id(), bob.node_id());

    let act_one = alice.new_outbound(id, bob.node_id()).map_err(|e| e.to_string())?;
    bob.new_inbound(id).map_err(|e| e.to_string())?;
    println!("alice -> bob   {:>4} bytes (act one)", act_one.len());
    bob.read(id, &act_one).map_err(|e| format!("bob: {e}"))?;
    pump(&mut alice, &mut bob, id)?;
    for (name, node) in [("alice", &alice), ("bob", &bob)] {
        let peers: Vec<String> = node
            .connected_peers()
            .iter()
            .map(|(_, node_id)| node_id.to_string())
            .collect();
        println!("{name} is connected to {peers:?}");
    }

    alice.timer_tick();
    bob.timer_tick();
    pump(&mut alice, &mut bob, id)?;
    alice.timer_tick();
    bob.timer_tick();
    let dropped: Vec<_> = alice
        .take_disconnects()
        .into_iter()
        .chain(bob.take_disconnects())
        .collect();
    if !dropped.is_empty() {
        return Err(format!("unexpected disconnects: {dropped:?}"));
    }
    println!("pings answered; both peers still connected");
    Ok(())
}
