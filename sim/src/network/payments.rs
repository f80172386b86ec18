//! The run's payments: a tally, one record each (dispatch, resolution, outcome), and
//! the CSV `lnsim run --payments` writes.

use super::{hex, Network};
use crate::clock::SimTime;

/// How the payments went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PaymentTally {
    /// Payments handed to a payer.
    pub dispatched: u64,
    /// Refused by the payer at once (no usable channel, not enough balance).
    pub refused: u64,
    /// Of those refused, the ones between nodes whose channel a lie or a restart had
    /// failed on purpose: expectations leave them out (the fault, not the library, made
    /// them impossible).
    pub refused_channel_failed: u64,
    /// Completed: the payer learned the preimage.
    pub sent: u64,
    /// Failed back to the payer.
    pub failed: u64,
    /// Left on a channel a lie or a restart failed on purpose: only the chain can
    /// resolve them, which is not simulated (counted when the run goes quiet).
    pub on_chain: u64,
    /// Payments that could never go through, whatever the library did: refused because
    /// a fault failed their channel or downed a node, made for the payee to reject, or
    /// left to the chain. Expectations' percentages leave them out.
    pub impossible: u64,
}

/// How a payment ended, so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// Still in flight.
    Pending,
    /// The payer refused it at once.
    Refused,
    /// The payer learned the preimage.
    Sent,
    /// Failed back to the payer.
    Failed,
    /// Left on a channel failed on purpose, for the chain to resolve.
    OnChain,
}

/// One payment of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentRecord {
    /// The payer.
    pub source: usize,
    /// The payee.
    pub destination: usize,
    /// Its hash (none if it was refused before an invoice was made: a node down, nothing
    /// to send).
    pub payment_hash: Option<[u8; 32]>,
    /// Its amount.
    pub amount_msat: u64,
    /// When the payer was told to pay.
    pub dispatched: SimTime,
    /// When the payer learned the outcome (sent or failed).
    pub resolved: Option<SimTime>,
    /// How it ended.
    pub outcome: PaymentOutcome,
    /// Why, for what did not go through: the payer's refusal, the failure code that
    /// came back, why it was left to the chain.
    pub reason: String,
    /// Whether it could go through at all (see [`PaymentTally::impossible`]).
    pub possible: bool,
    /// The nodes each part went through, payer first (several paths for a multi-part
    /// payment): of the parts fulfilled once sent, of the last part tried once failed.
    pub paths: Vec<Vec<usize>>,
    /// What the payer paid in forwarding fees, once sent.
    pub fee_msat: Option<u64>,
}

impl PaymentOutcome {
    /// Its name in the CSV and summaries.
    pub fn name(self) -> &'static str {
        match self {
            PaymentOutcome::Pending => "pending",
            PaymentOutcome::Refused => "refused",
            PaymentOutcome::Sent => "sent",
            PaymentOutcome::Failed => "failed",
            PaymentOutcome::OnChain => "on_chain",
        }
    }
}

/// A user command's refusal as a reason: the channel's own words, or the error's name.
pub(super) fn refusal_text(error: &lightning::chan::manager::ApiError) -> String {
    match error {
        lightning::chan::manager::ApiError::Channel(why) => why.cause().to_string(),
        lightning::chan::manager::ApiError::Route(why) => why.to_string(),
        other => format!("{other:?}"),
    }
}

/// A BOLT 4 failure code as a reason: its name where the library makes it, and the code.
pub(super) fn failure_text(code: Option<u16>) -> String {
    use lightning::onion::errors::*;
    let Some(code) = code else {
        return "failed back without a code".to_string();
    };
    let name = match code {
        TEMPORARY_NODE_FAILURE => "temporary_node_failure",
        PERMANENT_NODE_FAILURE => "permanent_node_failure",
        INVALID_ONION_VERSION => "invalid_onion_version",
        INVALID_ONION_HMAC => "invalid_onion_hmac",
        INVALID_ONION_KEY => "invalid_onion_key",
        TEMPORARY_CHANNEL_FAILURE => "temporary_channel_failure",
        UNKNOWN_NEXT_PEER => "unknown_next_peer",
        INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS => "incorrect_or_unknown_payment_details",
        FINAL_INCORRECT_CLTV_EXPIRY => "final_incorrect_cltv_expiry",
        FINAL_INCORRECT_HTLC_AMOUNT => "final_incorrect_htlc_amount",
        INVALID_ONION_PAYLOAD => "invalid_onion_payload",
        MPP_TIMEOUT => "mpp_timeout",
        _ => "failure code",
    };
    format!("{name} ({code:#06x})")
}

