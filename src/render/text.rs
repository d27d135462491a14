//! The plan as text for a terminal or a CI log: per host in apply order, what changes and
//! what would run, unified diffs for files, and a summary line.
//!
//! Every text put into a line goes through `visible::line` (painted through `Paint`, else
//! through `shown`): a diff, a host's value or its error may hold terminal controls, and the
//! colours painted here are the only escapes the plan may write.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::plan::{Action, Fate, Plan, PlannedResource};
use crate::visible;

struct Paint {
    color: bool,
}

impl Paint {
    fn paint(&self, code: &str, text: &str) -> String {
        let text = visible::line(text);
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.into_owned()
        }
    }
}

/// Text shown unpainted, as one line with its controls escaped.
fn shown(text: &impl ToString) -> String {
    visible::line(&text.to_string()).into_owned()
}

fn marker(action: Action) -> (&'static str, &'static str, &'static str) {
    match action {
        Action::Create => ("+", "32", "create"),
        Action::Change => ("~", "33", "change"),
        Action::Refresh => ("*", "36", "refresh"),
        Action::Remove => ("-", "31", "remove"),
        Action::Destructive => ("!", "31;1", "DESTRUCTIVE"),
        Action::Unchanged => ("=", "2", "unchanged"),
    }
}

pub fn render(plan: &Plan, color: bool) -> String {
    let mut text = String::new();
    render_in_parts(plan, color, &mut |part| text.push_str(part));
    text
}

/// Writes the plan's text to `sink` a host at a time, rather than whole: the plan of 24 hosts
/// of 4,000 resources reads as tens of MiB of diffs.
pub fn write(plan: &Plan, color: bool, sink: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut result = Ok(());
    render_in_parts(plan, color, &mut |part| {
        if result.is_ok() {
            result = sink.write_all(part.as_bytes());
        }
    });
    result.and_then(|()| sink.flush())
}

/// The plan's text, handed to `emit` in parts (the heading, each host, the rest).
fn render_in_parts(plan: &Plan, color: bool, emit: &mut dyn FnMut(&str)) {
    let paint = Paint { color };
    let mut out = String::new();
    let resources: usize = plan.hosts.iter().map(|h| h.resources.len()).sum();
    let _ = writeln!(
        out,
        "f3s plan of {} ({} hosts, {} resources)\n",
        shown(&plan.inventory),
        plan.hosts.len(),
        resources
    );
    for host in &plan.hosts {
        emit(&out);
        out.clear();
        let _ = writeln!(
            out,
            "{}  {} {}",
            paint.paint("1", &host.name),
            host.os,
            shown(&host.address)
        );
        for leftover in &host.leftovers {
            let _ = writeln!(
                out,
                "  {} {}  {}",
                paint.paint("33", "-"),
                shown(leftover),
                paint.paint("2", "left by an interrupted write; apply removes it")
            );
        }
        if let Some(problem) = &host.record_problem {
            let _ = writeln!(
                out,
                "  {} {}",
                paint.paint("33", "!"),
                paint.paint(
                    "33",
                    &format!("the record of what f3s manages here: {problem}")
                )
            );
        }
        for gone in host
            .no_longer_managed
            .iter()
            .filter(|gone| gone.fate != Fate::Removed)
        {
            let fate = match gone.fate {
                Fate::Kept => "no longer managed: left on the host; --prune removes it",
                Fate::NeverRemoved => {
                    "no longer managed: f3s never removes this kind; left on the host, --prune forgets it"
                }
                Fate::Forgotten => "no longer managed: forgotten by this apply, left on the host",
                Fate::Removed => "",
            };
            let _ = writeln!(
                out,
                "  {} {}  {}",
                paint.paint("35", "?"),
                shown(&gone.address),
                paint.paint("2", fate)
            );
        }
        // Unchanged resources are counted, not listed, unless notified or with a note.
        let listed = |r: &&PlannedResource| {
            r.action != Action::Unchanged || r.refresh().is_some() || r.note().is_some()
        };
        let unchanged = host.resources.iter().filter(|r| !listed(r)).count();
        for resource in host.resources.iter().filter(listed) {
            resource_lines(&mut out, resource, &paint);
        }
        let note = if unchanged == host.resources.len() {
            "nothing to do"
        } else {
            "unchanged"
        };
        let _ = writeln!(
            out,
            "  {}\n",
            paint.paint("2", &format!("= {unchanged} {note}"))
        );
    }
    emit(&out);
    out.clear();
    rollout_lines(&mut out, plan, &paint);
    unreached_lines(&mut out, plan, &paint);
    out.push_str(&summary_lines(plan, &paint));
    emit(&out);
}

/// The plan's closing lines: the counts, and what to know of them.
pub fn summary(plan: &Plan, color: bool) -> String {
    summary_lines(plan, &Paint { color })
}

