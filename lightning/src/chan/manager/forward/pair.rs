//! The HTLC pair of a forward: the incoming HTLC and the outgoing one it pays for. Every
//! transition is a method here, and each asserts the stage it leaves, so the safety rule
//! is kept in one place:
//!
//! > the incoming HTLC is failed only if the outgoing one was never offered, or its
//! > removal by failure is irrevocably committed; and it is claimed as soon as the
//! > outgoing one is fulfilled.
//!
//! A forward never pays out more than it took in, and the outgoing HTLC expires before
//! the incoming one; both are checked when the pair is made.
//!
//! A transition from a stage that does not allow it is a bug of ours, never a peer's
//! doing (the ledger refuses what a peer could send out of turn): it fails a debug
//! assertion (fuzz builds run with them), and in release changes nothing.

use alloc::vec::Vec;

use super::super::HtlcRef;
use crate::wire::{OnionPacket, PaymentHash, PaymentPreimage, ShortChannelId};

/// What the onion asked for, until it is offered on the outgoing channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingForward {
    /// The channel the onion names.
    pub short_channel_id: ShortChannelId,
    /// What the outgoing HTLC carries.
    pub amount_msat: u64,
    /// When it expires.
    pub cltv_expiry: u32,
    /// The onion for the next hop (boxed: 1,366 bytes, beside stages of a few dozen).
    pub onion: alloc::boxed::Box<OnionPacket>,
}

/// Where a forward stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForwardStage {
    /// Accepted on the incoming channel (irrevocably committed, checks passed), waiting
    /// for the user's call to forward.
    Pending(PendingForward),
    /// Offered on the outgoing channel.
    Offered {
        /// The outgoing HTLC.
        outgoing: HtlcRef,
        /// What it carries.
        amount_msat: u64,
    },
    /// The outgoing HTLC was fulfilled: the incoming one is claimed with the preimage as
    /// soon as its channel takes it.
    Fulfilled {
        /// The outgoing HTLC.
        outgoing: HtlcRef,
        /// What it carried.
        amount_msat: u64,
        /// The proof.
        preimage: PaymentPreimage,
    },
    /// The incoming HTLC is failed back as soon as its channel takes it: the outgoing one
    /// was never offered, or its failure is irrevocably committed.
    Failing {
        /// The error onion for the incoming channel (ours, or the next hop's wrapped).
        reason: Vec<u8>,
        /// Our failure code, when we refused it (`None`: passed back from further on).
        failure_code: Option<u16>,
    },
}

/// The incoming HTLC of a forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IncomingHtlc {
    /// Where it is.
    pub htlc: HtlcRef,
    /// What it carries.
    pub amount_msat: u64,
    /// When it expires.
    pub cltv_expiry: u32,
    /// The hash both HTLCs are locked to.
    pub payment_hash: PaymentHash,
    /// Its onion's shared secret: failures going back are wrapped with it.
    pub shared_secret: [u8; 32],
}

/// A forward: the incoming HTLC, the channel asked for, and its stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HtlcPair {
    /// The incoming HTLC.
    pub incoming: IncomingHtlc,
    /// The channel the onion asked for (none if the onion named none it could read).
    pub outgoing_short_channel_id: Option<ShortChannelId>,
    stage: ForwardStage,
}

/// A pair resolved: what the user hears of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// The incoming HTLC was claimed: we kept `fee_earned_msat`.
    Claimed {
        /// The outgoing HTLC.
        outgoing: HtlcRef,
        /// What went out.
        amount_forwarded_msat: u64,
        /// What we kept.
        fee_earned_msat: u64,
    },
    /// The incoming HTLC was failed back.
    Failed {
        /// Our code, if we refused it.
        failure_code: Option<u16>,
    },
}

