//! Mode, owner and group as a resource asks for them: each optional, defaulting to root's on
//! creation and left alone on an existing path when not asked for.

use crate::host_state::Ownership;
use crate::inventory::host::OsFamily;
use crate::module::attrs::Attrs;
use crate::names::NameKind;
use crate::resource::AttributeChange;

pub const ATTRIBUTES: &[&str] = &["mode", "owner", "group"];

#[derive(Debug, Clone, Default)]
pub struct Wanted {
    pub mode: Option<String>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

impl Wanted {
    pub fn parse(attrs: &mut Attrs) -> Self {
        Self {
            mode: attrs.mode("mode").map(|mode| normalize_mode(&mode)),
            owner: attrs.name("owner", NameKind::User),
            group: attrs.name("group", NameKind::User),
        }
    }

    /// Ownership of a path about to be created.
    pub fn for_new(&self, default_mode: &str, os: OsFamily) -> Ownership {
        Ownership {
            mode: self.mode.clone().unwrap_or_else(|| default_mode.into()),
            owner: self.owner.clone().unwrap_or_else(|| "root".into()),
            group: self.group.clone().unwrap_or_else(|| os.root_group().into()),
        }
    }

    /// Ownership of an existing path once converged.
    pub fn applied_to(&self, current: &Ownership) -> Ownership {
        Ownership {
            mode: self
                .mode
                .clone()
                .unwrap_or_else(|| normalize_mode(&current.mode)),
            owner: self.owner.clone().unwrap_or_else(|| current.owner.clone()),
            group: self.group.clone().unwrap_or_else(|| current.group.clone()),
        }
    }

    pub fn changes(&self, current: &Ownership) -> Vec<AttributeChange> {
        let target = self.applied_to(current);
        let before = [
            normalize_mode(&current.mode),
            current.owner.clone(),
            current.group.clone(),
        ];
        let after = [target.mode, target.owner, target.group];
        ATTRIBUTES
            .iter()
            .zip(before.into_iter().zip(after))
            .filter(|(_, (before, after))| before != after)
            .map(|(name, (before, after))| AttributeChange::new(name, before, after))
            .collect()
    }
}

/// The changes that show a new path's ownership.
pub fn created(ownership: &Ownership) -> Vec<AttributeChange> {
    vec![
        AttributeChange::new("mode", "(absent)", ownership.mode.clone()),
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
            mode: Some("0400".into()),
            ..Wanted::default()
        };
        let changes = wanted.changes(&owned("644", "paul", "staff"));
        assert_eq!(changes, vec![AttributeChange::new("mode", "0644", "0400")]);
        assert!(wanted.changes(&owned("0400", "paul", "staff")).is_empty());
    }

    #[test]
    fn new_paths_default_to_root() {
        let ownership = Wanted::default().for_new("0644", OsFamily::Freebsd);
        assert_eq!(ownership, owned("0644", "root", "wheel"));
    }
}
