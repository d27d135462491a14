//! What a plan says of one host: its resources in apply order, each with its action, its
//! changes (a unified diff where the content may be shown) and its operations; and the hosts
//! it could not reach.

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::diff;
use crate::inventory::host::OsFamily;
use crate::op::Op;
use crate::resource::{Address, AttributeChange, ContentChange, Decision};
use crate::sensitive::{self, Digest, Observed};
use crate::text_store;
use crate::transport::TransportError;

#[derive(Debug, Serialize, Deserialize)]
pub struct Unreached {
    pub host: String,
    /// Why, in words (the error names the host and what failed), as every channel shows it:
    /// withheld when it quotes a secret (a host's stderr or answer may echo one).
    pub error: String,
    /// The same, as the diagnostic to report (withheld as it is printed); `None` in a plan
    /// read back from its file.
    #[serde(skip)]
    pub cause: Option<TransportError>,
}

impl Unreached {
    pub fn new(host: String, cause: TransportError) -> Self {
        let words = cause.to_string();
        let error = match sensitive::quotable(&words) {
            Some(_) => words,
            None => format!("{host}: not reached; {}", sensitive::WITHHELD),
        };
        Self {
            host,
            error,
            cause: Some(cause),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct HostPlan {
    pub name: String,
    pub os: OsFamily,
    pub address: String,
    /// Digest of the observed state, so `apply` can tell whether the host drifted since.
    pub observed: Digest,
    /// Whether the observed state holds hidden values: then `observed` is only comparable
    /// with a later run's under a persistent digest key.
    #[serde(skip)]
    pub observed_hidden: bool,
    /// In apply order.
    pub resources: Vec<PlannedResource>,
    /// Temporary files an interrupted write left on the host (`HostState::leftovers`),
    /// which apply removes before it changes anything else.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leftovers: Vec<String>,
    /// What the host's record says f3s manages there that has left the inventory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_longer_managed: Vec<NoLongerManaged>,
    /// Why the host's record cannot be used, where it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_problem: Option<String>,
    /// The record's text as read (`None` where apply never wrote one), for apply to bring up
    /// to date; kept as a text is (a long one in the run's text store) rather than parsed.
    #[serde(skip)]
    pub record: Option<crate::sensitive::PlainText>,
}

/// A resource the host's record says f3s manages there, which has left the inventory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NoLongerManaged {
    /// `kind:name` on its host.
    pub address: String,
    pub fate: Fate,
}

/// What becomes of a resource that left the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fate {
    /// Left on the host as it is; `--prune` removes it.
    Kept,
    /// Of a kind f3s never removes (a dataset, a pool, a key): left on the host; `--prune`
    /// forgets it.
    NeverRemoved,
    /// Removed by this plan (`--prune`): it is among the host's resources.
    Removed,
    /// Forgotten by this plan (`--prune`): left on the host, no longer recorded.
    Forgotten,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Change,
    Refresh,
    /// Takes the resource away (what a file held is kept as a backup).
    Remove,
    /// Would discard data; refused at apply unless allowed by name.
    Destructive,
    Unchanged,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PlannedResource {
    pub address: Address,
    pub module: Arc<str>,
    pub action: Action,
    // Lists without slack, and the rare parts behind one pointer: a plan holds a
    // `PlannedResource` for every resource, changed or not.
    #[serde(default, skip_serializing_if = "<[_]>::is_empty")]
    pub changes: Box<[AttributeChange]>,
    /// Beside the changes rather than behind a pointer: most changed files have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    diff: Option<DiffText>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    shown: Option<Box<Shown>>,
    #[serde(default, skip_serializing_if = "<[_]>::is_empty")]
    pub operations: Box<[Op]>,
}

/// What a plan shows of a resource beyond its changes and diff, where there is any.
#[derive(Debug, Serialize, Deserialize)]
struct Shown {
    /// Lines of the host's file the new content drops, where both sides can be read.
    #[serde(default, skip_serializing_if = "is_zero")]
    removes_lines: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh: Option<RefreshNote>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

/// A diff's text: a long one (a new file's whole content, say: 2,000 of them a host) kept in
/// the run's text store rather than in memory, as the contents it shows are.
#[derive(Debug)]
enum DiffText {
    Held(Box<str>),
    Stored(text_store::Stored),
}

impl DiffText {
    /// Long diffs of text that holds no secret go to the store (the diff of a secret's file is
    /// never made: its sides are masked).
    const STORE_FROM: usize = 512;

    fn new(text: String) -> Self {
        if text.len() >= Self::STORE_FROM
            && let Some(stored) = text_store::put(text.as_bytes())
        {
            return Self::Stored(stored);
        }
        Self::Held(text.into_boxed_str())
    }

    fn text(&self) -> Cow<'_, str> {
        match self {
            Self::Held(text) => Cow::Borrowed(text),
            Self::Stored(stored) => {
                Cow::Owned(String::from_utf8_lossy(&text_store::get(*stored)).into_owned())
            }
        }
    }
}

impl Serialize for DiffText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text())
    }
}

