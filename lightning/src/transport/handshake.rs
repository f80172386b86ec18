//! The BOLT 8 handshake: Noise_XK over secp256k1 with ChaCha20-Poly1305 and SHA-256,
//! three acts of 50, 50 and 66 bytes.
//!
//! The initiator knows the responder's static key in advance; after act three each side
//! knows the other's static key and both hold the transport keys. Every ECDH with the
//! node's own static key goes through the [`NodeSigner`]; only ephemeral keys are held
//! here.

use core::fmt;

use bitcoin::secp256k1::ecdh::SharedSecret;
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey, Signing};

use super::cipher::TransportCipher;
use super::crypto::{hkdf, sha256_concat, AeadKey, TAG_LEN};
use crate::sign::{NodeSigner, SignerError};

/// The length of act one.
pub const ACT_ONE_LEN: usize = 50;
/// The length of act two.
pub const ACT_TWO_LEN: usize = 50;
/// The length of act three.
pub const ACT_THREE_LEN: usize = 66;

const PROTOCOL_NAME: &[u8] = b"Noise_XK_secp256k1_ChaChaPoly_SHA256";
const PROLOGUE: &[u8] = b"lightning";
const VERSION: u8 = 0;

/// Why a handshake failed. Each variant names the act it failed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeError {
    /// The act was shorter than its fixed length.
    ShortRead {
        /// The act (1 to 3).
        act: u8,
    },
    /// The act's version byte was not 0.
    BadVersion {
        /// The act (1 to 3).
        act: u8,
        /// The version received.
        version: u8,
    },
    /// The ephemeral key (acts one and two) or the decrypted static key (act three) is
    /// not a valid point.
    BadPublicKey {
        /// The act (1 to 3).
        act: u8,
    },
    /// Act three's encrypted static key failed authentication.
    BadCiphertext,
    /// The act's MAC failed authentication.
    BadTag {
        /// The act (1 to 3).
        act: u8,
    },
    /// The node signer could not perform ECDH.
    Signer(SignerError),
    /// Bytes arrived when the handshake expected none (it is complete).
    Finished,
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::ShortRead { act } => write!(f, "act {act}: short read"),
            HandshakeError::BadVersion { act, version } => {
                write!(f, "act {act}: bad version {version}")
            }
            HandshakeError::BadPublicKey { act } => write!(f, "act {act}: bad public key"),
            HandshakeError::BadCiphertext => f.write_str("act 3: bad ciphertext"),
            HandshakeError::BadTag { act } => write!(f, "act {act}: bad MAC"),
            HandshakeError::Signer(e) => write!(f, "handshake: {e}"),
            HandshakeError::Finished => f.write_str("handshake already finished"),
        }
    }
}

/// What processing an act produced.
// Produced once or twice per connection and moved straight into the peer: not worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum HandshakeStep {
    /// The responder's act two, to send.
    ActTwo([u8; ACT_TWO_LEN]),
    /// The handshake is complete.
    Complete {
        /// The initiator's act three, to send (`None` on the responder).
        act_three: Option<[u8; ACT_THREE_LEN]>,
        /// The peer's static key, authenticated.
        their_node_id: PublicKey,
        /// The transport keys.
        cipher: TransportCipher,
    },
}

#[derive(Clone, Debug)]
enum State {
    InitiatorAwaitingActTwo { their_node_id: PublicKey },
    ResponderAwaitingActOne,
    ResponderAwaitingActThree { temp_k2: [u8; 32] },
    Done,
}

/// One side of a handshake in progress.
#[derive(Clone)]
pub struct Handshake {
    state: State,
    chaining_key: [u8; 32],
    hash: [u8; 32],
    ephemeral_secret: SecretKey,
    ephemeral_public: PublicKey,
}

impl fmt::Debug for Handshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handshake")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

fn ecdh_ephemeral(secret: &SecretKey, point: &PublicKey) -> [u8; 32] {
    SharedSecret::new(point, secret).secret_bytes()
}

fn check_version(act: u8, input: &[u8]) -> Result<(), HandshakeError> {
    match input.first() {
        Some(&VERSION) => Ok(()),
        Some(&version) => Err(HandshakeError::BadVersion { act, version }),
        None => Err(HandshakeError::ShortRead { act }),
    }
}