impl HtlcPair {
    /// A forward accepted, waiting to be offered. The outgoing HTLC carries no more than
    /// the incoming one and expires before it.
    pub fn pending(incoming: IncomingHtlc, forward: PendingForward) -> Option<Self> {
        // The forwarding checks passed: these hold unless they are wrong.
        let sound = forward.amount_msat <= incoming.amount_msat && forward.cltv_expiry < incoming.cltv_expiry;
        debug_assert!(
            sound,
            "a forward pays out more than it took in, or outlives its incoming HTLC"
        );
        sound.then_some(HtlcPair {
            incoming,
            outgoing_short_channel_id: Some(forward.short_channel_id),
            stage: ForwardStage::Pending(forward),
        })
    }

    /// A forward refused before anything was offered: the incoming HTLC fails back.
    pub fn refused(
        incoming: IncomingHtlc,
        outgoing_short_channel_id: Option<ShortChannelId>,
        reason: Vec<u8>,
        failure_code: u16,
    ) -> Self {
        HtlcPair {
            incoming,
            outgoing_short_channel_id,
            stage: ForwardStage::Failing {
                reason,
                failure_code: Some(failure_code),
            },
        }
    }

    /// A pair as persisted, if its amounts are those of a forward (never more out
    /// than in, the outgoing expiry before the incoming one).
    pub(crate) fn read(
        incoming: IncomingHtlc,
        outgoing_short_channel_id: Option<ShortChannelId>,
        stage: ForwardStage,
    ) -> Option<Self> {
        let sound = match &stage {
            ForwardStage::Pending(forward) => {
                forward.amount_msat <= incoming.amount_msat && forward.cltv_expiry < incoming.cltv_expiry
            }
            ForwardStage::Offered { amount_msat, .. } | ForwardStage::Fulfilled { amount_msat, .. } => {
                *amount_msat <= incoming.amount_msat
            }
            ForwardStage::Failing { .. } => true,
        };
        sound.then_some(HtlcPair {
            incoming,
            outgoing_short_channel_id,
            stage,
        })
    }

    /// Where it stands.
    pub fn stage(&self) -> &ForwardStage {
        &self.stage
    }

    /// The outgoing HTLC, once offered.
    pub fn outgoing(&self) -> Option<HtlcRef> {
        match &self.stage {
            ForwardStage::Offered { outgoing, .. } | ForwardStage::Fulfilled { outgoing, .. } => Some(*outgoing),
            ForwardStage::Pending(_) | ForwardStage::Failing { .. } => None,
        }
    }

    /// Pending → Offered: the outgoing HTLC is added.
    pub fn offered(&mut self, outgoing: HtlcRef) {
        let ForwardStage::Pending(forward) = &self.stage else {
            return debug_assert!(false, "offered from {:?}", self.stage);
        };
        self.stage = ForwardStage::Offered {
            outgoing,
            amount_msat: forward.amount_msat,
        };
    }

    /// Pending → Failing: the outgoing channel refused the HTLC; nothing was offered.
    pub fn not_offered(&mut self, reason: Vec<u8>, failure_code: u16) {
        if !matches!(self.stage, ForwardStage::Pending(_)) {
            return debug_assert!(false, "not offered from {:?}", self.stage);
        }
        self.stage = ForwardStage::Failing {
            reason,
            failure_code: Some(failure_code),
        };
    }

    /// Offered → Fulfilled: the next hop gave the preimage. Fulfilled again (a peer
    /// repeating itself after a reconnection) changes nothing.
    pub fn outgoing_fulfilled(&mut self, preimage: PaymentPreimage) {
        match self.stage {
            ForwardStage::Offered { outgoing, amount_msat } => {
                self.stage = ForwardStage::Fulfilled {
                    outgoing,
                    amount_msat,
                    preimage,
                };
            }
            ForwardStage::Fulfilled { .. } => {}
            ref other => debug_assert!(false, "fulfilled from {other:?}"),
        }
    }

    /// Offered → Failing: the outgoing HTLC's removal by failure is irrevocably
    /// committed (the caller checked the ledger); `reason` is the next hop's error onion,
    /// already wrapped for the incoming channel.
    pub fn outgoing_failed_irrevocably(&mut self, reason: Vec<u8>) {
        if !matches!(self.stage, ForwardStage::Offered { .. }) {
            return debug_assert!(false, "failed from {:?}", self.stage);
        }
        self.stage = ForwardStage::Failing {
            reason,
            failure_code: None,
        };
    }

