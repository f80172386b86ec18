//! What the network holds its nodes to when peers lie, storage loses writes and payers
//! pay wrongly: a lie read must fail its channel or connection, a payment the payee must
//! reject is never claimed, and a channel closes only for a reason a script or fault
//! gives (a cooperative close, a lie, a restart that found its monitor lacking, a stale
//! manager).

use lightning::bitcoin::hashes::{sha256, Hash};
use lightning::chan::manager::payments::MIN_FINAL_CLTV_EXPIRY_DELTA;
use lightning::wire::{ChannelId, PaymentHash};

use super::{hex, Network, SimEvent};
use crate::lies::{accepted_lie, Told};

/// The reason the library gives a close both ends agreed.
const COOPERATIVE_CLOSE_REASON: &str = "closed cooperatively";

impl Network {
    /// Channel `channel_id` between `a` and `b` may close: a lie or a restart explains it.
    pub(super) fn excuse(&mut self, channel_id: ChannelId, a: usize, b: usize) {
        self.excused_channels.insert(channel_id);
        self.excused_pairs.insert((a.min(b), a.max(b)));
    }

    /// Node `receiver` read `told` (and dropped the connection if `dropped`): it must
    /// have failed each lie's channel or the connection.
    pub(super) fn judge_lies(&mut self, receiver: usize, told: &[Told], dropped: bool) {
        for lie in told {
            let accepted = accepted_lie(self.nodes[receiver].channel_handler(), lie, dropped);
            if let (Some(why), None) = (accepted, &self.broken_while_handling) {
                self.broken_while_handling = Some(format!("node {receiver} {why}"));
            }
        }
    }

    /// A payment `to` must reject: see [`super::Action::PayWrong`].
    pub(super) fn pay_wrong(
        &mut self,
        from: usize,
        to: usize,
        amount_msat: u64,
        unknown_hash: bool,
    ) -> Result<(), String> {
        let (hash, secret) = if unknown_hash {
            let mut preimage = [0u8; 32];
            preimage[..8].copy_from_slice(&(self.payments.len() as u64).to_be_bytes());
            preimage[8..16].copy_from_slice(&self.config.seed.to_be_bytes());
            (PaymentHash(sha256::Hash::hash(&preimage).to_byte_array()), [1; 32])
        } else {
            self.nodes[to]
                .channel_handler_mut()
                .create_inbound_payment(Some(amount_msat))
        };
        self.must_reject.insert(hash);
        let payee = self.nodes[to].node_id();
        let result = self.nodes[from]
            .channel_handler_mut()
            .send_payment(
                payee,
                hash,
                secret,
                amount_msat.saturating_sub(1).max(1),
                MIN_FINAL_CLTV_EXPIRY_DELTA,
            )
            .map_err(|e| super::payments::refusal_text(&e));
        // Made to be rejected: it can never go through.
        self.record_dispatch(from, to, Some(hash.0), amount_msat, result.clone(), true);
        self.log(
            from,
            "pay_wrong",
            format!(
                "\"to\":{to},\"amount_msat\":{amount_msat},\"unknown_hash\":{unknown_hash},\"hash\":\"{}\",\"ok\":{}",
                hex(&hash.0),
                result.is_ok()
            ),
        );
        self.flush(from);
        result
    }

    /// Node `node` finds `payment_hash` claimable: it claims at once, or after a hold
    /// if the scenario has payees hold HTLCs. Claimable at all is a violation for a
    /// payment it must reject.
    pub(super) fn claimable(&mut self, node: usize, payment_hash: PaymentHash) {
        if self.must_reject.contains(&payment_hash) && self.broken_while_handling.is_none() {
            self.broken_while_handling = Some(format!(
                "node {node} took payment {} as claimable, which pays less than its invoice or a hash it never made",
                hex(&payment_hash.0)
            ));
        }
        let hold_ms = self.config.payee_hold_ms.map(|(min_ms, max_ms)| {
            // From the payment itself, not a stream: the same hold when a shrunk script
            // replays the payment without the generators.
            let mut bytes = payment_hash.0.to_vec();
            bytes.extend_from_slice(&self.config.seed.to_be_bytes());
            let draw = u64::from_be_bytes(
                sha256::Hash::hash(&bytes).to_byte_array()[..8]
                    .try_into()
                    .expect("8 bytes"),
            );
            min_ms + draw % (max_ms - min_ms + 1)
        });
        match hold_ms {
            Some(hold_ms) if hold_ms > 0 => {
                self.log(
                    node,
                    "claimable",
                    format!("\"hash\":\"{}\",\"held_ms\":{hold_ms}", hex(&payment_hash.0)),
                );
                self.queue.schedule_in(hold_ms, SimEvent::Claim { node, payment_hash });
            }
            _ => self.claim(node, payment_hash),
        }
    }

