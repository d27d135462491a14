//! `x509`: an RSA key and a certificate for it, self-signed (a CA) or signed by a CA on the
//! same host. A key that exists is never replaced, and neither is a CA certificate whose
//! subject differs (every client trusts it); a certificate close to expiry is renewed with its
//! existing key, and the plan says why.

use super::kind::{AttributeChange, Claim, Decision, Implied, Kind, View};
use crate::compile_error::CompileError;
use crate::compile_error_kind::CompileErrorKind;
use crate::host_state::Ownership;
use crate::module::attrs::Attrs;
use crate::names::NameKind;
use crate::op::{CertificateAuthority, Op};
use crate::probe::{Probe, Reveal};
use crate::values::ValueKind;

pub const ATTRIBUTES: &[&str] = &["key", "subject", "days", "bits", "ca", "renew_before_days"];

#[derive(Debug, Clone)]
pub struct X509 {
    pub cert: String,
    pub key: String,
    /// As openssl's `-subj` takes it: `/C=US/.../CN=name`.
    pub subject: String,
    pub days: u32,
    pub bits: u32,
    /// The signing CA; `None` for a self-signed CA.
    pub ca: Option<CertificateAuthority>,
    pub renew_before_days: u32,
}

impl X509 {
    pub fn parse(attrs: &mut Attrs) -> Option<(String, Self)> {
        let cert = attrs.required_name("x509", NameKind::Path);
        let key = attrs.required_name("key", NameKind::Path);
        let subject = attrs.required_value("subject", ValueKind::X509Subject);
        let days = attrs.number("days", 3650, 1..=36500);
        let bits = attrs.number("bits", 4096, 2048..=16384);
        let renew_before_days = attrs.number("renew_before_days", 30, 0..=3650);
        let ca = attrs.string_map("ca").and_then(|entries| {
            let mut cert = None;
            let mut key = None;
            for (name, value) in entries {
                match name.as_str() {
                    "cert" => cert = attrs.checked(value, NameKind::Path),
                    "key" => key = attrs.checked(value, NameKind::Path),
                    _ => {
                        let kind = CompileErrorKind::UnknownAttribute {
                            kind: "x509 ca".into(),
                            name,
                            known: vec!["cert".into(), "key".into()],
                        };
                        attrs
                            .errors
                            .push(CompileError::new(kind, &value.origin, "unknown"));
                    }
                }
            }
            Some(CertificateAuthority {
                cert: cert?,
                key: key?,
            })
        });
        let subject = subject?;
        let cert = cert?;
        Some((
            cert.clone(),
            Self {
                cert,
                key: key?,
                subject,
                days,
                bits,
                ca,
                renew_before_days,
            },
        ))
    }

    fn issue(&self) -> Op {
        Op::IssueCertificate {
            cert: self.cert.clone(),
            key: self.key.clone(),
            subject: self.subject.clone(),
            days: self.days,
            ca: self.ca.clone(),
        }
    }

    /// Why an existing certificate must be issued again, if it must.
    fn reissue_reason(&self, view: &View) -> Result<Option<AttributeChange>, String> {
        let Some(current) = view.state.certificates.get(&self.cert) else {
            return Ok(None);
        };
        if current.subject != self.subject {
            if self.ca.is_none() {
                return Err(format!(
                    "the CA certificate {} has subject {}, not {}; f3s never replaces a CA \
                     (every client certificate depends on it). Fix the inventory, or move the \
                     old CA away yourself",
                    self.cert, current.subject, self.subject
                ));
            }
            return Ok(Some(AttributeChange::observed(
                "subject",
                &current.subject,
                &self.subject,
            )));
        }
        if let Some(ca) = &self.ca {
            let issuer = view.state.certificates.get(&ca.cert).map(|c| &c.subject);
            if issuer.is_some_and(|issuer| *issuer != current.issuer) {
                return Ok(Some(AttributeChange::observed(
                    "issuer",
                    &current.issuer,
                    issuer.cloned().unwrap_or_default(),
                )));
            }
        }
        let expires = expiry_seconds(&current.not_after)
            .ok_or_else(|| format!("cannot read the expiry date `{}`", current.not_after))?;
        let renew_from = expires - i64::from(self.renew_before_days) * 86_400;
        if view.now >= renew_from {
            return Ok(Some(AttributeChange::observed(
                "not_after",
                &format!(
                    "{} (renewed within {} days of expiry)",
                    current.not_after, self.renew_before_days
                ),
                format!("{} days from now", self.days),
            )));
        }
        Ok(None)
    }
}

