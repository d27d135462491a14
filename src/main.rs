//! The `f3s` binary: parse the command line and run it.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let color = f3s::render::stderr_color();
    miette::set_hook(Box::new(move |_| Box::new(f3s::render::diagnostics(color)))).ok();
    f3s::interrupt::install();
    f3s::open_files::raise_limit();
    f3s::cli::Cli::parse().run()
}
