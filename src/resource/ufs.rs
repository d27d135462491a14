//! `ufs`: a UFS filesystem on a device (the USB key store). Making one destroys whatever the
//! device holds, so it is destructive unless the device is proven empty.

use super::kind::{AttributeChange, Decision, Kind, View};
use crate::module::attrs::Attrs;
use crate::names::NameKind;
use crate::op::Op;
use crate::probe::Probe;

pub const ATTRIBUTES: &[&str] = &[];

#[derive(Debug, Clone)]
pub struct Ufs {
    pub device: String,
}

impl Ufs {
    pub fn parse(attrs: &mut Attrs) -> Option<(String, Self)> {
        let device = attrs.required_name("ufs", NameKind::Path)?;
        Some((device.clone(), Self { device }))
    }
}

impl Kind for Ufs {
    fn probes(&self) -> Vec<Probe> {
        vec![Probe::Device {
            path: self.device.clone(),
        }]
    }

    fn decide(&self, view: &View) -> Result<Decision, String> {
        let Some(device) = view.state.devices.get(&self.device) else {
            return Err(format!(
                "the device {} is not there (is the disk or USB key attached?)",
                self.device
            ));
        };
        if device.filesystem.as_deref() == Some("ufs") {
            return Ok(Decision::default());
        }
        let before = device
            .filesystem
            .clone()
            .or_else(|| device.unreadable.as_ref().map(|_| "(unknown)".into()))
            .unwrap_or_else(|| "(none)".into());
        Ok(Decision {
            ops: vec![Op::NewFs {
                device: self.device.clone(),
                destroys: device.holds(),
            }],
            changes: vec![AttributeChange::observed("filesystem", &before, "ufs")],
            creates: true,
            ..Decision::default()
        })
    }
}
