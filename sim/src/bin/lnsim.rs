//! `lnsim`: run a scenario script on the simulator, once or over a range of seeds, and
//! shrink a failing run to a smallest script.
//!
//! Exit codes: 0 every run held; 1 a check failed (an invariant, liveness, an
//! expectation, a scripted action refused) or a run panicked; 2 the script or the
//! arguments are wrong (including a diagram selection with nothing in it), or `shrink`
//! was given a run that does not fail; 3 an output could not be written. Output paths
//! are checked before anything runs; a closed or full stdout never changes the status.

use std::fs::{self, File};
use std::io::{IsTerminal, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use sim::diagram::{parse_window, sequence_diagram, DiagramOptions};
use sim::network::{Network, PaymentTally, Violation};
use sim::scenario::Scenario;
use sim::shrink::{shrink, ShrinkError};
use sim::summary::{junit, kinds, run_json, sweep_json, total, SeedSummary};

#[derive(Parser)]
#[command(name = "lnsim", version, about = "Deterministic Lightning network simulator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a scenario once.
    Run {
        /// The scenario script, or a SimLN network file (`.json`).
        file: PathBuf,
        /// The run's seed (default: the script's `seed`, else 0).
        #[arg(long)]
        seed: Option<u64>,
        /// Writes the trace (JSON lines) here.
        #[arg(long)]
        trace: Option<PathBuf>,
        /// Writes every payment dispatched (source, destination, hash, amount, dispatch
        /// time, latency, outcome, reason) here as CSV.
        #[arg(long)]
        payments: Option<PathBuf>,
        /// Writes a message-sequence diagram (self-contained HTML) here.
        #[arg(long)]
        diagram: Option<PathBuf>,
        /// The diagram's window, as `A..B` with units (`240s..250s`; default: the last
        /// 400 instants of the run).
        #[arg(long, value_parser = parse_window, requires = "diagram")]
        window: Option<(u64, u64)>,
        /// The diagram's nodes, comma-separated (default: all up to 8 nodes, else those
        /// that exchanged messages in the window).
        #[arg(long, value_delimiter = ',', requires = "diagram")]
        nodes: Option<Vec<usize>>,
        #[command(flatten)]
        common: Common,
    },
    /// Runs a scenario over a range of seeds and reports the ones that fail.
    Sweep {
        /// The scenario script, or a SimLN network file (`.json`).
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
        /// Writes a JUnit XML report here: one test case per seed.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Writes an HTML report here: latency, success over time, failures by kind and
        /// seed, events per second.
        #[arg(long)]
        report: Option<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Shrinks a failing run to a smallest script that fails the same way.
    Shrink {
        /// The scenario script, or a SimLN network file (`.json`).
        file: PathBuf,
        /// The failing seed (default: the script's `seed`, else 0).
        #[arg(long)]
        seed: Option<u64>,
        /// Where to write the script (default: this workspace's
        /// `tests/scenarios/regressions/NAME-seedN.scn`, which `cargo test` replays).
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        #[command(flatten)]
        bug: Bug,
    },
}

/// Options `run` and `sweep` share.
#[derive(Args)]
struct Common {
    /// Prints the summary as one JSON object on stdout instead of text.
    #[arg(long)]
    json: bool,
    /// Writes each failing run's trace and payments here (nothing is written unless
    /// asked).
    #[arg(long)]
    artifacts: Option<PathBuf>,
    #[command(flatten)]
    bug: Bug,
}

/// A deliberate library bug to run with (builds with the `planted-bugs` feature only).
#[derive(Args, Clone, Copy, Debug, Default)]
struct Bug {
    /// Runs every node with this deliberate bug.
    #[cfg(feature = "planted-bugs")]
    #[arg(long, value_parser = parse_planted_bug)]
    planted_bug: Option<lightning::chan::manager::PlantedBug>,
}

impl Bug {
    /// The arguments that select it again.
    fn args(&self) -> String {
        #[cfg(feature = "planted-bugs")]
        if let Some(bug) = self.planted_bug {
            return format!(" --planted-bug {}", bug.name());
        }
        String::new()
    }
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

/// Writes to stdout; a closed or full stdout is not the run's failure.
fn say(text: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// Writes to stderr, as [`say`].
fn tell(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// `path` for a shell: quoted when it holds anything but plain characters.
fn shell(path: &Path) -> String {
    let text = path.display().to_string();
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,".contains(c))
    {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The command that runs `seed` of `file` again, as this run did.
fn replay(file: &Path, seed: u64, bug: &Bug) -> String {
    format!("lnsim run {} --seed {seed}{}", shell(file), bug.args())
}

/// The script a SimLN network file runs under: its channels and payment series, routed
/// over a one-minute chain, every payment series starting once the channels are ready.
fn simln_script(file: &Path) -> String {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("import simln {name}\nswarm off\nblock_interval 1min\nredial 1s\nwarmup 6min\nrun 20min\nsettle 15min\n")
}

fn load(file: &Path) -> Result<Scenario, ExitCode> {
    let text = fs::read_to_string(file).map_err(|e| {
        tell(&format!("{}: {e}", file.display()));
        ExitCode::from(2)
    })?;
    // A SimLN network runs as a script that imports it.
    let text = if file.extension().is_some_and(|e| e == "json") {
        simln_script(file)
    } else {
        text
    };
    let scenario = Scenario::parse(&file.display().to_string(), &text).map_err(|e| {
        tell(&e.to_string());
        ExitCode::from(2)
    })?;
    scenario.build(0).map_err(|e| {
        tell(&format!("{}: invalid link model: {}", file.display(), e.0));
        ExitCode::from(2)
    })?;
    Ok(scenario)
}

/// An output file, created before anything runs so a bad path fails at once.
struct Output {
    path: PathBuf,
    file: File,
}

impl Output {
    fn create(path: &Path, what: &str) -> Result<Output, ExitCode> {
        File::create(path)
            .map(|file| Output {
                path: path.to_path_buf(),
                file,
            })
            .map_err(|e| {
                tell(&format!("{what} {}: {e}", path.display()));
                ExitCode::from(3)
            })
    }

    fn write(mut self, text: &str) -> Result<(), ExitCode> {
        self.file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|e| {
                tell(&format!("{}: {e}", self.path.display()));
                ExitCode::from(3)
            })
    }
}

/// Each output path given, created now.
fn create_all(paths: &[(&Option<PathBuf>, &str)]) -> Result<Vec<Option<Output>>, ExitCode> {
    paths
        .iter()
        .map(|(path, what)| path.as_deref().map(|p| Output::create(p, what)).transpose())
        .collect()
}

/// The artifacts folder, made and found writable now.
fn artifacts_dir(dir: &Option<PathBuf>) -> Result<Option<PathBuf>, ExitCode> {
    let Some(dir) = dir else { return Ok(None) };
    let probe = dir.join(".lnsim-write-check");
    fs::create_dir_all(dir)
        .and_then(|()| File::create(&probe).map(drop))
        .and_then(|()| fs::remove_file(&probe))
        .map_err(|e| {
            tell(&format!("--artifacts {}: {e}", dir.display()));
            ExitCode::from(3)
        })?;
    Ok(Some(dir.clone()))
}

/// Writes a failing run's trace and payments into the artifacts folder; the paths.
fn write_artifacts(dir: &Path, file: &Path, seed: u64, network: &Network) -> Result<Vec<PathBuf>, ExitCode> {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".to_string());
    let trace = dir.join(format!("{stem}-seed{seed}.trace.jsonl"));
    let payments = dir.join(format!("{stem}-seed{seed}.payments.csv"));
    Output::create(&trace, "--artifacts")?.write(&trace_text(network))?;
    Output::create(&payments, "--artifacts")?.write(&network.payments_csv())?;
    Ok(vec![trace, payments])
}

fn trace_text(network: &Network) -> String {
    let mut text = network.trace().join("\n");
    text.push('\n');
    text
}

/// What a panic said, as `panic!` with a message leaves it.
fn panic_text(payload: &Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "without a message".to_string())
}

/// One whole run (fault window, liveness phase, expectations), `progress` told the
/// simulated time now and then: the network as it ended and what went wrong, or what a
/// panic said.
fn run_once(
    scenario: &Scenario,
    seed: u64,
    bug: &Bug,
    progress: &mut dyn FnMut(u64),
) -> Result<(Network, Option<Violation>), String> {
    #[allow(unused_mut)]
    let mut config = scenario.network_config(seed);
    #[cfg(feature = "planted-bugs")]
    {
        config.planted_bug = bug.planted_bug;
    }
    #[cfg(not(feature = "planted-bugs"))]
    let _ = bug;
    // A panic in a run (the library's or a harness check's) is that run's failure.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        scenario.run_observed(config, &mut |t| progress(t.as_ms()))
    }))
    .map_err(|payload| panic_text(&payload))?
    .expect("the link model was checked on loading");
    Ok((outcome.network, outcome.violation))
}

fn summary_line(tally: &PaymentTally) -> String {
    format!(
        "payments: {} dispatched, {} sent, {} failed, {} refused, {} left to the chain",
        tally.dispatched, tally.sent, tally.failed, tally.refused, tally.on_chain
    )
}

/// Why payments did not go through, most frequent first (at most five reasons): a
/// payment with no route, or refused by its channel, is never silent.
fn reasons_line(reasons: &[(String, u64)]) -> Option<String> {
    let mut sorted: Vec<&(String, u64)> = reasons.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let shown: Vec<String> = sorted.iter().take(5).map(|(why, n)| format!("{n} {why}")).collect();
    let more = sorted.len().saturating_sub(5);
    (!shown.is_empty()).then(|| {
        let tail = if more > 0 {
            format!("; and {more} other reasons")
        } else {
            String::new()
        };
        format!("not through: {}{tail}", shown.join("; "))
    })
}

/// A progress bar on a terminal only; hidden when stderr is a file or a pipe.
fn progress_bar(len: u64, template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
    bar
}

/// What `run` writes besides its summary.
struct RunOutputs {
    trace: Option<PathBuf>,
    payments: Option<PathBuf>,
    diagram: Option<PathBuf>,
    diagram_options: DiagramOptions,
}

fn run(file: &Path, seed: Option<u64>, outputs: RunOutputs, common: Common) -> Result<ExitCode, ExitCode> {
    let scenario = load(file)?;
    if let Some(n) = outputs
        .diagram_options
        .nodes
        .iter()
        .flatten()
        .find(|&&n| n >= scenario.node_count)
    {
        tell(&format!(
            "--nodes: node {n} is not in {} (its nodes are 0 to {})",
            file.display(),
            scenario.node_count - 1
        ));
        return Err(ExitCode::from(2));
    }
    let mut files = create_all(&[
        (&outputs.trace, "--trace"),
        (&outputs.payments, "--payments"),
        (&outputs.diagram, "--diagram"),
    ])?
    .into_iter();
    let (trace_out, payments_out, diagram_out) =
        (files.next().flatten(), files.next().flatten(), files.next().flatten());
    let artifacts = artifacts_dir(&common.artifacts)?;
    let seed = scenario.seed_or(seed);
    let bar = progress_bar(
        scenario.duration_ms,
        "{bar:40} {msg} of the fault window simulated, {elapsed} elapsed",
    );
    let started = Instant::now();
    let result = run_once(&scenario, seed, &common.bug, &mut |t_ms| {
        bar.set_position(t_ms);
        bar.set_message(format!("{}", sim::clock::SimTime(t_ms)));
    });
    bar.finish_and_clear();
    let wall_ms = started.elapsed().as_millis() as u64;
    let replay_command = replay(file, seed, &common.bug);
    let (network, violation) = match result {
        Ok(result) => result,
        Err(panic) => {
            let summary = SeedSummary::panicked(seed, panic.clone(), wall_ms);
            if common.json {
                say(&run_json(&file.display().to_string(), &summary, Some(&replay_command)).to_string());
            }
            tell(&format!(
                "PANIC: {} seed {seed}: {panic}\nreplay: {replay_command}",
                file.display()
            ));
            // The run left nothing to write: no empty file stands in for an output.
            for (out, path) in [
                (trace_out, &outputs.trace),
                (payments_out, &outputs.payments),
                (diagram_out, &outputs.diagram),
            ] {
                if let (Some(out), Some(path)) = (out, path) {
                    drop(out);
                    let _ = fs::remove_file(path);
                }
            }
            return Ok(ExitCode::from(1));
        }
    };
    if let Some(out) = trace_out {
        out.write(&trace_text(&network))?;
    }
    if let Some(out) = payments_out {
        out.write(&network.payments_csv())?;
    }
    let mut written_artifacts = Vec::new();
    if let (Some(dir), Some(_)) = (&artifacts, &violation) {
        written_artifacts = write_artifacts(dir, file, seed, &network)?;
    }
    let summary = SeedSummary::of(seed, &network, violation.as_ref(), wall_ms);
    if common.json {
        say(&run_json(
            &file.display().to_string(),
            &summary,
            violation.as_ref().map(|_| replay_command.as_str()),
        )
        .to_string());
    } else {
        say(&format!(
            "{} seed {seed}: {}",
            file.display(),
            summary_line(&network.tally())
        ));
        if let Some(line) = reasons_line(&summary.reasons) {
            say(&line);
        }
    }
    let status = match &violation {
        None => {
            if !common.json {
                say(&format!(
                    "every check held, quiet after healing at {} ({} trace events)",
                    network.now(),
                    network.trace().len()
                ));
            }
            ExitCode::SUCCESS
        }
        Some(v) => {
            tell(&format!("{}: {v}", v.kind.label()));
            match (&outputs.trace, written_artifacts.first()) {
                (Some(path), _) | (None, Some(path)) => tell(&format!("trace written to {}", path.display())),
                (None, None) => tell(&format!(
                    "replay it with its trace: {replay_command} --trace {}",
                    shell(Path::new(&format!("lnsim-seed{seed}.trace.jsonl")))
                )),
            }
            ExitCode::from(1)
        }
    };
    if let (Some(out), Some(path)) = (diagram_out, &outputs.diagram) {
        let title = format!("{} seed {seed}", file.display());
        match sequence_diagram(
            &title,
            network.trace(),
            scenario.node_count,
            violation.as_ref(),
            &outputs.diagram_options,
        ) {
            Ok(html) => out.write(&html)?,
            Err(why) => {
                drop(out);
                let _ = fs::remove_file(path);
                tell(&format!("--diagram: {why}"));
                return Err(ExitCode::from(2));
            }
        }
    }
    Ok(status)
}

/// What `sweep` writes besides its summary.
struct SweepOutputs {
    junit: Option<PathBuf>,
    report: Option<PathBuf>,
}

fn sweep(
    file: &Path,
    seeds: Range<u64>,
    jobs: u32,
    shard: Option<(u64, u64)>,
    outputs: SweepOutputs,
    common: Common,
) -> Result<ExitCode, ExitCode> {
    let scenario = load(file)?;
    let mut files = create_all(&[(&outputs.junit, "--junit"), (&outputs.report, "--report")])?.into_iter();
    let (junit_out, report_out) = (files.next().flatten(), files.next().flatten());
    let artifacts = artifacts_dir(&common.artifacts)?;
    let seeds_text = format!("{}..{}", seeds.start, seeds.end);
    let mine: Vec<u64> = match shard {
        Some((k, n)) => seeds.clone().filter(|seed| (seed - seeds.start) % n == k - 1).collect(),
        None => seeds.collect(),
    };
    let bar = progress_bar(
        mine.len() as u64,
        "{bar:40} {pos}/{len} seeds, {elapsed} elapsed, {eta} left {msg}",
    );
    let bug = common.bug;
    // Each worker takes every `jobs`-th seed of this shard; results are sorted by seed
    // afterwards, so the report does not depend on thread timing.
    let results: Result<Vec<SeedSummary>, ExitCode> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs as usize)
            .map(|worker| {
                let (scenario, mine, bar, artifacts) = (&scenario, &mine, bar.clone(), &artifacts);
                scope.spawn(move || -> Result<Vec<SeedSummary>, ExitCode> {
                    let mut out = Vec::new();
                    for &seed in mine.iter().skip(worker).step_by(jobs as usize) {
                        let started = Instant::now();
                        let result = run_once(scenario, seed, &bug, &mut |_| {});
                        let wall_ms = started.elapsed().as_millis() as u64;
                        let summary = match result {
                            Ok((network, violation)) => {
                                if let (Some(dir), Some(_)) = (artifacts, &violation) {
                                    write_artifacts(dir, file, seed, &network)?;
                                }
                                SeedSummary::of(seed, &network, violation.as_ref(), wall_ms)
                            }
                            Err(panic) => SeedSummary::panicked(seed, panic, wall_ms),
                        };
                        if let Some(f) = &summary.failure {
                            bar.println(format!("seed {seed}: {}: {}", f.kind, f.text));
                        }
                        bar.inc(1);
                        out.push(summary);
                    }
                    Ok(out)
                })
            })
            .collect();
        let mut all = Vec::new();
        for worker in workers {
            all.extend(worker.join().expect("a sweep worker panicked")?);
        }
        Ok(all)
    });
    bar.finish_and_clear();
    let mut results = results?;
    results.sort_by_key(|r| r.seed);
    let failing: Vec<u64> = results.iter().filter(|r| r.failure.is_some()).map(|r| r.seed).collect();
    let replay_any = format!("lnsim run {} --seed N{} --trace trace.jsonl", shell(file), bug.args());
    if let Some(out) = junit_out {
        out.write(&junit(&file.display().to_string(), &results, |seed| {
            replay(file, seed, &bug)
        }))?;
    }
    if let Some(out) = report_out {
        let title = format!("{} seeds {seeds_text}", file.display());
        out.write(&sim::report::sweep_report(&title, &results))?;
    }
    if common.json {
        say(&sweep_json(&file.display().to_string(), &seeds_text, &results, &replay_any).to_string());
    } else {
        say(&format!(
            "{}: {} seeds, {} failing",
            file.display(),
            results.len(),
            failing.len()
        ));
        say(&summary_line(&total(&results)));
        if !failing.is_empty() {
            // One row per kind of failure: how often, the first seed, what broke.
            say(&format!(
                "{:>6}  {:>10}  {:<11}  failure",
                "seeds", "first seed", "kind"
            ));
            for row in kinds(&results) {
                say(&format!(
                    "{:>6}  {:>10}  {:<11}  {}",
                    row.count, row.first_seed, row.kind, row.text
                ));
            }
            say(&format!("failing seeds: {failing:?}"));
            say(&format!(
                "replay one with `{replay_any}`, or reduce it with `lnsim shrink {} --seed N{}`",
                shell(file),
                bug.args()
            ));
        }
    }
    Ok(if failing.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Where `shrink` writes by default: this workspace's regression folder, found from
/// where `lnsim` was built, if it is still there.
fn default_regressions_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scenarios/regressions");
    dir.is_dir().then(|| dir.canonicalize().unwrap_or(dir))
}

