//! Finding paths for a payment: the [`Router`] interface the channel manager calls, and
//! [`DefaultRouter`], a Dijkstra search over a [`NetworkGraph`] weighing fees, time
//! locked and the chance each channel can carry the amount.

use alloc::collections::{BTreeMap, BinaryHeap};
use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Reverse;
use core::fmt;

use bitcoin::secp256k1::PublicKey;

use super::graph::{GraphChannel, NetworkGraph};
use super::scorer::{LiquidityScorer, LOG_SCALE};
use crate::wire::ShortChannelId;

/// The most hops a path may have: a 1,300-byte onion holds about 20 forwarding payloads
/// with room for the final one.
pub const MAX_PATH_HOPS: usize = 20;

/// BOLT 4's default bound on the time a payment may lock funds: two weeks of blocks.
pub const DEFAULT_MAX_TOTAL_CLTV_EXPIRY_DELTA: u32 = 2016;

/// One channel of a path: the HTLC over it, into `node_id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteHop {
    /// The node the channel leads to.
    pub node_id: PublicKey,
    /// The channel.
    pub short_channel_id: ShortChannelId,
    /// What the HTLC over this channel carries: what reaches the payee plus the fees of
    /// every node after this channel.
    pub amount_msat: u64,
    /// Blocks the HTLC over this channel expires after the payee's: the CLTV deltas of
    /// every node after this channel.
    pub expiry_beyond_final_blocks: u32,
}

/// The channels from the payer to the payee, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path {
    /// At least one hop; the last leads to the payee.
    pub hops: Vec<RouteHop>,
}

impl Path {
    /// What reaches the payee.
    pub fn amount_msat(&self) -> u64 {
        self.hops.last().map_or(0, |h| h.amount_msat)
    }

    /// What the forwarding nodes charge (nothing for a path whose amounts grow, which
    /// [`Path::check`] refuses).
    pub fn fee_msat(&self) -> u64 {
        self.hops
            .first()
            .map_or(0, |h| h.amount_msat)
            .saturating_sub(self.amount_msat())
    }

    /// The payee.
    pub fn payee(&self) -> Option<PublicKey> {
        self.hops.last().map(|h| h.node_id)
    }

    /// Checks what every path must be: 1 to [`MAX_PATH_HOPS`] hops, amounts that never
    /// grow and expiries that never lengthen along it, the last hop with no fee and no
    /// delta.
    pub fn check(&self) -> Result<(), &'static str> {
        let last = self.hops.last().ok_or("a path without hops")?;
        if self.hops.len() > MAX_PATH_HOPS {
            return Err("a path longer than an onion holds");
        }
        if last.expiry_beyond_final_blocks != 0 {
            return Err("the last hop's expiry is the payee's");
        }
        if last.amount_msat == 0 {
            return Err("a path paying nothing");
        }
        let ordered = self.hops.windows(2).all(|pair| {
            pair[0].amount_msat >= pair[1].amount_msat
                && pair[0].expiry_beyond_final_blocks >= pair[1].expiry_beyond_final_blocks
        });
        if !ordered {
            return Err("a path whose amounts or expiries grow toward the payee");
        }
        Ok(())
    }
}

/// Paths that together pay the amount asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// One path, or several for a multi-part payment.
    pub paths: Vec<Path>,
}

impl Route {
    /// What reaches the payee over every path.
    pub fn amount_msat(&self) -> u64 {
        self.paths.iter().map(Path::amount_msat).sum()
    }

    /// What every path's forwarding nodes charge.
    pub fn fee_msat(&self) -> u64 {
        self.paths.iter().map(Path::fee_msat).sum()
    }
}

/// A channel of the payer's own that a route may start with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirstHop {
    /// The id the manager knows it by (its short channel id, or alias before that).
    pub short_channel_id: ShortChannelId,
    /// The peer.
    pub counterparty: PublicKey,
    /// The most one HTLC can carry over it now.
    pub outbound_capacity_msat: u64,
}

/// What the payer asks of a route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteParameters {
    /// Who is paid.
    pub payee: PublicKey,
    /// What reaches the payee.
    pub amount_msat: u64,
    /// The payee's `min_final_cltv_expiry_delta`.
    pub final_cltv_expiry_delta: u32,
    /// The most blocks, final delta included, the payment may lock funds for.
    pub max_total_cltv_expiry_delta: u32,
    /// The most parts the payment may be split into (1: never split).
    pub max_path_count: u8,
    /// The most fees the payer pays over every path, if bounded.
    pub max_fee_msat: Option<u64>,
    /// Channels not to use (they failed this payment already).
    pub avoid: Vec<ShortChannelId>,
}

