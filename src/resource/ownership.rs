//! Mode, owner and group as a resource asks for them: each optional, defaulting to root's on
//! creation and left alone on an existing path when not asked for. Each is held shared
//! (`interned.rs`): thousands of resources ask for the same few.

use std::sync::Arc;

use super::kind::AttributeChange;
use crate::host_state::Ownership;
use crate::interned::intern;
use crate::inventory::host::OsFamily;
use crate::module::attrs::Attrs;
use crate::names::NameKind;

pub const ATTRIBUTES: &[&str] = &["mode", "owner", "group"];

#[derive(Debug, Clone, Default)]
pub struct Wanted {
    pub mode: Option<Arc<str>>,
    pub owner: Option<Arc<str>>,
    pub group: Option<Arc<str>>,
}

impl Wanted {
    pub fn parse(attrs: &mut Attrs) -> Self {
        Self {
            mode: attrs
                .mode("mode")
                .map(|mode| intern(&normalize_mode(&mode))),
            owner: attrs
                .name("owner", NameKind::User)
                .map(|owner| intern(&owner)),
            group: attrs
                .name("group", NameKind::User)
                .map(|group| intern(&group)),
        }
    }

    /// Ownership of a path about to be created.
    pub fn for_new(&self, default_mode: &str, os: OsFamily) -> Ownership {
        Ownership {
            mode: self.mode.clone().unwrap_or_else(|| intern(default_mode)),
            owner: self.owner.clone().unwrap_or_else(|| intern("root")),
            group: self
                .group
                .clone()
                .unwrap_or_else(|| intern(os.root_group())),
        }
    }

    /// Ownership of an existing path once converged.
    pub fn applied_to(&self, current: &Ownership) -> Ownership {
        Ownership {
            mode: self
                .mode
                .clone()
                .unwrap_or_else(|| intern(&normalize_mode(&current.mode))),
            owner: self
                .owner
                .clone()
                .unwrap_or_else(|| Arc::clone(&current.owner)),
            group: self
                .group
                .clone()
                .unwrap_or_else(|| Arc::clone(&current.group)),
        }
    }

    /// What would change on an existing path; nothing is allocated where nothing does.
    pub fn changes(&self, current: &Ownership) -> Vec<AttributeChange> {
        let mut changes = Vec::new();
        let same_mode =
            |mode: &&str| mode.trim_start_matches('0') == current.mode.trim_start_matches('0');
        if let Some(mode) = self.mode.as_deref().filter(|mode| !same_mode(mode)) {
            changes.push(AttributeChange::observed(
                "mode",
                &normalize_mode(&current.mode),
                mode,
            ));
        }
        for (name, wanted, current) in [
            ("owner", &self.owner, &current.owner),
            ("group", &self.group, &current.group),
        ] {
            if let Some(wanted) = wanted.as_deref().filter(|wanted| *wanted != &**current) {
                changes.push(AttributeChange::observed(name, current, wanted));
            }
        }
        changes
    }
}

/// The changes that show a new path's ownership.
pub fn created(ownership: &Ownership) -> Vec<AttributeChange> {
    vec![
        AttributeChange::new("mode", "(absent)", &*ownership.mode),
        AttributeChange::new(
            "owner",
            "(absent)",
            format!("{}:{}", ownership.owner, ownership.group),
        ),
    ]
}

/// "644" and "0644" are the same mode; plans show four digits.
pub fn normalize_mode(mode: &str) -> String {
    format!("{:0>4}", mode.trim_start_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(mode: &str, owner: &str, group: &str) -> Ownership {
        Ownership {
            mode: mode.into(),
            owner: owner.into(),
            group: group.into(),
        }
    }

    #[test]
    fn unasked_attributes_are_left_alone() {
        let wanted = Wanted {
            mode: Some(intern("0400")),
            ..Wanted::default()
        };
        let changes = wanted.changes(&owned("644", "paul", "staff"));
        assert_eq!(changes, vec![AttributeChange::new("mode", "0644", "0400")]);
        assert!(wanted.changes(&owned("0400", "paul", "staff")).is_empty());
    }

    /// A host may answer anything for an owner, a secret's value too.
    #[test]
    fn an_owner_the_host_names_with_a_secret_is_withheld() {
        crate::sensitive::install(Some(b"test-digest-key-not-real"), ["s3cr3t".to_string()]);
        let wanted = Wanted {
            owner: Some(intern("root")),
            ..Wanted::default()
        };
        let changes = wanted.changes(&owned("0644", "x-s3cr3t", "wheel"));
        assert_eq!(
            changes,
            vec![AttributeChange::new(
                "owner",
                crate::sensitive::WITHHELD,
                "root"
            )]
        );
        let changes = wanted.changes(&owned("0644", "paul", "wheel"));
        assert_eq!(changes, vec![AttributeChange::new("owner", "paul", "root")]);
    }

    #[test]
    fn new_paths_default_to_root() {
        let ownership = Wanted::default().for_new("0644", OsFamily::Freebsd);
        assert_eq!(ownership, owned("0644", "root", "wheel"));
    }
}
