//! The targets, grouped by what they drive.

pub mod commitment;
pub mod consistency;
pub mod forwarding;
pub mod node;
pub mod onion;
pub mod persist;
pub mod scenario;
pub mod transport;
pub mod whole_node;
pub mod wire;

use std::sync::OnceLock;

use lightning::bitcoin::secp256k1::{All, Secp256k1};
use lightning::sign::KeysManager;

/// A node's keys, fixed so every run of an input is the same.
pub fn keys(seed: u8) -> KeysManager {
    KeysManager::new(&[seed; 32], &[seed.wrapping_add(1); 32])
}

/// [`keys`] made once per process: building keys and contexts costs more than most
/// inputs take to run, and targets only read them.
pub(crate) fn shared_keys(seed: u8) -> &'static KeysManager {
    static KEYS: [OnceLock<KeysManager>; 16] = [const { OnceLock::new() }; 16];
    KEYS[usize::from(seed % 16)].get_or_init(|| keys(seed % 16))
}

/// One secp256k1 context per process.
pub(crate) fn secp() -> &'static Secp256k1<All> {
    static SECP: OnceLock<Secp256k1<All>> = OnceLock::new();
    SECP.get_or_init(Secp256k1::new)
}