impl RouteParameters {
    /// Paying `amount_msat` to `payee` with `final_cltv_expiry_delta`, unsplit, with
    /// BOLT 4's bound on time locked and no bound on fees.
    pub fn new(payee: PublicKey, amount_msat: u64, final_cltv_expiry_delta: u32) -> Self {
        RouteParameters {
            payee,
            amount_msat,
            final_cltv_expiry_delta,
            max_total_cltv_expiry_delta: DEFAULT_MAX_TOTAL_CLTV_EXPIRY_DELTA,
            max_path_count: 1,
            max_fee_msat: None,
            avoid: Vec::new(),
        }
    }
}

/// Why no route was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteError {
    /// The payer is the payee.
    PayerIsPayee,
    /// An amount of zero.
    ZeroAmount,
    /// The payer has no usable channel.
    NoFirstHop,
    /// No path can carry the amount within the limits: why.
    NoPath(String),
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteError::PayerIsPayee => f.write_str("the payer is the payee"),
            RouteError::ZeroAmount => f.write_str("a payment of nothing"),
            RouteError::NoFirstHop => f.write_str("no usable channel of our own"),
            RouteError::NoPath(why) => write!(f, "no route: {why}"),
        }
    }
}

/// Finds paths for payments; the channel manager calls it when sending and retrying,
/// and tells it how paths fared so it can learn.
pub trait Router {
    /// Paths from `payer` that together deliver `params.amount_msat` to `params.payee`,
    /// starting over one of `first_hops`.
    fn find_route(
        &self,
        payer: &PublicKey,
        params: &RouteParameters,
        first_hops: &[FirstHop],
    ) -> Result<Route, RouteError>;

    /// A path failed at `failed_channel` (the channel out of the erring node), or
    /// somewhere unknown.
    fn path_failed(&mut self, _path: &Path, _failed_channel: Option<ShortChannelId>) {}

    /// A path delivered its part.
    fn path_succeeded(&mut self, _path: &Path) {}

    /// The chain's tip moved (what was learned may age).
    fn best_block_updated(&mut self, _height: u32) {}
}

/// How [`DefaultRouter`] weighs a hop, in msat of cost beside the fee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteWeights {
    /// Every hop costs this (fewer hops fail less often).
    pub base_penalty_msat: u64,
    /// Per halving of the chance the channel carries the amount.
    pub liquidity_penalty_msat: u64,
    /// Per block a hop locks, per million msat locked.
    pub cltv_penalty_per_block_per_million_msat: u64,
}

impl Default for RouteWeights {
    fn default() -> Self {
        RouteWeights {
            base_penalty_msat: 500,
            liquidity_penalty_msat: 10_000,
            cltv_penalty_per_block_per_million_msat: 1,
        }
    }
}

/// The library's router: the user's [`NetworkGraph`] and what payments taught it.
#[derive(Clone, Debug, Default)]
pub struct DefaultRouter {
    graph: NetworkGraph,
    scorer: LiquidityScorer,
    weights: RouteWeights,
}

/// Per node, during a search: the best way found from it to the payee.
#[derive(Clone, Copy)]
struct Label {
    cost_msat: u64,
    /// What the HTLC into this node must carry.
    amount_msat: u64,
    /// Blocks the HTLC into this node expires after the payee's.
    expiry_beyond_final_blocks: u32,
    hops: u8,
    /// The channel out of this node toward the payee, and the node it leads to.
    next: Option<(ShortChannelId, u32)>,
}

/// Liquidity already promised to other parts of the route being built.
type Used = BTreeMap<ShortChannelId, u64>;

impl DefaultRouter {
    /// A router over `graph`, knowing nothing yet of liquidity.
    pub fn new(graph: NetworkGraph) -> Self {
        DefaultRouter {
            graph,
            ..DefaultRouter::default()
        }
    }

    /// The graph, to read.
    pub fn graph(&self) -> &NetworkGraph {
        &self.graph
    }

