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

/// A deliberate bug a harness runs its nodes with: none without the `planted-bugs`
/// feature.
#[cfg(feature = "planted-bugs")]
pub type Bug = Option<lightning::chan::manager::PlantedBug>;
/// A deliberate bug a harness runs its nodes with: none without the `planted-bugs`
/// feature.
#[cfg(not(feature = "planted-bugs"))]
pub type Bug = Option<std::convert::Infallible>;

/// `config` with `bug` planted.
pub fn with_bug(#[allow(unused_mut)] mut config: ChannelManagerConfig, bug: Bug) -> ChannelManagerConfig {
    #[cfg(feature = "planted-bugs")]
    {
        config.planted_bug = bug;
    }
    #[cfg(not(feature = "planted-bugs"))]
    let _ = bug;
    config
}

/// The bug named by `PLANTED_BUG` with the `planted-bugs` feature (read once per
/// process), else none.
#[cfg(not(feature = "planted-bugs"))]
pub fn planted_bug() -> Bug {
    None
}

/// The deliberate bug named by `PLANTED_BUG`, if set (read once per process). An unknown
/// name stops the run at once: a recall run against no bug would measure nothing.
#[cfg(feature = "planted-bugs")]
pub fn planted_bug() -> Bug {
    use lightning::chan::manager::PlantedBug;
    static BUG: std::sync::OnceLock<Option<PlantedBug>> = std::sync::OnceLock::new();
    *BUG.get_or_init(|| {
        let name = std::env::var("PLANTED_BUG").ok()?;
        let bug = PlantedBug::from_name(&name);
        assert!(
            bug.is_some(),
            "PLANTED_BUG={name:?} names no planted bug; there are: {:?}",
            PlantedBug::ALL.map(PlantedBug::name)
        );
        bug
    })
}

/// A node's channel policy in the consistency target: profile 0 is [`config`], the others
/// differ from it where a limit checked against the wrong side's value, or a reserve,
/// dust or fee mistake, shows only when the two ends differ. Each stays within what
/// BOLT 2 lets the peer accept, and few HTLCs per side keep commitments cheap.
pub fn profile(index: u8) -> ChannelManagerConfig {
    let base = config();
    let (max_accepted_htlcs, dust_limit_satoshis, channel_reserve_permille, htlc_minimum_msat) = match index % 8 {
        1 => (2, 546, 10, 1),
        2 => (12, 354, 10, 1),
        3 => (6, 2_000, 10, 1),
        4 => (6, 546, 100, 1),
        5 => (6, 546, 10, 50_000),
        6 => (6, 546, 10, 1),
        7 => (4, 1_000, 30, 1_000),
        _ => (base.max_accepted_htlcs, 546, 10, 1),
    };
    let (max_htlc_value_in_flight_percent, to_self_delay, feerate_per_kw, minimum_depth) = match index % 8 {
        2 => (100, 6, base.feerate_per_kw, 1),
        6 => (10, 144, base.feerate_per_kw, 3),
        7 => (50, 720, 2_500, 2),
        _ => (100, 144, base.feerate_per_kw, 3),
    };
    ChannelManagerConfig {
        max_accepted_htlcs,
        dust_limit_satoshis,
        channel_reserve_permille,
        htlc_minimum_msat,
        max_htlc_value_in_flight_percent,
        to_self_delay,
        feerate_per_kw,
        minimum_depth,
        ..base
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
    start_with(keys_seed, starts, config(), record_messages)
}

/// As [`start`], with the policy given.
pub fn start_with(keys_seed: [u8; 32], starts: u8, config: ChannelManagerConfig, record_messages: bool) -> Node {
    node_with_config(keys_seed, session_seed(keys_seed, starts), config, record_messages)
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
