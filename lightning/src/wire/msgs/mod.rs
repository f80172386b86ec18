//! The messages, one module per family.

pub mod close;
pub mod establish;
pub mod gossip;
pub mod reestablish;
pub mod setup;
pub mod update;

pub use close::*;
pub use establish::*;
pub use gossip::*;
pub use reestablish::*;
pub use setup::*;
pub use update::*;
