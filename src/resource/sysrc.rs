//! `sysrc`: one variable of FreeBSD's /etc/rc.conf, set as `sysrc NAME=VALUE` would.

use crate::module::attrs::Attrs;
use crate::names::NameKind;
use crate::op::Op;
use crate::probe::{Probe, Reveal};
use crate::resource::{AttributeChange, Decision, Kind, View};
use crate::sensitive::Text;

pub const ATTRIBUTES: &[&str] = &["value"];

#[derive(Debug, Clone)]
pub struct Sysrc {
    pub name: String,
    pub value: Text,
}

impl Sysrc {
    pub fn parse(attrs: &mut Attrs) -> Option<(String, Self)> {
        let name = attrs.required_name("sysrc", NameKind::RcVar);
        let value = attrs.required_string("value");
        let name = name?;
        Some((
            name.clone(),
            Self {
                name,
                value: value?.text(),
            },
        ))
    }
}

impl Kind for Sysrc {
    fn probes(&self) -> Vec<Probe> {
        let reveal = if self.value.is_sensitive() {
            Reveal::DigestOnly
        } else {
            Reveal::Text
        };
        vec![Probe::RcVar {
            name: self.name.clone(),
            reveal,
        }]
    }

    fn decide(&self, view: &View) -> Result<Decision, String> {
        let current = view.state.rc_conf.get(&self.name);
        if current.is_some_and(|value| value.matches(&self.value)) {
            return Ok(Decision::default());
        }
        let before = current.map_or_else(|| "(unset)".to_string(), |value| value.shown());
        Ok(Decision {
            ops: vec![Op::SetRcVar {
                name: self.name.clone(),
                value: self.value.clone(),
            }],
            changes: vec![AttributeChange::new("value", before, self.value.shown())],
            content: None,
            creates: current.is_none(),
            note: None,
        })
    }
}
