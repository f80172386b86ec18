//! BOLT 8 transport: the Noise_XK handshake, the message cipher, and the select-like
//! [`PeerManager`] that frames, decrypts, decodes and dispatches messages.

// Built for its tests too: no test build sets the cfg.
#[cfg(any(lightning_cheap_aead, test))]
mod cheap_aead;
pub mod cipher;
pub mod crypto;
mod disconnect;
mod handler;
pub mod handshake;
mod peer;
mod peer_manager;

pub use cipher::{DecryptError, TransportCipher};
pub use disconnect::DisconnectReason;
pub use handler::{HandlerAction, IgnoringHandler, MessageHandler};
pub use handshake::{Handshake, HandshakeError, HandshakeStep};
pub use peer_manager::{
    MessageRecord, PeerId, PeerIdInUse, PeerManager, PeerManagerConfig, ReadStatus, RECOMMENDED_TIMER_TICK_SECONDS,
};

#[cfg(test)]
mod bolt8_tests;