/// Seconds since the epoch of an ISO date as `openssl x509 -dateopt iso_8601` prints it:
/// `YYYY-MM-DD HH:MM:SSZ`, with the fraction of a second a GeneralizedTime may carry before
/// the Z (crypto/asn1/a_time.c, ossl_asn1_time_print_ex), which does not count here.
pub fn expiry_seconds(date: &str) -> Option<i64> {
    let date = date.trim_end_matches('Z');
    let date = date.split_once('.').map_or(date, |(whole, _)| whole);
    let (day, time) = date.split_once(' ')?;
    let mut ymd = day.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (ymd.next()??, ymd.next()??, ymd.next()??);
    let mut hms = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, min, s) = (hms.next()??, hms.next()??, hms.next()??);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + min * 60 + s)
}

impl Kind for X509 {
    fn probes(&self) -> Vec<Probe> {
        let mut probes = vec![
            Probe::Path {
                path: self.key.clone(),
                reveal: Reveal::DigestOnly,
            },
            Probe::Certificate {
                path: self.cert.clone(),
            },
        ];
        if let Some(ca) = &self.ca {
            probes.push(Probe::Certificate {
                path: ca.cert.clone(),
            });
        }
        probes
    }

    fn decide(&self, view: &View) -> Result<Decision, String> {
        let mut decision = Decision::default();
        let has_key = view.state.files.contains_key(&self.key);
        let has_cert = view.state.certificates.contains_key(&self.cert);
        if !has_key {
            if has_cert && self.ca.is_none() {
                return Err(format!(
                    "the CA certificate {} exists but its key {} does not; f3s will not make a \
                     new CA over it. Restore the key, or move the old CA away yourself",
                    self.cert, self.key
                ));
            }
            decision.ops.push(Op::CreateKey {
                path: self.key.clone(),
                bits: self.bits,
                ownership: Ownership {
                    mode: "0600".into(),
                    owner: "root".into(),
                    group: view.os.root_group().into(),
                },
            });
            decision.changes.push(AttributeChange::new(
                "key",
                "",
                format!("RSA {}", self.bits),
            ));
        }
        let reason = self.reissue_reason(view)?;
        if !has_key || !has_cert || reason.is_some() {
            decision.ops.push(self.issue());
            decision.changes.extend(reason);
            if !has_cert {
                decision
                    .changes
                    .push(AttributeChange::new("subject", "", &self.subject));
            }
            decision.creates = !has_cert;
        }
        Ok(decision)
    }

    fn implied(&self) -> Vec<Implied> {
        let mut implied = vec![Implied::ParentOf(self.cert.clone())];
        if let Some(ca) = &self.ca {
            implied.push(Implied::Local {
                kind: "x509",
                name: ca.cert.clone(),
            });
        }
        implied
    }

