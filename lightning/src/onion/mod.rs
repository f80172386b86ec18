//! BOLT 4 onion routing: Sphinx packets for routes of up to 27 hops, TLV hop payloads,
//! and error onions returned to the origin.

// Built for its tests too: no test build sets the cfg.
#[cfg(any(lightning_cheap_aead, test))]
mod cheap_crypto;
pub mod crypto;
pub mod errors;
pub mod packet;
pub mod payload;

pub use errors::{
    build_failure_packet, build_padded_failure_packet, decode_failure_packet, wrap_failure_packet, DecodedFailure,
};
pub use packet::{
    construct_onion_packet, peel_onion_packet, route_shared_secrets, OnionError, OnionHop, PeeledOnion, MAX_HOPS,
};
pub use payload::{HopPayload, PaymentData};

#[cfg(test)]
mod bolt4_tests;
