//! The `f3s` binary: parse the command line and run it.

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser as _};

fn main() -> ExitCode {
    f3s::malloc_tuning::tune();
    // Asked by a shell what completes a word (`COMPLETE=bash f3s -- …`): answered, then exit.
    clap_complete::CompleteEnv::with_factory(f3s::cli::Cli::command)
        .var(f3s::cli::COMPLETE_VARIABLE)
        .complete();
    let color = f3s::render::stderr_color();
    miette::set_hook(Box::new(move |_| Box::new(f3s::render::diagnostics(color)))).ok();
    f3s::interrupt::install();
    f3s::open_files::raise_limit();
    // A command line that does not parse exits 1, as any error: 2 says "changes pending"
    // (plan --detailed-exitcode) or "a check warns" (status), which a typo must not.
    match f3s::cli::Cli::try_parse() {
        Ok(cli) => cli.run(),
        Err(error) => {
            let _ = error.print();
            if error.exit_code() == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
