//! Payments we send: over a route (one path, or several parts of one multi-part
//! payment), with an onion per path; retried over another route when a part fails, as
//! long as attempts and blocks allow; reported once no part is in flight.

use alloc::collections::BTreeMap;
use alloc::string::ToString;
use alloc::vec::Vec;

use bitcoin::secp256k1::{PublicKey, SecretKey};

use super::{ApiError, ChannelManager, HtlcRef};
use crate::chain::{Broadcaster, Persist};
use crate::chan::channel::{ChannelError, ChannelPhase};
use crate::chan::ledger::Side;
use crate::events::{Event, PaymentFailureReason};
use crate::onion::errors::{decode_failure_packet, MPP_TIMEOUT};
use crate::onion::{construct_onion_packet, HopPayload, OnionHop};
use crate::routing::{FirstHop, Path, Route, RouteHop, RouteParameters, Router};
use crate::sign::{EntropySource, NodeSigner, SignerProvider};
use crate::wire::{ChannelId, Encode, Message, PaymentHash, PaymentPreimage, ShortChannelId};

use super::payments::FINAL_CLTV_TRANSIT_BLOCKS;
use super::resolution::OutgoingFailure;

/// How long a payment keeps trying after a part fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    /// Routes tried in all, the first included (1: never retry).
    pub attempts: u32,
    /// Blocks after the first attempt within which a retry may start.
    pub blocks: u32,
}

impl Retry {
    /// No retry: the first route is the only one.
    pub const NEVER: Retry = Retry { attempts: 1, blocks: 0 };
}

impl Default for Retry {
    /// Five routes within 36 blocks (six hours).
    fn default() -> Self {
        Retry {
            attempts: 5,
            blocks: 36,
        }
    }
}

/// One HTLC of a payment we sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OutboundPart {
    pub payment_hash: PaymentHash,
    pub path: Path,
    /// Each hop's onion shared secret, to read an error onion.
    pub shared_secrets: Vec<[u8; 32]>,
}

/// A payment we sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OutboundPayment {
    pub payee: PublicKey,
    pub payment_secret: [u8; 32],
    /// Every part together.
    pub total_msat: u64,
    pub final_cltv_expiry_delta: u32,
    pub max_path_count: u8,
    pub max_total_cltv_expiry_delta: u32,
    pub retry: Retry,
    /// Routes tried so far.
    pub attempts: u32,
    /// The height of the first attempt.
    pub first_attempt_height: u32,
    /// What failed parts left to pay, waiting for a retry.
    pub to_retry_msat: u64,
    /// Channels that failed it.
    pub avoid: Vec<ShortChannelId>,
    /// Parts fulfilled, and the preimage once one was.
    pub fulfilled: Vec<Path>,
    pub preimage: Option<PaymentPreimage>,
    pub last_failure_code: Option<u16>,
    /// Set once the payment may no longer be retried.
    pub failed: Option<PaymentFailureReason>,
}

impl OutboundPayment {
    fn may_retry(&self, best_height: u32) -> bool {
        self.failed.is_none()
            && self.preimage.is_none()
            && self.attempts < self.retry.attempts
            && best_height <= self.first_attempt_height.saturating_add(self.retry.blocks)
    }
}

/// Every payment we sent that is not yet reported, and its HTLCs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct OutboundPayments {
    pub payments: BTreeMap<PaymentHash, OutboundPayment>,
    pub parts: BTreeMap<HtlcRef, OutboundPart>,
    /// How paths fared, for the router to learn on the next call that has it: each path
    /// with `Some(failed channel)` if it failed, `None` if it succeeded.
    pub feedback: Vec<(Path, Option<Option<ShortChannelId>>)>,
}

impl OutboundPayments {
    fn in_flight(&self, payment_hash: &PaymentHash) -> usize {
        self.parts.values().filter(|p| p.payment_hash == *payment_hash).count()
    }
}

impl<K: NodeSigner + EntropySource + SignerProvider, P: Persist, B: Broadcaster> ChannelManager<K, P, B> {
    /// Our channels a route may start with: open, connected, with what each can send now.
    pub fn first_hops(&self) -> Vec<FirstHop> {
        self.channels
            .values()
            .filter(|m| m.channel.phase() == ChannelPhase::Normal && m.channel.is_connected())
            .map(|m| FirstHop {
                short_channel_id: m.routing_scid(),
                counterparty: m.counterparty,
                outbound_capacity_msat: m.channel.max_sendable_msat().unwrap_or(0),
            })
            .filter(|h| h.outbound_capacity_msat > 0)
            .collect()
    }