fn summary_lines(plan: &Plan, paint: &Paint) -> String {
    let mut out = String::new();
    let summary = &plan.summary;
    // Removals are rare: counted where there are any, so the usual line stays as it was.
    let removals = match summary.remove {
        0 => String::new(),
        n => format!("{n} to remove, "),
    };
    let mut line = format!(
        "Plan: {} to create, {} to change, {} to refresh, {removals}{} destructive, {} unchanged.",
        summary.create, summary.change, summary.refresh, summary.destructive, summary.unchanged
    );
    if summary.destructive > 0 {
        line.push_str(
            "\nDestructive changes are refused by apply unless named in --allow-destructive.",
        );
    }
    let kept = plan
        .hosts
        .iter()
        .flat_map(|host| &host.no_longer_managed)
        .filter(|gone| gone.fate == Fate::Kept)
        .count();
    if kept > 0 {
        let _ = write!(
            line,
            "\n{kept} resources left the inventory but are still on the hosts (marked ? in the plan); \
             --prune removes them."
        );
    }
    if summary.remove_lines > 0 {
        let _ = write!(
            line,
            "\n{} of the changes remove lines the hosts' files have (marked REMOVES in the plan); \
             apply keeps the replaced files as backups.",
            summary.remove_lines
        );
    }
    // "No changes" only of a whole plan: a host not reached, or what a secret without a value
    // left out, may well change.
    let left_out = plan.unreached.len() + plan.skipped.len();
    if !plan.has_changes() && left_out == 0 {
        line = format!("No changes. {line}");
    } else if !plan.has_changes() {
        line = format!(
            "No changes in what was planned; {} host(s) not reached and {} resource(s) left out may change. {line}",
            plan.unreached.len(),
            plan.skipped.len()
        );
    }
    // A line at a time: painting shows a line break as `\n`, as it would a host's.
    for line in line.lines() {
        let _ = writeln!(out, "{}", paint.paint("1", line));
    }
    out
}

/// The order of each rollout, and the changes that run early for an earlier batch.
fn rollout_lines(out: &mut String, plan: &Plan, paint: &Paint) {
    for rollout in &plan.rollouts {
        let batches: Vec<String> = rollout.batches.iter().map(|b| b.join(" and ")).collect();
        let check = rollout.health.as_ref().map_or_else(
            || "no health check".to_string(),
            |command| format!("health check after each batch: {command}"),
        );
        let headline = format!(
            "Rollout of `{}`: {}; {check}",
            rollout.group,
            batches.join(", then ")
        );
        let _ = writeln!(out, "{}", paint.paint("1", &headline));
        for early in &rollout.early {
            let _ = writeln!(
                out,
                "  {} runs early, with batch {}: {} needs it",
                shown(&early.address),
                early.batch,
                shown(&early.needed_by)
            );
        }
        out.push('\n');
    }
}

/// The hosts left out, why, and what elsewhere was left out with them.
fn unreached_lines(out: &mut String, plan: &Plan, paint: &Paint) {
    if plan.is_complete() && plan.skipped.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "{}",
        paint.paint(
            "31;1",
            "Not planned (hosts not reached, values not known, and what depends on them):"
        )
    );
    for unreached in &plan.unreached {
        let _ = writeln!(out, "  {}", shown(&unreached.error));
    }
    for skipped in &plan.skipped {
        let _ = writeln!(
            out,
            "  ? {}: {}",
            shown(&skipped.address),
            shown(&skipped.because)
        );
    }
    out.push('\n');
}

fn resource_lines(out: &mut String, resource: &PlannedResource, paint: &Paint) {
    let (sign, code, word) = marker(resource.action);
    let removes = match resource.removes_lines() {
        0 => String::new(),
        1 => format!(
            "  {}",
            paint.paint("31;1", "REMOVES 1 LINE the host's file has")
        ),
        n => format!(
            "  {}",
            paint.paint("31;1", &format!("REMOVES {n} LINES the host's file has"))
        ),
    };
    let _ = writeln!(
        out,
        "  {} {}  {}{removes}",
        paint.paint(code, sign),
        paint.paint("1", &resource.address.local()),
        paint.paint(code, word)
    );
    if let Some(note) = resource.note() {
        let _ = writeln!(out, "      note: {}", shown(&note));
    }
    for change in &resource.changes {
        let _ = writeln!(
            out,
            "      {}: {} -> {}",
            shown(&change.attribute),
            shown(&change.before),
            shown(&change.after)
        );
    }
    if let Some(diff) = resource.diff() {
        // Split at line breaks only (`str::lines` would drop a carriage return before one,
        // and a host's CRLF would not show).
        for line in diff.split_inclusive('\n') {
            let line = line.strip_suffix('\n').unwrap_or(line);
            let code = match line.chars().next() {
                Some('+') if !line.starts_with("+++") => "32",
                Some('-') if !line.starts_with("---") => "31",
                Some('@') => "36",
                _ => "",
            };
            // Context lines stay borrowed (most of a diff is context).
            let line = if code.is_empty() {
                visible::line(line)
            } else {
                Cow::Owned(paint.paint(code, line))
            };
            let _ = writeln!(out, "      {line}");
        }
    }
    if let Some(refresh) = resource.refresh() {
        let by: Vec<String> = refresh.triggered_by.iter().map(shown).collect();
        let _ = match &refresh.skipped {
            None => writeln!(out, "      notified by {}", by.join(", ")),
            Some(reason) => writeln!(
                out,
                "      notified by {}; no refresh: {}",
                by.join(", "),
                shown(reason)
            ),
        };
    }
    for op in &resource.operations {
        let _ = writeln!(
            out,
            "      {} {}",
            paint.paint("2", "run:"),
            shown(&op.describe())
        );
    }
}
