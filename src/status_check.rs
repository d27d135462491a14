//! A module's `status:` entries: what a check reads on a running host (a typed read, as a
//! probe is typed: the transport spells it per OS family), how the value read is judged
//! (expected words, numeric thresholds given as module parameters, the word another check of
//! the same host read), and the verdict. Pure: the transport reads, the engine
//! (`crate::status`) puts the hosts together and judges what spans them (`exactly_one`).

use std::sync::Arc;

use serde::Serialize;

use crate::compile_error::CompileError;
use crate::compile_error_kind::CompileErrorKind;
use crate::module::attrs::{Attrs, Rendered};
use crate::names::NameKind;
use crate::source::Origin;
use crate::values::ValueKind;

/// What a check reads. Every read is read-only by construction: the transport turns each into
/// a query of its OS family (`transport/shell/status.rs`); only `Command` is the module's own
/// shell line, which the module author promises reads only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusRead {
    /// The CARP state of `vhid` on `interface` (MASTER, BACKUP, INIT), as ifconfig shows it.
    CarpRole { interface: String, vhid: u32 },
    /// Seconds since the newest snapshot of `dataset` was taken.
    SnapshotAge { dataset: String },
    /// The pool's health (ONLINE, DEGRADED, FAULTED …).
    PoolHealth { pool: String },
    /// Whether the dataset's key is loaded (available, unavailable; `-` unencrypted).
    KeyStatus { dataset: String },
    /// Whether the service runs: `running` or `stopped`.
    Service { name: String },
    /// Milliseconds the NFS (or any) mount at `path` takes to answer a stat.
    MountAnswers { path: String },
    /// Whole days until the certificate at `path` expires (negative once expired).
    CertificateDays { path: String },
    /// The first line a read-only shell command prints (exit 0), as a word.
    Command { command: String },
}

/// The reads a module may name, with the attributes each takes and the unit of its value.
pub const READS: &[(&str, &[&str], Unit)] = &[
    ("carp_role", &["interface", "vhid"], Unit::Word),
    ("snapshot_age", &["dataset"], Unit::Seconds),
    ("pool_health", &["pool"], Unit::Word),
    ("key_status", &["dataset"], Unit::Word),
    ("service", &["service"], Unit::Word),
    ("mount_answers", &["path"], Unit::Millis),
    ("certificate_days", &["path"], Unit::Days),
    ("command", &["command"], Unit::Word),
];

/// The attributes every status entry may have, besides its read's.
pub const STATUS_ATTRIBUTES: &[&str] = &[
    "check",
    "read",
    "on",
    "timeout",
    "expect",
    "expect_by",
    "warn_above",
    "fail_above",
    "warn_below",
    "fail_below",
    "exactly_one",
    "help",
    "for_each",
];

/// What a read's value counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Word,
    Seconds,
    Millis,
    Days,
}

impl StatusRead {
    pub fn unit(&self) -> Unit {
        match self {
            Self::SnapshotAge { .. } => Unit::Seconds,
            Self::MountAnswers { .. } => Unit::Millis,
            Self::CertificateDays { .. } => Unit::Days,
            _ => Unit::Word,
        }
    }
}

/// What a read gave: a word, or a quantity in its read's unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    Word(String),
    Quantity(i64),
}

/// Why a read gave nothing, in words a person can act on (the host's words quoted).
pub type Unread = String;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

impl Level {
    pub fn word(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Warn => "WARN",
            Self::Fail => "FAIL",
        }
    }
}

/// A judged value: the level, the value as shown, and what is wrong (`None` when OK).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub level: Level,
    pub value: String,
    pub problem: Option<String>,
}

/// The word another check of the same host must read for this one to expect a given word:
/// `expect_by: { check: "carp …", MASTER: running, BACKUP: stopped }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectBy {
    pub check: String,
    pub cases: Vec<(String, String)>,
}

/// How a value is judged. Thresholds are in the read's unit; `above` is strictly greater,
/// `below` strictly less.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Judge {
    pub expect: Vec<String>,
    pub expect_by: Option<ExpectBy>,
    pub warn_above: Option<i64>,
    pub fail_above: Option<i64>,
    pub warn_below: Option<i64>,
    pub fail_below: Option<i64>,
    /// Across every host with a check of this name: exactly one reads this word.
    pub exactly_one: Option<String>,
}