    /// Pays `params.payee` over a route from `router`, retrying failed parts as `retry`
    /// allows ([`Self::process_pending_payments`] retries). `Route` if no route is found;
    /// a channel's refusal if no part could be sent.
    pub fn send_payment_with_router<R: Router>(
        &mut self,
        router: &R,
        params: RouteParameters,
        payment_hash: PaymentHash,
        payment_secret: [u8; 32],
        retry: Retry,
    ) -> Result<(), ApiError> {
        if self.outbound.payments.contains_key(&payment_hash) {
            return Err(ApiError::DuplicatePayment);
        }
        let route = router
            .find_route(&self.node_id(), &params, &self.first_hops())
            .map_err(ApiError::Route)?;
        self.start_payment(&route, payment_hash, payment_secret, &params, retry)
    }

    /// Pays over `route` as given (no retries): the parts together must deliver the
    /// payment's total, which the payee expects in every part's onion.
    pub fn send_payment_along_route(
        &mut self,
        route: &Route,
        payment_hash: PaymentHash,
        payment_secret: [u8; 32],
        final_cltv_expiry_delta: u32,
    ) -> Result<(), ApiError> {
        if self.outbound.payments.contains_key(&payment_hash) {
            return Err(ApiError::DuplicatePayment);
        }
        let payee =
            route
                .paths
                .first()
                .and_then(Path::payee)
                .ok_or(ApiError::Route(crate::routing::RouteError::NoPath(
                    "an empty route".into(),
                )))?;
        let mut params = RouteParameters::new(payee, route.amount_msat(), final_cltv_expiry_delta);
        params.max_path_count = u8::try_from(route.paths.len()).unwrap_or(u8::MAX);
        self.start_payment(route, payment_hash, payment_secret, &params, Retry::NEVER)
    }

    fn start_payment(
        &mut self,
        route: &Route,
        payment_hash: PaymentHash,
        payment_secret: [u8; 32],
        params: &RouteParameters,
        retry: Retry,
    ) -> Result<(), ApiError> {
        let payment = OutboundPayment {
            payee: params.payee,
            payment_secret,
            total_msat: params.amount_msat,
            final_cltv_expiry_delta: params.final_cltv_expiry_delta,
            max_path_count: params.max_path_count,
            max_total_cltv_expiry_delta: params.max_total_cltv_expiry_delta,
            retry,
            attempts: 1,
            first_attempt_height: self.best_height,
            to_retry_msat: 0,
            avoid: params.avoid.clone(),
            fulfilled: Vec::new(),
            preimage: None,
            last_failure_code: None,
            failed: None,
        };
        self.outbound.payments.insert(payment_hash, payment);
        let refusal = self.send_route(route, payment_hash);
        if self.outbound.in_flight(&payment_hash) == 0 {
            self.outbound.payments.remove(&payment_hash);
            return Err(refusal.unwrap_or(ApiError::NoUsableChannel));
        }
        Ok(())
    }

    /// Sends each path of `route` for the payment; what a channel refuses is left to
    /// retry. The last refusal, if any.
    fn send_route(&mut self, route: &Route, payment_hash: PaymentHash) -> Option<ApiError> {
        let mut refusal = None;
        for path in &route.paths {
            if let Err(e) = self.send_path(path, payment_hash) {
                if let Some(payment) = self.outbound.payments.get_mut(&payment_hash) {
                    payment.to_retry_msat += path.amount_msat();
                }
                refusal = Some(e);
            }
        }
        refusal
    }

