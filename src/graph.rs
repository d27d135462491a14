//! The resource graph of all hosts: edges from `requires` and `notify`, and implied ones (a
//! path needs its managed parent directory, a service its package, a copy its source on
//! another host, edits of one file go in declaration order). A cycle is a diagnostic naming
//! every member; the apply order is a topological order, stable from run to run.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::fmt::Write as _;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::compile_error::{CompileError, CompileErrors};
use crate::compile_error_kind::CompileErrorKind;
use crate::inventory::Inventory;
use crate::names::parent_dir;
use crate::resource::{Address, Claim, Implied, Resource, Spec};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    Requires,
    Notify,
    Implied,
}

pub struct ResourceGraph {
    pub resources: Vec<Resource>,
    /// Node `i` is `resources[i]`; an edge runs from what is needed to what needs it.
    graph: DiGraph<usize, Edge>,
    /// Topological order; ties broken by declaration order.
    pub order: Vec<usize>,
    index: AddressIndex,
}

/// The resources' indices sorted by address text, for finding one by its address: eight bytes
/// a resource, where a map would keep a copy of every address.
#[derive(Default)]
struct AddressIndex(Vec<usize>);

impl AddressIndex {
    /// The index of the first resource at each address; the later ones, as `(later, first)`.
    fn build(resources: &[Resource]) -> (Self, Vec<(usize, usize)>) {
        let mut sorted: Vec<usize> = (0..resources.len()).collect();
        // Stable: of resources at one address, the first declared comes first.
        sorted.sort_by(|a, b| {
            resources[*a]
                .address
                .as_str()
                .cmp(resources[*b].address.as_str())
        });
        let mut duplicates = Vec::new();
        sorted.dedup_by(|later, first| {
            let same = resources[*later].address == resources[*first].address;
            if same {
                duplicates.push((*later, *first));
            }
            same
        });
        duplicates.sort_unstable();
        (Self(sorted), duplicates)
    }

    fn get(&self, resources: &[Resource], address: &Address) -> Option<usize> {
        self.find(resources, &[address.as_str()])
    }

    /// The resource whose address text is `parts` joined: `[host, "/", kind, ":", name]`
    /// finds one without building its address.
    fn find(&self, resources: &[Resource], parts: &[&str]) -> Option<usize> {
        self.0
            .binary_search_by(|i| cmp_joined(resources[*i].address.as_str(), parts))
            .ok()
            .map(|at| self.0[at])
    }

    fn find_local(
        &self,
        resources: &[Resource],
        host: &str,
        kind: &str,
        name: &str,
    ) -> Option<usize> {
        self.find(resources, &[host, "/", kind, ":", name])
    }
}

/// `text` compared with the concatenation of `parts`.
fn cmp_joined(text: &str, parts: &[&str]) -> std::cmp::Ordering {
    let mut rest = text.as_bytes();
    for part in parts {
        let part = part.as_bytes();
        let n = part.len().min(rest.len());
        match rest[..n].cmp(&part[..n]) {
            std::cmp::Ordering::Equal if n < part.len() => return std::cmp::Ordering::Less,
            std::cmp::Ordering::Equal => rest = &rest[n..],
            unequal => return unequal,
        }
    }
    if rest.is_empty() {
        std::cmp::Ordering::Equal
    } else {
        std::cmp::Ordering::Greater
    }
}

impl ResourceGraph {
    pub fn build(resources: Vec<Resource>, inventory: &Inventory) -> Result<Self, CompileErrors> {
        let (index, duplicates) = AddressIndex::build(&resources);
        // About one implied edge a resource (its parent directory); made that long at once
        // rather than grown by doubling, and trimmed once built.
        let mut builder = Builder {
            graph: DiGraph::with_capacity(resources.len(), resources.len()),
            index,
            errors: Vec::new(),
        };
        for i in 0..resources.len() {
            builder.graph.add_node(i);
        }
        for (later, first) in duplicates {
            let (resource, first) = (&resources[later], &resources[first]);
            let kind = CompileErrorKind::DuplicateResource {
                address: resource.address.to_string(),
                first: first.origin.describe(),
            };
            builder
                .errors
                .push(CompileError::new(kind, &resource.origin, "declared again"));
        }
        for (i, resource) in resources.iter().enumerate() {
            builder.explicit(&resources, i, resource, inventory);
            builder.implied(&resources, i, resource, inventory);
        }
        builder.claims(&resources);
        builder.cycles(&resources);
        if !builder.errors.is_empty() {
            return Err(CompileErrors(builder.errors));
        }
        let order = topological(&builder.graph);
        builder.graph.shrink_to_fit();
        Ok(Self {
            resources,
            graph: builder.graph,
            order,
            index: builder.index,
        })
    }

