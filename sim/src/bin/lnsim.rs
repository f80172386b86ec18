//! `lnsim`: run a scenario script on the simulator, once or over a range of seeds, and
//! shrink a failing run to a smallest script.
//!
//! Exit codes: 0 every run held its invariants; 1 an invariant, liveness or expectation
//! failed (the seed and the failure are printed); 2 the script or the arguments are
//! wrong, or `shrink` was given a run that does not fail; 3 an output file could not be
//! written.

use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use clap::Args;
use sim::diagram::{parse_window, sequence_diagram, DiagramOptions};
use sim::network::{Network, PaymentTally, Violation};
use sim::scenario::Scenario;
use sim::shrink::{shrink, violation_kind, ShrinkError};

#[derive(Parser)]
#[command(name = "lnsim", about = "Deterministic Lightning network simulator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a scenario once.
    Run {
        /// The scenario script.
        file: PathBuf,
        /// The run's seed (default: the script's `seed`, else 0).
        #[arg(long)]
        seed: Option<u64>,
        /// Writes the trace (JSON lines) here.
        #[arg(long)]
        trace: Option<PathBuf>,
        /// Writes every payment (source, destination, hash, amount, dispatch time,
        /// latency, outcome) here as CSV.
        #[arg(long)]
        payments: Option<PathBuf>,
        /// Writes a message-sequence diagram (self-contained HTML) here.
        #[arg(long)]
        diagram: Option<PathBuf>,
        /// The diagram's window, as `A..B` with units (`240s..250s`; default: the last
        /// 400 instants of the run).
        #[arg(long, value_parser = parse_window)]
        window: Option<(u64, u64)>,
        /// The diagram's nodes, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        nodes: Option<Vec<usize>>,
        #[command(flatten)]
        bug: Bug,
    },
    /// Runs a scenario over a range of seeds and reports the ones that fail.
    Sweep {
        /// The scenario script.
        file: PathBuf,
        /// Seeds as `A..B` (B excluded).
        #[arg(long, value_parser = parse_seeds)]
        seeds: Range<u64>,
        /// Runs this many seeds at once (each run stays deterministic).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
        jobs: u32,
        /// Only this machine's share of the seeds, as `K/N` (1-based): seeds whose offset
        /// from A is K-1 modulo N.
        #[arg(long, value_parser = parse_shard)]
        shard: Option<(u64, u64)>,
        #[command(flatten)]
        bug: Bug,
    },
    /// Shrinks a failing run to a smallest script that fails the same way.
    Shrink {
        /// The scenario script.
        file: PathBuf,
        /// The failing seed (default: the script's `seed`, else 0).
        #[arg(long)]
        seed: Option<u64>,
        /// Where to write the script (default:
        /// `tests/scenarios/regressions/NAME-seedN.scn`, which `cargo test` replays).
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        #[command(flatten)]
        bug: Bug,
    },
}

/// A deliberate library bug to run with (builds with the `planted-bugs` feature only).
#[derive(Args, Clone, Copy, Debug, Default)]
struct Bug {
    /// Runs every node with this deliberate bug.
    #[cfg(feature = "planted-bugs")]
    #[arg(long, value_parser = parse_planted_bug)]
    planted_bug: Option<lightning::chan::manager::PlantedBug>,
}

/// A planted bug by name (`lightning::chan::planted::PlantedBug::name`).
#[cfg(feature = "planted-bugs")]
fn parse_planted_bug(name: &str) -> Result<lightning::chan::manager::PlantedBug, String> {
    use lightning::chan::manager::PlantedBug;
    PlantedBug::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = PlantedBug::ALL.iter().map(|bug| bug.name()).collect();
        format!("no planted bug named {name:?}; there are: {}", names.join(", "))
    })
}

fn parse_seeds(text: &str) -> Result<Range<u64>, String> {
    let (start, end) = text
        .split_once("..")
        .ok_or_else(|| format!("expected A..B, found `{text}`"))?;
    let parse = |s: &str| s.parse::<u64>().map_err(|_| format!("`{s}` is not a seed"));
    let range = parse(start)?..parse(end)?;
    if range.is_empty() {
        return Err(format!("`{text}` holds no seed"));
    }
    Ok(range)
}

fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    let (k, n) = text
        .split_once('/')
        .ok_or_else(|| format!("expected K/N, found `{text}`"))?;
    let parse = |s: &str| s.parse::<u64>().map_err(|_| format!("`{s}` is not a number"));
    let (k, n) = (parse(k)?, parse(n)?);
    if n == 0 || k == 0 || k > n {
        return Err(format!("`{text}`: K must be 1 to N"));
    }
    Ok((k, n))
}

