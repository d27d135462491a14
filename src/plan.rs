//! Planning: observe every host in scope (in parallel, one observation each), then walk the
//! graph in apply order, letting each resource decide against the state predicted so far,
//! and collect what would run. The plan is data; `render` turns it into text or JSON.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::graph::ResourceGraph;
pub use crate::host_plan::{
    Action, Fate, HostPlan, NoLongerManaged, PlannedResource, RefreshNote, Unreached,
};
use crate::host_state::HostState;
use crate::inventory::Inventory;
use crate::inventory::host::Host;
use crate::managed;
use crate::plan_error::PlanError;
use crate::probe::{self, Probe, Reveal};
use crate::resource::{Address, Resource, View};
use crate::rollout::PlannedRollout;
use crate::sensitive::{Digest, PlainText};
use crate::transport::{Transport, TransportError};

/// Version of the JSON plan format; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub inventory: String,
    pub hosts: Vec<HostPlan>,
    /// Hosts that could not be reached, locked or observed: nothing is planned for them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreached: Vec<Unreached>,
    /// Resources left out because they depend on an unreached host, or need a secret that has
    /// no value in this run (directly or through what they depend on).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedResource>,
    /// The inventory's rollouts over the hosts in scope: the order `apply` goes in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rollouts: Vec<PlannedRollout>,
    pub summary: Summary,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SkippedResource {
    pub address: Address,
    pub because: Blocker,
}

/// Why a resource cannot be planned in this run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Blocker {
    /// It is on, or depends on, a host that was not reached.
    UnreachedHost(String),
    /// Its values (or those of what it depends on) are rendered from a secret without a value.
    MissingSecret(String),
}

