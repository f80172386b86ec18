//! Reading persisted state: corrupt bytes give an error, never a panic, and what reads
//! back writes back the same.

use std::collections::BTreeMap;

use lightning::chain::ChannelMonitor;
use lightning::chan::channel::Channel;
use lightning::chan::manager::ChannelManagerConfig;
use lightning::chan::monitor_update::ChannelMonitorUpdate;
use lightning::wire::{Decode, Encode};

use super::shared_keys;

/// A channel manager from arbitrary bytes (no monitors, so any channel it holds is
/// failed as a mismatch): an error or a manager, and a manager writes back stably.
pub fn manager_read(data: &[u8]) {
    let config = ChannelManagerConfig::new(sim::node::regtest());
    let Ok((node, _)) = sim::node::restart_from(data, [1; 32], [2; 32], &BTreeMap::new(), config.clone(), false) else {
        return;
    };
    let bytes = node.channel_handler().encode();
    let (again, _) = sim::node::restart_from(&bytes, [1; 32], [2; 32], &BTreeMap::new(), config, false)
        .expect("a written manager reads back");
    assert_eq!(
        again.channel_handler().encode(),
        bytes,
        "a manager changed through a round trip"
    );
}

/// One channel's persisted state (after the 32-byte keys id its signer derives from, as
/// the manager stores it): an error or a channel that writes back the same bytes.
pub fn channel_read(data: &[u8]) {
    if data.len() < 32 {
        return;
    }
    let (keys_id, state) = data.split_at(32);
    let signer = shared_keys(9).derive_channel_signer(&keys_id.try_into().expect("32 bytes"));
    let Ok(channel) = Channel::read(state, signer.clone()) else {
        return;
    };
    let bytes = channel.encode_state();
    let again = Channel::read(&bytes, signer).expect("a written channel reads back");
    assert_eq!(again.encode_state(), bytes, "a channel changed through a round trip");
}

/// A channel monitor: an error or a monitor equal to itself through a round trip.
pub fn monitor_read(data: &[u8]) {
    let Ok(monitor) = ChannelMonitor::decode_exact(data) else {
        return;
    };
    let bytes = monitor.encode_to_vec();
    assert_eq!(ChannelMonitor::decode_exact(&bytes), Ok(monitor));
}

/// A monitor update: an error or an update equal to itself through a round trip, which
/// a fresh monitor applies or refuses without panicking.
pub fn monitor_update_read(data: &[u8]) {
    let Ok(update) = ChannelMonitorUpdate::decode_exact(data) else {
        return;
    };
    let bytes = update.encode_to_vec();
    assert_eq!(ChannelMonitorUpdate::decode_exact(&bytes), Ok(update.clone()));
    let _ = ChannelMonitor::new().update(&update);
}
