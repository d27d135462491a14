//! `f3s man DIR`: the manual pages (clap_mangen), one per command as git has them: f3s(1)
//! lists the commands, f3s-plan(1) and the others give each one's options. Generated from
//! the same definitions as the parser, so they never fall behind a flag.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::failure::Failure;

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Where to write the pages, e.g. /usr/local/share/man/man1 (created if missing).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

/// Writes the pages of `command` (the whole command line, as clap describes it).
pub fn run(args: ManArgs, command: clap::Command) -> Result<ExitCode, Failure> {
    std::fs::create_dir_all(&args.dir)?;
    clap_mangen::generate_to(command, &args.dir)?;
    Ok(ExitCode::SUCCESS)
}
