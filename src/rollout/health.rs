//! A rollout's health check, run on each host of a batch once the batch has converged. It
//! runs after every batch, whether or not its hosts changed: before the master of a pair is
//! touched, its standby must be healthy, whatever this run did to it. Where the transport
//! cannot run commands (recorded host state), the check is not run, and each host's verdict
//! says so.

use crate::inventory::Inventory;
use crate::rollout::PlannedRollout;
use crate::rollout::halt::{Fault, Halt};
use crate::sensitive::quoted;
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
