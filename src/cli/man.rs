//! `f3s man DIR`: the manual pages (clap_mangen), one per command as git has them: f3s(1)
//! lists the commands, f3s-plan(1) and the others give each one's options. Generated from
//! the same definitions as the parser, so they never fall behind a flag; what the parser
//! does not know (exit status, environment, examples) is written here, per command.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use roff::{Roff, bold, roman};

use super::failure::Failure;

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Where to write the pages, e.g. /usr/local/share/man/man1 (created if missing).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

/// Writes the pages of `command` (the whole command line, as clap describes it).
pub fn run(args: ManArgs, command: clap::Command) -> Result<ExitCode, Failure> {
    std::fs::create_dir_all(&args.dir)?;
    let mut command = command.disable_help_subcommand(true);
    command.build();
    let subcommands: Vec<clap::Command> = command.get_subcommands().cloned().collect();
    write_page(command, "", &args.dir)?;
    for subcommand in subcommands {
        let name = subcommand.get_name().to_string();
        write_page(subcommand, &name, &args.dir)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One page: clap_mangen's sections, with a synopsis that names each option's value, then
/// EXIT STATUS, ENVIRONMENT and EXAMPLES.
fn write_page(command: clap::Command, name: &str, dir: &Path) -> std::io::Result<()> {
    let usage = synopsis(&command);
    let has_version = command.get_version().is_some();
    let has_after_help = command.get_after_help().is_some();
    let man = clap_mangen::Man::new(command.override_usage(usage));
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    if !name.is_empty() {
        man.render_options_section(&mut page)?;
    } else {
        man.render_subcommands_section(&mut page)?;
    }
    if has_after_help {
        man.render_extra_section(&mut page)?;
    }
    page.extend(extra_sections(name).render().as_bytes());
    if has_version {
        man.render_version_section(&mut page)?;
    }
    let mut file = std::fs::File::create(dir.join(man.get_filename()))?;
    file.write_all(&page)?;
    file.flush()
}

/// `f3s plan [-i|--inventory FILE] [--json] … [PLANFILE]`: every option with its value's
/// name (clap_mangen's own synopsis leaves them out).
fn synopsis(command: &clap::Command) -> String {
    let name = command.get_bin_name().unwrap_or(command.get_name());
    let mut words = vec![name.to_string()];
    for arg in command.get_arguments().filter(|arg| !arg.is_hide_set()) {
        let value = arg
            .get_value_names()
            .filter(|_| arg.get_action().takes_values())
            .map(|names| format!(" {}", names.join(" ")))
            .unwrap_or_default();
        let flag = match (arg.get_short(), arg.get_long()) {
            (Some(short), Some(long)) => format!("-{short}|--{long}{value}"),
            (Some(short), None) => format!("-{short}{value}"),
            (None, Some(long)) => format!("--{long}{value}"),
            (None, None) => value.trim().to_string(),
        };
        words.push(if arg.is_required_set() {
            flag
        } else {
            format!("[{flag}]")
        });
    }
    if command.has_subcommands() {
        words.push("COMMAND".into());
    }
    words.join(" ")
}

/// The variables f3s reads, and which commands read them (`None`: every command that
/// prints a plan, a report or a diagnostic).
const ENVIRONMENT: &[(&str, &str, &[&str])] = &[
    (
        "NO_COLOR",
        "Set and not empty: no colour or other escape sequence in any output (no-color.org).",
        &[],
    ),
    ("TERM", "dumb: no escape sequences, as with NO_COLOR.", &[]),
    (
        "CI",
        "Set and not empty (as CI systems set it): no escape sequences, and apply prints a plain line per resource rather than a live view.",
        &[],
    ),
    (
        "F3S_SSH_CONFIG",
        "The ssh_config file to read instead of ~/.ssh/config and /etc/ssh/ssh_config, as --ssh-config (none: no file).",
        &["plan", "apply", "facts", "status"],
    ),
    (
        "HOME",
        "Where ~/.ssh is: ssh_config, known_hosts and the default identities (id_ed25519, id_ecdsa, id_rsa) are read there.",
        &["plan", "apply", "facts", "status"],
    ),
    (
        "SSH_AUTH_SOCK",
        "The SSH agent, whose keys are tried first, as OpenSSH tries them.",
        &["plan", "apply", "facts", "status"],
    ),
    (
        "COMPLETE",
        "Set to a shell's name by the completion script when it asks f3s what completes a word: f3s then answers and runs nothing (empty or 0: unset).",
        &["completions"],
    ),
    (
        "USER",
        "Named in the lock an apply holds, so another apply can say who holds it.",
        &["apply"],
    ),
    (
        "F3S_CARP_PASSWORD, F3S_DIGEST_KEY, …",
        "The variables an inventory's `secrets:` name (`env:`): a secret's value is read from its variable before its file. Which ones is the inventory's choice; these are the bundled inventory's.",
        &["plan", "apply", "facts", "status", "check"],
    ),
];

/// The commands whose output the colour variables change.
const PRINTING: &[&str] = &[
    "", "plan", "apply", "facts", "check", "status", "show", "graph",
];

/// A term and what it means: an exit code, a variable, an example's purpose and command.
type Entries = &'static [(&'static str, &'static str)];

/// What a page says beyond its options.
struct Extra {
    exit_status: Entries,
    environment: Vec<(&'static str, &'static str)>,
    examples: Entries,
}

fn extra_sections(command: &str) -> Extra {
    let environment = ENVIRONMENT
        .iter()
        .filter(|(_, _, commands)| {
            if commands.is_empty() {
                PRINTING.contains(&command)
            } else {
                command.is_empty() || commands.contains(&command)
            }
        })
        .map(|(name, what, _)| (*name, *what))
        .collect();
    const USAGE: (&str, &str) = (
        "1",
        "An error: the command line, the inventory or a file it names is wrong (the message points at it), or the run failed as the message says.",
    );
    let (exit_status, examples): (Entries, Entries) = match command {
        "" => (
            &[
                ("0", "Success."),
                USAGE,
                (
                    "2",
                    "plan --detailed-exitcode: changes are pending (or resources were left out); status: a check WARNs and none FAILs.",
                ),
                (
                    "130",
                    "apply or status --watch: interrupted (Ctrl-C, SIGTERM).",
                ),
            ],
            &[
                (
                    "Plan the bundled example against its recorded state (no connection):",
                    "f3s plan -i examples/fixture/inventory.yml --state examples/fixture/state",
                ),
                (
                    "Plan the real cluster, save the plan, review it, apply it:",
                    "f3s plan -o cluster.plan\nf3s show cluster.plan\nf3s apply cluster.plan",
                ),
                ("The cluster's health:", "f3s status"),
            ],
        ),
        "plan" => (
            &[
                (
                    "0",
                    "The plan was made and printed (with --detailed-exitcode: nothing would change and nothing was left out).",
                ),
                (
                    "1",
                    "An error: the inventory does not load, or a host was not reached or observed (the plan of the others is printed first).",
                ),
                (
                    "2",
                    "With --detailed-exitcode: changes are pending, or resources were left out (a secret without a value).",
                ),
            ],
            &[
                ("What would change on every host:", "f3s plan"),
                (
                    "Only f0, and what its exports depend on:",
                    "f3s plan --host f0 --target f0/file:/etc/exports",
                ),
                (
                    "In CI, against recorded state, failing the job when something would change:",
                    "f3s plan --state state/ --detailed-exitcode",
                ),
                (
                    "Save the plan for a later apply:",
                    "f3s plan -o cluster.plan",
                ),
            ],
        ),
        "apply" => (
            &[
                (
                    "0",
                    "Everything planned was applied, or there was nothing to do.",
                ),
                (
                    "1",
                    "An error: a resource failed (what depends on it was not started), a host was not reached or was locked by another apply, a destructive change was not allowed, a saved plan no longer matches the hosts, or the answer was not `yes`.",
                ),
                (
                    "130",
                    "Interrupted (Ctrl-C, SIGTERM): what ran was finished and summed up; nothing new was started.",
                ),
            ],
            &[
                ("Converge every host, asking first:", "f3s apply"),
                (
                    "Without asking, one line per resource:",
                    "f3s apply --yes --quiet",
                ),
                (
                    "Apply a plan saved and reviewed earlier, if the hosts have not drifted:",
                    "f3s apply cluster.plan",
                ),
                (
                    "Allow one destructive change, by address:",
                    "f3s apply --allow-destructive f0/zpool:zdata",
                ),
            ],
        ),
        "show" => (
            &[
                ("0", "The plan was printed."),
                (
                    "1",
                    "The file is not a plan f3s saved, or is of another format version.",
                ),
            ],
            &[
                ("Review a saved plan:", "f3s show cluster.plan"),
                (
                    "The same, as JSON (docs/plan-json.md):",
                    "f3s show --json cluster.plan",
                ),
            ],
        ),
        "status" => (
            &[
                ("0", "Every check is OK."),
                (
                    "1",
                    "A check FAILs, a host was not reached, or an error came before any check was read.",
                ),
                ("2", "A check WARNs and none FAILs."),
                ("130", "With --watch: interrupted."),
            ],
            &[
                ("The cluster's health at a glance:", "f3s status"),
                (
                    "From cron or a monitoring system, as JSON (docs/status-json.md):",
                    "f3s status --json",
                ),
                ("Redrawn every 10 seconds:", "f3s status --watch 10"),
            ],
        ),
        "facts" => (
            &[
                ("0", "Every host was observed."),
                (
                    "1",
                    "A host was not reached (the others were printed or saved first), or another error.",
                ),
            ],
            &[
                (
                    "Record every host's state for CI to plan against:",
                    "f3s facts --save state/",
                ),
                ("One host's state on the terminal:", "f3s facts f0"),
            ],
        ),
        "check" => (
            &[
                ("0", "The inventory loads, compiles and builds a graph."),
                USAGE,
            ],
            &[(
                "Check the inventory with no connection and no secret:",
                "f3s check",
            )],
        ),
        "graph" => (
            &[("0", "The graph was printed."), USAGE],
            &[(
                "Draw the resource graph:",
                "f3s graph | dot -Tsvg > graph.svg",
            )],
        ),
        "completions" => (
            &[("0", "The script was printed."), USAGE],
            &[
                (
                    "Completion in this bash, host names from the inventory included:",
                    "source <(f3s completions bash)",
                ),
                (
                    "Installed for zsh:",
                    "f3s completions zsh > /usr/local/share/zsh/site-functions/_f3s",
                ),
            ],
        ),
        "man" => (
            &[("0", "The pages were written."), USAGE],
            &[("Install the pages:", "f3s man /usr/local/share/man/man1")],
        ),
        // A command without its text here gets none (a test requires it of every command).
        _ => (&[("0", "Success."), USAGE], &[]),
    };
    Extra {
        exit_status,
        environment,
        examples,
    }
}

impl Extra {
    fn render(&self) -> String {
        let mut roff = Roff::default();
        let list = |roff: &mut Roff, heading: &str, items: &[(&str, &str)]| {
            if items.is_empty() {
                return;
            }
            roff.control("SH", [heading]);
            for (term, text) in items {
                roff.control("TP", [])
                    .text([bold(*term)])
                    .text([roman(*text)]);
            }
        };
        list(&mut roff, "EXIT STATUS", self.exit_status);
        list(&mut roff, "ENVIRONMENT", &self.environment);
        if !self.examples.is_empty() {
            roff.control("SH", ["EXAMPLES"]);
        }
        for (what, command) in self.examples {
            roff.control("PP", []).text([roman(*what)]);
            roff.control("nf", []).control("RS", ["4"]);
            for line in command.lines() {
                roff.text([roman(line)]);
            }
            roff.control("RE", []).control("fi", []);
        }
        roff.to_roff()
    }
}
