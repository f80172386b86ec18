//! What the peer manager hands decoded messages to, and what handlers hand back.

use alloc::string::String;
use alloc::vec::Vec;

use bitcoin::secp256k1::PublicKey;

use crate::wire::{Features, Init, Message};

/// Something a handler wants the peer manager to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandlerAction {
    /// Send a message to a connected peer (dropped if the peer is not connected: state
    /// that must survive a disconnect is resent on reconnection by the handler).
    Send {
        /// The peer.
        node_id: PublicKey,
        /// The message.
        message: Message,
    },
    /// Send a last message (typically an `error`), if any, then disconnect the peer.
    Disconnect {
        /// The peer.
        node_id: PublicKey,
        /// A message to send before disconnecting.
        message: Option<Message>,
        /// Why, for the caller's logs.
        reason: String,
    },
}

/// A consumer of one group of messages: the channel manager for channel messages (and
/// `error`/`warning`), the gossip handler for routing messages.
///
/// Handlers are called synchronously from the peer manager's methods and queue their
/// answers, which the peer manager collects with [`MessageHandler::take_actions`].
pub trait MessageHandler {
    /// The feature bits this handler needs in our `init`.
    fn init_features(&self) -> Features;

    /// A peer finished the `init` exchange. Returning `Err` with a reason disconnects it.
    fn peer_connected(&mut self, their_node_id: &PublicKey, their_init: &Init) -> Result<(), String>;

    /// A peer that had completed `init` is gone.
    fn peer_disconnected(&mut self, their_node_id: &PublicKey);

    /// A message from a connected peer.
    fn handle_message(&mut self, their_node_id: &PublicKey, message: Message);

    /// Drains what the handler wants sent or done, in order.
    fn take_actions(&mut self) -> Vec<HandlerAction>;
}

/// A handler that sets no features, accepts every peer and ignores every message.
#[derive(Clone, Copy, Debug, Default)]
pub struct IgnoringHandler;

impl MessageHandler for IgnoringHandler {
    fn init_features(&self) -> Features {
        Features::empty()
    }
    fn peer_connected(&mut self, _: &PublicKey, _: &Init) -> Result<(), String> {
        Ok(())
    }
    fn peer_disconnected(&mut self, _: &PublicKey) {}
    fn handle_message(&mut self, _: &PublicKey, _: Message) {}
    fn take_actions(&mut self) -> Vec<HandlerAction> {
        Vec::new()
    }
}
