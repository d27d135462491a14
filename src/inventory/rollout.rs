//! A group's rollout: the order in which `apply` converges the group's hosts, batch after
//! batch (the standby of an HA pair, then its master), with a health command that must pass
//! on every host of a batch before the next batch starts.
//!
//! ```yaml
//! groups:
//!   nfs-servers:
//!     hosts: [f0, f1]
//!     rollout:
//!       batches: [[f1], [f0]]
//!       health: service nfsd onestatus
//! ```
//!
//! Every host of the group is in exactly one batch, and a host is in at most one rollout, so
//! each host has one place in one order. What the order means at apply time is
//! `crate::rollout`'s business.

use std::sync::Arc;

use serde_saphyr::Spanned;

use crate::compile_error::CompileError;
use crate::compile_error_kind::CompileErrorKind;
use crate::inventory::raw::RawGroup;
use crate::source::{Origin, SourceFile};
use crate::yaml::{SpannedMap, origin_of};

#[derive(Debug, Clone)]
pub struct Rollout {
    /// The group whose hosts it orders.
    pub group: String,
    /// Host names, batch by batch.
    pub batches: Vec<Vec<String>>,
    /// A shell command run as root (with the host's `become`) on each host of a batch once the
    /// batch has converged; it passes when it exits 0.
    pub health: Option<String>,
}

/// The rollouts of `groups`, in file order, each checked against its group; faults go to
/// `errors`, at the place in the file to fix.
pub(super) fn rollouts(
    file: &Arc<SourceFile>,
    groups: &SpannedMap<RawGroup>,
    errors: &mut Vec<CompileError>,
) -> Vec<Rollout> {
    // Every host placed so far, with where: a host has one place in one rollout.
    let mut placed: Vec<(String, String, Origin)> = Vec::new();
    let mut rollouts = Vec::new();
    for (group, body) in groups.iter() {
        let Some(raw) = &body.rollout else {
            continue;
        };
        let group = &group.value;
        let mut batches = Vec::new();
        for (number, batch) in raw.batches.value.iter().enumerate() {
            if batch.value.is_empty() {
                let kind = CompileErrorKind::WrongType {
                    expected: "a list of host names".into(),
                    found: "an empty batch".into(),
                };
                errors.push(CompileError::new(kind, &origin_of(file, batch), "empty"));
            }
            for member in &batch.value {
                place(file, group, number, member, body, &mut placed, errors);
            }
            batches.push(
                batch
                    .value
                    .iter()
                    .map(|m| m.value.clone())
                    .collect::<Vec<_>>(),
            );
        }
        let batches_origin = origin_of(file, &raw.batches);
        for member in &body.hosts {
            if !batches.iter().flatten().any(|host| *host == member.value) {
                let kind = CompileErrorKind::RolloutMissing {
                    host: member.value.clone(),
                    group: group.clone(),
                };
                let label = format!("`{}` is in none of these batches", member.value);
                errors.push(
                    CompileError::new(kind, &batches_origin, label)
                        .with_also(&origin_of(file, member), "a host of the group"),
                );
            }
        }
        let health = raw.health.as_ref().and_then(|health| {
            if health.value.trim().is_empty() {
                let kind = CompileErrorKind::WrongType {
                    expected: "a shell command".into(),
                    found: "an empty string".into(),
                };
                errors.push(CompileError::new(kind, &origin_of(file, health), "empty"));
                return None;
            }
            Some(health.value.clone())
        });
        rollouts.push(Rollout {
            group: group.clone(),
            batches,
            health,
        });
    }
    rollouts
}

/// Places `member` in batch `number` of `group`'s rollout: it must be a host of the group,
/// and not placed already (in this rollout or another).
fn place(
    file: &Arc<SourceFile>,
    group: &str,
    number: usize,
    member: &Spanned<String>,
    body: &RawGroup,
    placed: &mut Vec<(String, String, Origin)>,
    errors: &mut Vec<CompileError>,
) {
    let origin = origin_of(file, member);
    if !body.hosts.iter().any(|host| host.value == member.value) {
        let kind = CompileErrorKind::RolloutStranger {
            host: member.value.clone(),
            group: group.to_string(),
        };
        errors.push(CompileError::new(kind, &origin, "not in this group"));
        return;
    }
    if let Some((_, first, at)) = placed.iter().find(|(host, _, _)| *host == member.value) {
        let kind = CompileErrorKind::RolloutTwice {
            host: member.value.clone(),
            first: first.clone(),
        };
        errors.push(CompileError::new(kind, &origin, "placed again").with_also(at, "placed first"));
        return;
    }
    let first = format!("batch {} of group `{group}`", number + 1);
    placed.push((member.value.clone(), first, origin));
}