impl Handshake {
    fn initial(
        responder_static: &PublicKey,
        ephemeral_secret: SecretKey,
        ephemeral_public: PublicKey,
        state: State,
    ) -> Self {
        let hash = sha256_concat(&[PROTOCOL_NAME]);
        let chaining_key = hash;
        let hash = sha256_concat(&[&hash, PROLOGUE]);
        let hash = sha256_concat(&[&hash, &responder_static.serialize()]);
        Handshake {
            state,
            chaining_key,
            hash,
            ephemeral_secret,
            ephemeral_public,
        }
    }

    fn mix_hash(&mut self, data: &[u8]) {
        self.hash = sha256_concat(&[&self.hash, data]);
    }

    fn mix_key(&mut self, shared_secret: &[u8; 32]) -> [u8; 32] {
        let (chaining_key, temp_key) = hkdf(&self.chaining_key, shared_secret);
        self.chaining_key = chaining_key;
        temp_key
    }

    /// Starts an outbound handshake to `their_node_id` with a fresh ephemeral key, and
    /// returns act one to send.
    pub fn new_outbound<C: Signing>(
        secp: &Secp256k1<C>,
        their_node_id: PublicKey,
        ephemeral_secret: SecretKey,
    ) -> (Self, [u8; ACT_ONE_LEN]) {
        let ephemeral_public = PublicKey::from_secret_key(secp, &ephemeral_secret);
        let mut hs = Handshake::initial(
            &their_node_id,
            ephemeral_secret,
            ephemeral_public,
            State::InitiatorAwaitingActTwo { their_node_id },
        );
        let (act_one, _) = hs.ephemeral_act(&their_node_id);
        (hs, act_one)
    }

    /// Starts an inbound handshake for a node whose key is `our_node_id`.
    pub fn new_inbound<C: Signing>(secp: &Secp256k1<C>, our_node_id: &PublicKey, ephemeral_secret: SecretKey) -> Self {
        let ephemeral_public = PublicKey::from_secret_key(secp, &ephemeral_secret);
        Handshake::initial(
            our_node_id,
            ephemeral_secret,
            ephemeral_public,
            State::ResponderAwaitingActOne,
        )
    }

    /// Acts one and two: `e`, then ECDH of our ephemeral key with `remote`. Returns the
    /// act and the temporary key it was sealed with.
    fn ephemeral_act(&mut self, remote: &PublicKey) -> ([u8; 50], [u8; 32]) {
        let e_pub = self.ephemeral_public.serialize();
        self.mix_hash(&e_pub);
        let shared = ecdh_ephemeral(&self.ephemeral_secret, remote);
        let temp_key = self.mix_key(&shared);
        let tag = AeadKey::new(&temp_key).seal(0, &self.hash, &mut []);
        self.mix_hash(&tag);
        let mut act = [0u8; 50];
        act[0] = VERSION;
        act[1..34].copy_from_slice(&e_pub);
        act[34..].copy_from_slice(&tag);
        (act, temp_key)
    }

