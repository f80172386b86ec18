//! A sweep's report: one self-contained HTML page (inline SVG, no script, nothing
//! fetched) with what a person would rather look at than read: how long payments took,
//! how often they went through as simulated time passed, what failed and where, and how
//! fast the simulator ran. Every plot aggregates over seeds and nodes, so the page
//! stays the same size for two nodes or a hundred.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::markup::escape;
use crate::network::PaymentOutcome;
use crate::summary::{kinds, total, SeedSummary};

const WIDTH: f64 = 880.0;
const KIND_COLORS: [(&str, &str); 5] = [
    ("invariant", "#c62828"),
    ("liveness", "#ef6c00"),
    ("expectation", "#8e24aa"),
    ("refusal", "#5d4037"),
    ("panic", "#000000"),
];

fn kind_color(kind: &str) -> &'static str {
    KIND_COLORS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("#c62828", |(_, c)| c)
}

/// A value's share of `max`, in pixels of `span`.
fn scale(value: f64, max: f64, span: f64) -> f64 {
    if max <= 0.0 {
        0.0
    } else {
        value / max * span
    }
}

/// Horizontal bars, one per row (label, count, color), longest first as given.
fn bars(rows: &[(String, u64, &str)]) -> String {
    if rows.is_empty() {
        return "<p class=\"none\">None.</p>".to_string();
    }
    let label_px = 420.0;
    let row_px = 22.0;
    let height = rows.len() as f64 * row_px + 8.0;
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1) as f64;
    let mut svg = format!(r#"<svg width="{WIDTH}" height="{height}" role="img">"#);
    for (i, (label, count, color)) in rows.iter().enumerate() {
        let y = i as f64 * row_px + 4.0;
        let w = scale(*count as f64, max, WIDTH - label_px - 70.0).max(1.0);
        let shown: String = if label.chars().count() > 62 {
            label.chars().take(61).chain(['…']).collect()
        } else {
            label.clone()
        };
        let _ = write!(
            svg,
            r##"<g><title>{}: {count}</title><text x="{}" y="{}" text-anchor="end" font-size="12">{}</text><rect x="{label_px}" y="{y}" width="{w:.1}" height="16" fill="{color}"/><text x="{:.1}" y="{}" font-size="12">{count}</text></g>"##,
            escape(label),
            label_px - 8.0,
            y + 12.0,
            escape(&shown),
            label_px + w + 6.0,
            y + 12.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Vertical bars over labelled bins, with axis labels.
fn columns(bins: &[(String, u64)], color: &str, y_label: &str) -> String {
    let (left, bottom, top) = (50.0, 40.0, 12.0);
    let height = 220.0;
    let plot_h = height - bottom - top;
    let max = bins.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64;
    let step = (WIDTH - left - 10.0) / bins.len().max(1) as f64;
    let mut svg = format!(r#"<svg width="{WIDTH}" height="{height}" role="img">"#);
    let _ = write!(
        svg,
        r##"<line x1="{left}" y1="{0}" x2="{1}" y2="{0}" stroke="#888"/><text x="4" y="{top}" font-size="11" fill="#555">{max}</text><text x="4" y="{2}" font-size="11" fill="#555">{y_label}</text>"##,
        height - bottom,
        WIDTH - 10.0,
        top + 14.0,
    );
    let label_every = (bins.len() / 12).max(1);
    for (i, (label, count)) in bins.iter().enumerate() {
        let h = scale(*count as f64, max, plot_h);
        let x = left + i as f64 * step;
        let _ = write!(
            svg,
            r##"<g><title>{}: {count}</title><rect x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{color}"/></g>"##,
            escape(label),
            x + 1.0,
            height - bottom - h,
            (step - 2.0).max(1.0),
        );
        if i % label_every == 0 {
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{}" font-size="11" fill="#555" text-anchor="middle">{}</text>"##,
                x + step / 2.0,
                height - bottom + 16.0,
                escape(label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Latency buckets: under 100 ms, then doubling, and the last open-ended.
fn latency_bins(latencies_ms: &[u64]) -> Vec<(String, u64)> {
    let edges: Vec<u64> = (0..10).map(|i| 100u64 << i).collect();
    let mut counts = vec![0u64; edges.len() + 1];
    for &l in latencies_ms {
        let i = edges.iter().position(|&e| l < e).unwrap_or(edges.len());
        counts[i] += 1;
    }
    let human = |ms: u64| {
        if ms >= 1000 {
            format!("{:.1}s", ms as f64 / 1000.0)
        } else {
            format!("{ms}ms")
        }
    };
    counts
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            // Each bin by its lower edge (the range is in its hover text).
            let label = match i {
                0 => format!("<{}", human(edges[0])),
                i => format!("≥{}", human(edges[i - 1])),
            };
            (label, n)
        })
        .collect()
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

/// Share of payments sent, per slice of simulated time (by dispatch), as a line over
/// bars of how many were dispatched.
fn success_over_time(summaries: &[SeedSummary]) -> String {
    const SLICES: usize = 40;
    let end_ms = summaries
        .iter()
        .flat_map(|s| s.payments.iter().map(|p| p.dispatched_ms))
        .max()
        .unwrap_or(0)
        + 1;
    let mut dispatched = [0u64; SLICES];
    let mut sent = [0u64; SLICES];
    for p in summaries.iter().flat_map(|s| &s.payments) {
        let i = ((p.dispatched_ms as u128 * SLICES as u128) / end_ms as u128) as usize;
        dispatched[i.min(SLICES - 1)] += 1;
        if p.outcome == PaymentOutcome::Sent {
            sent[i.min(SLICES - 1)] += 1;
        }
    }
    let (left, bottom, top, height) = (50.0, 40.0, 12.0, 240.0);
    let plot_h = height - bottom - top;
    let step = (WIDTH - left - 10.0) / SLICES as f64;
    let max_volume = dispatched.iter().copied().max().unwrap_or(0).max(1) as f64;
    let mut svg = format!(r#"<svg width="{WIDTH}" height="{height}" role="img">"#);
    for pct in [0, 50, 100] {
        let y = height - bottom - plot_h * pct as f64 / 100.0;
        let _ = write!(
            svg,
            r##"<line x1="{left}" y1="{y}" x2="{}" y2="{y}" stroke="#ddd"/><text x="8" y="{}" font-size="11" fill="#555">{pct}%</text>"##,
            WIDTH - 10.0,
            y + 4.0
        );
    }
    let mut points = Vec::new();
    for i in 0..SLICES {
        let x = left + i as f64 * step;
        let h = scale(dispatched[i] as f64, max_volume, plot_h * 0.35);
        let from_s = end_ms as f64 * i as f64 / SLICES as f64 / 1000.0;
        let _ = write!(
            svg,
            r##"<g><title>{from_s:.0}s on: {} dispatched, {} sent</title><rect x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="#cfd8e6"/></g>"##,
            dispatched[i],
            sent[i],
            x + 1.0,
            height - bottom - h,
            step - 2.0
        );
        if dispatched[i] > 0 {
            let share = sent[i] as f64 / dispatched[i] as f64;
            points.push(format!("{:.1},{:.1}", x + step / 2.0, height - bottom - plot_h * share));
        }
        if i % 5 == 0 {
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{}" font-size="11" fill="#555" text-anchor="middle">{:.0}s</text>"##,
                x + step / 2.0,
                height - bottom + 16.0,
                from_s
            );
        }
    }
    let _ = write!(
        svg,
        r##"<polyline points="{}" fill="none" stroke="#2e7d32" stroke-width="2"/></svg>"##,
        points.join(" ")
    );
    svg
}

/// One square per seed, colored by how it ended, wrapping; each says its seed and
/// failure on hover.
fn seed_strip(summaries: &[SeedSummary]) -> String {
    let per_row = 60usize;
    let cell = WIDTH / per_row as f64;
    let rows = summaries.len().div_ceil(per_row).max(1);
    let mut svg = format!(
        r#"<svg width="{WIDTH}" height="{}" role="img">"#,
        rows as f64 * cell + 2.0
    );
    for (i, s) in summaries.iter().enumerate() {
        let (color, text) = match &s.failure {
            None => ("#8bc34a", format!("seed {}: held", s.seed)),
            Some(f) => (kind_color(&f.kind), format!("seed {}: {} — {}", s.seed, f.kind, f.text)),
        };
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{color}"><title>{}</title></rect>"#,
            (i % per_row) as f64 * cell + 1.0,
            (i / per_row) as f64 * cell + 1.0,
            cell - 2.0,
            cell - 2.0,
            escape(&text)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The whole page.
pub fn sweep_report(title: &str, summaries: &[SeedSummary]) -> String {
    let tally = total(summaries);
    let failing = summaries.iter().filter(|s| s.failure.is_some()).count();
    let mut latencies: Vec<u64> = summaries
        .iter()
        .flat_map(|s| s.payments.iter())
        .filter(|p| p.outcome == PaymentOutcome::Sent)
        .filter_map(|p| p.latency_ms)
        .collect();
    latencies.sort_unstable();
    let kind_rows: Vec<(String, u64, &str)> = kinds(summaries)
        .iter()
        .map(|k| {
            (
                format!("{}: {} (first seed {})", k.kind, k.text, k.first_seed),
                k.count as u64,
                kind_color(&k.kind),
            )
        })
        .collect();
    let mut reasons: BTreeMap<&str, u64> = BTreeMap::new();
    for s in summaries {
        for (reason, n) in &s.reasons {
            *reasons.entry(reason.as_str()).or_default() += n;
        }
    }
    let mut reason_rows: Vec<(String, u64, &str)> = reasons
        .into_iter()
        .map(|(r, n)| (r.to_string(), n, "#607d8b"))
        .collect();
    reason_rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    reason_rows.truncate(15);
    // Simulator speed: events handled per wall-clock second, per seed.
    let speed: Vec<(String, u64)> = summaries
        .iter()
        .map(|s| {
            let per_second = s.events as f64 * 1000.0 / s.wall_ms.max(1) as f64;
            (format!("seed {}", s.seed), per_second.round() as u64)
        })
        .collect();
    let mut sorted_speed: Vec<u64> = speed.iter().map(|s| s.1).collect();
    sorted_speed.sort_unstable();
    let events: u64 = summaries.iter().map(|s| s.events).sum();
    let wall_ms: u64 = summaries.iter().map(|s| s.wall_ms).sum();

    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>\
         body{{font-family:system-ui,sans-serif;margin:24px auto;max-width:920px;color:#1c2430}}\
         h1{{font-size:22px}}h2{{font-size:17px;margin-top:28px;border-bottom:1px solid #dde3ec}}\
         .figures{{display:flex;gap:28px;flex-wrap:wrap}}.figure b{{display:block;font-size:22px}}\
         .none{{color:#6b7689}}.legend span{{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}}\
         svg text{{font-family:system-ui,sans-serif}}</style></head><body>\n<h1>{t}</h1>\n<div class=\"figures\">\
         <div class=\"figure\"><b>{runs}</b>seeds run</div><div class=\"figure\"><b>{failing}</b>failing</div>\
         <div class=\"figure\"><b>{dispatched}</b>payments dispatched</div><div class=\"figure\"><b>{sent_pct:.1}%</b>sent</div>\
         <div class=\"figure\"><b>{p50} / {p99} ms</b>latency p50 / p99</div><div class=\"figure\"><b>{speed}</b>events per second</div></div>\n",
        t = escape(title),
        runs = summaries.len(),
        dispatched = tally.dispatched,
        sent_pct = if tally.dispatched == 0 {
            0.0
        } else {
            tally.sent as f64 * 100.0 / tally.dispatched as f64
        },
        p50 = percentile(&latencies, 0.5),
        p99 = percentile(&latencies, 0.99),
        speed = (events as f64 * 1000.0 / wall_ms.max(1) as f64).round(),
    );
    let _ = writeln!(
        html,
        "<h2>Payment latency</h2><p>From dispatch to the payer learning the preimage, {} payments sent \
         (p50 {} ms, p90 {} ms, p99 {} ms).</p>{}",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.9),
        percentile(&latencies, 0.99),
        columns(&latency_bins(&latencies), "#1f5fbf", "payments")
    );
    let _ = writeln!(
        html,
        "<h2>Success rate over simulated time</h2><p>Share of the payments dispatched in each slice of the run that \
         were sent (line), over how many were dispatched (bars), all seeds together.</p>{}",
        success_over_time(summaries)
    );
    let legend: String = KIND_COLORS
        .iter()
        .map(|(k, c)| format!("<span style=\"background:{c}\"></span>{k}"))
        .collect();
    let _ = write!(
        html,
        "<h2>Failures by kind</h2>{}\n<h2>Failures by seed</h2><p class=\"legend\"><span style=\"background:#8bc34a\"></span>held{legend}</p>{}\n\
         <h2>Payments that did not go through, by reason</h2>{}\n",
        bars(&kind_rows),
        seed_strip(summaries),
        bars(&reason_rows)
    );
    let _ = write!(
        html,
        "<h2>Events per second</h2><p>Simulator events handled per wall-clock second, per seed (median {}); \
         {} events in {:.1} s of runs.</p>{}\n</body></html>\n",
        percentile(&sorted_speed, 0.5),
        events,
        wall_ms as f64 / 1000.0,
        columns(&speed, "#00897b", "events/s")
    );
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::{Failure, PaymentPoint};

    fn seed(seed: u64, failed: bool) -> SeedSummary {
        SeedSummary {
            seed,
            tally: crate::network::PaymentTally {
                dispatched: 2,
                sent: 1,
                refused: 1,
                ..Default::default()
            },
            payments: vec![
                PaymentPoint {
                    dispatched_ms: 1_000 * seed,
                    latency_ms: Some(150 + seed),
                    outcome: PaymentOutcome::Sent,
                },
                PaymentPoint {
                    dispatched_ms: 2_000,
                    latency_ms: None,
                    outcome: PaymentOutcome::Refused,
                },
            ],
            reasons: vec![("refused: NoUsableChannel".to_string(), 1)],
            failure: failed.then(|| Failure::panic("boom <x>".to_string())),
            events: 1_000,
            end_ms: 10_000,
            wall_ms: 10,
        }
    }

    #[test]
    fn the_page_holds_every_plot_and_escapes_what_it_shows() {
        let summaries: Vec<SeedSummary> = (0..120).map(|s| seed(s, s % 7 == 3)).collect();
        let html = sweep_report("a <b> sweep", &summaries);
        for heading in [
            "Payment latency",
            "Success rate over simulated time",
            "Failures by kind",
            "Failures by seed",
            "by reason",
            "Events per second",
        ] {
            assert!(html.contains(heading), "{heading}");
        }
        assert!(html.contains("a &lt;b&gt; sweep"));
        assert!(html.contains("panicked: boom &lt;x&gt;"));
        assert!(!html.contains("<script"), "self-contained, nothing to run");
        assert!(!html.contains("http"), "nothing fetched");
        // 120 seeds, 18 failing: one square each.
        assert_eq!(html.matches("<title>seed ").count(), 120 + 120);
    }

    #[test]
    fn latency_bins_cover_every_payment() {
        let bins = latency_bins(&[5, 99, 100, 250, 1_000_000]);
        assert_eq!(bins.iter().map(|b| b.1).sum::<u64>(), 5);
        assert_eq!(bins[0], ("<100ms".to_string(), 2));
        assert_eq!(bins.last().cloned(), Some(("≥51.2s".to_string(), 1)));
    }
}
