//! A module's `status:` entries: what a check reads on a running host (a typed read, as a
//! probe is typed: the transport spells it per OS family), how the value read is judged
//! (expected words, numeric thresholds given as module parameters, the word another check of
//! the same host read), and the verdict. Pure: the transport reads, the engine
//! (`crate::status`) puts the hosts together and judges what spans them (`exactly_one`, and
//! `behind`: a replica's newest snapshot against its source's, `judge_behind`).

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
    /// The newest snapshots of `dataset` and the host's clock: judged as the seconds since
    /// the newest was taken, and (`behind`) against the same read on another host.
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
    "behind",
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
    /// The dataset a read names, or the empty string.
    pub fn dataset(&self) -> &str {
        match self {
            Self::SnapshotAge { dataset } | Self::KeyStatus { dataset } => dataset,
            Self::PoolHealth { pool } => pool,
            _ => "",
        }
    }

    pub fn unit(&self) -> Unit {
        match self {
            Self::SnapshotAge { .. } => Unit::Seconds,
            Self::MountAnswers { .. } => Unit::Millis,
            Self::CertificateDays { .. } => Unit::Days,
            _ => Unit::Word,
        }
    }
}

/// What a read gave: a word, a quantity in its read's unit, or a dataset's snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    Word(String),
    Quantity(i64),
    Snapshots(Snapshots),
}

/// The newest snapshots of a dataset as its host listed them, and the host's clock then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshots {
    /// Seconds since the epoch on the host's clock, read after the listing.
    pub now: i64,
    /// The newest `SNAPSHOTS_KEPT` at most, oldest first (as `zfs list -s creation` lists
    /// them: by creation time, then by the order they were taken).
    pub newest: Vec<Snapshot>,
    /// How many the dataset has in all (more than `newest` holds when older ones were left
    /// out).
    pub total: usize,
}

/// One snapshot: its name after the `@`, and when it was taken (seconds since the epoch; a
/// received snapshot keeps its source's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub name: String,
    pub creation: i64,
}

/// How many of a dataset's newest snapshots a host sends: enough to count how far a replica
/// is behind (zrepl keeps 10 by default), bounded whatever the host holds.
pub const SNAPSHOTS_KEPT: usize = 100;

impl Snapshots {
    pub fn last(&self) -> Option<&Snapshot> {
        self.newest.last()
    }
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
    /// Across two hosts: this check's newest snapshot against the same check's on another.
    pub behind: Option<Behind>,
}

