//! Every file under `corpora/<target>/` and `corpora/regressions/<target>/` replayed
//! through its target, without a fuzzer: seeds must keep passing, and every promoted
//! finding stays fixed. A directory naming no target is an error, so a renamed target
//! cannot silently leave its corpus unreplayed.

use std::path::{Path, PathBuf};

fn corpora_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpora")
}

fn target_dirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "regressions"))
        .collect();
    dirs.sort();
    dirs
}

fn replay_dir(dir: &Path) -> usize {
    let name = dir.file_name().expect("a name").to_string_lossy().into_owned();
    let target = lnfuzz::target(&name).unwrap_or_else(|| panic!("{}: no target `{name}`", dir.display()));
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("readable")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| !n.to_string_lossy().starts_with('.')))
        .collect();
    files.sort();
    for file in &files {
        let input = std::fs::read(file).expect("readable");
        let outcome = std::panic::catch_unwind(|| target(&input));
        assert!(outcome.is_ok(), "{} fails {name}", file.display());
    }
    files.len()
}

#[test]
fn every_corpus_file_replays_through_its_target() {
    let root = corpora_root();
    let mut replayed = 0;
    for dir in target_dirs(&root)
        .into_iter()
        .chain(target_dirs(&root.join("regressions")))
    {
        replayed += replay_dir(&dir);
    }
    assert!(replayed > 0, "no corpus files under {}", root.display());
}

#[test]
fn every_target_survives_empty_short_and_patterned_inputs() {
    for (name, target) in lnfuzz::TARGETS {
        for input in [
            Vec::new(),
            vec![0u8],
            vec![0xff; 3],
            vec![0u8; 2000],
            vec![0xff; 2000],
            (0..=255u8).cycle().take(3000).collect(),
        ] {
            let outcome = std::panic::catch_unwind(|| target(&input));
            assert!(outcome.is_ok(), "{name} panics on a {}-byte input", input.len());
        }
    }
}
