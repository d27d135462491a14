//! The interface every kind implements. A kind is pure: it names the probes it needs, decides
//! from the observed (or predicted) state what must change, and says so as typed operations.
//! It never opens a connection or builds a command line.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::host_state::HostState;
use crate::inventory::host::OsFamily;
use crate::op::Op;
use crate::probe::Probe;
use crate::sensitive::Observed;

/// What a kind sees when it decides: the host's state as it will be when the resource's turn
/// comes, and the other hosts' states for copies.
pub struct View<'a> {
    pub os: OsFamily,
    /// Seconds since the epoch when the plan was made, for certificate expiry.
    pub now: i64,
    pub state: &'a HostState,
    /// Every host's state, of which a kind reads only the hosts its `remote_probes` name, or
    /// all where it `reads_every_host`: the plan lets go of a host's state once nothing left
    /// to decide reads it.
    pub hosts: &'a BTreeMap<String, HostState>,
    /// `(host, path)` of content this plan changes before it is read here.
    pub pending: &'a BTreeSet<(String, String)>,
}

/// One attribute's move, as the plan shows it (sensitive values already masked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeChange {
    pub attribute: Arc<str>,
    pub before: Arc<str>,
    pub after: Arc<str>,
}

/// Values up to this long are shared (`interned`): "(absent)", "0644" and "root:wheel" are
/// said by thousands of new files of a plan, a unique value of that length costs little.
const SHARED_UP_TO: usize = 32;

impl AttributeChange {
    pub fn new(attribute: &str, before: impl AsRef<str>, after: impl AsRef<str>) -> Self {
        let value = |text: &str| {
            if text.len() <= SHARED_UP_TO {
                crate::interned::intern(text)
            } else {
                Arc::from(text)
            }
        };
        Self {
            attribute: crate::interned::intern(attribute),
            before: value(before.as_ref()),
            after: value(after.as_ref()),
        }
    }

    /// A change from a value in the host's own words (an owner, a property, a certificate's
    /// subject): a host can say anything, a secret's value too, so `before` is withheld whole
    /// when it quotes one, on every channel the plan goes to.
    pub fn observed(attribute: &str, before: &str, after: impl AsRef<str>) -> Self {
        Self::new(attribute, crate::sensitive::quoted(before), after)
    }
}

/// A file's content before and after, for a unified diff.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentChange {
    pub path: String,
    pub before: Option<Observed>,
    pub after: Observed,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Decision {
    pub ops: Vec<Op>,
    pub changes: Vec<AttributeChange>,
    pub content: Option<ContentChange>,
    /// The resource does not exist yet.
    pub creates: bool,
    /// The resource is there and goes (`state: absent`, or pruned).
    pub removes: bool,
    /// Something the admin should know that is not a change (what f3s waits for, say).
    pub note: Option<String>,
}

/// Relations a kind implies, resolved into graph edges where the other end is managed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Implied {
    /// The nearest managed directory at or above this path's parent.
    ParentOf(String),
    /// The resource of this kind and name on the same host, if one is managed.
    Local { kind: &'static str, name: String },
    /// Whatever manages this path on another host.
    RemotePath { host: String, path: String },
    /// The resource of this kind and name on another host, if one is managed.
    Remote {
        host: String,
        kind: &'static str,
        name: String,
    },
}

/// How a resource relates to a file's content, for ordering edits and catching conflicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim<'a> {
    /// Sets the whole content.
    Whole(&'a str),
    /// Makes sure the file exists, content left alone.
    Exists(&'a str),
    /// Edits part of the content.
    Edit(&'a str),
}

impl<'a> Claim<'a> {
    pub fn path(&self) -> &'a str {
        match self {
            Self::Whole(path) | Self::Exists(path) | Self::Edit(path) => path,
        }
    }
}

pub trait Kind {
    /// What to read on the resource's own host.
    fn probes(&self) -> Vec<Probe>;

    /// What to read on other hosts, as `(host, probe)`.
    fn remote_probes(&self) -> Vec<(String, Probe)> {
        Vec::new()
    }

    /// Whether deciding reads other hosts' states beyond those `remote_probes` names.
    fn reads_every_host(&self) -> bool {
        false
    }

    /// What must change; `Err` when the plan cannot decide (the message says why).
    fn decide(&self, view: &View) -> Result<Decision, String>;

    fn implied(&self) -> Vec<Implied> {
        Vec::new()
    }

    fn claim(&self) -> Option<Claim<'_>> {
        None
    }

    /// Paths whose content this resource sets, which copies elsewhere may read.
    fn paths(&self) -> Vec<String> {
        self.claim()
            .into_iter()
            .filter(|claim| !matches!(claim, Claim::Exists(_)))
            .map(|claim| claim.path().to_string())
            .collect()
    }

    /// The operation that refreshes the resource after a notifying change, or why none runs.
    fn refresh(&self, _view: &View, _decision: &Decision) -> Result<Op, String> {
        Err("this kind cannot be refreshed".into())
    }
}
