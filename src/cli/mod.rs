//! The command line: the commands (clap), one file each, and the dispatch to them. What they
//! share is below them: loading (`load.rs`) and failing (`failure.rs`).

mod apply;
mod check;
mod completions;
mod facts;
mod failure;
mod graph;
mod load;
mod man;
mod plan;
mod show;
mod status;

use std::process::ExitCode;

pub use completions::VARIABLE as COMPLETE_VARIABLE;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "f3s",
    version,
    about = "Converge the f3s storage cluster from a YAML inventory",
    long_about = "f3s compiles an inventory of hosts and the modules they get into a graph of \
                  idempotent resources, observes the hosts, and shows (plan) what differs and \
                  what would run.\n\nExit codes: 0 success (with --detailed-exitcode: nothing \
                  to do), 1 error (a command line that does not parse too), 2 changes pending \
                  (plan --detailed-exitcode) or a check warns (status), 130 interrupted. Each \
                  command's page (man f3s-plan) says what its own mean."
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
    /// names each backup. docs/guide.md, "Before f3s replaces a file", says how to put one back.
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
    /// Print a plan saved by `plan -o PLANFILE` again, as `plan` printed it (or as JSON);
    /// no inventory, no connection.
    ///
    /// For reviewing the plan a CI job saved before anyone applies it (`f3s apply PLANFILE`
    /// then applies it only if the hosts have not drifted). A value a plan masks is masked in
    /// the file too: the saved plan holds no secret to show.
    Show(show::ShowArgs),
    /// Print the resource graph as Graphviz DOT. Needs no secret's value.
    Graph(graph::GraphArgs),
    /// Show the running cluster's health: one row per check, grouped by host, OK / WARN /
    /// FAIL with the value read.
    ///
    /// The checks are the modules' `status:` entries (docs/guide.md, "Status checks"): each host's
    /// are read in one read-only exec, hosts in parallel, each check bounded by its own
    /// timeout (a hung NFS mount is a FAIL row, not a hung run); a host that cannot be
    /// reached is a FAIL row. Checks across hosts (exactly one CARP MASTER per vhid) follow
    /// the hosts' rows.
    ///
    /// Exit codes: 0 every check OK, 1 any FAIL (or an error before reading), 2 WARN but no
    /// FAIL; with --watch, 130 once interrupted.
    Status(status::StatusArgs),
    /// Print the completion script for a shell (bash, zsh, fish, elvish, powershell).
    ///
    /// The script asks this f3s (by its path) what completes a word, so commands and flags
    /// are always this f3s's own, and `--host` offers the hosts of the inventory the command
    /// line names (`-i`, else inventory/f3s.yml). Load it for this shell with `source <(f3s
    /// completions bash)`, or install it where the shell looks, e.g. `f3s completions bash >
    /// /etc/bash_completion.d/f3s`, `f3s completions zsh >
    /// /usr/local/share/zsh/site-functions/_f3s`, `f3s completions fish >
    /// ~/.config/fish/completions/f3s.fish`; write it again when f3s moves.
    Completions(completions::CompletionsArgs),
    /// Write the manual pages (f3s.1, f3s-plan.1 and one per command) into a directory.
    ///
    /// One page per command, as git has them: `man f3s` lists the commands, `man f3s-plan`
    /// gives one command's options. E.g. `f3s man /usr/local/share/man/man1`.
    Man(man::ManArgs),
}

impl Cli {
    pub fn run(self) -> ExitCode {
        let result = match self.command {
            Command::Plan(args) => plan::run(args),
            Command::Apply(args) => apply::run(args),
            Command::Facts(args) => facts::run(args),
            Command::Check(args) => check::run(args),
            Command::Status(args) => status::run(args),
            Command::Show(args) => show::run(args),
            Command::Graph(args) => graph::run(args),
            Command::Completions(args) => completions::run(args),
            Command::Man(args) => man::run(args, Cli::command()),
        };
        result.unwrap_or_else(|failure| {
            failure.report();
            ExitCode::FAILURE
        })
    }
}
