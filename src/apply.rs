//! Applying a plan: hosts in parallel (bounded), each host's resources one at a time in plan
//! order, a resource starting once everything it depends on (on any host) has finished. A
//! failed resource skips its dependents and nothing else. Refreshes planned for a notified
//! service run as part of that service, after its notifier and before its dependents.
//!
//! Scheduling is per resource, not per host: the globally earliest unfinished resource is
//! always ready, so a cross-host edge can never deadlock, whatever the parallelism.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::graph::ResourceGraph;
use crate::inventory::Inventory;
use crate::op::Op;
use crate::plan::{Action, Plan, PlannedResource};
use crate::resource::Address;
use crate::sensitive::Text;
use crate::transport::{Transport, TransportError};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Done,
    Unchanged,
    Failed { error: String },
    Skipped { because: String },
}

impl Outcome {
    fn blocks_dependents(&self) -> bool {
        matches!(self, Self::Failed { .. } | Self::Skipped { .. })
    }
}

#[derive(Debug, Clone)]
pub struct Finished {
    pub address: Address,
    pub outcome: Outcome,
    pub took: Duration,
}

/// Hears about each resource as it starts and finishes (progress display, log lines).
pub trait Progress: Sync {
    fn started(&self, address: &Address);
    fn finished(&self, finished: &Finished);
}

/// Every resource of the plan with its outcome, in plan order.
pub struct Report {
    pub results: Vec<Finished>,
}

impl Report {
    pub fn succeeded(&self) -> bool {
        !self.results.iter().any(|r| r.outcome.blocks_dependents())
    }
}

struct Job<'a> {
    host: &'a str,
    index: usize,
    planned: &'a PlannedResource,
}

struct Board<'a> {
    queues: BTreeMap<&'a str, VecDeque<Job<'a>>>,
    busy: Vec<&'a str>,
    done: BTreeMap<usize, Outcome>,
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
    let mut in_plan = Vec::new();
    for host in &plan.hosts {
        let jobs: VecDeque<Job> = host
            .resources
            .iter()
            .filter_map(|planned| {
                let index = graph.index_of(&planned.address)?;
                in_plan.push(index);
                Some(Job {
                    host: &host.name,
                    index,
                    planned,
                })
            })
            .collect();
        queues.insert(host.name.as_str(), jobs);
    }
    let board = Mutex::new(Board {
        queues,
        busy: Vec::new(),
        done: BTreeMap::new(),
    });
    let changed = Condvar::new();
    let results = Mutex::new(Vec::new());
    let workers = parallelism.clamp(1, plan.hosts.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some((job, blocked_by)) = next_job(&board, &changed, graph, &in_plan) {
                    let started = Instant::now();
                    let outcome = match blocked_by {
                        Some(because) => Outcome::Skipped { because },
                        None if job.planned.action == Action::Unchanged => Outcome::Unchanged,
                        None => {
                            progress.started(&job.planned.address);
                            run(inventory, transport, job.host, job.planned)
                        }
                    };
                    let finished = Finished {
                        address: job.planned.address.clone(),
                        outcome: outcome.clone(),
                        took: started.elapsed(),
                    };
                    if outcome != Outcome::Unchanged {
                        progress.finished(&finished);
                    }
                    results
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((job.index, finished));
                    let mut board = board.lock().unwrap_or_else(|p| p.into_inner());
                    board.busy.retain(|host| *host != job.host);
                    board.done.insert(job.index, outcome);
                    changed.notify_all();
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    let position = |index: usize| in_plan.iter().position(|i| *i == index);
    results.sort_by_key(|(index, _)| position(*index));
    Report {
        results: results.into_iter().map(|(_, finished)| finished).collect(),
    }
}

/// The next resource whose host is free and whose dependencies have all finished, and the
/// failed dependency that makes it skip, if any. `None` when everything is done.
fn next_job<'a>(
    board: &Mutex<Board<'a>>,
    changed: &Condvar,
    graph: &ResourceGraph,
    in_plan: &[usize],
) -> Option<(Job<'a>, Option<String>)> {
    let mut board = board.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if board.queues.values().all(VecDeque::is_empty) {
            return None;
        }
        let ready = board.queues.iter().find_map(|(host, queue)| {
            let job = queue.front()?;
            if board.busy.contains(host) {
                return None;
            }
            let mut blocked_by = None;
            for dependency in graph
                .dependencies(job.index)
                .filter(|d| in_plan.contains(d))
            {
                match board.done.get(&dependency) {
                    None => return None,
                    Some(outcome) if outcome.blocks_dependents() => {
                        blocked_by = Some(graph.resources[dependency].address.to_string());
                    }
                    Some(_) => {}
                }
            }
            Some((*host, blocked_by))
        });
        if let Some((host, blocked_by)) = ready {
            let job = board.queues.get_mut(host).and_then(VecDeque::pop_front)?;
            board.busy.push(host);
            return Some((job, blocked_by));
        }
        board = changed.wait(board).unwrap_or_else(|p| p.into_inner());
    }
}

/// Runs a resource's operations in order; the first failure ends it.
fn run(
    inventory: &Inventory,
    transport: &dyn Transport,
    host: &str,
    planned: &PlannedResource,
) -> Outcome {
    let Some(target) = inventory.host(host) else {
        return Outcome::Failed {
            error: format!("host `{host}` is not in the inventory"),
        };
    };
    for op in &planned.operations {
        let result = match op {
            Op::CopyFile {
                source_host,
                source_path,
                path,
                ownership,
                create_only,
            } => copy(inventory, transport, source_host, source_path).and_then(|content| {
                let write = Op::WriteFile {
                    path: path.clone(),
                    content,
                    ownership: ownership.clone(),
                    create_only: *create_only,
                };
                transport.execute(target, &write)
            }),
            op => transport.execute(target, op),
        };
        if let Err(error) = result {
            return Outcome::Failed {
                error: error.to_string(),
            };
        }
    }
    Outcome::Done
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
