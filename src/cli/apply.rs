//! `f3s apply`: lock the hosts, observe, show the plan, confirm, converge, report.

use std::collections::BTreeMap;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;

use super::failure::{Failure, missing_secrets_failure, unreached_failure};
use super::load::{HostArgs, Loaded};
use crate::apply;
use crate::apply_error::ApplyError;
use crate::graph::ResourceGraph;
use crate::inventory::Inventory;
use crate::inventory::host::Host;
use crate::plan::{self, Action, Plan};
use crate::render;
use crate::transport::{Transport, TransportError};

#[derive(Debug, Args)]
#[command(after_help = "\
Rolling apply: a group with a `rollout` (docs/guide.md, \"Rolling apply of an HA pair\") is applied \
batch after batch, e.g. `rollout: { batches: [[f1], [f0]], health: service zrepl onestatus }`: \
nothing of a batch starts before the batches before it have converged and passed the health \
command (run as root on each of their hosts, exit 0 passes; not run with --state). A batch that \
fails to converge, fails its check or is not reached stops the rollout: the later batches are \
not started, and apply exits 1.")]
pub struct ApplyArgs {
    #[command(flatten)]
    hosts: HostArgs,
    /// Apply without asking (required when standard input is not a terminal).
    #[arg(long)]
    yes: bool,
    /// Allow these destructive changes, by address (comma-separated).
    #[arg(long, value_name = "ADDR", value_delimiter = ',')]
    allow_destructive: Vec<String>,
    /// How many hosts are converged at once.
    #[arg(long, value_name = "N", default_value_t = 6)]
    parallelism: usize,
    /// Seconds to wait for hosts another apply has locked. An apply takes the locks of all
    /// its hosts or none: while any is held by another apply, it releases those it took,
    /// waits and tries again, and past this many seconds (default 0: at once) it stops,
    /// naming who holds them, with nothing applied.
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    lock_timeout: u64,
    /// Print only the plan's summary line, what goes wrong and the apply's counts: for large
    /// runs, where every resource's line is more than anyone reads.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Remove what left the inventory (as `plan --prune` shows it); a removal that discards
    /// data (a directory that is not empty) still needs --allow-destructive.
    #[arg(long)]
    prune: bool,
    /// A plan saved by `f3s plan -o`: applied only if the hosts have not drifted since.
    planfile: Option<PathBuf>,
}

pub fn run(mut args: ApplyArgs) -> Result<ExitCode, Failure> {
    // A saved plan names the inventory it was made from: `apply PLANFILE` needs no `-i`.
    if let Some(inventory) = args.planfile.as_deref().and_then(saved_inventory) {
        args.hosts.inventory_unless_given(inventory);
    }
    let (transport, mut loaded, selected) = args.hosts.start()?;
    let hosts: Vec<Host> = loaded
        .inventory
        .hosts
        .iter()
        .filter(|host| {
            (0..selected.len())
                .any(|i| selected[i] && loaded.graph.resources[i].address.host() == host.name)
        })
        .cloned()
        .collect();
    let hosts: Vec<&Host> = hosts.iter().collect();
    let transport_ref = transport.as_ref();
    let Locks { locked, unreached } = lock_all(&hosts, transport_ref, args.lock_timeout)?;
    let Loaded { inventory, graph } = &mut loaded;
    let outcome = converge(&args, inventory, graph, &selected, transport_ref, unreached);
    unlock(&locked, transport_ref);
    outcome
}

/// The hosts an apply locked, and those it could not reach (down, refusing its key): they
/// are left out with what depends on them, and the others go on.
struct Locks<'h> {
    locked: Vec<&'h Host>,
    unreached: BTreeMap<String, TransportError>,
}

