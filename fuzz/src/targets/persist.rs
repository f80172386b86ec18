//! Reading persisted state: corrupt bytes give an error, never a panic, and what reads
//! back writes back the same and can be used as a restarted node uses it.

use std::collections::{BTreeMap, BTreeSet};

use lightning::chain::ChannelMonitor;
use lightning::chan::channel::Channel;
use lightning::chan::manager::handler::channel_manager_features;
use lightning::chan::manager::payments::MIN_FINAL_CLTV_EXPIRY_DELTA;
use lightning::chan::manager::ChannelManagerConfig;
use lightning::chan::monitor_update::ChannelMonitorUpdate;
use lightning::sign::{ChannelSigner, InMemoryChannelSigner};
use lightning::transport::{HandlerAction, MessageHandler};
use lightning::wire::msgs::ChannelReestablish;
use lightning::wire::{ChannelId, Decode, Encode, Features, Init, Message, OnionPacket, PaymentHash};
use sim::node::{restart_with, Node, TestPersister, START_HEIGHT};

use super::shared_keys;

/// The keys every `manager_read` node starts with: the funder's in the seeds (see the
/// `seeds` binary), so their channels sign and check as the live node did.
const MANAGER_KEYS_SEED: [u8; 32] = [9; 32];
/// Fresh entropy for the restart.
const MANAGER_SESSION_SEED: [u8; 32] = [11; 32];
/// What a restarted node (`manager_read`) or channel (`channel_read`) offers over each
/// channel once back in step.
const PAYMENT_MSAT: u64 = 10_000;

/// A channel manager and the monitors its user stored, as a node finds them after a
/// crash (laid out as [`restart_input`] writes them): an error or a node. What reads
/// back writes back the same, and stays so as the node reconnects to every peer (in
/// each of the four ways a peer in step may answer), sees the chain move on and force
/// closes every channel (see `use_read_manager`). The monitors may be corrupt too:
/// the node's persister reports an update its monitor refuses as failed, as a
/// persister that applies what it stores would.
pub fn manager_read(data: &[u8]) {
    let Some((manager_bytes, monitors)) = split_restart_input(data) else {
        return;
    };
    let Ok((node, _)) = restart_with(
        manager_bytes,
        MANAGER_KEYS_SEED,
        MANAGER_SESSION_SEED,
        persister(monitors),
        manager_config(),
        false,
    ) else {
        return;
    };
    manager_reads_back(&node);
    use_read_manager(node);
}

fn manager_config() -> ChannelManagerConfig {
    ChannelManagerConfig::new(sim::node::regtest(), sim::node::REGTEST_FEERATE_PER_KW)
}

fn persister(monitors: BTreeMap<ChannelId, ChannelMonitor>) -> TestPersister {
    let mut persister = TestPersister::default();
    persister.monitors = monitors;
    persister.report_refused = true;
    persister
}

/// `manager_read`'s input: `[u32 BE length][manager]`, then for each monitor
/// `[channel id: 32 bytes][u32 BE length][monitor]`.
pub fn restart_input(manager: &[u8], monitors: &BTreeMap<ChannelId, ChannelMonitor>) -> Vec<u8> {
    let mut input = Vec::new();
    put_with_len(&mut input, manager);
    for (channel_id, monitor) in monitors {
        input.extend_from_slice(&channel_id.0);
        put_with_len(&mut input, &monitor.encode_to_vec());
    }
    input
}

/// Appends `[u32 BE length][bytes]` to `input`.
fn put_with_len(input: &mut Vec<u8>, bytes: &[u8]) {
    input.extend_from_slice(&u32::try_from(bytes.len()).expect("under 4 GiB").to_be_bytes());
    input.extend_from_slice(bytes);
}

/// Splits [`restart_input`]'s layout; `None` for bytes not laid out so or a monitor
/// that does not decode (`monitor_read` covers those).
fn split_restart_input(data: &[u8]) -> Option<(&[u8], BTreeMap<ChannelId, ChannelMonitor>)> {
    let mut rest = data;
    let manager = take_with_len(&mut rest)?;
    let mut monitors = BTreeMap::new();
    while !rest.is_empty() {
        let (id, after) = rest.split_first_chunk::<32>()?;
        rest = after;
        let monitor = ChannelMonitor::decode_exact(take_with_len(&mut rest)?).ok()?;
        monitors.insert(ChannelId(*id), monitor);
    }
    Some((manager, monitors))
}

/// The next `[u32 BE length][bytes]` of `rest`.
fn take_with_len<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (len, after) = rest.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
    if after.len() < len {
        return None;
    }
    let (taken, after) = after.split_at(len);
    *rest = after;
    Some(taken)
}

/// What `node` writes reads back, with the monitors its persister holds, as the same
/// bytes, and finds every channel in step with its monitor unless the persister
/// refused an update (which leaves the monitor behind, as it must).
fn manager_reads_back(node: &Node) {
    let manager = node.channel_handler();
    let bytes = manager.encode();
    let monitors = manager.persister().monitors.clone();
    let (again, mismatches) = restart_with(
        &bytes,
        MANAGER_KEYS_SEED,
        MANAGER_SESSION_SEED,
        persister(monitors),
        manager_config(),
        false,
    )
    .expect("a written manager reads back");
    if manager.persister().refused > 0 {
        return;
    }
    assert!(
        mismatches.is_empty(),
        "a manager and the monitors it kept in step disagree: {mismatches:?}"
    );
    assert_eq!(
        again.channel_handler().encode(),
        bytes,
        "a manager changed through a round trip"
    );
}

