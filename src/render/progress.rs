//! What `apply` prints while it runs and when it is done: a line per finished resource (as
//! readable in a CI log as on a terminal), then a summary with per-resource timing. A host's
//! words (an operation's error, a health check's output, where a backup went, why a host was
//! not reached) are each one line with its controls escaped (`visible::line`), here for the
//! live view too: it prints the same words.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Mutex;

use crate::apply::{Finished, Outcome, Progress, Report};
use crate::plan::Plan;
use crate::resource::Address;
use crate::rollout::health::{HealthCheck, Verdict};
use crate::visible;

pub struct Lines {
    pub color: bool,
    /// Only what went wrong (`apply --quiet`): a large apply's every resource is not read.
    pub quiet: bool,
    out: Mutex<()>,
}

impl Lines {
    pub fn new(color: bool, quiet: bool) -> Self {
        Self {
            color,
            quiet,
            out: Mutex::new(()),
        }
    }

    fn print(&self, line: &str) {
        let _guard = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{line}");
        let _ = stdout.flush();
    }
}

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// An outcome's colour code and words, as they may be printed.
pub fn describe(outcome: &Outcome) -> (&'static str, String) {
    let (code, words) = outcome_words(outcome);
    (code, visible::line(&words).into_owned())
}

fn outcome_words(outcome: &Outcome) -> (&'static str, String) {
    match outcome {
        Outcome::Done { kept } if kept.is_empty() => ("32", "done".into()),
        // The backups' paths are the host's words too.
        Outcome::Done { kept } => (
            "32",
            format!(
                "done, replaced content kept in {}",
                crate::sensitive::quoted(&kept.join(", "))
            ),
        ),
        Outcome::Unchanged => ("2", "unchanged".into()),
        Outcome::Failed { error } => {
            // The words are a host's: they may quote what the operation wrote.
            let error = crate::sensitive::quotable(error)
                .unwrap_or("(the host's message is withheld: it quotes a secret)");
            ("31;1", format!("FAILED: {error}"))
        }
        Outcome::Skipped { because } => ("33", format!("skipped: {because} did not converge")),
        Outcome::NotStarted { because } => ("33", format!("not started: {because}")),
        Outcome::Unknown { because } => (
            "31;1",
            format!(
                "UNKNOWN, plan again to see whether it ran: {}",
                crate::sensitive::quoted(because)
            ),
        ),
    }
}

impl Progress for Lines {
    fn started(&self, address: &Address) {
        if !self.quiet {
            self.print(&format!("{address}: applying"));
        }
    }

    fn finished(&self, finished: &Finished) {
        if self.quiet && matches!(finished.outcome, Outcome::Done { .. } | Outcome::Unchanged) {
            return;
        }
        let (code, text) = describe(&finished.outcome);
        let took = format!("({:.2}s)", finished.took.as_secs_f64());
        self.print(&format!(
            "{}: {} {took}",
            finished.address,
            paint(self.color, code, &text)
        ));
    }

    fn checked(&self, check: &HealthCheck) {
        let (code, text) = describe_check(check);
        self.print(&format!(
            "rollout of `{}`: health check on {}: {}",
            check.group,
            check.host,
            paint(self.color, code, &text)
        ));
    }
}

/// A health check's colour code and words, as they may be printed.
pub fn describe_check(check: &HealthCheck) -> (&'static str, String) {
    let (code, words) = match &check.verdict {
        Verdict::Passed => ("32", "passed".to_string()),
        Verdict::NotRun(why) => ("33", format!("not run: {why}")),
        Verdict::Failed(why) => ("31;1", format!("FAILED: {why}")),
    };
    (code, visible::line(&words).into_owned())
}

