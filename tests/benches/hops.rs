//! Payments per second across one hop and across two, between three whole in-process
//! nodes (`0 - 1 - 2`) over real BOLT 8 with real crypto, measured in the same run: each
//! payment is invoiced, routed, forwarded (for two hops), claimed and settled before the
//! next starts.
//!
//! Run: `cargo bench -p tests --bench hops` (release profile). It prints both rates and
//! the two-hop rate as a share of the one-hop rate.

use std::time::Instant;

use tests::node_line::Line;

const PAYMENTS: usize = 300;
const AMOUNT_MSAT: u64 = 1_000_000;

/// Seconds for `PAYMENTS` payments from node 0 to node `payee`, each settled before the
/// next.
fn pay_all(line: &mut Line, payee: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..PAYMENTS {
        let hash = line.send(0, payee, AMOUNT_MSAT);
        line.process();
        line.claim(payee, hash);
        line.process();
    }
    let seconds = start.elapsed().as_secs_f64();
    for i in 0..line.nodes.len() {
        line.take_events(i);
        assert_eq!(line.htlc_count(i), 0, "every payment settled");
    }
    seconds
}

fn main() {
    // Capacity for every payment of both workloads, both ways of pushing.
    let mut line = Line::new(3, 16_000_000, 8_000_000_000);
    let payer_before = line.holdings_msat(0);
    // Warm up both paths (the first payment of each pays for lazily built state).
    pay_all_warm(&mut line);
    let one_hop = pay_all(&mut line, 1);
    let two_hops = pay_all(&mut line, 2);
    assert!(line.holdings_msat(0) < payer_before, "the payments moved value");
    let one_hop_rate = PAYMENTS as f64 / one_hop;
    let two_hop_rate = PAYMENTS as f64 / two_hops;
    println!("one hop:  {one_hop_rate:8.1} payments/s ({PAYMENTS} in {one_hop:.2} s)");
    println!("two hops: {two_hop_rate:8.1} payments/s ({PAYMENTS} in {two_hops:.2} s)");
    println!("two hops at {:.0}% of one hop", 100.0 * two_hop_rate / one_hop_rate);
}

fn pay_all_warm(line: &mut Line) {
    for payee in [1, 2] {
        let hash = line.send(0, payee, AMOUNT_MSAT);
        line.process();
        line.claim(payee, hash);
        line.process();
    }
}
