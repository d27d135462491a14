//! `zfs`: a ZFS dataset with its properties. Encryption and key format can only be chosen when
//! a dataset is created, so a dataset found otherwise is reported, never recreated. The key
//! is loaded and the dataset mounted when asked. A dataset something else creates (a zrepl
//! replica) is managed once it exists.

use std::collections::BTreeMap;

use super::kind::{AttributeChange, Decision, Implied, Kind, View};
use crate::compile_error::CompileError;
use crate::compile_error_kind::CompileErrorKind;
use crate::inventory::host::OsFamily;
use crate::module::attrs::{Attrs, Rendered};
use crate::names::NameKind;
use crate::op::Op;
use crate::probe::Probe;
use crate::values::ValueKind;
use crate::zfs_property::{self, OpenZfs, Platform};

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
    /// Properties to hold, by the name `zfs get` prints (`compression` for `compress`), with
    /// the value as written (`10G`): given ones plus encryption, keyformat and keylocation.
    pub properties: BTreeMap<String, String>,
    pub mounted: Mounting,
    /// Whether f3s creates it, or waits for something else to.
    pub create: bool,
}

/// Whether f3s mounts the dataset. `zfs mount` refuses a dataset whose mountpoint is
/// `legacy` or `none` or whose canmount is `off`, and `zfs mount -a` (boot) also skips
/// canmount=noauto (cmd/zfs/zfs_main.c, share_mount_one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mounting {
    /// `mounted` not given: mounted where ZFS mounts it at boot, so a legacy, `none`,
    /// canmount=off or canmount=noauto dataset is left unmounted.
    AsAtBoot,
    /// `mounted: true`: mounted as `zfs mount` does, canmount=noauto included; where zfs
    /// cannot mount it, the plan says why.
    Yes,
    /// `mounted: false`: f3s neither mounts nor unmounts it.
    Untouched,
}