    /// Adds `more` resources (the removals of a prune) and builds the graph anew; their
    /// indices are returned. On an error the graph stays as it was.
    pub fn extend(
        &mut self,
        more: Vec<Resource>,
        inventory: &Inventory,
    ) -> Result<std::ops::Range<usize>, CompileErrors> {
        let start = self.resources.len();
        let mut resources = self.resources.clone();
        resources.extend(more);
        let end = resources.len();
        *self = Self::build(resources, inventory)?;
        Ok(start..end)
    }

    pub fn index_of(&self, address: &Address) -> Option<usize> {
        self.index.get(&self.resources, address)
    }

    /// What must finish before `i` starts, directly: what it requires or implies, and what
    /// notifies it (a service refreshes after its new configuration is in place).
    pub fn dependencies(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.graph
            .neighbors_directed(NodeIndex::new(i), petgraph::Direction::Incoming)
            .map(NodeIndex::index)
    }

    /// The services `i` notifies when it changes.
    pub fn notified(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.graph
            .edges_directed(NodeIndex::new(i), petgraph::Direction::Outgoing)
            .filter(|edge| *edge.weight() == Edge::Notify)
            .map(|edge| edge.target().index())
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// Graphviz DOT, one cluster per host, for the resources `keep` accepts.
    pub fn dot(&self, keep: impl Fn(&Resource) -> bool) -> String {
        let mut hosts: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        let mut host_order: Vec<&str> = Vec::new();
        for (i, resource) in self.resources.iter().enumerate().filter(|(_, r)| keep(r)) {
            let host = resource.address.host();
            if !hosts.contains_key(host) {
                host_order.push(host);
            }
            hosts.entry(host).or_default().push(i);
        }
        let mut out = String::from(
            "digraph f3s {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n",
        );
        for (n, host) in host_order.iter().enumerate() {
            let _ = writeln!(out, "  subgraph cluster_{n} {{\n    label={};", quote(host));
            for &i in &hosts[host] {
                let address = &self.resources[i].address;
                let _ = writeln!(
                    out,
                    "    {} [label={}];",
                    quote(&address.to_string()),
                    quote(&address.local())
                );
            }
            out.push_str("  }\n");
        }
        let mut edges: Vec<_> = self
            .graph
            .edge_references()
            .map(|edge| (edge.source().index(), edge.target().index(), *edge.weight()))
            .filter(|(from, to, _)| keep(&self.resources[*from]) && keep(&self.resources[*to]))
            .collect();
        edges.sort_by_key(|(from, to, kind)| (*from, *to, *kind as u8));
        edges.dedup();
        for (from, to, kind) in edges {
            let style = match kind {
                Edge::Requires => "",
                Edge::Notify => " [style=dashed, label=\"notify\"]",
                Edge::Implied => " [style=dotted]",
            };
            let from = quote(&self.resources[from].address.to_string());
            let to = quote(&self.resources[to].address.to_string());
            let _ = writeln!(out, "  {from} -> {to}{style};");
        }
        out.push_str("}\n");
        out
    }
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

struct Builder {
    graph: DiGraph<usize, Edge>,
    index: AddressIndex,
    errors: Vec<CompileError>,
}

impl Builder {
    /// Whether `host`, which `resource` names, is in the inventory; an error labelled
    /// `label` where it is not.
    fn host_known(
        &mut self,
        inventory: &Inventory,
        host: &str,
        resource: &Resource,
        label: &str,
    ) -> bool {
        let known = inventory.host(host).is_some();
        if !known {
            let error = CompileErrorKind::UnknownHost {
                name: host.to_string(),
                known: inventory.host_names(),
            };
            self.errors
                .push(CompileError::new(error, &resource.origin, label));
        }
        known
    }

    fn edge(&mut self, from: usize, to: usize, kind: Edge) {
        self.graph
            .add_edge(NodeIndex::new(from), NodeIndex::new(to), kind);
    }

    fn explicit(
        &mut self,
        resources: &[Resource],
        i: usize,
        resource: &Resource,
        inventory: &Inventory,
    ) {
        let references = resource
            .requires()
            .iter()
            .map(|r| (r, Edge::Requires))
            .chain(resource.notify().iter().map(|r| (r, Edge::Notify)));
        for (reference, kind) in references {
            let Some(target) = self.index.get(resources, &reference.address) else {
                let error = if inventory.host(reference.address.host()).is_none() {
                    CompileErrorKind::UnknownHost {
                        name: reference.address.host().to_string(),
                        known: inventory.host_names(),
                    }
                } else {
                    CompileErrorKind::UnknownResource {
                        reference: reference.address.to_string(),
                    }
                };
                self.errors.push(CompileError::new(
                    error,
                    &reference.origin,
                    "not declared anywhere",
                ));
                continue;
            };
            match kind {
                Edge::Notify if !matches!(resources[target].spec, Spec::Service(_)) => {
                    let error = CompileErrorKind::WrongType {
                        expected: "a service to notify".into(),
                        found: format!("`{}`", reference.address),
                    };
                    self.errors.push(CompileError::new(
                        error,
                        &reference.origin,
                        "only services refresh",
                    ));
                }
                Edge::Notify => self.edge(i, target, Edge::Notify),
                _ => self.edge(target, i, Edge::Requires),
            }
        }
    }

    fn implied(
        &mut self,
        resources: &[Resource],
        i: usize,
        resource: &Resource,
        inventory: &Inventory,
    ) {
        let host = resource.address.host();
        for implied in resource.spec.kind().implied() {
            match implied {
                Implied::ParentOf(path) => {
                    let mut dir = parent_dir(&path);
                    while let Some(candidate) = dir {
                        if let Some(parent) =
                            self.index
                                .find_local(resources, host, "directory", candidate)
                        {
                            self.edge(parent, i, Edge::Implied);
                            break;
                        }
                        dir = parent_dir(candidate);
                    }
                }
                Implied::Local { kind, name } => {
                    if let Some(needed) = self.index.find_local(resources, host, kind, &name) {
                        self.edge(needed, i, Edge::Implied);
                    }
                }
                Implied::Remote {
                    host: other,
                    kind,
                    name,
                } => {
                    if !self.host_known(inventory, &other, resource, "comes after it") {
                        continue;
                    }
                    if let Some(needed) = self.index.find_local(resources, &other, kind, &name) {
                        self.edge(needed, i, Edge::Implied);
                    }
                }
                Implied::RemotePath {
                    host: source_host,
                    path,
                } => {
                    if !self.host_known(inventory, &source_host, resource, "copies from it") {
                        continue;
                    }
                    let sources: Vec<usize> = resources
                        .iter()
                        .enumerate()
                        .filter(|(_, other)| {
                            other.address.host() == source_host
                                && other.spec.kind().paths().contains(&path)
                        })
                        .map(|(j, _)| j)
                        .collect();
                    for source in sources {
                        self.edge(source, i, Edge::Implied);
                    }
                }
            }
        }
    }

    /// Orders all resources touching one file's content, and rejects a whole-file resource
    /// that also has edits.
    fn claims(&mut self, resources: &[Resource]) {
        // The claiming resources sorted by host and path, then declaration: no path is copied.
        let claim = |i: usize| resources[i].spec.kind().claim();
        let key = |i: usize| (resources[i].address.host(), claim(i).map(|c| c.path()), i);
        let mut claiming: Vec<usize> = (0..resources.len())
            .filter(|&i| claim(i).is_some())
            .collect();
        claiming.sort_unstable_by(|a, b| key(*a).cmp(&key(*b)));
        for group in claiming.chunk_by(|a, b| key(*a).0 == key(*b).0 && key(*a).1 == key(*b).1) {
            let claims: Vec<(usize, Claim)> =
                group.iter().filter_map(|&i| Some((i, claim(i)?))).collect();
            let whole = claims
                .iter()
                .find(|(_, claim)| matches!(claim, Claim::Whole(_)));
            let edits: Vec<usize> = claims
                .iter()
                .filter(|(_, claim)| matches!(claim, Claim::Edit(_)))
                .map(|(i, _)| *i)
                .collect();
            if let (Some((owner, claim)), Some(&other)) = (whole, edits.first()) {
                let error = CompileErrorKind::ContentConflict {
                    path: claim.path().to_string(),
                    owner: resources[*owner].address.to_string(),
                    other: resources[other].address.to_string(),
                };
                let place = &resources[other].origin;
                let error = CompileError::new(error, place, "edits it")
                    .with_also(&resources[*owner].origin, "whole file");
                self.errors.push(error);
                continue;
            }
            let exists = claims
                .iter()
                .find(|(_, claim)| matches!(claim, Claim::Exists(_)))
                .map(|(i, _)| *i);
            let chain: Vec<usize> = exists.into_iter().chain(edits).collect();
            for pair in chain.windows(2) {
                self.edge(pair[0], pair[1], Edge::Implied);
            }
        }
    }

    fn cycles(&mut self, resources: &[Resource]) {
        for component in tarjan_scc(&self.graph) {
            let looped =
                component.len() == 1 && self.graph.contains_edge(component[0], component[0]);
            if component.len() < 2 && !looped {
                continue;
            }
            let members = cycle_path(&self.graph, &component);
            let names: Vec<String> = members
                .iter()
                .chain(members.first())
                .map(|i| resources[*i].address.to_string())
                .collect();
            let first = &resources[members[0]];
            let mut error = CompileError::new(
                CompileErrorKind::Cycle { members: names },
                &first.origin,
                "in the cycle",
            );
            for &i in &members[1..] {
                error = error.with_also(
                    &resources[i].origin,
                    format!("{} is in the cycle", resources[i].address),
                );
            }
            self.errors.push(error);
        }
    }
}

/// One cycle through the earliest-declared member of a strongly connected component, in the
/// order the edges run (shortest way back, found breadth first), so the message reads as the
/// cycle it is.
fn cycle_path(graph: &DiGraph<usize, Edge>, component: &[NodeIndex]) -> Vec<usize> {
    let start = *component.iter().min().unwrap_or(&component[0]);
    let mut came_from: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    'search: while let Some(node) = queue.pop_front() {
        let mut next: Vec<NodeIndex> = graph
            .neighbors_directed(node, petgraph::Direction::Outgoing)
            .filter(|n| component.contains(n))
            .collect();
        next.sort();
        for n in next {
            if n == start {
                came_from.insert(start, node);
                break 'search;
            }
            if let std::collections::hash_map::Entry::Vacant(entry) = came_from.entry(n) {
                entry.insert(node);
                queue.push_back(n);
            }
        }
    }
    let mut path = Vec::new();
    let mut node = came_from.get(&start).copied().unwrap_or(start);
    while node != start {
        path.push(node.index());
        node = came_from[&node];
    }
    path.push(start.index());
    path.reverse();
    path
}

/// Kahn's algorithm, always taking the earliest-declared ready resource.
fn topological(graph: &DiGraph<usize, Edge>) -> Vec<usize> {
    let mut incoming: Vec<usize> = graph
        .node_indices()
        .map(|n| {
            graph
                .neighbors_directed(n, petgraph::Direction::Incoming)
                .count()
        })
        .collect();
    let mut ready: BinaryHeap<Reverse<usize>> = incoming
        .iter()
        .enumerate()
        .filter(|(_, count)| **count == 0)
        .map(|(i, _)| Reverse(i))
        .collect();
    let mut order = Vec::with_capacity(incoming.len());
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for next in graph.neighbors_directed(NodeIndex::new(i), petgraph::Direction::Outgoing) {
            incoming[next.index()] -= 1;
            if incoming[next.index()] == 0 {
                ready.push(Reverse(next.index()));
            }
        }
    }
    order
}
