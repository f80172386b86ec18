//! Feature bits (BOLT 9) and the negotiation rules of BOLT 1's `init`.
//!
//! Bits are numbered from the least-significant bit of the last byte. Features come in
//! pairs: the even bit says "required", the odd bit "supported".

use alloc::vec::Vec;
use core::fmt;

use super::codec::{encode_u16_prefixed, Decode, DecodeError, Encode, Reader};

/// A feature the specification assigns, named by its pair of bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Feature {
    /// 0/1 `option_data_loss_protect` (assumed).
    DataLossProtect,
    /// 4/5 `option_upfront_shutdown_script`.
    UpfrontShutdownScript,
    /// 6/7 `gossip_queries`.
    GossipQueries,
    /// 8/9 `var_onion_optin` (assumed).
    VarOnionOptin,
    /// 10/11 `gossip_queries_ex`.
    GossipQueriesEx,
    /// 12/13 `option_static_remotekey` (assumed).
    StaticRemoteKey,
    /// 14/15 `payment_secret` (assumed).
    PaymentSecret,
    /// 16/17 `basic_mpp`.
    BasicMpp,
    /// 18/19 `option_support_large_channel`.
    LargeChannel,
    /// 22/23 `option_anchors`.
    Anchors,
    /// 24/25 `option_route_blinding`.
    RouteBlinding,
    /// 26/27 `option_shutdown_anysegwit`.
    ShutdownAnySegwit,
    /// 28/29 `option_dual_fund`.
    DualFund,
    /// 34/35 `option_quiesce`.
    Quiesce,
    /// 36/37 `option_attribution_data`.
    AttributionData,
    /// 38/39 `option_onion_messages`.
    OnionMessages,
    /// 42/43 `option_provide_storage`.
    ProvideStorage,
    /// 44/45 `option_channel_type` (assumed).
    ChannelType,
    /// 46/47 `option_scid_alias`.
    ScidAlias,
    /// 48/49 `option_payment_metadata`.
    PaymentMetadata,
    /// 50/51 `option_zeroconf`.
    Zeroconf,
    /// 60/61 `option_simple_close`.
    SimpleClose,
    /// 62/63 `option_splice`.
    Splice,
}

impl Feature {
    /// Every assigned feature, in bit order.
    pub const ALL: [Feature; 23] = [
        Feature::DataLossProtect,
        Feature::UpfrontShutdownScript,
        Feature::GossipQueries,
        Feature::VarOnionOptin,
        Feature::GossipQueriesEx,
        Feature::StaticRemoteKey,
        Feature::PaymentSecret,
        Feature::BasicMpp,
        Feature::LargeChannel,
        Feature::Anchors,
        Feature::RouteBlinding,
        Feature::ShutdownAnySegwit,
        Feature::DualFund,
        Feature::Quiesce,
        Feature::AttributionData,
        Feature::OnionMessages,
        Feature::ProvideStorage,
        Feature::ChannelType,
        Feature::ScidAlias,
        Feature::PaymentMetadata,
        Feature::Zeroconf,
        Feature::SimpleClose,
        Feature::Splice,
    ];

    /// The even ("required") bit of the pair; the odd ("supported") bit is one above.
    pub const fn required_bit(self) -> usize {
        match self {
            Feature::DataLossProtect => 0,
            Feature::UpfrontShutdownScript => 4,
            Feature::GossipQueries => 6,
            Feature::VarOnionOptin => 8,
            Feature::GossipQueriesEx => 10,
            Feature::StaticRemoteKey => 12,
            Feature::PaymentSecret => 14,
            Feature::BasicMpp => 16,
            Feature::LargeChannel => 18,
            Feature::Anchors => 22,
            Feature::RouteBlinding => 24,
            Feature::ShutdownAnySegwit => 26,
            Feature::DualFund => 28,
            Feature::Quiesce => 34,
            Feature::AttributionData => 36,
            Feature::OnionMessages => 38,
            Feature::ProvideStorage => 42,
            Feature::ChannelType => 44,
            Feature::ScidAlias => 46,
            Feature::PaymentMetadata => 48,
            Feature::Zeroconf => 50,
            Feature::SimpleClose => 60,
            Feature::Splice => 62,
        }
    }

