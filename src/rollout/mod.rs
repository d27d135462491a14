//! Rolling apply: the order a rollout (`inventory::rollout`) puts on a plan. A resource of a
//! host in batch k starts only once every resource placed in the batches before it has
//! finished and their hosts passed the health check (`gate`, `health`).
//!
//! Edges across hosts may point against that order: on the f3s cluster the standby f1 copies
//! keys and certificates made on the master f0, and f0 copies f1's keys. Refusing such an
//! inventory would make rollouts useless for the pair they are for; waiting would deadlock.
//! So a resource that an earlier batch needs (through any chain of edges) runs *early*, with
//! the earliest batch that needs it, and the plan names it. A resource that another rollout
//! needs runs with its own rollout's first batch, so the gates of two rollouts never wait on
//! each other.
//!
//! Why that cannot deadlock: each host starts its resources in order of *wave*, then plan
//! order. A resource's wave sums, over the rollouts, the latest batch it waits for (its own
//! place, or through its dependencies); a resource placed in batch b has wave b, as all it
//! needs from other rollouts runs in their first batch (wave 0 there). Take the unfinished
//! resource with the least (wave, plan position): what it depends on has no greater wave and
//! an earlier position, so it finished; nothing is ahead of it on its host; and if it waits
//! for batch b of its rollout, everything placed before b has a smaller wave, so it finished,
//! and the health checks of those batches run, opening the gate or stopping the rollout.

pub mod gate;
pub mod halt;
pub mod health;

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::graph::ResourceGraph;
use crate::host_plan::{Action, HostPlan, Unreached};
use crate::inventory::Inventory;
use crate::resource::Address;

/// A rollout as this run applies it.
#[derive(Debug, Serialize, Deserialize)]
pub struct PlannedRollout {
    pub group: String,
    /// The hosts in scope (planned, or not reached), batch by batch; a batch with none of them
    /// is left out.
    pub batches: Vec<Vec<String>>,
    /// The health command, as shown (withheld if it quotes a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
    /// Changes on a later batch's host that run with an earlier batch, which needs them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub early: Vec<EarlyResource>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct EarlyResource {
    pub address: Address,
    /// The batch it runs with, counted from 1.
    pub batch: usize,
    /// What in that batch needs it (directly).
    pub needed_by: Address,
}

/// The inventory's rollouts over the hosts in scope, with the changes that run early.
pub fn planned(
    inventory: &Inventory,
    graph: &ResourceGraph,
    hosts: &[HostPlan],
    unreached: &[Unreached],
) -> Vec<PlannedRollout> {
    let in_scope = |host: &String| {
        hosts.iter().any(|h| h.name == *host) || unreached.iter().any(|u| u.host == *host)
    };
    let mut rollouts: Vec<PlannedRollout> = inventory
        .rollouts
        .iter()
        .map(|rollout| PlannedRollout {
            group: rollout.group.clone(),
            batches: rollout
                .batches
                .iter()
                .map(|batch| batch.iter().filter(|h| in_scope(h)).cloned().collect())
                .filter(|batch: &Vec<String>| !batch.is_empty())
                .collect(),
            health: rollout
                .health
                .as_deref()
                .map(|command| crate::sensitive::quoted(command).to_string()),
            early: Vec::new(),
        })
        .filter(|rollout| !rollout.batches.is_empty())
        .collect();
    if rollouts.is_empty() {
        return rollouts;
    }
    let actions: HashMap<usize, Action> = hosts
        .iter()
        .flat_map(|host| &host.resources)
        .filter_map(|planned| Some((graph.index_of(&planned.address)?, planned.action)))
        .collect();
    let schedule = Schedule::new(graph, &rollouts, &actions.keys().copied().collect());
    for &(i, needed_by) in &schedule.early {
        if actions.get(&i) == Some(&Action::Unchanged) {
            continue; // nothing runs: no need to mention it
        }
        let Some((rollout, batch)) = schedule.place(i) else {
            continue;
        };
        rollouts[rollout].early.push(EarlyResource {
            address: graph.resources[i].address.clone(),
            batch: batch + 1,
            needed_by: graph.resources[needed_by].address.clone(),
        });
    }
    rollouts
}