impl std::fmt::Display for Blocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnreachedHost(host) => write!(f, "depends on {host}, not reached"),
            Self::MissingSecret(name) => write!(f, "needs secret `{name}`, which has no value"),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Summary {
    pub create: usize,
    pub change: usize,
    pub refresh: usize,
    /// Resources taken away (`state: absent`, or pruned).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub remove: usize,
    pub destructive: usize,
    pub unchanged: usize,
    /// Changes that drop lines a host's file has (counted among the changes too).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub remove_lines: usize,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

impl Plan {
    /// Whether every host in scope was reached (else the run fails, after doing the rest).
    pub fn is_complete(&self) -> bool {
        self.unreached.is_empty()
    }

    /// The secrets without a value that left resources out of this plan.
    pub fn missing_secrets(&self) -> BTreeSet<&str> {
        self.skipped
            .iter()
            .filter_map(|skipped| match &skipped.because {
                Blocker::MissingSecret(name) => Some(name.as_str()),
                Blocker::UnreachedHost(_) => None,
            })
            .collect()
    }

    pub fn has_changes(&self) -> bool {
        self.summary
            != Summary {
                unchanged: self.summary.unchanged,
                remove_lines: self.summary.remove_lines,
                ..Summary::default()
            }
            || self.hosts.iter().any(|host| !host.leftovers.is_empty())
    }
}

/// Plans the resources `selected`. A host in `unreached` (it could not be locked, say), or one
/// that cannot be observed, is left out with everything that depends on it; the rest is
/// planned all the same.
///
/// Each host's record of what f3s manages there (`prune.rs`) is read in the same
/// observation; what left the inventory is listed, and with `prune` its removal is planned:
/// the removals join `graph` (so apply finds them), and the hosts they are on are observed
/// once more, for what the removals ask.
pub fn plan(
    inventory: &Inventory,
    graph: &mut ResourceGraph,
    selected: &[bool],
    transport: &dyn Transport,
    mut unreached: BTreeMap<String, TransportError>,
    prune: bool,
) -> Result<Plan, Vec<PlanError>> {
    let mut selected: Vec<bool> = selected.to_vec();
    let selected_order = |graph: &ResourceGraph, selected: &[bool]| -> Vec<usize> {
        graph
            .order
            .iter()
            .copied()
            .filter(|&i| selected[i])
            .collect()
    };
    let reachable: Vec<usize> = selected_order(graph, &selected)
        .into_iter()
        .filter(|&i| !unreached.contains_key(graph.resources[i].address.host()))
        .collect();
    let mut probes = probes_by_host(inventory, graph, &reachable);
    with_records(inventory, &mut probes);
    // What each host was seen holding, summed up in its observer thread (a copy of every
    // state would double what the plan holds; the walk takes the states over).
    let (answered, failures) = observe_then(inventory, probes, transport, |state| {
        (state.fingerprint(), state.holds_hidden())
    });
    let mut observed = BTreeMap::new();
    let mut seen: BTreeMap<String, (Digest, bool)> = BTreeMap::new();
    for (host, (state, summary)) in answered {
        seen.insert(host.clone(), summary);
        observed.insert(host, state);
    }
    unreached.extend(failures);
    let mut records = read_records(inventory, graph, &observed, prune)?;
    let removals: Vec<Resource> = records
        .values_mut()
        .flat_map(|record| std::mem::take(&mut record.removals))
        .collect();
    if !removals.is_empty() {
        let added = graph.extend(removals, inventory).map_err(|errors| {
            errors
                .0
                .into_iter()
                .map(|error| PlanError::Prune {
                    reason: error.to_string(),
                })
                .collect::<Vec<_>>()
        })?;
        selected.resize(added.end, true);
        // The hosts with removals observed again, whole, with what the removals ask.
        let hosts: BTreeSet<&str> = graph.resources[added]
            .iter()
            .map(|resource| resource.address.host())
            .collect();
        let again: Vec<usize> = selected_order(graph, &selected)
            .into_iter()
            .filter(|&i| hosts.contains(graph.resources[i].address.host()))
            .collect();
        let mut probes = probes_by_host(inventory, graph, &again);
        probes.retain(|host, _| hosts.contains(host.as_str()));
        with_records(inventory, &mut probes);
        let (answered, failures) = observe_then(inventory, probes, transport, |state| {
            (state.fingerprint(), state.holds_hidden())
        });
        for (host, (state, summary)) in answered {
            seen.insert(host.clone(), summary);
            observed.insert(host, state);
        }
        unreached.extend(failures);
    }
    let reachable: Vec<usize> = selected_order(graph, &selected)
        .into_iter()
        .filter(|&i| !unreached.contains_key(graph.resources[i].address.host()))
        .collect();
    let graph: &ResourceGraph = graph;
    let (in_scope, skipped) = reachable_part(graph, &reachable, &unreached);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    // Each host's list made as long as it will be, rather than grown by doubling.
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for &i in &in_scope {
        *counts.entry(graph.resources[i].address.host()).or_default() += 1;
    }
    let mut walk = Walk {
        graph,
        now,
        predicted: observed,
        pending: BTreeSet::new(),
        notified: BTreeMap::new(),
        planned: counts
            .into_iter()
            .map(|(host, count)| (host.to_string(), Vec::with_capacity(count)))
            .collect(),
        errors: Vec::new(),
    };
    let mut released = released_after(graph, &in_scope);
    let mut leftovers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (position, &i) in in_scope.iter().enumerate() {
        walk.resource(inventory, i);
        for host in released.remove(&position).unwrap_or_default() {
            if let Some(state) = walk.predicted.remove(&host) {
                leftovers.insert(host, state.leftovers);
            }
        }
    }
    for (host, state) in std::mem::take(&mut walk.predicted) {
        leftovers.insert(host, state.leftovers);
    }
    if !walk.errors.is_empty() {
        return Err(walk.errors);
    }
    let mut summary = Summary::default();
    let mut hosts = Vec::new();
    for host in &inventory.hosts {
        let Some(resources) = walk.planned.remove(&host.name) else {
            continue;
        };
        for resource in &resources {
            if resource.removes_lines() > 0 {
                summary.remove_lines += 1;
            }
            *match resource.action {
                Action::Create => &mut summary.create,
                Action::Change => &mut summary.change,
                Action::Refresh => &mut summary.refresh,
                Action::Remove => &mut summary.remove,
                Action::Destructive => &mut summary.destructive,
                Action::Unchanged => &mut summary.unchanged,
            } += 1;
        }
        let (observed, observed_hidden) = seen[&host.name].clone();
        let leftovers = leftovers
            .remove(&host.name)
            .map(|left| left.into_iter().collect())
            .unwrap_or_default();
        let record = records.remove(&host.name).unwrap_or_default();
        hosts.push(HostPlan {
            name: host.name.clone(),
            os: host.os,
            address: host.address.clone(),
            observed,
            observed_hidden,
            resources,
            leftovers,
            no_longer_managed: record.listed,
            record_problem: record.problem,
            record: record.record,
        });
    }
    let unreached: Vec<Unreached> = unreached
        .into_iter()
        .map(|(host, cause)| Unreached::new(host, cause))
        .collect();
    Ok(Plan {
        format_version: FORMAT_VERSION,
        inventory: inventory.path.display().to_string(),
        rollouts: crate::rollout::planned(inventory, graph, &hosts, &unreached),
        hosts,
        unreached,
        skipped,
        summary,
    })
}

/// What a host's record says, as the plan uses it.
#[derive(Default)]
struct HostRecord {
    /// The record's text, parsed again by apply (parsed, 24 hosts' records of 4,000 entries
    /// would be held through the whole run: ~30 MB).
    record: Option<PlainText>,
    problem: Option<String>,
    listed: Vec<NoLongerManaged>,
    /// The removals `--prune` plans, not yet in the graph.
    removals: Vec<Resource>,
}

/// Adds to each host's probes the read of its record.
pub fn with_records(inventory: &Inventory, probes: &mut BTreeMap<String, Vec<Probe>>) {
    for (host, asked) in probes.iter_mut() {
        if let Some(host) = inventory.host(host) {
            asked.push(Probe::Path {
                path: managed::path(host.os).to_string(),
                reveal: Reveal::Text,
            });
            *asked = probe::merge(std::mem::take(asked));
        }
    }
}

/// Each observed host's record, what in it left the inventory and, with `prune`, the
/// removals of that. A record that breaks the rules with an entry `prune` would act on is an
/// error; otherwise an unusable record is a note of the host's plan.
fn read_records(
    inventory: &Inventory,
    graph: &ResourceGraph,
    observed: &BTreeMap<String, HostState>,
    prune: bool,
) -> Result<BTreeMap<String, HostRecord>, Vec<PlanError>> {
    let mut records = BTreeMap::new();
    let mut errors = Vec::new();
    for (name, state) in observed {
        let Some(host) = inventory.host(name) else {
            continue;
        };
        let read = crate::prune::read(host.os, state);
        let mut record = HostRecord {
            problem: read.problem,
            ..HostRecord::default()
        };
        if let Some((read, text)) = read.record {
            let left = crate::prune::left_inventory(&read, name, graph);
            let removals = if left.is_empty() {
                Ok((Vec::new(), Vec::new()))
            } else {
                let file = crate::prune::source(name, host.os, &text);
                crate::prune::removals(name, &left, &file, prune)
            };
            match removals {
                Ok((listed, removals)) => {
                    record.listed = listed;
                    record.removals = removals;
                }
                Err(reason) if prune => errors.push(PlanError::Record {
                    host: name.clone(),
                    reason,
                }),
                Err(reason) => {
                    record.problem = Some(format!(
                        "{} cannot be used ({reason}); nothing counts as no longer managed",
                        managed::path(host.os)
                    ));
                }
            }
            record.record = Some(text);
        }
        records.insert(name.clone(), record);
    }
    if errors.is_empty() {
        Ok(records)
    } else {
        Err(errors)
    }
}

/// The resources (in order) that can be planned: none on an `unreached` host, none needing a
/// secret without a value, and none that depends on either (through an edge, or a copy's
/// source), directly or not. Those on reached hosts are returned as skipped, with why.
fn reachable_part(
    graph: &ResourceGraph,
    order: &[usize],
    unreached: &BTreeMap<String, TransportError>,
) -> (Vec<usize>, Vec<SkippedResource>) {
    let mut blocked: BTreeMap<usize, Blocker> = BTreeMap::new();
    let mut in_scope = Vec::new();
    let mut skipped = Vec::new();
    for &i in order {
        let resource = &graph.resources[i];
        let host = resource.address.host();
        if unreached.contains_key(host) {
            blocked.insert(i, Blocker::UnreachedHost(host.to_string()));
            continue;
        }
        let own = || {
            resource
                .needs_secret()
                .map(|name| Blocker::MissingSecret(name.into()))
        };
        let through_edge = || {
            graph
                .dependencies(i)
                .find_map(|dependency| blocked.get(&dependency).cloned())
        };
        let through_copy = || {
            resource
                .spec
                .kind()
                .remote_probes()
                .into_iter()
                .map(|(source, _)| source)
                .find(|source| unreached.contains_key(source))
                .map(Blocker::UnreachedHost)
        };
        match own().or_else(through_edge).or_else(through_copy) {
            Some(because) => {
                blocked.insert(i, because.clone());
                skipped.push(SkippedResource {
                    address: resource.address.clone(),
                    because,
                });
            }
            None => in_scope.push(i),
        }
    }
    (in_scope, skipped)
}

/// What to ask each host: the probes of the resources in scope on it, and of copies elsewhere
/// whose source it holds; merged, so each thing is read once.
pub fn probes_by_host(
    inventory: &Inventory,
    graph: &ResourceGraph,
    in_scope: &[usize],
) -> BTreeMap<String, Vec<Probe>> {
    let mut probes: BTreeMap<String, Vec<Probe>> = BTreeMap::new();
    for &i in in_scope {
        let resource = &graph.resources[i];
        let kind = resource.spec.kind();
        probes
            .entry(resource.address.host().to_string())
            .or_default()
            .extend(kind.probes());
        for (host, probe) in kind.remote_probes() {
            if inventory.host(&host).is_some() {
                probes.entry(host).or_default().push(probe);
            }
        }
    }
    probes
        .into_iter()
        .map(|(host, probes)| (host, probe::merge(probes)))
        .collect()
}

/// Each host's probes (hosts not in `probes` are left alone), asked of the transport in
/// parallel, one observation per host; the states of the hosts that answered, and why the
/// others did not.
pub fn observe(
    inventory: &Inventory,
    probes: BTreeMap<String, Vec<Probe>>,
    transport: &dyn Transport,
) -> (
    BTreeMap<String, HostState>,
    BTreeMap<String, TransportError>,
) {
    let (states, failures) = observe_then(inventory, probes, transport, |_| ());
    let states = states
        .into_iter()
        .map(|(host, (state, ()))| (host, state))
        .collect();
    (states, failures)
}

/// As `observe`, with `then` run on each state in its host's thread as soon as it is read,
/// while other hosts may still be answering.
fn observe_then<T: Send>(
    inventory: &Inventory,
    mut probes: BTreeMap<String, Vec<Probe>>,
    transport: &dyn Transport,
    then: impl Fn(&HostState) -> T + Sync,
) -> (
    BTreeMap<String, (HostState, T)>,
    BTreeMap<String, TransportError>,
) {
    let jobs: Vec<(&Host, Vec<Probe>)> = inventory
        .hosts
        .iter()
        .filter_map(|host| Some((host, probes.remove(&host.name)?)))
        .collect();
    let then = &then;
    let answers: Vec<_> = std::thread::scope(|scope| {
        let running: Vec<_> = jobs
            .iter()
            .map(|(host, probes)| {
                scope.spawn(move || {
                    let answer = transport.observe(host, probes).map(|state| {
                        let more = then(&state);
                        (state, more)
                    });
                    (host.name.clone(), answer)
                })
            })
            .collect();
        running
            .into_iter()
            .map(|job| job.join().expect("observer thread panicked"))
            .collect()
    });
    let mut states = BTreeMap::new();
    let mut failures = BTreeMap::new();
    for (host, answer) in answers {
        match answer {
            Ok(state) => {
                states.insert(host, state);
            }
            Err(error) => {
                failures.insert(host, error);
            }
        }
    }
    (states, failures)
}

/// After which resource (its position in `order`) each host's predicted state is read for the
/// last time: its own last resource's, or a later one's elsewhere that reads it (a copy, a
/// secret's peers, CARP's members). The walk lets go of the state then: 24 hosts' states of
/// 4,000 resources each would otherwise all be held until the plan is made.
fn released_after(graph: &ResourceGraph, order: &[usize]) -> BTreeMap<usize, Vec<String>> {
    let mut last_read: BTreeMap<String, usize> = BTreeMap::new();
    let mut read_at = |host: &str, position: usize| match last_read.get_mut(host) {
        Some(last) => *last = position,
        None => {
            last_read.insert(host.to_string(), position);
        }
    };
    let mut every_host_until = None;
    for (position, &i) in order.iter().enumerate() {
        let resource = &graph.resources[i];
        let kind = resource.spec.kind();
        read_at(resource.address.host(), position);
        for (host, _) in kind.remote_probes() {
            read_at(&host, position);
        }
        if kind.reads_every_host() {
            every_host_until = Some(position);
        }
    }
    let mut released: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (host, position) in last_read {
        let position = every_host_until.map_or(position, |every| every.max(position));
        released.entry(position).or_default().push(host);
    }
    released
}

struct Walk<'a> {
    graph: &'a ResourceGraph,
    now: i64,
    predicted: BTreeMap<String, HostState>,
    /// `(host, path)` whose content this plan changes.
    pending: BTreeSet<(String, String)>,
    /// Resource index → the resources that notified it.
    notified: BTreeMap<usize, Vec<Address>>,
    planned: BTreeMap<String, Vec<PlannedResource>>,
    errors: Vec<PlanError>,
}

