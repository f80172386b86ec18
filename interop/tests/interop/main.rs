//! Our node against LDK 0.2.7: every case in one binary (LDK links once).

mod common;
mod close;
mod payments;
mod setup;
