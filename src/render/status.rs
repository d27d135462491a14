//! `f3s status` as text (a row per check, grouped by host, then what spans hosts, then a
//! summary) and as JSON (docs/status-json.md). Every text from a host goes through
//! `visible::line`: a check's output may hold terminal controls.

use std::fmt::Write as _;

use serde::Serialize;

use crate::status::{AcrossRow, Row, StatusReport};
use crate::status_check::Level;
use crate::visible;

/// The JSON format's version, raised when a field changes meaning or goes.
pub const FORMAT_VERSION: u32 = 1;

fn paint(color: bool, level: Level) -> String {
    let word = format!("{:<4}", level.word());
    let code = match level {
        Level::Ok => "32",
        Level::Warn => "33",
        Level::Fail => "31;1",
    };
    match color {
        true => format!("\x1b[{code}m{word}\x1b[0m"),
        false => word,
    }
}

/// A row's lines: level, check and value; then what is wrong and what to do, indented.
fn row_lines(out: &mut String, color: bool, width: usize, row: RowView) {
    let check = visible::line(row.check);
    let _ = writeln!(
        out,
        "  {}  {check:<width$}  {}",
        paint(color, row.level),
        visible::line(row.value)
    );
    if let Some(problem) = row.problem {
        let _ = writeln!(out, "        {}", visible::line(problem));
    }
    if let Some(help) = row.help {
        let _ = writeln!(out, "        help: {}", visible::line(help));
    }
}

struct RowView<'a> {
    check: &'a str,
    level: Level,
    value: &'a str,
    problem: Option<&'a str>,
    help: Option<&'a str>,
}

impl<'a> From<&'a Row> for RowView<'a> {
    fn from(row: &'a Row) -> Self {
        Self {
            check: &row.check,
            level: row.level,
            value: &row.value,
            problem: row.problem.as_deref(),
            help: row.help.as_deref(),
        }
    }
}

impl<'a> From<&'a AcrossRow> for RowView<'a> {
    fn from(row: &'a AcrossRow) -> Self {
        Self {
            check: &row.check,
            level: row.level,
            value: &row.value,
            problem: row.problem.as_deref(),
            help: row.help.as_deref(),
        }
    }
}

pub fn text(report: &StatusReport, color: bool) -> String {
    let width = report
        .hosts
        .iter()
        .flat_map(|host| host.checks.iter().map(|row| row.check.chars().count()))
        .chain(report.across.iter().map(|row| row.check.chars().count()))
        .max()
        .unwrap_or(0)
        .min(48);
    let mut out = String::new();
    for host in &report.hosts {
        let _ = writeln!(out, "{}", visible::line(&host.host));
        for row in &host.checks {
            row_lines(&mut out, color, width, row.into());
        }
        out.push('\n');
    }
    if !report.across.is_empty() {
        out.push_str("across hosts\n");
        for row in &report.across {
            let mut check = row.check.clone();
            check.push_str(&format!(" [{}]", row.hosts.join(" ")));
            let view = RowView {
                check: &check,
                ..row.into()
            };
            row_lines(&mut out, color, width, view);
        }
        out.push('\n');
    }
    let [ok, warn, fail] = report.counts();
    let _ = writeln!(out, "{ok} OK, {warn} WARN, {fail} FAIL.");
    out
}

#[derive(Serialize)]
struct Json<'a> {
    format_version: u32,
    summary: Summary,
    #[serde(flatten)]
    report: &'a StatusReport,
}

#[derive(Serialize)]
struct Summary {
    level: Level,
    exit_code: u8,
    ok: usize,
    warn: usize,
    fail: usize,
}

pub fn json(report: &StatusReport) -> String {
    let [ok, warn, fail] = report.counts();
    let json = Json {
        format_version: FORMAT_VERSION,
        summary: Summary {
            level: report.worst(),
            exit_code: report.exit_code(),
            ok,
            warn,
            fail,
        },
        report,
    };
    let mut text = visible::json_pretty(&json).expect("a status report always serializes");
    text.push('\n');
    text
}