    /// The odd ("supported") bit of the pair.
    pub const fn optional_bit(self) -> usize {
        self.required_bit() + 1
    }

    /// The feature a bit belongs to, if it is assigned.
    pub fn from_bit(bit: usize) -> Option<Feature> {
        Feature::ALL.into_iter().find(|f| f.required_bit() == bit & !1)
    }

    /// The features this one depends on (BOLT 9's Dependencies column).
    pub const fn dependencies(self) -> &'static [Feature] {
        match self {
            Feature::BasicMpp => &[Feature::PaymentSecret],
            Feature::Zeroconf => &[Feature::ScidAlias],
            Feature::SimpleClose => &[Feature::ShutdownAnySegwit],
            _ => &[],
        }
    }

    /// The specification's name for the feature.
    pub const fn name(self) -> &'static str {
        match self {
            Feature::DataLossProtect => "option_data_loss_protect",
            Feature::UpfrontShutdownScript => "option_upfront_shutdown_script",
            Feature::GossipQueries => "gossip_queries",
            Feature::VarOnionOptin => "var_onion_optin",
            Feature::GossipQueriesEx => "gossip_queries_ex",
            Feature::StaticRemoteKey => "option_static_remotekey",
            Feature::PaymentSecret => "payment_secret",
            Feature::BasicMpp => "basic_mpp",
            Feature::LargeChannel => "option_support_large_channel",
            Feature::Anchors => "option_anchors",
            Feature::RouteBlinding => "option_route_blinding",
            Feature::ShutdownAnySegwit => "option_shutdown_anysegwit",
            Feature::DualFund => "option_dual_fund",
            Feature::Quiesce => "option_quiesce",
            Feature::AttributionData => "option_attribution_data",
            Feature::OnionMessages => "option_onion_messages",
            Feature::ProvideStorage => "option_provide_storage",
            Feature::ChannelType => "option_channel_type",
            Feature::ScidAlias => "option_scid_alias",
            Feature::PaymentMetadata => "option_payment_metadata",
            Feature::Zeroconf => "option_zeroconf",
            Feature::SimpleClose => "option_simple_close",
            Feature::Splice => "option_splice",
        }
    }
}

/// Why a peer's feature vector is unacceptable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeatureError {
    /// The peer requires (even bit) something this node does not understand.
    UnknownRequiredBit(usize),
    /// A feature is set without a feature it depends on.
    MissingDependency {
        /// The feature that is set.
        feature: Feature,
        /// The dependency that is not.
        requires: Feature,
    },
}

impl fmt::Display for FeatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeatureError::UnknownRequiredBit(bit) => {
                write!(f, "unknown required feature bit {bit}")
            }
            FeatureError::MissingDependency { feature, requires } => {
                write!(f, "feature {} set without {}", feature.name(), requires.name())
            }
        }
    }
}

/// A feature vector, stored as it is on the wire (big-endian bytes), so that a decoded
/// vector re-encodes to the same bytes even with leading zero bytes.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Features {
    be_bytes: Vec<u8>,
}

impl Features {
    /// No bits set.
    pub fn empty() -> Self {
        Features::default()
    }

    /// From wire bytes (big-endian: the last byte holds bits 0 to 7).
    pub fn from_be_bytes(be_bytes: Vec<u8>) -> Self {
        Features { be_bytes }
    }

    /// The wire bytes.
    pub fn as_be_bytes(&self) -> &[u8] {
        &self.be_bytes
    }