/// `behind: { host: f0, warn_above: 300, fail_above: 1800 }`: the dataset this check reads
/// is a replica of the one the check of the same name reads on `host`; it is judged by how
/// far its newest snapshot is behind that one's, in seconds of creation time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Behind {
    pub host: String,
    pub warn_above: Option<i64>,
    pub fail_above: Option<i64>,
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
            behind: behind(attrs),
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
        if judge.behind.is_some() && !matches!(read, StatusRead::SnapshotAge { .. }) {
            let kind = CompileErrorKind::WrongType {
                expected: "a read of snapshots (snapshot_age) for `behind`".into(),
                found: format!("`{}`", kind.unwrap_or_default()),
            };
            attrs
                .errors
                .push(CompileError::new(kind, &attrs.origin, "reads no snapshots"));
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
            Reading::Snapshots(snapshots) => match snapshots.last() {
                Some(newest) => {
                    self.judge
                        .quantity(snapshots.now - newest.creation, unit, &self.read)
                }
                None => Verdict {
                    level: Level::Fail,
                    value: "no snapshot".into(),
                    problem: Some(format!("{} has no snapshot", self.read.dataset())),
                },
            },
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

/// A replica's newest snapshot against its source's (`behind`), judged across the two hosts:
/// OK where the replica holds the source's newest snapshot, or lags it by no more than the
/// thresholds: the seconds between the two newest snapshots' creation times (a received
/// snapshot keeps the creation time it had on the source, so both are the source's clock).
/// FAIL where either side was not read or has no snapshot, past the fail bound, or where the
/// replica's newest is not on the source and nothing on the source is newer (they have
/// diverged: the source was rolled back or lost its newest snapshots).
pub fn judge_behind(
    (replica_check, replica): (&StatusCheck, &Result<Reading, Unread>),
    (source_check, source): (&StatusCheck, &Result<Reading, Unread>),
) -> Verdict {
    let fail = |value: String, problem: String| Verdict {
        level: Level::Fail,
        value,
        problem: Some(problem),
    };
    let listed = |check: &StatusCheck, reading: &Result<Reading, Unread>| match reading {
        Ok(Reading::Snapshots(snapshots)) => Ok(snapshots.clone()),
        Ok(_) => Err(fail(
            format!("not read on {}", check.host),
            format!("{}: the read gave no list of snapshots", check.host),
        )),
        Err(why) => Err(fail(
            format!("not read on {}", check.host),
            format!("{}: {why}", check.host),
        )),
    };
    let (replica, source) = match (listed(replica_check, replica), listed(source_check, source)) {
        (Err(verdict), _) | (_, Err(verdict)) => return verdict,
        (Ok(replica), Ok(source)) => (replica, source),
    };
    let (here, there) = (replica_check.host.as_str(), source_check.host.as_str());
    let (mine_ds, theirs_ds) = (replica_check.read.dataset(), source_check.read.dataset());
    let (warn_above, fail_above) = replica_check
        .judge
        .behind
        .as_ref()
        .map_or((None, None), |rule| (rule.warn_above, rule.fail_above));
    let bounds = Judge {
        warn_above,
        fail_above,
        ..Judge::default()
    }
    .bounds(Unit::Seconds);
    let Some(theirs) = source.last() else {
        return fail(
            format!("{there} has no snapshot of {theirs_ds}"),
            format!("nothing to compare {mine_ds} on {here} with: its source has no snapshot"),
        );
    };
    let Some(mine) = replica.last() else {
        return fail(
            format!("no snapshot on {here} (newest on {there} {})", theirs.name),
            format!(
                "{here} holds no snapshot of {mine_ds}; {there}'s newest of {theirs_ds} is {}",
                theirs.name
            ),
        );
    };
    let found = source.newest.iter().rposition(|snapshot| snapshot == mine);
    let behind = match found {
        Some(at) => source.newest.len() - 1 - at,
        None => source
            .newest
            .iter()
            .filter(|snapshot| snapshot.creation > mine.creation)
            .count(),
    };
    if behind == 0 && found.is_some() {
        let bounds = match bounds.is_empty() {
            true => String::new(),
            false => format!(" ({bounds} behind)"),
        };
        return Verdict {
            level: Level::Ok,
            value: format!("holds {there}'s newest snapshot {}{bounds}", theirs.name),
            problem: None,
        };
    }
    if behind == 0 {
        return fail(
            format!(
                "newest on {here} {} is not on {there} (newest there {})",
                mine.name, theirs.name
            ),
            format!(
                "{mine_ds} on {here} holds a snapshot that {theirs_ds} on {there} does not, \
                 and {there} has none newer: they have diverged (the source rolled back, or \
                 its newest snapshots destroyed)"
            ),
        );
    }
    // Older ones were left out of the list and all it holds are newer: there may be more.
    let at_least =
        found.is_none() && source.total > source.newest.len() && behind == source.newest.len();
    let lag = (theirs.creation - mine.creation).max(0);
    let past = |bound: Option<i64>| bound.is_some_and(|b| lag > b);
    let (level, which) = if past(fail_above) {
        (Level::Fail, "fail")
    } else if past(warn_above) {
        (Level::Warn, "warn")
    } else {
        (Level::Ok, "")
    };
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let count = format!(
        "{}{behind} snapshot{} behind {there}",
        if at_least { "at least " } else { "" },
        plural(behind)
    );
    let bounds = match bounds.is_empty() {
        true => String::new(),
        false => format!("; {bounds}"),
    };
    Verdict {
        level,
        value: format!(
            "{count} (newest on {here} {}, on {there} {}; {} behind{bounds})",
            mine.name,
            theirs.name,
            amount(lag, Unit::Seconds)
        ),
        problem: (level != Level::Ok).then(|| {
            let last = match behind {
                1 => "the last snapshot".to_string(),
                n => format!("the last {n} snapshots"),
            };
            format!(
                "past the {which} bound: {mine_ds} on {here} lacks {}{last} of {theirs_ds} on \
                 {there}",
                if at_least { "at least " } else { "" },
            )
        }),
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
/// Each `behind` needs a check of the same name reading snapshots on the host it names.
pub fn resolve_references(checks: &mut [StatusCheck]) -> Vec<CompileError> {
    let mut faults = behind_faults(checks);
    faults.extend(expect_by_faults(checks));
    faults
}

/// The check a `behind` compares `check` with: the one of the same name reading snapshots on
/// the host it names.
pub fn behind_source<'a>(
    check: &StatusCheck,
    checks: &'a [StatusCheck],
) -> Option<&'a StatusCheck> {
    let rule = check.judge.behind.as_ref()?;
    checks.iter().find(|other| {
        other.host == rule.host
            && other.name == check.name
            && matches!(other.read, StatusRead::SnapshotAge { .. })
    })
}

fn behind_faults(checks: &[StatusCheck]) -> Vec<CompileError> {
    checks
        .iter()
        .filter_map(|check| {
            let rule = check.judge.behind.as_ref()?;
            let source = behind_source(check, checks).is_some();
            if rule.host == check.host {
                let kind = CompileErrorKind::WrongType {
                    expected: "another host than the one the check reads on".into(),
                    found: format!("`{}`", rule.host),
                };
                return Some(CompileError::new(
                    kind,
                    &check.origin,
                    "behind names its own host",
                ));
            }
            if source {
                return None;
            }
            let kind = CompileErrorKind::WrongType {
                expected: format!(
                    "a host with a status check `{}` reading snapshots (snapshot_age)",
                    check.name
                ),
                found: format!("`{}`", rule.host),
            };
            Some(CompileError::new(
                kind,
                &check.origin,
                "behind names a host with no such check to compare with",
            ))
        })
        .collect()
}

fn expect_by_faults(checks: &mut [StatusCheck]) -> Vec<CompileError> {
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
    let rendered = attrs.string(name)?;
    whole(attrs, rendered)
}

fn whole(attrs: &mut Attrs, rendered: Rendered) -> Option<i64> {
    let Rendered { value, origin, .. } = rendered;
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

/// The keys `behind:` takes.
const BEHIND_KEYS: &[&str] = &["host", "warn_above", "fail_above"];

/// `behind: { host: HOST, warn_above: N, fail_above: N }`; a host rendered empty leaves the
/// judgment out, as an empty `on:` leaves a check out.
fn behind(attrs: &mut Attrs) -> Option<Behind> {
    let entries = attrs.string_map("behind")?;
    let mut host = None;
    let mut warn_above = None;
    let mut fail_above = None;
    for (key, rendered) in entries {
        match key.as_str() {
            "host" => host = Some(rendered),
            "warn_above" => warn_above = whole(attrs, rendered),
            "fail_above" => fail_above = whole(attrs, rendered),
            _ => {
                let kind = CompileErrorKind::UnknownAttribute {
                    kind: "status behind".into(),
                    name: key,
                    known: BEHIND_KEYS.iter().map(|k| k.to_string()).collect(),
                };
                attrs.errors.push(CompileError::new(
                    kind,
                    &rendered.origin,
                    "not a key of `behind`",
                ));
            }
        }
    }
    let Some(host) = host else {
        missing_key(attrs, "status behind", "host");
        return None;
    };
    if host.value.is_empty() {
        return None;
    }
    Some(Behind {
        host: attrs.checked(host, NameKind::HostName)?,
        warn_above,
        fail_above,
    })
}

/// A mapping of an entry (`behind`, `expect_by`) without the key it needs.
fn missing_key(attrs: &mut Attrs, kind: &str, name: &str) {
    let kind = CompileErrorKind::MissingAttribute {
        kind: kind.into(),
        name: name.into(),
    };
    attrs
        .errors
        .push(CompileError::new(kind, &attrs.origin, "in this entry"));
}

fn expect_by(attrs: &mut Attrs) -> Option<ExpectBy> {
    let mut entries = attrs.string_map("expect_by")?;
    let Some(at) = entries.iter().position(|(key, _)| key == "check") else {
        missing_key(attrs, "status expect_by", "check");
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

    fn snapshots(now: i64, taken: &[(&str, i64)]) -> Result<Reading, Unread> {
        Ok(Reading::Snapshots(Snapshots {
            now,
            newest: taken
                .iter()
                .map(|(name, creation)| Snapshot {
                    name: name.to_string(),
                    creation: *creation,
                })
                .collect(),
            total: taken.len(),
        }))
    }

    /// The sink's check (on f1, behind f0) and the source's (on f0), as zrepl_source
    /// declares them.
    fn replica_and_source() -> (StatusCheck, StatusCheck) {
        let mut replica = age(300, 1800);
        replica.read = StatusRead::SnapshotAge {
            dataset: "zdata/sink/f0/zdata/enc/nfsdata".into(),
        };
        replica.judge.behind = Some(Behind {
            host: "f0".into(),
            warn_above: Some(300),
            fail_above: Some(1800),
        });
        let mut source = age(300, 1800);
        source.host = "f0".into();
        source.read = StatusRead::SnapshotAge {
            dataset: "zdata/enc/nfsdata".into(),
        };
        (replica, source)
    }

    const A: &str = "zrepl_20261207_101500_000";
    const B: &str = "zrepl_20261207_102000_000";
    const C: &str = "zrepl_20261207_102500_000";
    const D: &str = "zrepl_20261207_103000_000";
    const T: i64 = 1_796_638_500;

    fn behind(replica: &Result<Reading, Unread>, source: &Result<Reading, Unread>) -> Verdict {
        let (replica_check, source_check) = replica_and_source();
        judge_behind((&replica_check, replica), (&source_check, source))
    }

    #[test]
    fn a_snapshot_age_is_the_newest_against_the_hosts_clock_and_none_fails() {
        let c = age(300, 1800);
        let verdict = c.verdict(&snapshots(T + 48, &[(A, T - 600), (B, T)]), None);
        assert_eq!(verdict.level, Level::Ok);
        assert_eq!(
            verdict.value,
            "newest snapshot 48 s old (warn > 5 min, fail > 30 min)"
        );
        let none = c.verdict(&snapshots(T, &[]), None);
        assert_eq!(none.level, Level::Fail);
        assert_eq!(none.value, "no snapshot");
        assert_eq!(none.problem.as_deref(), Some("zdata/sink has no snapshot"));
    }

    #[test]
    fn a_replica_holding_its_sources_newest_snapshot_is_ok() {
        let taken = [(A, T - 900), (B, T - 600)];
        let verdict = behind(&snapshots(T, &taken), &snapshots(T, &taken));
        assert_eq!(verdict.level, Level::Ok);
        assert_eq!(
            verdict.value,
            format!("holds f0's newest snapshot {B} (warn > 5 min, fail > 30 min behind)")
        );
        assert_eq!(verdict.problem, None);
    }

    #[test]
    fn a_replica_behind_its_source_is_judged_by_the_time_between_their_newest() {
        let source = snapshots(T, &[(A, T - 900), (B, T - 600), (C, T - 300), (D, T)]);
        // One behind by a minute: zrepl between snapshotting and sending.
        let one = behind(&snapshots(T, &[(A, T - 900), (C, T - 300)]), &source);
        assert_eq!(one.level, Level::Ok);
        assert_eq!(
            one.value,
            format!(
                "1 snapshot behind f0 (newest on f1 {C}, on f0 {D}; 5 min behind; warn > 5 min, fail > 30 min)"
            )
        );
        let three = behind(&snapshots(T, &[(A, T - 900)]), &source);
        assert_eq!(three.level, Level::Warn);
        assert_eq!(
            three.value,
            format!(
                "3 snapshots behind f0 (newest on f1 {A}, on f0 {D}; 15 min behind; warn > 5 min, fail > 30 min)"
            )
        );
        assert_eq!(
            three.problem.as_deref(),
            Some(
                "past the warn bound: zdata/sink/f0/zdata/enc/nfsdata on f1 lacks the last 3 snapshots of zdata/enc/nfsdata on f0"
            )
        );
        // The replica's newest long pruned on the source: counted by creation time.
        let pruned = behind(&snapshots(T, &[("zrepl_old", T - 7200)]), &source);
        assert_eq!(pruned.level, Level::Fail);
        assert!(
            pruned
                .value
                .starts_with("4 snapshots behind f0 (newest on f1 zrepl_old, on f0 "),
            "{}",
            pruned.value
        );
        assert!(pruned.value.contains("; 2 h behind;"), "{}", pruned.value);
        // The source listed only its newest: more may be missing than it showed.
        let Ok(Reading::Snapshots(mut cut)) = source.clone() else {
            unreachable!()
        };
        cut.total = 250;
        let at_least = behind(
            &snapshots(T, &[("zrepl_old", T - 7200)]),
            &Ok(Reading::Snapshots(cut)),
        );
        assert!(
            at_least.value.starts_with("at least 4 snapshots behind f0"),
            "{}",
            at_least.value
        );
        assert!(
            at_least
                .problem
                .unwrap()
                .contains("lacks at least the last 4 snapshots")
        );
    }

    #[test]
    fn a_replica_with_no_snapshot_or_one_its_source_never_had_fails() {
        let source = snapshots(T, &[(A, T - 900), (B, T - 600)]);
        let none = behind(&snapshots(T, &[]), &source);
        assert_eq!(none.level, Level::Fail);
        assert_eq!(none.value, format!("no snapshot on f1 (newest on f0 {B})"));
        let no_source = behind(&source, &snapshots(T, &[]));
        assert_eq!(no_source.level, Level::Fail);
        assert_eq!(no_source.value, "f0 has no snapshot of zdata/enc/nfsdata");
        // Newer on the replica than anything on the source: the source was rolled back.
        let diverged = behind(&snapshots(T, &[(A, T - 900), (C, T - 300)]), &source);
        assert_eq!(diverged.level, Level::Fail);
        assert_eq!(
            diverged.value,
            format!("newest on f1 {C} is not on f0 (newest there {B})")
        );
        assert!(diverged.problem.unwrap().contains("diverged"));
        // The same name taken at another time is another snapshot.
        let renamed = behind(&snapshots(T, &[(B, T - 100)]), &source);
        assert_eq!(renamed.level, Level::Fail);
    }

    #[test]
    fn a_replica_or_source_not_read_fails_with_the_host_and_why() {
        let source = snapshots(T, &[(A, T)]);
        let unread = behind(&source, &Err("f0 not reached".into()));
        assert_eq!(unread.level, Level::Fail);
        assert_eq!(unread.value, "not read on f0");
        assert_eq!(unread.problem.as_deref(), Some("f0: f0 not reached"));
        let replica = behind(&Err("timed out".into()), &source);
        assert_eq!(replica.value, "not read on f1");
        let word = behind(&Ok(Reading::Word("x".into())), &source);
        assert_eq!(word.level, Level::Fail);
    }

    #[test]
    fn behind_needs_a_check_of_the_same_name_reading_snapshots_on_another_host() {
        let (replica, source) = replica_and_source();
        assert!(resolve_references(&mut [replica.clone(), source.clone()]).is_empty());
        assert_eq!(resolve_references(&mut [replica.clone()]).len(), 1);
        let mut renamed = source.clone();
        renamed.name = "other".into();
        assert_eq!(resolve_references(&mut [replica.clone(), renamed]).len(), 1);
        let mut words = source.clone();
        words.read = StatusRead::PoolHealth {
            pool: "zdata".into(),
        };
        assert_eq!(resolve_references(&mut [replica.clone(), words]).len(), 1);
        let mut own = replica.clone();
        own.judge.behind.as_mut().unwrap().host = "f1".into();
        let faults = resolve_references(&mut [own, replica, source]);
        assert_eq!(faults.len(), 1);
        assert!(
            faults[0].to_string().contains("another host"),
            "{}",
            faults[0]
        );
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
