//! Turning a plan into what people and programs read. Rendering never decides anything.

pub mod json;
pub mod live;
pub mod progress;
pub mod text;

use std::io::IsTerminal;

/// Whether to colour output: only on a terminal, and never with `NO_COLOR` set.
pub fn use_color(stream_is_terminal: bool) -> bool {
    stream_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

pub fn stdout_color() -> bool {
    use_color(std::io::stdout().is_terminal())
}

pub fn stderr_color() -> bool {
    use_color(std::io::stderr().is_terminal())
}
