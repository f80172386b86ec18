//! What the cases share: paying across the pair and reading outcomes.

use interop::harness::{Pair, Side};
use ldk::events::Event as LdkEvent;
use ldk::ln::channelmanager::{PaymentId, RecipientOnionFields, Retry};
use ldk::routing::router::{PaymentParameters, RouteParameters};
use lightning::chan::manager::payments::MIN_FINAL_CLTV_EXPIRY_DELTA;
use lightning::events::Event;
use lightning::wire::PaymentHash;

/// A payment one node makes to the other, as the payee's invoice asks.
pub struct Payment {
    pub hash: [u8; 32],
}

/// `payer` pays `amount_msat` to the other node, which created the invoice with its
/// defaults. Nothing is delivered yet.
pub fn start_payment(pair: &mut Pair, payer: Side, amount_msat: u64) -> Result<Payment, String> {
    match payer {
        Side::Ours => {
            // LDK's invoice: its default min_final_cltv_expiry_delta.
            let (hash, secret) = pair
                .ldk
                .manager
                .create_inbound_payment(Some(amount_msat), 3600, None)
                .expect("LDK makes an invoice");
            let ldk_id = pair.ldk.node_id();
            let payee_delta = u32::from(ldk::ln::channelmanager::MIN_FINAL_CLTV_EXPIRY_DELTA);
            pair.ours
                .manager_mut()
                .send_payment(ldk_id, PaymentHash(hash.0), secret.0, amount_msat, payee_delta)
                .map_err(|e| format!("{e:?}"))?;
            pair.process();
            Ok(Payment { hash: hash.0 })
        }
        Side::Ldk => {
            let (hash, secret) = pair.ours.manager_mut().create_inbound_payment(Some(amount_msat));
            let our_id = pair.node_id(Side::Ours);
            let params = RouteParameters::from_payment_params_and_value(
                PaymentParameters::from_node_id(our_id, MIN_FINAL_CLTV_EXPIRY_DELTA),
                amount_msat,
            );
            pair.ldk
                .manager
                .send_payment(
                    ldk::types::payment::PaymentHash(hash.0),
                    RecipientOnionFields::secret_only(ldk::types::payment::PaymentSecret(secret)),
                    PaymentId(hash.0),
                    params,
                    Retry::Attempts(0),
                )
                .map_err(|e| format!("{e:?}"))?;
            pair.process();
            Ok(Payment { hash: hash.0 })
        }
    }
}

/// How a payment ended, as its payer saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Failed,
    Pending,
}

/// The payer's view of `payment`.
pub fn outcome(pair: &Pair, payer: Side, payment: &Payment) -> Outcome {
    match payer {
        Side::Ours => {
            for event in &pair.ours.events {
                match event {
                    Event::PaymentSent { payment_hash, .. } if payment_hash.0 == payment.hash => return Outcome::Sent,
                    Event::PaymentFailed { payment_hash, .. } if payment_hash.0 == payment.hash => {
                        return Outcome::Failed
                    }
                    _ => {}
                }
            }
            Outcome::Pending
        }
        Side::Ldk => {
            for event in &pair.ldk.events {
                match event {
                    LdkEvent::PaymentSent { payment_hash, .. } if payment_hash.0 == payment.hash => {
                        return Outcome::Sent
                    }
                    LdkEvent::PaymentFailed { payment_hash, .. }
                        if *payment_hash == Some(ldk::types::payment::PaymentHash(payment.hash)) =>
                    {
                        return Outcome::Failed
                    }
                    _ => {}
                }
            }
            Outcome::Pending
        }
    }
}

/// `payer` pays `amount_msat` and everything is delivered: the payment must succeed.
pub fn pay(pair: &mut Pair, payer: Side, amount_msat: u64) {
    let payment = start_payment(pair, payer, amount_msat).expect("sent");
    pair.deliver_all();
    assert_eq!(
        outcome(pair, payer, &payment),
        Outcome::Sent,
        "{payer:?} pays {amount_msat} msat"
    );
}

/// Every channel closing event either node raised, as text.
pub fn closures(pair: &Pair) -> Vec<String> {
    let mut closed: Vec<String> = pair
        .ours
        .events
        .iter()
        .filter_map(|e| match e {
            Event::ChannelClosed { reason, .. } => Some(format!("ours: {reason}")),
            _ => None,
        })
        .collect();
    closed.extend(pair.ldk.events.iter().filter_map(|e| match e {
        LdkEvent::ChannelClosed { reason, .. } => Some(format!("LDK: {reason}")),
        _ => None,
    }));
    closed
}
