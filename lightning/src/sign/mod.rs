//! Signer traits: the node key is used only through [`NodeSigner`], so it can live in a
//! hardware signer; randomness comes only from the user's [`EntropySource`].

use core::fmt;

use bitcoin::secp256k1::ecdh::SharedSecret;
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};

/// Why a signer could not do what was asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignerError {
    /// The signer refused or could not reach its key.
    Unavailable,
}

impl fmt::Display for SignerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignerError::Unavailable => f.write_str("signer unavailable"),
        }
    }
}

/// Operations with the node's long-term key.
pub trait NodeSigner {
    /// The node's public key: its identity on the network.
    fn node_id(&self) -> PublicKey;

    /// ECDH with the node key as BOLT 8 defines it: SHA-256 of the compressed shared
    /// point.
    fn ecdh(&self, other_key: &PublicKey) -> Result<SharedSecret, SignerError>;
}

/// The only source of randomness the library uses (ephemeral keys, nonces).
pub trait EntropySource {
    /// 32 fresh random bytes.
    fn random_bytes(&mut self) -> [u8; 32];
}

/// A node signer holding its secret key in memory.
#[derive(Clone)]
pub struct InMemoryNodeSigner {
    secret: SecretKey,
    node_id: PublicKey,
}

impl InMemoryNodeSigner {
    /// A signer for `secret`.
    pub fn new(secret: SecretKey) -> Self {
        let node_id = PublicKey::from_secret_key(&Secp256k1::signing_only(), &secret);
        InMemoryNodeSigner { secret, node_id }
    }
}

impl fmt::Debug for InMemoryNodeSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        f.debug_struct("InMemoryNodeSigner")
            .field("node_id", &self.node_id)
            .finish_non_exhaustive()
    }
}

impl NodeSigner for InMemoryNodeSigner {
    fn node_id(&self) -> PublicKey {
        self.node_id
    }

    fn ecdh(&self, other_key: &PublicKey) -> Result<SharedSecret, SignerError> {
        Ok(SharedSecret::new(other_key, &self.secret))
    }
}
