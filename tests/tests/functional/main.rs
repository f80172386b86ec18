//! Functional tests on the in-process harnesses (`tests::channel_pair`,
//! `tests::node_pair`) and the simulator's regression scripts. One test binary for all of
//! them: every binary is linked again after each change to the library, which is most of
//! the cost of a mutation-testing run.

mod channel_dance;
mod claims;
mod close;
mod consistency_planted;
mod dust_exposure;
mod embedding;
mod fail_channel;
mod forwarding;
mod funding_depth;
mod funding_output;
mod hostile_peer;
mod limits;
mod monitor_pause;
mod multipart;
mod node_e2e;
mod persistence_order;
mod reconnect;
mod reload;
mod scenario_regressions;
mod upfront_shutdown;