    fn claim(&self) -> Option<Claim<'_>> {
        Some(Claim::Whole(&self.cert))
    }

    fn paths(&self) -> Vec<String> {
        vec![self.cert.clone(), self.key.clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_openssl_iso_dates() {
        assert_eq!(expiry_seconds("1970-01-01 00:00:00Z"), Some(0));
        assert_eq!(expiry_seconds("2036-11-19 05:22:22Z"), Some(2_110_684_942));
        assert_eq!(expiry_seconds("Nov 19 2036"), None);
        assert_eq!(
            expiry_seconds("2036-11-19 05:22:22.25Z"),
            Some(2_110_684_942)
        );
    }

    /// The real openssl's two forms of a certificate's end date (its default, read by GNU
    /// date, and iso_8601, read by f3s) are the same instant.
    #[test]
    fn reads_the_end_date_real_openssl_prints() {
        use std::process::Command;
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        let made = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=lab",
            ])
            .args(["-days", "3", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .unwrap();
        assert!(made.status.success(), "{made:?}");
        let end_date = |options: &[&str]| {
            let out = Command::new("openssl")
                .args(["x509", "-noout", "-enddate"])
                .args(options)
                .arg("-in")
                .arg(&cert)
                .output()
                .unwrap();
            let text = String::from_utf8(out.stdout).unwrap();
            text.trim().strip_prefix("notAfter=").unwrap().to_string()
        };
        let (iso, default) = (end_date(&["-dateopt", "iso_8601"]), end_date(&[]));
        let by_date = Command::new("date")
            .args(["-u", "-d", &default, "+%s"])
            .output()
            .unwrap();
        let seconds = String::from_utf8(by_date.stdout).unwrap().trim().parse();
        assert_eq!(expiry_seconds(&iso), seconds.ok(), "{iso} / {default}");
    }
}

#[cfg(test)]
mod decisions {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::host_state::{CertificateState, HostState};
    use crate::inventory::host::OsFamily;
    use crate::sensitive::Observed;

    const CA_SUBJECT: &str = "/O=F3S Storage/CN=F3S Stunnel CA";

    fn server() -> X509 {
        X509 {
            cert: "/etc/server-cert.pem".into(),
            key: "/etc/server-key.pem".into(),
            subject: "/O=F3S Storage/CN=f3s-storage-ha.lan".into(),
            days: 3650,
            bits: 4096,
            ca: Some(CertificateAuthority {
                cert: "/etc/ca-cert.pem".into(),
                key: "/etc/ca-key.pem".into(),
            }),
            renew_before_days: 30,
        }
    }

    fn issued(state: &mut HostState, cert: &str, subject: &str, not_after: &str) {
        let certificate = CertificateState {
            subject: subject.into(),
            issuer: CA_SUBJECT.into(),
            not_after: not_after.into(),
        };
        state.certificates.insert(cert.into(), certificate);
    }

    fn with_key(path: &str) -> HostState {
        let mut state = HostState::default();
        let file = crate::host_state::FileState {
            content: Observed::of(b"key", true),
            mode: "0600".into(),
            owner: "root".into(),
            group: "wheel".into(),
        };
        state.files.insert(path.into(), file);
        state
    }

    fn decide(x509: &X509, state: HostState, now: &str) -> Result<Decision, String> {
        let hosts = BTreeMap::from([("f0".to_string(), state)]);
        let view = View {
            os: OsFamily::Freebsd,
            now: expiry_seconds(now).unwrap(),
            state: &hosts["f0"],
            hosts: &hosts,
            pending: &BTreeSet::new(),
        };
        x509.decide(&view)
    }

    #[test]
    fn a_certificate_near_expiry_is_renewed_with_its_key_and_the_plan_says_why() {
        let mut state = with_key("/etc/server-key.pem");
        issued(
            &mut state,
            "/etc/ca-cert.pem",
            CA_SUBJECT,
            "2035-01-01 00:00:00Z",
        );
        let subject = server().subject;
        issued(
            &mut state,
            "/etc/server-cert.pem",
            &subject,
            "2026-12-01 00:00:00Z",
        );
        let far = decide(&server(), state.clone(), "2026-01-01 00:00:00Z").unwrap();
        assert!(far.ops.is_empty());
        let near = decide(&server(), state, "2026-11-22 00:00:00Z").unwrap();
        assert!(
            matches!(near.ops[..], [Op::IssueCertificate { .. }]),
            "no new key"
        );
        assert!(near.changes[0].before.contains("renewed within 30 days"));
    }

    #[test]
    fn a_ca_is_never_replaced() {
        let ca = X509 {
            cert: "/etc/ca-cert.pem".into(),
            key: "/etc/ca-key.pem".into(),
            subject: "/O=Other/CN=Another CA".into(),
            ca: None,
            ..server()
        };
        let mut state = with_key("/etc/ca-key.pem");
        issued(
            &mut state,
            "/etc/ca-cert.pem",
            CA_SUBJECT,
            "2035-01-01 00:00:00Z",
        );
        let error = decide(&ca, state, "2026-01-01 00:00:00Z").unwrap_err();
        assert!(error.contains("never replaces a CA"), "{error}");
        let mut keyless = HostState::default();
        issued(
            &mut keyless,
            "/etc/ca-cert.pem",
            CA_SUBJECT,
            "2035-01-01 00:00:00Z",
        );
        let subject_ok = X509 {
            subject: CA_SUBJECT.into(),
            ..ca
        };
        assert!(decide(&subject_ok, keyless, "2026-01-01 00:00:00Z").is_err());
    }
}
