//! The `f3s` binary: parse the command line and run it.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let color = f3s::render::stderr_color();
    miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .color(color)
                .unicode(color)
                .terminal_links(false)
                // Unwrapped off a terminal, so a CI log can be searched for a whole message.
                .wrap_lines(color)
                .context_lines(2)
                .build(),
        )
    }))
    .ok();
    f3s::interrupt::install();
    f3s::cli::Cli::parse().run()
}
