//! Each rollout's state while `apply` runs: which batch may run, how much of it is left,
//! whether its health check is due, and whether the rollout stopped. Kept under apply's
//! board lock; the checks themselves run outside it (`health`).

use crate::resource::Address;
use crate::rollout::Schedule;

pub struct Gates {
    schedule: Schedule,
    rollouts: Vec<Gate>,
    /// A rollout stopped since `take_newly_stopped` last looked.
    newly_stopped: bool,
}

struct Gate {
    /// The batches before this one converged and passed their checks: its resources may
    /// start. Equal to the number of batches once the last one passed.
    open: usize,
    /// Unfinished resources placed in each batch.
    unfinished: Vec<usize>,
    /// The first resource of the open batch that did not converge.
    failed: Option<Address>,
    checking: bool,
    /// Why the rollout stopped: nothing placed after the open batch starts.
    stopped: Option<String>,
}

/// A batch whose resources have all finished: its check is due.
pub struct Due {
    pub rollout: usize,
    pub batch: usize,
    /// The first of its resources that did not converge: then the rollout stops unchecked.
    pub failed: Option<Address>,
}

impl Gates {
    /// `batches[r]`: how many batches rollout r has.
    pub fn new(schedule: Schedule, batches: &[usize]) -> Self {
        let mut rollouts: Vec<Gate> = batches
            .iter()
            .map(|&count| Gate {
                open: 0,
                unfinished: vec![0; count],
                failed: None,
                checking: false,
                stopped: None,
            })
            .collect();
        for (_, (r, b)) in schedule.places() {
            rollouts[r].unfinished[b] += 1;
        }
        Self {
            schedule,
            rollouts,
            newly_stopped: false,
        }
    }

    pub fn wave(&self, i: usize) -> usize {
        self.schedule.wave(i)
    }

    /// Whether resource `i` may start: its batch is open.
    pub fn allows(&self, i: usize) -> bool {
        self.schedule
            .place(i)
            .is_none_or(|(r, b)| b <= self.rollouts[r].open && self.rollouts[r].stopped.is_none())
    }

    /// Why resource `i` will never start, if its rollout stopped before its batch.
    pub fn stopped(&self, i: usize) -> Option<&str> {
        let (r, b) = self.schedule.place(i)?;
        let gate = &self.rollouts[r];
        (b > gate.open).then_some(gate.stopped.as_deref()).flatten()
    }

    /// Counts resource `i` as finished (`converged` unless it failed, was skipped or not
    /// started).
    pub fn finished(&mut self, i: usize, address: &Address, converged: bool) {
        let Some((r, b)) = self.schedule.place(i) else {
            return;
        };
        let gate = &mut self.rollouts[r];
        gate.unfinished[b] = gate.unfinished[b].saturating_sub(1);
        if !converged && gate.failed.is_none() {
            gate.failed = Some(address.clone());
        }
    }

    /// A batch whose check is due, now marked as being checked.
    pub fn due(&mut self) -> Option<Due> {
        let (rollout, gate) = self.rollouts.iter_mut().enumerate().find(|(_, gate)| {
            !gate.checking && gate.stopped.is_none() && gate.unfinished.get(gate.open) == Some(&0)
        })?;
        gate.checking = true;
        Some(Due {
            rollout,
            batch: gate.open,
            failed: gate.failed.take(),
        })
    }

    /// The open batch of `rollout` passed: the next one may start.
    pub fn passed(&mut self, rollout: usize) {
        let gate = &mut self.rollouts[rollout];
        gate.checking = false;
        gate.open += 1;
    }

    /// The rollout stops where it is, for `because`.
    pub fn stop(&mut self, rollout: usize, because: String) {
        let gate = &mut self.rollouts[rollout];
        gate.checking = false;
        gate.stopped = Some(because);
        self.newly_stopped = true;
    }

    /// Whether a rollout stopped since the last call: then its held resources are to be
    /// recorded as not started.
    pub fn take_newly_stopped(&mut self) -> bool {
        std::mem::take(&mut self.newly_stopped)
    }

    /// After an interrupt: no rollout goes on, and no check is due any more.
    pub fn stop_all(&mut self, because: &str) {
        for gate in &mut self.rollouts {
            gate.stopped.get_or_insert_with(|| because.to_string());
        }
    }
}
