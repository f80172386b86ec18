//! Why the peer manager drops a connection.

use alloc::string::String;
use core::fmt;

use super::cipher::DecryptError;
use super::handshake::HandshakeError;
use crate::wire::{DecodeError, FeatureError};

/// Why a connection is (to be) closed. The caller closes the socket after flushing any
/// last bytes from `take_outbound`, then calls `disconnected`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The id was never registered with `new_outbound`/`new_inbound`, or is gone.
    UnknownPeer,
    /// The peer is already being disconnected; nothing more is read from it.
    AlreadyDisconnecting,
    /// The BOLT 8 handshake failed.
    Handshake(HandshakeError),
    /// A message failed authentication.
    Decrypt(DecryptError),
    /// A message could not be decoded (too short, invalid field, bad extension, unknown
    /// even type).
    Decode {
        /// The message type, if the type itself was readable.
        msg_type: Option<u16>,
        /// What was wrong.
        error: DecodeError,
    },
    /// The peer sent something other than `init` first.
    MessageBeforeInit {
        /// The type it sent.
        msg_type: u16,
    },
    /// The peer sent a second `init`.
    DuplicateInit,
    /// The peer's features are incompatible with ours.
    Features(FeatureError),
    /// The peer's `networks` has no chain in common with ours.
    NoCommonChain,
    /// A handler refused the peer when it connected.
    Rejected(String),
    /// A handler asked for the disconnect.
    HandlerRequested(String),
    /// A `pong` did not answer our `ping`.
    UnexpectedPong {
        /// The pong length we expected, if we were waiting for one.
        expected_len: Option<u16>,
        /// The pong length received.
        received_len: usize,
    },
    /// The peer did not answer a ping within a timer tick.
    PingTimeout,
    /// The handshake and `init` exchange did not finish in time.
    HandshakeTimeout,
    /// Outbound data piled up past the hard limit: the peer is not reading.
    OutboundOverflow {
        /// Bytes waiting to be sent.
        buffered_bytes: usize,
    },
    /// Another connection to the same node is already established.
    DuplicateConnection,
}

impl DisconnectReason {
    /// Whether the peer broke the protocol after `init`, so that it should be told why
    /// with a `warning` before the connection closes.
    pub(super) fn warrants_warning(&self) -> bool {
        matches!(
            self,
            DisconnectReason::Decode { .. }
                | DisconnectReason::DuplicateInit
                | DisconnectReason::Features(_)
                | DisconnectReason::NoCommonChain
                | DisconnectReason::Rejected(_)
                | DisconnectReason::UnexpectedPong { .. }
        )
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::UnknownPeer => f.write_str("unknown peer id"),
            DisconnectReason::AlreadyDisconnecting => f.write_str("peer is disconnecting"),
            DisconnectReason::Handshake(e) => write!(f, "handshake failed: {e}"),
            DisconnectReason::Decrypt(e) => write!(f, "decryption failed: {e}"),
            DisconnectReason::Decode {
                msg_type: Some(t),
                error,
            } => {
                write!(f, "could not decode message type {t}: {error}")
            }
            DisconnectReason::Decode { msg_type: None, error } => {
                write!(f, "could not decode message: {error}")
            }
            DisconnectReason::MessageBeforeInit { msg_type } => {
                write!(f, "message type {msg_type} received before init")
            }
            DisconnectReason::DuplicateInit => f.write_str("second init on one connection"),
            DisconnectReason::Features(e) => write!(f, "incompatible features: {e}"),
            DisconnectReason::NoCommonChain => f.write_str("no chain in common"),
            DisconnectReason::Rejected(why) => write!(f, "peer rejected: {why}"),
            DisconnectReason::HandlerRequested(why) => write!(f, "disconnect requested: {why}"),
            DisconnectReason::UnexpectedPong {
                expected_len: Some(e),
                received_len,
            } => {
                write!(f, "pong of {received_len} bytes, expected {e}")
            }
            DisconnectReason::UnexpectedPong {
                expected_len: None,
                received_len,
            } => {
                write!(f, "unsolicited pong of {received_len} bytes")
            }
            DisconnectReason::PingTimeout => f.write_str("no answer to ping"),
            DisconnectReason::HandshakeTimeout => f.write_str("handshake timed out"),
            DisconnectReason::OutboundOverflow { buffered_bytes } => {
                write!(f, "{buffered_bytes} bytes waiting to be sent: peer is not reading")
            }
            DisconnectReason::DuplicateConnection => f.write_str("already connected to this node"),
        }
    }
}
