//! `systemd`: a unit file under /etc/systemd/system, systemd told to reread it when it
//! changes, and the unit enabled and active (or as `enabled`/`state` say).

use super::file::{Content, File};
use super::kind::{Claim, Decision, Implied, Kind, View};
use super::ownership::Wanted;
use super::service::Service;
use crate::module::attrs::Attrs;
use crate::names::NameKind;
use crate::op::{Op, Refresh};
use crate::probe::Probe;

pub const ATTRIBUTES: &[&str] = &["content", "template", "enabled", "state", "refresh"];

#[derive(Debug, Clone)]
pub struct Systemd {
    pub file: File,
    pub service: Service,
}

impl Systemd {
    pub fn parse(attrs: &mut Attrs) -> Option<(String, Self)> {
        let unit = attrs.required_name("systemd", NameKind::Service);
        let content = if attrs.has("template") {
            attrs.template("template")
        } else {
            attrs.required_string("content")
        };
        let unit = unit?;
        let service = Service::with_state(attrs, unit.clone());
        let file = File {
            path: format!("/etc/systemd/system/{unit}"),
            content: Some(Content::Text(content?.text())),
            sensitive: false,
            wanted: Wanted::default(),
            validate: None,
        };
        Some((unit, Self { file, service }))
    }
}

impl Kind for Systemd {
    fn probes(&self) -> Vec<Probe> {
        let mut probes = self.file.probes();
        probes.extend(self.service.probes());
        probes
    }

    fn decide(&self, view: &View) -> Result<Decision, String> {
        let mut decision = self.file.decide(view)?;
        if !decision.ops.is_empty() {
            decision.ops.push(Op::ReloadUnits);
            // A running unit picks up its new definition only when restarted.
            if view
                .state
                .services
                .get(&self.service.name)
                .is_some_and(|s| s.running == Some(true))
            {
                decision.ops.push(Op::RefreshService {
                    name: self.service.name.clone(),
                    how: Refresh::Restart,
                });
            }
        }
        let service = self.service.decide(view)?;
        decision.ops.extend(service.ops);
        decision.changes.extend(service.changes);
        Ok(decision)
    }

    fn implied(&self) -> Vec<Implied> {
        self.file.implied()
    }

    fn claim(&self) -> Option<Claim<'_>> {
        self.file.claim()
    }

    fn refresh(&self, view: &View, decision: &Decision) -> Result<Op, String> {
        if decision
            .ops
            .iter()
            .any(|op| matches!(op, Op::RefreshService { .. }))
        {
            return Err("it is restarted for its own change anyway".into());
        }
        self.service.refresh(view, decision)
    }
}