    /// The graph, to fill.
    pub fn graph_mut(&mut self) -> &mut NetworkGraph {
        &mut self.graph
    }

    /// What it learned.
    pub fn scorer(&self) -> &LiquidityScorer {
        &self.scorer
    }

    /// Sets how hops are weighed.
    pub fn set_weights(&mut self, weights: RouteWeights) {
        self.weights = weights;
    }

    fn direction(channel: &GraphChannel, from: &PublicKey) -> (ShortChannelId, bool) {
        (channel.short_channel_id, *from == channel.node_one)
    }

    /// The cost beside the fee of an HTLC of `amount_msat` over `channel` in
    /// `direction`, or `None` if it cannot carry it.
    fn hop_penalty(
        &self,
        channel: &GraphChannel,
        direction: (ShortChannelId, bool),
        amount_msat: u64,
        used: &Used,
    ) -> Option<u64> {
        let capacity_msat = channel.capacity_sat.saturating_mul(1000);
        let already = used.get(&channel.short_channel_id).copied().unwrap_or(0);
        let amount_with_used = amount_msat.checked_add(already)?;
        if amount_with_used > capacity_msat {
            return None;
        }
        let halvings = self
            .scorer
            .neg_log2_success(direction, amount_with_used, capacity_msat)?;
        let liquidity = self.weights.liquidity_penalty_msat.saturating_mul(halvings) / LOG_SCALE;
        Some(self.weights.base_penalty_msat.saturating_add(liquidity))
    }

