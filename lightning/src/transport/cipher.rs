//! The BOLT 8 message cipher: each message is an encrypted 2-byte length with its MAC,
//! then the encrypted message with its MAC. Each direction rotates its key after 1,000
//! uses (500 messages).

use alloc::vec::Vec;
use core::fmt;

use super::crypto::{hkdf, AeadKey, TAG_LEN};

/// The encrypted length header: 2 bytes of length and a MAC.
pub const LENGTH_HEADER_LEN: usize = 2 + TAG_LEN;
/// The largest message the cipher carries.
pub const MAX_MESSAGE_LEN: usize = 65535;
/// A key is rotated once its nonce reaches this.
const KEY_ROTATION_NONCE: u64 = 1000;

/// A received message failed authentication: the connection must be closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecryptError {
    /// The length header's MAC did not verify.
    BadLengthTag,
    /// The message's MAC did not verify.
    BadMessageTag,
}

impl fmt::Display for DecryptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecryptError::BadLengthTag => f.write_str("bad MAC on message length"),
            DecryptError::BadMessageTag => f.write_str("bad MAC on message"),
        }
    }
}

/// One direction's key, chaining key and nonce.
#[derive(Clone)]
struct Direction {
    key: AeadKey,
    raw_key: [u8; 32],
    chaining_key: [u8; 32],
    nonce: u64,
}

impl Direction {
    fn new(chaining_key: [u8; 32], raw_key: [u8; 32]) -> Self {
        Direction {
            key: AeadKey::new(&raw_key),
            raw_key,
            chaining_key,
            nonce: 0,
        }
    }

    /// Moves to the next nonce, rotating the key when it reaches 1,000.
    fn advance(&mut self) {
        self.nonce += 1;
        if self.nonce == KEY_ROTATION_NONCE {
            let (chaining_key, raw_key) = hkdf(&self.chaining_key, &self.raw_key);
            *self = Direction::new(chaining_key, raw_key);
        }
    }

    fn seal(&mut self, buffer: &mut [u8]) -> [u8; TAG_LEN] {
        let tag = self.key.seal(self.nonce, &[], buffer);
        self.advance();
        tag
    }

    fn open(&mut self, buffer: &mut [u8], tag: &[u8; TAG_LEN]) -> bool {
        let ok = self.key.open(self.nonce, &[], buffer, tag);
        self.advance();
        ok
    }
}

/// The keys of an established connection.
#[derive(Clone)]
pub struct TransportCipher {
    sending: Direction,
    receiving: Direction,
}

impl fmt::Debug for TransportCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportCipher")
            .field("sending_nonce", &self.sending.nonce)
            .field("receiving_nonce", &self.receiving.nonce)
            .finish_non_exhaustive()
    }
}

fn split_tag(bytes: &mut [u8]) -> (&mut [u8], [u8; TAG_LEN]) {
    let (body, tag_bytes) = bytes.split_at_mut(bytes.len() - TAG_LEN);
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(tag_bytes);
    (body, tag)
}

impl TransportCipher {
    /// The cipher the handshake hands over: both chaining keys start at the final `ck`.
    pub fn new(chaining_key: [u8; 32], sending_key: [u8; 32], receiving_key: [u8; 32]) -> Self {
        TransportCipher {
            sending: Direction::new(chaining_key, sending_key),
            receiving: Direction::new(chaining_key, receiving_key),
        }
    }

    /// Appends the encryption of `message` to `out`: `18 + len + 16` bytes.
    ///
    /// # Panics
    /// If `message` is longer than [`MAX_MESSAGE_LEN`]: the caller encodes messages and
    /// must not produce one the protocol cannot carry.
    pub fn encrypt_message(&mut self, message: &[u8], out: &mut Vec<u8>) {
        assert!(message.len() <= MAX_MESSAGE_LEN, "message of {} bytes", message.len());
        out.reserve(LENGTH_HEADER_LEN + message.len() + TAG_LEN);
        let start = out.len();
        out.extend_from_slice(&(message.len() as u16).to_be_bytes());
        let tag = self.sending.seal(&mut out[start..]);
        out.extend_from_slice(&tag);
        let body_start = out.len();
        out.extend_from_slice(message);
        let tag = self.sending.seal(&mut out[body_start..]);
        out.extend_from_slice(&tag);
    }

    /// Decrypts a length header and returns how many bytes follow it: the message length
    /// plus its 16-byte MAC.
    pub fn decrypt_length(&mut self, header: &[u8; LENGTH_HEADER_LEN]) -> Result<usize, DecryptError> {
        let mut copy = *header;
        let (len_bytes, tag) = split_tag(&mut copy);
        if !self.receiving.open(len_bytes, &tag) {
            return Err(DecryptError::BadLengthTag);
        }
        Ok(usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]])) + TAG_LEN)
    }

    /// Decrypts a message body (the message and its MAC, as sized by
    /// [`TransportCipher::decrypt_length`]) in place and returns the plaintext.
    pub fn decrypt_body<'a>(&mut self, body: &'a mut [u8]) -> Result<&'a [u8], DecryptError> {
        if body.len() < TAG_LEN {
            return Err(DecryptError::BadMessageTag);
        }
        let (plaintext, tag) = split_tag(body);
        if !self.receiving.open(plaintext, &tag) {
            return Err(DecryptError::BadMessageTag);
        }
        Ok(plaintext)
    }
}
