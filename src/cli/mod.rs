//! The command line: arguments (clap), the steps every command shares (load, compile, build
//! the graph), and how failures are reported (miette, secrets scrubbed, exit code 1).

mod apply;
mod check;
mod facts;
mod graph;
mod plan;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::compile;
use crate::compile_error::CompileErrors;
use crate::graph::ResourceGraph;
use crate::inventory::Inventory;
use crate::transport::Transport;
use crate::transport::fixture::FixtureTransport;
use crate::transport::ssh::{SshOptions, SshTransport};

#[derive(Debug, Parser)]
#[command(
    name = "f3s",
    version,
    about = "Converge the f3s storage cluster from a YAML inventory",
    long_about = "f3s compiles an inventory of hosts and the modules they get into a graph of \
                  idempotent resources, observes the hosts, and shows (plan) what differs and \
                  what would run.\n\nExit codes: 0 success (with --detailed-exitcode: nothing \
                  to do), 1 error, 2 changes pending (with --detailed-exitcode)."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show what differs on each host and what would run; never changes anything.
    Plan(plan::PlanArgs),
    /// Converge the hosts: observe, show the plan, confirm, then apply it in dependency order.
    ///
    /// A file is replaced only after its `validate` command (if its resource names one) has
    /// passed on the new content; the content it replaces is kept on the host, the newest 5
    /// per path, in /var/backups/f3s (FreeBSD) or /var/lib/f3s/backup (Rocky), and the output
    /// names each backup. README, "Before f3s replaces a file", says how to put one back.
    Apply(apply::ApplyArgs),
    /// Print a host's observed state in the recorded-state format (secrets as keyed fingerprints).
    Facts(facts::FactsArgs),
    /// Load the inventory, compile every module and build the graph; no connection.
    Check(check::CheckArgs),
    /// Print the resource graph as Graphviz DOT.
    Graph(graph::GraphArgs),
}

#[derive(Debug, Args)]
struct InventoryArg {
    /// The inventory file.
    #[arg(
        short = 'i',
        long = "inventory",
        value_name = "FILE",
        default_value = "inventory/f3s.yml"
    )]
    inventory: PathBuf,
}

impl Cli {
    pub fn run(self) -> ExitCode {
        let result = match self.command {
            Command::Plan(args) => plan::run(args),
            Command::Apply(args) => apply::run(args),
            Command::Facts(args) => facts::run(args),
            Command::Check(args) => check::run(args),
            Command::Graph(args) => graph::run(args),
        };
        result.unwrap_or_else(|failure| {
            failure.report();
            ExitCode::FAILURE
        })
    }
}

/// How to reach hosts: over SSH, or from recorded state.
#[derive(Debug, Args)]
struct TransportArgs {
    /// Use recorded host state in DIR (one HOST.yml per host) instead of connecting.
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// Add the keys of hosts not yet in known_hosts (a changed key is always refused).
    #[arg(long)]
    accept_new_host_keys: bool,
    /// Seconds to wait for a connection.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    connect_timeout: u64,
    /// Seconds one remote command may take.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    command_timeout: u64,
}

impl TransportArgs {
    fn transport(&self) -> Box<dyn Transport> {
        match &self.state {
            Some(dir) => Box::new(FixtureTransport::new(dir.clone())),
            None => Box::new(SshTransport::new(SshOptions {
                connect_timeout: Duration::from_secs(self.connect_timeout),
                command_timeout: Duration::from_secs(self.command_timeout),
                accept_new_host_keys: self.accept_new_host_keys,
            })),
        }
    }
}

/// Which hosts and resources a command works on.
#[derive(Debug, Args)]
struct ScopeArgs {
    /// Only these hosts (comma-separated).
    #[arg(long, value_name = "HOST", value_delimiter = ',')]
    host: Vec<String>,
    /// Only these resources (host/kind:name, comma-separated) and what they depend on.
    #[arg(long, value_name = "ADDR", value_delimiter = ',')]
    target: Vec<String>,
}

impl ScopeArgs {
    /// `selected[i]` says whether resource `i` is in scope.
    fn select(&self, loaded: &Loaded) -> Result<Vec<bool>, Failure> {
        crate::selection::select(&loaded.graph, &loaded.inventory, &self.host, &self.target)
            .map_err(Failure::from)
    }
}

/// What every command starts with: the inventory, compiled and checked.
struct Loaded {
    inventory: Inventory,
    graph: ResourceGraph,
}

fn load(arg: &InventoryArg) -> Result<Loaded, Failure> {
    let inventory = Inventory::load(&arg.inventory)?;
    inventory.install_secrets();
    let resources = compile::compile(&inventory)?;
    let graph = ResourceGraph::build(resources, &inventory)?;
    Ok(Loaded { inventory, graph })
}

/// Refuses to record `what` (a saved plan, a host's state) holding hidden values under a key
/// drawn for this run alone: it could never be compared again.
fn require_persistent_key(holds_hidden: bool, what: &str) -> Result<(), Failure> {
    if !holds_hidden || crate::sensitive::digest_key_is_persistent() {
        return Ok(());
    }
    Err(Failure::new(vec![miette::miette!(
        help = "declare `digest_key: {{ env: F3S_DIGEST_KEY, file: secrets/digest_key }}` in the inventory, its value a random string kept with your secrets (e.g. `head -c 32 /dev/urandom | base64`); see README, \"Secrets and fingerprints\"",
        "cannot {what}: it holds hidden values, and the inventory declares no `digest_key` to fingerprint them with"
    )]))
}

/// After the plan of the rest was shown (or applied): the run fails if a host was not
/// reached, with why for each.
fn unreached_failure(plan: crate::plan::Plan) -> Result<(), Failure> {
    if plan.is_complete() {
        return Ok(());
    }
    Err(Failure::new(
        plan.unreached
            .into_iter()
            .map(|unreached| miette::Report::new(unreached.cause))
            .collect(),
    ))
}

/// Diagnostics to print on the way out.
pub struct Failure {
    reports: Vec<miette::Report>,
}

impl Failure {
    fn new(reports: Vec<miette::Report>) -> Self {
        Self { reports }
    }

    fn report(&self) {
        let count = self.reports.len();
        for report in &self.reports {
            eprintln!("{}", shown(report));
        }
        if count > 1 {
            eprintln!("{count} errors");
        }
    }
}

/// A diagnostic as printed, or, when its words quote a secret (a host's message may), a note
/// that it is withheld. Checked on the unwrapped text, before miette wraps it to the terminal.
fn shown(report: &miette::Report) -> String {
    let mut words = String::new();
    let _ = miette::NarratableReportHandler::new().render_report(&mut words, report.as_ref());
    match crate::sensitive::quotable(&words) {
        Some(_) => format!("{report:?}"),
        None => "Error: (this message is withheld: it quotes a secret)".into(),
    }
}

impl From<CompileErrors> for Failure {
    fn from(errors: CompileErrors) -> Self {
        Self::new(errors.0.into_iter().map(miette::Report::new).collect())
    }
}

impl From<Vec<crate::plan_error::PlanError>> for Failure {
    fn from(errors: Vec<crate::plan_error::PlanError>) -> Self {
        Self::new(errors.into_iter().map(miette::Report::new).collect())
    }
}

impl From<crate::compile_error::CompileError> for Failure {
    fn from(error: crate::compile_error::CompileError) -> Self {
        Self::from(CompileErrors::from(error))
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Self::new(vec![miette::Report::msg(error.to_string())])
    }
}