    /// One path for `amount_msat`, within what `used` leaves of each channel.
    fn find_path(
        &self,
        payer: &PublicKey,
        params: &RouteParameters,
        amount_msat: u64,
        first_hops: &[FirstHop],
        used: &Used,
    ) -> Result<Path, String> {
        let max_beyond_final = params
            .max_total_cltv_expiry_delta
            .checked_sub(params.final_cltv_expiry_delta)
            .ok_or("the payee's final delta exceeds the most blocks the payment may lock")?;
        // Whether our channel carries `carried_msat` (the payee's amount plus the fees
        // of every forwarder) beside what other parts already put on it.
        let first_hop_fits = |hop: &FirstHop, carried_msat: u64| {
            let already = used.get(&hop.short_channel_id).copied().unwrap_or(0);
            !params.avoid.contains(&hop.short_channel_id)
                && carried_msat
                    .checked_add(already)
                    .is_some_and(|total| total <= hop.outbound_capacity_msat)
        };
        // A direct channel to the payee, if one carries it: no fee, no penalty beyond one hop.
        let direct = first_hops
            .iter()
            .filter(|h| h.counterparty == params.payee && first_hop_fits(h, amount_msat))
            .max_by_key(|h| h.outbound_capacity_msat);
        if let Some(hop) = direct {
            return Ok(Path {
                hops: alloc::vec![RouteHop {
                    node_id: params.payee,
                    short_channel_id: hop.short_channel_id,
                    amount_msat,
                    expiry_beyond_final_blocks: 0,
                }],
            });
        }
        let payee = self
            .graph
            .node_index(&params.payee)
            .ok_or("the payee has no public channel and none of ours reaches it")?;
        let payer_index = self.graph.node_index(payer);
        // Our channels by the graph index of the node they lead to: found by index as
        // the search pops nodes, not by comparing keys.
        let mut entries: Vec<(u32, FirstHop)> = first_hops
            .iter()
            .filter_map(|hop| Some((self.graph.node_index(&hop.counterparty)?, *hop)))
            .collect();
        entries.sort_unstable_by_key(|(node, _)| *node);
        let mut labels: Vec<Option<Label>> = alloc::vec![None; self.graph.len()];
        let mut heap = BinaryHeap::new();
        labels[payee as usize] = Some(Label {
            cost_msat: 0,
            amount_msat,
            expiry_beyond_final_blocks: 0,
            hops: 0,
            next: None,
        });
        heap.push(Reverse((0u64, payee)));
        // The best way in from the payer: through which first hop, into which node.
        let mut best: Option<(u64, FirstHop, u32)> = None;
        while let Some(Reverse((cost_msat, node))) = heap.pop() {
            let Some(label) = labels[node as usize] else { continue };
            if cost_msat > label.cost_msat {
                continue; // A stale entry: a cheaper way was found since.
            }
            if best.is_some_and(|(best_cost, _, _)| best_cost <= cost_msat) {
                break;
            }
            if usize::from(label.hops) < MAX_PATH_HOPS {
                let start = entries.partition_point(|(entry, _)| *entry < node);
                for (_, hop) in entries[start..].iter().take_while(|(entry, _)| *entry == node) {
                    if !first_hop_fits(hop, label.amount_msat) {
                        continue;
                    }
                    let total = cost_msat.saturating_add(self.weights.base_penalty_msat);
                    if best.is_none_or(|(best_cost, _, _)| total < best_cost) {
                        best = Some((total, *hop, node));
                    }
                }
            }
            if usize::from(label.hops) + 1 >= MAX_PATH_HOPS {
                continue;
            }
            for (channel, edge) in self.graph.edges_at(node) {
                let from = edge.other;
                if Some(from) == payer_index || params.avoid.contains(&channel.short_channel_id) {
                    continue; // Our own channels are the first hops'.
                }
                let policy = if edge.other_is_one {
                    channel.one_to_two.as_ref()
                } else {
                    channel.two_to_one.as_ref()
                };
                let Some(policy) = policy else { continue };
                if !policy.carries(label.amount_msat) {
                    continue;
                }
                let direction = (channel.short_channel_id, edge.other_is_one);
                let Some(penalty) = self.hop_penalty(channel, direction, label.amount_msat, used) else {
                    continue;
                };
                let Some(fee) = policy.fee_msat(label.amount_msat) else {
                    continue;
                };
                let Some(amount_in) = label.amount_msat.checked_add(fee) else {
                    continue;
                };
                let expiry = label.expiry_beyond_final_blocks + u32::from(policy.cltv_expiry_delta);
                if expiry > max_beyond_final {
                    continue;
                }
                let cltv_penalty = (u128::from(expiry) * u128::from(amount_in) / 1_000_000) as u64;
                let cost = cost_msat
                    .saturating_add(fee)
                    .saturating_add(penalty)
                    .saturating_add(cltv_penalty.saturating_mul(self.weights.cltv_penalty_per_block_per_million_msat));
                if labels[from as usize].is_some_and(|l| l.cost_msat <= cost) {
                    continue;
                }
                labels[from as usize] = Some(Label {
                    cost_msat: cost,
                    amount_msat: amount_in,
                    expiry_beyond_final_blocks: expiry,
                    hops: label.hops + 1,
                    next: Some((channel.short_channel_id, node)),
                });
                heap.push(Reverse((cost, from)));
            }
        }
        let (_, first, entry) = best.ok_or("no path carries the amount")?;
        let mut hops = Vec::new();
        let mut node = entry;
        let mut channel = first.short_channel_id;
        loop {
            let label = labels[node as usize].ok_or("a path through a node never labelled")?;
            hops.push(RouteHop {
                node_id: *self.graph.node_at(node),
                short_channel_id: channel,
                amount_msat: label.amount_msat,
                expiry_beyond_final_blocks: label.expiry_beyond_final_blocks,
            });
            match label.next {
                Some((next_channel, next_node)) => {
                    channel = next_channel;
                    node = next_node;
                }
                None => break,
            }
        }
        let path = Path { hops };
        debug_assert_eq!(path.check(), Ok(()));
        debug_assert_eq!(path.amount_msat(), amount_msat);
        Ok(path)
    }

    /// Paths splitting `params.amount_msat` when no single path carries it: each part
    /// the largest found (halving from what remains), each channel's use counted across
    /// parts.
    fn split(&self, payer: &PublicKey, params: &RouteParameters, first_hops: &[FirstHop]) -> Result<Route, String> {
        let max_paths = usize::from(params.max_path_count.max(1));
        let mut used = Used::new();
        let mut paths: Vec<Path> = Vec::new();
        let mut remaining = params.amount_msat;
        let mut part = remaining;
        while remaining > 0 {
            let parts_left = (max_paths - paths.len()) as u64;
            if parts_left == 0 {
                return Err(alloc::format!(
                    "no {max_paths} paths carry it together ({remaining} msat left unplaced)"
                ));
            }
            // Smaller parts than this could not place the rest within the parts left.
            let smallest = remaining.div_ceil(parts_left);
            match self.find_path(payer, params, part, first_hops, &used) {
                Ok(path) => {
                    for hop in &path.hops {
                        *used.entry(hop.short_channel_id).or_default() += hop.amount_msat;
                    }
                    remaining -= part;
                    part = remaining;
                    paths.push(path);
                }
                Err(why) if part <= smallest => {
                    return Err(alloc::format!("{why} (split into parts of {part} msat)"));
                }
                Err(_) => part = (part / 2).max(smallest),
            }
        }
        Ok(Route { paths })
    }
}

