//! What left the inventory. Each host keeps a record of what f3s manages there
//! (`managed.rs`); an entry no resource of the inventory has any more is "no longer managed".
//! A plan lists such entries; with `--prune` it plans their removal as resources of their own,
//! added to the graph after the inventory's. (After an apply, `record.rs` brings the record
//! up to date.)

use std::sync::Arc;

use crate::graph::ResourceGraph;
pub use crate::host_plan::{Fate, NoLongerManaged};
use crate::host_state::HostState;
use crate::inventory::host::OsFamily;
use crate::managed::{self, Entry, Record};
use crate::resource::{Address, Reference, Resource, Spec};
use crate::sensitive::{Observed, PlainText};
use crate::source::{Origin, SourceFile};

/// The module name the plan shows for a removal of what left the inventory.
pub const NO_LONGER_MANAGED: &str = "(no longer managed)";

/// A host's record as observed: the record (`None` where apply never wrote one) with its text,
/// or why it cannot be used (then nothing on the host counts as no longer managed).
pub struct RecordRead {
    pub record: Option<(Record, PlainText)>,
    pub problem: Option<String>,
}

/// The record's text as a source of diagnostics, named `host:path`; made only where an entry
/// is wrong, as it copies the text.
pub fn source(host: &str, os: OsFamily, text: &PlainText) -> Arc<SourceFile> {
    SourceFile::new(
        format!("{host}:{}", managed::path(os)),
        text.as_str().into_owned(),
    )
}

/// Reads the record out of a host's observed state.
pub fn read(os: OsFamily, state: &HostState) -> RecordRead {
    let path = managed::path(os);
    let unusable = |why: String| RecordRead {
        record: None,
        problem: Some(format!(
            "{path} cannot be used ({why}); nothing counts as no longer managed"
        )),
    };
    match state.files.get(path).map(|file| &file.content) {
        None => RecordRead {
            record: None,
            problem: None,
        },
        Some(Observed::Plain(text)) => match Record::parse(&text.as_str()) {
            Ok(record) => RecordRead {
                record: Some((record, text.clone())),
                problem: None,
            },
            Err(why) => unusable(why),
        },
        Some(_) => unusable("it is not plain text".into()),
    }
}

/// The record's entries that no resource of the inventory has any more.
pub fn left_inventory<'r>(record: &'r Record, host: &str, graph: &ResourceGraph) -> Vec<&'r Entry> {
    record
        .entries
        .iter()
        .filter(|entry| {
            graph
                .index_of(&Address::new(host, &entry.kind, &entry.name))
                .is_none()
        })
        .collect()
}

/// What the plan says of each entry that left the inventory, and, where `prune` asks for it,
/// the resources removing those f3s removes: a directory's removal after the removals of
/// what is in it. An entry that breaks its kind's rules is an error: the record was not
/// written by f3s, and nothing is pruned on the strength of it.
pub fn removals(
    host: &str,
    entries: &[&Entry],
    file: &Arc<SourceFile>,
    prune: bool,
) -> Result<(Vec<NoLongerManaged>, Vec<Resource>), String> {
    let module: Arc<str> = Arc::from(NO_LONGER_MANAGED);
    let mut listed = Vec::new();
    let mut removing: Vec<(Resource, Option<String>)> = Vec::new();
    for entry in entries {
        let spec = Spec::removing(entry)?;
        let fate = match (&spec, prune) {
            (None, true) => Fate::Forgotten,
            (None, false) => Fate::NeverRemoved,
            (Some(_), false) => Fate::Kept,
            (Some(_), true) => Fate::Removed,
        };
        listed.push(NoLongerManaged {
            address: entry.local(),
            fate,
        });
        let (Some(spec), true) = (spec, prune) else {
            continue;
        };
        let origin = Origin::at_line(file, entry.line, 1);
        let path = entry.path.clone().or_else(|| {
            matches!(entry.kind.as_str(), "file" | "directory" | "mount")
                .then(|| entry.name.clone())
        });
        let address = Address::new(host, &entry.kind, &entry.name);
        let resource = Resource::new(
            address,
            spec,
            module.clone(),
            origin,
            Vec::new(),
            Vec::new(),
            None,
        );
        removing.push((resource, path));
    }
    let resources = removing
        .iter()
        .map(|(resource, _)| {
            let Spec::Directory(directory) = &resource.spec else {
                return resource.clone();
            };
            // What is in it, or mounted on it, goes first.
            let inside = format!("{}/", directory.path.trim_end_matches('/'));
            let requires: Vec<Reference> = removing
                .iter()
                .filter(|(other, path)| {
                    other.address != resource.address
                        && path.as_ref().is_some_and(|path| {
                            path.starts_with(&inside) || *path == directory.path
                        })
                })
                .map(|(other, _)| Reference {
                    address: other.address.clone(),
                    origin: resource.origin.clone(),
                })
                .collect();
            Resource::new(
                resource.address.clone(),
                resource.spec.clone(),
                module.clone(),
                resource.origin.clone(),
                requires,
                Vec::new(),
                None,
            )
        })
        .collect();
    Ok((listed, resources))
}
