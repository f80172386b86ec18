//! Our node and an LDK node in one process: a connection whose bytes the harness carries
//! one message at a time (or all at once), a chain both see block by block, and wallets
//! that fund what either opens. Everything is deterministic: the same test, the same run.

use std::collections::VecDeque;

use bitcoin::block::{Header, Version as BlockVersion};
use bitcoin::hash_types::TxMerkleNode;
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::PublicKey;
use bitcoin::{absolute, transaction, Amount, BlockHash, CompactTarget, OutPoint, ScriptBuf, Sequence};
use bitcoin::{Transaction, TxIn, TxOut, Txid, Witness};

use ldk::chain::BestBlock;
use ldk::events::Event as LdkEvent;
use ldk::util::config::UserConfig;
use lightning::chan::manager::ChannelManagerConfig;
use lightning::events::Event;
use lightning::transport::PeerId;
use lightning::wire::ChannelId;
use sim::node::{regtest, START_HEIGHT};

use crate::ldk_node::{Descriptor, LdkNode, LDK_START_TIME_SECS};
use crate::our_node::OurNode;

/// Our node's id for its connection to LDK.
pub const LDK_PEER: PeerId = PeerId(1);

/// One of the two nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Ours,
    Ldk,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Ours => Side::Ldk,
            Side::Ldk => Side::Ours,
        }
    }
}

/// The chain both nodes see: blocks with their transactions.
pub struct Chain {
    pub height: u32,
    tip: BlockHash,
    /// Every transaction mined, with its height.
    pub mined: Vec<(Transaction, u32)>,
}

impl Chain {
    fn new() -> Self {
        Chain {
            height: START_HEIGHT,
            tip: BlockHash::from_byte_array([0x11; 32]),
            mined: Vec::new(),
        }
    }

    fn best_block(&self) -> BestBlock {
        BestBlock::new(self.tip, self.height)
    }

    /// The next block's header (its transactions are not committed to: nobody checks).
    fn next_header(&mut self) -> Header {
        let header = Header {
            version: BlockVersion::TWO,
            prev_blockhash: self.tip,
            merkle_root: TxMerkleNode::all_zeros(),
            time: (LDK_START_TIME_SECS + 600 * u64::from(self.height + 1 - START_HEIGHT)) as u32,
            bits: CompactTarget::from_consensus(0x207f_ffff),
            nonce: self.height + 1,
        };
        self.height += 1;
        self.tip = header.block_hash();
        header
    }
}

/// The connection's bytes waiting in each direction, one entry per message.
struct Link {
    descriptor: Descriptor,
    to_ldk: VecDeque<Vec<u8>>,
    to_ours: VecDeque<Vec<u8>>,
    /// Our node asked to close the connection: it drops once what it sent last (a
    /// `warning` saying why) is carried.
    closing_by_ours: bool,
}

/// The two nodes, their connection and their chain.
pub struct Pair {
    pub ours: OurNode,
    pub ldk: LdkNode,
    pub chain: Chain,
    link: Option<Link>,
    connections_made: u64,
    /// Transactions waiting for the next block: fundings, closes.
    pub mempool: Vec<Transaction>,
    /// Claim payments as they become claimable (each node its own), or leave them.
    pub auto_claim: bool,
    /// Wallet coins spent so far: each funding spends a fresh one.
    coins_spent: u8,
    /// Every message delivered, by its receiver, as the bytes on the wire: the same test
    /// must carry the same bytes every run.
    pub transcript: Vec<(Side, Vec<u8>)>,
}

/// The fee estimate both nodes start with: a realistic 10 sat/vB.
pub const FEERATE_PER_KW: u32 = 2_500;

impl Pair {
    /// Our node (the library's defaults at `FEERATE_PER_KW`) and an LDK node (its
    /// defaults), not connected.
    pub fn new() -> Self {
        Self::with_configs(
            ChannelManagerConfig::new(regtest(), FEERATE_PER_KW),
            UserConfig::default(),
        )
    }

    /// As [`Pair::new`] with each node's configuration.
    pub fn with_configs(ours: ChannelManagerConfig, ldk: UserConfig) -> Self {
        let chain = Chain::new();
        let estimate = ours.feerate_per_kw;
        Pair {
            ours: OurNode::new([0x0a; 32], ours, chain.height),
            ldk: LdkNode::new([0x1d; 32], chain.best_block(), estimate, ldk),
            chain,
            link: None,
            connections_made: 0,
            mempool: Vec::new(),
            auto_claim: true,
            coins_spent: 0,
            transcript: Vec::new(),
        }
    }

    pub fn node_id(&self, side: Side) -> PublicKey {
        match side {
            Side::Ours => self.ours.node.node_id(),
            Side::Ldk => self.ldk.node_id(),
        }
    }

