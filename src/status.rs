//! `f3s status`: the running cluster's health, as the modules declare it. Every host in scope
//! with checks is read in parallel, once (all its checks in one read-only script, under the
//! transport's deadlines); each check is judged (`status_check`), then what spans hosts: a
//! check with `exactly_one` is judged again across every host that has it, one with `behind`
//! against the check of the same name on the host it names (a replica's newest snapshot
//! against its source's), both read in those hosts' one exec. A host that cannot be reached
//! is a FAIL row of its own, never the end of the run.

use serde::Serialize;

use crate::inventory::Inventory;
use crate::sensitive::quoted;
use crate::status_check::{Level, Reading, StatusCheck, Unread, behind_source, judge_behind};
use crate::transport::Transport;

/// What `f3s status` found.
#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub hosts: Vec<HostStatus>,
    /// Checks judged across hosts (exactly one MASTER per vhid; a replica against its
    /// source).
    pub across: Vec<AcrossRow>,
}

#[derive(Debug, Serialize)]
pub struct HostStatus {
    pub host: String,
    pub reached: bool,
    pub checks: Vec<Row>,
}

/// One check of one host, judged.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub check: String,
    pub module: String,
    pub level: Level,
    /// What was read, in words (with the thresholds it is judged by).
    pub value: String,
    /// What is wrong, when not OK.
    pub problem: Option<String>,
    /// What to do about it, from the module, when not OK.
    pub help: Option<String>,
}

/// A check judged across the hosts that have it.
#[derive(Debug, Clone, Serialize)]
pub struct AcrossRow {
    pub check: String,
    pub hosts: Vec<String>,
    pub level: Level,
    pub value: String,
    pub problem: Option<String>,
    pub help: Option<String>,
}

/// The name of the row standing for a host that was not reached.
pub const REACH: &str = "reachable";

impl StatusReport {
    /// The worst level of any row.
    pub fn worst(&self) -> Level {
        self.hosts
            .iter()
            .flat_map(|host| host.checks.iter().map(|row| row.level))
            .chain(self.across.iter().map(|row| row.level))
            .max()
            .unwrap_or(Level::Ok)
    }

    /// The exit code: 0 all OK, 1 any FAIL, 2 WARN but no FAIL.
    pub fn exit_code(&self) -> u8 {
        match self.worst() {
            Level::Ok => 0,
            Level::Fail => 1,
            Level::Warn => 2,
        }
    }

    /// How many rows are at each level: OK, WARN, FAIL.
    pub fn counts(&self) -> [usize; 3] {
        let mut counts = [0; 3];
        let levels = self
            .hosts
            .iter()
            .flat_map(|host| host.checks.iter().map(|row| row.level))
            .chain(self.across.iter().map(|row| row.level));
        for level in levels {
            counts[level as usize] += 1;
        }
        counts
    }
}

/// What a host's reading gave: each check's reading, or why the host was not read.
type HostAnswer = Result<Vec<Result<Reading, Unread>>, String>;

