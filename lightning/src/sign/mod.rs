//! Signer placeholder.