    pub fn is_connected(&self) -> bool {
        self.link.is_some()
    }

    /// `initiator` dials the other: the handshake and `init` go through.
    pub fn connect(&mut self, initiator: Side) {
        assert!(self.link.is_none(), "already connected");
        self.connections_made += 1;
        let descriptor = Descriptor::new(self.connections_made);
        let mut link = Link {
            descriptor: descriptor.clone(),
            to_ldk: VecDeque::new(),
            to_ours: VecDeque::new(),
            closing_by_ours: false,
        };
        match initiator {
            Side::Ours => {
                let act_one = self
                    .ours
                    .node
                    .new_outbound(LDK_PEER, self.ldk.node_id())
                    .expect("a fresh connection");
                self.ldk
                    .peers
                    .new_inbound_connection(descriptor.clone(), None)
                    .expect("LDK takes the connection");
                link.to_ldk.push_back(act_one);
            }
            Side::Ldk => {
                let act_one = self
                    .ldk
                    .peers
                    .new_outbound_connection(self.ours.node.node_id(), descriptor.clone(), None)
                    .expect("LDK dials");
                self.ours.node.new_inbound(LDK_PEER).expect("a fresh connection");
                link.to_ours.push_back(act_one);
            }
        }
        self.link = Some(link);
        self.deliver_all();
        let ours_sees = self.ours.node.connected_peers().len() == 1;
        let ldk_sees = self
            .ldk
            .peers
            .list_peers()
            .iter()
            .any(|p| p.counterparty_node_id == self.ours.node.node_id());
        assert!(ours_sees && ldk_sees, "connected both ways ({ours_sees}, {ldk_sees})");
    }

    /// The connection drops: both nodes are told, bytes in flight are lost.
    pub fn disconnect(&mut self) {
        let Some(link) = self.link.take() else { return };
        self.ours.node.disconnected(LDK_PEER);
        if !*link.descriptor.closed_by_ldk.lock().expect("not poisoned") {
            self.ldk.peers.socket_disconnected(&link.descriptor);
        }
        self.process();
    }

    /// Both nodes do what is due: events handled, messages queued on the link.
    pub fn process(&mut self) {
        for _ in 0..8 {
            let ours = self.process_ours();
            let ldk = self.process_ldk();
            if !ours && !ldk {
                break;
            }
        }
        self.collect_outbound();
    }

    fn collect_outbound(&mut self) {
        let Some(link) = &mut self.link else { return };
        loop {
            let bytes = self.ours.node.take_outbound(LDK_PEER);
            if bytes.is_empty() {
                break;
            }
            link.to_ldk.push_back(bytes);
        }
        self.ldk.peers.process_events();
        link.to_ours
            .extend(link.descriptor.written.lock().expect("not poisoned").drain(..));
        // A side that closed the connection: the other sees it drop.
        link.closing_by_ours |= !self.ours.node.take_disconnects().is_empty();
        let ldk_dropped = *link.descriptor.closed_by_ldk.lock().expect("not poisoned");
        if (link.closing_by_ours || ldk_dropped) && link.to_ours.is_empty() && link.to_ldk.is_empty() {
            self.disconnect();
        }
    }

    /// Our node's events: fundings answered, payments claimed; the rest kept. Whether
    /// anything happened.
    fn process_ours(&mut self) -> bool {
        let events = self.ours.manager_mut().take_events();
        let any = !events.is_empty();
        for event in events {
            match &event {
                Event::FundingGenerationReady {
                    temporary_channel_id,
                    funding_satoshis,
                    output_script,
                    ..
                } => {
                    let tx = self.funding_transaction(*funding_satoshis, output_script.clone());
                    let outpoint = OutPoint {
                        txid: tx.compute_txid(),
                        vout: 0,
                    };
                    self.ours
                        .manager_mut()
                        .funding_transaction_generated(temporary_channel_id, outpoint)
                        .expect("our manager takes the funding");
                    self.mempool.push(tx);
                }
                Event::PaymentClaimable { payment_hash, .. } if self.auto_claim => {
                    let preimage = self.ours.manager().payment_preimage(payment_hash).expect("ours");
                    self.ours.manager_mut().claim_payment(preimage).expect("claimable");
                }
                _ => {}
            }
            self.ours.events.push(event);
        }
        any
    }