/// `text` as one CSV field: quoted when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

impl Network {
    /// How the payments went so far.
    pub fn tally(&self) -> PaymentTally {
        self.tally
    }

    /// Every payment dispatched, in dispatch order.
    pub fn payments(&self) -> &[PaymentRecord] {
        &self.payments
    }

    /// The payments as CSV, one row for every payment dispatched (refused ones too):
    /// source, destination, hash (empty if none was made), amount, dispatch time,
    /// latency (empty until resolved), outcome, the reason for what did not go through,
    /// the path (nodes joined by `>`, parts by `|`), the hop count (of the longest
    /// part) and the fee paid.
    pub fn payments_csv(&self) -> String {
        let mut out = String::from(
            "source,destination,payment_hash,amount_msat,dispatched_ms,latency_ms,outcome,reason,path,hops,fee_msat\n",
        );
        for p in &self.payments {
            let latency = p
                .resolved
                .map(|r| (r.as_ms() - p.dispatched.as_ms()).to_string())
                .unwrap_or_default();
            let path = p
                .paths
                .iter()
                .map(|nodes| nodes.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(">"))
                .collect::<Vec<_>>()
                .join("|");
            let hops = p
                .paths
                .iter()
                .map(|nodes| nodes.len().saturating_sub(1))
                .max()
                .map(|h| h.to_string())
                .unwrap_or_default();
            out.push_str(&format!(
                "{},{},{},{},{},{latency},{},{},{path},{hops},{}\n",
                p.source,
                p.destination,
                p.payment_hash.map(|h| hex(&h)).unwrap_or_default(),
                p.amount_msat,
                p.dispatched.as_ms(),
                p.outcome.name(),
                csv_field(&p.reason),
                p.fee_msat.map(|f| f.to_string()).unwrap_or_default(),
            ));
        }
        out
    }

    /// Records a payment just dispatched (and counts it): pending if its payer took it,
    /// refused with the reason if not. `impossible`: the caller knows it cannot go
    /// through (its node is down, its payee must reject it).
    pub(super) fn record_dispatch(
        &mut self,
        source: usize,
        destination: usize,
        payment_hash: Option<[u8; 32]>,
        amount_msat: u64,
        taken: Result<(), String>,
        impossible: bool,
    ) {
        self.tally.dispatched += 1;
        let (outcome, reason) = match &taken {
            Ok(()) => (PaymentOutcome::Pending, String::new()),
            Err(why) => (PaymentOutcome::Refused, why.clone()),
        };
        let mut possible = !impossible;
        if taken.is_err() {
            self.tally.refused += 1;
            if self
                .excused_pairs
                .contains(&(source.min(destination), source.max(destination)))
            {
                self.tally.refused_channel_failed += 1;
                possible = false;
            }
        }
        if !possible {
            self.tally.impossible += 1;
        }
        self.payments.push(PaymentRecord {
            source,
            destination,
            payment_hash,
            amount_msat,
            dispatched: self.queue.now(),
            resolved: None,
            outcome,
            reason,
            possible,
            paths: Vec::new(),
            fee_msat: None,
        });
    }

    /// The payment `payment_hash` of `payer` went over `paths` (as node indexes), for
    /// `fee_msat` if it was sent.
    pub(super) fn record_paths(
        &mut self,
        payer: usize,
        payment_hash: [u8; 32],
        paths: Vec<Vec<usize>>,
        fee_msat: Option<u64>,
    ) {
        if let Some(record) = self
            .payments
            .iter_mut()
            .rev()
            .find(|p| p.source == payer && p.payment_hash == Some(payment_hash))
        {
            record.paths = paths;
            record.fee_msat = fee_msat;
        }
    }

    /// The payee of the payment with `payment_hash`, if the network dispatched it.
    pub(super) fn payee_of(&self, payment_hash: [u8; 32]) -> Option<usize> {
        self.payments
            .iter()
            .find(|p| p.payment_hash == Some(payment_hash))
            .map(|p| p.destination)
    }

    /// The pending payment of `payer` with `payment_hash` ended: `outcome`, for `reason`.
    pub(super) fn resolve_payment(
        &mut self,
        payer: usize,
        payment_hash: [u8; 32],
        outcome: PaymentOutcome,
        reason: String,
    ) {
        let now = self.queue.now();
        if let Some(record) =
            self.payments.iter_mut().rev().find(|p| {
                p.source == payer && p.payment_hash == Some(payment_hash) && p.outcome == PaymentOutcome::Pending
            })
        {
            record.outcome = outcome;
            record.resolved = Some(now);
            record.reason = reason;
        }
    }
}
