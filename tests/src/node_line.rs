//! Whole nodes joined by channels over real BOLT 8, in a line `0 - 1 - ... - n` or any
//! other shape, one confirmed channel per link (funded by its first node, with a push to
//! the other so both can pay): the harness for forwarding. The test moves bytes by hand
//! (`pump_link`, `process`), drives forwards, and can drop, crash and restart any node.

use lightning::chan::manager::outbound::Retry;
use lightning::chan::manager::payments::MIN_FINAL_CLTV_EXPIRY_DELTA;
use lightning::events::Event;
use lightning::routing::{DefaultRouter, NetworkGraph, RouteParameters};
use lightning::transport::PeerId;
use lightning::wire::{ChannelId, PaymentHash, PaymentPreimage, ShortChannelId};
use sim::node::{disconnect, node, pump, restart, Node};
use sim::wallet::fund_channel;

/// The block the fundings confirm in; the tip is two later.
pub const FUNDING_HEIGHT: u32 = 101;

/// Nodes and the channel of each link.
pub struct Line {
    /// The nodes.
    pub nodes: Vec<Node>,
    /// The links: `(a, b)` with `a < b`; `channels[i]` is link `i`'s channel.
    pub edges: Vec<(usize, usize)>,
    /// The channel of each link (a line's link `i` joins node `i` and node `i + 1`).
    pub channels: Vec<ChannelId>,
    /// Their short channel ids.
    pub scids: Vec<ShortChannelId>,
    /// What each node raised and the test has not looked at yet.
    pub events: Vec<Vec<Event>>,
    /// The seeds nodes were made from (a restart reuses its node's).
    seeds: Vec<u8>,
    /// Links currently down.
    down: Vec<bool>,
    /// Each channel's capacity.
    capacity_sat: u64,
}

/// The connection of link `i` (the same id at both ends).
pub fn link(i: usize) -> PeerId {
    PeerId(i as u64 + 1)
}

impl Line {
    /// `count` nodes, each link a channel of `capacity_sat` funded by its left node,
    /// `push_msat` of it pushed to the right.
    pub fn new(count: usize, capacity_sat: u64, push_msat: u64) -> Line {
        let edges: Vec<(usize, usize)> = (0..count.saturating_sub(1)).map(|i| (i, i + 1)).collect();
        Line::with_edges(count, &edges, capacity_sat, push_msat)
    }

    /// `count` nodes joined by `edges` (`(a, b)` with `a < b`), each a channel as in
    /// [`Line::new`].
    pub fn with_edges(count: usize, edges: &[(usize, usize)], capacity_sat: u64, push_msat: u64) -> Line {
        assert!(count >= 2 && edges.iter().all(|(a, b)| a < b && *b < count));
        let seeds: Vec<u8> = (0..count).map(|i| 10 + i as u8).collect();
        let mut line = Line {
            nodes: seeds.iter().map(|s| node(*s)).collect(),
            edges: edges.to_vec(),
            channels: Vec::new(),
            scids: Vec::new(),
            events: vec![Vec::new(); count],
            seeds,
            down: vec![false; edges.len()],
            capacity_sat,
        };
        for i in 0..edges.len() {
            let (left, right) = line.pair(i);
            connect_again(left, right, link(i));
        }
        let mut fundings = Vec::new();
        for (i, (a, b)) in edges.iter().copied().enumerate() {
            let right_id = line.nodes[b].node_id();
            line.nodes[a]
                .channel_handler_mut()
                .open_channel(right_id, capacity_sat, push_msat)
                .expect("connected");
            line.pump_link(i);
            let ready = line.nodes[a].channel_handler_mut().take_events();
            let event = ready
                .iter()
                .find(|e| matches!(e, Event::FundingGenerationReady { .. }))
                .expect("funding asked for");
            let (channel_id, tx) = fund_channel(&mut line.nodes[a], event, [100 + i as u8; 32]).expect("funded");
            line.pump_link(i);
            line.channels.push(channel_id);
            fundings.push(tx);
        }
        for (index, tx) in fundings.iter().enumerate() {
            let (a, b) = edges[index];
            for n in [a, b] {
                line.nodes[n].channel_handler_mut().transaction_confirmed_in_block(
                    tx,
                    FUNDING_HEIGHT,
                    index as u32 + 1,
                );
            }
            let scid = ShortChannelId::new(FUNDING_HEIGHT, index as u32 + 1, 0).expect("fits");
            line.scids.push(scid);
        }
        line.connect_blocks(FUNDING_HEIGHT + 2);
        line.process();
        for events in &mut line.events {
            events.clear();
        }
        line
    }

    /// The two nodes of link `i`, both mutably.
    pub fn pair(&mut self, i: usize) -> (&mut Node, &mut Node) {
        let (a, b) = self.edges[i];
        let (left, right) = self.nodes.split_at_mut(b);
        (&mut left[a], &mut right[0])
    }

    /// Every node sees the tip at `height`.
    pub fn connect_blocks(&mut self, height: u32) {
        for n in &mut self.nodes {
            n.channel_handler_mut().best_block_updated(height);
        }
    }

    /// Moves bytes both ways on link `i` until it is quiet; whether any moved.
    pub fn pump_link(&mut self, i: usize) -> bool {
        if self.down[i] {
            return false;
        }
        let id = link(i);
        let mut moved = false;
        for _ in 0..1000 {
            let (left, right) = self.pair(i);
            let to_right = left.take_outbound(id);
            let to_left = right.take_outbound(id);
            if to_right.is_empty() && to_left.is_empty() {
                return moved;
            }
            moved = true;
            if !to_right.is_empty() {
                right.read(id, &to_right).expect("valid bytes");
            }
            if !to_left.is_empty() {
                left.read(id, &to_left).expect("valid bytes");
            }
        }
        panic!("link {i} did not settle");
    }

