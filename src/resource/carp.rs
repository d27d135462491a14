//! `carp`: a CARP virtual address configured live on an interface of a FreeBSD host, as
//! rc.d/netif configures an `ifconfig_IF_aliasN` at boot (the rc.conf line is a `sysrc`
//! resource of its own). f3s adds the address to the running interface with `ifconfig … alias`
//! and never restarts the interface, which would cut the SSH session it runs over.
//!
//! Which member CARP elects MASTER is CARP's business: f3s never forces a state, so it never
//! fights a failover. It only orders a fresh cluster: the host named `master` gets the address
//! first, every other member after it, so the intended master is the one CARP elects (carp(4):
//! a new member is BACKUP while it hears a MASTER advertise). The state a host is expected to
//! take is predicted the same way, for what runs only on the MASTER (a service's
//! `only_on_master`).

use std::net::Ipv4Addr;

use super::kind::{AttributeChange, Decision, Implied, Kind, View};
use crate::compile_error::CompileError;
use crate::compile_error_kind::CompileErrorKind;
use crate::host_state::CarpRole;
use crate::module::attrs::Attrs;
use crate::names::NameKind;
use crate::op::Op;
use crate::probe::Probe;
use crate::sensitive::Text;

pub const ATTRIBUTES: &[&str] = &["interface", "vhid", "password", "master"];

#[derive(Debug, Clone)]
pub struct Carp {
    /// The virtual address (IPv4, configured as a /32 alias).
    pub address: String,
    pub interface: String,
    pub vhid: u32,
    pub password: Text,
    /// This resource's own host.
    pub host: String,
    /// The host meant to be MASTER on a fresh cluster, if any.
    pub master: Option<String>,
}

impl Carp {
    pub fn parse(attrs: &mut Attrs, host: &str) -> Option<(String, Self)> {
        let address = attrs.required_string("carp");
        let interface = attrs.required_name("interface", NameKind::Interface);
        // ifconfig(8), sbin/ifconfig/carp.c, setcarp_vhid: 1 to CARP_MAXVHID (255).
        let vhid = attrs.number("vhid", 1, 1..=255);
        let password = attrs.required_string("password");
        let master = attrs.name("master", NameKind::HostName);
        let address = address?;
        if address.value.parse::<Ipv4Addr>().is_err() {
            let kind = CompileErrorKind::WrongType {
                expected: "an IPv4 address".into(),
                found: address.quoted(),
            };
            let label = "a CARP address here is an inet /32 alias";
            attrs
                .errors
                .push(CompileError::new(kind, &address.origin, label));
            return None;
        }
        Some((
            address.value.clone(),
            Self {
                address: address.value,
                interface: interface?,
                vhid,
                password: password?.text(),
                host: host.to_string(),
                master: master.filter(|m| m != host),
            },
        ))
    }

    /// The key the kernel runs with for this password: ifconfig keeps at most CARP_KEY_LEN -
    /// 1 = 19 bytes of it (sbin/ifconfig/carp.c, setcarp_callback: `strlcpy(carpr.carpr_key,
    /// carpr_key, CARP_KEY_LEN)`; netinet/ip_carp.h: CARP_KEY_LEN 20).
    fn running_key(&self) -> Text {
        let bytes = self.password.expose();
        Text::new(&bytes[..bytes.len().min(19)], self.password.is_sensitive())
    }

    /// The state CARP elects on this host once the address is added: BACKUP where another
    /// member is (or is predicted to be) MASTER of the address, MASTER where none is.
    fn elected(&self, view: &View) -> CarpRole {
        let peer_is_master = view.hosts.iter().any(|(name, state)| {
            *name != self.host
                && state.carp.get(&self.address).is_some_and(|carp| {
                    carp.vhid == Some(self.vhid) && carp.state == CarpRole::Master
                })
        });
        if peer_is_master {
            CarpRole::Backup
        } else {
            CarpRole::Master
        }
    }
}

impl Kind for Carp {
    fn probes(&self) -> Vec<Probe> {
        vec![Probe::Carp {
            interface: self.interface.clone(),
            address: self.address.clone(),
        }]
    }

    fn remote_probes(&self) -> Vec<(String, Probe)> {
        self.master
            .iter()
            .map(|master| (master.clone(), self.probes().remove(0)))
            .collect()
    }

    /// `elected` looks for a MASTER of the address among every host.
    fn reads_every_host(&self) -> bool {
        true
    }

