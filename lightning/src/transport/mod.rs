//! BOLT 8 transport: the Noise_XK handshake, the message cipher, and the select-like
//! [`PeerManager`] that frames, decrypts, decodes and dispatches messages.

pub mod cipher;
pub mod crypto;
pub mod handshake;

pub use cipher::{DecryptError, TransportCipher};
pub use handshake::{Handshake, HandshakeError, HandshakeStep};

#[cfg(test)]
mod bolt8_tests;
