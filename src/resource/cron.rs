//! `cron`: one entry of a user's crontab, marked by a `# f3s: NAME` line above it; every other
//! line of the crontab is left as it is. An identical unmarked entry (installed by hand) is
//! adopted by marking it rather than added twice. With `state: absent` the marked entry (and
//! an unmarked copy of the given entry) is taken out.

use super::edit;
use super::kind::{ContentChange, Decision, Kind, View};
use crate::module::attrs::Attrs;
use crate::names::NameKind;
use crate::op::Op;
use crate::probe::Probe;
use crate::sensitive::{Observed, Text};
use crate::values::ValueKind;

pub const ATTRIBUTES: &[&str] = &["user", "schedule", "command", "state"];

#[derive(Debug, Clone)]
pub struct Cron {
    pub name: String,
    pub user: String,
    /// The crontab line: schedule and command, `%` escaped; empty where the entry goes and
    /// none was given.
    pub entry: String,
    pub present: bool,
}

impl Cron {
    pub fn parse(attrs: &mut Attrs) -> Option<(String, Self)> {
        let name = attrs.required_value("cron", ValueKind::Label);
        let user = attrs
            .name("user", NameKind::User)
            .unwrap_or_else(|| "root".into());
        let present = attrs.present();
        let entry = if present || attrs.has("schedule") || attrs.has("command") {
            let schedule = attrs.required_value("schedule", ValueKind::CronSchedule);
            let command = attrs.required_value("command", ValueKind::CronCommand);
            format!("{} {}", schedule?, crontab_command(&command?))
        } else {
            String::new()
        };
        let name = name?;
        Some((
            name.clone(),
            Self {
                name,
                user,
                entry,
                present,
            },
        ))
    }

    fn marker(&self) -> String {
        format!("# f3s: {}", self.name)
    }

    /// The crontab without this entry (its marker and the line under it, or an unmarked
    /// copy of the entry), or `None` if it has none.
    fn without(&self, current: &str) -> Option<String> {
        let marker = self.marker();
        let mut lines = edit::lines(current);
        match lines.iter().position(|line| *line == marker) {
            Some(at) => {
                let entry = lines.get(at + 1).is_some_and(|next| !next.starts_with('#'));
                lines.drain(at..at + 1 + usize::from(entry));
            }
            None => {
                let at = lines.iter().position(|line| {
                    !self.entry.is_empty() && edit::same_but_space(line, &self.entry)
                })?;
                lines.remove(at);
            }
        }
        Some(edit::join(&lines))
    }

    /// The crontab with this entry in place, or `None` if it already is.
    fn edited(&self, current: &str) -> Option<String> {
        let marker = self.marker();
        let mut lines = edit::lines(current);
        match lines.iter().position(|line| *line == marker) {
            Some(at) if lines.get(at + 1) == Some(&self.entry.as_str()) => return None,
            Some(at) if at + 1 < lines.len() && !lines[at + 1].starts_with('#') => {
                lines[at + 1] = &self.entry;
            }
            Some(at) => lines.insert(at + 1, &self.entry),
            // An entry the admin wrote by hand is adopted (marked, and its spacing made the
            // module's), never added again.
            None => match lines
                .iter()
                .position(|line| edit::same_but_space(line, &self.entry))
            {
                Some(at) => {
                    lines[at] = &self.entry;
                    lines.insert(at, &marker);
                }
                None => lines.extend([marker.as_str(), self.entry.as_str()]),
            },
        }
        Some(edit::join(&lines))
    }
}

/// A checked command as its crontab line carries it. Cron ends the command at the first
/// unescaped `%` and sends the rest to its stdin (crontab(5)); FreeBSD's cron
/// (usr.sbin/cron/cron/do_command.c) and cronie (src/do_command.c) both turn `\%` back into
/// `%`. The check refused the `\%` and `\\` that the two would read differently.
fn crontab_command(command: &str) -> String {
    command.replace('%', "\\%")
}

impl Kind for Cron {
    fn probes(&self) -> Vec<Probe> {
        vec![Probe::Crontab {
            user: self.user.clone(),
        }]
    }

