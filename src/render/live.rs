//! The live view of an apply on a terminal: a line per host with what runs there now, how
//! many of its changes are done of how many, and the time since it began, redrawn in place
//! (indicatif). A failure is printed above the lines, so it stays in the scrollback. Off a
//! terminal, under `NO_COLOR` or in CI, apply prints `progress::Lines` instead: one plain line
//! per resource, which a log keeps whole.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::apply::{Finished, Outcome, Progress};
use crate::plan::{Action, Plan};
use crate::resource::Address;
use crate::rollout::health::HealthCheck;

/// Whether apply shows the live view: on a terminal that is not dumb, without `NO_COLOR`,
/// and not in CI (which sets `CI`), where redrawn lines would garble the log.
pub fn wanted() -> bool {
    // The same conditions as colour's.
    super::use_color(std::io::stdout().is_terminal())
}

pub struct Live {
    multi: MultiProgress,
    /// One line per host, by host name.
    hosts: BTreeMap<String, ProgressBar>,
    /// Columns left for what a host's line says it runs.
    room: usize,
}

/// The columns a line's message has on this terminal: its width less the rest of the line
/// (the host name right-aligned in at least 10, the bar, the counts, the time).
fn message_room(name_width: usize) -> usize {
    // SAFETY: TIOCGWINSZ fills the plain struct given, nothing else.
    let columns = unsafe {
        let mut size: libc::winsize = std::mem::zeroed();
        match libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) {
            0 if size.ws_col > 0 => usize::from(size.ws_col),
            _ => 80,
        }
    };
    columns.saturating_sub(name_width.max(10) + 2 + 24 + 2 + 10 + 5 + 1)
}

/// `text` in at most `room` columns, keeping its end: of a path, the end tells files apart
/// (`applying file:/srv/…/d0007/f00123.conf`), so the middle goes.
fn fitted(text: &str, room: usize) -> String {
    let count = text.chars().count();
    if count <= room || room < 12 {
        return text.to_string();
    }
    let head: String = text.chars().take(room / 3).collect();
    let tail: String = text.chars().skip(count - (room - room / 3 - 1)).collect();
    format!("{head}…{tail}")
}

impl Live {
    /// A line for each host of `plan` with something to change.
    pub fn new(plan: &Plan) -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
        let style = ProgressStyle::with_template(
            "{prefix:>10.bold} [{bar:24}] {pos:>4}/{len:<4} {elapsed:>4} {msg}",
        )
        .expect("the template is valid")
        .progress_chars("=> ");
        let width = plan.hosts.iter().map(|host| host.name.len()).max();
        let hosts = plan
            .hosts
            .iter()
            .filter_map(|host| {
                let changes = host
                    .resources
                    .iter()
                    .filter(|resource| resource.action != Action::Unchanged)
                    .count();
                (changes > 0).then(|| {
                    let bar = multi.add(ProgressBar::new(changes as u64));
                    bar.set_style(style.clone());
                    bar.set_prefix(format!("{:>1$}", host.name, width.unwrap_or(0)));
                    bar.set_message("waiting");
                    (host.name.clone(), bar)
                })
            })
            .collect();
        Self {
            multi,
            hosts,
            room: message_room(width.unwrap_or(0)),
        }
    }

    /// Leaves each host's line in its final state, above the summary.
    pub fn finish(&self) {
        for bar in self.hosts.values() {
            if !bar.is_finished() {
                bar.abandon_with_message("stopped");
            }
        }
    }
}

impl Progress for Live {
    fn started(&self, address: &Address) {
        if let Some(bar) = self.hosts.get(address.host()) {
            bar.set_message(fitted(&format!("applying {}", address.local()), self.room));
        }
    }

    fn finished(&self, finished: &Finished) {
        let Some(bar) = self.hosts.get(finished.address.host()) else {
            return;
        };
        bar.inc(1);
        if matches!(
            finished.outcome,
            Outcome::Failed { .. } | Outcome::Skipped { .. } | Outcome::Unknown { .. }
        ) {
            let (_, words) = super::progress::describe(&finished.outcome);
            let _ = self.multi.println(format!("{}: {words}", finished.address));
        }
        if bar.position() >= bar.length().unwrap_or(0) {
            bar.finish_with_message("done");
        }
    }

    fn checked(&self, check: &HealthCheck) {
        let (_, words) = super::progress::describe_check(check);
        let _ = self.multi.println(format!(
            "rollout of `{}`: health check on {}: {words}",
            check.group, check.host
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::fitted;

    #[test]
    fn a_long_path_keeps_its_end() {
        let path = "applying file:/srv/f3s-bench/d0007/f00123.conf";
        assert_eq!(fitted(path, 80), path);
        let short = fitted(path, 30);
        assert_eq!(short.chars().count(), 30, "{short}");
        assert!(
            short.starts_with("applying ") && short.ends_with("/f00123.conf"),
            "{short}"
        );
        assert!(short.contains('…'), "{short}");
    }
}
