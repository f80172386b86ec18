//! Throughput of the simulator itself: two nodes over real BOLT 8 with real crypto, one
//! payment at a time (each settles before the next is sent), on the virtual clock.
//! Compare its payments/s with `cargo bench -p tests --bench payments` (batches of 1):
//! the difference is the transport, the managers and the simulator's own overhead.
//!
//! Run: `cargo bench -p sim --bench network` (release profile).

use std::time::Instant;

use sim::clock::SimTime;
use sim::latency::Latency;
use sim::network::{Action, Network, NetworkConfig};

const PAYMENTS: u64 = 2000;
/// Far more than one payment's round trips at 1 ms a hop, so payments never overlap.
const SPACING_MS: u64 = 50;
const FIRST_PAYMENT_MS: u64 = 240_000;

fn main() {
    let mut network = Network::new(NetworkConfig {
        seed: 1,
        node_count: 2,
        latency: Latency::Constant { ms: 1 },
        jitter_ms: 0,
        block_interval_ms: 60_000,
        ..NetworkConfig::default()
    })
    .expect("valid");
    network.schedule(SimTime(0), Action::Connect { from: 0, to: 1 });
    network.schedule(
        SimTime(1_000),
        Action::OpenChannel {
            from: 0,
            to: 1,
            funding_satoshis: 10_000_000,
            push_msat: 0,
        },
    );
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
    let trace_before = network.trace().len();
    let start = Instant::now();
    let end = SimTime(FIRST_PAYMENT_MS + PAYMENTS * SPACING_MS + 1_000);
    network.run_until(end).expect("no invariant broken");
    let seconds = start.elapsed().as_secs_f64();
    let tally = network.tally();
    assert_eq!(tally.sent, PAYMENTS, "{tally:?}");
    let events = network.trace().len() - trace_before;
    let simulated_seconds = (end.as_ms() - FIRST_PAYMENT_MS) as f64 / 1000.0;
    println!("two nodes, one payment at a time, real crypto:");
    println!(
        "  payments settled:  {:.0} /s ({PAYMENTS} payments)",
        PAYMENTS as f64 / seconds
    );
    println!("  trace events:      {:.0} /s", events as f64 / seconds);
    println!("  time compression:  {:.0}x", simulated_seconds / seconds);
}
