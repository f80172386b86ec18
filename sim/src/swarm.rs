//! Swarm configurations: each node's channel policy, and the mix of random faults a run
//! has, are drawn from the seed, so a limit checked against the wrong side's value, or a
//! mistake that needs two faults together, shows in some seeds. A script fixes what it
//! needs (`node N config key=value ...`, `swarm off`, `fault_mix all`).

use lightning::chan::channel::establish::MAX_TO_SELF_DELAY;
use lightning::chan::channel::MAX_HTLCS_PER_SIDE;
use lightning::chan::manager::ChannelManagerConfig;

use crate::node::{regtest, REGTEST_FEERATE_PER_KW};
use crate::rng::{SimRng, StreamId};

/// One setting of a node's channel policy a script may fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyField {
    /// `max_accepted_htlcs=N`: 1 to 483.
    MaxAcceptedHtlcs(u16),
    /// `dust_limit=AMOUNT`: 354 sat or more.
    DustLimitSatoshis(u64),
    /// `reserve=N%`: of the channel, at least the dust limit.
    ReservePermille(u16),
    /// `htlc_minimum=AMOUNT`.
    HtlcMinimumMsat(u64),
    /// `max_in_flight=N%`: 1 to 100 of the channel.
    MaxInFlightPercent(u8),
    /// `to_self_delay=N` blocks: at most 2016.
    ToSelfDelay(u16),
    /// `minimum_depth=N` blocks: 1 or more.
    MinimumDepth(u32),
    /// `feerate=R`: the node's fee estimate at the start.
    FeeratePerKw(u32),
    /// `fee_base=AMOUNT`: the forwarding fee per HTLC, in whole msat.
    FeeBaseMsat(u32),
    /// `fee_ppm=N`: the forwarding fee per million msat forwarded.
    FeeProportionalMillionths(u32),
    /// `cltv_delta=N` blocks kept between a forward's incoming and outgoing expiry.
    CltvExpiryDelta(u16),
}

/// The keys `node N config` takes.
pub const POLICY_KEYS: [&str; 11] = [
    "max_accepted_htlcs",
    "dust_limit",
    "reserve",
    "htlc_minimum",
    "max_in_flight",
    "to_self_delay",
    "minimum_depth",
    "feerate",
    "fee_base",
    "fee_ppm",
    "cltv_delta",
];

impl PolicyField {
    /// `config` with this setting.
    pub fn apply(self, config: &mut ChannelManagerConfig) {
        match self {
            PolicyField::MaxAcceptedHtlcs(n) => config.max_accepted_htlcs = n,
            PolicyField::DustLimitSatoshis(sat) => config.dust_limit_satoshis = sat,
            PolicyField::ReservePermille(permille) => config.channel_reserve_permille = permille,
            PolicyField::HtlcMinimumMsat(msat) => config.htlc_minimum_msat = msat,
            PolicyField::MaxInFlightPercent(percent) => config.max_htlc_value_in_flight_percent = percent,
            PolicyField::ToSelfDelay(blocks) => config.to_self_delay = blocks,
            PolicyField::MinimumDepth(blocks) => config.minimum_depth = blocks,
            PolicyField::FeeratePerKw(feerate) => config.feerate_per_kw = feerate,
            PolicyField::FeeBaseMsat(msat) => config.forwarding_policy.fee_base_msat = msat,
            PolicyField::FeeProportionalMillionths(ppm) => config.forwarding_policy.fee_proportional_millionths = ppm,
            PolicyField::CltvExpiryDelta(blocks) => config.forwarding_policy.cltv_expiry_delta = blocks,
        }
    }

    /// The script's words for this setting (`key=value`).
    pub fn text(self) -> String {
        match self {
            PolicyField::MaxAcceptedHtlcs(n) => format!("max_accepted_htlcs={n}"),
            PolicyField::DustLimitSatoshis(sat) => format!("dust_limit={sat}sat"),
            PolicyField::ReservePermille(permille) => format!("reserve={}%", f64::from(permille) / 10.0),
            PolicyField::HtlcMinimumMsat(msat) => format!("htlc_minimum={msat}msat"),
            PolicyField::MaxInFlightPercent(percent) => format!("max_in_flight={percent}%"),
            PolicyField::ToSelfDelay(blocks) => format!("to_self_delay={blocks}"),
            PolicyField::MinimumDepth(blocks) => format!("minimum_depth={blocks}"),
            PolicyField::FeeratePerKw(feerate) => format!("feerate={feerate}sat/kw"),
            PolicyField::FeeBaseMsat(msat) => format!("fee_base={msat}msat"),
            PolicyField::FeeProportionalMillionths(ppm) => format!("fee_ppm={ppm}"),
            PolicyField::CltvExpiryDelta(blocks) => format!("cltv_delta={blocks}"),
        }
    }
}

