//! Signers: the library never holds raw keys itself. The node key is used through
//! [`NodeSigner`] (so it can live in a hardware signer), channel keys through
//! [`ChannelSigner`], and randomness comes only from the user's [`EntropySource`].
//!
//! [`KeysManager`] derives everything deterministically from a 32-byte seed;
//! [`TestChannelSigner`] wraps a channel signer for the testbed, refusing to sign revoked
//! states and refusing or delaying any operation on command.

mod channel;
mod keys_manager;
mod node;
mod test_signer;

pub use channel::{ChannelSigner, ChannelTransactionParameters, CommitmentOwner, InMemoryChannelSigner};
pub use keys_manager::{KeysManager, SignerProvider};
pub use node::{EntropySource, InMemoryNodeSigner, NodeSigner};
pub use test_signer::{SignerOp, TestChannelSigner, TestSignerControl};

use core::fmt;

/// Why a signer did not sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignerError {
    /// Not now: the signer is unreachable or busy; the caller may retry later.
    Unavailable,
    /// Never: signing would break policy (a revoked state, a secret released out of
    /// order, a transaction that does not match the channel).
    Refused,
}

impl fmt::Display for SignerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignerError::Unavailable => f.write_str("signer unavailable"),
            SignerError::Refused => f.write_str("signer refused"),
        }
    }
}
