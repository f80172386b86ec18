//! Everything derived from one 32-byte seed: the node key, each channel's keys (from a
//! channel keys id the channel persists), and a deterministic entropy stream.

use alloc::sync::Arc;
use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::secp256k1::ecdh::SharedSecret;
use bitcoin::secp256k1::ecdsa::{RecoverableSignature, Signature};
use bitcoin::secp256k1::{PublicKey, SecretKey};
use core::sync::atomic::{AtomicU64, Ordering};

use super::channel::InMemoryChannelSigner;
use super::node::{EntropySource, InMemoryNodeSigner, NodeSigner};
use super::SignerError;

/// The default signer: deterministic from a 32-byte seed, so a node restored from its
/// seed and its persisted channel keys ids has every key back.
///
/// One key source for a whole node: hand clones to the peer manager and the channel
/// manager. Clones share one entropy stream (its counter is shared), so no two
/// components ever draw the same bytes: handshake keys, channel keys ids and preimages
/// stay distinct however many clones draw.
#[derive(Clone, Debug)]
pub struct KeysManager {
    seed: [u8; 32],
    node: InMemoryNodeSigner,
    session_entropy: [u8; 32],
    /// Shared by every clone: each draw takes the next value.
    entropy_counter: Arc<AtomicU64>,
}

fn hash_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut engine = sha256::Hash::engine();
    for part in parts {
        engine.input(part);
    }
    sha256::Hash::from_engine(engine).to_byte_array()
}

/// A secret key from a hash chain: rehash the (astronomically rare) invalid values.
fn secret_from(mut bytes: [u8; 32]) -> SecretKey {
    loop {
        if let Ok(key) = SecretKey::from_slice(&bytes) {
            return key;
        }
        bytes = sha256::Hash::hash(&bytes).to_byte_array();
    }
}

