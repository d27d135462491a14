//! `f3s completions SHELL`: the shell's completion script for f3s on stdout (clap_complete),
//! generated from the same definitions as the parser, so it never falls behind a flag.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Args;
use clap_complete::Shell;

use super::failure::Failure;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_name = "SHELL")]
    shell: Shell,
}

/// Writes the completion script of `command` (the whole command line, as clap describes it).
pub fn run(args: CompletionsArgs, mut command: clap::Command) -> Result<ExitCode, Failure> {
    // Generated whole first: writing to a closed pipe is then an error reported, not a panic.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "f3s", &mut script);
    std::io::stdout().write_all(&script)?;
    Ok(ExitCode::SUCCESS)
}
