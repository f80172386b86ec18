//! Seeded randomness: one ChaCha20 stream per consumer (a node's entropy, a link's
//! latency, the workload, the fault plan), all from the run's one seed.
//!
//! Separate streams keep consumers independent: a node drawing one more random byte does
//! not shift every later latency sample, so shrinking a scenario changes as little of the
//! schedule as possible.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

/// Who draws from a stream. Each kind has its own range of ChaCha stream ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamId {
    /// A node's entropy (keys, nonces, channel ids).
    Node(u32),
    /// A link's latency and jitter samples.
    Link(u32),
    /// The payment workload's random generators.
    Workload,
    /// Random faults.
    Faults,
    /// The simulated chain (block intervals).
    Chain,
    /// A node's channel policy ([`crate::swarm`]).
    Policy(u32),
    /// Which fault generators a run has.
    FaultMix,
}

impl StreamId {
    fn chacha_stream(self) -> u64 {
        match self {
            StreamId::Node(i) => u64::from(i),
            StreamId::Link(i) => (1 << 32) | u64::from(i),
            StreamId::Workload => 2 << 32,
            StreamId::Faults => 3 << 32,
            StreamId::Chain => 4 << 32,
            StreamId::Policy(i) => (5 << 32) | u64::from(i),
            StreamId::FaultMix => 6 << 32,
        }
    }
}

/// A deterministic random stream.
#[derive(Clone, Debug)]
pub struct SimRng(ChaCha20Rng);

impl SimRng {
    /// The stream `stream` of the run seeded with `seed`.
    pub fn new(seed: u64, stream: StreamId) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        rng.set_stream(stream.chacha_stream());
        SimRng(rng)
    }

    /// 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// 32 random bytes (node entropy).
    pub fn bytes32(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        self.0.fill_bytes(&mut out);
        out
    }

    /// Uniform in `0..bound` without modulo bias; `bound` must be positive.
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0, "empty range");
        // Reject the top partial bucket so every value is equally likely.
        let zone = u64::MAX - (u64::MAX % bound + 1) % bound;
        loop {
            let x = self.next_u64();
            if x <= zone {
                return x % bound;
            }
        }
    }

    /// Uniform in `min..=max`.
    pub fn in_range(&mut self, min: u64, max: u64) -> u64 {
        assert!(min <= max, "empty range {min}..={max}");
        match (max - min).checked_add(1) {
            Some(span) => min + self.below(span),
            None => self.next_u64(),
        }
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p` (clamped to `[0, 1]`).
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A standard normal sample (Box-Muller).
    pub fn standard_normal(&mut self) -> f64 {
        // 1 - unit() is in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * core::f64::consts::PI * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(seed: u64, stream: StreamId) -> Vec<u64> {
        let mut rng = SimRng::new(seed, stream);
        (0..8).map(|_| rng.next_u64()).collect()
    }

    #[test]
    fn same_seed_and_stream_same_draws() {
        assert_eq!(draws(7, StreamId::Node(3)), draws(7, StreamId::Node(3)));
    }

    #[test]
    fn seeds_and_streams_are_independent() {
        let base = draws(7, StreamId::Node(0));
        assert_ne!(base, draws(8, StreamId::Node(0)));
        for other in [
            StreamId::Node(1),
            StreamId::Link(0),
            StreamId::Workload,
            StreamId::Faults,
            StreamId::Chain,
        ] {
            assert_ne!(base, draws(7, other), "{other:?}");
        }
    }

    #[test]
    fn bounded_draws_stay_in_bounds_and_cover_them() {
        let mut rng = SimRng::new(1, StreamId::Workload);
        let mut seen = [false; 7];
        for _ in 0..1000 {
            let x = rng.below(7);
            seen[x as usize] = true;
            let y = rng.in_range(10, 12);
            assert!((10..=12).contains(&y));
            let u = rng.unit();
            assert!((0.0..1.0).contains(&u));
        }
        assert!(seen.iter().all(|s| *s));
        // The full range has no span to draw below; it is every value.
        assert_ne!(rng.in_range(0, u64::MAX), rng.in_range(0, u64::MAX));
        assert_eq!(rng.in_range(5, 5), 5);
    }

    #[test]
    fn chance_and_normal_have_the_right_shape() {
        let mut rng = SimRng::new(2, StreamId::Faults);
        let hits = (0..10_000).filter(|_| rng.chance(0.25)).count();
        assert!((2_200..2_800).contains(&hits), "{hits}");
        assert!(!(0..100).any(|_| rng.chance(0.0)));
        let samples: Vec<f64> = (0..10_000).map(|_| rng.standard_normal()).collect();
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        let variance = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / samples.len() as f64;
        assert!(mean.abs() < 0.05, "{mean}");
        assert!((variance - 1.0).abs() < 0.1, "{variance}");
    }
}