fn shrink_command(file: &Path, seed: Option<u64>, output: Option<PathBuf>, bug: Bug) -> Result<ExitCode, ExitCode> {
    let text = fs::read_to_string(file).map_err(|e| {
        tell(&format!("{}: {e}", file.display()));
        ExitCode::from(2)
    })?;
    let scenario = load(file)?;
    let seed = scenario.seed_or(seed);
    let output = match output {
        Some(path) => path,
        None => {
            let Some(dir) = default_regressions_dir() else {
                tell("no regression folder of the workspace lnsim was built in: say where with -o FILE");
                return Err(ExitCode::from(2));
            };
            let stem = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            dir.join(format!("{stem}-seed{seed}.scn"))
        }
    };
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| {
            tell(&format!("-o {}: {e}", dir.display()));
            ExitCode::from(3)
        })?;
    }
    let out = Output::create(&output, "-o")?;
    let name = file.display().to_string();
    let shrunk = shrink(&name, &text, seed, |candidate| {
        let (network, violation) = run_once(candidate, seed, &bug, &mut |_| {}).ok()?;
        Some(sim::scenario::RunOutcome { network, violation })
    });
    let shrunk = match shrunk {
        Ok(shrunk) => shrunk,
        Err(e) => {
            drop(out);
            let _ = fs::remove_file(&output);
            match e {
                ShrinkError::Invalid(message) => tell(&message),
                ShrinkError::DoesNotFail => tell(&format!("{name} does not fail under seed {seed}: nothing to shrink")),
            }
            return Err(ExitCode::from(2));
        }
    };
    out.write(&shrunk.script)?;
    let statements = shrunk.script.lines().filter(|l| !l.starts_with('#')).count();
    say(&format!(
        "{} statements after {} runs, written to {}; it fails with:\n{}: {}",
        statements,
        shrunk.runs,
        output.display(),
        shrunk.violation.kind.label(),
        shrunk.violation
    ));
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Run {
            file,
            seed,
            trace,
            payments,
            diagram,
            window,
            nodes,
            common,
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
            run(&file, seed, outputs, common)
        }
        Command::Sweep {
            file,
            seeds,
            jobs,
            shard,
            junit,
            report,
            common,
        } => sweep(&file, seeds, jobs, shard, SweepOutputs { junit, report }, common),
        Command::Shrink {
            file,
            seed,
            output,
            bug,
        } => shrink_command(&file, seed, output, bug),
    };
    result.unwrap_or_else(|code| code)
}
