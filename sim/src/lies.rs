//! Lying peers: a message handler that, when told to, corrupts one field of the next
//! message of the right kind its node sends, and the rule its receiver is held to.
//!
//! Every lie here is one the receiver can see in the message itself (a signature that
//! does not verify, an HTLC id out of sequence, an amount no offerer can afford, an
//! expiry that is a timestamp, a revocation secret or preimage that does not hash to
//! what it must, a feerate no funder can pay): the receiver must fail the channel or the
//! connection on reading it. Reading one and going on is a finding, whatever happens
//! later; a lie lost with its connection judges nothing (the honest message is resent).

use std::ops::{Deref, DerefMut};

use lightning::bitcoin::secp256k1::ecdsa::Signature;
use lightning::bitcoin::secp256k1::PublicKey;
use lightning::chan::channel::ChannelPhase;
use lightning::transport::{HandlerAction, MessageHandler};
use lightning::wire::{ChannelId, Features, Init, Message};

use crate::node::Manager;

/// A field a lying node corrupts in the next message that carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lie {
    /// `commitment_signed`'s commitment signature.
    CommitmentSignature,
    /// `commitment_signed`'s first HTLC signature (only one that has any).
    HtlcSignature,
    /// `update_add_htlc`'s id, one past the next.
    HtlcId,
    /// `update_add_htlc`'s amount, more than there is bitcoin.
    HtlcAmount,
    /// `update_add_htlc`'s expiry, made a timestamp.
    HtlcCltv,
    /// `revoke_and_ack`'s per-commitment secret.
    RevocationSecret,
    /// `update_fulfill_htlc`'s preimage.
    Preimage,
    /// `update_fee`'s feerate, more than any funder can pay.
    Feerate,
}

/// A million bitcoin's worth of sats per 1,000 weight: no commitment's fee is payable.
const UNPAYABLE_FEERATE_PER_KW: u32 = 100_000_000;
/// More millisatoshis than will ever exist (21 million BTC).
const MORE_THAN_EXISTS_MSAT: u64 = 21_000_000 * 100_000_000 * 1000;
/// Block heights end here; CLTV values from here on are timestamps.
const CLTV_TIMESTAMP_THRESHOLD: u32 = 500_000_000;

impl Lie {
    /// Every lie, in the order opcodes and the fault stream number them.
    pub const ALL: [Lie; 8] = [
        Lie::CommitmentSignature,
        Lie::HtlcSignature,
        Lie::HtlcId,
        Lie::HtlcAmount,
        Lie::HtlcCltv,
        Lie::RevocationSecret,
        Lie::Preimage,
        Lie::Feerate,
    ];

    /// The name traces and findings use.
    pub fn name(self) -> &'static str {
        match self {
            Lie::CommitmentSignature => "commitment_signature",
            Lie::HtlcSignature => "htlc_signature",
            Lie::HtlcId => "htlc_id",
            Lie::HtlcAmount => "htlc_amount",
            Lie::HtlcCltv => "htlc_cltv",
            Lie::RevocationSecret => "revocation_secret",
            Lie::Preimage => "preimage",
            Lie::Feerate => "feerate",
        }
    }

    /// Corrupts this lie's field of `message` if it has one; the message's channel.
    fn corrupt(self, message: &mut Message) -> Option<ChannelId> {
        match (self, message) {
            (Lie::CommitmentSignature, Message::CommitmentSigned(m)) => {
                m.signature = flipped(&m.signature);
                Some(m.channel_id)
            }
            (Lie::HtlcSignature, Message::CommitmentSigned(m)) => {
                let first = m.htlc_signatures.first_mut()?;
                *first = flipped(first);
                Some(m.channel_id)
            }
            (Lie::HtlcId, Message::UpdateAddHtlc(m)) => {
                m.id = m.id.wrapping_add(1);
                Some(m.channel_id)
            }
            (Lie::HtlcAmount, Message::UpdateAddHtlc(m)) => {
                m.amount_msat = m.amount_msat.saturating_add(MORE_THAN_EXISTS_MSAT);
                Some(m.channel_id)
            }
            (Lie::HtlcCltv, Message::UpdateAddHtlc(m)) => {
                m.cltv_expiry = m.cltv_expiry.max(CLTV_TIMESTAMP_THRESHOLD);
                Some(m.channel_id)
            }
            (Lie::RevocationSecret, Message::RevokeAndAck(m)) => {
                m.per_commitment_secret[31] ^= 1;
                Some(m.channel_id)
            }
            (Lie::Preimage, Message::UpdateFulfillHtlc(m)) => {
                m.payment_preimage.0[0] ^= 1;
                Some(m.channel_id)
            }
            (Lie::Feerate, Message::UpdateFee(m)) => {
                m.feerate_per_kw = UNPAYABLE_FEERATE_PER_KW;
                Some(m.channel_id)
            }
            _ => None,
        }
    }
}

