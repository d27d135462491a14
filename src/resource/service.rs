//! `service`: enabled at boot or not; running, stopped, or left to something else; restarted
//! or reloaded when notified. `only_on_master: ADDRESS` keeps `state` only where this host is
//! the CARP MASTER of ADDRESS (as the host's `carp` resource of that address observes it, or
//! expects it once it adds the address): on a BACKUP
//! whether it runs is left to what CARP runs on a state change (carpcontrol.sh), so f3s never
//! fights a failover. `state: absent` is a service that neither runs nor starts at boot
//! (stopped and disabled; its package, if it goes too, is a `package` of its own).

use super::kind::{AttributeChange, Decision, Implied, Kind, View};
use crate::host_state::CarpRole;
use crate::module::attrs::Attrs;
use crate::names::NameKind;
use crate::op::{Op, Refresh};
use crate::probe::Probe;

pub const ATTRIBUTES: &[&str] = &["enabled", "state", "refresh", "only_on_master"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Running,
    Stopped,
    /// Whether it runs is not f3s's business.
    Ignore,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    /// Enabled at boot, disabled, or left alone (`None`).
    pub enabled: Option<bool>,
    pub running: RunState,
    pub refresh: Refresh,
    /// The CARP address whose MASTER keeps `running`; `None`: every host does.
    pub only_on_master: Option<String>,
    /// `false`: `state: absent`, stopped and disabled.
    pub present: bool,
}

impl Service {
    pub fn parse(attrs: &mut Attrs) -> Option<(String, Self)> {
        let name = attrs.required_name("service", NameKind::Service);
        let only_on_master = attrs.name("only_on_master", NameKind::Address);
        let service = Self {
            only_on_master,
            ..Self::with_state(attrs, name?)
        };
        Some((service.name.clone(), service))
    }

    /// The service `name` as the `enabled`, `state` and `refresh` attributes ask for it.
    pub fn with_state(attrs: &mut Attrs, name: String) -> Self {
        let running = match attrs.choice("state", &["running", "stopped", "ignore", "absent"]) {
            Some("absent") => {
                attrs.refuse_with_absent("service", &["enabled", "refresh", "only_on_master"]);
                return Self::absent(name);
            }
            Some("stopped") => RunState::Stopped,
            Some("ignore") => RunState::Ignore,
            _ => RunState::Running,
        };
        // `ignore`: a unit started by something else (a timer's service) is left as it is.
        let enabled = match attrs.choice("enabled", &["true", "false", "ignore"]) {
            Some("ignore") => None,
            Some("false") => Some(false),
            _ => Some(true),
        };
        let refresh = match attrs.choice("refresh", &["restart", "reload"]) {
            Some("reload") => Refresh::Reload,
            _ => Refresh::Restart,
        };
        Self {
            name,
            enabled,
            running,
            refresh,
            only_on_master: None,
            present: true,
        }
    }

    /// Neither running nor started at boot.
    pub fn absent(name: String) -> Self {
        Self {
            name,
            enabled: Some(false),
            running: RunState::Stopped,
            refresh: Refresh::Restart,
            only_on_master: None,
            present: false,
        }
    }

    /// What `state` asks for on this host: nothing where it runs only on the CARP MASTER of
    /// an address and this host is not (or is not going to be) that MASTER.
    fn wanted_here(&self, view: &View) -> RunState {
        match &self.only_on_master {
            Some(address)
                if view
                    .state
                    .carp
                    .get(address)
                    .is_none_or(|carp| carp.state != CarpRole::Master) =>
            {
                RunState::Ignore
            }
            _ => self.running,
        }
    }
}

fn word(flag: bool, yes: &str, no: &str) -> String {
    (if flag { yes } else { no }).to_string()
}

impl Kind for Service {
    fn probes(&self) -> Vec<Probe> {
        vec![Probe::Service {
            name: self.name.clone(),
        }]
    }

    fn decide(&self, view: &View) -> Result<Decision, String> {
        let current = view
            .state
            .services
            .get(&self.name)
            .copied()
            .unwrap_or_default();
        let name = self.name.clone();
        let mut decision = Decision::default();
        match (self.enabled, current.enabled) {
            (Some(enabled), Some(now)) if now != enabled => {
                decision.changes.push(AttributeChange::new(
                    "enabled",
                    word(now, "yes", "no"),
                    word(enabled, "yes", "no"),
                ));
                decision.ops.push(if enabled {
                    Op::EnableService { name: name.clone() }
                } else {
                    Op::DisableService { name: name.clone() }
                });
            }
            // A service that goes is stopped; whether a unit that cannot be disabled starts
            // at boot is not in f3s's hands.
            (Some(_), None) if !self.present => {}
            // Enabling it again on every apply would change nothing.
            (Some(_), None) => {
                return Err(format!(
                    "whether {name} starts at boot is its unit's to say (static, indirect, generated or alias), which no enable or disable changes; say `enabled: ignore`"
                ));
            }
            _ => {}
        }
        let want_running = match self.wanted_here(view) {
            RunState::Running => Some(true),
            RunState::Stopped => Some(false),
            RunState::Ignore => None,
        };
        match (want_running, current.running) {
            (Some(want), Some(running)) if want != running => {
                decision.changes.push(AttributeChange::new(
                    "state",
                    word(running, "running", "stopped"),
                    word(want, "running", "stopped"),
                ));
                decision.ops.push(if want {
                    Op::StartService { name }
                } else {
                    Op::StopService { name }
                });
            }
            // Starting it again on every apply would not make it tell; the admin should
            // know that `state` is not being kept.
            (Some(_), None) => {
                decision.note = Some(format!(
                    "{name} has no status to tell whether it runs, so f3s neither starts nor stops it; a notify still restarts it"
                ));
            }
            _ => {}
        }
        Ok(decision)
    }

