//! Whether we forward an HTLC: our forwarding policy and BOLT 4's checks against the
//! outgoing channel, each refusal with the failure code and data the spec gives it.

use alloc::vec::Vec;

use crate::onion::errors::{
    AMOUNT_BELOW_MINIMUM, CHANNEL_DISABLED, EXPIRY_TOO_FAR, EXPIRY_TOO_SOON, FEE_INSUFFICIENT, INCORRECT_CLTV_EXPIRY,
    TEMPORARY_CHANNEL_FAILURE, UNKNOWN_NEXT_PEER, UPDATE,
};
use crate::routing::RoutingPolicy;
use crate::wire::{Encode, ShortChannelId};

/// Blocks an outgoing HTLC must have left when we offer it: time to see the peer fail or
/// fulfill it, and else to go on chain and time it out before the incoming one expires.
pub const MIN_OUTGOING_EXPIRY_BLOCKS: u32 = 24;

/// The furthest an incoming HTLC we forward may expire (BOLT 4 `max_htlc_cltv`): two
/// weeks of blocks; longer locks our funds on the peer's word.
pub const MAX_INCOMING_EXPIRY_BLOCKS: u32 = 2016;

/// What this node charges and demands for forwarding over its channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardingPolicy {
    /// The fee per forwarded HTLC.
    pub fee_base_msat: u32,
    /// The fee per million msat forwarded.
    pub fee_proportional_millionths: u32,
    /// Blocks between an incoming HTLC's expiry and the outgoing one's: our time to
    /// claim the incoming HTLC on chain after the outgoing one is fulfilled.
    pub cltv_expiry_delta: u16,
    /// The smallest HTLC we forward (the peer's own minimum applies too).
    pub htlc_minimum_msat: u64,
    /// The largest HTLC we forward.
    pub htlc_maximum_msat: u64,
}

impl Default for ForwardingPolicy {
    /// 1 sat plus 100 parts per million, 72 blocks (half a day) of delta, no bound on
    /// size beyond the channel's.
    fn default() -> Self {
        ForwardingPolicy {
            fee_base_msat: 1_000,
            fee_proportional_millionths: 100,
            cltv_expiry_delta: 72,
            htlc_minimum_msat: 1,
            htlc_maximum_msat: u64::MAX,
        }
    }
}

impl ForwardingPolicy {
    /// The policy as a router reads it.
    pub fn routing_policy(&self, enabled: bool) -> RoutingPolicy {
        RoutingPolicy {
            fee_base_msat: self.fee_base_msat,
            fee_proportional_millionths: self.fee_proportional_millionths,
            cltv_expiry_delta: self.cltv_expiry_delta,
            htlc_minimum_msat: self.htlc_minimum_msat,
            htlc_maximum_msat: self.htlc_maximum_msat,
            enabled,
        }
    }
}

/// An HTLC the onion asks us to forward, as it arrived and as it should leave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ForwardRequest {
    /// The channel the onion names.
    pub short_channel_id: ShortChannelId,
    /// What arrived.
    pub incoming_amount_msat: u64,
    /// When what arrived expires.
    pub incoming_cltv_expiry: u32,
    /// What should leave (`amt_to_forward`).
    pub outgoing_amount_msat: u64,
    /// When what leaves should expire (`outgoing_cltv_value`).
    pub outgoing_cltv_expiry: u32,
}

/// What we know of the outgoing channel when checking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outgoing {
    /// No channel of ours goes by that id.
    Unknown,
    /// Closing or closed: no new HTLC.
    Disabled,
    /// Open, and its peer connected or not.
    Open {
        /// Whether its peer is connected.
        connected: bool,
        /// The smallest HTLC the peer accepts.
        peer_htlc_minimum_msat: u64,
    },
}

/// A refusal to forward: the BOLT 4 code and the data before any `channel_update`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ForwardFailure {
    pub code: u16,
    /// The fields between the code and the `channel_update` (`htlc_msat`,
    /// `cltv_expiry`, `disabled_flags`).
    pub data: Vec<u8>,
}

impl ForwardFailure {
    fn new(code: u16) -> Self {
        ForwardFailure { code, data: Vec::new() }
    }

