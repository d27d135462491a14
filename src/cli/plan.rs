//! `f3s plan`: observe, decide, print; with `-o` also save the plan for a later apply.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::cli::{Failure, InventoryArg, ScopeArgs, TransportArgs, load_connecting};
use crate::plan;
use crate::render;

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    inventory: InventoryArg,
    #[command(flatten)]
    transport: TransportArgs,
    #[command(flatten)]
    scope: ScopeArgs,
    /// Print the plan as JSON (format: docs/plan-json.md).
    #[arg(long)]
    json: bool,
    /// Also save the plan (JSON, no secrets) to PLANFILE.
    #[arg(short = 'o', long = "out", value_name = "PLANFILE")]
    out: Option<PathBuf>,
    /// Exit 0 when nothing would change, 2 when something would, 1 on error.
    #[arg(long)]
    detailed_exitcode: bool,
}

pub fn run(args: PlanArgs) -> Result<ExitCode, Failure> {
    let transport = args.transport.transport();
    let loaded =
        load_connecting(&args.inventory, &args.scope, transport.as_ref())?.with_digest_key()?;
    super::note_missing_secrets(&loaded.inventory);
    let selected = args.scope.select(&loaded)?;
    let plan = plan::plan(
        &loaded.inventory,
        &loaded.graph,
        &selected,
        transport.as_ref(),
        BTreeMap::new(),
    )
    .map_err(Failure::from)?;
    let shown = if args.json {
        render::json::render(&plan)
    } else {
        render::text::render(&plan, render::stdout_color())
    };
    if let Some(out) = &args.out {
        let hidden = plan.hosts.iter().any(|host| host.observed_hidden);
        super::require_persistent_key(hidden, "save a plan")?;
        std::fs::write(out, render::json::render(&plan))?;
    }
    std::io::stdout().write_all(shown.as_bytes())?;
    let changes = plan.has_changes();
    super::unreached_failure(plan)?;
    Ok(if args.detailed_exitcode && changes {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
