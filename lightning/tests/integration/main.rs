//! The library's integration tests, through its public API only. One test binary for all
//! of them: every binary is linked again after each change to the library, which is most
//! of the cost of a mutation-testing run. (`decode_allocations` stays a binary of its own:
//! it replaces the global allocator.)

mod common;

mod commitment_properties;
mod onion_properties;
mod peer_manager;
mod wire_roundtrip;