impl KeysManager {
    /// Derives the node key and channel keys from `seed` (the same on every start), and
    /// entropy from `seed` and `session_entropy`, which must differ on every start (a
    /// clock reading with OS randomness, or a counter persisted before use): the entropy
    /// makes payment preimages and channel keys ids, and a restart that replayed it would
    /// reuse a preimage already revealed, or another channel's keys.
    pub fn new(seed: &[u8; 32], session_entropy: &[u8; 32]) -> Self {
        let node = InMemoryNodeSigner::new(secret_from(hash_parts(&[seed, b"node key"])));
        KeysManager {
            seed: *seed,
            node,
            session_entropy: *session_entropy,
            entropy_counter: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A fresh id for a new channel's keys (persist it with the channel).
    pub fn generate_channel_keys_id(&mut self) -> [u8; 32] {
        self.random_bytes()
    }

    /// The key of the P2WPKH a channel closes to by default
    /// ([`SignerProvider::shutdown_script`]): one per channel, never the node key, so the
    /// wallet can spend what a close pays and no key is reused on chain.
    pub fn shutdown_secret_key(&self, channel_keys_id: &[u8; 32]) -> SecretKey {
        secret_from(hash_parts(&[&self.seed, channel_keys_id, b"shutdown key"]))
    }

    /// The signer for the channel whose keys id is `channel_keys_id`.
    pub fn derive_channel_signer(&self, channel_keys_id: &[u8; 32]) -> InMemoryChannelSigner {
        let key = |label: &[u8]| secret_from(hash_parts(&[&self.seed, channel_keys_id, label]));
        InMemoryChannelSigner::new(
            key(b"funding key"),
            key(b"revocation base key"),
            key(b"payment key"),
            key(b"delayed payment base key"),
            key(b"htlc base key"),
            hash_parts(&[&self.seed, channel_keys_id, b"commitment seed"]),
        )
    }
}

impl NodeSigner for KeysManager {
    fn node_id(&self) -> PublicKey {
        self.node.node_id()
    }
    fn ecdh(&self, other_key: &PublicKey) -> Result<SharedSecret, SignerError> {
        self.node.ecdh(other_key)
    }
    fn sign_gossip(&self, signed_bytes: &[u8]) -> Result<Signature, SignerError> {
        self.node.sign_gossip(signed_bytes)
    }
    fn sign_invoice(&self, message_hash: &[u8; 32]) -> Result<RecoverableSignature, SignerError> {
        self.node.sign_invoice(message_hash)
    }
}

impl EntropySource for KeysManager {
    fn random_bytes(&mut self) -> [u8; 32] {
        let counter = self.entropy_counter.fetch_add(1, Ordering::Relaxed) + 1;
        hash_parts(&[&self.seed, b"entropy", &self.session_entropy, &counter.to_be_bytes()])
    }
}

/// Where the channel manager gets each channel's signer: a fresh keys id per channel,
/// and the signer for a keys id (again after a restart).
pub trait SignerProvider {
    /// The channel signer type.
    type Signer: super::ChannelSigner;
    /// A fresh keys id for a new channel.
    fn generate_channel_keys_id(&mut self) -> [u8; 32];
    /// The signer for `channel_keys_id`.
    fn derive_channel_signer(&self, channel_keys_id: &[u8; 32]) -> Self::Signer;
    /// Where our balance goes when the channel of `channel_keys_id` closes cooperatively:
    /// a script of the wallet's (P2WPKH, P2WSH, or with `option_shutdown_anysegwit` any
    /// witness program). Asked once per channel, at opening, and kept with the channel;
    /// with `option_upfront_shutdown_script` the channel commits to it then.
    fn shutdown_script(&mut self, channel_keys_id: &[u8; 32]) -> bitcoin::ScriptBuf;
}

impl SignerProvider for KeysManager {
    type Signer = InMemoryChannelSigner;
    fn generate_channel_keys_id(&mut self) -> [u8; 32] {
        KeysManager::generate_channel_keys_id(self)
    }
    fn derive_channel_signer(&self, channel_keys_id: &[u8; 32]) -> InMemoryChannelSigner {
        KeysManager::derive_channel_signer(self, channel_keys_id)
    }
    fn shutdown_script(&mut self, channel_keys_id: &[u8; 32]) -> bitcoin::ScriptBuf {
        let key = PublicKey::from_secret_key(
            &crate::secp_context::shared(),
            &self.shutdown_secret_key(channel_keys_id),
        );
        bitcoin::ScriptBuf::new_p2wpkh(&bitcoin::CompressedPublicKey(key).wpubkey_hash())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::ChannelSigner;
    use alloc::vec::Vec;

    /// The natural mistake, one `KeysManager` cloned for the peer manager and the
    /// channel manager, cannot repeat a draw: clones share the stream.
    #[test]
    fn clones_never_draw_the_same_bytes() {
        let mut channels = KeysManager::new(&[7; 32], &[1; 32]);
        let mut transport = channels.clone();
        let mut later = transport.clone();
        let mut drawn = alloc::collections::BTreeSet::new();
        for _ in 0..50 {
            assert!(drawn.insert(channels.random_bytes()));
            assert!(drawn.insert(transport.random_bytes()));
            assert!(drawn.insert(later.generate_channel_keys_id()));
        }
        assert_eq!(channels.node_id(), later.node_id(), "one node");
    }

    #[test]
    fn a_restart_keeps_the_keys_but_never_replays_the_entropy() {
        let seed = [7; 32];
        let mut first = KeysManager::new(&seed, &[1; 32]);
        let mut restarted = KeysManager::new(&seed, &[2; 32]);
        assert_eq!(first.node_id(), restarted.node_id());
        let keys_id = [9; 32];
        assert_eq!(
            *first.derive_channel_signer(&keys_id).pubkeys(),
            *restarted.derive_channel_signer(&keys_id).pubkeys()
        );
        let drawn: Vec<[u8; 32]> = (0..4).map(|_| first.random_bytes()).collect();
        for _ in 0..4 {
            assert!(!drawn.contains(&restarted.random_bytes()));
        }
        // Draws within a session never repeat either.
        assert_ne!(drawn[0], drawn[1]);
    }

    /// Commitment numbers run from 0 to 2^48 - 1 (secret index 2^48 - 1 down to 0); a
    /// point past them is refused.
    #[test]
    fn points_exist_for_every_commitment_number_and_no_further() {
        use crate::chan::INITIAL_COMMITMENT_NUMBER;

        let keys = KeysManager::new(&[7; 32], &[1; 32]);
        let signer = keys.derive_channel_signer(&[3; 32]);
        assert!(signer.per_commitment_point(0).is_ok());
        assert!(signer.per_commitment_point(INITIAL_COMMITMENT_NUMBER).is_ok());
        assert_eq!(
            signer.per_commitment_point(INITIAL_COMMITMENT_NUMBER + 1),
            Err(crate::sign::SignerError::Refused)
        );
    }

    /// Every new channel gets its own keys.
    #[test]
    fn each_channel_gets_its_own_keys() {
        let mut keys = KeysManager::new(&[7; 32], &[1; 32]);
        let (first, second) = (keys.generate_channel_keys_id(), keys.generate_channel_keys_id());
        assert_ne!(first, second);
        // Through the trait the manager uses, too.
        let through_trait = |keys: &mut KeysManager| <KeysManager as SignerProvider>::generate_channel_keys_id(keys);
        let (third, fourth) = (through_trait(&mut keys), through_trait(&mut keys));
        assert!(third != fourth && third != first && third != second);
        assert_ne!(
            keys.derive_channel_signer(&first).pubkeys().funding_pubkey,
            keys.derive_channel_signer(&second).pubkeys().funding_pubkey
        );
    }
}
