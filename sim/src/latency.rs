//! Link delays: a latency distribution plus jitter, and the ordering TCP guarantees.

use crate::clock::SimTime;
use crate::rng::SimRng;

/// How long a link takes to carry bytes, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Latency {
    /// Always `ms`.
    Constant { ms: u64 },
    /// Uniform in `min_ms..=max_ms`.
    Uniform { min_ms: u64, max_ms: u64 },
    /// Normal around `mean_ms`, cut at zero.
    Normal { mean_ms: f64, std_dev_ms: f64 },
    /// Log-normal: `median_ms * exp(sigma * N(0, 1))`, the long right tail of real links.
    LogNormal { median_ms: f64, sigma: f64 },
}

/// Why a distribution cannot be sampled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidLatency(pub String);

/// Samples above this are cut: an hour is already a partition, not a latency.
pub const MAX_DELAY_MS: u64 = 3_600_000;

fn to_ms(x: f64) -> u64 {
    // Rounded, and clamped into [0, MAX_DELAY_MS]; NaN cannot occur for valid parameters.
    x.round().clamp(0.0, MAX_DELAY_MS as f64) as u64
}

impl Latency {
    /// Checks the parameters: finite, non-negative, ordered.
    pub fn validate(&self) -> Result<(), InvalidLatency> {
        let bad = |why: &str| Err(InvalidLatency(why.to_string()));
        match *self {
            Latency::Constant { ms } if ms > MAX_DELAY_MS => bad("latency above an hour"),
            Latency::Uniform { min_ms, max_ms } if min_ms > max_ms => bad("uniform latency with min above max"),
            Latency::Uniform { max_ms, .. } if max_ms > MAX_DELAY_MS => bad("latency above an hour"),
            Latency::Normal { mean_ms, std_dev_ms }
                if !(mean_ms.is_finite() && std_dev_ms.is_finite() && mean_ms >= 0.0 && std_dev_ms >= 0.0) =>
            {
                bad("normal latency needs a finite, non-negative mean and standard deviation")
            }
            Latency::LogNormal { median_ms, sigma }
                if !(median_ms.is_finite() && sigma.is_finite() && median_ms >= 0.0 && sigma >= 0.0) =>
            {
                bad("log-normal latency needs a finite, non-negative median and sigma")
            }
            _ => Ok(()),
        }
    }

    /// One sample, in whole milliseconds, within `0..=MAX_DELAY_MS`.
    pub fn sample_ms(&self, rng: &mut SimRng) -> u64 {
        match *self {
            Latency::Constant { ms } => ms.min(MAX_DELAY_MS),
            Latency::Uniform { min_ms, max_ms } => rng.in_range(min_ms, max_ms.max(min_ms)).min(MAX_DELAY_MS),
            Latency::Normal { mean_ms, std_dev_ms } => to_ms(mean_ms + std_dev_ms * rng.standard_normal()),
            Latency::LogNormal { median_ms, sigma } => to_ms(median_ms * (sigma * rng.standard_normal()).exp()),
        }
    }
}

/// One direction of a connection: delays drawn per delivery, and, as TCP does, bytes
/// never overtake bytes sent before them.
#[derive(Clone, Debug)]
pub struct OrderedLink {
    latency: Latency,
    jitter_ms: u64,
    last_arrival: SimTime,
}

impl OrderedLink {
    /// A link whose delay is `latency` plus up to `jitter_ms` more, uniformly.
    pub fn new(latency: Latency, jitter_ms: u64) -> Result<Self, InvalidLatency> {
        latency.validate()?;
        if jitter_ms > MAX_DELAY_MS {
            return Err(InvalidLatency("jitter above an hour".into()));
        }
        Ok(OrderedLink {
            latency,
            jitter_ms,
            last_arrival: SimTime::ZERO,
        })
    }

    /// When bytes sent at `sent` arrive: the sampled delay, but never before bytes sent
    /// earlier on this link.
    pub fn arrival(&mut self, sent: SimTime, rng: &mut SimRng) -> SimTime {
        let arrival = sent.after_ms(self.delay_ms(rng)).max(self.last_arrival);
        self.last_arrival = arrival;
        arrival
    }