impl<'de> Deserialize<'de> for DiffText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(DiffText::new)
    }
}

impl PlannedResource {
    pub fn diff(&self) -> Option<Cow<'_, str>> {
        self.diff.as_ref().map(DiffText::text)
    }

    pub fn refresh(&self) -> Option<&RefreshNote> {
        self.shown.as_ref()?.refresh.as_ref()
    }

    pub fn note(&self) -> Option<&str> {
        self.shown.as_ref()?.note.as_deref()
    }

    /// How many lines the host's file has that its new content drops (`diff::removed_lines`).
    pub fn removes_lines(&self) -> usize {
        self.shown.as_ref().map_or(0, |shown| shown.removes_lines)
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RefreshNote {
    pub triggered_by: Vec<Address>,
    /// Why no refresh runs although something notified it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

impl PlannedResource {
    /// A resource's part of the plan: its action follows from the decision and the operations
    /// that will run (a refresh's among them).
    pub fn new(
        address: Address,
        module: &Arc<str>,
        decision: Decision,
        operations: Vec<Op>,
        refresh: Option<RefreshNote>,
    ) -> PlannedResource {
        let action = if operations.iter().any(Op::is_destructive) {
            Action::Destructive
        } else if decision.creates && !decision.ops.is_empty() {
            Action::Create
        } else if decision.removes && !decision.ops.is_empty() {
            Action::Remove
        } else if !decision.ops.is_empty() {
            Action::Change
        } else if !operations.is_empty() {
            Action::Refresh
        } else {
            Action::Unchanged
        };
        let mut changes = decision.changes;
        let (diff, removes_lines) = decision
            .content
            .map_or((None, 0), |content| content_diff(content, &mut changes));
        let note = decision.note;
        let shown = (removes_lines > 0 || refresh.is_some() || note.is_some()).then(|| {
            Box::new(Shown {
                removes_lines,
                refresh,
                note,
            })
        });
        PlannedResource {
            address,
            module: Arc::clone(module),
            action,
            changes: changes.into_boxed_slice(),
            diff: diff.map(DiffText::new),
            shown,
            operations: operations.into_boxed_slice(),
        }
    }
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

/// A unified diff where both sides can be shown, with the lines of the host's file it drops;
/// otherwise a masked content change (a side that is not read has no loss counted).
fn content_diff(
    content: ContentChange,
    changes: &mut Vec<AttributeChange>,
) -> (Option<String>, usize) {
    let ContentChange {
        path,
        before,
        after,
    } = content;
    // A side that may not be shown (hidden, holding a secret, not known yet) masks both.
    match (before.as_ref().map(Observed::plain), after.plain()) {
        (None, Some(shown_after)) => (Some(diff::unified(&path, None, &shown_after).text), 0),
        (Some(Some(shown_before)), Some(shown_after)) => {
            let diff = diff::unified(&path, Some(&shown_before), &shown_after);
            (Some(diff.text), diff.removed_lines)
        }
        _ => {
            let before = before.map_or_else(|| "(absent)".to_string(), |b| b.summary());
            changes.insert(0, AttributeChange::new("content", before, after.summary()));
            (None, 0)
        }
    }
}