/// What a restarted node does: it reconnects to each peer, which answers every
/// `channel_reestablish` in step (one of four ways, each on its own copy; where the
/// peer missed nothing, each channel then offers an HTLC); the chain moves past every
/// HTLC's expiry; every channel is force closed. Each may refuse or
/// fail channels, none may panic, and what each leaves must read back.
fn use_read_manager(node: Node) {
    for (missed_revoke, missed_commitment) in [(false, false), (true, false), (false, true), (true, true)] {
        let mut used = node.clone();
        let manager = used.channel_handler_mut();
        let peers: BTreeSet<_> = manager
            .channel_ids()
            .iter()
            .filter_map(|id| manager.counterparty_of(id))
            .collect();
        let init = Init {
            global_features: Features::empty(),
            features: channel_manager_features(),
            tlvs: Default::default(),
        };
        for peer in &peers {
            let _ = manager.peer_connected(peer, &init);
        }
        let mut answers = Vec::new();
        for action in manager.take_actions() {
            if let HandlerAction::Send {
                node_id,
                message: Message::ChannelReestablish(ours),
            } = action
            {
                let channel = manager.channel(&ours.channel_id).expect("ours to send");
                if let Some(theirs) = in_step_reestablish(channel, &ours, missed_revoke, missed_commitment) {
                    answers.push((node_id, theirs));
                }
            }
        }
        for (peer, theirs) in answers {
            manager.handle_message(&peer, Message::ChannelReestablish(theirs));
        }
        let _ = manager.take_actions();
        manager_reads_back(&used);
        if !(missed_revoke || missed_commitment) {
            // Back in step: each channel offers an HTLC and signs it in.
            let manager = used.channel_handler_mut();
            for id in manager.channel_ids() {
                let (hash, secret) = manager.create_inbound_payment(Some(PAYMENT_MSAT));
                let _ = manager.send_payment_over(&id, hash, secret, PAYMENT_MSAT, MIN_FINAL_CLTV_EXPIRY_DELTA);
            }
            let _ = manager.take_actions();
            manager_reads_back(&used);
        }
    }
    let mut later = node.clone();
    later.channel_handler_mut().best_block_updated(START_HEIGHT + 10_000);
    let _ = later.channel_handler_mut().take_actions();
    manager_reads_back(&later);
    let mut closed = node;
    let manager = closed.channel_handler_mut();
    for id in manager.channel_ids() {
        let _ = manager.force_close_channel(&id);
    }
    let _ = manager.take_actions();
    manager_reads_back(&closed);
}

/// The `channel_reestablish` a peer in step with `channel` sends in reply to `ours`: it
/// missed our last `revoke_and_ack` or not, our last `commitment_signed` or not, and it
/// proves it holds our secret before the one it expects next. `None` if our signer
/// cannot release that secret.
fn in_step_reestablish(
    channel: &Channel<InMemoryChannelSigner>,
    ours: &ChannelReestablish,
    missed_revoke: bool,
    missed_commitment: bool,
) -> Option<ChannelReestablish> {
    let holder_number = channel.holder_commitment_number();
    let counterparty_number = channel.counterparty_commitment_number();
    let next_revocation_number = if missed_revoke {
        holder_number.saturating_sub(1)
    } else {
        holder_number
    };
    let your_last_per_commitment_secret = match next_revocation_number.checked_sub(1) {
        Some(revoked) => channel.signer().clone().release_commitment_secret(revoked).ok()?,
        None => [0; 32],
    };
    Some(ChannelReestablish {
        next_commitment_number: if missed_commitment {
            counterparty_number
        } else {
            counterparty_number.saturating_add(1)
        },
        next_revocation_number,
        your_last_per_commitment_secret,
        ..ours.clone()
    })
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
/// not), then signing what is due, and where the peer missed nothing, offering an HTLC
/// and signing it in. Each may refuse, none may panic, and what each leaves must write
/// bytes that read back: corrupt bytes the decoder lets through must not break the
/// channel later.
fn use_read_channel(channel: Channel<InMemoryChannelSigner>) {
    let _ = (channel.holder_view(), channel.counterparty_view());
    let mut closed = channel.clone();
    if closed.force_close().is_ok() {
        reads_back(&closed);
    }
    let Ok(ours) = channel.channel_reestablish_message() else {
        return;
    };
    for (missed_revoke, missed_commitment) in [(false, false), (true, false), (false, true), (true, true)] {
        let Some(theirs) = in_step_reestablish(&channel, &ours, missed_revoke, missed_commitment) else {
            continue;
        };
        let mut used = channel.clone();
        if used.channel_reestablish(&theirs).is_ok() {
            let _ = used.send_commitment();
            let _ = (used.holder_view(), used.counterparty_view());
            if !(missed_revoke || missed_commitment) {
                // Back in step: an HTLC offered and signed in, checked against the limits
                // and balances read.
                let _ = used.send_htlc(PAYMENT_MSAT, PaymentHash([7; 32]), START_HEIGHT + 40, blank_onion());
                let _ = used.send_commitment();
            }
        }
        reads_back(&used);
    }
}

/// An onion for an HTLC nobody peels.
fn blank_onion() -> OnionPacket {
    OnionPacket {
        version: 0,
        public_key: [2; 33],
        hop_payloads: [0; 1300],
        hmac: [0; 32],
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