/// Reads and judges `checks` on the hosts `in_scope` names (all when empty), in inventory
/// order.
pub fn status(
    inventory: &Inventory,
    checks: &[StatusCheck],
    in_scope: &[String],
    transport: &dyn Transport,
) -> StatusReport {
    let hosts: Vec<_> = inventory
        .hosts
        .iter()
        .filter(|host| in_scope.is_empty() || in_scope.contains(&host.name))
        .filter(|host| checks.iter().any(|check| check.host == host.name))
        .collect();
    let read: Vec<(String, HostAnswer)> = std::thread::scope(|scope| {
        let workers: Vec<_> = hosts
            .iter()
            .map(|host| {
                scope.spawn(move || {
                    let mine: Vec<_> = checks.iter().filter(|c| c.host == host.name).collect();
                    let reads: Vec<_> = mine.iter().map(|c| (&c.read, c.timeout)).collect();
                    let answer = match transport.read_status(host, &reads) {
                        Ok(Some(readings)) => Ok(readings),
                        Ok(None) => Err("recorded host state cannot be read live".into()),
                        Err(error) => Err(quoted(&error.to_string()).to_string()),
                    };
                    (host.name.clone(), answer)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut readings: Vec<(&StatusCheck, Result<Reading, Unread>)> = Vec::new();
    let mut report = StatusReport {
        hosts: Vec::new(),
        across: Vec::new(),
    };
    for (host, answer) in read {
        let mine: Vec<&StatusCheck> = checks.iter().filter(|c| c.host == host).collect();
        let answers = match answer {
            Ok(answers) => answers,
            Err(why) => {
                report.hosts.push(HostStatus {
                    host: host.clone(),
                    reached: false,
                    checks: vec![Row {
                        check: REACH.into(),
                        module: String::new(),
                        level: Level::Fail,
                        value: "not reached".into(),
                        problem: Some(why.clone()),
                        help: Some(format!(
                            "none of its {} checks could be read; is the host up and reachable over SSH?",
                            mine.len()
                        )),
                    }],
                });
                readings.extend(
                    mine.iter()
                        .map(|c| (*c, Err(format!("{host} not reached")))),
                );
                continue;
            }
        };
        let answers: Vec<Result<Reading, Unread>> = answers
            .into_iter()
            .map(|answer| answer.map_err(|why| quoted(&why).to_string()))
            .collect();
        let rows = mine
            .iter()
            .zip(&answers)
            .map(|(check, answer)| row(check, answer, &mine, &answers))
            .collect();
        report.hosts.push(HostStatus {
            host,
            reached: true,
            checks: rows,
        });
        readings.extend(mine.into_iter().zip(answers));
    }
    report.across = across(checks, &readings, in_scope);
    report.across.extend(behind(checks, &readings, in_scope));
    report
}

/// One host's check judged, with the word its `expect_by` check read there.
fn row(
    check: &StatusCheck,
    answer: &Result<Reading, Unread>,
    mine: &[&StatusCheck],
    answers: &[Result<Reading, Unread>],
) -> Row {
    let by = check.judge.expect_by.as_ref().and_then(|rule| {
        let at = mine.iter().position(|other| other.name == rule.check)?;
        match &answers[at] {
            Ok(Reading::Word(word)) => Some(word.as_str()),
            _ => None,
        }
    });
    let verdict = check.verdict(answer, by);
    let failing = verdict.level != Level::Ok;
    Row {
        check: check.name.clone(),
        module: check.module.to_string(),
        level: verdict.level,
        value: quoted(&verdict.value).to_string(),
        problem: verdict.problem,
        help: check.help.clone().filter(|_| failing),
    }
}

/// The checks with `exactly_one`, judged across every host that reads them: OK when exactly
/// one host reads the word. Left out where `--host` leaves out some of those hosts: a part of
/// the cluster cannot tell.
fn across(
    checks: &[StatusCheck],
    readings: &[(&StatusCheck, Result<Reading, Unread>)],
    in_scope: &[String],
) -> Vec<AcrossRow> {
    let mut names: Vec<(&str, &str)> = Vec::new();
    for check in checks {
        if let Some(word) = &check.judge.exactly_one
            && !names.contains(&(check.name.as_str(), word.as_str()))
        {
            names.push((&check.name, word));
        }
    }
    names
        .into_iter()
        .filter_map(|(name, word)| {
            let group: Vec<&StatusCheck> = checks.iter().filter(|c| c.name == name).collect();
            let hosts: Vec<String> = group.iter().map(|c| c.host.clone()).collect();
            if !in_scope.is_empty() && !hosts.iter().all(|h| in_scope.contains(h)) {
                return None;
            }
            let mut holding = Vec::new();
            let mut unread = Vec::new();
            for (check, reading) in readings.iter().filter(|(c, _)| c.name == name) {
                match reading {
                    Ok(Reading::Word(read)) if read == word => holding.push(check.host.as_str()),
                    Ok(_) => {}
                    Err(_) => unread.push(check.host.as_str()),
                }
            }
            let unknown = match unread.is_empty() {
                true => String::new(),
                false => format!(" ({} not read)", unread.join(", ")),
            };
            let (level, value, problem) = match holding.as_slice() {
                [one] => (Level::Ok, format!("{word} on {one}"), None),
                [] => (
                    Level::Fail,
                    format!("no {word}"),
                    Some(format!(
                        "none of {} reads {word}{unknown}",
                        hosts.join(", ")
                    )),
                ),
                many => (
                    Level::Fail,
                    format!("{word} on {}", many.join(", ")),
                    Some(format!(
                        "{} hosts read {word}, exactly one should",
                        many.len()
                    )),
                ),
            };
            let help = group.first().and_then(|c| c.help.clone());
            Some(AcrossRow {
                check: name.to_string(),
                hosts,
                help: help.filter(|_| level != Level::Ok),
                level,
                value,
                problem,
            })
        })
        .collect()
}

/// The checks with `behind`, each judged against the check of the same name on the host it
/// names (`status_check::judge_behind`). Left out where `--host` leaves out either host.
fn behind(
    checks: &[StatusCheck],
    readings: &[(&StatusCheck, Result<Reading, Unread>)],
    in_scope: &[String],
) -> Vec<AcrossRow> {
    let in_scope = |host: &str| in_scope.is_empty() || in_scope.iter().any(|h| h == host);
    let reading = |check: &StatusCheck| {
        readings
            .iter()
            .find(|(read, _)| std::ptr::eq(*read, check))
            .map(|(_, reading)| reading)
    };
    checks
        .iter()
        .filter_map(|replica| {
            let source = behind_source(replica, checks)?;
            if !in_scope(&replica.host) || !in_scope(&source.host) {
                return None;
            }
            let verdict = judge_behind((replica, reading(replica)?), (source, reading(source)?));
            Some(AcrossRow {
                check: replica.name.clone(),
                hosts: vec![source.host.clone(), replica.host.clone()],
                help: replica.help.clone().filter(|_| verdict.level != Level::Ok),
                level: verdict.level,
                value: quoted(&verdict.value).to_string(),
                problem: verdict.problem.map(|p| quoted(&p).to_string()),
            })
        })
        .collect()
}