impl Router for DefaultRouter {
    fn find_route(
        &self,
        payer: &PublicKey,
        params: &RouteParameters,
        first_hops: &[FirstHop],
    ) -> Result<Route, RouteError> {
        if *payer == params.payee {
            return Err(RouteError::PayerIsPayee);
        }
        if params.amount_msat == 0 {
            return Err(RouteError::ZeroAmount);
        }
        if first_hops.is_empty() {
            return Err(RouteError::NoFirstHop);
        }
        let whole = self.find_path(payer, params, params.amount_msat, first_hops, &Used::new());
        let route = match whole {
            Ok(path) => Route {
                paths: alloc::vec![path],
            },
            Err(why) if params.max_path_count <= 1 => return Err(RouteError::NoPath(why)),
            Err(_) => self.split(payer, params, first_hops).map_err(RouteError::NoPath)?,
        };
        if let Some(max_fee_msat) = params.max_fee_msat {
            if route.fee_msat() > max_fee_msat {
                return Err(RouteError::NoPath(alloc::format!(
                    "the cheapest route found costs {} msat in fees, above the {max_fee_msat} allowed",
                    route.fee_msat()
                )));
            }
        }
        debug_assert_eq!(route.amount_msat(), params.amount_msat);
        Ok(route)
    }

    fn path_failed(&mut self, path: &Path, failed_channel: Option<ShortChannelId>) {
        let Some(failed_at) = path
            .hops
            .iter()
            .position(|h| Some(h.short_channel_id) == failed_channel)
        else {
            return; // Unattributed: nothing learned.
        };
        // Hop 0 is our own channel (the manager knows its liquidity); the channels
        // between it and the failing one carried the amount.
        for index in 1..=failed_at {
            let (sender, hop) = (path.hops[index - 1].node_id, path.hops[index]);
            let Some(channel) = self.graph.channel(hop.short_channel_id) else {
                continue;
            };
            let capacity_msat = channel.capacity_sat.saturating_mul(1000);
            let direction = Self::direction(channel, &sender);
            if index == failed_at {
                self.scorer.failed(direction, hop.amount_msat, capacity_msat);
            } else {
                self.scorer.passed(direction, hop.amount_msat, capacity_msat);
            }
        }
    }

    fn path_succeeded(&mut self, path: &Path) {
        for pair in path.hops.windows(2) {
            let (sender, hop) = (pair[0].node_id, pair[1]);
            if let Some(channel) = self.graph.channel(hop.short_channel_id) {
                let capacity_msat = channel.capacity_sat.saturating_mul(1000);
                self.scorer
                    .passed(Self::direction(channel, &sender), hop.amount_msat, capacity_msat);
            }
        }
    }

    fn best_block_updated(&mut self, height: u32) {
        self.scorer.best_block_updated(height);
    }
}

// ---- Persistence: paths of payments in flight, and in events. ----

use crate::wire::{Decode, DecodeError, Encode, Reader};

impl Encode for Path {
    fn encode(&self, out: &mut Vec<u8>) {
        (self.hops.len() as u8).encode(out);
        for hop in &self.hops {
            hop.node_id.encode(out);
            hop.short_channel_id.encode(out);
            hop.amount_msat.encode(out);
            hop.expiry_beyond_final_blocks.encode(out);
        }
    }
}

impl Decode for Path {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let count = u8::decode(r)?;
        let hops = (0..count)
            .map(|_| {
                Ok(RouteHop {
                    node_id: Decode::decode(r)?,
                    short_channel_id: Decode::decode(r)?,
                    amount_msat: Decode::decode(r)?,
                    expiry_beyond_final_blocks: Decode::decode(r)?,
                })
            })
            .collect::<Result<Vec<_>, DecodeError>>()?;
        let path = Path { hops };
        // What a path must be is checked on the way in, as on the way out.
        path.check().map_err(|_| DecodeError::InvalidValue { field: "path" })?;
        Ok(path)
    }
}
