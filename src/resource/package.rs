//! `package`: a package installed (pkg on FreeBSD, dnf on Rocky).

use super::kind::{AttributeChange, Decision, Kind, View};
use crate::module::attrs::Attrs;
use crate::names::NameKind;
use crate::op::Op;
use crate::probe::Probe;

pub const ATTRIBUTES: &[&str] = &[];

#[derive(Debug, Clone)]
pub struct Package {
    pub name: String,
}

impl Package {
    pub fn parse(attrs: &mut Attrs) -> Option<(String, Self)> {
        let name = attrs.required_name("package", NameKind::Package)?;
        Some((name.clone(), Self { name }))
    }
}

impl Kind for Package {
    fn probes(&self) -> Vec<Probe> {
        vec![Probe::Package {
            name: self.name.clone(),
        }]
    }

    fn decide(&self, view: &View) -> Result<Decision, String> {
        if view.state.packages.contains_key(&self.name) {
            return Ok(Decision::default());
        }
        Ok(Decision {
            ops: vec![Op::InstallPackage {
                name: self.name.clone(),
            }],
            changes: vec![AttributeChange::new(
                "version",
                "(absent)",
                "(known after apply)",
            )],
            content: None,
            creates: true,
            note: None,
        })
    }
}
