//! Why a channel refused a call or a message, or failed: a type callers match on (a
//! harness, a router penalizing a channel), with words for people.

use alloc::string::String;
use core::fmt;

/// Why a channel said no.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// An HTLC's offerer could not pay it and keep its reserve (and, as funder, the fee
    /// of the commitment with it).
    OffererCannotAfford,
    /// An HTLC of zero, or below the receiver's `htlc_minimum_msat`.
    BelowHtlcMinimum,
    /// More HTLCs than the receiver's `max_accepted_htlcs`.
    TooManyHtlcs,
    /// More in flight than the receiver's `max_htlc_value_in_flight_msat`.
    AboveInFlightCap,
    /// The peer is not connected: nothing can be signed with it now.
    PeerDisconnected,
    /// The channel is not open for this (not yet ready, shutting down for new HTLCs,
    /// closed or failed).
    NotOpen,
    /// Anything else, in words.
    Other(String),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::OffererCannotAfford => f.write_str("the offerer cannot afford it and keep its reserve"),
            Cause::BelowHtlcMinimum => f.write_str("amount below htlc_minimum_msat"),
            Cause::TooManyHtlcs => f.write_str("more HTLCs than max_accepted_htlcs"),
            Cause::AboveInFlightCap => f.write_str("more in flight than max_htlc_value_in_flight_msat"),
            Cause::PeerDisconnected => f.write_str("peer disconnected"),
            Cause::NotOpen => f.write_str("the channel is not open for this"),
            Cause::Other(why) => f.write_str(why),
        }
    }
}

impl From<&str> for Cause {
    fn from(why: &str) -> Self {
        Cause::Other(why.into())
    }
}

impl From<String> for Cause {
    fn from(why: String) -> Self {
        Cause::Other(why)
    }
}

impl Cause {
    /// Whether its words contain `text` (for tests and logs that look for a phrase).
    pub fn mentions(&self, text: &str) -> bool {
        alloc::string::ToString::to_string(self).contains(text)
    }
}
