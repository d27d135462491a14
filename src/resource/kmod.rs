//! `kmod`: a FreeBSD kernel module loaded at boot (`NAME_load="YES"` in /boot/loader.conf,
//! the rest of the file left alone) and loaded now.

use super::edit;
use super::kind::{AttributeChange, Claim, Decision, Kind, View};
use crate::module::attrs::Attrs;
use crate::names::NameKind;
use crate::op::Op;
use crate::probe::Probe;

pub const ATTRIBUTES: &[&str] = &[];

const LOADER_CONF: &str = "/boot/loader.conf";

#[derive(Debug, Clone)]
pub struct Kmod {
    pub name: String,
}

impl Kmod {
    pub fn parse(attrs: &mut Attrs) -> Option<(String, Self)> {
        let name = attrs.required_name("kmod", NameKind::RcVar)?;
        Some((name.clone(), Self { name }))
    }
}

impl Kind for Kmod {
    fn probes(&self) -> Vec<Probe> {
        let mut probes = edit::probe(LOADER_CONF);
        probes.push(Probe::KernelModule {
            name: self.name.clone(),
        });
        probes
    }

    fn decide(&self, view: &View) -> Result<Decision, String> {
        let variable = format!("{}_load=", self.name);
        let wanted = format!("{variable}\"YES\"");
        let mut decision = edit::decide(LOADER_CONF, &None, view, |text| {
            let lines = edit::lines(text.unwrap_or(""));
            let is_setting = |line: &&str| line.trim_start().starts_with(&variable);
            if lines.iter().filter(|l| is_setting(l)).count() == 1 && lines.contains(&&*wanted) {
                return None;
            }
            let mut kept: Vec<&str> = lines.into_iter().filter(|l| !is_setting(l)).collect();
            kept.push(&wanted);
            Some(edit::join(&kept))
        })?;
        if !view.state.kernel_modules.contains(&self.name) {
            decision
                .changes
                .push(AttributeChange::new("loaded", "no", "yes"));
            decision.ops.push(Op::LoadKernelModule {
                name: self.name.clone(),
            });
        }
        Ok(decision)
    }

    fn claim(&self) -> Option<Claim<'_>> {
        Some(Claim::Edit(LOADER_CONF))
    }
}
