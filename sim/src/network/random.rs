//! Random faults and payments during the fault window: each generator fires at
//! exponentially spaced times, picks its target from the seed, and schedules its own undo
//! (restart, resume, heal, the fee rate's return) when the fault has a duration.

use super::{Action, Network, SimEvent};
use crate::clock::SimTime;
use crate::faults::{next_interval_ms, FaultKind, Generator, GeneratorKind, Traffic};

impl Network {
    /// Adds a generator that fires from `window_start` until `window_end` (one window
    /// end for all generators: the latest given).
    pub fn add_generator(&mut self, generator: Generator, window_start: SimTime, window_end: SimTime) {
        self.window_end = window_end;
        let index = self.generators.len();
        self.generators.push(generator);
        let first_ms = self.interval_for(index);
        self.queue
            .schedule_at(window_start.after_ms(first_ms), SimEvent::Generate(index));
    }

    /// `generator` is not in this seed's fault mix: the trace says so.
    pub fn note_fault_left_out(&mut self, generator: Generator) {
        if let GeneratorKind::Fault(kind) = generator.kind {
            self.log_line("null", "fault_left_out", format!("\"kind\":\"{}\"", kind.name()));
        }
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.config.seed
    }

    /// Every action the generators made, with its time (undos at the time they are
    /// due): written out as `at` lines, they replay the run without the generators.
    pub fn generated(&self) -> &[(SimTime, Action)] {
        &self.generated
    }

    /// Ends the fault window now: generators fire no more.
    pub(super) fn close_fault_window(&mut self) {
        self.window_end = self.window_end.min(self.queue.now());
    }

    fn interval_for(&mut self, index: usize) -> u64 {
        let generator = self.generators[index];
        let rng = match generator.kind {
            GeneratorKind::Fault(_) => &mut self.faults_rng,
            GeneratorKind::Traffic(_) => &mut self.traffic_rng,
        };
        next_interval_ms(generator.mean_interval_ms, rng)
    }

    pub(super) fn generate(&mut self, index: usize) {
        if self.queue.now() >= self.window_end {
            return;
        }
        match self.generators[index].kind {
            GeneratorKind::Fault(kind) => self.random_fault(kind),
            GeneratorKind::Traffic(traffic) => self.random_payment(traffic),
        }
        let next_ms = self.interval_for(index);
        if self.queue.now().after_ms(next_ms) < self.window_end {
            self.queue.schedule_in(next_ms, SimEvent::Generate(index));
        }
    }

    /// Live connections, each once (lower node first).
    fn live_pairs(&self) -> Vec<(usize, usize)> {
        self.live.keys().filter(|(a, b)| a < b).copied().collect()
    }

    fn running_nodes(&self) -> Vec<usize> {
        (0..self.nodes.len()).filter(|n| !self.crashed.contains(n)).collect()
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        if items.is_empty() {
            return None;
        }
        let index = self.faults_rng.below(items.len() as u64) as usize;
        Some(items[index])
    }

