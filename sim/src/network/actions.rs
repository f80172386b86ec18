//! Carrying out actions, scripted or drawn: each says why it was refused, so a script
//! that asked for it explicitly can fail the run at its line.

use std::collections::BTreeSet;

use lightning::chan::channel::ChannelPhase;
use lightning::chan::manager::outbound::Retry;
use lightning::chan::manager::payments::MIN_FINAL_CLTV_EXPIRY_DELTA;
use lightning::routing::RouteParameters;
use lightning::wire::ChannelId;

use super::{both, hex, json_str, manager_config, Action, Network, Partition, SimEvent, COMPLETION_SPACING_MAX_MS};
use crate::node::restart_from;

impl Network {
    /// Carries out `action`, or says why it was refused (a node down, no channel, the
    /// library said no). Every refusal is also in the trace.
    pub(super) fn act(&mut self, action: Action) -> Result<(), String> {
        let involved: Vec<usize> = match action {
            Action::Connect { from, to }
            | Action::OpenChannel { from, to, .. }
            | Action::Pay { from, to, .. }
            | Action::PayMost { from, to }
            | Action::PayWrong { from, to, .. } => both(from, to),
            Action::Disconnect { a, b } | Action::Close { a, b } => both(a, b),
            // The link's ordering is the network's, whether or not its nodes are up.
            Action::BreakOrdering { .. } | Action::RestoreOrdering { .. } => Vec::new(),
            Action::PauseMonitors { node }
            | Action::ResumeMonitors { node }
            | Action::SaveManager { node }
            | Action::Lie { node, .. } => vec![node],
            Action::Crash { .. }
            | Action::Restart { .. }
            | Action::RestartLosingWrites { .. }
            | Action::FeeRate { .. }
            | Action::Partition { .. }
            | Action::Heal => Vec::new(),
        };
        if let Some(&down) = involved.iter().find(|n| self.crashed.contains(n)) {
            let why = format!("node {down} is down");
            match action {
                Action::Pay { from, to, amount_msat }
                | Action::PayWrong {
                    from, to, amount_msat, ..
                } => self.record_dispatch(from, to, None, amount_msat, Err(why.clone()), true),
                Action::PayMost { from, to } => self.record_dispatch(from, to, None, 0, Err(why.clone()), true),
                _ => {}
            }
            self.log(
                down,
                "skipped",
                format!("\"action\":{}", json_str(&format!("{action:?}"))),
            );
            return Err(why);
        }
        match action {
            Action::Connect { from, to } => self.connect(from, to),
            Action::Disconnect { a, b } => {
                if !self.live.contains_key(&(a, b)) {
                    self.log(a, "disconnect", format!("\"peer\":{b},\"refused\":\"not connected\""));
                    return Err(format!("nodes {a} and {b} are not connected"));
                }
                self.disconnect(a, b);
                self.flush(a);
                self.flush(b);
                Ok(())
            }
            Action::PauseMonitors { node } => {
                self.nodes[node].channel_handler_mut().persister_mut().hold = true;
                self.log(node, "pause_monitors", String::new());
                Ok(())
            }
            Action::ResumeMonitors { node } => {
                self.resume_monitors(node);
                Ok(())
            }
            Action::SaveManager { node } => {
                let bytes = self.nodes[node].channel_handler().encode();
                self.log(node, "save_manager", format!("\"bytes\":{}", bytes.len()));
                self.saved_managers.insert(node, bytes);
                Ok(())
            }
            Action::Crash { node } => self.crash(node),
            Action::FeeRate { feerate_per_kw } => {
                self.fee_estimate_max_per_kw = self.fee_estimate_max_per_kw.max(feerate_per_kw);
                for i in 0..self.nodes.len() {
                    if !self.crashed.contains(&i) {
                        self.nodes[i].channel_handler_mut().feerate_updated(feerate_per_kw);
                    }
                }
                self.log_line("null", "feerate", format!("\"feerate_per_kw\":{feerate_per_kw}"));
                for i in 0..self.nodes.len() {
                    if !self.crashed.contains(&i) {
                        self.flush(i);
                    }
                }
                Ok(())
            }
            Action::Partition { side } => {
                self.partition(side);
                Ok(())
            }
            Action::Heal => {
                let Some(Partition { cut, .. }) = self.partition.take() else {
                    return Err("nothing is partitioned".into());
                };
                self.log_line("null", "heal", format!("\"reconnecting\":{}", cut.len()));
                for (from, to) in cut {
                    if !self.crashed.contains(&from) && !self.crashed.contains(&to) {
                        // Already connected again (a redial) is as good.
                        let _ = self.connect(from, to);
                    }
                }
                // Redials refused while the cut was in force are made now.
                if self.config.redial_ms.is_some() {
                    self.redial_all(None);
                }
                Ok(())
            }
            Action::Close { a, b } => self.close(a, b),
            Action::BreakOrdering { a, b } => {
                self.unordered.extend([(a, b), (b, a)]);
                self.log(a, "break_ordering", format!("\"peer\":{b}"));
                Ok(())
            }
            Action::RestoreOrdering { a, b } => {
                self.unordered.remove(&(a, b));
                self.unordered.remove(&(b, a));
                self.log(a, "restore_ordering", format!("\"peer\":{b}"));
                Ok(())
            }
            Action::Restart { node, stale_manager } => self.restart(node, stale_manager, false),
            Action::RestartLosingWrites { node } => self.restart(node, false, true),
            Action::Lie { node, lie } => {
                self.nodes[node].channel_handler_mut().arm(lie);
                self.log(node, "lie", format!("\"field\":\"{}\"", lie.name()));
                Ok(())
            }
            Action::PayWrong {
                from,
                to,
                amount_msat,
                unknown_hash,
            } => self.pay_wrong(from, to, amount_msat, unknown_hash),
            Action::OpenChannel {
                from,
                to,
                funding_satoshis,
                push_msat,
            } => {
                let peer = self.nodes[to].node_id();
                let result = self.nodes[from]
                    .channel_handler_mut()
                    .open_channel(peer, funding_satoshis, push_msat);
                if result.is_ok() {
                    self.channel_peers.insert((from, to));
                }
                let detail = match &result {
                    Ok(id) => format!("\"to\":{to},\"temporary_channel_id\":\"{}\"", hex(&id.0)),
                    Err(e) => format!("\"to\":{to},\"refused\":{}", json_str(&format!("{e:?}"))),
                };
                self.log(from, "open_channel", detail);
                self.flush(from);
                result.map(drop).map_err(|e| super::payments::refusal_text(&e))
            }
            Action::PayMost { from, to } => {
                let peer = self.nodes[to].node_id();
                let manager = self.nodes[from].channel_handler();
                let most_msat = manager
                    .channel_ids()
                    .iter()
                    .filter(|id| manager.counterparty_of(id) == Some(peer))
                    .filter_map(|id| manager.channel(id)?.max_sendable_msat())
                    .next();
                match most_msat {
                    Some(amount_msat) => self.act(Action::Pay { from, to, amount_msat }),
                    None => {
                        let why = "no channel can send anything now".to_string();
                        self.record_dispatch(from, to, None, 0, Err(why.clone()), false);
                        self.log(
                            from,
                            "pay",
                            format!("\"to\":{to},\"most\":true,\"refused\":{}", json_str(&why)),
                        );
                        Err(why)
                    }
                }
            }
            Action::Pay { from, to, amount_msat } => {
                let payee = self.nodes[to].node_id();
                let (hash, secret) = self.nodes[to]
                    .channel_handler_mut()
                    .create_inbound_payment(Some(amount_msat));
                // A channel peer is paid directly (over the first of its channels that
                // takes it); anyone else over a route.
                let manager = self.nodes[from].channel_handler_mut();
                let is_peer = manager
                    .channel_ids()
                    .iter()
                    .any(|id| manager.counterparty_of(id) == Some(payee));
                let result = if is_peer {
                    manager.send_payment(payee, hash, secret, amount_msat, MIN_FINAL_CLTV_EXPIRY_DELTA)
                } else {
                    let params = RouteParameters::new(payee, amount_msat, MIN_FINAL_CLTV_EXPIRY_DELTA);
                    manager.send_payment_with_router(&self.router, params, hash, secret, Retry::default())
                }
                .map_err(|e| super::payments::refusal_text(&e));
                let mut detail = format!(
                    "\"to\":{to},\"amount_msat\":{amount_msat},\"hash\":\"{}\"",
                    hex(&hash.0)
                );
                self.record_dispatch(from, to, Some(hash.0), amount_msat, result.clone(), false);
                if let Err(why) = &result {
                    detail.push_str(&format!(",\"refused\":{}", json_str(why)));
                }
                self.log(from, "pay", detail);
                self.flush(from);
                result
            }
        }
    }

