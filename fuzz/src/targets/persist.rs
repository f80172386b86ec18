//! Reading persisted state: corrupt bytes give an error, never a panic, and what reads
//! back writes back the same.

use std::collections::BTreeMap;

use lightning::chain::ChannelMonitor;
use lightning::chan::channel::Channel;
use lightning::chan::manager::ChannelManagerConfig;
use lightning::chan::monitor_update::ChannelMonitorUpdate;
use lightning::sign::{ChannelSigner, InMemoryChannelSigner};
use lightning::wire::msgs::ChannelReestablish;
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
/// the manager stores it): an error or a channel that writes back the same bytes, and
/// that a restarted node can use without panicking (see `use_read_channel`).
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
    use_read_channel(channel);
}

/// What a restarted node does with a channel it read: both views, a force close, its
/// `channel_reestablish`, and the peer's in each of the four ways a peer in step may
/// answer (it missed our last `revoke_and_ack` or not, our last `commitment_signed` or
/// not), then signing what is due. Each may refuse, none may panic, and what each
/// leaves must write bytes that read back: corrupt bytes the decoder lets through must
/// not break the channel later.
fn use_read_channel(channel: Channel<InMemoryChannelSigner>) {
    let _ = (channel.holder_view(), channel.counterparty_view());
    let mut closed = channel.clone();
    if closed.force_close().is_ok() {
        reads_back(&closed);
    }
    let Ok(ours) = channel.channel_reestablish_message() else {
        return;
    };
    let holder_number = channel.holder_commitment_number();
    let counterparty_number = channel.counterparty_commitment_number();
    for (missed_revoke, missed_commitment) in [(false, false), (true, false), (false, true), (true, true)] {
        let next_revocation_number = if missed_revoke {
            holder_number.saturating_sub(1)
        } else {
            holder_number
        };
        // The peer proves it holds our secret before the one it expects next.
        let your_last_per_commitment_secret = match next_revocation_number.checked_sub(1) {
            Some(revoked) => match channel.signer().clone().release_commitment_secret(revoked) {
                Ok(secret) => secret,
                Err(_) => continue,
            },
            None => [0; 32],
        };
        let theirs = ChannelReestablish {
            next_commitment_number: if missed_commitment {
                counterparty_number
            } else {
                counterparty_number.saturating_add(1)
            },
            next_revocation_number,
            your_last_per_commitment_secret,
            ..ours.clone()
        };
        let mut used = channel.clone();
        if used.channel_reestablish(&theirs).is_ok() {
            let _ = used.send_commitment();
            let _ = (used.holder_view(), used.counterparty_view());
        }
        reads_back(&used);
    }
}

fn reads_back(channel: &Channel<InMemoryChannelSigner>) {
    let bytes = channel.encode_state();
    Channel::read(&bytes, channel.signer().clone()).expect("a used channel writes bytes that read back");
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
/// a fresh monitor applies or refuses without panicking. One it applies is then given
/// again as the next update (a second funding, a holder commitment that does not move,
/// a secret out of order: refusals from a monitor that holds state), and a refusal must
/// leave the monitor as it was, while what it holds must read back.
pub fn monitor_update_read(data: &[u8]) {
    let Ok(update) = ChannelMonitorUpdate::decode_exact(data) else {
        return;
    };
    let bytes = update.encode_to_vec();
    assert_eq!(ChannelMonitorUpdate::decode_exact(&bytes), Ok(update.clone()));
    let mut monitor = ChannelMonitor::new();
    if monitor.update(&update).is_err() {
        assert_eq!(monitor, ChannelMonitor::new(), "a refused update changed the monitor");
        return;
    }
    let Some(next_id) = update.update_id.checked_add(1) else {
        return;
    };
    let again = ChannelMonitorUpdate {
        update_id: next_id,
        ..update
    };
    let before = monitor.clone();
    if monitor.update(&again).is_err() {
        assert_eq!(monitor, before, "a refused update changed the monitor");
    }
    let written = monitor.encode_to_vec();
    assert_eq!(
        ChannelMonitor::decode_exact(&written),
        Ok(monitor),
        "a monitor changed through a round trip"
    );
}
