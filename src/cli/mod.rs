//! The command line: arguments (clap), the steps every command shares (load, compile, build
//! the graph), and how failures are reported (miette, secrets scrubbed, exit code 1).

mod apply;
mod check;
mod completions;
mod facts;
mod graph;
mod man;
mod plan;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::compile;
use crate::compile_error::CompileErrors;
use crate::graph::ResourceGraph;
use crate::inventory::Inventory;
use crate::inventory::host::Host;
use crate::transport::fixture::FixtureTransport;
use crate::transport::ssh::{SshOptions, SshTransport};
use crate::transport::{Transport, TransportError};

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
    ///
    /// On a terminal a live line per host shows what runs, done of total and elapsed time;
    /// off a terminal, with NO_COLOR or in CI, one plain line per resource. A host that cannot
    /// be reached or locked is named and left out with what depends on it; the others are
    /// applied and the run exits 1. A host whose connection breaks mid-apply is stopped and
    /// its lock taken again until the run ends. Ctrl-C (or SIGTERM) starts nothing new, lets
    /// what runs finish and prints the summary (exit 130); a second one exits at once.
    Apply(apply::ApplyArgs),
    /// Print or save hosts' observed state in the recorded-state format (secrets as keyed
    /// fingerprints).
    ///
    /// Observes every host of the inventory, or those named (--host or HOST), in parallel, and
    /// prints each host's state as a YAML document headed by a comment naming it, documents
    /// separated by `---`; with --save it writes DIR/HOST.yml for each instead, the layout
    /// `--state DIR` reads. A host that cannot be reached is named on stderr and the run exits
    /// 1, after the others were printed or saved.
    Facts(facts::FactsArgs),
    /// Load the inventory, compile every module and build the graph; no connection.
    ///
    /// Needs no secret's value (CI can check the real inventory with none); a secret without
    /// one is noted. `plan` then leaves out only what is rendered from it, naming the secret.
    Check(check::CheckArgs),
    /// Print the resource graph as Graphviz DOT. Needs no secret's value.
    Graph(graph::GraphArgs),
    /// Print the completion script for a shell (bash, zsh, fish, elvish, powershell).
    ///
    /// Load it for this shell with `source <(f3s completions bash)`, or install it where the
    /// shell looks, e.g. `f3s completions bash > /etc/bash_completion.d/f3s`, `f3s
    /// completions zsh > /usr/local/share/zsh/site-functions/_f3s`, `f3s completions fish >
    /// ~/.config/fish/completions/f3s.fish`.
    Completions(completions::CompletionsArgs),
    /// Write the manual pages (f3s.1, f3s-plan.1 and one per command) into a directory.
    ///
    /// One page per command, as git has them: `man f3s` lists the commands, `man f3s-plan`
    /// gives one command's options. E.g. `f3s man /usr/local/share/man/man1`.
    Man(man::ManArgs),
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
            Command::Completions(args) => completions::run(args),
            Command::Man(args) => man::run(args),
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
    compiled(Inventory::load(&arg.inventory)?)
}

/// As `load`, connecting to the hosts `scope` names (all, unless `--host` narrows them) while
/// the inventory compiles: at thousands of resources a host, compiling takes as long as
/// connecting.
fn load_connecting(
    arg: &InventoryArg,
    scope: &ScopeArgs,
    transport: &dyn Transport,
) -> Result<Loaded, Failure> {
    let inventory = Inventory::load(&arg.inventory)?;
    let named: Vec<Host> = inventory
        .hosts
        .iter()
        .filter(|host| scope.host.is_empty() || scope.host.contains(&host.name))
        .cloned()
        .collect();
    transport.connect_ahead(&named);
    compiled(inventory)
}

fn compiled(inventory: Inventory) -> Result<Loaded, Failure> {
    inventory.install_secrets();
    let resources = compile::compile(&inventory)?;
    let graph = ResourceGraph::build(resources, &inventory)?;
    Ok(Loaded { inventory, graph })
}

impl Loaded {
    /// For what shows or records fingerprints: a declared digest key must have its value
    /// (a secret without one only leaves out what needs it).
    fn with_digest_key(mut self) -> Result<Self, Failure> {
        match std::mem::replace(&mut self.inventory.digest_key, Ok(None)) {
            Err(error) => Err(error.into()),
            key => {
                self.inventory.digest_key = key;
                Ok(self)
            }
        }
    }
}

/// Says which secrets have no value in this run, and so what a plan leaves out.
fn note_missing_secrets(inventory: &Inventory) {
    for missing in inventory.secrets.unavailable() {
        eprintln!(
            "note: secret `{}` has no value ({}); what is rendered from it is left out of plans",
            missing.name, missing.reason
        );
    }
}

/// An apply that left out resources for want of a secret's value did not converge them.
fn missing_secrets_failure(inventory: &Inventory, plan: &crate::plan::Plan) -> Result<(), Failure> {
    let missing = plan.missing_secrets();
    let errors: Vec<_> = inventory
        .secrets
        .unavailable()
        .iter()
        .filter(|secret| missing.contains(secret.name))
        .map(|secret| miette::Report::new(secret.error()))
        .collect();
    match errors.is_empty() {
        true => Ok(()),
        false => Err(Failure::new(errors)),
    }
}

/// Refuses to record `what` (a saved plan, a host's state) holding hidden values under a key
/// drawn for this run alone: it could never be compared again.
fn require_persistent_key(holds_hidden: bool, what: &str) -> Result<(), Failure> {
    if !holds_hidden || crate::sensitive::digest_key_is_persistent() {
        return Ok(());
    }
    Err(Failure::new(vec![miette::miette!(
        help = "declare `digest_key: { env: F3S_DIGEST_KEY, file: secrets/digest_key }` in the inventory, its value a random string kept with your secrets (e.g. `head -c 32 /dev/urandom | base64`); see README, \"Secrets and fingerprints\"",
        "cannot {what}: it holds hidden values, and the inventory declares no `digest_key` to fingerprint them with"
    )]))
}

/// After the plan of the rest was shown (or applied): the run fails if a host was not
/// reached, with why for each.
fn unreached_failure(plan: crate::plan::Plan) -> Result<(), Failure> {
    unreached_hosts(plan.unreached.into_iter().map(|unreached| unreached.cause))
}

/// After the work on the other hosts was done: the run fails if a host was not reached, with
/// why for each (each error names its host).
fn unreached_hosts(causes: impl IntoIterator<Item = TransportError>) -> Result<(), Failure> {
    let reports: Vec<miette::Report> = causes.into_iter().map(miette::Report::new).collect();
    if reports.is_empty() {
        return Ok(());
    }
    Err(Failure::new(reports))
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
