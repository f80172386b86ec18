//! A decoded message of any type: the 2-byte type, then the type's payload and extension.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::codec::{Decode, DecodeError, Encode, Reader};
use super::msgs::*;
use super::types::ChannelId;
use super::WireMessage;

/// The largest message BOLT 8 can carry, type included.
pub const MAX_MESSAGE_LEN: usize = 65535;

macro_rules! message_enum {
    ($( $(#[$meta:meta])* $variant:ident($t:ty) => $inner:ty, )*) => {
        /// Every message this node understands, plus [`Message::Unknown`] for odd types it
        /// does not (which BOLT 1 says to ignore).
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Message {
            $( $(#[$meta])* $variant($t), )*
            /// A message of an odd type this node does not understand.
            Unknown {
                /// The message type (odd when it came from a peer).
                msg_type: u16,
                /// The payload, unparsed.
                payload: Vec<u8>,
            },
        }

        impl Message {
            /// The message's 2-byte type.
            pub fn msg_type(&self) -> u16 {
                match self {
                    $( Message::$variant(_) => <$inner as WireMessage>::TYPE, )*
                    Message::Unknown { msg_type, .. } => *msg_type,
                }
            }

            /// The message's name (its variant), for logs and diagrams.
            pub fn name(&self) -> &'static str {
                match self {
                    $( Message::$variant(_) => stringify!($variant), )*
                    Message::Unknown { .. } => "Unknown",
                }
            }

            fn encode_payload(&self, out: &mut Vec<u8>) {
                match self {
                    $( Message::$variant(m) => m.encode(out), )*
                    Message::Unknown { payload, .. } => out.extend_from_slice(payload),
                }
            }

            fn decode_payload(msg_type: u16, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                $(
                    if msg_type == <$inner as WireMessage>::TYPE {
                        return Ok(Message::$variant(<$t>::from(<$inner>::decode(r)?)));
                    }
                )*
                if msg_type % 2 == 0 {
                    return Err(DecodeError::UnknownEvenMessage { msg_type });
                }
                Ok(Message::Unknown { msg_type, payload: r.take_rest().to_vec() })
            }
        }
    };
}

message_enum! {
    /// `warning` (1).
    Warning(Warning) => Warning,
    /// `init` (16).
    Init(Init) => Init,
    /// `error` (17).
    Error(ErrorMessage) => ErrorMessage,
    /// `ping` (18).
    Ping(Ping) => Ping,
    /// `pong` (19).
    Pong(Pong) => Pong,
    /// `open_channel` (32), boxed as the other rare, large ones are: every message is
    /// moved several times on its way, and the enum is as big as its largest variant.
    OpenChannel(Box<OpenChannel>) => OpenChannel,
    /// `accept_channel` (33), boxed.
    AcceptChannel(Box<AcceptChannel>) => AcceptChannel,
    /// `funding_created` (34).
    FundingCreated(FundingCreated) => FundingCreated,
    /// `funding_signed` (35).
    FundingSigned(FundingSigned) => FundingSigned,
    /// `channel_ready` (36).
    ChannelReady(ChannelReady) => ChannelReady,
    /// `shutdown` (38).
    Shutdown(Shutdown) => Shutdown,
    /// `closing_signed` (39).
    ClosingSigned(ClosingSigned) => ClosingSigned,
    /// `update_add_htlc` (128), boxed: its onion is 1366 bytes.
    UpdateAddHtlc(Box<UpdateAddHtlc>) => UpdateAddHtlc,
    /// `update_fulfill_htlc` (130).
    UpdateFulfillHtlc(UpdateFulfillHtlc) => UpdateFulfillHtlc,
    /// `update_fail_htlc` (131).
    UpdateFailHtlc(UpdateFailHtlc) => UpdateFailHtlc,
    /// `commitment_signed` (132).
    CommitmentSigned(CommitmentSigned) => CommitmentSigned,
    /// `revoke_and_ack` (133).
    RevokeAndAck(RevokeAndAck) => RevokeAndAck,
    /// `update_fee` (134).
    UpdateFee(UpdateFee) => UpdateFee,
    /// `update_fail_malformed_htlc` (135).
    UpdateFailMalformedHtlc(UpdateFailMalformedHtlc) => UpdateFailMalformedHtlc,
    /// `channel_reestablish` (136).
    ChannelReestablish(ChannelReestablish) => ChannelReestablish,
    /// `channel_announcement` (256), boxed.
    ChannelAnnouncement(Box<ChannelAnnouncement>) => ChannelAnnouncement,
    /// `node_announcement` (257), boxed.
    NodeAnnouncement(Box<NodeAnnouncement>) => NodeAnnouncement,
    /// `channel_update` (258).
    ChannelUpdate(ChannelUpdate) => ChannelUpdate,
    /// `announcement_signatures` (259).
    AnnouncementSignatures(AnnouncementSignatures) => AnnouncementSignatures,
}

/// Which handler a message belongs to (BOLT 1's groups by type range).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageGroup {
    /// Types 0 to 31: connection setup and control.
    SetupAndControl,
    /// Types 32 to 255: channel establishment, operation and close.
    Channel,
    /// Types 256 to 511: gossip.
    Routing,
    /// Everything else (custom and unassigned ranges).
    Other,
}

impl Message {
    /// Decodes a whole message (type and payload) from one decrypted transport frame.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_MESSAGE_LEN {
            return Err(DecodeError::MessageTooLong);
        }
        let mut r = Reader::new(bytes);
        let msg_type = u16::decode(&mut r)?;
        let message = Message::decode_payload(msg_type, &mut r)?;
        // Every message ends in a TLV extension that consumes the rest.
        debug_assert!(r.is_empty(), "message type {msg_type} left bytes unread");
        Ok(message)
    }

    /// Appends the type and payload to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.msg_type().encode(out);
        self.encode_payload(out);
    }

    /// The encoding as a fresh vector.
    pub fn encode_to_vec(&self) -> Vec<u8> {
        // Room for most channel messages at once, rather than growing 2, 8, 16, ... bytes.
        let mut out = Vec::with_capacity(128);
        self.encode(&mut out);
        out
    }

    /// The group the message's type falls in.
    pub fn group(&self) -> MessageGroup {
        match self.msg_type() {
            0..=31 => MessageGroup::SetupAndControl,
            32..=255 => MessageGroup::Channel,
            256..=511 => MessageGroup::Routing,
            _ => MessageGroup::Other,
        }
    }

    /// The channel a message refers to, for the messages that name one.
    pub fn channel_id(&self) -> Option<ChannelId> {
        Some(match self {
            Message::Warning(m) => m.channel_id,
            Message::Error(m) => m.channel_id,
            Message::OpenChannel(m) => m.temporary_channel_id,
            Message::AcceptChannel(m) => m.temporary_channel_id,
            Message::FundingCreated(m) => m.temporary_channel_id,
            Message::FundingSigned(m) => m.channel_id,
            Message::ChannelReady(m) => m.channel_id,
            Message::Shutdown(m) => m.channel_id,
            Message::ClosingSigned(m) => m.channel_id,
            Message::UpdateAddHtlc(m) => m.channel_id,
            Message::UpdateFulfillHtlc(m) => m.channel_id,
            Message::UpdateFailHtlc(m) => m.channel_id,
            Message::CommitmentSigned(m) => m.channel_id,
            Message::RevokeAndAck(m) => m.channel_id,
            Message::UpdateFee(m) => m.channel_id,
            Message::UpdateFailMalformedHtlc(m) => m.channel_id,
            Message::ChannelReestablish(m) => m.channel_id,
            Message::AnnouncementSignatures(m) => m.channel_id,
            Message::Init(_)
            | Message::Ping(_)
            | Message::Pong(_)
            | Message::ChannelAnnouncement(_)
            | Message::NodeAnnouncement(_)
            | Message::ChannelUpdate(_)
            | Message::Unknown { .. } => return None,
        })
    }
}

/// Encodes one typed message with its type prefix.
pub fn encode_typed<M: WireMessage>(message: &M, out: &mut Vec<u8>) {
    M::TYPE.encode(out);
    message.encode(out);
}
