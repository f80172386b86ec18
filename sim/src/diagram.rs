//! A message-sequence diagram of a run: one self-contained HTML page with an SVG, a
//! lifeline per node, an arrow per delivery (from when the bytes were sent to when they
//! arrived, labelled with the messages the receiver decoded), lost bytes in red, node
//! happenings as boxes on their lifeline and chain and fault happenings across the page.
//!
//! Time runs down the page, compressed: each distinct instant gets one row, so a burst of
//! milliseconds and a quiet ten minutes take the same room. Hovering shows the trace line.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::network::Violation;
use crate::trace::{parse_line, Fields};

/// What to draw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiagramOptions {
    /// From this time on (ms); default: so that at most `max_rows` instants show,
    /// ending with the run.
    pub from_ms: Option<u64>,
    /// Up to this time (ms); default: the end of the run.
    pub to_ms: Option<u64>,
    /// Only these nodes (default: all).
    pub nodes: Option<Vec<usize>>,
    /// At most this many instants (rows); 0 means 400.
    pub max_rows: usize,
}

const ROW_PX: u64 = 22;
const TOP_PX: u64 = 70;
const LEFT_PX: u64 = 110;
const COLUMN_PX: u64 = 190;

/// Parses `A..B` with time units (`240s..250s`, `4min..5min`, `1000..2000` in ms).
pub fn parse_window(text: &str) -> Result<(u64, u64), String> {
    let (from, to) = text
        .split_once("..")
        .ok_or_else(|| format!("expected A..B, found `{text}`"))?;
    let (from, to) = (parse_time_ms(from)?, parse_time_ms(to)?);
    if from > to {
        return Err(format!("`{text}` ends before it starts"));
    }
    Ok((from, to))
}

fn parse_time_ms(text: &str) -> Result<u64, String> {
    let units = [("ms", 1.0), ("min", 60_000.0), ("h", 3_600_000.0), ("s", 1000.0)];
    let (number, factor) = units
        .iter()
        .find_map(|(unit, factor)| text.strip_suffix(unit).map(|n| (n, *factor)))
        .unwrap_or((text, 1.0));
    match number.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 && x * factor < 1e15 => Ok((x * factor).round() as u64),
        _ => Err(format!("`{text}` is not a time (a number with ms, s, min or h)")),
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// One parsed trace line with its text.
struct Line<'a> {
    t_ms: u64,
    node: Option<usize>,
    what: String,
    fields: Fields,
    raw: &'a str,
}

fn node_field(fields: &Fields, key: &str) -> Option<usize> {
    fields.get(key).and_then(|v| v.as_u64()).map(|n| n as usize)
}

/// The short text of a node happening's box.
fn box_label(line: &Line<'_>) -> String {
    let f = &line.fields;
    let get = |key: &str| f.get(key).map(|v| v.display()).unwrap_or_default();
    match line.what.as_str() {
        "pay" if f.contains_key("refused") => format!("pay {} → {} refused", get("amount_msat"), get("to")),
        "pay" => format!("pay {} msat → {}", get("amount_msat"), get("to")),
        "sent" | "failed" | "claimable" => format!("{} {}…", line.what, &get("hash")[..8.min(get("hash").len())]),
        "connect" => format!(
            "connect → {}{}",
            get("to"),
            f.get("refused").map(|_| " refused").unwrap_or("")
        ),
        "disconnect" => format!("disconnect {}", get("peer")),
        "event" => get("event"),
        "restart" => format!("restart (stale manager: {})", get("stale_manager")),
        "skipped" => "skipped (down)".to_string(),
        other => other.replace('_', " "),
    }
}

