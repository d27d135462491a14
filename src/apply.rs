//! Applying a plan: hosts in parallel (bounded), each host's resources in plan order, a
//! resource starting once everything it depends on (on any host) has finished. A failed
//! resource skips its dependents and nothing else. Refreshes planned for a notified service
//! run as part of that service, after its notifier and before its dependents.
//!
//! A host's resources travel in batches (`crate::batch`), one remote exec each: from the first
//! ready resource on, as many as need nothing unfinished outside the batch. The host reports
//! each resource as it ends, so another host waiting on one goes on at once. The globally
//! earliest unfinished resource is always ready, so a cross-host edge can never deadlock,
//! whatever the parallelism.
//!
//! A rollout (`crate::rollout`) holds back the resources of its later batches until the
//! earlier batches have converged and passed their health check; each host then takes its
//! resources in order of wave, then plan order, which keeps that argument true (see there).
//! A batch that fails stops the rollout: what is placed after it is not started.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::batch::{Batch, Unit, UnitOutcome};
use crate::graph::ResourceGraph;
use crate::inventory::Inventory;
use crate::op::Op;
use crate::plan::{Action, Plan, PlannedResource};
use crate::resource::Address;
use crate::rollout::Schedule;
use crate::rollout::gate::{Due, Gates};
use crate::rollout::halt::{Fault, Halt};
use crate::rollout::health::{self, HealthCheck};
use crate::sensitive::Text;
use crate::transport::{Transport, TransportError};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// `kept`: the backups on the host holding the content its writes replaced.
    Done {
        #[serde(skip_serializing_if = "Vec::is_empty")]
        kept: Vec<String>,
    },
    Unchanged,
    Failed {
        error: String,
    },
    Skipped {
        because: String,
    },
    /// Never started: the run was interrupted, or its rollout stopped.
    NotStarted {
        because: String,
    },
    /// Sent, but the host never said how it ended (the connection went, or the host stopped
    /// answering): it may have run whole, in part (each write whole or not at all), or not.
    Unknown {
        because: String,
    },
}

impl Outcome {
    fn blocks_dependents(&self) -> bool {
        matches!(
            self,
            Self::Failed { .. }
                | Self::Skipped { .. }
                | Self::NotStarted { .. }
                | Self::Unknown { .. }
        )
    }
}

#[derive(Debug, Clone)]
pub struct Finished {
    pub address: Address,
    pub outcome: Outcome,
    pub took: Duration,
}

/// Hears about each resource as it starts and finishes, and each host's health check in a
/// rollout (progress display, log lines).
pub trait Progress: Sync {
    fn started(&self, address: &Address);
    fn finished(&self, finished: &Finished);
    fn checked(&self, check: &HealthCheck);
}

/// Every resource of the plan with its outcome, in plan order, and the rollouts that stopped.
pub struct Report {
    pub results: Vec<Finished>,
    pub halts: Vec<Halt>,
}

impl Report {
    pub fn succeeded(&self) -> bool {
        !self.results.iter().any(|r| r.outcome.blocks_dependents()) && self.halts.is_empty()
    }
}

/// What a worker does next: a batch of a host's resources, or a rollout's health check.
enum Work<'p> {
    Batch(&'p str, Vec<Taken<'p>>),
    Check(Due),
}

struct Job<'a> {
    index: usize,
    planned: &'a PlannedResource,
}

/// A job taken for a batch: to run (after the batch's earlier runnable jobs at these
/// positions), or already decided (nothing to do, or skipped for a failed dependency).
enum Taken<'a> {
    Run(Job<'a>, Vec<usize>),
    Decided(Job<'a>, Outcome),
}

struct Board<'a> {
    queues: BTreeMap<&'a str, VecDeque<Job<'a>>>,
    busy: Vec<&'a str>,
    done: BTreeMap<usize, Outcome>,
    gates: Gates,
}

/// What every worker shares: the plan's jobs, and where finished ones are recorded.
struct Shared<'a, 'p> {
    inventory: &'a Inventory,
    graph: &'a ResourceGraph,
    plan: &'p Plan,
    transport: &'a dyn Transport,
    progress: &'a dyn Progress,
    /// Each planned resource's graph index, with its position in the plan.
    in_plan: HashMap<usize, usize>,
    board: Mutex<Board<'p>>,
    changed: Condvar,
    results: Mutex<Vec<(usize, Finished)>>,
    halts: Mutex<Vec<Halt>>,
}