/// Locks every host at once (each lock is a connection and a round trip), all or none: if
/// another apply holds any of them, those taken are released again, so two applies started
/// together never split the hosts between them. Held locks are waited for up to
/// `lock_timeout` seconds, with a pause of random length between tries so two waiting
/// applies do not meet again; then the run stops with nothing applied.
fn lock_all<'h>(
    hosts: &[&'h Host],
    transport: &dyn Transport,
    lock_timeout: u64,
) -> Result<Locks<'h>, Failure> {
    let holder = holder();
    let deadline = Instant::now() + Duration::from_secs(lock_timeout);
    loop {
        let answers: Vec<_> = std::thread::scope(|scope| {
            let asking: Vec<_> = hosts
                .iter()
                .map(|host| scope.spawn(|| transport.lock(host, &holder)))
                .collect();
            asking
                .into_iter()
                .map(|lock| lock.join().expect("locking thread panicked"))
                .collect()
        });
        let mut locks = Locks {
            locked: Vec::new(),
            unreached: BTreeMap::new(),
        };
        let mut held = Vec::new();
        for (host, answer) in hosts.iter().zip(answers) {
            match answer {
                Ok(()) => locks.locked.push(*host),
                Err(TransportError::Locked { host, holder }) => held.push((host, holder)),
                Err(error) => {
                    locks.unreached.insert(host.name.clone(), error);
                }
            }
        }
        if held.is_empty() {
            return Ok(locks);
        }
        unlock(&locks.locked, transport);
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(refusal(ApplyError::LocksHeld {
                held: held
                    .into_iter()
                    .map(|(host, holder)| format!("{host} is locked by another apply: {holder}"))
                    .collect(),
            }));
        }
        let hosts: Vec<&str> = held.iter().map(|(host, _)| host.as_str()).collect();
        eprintln!(
            "note: {} locked by another apply; all locks released, trying again",
            hosts.join(", ")
        );
        let jitter = u64::from_str_radix(&crate::random::word(2), 16).unwrap_or(0) % 1000;
        std::thread::sleep(left.min(Duration::from_millis(500 + jitter)));
    }
}

/// Removes what interrupted writes left on each host (the plan lists them), before anything
/// else changes; a host where that fails says so, and its resources are applied all the same.
fn remove_leftovers(inventory: &Inventory, plan: &Plan, transport: &dyn Transport) {
    for host_plan in plan.hosts.iter().filter(|host| !host.leftovers.is_empty()) {
        let Some(host) = inventory.host(&host_plan.name) else {
            continue;
        };
        let paths = host_plan.leftovers.join(", ");
        match transport.remove_leftovers(host, &host_plan.leftovers) {
            Ok(()) => println!(
                "{}: removed what an interrupted write left: {}",
                host.name,
                crate::visible::line(&paths)
            ),
            Err(error) => println!(
                "{}: could not remove what an interrupted write left: {}",
                host.name,
                crate::visible::line(crate::sensitive::quoted(&error.to_string()))
            ),
        }
    }
}

/// Brings each planned host's record of what f3s manages there up to date (`prune.rs`),
/// where it changed: one more exec on such a host, under its lock. A host where that fails
/// says so; the apply's outcome stands. A host the apply never reached (its rollout stopped
/// before it: every one of its resources not started) is left as it was, record included
/// (`record::updated` records nothing an apply did not start).
fn record_managed(
    inventory: &Inventory,
    graph: &ResourceGraph,
    plan: &Plan,
    results: &[apply::Finished],
    transport: &dyn Transport,
) {
    let ended = crate::record::ended(results);
    for host_plan in &plan.hosts {
        let Some(host) = inventory.host(&host_plan.name) else {
            continue;
        };
        if host_plan.record_problem.is_some() && host_plan.record.is_none() {
            // A record f3s cannot read is left for the admin to look at.
            continue;
        }
        // The plan parsed this text already: it reads the same again.
        let old = match host_plan
            .record
            .as_ref()
            .map(|text| crate::managed::Record::parse(&text.as_str()))
        {
            Some(Err(_)) => continue,
            Some(Ok(old)) => Some(old),
            None => None,
        };
        let old = old.as_ref();
        let record = crate::record::updated(old, host_plan, graph, &ended);
        if old.map(|old| old.text()) == Some(record.text())
            || (old.is_none() && record.entries.is_empty())
        {
            continue;
        }
        let batch = crate::batch::Batch {
            units: vec![crate::batch::Unit {
                ops: crate::record::write_ops(host.os, &record).into(),
                after: Vec::new(),
            }],
        };
        let mut failed = None;
        let ran = transport.run_batch(host, &batch, &mut |_, outcome| {
            if let crate::batch::UnitOutcome::Failed { error, .. } = outcome {
                failed = Some(error);
            }
        });
        if let Some(error) = ran.err().map(|e| e.to_string()).or(failed) {
            println!(
                "{}: could not record what f3s manages there: {}",
                host.name,
                crate::visible::line(crate::sensitive::quoted(&error))
            );
        }
    }
}

