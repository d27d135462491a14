//! Turning a plan (and a status report) into what people and programs read. Rendering never decides anything.

pub mod json;
pub mod live;
pub mod progress;
pub mod status;
pub mod text;

use std::io::IsTerminal;

/// Whether to colour output: only on a terminal that is not dumb (`TERM=dumb`: no escapes),
/// never with `NO_COLOR` set (no-color.org), and not in CI (which sets `CI`), whose logs
/// keep escapes as text.
pub fn use_color(stream_is_terminal: bool) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
    stream_is_terminal
        && !set("NO_COLOR")
        && !set("CI")
        && std::env::var("TERM").map_or(true, |term| term != "dumb")
}

pub fn stdout_color() -> bool {
    use_color(std::io::stdout().is_terminal())
}

pub fn stderr_color() -> bool {
    use_color(std::io::stderr().is_terminal())
}

/// How diagnostics are printed on stderr: coloured and wrapped on a terminal; unwrapped off
/// one, so a CI log can be searched for a whole message.
pub fn diagnostics(color: bool) -> miette::MietteHandler {
    miette::MietteHandlerOpts::new()
        .color(color)
        .unicode(color)
        .terminal_links(false)
        .wrap_lines(color)
        .context_lines(2)
        .build()
}