    fn implied(&self) -> Vec<Implied> {
        // One that goes is stopped whatever its package does.
        if !self.present {
            return Vec::new();
        }
        let mut implied = vec![Implied::Local {
            kind: "package",
            name: self.name.clone(),
        }];
        // Started once the address is there, so it runs where CARP put the MASTER.
        if let Some(address) = &self.only_on_master {
            implied.push(Implied::Local {
                kind: "carp",
                name: address.clone(),
            });
        }
        implied
    }

    fn refresh(&self, view: &View, decision: &Decision) -> Result<Op, String> {
        let running = view
            .state
            .services
            .get(&self.name)
            .map_or(Some(false), |state| state.running);
        if decision
            .ops
            .iter()
            .any(|op| matches!(op, Op::StartService { .. }))
        {
            return Err("it is being started anyway".into());
        }
        if self.running == RunState::Stopped {
            return Err("it is kept stopped".into());
        }
        // One that cannot tell (`None`) is refreshed: its restart reruns what it does.
        if running == Some(false) {
            return Err("it is not running here".into());
        }
        Ok(Op::RefreshService {
            name: self.name.clone(),
            how: self.refresh,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host_state::{HostState, ServiceState};
    use crate::inventory::host::OsFamily;
    use std::collections::{BTreeMap, BTreeSet};

    fn service(enabled: Option<bool>, running: RunState) -> Service {
        Service {
            name: "ntpdate".into(),
            enabled,
            running,
            refresh: Refresh::Restart,
            only_on_master: None,
            present: true,
        }
    }

    /// The decision and the refresh for a host where the service is in `observed`.
    fn outcome(
        service: &Service,
        observed: ServiceState,
    ) -> (Result<Decision, String>, Result<Op, String>) {
        let mut state = HostState::default();
        state.services.insert("ntpdate".into(), observed);
        outcome_on(service, &state)
    }

    /// The decision and the refresh for a host in `state`.
    fn outcome_on(
        service: &Service,
        state: &HostState,
    ) -> (Result<Decision, String>, Result<Op, String>) {
        let hosts = BTreeMap::new();
        let pending = BTreeSet::new();
        let view = View {
            os: OsFamily::Freebsd,
            now: 0,
            state,
            hosts: &hosts,
            pending: &pending,
        };
        let decision = service.decide(&view);
        let refresh = service.refresh(&view, &Decision::default());
        (decision, refresh)
    }

    #[test]
    fn a_service_that_cannot_tell_whether_it_runs_is_not_started_but_is_refreshed() {
        let observed = ServiceState {
            enabled: Some(true),
            running: None,
        };
        let (decision, refresh) = outcome(&service(Some(true), RunState::Running), observed);
        let decision = decision.unwrap();
        assert!(decision.ops.is_empty() && decision.changes.is_empty());
        assert!(decision.note.unwrap().contains("has no status"));
        assert!(matches!(refresh, Ok(Op::RefreshService { .. })));

        let stopped = ServiceState {
            running: Some(false),
            ..observed
        };
        let (decision, refresh) = outcome(&service(Some(true), RunState::Running), stopped);
        assert!(matches!(
            decision.unwrap().ops[..],
            [Op::StartService { .. }]
        ));
        assert_eq!(refresh.unwrap_err(), "it is not running here");
    }

    #[test]
    fn enablement_the_unit_decides_is_refused_when_asked_for_and_left_when_ignored() {
        let observed = ServiceState {
            enabled: None,
            running: Some(true),
        };
        for wanted in [Some(true), Some(false)] {
            let (decision, _) = outcome(&service(wanted, RunState::Running), observed);
            assert!(decision.unwrap_err().contains("`enabled: ignore`"));
        }
        let (decision, _) = outcome(&service(None, RunState::Running), observed);
        assert_eq!(decision.unwrap(), Decision::default());
    }

    #[test]
    fn a_service_kept_only_on_the_carp_master_is_left_alone_on_a_backup() {
        use crate::host_state::{CarpRole, CarpState};
        let wanted = Service {
            only_on_master: Some("10.0.0.9".into()),
            ..service(Some(true), RunState::Running)
        };
        let decide_with = |role: Option<CarpRole>| {
            let mut state = HostState::default();
            state
                .services
                .insert("ntpdate".into(), ServiceState::default());
            if let Some(role) = role {
                let carp = CarpState {
                    interface: "re0".into(),
                    vhid: Some(1),
                    state: role,
                    key: None,
                };
                state.carp.insert("10.0.0.9".into(), carp);
            }
            outcome_on(&wanted, &state).0.unwrap().ops
        };
        assert!(matches!(
            decide_with(Some(CarpRole::Master))[..],
            [Op::EnableService { .. }, Op::StartService { .. }]
        ));
        for role in [Some(CarpRole::Backup), Some(CarpRole::Init), None] {
            assert!(matches!(decide_with(role)[..], [Op::EnableService { .. }]));
        }
    }
}
