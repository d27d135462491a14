//! `systemd`: a unit file under /etc/systemd/system, systemd told to reread it when it
//! changes, and the unit enabled and active (or as `enabled`/`state` say). With `state:
//! absent`, the unit stopped and disabled, its file removed (kept as a backup) and systemd
//! told.

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
        let path = |unit: &str| format!("/etc/systemd/system/{unit}");
        let unit = unit?;
        let service = Service::with_state(attrs, unit.clone());
        if !service.present {
            attrs.refuse_with_absent("systemd", &["content", "template"]);
            return Some((unit.clone(), Self::absent(unit)));
        }
        let content = if attrs.has("template") {
            attrs.template("template")
        } else {
            attrs.required_string("content")
        };
        let file = File {
            path: path(&unit),
            content: Some(Content::Text(content?.text())),
            sensitive: false,
            wanted: Wanted::default(),
            validate: None,
            present: true,
        };
        Some((unit, Self { file, service }))
    }
}

impl Systemd {
    /// Stopped, disabled, and its unit file gone.
    pub fn absent(unit: String) -> Self {
        Self {
            file: File::absent(format!("/etc/systemd/system/{unit}")),
            service: Service::absent(unit),
        }
    }
}

impl Kind for Systemd {
    fn probes(&self) -> Vec<Probe> {
        let mut probes = self.file.probes();
        probes.extend(self.service.probes());
        probes
    }

    fn decide(&self, view: &View) -> Result<Decision, String> {
        if !self.service.present {
            // Stopped and disabled while systemd still knows the unit, then its file goes.
            let file = self.file.decide(view)?;
            if file.ops.is_empty() {
                return Ok(file);
            }
            let mut decision = self.service.decide(view)?;
            decision.ops.extend(file.ops);
            decision.ops.push(Op::ReloadUnits);
            decision.changes.extend(file.changes);
            decision.removes = true;
            return Ok(decision);
        }
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
