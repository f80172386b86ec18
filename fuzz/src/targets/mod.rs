//! The targets, grouped by what they drive.

pub mod onion;
pub mod persist;
pub mod scenario;
pub mod transport;
pub mod wire;

use lightning::sign::KeysManager;

/// A node's keys, fixed so every run of an input is the same.
pub fn keys(seed: u8) -> KeysManager {
    KeysManager::new(&[seed; 32], &[seed.wrapping_add(1); 32])
}
