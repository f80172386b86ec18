//! Carrying outcomes over from earlier runs: a mutant whose code is unchanged since a
//! run that caught it (or found it does not build) needs no new run, as long as the tests
//! have only grown. The comparison is on the mutated code itself, not on line numbers
//! (which any edit above shifts): the file, the function, cargo-mutants' description
//! and the exact lines the mutation removes and adds. Anything else (a survivor, a
//! timeout, a mutant in changed code, a new one) is tested again.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::Outcome;

/// What identifies a mutant's code across commits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CodeKey {
    /// The source file.
    pub file: String,
    /// The function mutated, if any (constants have none).
    pub function: Option<String>,
    /// The mutation as cargo-mutants describes it in its diff header.
    pub change: String,
    /// The source lines the mutation replaces, trimmed.
    pub removed: Vec<String>,
    /// The lines it puts in their place, trimmed.
    pub added: Vec<String>,
}

impl CodeKey {
    /// The key of a mutant of `file` in `function` from its unified `diff` (as
    /// cargo-mutants writes it: `--- FILE`, `+++ DESCRIPTION`, then hunks).
    pub fn from_diff(file: &str, function: Option<&str>, diff: &str) -> Result<CodeKey, String> {
        let mut lines = diff.lines();
        let (Some(old), Some(new)) = (lines.next(), lines.next()) else {
            return Err("a diff without its two header lines".into());
        };
        if !old.starts_with("--- ") || !new.starts_with("+++ ") {
            return Err(format!("not a unified diff header: {old:?} {new:?}"));
        }
        let mut key = CodeKey {
            file: file.to_string(),
            function: function.map(str::to_string),
            change: new[4..].to_string(),
            removed: Vec::new(),
            added: Vec::new(),
        };
        for line in lines {
            if let Some(text) = line.strip_prefix('-') {
                key.removed.push(text.trim().to_string());
            } else if let Some(text) = line.strip_prefix('+') {
                key.added.push(text.trim().to_string());
            }
        }
        Ok(key)
    }
}

/// A mutant from cargo-mutants' JSON: its name (`FILE:LINE:COL: DESCRIPTION`) and
/// the key of its code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedMutant {
    /// As cargo-mutants names it.
    pub name: String,
    /// What it changes.
    pub key: CodeKey,
}

fn field<'a>(value: &'a Value, name: &str, context: &str) -> Result<&'a Value, String> {
    value.get(name).ok_or_else(|| format!("{context}: no field {name:?}"))
}

fn string_field(value: &Value, name: &str, context: &str) -> Result<String, String> {
    field(value, name, context)?
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{context}: field {name:?} is not a string"))
}

fn function_name(mutant: &Value) -> Option<&str> {
    mutant.get("function")?.get("function_name")?.as_str()
}

/// The mutants of `cargo mutants --list --json --diff` (`context` names the input in
/// errors).
pub fn parse_list(context: &str, json: &str) -> Result<Vec<ListedMutant>, String> {
    let value: Value = serde_json::from_str(json).map_err(|e| format!("{context}: {e}"))?;
    let items = value
        .as_array()
        .ok_or_else(|| format!("{context}: not a JSON array of mutants"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, mutant)| {
            let at = format!("{context}: mutant {i}");
            let name = string_field(mutant, "name", &at)?;
            let file = string_field(mutant, "file", &at)?;
            let diff = string_field(mutant, "diff", &at).map_err(|e| format!("{e} (list the mutants with --diff)"))?;
            let key = CodeKey::from_diff(&file, function_name(mutant), &diff).map_err(|e| format!("{at}: {e}"))?;
            Ok(ListedMutant { name, key })
        })
        .collect()
}

