//! Which resources a command works on: all, those of `--host`, or `--target` addresses with
//! everything they depend on (as Terraform's `-target` does).

use crate::compile_error::{CompileError, CompileErrors};
use crate::compile_error_kind::CompileErrorKind;
use crate::graph::ResourceGraph;
use crate::inventory::Inventory;
use crate::resource::Address;

/// An error for each of `hosts` that the inventory does not declare.
pub fn unknown_hosts(inventory: &Inventory, hosts: &[String]) -> Vec<CompileError> {
    hosts
        .iter()
        .filter(|host| inventory.host(host).is_none())
        .map(|host| {
            CompileError::unplaced(CompileErrorKind::UnknownHost {
                name: host.clone(),
                known: inventory.host_names(),
            })
        })
        .collect()
}

/// `selected[i]` says whether resource `i` is in scope.
pub fn select(
    graph: &ResourceGraph,
    inventory: &Inventory,
    hosts: &[String],
    targets: &[String],
) -> Result<Vec<bool>, CompileErrors> {
    let mut errors = unknown_hosts(inventory, hosts);
    let mut wanted: Vec<usize> = Vec::new();
    for target in targets {
        match Address::parse(target, None).and_then(|address| graph.index_of(&address)) {
            Some(i) => wanted.push(i),
            None => errors.push(CompileError::unplaced(CompileErrorKind::UnknownResource {
                reference: target.clone(),
            })),
        }
    }
    if !errors.is_empty() {
        return Err(CompileErrors(errors));
    }
    let in_hosts =
        |i: usize| hosts.is_empty() || hosts.iter().any(|h| h == graph.resources[i].address.host());
    if targets.is_empty() {
        return Ok((0..graph.resources.len()).map(in_hosts).collect());
    }
    let mut selected = vec![false; graph.resources.len()];
    while let Some(i) = wanted.pop() {
        if !selected[i] {
            selected[i] = true;
            wanted.extend(graph.dependencies(i));
        }
    }
    Ok(selected
        .into_iter()
        .enumerate()
        .map(|(i, chosen)| chosen && in_hosts(i))
        .collect())
}