/// `signature` with one bit of its `r` flipped: still a well-formed signature, of
/// nothing anyone signed.
fn flipped(signature: &Signature) -> Signature {
    let mut compact = signature.serialize_compact();
    compact[31] ^= 1;
    // `r` below the curve order stays below it with its lowest bit flipped, except in a
    // 2^-127 corner, where the signature is left as it was (the lie is then the truth).
    Signature::from_compact(&compact).unwrap_or(*signature)
}

/// A lie that went out: what, in which channel's message, to whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Told {
    /// The field corrupted.
    pub lie: Lie,
    /// The message's channel.
    pub channel_id: ChannelId,
    /// The receiver.
    pub to: PublicKey,
}

/// A channel manager that lies when armed: the simulator's and the fuzzer's nodes run
/// under it, honest until told otherwise.
#[derive(Clone)]
pub struct Lying<H = Manager> {
    inner: H,
    armed: Option<Lie>,
    told: Vec<Told>,
}

impl<H> Lying<H> {
    /// `inner`, honest.
    pub fn new(inner: H) -> Self {
        Lying {
            inner,
            armed: None,
            told: Vec::new(),
        }
    }

    /// The next message that carries `lie`'s field goes out with it corrupted (replacing
    /// a lie armed and not yet told).
    pub fn arm(&mut self, lie: Lie) {
        self.armed = Some(lie);
    }

    /// Back to honest: an armed lie is not told.
    pub fn disarm(&mut self) {
        self.armed = None;
    }

    /// The lie armed and not yet told.
    pub fn armed(&self) -> Option<Lie> {
        self.armed
    }

    /// The lies told since the last call, oldest first.
    pub fn take_told(&mut self) -> Vec<Told> {
        std::mem::take(&mut self.told)
    }
}

impl<H> Deref for Lying<H> {
    type Target = H;
    fn deref(&self) -> &H {
        &self.inner
    }
}

impl<H> DerefMut for Lying<H> {
    fn deref_mut(&mut self) -> &mut H {
        &mut self.inner
    }
}

impl<H: MessageHandler> MessageHandler for Lying<H> {
    fn init_features(&self) -> Features {
        self.inner.init_features()
    }

    fn peer_connected(&mut self, their_node_id: &PublicKey, their_init: &Init) -> Result<(), String> {
        self.inner.peer_connected(their_node_id, their_init)
    }

    fn peer_disconnected(&mut self, their_node_id: &PublicKey) {
        self.inner.peer_disconnected(their_node_id)
    }

    fn handle_message(&mut self, their_node_id: &PublicKey, message: Message) {
        self.inner.handle_message(their_node_id, message)
    }

    fn take_actions(&mut self) -> Vec<HandlerAction> {
        let mut actions = self.inner.take_actions();
        let Some(lie) = self.armed else {
            return actions;
        };
        for action in &mut actions {
            if let HandlerAction::Send { node_id, message } = action {
                if let Some(channel_id) = lie.corrupt(message) {
                    self.told.push(Told {
                        lie,
                        channel_id,
                        to: *node_id,
                    });
                    self.armed = None;
                    break;
                }
            }
        }
        actions
    }
}

/// Why `receiver`, having read `told` (and dropped the connection if
/// `connection_dropped`), broke the rule: it must have failed the channel or the
/// connection. `None` if it kept it.
pub fn accepted_lie(receiver: &Manager, told: &Told, connection_dropped: bool) -> Option<String> {
    let refused = connection_dropped
        || receiver
            .channel(&told.channel_id)
            .is_none_or(|c| matches!(c.phase(), ChannelPhase::Failed | ChannelPhase::Closed));
    (!refused).then(|| {
        format!(
            "accepted a corrupted {} on channel {} and carried on",
            told.lie.name(),
            crate::network::hex(&told.channel_id.0)
        )
    })
}
