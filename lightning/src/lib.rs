//! A sans-IO Lightning Network node library.
//!
//! The library does nothing unless it is called: it owns no thread, reads no clock, opens
//! no socket, writes no file and draws no randomness of its own. Bytes, timer ticks and
//! entropy come in through calls and through traits the user implements, so a whole
//! network of nodes can run inside one process and replay exactly.
//!
//! - [`wire`]: BOLT 1 framing, BigSize, TLV streams, feature bits and every message the
//!   node speaks (BOLT 1, 2 and 7), each with one encode/decode pair.
//! - [`transport`]: the BOLT 8 Noise_XK handshake, the message cipher, and a select-like
//!   [`transport::PeerManager`] that any socket loop or test harness can drive.
//! - [`sign`]: the signer traits through which the node key is used (so a hardware
//!   signer can hold it) and the entropy source.
//! - [`chan`]: channels ([`chan::channel`]) and the [`chan::manager::ChannelManager`]
//!   that runs them behind the peer manager: opening, payments (sent over routes, received
//!   in parts, forwarded), closing, persistence.
//! - [`chain`]: channel monitors and the traits through which monitor updates are
//!   persisted ([`chain::Persist`]) and transactions broadcast ([`chain::Broadcaster`]).
//! - [`events`]: what the channel manager tells its user.
//! - [`onion`]: BOLT 4 onion packets and failure messages.
//! - [`routing`]: the network graph the user fills, the [`routing::Router`] the manager
//!   sends through, and a default pathfinder that learns liquidity from payments.
//!
//! Start with [`guide`]: how a wallet builds a node from these pieces.

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub use bitcoin;

pub mod chain;
pub mod chan;
pub mod events;
#[cfg(doc)]
pub mod guide;
pub mod onion;
pub mod routing;
pub mod secp_context;
pub mod sign;
pub mod transport;
pub mod wire;
