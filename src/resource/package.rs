//! `package`: a package installed (pkg on FreeBSD, dnf on Rocky), or with `state: absent`
//! not installed.

use super::kind::{AttributeChange, Decision, Kind, View};
use crate::module::attrs::Attrs;
use crate::names::NameKind;
use crate::op::Op;
use crate::probe::Probe;

pub const ATTRIBUTES: &[&str] = &["state"];

#[derive(Debug, Clone)]
pub struct Package {
    pub name: String,
    pub present: bool,
}

impl Package {
    pub fn parse(attrs: &mut Attrs) -> Option<(String, Self)> {
        let name = attrs.required_name("package", NameKind::Package);
        let present = attrs.present();
        let name = name?;
        Some((name.clone(), Self { name, present }))
    }
}

impl Kind for Package {
    fn probes(&self) -> Vec<Probe> {
        vec![Probe::Package {
            name: self.name.clone(),
        }]
    }

    fn decide(&self, view: &View) -> Result<Decision, String> {
        let installed = view.state.packages.get(&self.name);
        Ok(match (self.present, installed) {
            (true, None) => Decision {
                ops: vec![Op::InstallPackage {
                    name: self.name.clone(),
                }],
                changes: vec![AttributeChange::new(
                    "version",
                    "(absent)",
                    "(known after apply)",
                )],
                creates: true,
                ..Decision::default()
            },
            (false, Some(version)) => Decision {
                ops: vec![Op::RemovePackage {
                    name: self.name.clone(),
                }],
                changes: vec![AttributeChange::observed("version", version, "(absent)")],
                removes: true,
                ..Decision::default()
            },
            _ => Decision::default(),
        })
    }
}
