//! The network graph a router searches: public channels with their capacity and each
//! direction's forwarding policy. The user fills it (from gossip, or a simulator from its
//! scenario); the library never reaches out for it.
//!
//! Nodes and channels are indexed by dense integers, so a search over ten thousand nodes
//! works on flat arrays instead of maps keyed by public keys.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;

use bitcoin::secp256k1::PublicKey;

use crate::wire::ShortChannelId;

/// What a node charges and allows for forwarding over one direction of a channel
/// (BOLT 7 `channel_update`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoutingPolicy {
    /// The fee charged per forwarded HTLC.
    pub fee_base_msat: u32,
    /// The fee charged per million msat forwarded.
    pub fee_proportional_millionths: u32,
    /// Blocks the forwarding node keeps between the HTLC it receives and the one it
    /// offers.
    pub cltv_expiry_delta: u16,
    /// The smallest HTLC forwarded.
    pub htlc_minimum_msat: u64,
    /// The largest HTLC forwarded.
    pub htlc_maximum_msat: u64,
    /// Whether the direction forwards at all.
    pub enabled: bool,
}

impl RoutingPolicy {
    /// The fee for forwarding `amount_msat` (BOLT 7: base plus the proportional part,
    /// rounded down), or `None` if it does not fit a `u64`.
    pub fn fee_msat(&self, amount_msat: u64) -> Option<u64> {
        let proportional = u128::from(amount_msat) * u128::from(self.fee_proportional_millionths) / 1_000_000;
        u64::try_from(proportional)
            .ok()?
            .checked_add(u64::from(self.fee_base_msat))
    }

    /// Whether an HTLC of `amount_msat` may use this direction.
    pub fn carries(&self, amount_msat: u64) -> bool {
        self.enabled && amount_msat >= self.htlc_minimum_msat && amount_msat <= self.htlc_maximum_msat
    }
}

/// A public channel: its two ends, in the BOLT 7 order (`node_one` has the lesser
/// public key), its capacity, and each direction's policy once known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphChannel {
    /// The channel's short id.
    pub short_channel_id: ShortChannelId,
    /// The end with the lesser public key.
    pub node_one: PublicKey,
    /// The other end.
    pub node_two: PublicKey,
    /// The funding output's value: no HTLC is larger.
    pub capacity_sat: u64,
    /// `node_one`'s policy for forwarding to `node_two`.
    pub one_to_two: Option<RoutingPolicy>,
    /// `node_two`'s policy for forwarding to `node_one`.
    pub two_to_one: Option<RoutingPolicy>,
}

impl GraphChannel {
    /// The policy `from` applies when forwarding over this channel, if `from` is an end
    /// and its policy is known.
    pub fn policy_from(&self, from: &PublicKey) -> Option<&RoutingPolicy> {
        if *from == self.node_one {
            self.one_to_two.as_ref()
        } else if *from == self.node_two {
            self.two_to_one.as_ref()
        } else {
            None
        }
    }

    /// The end that is not `node`.
    pub fn other_end(&self, node: &PublicKey) -> Option<PublicKey> {
        if *node == self.node_one {
            Some(self.node_two)
        } else if *node == self.node_two {
            Some(self.node_one)
        } else {
            None
        }
    }
}

/// Why the graph refused a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphError {
    /// A channel with this short id is already known.
    DuplicateChannel(ShortChannelId),
    /// A channel from a node to itself.
    SelfLoop,
    /// No channel with this short id.
    UnknownChannel(ShortChannelId),
    /// The node is not an end of the channel.
    NotAnEnd(ShortChannelId),
    /// The graph holds as many channels or nodes as it indexes.
    Full,
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GraphError::DuplicateChannel(scid) => write!(f, "channel {scid:?} is already in the graph"),
            GraphError::SelfLoop => f.write_str("a channel needs two different nodes"),
            GraphError::UnknownChannel(scid) => write!(f, "no channel {scid:?} in the graph"),
            GraphError::NotAnEnd(scid) => write!(f, "the node is not an end of channel {scid:?}"),
            GraphError::Full => f.write_str("the graph is full"),
        }
    }
}