/// One check of one host, compiled from a module's `status:` entry.
#[derive(Debug, Clone)]
pub struct StatusCheck {
    /// The host it reads on (the entry's `on:`, else the host whose module declares it).
    pub host: String,
    /// The host whose module declares it.
    pub declared_by: String,
    pub module: Arc<str>,
    pub name: String,
    pub read: StatusRead,
    /// Seconds the read may take on the host before it is killed (a hung mount).
    pub timeout: u32,
    pub judge: Judge,
    /// What to do when it is not OK, from the module.
    pub help: Option<String>,
    pub origin: Origin,
}

/// Bounds of a read's timeout, in seconds: long enough for a slow pool, short enough that a
/// hung mount cannot hold a status run past the command deadline.
pub const TIMEOUT_RANGE: std::ops::RangeInclusive<u32> = 1..=120;
pub const DEFAULT_TIMEOUT: u32 = 10;

impl StatusCheck {
    /// Reads one `status:` entry for `host`; faults go to `attrs.errors`.
    pub fn parse(attrs: &mut Attrs, host: &str) -> Option<Self> {
        let name = attrs.required_value("check", ValueKind::Label);
        let kind = attrs.choice(
            "read",
            &READS.iter().map(|(name, _, _)| *name).collect::<Vec<_>>(),
        );
        if !attrs.has("read") {
            attrs.missing("read");
        }
        let read = kind.and_then(|kind| read(attrs, kind));
        // An `on:` rendered empty leaves the check out: the module's parameter naming that
        // host was not given (a zrepl source with no sink host in the inventory).
        let on = match attrs.string("on") {
            Some(rendered) if rendered.value.is_empty() => None,
            Some(rendered) => Some(attrs.checked(rendered, NameKind::HostName)),
            None => Some(Some(host.to_string())),
        };
        let timeout = attrs.number("timeout", DEFAULT_TIMEOUT, TIMEOUT_RANGE);
        let judge = Judge {
            expect: attrs.list("expect").into_iter().map(|r| r.value).collect(),
            expect_by: expect_by(attrs),
            warn_above: quantity(attrs, "warn_above"),
            fail_above: quantity(attrs, "fail_above"),
            warn_below: quantity(attrs, "warn_below"),
            fail_below: quantity(attrs, "fail_below"),
            exactly_one: attrs.string("exactly_one").map(|r| r.value),
        };
        let help = attrs.string("help").map(|r| r.value);
        let read = read?;
        let on = on??;
        let thresholds = [
            judge.warn_above,
            judge.fail_above,
            judge.warn_below,
            judge.fail_below,
        ];
        if read.unit() == Unit::Word && thresholds.iter().any(Option::is_some) {
            let kind = CompileErrorKind::WrongType {
                expected: "a read that gives a number (snapshot_age, mount_answers, certificate_days) for thresholds".into(),
                found: format!("`{}`", kind.unwrap_or_default()),
            };
            attrs
                .errors
                .push(CompileError::new(kind, &attrs.origin, "reads a word"));
        }
        Some(Self {
            host: on,
            declared_by: host.to_string(),
            module: Arc::from(""),
            name: name?,
            read,
            timeout,
            judge,
            help,
            origin: attrs.origin.clone(),
        })
    }

    /// Judges what the read gave; `by` is the word the `expect_by` check of the same host
    /// read, where it has one (`None`: it could not be read).
    pub fn verdict(&self, reading: &Result<Reading, Unread>, by: Option<&str>) -> Verdict {
        let unit = self.read.unit();
        let reading = match reading {
            Ok(reading) => reading,
            Err(why) => {
                return Verdict {
                    level: Level::Fail,
                    value: "not read".into(),
                    problem: Some(why.clone()),
                };
            }
        };
        match reading {
            Reading::Word(word) => self.judge_word(word, by),
            Reading::Quantity(n) => self.judge.quantity(*n, unit, &self.read),
        }
    }

