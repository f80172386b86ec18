//! A message-sequence diagram of a run: one self-contained HTML page with an SVG, a
//! lifeline per node, an arrow per delivery (from when the bytes were sent to when they
//! arrived, labelled with the messages the receiver decoded), lost bytes in red, node
//! happenings as boxes on their lifeline and chain and fault happenings across the page.
//!
//! Time runs down the page, compressed: each distinct instant gets one row, so a burst of
//! milliseconds and a quiet ten minutes take the same room. Hovering shows the trace line.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::markup::escape;
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
const COLUMN_PX: u64 = 240;

/// Parses `A..B` with time units (`240s..250s`, `4min..5min`, `1000ms..2000ms`); a
/// bare number is refused (seconds or milliseconds? the diagram would be empty either
/// way if guessed wrong).
pub fn parse_window(text: &str) -> Result<(u64, u64), String> {
    let (from, to) = text
        .split_once("..")
        .ok_or_else(|| format!("expected A..B with units (240s..250s), found `{text}`"))?;
    let (from, to) = (parse_time_ms(from)?, parse_time_ms(to)?);
    if from >= to {
        return Err(format!("`{text}` is empty: it must end after it starts"));
    }
    Ok((from, to))
}

fn parse_time_ms(text: &str) -> Result<u64, String> {
    let units = [("ms", 1.0), ("min", 60_000.0), ("h", 3_600_000.0), ("s", 1000.0)];
    let Some((number, factor)) = units
        .iter()
        .find_map(|(unit, factor)| text.strip_suffix(unit).map(|n| (n, *factor)))
    else {
        return Err(format!("`{text}` needs a unit: ms, s, min or h"));
    };
    match number.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 && x * factor < 1e15 => Ok((x * factor).round() as u64),
        _ => Err(format!("`{text}` is not a time (a number with ms, s, min or h)")),
    }
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

/// Above this many nodes, a diagram without a choice of nodes shows only those that
/// exchanged messages in its window: a column per idle node is a scroll of nothing.
pub const ALL_NODES_UP_TO: usize = 8;

/// Width of a character of the diagram's 11px monospace text, in pixels.
const CHAR_PX: f64 = 6.7;

/// Text already placed on the page: a new label goes where it overlaps none, or is
/// left to the hover text.
#[derive(Default)]
struct Placed {
    boxes: Vec<(f64, f64, f64, f64)>,
}

impl Placed {
    fn free(&self, b: (f64, f64, f64, f64)) -> bool {
        self.boxes
            .iter()
            .all(|p| b.2 <= p.0 || b.0 >= p.2 || b.3 <= p.1 || b.1 >= p.3)
    }

    /// The first of `centres` where a `w` x `h` box (centred on x, bottom at y + 2)
    /// overlaps nothing placed, now placed.
    fn place(&mut self, centres: &[(f64, f64)], w: f64, h: f64) -> Option<(f64, f64)> {
        let found = centres.iter().copied().find(|&(cx, cy)| {
            let b = (cx - w / 2.0, cy - h + 2.0, cx + w / 2.0, cy + 2.0);
            self.free(b)
        })?;
        self.boxes
            .push((found.0 - w / 2.0, found.1 - h + 2.0, found.0 + w / 2.0, found.1 + 2.0));
        Some(found)
    }
}

