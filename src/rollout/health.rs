//! A rollout's health check, run on each host of a batch once the batch has converged, and
//! what stops a rollout. The check runs after every batch, whether or not its hosts changed:
//! before the master of a pair is touched, its standby must be healthy, whatever this run
//! did to it. Where the transport cannot run commands (recorded host state), the check is
//! not run, and each host's verdict says so.

use std::fmt;

use miette::Diagnostic;
use thiserror::Error;

use crate::inventory::Inventory;
use crate::rollout::PlannedRollout;
use crate::transport::Transport;

/// One host's check, as reported while the apply runs.
#[derive(Debug, Clone)]
pub struct HealthCheck {
    pub group: String,
    pub host: String,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    /// Not run, and why; the rollout goes on.
    NotRun(String),
    /// What the check said (its words are quotable: withheld whole if they hold a secret).
    Failed(String),
}

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

/// Checks each host of `batch` of `rollout`, telling `report` each verdict; the halt if the
/// batch is not healthy (a host not reached cannot be).
pub fn check_batch(
    inventory: &Inventory,
    transport: &dyn Transport,
    rollout: &PlannedRollout,
    batch: usize,
    unreached: &[String],
    report: &mut dyn FnMut(&HealthCheck),
) -> Result<(), Halt> {
    let command = inventory
        .rollouts
        .iter()
        .find(|r| r.group == rollout.group)
        .and_then(|r| r.health.as_deref());
    let mut faults = Vec::new();
    for host in &rollout.batches[batch] {
        if unreached.contains(host) {
            faults.push(Fault {
                what: format!("{host} was not reached"),
                said: None,
            });
            continue;
        }
        let Some(command) = command else {
            continue;
        };
        let verdict = match inventory.host(host) {
            Some(target) => verdict(transport, target, command),
            None => Verdict::Failed("not in the inventory".into()),
        };
        if let Verdict::Failed(why) = &verdict {
            faults.push(Fault {
                what: format!("health check on {host} failed"),
                said: Some(why.clone()),
            });
        }
        report(&HealthCheck {
            group: rollout.group.clone(),
            host: host.clone(),
            verdict,
        });
    }
    if faults.is_empty() {
        return Ok(());
    }
    Err(Halt::new(rollout, batch, faults))
}

/// How much of a failing check's output is quoted: its end, where the reason usually is.
const QUOTED_LINES: usize = 10;

fn verdict(
    transport: &dyn Transport,
    host: &crate::inventory::host::Host,
    command: &str,
) -> Verdict {
    let run = match transport.run_command(host, command) {
        Ok(Some(run)) => run,
        Ok(None) => return Verdict::NotRun("recorded host state cannot run commands".into()),
        Err(error) => {
            return Verdict::Failed(format!("it could not run: {}", quoted(&error.to_string())));
        }
    };
    if run.status == 0 {
        return Verdict::Passed;
    }
    let lines: Vec<&str> = run.output.trim_end().lines().collect();
    let tail = lines[lines.len().saturating_sub(QUOTED_LINES)..].join("\n");
    Verdict::Failed(if tail.is_empty() {
        format!("exit status {}", run.status)
    } else {
        format!("exit status {}: {}", run.status, quoted(&tail))
    })
}

/// A host's words as they may be shown: withheld whole if they quote a secret.
fn quoted(words: &str) -> &str {
    crate::sensitive::quotable(words).unwrap_or("(withheld: it quotes a secret)")
}
