//! Channels: BOLT 3 keys and per-commitment secrets, the commitment, HTLC and closing
//! transaction builders, and signing of their inputs.

pub mod channel;
pub mod closing;
pub mod commitment;
pub mod htlc_tx;
pub mod keys;
pub mod ledger;
pub mod manager;
pub mod monitor_update;
pub mod outbox;
#[cfg(feature = "planted-bugs")]
pub mod planted;
pub mod script;
pub mod secrets;
pub mod signing;
pub mod snapshot;

pub use commitment::{
    ChannelPublicKeys, CommitmentError, CommitmentHtlc, CommitmentKeys, CommitmentParams, CommitmentTransaction,
};
pub use secrets::{build_commitment_secret, CounterpartyCommitmentSecrets, INITIAL_COMMITMENT_NUMBER};

#[cfg(test)]
mod bolt3_tests;
#[cfg(test)]
mod ledger_tests;
