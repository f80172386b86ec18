//! Our node against LDK in one process: both driven by hand, every byte between them
//! carried by the harness, one message at a time when a test wants it, both fed the
//! same blocks. What two copies of our node agree on, an independent implementation
//! may not; these tests are where our reading of the spec meets another.

pub mod harness;
pub mod ldk_node;
pub mod our_node;
