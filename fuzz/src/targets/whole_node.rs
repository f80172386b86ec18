//! What the whole-node targets (`consistency`, `node`) share: payment sizes, the
//! channels they open, how a node starts and restarts, completing its persistence, and
//! reading what it broadcasts.

use lightning::bitcoin::Transaction;
use lightning::chain::ChannelMonitor;
use lightning::chan::manager::ChannelManagerConfig;
use lightning::events::Event;
use lightning::wire::ChannelId;
use sim::node::{node_with_config, regtest, Node};
use sim::wallet::fund_channel;

/// Amounts a payment op picks from (msat): dust to more than either side holds.
pub const AMOUNTS_MSAT: [u64; 8] = [
    1_000,
    50_000,
    1_000_000,
    10_000_000,
    100_000_000,
    400_000_000,
    2_000_000_000,
    9_000_000_000,
];
/// Each channel's value.
pub const CAPACITY_SATOSHIS: u64 = 5_000_000;
/// What each funder pushes to the other side, so both can pay.
pub const PUSH_MSAT: u64 = 1_000_000_000;

/// The most HTLCs each node accepts per channel. Few, so the limit is reached often
/// and a commitment stays cheap to build: with BOLT 2's 483, a run of payment ops left
/// every later op rebuilding and re-checking hundreds of HTLCs, at a tenth of the speed.
pub const MAX_ACCEPTED_HTLCS: u16 = 6;

/// The most value each node lets sit in trimmed HTLCs per commitment: low, so that
/// payments of the smaller sizes reach it (more so at high feerates) and both the
/// sender's refusal and the receiver's failing back are exercised.
pub const MAX_DUST_HTLC_EXPOSURE_MSAT: u64 = 2_000_000;

/// The configuration every whole-node target's nodes run with.
pub fn config() -> ChannelManagerConfig {
    ChannelManagerConfig {
        max_accepted_htlcs: MAX_ACCEPTED_HTLCS,
        max_dust_htlc_exposure_msat: MAX_DUST_HTLC_EXPOSURE_MSAT,
        ..ChannelManagerConfig::new(regtest(), sim::node::REGTEST_FEERATE_PER_KW)
    }
}

/// The session entropy of a node's `starts`-th start: each restart takes fresh entropy.
pub fn session_seed(keys_seed: [u8; 32], starts: u8) -> [u8; 32] {
    let mut seed = keys_seed;
    seed[31] = seed[31].wrapping_add(starts).wrapping_add(1);
    seed
}

/// A node's `starts`-th start, logging messages if `record_messages`.
pub fn start(keys_seed: [u8; 32], starts: u8, record_messages: bool) -> Node {
    node_with_config(keys_seed, session_seed(keys_seed, starts), config(), record_messages)
}

/// The user's wallet answers `event` if it is `FundingGenerationReady`: the `index`-th
/// funding transaction spends a coin of its own per index. The transaction, if the
/// manager took it.
pub fn fund(node: &mut Node, event: &Event, index: usize) -> Option<Transaction> {
    fund_channel(node, event, [index as u8 + 1; 32]).map(|(_, tx)| tx)
}

/// Completes the first (`which` 0), the last (1) or every (otherwise) monitor update the
/// node's persister holds in progress, and tells its manager.
pub fn complete_persistence(node: &mut Node, which: u8) {
    let persister = node.channel_handler_mut().persister_mut();
    let completed: Vec<(ChannelId, u64)> = match which {
        0 => persister.complete_at(0).into_iter().collect(),
        1 => {
            let last = persister.in_progress.len().checked_sub(1);
            last.and_then(|l| persister.complete_at(l)).into_iter().collect()
        }
        _ => persister.complete_all(),
    };
    for (channel_id, update_id) in completed {
        node.channel_handler_mut()
            .monitor_update_completed(&channel_id, update_id);
    }
}

/// The monitor, among `monitors`, of the channel whose funding output `tx` spends;
/// panics (a finding) if `tx` spends none: a node broadcasts only its channels' closes.
pub fn monitor_spent_by<'a>(
    monitors: impl IntoIterator<Item = (&'a ChannelId, &'a ChannelMonitor)>,
    tx: &Transaction,
    who: &str,
) -> (ChannelId, &'a ChannelMonitor) {
    let Some(spent) = tx.input.first().map(|input| input.previous_output) else {
        panic!("{who} broadcast a transaction without inputs: {tx:?}")
    };
    let found = monitors
        .into_iter()
        .find(|(_, m)| m.funding().map(|f| f.funding_outpoint) == Some(spent));
    let Some((channel_id, monitor)) = found else {
        panic!("{who} broadcast a transaction that spends no channel's funding: {tx:?}")
    };
    (*channel_id, monitor)
}

/// Whether `tx` (spending a funding output) is a commitment: its sequence carries 0x80
/// in its top byte (BOLT 3), where a mutual close's is final.
pub fn is_commitment(tx: &Transaction) -> bool {
    tx.input.first().is_some_and(|input| input.sequence.0 >> 24 == 0x80)
}