/// One end's view of a channel in the adjacency lists: which channel, the index of the
/// other end, and whether the other end is `node_one` (whose policy is `one_to_two`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Edge {
    pub channel: u32,
    pub other: u32,
    pub other_is_one: bool,
}

/// The public channels a router searches.
#[derive(Clone, Debug, Default)]
pub struct NetworkGraph {
    nodes: Vec<PublicKey>,
    node_index: BTreeMap<PublicKey, u32>,
    /// Per node, its channels with their other ends' indexes: a search follows them
    /// without comparing or looking up keys.
    adjacency: Vec<Vec<Edge>>,
    channels: Vec<Option<GraphChannel>>,
    channel_index: BTreeMap<ShortChannelId, u32>,
}

impl NetworkGraph {
    /// An empty graph.
    pub fn new() -> Self {
        NetworkGraph::default()
    }

    /// Nodes with at least one channel ever added.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Channels in the graph.
    pub fn channel_count(&self) -> usize {
        self.channel_index.len()
    }

    fn index_of_or_insert(&mut self, node: PublicKey) -> Result<u32, GraphError> {
        if let Some(index) = self.node_index.get(&node) {
            return Ok(*index);
        }
        let index = u32::try_from(self.nodes.len()).map_err(|_| GraphError::Full)?;
        self.nodes.push(node);
        self.adjacency.push(Vec::new());
        self.node_index.insert(node, index);
        Ok(index)
    }

    /// Adds a channel between `a` and `b` (in either order) with no policy yet.
    pub fn add_channel(
        &mut self,
        short_channel_id: ShortChannelId,
        a: PublicKey,
        b: PublicKey,
        capacity_sat: u64,
    ) -> Result<(), GraphError> {
        if a == b {
            return Err(GraphError::SelfLoop);
        }
        if self.channel_index.contains_key(&short_channel_id) {
            return Err(GraphError::DuplicateChannel(short_channel_id));
        }
        let index = u32::try_from(self.channels.len()).map_err(|_| GraphError::Full)?;
        let (node_one, node_two) = if a.serialize() < b.serialize() { (a, b) } else { (b, a) };
        let one = self.index_of_or_insert(node_one)?;
        let two = self.index_of_or_insert(node_two)?;
        self.channels.push(Some(GraphChannel {
            short_channel_id,
            node_one,
            node_two,
            capacity_sat,
            one_to_two: None,
            two_to_one: None,
        }));
        self.channel_index.insert(short_channel_id, index);
        self.adjacency[one as usize].push(Edge {
            channel: index,
            other: two,
            other_is_one: false,
        });
        self.adjacency[two as usize].push(Edge {
            channel: index,
            other: one,
            other_is_one: true,
        });
        Ok(())
    }

    /// Sets the policy `from` applies forwarding over `short_channel_id`.
    pub fn update_policy(
        &mut self,
        short_channel_id: ShortChannelId,
        from: &PublicKey,
        policy: RoutingPolicy,
    ) -> Result<(), GraphError> {
        let index = *self
            .channel_index
            .get(&short_channel_id)
            .ok_or(GraphError::UnknownChannel(short_channel_id))?;
        let channel = self.channels[index as usize]
            .as_mut()
            .ok_or(GraphError::UnknownChannel(short_channel_id))?;
        if *from == channel.node_one {
            channel.one_to_two = Some(policy);
        } else if *from == channel.node_two {
            channel.two_to_one = Some(policy);
        } else {
            return Err(GraphError::NotAnEnd(short_channel_id));
        }
        Ok(())
    }

    /// Removes a channel (closed on chain); its nodes stay.
    pub fn remove_channel(&mut self, short_channel_id: ShortChannelId) -> Result<GraphChannel, GraphError> {
        let index = self
            .channel_index
            .remove(&short_channel_id)
            .ok_or(GraphError::UnknownChannel(short_channel_id))?;
        let channel = self.channels[index as usize]
            .take()
            .ok_or(GraphError::UnknownChannel(short_channel_id))?;
        for end in [channel.node_one, channel.node_two] {
            if let Some(node) = self.node_index.get(&end) {
                self.adjacency[*node as usize].retain(|edge| edge.channel != index);
            }
        }
        Ok(channel)
    }