    fn decide(&self, view: &View) -> Result<Decision, String> {
        let current = view.state.crontabs.get(&self.user);
        let text = match current {
            None => "".into(),
            Some(Observed::Plain(text)) => text.as_str(),
            Some(_) => return Err(format!("{}'s crontab cannot be read", self.user)),
        };
        let edited = if self.present {
            self.edited(&text)
        } else {
            self.without(&text)
        };
        let Some(after) = edited else {
            return Ok(Decision::default());
        };
        let after = Text::plain(after);
        Ok(Decision {
            content: Some(ContentChange {
                path: format!("crontab of {}", self.user),
                before: current.cloned(),
                after: Observed::from_text(&after),
            }),
            ops: vec![Op::WriteCrontab {
                user: self.user.clone(),
                content: after,
            }],
            creates: current.is_none(),
            removes: !self.present,
            ..Decision::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failback() -> Cron {
        Cron {
            name: "carp-auto-failback".into(),
            user: "root".into(),
            entry: "* * * * * /usr/local/bin/carp-auto-failback.sh".into(),
            present: true,
        }
    }

    #[test]
    fn an_absent_entry_goes_with_its_marker_and_the_rest_stays() {
        let gone = Cron {
            present: false,
            ..failback()
        };
        let marked = "MAILTO=admin\n# f3s: carp-auto-failback\n* * * * * /usr/local/bin/carp-auto-failback.sh\n0 3 * * * /root/backup.sh\n";
        let edited = gone.without(marked).unwrap();
        assert_eq!(edited, "MAILTO=admin\n0 3 * * * /root/backup.sh\n");
        assert_eq!(gone.without(&edited), None, "then it is gone");
        // One installed by hand, spaced otherwise, goes too; another entry stays.
        let hand = "*  * * * * /usr/local/bin/carp-auto-failback.sh\n0 3 * * * /root/backup.sh\n";
        assert_eq!(
            gone.without(hand).as_deref(),
            Some("0 3 * * * /root/backup.sh\n")
        );
        let unnamed = Cron {
            entry: String::new(),
            ..gone
        };
        assert_eq!(
            unnamed.without(hand),
            None,
            "without an entry only the marked one goes"
        );
    }

    #[test]
    fn adds_its_entry_and_keeps_the_rest() {
        let edited = failback().edited("MAILTO=admin\n0 3 * * * /root/backup.sh\n");
        assert_eq!(
            edited.as_deref(),
            Some(
                "MAILTO=admin\n0 3 * * * /root/backup.sh\n# f3s: carp-auto-failback\n* * * * * /usr/local/bin/carp-auto-failback.sh\n"
            )
        );
    }

    #[test]
    fn replaces_only_its_own_entry() {
        let current = "# f3s: carp-auto-failback\n*/5 * * * * /old.sh\n0 3 * * * /root/backup.sh\n";
        let edited = failback().edited(current).unwrap();
        assert_eq!(
            edited,
            "# f3s: carp-auto-failback\n* * * * * /usr/local/bin/carp-auto-failback.sh\n0 3 * * * /root/backup.sh\n"
        );
        assert_eq!(failback().edited(&edited), None, "then it is in place");
    }

    #[test]
    fn percent_signs_reach_the_command_not_its_stdin() {
        assert_eq!(crontab_command("date +%F"), "date +\\%F");
        assert_eq!(crontab_command("/bin/x"), "/bin/x");
    }

    #[test]
    fn adopts_the_same_entry_installed_by_hand() {
        let current = "* * * * * /usr/local/bin/carp-auto-failback.sh\n";
        assert_eq!(
            failback().edited(current).as_deref(),
            Some("# f3s: carp-auto-failback\n* * * * * /usr/local/bin/carp-auto-failback.sh\n")
        );
        // Spaced by hand as crontab(5) allows: the same entry, adopted, not added again.
        let spaced = "*\t* * *  * /usr/local/bin/carp-auto-failback.sh \n";
        let edited = failback().edited(spaced).unwrap();
        assert_eq!(
            edited,
            "# f3s: carp-auto-failback\n* * * * * /usr/local/bin/carp-auto-failback.sh\n"
        );
        assert_eq!(failback().edited(&edited), None);
    }
}