    fn judge_word(&self, word: &str, by: Option<&str>) -> Verdict {
        let value = shown_word(&self.read, word);
        let expected: Vec<&str> = match &self.judge.expect_by {
            Some(rule) => match by {
                None => {
                    return Verdict {
                        level: Level::Fail,
                        value,
                        problem: Some(format!(
                            "cannot tell what to expect: `{}` was not read",
                            rule.check
                        )),
                    };
                }
                Some(by) => match rule.cases.iter().find(|(when, _)| when == by) {
                    Some((_, wanted)) => vec![wanted.as_str()],
                    None => {
                        return Verdict {
                            level: Level::Fail,
                            value,
                            problem: Some(format!(
                                "`{}` reads {by}, for which nothing is expected",
                                rule.check
                            )),
                        };
                    }
                },
            },
            None => self.judge.expect.iter().map(String::as_str).collect(),
        };
        if expected.is_empty() || expected.contains(&word) {
            return Verdict {
                level: Level::Ok,
                value,
                problem: None,
            };
        }
        let because = match (&self.judge.expect_by, by) {
            (Some(rule), Some(by)) => format!(" where `{}` reads {by}", rule.check),
            _ => String::new(),
        };
        Verdict {
            level: Level::Fail,
            value,
            problem: Some(format!("expected {}{because}", expected.join(" or "))),
        }
    }
}

impl Judge {
    /// A quantity against the thresholds: FAIL past a fail bound, WARN past a warn bound.
    pub fn quantity(&self, n: i64, unit: Unit, read: &StatusRead) -> Verdict {
        let value = shown_quantity(read, n);
        let bounds = self.bounds(unit);
        let past = |above: Option<i64>, below: Option<i64>| {
            above.is_some_and(|a| n > a) || below.is_some_and(|b| n < b)
        };
        let (level, which) = if past(self.fail_above, self.fail_below) {
            (Level::Fail, "the fail bound")
        } else if past(self.warn_above, self.warn_below) {
            (Level::Warn, "the warn bound")
        } else {
            (Level::Ok, "")
        };
        let value = match bounds.is_empty() {
            true => value,
            false => format!("{value} ({bounds})"),
        };
        Verdict {
            level,
            value,
            problem: (level != Level::Ok).then(|| format!("past {which}")),
        }
    }

    /// The thresholds as shown: `warn > 5 min, fail > 30 min`.
    fn bounds(&self, unit: Unit) -> String {
        [
            ("warn >", self.warn_above),
            ("fail >", self.fail_above),
            ("warn <", self.warn_below),
            ("fail <", self.fail_below),
        ]
        .iter()
        .filter_map(|(what, bound)| bound.map(|b| format!("{what} {}", amount(b, unit))))
        .collect::<Vec<_>>()
        .join(", ")
    }
}

/// A word as a row shows it.
fn shown_word(read: &StatusRead, word: &str) -> String {
    match read {
        StatusRead::KeyStatus { .. } => format!("key {word}"),
        _ => word.to_string(),
    }
}

/// A quantity as a row shows it, in words.
fn shown_quantity(read: &StatusRead, n: i64) -> String {
    match read {
        StatusRead::SnapshotAge { .. } => {
            format!("newest snapshot {} old", amount(n, Unit::Seconds))
        }
        StatusRead::MountAnswers { .. } => format!("answers in {}", amount(n, Unit::Millis)),
        StatusRead::CertificateDays { .. } if n < 0 => {
            format!("expired {} ago", amount(-n, Unit::Days))
        }
        StatusRead::CertificateDays { .. } => format!("expires in {}", amount(n, Unit::Days)),
        _ => n.to_string(),
    }
}

/// An amount in words: `48 s`, `5 min`, `3 h 5 min`, `3,641 days`, `12 ms`.
pub fn amount(n: i64, unit: Unit) -> String {
    match unit {
        Unit::Word => n.to_string(),
        Unit::Millis => format!("{} ms", grouped(n)),
        Unit::Days if n == 1 => "1 day".into(),
        Unit::Days => format!("{} days", grouped(n)),
        Unit::Seconds => {
            let (d, h, m, s) = (n / 86_400, n % 86_400 / 3600, n % 3600 / 60, n % 60);
            match (d, h, m, s) {
                (0, 0, 0, s) => format!("{s} s"),
                (0, 0, m, 0) => format!("{m} min"),
                (0, 0, m, s) => format!("{m} min {s} s"),
                (0, h, 0, _) => format!("{h} h"),
                (0, h, m, _) => format!("{h} h {m} min"),
                (d, 0, _, _) => format!("{d} d"),
                (d, h, _, _) => format!("{d} d {h} h"),
            }
        }
    }
}

/// Thousands separated by commas: 3,641.
fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    match n < 0 {
        true => format!("-{out}"),
        false => out,
    }
}

