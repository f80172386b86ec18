//! Fuzz targets for the `lightning` library. Each target is one plain function over the
//! fuzzer's bytes, written once here; `fuzz_targets/` holds the thin libFuzzer entry
//! points (`cargo fuzz run`), `afl/` the AFL ones (`cargo afl`), and `replay` runs any
//! input from a file or standard input. `cargo test` replays every file under
//! `corpora/<target>/` and `corpora/regressions/<target>/` through its target.
//!
//! A target panics only on a finding: a decoder that panics on hostile bytes, a message
//! that does not survive a round trip, a state that breaks an invariant.

pub mod targets;

/// A target: runs one input, panicking only on a finding.
pub type Target = fn(&[u8]);

/// Every target by name: the name is the corpus directory and the entry point's name.
pub const TARGETS: &[(&str, Target)] = &[
    ("wire_message", targets::wire::wire_message),
    ("bigsize", targets::wire::bigsize),
    ("tlv_stream", targets::wire::tlv_stream),
    ("hop_payload", targets::onion::hop_payload),
    ("onion_peel", targets::onion::onion_peel),
    ("onion_error", targets::onion::onion_error),
    ("handshake", targets::transport::handshake),
    ("cipher", targets::transport::cipher),
    ("peer_manager", targets::transport::peer_manager),
    ("manager_read", targets::persist::manager_read),
    ("channel_read", targets::persist::channel_read),
    ("monitor_read", targets::persist::monitor_read),
    ("monitor_update_read", targets::persist::monitor_update_read),
    ("scenario_parse", targets::scenario::scenario_parse),
    ("commitment", targets::commitment::commitment),
    ("consistency", targets::consistency::consistency),
    ("forwarding", targets::forwarding::forwarding),
    ("node", targets::node::node),
];

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}