    /// When bytes sent at `sent` arrive if the link does not keep order: the sampled
    /// delay alone, so they may overtake earlier bytes.
    pub fn arrival_unordered(&mut self, sent: SimTime, rng: &mut SimRng) -> SimTime {
        let arrival = sent.after_ms(self.delay_ms(rng));
        // Later ordered bytes still never overtake these.
        self.last_arrival = self.last_arrival.max(arrival);
        arrival
    }

    /// One delay: the latency sample plus uniform jitter.
    fn delay_ms(&self, rng: &mut SimRng) -> u64 {
        let jitter_ms = if self.jitter_ms == 0 {
            0
        } else {
            rng.in_range(0, self.jitter_ms)
        };
        self.latency.sample_ms(rng) + jitter_ms
    }

    /// Forgets ordering state when the connection is torn down: a new connection starts
    /// fresh.
    pub fn reset(&mut self) {
        self.last_arrival = SimTime::ZERO;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::StreamId;

    fn samples(latency: Latency, n: usize) -> Vec<u64> {
        let mut rng = SimRng::new(9, StreamId::Link(0));
        (0..n).map(|_| latency.sample_ms(&mut rng)).collect()
    }

    fn median(mut xs: Vec<u64>) -> u64 {
        xs.sort_unstable();
        xs[xs.len() / 2]
    }

    #[test]
    fn each_distribution_samples_where_it_should() {
        assert!(samples(Latency::Constant { ms: 40 }, 10).iter().all(|x| *x == 40));
        let uniform = samples(Latency::Uniform { min_ms: 10, max_ms: 20 }, 2000);
        assert!(uniform.iter().all(|x| (10..=20).contains(x)));
        assert_eq!(*uniform.iter().min().unwrap(), 10);
        assert_eq!(*uniform.iter().max().unwrap(), 20);
        let normal = samples(
            Latency::Normal {
                mean_ms: 100.0,
                std_dev_ms: 10.0,
            },
            2000,
        );
        assert!((95..=105).contains(&median(normal)));
        let log_normal = samples(
            Latency::LogNormal {
                median_ms: 50.0,
                sigma: 0.5,
            },
            2000,
        );
        let mean = log_normal.iter().sum::<u64>() / 2000;
        assert!((45..=55).contains(&median(log_normal)));
        assert!(mean > 52, "the right tail lifts the mean above the median: {mean}");
    }

    #[test]
    fn a_wide_normal_is_cut_at_zero() {
        let xs = samples(
            Latency::Normal {
                mean_ms: 1.0,
                std_dev_ms: 100.0,
            },
            500,
        );
        assert!(xs.contains(&0));
    }

    #[test]
    fn invalid_parameters_are_refused() {
        for bad in [
            Latency::Uniform { min_ms: 5, max_ms: 4 },
            Latency::Normal {
                mean_ms: f64::NAN,
                std_dev_ms: 1.0,
            },
            Latency::Normal {
                mean_ms: 10.0,
                std_dev_ms: -1.0,
            },
            Latency::LogNormal {
                median_ms: f64::INFINITY,
                sigma: 1.0,
            },
            Latency::Constant { ms: MAX_DELAY_MS + 1 },
        ] {
            assert!(OrderedLink::new(bad, 0).is_err(), "{bad:?}");
        }
        assert!(OrderedLink::new(Latency::Constant { ms: 1 }, MAX_DELAY_MS + 1).is_err());
    }

    #[test]
    fn bytes_never_overtake_earlier_bytes() {
        let mut link = OrderedLink::new(Latency::Uniform { min_ms: 1, max_ms: 500 }, 50).expect("valid");
        let mut rng = SimRng::new(3, StreamId::Link(1));
        let mut last = SimTime::ZERO;
        for sent in 0..2000u64 {
            let arrival = link.arrival(SimTime(sent), &mut rng);
            assert!(arrival >= last && arrival >= SimTime(sent + 1));
            last = arrival;
        }
        link.reset();
        assert!(link.arrival(SimTime(0), &mut rng) <= SimTime(550));
    }
}
