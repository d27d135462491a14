//! `f3s apply`: lock the hosts, observe, show the plan, confirm, converge, report.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::apply;
use crate::apply_error::ApplyError;
use crate::cli::{Failure, InventoryArg, Loaded, ScopeArgs, TransportArgs, load};
use crate::inventory::host::Host;
use crate::plan::{self, Action, Plan};
use crate::render;
use crate::transport::Transport;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    inventory: InventoryArg,
    #[command(flatten)]
    transport: TransportArgs,
    #[command(flatten)]
    scope: ScopeArgs,
    /// Apply without asking (required when standard input is not a terminal).
    #[arg(long)]
    yes: bool,
    /// Allow these destructive changes, by address (comma-separated).
    #[arg(long, value_name = "ADDR", value_delimiter = ',')]
    allow_destructive: Vec<String>,
    /// How many hosts are converged at once.
    #[arg(long, value_name = "N", default_value_t = 6)]
    parallelism: usize,
    /// A plan saved by `f3s plan -o`: applied only if the hosts have not drifted since.
    planfile: Option<PathBuf>,
}

pub fn run(args: ApplyArgs) -> Result<ExitCode, Failure> {
    let loaded = load(&args.inventory)?;
    let redactor = loaded.inventory.redactor();
    let selected = args.scope.select(&loaded)?;
    let transport = args.transport.transport();
    let hosts: Vec<&Host> = loaded
        .inventory
        .hosts
        .iter()
        .filter(|host| {
            (0..selected.len())
                .any(|i| selected[i] && loaded.graph.resources[i].address.host == host.name)
        })
        .collect();
    let holder = holder();
    let mut locked = Vec::new();
    let mut outcome = Ok(ExitCode::SUCCESS);
    for host in &hosts {
        match transport.lock(host, &holder) {
            Ok(()) => locked.push(*host),
            Err(error) => {
                outcome = Err(Failure::new(vec![miette::Report::new(error)]));
                break;
            }
        }
    }
    if outcome.is_ok() {
        outcome = converge(&args, &loaded, &selected, transport.as_ref());
    }
    for host in locked {
        transport.unlock(host);
    }
    outcome.map_err(|failure| failure.scrubbed(redactor))
}

fn converge(
    args: &ApplyArgs,
    loaded: &Loaded,
    selected: &[bool],
    transport: &dyn Transport,
) -> Result<ExitCode, Failure> {
    let redactor = loaded.inventory.redactor();
    let plan = plan::plan(&loaded.inventory, &loaded.graph, selected, transport)?;
    if let Some(path) = &args.planfile {
        check_saved(path, &plan, &redactor)?;
    }
    let color = render::stdout_color();
    print!("{}", redactor.scrub(&render::text::render(&plan, color)));
    if !plan.has_changes() {
        return Ok(ExitCode::SUCCESS);
    }
    let refused: Vec<String> = plan
        .hosts
        .iter()
        .flat_map(|host| &host.resources)
        .filter(|r| r.action == Action::Destructive)
        .map(|r| r.address.to_string())
        .filter(|address| !args.allow_destructive.contains(address))
        .collect();
    if !refused.is_empty() {
        return Err(refusal(ApplyError::Destructive { addresses: refused }));
    }
    if !args.yes {
        confirm(&plan)?;
    }
    let progress = render::progress::Lines::new(color, redactor.clone());
    let report = apply::apply(
        &loaded.inventory,
        &loaded.graph,
        &plan,
        transport,
        args.parallelism,
        &progress,
    );
    print!(
        "{}",
        redactor.scrub(&render::progress::summary(&report, color))
    );
    Ok(if report.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn refusal(error: ApplyError) -> Failure {
    Failure::new(vec![miette::Report::new(error)])
}

/// A saved plan is applied only if planning now gives exactly it again.
fn check_saved(
    path: &std::path::Path,
    plan: &Plan,
    redactor: &crate::sensitive::Redactor,
) -> Result<(), Failure> {
    let saved = std::fs::read_to_string(path).map_err(|e| {
        refusal(ApplyError::UnreadablePlan {
            message: format!("{}: {e}", path.display()),
        })
    })?;
    let fresh = redactor.scrub(&render::json::render(plan));
    if saved == fresh {
        return Ok(());
    }
    let saved: serde_json::Value = serde_json::from_str(&saved).map_err(|e| {
        refusal(ApplyError::UnreadablePlan {
            message: format!("{}: {e}", path.display()),
        })
    })?;
    let mut hosts: Vec<String> = plan
        .hosts
        .iter()
        .filter(|host| {
            let before = saved["hosts"]
                .as_array()
                .and_then(|all| all.iter().find(|h| h["name"] == host.name.as_str()));
            before.is_none_or(|before| before["observed"] != host.observed.to_string().as_str())
        })
        .map(|host| host.name.clone())
        .collect();
    if hosts.is_empty() {
        hosts.push("the inventory or its modules".into());
    }
    Err(refusal(ApplyError::Drifted {
        plan: path.display().to_string(),
        hosts,
    }))
}

fn confirm(plan: &Plan) -> Result<(), Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(refusal(ApplyError::NoTerminal));
    }
    eprint!(
        "Apply the changes above to {} hosts? Only `yes` goes ahead: ",
        plan.hosts.len()
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(refusal(ApplyError::Cancelled))
    }
}

/// Who holds a host's lock, as another apply will be told.
fn holder() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let machine = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    format!(
        "f3s apply by {user}@{} (pid {})",
        machine.trim(),
        std::process::id()
    )
}
