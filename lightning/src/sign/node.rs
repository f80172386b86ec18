//! The node key (ECDH for BOLT 8, gossip and invoice signatures) and the entropy source.

use core::fmt;

use bitcoin::hashes::{sha256d, Hash};
use bitcoin::secp256k1::ecdh::SharedSecret;
use bitcoin::secp256k1::ecdsa::{RecoverableSignature, Signature};
use bitcoin::secp256k1::{Message, PublicKey, SecretKey};

use super::SignerError;

/// Operations with the node's long-term key.
pub trait NodeSigner {
    /// The node's public key: its identity on the network.
    fn node_id(&self) -> PublicKey;

    /// ECDH with the node key as BOLT 8 defines it: SHA-256 of the compressed shared
    /// point.
    fn ecdh(&self, other_key: &PublicKey) -> Result<SharedSecret, SignerError>;

    /// Signs a gossip message (`node_announcement`, `channel_update`, the node half of
    /// `channel_announcement`): `signed_bytes` is everything after the signature fields;
    /// the signature covers its double SHA-256 (BOLT 7).
    fn sign_gossip(&self, signed_bytes: &[u8]) -> Result<Signature, SignerError>;

    /// Signs a BOLT 11 invoice: `message_hash` is the SHA-256 of the human-readable part
    /// and the data, and the signature is recoverable.
    fn sign_invoice(&self, message_hash: &[u8; 32]) -> Result<RecoverableSignature, SignerError>;
}

/// The only source of randomness the library uses (ephemeral keys, nonces, ids).
pub trait EntropySource {
    /// 32 fresh random bytes.
    fn random_bytes(&mut self) -> [u8; 32];
}

/// A node signer holding its secret key in memory.
#[derive(Clone)]
pub struct InMemoryNodeSigner {
    secret: SecretKey,
    node_id: PublicKey,
    secp: crate::secp_context::SharedSecp,
}

impl InMemoryNodeSigner {
    /// A signer for `secret`.
    pub fn new(secret: SecretKey) -> Self {
        let secp = crate::secp_context::shared();
        let node_id = PublicKey::from_secret_key(&secp, &secret);
        InMemoryNodeSigner { secret, node_id, secp }
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

    fn sign_gossip(&self, signed_bytes: &[u8]) -> Result<Signature, SignerError> {
        let digest = sha256d::Hash::hash(signed_bytes).to_byte_array();
        Ok(self.secp.sign_ecdsa(&Message::from_digest(digest), &self.secret))
    }

    fn sign_invoice(&self, message_hash: &[u8; 32]) -> Result<RecoverableSignature, SignerError> {
        Ok(self
            .secp
            .sign_ecdsa_recoverable(&Message::from_digest(*message_hash), &self.secret))
    }
}