    /// Whether `bit` is set.
    pub fn is_set(&self, bit: usize) -> bool {
        let byte_from_end = bit / 8;
        if byte_from_end >= self.be_bytes.len() {
            return false;
        }
        let byte = self.be_bytes[self.be_bytes.len() - 1 - byte_from_end];
        byte & (1 << (bit % 8)) != 0
    }

    /// Sets `bit`, growing the vector as needed.
    pub fn set(&mut self, bit: usize) {
        let needed = bit / 8 + 1;
        if self.be_bytes.len() < needed {
            let grow = needed - self.be_bytes.len();
            self.be_bytes.splice(0..0, core::iter::repeat_n(0u8, grow));
        }
        let index = self.be_bytes.len() - 1 - bit / 8;
        self.be_bytes[index] |= 1 << (bit % 8);
    }

    /// Sets the feature's odd bit: supported but not required.
    pub fn set_optional(&mut self, feature: Feature) -> &mut Self {
        self.set(feature.optional_bit());
        self
    }

    /// Sets the feature's even bit: required.
    pub fn set_required(&mut self, feature: Feature) -> &mut Self {
        self.set(feature.required_bit());
        self
    }

    /// Whether the feature is offered (either bit set).
    pub fn offers(&self, feature: Feature) -> bool {
        self.is_set(feature.required_bit()) || self.is_set(feature.optional_bit())
    }

    /// Whether the feature is required (even bit set).
    pub fn requires(&self, feature: Feature) -> bool {
        self.is_set(feature.required_bit())
    }

    /// Every set bit, lowest first.
    pub fn set_bits(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.be_bytes.len() * 8).filter(move |bit| self.is_set(*bit))
    }

    /// The bitwise OR of two vectors, as `init` combines `globalfeatures` and `features`.
    pub fn union(&self, other: &Features) -> Features {
        let mut out = self.clone();
        for bit in other.set_bits() {
            out.set(bit);
        }
        out.minimized()
    }

    /// The same bits without leading zero bytes.
    pub fn minimized(mut self) -> Features {
        let zeros = self.be_bytes.iter().take_while(|b| **b == 0).count();
        self.be_bytes.drain(..zeros);
        self
    }

    /// Checks a peer's vector against what this node understands (`local`): every
    /// required bit must belong to a pair this node sets, and every set feature must have
    /// its dependencies set.
    pub fn check_against(&self, local: &Features) -> Result<(), FeatureError> {
        for bit in self.set_bits() {
            if bit % 2 == 0 && !local.is_set(bit) && !local.is_set(bit + 1) {
                return Err(FeatureError::UnknownRequiredBit(bit));
            }
        }
        self.check_dependencies()
    }

    /// Checks that every set feature has its dependencies set.
    pub fn check_dependencies(&self) -> Result<(), FeatureError> {
        for feature in Feature::ALL {
            if !self.offers(feature) {
                continue;
            }
            if let Some(requires) = feature.dependencies().iter().find(|d| !self.offers(**d)) {
                return Err(FeatureError::MissingDependency {
                    feature,
                    requires: *requires,
                });
            }
        }
        Ok(())
    }

    /// Whether a feature is negotiated on a connection (BOLT 1): both sides offered it,
    /// or the local node required it (a peer that stayed connected must support it).
    pub fn is_negotiated(local: &Features, remote: &Features, feature: Feature) -> bool {
        (local.offers(feature) && remote.offers(feature)) || local.requires(feature)
    }
}

impl fmt::Debug for Features {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Features[")?;
        for (i, bit) in self.set_bits().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match Feature::from_bit(bit) {
                Some(feature) if bit % 2 == 0 => write!(f, "{}(required)", feature.name())?,
                Some(feature) => write!(f, "{}", feature.name())?,
                None => write!(f, "bit {bit}")?,
            }
        }
        f.write_str("]")
    }
}

/// `u16`-length-prefixed, as in `init`, `channel_announcement` and `node_announcement`.
impl Encode for Features {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_u16_prefixed(&self.be_bytes, out);
    }
}