fn unlock(locked: &[&Host], transport: &dyn Transport) {
    std::thread::scope(|scope| {
        for host in locked {
            scope.spawn(move || transport.unlock(host));
        }
    });
}

fn converge(
    args: &ApplyArgs,
    inventory: &Inventory,
    graph: &mut ResourceGraph,
    selected: &[bool],
    transport: &dyn Transport,
    unreached: BTreeMap<String, TransportError>,
) -> Result<ExitCode, Failure> {
    let plan = plan::plan(inventory, graph, selected, transport, unreached, args.prune)?;
    let graph: &ResourceGraph = graph;
    if let Some(path) = &args.planfile {
        check_saved(path, &plan)?;
    }
    let color = render::stdout_color();
    if args.quiet {
        print!("{}", render::text::summary(&plan, color));
    } else {
        render::text::write(&plan, color, &mut std::io::stdout().lock())?;
    }
    if !plan.has_changes() {
        record_managed(inventory, graph, &plan, &[], transport);
        missing_secrets_failure(inventory, &plan)?;
        unreached_failure(plan)?;
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
    let applying = crate::interrupt::Applying::start();
    remove_leftovers(inventory, &plan, transport);
    let run = |progress: &dyn apply::Progress| {
        apply::apply(
            inventory,
            graph,
            &plan,
            transport,
            args.parallelism,
            progress,
        )
    };
    let report = if render::live::wanted() && !args.quiet {
        let live = render::live::Live::new(&plan);
        let report = run(&live);
        live.finish();
        report
    } else {
        run(&render::progress::Lines::new(color, args.quiet))
    };
    print!(
        "{}",
        render::progress::summary(&report, &plan, color, args.quiet)
    );
    record_managed(inventory, graph, &plan, &report.results, transport);
    drop(applying);
    if crate::interrupt::requested() {
        return Ok(ExitCode::from(crate::interrupt::EXIT_CODE));
    }
    let succeeded = report.succeeded();
    // A stopped rollout, a secret without a value, a host not reached: errors of the run,
    // each with what to do about it.
    let mut errors: Vec<miette::Report> =
        report.halts.into_iter().map(miette::Report::new).collect();
    if let Err(missing) = missing_secrets_failure(inventory, &plan) {
        errors.extend(missing.reports);
    }
    if let Err(unreached) = unreached_failure(plan) {
        errors.extend(unreached.reports);
    }
    if !errors.is_empty() {
        return Err(Failure::new(errors));
    }
    Ok(if succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn refusal(error: ApplyError) -> Failure {
    Failure::new(vec![miette::Report::new(error)])
}

/// The inventory a saved plan was made from, where the plan can be read (one that cannot
/// is refused by `check_saved` later, with why).
fn saved_inventory(path: &std::path::Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(path).ok()?;
    let plan: serde_json::Value = serde_json::from_str(&text).ok()?;
    plan["inventory"].as_str().map(PathBuf::from)
}

/// A saved plan is applied only if planning now gives exactly it again.
fn check_saved(path: &std::path::Path, plan: &Plan) -> Result<(), Failure> {
    let saved = std::fs::read_to_string(path).map_err(|e| {
        refusal(ApplyError::UnreadablePlan {
            message: format!("{}: {e}", path.display()),
        })
    })?;
    let fresh = render::json::render(plan);
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