    fn close(&mut self, a: usize, b: usize) -> Result<(), String> {
        let peer = self.nodes[b].node_id();
        let manager = self.nodes[a].channel_handler_mut();
        let open = manager.channel_ids().into_iter().find(|id| {
            manager
                .channel(id)
                .is_some_and(|c| c.phase() == ChannelPhase::Normal && manager.counterparty_of(id) == Some(peer))
        });
        let result = match open.map(|id| (id, manager.close_channel(&id))) {
            Some((id, Ok(()))) => Ok(id),
            Some((_, Err(e))) => Err(super::payments::refusal_text(&e)),
            None => Err("no open channel".to_string()),
        };
        let detail = match &result {
            Ok(id) => format!("\"peer\":{b},\"channel\":\"{}\"", hex(&id.0)),
            Err(why) => format!("\"peer\":{b},\"refused\":{}", json_str(why)),
        };
        self.log(a, "close", detail);
        self.flush(a);
        result.map(drop)
    }

    fn partition(&mut self, side: Vec<usize>) {
        let side: BTreeSet<usize> = side.into_iter().collect();
        let crossing: Vec<(usize, usize)> = self
            .live
            .keys()
            .filter(|(a, b)| a < b && side.contains(a) != side.contains(b))
            .copied()
            .collect();
        for (a, b) in &crossing {
            self.disconnect(*a, *b);
        }
        self.log_line(
            "null",
            "partition",
            format!(
                "\"side\":[{}],\"cut\":{}",
                side.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(","),
                crossing.len()
            ),
        );
        for (a, b) in &crossing {
            self.flush(*a);
            self.flush(*b);
        }
        self.partition = Some(Partition { side, cut: crossing });
    }