impl Walk<'_> {
    fn resource(&mut self, inventory: &Inventory, i: usize) {
        let graph = self.graph;
        let resource = &graph.resources[i];
        let host = resource.address.host();
        let Some(os) = inventory.host(host).map(|h| h.os) else {
            return;
        };
        let kind = resource.spec.kind();
        let view = View {
            os,
            now: self.now,
            state: &self.predicted[host],
            hosts: &self.predicted,
            pending: &self.pending,
        };
        let decision = match kind.decide(&view) {
            Ok(decision) => decision,
            Err(reason) => {
                self.errors.push(PlanError::undecidable(
                    resource.address.to_string(),
                    reason,
                    &resource.origin,
                ));
                return;
            }
        };
        let refresh = self.notified.remove(&i).map(|triggered_by| {
            let outcome = kind.refresh(&view, &decision);
            (triggered_by, outcome)
        });
        let mut operations = decision.ops.clone();
        let refresh_note = refresh.map(|(triggered_by, outcome)| match outcome {
            Ok(op) => {
                operations.push(op);
                RefreshNote {
                    triggered_by,
                    skipped: None,
                }
            }
            Err(reason) => RefreshNote {
                triggered_by,
                skipped: Some(reason),
            },
        });
        let state = self.predicted.get_mut(host).expect("observed host");
        for op in &operations {
            crate::prediction::apply(state, op);
        }
        if !decision.ops.is_empty() {
            for path in kind.paths() {
                self.pending.insert((host.to_string(), path));
            }
            for target in graph.notified(i) {
                self.notified
                    .entry(target)
                    .or_default()
                    .push(resource.address.clone());
            }
        }
        let planned = PlannedResource::new(
            resource.address.clone(),
            &resource.module,
            decision,
            operations,
            refresh_note,
        );
        self.planned
            .entry(host.to_string())
            .or_default()
            .push(planned);
    }
}
