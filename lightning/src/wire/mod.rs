//! The wire format (BOLT 1, 2, 7 and 9): fundamental types, BigSize, TLV streams,
//! feature bits, and one typed struct per message with one encode/decode pair each.
//!
//! Decoding returns a typed [`DecodeError`] for short, long or invalid input and never
//! panics. It follows BOLT 1's extension rules: a message of unknown odd type decodes to
//! [`Message::Unknown`] (to be ignored), an unknown even type is an error, and each
//! message's TLV extension keeps unknown odd records and rejects unknown even ones.

pub mod bigsize;
pub mod codec;
pub mod features;
pub mod message;
pub mod msgs;
pub mod tlv;
pub mod types;

pub use bigsize::{BigSize, Tu16, Tu32, Tu64};
pub use codec::{Decode, DecodeError, Encode, Reader};
pub use features::{Feature, FeatureError, Features};
pub use message::{encode_typed, Message, MessageGroup, MAX_MESSAGE_LEN};
pub use msgs::*;
pub use tlv::{NoTlvs, TlvReader, TlvRecord, TlvValue, TlvWriter, UnknownTlvs};
pub use types::{ChannelId, OnionPacket, PaymentHash, PaymentPreimage, ShortChannelId};

/// A message struct with its BOLT type number.
pub trait WireMessage: Encode + Decode {
    /// The 2-byte message type.
    const TYPE: u16;
}

/// Declares a message: the struct (fields in wire order, the last one usually its TLV
/// extension), its type number, and field-by-field encoding and decoding.
macro_rules! wire_message {
    (
        $(#[$meta:meta])*
        pub struct $name:ident = $msg_type:literal {
            $( $(#[$fmeta:meta])* pub $field:ident : $t:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $t, )*
        }

        impl $crate::wire::WireMessage for $name {
            const TYPE: u16 = $msg_type;
        }

        impl $crate::wire::codec::Encode for $name {
            fn encode(&self, out: &mut alloc::vec::Vec<u8>) {
                $( $crate::wire::codec::Encode::encode(&self.$field, out); )*
            }
        }

        impl $crate::wire::codec::Decode for $name {
            fn decode(
                r: &mut $crate::wire::codec::Reader<'_>,
            ) -> Result<Self, $crate::wire::codec::DecodeError> {
                Ok($name {
                    $( $field: $crate::wire::codec::Decode::decode(r)?, )*
                })
            }
        }
    };
}
pub(crate) use wire_message;

#[cfg(test)]
mod bolt1_tests;