    /// New updates complete at once again; the held ones complete one by one, each its
    /// own event a few milliseconds apart, in an order the fault stream picks: update
    /// N+1 may be durable while N is still pending, and the node sends in between.
    pub(super) fn resume_monitors(&mut self, node: usize) {
        let persister = self.nodes[node].channel_handler_mut().persister_mut();
        persister.hold = false;
        let held = persister.in_progress.len();
        let mut delay_ms = 0;
        for _ in 0..held {
            delay_ms += 1 + self.faults_rng.below(COMPLETION_SPACING_MAX_MS);
            self.queue.schedule_in(delay_ms, SimEvent::CompleteOneUpdate { node });
        }
        self.log(node, "resume_monitors", format!("\"held\":{held}"));
        self.flush(node);
    }

    /// One held update of `node`'s, picked by the fault stream, completes and its manager
    /// is told. Nothing if the node crashed (its held updates died with it) or none is
    /// held any more.
    pub(super) fn complete_one_update(&mut self, node: usize) {
        if self.crashed.contains(&node) {
            return;
        }
        let held = self.nodes[node].channel_handler().persister().in_progress.len();
        if held == 0 {
            return;
        }
        let index = self.faults_rng.below(held as u64) as usize;
        let manager = self.nodes[node].channel_handler_mut();
        let Some((channel_id, update_id)) = manager.persister_mut().complete_at(index) else {
            return;
        };
        manager.monitor_update_completed(&channel_id, update_id);
        self.log(
            node,
            "update_completed",
            format!("\"channel\":\"{}\",\"update_id\":{update_id}", hex(&channel_id.0)),
        );
        self.flush(node);
    }