    /// LDK's events: as [`Self::process_ours`].
    fn process_ldk(&mut self) -> bool {
        let events = self.ldk.process();
        let any = !events.is_empty();
        for event in events {
            match &event {
                LdkEvent::FundingGenerationReady {
                    temporary_channel_id,
                    counterparty_node_id,
                    channel_value_satoshis,
                    output_script,
                    ..
                } => {
                    let mut tx = self.funding_transaction(*channel_value_satoshis, output_script.clone());
                    // LDK takes only a signed funding spending segwit outputs.
                    tx.input[0].witness = Witness::from_slice(&[[1u8; 72].as_slice(), &[2u8; 33]]);
                    self.ldk
                        .manager
                        .funding_transaction_generated(*temporary_channel_id, *counterparty_node_id, tx.clone())
                        .expect("LDK takes the funding");
                    self.mempool.push(tx);
                }
                LdkEvent::PaymentClaimable { purpose, .. } if self.auto_claim => {
                    let preimage = purpose.preimage().expect("an inbound payment LDK made");
                    self.ldk.manager.claim_funds(preimage);
                }
                _ => {}
            }
            self.ldk.events.push(event);
        }
        self.ldk.peers.process_events();
        any
    }

    /// The wallet's next funding transaction, paying `satoshis` to `script` at output 0.
    fn funding_transaction(&mut self, satoshis: u64, script: ScriptBuf) -> Transaction {
        self.coins_spent += 1;
        Transaction {
            version: transaction::Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint {
                    txid: Txid::from_byte_array([self.coins_spent; 32]),
                    vout: 0,
                },
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                value: Amount::from_sat(satoshis),
                script_pubkey: script,
            }],
        }
    }

    /// Messages waiting for `to`.
    pub fn waiting(&mut self, to: Side) -> usize {
        self.process();
        match (&self.link, to) {
            (None, _) => 0,
            (Some(link), Side::Ours) => link.to_ours.len(),
            (Some(link), Side::Ldk) => link.to_ldk.len(),
        }
    }

    /// Delivers the next message waiting for `to`; false if none was.
    pub fn deliver_one(&mut self, to: Side) -> bool {
        self.process();
        let Some(link) = &mut self.link else { return false };
        let next = match to {
            Side::Ours => link.to_ours.pop_front(),
            Side::Ldk => link.to_ldk.pop_front(),
        };
        let Some(bytes) = next else { return false };
        self.transcript.push((to, bytes.clone()));
        match to {
            Side::Ours => {
                if let Err(why) = self.ours.node.read(LDK_PEER, &bytes) {
                    self.collect_outbound();
                    panic!("our node dropped LDK's connection: {why:?}");
                }
            }
            Side::Ldk => {
                let mut descriptor = link.descriptor.clone();
                if let Err(why) = self.ldk.peers.read_event(&mut descriptor, &bytes) {
                    panic!("LDK dropped our connection: {why:?}");
                }
            }
        }
        self.process();
        true
    }

    /// Delivers up to `messages` messages, one at a time, alternating directions as
    /// [`Self::deliver_all`] does. How many it delivered.
    pub fn deliver_some(&mut self, messages: usize) -> usize {
        let mut delivered = 0;
        while delivered < messages {
            let to_ldk = self.deliver_one(Side::Ldk);
            delivered += usize::from(to_ldk);
            if delivered == messages {
                break;
            }
            let to_ours = self.deliver_one(Side::Ours);
            delivered += usize::from(to_ours);
            if !to_ldk && !to_ours {
                break;
            }
        }
        delivered
    }

    /// Carries every message both ways until both nodes are quiet.
    pub fn deliver_all(&mut self) {
        for _ in 0..10_000 {
            let to_ldk = self.deliver_one(Side::Ldk);
            let to_ours = self.deliver_one(Side::Ours);
            if !to_ldk && !to_ours {
                return;
            }
        }
        panic!("the nodes never went quiet");
    }

    /// Mines a block with everything waiting (and every transaction either node
    /// broadcast that is not mined yet), and both nodes see it.
    pub fn mine(&mut self) {
        let mut transactions = std::mem::take(&mut self.mempool);
        let mut broadcast = self.ldk.broadcast_transactions();
        broadcast.extend(self.ours.manager().broadcaster().transactions.iter().cloned());
        for tx in broadcast {
            let known = self
                .chain
                .mined
                .iter()
                .any(|(m, _)| m.compute_txid() == tx.compute_txid());
            if !known && !transactions.iter().any(|t| t.compute_txid() == tx.compute_txid()) {
                transactions.push(tx);
            }
        }
        let header = self.chain.next_header();
        let height = self.chain.height;
        for tx in &transactions {
            self.ours.manager_mut().transaction_confirmed(tx, height);
            self.chain.mined.push((tx.clone(), height));
        }
        self.ours.manager_mut().best_block_updated(height);
        self.ldk.block_connected(&header, height, &transactions);
        self.process();
    }

    /// Mines `blocks` blocks, carrying messages after each.
    pub fn mine_blocks(&mut self, blocks: u32) {
        for _ in 0..blocks {
            self.mine();
            self.deliver_all();
        }
    }

    /// A timer tick on both nodes (pings, LDK's fee updates).
    pub fn timer_tick(&mut self) {
        self.ours.node.timer_tick();
        self.ldk.peers.timer_tick_occurred();
        self.ldk.manager.timer_tick_occurred();
        self.process();
    }

    /// `funder` opens a channel of `funding_satoshis`, pushing `push_msat`, funds it,
    /// and blocks are mined until both ends report it ready. The channel's id.
    pub fn open_channel(&mut self, funder: Side, funding_satoshis: u64, push_msat: u64) -> ChannelId {
        let before = self.ours.manager().channel_ids();
        match funder {
            Side::Ours => {
                let ldk_id = self.ldk.node_id();
                self.ours
                    .manager_mut()
                    .open_channel(ldk_id, funding_satoshis, push_msat)
                    .expect("our node opens");
            }
            Side::Ldk => {
                let our_id = self.ours.node.node_id();
                self.ldk
                    .manager
                    .create_channel(our_id, funding_satoshis, push_msat, 7, None, None)
                    .expect("LDK opens");
            }
        }
        self.deliver_all();
        let channel_id = self
            .ours
            .manager()
            .channel_ids()
            .into_iter()
            .find(|id| !before.contains(id))
            .expect("our node has the new channel");
        for _ in 0..12 {
            if self.ours_usable(&channel_id) && self.ldk_usable(&channel_id) {
                return channel_id;
            }
            self.mine_blocks(1);
        }
        panic!(
            "the channel never became usable: ours {:?}, LDK {:?}",
            self.ours.manager().channel(&channel_id).map(|c| c.phase()),
            self.ldk_channel(&channel_id).map(|c| (c.is_channel_ready, c.is_usable))
        );
    }

    fn ours_usable(&self, channel_id: &ChannelId) -> bool {
        self.ours
            .manager()
            .channel(channel_id)
            .is_some_and(|c| c.phase() == lightning::chan::channel::ChannelPhase::Normal && c.is_connected())
    }

    fn ldk_usable(&self, channel_id: &ChannelId) -> bool {
        self.ldk_channel(channel_id).is_some_and(|c| c.is_usable)
    }

    /// `closer` starts a cooperative close of `channel_id` (to its default script).
    pub fn start_close(&mut self, closer: Side, channel_id: &ChannelId) -> Result<(), String> {
        match closer {
            Side::Ours => self
                .ours
                .manager_mut()
                .close_channel(channel_id)
                .map_err(|e| format!("{e:?}"))?,
            Side::Ldk => {
                let our_id = self.ours.node.node_id();
                self.ldk
                    .manager
                    .close_channel(&Self::ldk_channel_id(channel_id), &our_id)
                    .map_err(|e| format!("{e:?}"))?
            }
        }
        self.process();
        Ok(())
    }

    /// The transaction mined that spends `channel_id`'s funding output, if any.
    pub fn mined_spend_of(&self, channel_id: &ChannelId) -> Option<Transaction> {
        let funding = self.funding_outpoint(channel_id)?;
        self.chain
            .mined
            .iter()
            .map(|(tx, _)| tx)
            .find(|tx| tx.input.iter().any(|i| i.previous_output == funding))
            .cloned()
    }

    /// `channel_id`'s funding output, as mined.
    pub fn funding_outpoint(&self, channel_id: &ChannelId) -> Option<OutPoint> {
        self.chain.mined.iter().find_map(|(tx, _)| {
            let txid = tx.compute_txid();
            (0..tx.output.len() as u32)
                .map(|vout| OutPoint { txid, vout })
                .find(|o| lightning::chan::channel::establish::channel_id_from_outpoint(o) == *channel_id)
        })
    }

    /// The value of `outpoint`, as mined.
    pub fn mined_value(&self, outpoint: &OutPoint) -> Option<u64> {
        self.chain
            .mined
            .iter()
            .find(|(tx, _)| tx.compute_txid() == outpoint.txid)
            .and_then(|(tx, _)| tx.output.get(outpoint.vout as usize))
            .map(|o| o.value.to_sat())
    }

    /// LDK's details of the channel our node knows as `channel_id`.
    pub fn ldk_channel(&self, channel_id: &ChannelId) -> Option<ldk::ln::channel_state::ChannelDetails> {
        self.ldk.channels().into_iter().find(|c| c.channel_id.0 == channel_id.0)
    }

    /// LDK's id for our channel.
    pub fn ldk_channel_id(channel_id: &ChannelId) -> ldk::ln::types::ChannelId {
        ldk::ln::types::ChannelId(channel_id.0)
    }
}

impl Default for Pair {
    fn default() -> Self {
        Self::new()
    }
}