    /// Reads the peer's ephemeral key from act one or two and checks its MAC, given how
    /// to compute the shared secret with it. Returns the peer's ephemeral key and the
    /// temporary key.
    fn read_ephemeral_act(
        &mut self,
        act: u8,
        input: &[u8],
        shared_with: impl FnOnce(&PublicKey) -> Result<[u8; 32], HandshakeError>,
    ) -> Result<(PublicKey, [u8; 32]), HandshakeError> {
        if input.len() < 50 {
            return Err(HandshakeError::ShortRead { act });
        }
        check_version(act, input)?;
        let their_ephemeral = PublicKey::from_slice(&input[1..34]).map_err(|_| HandshakeError::BadPublicKey { act })?;
        self.mix_hash(&input[1..34]);
        let shared = shared_with(&their_ephemeral)?;
        let temp_key = self.mix_key(&shared);
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&input[34..50]);
        if !AeadKey::new(&temp_key).open(0, &self.hash, &mut [], &tag) {
            return Err(HandshakeError::BadTag { act });
        }
        self.mix_hash(&tag);
        Ok((their_ephemeral, temp_key))
    }

    /// How many bytes the next act needs, or 0 once the handshake is complete.
    pub fn expected_len(&self) -> usize {
        match self.state {
            State::InitiatorAwaitingActTwo { .. } => ACT_TWO_LEN,
            State::ResponderAwaitingActOne => ACT_ONE_LEN,
            State::ResponderAwaitingActThree { .. } => ACT_THREE_LEN,
            State::Done => 0,
        }
    }

    /// Processes the peer's next act, which must be exactly [`Handshake::expected_len`]
    /// bytes. After an error the handshake is dead and the connection must be closed.
    pub fn process_act<S: NodeSigner + ?Sized>(
        &mut self,
        input: &[u8],
        signer: &S,
    ) -> Result<HandshakeStep, HandshakeError> {
        let state = core::mem::replace(&mut self.state, State::Done);
        match state {
            State::ResponderAwaitingActOne => {
                let (their_ephemeral, _) = self.read_ephemeral_act(1, input, |e| {
                    signer.ecdh(e).map(|s| s.secret_bytes()).map_err(HandshakeError::Signer)
                })?;
                let (act_two, temp_k2) = self.ephemeral_act(&their_ephemeral);
                self.state = State::ResponderAwaitingActThree { temp_k2 };
                Ok(HandshakeStep::ActTwo(act_two))
            }
            State::InitiatorAwaitingActTwo { their_node_id } => {
                let secret = self.ephemeral_secret;
                let (their_ephemeral, temp_k2) =
                    self.read_ephemeral_act(2, input, |e| Ok(ecdh_ephemeral(&secret, e)))?;
                // Act three: our static key, encrypted, then `se`.
                let mut act_three = [0u8; ACT_THREE_LEN];
                act_three[0] = VERSION;
                let mut encrypted_static = signer.node_id().serialize();
                let tag = AeadKey::new(&temp_k2).seal(1, &self.hash, &mut encrypted_static);
                act_three[1..34].copy_from_slice(&encrypted_static);
                act_three[34..50].copy_from_slice(&tag);
                self.mix_hash(&act_three[1..50]);
                let se = signer.ecdh(&their_ephemeral).map_err(HandshakeError::Signer)?;
                let temp_k3 = self.mix_key(&se.secret_bytes());
                let final_tag = AeadKey::new(&temp_k3).seal(0, &self.hash, &mut []);
                act_three[50..].copy_from_slice(&final_tag);
                let (sending_key, receiving_key) = hkdf(&self.chaining_key, &[]);
                Ok(HandshakeStep::Complete {
                    act_three: Some(act_three),
                    their_node_id,
                    cipher: TransportCipher::new(self.chaining_key, sending_key, receiving_key),
                })
            }
            State::ResponderAwaitingActThree { temp_k2 } => {
                if input.len() < ACT_THREE_LEN {
                    return Err(HandshakeError::ShortRead { act: 3 });
                }
                check_version(3, input)?;
                let mut their_static = [0u8; 33];
                their_static.copy_from_slice(&input[1..34]);
                let mut tag = [0u8; TAG_LEN];
                tag.copy_from_slice(&input[34..50]);
                if !AeadKey::new(&temp_k2).open(1, &self.hash, &mut their_static, &tag) {
                    return Err(HandshakeError::BadCiphertext);
                }
                let their_node_id =
                    PublicKey::from_slice(&their_static).map_err(|_| HandshakeError::BadPublicKey { act: 3 })?;
                self.mix_hash(&input[1..50]);
                let se = ecdh_ephemeral(&self.ephemeral_secret, &their_node_id);
                let temp_k3 = self.mix_key(&se);
                let mut final_tag = [0u8; TAG_LEN];
                final_tag.copy_from_slice(&input[50..66]);
                if !AeadKey::new(&temp_k3).open(0, &self.hash, &mut [], &final_tag) {
                    return Err(HandshakeError::BadTag { act: 3 });
                }
                let (receiving_key, sending_key) = hkdf(&self.chaining_key, &[]);
                Ok(HandshakeStep::Complete {
                    act_three: None,
                    their_node_id,
                    cipher: TransportCipher::new(self.chaining_key, sending_key, receiving_key),
                })
            }
            State::Done => Err(HandshakeError::Finished),
        }
    }
}