    /// Moves every link's bytes and forwards what waits, until nothing moves; gathers
    /// the events.
    pub fn process(&mut self) {
        self.process_with(true);
    }

    /// As [`Self::process`], calling `process_pending_forwards` only if `forward`.
    pub fn process_with(&mut self, forward: bool) {
        for _ in 0..1000 {
            let mut moved = false;
            for i in 0..self.edges.len() {
                moved |= self.pump_link(i);
            }
            for n in &mut self.nodes {
                let before = n.channel_handler().pending_forward_count();
                if forward {
                    n.channel_handler_mut().process_pending_forwards();
                }
                moved |= forward && before > 0;
                // Forwarding queues messages; the peer manager sends them when asked.
                n.process_events();
            }
            self.gather_events();
            if !moved {
                return;
            }
        }
        panic!("the line did not settle");
    }

    fn gather_events(&mut self) {
        for (i, n) in self.nodes.iter_mut().enumerate() {
            self.events[i].extend(n.channel_handler_mut().take_events());
        }
    }

    /// The events node `i` raised since the last call.
    pub fn take_events(&mut self, i: usize) -> Vec<Event> {
        self.gather_events();
        std::mem::take(&mut self.events[i])
    }

    /// A router over every channel of the line, each direction with its node's
    /// forwarding policy.
    pub fn router(&self) -> DefaultRouter {
        let mut graph = NetworkGraph::new();
        for (i, scid) in self.scids.iter().enumerate() {
            let (a, b) = self.edges[i];
            let (left, right) = (&self.nodes[a], &self.nodes[b]);
            graph
                .add_channel(*scid, left.node_id(), right.node_id(), self.capacity_sat)
                .expect("a new channel");
            for n in [left, right] {
                let policy = n.channel_handler().forwarding_policy(&self.channels[i]);
                graph
                    .update_policy(*scid, &n.node_id(), policy.routing_policy(true))
                    .expect("an end");
            }
        }
        DefaultRouter::new(graph)
    }

    /// An invoice of node `payee` for `amount_msat`, paid by node `payer` over the
    /// router's route; nothing moves yet.
    pub fn send(&mut self, payer: usize, payee: usize, amount_msat: u64) -> PaymentHash {
        let payee_id = self.nodes[payee].node_id();
        let params = RouteParameters::new(payee_id, amount_msat, MIN_FINAL_CLTV_EXPIRY_DELTA);
        self.send_with(payer, payee, params, Retry::default())
    }

    /// As [`Self::send`], with the route's parameters and retries given.
    pub fn send_with(&mut self, payer: usize, payee: usize, params: RouteParameters, retry: Retry) -> PaymentHash {
        let router = self.router();
        let (hash, secret) = self.nodes[payee]
            .channel_handler_mut()
            .create_inbound_payment(Some(params.amount_msat));
        self.nodes[payer]
            .channel_handler_mut()
            .send_payment_with_router(&router, params, hash, secret, retry)
            .expect("a route");
        self.nodes[payer].process_events();
        hash
    }

    /// Node `payee` claims `hash` (it must be claimable).
    pub fn claim(&mut self, payee: usize, hash: PaymentHash) -> PaymentPreimage {
        let manager = self.nodes[payee].channel_handler_mut();
        let preimage = manager.payment_preimage(&hash).expect("ours");
        manager.claim_payment(preimage).expect("claimable");
        self.nodes[payee].process_events();
        preimage
    }

    /// What node `i` holds in its channels (its balance on each, HTLCs not counted).
    pub fn holdings_msat(&self, i: usize) -> u64 {
        self.nodes[i]
            .channel_handler()
            .list_channels()
            .iter()
            .map(|d| d.balance_msat)
            .sum()
    }

    /// Every HTLC on every channel, as node `i` sees its current commitment.
    pub fn htlc_count(&self, i: usize) -> usize {
        let manager = self.nodes[i].channel_handler();
        manager
            .channel_ids()
            .iter()
            .filter_map(|id| manager.channel(id))
            .map(|c| c.holder_view().htlcs.len())
            .sum()
    }

    /// Link `i` drops (both ends see it).
    pub fn drop_link(&mut self, i: usize) {
        let (left, right) = self.pair(i);
        disconnect(left, right, link(i));
        self.down[i] = true;
    }

    /// Link `i` comes back: a fresh connection, reestablishing its channel.
    pub fn reconnect_link(&mut self, i: usize) {
        self.down[i] = false;
        let (left, right) = self.pair(i);
        connect_again(left, right, link(i));
    }

    /// Node `i` crashes and restarts from its manager as last encoded and its monitors
    /// as stored; its links drop and come back.
    pub fn crash_and_restart(&mut self, i: usize) {
        let links: Vec<usize> = (0..self.edges.len())
            .filter(|l| self.edges[*l].0 == i || self.edges[*l].1 == i)
            .collect();
        for l in &links {
            if !self.down[*l] {
                self.drop_link(*l);
            }
        }
        let monitors = self.nodes[i].channel_handler().persister().monitors.clone();
        let (restarted, mismatches) = restart(&self.nodes[i], self.seeds[i], &monitors);
        assert!(mismatches.is_empty(), "{mismatches:?}");
        self.nodes[i] = restarted;
        for l in links {
            self.reconnect_link(l);
        }
    }
}

/// Connects two nodes that may have other peers (the node harness's `connect` checks a
/// node's only peer).
fn connect_again(a: &mut Node, b: &mut Node, id: PeerId) {
    let act_one = a.new_outbound(id, b.node_id()).expect("fresh id");
    b.new_inbound(id).expect("fresh id");
    b.read(id, &act_one).expect("act one");
    pump(a, b, id);
}
