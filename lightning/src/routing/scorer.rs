//! What the router learns from payments: per channel direction, bounds on the liquidity
//! its sender holds. A failure at a channel says the amount did not fit (an upper
//! bound); a payment that passed a channel says the amount did (a lower bound). Between
//! the bounds liquidity is taken as uniform, so the chance an amount fits is the share of
//! the range above it. Learned bounds relax toward the capacity as blocks pass, since
//! balances move.

use alloc::collections::BTreeMap;

use crate::wire::ShortChannelId;

/// Blocks over which what was learned about a channel's liquidity halves (about an
/// hour): balances move as other payments pass.
pub const LIQUIDITY_HALF_LIFE_BLOCKS: u32 = 6;

/// Scale of [`neg_log2_fixed`]: 1024 is one halving of the probability.
pub const LOG_SCALE: u64 = 1024;

/// A direction of a channel: its short id and whether it is from `node_one`.
pub type Direction = (ShortChannelId, bool);

/// Learned bounds on what the sender of one direction holds, in msat offsets from
/// nothing and from the capacity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Learned {
    /// Liquidity is at least this.
    min_msat: u64,
    /// Liquidity is at most the capacity less this.
    below_capacity_msat: u64,
}

/// Liquidity bounds per channel direction.
#[derive(Clone, Debug, Default)]
pub struct LiquidityScorer {
    learned: BTreeMap<Direction, Learned>,
    last_decay_height: Option<u32>,
}

impl LiquidityScorer {
    /// Knows nothing yet.
    pub fn new() -> Self {
        LiquidityScorer::default()
    }

    /// How many channel directions it has learned about.
    pub fn learned_count(&self) -> usize {
        self.learned.len()
    }

    /// The bounds `(min, max)` on the sender's liquidity in `direction` of a channel of
    /// `capacity_msat`.
    pub fn bounds_msat(&self, direction: Direction, capacity_msat: u64) -> (u64, u64) {
        let learned = self.learned.get(&direction).copied().unwrap_or_default();
        let max = capacity_msat.saturating_sub(learned.below_capacity_msat);
        (learned.min_msat.min(max), max)
    }

    /// `amount_msat` did not fit `direction` (the hop reported a temporary failure).
    pub fn failed(&mut self, direction: Direction, amount_msat: u64, capacity_msat: u64) {
        let learned = self.learned.entry(direction).or_default();
        let max = amount_msat.saturating_sub(1);
        learned.below_capacity_msat = learned.below_capacity_msat.max(capacity_msat.saturating_sub(max));
        learned.min_msat = learned.min_msat.min(max);
    }

    /// `amount_msat` passed `direction` (it fit, at least then).
    pub fn passed(&mut self, direction: Direction, amount_msat: u64, capacity_msat: u64) {
        let learned = self.learned.entry(direction).or_default();
        learned.min_msat = learned.min_msat.max(amount_msat.min(capacity_msat));
        let max = capacity_msat.saturating_sub(learned.below_capacity_msat);
        if max < learned.min_msat {
            // The newer observation wins: the liquidity moved since.
            learned.below_capacity_msat = capacity_msat - learned.min_msat;
        }
    }

    /// Blocks passed: learned bounds relax, halving per [`LIQUIDITY_HALF_LIFE_BLOCKS`].
    pub fn best_block_updated(&mut self, height: u32) {
        let since = *self.last_decay_height.get_or_insert(height);
        let halvings = height.saturating_sub(since) / LIQUIDITY_HALF_LIFE_BLOCKS;
        if halvings == 0 {
            return;
        }
        self.last_decay_height = Some(since + halvings * LIQUIDITY_HALF_LIFE_BLOCKS);
        let shift = halvings.min(63);
        self.learned.retain(|_, learned| {
            learned.min_msat >>= shift;
            learned.below_capacity_msat >>= shift;
            *learned != Learned::default()
        });
    }