pub fn apply(
    inventory: &Inventory,
    graph: &ResourceGraph,
    plan: &Plan,
    transport: &dyn Transport,
    parallelism: usize,
    progress: &dyn Progress,
) -> Report {
    let mut queues = BTreeMap::new();
    let mut in_plan = HashMap::new();
    for host in &plan.hosts {
        let jobs: Vec<Job> = host
            .resources
            .iter()
            .filter_map(|planned| {
                let index = graph.index_of(&planned.address)?;
                in_plan.insert(index, in_plan.len());
                Some(Job { index, planned })
            })
            .collect();
        queues.insert(host.name.as_str(), jobs);
    }
    let schedule = Schedule::new(graph, &plan.rollouts, &in_plan.keys().copied().collect());
    let batches: Vec<usize> = plan.rollouts.iter().map(|r| r.batches.len()).collect();
    let gates = Gates::new(schedule, &batches);
    // Every planned resource ends with one result: sized once, not grown by doubling.
    let results = Vec::with_capacity(in_plan.len());
    let queues = queues
        .into_iter()
        .map(|(host, mut jobs)| {
            // Stable: plan order within a wave.
            jobs.sort_by_key(|job| gates.wave(job.index));
            (host, VecDeque::from(jobs))
        })
        .collect();
    let shared = Shared {
        inventory,
        graph,
        plan,
        transport,
        progress,
        in_plan,
        board: Mutex::new(Board {
            queues,
            busy: Vec::new(),
            done: BTreeMap::new(),
            gates,
        }),
        changed: Condvar::new(),
        results: Mutex::new(results),
        halts: Mutex::new(Vec::new()),
    };
    let workers = parallelism.clamp(1, plan.hosts.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some(work) = shared.next_work() {
                    match work {
                        Work::Batch(host, taken) => shared.run_batch(host, taken),
                        Work::Check(due) => shared.check(due),
                    }
                }
            });
        }
    });
    let mut results = shared
        .results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|(index, _)| shared.in_plan.get(index).copied());
    Report {
        results: results.into_iter().map(|(_, finished)| finished).collect(),
        halts: shared.halts.into_inner().unwrap_or_else(|p| p.into_inner()),
    }
}