fn load(file: &Path) -> Result<Scenario, ExitCode> {
    let text = fs::read_to_string(file).map_err(|e| {
        eprintln!("{}: {e}", file.display());
        ExitCode::from(2)
    })?;
    Scenario::parse(&file.display().to_string(), &text).map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(2)
    })
}

/// One whole run (fault window, liveness phase, expectations): the network as it ended,
/// and what went wrong.
fn run_once(scenario: &Scenario, seed: u64, bug: &Bug) -> Result<(Network, Option<Violation>), ExitCode> {
    #[allow(unused_mut)]
    let mut config = scenario.network_config(seed);
    #[cfg(feature = "planted-bugs")]
    {
        config.planted_bug = bug.planted_bug;
    }
    #[cfg(not(feature = "planted-bugs"))]
    let _ = bug;
    let outcome = scenario.run_with(config).map_err(|e| {
        eprintln!("invalid link model: {}", e.0);
        ExitCode::from(2)
    })?;
    Ok((outcome.network, outcome.violation))
}

/// What a panic said, as `panic!` with a message leaves it.
fn panic_text(payload: &Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "without a message".to_string())
}

fn summary(tally: &PaymentTally) -> String {
    format!(
        "payments: {} dispatched, {} sent, {} failed, {} refused, {} left to the chain",
        tally.dispatched, tally.sent, tally.failed, tally.refused, tally.on_chain
    )
}

fn write(path: &Path, text: &str) -> Result<(), ExitCode> {
    fs::write(path, text).map_err(|e| {
        eprintln!("{}: {e}", path.display());
        ExitCode::from(3)
    })
}

/// What `run` writes besides its summary.
struct RunOutputs {
    trace: Option<PathBuf>,
    payments: Option<PathBuf>,
    diagram: Option<PathBuf>,
    diagram_options: DiagramOptions,
}

fn run(file: &Path, seed: Option<u64>, outputs: RunOutputs, bug: Bug) -> ExitCode {
    let scenario = match load(file) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let seed = scenario.seed_or(seed);
    let (network, violation) = match run_once(&scenario, seed, &bug) {
        Ok(result) => result,
        Err(code) => return code,
    };
    // A failing run always leaves its trace behind.
    let trace_path = outputs.trace.clone().or_else(|| {
        violation
            .as_ref()
            .map(|_| PathBuf::from(format!("lnsim-seed{seed}.trace.jsonl")))
    });
    if let Some(path) = &trace_path {
        let mut text = network.trace().join("\n");
        text.push('\n');
        if let Err(code) = write(path, &text) {
            return code;
        }
    }
    if let Some(path) = &outputs.payments {
        if let Err(code) = write(path, &network.payments_csv()) {
            return code;
        }
    }
    if let Some(path) = &outputs.diagram {
        let title = format!("{} seed {seed}", file.display());
        let html = sequence_diagram(
            &title,
            network.trace(),
            scenario.node_count,
            violation.as_ref(),
            &outputs.diagram_options,
        );
        if let Err(code) = write(path, &html) {
            return code;
        }
    }
    println!("{} seed {seed}: {}", file.display(), summary(&network.tally()));
    match violation {
        None => {
            println!(
                "invariants held, quiet after healing at {} ({} trace events)",
                network.now(),
                network.trace().len()
            );
            ExitCode::SUCCESS
        }
        Some(v) => {
            eprintln!("INVARIANT BROKEN: {v}");
            if let Some(path) = trace_path {
                eprintln!("trace written to {}", path.display());
            }
            ExitCode::from(1)
        }
    }
}

/// What one seed's run came to.
struct SeedResult {
    seed: u64,
    tally: PaymentTally,
    violation: Option<String>,
}

