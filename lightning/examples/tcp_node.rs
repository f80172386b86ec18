//! Two nodes over real TCP on 127.0.0.1, each keeping its channel manager and channel
//! monitors in files in the crash-safe order of the guide (`lightning::guide`): they
//! connect, open a channel, confirm it, pay both ways; bob dies at a random point of his
//! persistence loop, starts again from his files and reconnects; then they pay again and
//! close cooperatively. A dry run first counts bob's persistence points, so the crash
//! always comes, somewhere inside the run.
//!
//! Run: `cargo run -p lightning --example tcp_node [SEED]` (the seed picks the crash
//! point; by default one from the clock, printed so a run can be repeated).

use std::collections::BTreeMap;
use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lightning::bitcoin::constants::ChainHash;
use lightning::bitcoin::hashes::Hash;
use lightning::bitcoin::{
    absolute, transaction, Amount, Network, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness,
};
use lightning::chain::{Broadcaster, ChannelMonitor, Persist, PersistStatus};
use lightning::chan::manager::payments::MIN_FINAL_CLTV_EXPIRY_DELTA;
use lightning::chan::manager::{ChannelManager, ChannelManagerConfig};
use lightning::chan::monitor_update::ChannelMonitorUpdate;
use lightning::events::Event;
use lightning::sign::KeysManager;
use lightning::transport::{IgnoringHandler, PeerId, PeerManager, PeerManagerConfig};
use lightning::wire::{ChannelId, Decode, Encode, PaymentHash};

/// The peer manager's one connection: each node has a single peer here.
const LINK: PeerId = PeerId(1);
const FUNDING_SATOSHIS: u64 = 1_000_000;
const FEERATE_PER_KW: u32 = 253;

type Manager = ChannelManager<KeysManager, FilePersister, Mempool>;
/// One key source for the whole node: clones of one `KeysManager` share its entropy.
type Peer = PeerManager<KeysManager, KeysManager, Manager, IgnoringHandler>;

fn chain() -> ChainHash {
    ChainHash::using_genesis_block(Network::Regtest)
}

/// Writes `bytes` to `path` so that a crash leaves the old file or the new one.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temporary = path.with_extension("tmp");
    let mut file = fs::File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&temporary, path)
}

/// Monitor updates answered "in progress" and queued: written by the persistence loop,
/// which then reports them complete.
struct FilePersister {
    dir: PathBuf,
    queued: Vec<(ChannelId, ChannelMonitorUpdate)>,
}

impl Persist for FilePersister {
    fn persist(&mut self, channel_id: &ChannelId, update: &ChannelMonitorUpdate) -> PersistStatus {
        self.queued.push((*channel_id, update.clone()));
        PersistStatus::InProgress
    }
}

impl FilePersister {
    fn monitor_path(&self, channel_id: &ChannelId) -> PathBuf {
        let name: String = channel_id.0.iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("monitor-{name}"))
    }

    /// Every monitor on disk.
    fn load_monitors(&self) -> BTreeMap<ChannelId, ChannelMonitor> {
        let mut monitors = BTreeMap::new();
        for entry in fs::read_dir(&self.dir).expect("the node's folder").flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(hex) = name.strip_prefix("monitor-").filter(|h| h.len() == 64) else {
                continue;
            };
            let mut id = [0u8; 32];
            for (i, byte) in id.iter_mut().enumerate() {
                *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex name");
            }
            let bytes = fs::read(entry.path()).expect("readable monitor");
            monitors.insert(ChannelId(id), ChannelMonitor::decode_exact(&bytes).expect("a monitor"));
        }
        monitors
    }

    /// Writes the queued updates into their monitors' files; what it wrote.
    fn write_queued(&mut self) -> Vec<(ChannelId, u64)> {
        let mut written = Vec::new();
        for (channel_id, update) in std::mem::take(&mut self.queued) {
            let path = self.monitor_path(&channel_id);
            let mut monitor = match fs::read(&path) {
                Ok(bytes) => ChannelMonitor::decode_exact(&bytes).expect("a monitor"),
                Err(_) => ChannelMonitor::new(),
            };
            // Handed over again after a restart: already on disk.
            if update.update_id > monitor.latest_update_id() {
                monitor.update(&update).expect("updates come in order");
                write_atomically(&path, &monitor.encode_to_vec()).expect("disk writable");
            }
            written.push((channel_id, update.update_id));
        }
        written
    }
}

