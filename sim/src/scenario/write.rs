//! Actions written back as script text: how a run's random faults and payments become
//! plain `at` lines (for shrinking, and for a person to read).

use crate::clock::SimTime;
use crate::network::Action;

/// `action` as the words after `at TIME`, or `None` for what `at` lines do not write
/// (channel opens come from `channel` lines).
pub fn action_text(action: &Action) -> Option<String> {
    Some(match action {
        Action::Connect { from, to } => format!("connect {from} -> {to}"),
        Action::OpenChannel { .. } => return None,
        Action::Pay { from, to, amount_msat } => format!("pay {from} -> {to} {amount_msat}msat"),
        Action::Disconnect { a, b } => format!("disconnect {a} {b}"),
        Action::PauseMonitors { node } => format!("pause_monitors {node}"),
        Action::ResumeMonitors { node } => format!("resume_monitors {node}"),
        Action::SaveManager { node } => format!("save_manager {node}"),
        Action::Crash { node } => format!("crash {node}"),
        Action::Restart { node, stale_manager } => {
            format!("restart {node}{}", if *stale_manager { " stale_manager" } else { "" })
        }
        Action::FeeRate { feerate_per_kw } => format!("feerate {feerate_per_kw}sat/kw"),
        Action::Partition { side } => {
            let nodes: Vec<String> = side.iter().map(|n| n.to_string()).collect();
            format!("partition {}", nodes.join(" "))
        }
        Action::Heal => "heal".to_string(),
        Action::BreakOrdering { a, b } => format!("break_ordering {a} {b}"),
        Action::RestoreOrdering { a, b } => format!("restore_ordering {a} {b}"),
        Action::Close { a, b } => format!("close {a} {b}"),
        Action::PayMost { from, to } => format!("pay {from} -> {to} most"),
        Action::Lie { node, lie } => format!("lie {node} {}", lie.name()),
        Action::RestartLosingWrites { node } => format!("restart {node} lost_writes"),
        Action::PayWrong {
            from,
            to,
            amount_msat,
            unknown_hash,
        } => format!(
            "pay {from} -> {to} {amount_msat}msat {}",
            if *unknown_hash { "unknown_hash" } else { "underpaid" }
        ),
    })
}

/// A whole `at` line for `action` at `at`.
pub fn at_line(at: SimTime, action: &Action) -> Option<String> {
    action_text(action).map(|text| format!("at {}ms {text}", at.as_ms()))
}