    /// Offers the HTLC of one path over our channel it starts with.
    fn send_path(&mut self, path: &Path, payment_hash: PaymentHash) -> Result<(), ApiError> {
        // A route the user built is checked as the router's are; an HTLC of nothing is
        // left to the channel to refuse, as for a direct payment.
        if let Err(why) = path.check() {
            if path.hops.is_empty() || path.amount_msat() != 0 {
                return Err(ApiError::Route(crate::routing::RouteError::NoPath(why.into())));
            }
        }
        let payment = self
            .outbound
            .payments
            .get(&payment_hash)
            .ok_or(ApiError::UnknownPayment)?;
        let (payment_secret, total_msat, final_delta) = (
            payment.payment_secret,
            payment.total_msat,
            payment.final_cltv_expiry_delta,
        );
        let first = path.hops[0];
        let channel_id = self
            .channel_by_scid(first.short_channel_id)
            .ok_or(ApiError::UnknownChannel)?;
        let managed = self.channels.get(&channel_id).ok_or(ApiError::UnknownChannel)?;
        if managed.counterparty != first.node_id {
            return Err(ApiError::UnknownChannel);
        }
        if managed.channel.phase() != ChannelPhase::Normal || !managed.channel.is_connected() {
            return Err(ApiError::NoUsableChannel);
        }
        let max_exposure_msat = self.config.max_dust_htlc_exposure_msat;
        if managed
            .channel
            .exceeds_dust_exposure(Side::Holder, first.amount_msat, None, max_exposure_msat)
        {
            return Err(ApiError::Channel(ChannelError::Ignore(
                alloc::format!(
                    "dust exposure: a trimmed HTLC of {} msat would take a commitment's trimmed value past \
                     {max_exposure_msat} msat",
                    first.amount_msat
                )
                .into(),
            )));
        }
        // Saturated past the last height, which the channel refuses (no HTLC expires at a
        // timestamp) rather than wrapping to an expired height.
        let final_cltv_expiry_delta = final_delta
            .saturating_add(FINAL_CLTV_TRANSIT_BLOCKS)
            .max(self.config.final_cltv_expiry_delta);
        let final_expiry = self.best_height.saturating_add(final_cltv_expiry_delta);
        let hops = onion_hops(path, payment_secret, total_msat, final_expiry);
        let session_key = loop {
            if let Ok(key) = SecretKey::from_slice(&self.keys.random_bytes()) {
                break key;
            }
        };
        let secp = &self.secp;
        let mut shared_secrets = Vec::new();
        let first_expiry = final_expiry.saturating_add(first.expiry_beyond_final_blocks);
        let managed = self.channels.get_mut(&channel_id).ok_or(ApiError::UnknownChannel)?;
        let add = managed
            .channel
            .send_htlc_with(first.amount_msat, payment_hash, first_expiry, || {
                let (onion, secrets) = construct_onion_packet(secp, &session_key, &hops, &payment_hash.0)
                    .map_err(|e| ChannelError::Ignore(e.to_string().into()))?;
                shared_secrets = secrets;
                Ok(onion)
            })
            .map_err(ApiError::Channel)?;
        self.outbound.parts.insert(
            HtlcRef {
                channel_id,
                htlc_id: add.id,
            },
            OutboundPart {
                payment_hash,
                path: path.clone(),
                shared_secrets,
            },
        );
        self.send(&channel_id, Message::UpdateAddHtlc(alloc::boxed::Box::new(add)));
        self.process_channel(&channel_id);
        Ok(())
    }

    /// Pays a direct peer over the first of our channels with it that takes the HTLC
    /// (in channel id order), without retries. If none does, the error is the last
    /// channel's refusal, or `NoUsableChannel` when no channel with the peer is open and
    /// connected.
    ///
    /// `min_final_cltv_expiry_delta` is the payee's (BOLT 11's `c` field, 18 where the
    /// invoice has none; [`super::payments::MIN_FINAL_CLTV_EXPIRY_DELTA`] for a payee
    /// running this library): the HTLC expires that many blocks after the tip plus
    /// [`FINAL_CLTV_TRANSIT_BLOCKS`], or [`ChannelManagerConfig::final_cltv_expiry_delta`]
    /// after it if that is more.
    ///
    /// [`ChannelManagerConfig::final_cltv_expiry_delta`]: super::ChannelManagerConfig::final_cltv_expiry_delta
    pub fn send_payment(
        &mut self,
        counterparty: PublicKey,
        payment_hash: PaymentHash,
        payment_secret: [u8; 32],
        amount_msat: u64,
        min_final_cltv_expiry_delta: u32,
    ) -> Result<(), ApiError> {
        let candidates: Vec<ChannelId> = self
            .channels
            .iter()
            .filter(|(_, m)| m.counterparty == counterparty && m.channel.phase() == ChannelPhase::Normal)
            .filter(|(_, m)| m.channel.is_connected())
            .map(|(id, _)| *id)
            .collect();
        let mut refusal = ApiError::NoUsableChannel;
        for channel_id in candidates {
            match self.send_payment_over(
                &channel_id,
                payment_hash,
                payment_secret,
                amount_msat,
                min_final_cltv_expiry_delta,
            ) {
                Ok(()) => return Ok(()),
                Err(e) => refusal = e,
            }
        }
        Err(refusal)
    }

