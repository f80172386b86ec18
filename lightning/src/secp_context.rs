//! The secp256k1 context the library's nodes, channels and signers share.
//!
//! A context is large (and under the fuzzing cfg every new one is a copy of a big
//! template), while a node makes many owners of one: the peer manager, the channel
//! manager, and each channel and its signer. With `std` they all share one for the
//! process; without it each owner makes its own. Signing and verifying are the same
//! either way: signatures are deterministic (RFC 6979) and a context holds no secret.

use alloc::sync::Arc;

use bitcoin::secp256k1::{All, Secp256k1};

/// A handle on a context; clones share it.
pub type SharedSecp = Arc<Secp256k1<All>>;

/// The shared context (made on first use).
#[cfg(feature = "std")]
pub fn shared() -> SharedSecp {
    static CONTEXT: std::sync::OnceLock<SharedSecp> = std::sync::OnceLock::new();
    CONTEXT.get_or_init(|| Arc::new(Secp256k1::new())).clone()
}

/// A fresh context: without `std` there is no safe lazy global to hold one.
#[cfg(not(feature = "std"))]
pub fn shared() -> SharedSecp {
    Arc::new(Secp256k1::new())
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn every_owner_gets_the_same_context() {
        assert!(Arc::ptr_eq(&shared(), &shared()));
    }
}
