//! The command line: arguments (clap), the steps every command shares (load, compile, build
//! the graph), and how failures are reported (miette, secrets scrubbed, exit code 1).

mod check;
mod graph;
mod plan;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::compile;
use crate::compile_error::CompileErrors;
use crate::graph::ResourceGraph;
use crate::inventory::Inventory;
use crate::sensitive::Redactor;

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
            Command::Check(args) => check::run(args),
            Command::Graph(args) => graph::run(args),
        };
        result.unwrap_or_else(|failure| {
            failure.report();
            ExitCode::FAILURE
        })
    }
}

/// What every command starts with: the inventory, compiled and checked.
struct Loaded {
    inventory: Inventory,
    graph: ResourceGraph,
}

fn load(arg: &InventoryArg) -> Result<Loaded, Failure> {
    let inventory = Inventory::load(&arg.inventory)?;
    let scrub = |errors: CompileErrors| Failure::from(errors).scrubbed(inventory.redactor());
    let resources = compile::compile(&inventory).map_err(scrub)?;
    let graph = ResourceGraph::build(resources, &inventory).map_err(scrub)?;
    Ok(Loaded { inventory, graph })
}

/// Diagnostics to print on the way out, with any secret in their text scrubbed.
pub struct Failure {
    reports: Vec<miette::Report>,
    redactor: Redactor,
}

impl Failure {
    fn new(reports: Vec<miette::Report>) -> Self {
        Self {
            reports,
            redactor: Redactor::default(),
        }
    }

    fn scrubbed(mut self, redactor: Redactor) -> Self {
        self.redactor = redactor;
        self
    }

    fn report(&self) {
        let count = self.reports.len();
        for report in &self.reports {
            eprintln!("{}", self.redactor.scrub(&format!("{report:?}")));
        }
        if count > 1 {
            eprintln!("{count} errors");
        }
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

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Self::new(vec![miette::Report::msg(error.to_string())])
    }
}