/// The policy every node has unless the swarm or the script says otherwise: the
/// library's defaults at the regtest fee estimate.
pub fn default_policy() -> ChannelManagerConfig {
    ChannelManagerConfig::new(regtest(), REGTEST_FEERATE_PER_KW)
}

/// Node `node`'s policy drawn from `seed`, within what BOLT 2 lets a peer accept and
/// what keeps the bundled scenarios' payments possible: half the nodes keep the
/// protocol's 483 HTLCs, the others accept 2 to 30; dust limits of 354 to 2,000 sat;
/// reserves of 1% to 10%; HTLC minimums up to 100 sat; in-flight caps of 10% to 100%;
/// delays of 6 to 2016 blocks; 1 to 3 confirmations; a starting estimate of 253 to
/// 1,000 sat/kw.
pub fn drawn_policy(seed: u64, node: usize) -> ChannelManagerConfig {
    let mut rng = SimRng::new(seed, StreamId::Policy(node as u32));
    let mut config = default_policy();
    config.max_accepted_htlcs = if rng.chance(0.5) {
        MAX_HTLCS_PER_SIDE
    } else {
        rng.in_range(2, 30) as u16
    };
    config.dust_limit_satoshis = rng.in_range(354, 2_000);
    config.channel_reserve_permille = rng.in_range(10, 100) as u16;
    config.htlc_minimum_msat = if rng.chance(0.5) { 1 } else { rng.in_range(1, 100_000) };
    config.max_htlc_value_in_flight_percent = if rng.chance(0.5) {
        100
    } else {
        rng.in_range(10, 100) as u8
    };
    config.to_self_delay = rng.in_range(6, u64::from(MAX_TO_SELF_DELAY)) as u16;
    config.minimum_depth = rng.in_range(1, 3) as u32;
    config.feerate_per_kw = rng.in_range(u64::from(REGTEST_FEERATE_PER_KW), 1_000) as u32;
    config
}

/// Which of `count` fault generators run under `seed`: each with probability 3/4, and at
/// least one if there are any.
pub fn drawn_fault_mix(seed: u64, count: usize) -> Vec<bool> {
    let mut rng = SimRng::new(seed, StreamId::FaultMix);
    let mut mix: Vec<bool> = (0..count).map(|_| rng.chance(0.75)).collect();
    if count > 0 && !mix.contains(&true) {
        mix[rng.below(count as u64) as usize] = true;
    }
    mix
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drawn policies differ between nodes and seeds, stay within BOLT 2's bounds, and a
    /// seed always draws the same.
    #[test]
    fn policies_vary_within_bounds_and_repeat_per_seed() {
        let mut caps = std::collections::BTreeSet::new();
        for seed in 0..50 {
            for node in 0..4 {
                let policy = drawn_policy(seed, node);
                assert_eq!(policy.max_accepted_htlcs, drawn_policy(seed, node).max_accepted_htlcs);
                assert!((1..=MAX_HTLCS_PER_SIDE).contains(&policy.max_accepted_htlcs));
                assert!(policy.dust_limit_satoshis >= 354);
                assert!(policy.to_self_delay <= MAX_TO_SELF_DELAY);
                assert!((1..=3).contains(&policy.minimum_depth));
                caps.insert(policy.max_accepted_htlcs);
            }
        }
        assert!(caps.len() > 10, "caps drawn: {caps:?}");
    }

    #[test]
    fn a_fault_mix_leaves_some_out_and_never_all() {
        let mixes: Vec<Vec<bool>> = (0..200).map(|seed| drawn_fault_mix(seed, 6)).collect();
        assert!(mixes.iter().all(|m| m.contains(&true)));
        assert!(mixes.iter().any(|m| m.contains(&false)));
        assert!(mixes.iter().any(|m| m.iter().all(|&on| on)));
        assert_eq!(drawn_fault_mix(3, 1), vec![true]);
    }
}