    /// Node `node` claims `payment_hash` if it still can (a node restarted since finds
    /// the payment claimable again and claims then).
    pub(super) fn claim(&mut self, node: usize, payment_hash: PaymentHash) {
        if self.crashed.contains(&node) {
            return;
        }
        let claimed = self.nodes[node]
            .channel_handler()
            .payment_preimage(&payment_hash)
            .map(|preimage| self.nodes[node].channel_handler_mut().claim_payment(preimage).is_ok());
        self.log(
            node,
            "claim",
            format!(
                "\"hash\":\"{}\",\"claimed\":{}",
                hex(&payment_hash.0),
                claimed == Some(true)
            ),
        );
        self.flush(node);
    }

    /// Node `node` closed `channel_id`: a violation unless cooperative or excused.
    pub(super) fn channel_closed(&mut self, node: usize, channel_id: ChannelId, reason: &str) {
        self.log(
            node,
            "channel_closed",
            format!(
                "\"channel\":\"{}\",\"reason\":{}",
                hex(&channel_id.0),
                super::json_str(reason)
            ),
        );
        let explained = reason == COOPERATIVE_CLOSE_REASON || self.excused_channels.contains(&channel_id);
        if !explained && self.broken_while_handling.is_none() {
            self.broken_while_handling = Some(format!(
                "channel {} closed at node {node} with no script or fault to explain it: {reason}",
                hex(&channel_id.0)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::network::PaymentOutcome;
    use crate::scenario::Scenario;

    /// Two nodes, a channel with funds both ways, payments after `extra` (script lines).
    fn run(extra: &str) -> crate::scenario::RunOutcome {
        let text = format!(
            "nodes 2\nswarm off\nblock_interval 1min\nchannel 0 -> 1 capacity=1000000sat push=300000sat\n{extra}\n\
             at 250s pay 0 -> 1 20000sat maybe_refused\nat 252s pay 1 -> 0 10000sat maybe_refused\n\
             at 254s feerate 2000sat/kw\nrun 5min\n"
        );
        let scenario = Scenario::parse("adversary.scn", &text).expect("valid");
        scenario.run(1).expect("valid links")
    }

    fn trace_has(outcome: &crate::scenario::RunOutcome, what: &str) -> bool {
        outcome.network.trace().iter().any(|l| l.contains(what))
    }

    /// Each lie, by the node whose messages carry it, is refused: its channel closes at
    /// both ends, which the lie explains, and the run ends clean.
    #[test]
    fn every_lie_is_refused_and_its_close_explained() {
        for lie in crate::lies::Lie::ALL {
            // Node 1 is the payee of the first payment (it fulfills); node 0 funds (it
            // updates the fee) and adds first.
            let liar = if matches!(lie, crate::lies::Lie::Preimage) {
                1
            } else {
                0
            };
            let outcome = run(&format!("at 249s lie {liar} {}", lie.name()));
            if let Some(v) = &outcome.violation {
                panic!("{lie:?}: {v}");
            }
            assert!(trace_has(&outcome, "\"what\":\"channel_closed\""), "{lie:?} never told");
        }
    }

    /// Storage that lost the writes since the node's start is noticed at restart: the
    /// channel is closed, not run on, and nothing else breaks.
    #[test]
    fn a_restart_losing_writes_is_noticed() {
        let outcome = run("at 256s crash 1\nat 257s restart 1 lost_writes");
        if let Some(v) = &outcome.violation {
            panic!("{v}");
        }
        assert!(
            outcome
                .network
                .trace()
                .iter()
                .any(|l| l.contains("\"losing_writes\":true,\"mismatched_channels\":1")),
            "the restart found the channel's monitor lacking"
        );
    }

    /// An underpayment and a payment to an unknown hash both fail back, neither claimed.
    #[test]
    fn payments_the_payee_must_reject_fail() {
        let outcome = run("at 245s pay 0 -> 1 5000sat underpaid\nat 246s pay 0 -> 1 5000sat unknown_hash");
        if let Some(v) = &outcome.violation {
            panic!("{v}");
        }
        let failed = outcome
            .network
            .payments()
            .iter()
            .filter(|p| p.outcome == PaymentOutcome::Failed)
            .count();
        assert_eq!(failed, 2);
    }

    /// A payee holding HTLCs claims them after the hold: the payer learns no sooner.
    #[test]
    fn a_held_payment_is_claimed_after_its_hold() {
        let outcome = run("payee_hold 3s");
        if let Some(v) = &outcome.violation {
            panic!("{v}");
        }
        let first = &outcome.network.payments()[0];
        assert_eq!(first.outcome, PaymentOutcome::Sent);
        let latency_ms = first.resolved.expect("sent").as_ms() - first.dispatched.as_ms();
        assert!(latency_ms >= 3_000, "resolved after {latency_ms} ms");
    }

    /// A payment of the most the funder can send drains it to its reserve and the fee,
    /// and goes through.
    #[test]
    fn the_most_a_channel_can_send_goes_through() {
        let outcome = run("at 249s pay 0 -> 1 most");
        if let Some(v) = &outcome.violation {
            panic!("{v}");
        }
        let most = &outcome.network.payments()[0];
        assert_eq!(most.outcome, PaymentOutcome::Sent);
        // 700,000 sat less the 1% reserve and the commitment fee with one HTLC.
        assert!(
            (685_000_000..690_000_000).contains(&most.amount_msat),
            "{}",
            most.amount_msat
        );
    }
}