/// `text` cut to at most `max_px` wide, with an ellipsis if cut.
fn fit(text: &str, max_px: f64) -> String {
    let max_chars = (max_px / CHAR_PX).floor().max(1.0) as usize;
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn text_px(text: &str) -> f64 {
    text.chars().count() as f64 * CHAR_PX
}

/// The diagram of `trace` (the run's lines, as written) over `node_count` nodes, with
/// the run's violation, if any, marked at the end. An empty selection (nodes the run
/// does not have, a window with nothing in it) is an error saying what the run holds.
pub fn sequence_diagram(
    title: &str,
    trace: &[String],
    node_count: usize,
    violation: Option<&Violation>,
    options: &DiagramOptions,
) -> Result<String, String> {
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
    let run_end_ms = lines.last().map_or(0, |l| l.t_ms);
    if let Some(nodes) = &options.nodes {
        if nodes.is_empty() {
            return Err("no nodes chosen".into());
        }
        if let Some(n) = nodes.iter().find(|&&n| n >= node_count) {
            return Err(format!(
                "node {n} is not in this run (its nodes are 0 to {})",
                node_count - 1
            ));
        }
    }
    if let Some(from_ms) = options.from_ms.filter(|&from| from > run_end_ms) {
        return Err(format!(
            "the window starts at {}, after the run's last happening at {}",
            crate::clock::SimTime(from_ms),
            crate::clock::SimTime(run_end_ms)
        ));
    }
    let max_rows = if options.max_rows == 0 { 400 } else { options.max_rows };
    let to_ms = options.to_ms.unwrap_or(u64::MAX);
    let window_of = |shown: &[usize]| -> u64 {
        options.from_ms.unwrap_or_else(|| {
            // The last `max_rows` instants of shown happenings up to the window's end.
            let instants: BTreeSet<u64> = lines
                .iter()
                .filter(|l| l.t_ms <= to_ms && l.node.is_none_or(|n| shown.contains(&n)))
                .map(|l| l.t_ms)
                .collect();
            let skip = instants.len().saturating_sub(max_rows);
            instants.iter().nth(skip).copied().unwrap_or(0)
        })
    };
    let shown: Vec<usize> = match &options.nodes {
        Some(nodes) => nodes.clone(),
        None if node_count <= ALL_NODES_UP_TO => (0..node_count).collect(),
        None => {
            let everyone: Vec<usize> = (0..node_count).collect();
            let from_ms = window_of(&everyone);
            let talkers: BTreeSet<usize> = lines
                .iter()
                .filter(|l| l.t_ms >= from_ms && l.t_ms <= to_ms && l.what == "deliver")
                .filter_map(|l| Some([l.node?, node_field(&l.fields, "from")?]))
                .flatten()
                .collect();
            talkers.into_iter().collect()
        }
    };
    let column = |node: usize| shown.iter().position(|&n| n == node);
    let involves_shown = |l: &Line<'_>| match l.node {
        None => true,
        Some(n) => column(n).is_some(),
    };
    let from_ms = window_of(&shown);
    let visible: Vec<&Line<'_>> = lines
        .iter()
        .filter(|l| l.t_ms >= from_ms && l.t_ms <= to_ms && involves_shown(l))
        .collect();
    if !visible.iter().any(|l| l.node.is_some()) {
        return Err(format!(
            "nothing happened at nodes {} between {} and {}; the run's trace spans 0s to {}",
            if shown.is_empty() {
                "(none exchanged messages)".to_string()
            } else {
                shown.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
            },
            crate::clock::SimTime(from_ms),
            crate::clock::SimTime(to_ms.min(run_end_ms)),
            crate::clock::SimTime(run_end_ms)
        ));
    }
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
    // Node happenings first (their boxes sit on the lifelines), then arrows' labels and
    // chain lines where they overlap no text already placed.
    let mut placed = Placed::default();
    let mut order: Vec<&&Line<'_>> = visible.iter().filter(|l| l.t_ms <= last_shown).collect();
    order.sort_by_key(|l| !matches!((l.what.as_str(), l.node), (w, Some(_)) if w != "deliver" && w != "lost"));
    // A node's happenings at one instant share one box: "claim · PaymentClaimed".
    let mut together: std::collections::BTreeMap<(usize, u64), Vec<&Line<'_>>> = Default::default();
    for l in &order {
        if let (what, Some(node)) = (l.what.as_str(), l.node) {
            if what != "deliver" && what != "lost" {
                together.entry((node, l.t_ms)).or_default().push(l);
            }
        }
    }
    for l in order {
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
                let span_px = (x1 as f64 - x2 as f64).abs().max(COLUMN_PX as f64) - 16.0;
                let label = fit(&label, span_px);
                let along = |t: f64| {
                    (
                        x1 as f64 + (x2 as f64 - x1 as f64) * t,
                        y1 as f64 + (y2 as f64 - y1 as f64) * t - 3.0,
                    )
                };
                let centres: Vec<(f64, f64)> = [0.5, 0.3, 0.7, 0.15, 0.85].into_iter().map(along).collect();
                let text = match placed.place(&centres, text_px(&label), 11.0) {
                    Some((cx, cy)) => format!(
                        r#"<text x="{cx:.0}" y="{cy:.0}" fill="{color}" text-anchor="middle">{}</text>"#,
                        escape(&label)
                    ),
                    None => String::new(),
                };
                let _ = write!(
                    svg,
                    r#"<g>{title}<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{color}" stroke-width="1.4"{dash} marker-end="url(#arrow)"/>{text}</g>"#,
                );
            }
            (_, Some(node)) => {
                let group = &together[&(node, l.t_ms)];
                if !std::ptr::eq(group[0], *l) {
                    continue;
                }
                let labels: Vec<String> = group.iter().map(|g| box_label(g)).collect();
                let label = fit(&labels.join(" · "), COLUMN_PX as f64 - 20.0);
                let w = text_px(&label) + 10.0;
                let raw: Vec<&str> = group.iter().map(|g| g.raw).collect();
                let title = format!("<title>{}</title>", escape(&raw.join("\n")));
                let colors: Vec<&str> = group
                    .iter()
                    .map(|g| match g.what.as_str() {
                        "crash" | "skipped" => "#fde0dc",
                        "restart" | "sent" | "claimable" => "#dff3e4",
                        "pause_monitors" | "resume_monitors" => "#fff4d6",
                        _ => "#eef1f6",
                    })
                    .collect();
                // The most telling: a crash over a restart over a pause over the rest.
                let color = ["#fde0dc", "#dff3e4", "#fff4d6"]
                    .into_iter()
                    .find(|c| colors.contains(c))
                    .unwrap_or("#eef1f6");
                let (cx, cy) = (x(node) as f64, y(l.t_ms) as f64);
                // Boxes at one node and instant stack beside the lifeline; one with no
                // room left is a dot (its text on hover).
                let centres = [(cx, cy), (cx + w / 2.0 + 4.0, cy), (cx - w / 2.0 - 4.0, cy)];
                match placed.place(&centres, w, 16.0) {
                    Some((bx, by)) => {
                        let _ = write!(
                            svg,
                            r##"<g>{title}<rect x="{:.0}" y="{:.0}" width="{w:.0}" height="16" rx="3" fill="{color}" stroke="#9aa5b8"/><text x="{bx:.0}" y="{:.0}" text-anchor="middle">{}</text></g>"##,
                            bx - w / 2.0,
                            by - 10.0,
                            by + 2.0,
                            escape(&label)
                        );
                    }
                    None => {
                        let _ = write!(
                            svg,
                            r##"<g>{title}<circle cx="{cx:.0}" cy="{:.0}" r="4" fill="{color}" stroke="#9aa5b8"/></g>"##,
                            cy - 2.0
                        );
                    }
                }
            }
            (what, None) => {
                let detail: Vec<String> = l
                    .fields
                    .iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "t_ms" | "node" | "what"))
                    .map(|(k, v)| format!("{k}={}", v.display()))
                    .collect();
                let label = fit(&format!("{what} {}", detail.join(" ")), 420.0);
                let w = text_px(&label);
                let right = (width - 10) as f64;
                let text = match placed.place(&[(right - w / 2.0, y(l.t_ms) as f64 - 3.0)], w, 11.0) {
                    Some(_) => format!(
                        r##"<text x="{right:.0}" y="{}" fill="#b0782a" text-anchor="end">{}</text>"##,
                        y(l.t_ms) - 3,
                        escape(&label)
                    ),
                    None => String::new(),
                };
                let _ = write!(
                    svg,
                    r##"<g>{title}<line x1="{LEFT_PX}" y1="{0}" x2="{1}" y2="{0}" stroke="#b0782a" stroke-dasharray="2 4"/>{text}</g>"##,
                    y(l.t_ms),
                    width - 10,
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
            escape(&format!("{} at {} — {}", v.kind.label(), v.at, v.invariant))
        );
    }
    svg.push_str("</svg>");

    let mut html = String::new();
    let idle = if options.nodes.is_none() && node_count > ALL_NODES_UP_TO {
        format!(" (of {node_count}: only those that exchanged messages in the window)")
    } else {
        String::new()
    };
    let _ = write!(
        html,
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{0}</title>\
         <style>body{{font-family:sans-serif;margin:16px;color:#1c2430}}svg{{background:#fbfcfe;border:1px solid #dde3ec}}</style>\
         </head><body><h2>{0}</h2><p>{1} to {2}, nodes {3}{4}. Arrows run from when bytes were sent to when they arrived; hover for the trace line.</p>\n{svg}\n</body></html>\n",
        escape(title),
        crate::clock::SimTime(from_ms),
        crate::clock::SimTime(last_shown),
        shown.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", "),
        idle,
    );
    Ok(html)
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
        let html = sequence_diagram("t", &trace(), 3, None, &DiagramOptions::default()).expect("drawn");
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
        let html = sequence_diagram("t", &trace(), 3, None, &options).expect("drawn");
        assert!(!html.contains("pay 5000"));
        assert!(!html.contains(">node 2</text>"));
        assert!(!html.contains("crash"));
        assert!(html.contains("lost 120 bytes"));
    }

    /// Nodes the run lacks, and windows with nothing in them, are refused with what the
    /// run holds; an empty page is never drawn.
    #[test]
    fn an_empty_selection_is_refused() {
        let draw = |from_ms, to_ms, nodes: Option<Vec<usize>>| {
            let options = DiagramOptions {
                from_ms,
                to_ms,
                nodes,
                max_rows: 0,
            };
            sequence_diagram("t", &trace(), 3, None, &options)
        };
        assert!(draw(None, None, Some(vec![7]))
            .unwrap_err()
            .contains("node 7 is not in this run"));
        assert!(draw(Some(5_000), Some(6_000), None)
            .unwrap_err()
            .contains("after the run's last"));
        assert!(draw(Some(0), Some(500), None).unwrap_err().contains("nothing happened"));
        assert!(draw(Some(0), Some(1_100), Some(vec![0])).is_ok());
    }

    /// Many nodes: only those that talked in the window get a column, and no two texts
    /// overlap however many arrows cross one instant.
    #[test]
    fn many_nodes_show_only_the_talkers_and_labels_never_overlap() {
        let mut trace = Vec::new();
        for i in 0..40u64 {
            // Nodes 1..=10 all send to node 0 at the same instants: labels compete.
            let from = 1 + i % 10;
            trace.push(format!(
                r#"{{"t_ms":{},"node":0,"what":"deliver","from":{from},"sent_ms":{},"bytes":300,"msgs":["UpdateAddHtlc","CommitmentSigned","RevokeAndAck"]}}"#,
                1000 + i / 10,
                990 + i / 10
            ));
            trace.push(format!(
                r#"{{"t_ms":{},"node":{from},"what":"pay","to":0,"amount_msat":5000}}"#,
                990 + i / 10
            ));
        }
        let html = sequence_diagram("t", &trace, 50, None, &DiagramOptions::default()).expect("drawn");
        assert!(html.contains(">node 10</text>"));
        assert!(!html.contains(">node 11</text>"), "node 11 never talked");
        assert!(html.contains("only those that exchanged messages"));
        // Every text's box, from its anchor and length, overlaps no other.
        let mut boxes: Vec<(f64, f64, f64, f64)> = Vec::new();
        for piece in html.split("<text ").skip(1) {
            let attr = |name: &str| -> f64 {
                let start = piece.find(&format!("{name}=\"")).expect("attribute") + name.len() + 2;
                piece[start..]
                    .split('"')
                    .next()
                    .expect("value")
                    .parse()
                    .expect("number")
            };
            let (x, y) = (attr("x"), attr("y"));
            let content = piece.split('>').nth(1).expect("text").split('<').next().expect("text");
            if content.starts_with("node ") || y < 60.0 {
                continue;
            }
            let w = content.chars().count() as f64 * CHAR_PX;
            let left = if piece.contains("text-anchor=\"middle\"") {
                x - w / 2.0
            } else if piece.contains("text-anchor=\"end\"") {
                x - w
            } else {
                x
            };
            boxes.push((left, y - 9.0, left + w, y + 1.0));
        }
        assert!(boxes.len() > 10);
        for (i, a) in boxes.iter().enumerate() {
            for b in &boxes[i + 1..] {
                let overlap = a.0 < b.2 - 0.5 && b.0 < a.2 - 0.5 && a.1 < b.3 - 0.5 && b.1 < a.3 - 0.5;
                assert!(!overlap, "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn windows_parse_with_units() {
        assert_eq!(parse_window("240s..4.5min"), Ok((240_000, 270_000)));
        assert_eq!(parse_window("10ms..20ms"), Ok((10, 20)));
        // No unit: seconds or milliseconds? Refused rather than guessed.
        assert!(parse_window("240..250").unwrap_err().contains("needs a unit"));
        assert!(parse_window("5s..1s").is_err());
        assert!(parse_window("5s..5s").is_err());
        assert!(parse_window("5s").is_err());
        assert!(parse_window("xs..1s").is_err());
    }
}
