//! Throughput of the simulator itself, with real crypto unless built with the fuzzing
//! cfgs (see below).
//!
//! 1. Two nodes over real BOLT 8, one payment at a time (each settles before the next
//!    is sent), on the virtual clock. Compare its payments/s with
//!    `cargo bench -p tests --bench payments` (batches of 1): the difference is the
//!    transport, the managers and the simulator's own overhead.
//! 2. The bundled 20-node star under every fault (`sim/scenarios/star20_faults.scn`),
//!    whole runs (fault window and liveness phase): events/s, payments/s and time
//!    compression (simulated seconds per wall second), and the projected time of a
//!    1,000-seed sweep on two cores.
//!
//! Run: `cargo bench -p sim --bench network` (release profile). With cheap crypto:
//! `RUSTFLAGS="--cfg=secp256k1_fuzz" CARGO_TARGET_DIR=target/cheap-crypto cargo bench -p sim --bench network`.
//! Hashes stay real: with `hashes_fuzz` distinct fundings get one channel id and
//! distinct preimages one payment hash, and the runs are no longer about the protocol.

use std::time::Instant;

use sim::clock::SimTime;
use sim::latency::Latency;
use sim::network::{Action, Network, NetworkConfig};
use sim::scenario::Scenario;

const PAYMENTS: u64 = 2000;
/// Far more than one payment's round trips at 1 ms a hop, so payments never overlap.
const SPACING_MS: u64 = 50;
const FIRST_PAYMENT_MS: u64 = 240_000;
const STAR_SEEDS: u64 = 4;

fn two_nodes() {
    let mut network = Network::new(NetworkConfig {
        seed: 1,
        node_count: 2,
        latency: Latency::Constant { ms: 1 },
        jitter_ms: 0,
        block_interval_ms: 60_000,
        ..NetworkConfig::default()
    })
    .expect("valid");
    network.schedule_channel(SimTime(0), 0, 1, 10_000_000, 0, None);
    for n in 0..PAYMENTS {
        // Alternate directions once node 1 holds more than its reserve (1% of the channel).
        let (from, to) = if n % 2 == 1 && n > 200 { (1, 0) } else { (0, 1) };
        network.schedule(
            SimTime(FIRST_PAYMENT_MS + n * SPACING_MS),
            Action::Pay {
                from,
                to,
                amount_msat: 2_000_000,
            },
        );
    }
    network.run_until(SimTime(FIRST_PAYMENT_MS - 1)).expect("opens");
    let events_before = network.events_processed();
    let start = Instant::now();
    let end = SimTime(FIRST_PAYMENT_MS + PAYMENTS * SPACING_MS + 1_000);
    network.run_until(end).expect("no invariant broken");
    let seconds = start.elapsed().as_secs_f64();
    let tally = network.tally();
    assert_eq!(tally.sent, PAYMENTS, "{tally:?}");
    let events = network.events_processed() - events_before;
    let simulated_seconds = (end.as_ms() - FIRST_PAYMENT_MS) as f64 / 1000.0;
    println!("two nodes, one payment at a time:");
    println!(
        "  payments settled:  {:.0} /s ({PAYMENTS} payments)",
        PAYMENTS as f64 / seconds
    );
    println!("  events:            {:.0} /s", events as f64 / seconds);
    println!("  time compression:  {:.0}x", simulated_seconds / seconds);
}

fn star() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/star20_faults.scn");
    let text = std::fs::read_to_string(path).expect("the bundled star scenario");
    let scenario = Scenario::parse(path, &text).expect("valid");
    let (mut wall_seconds, mut simulated_seconds, mut events, mut sent) = (0.0, 0.0, 0, 0);
    for seed in 0..STAR_SEEDS {
        let start = Instant::now();
        let outcome = scenario.run(seed).expect("valid");
        wall_seconds += start.elapsed().as_secs_f64();
        if let Some(v) = outcome.violation {
            panic!("{v}");
        }
        simulated_seconds += outcome.network.now().as_ms() as f64 / 1000.0;
        events += outcome.network.events_processed();
        sent += outcome.network.tally().sent;
    }
    let per_run = wall_seconds / STAR_SEEDS as f64;
    println!("20-node star under every fault, whole runs ({STAR_SEEDS} seeds):");
    println!("  wall time per run: {per_run:.2} s");
    println!("  events:            {:.0} /s", events as f64 / wall_seconds);
    println!("  payments settled:  {:.0} /s", sent as f64 / wall_seconds);
    println!("  time compression:  {:.0}x", simulated_seconds / wall_seconds);
    println!(
        "  1,000-seed sweep:  {:.1} min on 2 cores (--jobs 2), projected",
        per_run * 1000.0 / 2.0 / 60.0
    );
}

fn main() {
    two_nodes();
    star();
}
