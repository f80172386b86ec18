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
                if let Some(unbalanced) = self.unbalanced_books() {
                    return Err(unbalanced);
                }
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
            if self.payments[i].outcome == PaymentOutcome::Pending && self.stuck_on_purpose(&self.payments[i]) {
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

    /// Whether a pending payment waits on a channel failed on purpose: between its
    /// payer and payee, or on a hop of a part its payer still has in flight.
    fn stuck_on_purpose(&self, payment: &super::PaymentRecord) -> bool {
        if self.failed_on_purpose_between(payment.source, payment.destination) {
            return true;
        }
        let Some(hash) = payment.payment_hash else {
            return false;
        };
        let manager = self.nodes[payment.source].channel_handler();
        manager
            .payment_paths(&lightning::wire::PaymentHash(hash))
            .iter()
            .any(|path| {
                self.path_nodes(payment.source, path)
                    .windows(2)
                    .any(|pair| self.failed_on_purpose_between(pair[0], pair[1]))
            })
    }

    /// What keeps the network from being quiet, if anything.
    fn not_quiet(&self) -> Option<String> {
        // A payment whose HTLC sat on a channel a lie or a restart failed on purpose
        // resolves on chain, which is not simulated: it may stay pending.
        let pending = self
            .payments
            .iter()
            .find(|p| p.outcome == PaymentOutcome::Pending && !self.stuck_on_purpose(p));
        if let Some(p) = pending {
            return Some(format!(
                "payment {} from node {} to node {} unresolved",
                p.payment_hash.map(|h| hex(&h)).unwrap_or_default(),
                p.source,
                p.destination
            ));
        }
        // HTLCs of payments stuck on purpose wait for the chain along their whole path:
        // a forwarder may fail its incoming HTLC only once its outgoing one is resolved,
        // which only the chain can do now.
        let stuck: std::collections::BTreeSet<lightning::wire::PaymentHash> = self
            .payments
            .iter()
            .filter(|p| p.outcome == PaymentOutcome::Pending)
            .filter_map(|p| p.payment_hash.map(lightning::wire::PaymentHash))
            .collect();
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
                let mut htlcs = ChannelSnapshot::of(channel).htlcs;
                htlcs.retain(|_, htlc| !stuck.contains(&htlc.payment_hash));
                if let Some(((offerer, htlc_id), htlc)) = htlcs.iter().next() {
                    let peer = self
                        .nodes
                        .iter()
                        .position(|n| Some(n.node_id()) == manager.counterparty_of(&id))
                        .map_or("?".to_string(), |p| p.to_string());
                    return Some(format!(
                        "{name} (with node {peer}) holds {} HTLCs; the first offered by {offerer:?}, id {htlc_id}: \
                         {htlc:?}",
                        htlcs.len()
                    ));
                }
                let peer_has_it = self
                    .nodes
                    .iter()
                    .any(|other| other.node_id() != node.node_id() && other.channel_handler().channel(&id).is_some());
                if !peer_has_it {
                    return Some(format!("{name} is unknown to its peer"));
                }
            }
            // Every forward resolved on both of its channels: none may outlive them.
            if let Some(pair) = manager.forwards().find(|p| {
                manager.channel(&p.incoming.htlc.channel_id).is_some()
                    && !self.excused_channels.contains(&p.incoming.htlc.channel_id)
                    && !stuck.contains(&p.incoming.payment_hash)
            }) {
                return Some(format!("node {a} still holds a forward: {:?}", pair.stage()));
            }
        }
        None
    }
}