/// Transactions the node broadcast; here the example mines them itself.
#[derive(Default)]
struct Mempool(Vec<Transaction>);

impl Broadcaster for Mempool {
    fn broadcast(&mut self, transaction: &Transaction) {
        self.0.push(transaction.clone());
    }
}

/// Bob's persistence loop died here (the example's stand-in for a killed process).
struct Crashed;

/// A node: its peer manager, socket, folder, and the events it handled.
struct Node {
    name: &'static str,
    dir: PathBuf,
    seed: [u8; 32],
    peer: Peer,
    socket: Option<TcpStream>,
    handled: Vec<Event>,
    /// Persistence points passed, and the one to die at (bob only).
    points: usize,
    die_at: Option<usize>,
    /// Whether it died and started again.
    restarted: bool,
}

impl Node {
    /// A node from its folder: fresh if empty, else reloaded from its manager and
    /// monitors. A start counter, saved before use, makes each start's entropy new.
    fn start(name: &'static str, dir: PathBuf, seed_byte: u8) -> Node {
        fs::create_dir_all(&dir).expect("folder");
        let starts_path = dir.join("starts");
        let starts: u64 = fs::read_to_string(&starts_path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
            + 1;
        write_atomically(&starts_path, starts.to_string().as_bytes()).expect("disk writable");
        let seed = [seed_byte; 32];
        let mut session = [0u8; 32];
        session[..8].copy_from_slice(&starts.to_be_bytes());
        let keys = KeysManager::new(&seed, &session);
        let persister = FilePersister {
            dir: dir.clone(),
            queued: Vec::new(),
        };
        let config = ChannelManagerConfig::new(chain(), FEERATE_PER_KW);
        let manager = match fs::read(dir.join("manager")) {
            Ok(bytes) => {
                let monitors = persister.load_monitors();
                let (manager, mismatches) =
                    ChannelManager::read(&bytes, config, keys.clone(), persister, Mempool::default(), &monitors)
                        .expect("the manager reads back");
                assert!(mismatches.is_empty(), "{name}: channels out of step: {mismatches:?}");
                manager
            }
            Err(_) => ChannelManager::new(config, keys.clone(), persister, Mempool::default(), 100),
        };
        let peer = PeerManager::new(
            PeerManagerConfig::new(chain()),
            keys.clone(),
            keys,
            manager,
            IgnoringHandler,
        );
        Node {
            name,
            dir,
            seed,
            peer,
            socket: None,
            handled: Vec::new(),
            points: 0,
            die_at: None,
            restarted: false,
        }
    }

    /// One persistence point passed: dies here if this is the one.
    fn point(&mut self) -> Result<(), Crashed> {
        self.points += 1;
        if self.die_at == Some(self.points) {
            println!("{} dies at persistence point {}", self.name, self.points);
            return Err(Crashed);
        }
        Ok(())
    }

    fn save_manager_if_needed(&mut self) {
        let manager = self.peer.channel_handler_mut();
        if let Some(bytes) = manager.encode_if_changed() {
            write_atomically(&self.dir.join("manager"), &bytes).expect("disk writable");
            manager.persisted(&bytes);
        }
    }

    /// The guide's order after an input: save the manager, write the monitor updates,
    /// report them complete, save again if that changed anything.
    fn persist(&mut self) -> Result<(), Crashed> {
        let manager = self.peer.channel_handler();
        if manager.persister().queued.is_empty() && !manager.needs_persistence() {
            return Ok(());
        }
        self.point()?;
        self.save_manager_if_needed();
        self.point()?;
        let written = self.peer.channel_handler_mut().persister_mut().write_queued();
        self.point()?;
        for (channel_id, update_id) in written {
            self.peer
                .channel_handler_mut()
                .monitor_update_completed(&channel_id, update_id);
        }
        self.point()?;
        self.save_manager_if_needed();
        Ok(())
    }

    /// Handles pending events (claims what it is paid), persists what that changed,
    /// then acknowledges them.
    fn handle_events(&mut self) -> Result<(), Crashed> {
        let events = self.peer.channel_handler().pending_events().to_vec();
        if events.is_empty() {
            return Ok(());
        }
        for event in &events {
            if let Event::PaymentClaimable { payment_hash, .. } = event {
                let manager = self.peer.channel_handler_mut();
                if let Some(preimage) = manager.payment_preimage(payment_hash) {
                    // An event delivered again after its claim: nothing left to claim.
                    let _ = manager.claim_payment(preimage);
                }
            }
        }
        self.persist()?;
        self.point()?;
        self.handled.extend(events.iter().cloned());
        let count = events.len();
        self.peer.channel_handler_mut().events_handled(count);
        self.save_manager_if_needed();
        Ok(())
    }

    /// Reads what arrived, persists, handles events, writes what is waiting.
    fn step(&mut self) -> Result<(), Crashed> {
        let Some(socket) = self.socket.as_mut() else {
            return Ok(());
        };
        let mut buf = [0u8; 65536];
        let mut read = Vec::new();
        loop {
            match socket.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => read.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("{}: {e}", self.name),
            }
        }
        if !read.is_empty() {
            self.peer.read(LINK, &read).expect("our peer speaks the protocol");
        }
        // After every input, commands and blocks included.
        self.persist()?;
        self.handle_events()?;
        while self.peer.has_outbound(LINK) {
            let bytes = self.peer.take_outbound(LINK);
            let socket = self.socket.as_mut().expect("connected");
            socket.set_nonblocking(false).expect("blocking write");
            socket.write_all(&bytes).expect("peer reads");
            socket.set_nonblocking(true).expect("nonblocking read");
        }
        Ok(())
    }