/// Resolves each `expect_by` against the checks of its host: one naming a check the host does
/// not have falls back to the entry's `expect` where it gives one (a service a module keeps
/// running where no `carp` module says which member is MASTER), and is a fault otherwise.
pub fn resolve_references(checks: &mut [StatusCheck]) -> Vec<CompileError> {
    let missing: Vec<usize> = (0..checks.len())
        .filter(|&i| {
            checks[i].judge.expect_by.as_ref().is_some_and(|rule| {
                !checks
                    .iter()
                    .any(|other| other.host == checks[i].host && other.name == rule.check)
            })
        })
        .collect();
    let mut faults = Vec::new();
    for i in missing {
        let check = &mut checks[i];
        if !check.judge.expect.is_empty() {
            check.judge.expect_by = None;
            continue;
        }
        let rule = check.judge.expect_by.as_ref().expect("filtered above");
        let kind = CompileErrorKind::WrongType {
            expected: format!("the name of a status check read on {}", check.host),
            found: format!("`{}`", rule.check),
        };
        faults.push(CompileError::new(
            kind,
            &check.origin,
            "expect_by names no such check (and no `expect` says what to expect without it)",
        ));
    }
    faults
}

/// The read `kind` names, with its attributes.
fn read(attrs: &mut Attrs, kind: &str) -> Option<StatusRead> {
    Some(match kind {
        "carp_role" => {
            let interface = attrs.required_name("interface", NameKind::Interface);
            let vhid = match attrs.has("vhid") {
                true => attrs.number("vhid", 1, 1..=255),
                false => {
                    attrs.missing("vhid");
                    return None;
                }
            };
            StatusRead::CarpRole {
                interface: interface?,
                vhid,
            }
        }
        "snapshot_age" => StatusRead::SnapshotAge {
            dataset: attrs.required_name("dataset", NameKind::Dataset)?,
        },
        "pool_health" => StatusRead::PoolHealth {
            pool: attrs.required_name("pool", NameKind::Dataset)?,
        },
        "key_status" => StatusRead::KeyStatus {
            dataset: attrs.required_name("dataset", NameKind::Dataset)?,
        },
        "service" => StatusRead::Service {
            name: attrs.required_name("service", NameKind::Service)?,
        },
        "mount_answers" => StatusRead::MountAnswers {
            path: attrs.required_name("path", NameKind::Path)?,
        },
        "certificate_days" => StatusRead::CertificateDays {
            path: attrs.required_name("path", NameKind::Path)?,
        },
        "command" => {
            let rendered = attrs.required_string("command")?;
            if rendered.value.trim().is_empty() || rendered.value.contains('\0') {
                let kind = CompileErrorKind::WrongType {
                    expected: "a shell command line".into(),
                    found: rendered.quoted(),
                };
                attrs
                    .errors
                    .push(CompileError::new(kind, &rendered.origin, "not a command"));
                return None;
            }
            StatusRead::Command {
                command: rendered.value,
            }
        }
        _ => return None,
    })
}

/// A whole number (negative too: a certificate's days) given to a threshold.
fn quantity(attrs: &mut Attrs, name: &str) -> Option<i64> {
    let Rendered { value, origin, .. } = attrs.string(name)?;
    match value.trim().parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            let kind = CompileErrorKind::WrongType {
                expected: "a whole number".into(),
                found: format!("`{value}`"),
            };
            attrs
                .errors
                .push(CompileError::new(kind, &origin, "not a number"));
            None
        }
    }
}