    /// The channel with `short_channel_id`.
    pub fn channel(&self, short_channel_id: ShortChannelId) -> Option<&GraphChannel> {
        let index = self.channel_index.get(&short_channel_id)?;
        self.channels[*index as usize].as_ref()
    }

    /// Every channel, in short id order.
    pub fn channels(&self) -> impl Iterator<Item = &GraphChannel> {
        self.channel_index
            .values()
            .filter_map(|index| self.channels[*index as usize].as_ref())
    }

    /// The channels of `node`.
    pub fn channels_of(&self, node: &PublicKey) -> impl Iterator<Item = &GraphChannel> {
        let indexes: &[Edge] = self
            .node_index
            .get(node)
            .map(|i| self.adjacency[*i as usize].as_slice())
            .unwrap_or(&[]);
        indexes
            .iter()
            .filter_map(|edge| self.channels[edge.channel as usize].as_ref())
    }

    pub(crate) fn node_index(&self, node: &PublicKey) -> Option<u32> {
        self.node_index.get(node).copied()
    }

    pub(crate) fn node_at(&self, index: u32) -> &PublicKey {
        &self.nodes[index as usize]
    }

    /// The nodes known.
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The channels at node `index`, each with its adjacency entry.
    pub(crate) fn edges_at(&self, index: u32) -> impl Iterator<Item = (&GraphChannel, Edge)> {
        self.adjacency[index as usize]
            .iter()
            .filter_map(move |edge| Some((self.channels[edge.channel as usize].as_ref()?, *edge)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::secp256k1::{Secp256k1, SecretKey};

    fn node(i: u8) -> PublicKey {
        PublicKey::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[i.max(1); 32]).expect("key"))
    }

    fn policy(fee_base_msat: u32) -> RoutingPolicy {
        RoutingPolicy {
            fee_base_msat,
            fee_proportional_millionths: 100,
            cltv_expiry_delta: 40,
            htlc_minimum_msat: 1,
            htlc_maximum_msat: u64::MAX,
            enabled: true,
        }
    }

    #[test]
    fn fees_are_base_plus_proportional_rounded_down_and_never_overflow() {
        let p = RoutingPolicy {
            fee_proportional_millionths: 1_500,
            ..policy(1_000)
        };
        assert_eq!(p.fee_msat(1_000_000), Some(2_500));
        assert_eq!(p.fee_msat(999), Some(1_001), "1.4985 rounds down");
        let greedy = RoutingPolicy {
            fee_proportional_millionths: u32::MAX,
            ..policy(u32::MAX)
        };
        assert_eq!(greedy.fee_msat(u64::MAX), None);
    }

    #[test]
    fn policies_attach_to_their_direction_and_bad_changes_are_refused() {
        let mut graph = NetworkGraph::new();
        let scid = ShortChannelId(7);
        graph.add_channel(scid, node(2), node(1), 100_000).expect("adds");
        assert_eq!(
            graph.add_channel(scid, node(1), node(3), 1),
            Err(GraphError::DuplicateChannel(scid))
        );
        assert_eq!(
            graph.add_channel(ShortChannelId(8), node(1), node(1), 1),
            Err(GraphError::SelfLoop)
        );
        graph.update_policy(scid, &node(2), policy(5)).expect("an end");
        assert_eq!(
            graph.update_policy(scid, &node(3), policy(5)),
            Err(GraphError::NotAnEnd(scid))
        );
        let channel = graph.channel(scid).expect("known");
        assert!(channel.node_one.serialize() < channel.node_two.serialize());
        assert_eq!(channel.policy_from(&node(2)).map(|p| p.fee_base_msat), Some(5));
        assert_eq!(channel.policy_from(&node(1)), None);
        assert_eq!(graph.channels_of(&node(1)).count(), 1);
        graph.remove_channel(scid).expect("removes");
        assert_eq!(graph.channels_of(&node(1)).count(), 0);
        assert_eq!(graph.channel_count(), 0);
        assert_eq!(graph.remove_channel(scid), Err(GraphError::UnknownChannel(scid)));
    }
}