    pub(super) fn crash(&mut self, node: usize) -> Result<(), String> {
        if !self.crashed.insert(node) {
            return Err(format!("node {node} is down already"));
        }
        let peers: Vec<usize> = self.live.keys().filter(|(a, _)| *a == node).map(|(_, b)| *b).collect();
        for peer in peers {
            self.disconnect(node, peer);
            self.flush(peer);
        }
        self.crash_managers
            .insert(node, self.nodes[node].channel_handler().encode());
        self.log(node, "crash", String::new());
        Ok(())
    }

    pub(super) fn restart(&mut self, node: usize, stale_manager: bool, losing_writes: bool) -> Result<(), String> {
        if !self.crashed.contains(&node) {
            self.log(node, "restart", "\"refused\":\"running\"".to_string());
            return Err(format!("node {node} is running"));
        }
        let at_crash = self.crash_managers.get(&node).cloned().unwrap_or_default();
        let bytes = match (stale_manager, self.saved_managers.get(&node)) {
            (true, Some(saved)) => saved.clone(),
            _ => at_crash,
        };
        // Only what completed is on disk; held updates died with the process. Storage that
        // loses writes comes back as it was at the node's previous start.
        let monitors = if losing_writes {
            self.monitors_at_start[node].clone()
        } else {
            self.nodes[node].channel_handler().persister().monitors.clone()
        };
        let channels_before = self.nodes[node].channel_handler().channel_ids();
        let session_seed = self.node_rngs[node].bytes32();
        let config = manager_config(&self.config, node);
        match restart_from(&bytes, self.keys_seeds[node], session_seed, &monitors, config, true) {
            Ok((restarted, mismatches)) => {
                self.nodes[node] = restarted;
                self.monitors_at_start[node] = monitors;
                // A channel dropped for its monitor, or any of a stale manager's, may
                // close at either end.
                let mut excused: Vec<ChannelId> = mismatches.iter().map(|(id, _)| *id).collect();
                if stale_manager {
                    excused.extend(channels_before);
                }
                for id in excused {
                    if let Some(peer) = (0..self.nodes.len())
                        .find(|&j| j != node && self.nodes[j].channel_handler().channel(&id).is_some())
                    {
                        self.excuse(id, node, peer);
                    }
                }
                self.crashed.remove(&node);
                self.broadcasts_taken[node] = 0;
                let height = self.chain.height;
                let manager = self.nodes[node].channel_handler_mut();
                for (tx, mined_at, index) in &self.chain.mined {
                    manager.transaction_confirmed_in_block(tx, *mined_at, *index);
                }
                manager.best_block_updated(height);
                self.log(
                    node,
                    "restart",
                    format!(
                        "\"stale_manager\":{stale_manager},\"losing_writes\":{losing_writes},\"mismatched_channels\":{}",
                        mismatches.len()
                    ),
                );
                // What arrived before the crash and was not claimed yet is claimed now,
                // as a wallet would on start (the event was taken before the crash).
                let waiting = self.nodes[node].channel_handler().claimable_payments();
                for (payment_hash, _) in waiting {
                    self.claimable(node, payment_hash);
                }
                self.flush(node);
                if self.config.redial_ms.is_some() {
                    self.redial_all(Some(node));
                }
                Ok(())
            }
            Err(e) => {
                let why = format!("{e:?}");
                self.log(node, "restart", format!("\"refused\":{}", json_str(&why)));
                Err(why)
            }
        }
    }
}