    fn with(code: u16, data: &impl Encode) -> Self {
        ForwardFailure {
            code,
            data: data.encode_to_vec(),
        }
    }

    /// The failure message: code, data, and, where the code carries the UPDATE flag, the
    /// `channel_update` (its type prefix included) with its length; an empty one is
    /// written as length zero, as BOLT 4 now allows.
    pub fn message(&self, channel_update: Option<&[u8]>) -> Vec<u8> {
        let mut message = self.code.to_be_bytes().to_vec();
        message.extend_from_slice(&self.data);
        if self.code & UPDATE != 0 {
            let update = channel_update.unwrap_or(&[]);
            (update.len() as u16).encode(&mut message);
            message.extend_from_slice(update);
        }
        message
    }
}

/// BOLT 4's checks, in the spec's order, of forwarding `request` over `outgoing` under
/// `policy` at `best_height`.
pub(crate) fn check_forward(
    request: &ForwardRequest,
    policy: &ForwardingPolicy,
    outgoing: Outgoing,
    best_height: u32,
) -> Result<(), ForwardFailure> {
    let (connected, peer_minimum) = match outgoing {
        Outgoing::Unknown => return Err(ForwardFailure::new(UNKNOWN_NEXT_PEER)),
        Outgoing::Disabled => return Err(ForwardFailure::with(CHANNEL_DISABLED, &0u16)),
        Outgoing::Open {
            connected,
            peer_htlc_minimum_msat,
        } => (connected, peer_htlc_minimum_msat),
    };
    if request.outgoing_amount_msat < policy.htlc_minimum_msat.max(peer_minimum) {
        return Err(ForwardFailure::with(
            AMOUNT_BELOW_MINIMUM,
            &request.outgoing_amount_msat,
        ));
    }
    let fee_msat = policy
        .routing_policy(true)
        .fee_msat(request.outgoing_amount_msat)
        .unwrap_or(u64::MAX);
    let due_msat = request.outgoing_amount_msat.saturating_add(fee_msat);
    if request.incoming_amount_msat < due_msat {
        return Err(ForwardFailure::with(FEE_INSUFFICIENT, &request.incoming_amount_msat));
    }
    let kept_blocks = u64::from(request.incoming_cltv_expiry).saturating_sub(u64::from(request.outgoing_cltv_expiry));
    if request.incoming_cltv_expiry < request.outgoing_cltv_expiry || kept_blocks < u64::from(policy.cltv_expiry_delta)
    {
        return Err(ForwardFailure::with(
            INCORRECT_CLTV_EXPIRY,
            &request.outgoing_cltv_expiry,
        ));
    }
    if u64::from(request.outgoing_cltv_expiry) < u64::from(best_height) + u64::from(MIN_OUTGOING_EXPIRY_BLOCKS) {
        return Err(ForwardFailure::new(EXPIRY_TOO_SOON));
    }
    if u64::from(request.incoming_cltv_expiry) > u64::from(best_height) + u64::from(MAX_INCOMING_EXPIRY_BLOCKS) {
        return Err(ForwardFailure::new(EXPIRY_TOO_FAR));
    }
    if request.outgoing_amount_msat > policy.htlc_maximum_msat || !connected {
        return Err(ForwardFailure::new(TEMPORARY_CHANNEL_FAILURE));
    }
    debug_assert!(
        request.incoming_amount_msat >= request.outgoing_amount_msat,
        "a forward never pays out more"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: Outgoing = Outgoing::Open {
        connected: true,
        peer_htlc_minimum_msat: 1,
    };

    fn request() -> ForwardRequest {
        ForwardRequest {
            short_channel_id: ShortChannelId(1),
            incoming_amount_msat: 1_001_100,
            incoming_cltv_expiry: 1_000 + 72,
            outgoing_amount_msat: 1_000_000,
            outgoing_cltv_expiry: 1_000,
        }
    }

    fn code(result: Result<(), ForwardFailure>) -> Option<u16> {
        result.err().map(|f| f.code)
    }

    #[test]
    fn a_forward_paying_the_fee_and_keeping_the_delta_passes_exactly() {
        let policy = ForwardingPolicy::default();
        assert_eq!(check_forward(&request(), &policy, OPEN, 900), Ok(()));
        let short_fee = ForwardRequest {
            incoming_amount_msat: 1_001_099,
            ..request()
        };
        let failure = check_forward(&short_fee, &policy, OPEN, 900).expect_err("a msat short");
        assert_eq!(failure.code, FEE_INSUFFICIENT);
        assert_eq!(failure.data, 1_001_099u64.to_be_bytes());
        let short_delta = ForwardRequest {
            incoming_cltv_expiry: 1_071,
            ..request()
        };
        let failure = check_forward(&short_delta, &policy, OPEN, 900).expect_err("a block short");
        assert_eq!(failure.code, INCORRECT_CLTV_EXPIRY);
        assert_eq!(failure.data, 1_000u32.to_be_bytes());
        let backwards = ForwardRequest {
            incoming_cltv_expiry: 999,
            ..request()
        };
        assert_eq!(
            code(check_forward(&backwards, &policy, OPEN, 900)),
            Some(INCORRECT_CLTV_EXPIRY)
        );
    }

    #[test]
    fn each_refusal_has_its_code() {
        let policy = ForwardingPolicy::default();
        let r = request();
        assert_eq!(
            code(check_forward(&r, &policy, Outgoing::Unknown, 900)),
            Some(UNKNOWN_NEXT_PEER)
        );
        assert_eq!(
            code(check_forward(&r, &policy, Outgoing::Disabled, 900)),
            Some(CHANNEL_DISABLED)
        );
        let offline = Outgoing::Open {
            connected: false,
            peer_htlc_minimum_msat: 1,
        };
        assert_eq!(
            code(check_forward(&r, &policy, offline, 900)),
            Some(TEMPORARY_CHANNEL_FAILURE)
        );
        let picky = Outgoing::Open {
            connected: true,
            peer_htlc_minimum_msat: 1_000_001,
        };
        assert_eq!(code(check_forward(&r, &policy, picky, 900)), Some(AMOUNT_BELOW_MINIMUM));
        assert_eq!(
            code(check_forward(&r, &policy, OPEN, 1_000 - 23)),
            Some(EXPIRY_TOO_SOON)
        );
        assert_eq!(code(check_forward(&r, &policy, OPEN, 1_000 - 24)), None);
        let far = ForwardRequest {
            incoming_cltv_expiry: 900 + MAX_INCOMING_EXPIRY_BLOCKS + 1,
            outgoing_cltv_expiry: 900 + MAX_INCOMING_EXPIRY_BLOCKS + 1 - 72,
            ..r
        };
        assert_eq!(code(check_forward(&far, &policy, OPEN, 900)), Some(EXPIRY_TOO_FAR));
        let just_near_enough = ForwardRequest {
            incoming_cltv_expiry: 900 + MAX_INCOMING_EXPIRY_BLOCKS,
            outgoing_cltv_expiry: 900 + MAX_INCOMING_EXPIRY_BLOCKS - 72,
            ..r
        };
        assert_eq!(code(check_forward(&just_near_enough, &policy, OPEN, 900)), None);
        let capped = ForwardingPolicy {
            htlc_maximum_msat: 999_999,
            ..policy
        };
        assert_eq!(
            code(check_forward(&r, &capped, OPEN, 900)),
            Some(TEMPORARY_CHANNEL_FAILURE)
        );
    }

    #[test]
    fn messages_carry_their_update_only_under_the_update_flag() {
        let failure = ForwardFailure::with(AMOUNT_BELOW_MINIMUM, &5u64);
        let message = failure.message(Some(&[1, 2, 3]));
        assert_eq!(message, [0x10, 0x0b, 0, 0, 0, 0, 0, 0, 0, 5, 0, 3, 1, 2, 3]);
        assert_eq!(failure.message(None), [0x10, 0x0b, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0]);
        assert_eq!(ForwardFailure::new(UNKNOWN_NEXT_PEER).message(Some(&[1])), [0x40, 0x0a]);
    }
}