    /// Pays the peer of `channel_id` over that channel: `UnknownChannel` if there is no
    /// such channel, `NoUsableChannel` if it is not open or its peer not connected, and
    /// the channel's refusal if it does not take the HTLC (the channel is then as before).
    /// The final expiry is as for [`Self::send_payment`].
    pub fn send_payment_over(
        &mut self,
        channel_id: &ChannelId,
        payment_hash: PaymentHash,
        payment_secret: [u8; 32],
        amount_msat: u64,
        min_final_cltv_expiry_delta: u32,
    ) -> Result<(), ApiError> {
        let managed = self.channels.get(channel_id).ok_or(ApiError::UnknownChannel)?;
        let path = Path {
            hops: alloc::vec![RouteHop {
                node_id: managed.counterparty,
                short_channel_id: managed.routing_scid(),
                amount_msat,
                expiry_beyond_final_blocks: 0,
            }],
        };
        let route = Route {
            paths: alloc::vec![path],
        };
        self.send_payment_along_route(&route, payment_hash, payment_secret, min_final_cltv_expiry_delta)
    }

    /// Retries failed parts over new routes from `router`, and tells it how paths fared.
    /// Call it after handling peer messages and blocks, as other inputs: the library
    /// keeps no timer.
    pub fn process_pending_payments<R: Router>(&mut self, router: &mut R) {
        for (path, outcome) in core::mem::take(&mut self.outbound.feedback) {
            match outcome {
                Some(failed_channel) => router.path_failed(&path, failed_channel),
                None => router.path_succeeded(&path),
            }
        }
        router.best_block_updated(self.best_height);
        let due: Vec<PaymentHash> = self
            .outbound
            .payments
            .iter()
            .filter(|(_, p)| p.to_retry_msat > 0 && p.may_retry(self.best_height))
            .map(|(hash, _)| *hash)
            .collect();
        for payment_hash in due {
            let Some(payment) = self.outbound.payments.get_mut(&payment_hash) else {
                continue;
            };
            let params = RouteParameters {
                payee: payment.payee,
                amount_msat: payment.to_retry_msat,
                final_cltv_expiry_delta: payment.final_cltv_expiry_delta,
                max_total_cltv_expiry_delta: payment.max_total_cltv_expiry_delta,
                max_path_count: payment.max_path_count,
                max_fee_msat: None,
                avoid: payment.avoid.clone(),
            };
            let route = router.find_route(&self.node_id(), &params, &self.first_hops());
            let Some(payment) = self.outbound.payments.get_mut(&payment_hash) else {
                continue;
            };
            match route {
                Ok(route) => {
                    payment.attempts += 1;
                    payment.to_retry_msat = 0;
                    let _ = self.send_route(&route, payment_hash);
                }
                Err(_) => payment.failed = Some(PaymentFailureReason::RouteNotFound),
            }
            self.maybe_report(payment_hash);
        }
        // Payments out of attempts or blocks with nothing in flight end here.
        let stalled: Vec<PaymentHash> = self
            .outbound
            .payments
            .iter()
            .filter(|(_, p)| p.to_retry_msat > 0 && !p.may_retry(self.best_height) && p.failed.is_none())
            .map(|(hash, _)| *hash)
            .collect();
        for payment_hash in stalled {
            if let Some(payment) = self.outbound.payments.get_mut(&payment_hash) {
                payment.failed = Some(PaymentFailureReason::RetriesExhausted);
            }
            self.maybe_report(payment_hash);
        }
    }

    /// A part was fulfilled.
    pub(crate) fn payment_part_fulfilled(&mut self, htlc: HtlcRef, preimage: PaymentPreimage) {
        let Some(part) = self.outbound.parts.remove(&htlc) else {
            return;
        };
        self.outbound.feedback.push((part.path.clone(), None));
        if let Some(payment) = self.outbound.payments.get_mut(&part.payment_hash) {
            payment.preimage = Some(preimage);
            payment.fulfilled.push(part.path);
            // The payee claimed: whatever was left to retry is not needed.
            payment.to_retry_msat = 0;
        }
        self.maybe_report(part.payment_hash);
    }

