//! Deliberate bugs (feature `planted-bugs` only): each breaks one rule the testbed must
//! catch, so harnesses can show they do and the project can keep a recall figure
//! (`scripts/recall.sh`, `docs/recall.md`). A build without the feature has none of this.

use crate::wire::Message;

/// A deliberate bug, switched on for one node by [`super::manager::ChannelManagerConfig`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PlantedBug {
    /// `revoke_and_ack` is sent without waiting for the monitor update holding the new
    /// commitment to complete: while it is in progress, the durable monitor's latest
    /// commitment is one the peer can now prove revoked.
    RevokeAndAckBeforeMonitorUpdate,
    /// `commitment_signed` is sent without waiting for the monitor update holding the
    /// peer's new commitment: the peer can broadcast a commitment our durable monitor
    /// does not know.
    CommitmentSignedBeforeMonitorUpdate,
    /// `update_fulfill_htlc` is sent without waiting for the monitor update holding the
    /// preimage: the peer knows it was paid while our durable monitor cannot claim.
    FulfillBeforePreimageIsDurable,
    /// A completed monitor update counts as durable with every update before it, even
    /// those still in progress: messages go out while an earlier update they depend on
    /// is not durable.
    CompletionIgnoresEarlierUpdates,
    /// The id of a peer's `update_add_htlc` is not checked: we number the HTLC ourselves,
    /// and the two ends may later mean different HTLCs by one id.
    HtlcIdUnchecked,
    /// The secret of a peer's `revoke_and_ack` is not checked against the commitment's
    /// point: we may hold no way to punish the revoked commitment.
    RevocationSecretUnchecked,
    /// The preimage of a peer's `update_fulfill_htlc` is not checked against the hash: a
    /// payment counts as sent on a preimage that proves nothing.
    PreimageUnchecked,
    /// Our HTLCs are counted against the HTLC cap we set for the peer's instead of the
    /// one the peer set for ours: with different caps, the peer sees its limit broken.
    HtlcCapFromOwnLimits,
    /// The reserve we keep when offering is the one we demand of the peer instead of the
    /// one it demands of us: with different reserves, the peer sees its reserve broken.
    ReserveFromOwnLimits,
    /// As funder offering an HTLC we count the commitment fee without that HTLC's own
    /// weight: at the edge of what we can send, the peer finds it unaffordable.
    FunderForgetsNextHtlcFee,
    /// On restart, a monitor that lacks updates the channel acted on is not noticed: the
    /// channel runs on while its durable monitor cannot enforce what the peer holds.
    MonitorBehindRunsOn,
    /// The payee claims an HTLC that pays less than the invoice asked.
    PayeeAcceptsUnderpayment,
}

impl PlantedBug {
    /// Every planted bug.
    pub const ALL: [PlantedBug; 12] = [
        PlantedBug::RevokeAndAckBeforeMonitorUpdate,
        PlantedBug::CommitmentSignedBeforeMonitorUpdate,
        PlantedBug::FulfillBeforePreimageIsDurable,
        PlantedBug::CompletionIgnoresEarlierUpdates,
        PlantedBug::HtlcIdUnchecked,
        PlantedBug::RevocationSecretUnchecked,
        PlantedBug::PreimageUnchecked,
        PlantedBug::HtlcCapFromOwnLimits,
        PlantedBug::ReserveFromOwnLimits,
        PlantedBug::FunderForgetsNextHtlcFee,
        PlantedBug::MonitorBehindRunsOn,
        PlantedBug::PayeeAcceptsUnderpayment,
    ];

    /// The name command lines and reports use (kebab case).
    pub fn name(self) -> &'static str {
        match self {
            PlantedBug::RevokeAndAckBeforeMonitorUpdate => "revoke-and-ack-before-monitor-update",
            PlantedBug::CommitmentSignedBeforeMonitorUpdate => "commitment-signed-before-monitor-update",
            PlantedBug::FulfillBeforePreimageIsDurable => "fulfill-before-preimage-is-durable",
            PlantedBug::CompletionIgnoresEarlierUpdates => "completion-ignores-earlier-updates",
            PlantedBug::HtlcIdUnchecked => "htlc-id-unchecked",
            PlantedBug::RevocationSecretUnchecked => "revocation-secret-unchecked",
            PlantedBug::PreimageUnchecked => "preimage-unchecked",
            PlantedBug::HtlcCapFromOwnLimits => "htlc-cap-from-own-limits",
            PlantedBug::ReserveFromOwnLimits => "reserve-from-own-limits",
            PlantedBug::FunderForgetsNextHtlcFee => "funder-forgets-next-htlc-fee",
            PlantedBug::MonitorBehindRunsOn => "monitor-behind-runs-on",
            PlantedBug::PayeeAcceptsUnderpayment => "payee-accepts-underpayment",
        }
    }

    /// The bug named `name`, if any.
    pub fn from_name(name: &str) -> Option<PlantedBug> {
        PlantedBug::ALL.into_iter().find(|bug| bug.name() == name)
    }

    /// Whether this bug releases `message` without waiting for its monitor update.
    pub(crate) fn releases_early(self, message: &Message) -> bool {
        matches!(
            (self, message),
            (PlantedBug::RevokeAndAckBeforeMonitorUpdate, Message::RevokeAndAck(_))
                | (
                    PlantedBug::CommitmentSignedBeforeMonitorUpdate,
                    Message::CommitmentSigned(_)
                )
                | (
                    PlantedBug::FulfillBeforePreimageIsDurable,
                    Message::UpdateFulfillHtlc(_)
                )
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bug_reads_back_from_its_name() {
        for bug in PlantedBug::ALL {
            assert_eq!(PlantedBug::from_name(bug.name()), Some(bug));
        }
        assert_eq!(PlantedBug::from_name("no-such-bug"), None);
    }
}