    fn random_fault(&mut self, kind: FaultKind) {
        let now = self.queue.now();
        let (action, undo): (Option<Action>, Option<(u64, Action)>) = match kind {
            FaultKind::Disconnect => {
                let pairs = self.live_pairs();
                let action = self.pick(&pairs).map(|(a, b)| Action::Disconnect { a, b });
                (action, None)
            }
            FaultKind::Crash { down_ms } => match self.pick(&self.running_nodes()) {
                Some(node) => (
                    Some(Action::Crash { node }),
                    Some((
                        down_ms,
                        Action::Restart {
                            node,
                            stale_manager: false,
                        },
                    )),
                ),
                None => (None, None),
            },
            FaultKind::PauseMonitors { for_ms } => {
                let candidates: Vec<usize> = self
                    .running_nodes()
                    .into_iter()
                    .filter(|&n| !self.nodes[n].channel_handler().persister().hold)
                    .collect();
                match self.pick(&candidates) {
                    Some(node) => (
                        Some(Action::PauseMonitors { node }),
                        Some((for_ms, Action::ResumeMonitors { node })),
                    ),
                    None => (None, None),
                }
            }
            FaultKind::FeeSpike {
                for_ms,
                base_feerate_per_kw,
                max_feerate_per_kw,
            } => {
                let low = u64::from(base_feerate_per_kw.min(max_feerate_per_kw));
                let spike = self.faults_rng.in_range(low, u64::from(max_feerate_per_kw.max(1))) as u32;
                (
                    Some(Action::FeeRate { feerate_per_kw: spike }),
                    Some((
                        for_ms,
                        Action::FeeRate {
                            feerate_per_kw: base_feerate_per_kw,
                        },
                    )),
                )
            }
            FaultKind::Partition { for_ms } => {
                if self.partition.is_some() {
                    (None, None)
                } else {
                    let count = self.nodes.len();
                    let mut side: Vec<usize> = (0..count).filter(|_| self.faults_rng.chance(0.5)).collect();
                    // A proper, non-empty subset: otherwise cut one node off.
                    if side.is_empty() || side.len() == count {
                        side = vec![self.faults_rng.below(count as u64) as usize];
                    }
                    (Some(Action::Partition { side }), Some((for_ms, Action::Heal)))
                }
            }
            FaultKind::Lie => {
                let talking: Vec<usize> = self
                    .running_nodes()
                    .into_iter()
                    .filter(|n| self.live.keys().any(|(a, _)| a == n))
                    .collect();
                match self.pick(&talking) {
                    Some(node) => {
                        let lie =
                            crate::lies::Lie::ALL[self.faults_rng.below(crate::lies::Lie::ALL.len() as u64) as usize];
                        (Some(Action::Lie { node, lie }), None)
                    }
                    None => (None, None),
                }
            }
            FaultKind::LoseWrites { down_ms } => match self.pick(&self.running_nodes()) {
                Some(node) => (
                    Some(Action::Crash { node }),
                    Some((down_ms, Action::RestartLosingWrites { node })),
                ),
                None => (None, None),
            },
            FaultKind::Reorder { for_ms } => match self.pick(&self.live_pairs()) {
                Some((a, b)) => (
                    Some(Action::BreakOrdering { a, b }),
                    Some((for_ms, Action::RestoreOrdering { a, b })),
                ),
                None => (None, None),
            },
        };
        let Some(action) = action else {
            return self.log_line("null", "fault", format!("\"kind\":\"{}\",\"target\":null", kind.name()));
        };
        self.log_line("null", "fault", format!("\"kind\":\"{}\"", kind.name()));
        self.generated.push((now, action.clone()));
        if let Some((after_ms, undo)) = undo {
            self.generated.push((now.after_ms(after_ms), undo.clone()));
            self.queue
                .schedule_at(now.after_ms(after_ms), SimEvent::Act(undo, None));
        }
        // A drawn fault that finds nothing to do (its node already down) is only traced.
        let _ = self.act(action);
    }

    fn random_payment(&mut self, traffic: Traffic) {
        let (from, to) = if traffic.any_pair {
            // Any two nodes: a payment over a route unless they are channel peers.
            let count = self.nodes.len() as u64;
            let from = self.traffic_rng.below(count) as usize;
            let to = (from + 1 + self.traffic_rng.below(count - 1) as usize) % self.nodes.len();
            (from, to)
        } else {
            let pairs: Vec<(usize, usize)> = self.channel_peers.iter().copied().collect();
            if pairs.is_empty() {
                return;
            }
            let (a, b) = pairs[self.traffic_rng.below(pairs.len() as u64) as usize];
            if self.traffic_rng.chance(0.5) {
                (a, b)
            } else {
                (b, a)
            }
        };
        let amount_msat = match traffic.lognormal_sigma_milli {
            Some(sigma_milli) => {
                let sigma = f64::from(sigma_milli) / 1000.0;
                let drawn = traffic.min_amount_msat as f64 * (sigma * self.traffic_rng.standard_normal()).exp();
                (drawn as u64).clamp(1, traffic.max_amount_msat)
            }
            None => self
                .traffic_rng
                .in_range(traffic.min_amount_msat, traffic.max_amount_msat),
        };
        // Draining a channel, or paying wrongly on purpose, is between channel peers.
        let peers = self.channel_peers.contains(&(from, to)) || self.channel_peers.contains(&(to, from));
        let draw = if peers { self.traffic_rng.below(100) } else { 100 };
        let pay = if draw < u64::from(traffic.most_percent) {
            Action::PayMost { from, to }
        } else if draw < u64::from(traffic.most_percent) + u64::from(traffic.reject_percent) {
            Action::PayWrong {
                from,
                to,
                amount_msat,
                unknown_hash: self.traffic_rng.chance(0.5),
            }
        } else {
            Action::Pay { from, to, amount_msat }
        };
        self.generated.push((self.queue.now(), pay.clone()));
        // Refused payments are counted and traced; drawn traffic may be refused.
        let _ = self.act(pay);
    }
}