/// Where each planned resource runs in the rollouts (see the module comment).
#[derive(Default)]
pub struct Schedule {
    /// Each planned resource on a rollout's host: the rollout and the batch it runs with.
    places: HashMap<usize, (usize, usize)>,
    /// Each planned resource's wave.
    waves: HashMap<usize, usize>,
    /// Resources running with an earlier batch than their host's, each with the resource
    /// that pulled it there.
    early: Vec<(usize, usize)>,
}

impl Schedule {
    pub fn new(
        graph: &ResourceGraph,
        rollouts: &[PlannedRollout],
        planned: &HashSet<usize>,
    ) -> Self {
        if rollouts.is_empty() {
            return Self::default();
        }
        let host_place: HashMap<&str, (usize, usize)> = rollouts
            .iter()
            .enumerate()
            .flat_map(|(r, rollout)| {
                rollout
                    .batches
                    .iter()
                    .enumerate()
                    .flat_map(move |(b, batch)| {
                        batch.iter().map(move |host| (host.as_str(), (r, b)))
                    })
            })
            .collect();
        let order: Vec<usize> = graph
            .order
            .iter()
            .copied()
            .filter(|i| planned.contains(i))
            .collect();
        let own = |i: usize| host_place.get(graph.resources[i].address.host());
        // `need[i][r]`: the earliest batch of rollout r that needs resource i (itself, or
        // anything depending on it); usize::MAX for none. Dependents come first in reverse
        // topological order, so each is final when passed on.
        let mut need: HashMap<usize, Vec<usize>> = order
            .iter()
            .map(|&i| {
                let mut row = vec![usize::MAX; rollouts.len()];
                if let Some(&(r, b)) = own(i) {
                    row[r] = b;
                }
                (i, row)
            })
            .collect();
        let mut pulled_by: HashMap<usize, usize> = HashMap::new();
        for &i in order.iter().rev() {
            let row = need[&i].clone();
            let home = own(i).map(|&(r, _)| r);
            for dependency in graph.dependencies(i).filter(|d| planned.contains(d)) {
                let dependency_home = own(dependency).map(|&(r, _)| r);
                let Some(their) = need.get_mut(&dependency) else {
                    continue;
                };
                for (r, slot) in their.iter_mut().enumerate() {
                    // What another rollout needs runs with the first batch of this one.
                    let wanted = match home {
                        Some(home) if home != r => 0,
                        _ => row[r],
                    };
                    if wanted < *slot {
                        *slot = wanted;
                        if dependency_home == Some(r) {
                            pulled_by.insert(dependency, i);
                        }
                    }
                }
            }
        }
        let mut places = HashMap::new();
        let mut early = Vec::new();
        for &i in &order {
            if let Some(&(r, b)) = own(i) {
                let batch = need[&i][r];
                places.insert(i, (r, batch));
                if batch < b
                    && let Some(&by) = pulled_by.get(&i)
                {
                    early.push((i, by));
                }
            }
        }
        // `waits[i][r]`: the latest batch of rollout r that resource i waits for, itself or
        // through its dependencies; in topological order, dependencies first.
        let mut waits: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut waves = HashMap::new();
        for &i in &order {
            let mut row = vec![0; rollouts.len()];
            if let Some(&(r, b)) = places.get(&i) {
                row[r] = b;
            }
            for dependency in graph.dependencies(i) {
                if let Some(theirs) = waits.get(&dependency) {
                    for (mine, theirs) in row.iter_mut().zip(theirs) {
                        *mine = (*mine).max(*theirs);
                    }
                }
            }
            waves.insert(i, row.iter().sum());
            waits.insert(i, row);
        }
        Self {
            places,
            waves,
            early,
        }
    }

    /// The rollout and batch resource `i` runs with, if its host is in a rollout.
    pub fn place(&self, i: usize) -> Option<(usize, usize)> {
        self.places.get(&i).copied()
    }

    pub fn wave(&self, i: usize) -> usize {
        self.waves.get(&i).copied().unwrap_or(0)
    }

    /// Every placed resource, with its place.
    fn places(&self) -> impl Iterator<Item = (usize, (usize, usize))> + '_ {
        self.places.iter().map(|(&i, &place)| (i, place))
    }
}