/// The outcomes in a run's `outcomes.json`, with each mutant's diff read by `read_diff`
/// (given the `diff_path` cargo-mutants recorded, relative to `mutants.out`). The
/// baseline and any outcome that is not about a mutant are skipped.
pub fn parse_outcomes(
    context: &str,
    json: &str,
    mut read_diff: impl FnMut(&str) -> Result<String, String>,
) -> Result<Vec<(CodeKey, Outcome)>, String> {
    let value: Value = serde_json::from_str(json).map_err(|e| format!("{context}: {e}"))?;
    let outcomes = field(&value, "outcomes", context)?
        .as_array()
        .ok_or_else(|| format!("{context}: \"outcomes\" is not an array"))?;
    let mut found = Vec::new();
    for (i, entry) in outcomes.iter().enumerate() {
        let at = format!("{context}: outcome {i}");
        let Some(mutant) = entry.get("scenario").and_then(|s| s.get("Mutant")) else {
            continue;
        };
        let outcome = match string_field(entry, "summary", &at)?.as_str() {
            "CaughtMutant" => Outcome::Caught,
            "MissedMutant" => Outcome::Missed,
            "Timeout" => Outcome::Timeout,
            "Unviable" => Outcome::Unviable,
            other => return Err(format!("{at}: unknown summary {other:?}")),
        };
        let file = string_field(mutant, "file", &at)?;
        let diff = read_diff(&string_field(entry, "diff_path", &at)?).map_err(|e| format!("{at}: {e}"))?;
        let key = CodeKey::from_diff(&file, function_name(mutant), &diff).map_err(|e| format!("{at}: {e}"))?;
        found.push((key, outcome));
    }
    Ok(found)
}

/// Which mutants need a run, and which outcomes carry over.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Names (of the new list) with the outcome carried over: caught or unviable.
    pub carried: Vec<(String, Outcome)>,
    /// Names to test.
    pub to_test: Vec<String>,
}

/// Plans a run of `mutants` given the outcomes of earlier runs, oldest first (a later
/// outcome for the same code replaces an earlier one: a survivor caught since, say).
pub fn plan(mutants: &[ListedMutant], earlier: &[(CodeKey, Outcome)]) -> Plan {
    let known: BTreeMap<&CodeKey, Outcome> = earlier.iter().map(|(key, outcome)| (key, *outcome)).collect();
    let mut plan = Plan::default();
    for mutant in mutants {
        match known.get(&mutant.key) {
            // A timeout is tested again: it may have been a slow machine.
            Some(outcome @ (Outcome::Caught | Outcome::Unviable)) => plan.carried.push((mutant.name.clone(), *outcome)),
            _ => plan.to_test.push(mutant.name.clone()),
        }
    }
    plan
}

