//! Random faults and random payments: generators that fire at exponentially spaced
//! times (a Poisson process of a given mean interval) during the fault window, each
//! drawing its target from the run's seed.

use crate::rng::SimRng;

/// A fault a generator injects, with what it needs to undo it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// A random live connection drops (bytes in flight are lost).
    Disconnect,
    /// A random running node crashes and restarts from its latest durable state after
    /// `down_ms`.
    Crash { down_ms: u64 },
    /// A random node's monitor persistence answers InProgress for `for_ms`, then catches
    /// up (completions reported in a random order).
    PauseMonitors { for_ms: u64 },
    /// Every node's fee estimate jumps to a random rate up to `max_feerate_per_kw` for
    /// `for_ms`, then returns to `base_feerate_per_kw`.
    FeeSpike {
        for_ms: u64,
        base_feerate_per_kw: u32,
        max_feerate_per_kw: u32,
    },
    /// A random proper subset of the nodes is cut off for `for_ms`.
    Partition { for_ms: u64 },
    /// A random live connection stops keeping TCP's order for `for_ms`: bytes may
    /// overtake earlier bytes, which the transport must notice and drop the connection.
    Reorder { for_ms: u64 },
    /// A random running node lies in one field of the next message that carries it
    /// ([`crate::lies`]); its receiver must fail the channel or the connection.
    Lie,
    /// A random running node crashes and, after `down_ms`, starts from its latest manager
    /// and the monitors of its previous start (storage lost the writes since); it must
    /// notice, closing what it cannot enforce, never running on.
    LoseWrites { down_ms: u64 },
}

impl FaultKind {
    /// The name scripts and traces use.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Disconnect => "disconnect",
            FaultKind::Crash { .. } => "crash",
            FaultKind::PauseMonitors { .. } => "pause_monitors",
            FaultKind::FeeSpike { .. } => "feerate",
            FaultKind::Partition { .. } => "partition",
            FaultKind::Reorder { .. } => "reorder",
            FaultKind::Lie => "lie",
            FaultKind::LoseWrites { .. } => "lose_writes",
        }
    }
}

/// Random payments across the scenario's channels, in a random direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Traffic {
    /// Smallest amount.
    pub min_amount_msat: u64,
    /// Largest amount (uniform between).
    pub max_amount_msat: u64,
    /// Of every hundred payments, how many the payee must reject (half paying one msat
    /// less than the invoice, half to a hash it never made).
    pub reject_percent: u8,
    /// Of every hundred payments, how many pay exactly the most the channel can send
    /// now (draining the payer to its reserve).
    pub most_percent: u8,
    /// Amounts are log-normal with median `min_amount_msat` and this sigma (in
    /// thousandths), cut at 1 msat and `max_amount_msat`; uniform if `None`.
    pub lognormal_sigma_milli: Option<u32>,
    /// Payer and payee are any two nodes (paid over a route) rather than channel peers.
    pub any_pair: bool,
}

/// What a generator makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeneratorKind {
    /// Faults.
    Fault(FaultKind),
    /// Payments.
    Traffic(Traffic),
}

/// A Poisson process of faults or payments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Generator {
    /// What it makes.
    pub kind: GeneratorKind,
    /// The mean time between two firings.
    pub mean_interval_ms: u64,
}

/// The time to a generator's next firing: exponential with mean `mean_interval_ms`, at
/// least 1 ms so a generator cannot fire twice at one instant.
pub fn next_interval_ms(mean_interval_ms: u64, rng: &mut SimRng) -> u64 {
    // `unit` is in [0, 1): 1 - u is in (0, 1], so the logarithm is finite.
    let u = rng.unit();
    let ms = -(mean_interval_ms as f64) * (1.0 - u).ln();
    // Cap at a thousand means: the tail beyond is negligible and the cast stays in range.
    (ms.min(mean_interval_ms as f64 * 1000.0) as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::StreamId;

    #[test]
    fn intervals_average_their_mean() {
        let mut rng = SimRng::new(11, StreamId::Faults);
        let n = 20_000;
        let total: u64 = (0..n).map(|_| next_interval_ms(1_000, &mut rng)).sum();
        let mean = total as f64 / n as f64;
        assert!((950.0..1050.0).contains(&mean), "mean {mean}");
    }

    #[test]
    fn intervals_are_positive_even_for_a_zero_mean() {
        let mut rng = SimRng::new(2, StreamId::Faults);
        assert!((0..1000).all(|_| next_interval_ms(0, &mut rng) == 1));
    }
}