impl Decode for Features {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Features::from_be_bytes(r.u16_prefixed()?.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// Each feature has its own BOLT 9 name (errors and logs name features by it).
    #[test]
    fn every_feature_has_its_own_bolt9_name() {
        let names: alloc::collections::BTreeSet<&str> = Feature::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(names.len(), Feature::ALL.len());
        assert!(names
            .iter()
            .all(|n| n.len() > 5 && n.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
        assert_eq!(Feature::DataLossProtect.name(), "option_data_loss_protect");
        assert_eq!(Feature::VarOnionOptin.name(), "var_onion_optin");
        assert_eq!(Feature::Splice.name(), "option_splice");
    }

    #[test]
    fn bits_are_numbered_from_the_last_byte() {
        let mut f = Features::empty();
        f.set(0);
        f.set(9);
        assert_eq!(f.as_be_bytes(), &[0x02, 0x01]);
        assert!(f.is_set(0) && f.is_set(9) && !f.is_set(8) && !f.is_set(100));
        assert_eq!(f.set_bits().collect::<Vec<_>>(), vec![0, 9]);
    }

    #[test]
    fn unknown_required_bits_are_refused_and_odd_ones_ignored() {
        let mut local = Features::empty();
        local.set_optional(Feature::StaticRemoteKey);
        let mut remote = Features::empty();
        remote.set_required(Feature::StaticRemoteKey).set(101);
        assert_eq!(remote.check_against(&local), Ok(()));
        remote.set(100);
        assert_eq!(remote.check_against(&local), Err(FeatureError::UnknownRequiredBit(100)));
    }

    #[test]
    fn dependencies_are_checked() {
        let mut f = Features::empty();
        f.set_optional(Feature::BasicMpp);
        assert_eq!(
            f.check_dependencies(),
            Err(FeatureError::MissingDependency {
                feature: Feature::BasicMpp,
                requires: Feature::PaymentSecret
            })
        );
        f.set_required(Feature::PaymentSecret);
        assert_eq!(f.check_dependencies(), Ok(()));
        // Every row of BOLT 9's Dependencies column.
        for (feature, requires) in [
            (Feature::BasicMpp, Feature::PaymentSecret),
            (Feature::Zeroconf, Feature::ScidAlias),
            (Feature::SimpleClose, Feature::ShutdownAnySegwit),
        ] {
            let mut f = Features::empty();
            f.set_optional(feature);
            assert_eq!(
                f.check_dependencies(),
                Err(FeatureError::MissingDependency { feature, requires })
            );
            f.set_optional(requires);
            assert_eq!(f.check_dependencies(), Ok(()));
        }
    }

    #[test]
    fn negotiation_follows_bolt1() {
        let mut local = Features::empty();
        let mut remote = Features::empty();
        local.set_optional(Feature::ScidAlias);
        assert!(!Features::is_negotiated(&local, &remote, Feature::ScidAlias));
        remote.set_optional(Feature::ScidAlias);
        assert!(Features::is_negotiated(&local, &remote, Feature::ScidAlias));
        let mut local_required = Features::empty();
        local_required.set_required(Feature::Quiesce);
        assert!(Features::is_negotiated(
            &local_required,
            &Features::empty(),
            Feature::Quiesce
        ));
    }

    #[test]
    fn union_combines_and_minimizes() {
        let a = Features::from_be_bytes(vec![0, 0, 0x01]);
        let b = Features::from_be_bytes(vec![0x80, 0x00]);
        assert_eq!(a.union(&b).as_be_bytes(), &[0x80, 0x01]);
    }

    #[test]
    fn every_feature_maps_back_from_both_bits() {
        for f in Feature::ALL {
            assert_eq!(Feature::from_bit(f.required_bit()), Some(f));
            assert_eq!(Feature::from_bit(f.optional_bit()), Some(f));
        }
        assert_eq!(Feature::from_bit(2), None);
    }
}