fn sweep(file: &Path, seeds: Range<u64>, jobs: u32, shard: Option<(u64, u64)>, bug: Bug) -> ExitCode {
    let scenario = match load(file) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mine: Vec<u64> = match shard {
        Some((k, n)) => seeds.clone().filter(|seed| (seed - seeds.start) % n == k - 1).collect(),
        None => seeds.collect(),
    };
    if let Err(code) = scenario.build(0).map(drop).map_err(|e| {
        eprintln!("invalid link model: {}", e.0);
        ExitCode::from(2)
    }) {
        return code;
    }
    let bar = ProgressBar::new(mine.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} seeds, {elapsed} elapsed, {eta} left {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // Each worker takes every `jobs`-th seed of this shard; results are sorted by seed
    // afterwards, so the report does not depend on thread timing.
    let mut results: Vec<SeedResult> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs as usize)
            .map(|worker| {
                let (scenario, mine, bar) = (&scenario, &mine, bar.clone());
                scope.spawn(move || {
                    let mut out = Vec::new();
                    for &seed in mine.iter().skip(worker).step_by(jobs as usize) {
                        // A panic in a run (the library's or a harness check's) is that
                        // seed's failure, not the sweep's end.
                        let run =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_once(scenario, seed, &bug)));
                        let (tally, violation) = match run {
                            Ok(Ok((network, violation))) => (network.tally(), violation.map(|v| v.invariant)),
                            Ok(Err(_)) => continue,
                            Err(payload) => (
                                PaymentTally::default(),
                                Some(format!("panicked: {}", panic_text(&payload))),
                            ),
                        };
                        if let Some(invariant) = &violation {
                            bar.println(format!("seed {seed}: {invariant}"));
                        }
                        bar.inc(1);
                        out.push(SeedResult { seed, tally, violation });
                    }
                    out
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a sweep worker panicked"))
            .collect()
    });
    bar.finish_and_clear();
    results.sort_by_key(|r| r.seed);
    let mut total = PaymentTally::default();
    for r in &results {
        total.dispatched += r.tally.dispatched;
        total.sent += r.tally.sent;
        total.failed += r.tally.failed;
        total.refused += r.tally.refused;
        total.on_chain += r.tally.on_chain;
    }
    let failing: Vec<u64> = results
        .iter()
        .filter(|r| r.violation.is_some())
        .map(|r| r.seed)
        .collect();
    println!("{}: {} seeds, {} failing", file.display(), results.len(), failing.len());
    println!("{}", summary(&total));
    if failing.is_empty() {
        ExitCode::SUCCESS
    } else {
        // One row per kind of failure: how often, the first seed, what broke.
        let mut kinds: std::collections::BTreeMap<String, (usize, u64, String)> = Default::default();
        for r in &results {
            if let Some(invariant) = &r.violation {
                let row = kinds
                    .entry(violation_kind(invariant))
                    .or_insert((0, r.seed, invariant.clone()));
                row.0 += 1;
            }
        }
        println!("{:>6}  {:>10}  failure", "seeds", "first seed");
        for (count, first, invariant) in kinds.values() {
            println!("{count:>6}  {first:>10}  {invariant}");
        }
        println!("failing seeds: {failing:?}");
        println!(
            "replay one with `lnsim run {} --seed N` (writes its trace), or reduce it with `lnsim shrink {} --seed N`",
            file.display(),
            file.display()
        );
        ExitCode::from(1)
    }
}

fn shrink_command(file: &Path, seed: Option<u64>, output: Option<PathBuf>, bug: Bug) -> ExitCode {
    let text = match fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let scenario = match load(file) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let seed = scenario.seed_or(seed);
    let name = file.display().to_string();
    let shrunk = shrink(&name, &text, seed, |candidate| {
        let (network, violation) = run_once(candidate, seed, &bug).ok()?;
        Some(sim::scenario::RunOutcome { network, violation })
    });
    let shrunk = match shrunk {
        Ok(shrunk) => shrunk,
        Err(ShrinkError::Invalid(message)) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
        Err(ShrinkError::DoesNotFail) => {
            eprintln!("{name} does not fail under seed {seed}: nothing to shrink");
            return ExitCode::from(2);
        }
    };
    let output = output.unwrap_or_else(|| {
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        PathBuf::from("tests/scenarios/regressions").join(format!("{stem}-seed{seed}.scn"))
    });
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Err(e) = fs::create_dir_all(dir) {
            eprintln!("{}: {e}", dir.display());
            return ExitCode::from(3);
        }
    }
    if let Err(code) = write(&output, &shrunk.script) {
        return code;
    }
    let statements = shrunk.script.lines().filter(|l| !l.starts_with('#')).count();
    println!(
        "{} statements after {} runs, written to {}; it fails with:\n{}",
        statements,
        shrunk.runs,
        output.display(),
        shrunk.violation
    );
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run {
            file,
            seed,
            trace,
            payments,
            diagram,
            window,
            nodes,
            bug,
        } => {
            let diagram_options = DiagramOptions {
                from_ms: window.map(|(from, _)| from),
                to_ms: window.map(|(_, to)| to),
                nodes,
                max_rows: 0,
            };
            let outputs = RunOutputs {
                trace,
                payments,
                diagram,
                diagram_options,
            };
            run(&file, seed, outputs, bug)
        }
        Command::Sweep {
            file,
            seeds,
            jobs,
            shard,
            bug,
        } => sweep(&file, seeds, jobs, shard, bug),
        Command::Shrink {
            file,
            seed,
            output,
            bug,
        } => shrink_command(&file, seed, output, bug),
    }
}