    /// A part failed irrevocably: who failed it and why, and whether to retry.
    pub(crate) fn payment_part_failed(&mut self, htlc: HtlcRef, failure: OutgoingFailure) {
        let Some(part) = self.outbound.parts.remove(&htlc) else {
            return;
        };
        let hops = &part.path.hops;
        // The erring hop's index in the path, and its failure code.
        let (erring, failure_code) = match &failure {
            OutgoingFailure::Onion(reason) => match decode_failure_packet(&part.shared_secrets, reason) {
                Some(decoded) => (Some(decoded.hop_index), decoded.failure_code()),
                None => (None, None),
            },
            // Only the first hop sends it: it could not read its own onion.
            OutgoingFailure::Malformed { failure_code, .. } => (Some(0), Some(*failure_code)),
        };
        let is_payee = erring.is_some_and(|i| i + 1 == hops.len());
        let failed_channel = erring.and_then(|i| hops.get(i + 1)).map(|h| h.short_channel_id);
        let failing_node = erring.and_then(|i| hops.get(i)).map(|h| h.node_id);
        // The payee refusing (bad details, unknown hash) is final; its MPP timeout, or
        // anything from a hop on the way, may go better over another route.
        let permanent = is_payee && failure_code != Some(MPP_TIMEOUT);
        self.events.push(Event::PaymentPathFailed {
            payment_hash: part.payment_hash,
            path: part.path.clone(),
            short_channel_id: failed_channel,
            failing_node,
            failure_code,
            payment_failed_permanently: permanent,
        });
        self.outbound.feedback.push((part.path.clone(), Some(failed_channel)));
        if let Some(payment) = self.outbound.payments.get_mut(&part.payment_hash) {
            payment.last_failure_code = failure_code;
            if permanent {
                payment.failed = Some(PaymentFailureReason::RecipientRejected);
                payment.to_retry_msat = 0;
            } else if payment.preimage.is_none() {
                payment.to_retry_msat += part.path.amount_msat();
                // Avoid the failing channel; unattributed, our own first channel.
                let avoid = failed_channel.or(hops.first().map(|h| h.short_channel_id));
                if let Some(avoid) = avoid.filter(|scid| !payment.avoid.contains(scid)) {
                    payment.avoid.push(avoid);
                }
                if !payment.may_retry(self.best_height) {
                    payment.failed = Some(PaymentFailureReason::RetriesExhausted);
                }
            }
        }
        self.maybe_report(part.payment_hash);
    }

    /// Reports the payment if nothing of it is in flight and nothing will be retried.
    fn maybe_report(&mut self, payment_hash: PaymentHash) {
        if self.outbound.in_flight(&payment_hash) > 0 {
            return;
        }
        let Some(payment) = self.outbound.payments.get(&payment_hash) else {
            return;
        };
        if let Some(preimage) = payment.preimage {
            let fee_paid_msat = payment.fulfilled.iter().map(Path::fee_msat).sum();
            let paths = payment.fulfilled.clone();
            self.outbound.payments.remove(&payment_hash);
            self.events.push(Event::PaymentSent {
                payment_hash,
                payment_preimage: preimage,
                fee_paid_msat,
                paths,
            });
        } else if let Some(reason) = payment.failed {
            let failure_code = payment.last_failure_code;
            self.outbound.payments.remove(&payment_hash);
            self.events.push(Event::PaymentFailed {
                payment_hash,
                failure_code,
                reason,
            });
        }
    }

    /// The paths of `payment_hash`'s parts in flight.
    pub fn payment_paths(&self, payment_hash: &PaymentHash) -> Vec<Path> {
        self.outbound
            .parts
            .values()
            .filter(|p| p.payment_hash == *payment_hash)
            .map(|p| p.path.clone())
            .collect()
    }

    /// Outcomes of payments still in flight or waiting to retry: how many.
    pub fn pending_payments(&self) -> usize {
        self.outbound.payments.len()
    }
}

/// The onion's hops for `path`: each forwarder learns the next channel, amount and
/// expiry; the payee the amount, its expiry, the secret and the payment's total.
fn onion_hops(path: &Path, payment_secret: [u8; 32], total_msat: u64, final_expiry: u32) -> Vec<OnionHop> {
    let count = path.hops.len();
    (0..count)
        .map(|i| {
            let hop = &path.hops[i];
            let payload = match path.hops.get(i + 1) {
                Some(next) => HopPayload::forward(
                    next.short_channel_id,
                    next.amount_msat,
                    final_expiry.saturating_add(next.expiry_beyond_final_blocks),
                ),
                None => HopPayload::receive(hop.amount_msat, final_expiry, payment_secret, total_msat),
            };
            OnionHop {
                node_id: hop.node_id,
                payload: payload.encode_to_vec(),
            }
        })
        .collect()
}