/// The apply's summary: each resource that changed or did not (with `quiet`, only those that
/// did not), what was not reached or left out, and the counts.
pub fn summary(report: &Report, plan: &Plan, color: bool, quiet: bool) -> String {
    let mut out = String::from("\nApply summary\n");
    let mut counts = [0usize; 6];
    // What the plan said each change drops of its host's file, to name it once done.
    let removing: std::collections::HashMap<&Address, usize> = plan
        .hosts
        .iter()
        .flat_map(|host| &host.resources)
        .filter(|resource| resource.removes_lines() > 0)
        .map(|resource| (&resource.address, resource.removes_lines()))
        .collect();
    for finished in &report.results {
        let slot = match finished.outcome {
            Outcome::Done { .. } => 0,
            Outcome::Failed { .. } => 1,
            Outcome::Skipped { .. } => 2,
            Outcome::Unchanged => 3,
            Outcome::NotStarted { .. } => 4,
            Outcome::Unknown { .. } => 5,
        };
        counts[slot] += 1;
        let listed = match finished.outcome {
            Outcome::Unchanged => false,
            Outcome::Done { .. } => !quiet,
            _ => true,
        };
        if listed {
            let (code, mut text) = describe(&finished.outcome);
            if let (Outcome::Done { .. }, Some(lines)) =
                (&finished.outcome, removing.get(&finished.address))
            {
                let _ = write!(
                    text,
                    "; {lines} line(s) the file had were removed (the plan's diff shows them)"
                );
            }
            let _ = writeln!(
                out,
                "  {:>7.2}s  {}  {}",
                finished.took.as_secs_f64(),
                finished.address,
                paint(color, code, &text)
            );
        }
    }
    for unreached in &plan.unreached {
        let _ = writeln!(
            out,
            "  not reached  {}",
            paint(color, "31;1", &visible::line(&unreached.error))
        );
    }
    for skipped in &plan.skipped {
        let _ = writeln!(
            out,
            "  skipped  {}: {}",
            skipped.address,
            visible::line(&skipped.because.to_string())
        );
    }
    let mut line = format!(
        "Apply: {} done, {} failed, {} skipped, {} unchanged",
        counts[0],
        counts[1],
        counts[2] + plan.skipped.len(),
        counts[3],
    );
    if counts[4] > 0 {
        let _ = write!(line, ", {} not started", counts[4]);
    }
    if counts[5] > 0 {
        let _ = write!(line, ", {} unknown", counts[5]);
    }
    if !plan.unreached.is_empty() {
        let _ = write!(line, "; {} host(s) not reached", plan.unreached.len());
    }
    let _ = writeln!(out, "{line}.");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hosts_message_quoting_a_secret_is_withheld_whole() {
        crate::sensitive::install(Some(b"test-digest-key-not-real"), ["s3cr3t".to_string()]);
        let failed = |error: &str| {
            describe(&Outcome::Failed {
                error: error.into(),
            })
            .1
        };
        assert_eq!(failed("no such file"), "FAILED: no such file");
        let withheld = failed("sysrc: bad value `pass s3cr3t`");
        assert!(!withheld.contains("s3cr3t") && !withheld.contains("sysrc"));
        assert!(withheld.contains("withheld"));
    }

    #[test]
    fn a_hosts_words_are_one_line_with_their_controls_escaped() {
        let failed = describe(&Outcome::Failed {
            error: "sysrc: \x1b[2A\x1b[2K\rok\ndone \u{9b}1A \u{202e}x".into(),
        })
        .1;
        assert_eq!(
            failed,
            "FAILED: sysrc: \\x1b[2A\\x1b[2K\\rok\\ndone \\u{9b}1A \\u{202e}x"
        );
        let kept = describe(&Outcome::Done {
            kept: vec!["/var/backups/f3s/x\x1b]0;t\x07".into()],
        })
        .1;
        assert!(kept.ends_with("/var/backups/f3s/x\\x1b]0;t\\x07"), "{kept}");
        let check = describe_check(&HealthCheck {
            group: "g".into(),
            host: "h".into(),
            verdict: Verdict::Failed("exit status 1: \x1b[1Aup".into()),
        })
        .1;
        assert_eq!(check, "FAILED: exit status 1: \\x1b[1Aup");
    }
}
