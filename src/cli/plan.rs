//! `f3s plan`: observe, decide, print; with `-o` also save the plan for a later apply.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::failure::{Failure, require_persistent_key, unreached_failure};
use super::load::HostArgs;
use crate::plan;
use crate::render;

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    hosts: HostArgs,
    /// Print the plan as JSON (format: docs/plan-json.md).
    #[arg(long)]
    json: bool,
    /// Also save the plan (JSON, no secrets) to PLANFILE.
    #[arg(short = 'o', long = "out", value_name = "PLANFILE")]
    out: Option<PathBuf>,
    /// Exit 0 when nothing would change, 2 when something would (or may: resources left out
    /// for a secret without a value), 1 on error (a host not reached, say).
    #[arg(long)]
    detailed_exitcode: bool,
    /// Plan the removal of what left the inventory (each host's record of what f3s manages
    /// there says what that is); without it, such resources are only listed.
    #[arg(long)]
    prune: bool,
}

pub fn run(args: PlanArgs) -> Result<ExitCode, Failure> {
    let (transport, mut loaded, selected) = args.hosts.start()?;
    let plan = plan::plan(
        &loaded.inventory,
        &mut loaded.graph,
        &selected,
        transport.as_ref(),
        BTreeMap::new(),
        args.prune,
    )
    .map_err(Failure::from)?;
    if let Some(out) = &args.out {
        let hidden = plan.hosts.iter().any(|host| host.observed_hidden);
        require_persistent_key(hidden, "save a plan")?;
        std::fs::write(out, render::json::render(&plan))?;
    }
    let mut stdout = std::io::stdout().lock();
    if args.json {
        stdout.write_all(render::json::render(&plan).as_bytes())?;
    } else {
        render::text::write(&plan, render::stdout_color(), &mut stdout)?;
    }
    drop(stdout);
    // `--detailed-exitcode` never says "no changes" (0) of a plan that left something out.
    let changes = plan.has_changes() || !plan.skipped.is_empty();
    unreached_failure(plan)?;
    Ok(if args.detailed_exitcode && changes {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
