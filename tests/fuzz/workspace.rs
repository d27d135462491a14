//! The files f3s reads, as a corpus of seeds: the bundled example (inventory, modules,
//! templates, recorded states, secret) and the real cluster (inventory, modules, templates,
//! recorded states bare and converged). A case lays the corpus out in a fresh directory with
//! one file replaced by its mutation and runs it through what the CLI does with it; what it
//! checks of an error is that miette can render it and that it names a file of the case.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use f3s::apply::{Finished, Progress};
use f3s::compile_error::CompileErrors;
use f3s::graph::ResourceGraph;
use f3s::inventory::Inventory;
use f3s::resource::Address;
use f3s::transport::Transport;
use f3s::transport::fixture::FixtureTransport;
use f3s::{apply, compile, plan, render};
use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, Report};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// Where the cluster inventory looks for its secret when `$F3S_CARP_PASSWORD` is unset; the
/// repository has no such file (it is kept out of git), so the corpus brings a fake one.
const CLUSTER_SECRET: &str = "inventory/secrets/carp_password";

/// One file of the corpus, by its path relative to the workspace root (`/`-separated).
pub struct Seed {
    pub path: String,
    pub bytes: Vec<u8>,
}

pub struct Corpus {
    pub seeds: Vec<Seed>,
}

impl Corpus {
    /// The corpus, read from the repository once per test binary.
    pub fn get() -> &'static Corpus {
        static CORPUS: OnceLock<Corpus> = OnceLock::new();
        CORPUS.get_or_init(|| {
            let mut seeds = Vec::new();
            for dir in ["modules", "examples/fixture", "examples/f3s-state"] {
                collect(Path::new(REPO), &Path::new(REPO).join(dir), &mut seeds);
            }
            collect(
                Path::new(REPO),
                &Path::new(REPO).join("inventory/f3s.yml"),
                &mut seeds,
            );
            seeds.push(Seed {
                path: CLUSTER_SECRET.into(),
                bytes: b"fuzz-carp-pass-not-real\n".to_vec(),
            });
            Corpus { seeds }
        })
    }

    /// The indexes of the seeds whose path passes `wanted`.
    pub fn select(&self, wanted: impl Fn(&str) -> bool) -> Vec<usize> {
        (0..self.seeds.len())
            .filter(|&i| wanted(&self.seeds[i].path))
            .collect()
    }

    /// Every seed's bytes, for splicing one file's text into another.
    pub fn donors(&self) -> Vec<&[u8]> {
        self.seeds
            .iter()
            .map(|seed| seed.bytes.as_slice())
            .collect()
    }

    /// A fresh directory holding the corpus, with `replaced` (a path and its new bytes)
    /// instead of the seed at that path.
    pub fn lay_out(&self, replaced: Option<(&str, &[u8])>) -> tempfile::TempDir {
        let root = tempfile::tempdir().expect("a temporary directory");
        for seed in &self.seeds {
            let bytes = match replaced {
                Some((path, bytes)) if path == seed.path => bytes,
                _ => &seed.bytes,
            };
            let path = root.path().join(&seed.path);
            std::fs::create_dir_all(path.parent().expect("a seed is in a directory"))
                .expect("a directory in the workspace");
            std::fs::write(&path, bytes).expect("a file in the workspace");
            // As an admin keeps them, and as f3s wants them: a file of secrets that group or
            // others may read is refused (the repository cannot record a mode as closed).
            if seed.path.contains("/secrets/") {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .expect("a secret file closed");
            }
        }
        root
    }
}

fn collect(repo: &Path, path: &Path, seeds: &mut Vec<Seed>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .expect("a corpus directory")
            .map(|entry| entry.expect("a directory entry").path())
            .collect();
        entries.sort();
        for entry in entries {
            collect(repo, &entry, seeds);
        }
    } else {
        let relative = path.strip_prefix(repo).expect("inside the repository");
        seeds.push(Seed {
            path: relative.to_string_lossy().replace('\\', "/"),
            bytes: std::fs::read(path).expect("a corpus file"),
        });
    }
}

/// An inventory and the recorded states it is planned against, relative to the workspace.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    pub inventory: &'static str,
    pub state: &'static str,
}

pub const EXAMPLE: Scenario = Scenario {
    inventory: "examples/fixture/inventory.yml",
    state: "examples/fixture/state",
};

pub const CLUSTER: Scenario = Scenario {
    inventory: "inventory/f3s.yml",
    state: "examples/f3s-state/converged",
};

pub const CLUSTER_BARE: Scenario = Scenario {
    inventory: "inventory/f3s.yml",
    state: "examples/f3s-state/bare",
};

