//! `zfs`: a ZFS dataset with its properties. Encryption and key format can only be chosen when
//! a dataset is created, so a dataset found otherwise is reported, never recreated. The key
//! is loaded and the dataset mounted when asked. A dataset something else creates (a zrepl
//! replica) is managed once it exists.

use std::collections::BTreeMap;

use crate::module::attrs::Attrs;
use crate::names::NameKind;
use crate::op::Op;
use crate::probe::Probe;
use crate::resource::{AttributeChange, Decision, Implied, Kind, View};
use crate::values::{self, ValueKind};

pub const ATTRIBUTES: &[&str] = &[
    "encryption",
    "keyformat",
    "keylocation",
    "properties",
    "mounted",
    "create",
];

/// Properties fixed when the dataset is created.
const AT_CREATION: &[&str] = &["encryption", "keyformat"];

#[derive(Debug, Clone)]
pub struct Zfs {
    pub name: String,
    /// Properties to hold: given ones plus encryption, keyformat and keylocation.
    pub properties: BTreeMap<String, String>,
    pub mounted: bool,
    /// Whether f3s creates it, or waits for something else to.
    pub create: bool,
}

impl Zfs {
    pub fn parse(attrs: &mut Attrs) -> Option<(String, Self)> {
        let name = attrs.required_name("zfs", NameKind::Dataset);
        // A property that fails its check is reported, which keeps the resource out.
        let mut properties = BTreeMap::new();
        for key in ["encryption", "keyformat", "keylocation"] {
            let value = attrs.string(key);
            if let Some(value) = value.and_then(|v| values::checked(attrs, v, value_kind(key))) {
                properties.insert(key.to_string(), value);
            }
        }
        for (key, value) in attrs.string_map("properties").unwrap_or_default() {
            // An empty value leaves the property unmanaged (as inherited or set by hand), so
            // a module can offer a property as an optional parameter; ZFS has no empty value
            // for a native property anyway.
            if value.value.is_empty() {
                continue;
            }
            // The key is written as is (never rendered); it points at the mapping.
            if let Some(error) = values::fault(ValueKind::ZfsProperty, &key, false, &value.origin) {
                attrs.errors.push(error);
            } else if let Some(value) = values::checked(attrs, value, value_kind(&key)) {
                properties.insert(key, value);
            }
        }
        let mounted = attrs.bool("mounted").unwrap_or(true);
        let create = attrs.bool("create").unwrap_or(true);
        let name = name?;
        Some((
            name.clone(),
            Self {
                name,
                properties,
                mounted,
                create,
            },
        ))
    }

    fn parent(&self) -> Option<&str> {
        self.name.rsplit_once('/').map(|(parent, _)| parent)
    }
}

/// The rule a property's value follows: paths where ZFS takes paths, one line everywhere.
fn value_kind(property: &str) -> ValueKind {
    match property {
        "mountpoint" => ValueKind::ZfsMountpoint,
        "keylocation" => ValueKind::ZfsKeylocation,
        _ => ValueKind::ZfsValue,
    }
}

/// Whether an observed property value is the wanted one; `encryption=on` means the default
/// cipher, which ZFS reports by name.
fn holds(property: &str, wanted: &str, current: &str) -> bool {
    match (property, wanted) {
        ("encryption", "on") => current != "off",
        _ => current == wanted,
    }
}

impl Kind for Zfs {
    fn probes(&self) -> Vec<Probe> {
        let mut properties: Vec<String> = self.properties.keys().cloned().collect();
        properties.extend(["keystatus".into(), "mounted".into(), "encryption".into()]);
        properties.sort();
        properties.dedup();
        vec![Probe::Dataset {
            name: self.name.clone(),
            properties,
        }]
    }

    fn decide(&self, view: &View) -> Result<Decision, String> {
        let mut decision = Decision::default();
        let Some(current) = view.state.datasets.get(&self.name) else {
            if !self.create {
                decision.note = Some(format!(
                    "{} does not exist yet; it is created by replication, and managed here once it is",
                    self.name
                ));
                return Ok(decision);
            }
            decision.ops.push(Op::CreateDataset {
                name: self.name.clone(),
                properties: self.properties.clone(),
            });
            decision.changes = self
                .properties
                .iter()
                .map(|(key, value)| AttributeChange::new(key, "", value))
                .collect();
            decision.creates = true;
            return Ok(decision);
        };
        let value = |key: &str| current.properties.get(key).map(String::as_str);
        for &key in AT_CREATION {
            let (Some(wanted), Some(found)) = (self.properties.get(key), value(key)) else {
                continue;
            };
            if !holds(key, wanted, found) {
                return Err(format!(
                    "{} exists with {key}={found}, not {wanted}. {key} is chosen when a dataset \
                     is created, and f3s does not destroy data to change it: create a new \
                     dataset with {key}={wanted}, move the data over (zfs send | zfs receive), \
                     then rename it into place",
                    self.name
                ));
            }
        }
        for (key, wanted) in &self.properties {
            if AT_CREATION.contains(&key.as_str()) {
                continue;
            }
            let found = value(key).unwrap_or("(unknown)");
            if !holds(key, wanted, found) {
                decision
                    .changes
                    .push(AttributeChange::new(key, found, wanted));
                decision.ops.push(Op::SetDatasetProperty {
                    name: self.name.clone(),
                    property: key.clone(),
                    value: wanted.clone(),
                });
            }
        }
        // A key not loaded (a received replica, say) is loaded from the keylocation set above.
        if value("keystatus") == Some("unavailable") {
            decision.changes.push(AttributeChange::new(
                "keystatus",
                "unavailable",
                "available",
            ));
            decision.ops.push(Op::LoadKey {
                dataset: self.name.clone(),
            });
        }
        if self.mounted && value("mounted") == Some("no") {
            decision
                .changes
                .push(AttributeChange::new("mounted", "no", "yes"));
            decision.ops.push(Op::MountDataset {
                dataset: self.name.clone(),
            });
        }
        Ok(decision)
    }

    fn implied(&self) -> Vec<Implied> {
        let mut implied = Vec::new();
        if let Some(parent) = self.parent() {
            for kind in ["zfs", "zpool"] {
                implied.push(Implied::Local {
                    kind,
                    name: parent.to_string(),
                });
            }
        }
        if let Some(key) = self
            .properties
            .get("keylocation")
            .and_then(|location| location.strip_prefix("file://"))
        {
            for kind in ["secret", "file"] {
                implied.push(Implied::Local {
                    kind,
                    name: key.to_string(),
                });
            }
        }
        implied
    }
}
