//! `zpool`: a ZFS pool on its devices, with the mountpoint of its root dataset. Creating a
//! pool destroys what its devices hold, so it is destructive unless they are proven empty;
//! an existing pool is never recreated. `zpool create -m` refuses a mountpoint that exists
//! and is not an empty directory, so such a mountpoint stops the plan.

use super::kind::{AttributeChange, Decision, Kind, View};
use crate::module::attrs::Attrs;
use crate::names::NameKind;
use crate::op::Op;
use crate::probe::Probe;

pub const ATTRIBUTES: &[&str] = &["devices", "mountpoint"];

#[derive(Debug, Clone)]
pub struct Zpool {
    pub name: String,
    pub devices: Vec<String>,
    pub mountpoint: String,
}

impl Zpool {
    pub fn parse(attrs: &mut Attrs) -> Option<(String, Self)> {
        let name = attrs.required_name("zpool", NameKind::Dataset);
        if !attrs.has("devices") {
            attrs.missing("devices");
        }
        let devices: Vec<String> = attrs
            .list("devices")
            .into_iter()
            .filter_map(|device| attrs.checked(device, NameKind::Path))
            .collect();
        let mountpoint = attrs.required_name("mountpoint", NameKind::Path);
        let name = name?;
        Some((
            name.clone(),
            Self {
                name,
                devices,
                mountpoint: mountpoint?,
            },
        ))
    }
}

impl Kind for Zpool {
    fn probes(&self) -> Vec<Probe> {
        let mut probes = vec![
            Probe::Pool {
                name: self.name.clone(),
            },
            Probe::Dataset {
                name: self.name.clone(),
                properties: vec!["mountpoint".into()],
            },
            Probe::Occupied {
                path: self.mountpoint.clone(),
            },
        ];
        probes.extend(self.devices.iter().map(|device| Probe::Device {
            path: device.clone(),
        }));
        probes
    }

    fn decide(&self, view: &View) -> Result<Decision, String> {
        let mut decision = Decision::default();
        if view.state.pools.contains_key(&self.name) {
            let current = view
                .state
                .datasets
                .get(&self.name)
                .and_then(|d| d.properties.get("mountpoint"));
            if current != Some(&self.mountpoint) {
                let before = current.cloned().unwrap_or_else(|| "(unknown)".into());
                decision.changes.push(AttributeChange::observed(
                    "mountpoint",
                    &before,
                    &self.mountpoint,
                ));
                decision.ops.push(Op::SetDatasetProperty {
                    name: self.name.clone(),
                    property: "mountpoint".into(),
                    value: self.mountpoint.clone(),
                });
            }
            return Ok(decision);
        }
        // cmd/zpool/zpool_main.c, zpool_do_create: "mountpoint '%s' exists and is not empty"
        // (any entry, even with -f), or the error opendir gave.
        if view.state.occupied.contains(&self.mountpoint) {
            return Err(format!(
                "zpool create refuses the mountpoint {mp} of pool {name}: it exists and is not \
                 an empty directory. Move what is in {mp} away (it would be hidden under the \
                 pool), or choose another mountpoint",
                mp = self.mountpoint,
                name = self.name
            ));
        }
        let mut held = Vec::new();
        for path in &self.devices {
            let Some(device) = view.state.devices.get(path) else {
                return Err(format!(
                    "the device {path} for pool {} is not there (is the disk attached?)",
                    self.name
                ));
            };
            if let Some(what) = device.holds() {
                held.push(format!("{path}: {what}"));
            }
        }
        decision.ops.push(Op::CreatePool {
            name: self.name.clone(),
            devices: self.devices.clone(),
            mountpoint: self.mountpoint.clone(),
            destroys: (!held.is_empty()).then(|| held.join("; ")),
        });
        decision.changes = vec![
            AttributeChange::new("devices", "", self.devices.join(" ")),
            AttributeChange::new("mountpoint", "", &self.mountpoint),
        ];
        decision.creates = true;
        Ok(decision)
    }
}
