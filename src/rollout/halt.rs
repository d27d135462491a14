//! What stops a rollout (a batch that did not converge, failed its health check or was not
//! reached), as the error the run ends with.

use std::fmt;

use miette::Diagnostic;
use thiserror::Error;

use crate::rollout::PlannedRollout;

/// Why a rollout stopped, or (after its last batch) why its check failed: the run fails.
#[derive(Debug, Error, Diagnostic)]
#[error("{}: {}", self.headline(), self.faults.iter().map(Fault::to_string).collect::<Vec<_>>().join("; "))]
#[diagnostic(help("{}", self.advice()))]
pub struct Halt {
    pub group: String,
    pub faults: Vec<Fault>,
    /// The hosts of the batches after it, whose resources were not started.
    pub held: Vec<String>,
}

/// One thing wrong with a batch: what, in a few words naming the host, and what the host
/// said about it.
#[derive(Debug)]
pub struct Fault {
    pub what: String,
    pub said: Option<String>,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.said {
            Some(said) => write!(f, "{}: {said}", self.what),
            None => f.write_str(&self.what),
        }
    }
}

impl Halt {
    /// `rollout` stops at `batch` for `faults`.
    pub fn new(rollout: &PlannedRollout, batch: usize, faults: Vec<Fault>) -> Self {
        Self {
            group: rollout.group.clone(),
            faults,
            held: rollout.batches[batch + 1..].concat(),
        }
    }

    fn headline(&self) -> String {
        if self.held.is_empty() {
            format!("rollout of `{}` failed after its last batch", self.group)
        } else {
            format!("rollout of `{}` stopped", self.group)
        }
    }

    fn advice(&self) -> String {
        if self.held.is_empty() {
            "every batch was applied; see to the host, and run apply again to check it".into()
        } else {
            format!(
                "nothing more was started on {} (see the summary); see to the host, then run apply again: it starts over with the first batch",
                self.held.join(", ")
            )
        }
    }

    /// Why a held resource did not start, in a line.
    pub fn because(&self) -> String {
        let what: Vec<&str> = self.faults.iter().map(|f| f.what.as_str()).collect();
        format!("{}: {}", self.headline(), what.join("; "))
    }
}
