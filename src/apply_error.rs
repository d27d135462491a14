//! Why `apply` refused to start: nothing has been changed on any host when these are raised.

use miette::Diagnostic;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum ApplyError {
    #[error("the saved plan is stale: {} changed since it was made", hosts.join(", "))]
    #[diagnostic(help("make a new plan with `f3s plan -o {plan}`, review it, and apply that"))]
    Drifted { plan: String, hosts: Vec<String> },
    #[error("the saved plan cannot be read: {message}")]
    UnreadablePlan { message: String },
    #[error("refusing destructive changes: {}", addresses.join(", "))]
    #[diagnostic(help(
        "these would discard data; if that is what you want, name each one: --allow-destructive {}",
        addresses.join(",")
    ))]
    Destructive { addresses: Vec<String> },
    #[error("refusing to apply without confirmation: standard input is not a terminal")]
    #[diagnostic(help("review the plan, then run again with --yes"))]
    NoTerminal,
    #[error("apply cancelled")]
    Cancelled,
    #[error("nothing was applied: {}", held.join("; "))]
    #[diagnostic(help(
        "an apply locks all its hosts or none, so it released the locks it had taken; wait for the other apply to finish, or let this one wait for it with --lock-timeout SECS"
    ))]
    LocksHeld {
        /// `HOST is locked by another apply: HOLDER`, each.
        held: Vec<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_plan_is_named() {
        let error = ApplyError::Drifted {
            plan: "plans/tuesday.json".into(),
            hosts: vec!["f0".into()],
        };
        let help = error
            .help()
            .map(|help| help.to_string())
            .unwrap_or_default();
        assert!(help.contains("f3s plan -o plans/tuesday.json"), "{help}");
    }
}