impl<'a, 'p> Shared<'a, 'p> {
    fn lock_board(&self) -> std::sync::MutexGuard<'_, Board<'p>> {
        self.board.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A rollout's health check that is due; else the next host whose first job is ready,
    /// with as many of its following jobs as can run in the same batch: each job's
    /// dependencies have finished, or are earlier in the batch on the same host. `None` when
    /// everything is done.
    fn next_work(&self) -> Option<Work<'p>> {
        let mut board = self.lock_board();
        loop {
            if crate::interrupt::requested() {
                board.gates.stop_all("interrupted");
                self.drop_jobs(&mut board, |_, _| Some("interrupted".into()));
            }
            if board.gates.take_newly_stopped() {
                self.drop_jobs(&mut board, |gates, job| {
                    gates.stopped(job.index).map(str::to_string)
                });
            }
            if let Some(due) = board.gates.due() {
                return Some(Work::Check(due));
            }
            if board.queues.values().all(VecDeque::is_empty) {
                return None;
            }
            let ready = board
                .queues
                .iter()
                .find(|(host, queue)| {
                    !board.busy.contains(host)
                        && queue.front().is_some_and(|job| {
                            self.readiness(&board, job, &HashMap::new()).is_some()
                        })
                })
                .map(|(host, _)| *host);
            if let Some(host) = ready {
                board.busy.push(host);
                let taken = self.take_batch(&mut board, host);
                return Some(Work::Batch(host, taken));
            }
            // Woken by a finished job, or after a while to notice an interrupt.
            board = self
                .changed
                .wait_timeout(board, Duration::from_millis(100))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Records the jobs not yet started that `never` gives a reason for (an interrupt, a
    /// stopped rollout) as not started, and takes them off their queues.
    fn drop_jobs(&self, board: &mut Board<'p>, never: impl Fn(&Gates, &Job) -> Option<String>) {
        let mut dropped = Vec::new();
        for queue in board.queues.values_mut() {
            queue.retain(|job| match never(&board.gates, job) {
                Some(because) => {
                    dropped.push((job.index, job.planned.address.clone(), because));
                    false
                }
                None => true,
            });
        }
        if dropped.is_empty() {
            return;
        }
        let mut results = self.results.lock().unwrap_or_else(|p| p.into_inner());
        for (index, address, because) in dropped {
            let finished = Finished {
                address,
                outcome: Outcome::NotStarted { because },
                took: Duration::ZERO,
            };
            board.done.insert(index, finished.outcome.clone());
            results.push((index, finished));
        }
        self.changed.notify_all();
    }

    /// Runs a due health check (outside the board's lock: it is a remote command), and
    /// opens the next batch or stops the rollout.
    fn check(&self, due: Due) {
        let rollout = &self.plan.rollouts[due.rollout];
        let unreached: Vec<String> = self.plan.unreached.iter().map(|u| u.host.clone()).collect();
        let result = match due.failed {
            Some(address) => {
                let fault = Fault {
                    what: format!("{address} did not converge"),
                    said: None,
                };
                Err(Halt::new(rollout, due.batch, vec![fault]))
            }
            None => health::check_batch(
                self.inventory,
                self.transport,
                rollout,
                due.batch,
                &unreached,
                &mut |check| self.progress.checked(check),
            ),
        };
        let mut board = self.lock_board();
        match result {
            Ok(()) => board.gates.passed(due.rollout),
            Err(halt) => {
                board.gates.stop(due.rollout, halt.because());
                self.halts
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(halt);
            }
        }
        self.changed.notify_all();
    }

    /// Whether `job` can join a batch whose runnable jobs so far are `batch` (graph index to
    /// position): `None` if it must wait, else its positions in the batch to run after and the
    /// failed dependency that makes it skip, if any.
    fn readiness(
        &self,
        board: &Board,
        job: &Job,
        batch: &HashMap<usize, usize>,
    ) -> Option<(Vec<usize>, Option<String>)> {
        if !board.gates.allows(job.index) {
            return None;
        }
        let mut after = Vec::new();
        let mut blocked_by = None;
        for dependency in self
            .graph
            .dependencies(job.index)
            .filter(|d| self.in_plan.contains_key(d))
        {
            match board.done.get(&dependency) {
                Some(outcome) if outcome.blocks_dependents() => {
                    blocked_by = Some(self.graph.resources[dependency].address.to_string());
                }
                Some(_) => {}
                None => after.push(*batch.get(&dependency)?),
            }
        }
        // A copy reads its source before the batch starts, so it waits for the batch before.
        let copies = job
            .planned
            .operations
            .iter()
            .any(|op| matches!(op, Op::CopyFile { .. }));
        (after.is_empty() || !copies).then_some((after, blocked_by))
    }

    fn take_batch(&self, board: &mut Board<'p>, host: &'p str) -> Vec<Taken<'p>> {
        let mut taken = Vec::new();
        let mut runnable = HashMap::new();
        while let Some(job) = board.queues.get(host).and_then(VecDeque::front) {
            let Some((after, blocked_by)) = self.readiness(board, job, &runnable) else {
                break;
            };
            let Some(job) = board.queues.get_mut(host).and_then(VecDeque::pop_front) else {
                break;
            };
            let decided = match blocked_by {
                Some(because) => Some(Outcome::Skipped { because }),
                None if job.planned.action == Action::Unchanged => Some(Outcome::Unchanged),
                None => None,
            };
            match decided {
                Some(outcome) => {
                    board.done.insert(job.index, outcome.clone());
                    taken.push(Taken::Decided(job, outcome));
                }
                None => {
                    runnable.insert(job.index, runnable.len());
                    taken.push(Taken::Run(job, after));
                }
            }
        }
        taken
    }

    /// Records a job's outcome, and wakes whoever waits for it.
    fn finish(&self, job: &Job, outcome: Outcome, took: Duration) {
        let finished = Finished {
            address: job.planned.address.clone(),
            outcome: outcome.clone(),
            took,
        };
        if outcome != Outcome::Unchanged {
            self.progress.finished(&finished);
        }
        self.results
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((job.index, finished));
        let mut board = self.lock_board();
        let converged = !outcome.blocks_dependents();
        board
            .gates
            .finished(job.index, &job.planned.address, converged);
        board.done.insert(job.index, outcome);
        drop(board);
        self.changed.notify_all();
    }

    /// Runs one host's batch, recording each job's outcome as the host reports it.
    fn run_batch(&self, host: &'p str, taken: Vec<Taken<'p>>) {
        let mut jobs = Vec::new();
        let mut batch = Batch::default();
        let mut rest = taken.into_iter();
        for next in rest.by_ref() {
            let (job, after) = match next {
                Taken::Decided(job, outcome) => {
                    self.finish(&job, outcome, Duration::ZERO);
                    continue;
                }
                Taken::Run(job, after) => (job, after),
            };
            match self.prepared_ops(host, job.planned) {
                Ok(ops) => {
                    batch.units.push(Unit { ops, after });
                    jobs.push(job);
                }
                Err(error) => {
                    self.finish(&job, Outcome::Failed { error }, Duration::ZERO);
                    break;
                }
            }
        }
        // After a copy that could not be read, the rest goes back to wait for their turn.
        let rest: Vec<Job> = rest
            .filter_map(|taken| match taken {
                Taken::Run(job, _) => Some(job),
                Taken::Decided(job, outcome) => {
                    self.finish(&job, outcome, Duration::ZERO);
                    None
                }
            })
            .collect();
        if let Some(queue) = self.lock_board().queues.get_mut(host) {
            for job in rest.into_iter().rev() {
                queue.push_front(job);
            }
        }
        if !jobs.is_empty() {
            self.send(host, &jobs, batch);
        }
        self.lock_board().busy.retain(|busy| *busy != host);
        self.changed.notify_all();
    }

    fn send(&self, host: &str, jobs: &[Job], mut batch: Batch) {
        let Some(target) = self.inventory.host(host) else {
            for job in jobs {
                let error = format!("host `{host}` is not in the inventory");
                self.finish(job, Outcome::Failed { error }, Duration::ZERO);
            }
            return;
        };
        for job in jobs {
            self.progress.started(&job.planned.address);
        }
        let ends_as = batch.fold_rewrites();
        // The jobs each unit's outcome ends, found once: a host's batch may have thousands.
        let mut ending: Vec<Vec<usize>> = vec![Vec::new(); ends_as.len()];
        for (i, unit) in ends_as.iter().enumerate() {
            ending[*unit].push(i);
        }
        let mut reported = vec![false; jobs.len()];
        let mut last = Instant::now();
        let result = self
            .transport
            .run_batch(target, &batch, &mut |unit, outcome| {
                if ends_as.get(unit) != Some(&unit) {
                    return; // folded into a later unit: it ends as that one does
                }
                let outcome = match outcome {
                    UnitOutcome::Done { kept } => Outcome::Done { kept },
                    UnitOutcome::Failed { op, error } => Outcome::Failed {
                        error: match batch.units[unit].ops.get(op) {
                            Some(op) => format!("{host}: {} failed: {error}", op.describe()),
                            None => format!("{host}: {error}"),
                        },
                    },
                    UnitOutcome::Skipped { because } => Outcome::Skipped {
                        because: jobs
                            .get(because)
                            .map_or_else(String::new, |job| job.planned.address.to_string()),
                    },
                };
                let now = Instant::now();
                for &i in &ending[unit] {
                    if !reported[i] {
                        reported[i] = true;
                        self.finish(&jobs[i], outcome.clone(), now - last);
                    }
                }
                last = now;
            });
        // A unit with no outcome may have run or not: the connection went, or its marker
        // never came. It is not called failed (a host may have finished it just before).
        let because = match result {
            Ok(()) => format!("{host}: the host reported no outcome for it"),
            Err(error) => error.to_string(),
        };
        for (job, seen) in jobs.iter().zip(&reported) {
            if !seen {
                let because = because.clone();
                self.finish(job, Outcome::Unknown { because }, last.elapsed());
            }
        }
    }

    /// The resource's operations as the host runs them: a copy becomes the write of the
    /// bytes read from its source host.
    fn prepared_ops(
        &self,
        host: &str,
        planned: &'p PlannedResource,
    ) -> Result<Cow<'p, [Op]>, String> {
        if !planned
            .operations
            .iter()
            .any(|op| matches!(op, Op::CopyFile { .. }))
        {
            return Ok(Cow::Borrowed(&planned.operations));
        }
        planned
            .operations
            .iter()
            .map(|op| match op {
                Op::CopyFile {
                    source_host,
                    source_path,
                    ..
                } => {
                    let content = copy(self.inventory, self.transport, source_host, source_path)
                        .map_err(|error| format!("{host}: {error}"))?;
                    Ok(op.copied(content))
                }
                op => Ok(op.clone()),
            })
            .collect()
    }
}

fn copy(
    inventory: &Inventory,
    transport: &dyn Transport,
    host: &str,
    path: &str,
) -> Result<Text, TransportError> {
    let source = inventory
        .host(host)
        .ok_or_else(|| TransportError::Unsupported {
            host: host.to_string(),
            message: "not in the inventory".into(),
        })?;
    // Copied bytes may be a key: kept out of every message as sensitive.
    Ok(Text::new(transport.read_file(source, path)?, true))
}
