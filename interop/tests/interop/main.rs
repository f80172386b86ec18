//! Our node against LDK 0.2.7: every case in one binary (LDK links once).

mod close;
mod common;
mod payments;
mod reestablish;
mod setup;