/// The scenario that reads the file at `path`.
pub fn scenario_of(path: &str) -> Scenario {
    if path.starts_with("examples/fixture/") {
        EXAMPLE
    } else if path.starts_with(CLUSTER_BARE.state) {
        CLUSTER_BARE
    } else {
        CLUSTER
    }
}

/// What the CLI does with an inventory, in process: load, compile, build the graph (and its
/// DOT), plan through `transport`, render the plan as text (both colourings) and JSON, then
/// apply it through the same transport and render the summary. Gives the plan as text, or
/// the diagnostics of the first step that failed.
pub fn plan_and_apply(inventory: &Path, transport: &dyn Transport) -> Result<String, Vec<Report>> {
    let inventory = Inventory::load(inventory).map_err(compile_reports)?;
    inventory.install_secrets();
    let resources = compile::compile(&inventory).map_err(compile_reports)?;
    let mut graph = ResourceGraph::build(resources, &inventory).map_err(compile_reports)?;
    graph.dot(|_| true);
    let selected = vec![true; graph.resources.len()];
    let plan = plan::plan(
        &inventory,
        &mut graph,
        &selected,
        transport,
        Default::default(),
        true,
    )
    .map_err(|errors| errors.into_iter().map(Report::new).collect::<Vec<_>>())?;
    let text = render::text::render(&plan, false);
    render::text::render(&plan, true);
    render::json::render(&plan);
    let report = apply::apply(&inventory, &graph, &plan, transport, 2, &Quiet);
    render::progress::summary(&report, &plan, false, false);
    Ok(text)
}

fn compile_reports(errors: CompileErrors) -> Vec<Report> {
    errors.0.into_iter().map(Report::new).collect()
}

/// A scenario laid out at `root`, through `plan_and_apply` with its recorded states; a fault
/// if an error cannot be rendered or names no file of the case.
pub fn run_scenario(root: &Path, scenario: Scenario) -> Result<(), String> {
    let transport = FixtureTransport::new(root.join(scenario.state));
    match plan_and_apply(&root.join(scenario.inventory), &transport) {
        Ok(_) => Ok(()),
        Err(reports) => {
            let root = root.display().to_string();
            each_names(&reports, "a file of the case", |text| text.contains(&root))
        }
    }
}

/// Checks every report: miette renders it (as the CLI does off a terminal, unwrapped, and on
/// one, wrapped), and the unwrapped text passes `names` (it names `what`).
pub fn each_names(
    reports: &[Report],
    what: &str,
    names: impl Fn(&str) -> bool,
) -> Result<(), String> {
    for report in reports {
        let unwrapped = render(
            report.as_ref(),
            GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
                .with_wrap_lines(false),
        )?;
        render(
            report.as_ref(),
            GraphicalReportHandler::new_themed(GraphicalTheme::unicode()).with_width(60),
        )?;
        if !names(&unwrapped) {
            return Err(format!("this error names no {what}:\n{unwrapped}"));
        }
    }
    Ok(())
}

fn render(diagnostic: &dyn Diagnostic, handler: GraphicalReportHandler) -> Result<String, String> {
    let mut text = String::new();
    handler.render_report(&mut text, diagnostic).map_err(|_| {
        format!("miette cannot render `{diagnostic}` (the CLI would panic printing it)")
    })?;
    Ok(text)
}

/// Apply's progress, unprinted: a case has no one to show it to.
struct Quiet;

impl Progress for Quiet {
    fn started(&self, _address: &Address) {}
    fn finished(&self, _finished: &Finished) {}
    fn checked(&self, _check: &f3s::rollout::health::HealthCheck) {}
}

/// Where a mutated file differs from its seed, with some text around the change, for a
/// failure message (a whole file would bury it).
pub fn change(seed: &[u8], mutated: &[u8]) -> String {
    const AROUND: usize = 200;
    let first = seed
        .iter()
        .zip(mutated)
        .position(|(a, b)| a != b)
        .unwrap_or(seed.len().min(mutated.len()));
    let same_tail = seed[first..]
        .iter()
        .rev()
        .zip(mutated[first..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let last = mutated.len() - same_tail;
    let from = first.saturating_sub(AROUND);
    let to = (last + AROUND).min(mutated.len());
    let shown = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let changed = if last - first > 2 * AROUND {
        format!(
            "{}\n[… {} bytes …]\n{}",
            shown(&mutated[first..first + AROUND]),
            last - first - 2 * AROUND,
            shown(&mutated[last - AROUND..last])
        )
    } else {
        shown(&mutated[first..last])
    };
    format!(
        "bytes {first}..{last} of {} changed; around them, the change in ⟦ ⟧:\n{}⟦{changed}⟧{}",
        mutated.len(),
        shown(&mutated[from..first]),
        shown(&mutated[last..to])
    )
}