    /// Whether the incoming HTLC may be resolved now: claimed if Fulfilled, failed if
    /// Failing.
    pub fn may_resolve_incoming(&self) -> bool {
        matches!(
            self.stage,
            ForwardStage::Fulfilled { .. } | ForwardStage::Failing { .. }
        )
    }

    /// The incoming HTLC resolved as the stage says: claimed if Fulfilled, failed if
    /// Failing. Any other stage may not resolve it (`None`).
    pub fn resolved(self) -> Option<Resolution> {
        match self.stage {
            ForwardStage::Fulfilled {
                outgoing, amount_msat, ..
            } => {
                let fee_earned_msat = self.incoming.amount_msat - amount_msat;
                Some(Resolution::Claimed {
                    outgoing,
                    amount_forwarded_msat: amount_msat,
                    fee_earned_msat,
                })
            }
            ForwardStage::Failing { failure_code, .. } => Some(Resolution::Failed { failure_code }),
            other => {
                debug_assert!(false, "the incoming HTLC resolved while its forward is {other:?}");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ChannelId;

    fn pair() -> HtlcPair {
        let pair = HtlcPair::pending(
            incoming(),
            PendingForward {
                short_channel_id: ShortChannelId(9),
                amount_msat: 1_000,
                cltv_expiry: 500,
                onion: alloc::boxed::Box::new(OnionPacket {
                    version: 0,
                    public_key: [2; 33],
                    hop_payloads: [0; 1300],
                    hmac: [0; 32],
                }),
            },
        );
        pair.expect("sound")
    }

    fn incoming() -> IncomingHtlc {
        IncomingHtlc {
            htlc: HtlcRef {
                channel_id: ChannelId([1; 32]),
                htlc_id: 0,
            },
            amount_msat: 1_010,
            cltv_expiry: 600,
            payment_hash: PaymentHash([2; 32]),
            shared_secret: [3; 32],
        }
    }

    const OUT: HtlcRef = HtlcRef {
        channel_id: ChannelId([4; 32]),
        htlc_id: 7,
    };

    #[test]
    fn a_fulfilled_forward_is_claimed_with_its_fee() {
        let mut p = pair();
        p.offered(OUT);
        assert_eq!(p.outgoing(), Some(OUT));
        p.outgoing_fulfilled(PaymentPreimage([5; 32]));
        p.outgoing_fulfilled(PaymentPreimage([5; 32]));
        assert_eq!(
            p.resolved(),
            Some(Resolution::Claimed {
                outgoing: OUT,
                amount_forwarded_msat: 1_000,
                fee_earned_msat: 10
            })
        );
    }

    #[test]
    fn a_forward_fails_back_only_when_nothing_can_still_be_fulfilled() {
        let mut refused = pair();
        refused.not_offered(alloc::vec![1], 0x1007);
        assert_eq!(
            refused.resolved(),
            Some(Resolution::Failed {
                failure_code: Some(0x1007)
            })
        );
        let mut failed = pair();
        failed.offered(OUT);
        failed.outgoing_failed_irrevocably(alloc::vec![2]);
        assert_eq!(failed.resolved(), Some(Resolution::Failed { failure_code: None }));
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "resolved while its forward is Offered")]
    fn an_offered_forward_may_not_fail_back() {
        let mut p = pair();
        p.offered(OUT);
        p.resolved();
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "fulfilled from Failing")]
    fn nothing_is_fulfilled_after_it_failed_irrevocably() {
        let mut p = pair();
        p.offered(OUT);
        p.outgoing_failed_irrevocably(alloc::vec![2]);
        p.outgoing_fulfilled(PaymentPreimage([5; 32]));
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "pays out more")]
    fn a_forward_paying_out_more_is_refused_by_construction() {
        let mut forward = match pair().stage {
            ForwardStage::Pending(f) => f,
            _ => unreachable!(),
        };
        forward.amount_msat = 1_011;
        let _ = HtlcPair::pending(incoming(), forward);
    }
}