    /// The chance, as `-log2` times [`LOG_SCALE`], that `amount_msat` fits `direction`
    /// of a channel of `capacity_msat`; `None` if it cannot (above what is known to be
    /// there).
    pub fn neg_log2_success(&self, direction: Direction, amount_msat: u64, capacity_msat: u64) -> Option<u64> {
        let (min, max) = self.bounds_msat(direction, capacity_msat);
        if amount_msat > max {
            return None;
        }
        if amount_msat <= min {
            return Some(0);
        }
        // Uniform over (min, max]: P = (max - amount + 1) / (max - min).
        Some(neg_log2_fixed(max - amount_msat + 1, max - min))
    }
}

/// `-log2(numerator / denominator)` times [`LOG_SCALE`], for `0 < numerator <=
/// denominator`: integer arithmetic, since `core` has no logarithm (the library is
/// `no_std`). Exact at powers of two, within 1% of a halving between them.
pub fn neg_log2_fixed(numerator: u64, denominator: u64) -> u64 {
    debug_assert!(numerator > 0 && numerator <= denominator);
    log2_fixed(denominator).saturating_sub(log2_fixed(numerator.max(1)))
}

/// `log2(x)` times [`LOG_SCALE`] for `x >= 1`: the bit length, then the top bits below
/// the leading one as a linear fraction (off by at most 0.086 of a halving).
fn log2_fixed(x: u64) -> u64 {
    let whole = 63 - u64::from(x.leading_zeros());
    let below = x - (1 << whole);
    let fraction = if whole >= 10 {
        below >> (whole - 10)
    } else {
        below << (10 - whole)
    };
    whole * LOG_SCALE + fraction
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHANNEL: Direction = (ShortChannelId(1), true);

    #[test]
    fn logarithms_are_exact_at_powers_of_two_and_monotone_between() {
        assert_eq!(neg_log2_fixed(1, 1), 0);
        assert_eq!(neg_log2_fixed(1, 2), LOG_SCALE);
        assert_eq!(neg_log2_fixed(1, 1 << 40), 40 * LOG_SCALE);
        let mut previous = 0;
        for numerator in (1..=1000u64).rev() {
            let value = neg_log2_fixed(numerator, 1000);
            assert!(value >= previous, "a smaller chance never costs less");
            previous = value;
        }
        // log2(1000/3) = 8.38 halvings.
        assert!((neg_log2_fixed(3, 1000) as i64 - 8_585).abs() < 100);
    }

    #[test]
    fn a_failure_caps_and_a_success_floors_the_liquidity() {
        let mut scorer = LiquidityScorer::new();
        let capacity = 1_000_000;
        assert_eq!(
            scorer.neg_log2_success(CHANNEL, 1, capacity),
            Some(0),
            "nothing learned: almost sure"
        );
        assert!(scorer.neg_log2_success(CHANNEL, 900_000, capacity) > Some(3 * LOG_SCALE));
        scorer.failed(CHANNEL, 600_000, capacity);
        assert_eq!(scorer.bounds_msat(CHANNEL, capacity), (0, 599_999));
        assert_eq!(scorer.neg_log2_success(CHANNEL, 600_000, capacity), None);
        scorer.passed(CHANNEL, 200_000, capacity);
        assert_eq!(scorer.bounds_msat(CHANNEL, capacity), (200_000, 599_999));
        assert_eq!(scorer.neg_log2_success(CHANNEL, 200_000, capacity), Some(0));
        // A later success above the cap moves the cap.
        scorer.passed(CHANNEL, 700_000, capacity);
        assert_eq!(scorer.bounds_msat(CHANNEL, capacity), (700_000, 700_000));
    }

    #[test]
    fn learned_bounds_relax_as_blocks_pass() {
        let mut scorer = LiquidityScorer::new();
        scorer.best_block_updated(100);
        scorer.failed(CHANNEL, 200_001, 1_000_000);
        scorer.best_block_updated(100 + LIQUIDITY_HALF_LIFE_BLOCKS - 1);
        assert_eq!(scorer.bounds_msat(CHANNEL, 1_000_000), (0, 200_000));
        scorer.best_block_updated(100 + LIQUIDITY_HALF_LIFE_BLOCKS);
        assert_eq!(scorer.bounds_msat(CHANNEL, 1_000_000), (0, 600_000));
        scorer.best_block_updated(100 + 70 * LIQUIDITY_HALF_LIFE_BLOCKS);
        assert_eq!(scorer.learned_count(), 0, "forgotten entirely");
    }
}
