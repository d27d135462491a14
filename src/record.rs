//! A host's record of what f3s manages there (`managed.rs`), brought up to date after an
//! apply from what was planned and how it ended, and the operations writing it.

use std::collections::{BTreeSet, HashMap};

use crate::apply::{Finished, Outcome};
use crate::graph::ResourceGraph;
use crate::host_plan::{Fate, HostPlan};
use crate::host_state::Ownership;
use crate::inventory::host::OsFamily;
use crate::managed::{self, Record};
use crate::names::parent_dir;
use crate::op::Op;
use crate::prune::NO_LONGER_MANAGED;
use crate::resource::Address;
use crate::sensitive::Text;

/// How each resource of an apply ended, by address.
pub type Ended<'r> = HashMap<&'r str, &'r Outcome>;

/// `Ended` of an apply's results, made once for all its hosts (made per host, it was as many
/// copies of every host's results as there are hosts).
pub fn ended(results: &[Finished]) -> Ended<'_> {
    results
        .iter()
        .map(|finished| (finished.address.as_str(), &finished.outcome))
        .collect()
}

/// The record a host keeps after an apply: its planned resources in plan order (but those
/// that are to be absent, and those the apply never started), then the old record's entries
/// no recorded resource has, but for those pruned: removed (as `results` say) or forgotten.
pub fn updated(
    old: Option<&Record>,
    host: &HostPlan,
    graph: &ResourceGraph,
    ended: &Ended,
) -> Record {
    let mut entries = Vec::new();
    let mut planned = BTreeSet::new();
    for resource in &host.resources {
        let address = &resource.address;
        // What a stopped rollout never started (or a failure skipped) is not recorded: a
        // host the rollout did not reach is left byte for byte as it was.
        let untouched = matches!(
            ended.get(address.as_str()),
            Some(Outcome::NotStarted { .. } | Outcome::Skipped { .. })
        );
        if &*resource.module == NO_LONGER_MANAGED || untouched {
            continue;
        }
        planned.insert(address.as_str());
        let recorded = graph.index_of(address).and_then(|index| {
            graph.resources[index]
                .spec
                .recorded(address.kind(), address.name())
        });
        entries.extend(recorded);
    }
    let fate = |local: &str| {
        host.no_longer_managed
            .iter()
            .find(|listed| listed.address == local)
            .map(|listed| listed.fate)
    };
    for entry in old.map_or(&[][..], |record| &record.entries) {
        let address = Address::new(&host.name, &entry.kind, &entry.name);
        let gone = match fate(&entry.local()) {
            Some(Fate::Forgotten) => true,
            Some(Fate::Removed) => matches!(
                ended.get(address.as_str()),
                Some(Outcome::Done { .. } | Outcome::Unchanged)
            ),
            _ => false,
        };
        if !gone && !planned.contains(address.as_str()) {
            entries.push(entry.clone());
        }
    }
    Record { entries }
}

/// The operations writing `record` on a host of `os`: its directory (root's alone) and the
/// file, as every write is made (whole or not at all).
pub fn write_ops(os: OsFamily, record: &Record) -> Vec<Op> {
    let path = managed::path(os);
    let owned = |mode: &str| Ownership {
        mode: mode.into(),
        owner: "root".into(),
        group: os.root_group().into(),
    };
    vec![
        Op::CreateDirectory {
            path: parent_dir(path).unwrap_or("/").to_string(),
            ownership: owned("0700"),
        },
        Op::WriteFile {
            path: path.to_string(),
            content: Text::plain(record.text()),
            ownership: owned("0600"),
            create_only: false,
            validate: None,
        },
    ]
}