fn expect_by(attrs: &mut Attrs) -> Option<ExpectBy> {
    let mut entries = attrs.string_map("expect_by")?;
    let Some(at) = entries.iter().position(|(key, _)| key == "check") else {
        let kind = CompileErrorKind::MissingAttribute {
            kind: "status expect_by".into(),
            name: "check".into(),
        };
        attrs
            .errors
            .push(CompileError::new(kind, &attrs.origin, "in this entry"));
        return None;
    };
    let check = entries.remove(at).1.value;
    Some(ExpectBy {
        check,
        cases: entries
            .into_iter()
            .map(|(when, wanted)| (when, wanted.value))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(read: StatusRead, judge: Judge) -> StatusCheck {
        let file = crate::source::SourceFile::new("module.yml", "status: []\n");
        StatusCheck {
            host: "f1".into(),
            declared_by: "f0".into(),
            module: Arc::from("m"),
            name: "c".into(),
            read,
            timeout: DEFAULT_TIMEOUT,
            judge,
            help: None,
            origin: Origin::whole(&file),
        }
    }

    fn age(warn: i64, fail: i64) -> StatusCheck {
        let read = StatusRead::SnapshotAge {
            dataset: "zdata/sink".into(),
        };
        let judge = Judge {
            warn_above: Some(warn),
            fail_above: Some(fail),
            ..Judge::default()
        };
        check(read, judge)
    }

    #[test]
    fn a_quantity_is_ok_within_its_bounds_and_warns_or_fails_past_them() {
        let c = age(300, 1800);
        let level = |n| c.verdict(&Ok(Reading::Quantity(n)), None).level;
        assert_eq!(level(48), Level::Ok);
        assert_eq!(level(300), Level::Ok, "a bound itself is within it");
        assert_eq!(level(301), Level::Warn);
        assert_eq!(level(1800), Level::Warn);
        assert_eq!(level(1801), Level::Fail);
        let shown = c.verdict(&Ok(Reading::Quantity(48)), None);
        assert_eq!(
            shown.value,
            "newest snapshot 48 s old (warn > 5 min, fail > 30 min)"
        );
        assert_eq!(shown.problem, None);
    }

    #[test]
    fn a_certificate_warns_below_its_days_and_fails_once_expired() {
        let read = StatusRead::CertificateDays {
            path: "/c.pem".into(),
        };
        let judge = Judge {
            warn_below: Some(30),
            fail_below: Some(1),
            ..Judge::default()
        };
        let c = check(read, judge);
        let verdict = |n| c.verdict(&Ok(Reading::Quantity(n)), None);
        assert_eq!(verdict(3641).level, Level::Ok);
        assert_eq!(
            verdict(3641).value,
            "expires in 3,641 days (warn < 30 days, fail < 1 day)"
        );
        assert_eq!(verdict(29).level, Level::Warn);
        assert_eq!(verdict(0).level, Level::Fail);
        assert_eq!(
            verdict(-3).value,
            "expired 3 days ago (warn < 30 days, fail < 1 day)"
        );
    }

    #[test]
    fn a_word_must_be_one_expected() {
        let read = StatusRead::PoolHealth {
            pool: "zdata".into(),
        };
        let c = check(
            read,
            Judge {
                expect: vec!["ONLINE".into()],
                ..Judge::default()
            },
        );
        let ok = c.verdict(&Ok(Reading::Word("ONLINE".into())), None);
        assert_eq!((ok.level, ok.value.as_str()), (Level::Ok, "ONLINE"));
        let bad = c.verdict(&Ok(Reading::Word("DEGRADED".into())), None);
        assert_eq!(bad.level, Level::Fail);
        assert_eq!(bad.problem.as_deref(), Some("expected ONLINE"));
    }

    #[test]
    fn an_expectation_follows_another_checks_word() {
        let read = StatusRead::Service {
            name: "nfsd".into(),
        };
        let judge = Judge {
            expect_by: Some(ExpectBy {
                check: "carp".into(),
                cases: vec![
                    ("MASTER".into(), "running".into()),
                    ("BACKUP".into(), "stopped".into()),
                ],
            }),
            ..Judge::default()
        };
        let c = check(read, judge);
        let running = Ok(Reading::Word("running".into()));
        assert_eq!(c.verdict(&running, Some("MASTER")).level, Level::Ok);
        let wrong = c.verdict(&running, Some("BACKUP"));
        assert_eq!(wrong.level, Level::Fail);
        assert_eq!(
            wrong.problem.as_deref(),
            Some("expected stopped where `carp` reads BACKUP")
        );
        assert_eq!(c.verdict(&running, Some("INIT")).level, Level::Fail);
        assert_eq!(c.verdict(&running, None).level, Level::Fail);
    }

    #[test]
    fn what_could_not_be_read_fails_with_why() {
        let c = age(300, 1800);
        let verdict = c.verdict(&Err("timed out after 10 s".into()), None);
        assert_eq!(verdict.level, Level::Fail);
        assert_eq!(verdict.problem.as_deref(), Some("timed out after 10 s"));
    }

    #[test]
    fn amounts_read_as_words() {
        assert_eq!(amount(48, Unit::Seconds), "48 s");
        assert_eq!(amount(300, Unit::Seconds), "5 min");
        assert_eq!(amount(11_100, Unit::Seconds), "3 h 5 min");
        assert_eq!(amount(90_000, Unit::Seconds), "1 d 1 h");
        assert_eq!(amount(1_234_567, Unit::Millis), "1,234,567 ms");
        assert_eq!(amount(100, Unit::Days), "100 days");
    }
}