impl Zfs {
    pub fn parse(attrs: &mut Attrs) -> Option<(String, Self)> {
        let name = attrs.required_name("zfs", NameKind::Dataset);
        // A property that fails its check is reported, which keeps the resource out.
        let mut properties = BTreeMap::new();
        for key in ["encryption", "keyformat", "keylocation"] {
            if let Some(value) = attrs.string(key) {
                hold(attrs, &mut properties, key, value);
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
            if let Some(error) =
                CompileError::for_value(ValueKind::ZfsProperty, &key, false, &value.origin)
            {
                attrs.errors.push(error);
            } else {
                hold(attrs, &mut properties, &key, value);
            }
        }
        let mounted = match attrs.bool("mounted") {
            None => Mounting::AsAtBoot,
            Some(true) => Mounting::Yes,
            Some(false) => Mounting::Untouched,
        };
        if mounted == Mounting::Yes
            && let Some(reason) = unmountable(&properties)
        {
            let kind = CompileErrorKind::ConflictingAttributes {
                kind: "zfs".into(),
                names: vec!["mounted: true".into(), reason],
            };
            attrs.errors.push(CompileError::new(
                kind,
                &attrs.origin,
                "zfs mount refuses such a dataset",
            ));
        }
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

    /// Whether the dataset should be mounted, given its properties as they will be (`value`
    /// reads the observed ones): the wanted mountpoint and canmount, else the observed.
    fn wants_mounted<'a>(
        &'a self,
        value: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<bool, String> {
        let effective = |key: &str| self.properties.get(key).map(String::as_str).or(value(key));
        let canmount = effective("canmount").unwrap_or("on");
        let refused = match effective("mountpoint") {
            Some(mountpoint @ ("legacy" | "none")) => {
                Some(format!("its mountpoint is {mountpoint}"))
            }
            _ if canmount == "off" => Some("its canmount is off".to_string()),
            _ => None,
        };
        match (self.mounted, refused) {
            (Mounting::Untouched, _) => Ok(false),
            (Mounting::AsAtBoot, refused) => Ok(refused.is_none() && canmount == "on"),
            (Mounting::Yes, None) => Ok(true),
            (Mounting::Yes, Some(why)) => Err(format!(
                "{} is to be mounted, but {why}, and zfs mount refuses such a dataset: give it \
                 a mountpoint that is a path (a legacy one is mounted by a `mount` resource) \
                 or canmount=on, or leave `mounted` unset to mount it only where ZFS would",
                self.name
            )),
        }
    }

    /// A dataset that shares `root`'s key cannot have a keylocation of its own: OpenZFS
    /// refuses `zfs set keylocation` on it ("keylocation may only be set on encryption
    /// roots", lib/libzfs/libzfs_util.c zfs_setprop_error, EACCES). The wish is met when the
    /// root's key is the wanted one; otherwise the plan cannot be, and says the way out.
    fn keylocation_of_root(&self, view: &View, root: &str, wanted: &str) -> Result<(), String> {
        let found = view
            .state
            .datasets
            .get(root)
            .and_then(|dataset| dataset.properties.get("keylocation"));
        if found.is_some_and(|found| holds("keylocation", wanted, found, None)) {
            return Ok(());
        }
        let found = found.map_or("unknown".to_string(), |found| format!("`{found}`"));
        Err(format!(
            "{name} shares the key of its encryption root {root}, whose keylocation is {found}, \
             not `{wanted}`; ZFS sets a keylocation on encryption roots only. Either want \
             {root}'s key here (keylocation {found}, or none), or make {name} an encryption \
             root of its own, in place with its data kept: `zfs change-key -l -o \
             keyformat=raw -o keylocation={wanted} {name}` (zfs-change-key(8); its key then \
             loads on its own: list it in zfskeys_datasets), or by zfs send | zfs receive \
             into a new encrypted dataset",
            name = self.name
        ))
    }

    fn parent(&self) -> Option<&str> {
        self.name.rsplit_once('/').map(|(parent, _)| parent)
    }
}

/// Checks property `key` = `value` as zfs would take it and keeps it under the name zfs
/// reports it by; two names of one property are a fault.
fn hold(attrs: &mut Attrs, properties: &mut BTreeMap<String, String>, key: &str, value: Rendered) {
    let name = zfs_property::canonical_name(key);
    let kind = value_kind(name);
    let (origin, sensitive) = (value.origin.clone(), value.sensitive);
    let Some(value) = attrs.checked_value(value, kind) else {
        return;
    };
    if let Err(reason) = zfs_property::canonical_value(name, &value) {
        let error = CompileError::refused_value(kind, reason, &value, sensitive, &origin);
        attrs.errors.push(error);
    } else if properties.contains_key(name) {
        let kind = CompileErrorKind::ConflictingAttributes {
            kind: "zfs".into(),
            names: vec![name.into(), key.into()],
        };
        let label = format!("`{key}` is another name of `{name}`");
        attrs.errors.push(CompileError::new(kind, &origin, label));
    } else {
        properties.insert(name.to_string(), value);
    }
}

/// The rule a property's value follows: paths where ZFS takes paths, sizes, choices, one line
/// everywhere.
fn value_kind(property: &str) -> ValueKind {
    match property {
        "mountpoint" => ValueKind::ZfsMountpoint,
        "keylocation" => ValueKind::ZfsKeylocation,
        _ if zfs_property::is_size(property) => ValueKind::ZfsSize,
        _ if zfs_property::is_choice(property) => ValueKind::ZfsChoice,
        _ => ValueKind::ZfsValue,
    }
}

/// Why `zfs mount` refuses a dataset with these mountpoint and canmount values, if it does.
fn unmountable(properties: &BTreeMap<String, String>) -> Option<String> {
    match (
        properties.get("mountpoint").map(String::as_str),
        properties.get("canmount").map(String::as_str),
    ) {
        (Some(mountpoint @ ("legacy" | "none")), _) => Some(format!("mountpoint: {mountpoint}")),
        (_, Some("off")) => Some("canmount: off".into()),
        _ => None,
    }
}

/// Whether an observed property value is the wanted one; `encryption=on` means the default
/// cipher, which ZFS reports by name. Sizes are compared in bytes, choices by what zfs reads
/// back (`zfs get -p`) on the host's OpenZFS `version`, where known.
fn holds(property: &str, wanted: &str, current: &str, version: Option<OpenZfs>) -> bool {
    match (property, wanted) {
        ("encryption", "on") => current != "off",
        _ => zfs_property::same_value(property, wanted, current, version),
    }
}

/// Refuses a property the host's zfs would refuse whatever its value: one its OpenZFS release
/// (observed with the datasets) does not have yet, or its platform names otherwise (`jailed`,
/// `zoned`). Checked before anything is planned for the dataset, so the plan says why at the
/// resource rather than zfs at apply.
fn check_host(properties: &BTreeMap<String, String>, view: &View) -> Result<(), String> {
    let platform = match view.os {
        OsFamily::Freebsd => Platform::FreeBsd,
        OsFamily::Rocky => Platform::Linux,
    };
    for (name, value) in properties {
        zfs_property::supported(name, value, view.state.zfs_version, platform)
            .map_err(|why| format!("{why}: leave `{name}` out for this host"))?;
    }
    Ok(())
}

impl Kind for Zfs {
    fn probes(&self) -> Vec<Probe> {
        let mut properties: Vec<String> = self.properties.keys().cloned().collect();
        properties.extend(
            [
                "keystatus",
                "mounted",
                "encryption",
                "encryptionroot",
                "mountpoint",
                "canmount",
            ]
            .map(String::from),
        );
        properties.sort();
        properties.dedup();
        let mut probes = vec![Probe::Dataset {
            name: self.name.clone(),
            properties,
        }];
        // A wanted keylocation is checked against the encryption root the dataset shares
        // its key with, if it is not its own: one of its ancestors.
        if self.properties.contains_key("keylocation") {
            let mut ancestor = self.parent();
            while let Some(name) = ancestor {
                probes.push(Probe::Dataset {
                    name: name.to_string(),
                    properties: vec!["keylocation".into()],
                });
                ancestor = name.rsplit_once('/').map(|(parent, _)| parent);
            }
        }
        probes
    }

    fn decide(&self, view: &View) -> Result<Decision, String> {
        check_host(&self.properties, view)?;
        let version = view.state.zfs_version;
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
            // zfs create mounts only with canmount=on; `mounted: true` mounts a noauto one.
            if self.mounted == Mounting::Yes && !zfs_property::mounts_on_create(&self.properties) {
                decision.ops.push(Op::MountDataset {
                    dataset: self.name.clone(),
                });
            }
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
            if !holds(key, wanted, found, version) {
                return Err(format!(
                    "{} exists with {key}={found}, not {wanted}. {key} is chosen when a dataset \
                     is created, and f3s does not destroy data to change it: create a new \
                     dataset with {key}={wanted}, move the data over (zfs send | zfs receive), \
                     then rename it into place",
                    self.name
                ));
            }
        }
        // The encryption root whose key this dataset shares, where that is another dataset.
        let root = value("encryptionroot").filter(|root| *root != "-" && *root != self.name);
        for (key, wanted) in &self.properties {
            if AT_CREATION.contains(&key.as_str()) {
                continue;
            }
            if let (Some(root), "keylocation") = (root, key.as_str()) {
                self.keylocation_of_root(view, root, wanted)?;
                continue;
            }
            let found = value(key).unwrap_or("(unknown)");
            if !holds(key, wanted, found, version) {
                let before = zfs_property::readable(key, found);
                decision
                    .changes
                    .push(AttributeChange::observed(key, &before, wanted));
                decision.ops.push(Op::SetDatasetProperty {
                    name: self.name.clone(),
                    property: key.clone(),
                    value: wanted.clone(),
                });
            }
        }
        // A key not loaded (a received replica, say) is loaded from the keylocation set above,
        // or, where the dataset shares its root's key, the root's is: zfs loads keys of
        // encryption roots only (zfs-load-key(8): "all children that inherit the keylocation
        // property" are opened with it).
        if value("keystatus") == Some("unavailable") {
            decision.changes.push(AttributeChange::new(
                "keystatus",
                "unavailable",
                "available",
            ));
            decision.ops.push(Op::LoadKey {
                dataset: root.unwrap_or(&self.name).to_string(),
            });
        }
        if self.wants_mounted(value)? && value("mounted") == Some("no") {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host_state::{DatasetState, HostState};
    use std::collections::BTreeSet;

    const KEY: &str = "file:///keys/f0.lan.buetow.org:zdata.key";

    /// `zdata/enc/nfsdata` as the post makes it: a child sharing the key of the encryption
    /// root `zdata/enc`, whose keylocation is `root_location`.
    fn host(root_location: &str, keystatus: &str) -> HostState {
        let dataset = |pairs: &[(&str, &str)]| DatasetState {
            properties: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let mut state = HostState::default();
        state.datasets.insert(
            "zdata/enc".into(),
            dataset(&[("keylocation", root_location)]),
        );
        state.datasets.insert(
            "zdata/enc/nfsdata".into(),
            dataset(&[
                ("encryption", "aes-256-gcm"),
                ("encryptionroot", "zdata/enc"),
                ("keylocation", "none"),
                ("keystatus", keystatus),
                ("mounted", "no"),
            ]),
        );
        state
    }

    fn nfsdata() -> Zfs {
        Zfs {
            name: "zdata/enc/nfsdata".into(),
            properties: BTreeMap::from([("keylocation".to_string(), KEY.to_string())]),
            mounted: Mounting::Untouched,
            create: true,
        }
    }

    fn decide(state: &HostState) -> Result<Decision, String> {
        let hosts = BTreeMap::new();
        let pending = BTreeSet::new();
        nfsdata().decide(&View {
            os: OsFamily::Freebsd,
            now: 0,
            state,
            hosts: &hosts,
            pending: &pending,
        })
    }

    /// ZFS refuses `zfs set keylocation` on a dataset that shares its root's key: the wish is
    /// met when the root's key is the one wanted, and nothing is planned to set.
    #[test]
    fn a_keylocation_its_encryption_root_has_is_met_without_a_set() {
        let decision = decide(&host(KEY, "available")).unwrap();
        assert!(decision.ops.is_empty(), "{decision:?}");
    }

    #[test]
    fn a_keylocation_its_encryption_root_lacks_is_refused_with_the_way_out() {
        let error = decide(&host("file:///keys/other.key", "available")).unwrap_err();
        assert!(
            error.contains("shares the key of its encryption root zdata/enc"),
            "{error}"
        );
        // One command to copy, its words one space apart.
        assert!(
            error.contains(&format!(
                "`zfs change-key -l -o keyformat=raw -o keylocation={KEY} zdata/enc/nfsdata`"
            )),
            "{error}"
        );
        assert!(!error.contains("  "), "{error}");
    }

    /// Its key is loaded by loading its root's: zfs loads keys of encryption roots only.
    #[test]
    fn a_shared_key_is_loaded_at_its_root() {
        let decision = decide(&host(KEY, "unavailable")).unwrap();
        assert_eq!(
            decision.ops,
            [Op::LoadKey {
                dataset: "zdata/enc".into()
            }]
        );
    }

    /// A dataset to be created with `properties` on a host running `version` as `os`.
    fn create_on(
        os: OsFamily,
        version: Option<OpenZfs>,
        properties: &[(&str, &str)],
    ) -> Result<Decision, String> {
        let state = HostState {
            zfs_version: version,
            ..HostState::default()
        };
        let zfs = Zfs {
            name: "zdata/new".into(),
            properties: properties
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            mounted: Mounting::AsAtBoot,
            create: true,
        };
        let (hosts, pending) = (BTreeMap::new(), BTreeSet::new());
        zfs.decide(&View {
            os,
            now: 0,
            state: &state,
            hosts: &hosts,
            pending: &pending,
        })
    }

    /// What the host's zfs would refuse is refused at plan time, naming the release.
    #[test]
    fn a_property_the_hosts_release_lacks_is_refused_when_planned() {
        let v2_2 = Some(OpenZfs::new(2, 2, 6));
        let error = create_on(OsFamily::Freebsd, v2_2, &[("direct", "always")]).unwrap_err();
        assert!(
            error.contains("`direct` is a property from OpenZFS 2.3 on"),
            "{error}"
        );
        assert!(error.contains("runs OpenZFS 2.2.6"), "{error}");
        assert!(error.contains("leave `direct` out"), "{error}");
        let v2_3 = Some(OpenZfs::new(2, 3, 2));
        let decision = create_on(OsFamily::Freebsd, v2_3, &[("direct", "always")]).unwrap();
        assert!(decision.creates);
        let error = create_on(OsFamily::Rocky, v2_3, &[("jailed", "on")]).unwrap_err();
        assert!(error.contains("names it `zoned`"), "{error}");
        assert!(create_on(OsFamily::Freebsd, None, &[("zoned", "on")]).is_err());
        assert!(create_on(OsFamily::Freebsd, None, &[("jailed", "on")]).is_ok());
    }
}
