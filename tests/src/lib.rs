//! Workspace-level tests: scenario scripts, regression replays and end-to-end runs live
//! under this crate's `tests/` folder.
