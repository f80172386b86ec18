//! The scenario-script parser: any text gives a scenario or a `file:line:column`
//! error, never a panic.

use sim::scenario::Scenario;

/// Parses the input as a script (invalid UTF-8 replaced); an error names a real place.
pub fn scenario_parse(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match Scenario::parse("fuzz.scn", &text) {
        Ok(scenario) => assert!(scenario.node_count >= 2),
        Err(e) => {
            let lines = text.lines().count().max(1);
            assert!(e.line >= 1 && e.line <= lines, "{e}");
            assert!(e.column >= 1, "{e}");
        }
    }
}
