//! `f3s show PLANFILE`: a saved plan printed again, as `plan` printed it (or as JSON), with no
//! inventory and no connection: for reviewing the plan a CI job saved before it is applied.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::failure::Failure;
use crate::render;
use crate::saved_plan::SavedPlan;

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved by `f3s plan -o PLANFILE`.
    #[arg(value_name = "PLANFILE")]
    planfile: PathBuf,
    /// Print it as JSON, in the saved format (docs/plan-json.md).
    #[arg(long)]
    json: bool,
}

pub fn run(args: ShowArgs) -> Result<ExitCode, Failure> {
    let saved = SavedPlan::read(&args.planfile)
        .map_err(|error| Failure::new(vec![miette::Report::new(error)]))?;
    let mut stdout = std::io::stdout().lock();
    if args.json {
        stdout.write_all(render::json::render(saved.plan()).as_bytes())?;
    } else {
        render::text::write(saved.plan(), render::stdout_color(), &mut stdout)?;
    }
    Ok(ExitCode::SUCCESS)
}