    fn has_event(&self, matches: impl Fn(&Event) -> bool) -> bool {
        self.handled.iter().any(matches)
    }

    /// Whether it still has the channel, neither closed nor failed.
    fn has_channel(&self, channel_id: &ChannelId) -> bool {
        self.peer
            .channel_handler()
            .list_channels()
            .iter()
            .any(|c| c.channel_id == *channel_id && c.phase != lightning::chan::channel::ChannelPhase::Failed)
    }
}

/// Both nodes on one TCP connection: bob listens, alice dials.
fn connect(alice: &mut Node, bob: &mut Node) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
    let dialled = TcpStream::connect(listener.local_addr().expect("bound")).expect("connects");
    let (accepted, _) = listener.accept().expect("accepts");
    for stream in [&dialled, &accepted] {
        stream.set_nonblocking(true).expect("nonblocking");
        stream.set_nodelay(true).expect("nodelay");
    }
    let bob_id = bob.peer.node_id();
    alice.peer.disconnected(LINK);
    bob.peer.disconnected(LINK);
    let act_one = alice.peer.new_outbound(LINK, bob_id).expect("fresh id");
    bob.peer.new_inbound(LINK).expect("fresh id");
    let mut dialled = dialled;
    dialled.write_all(&act_one).expect("writes");
    alice.socket = Some(dialled);
    bob.socket = Some(accepted);
}