/// A regular expression matching exactly `name` (for `cargo mutants --re`).
pub fn exact_regex(name: &str) -> String {
    let mut re = String::with_capacity(name.len() + 8);
    re.push('^');
    for c in name.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            re.push('\\');
        }
        re.push(c);
    }
    re.push('$');
    re
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIFF: &str =
        "--- lightning/src/x.rs\n+++ replace < with <= in f\n@@ -1,3 +1,3 @@\n fn f() {\n-    a < b\n+    a <= b\n }\n";

    fn key(removed: &str, added: &str) -> CodeKey {
        CodeKey {
            file: "lightning/src/x.rs".into(),
            function: Some("f".into()),
            change: "replace < with <= in f".into(),
            removed: vec![removed.into()],
            added: vec![added.into()],
        }
    }

    #[test]
    fn a_diff_gives_the_changed_lines_without_context_or_indentation() {
        assert_eq!(
            CodeKey::from_diff("lightning/src/x.rs", Some("f"), DIFF),
            Ok(key("a < b", "a <= b"))
        );
        // A removed line that itself starts with a dash is still code, not a header.
        let dashes = "--- f.rs\n+++ d\n@@ -1 +1 @@\n--x\n+-y\n";
        let parsed = CodeKey::from_diff("f.rs", None, dashes).expect("parses");
        assert_eq!(
            (parsed.removed, parsed.added),
            (vec!["-x".to_string()], vec!["-y".to_string()])
        );
        assert!(CodeKey::from_diff("f.rs", None, "@@ -1 +1 @@\n").is_err());
        assert!(CodeKey::from_diff("f.rs", None, "").is_err());
    }

    #[test]
    fn only_caught_and_unviable_code_carries_over_and_later_runs_win() {
        let listed = |name: &str, key: CodeKey| ListedMutant { name: name.into(), key };
        let mutants = [
            listed("x.rs:9:5: caught before", key("a < b", "a <= b")),
            listed("x.rs:10:5: missed before", key("c < d", "c <= d")),
            listed("x.rs:11:5: code changed", key("e < f + 1", "e <= f + 1")),
            listed("x.rs:12:5: unviable", key("g", "h")),
            listed("x.rs:13:5: timed out", key("i", "j")),
            listed("x.rs:14:5: caught since", key("k", "l")),
        ];
        let earlier = [
            (key("a < b", "a <= b"), Outcome::Caught),
            (key("c < d", "c <= d"), Outcome::Missed),
            (key("e < f", "e <= f"), Outcome::Caught),
            (key("g", "h"), Outcome::Unviable),
            (key("i", "j"), Outcome::Timeout),
            (key("k", "l"), Outcome::Missed),
            (key("k", "l"), Outcome::Caught),
        ];
        let plan = plan(&mutants, &earlier);
        assert_eq!(
            plan.carried,
            vec![
                ("x.rs:9:5: caught before".to_string(), Outcome::Caught),
                ("x.rs:12:5: unviable".to_string(), Outcome::Unviable),
                ("x.rs:14:5: caught since".to_string(), Outcome::Caught),
            ]
        );
        assert_eq!(
            plan.to_test,
            vec![
                "x.rs:10:5: missed before",
                "x.rs:11:5: code changed",
                "x.rs:13:5: timed out"
            ]
        );
    }

    #[test]
    fn cargo_mutants_json_is_read_and_its_errors_named() {
        let list = format!(
            r#"[{{"name": "lightning/src/x.rs:2:7: replace < with <= in f", "file": "lightning/src/x.rs",
                "function": {{"function_name": "f"}}, "diff": {}}}]"#,
            serde_json::to_string(DIFF).expect("json")
        );
        let mutants = parse_list("list.json", &list).expect("parses");
        assert_eq!(mutants.len(), 1);
        assert_eq!(mutants[0].name, "lightning/src/x.rs:2:7: replace < with <= in f");
        assert_eq!(mutants[0].key, key("a < b", "a <= b"));
        let without_diff = r#"[{"name": "n", "file": "f"}]"#;
        let error = parse_list("list.json", without_diff).unwrap_err();
        assert!(
            error.contains("list.json: mutant 0") && error.contains("--diff"),
            "{error}"
        );
        assert!(parse_list("list.json", "{").unwrap_err().starts_with("list.json: "));

        let outcomes = r#"{"outcomes": [
            {"scenario": "Baseline", "summary": "Success"},
            {"scenario": {"Mutant": {"file": "lightning/src/x.rs", "function": {"function_name": "f"}}},
             "summary": "CaughtMutant", "diff_path": "diff/x.diff"}]}"#;
        let mut asked = Vec::new();
        let read = parse_outcomes("outcomes.json", outcomes, |path| {
            asked.push(path.to_string());
            Ok(DIFF.to_string())
        })
        .expect("parses");
        assert_eq!(asked, vec!["diff/x.diff"]);
        assert_eq!(read, vec![(key("a < b", "a <= b"), Outcome::Caught)]);
        let strange = outcomes.replace("CaughtMutant", "Exploded");
        let error = parse_outcomes("outcomes.json", &strange, |_| Ok(DIFF.into())).unwrap_err();
        assert_eq!(error, "outcomes.json: outcome 1: unknown summary \"Exploded\"");
    }

    #[test]
    fn an_exact_regex_escapes_what_mutant_names_contain() {
        let name = "lightning/src/x.rs:3:9: replace <impl Encode for Vec<u8>>::f -> Result<(), E> with Ok(())";
        assert_eq!(
            exact_regex(name),
            "^lightning/src/x\\.rs:3:9: replace <impl Encode for Vec<u8>>::f \\-> Result<\\(\\), E> with Ok\\(\\(\\)\\)$"
        );
        assert_eq!(exact_regex("a|b*[c]"), "^a\\|b\\*\\[c\\]$");
    }
}