    fn decide(&self, view: &View) -> Result<Decision, String> {
        let add = |becomes| Op::AddCarpAddress {
            interface: self.interface.clone(),
            address: self.address.clone(),
            vhid: self.vhid,
            password: self.password.clone(),
            becomes,
        };
        let mut decision = Decision::default();
        match view.state.carp.get(&self.address) {
            None => {
                let becomes = self.elected(view);
                decision.creates = true;
                decision.changes.push(AttributeChange::new(
                    "state",
                    "absent",
                    format!("vhid {} on {}, {becomes}", self.vhid, self.interface),
                ));
                decision.ops.push(add(becomes));
            }
            Some(carp) if carp.vhid == Some(self.vhid) => {
                // A password rotated in the inventory is rotated where it runs, not only in
                // rc.conf for the next boot: until every member runs the new key, they drop
                // each other's advertisements and each becomes MASTER (carp(4)).
                if let Some(running) = &carp.key
                    && !running.matches(&self.running_key())
                {
                    decision.changes.push(AttributeChange::new(
                        "key",
                        running.shown(),
                        self.password.shown(),
                    ));
                    decision.note = Some(format!(
                        "vhid {} runs another key than the inventory's password: every member \
                         whose key differs gets the new one live in this run, together",
                        self.vhid
                    ));
                    decision.ops.push(Op::SetCarpKey {
                        interface: self.interface.clone(),
                        address: self.address.clone(),
                        vhid: self.vhid,
                        password: self.password.clone(),
                    });
                }
            }
            // Moving a live address to another vhid, or making a plain alias a CARP one, cuts
            // whoever uses it: that is the admin's call, at a time of their choosing.
            Some(carp) => {
                let now = carp
                    .vhid
                    .map_or("a plain alias (no vhid)".to_string(), |vhid| {
                        format!("vhid {vhid}")
                    });
                return Err(format!(
                    "{} is already on {} as {now}; remove it there (`ifconfig {} -alias {}`) for f3s to add it with vhid {}",
                    self.address, self.interface, self.interface, self.address, self.vhid
                ));
            }
        }
        Ok(decision)
    }

    fn implied(&self) -> Vec<Implied> {
        self.master
            .iter()
            .map(|master| Implied::Remote {
                host: master.clone(),
                kind: "carp",
                name: self.address.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host_state::{CarpState, HostState};
    use crate::inventory::host::OsFamily;
    use std::collections::{BTreeMap, BTreeSet};

    fn carp(host: &str) -> Carp {
        Carp {
            address: "10.0.0.9".into(),
            interface: "re0".into(),
            vhid: 7,
            password: Text::new("pw", true),
            host: host.into(),
            master: Some("a".into()).filter(|m| m != host),
        }
    }

    fn with(role: CarpRole, vhid: u32) -> HostState {
        let mut state = HostState::default();
        let carp = CarpState {
            interface: "re0".into(),
            vhid: Some(vhid),
            state: role,
            key: None,
        };
        state.carp.insert("10.0.0.9".into(), carp);
        state
    }

    fn decide(host: &str, hosts: &BTreeMap<String, HostState>) -> Result<Decision, String> {
        let pending = BTreeSet::new();
        let view = View {
            os: OsFamily::Freebsd,
            now: 0,
            state: &hosts[host],
            hosts,
            pending: &pending,
        };
        carp(host).decide(&view)
    }

    /// The running key is the password's first 19 bytes, as ifconfig keeps it: a vhid that
    /// runs another key gets the password live; one that runs it is left alone.
    #[test]
    fn a_running_key_other_than_the_password_is_set_live() {
        let mut hosts = BTreeMap::from([("a".to_string(), with(CarpRole::Master, 7))]);
        let mut running = |key: &[u8]| {
            let digest = crate::sensitive::Digest::of(key);
            let carp = hosts
                .get_mut("a")
                .unwrap()
                .carp
                .get_mut("10.0.0.9")
                .unwrap();
            carp.key = Some(crate::sensitive::Observed::digest(digest));
            decide("a", &hosts).unwrap()
        };
        let decision = running(b"old");
        assert!(
            matches!(&decision.ops[..], [Op::SetCarpKey { vhid: 7, .. }]),
            "{decision:?}"
        );
        assert!(decision.note.is_some());
        assert_eq!(running(b"pw"), Decision::default());
        let mut long = carp("a");
        long.password = Text::new("twenty-one-bytes-long", true);
        assert_eq!(long.running_key().expose().as_ref(), b"twenty-one-bytes-lo");
    }

    fn becomes(decision: &Decision) -> CarpRole {
        match decision.ops[..] {
            [Op::AddCarpAddress { becomes, .. }] => becomes,
            _ => panic!("{decision:?}"),
        }
    }

    #[test]
    fn a_new_member_is_expected_backup_only_where_another_is_master() {
        let mut hosts = BTreeMap::from([("a".into(), HostState::default())]);
        hosts.insert("b".into(), HostState::default());
        assert_eq!(becomes(&decide("a", &hosts).unwrap()), CarpRole::Master);
        hosts.insert("a".into(), with(CarpRole::Master, 7));
        assert_eq!(becomes(&decide("b", &hosts).unwrap()), CarpRole::Backup);
        // Another vhid's MASTER is no member of this group.
        hosts.insert("a".into(), with(CarpRole::Master, 8));
        assert_eq!(becomes(&decide("b", &hosts).unwrap()), CarpRole::Master);
    }

    #[test]
    fn a_configured_address_is_left_in_whatever_state_carp_chose() {
        for role in [CarpRole::Master, CarpRole::Backup, CarpRole::Init] {
            let hosts = BTreeMap::from([("a".to_string(), with(role, 7))]);
            assert_eq!(decide("a", &hosts).unwrap(), Decision::default());
        }
        let hosts = BTreeMap::from([("a".to_string(), with(CarpRole::Backup, 3))]);
        assert!(decide("a", &hosts).unwrap_err().contains("-alias 10.0.0.9"));
    }

    #[test]
    fn members_other_than_the_master_come_after_it() {
        assert_eq!(carp("a").implied(), vec![]);
        assert_eq!(
            carp("b").implied(),
            vec![Implied::Remote {
                host: "a".into(),
                kind: "carp",
                name: "10.0.0.9".into()
            }]
        );
    }
}