/// Runs both nodes until `done`; bob dying restarts him from his folder and reconnects.
fn run_until(alice: &mut Node, bob: &mut Node, what: &str, done: impl Fn(&Node, &Node) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(alice, bob) {
        if Instant::now() > deadline {
            for node in [&*alice, &*bob] {
                let phases: Vec<String> = node
                    .peer
                    .channel_handler()
                    .list_channels()
                    .iter()
                    .map(|c| format!("{:?}", c.phase))
                    .collect();
                eprintln!("{}: channels {phases:?}, handled {:?}", node.name, node.handled);
            }
            panic!("timed out waiting for {what}");
        }
        alice.step().unwrap_or_else(|Crashed| panic!("alice does not crash"));
        if bob.step().is_err() {
            restart_bob(alice, bob);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn restart_bob(alice: &mut Node, bob: &mut Node) {
    let (dir, handled) = (bob.dir.clone(), std::mem::take(&mut bob.handled));
    *bob = Node::start("bob", dir, bob.seed[0]);
    bob.handled = handled;
    bob.restarted = true;
    println!("bob starts again from his files and reconnects");
    // What reading handed over again is written like any update.
    bob.persist().unwrap_or_else(|Crashed| unreachable!("bob dies once"));
    connect(alice, bob);
}

/// Opens a channel from alice to bob, funded with a made-up coin (this example has no
/// chain); `None` if a crash made both forget it.
fn open(alice: &mut Node, bob: &mut Node, attempt: u8) -> Option<(ChannelId, Transaction)> {
    run_until(alice, bob, "the connection", |a, _| {
        !a.peer.connected_peers().is_empty()
    });
    let bob_id = bob.peer.node_id();
    let temporary_channel_id = alice
        .peer
        .channel_handler_mut()
        .open_channel(bob_id, FUNDING_SATOSHIS, 0)
        .expect("bob is connected");
    let request = |a: &Node| {
        a.handled.iter().find_map(|e| match e {
            Event::FundingGenerationReady {
                temporary_channel_id: id,
                output_script,
                ..
            } if *id == temporary_channel_id => Some(output_script.clone()),
            _ => None,
        })
    };
    run_until(alice, bob, "the funding request", |a, _| {
        request(a).is_some() || !a.has_channel(&temporary_channel_id)
    });
    let output_script = request(alice)?;
    let funding = Transaction {
        version: transaction::Version::TWO,
        lock_time: absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint {
                txid: Txid::from_byte_array([attempt; 32]),
                vout: 0,
            },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(FUNDING_SATOSHIS),
            script_pubkey: output_script,
        }],
    };
    let outpoint = OutPoint {
        txid: funding.compute_txid(),
        vout: 0,
    };
    let channel_id = alice
        .peer
        .channel_handler_mut()
        .funding_transaction_generated(&temporary_channel_id, outpoint)
        .ok()?;
    let signed = |a: &Node| a.has_event(|e| matches!(e, Event::FundingSigned { channel_id: id } if *id == channel_id));
    run_until(alice, bob, "the funding signatures", |a, _| {
        signed(a) || !a.has_channel(&channel_id)
    });
    signed(alice).then_some((channel_id, funding))
}

/// Runs until the channel is usable at both ends (after a restart, once reestablished).
fn until_usable(alice: &mut Node, bob: &mut Node) {
    run_until(alice, bob, "the channel to be usable", |a, b| {
        [a, b]
            .iter()
            .all(|n| n.peer.channel_handler().list_channels().iter().any(|c| c.is_usable))
    });
}

/// The whole story; returns how many persistence points bob passed.
fn story(root: &Path, bob_dies_at: Option<usize>) -> usize {
    let _ = fs::remove_dir_all(root);
    let mut alice = Node::start("alice", root.join("alice"), 1);
    let mut bob = Node::start("bob", root.join("bob"), 2);
    bob.die_at = bob_dies_at;
    connect(&mut alice, &mut bob);
    run_until(&mut alice, &mut bob, "init", |a, _| {
        !a.peer.connected_peers().is_empty()
    });

    // An opening a crash interrupts before the funding is signed is forgotten by both
    // (BOLT 2: an unfunded channel does not outlive its connection): open again.
    let (channel_id, funding) = (1u8..)
        .find_map(|attempt| open(&mut alice, &mut bob, attempt))
        .expect("an opening goes through");
    // Three blocks on top of the funding: both see it confirmed.
    for node in [&mut alice, &mut bob] {
        let manager = node.peer.channel_handler_mut();
        // The funding is the block's second transaction, after its coinbase.
        manager.transaction_confirmed_in_block(&funding, 101, 1);
        manager.best_block_updated(103);
    }
    until_usable(&mut alice, &mut bob);
    let scid = alice.peer.channel_handler().list_channels()[0].short_channel_id;
    println!("channel {} open, short channel id {scid:?}", hex(&channel_id.0));

    let pay = |payer: &mut Node, payee: &mut Node, amount_msat: u64| -> PaymentHash {
        let payee_id = payee.peer.node_id();
        let (hash, secret) = payee
            .peer
            .channel_handler_mut()
            .create_inbound_payment(Some(amount_msat));
        // The invoice goes out only once saved.
        payee.save_manager_if_needed();
        payer
            .peer
            .channel_handler_mut()
            .send_payment(payee_id, hash, secret, amount_msat, MIN_FINAL_CLTV_EXPIRY_DELTA)
            .expect("usable channel");
        payer.save_manager_if_needed();
        hash
    };
    let sent = |hash: PaymentHash| move |e: &Event| matches!(e, Event::PaymentSent { payment_hash, .. } if *payment_hash == hash);
    for (round, amount_msat) in [(1, 200_000_000), (2, 50_000_000)] {
        until_usable(&mut alice, &mut bob);
        let to_bob = pay(&mut alice, &mut bob, amount_msat);
        run_until(&mut alice, &mut bob, "alice's payment", |a, _| {
            a.has_event(sent(to_bob))
        });
        until_usable(&mut alice, &mut bob);
        let to_alice = pay(&mut bob, &mut alice, amount_msat / 4);
        run_until(&mut alice, &mut bob, "bob's payment", |_, b| {
            b.has_event(sent(to_alice))
        });
        println!(
            "round {round}: alice paid {amount_msat} msat, bob paid back {} msat",
            amount_msat / 4
        );
    }

    until_usable(&mut alice, &mut bob);
    alice
        .peer
        .channel_handler_mut()
        .close_channel(&channel_id)
        .expect("open channel");
    alice.save_manager_if_needed();
    run_until(&mut alice, &mut bob, "the close", |a, b| {
        [a, b]
            .iter()
            .all(|n| n.has_event(|e| matches!(e, Event::ChannelClosed { .. })))
    });
    let closing = alice
        .peer
        .channel_handler()
        .broadcaster()
        .0
        .last()
        .cloned()
        .expect("the closing transaction");
    let outputs: Vec<u64> = closing.output.iter().map(|o| o.value.to_sat()).collect();
    println!("closed cooperatively: {} pays {outputs:?} sat", closing.compute_txid());
    // Alice funded 1,000,000 sat and paid 250,000 - 62,500 net; the fee is hers.
    let bob_gets = 187_500;
    assert!(outputs.contains(&bob_gets), "bob's output: {outputs:?}");
    assert!(alice.peer.channel_handler().list_channels().is_empty());
    assert_eq!(bob.restarted, bob_dies_at.is_some(), "bob died where he was meant to");
    bob.points
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn main() {
    let seed: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("SEED is a number"))
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0)
        });
    let root = std::env::temp_dir().join(format!("tcp_node-{}", std::process::id()));
    println!("dry run: counting bob's persistence points");
    let points = story(&root, None);
    // A multiplicative hash of the seed picks the point.
    // Within the first two thirds: how TCP batches bytes moves the count a little.
    let die_at = 1 + (seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize % (points * 2 / 3).max(1);
    println!("seed {seed}: bob dies at persistence point {die_at} of {points}");
    story(&root, Some(die_at));
    let _ = fs::remove_dir_all(&root);
    println!("done: every payment through, the channel closed, nothing lost across the crash");
}
