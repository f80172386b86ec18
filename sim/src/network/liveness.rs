//! The liveness phase: after the fault window, every fault is healed and the network
//! runs until it is quiet. What must then hold: every payment ended as sent or failed
//! (or was refused at once), no HTLC is left pending, and every channel is open for
//! payments, connected, with both ends agreeing.

use lightning::chan::channel::ChannelPhase;
use lightning::chan::snapshot::ChannelSnapshot;

use super::{hex, Action, FailureKind, Network, PaymentOutcome, Violation};
use crate::clock::SimTime;

impl Network {
    /// Ends the fault window, heals everything (crashed nodes restart from their latest
    /// state, held monitor updates complete, the partition heals, links keep order,
    /// channel peers reconnect) and runs until quiet, at most `max_ms` of simulated time.
    /// Returns when it became quiet, or the violation: an invariant broken on the way, or
    /// what was still not quiet at the deadline.
    pub fn settle(&mut self, max_ms: u64) -> Result<SimTime, Violation> {
        self.close_fault_window();
        let now = self.queue.now();
        self.log_line("null", "settle", format!("\"max_ms\":{max_ms}"));
        for node in 0..self.nodes.len() {
            if self.crashed.contains(&node) {
                // A restart refused here leaves the node down, which liveness reports.
                let _ = self.restart(node, false, false);
            }
        }
        for node in 0..self.nodes.len() {
            let persister = self.nodes[node].channel_handler().persister();
            if persister.hold || !persister.in_progress.is_empty() {
                self.resume_monitors(node);
            }
        }
        // Nothing partitioned is as healed.
        let _ = self.act(Action::Heal);
        let unordered: Vec<(usize, usize)> = self.unordered.iter().copied().filter(|(a, b)| a < b).collect();
        for (a, b) in unordered {
            let _ = self.act(Action::RestoreOrdering { a, b });
        }
        self.redial_all(None);
        let deadline = now.after_ms(max_ms);
        loop {
            let Some(problem) = self.not_quiet() else {
                self.leave_to_the_chain();
                self.log_line("null", "quiet", String::new());
                return Ok(self.queue.now());
            };
            if self.queue.next_time().is_none_or(|t| t > deadline) {
                return Err(self.violation(
                    FailureKind::Liveness,
                    format!("liveness: not quiet {max_ms} ms after healing: {problem}"),
                ));
            }
            self.step()?;
        }
    }

    /// Whether node `a` has a channel with node `b` that is not closed.
    fn has_open_channel(&self, a: usize, b: usize) -> bool {
        let peer = self.nodes[b].node_id();
        let manager = self.nodes[a].channel_handler();
        manager.channel_ids().iter().any(|id| {
            manager.counterparty_of(id) == Some(peer)
                && manager
                    .channel(id)
                    .is_some_and(|c| !matches!(c.phase(), ChannelPhase::Closed | ChannelPhase::Failed))
        })
    }

    /// Payments still pending once quiet sat on channels failed on purpose: they are the
    /// chain's to resolve.
    fn leave_to_the_chain(&mut self) {
        let now = self.queue.now();
        for i in 0..self.payments.len() {
            let (source, destination) = (self.payments[i].source, self.payments[i].destination);
            if self.payments[i].outcome == PaymentOutcome::Pending
                && self.failed_on_purpose_between(source, destination)
            {
                self.payments[i].outcome = PaymentOutcome::OnChain;
                self.payments[i].reason = "its channel was failed on purpose; the chain resolves it".into();
                self.payments[i].resolved = Some(now);
                self.tally.on_chain += 1;
                if self.payments[i].possible {
                    self.payments[i].possible = false;
                    self.tally.impossible += 1;
                }
            }
        }
    }

    /// The first channel a script opened that never became ready, as the violation to
    /// report (a run whose channels never open tests nothing). A channel a fault failed
    /// on purpose is excused.
    pub fn unopened_channel(&self) -> Option<Violation> {
        let mut scripted: std::collections::BTreeMap<(usize, usize), usize> = Default::default();
        for &(from, to, line) in &self.scripted_channels {
            let nth = scripted.entry((from, to)).or_default();
            *nth += 1;
            let ready = self
                .ready_channels
                .iter()
                .filter(|(a, b, _)| (*a, *b) == (from, to))
                .count();
            if ready < *nth && !self.failed_on_purpose_between(from, to) {
                return Some(self.violation(
                    FailureKind::Refusal,
                    format!("line {line}: the channel {from} -> {to} never became ready"),
                ));
            }
        }
        None
    }

    /// Whether a channel between `a` and `b` was failed on purpose (a lie, a restart
    /// that found its monitor lacking, a stale manager).
    fn failed_on_purpose_between(&self, a: usize, b: usize) -> bool {
        self.excused_pairs.contains(&(a.min(b), a.max(b)))
    }

    /// What keeps the network from being quiet, if anything.
    fn not_quiet(&self) -> Option<String> {
        // A payment whose HTLC sat on a channel a lie or a restart failed on purpose
        // resolves on chain, which is not simulated: it may stay pending.
        let pending = self
            .payments
            .iter()
            .find(|p| p.outcome == PaymentOutcome::Pending && !self.failed_on_purpose_between(p.source, p.destination));
        if let Some(p) = pending {
            return Some(format!(
                "payment {} from node {} to node {} unresolved",
                p.payment_hash.map(|h| hex(&h)).unwrap_or_default(),
                p.source,
                p.destination
            ));
        }
        if let Some(((from, to), _)) = self.in_flight.iter().find(|(_, count)| **count > 0) {
            return Some(format!("bytes in flight from node {from} to node {to}"));
        }
        for (node, n) in self.nodes.iter().enumerate() {
            if !n.channel_handler().persister().in_progress.is_empty() {
                return Some(format!("node {node} has monitor updates in progress"));
            }
        }
        if self.chain.has_waiting() {
            return Some("transactions wait to be mined".into());
        }
        for &(a, b) in &self.channel_peers {
            if !self.live.contains_key(&(a, b)) && self.has_open_channel(a, b) {
                return Some(format!("nodes {a} and {b} are not connected"));
            }
        }
        for (a, node) in self.nodes.iter().enumerate() {
            let manager = node.channel_handler();
            for id in manager.channel_ids() {
                let Some(channel) = manager.channel(&id) else { continue };
                let name = format!("channel {} of node {a}", hex(&id.0));
                // Closed cooperatively (its closing transaction mined, as nothing waits)
                // is an end; anything else but open is not.
                if channel.phase() == ChannelPhase::Closed
                    || (channel.phase() == ChannelPhase::Failed && self.excused_channels.contains(&id))
                {
                    continue;
                }
                if channel.phase() != ChannelPhase::Normal {
                    return Some(format!("{name} is {:?}", channel.phase()));
                }
                let htlcs = ChannelSnapshot::of(channel).htlcs.len();
                if htlcs > 0 {
                    return Some(format!("{name} holds {htlcs} HTLCs"));
                }
                let peer_has_it = self
                    .nodes
                    .iter()
                    .any(|other| other.node_id() != node.node_id() && other.channel_handler().channel(&id).is_some());
                if !peer_has_it {
                    return Some(format!("{name} is unknown to its peer"));
                }
            }
        }
        None
    }
}
