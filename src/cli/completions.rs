//! Shell completion: `f3s completions SHELL` prints the script that registers f3s with the
//! shell, and the shell then asks f3s itself what completes a word (clap_complete's dynamic
//! engine, `COMPLETE=SHELL f3s -- WORDS…`), so commands and flags never fall behind the
//! parser and `--host` offers the hosts of the inventory the command line names.

use std::ffi::OsStr;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use clap_complete::env::Shells;
use clap_complete::{ArgValueCompleter, CompletionCandidate};

use super::failure::Failure;
use crate::inventory;

/// The variable that asks f3s for completions rather than to run (clap_complete's name).
pub const VARIABLE: &str = "COMPLETE";

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in: bash, zsh, fish, elvish or powershell.
    #[arg(value_name = "SHELL", value_parser = ["bash", "zsh", "fish", "elvish", "powershell"])]
    shell: String,
}

/// Writes the registration script for `args.shell`, calling this very f3s to complete.
pub fn run(args: CompletionsArgs) -> Result<ExitCode, Failure> {
    let shells = Shells::builtins();
    let shell = shells
        .completer(&args.shell)
        .expect("the parser accepts only the shells clap_complete has");
    let completer = std::env::current_exe()?;
    // Generated whole first: writing to a closed pipe is then an error reported, not a panic.
    let mut script = Vec::new();
    shell.write_registration(
        VARIABLE,
        "f3s",
        "f3s",
        &completer.to_string_lossy(),
        &mut script,
    )?;
    std::io::stdout().write_all(&script)?;
    Ok(ExitCode::SUCCESS)
}

/// Completes a host name (`--host`, a value of a comma-separated list too) from the
/// inventory the words being completed name (`-i FILE`, else the default).
pub fn hosts() -> ArgValueCompleter {
    ArgValueCompleter::new(|current: &OsStr| {
        let current = current.to_string_lossy();
        inventory::host_names(&inventory_named())
            .unwrap_or_default()
            .into_iter()
            .filter(|name| name.starts_with(current.as_ref()))
            .map(CompletionCandidate::new)
            .collect()
    })
}

/// The inventory `-i`/`--inventory` names among the words a shell asks to complete (f3s's
/// own arguments after `--`), else the default.
fn inventory_named() -> PathBuf {
    let words: Vec<String> = std::env::args()
        .skip_while(|word| word != "--")
        .skip(1)
        .collect();
    let mut named = None;
    for (i, word) in words.iter().enumerate() {
        let value = match word.as_str() {
            "-i" | "--inventory" => words.get(i + 1).cloned(),
            _ => word
                .strip_prefix("--inventory=")
                .or_else(|| {
                    word.strip_prefix("-i")
                        .map(|rest| rest.strip_prefix('=').unwrap_or(rest))
                })
                .filter(|rest| !rest.is_empty())
                .map(str::to_string),
        };
        if value.is_some() {
            named = value;
        }
    }
    PathBuf::from(named.unwrap_or_else(|| inventory::DEFAULT_PATH.to_string()))
}