/// The diagram of `trace` (the run's lines, as written) over `node_count` nodes, with
/// the run's violation, if any, marked at the end.
pub fn sequence_diagram(
    title: &str,
    trace: &[String],
    node_count: usize,
    violation: Option<&Violation>,
    options: &DiagramOptions,
) -> String {
    let lines: Vec<Line<'_>> = trace
        .iter()
        .filter_map(|raw| {
            let fields = parse_line(raw).ok()?;
            Some(Line {
                t_ms: fields.get("t_ms")?.as_u64()?,
                node: node_field(&fields, "node"),
                what: fields.get("what")?.as_str()?.to_string(),
                fields,
                raw,
            })
        })
        .collect();
    let shown: Vec<usize> = options
        .nodes
        .clone()
        .unwrap_or_else(|| (0..node_count).collect())
        .into_iter()
        .filter(|&n| n < node_count)
        .collect();
    let column = |node: usize| shown.iter().position(|&n| n == node);
    let involves_shown = |l: &Line<'_>| match l.node {
        None => true,
        Some(n) => column(n).is_some(),
    };
    let max_rows = if options.max_rows == 0 { 400 } else { options.max_rows };
    let to_ms = options.to_ms.unwrap_or(u64::MAX);
    // Instants of shown happenings up to the end of the window.
    let all_instants: BTreeSet<u64> = lines
        .iter()
        .filter(|l| l.t_ms <= to_ms && involves_shown(l))
        .map(|l| l.t_ms)
        .collect();
    let from_ms = options.from_ms.unwrap_or_else(|| {
        let skip = all_instants.len().saturating_sub(max_rows);
        all_instants.iter().nth(skip).copied().unwrap_or(0)
    });
    let visible: Vec<&Line<'_>> = lines
        .iter()
        .filter(|l| l.t_ms >= from_ms && l.t_ms <= to_ms && involves_shown(l))
        .collect();
    let mut instants: BTreeSet<u64> = visible.iter().map(|l| l.t_ms).collect();
    for l in &visible {
        if let Some(sent) = l.fields.get("sent_ms").and_then(|v| v.as_u64()) {
            instants.insert(sent.max(from_ms));
        }
    }
    let instants: Vec<u64> = instants.into_iter().take(max_rows).collect();
    let last_shown = instants.last().copied().unwrap_or(from_ms);
    let row = |t: u64| instants.partition_point(|&i| i < t) as u64;
    let y = |t: u64| TOP_PX + row(t) * ROW_PX;
    let x = |node: usize| LEFT_PX + column(node).unwrap_or(0) as u64 * COLUMN_PX + COLUMN_PX / 2;
    let width = LEFT_PX + shown.len() as u64 * COLUMN_PX + 40;
    let height = TOP_PX + (instants.len() as u64 + 3) * ROW_PX;

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace" font-size="11">"#
    );
    svg.push_str(
        r#"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="context-stroke"/></marker></defs>"#,
    );
    for (i, &node) in shown.iter().enumerate() {
        let cx = LEFT_PX + i as u64 * COLUMN_PX + COLUMN_PX / 2;
        let _ = write!(
            svg,
            r##"<rect x="{}" y="20" width="90" height="24" rx="4" fill="#263b5e"/><text x="{cx}" y="36" fill="white" text-anchor="middle" font-size="13">node {node}</text><line x1="{cx}" y1="44" x2="{cx}" y2="{}" stroke="#9aa5b8" stroke-dasharray="4 3"/>"##,
            cx - 45,
            height - ROW_PX
        );
    }
    let mut labelled_rows = BTreeSet::new();
    for &t in &instants {
        if labelled_rows.insert(row(t)) {
            let _ = write!(
                svg,
                r##"<text x="8" y="{}" fill="#6b7689">{:.3}s</text>"##,
                y(t) + 4,
                t as f64 / 1000.0
            );
        }
    }
    for l in &visible {
        if l.t_ms > last_shown {
            continue;
        }
        let title = format!("<title>{}</title>", escape(l.raw));
        match (l.what.as_str(), l.node) {
            ("deliver" | "lost", Some(to)) => {
                let Some(from) = node_field(&l.fields, "from") else {
                    continue;
                };
                if column(from).is_none() {
                    continue;
                }
                let sent = l.fields.get("sent_ms").and_then(|v| v.as_u64()).unwrap_or(l.t_ms);
                let (x1, y1, x2, y2) = (x(from), y(sent.max(from_ms)), x(to), y(l.t_ms));
                let lost = l.what == "lost";
                let failed = l.fields.contains_key("disconnect");
                let names = l.fields.get("msgs").map(|v| v.display()).unwrap_or_default();
                let bytes = l.fields.get("bytes").map(|v| v.display()).unwrap_or_default();
                let (color, label) = match (lost, failed, names.is_empty()) {
                    (true, _, _) => ("#c62828", format!("lost {bytes} bytes")),
                    (false, true, _) => ("#c62828", format!("{bytes} bytes: unreadable, disconnect")),
                    (false, false, true) => ("#9aa5b8", format!("handshake {bytes} B")),
                    (false, false, false) => ("#1f5fbf", names),
                };
                let dash = if lost { r#" stroke-dasharray="5 3""# } else { "" };
                let _ = write!(
                    svg,
                    r#"<g>{title}<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{color}" stroke-width="1.4"{dash} marker-end="url(#arrow)"/><text x="{}" y="{}" fill="{color}" text-anchor="middle">{}</text></g>"#,
                    (x1 + x2) / 2,
                    (y1 + y2) / 2 - 3,
                    escape(&label)
                );
            }
            (_, Some(node)) => {
                let label = box_label(l);
                let w = (label.chars().count() as u64 * 7 + 10).min(COLUMN_PX - 10);
                let color = match l.what.as_str() {
                    "crash" | "skipped" => "#fde0dc",
                    "restart" | "sent" | "claimable" => "#dff3e4",
                    "pause_monitors" | "resume_monitors" => "#fff4d6",
                    _ => "#eef1f6",
                };
                let _ = write!(
                    svg,
                    r##"<g>{title}<rect x="{}" y="{}" width="{w}" height="16" rx="3" fill="{color}" stroke="#9aa5b8"/><text x="{}" y="{}" text-anchor="middle">{}</text></g>"##,
                    x(node) - w / 2,
                    y(l.t_ms) - 10,
                    x(node),
                    y(l.t_ms) + 2,
                    escape(&label)
                );
            }
            (what, None) => {
                let detail: Vec<String> = l
                    .fields
                    .iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "t_ms" | "node" | "what"))
                    .map(|(k, v)| format!("{k}={}", v.display()))
                    .collect();
                let _ = write!(
                    svg,
                    r##"<g>{title}<line x1="{LEFT_PX}" y1="{0}" x2="{1}" y2="{0}" stroke="#b0782a" stroke-dasharray="2 4"/><text x="{1}" y="{2}" fill="#b0782a" text-anchor="end">{3}</text></g>"##,
                    y(l.t_ms),
                    width - 10,
                    y(l.t_ms) - 3,
                    escape(&format!("{what} {}", detail.join(" ")))
                );
            }
        }
    }
    if let Some(v) = violation {
        let yv = height - 2 * ROW_PX;
        let _ = write!(
            svg,
            r##"<rect x="0" y="{}" width="{width}" height="{}" fill="#c62828"/><text x="8" y="{}" fill="white">{}</text>"##,
            yv - 14,
            ROW_PX,
            yv,
            escape(&format!("{} — {}", v.at, v.invariant))
        );
    }
    svg.push_str("</svg>");

    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{0}</title>\
         <style>body{{font-family:sans-serif;margin:16px;color:#1c2430}}svg{{background:#fbfcfe;border:1px solid #dde3ec}}</style>\
         </head><body><h2>{0}</h2><p>{1} to {2}, nodes {3}. Arrows run from when bytes were sent to when they arrived; hover for the trace line.</p>\n{svg}\n</body></html>\n",
        escape(title),
        crate::clock::SimTime(from_ms),
        crate::clock::SimTime(last_shown),
        shown.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", "),
    );
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace() -> Vec<String> {
        [
            r#"{"t_ms":1000,"node":0,"what":"pay","to":1,"amount_msat":5000,"hash":"ab12"}"#,
            r#"{"t_ms":1050,"node":1,"what":"deliver","from":0,"sent_ms":1000,"bytes":300,"msgs":["UpdateAddHtlc","CommitmentSigned"]}"#,
            r#"{"t_ms":1060,"node":null,"what":"fault","kind":"disconnect"}"#,
            r#"{"t_ms":1070,"node":0,"what":"lost","from":1,"sent_ms":1050,"bytes":120}"#,
            r#"{"t_ms":1080,"node":2,"what":"crash"}"#,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    #[test]
    fn deliveries_losses_and_happenings_are_drawn() {
        let html = sequence_diagram("t", &trace(), 3, None, &DiagramOptions::default());
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains("UpdateAddHtlc, CommitmentSigned"));
        assert!(html.contains("lost 120 bytes"));
        assert!(html.contains("pay 5000 msat → 1"));
        assert!(html.contains("fault kind=disconnect"));
        assert!(html.contains(">node 2</text>"));
    }

    #[test]
    fn a_window_and_a_node_choice_leave_the_rest_out() {
        let options = DiagramOptions {
            from_ms: Some(1040),
            to_ms: Some(1075),
            nodes: Some(vec![0, 1]),
            max_rows: 0,
        };
        let html = sequence_diagram("t", &trace(), 3, None, &options);
        assert!(!html.contains("pay 5000"));
        assert!(!html.contains(">node 2</text>"));
        assert!(!html.contains("crash"));
        assert!(html.contains("lost 120 bytes"));
    }

    #[test]
    fn windows_parse_with_units() {
        assert_eq!(parse_window("240s..4.5min"), Ok((240_000, 270_000)));
        assert_eq!(parse_window("10..20"), Ok((10, 20)));
        assert!(parse_window("5s..1s").is_err());
        assert!(parse_window("5s").is_err());
        assert!(parse_window("xs..1s").is_err());
    }
}
