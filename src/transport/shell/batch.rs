//! A batch (see `crate::batch`) as one shell script, and the reading of what it prints. The
//! script is sent on stdin inside one `{ … } </dev/null` group: the shell reads it whole before
//! running any of it, so a connection cut while sending runs nothing, and no command can read
//! the rest of the script as its input.
//!
//! Each operation is a shell function run in the batch's shell (a fork per operation costs
//! more than most operations), its output (stdout and stderr) on stdout between two marker
//! lines. A marker starts with \001 and a nonce the batch draws, so no output can forge one:
//! `B UNIT OP` before an operation, `S UNIT OP STATUS` after it (on a line of its own), `V
//! UNIT.OP BACKUP` when an operation kept a backup of what it replaced (see `backup.rs`), `D
//! UNIT` when a unit is done, `A UNIT...` when several are (a staged run, `staging.rs`),
//! `K UNIT BECAUSE` when it is skipped, `E` at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::backup::keep_function;
use super::dialect::prologue;
use super::family::dialect;
use super::ops::{TEMP_FILE_GLOB, op_script, temp_file_dir};
use super::outgoing::Outgoing;
use super::staging;
use crate::batch::{Batch, Unit, UnitOutcome};
use crate::inventory::host::OsFamily;
use crate::op::Op;
use crate::shell_words::quote;

/// Writes the script running `batch`, with its markers' `nonce`, to `to` as it is made.
pub fn write_batch_script(
    os: OsFamily,
    batch: &Batch,
    nonce: &str,
    to: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut script = Outgoing::new(to);
    write_script(os, batch, nonce, dialect(os).backup_dir(), &mut script);
    script.finish()
}

/// `write_batch_script` keeping backups under `backup_dir`.
///
/// Nothing is printed between an operation's backup and its rename: `kept` only notes the
/// backup, and `told` reports it once the operation is over. With SIGPIPE ignored, a dropped
/// connection makes the next marker fail rather than kill the shell wherever it is, and `m`
/// then ends the batch there, between operations. Temporary files an earlier run left where
/// this batch writes (its shell killed mid-write) are removed first, under the apply lock.
fn write_script(os: OsFamily, batch: &Batch, nonce: &str, backup_dir: &str, script: &mut Outgoing) {
    let _ = write!(
        script,
        "{{\n{}\ntrap '' PIPE; exec 2>&1; k='{nonce}'; r=$(id -u); m() {{ printf '\\001%s %s\\n' \"$k\" \"$*\" || exit 1; }}\nkb=; kept() {{ kb=\"$kb$1\n\"; }}\ntold() {{ [ -z \"$kb\" ] || {{ echo; printf '%s' \"$kb\" | while IFS= read -r b; do m V \"$n\" \"$b\"; done; }}; kb=; }}\n{NO_SPACE}\n{}\n",
        prologue(dialect(os)),
        keep_function(backup_dir)
    );
    // Where this batch writes, or stages (beside a new directory: `staging.rs`).
    let dirs: BTreeSet<&str> = batch
        .units
        .iter()
        .flat_map(|unit| unit.ops.iter())
        .filter_map(|op| match op {
            Op::CreateDirectory { path, .. } => Some(crate::names::parent_dir(path).unwrap_or("/")),
            op => temp_file_dir(op),
        })
        .collect();
    if !dirs.is_empty() {
        let globs: Vec<String> = dirs
            .iter()
            .map(|dir| format!("{}/{TEMP_FILE_GLOB}", quote(dir.trim_end_matches('/'))))
            .collect();
        let _ = writeln!(script, "rm -rf -- {}", globs.join(" "));
    }
    let direct =
        |script: &mut Outgoing, index: usize, unit: &Unit| unit_script(script, os, index, unit);
    let units: Vec<(usize, &Unit)> = batch.units.iter().enumerate().collect();
    let mut at = 0;
    let mut runs = 0;
    while at < units.len() {
        let run = staging::run_length(&units[at..]);
        if run >= 2 && staging::run_script(&units[at..at + run], runs, &direct, script) {
            runs += 1;
            at += run;
        } else {
            let (index, unit) = units[at];
            unit_script(script, os, index, unit);
            at += 1;
        }
    }
    script.push_str("m E\n} </dev/null\n");
}

/// One unit done on its own: its operations in order, each between its markers, the unit
/// done when all succeed, skipped when what it comes after did not succeed.
fn unit_script(script: &mut Outgoing, os: OsFamily, index: usize, unit: &Unit) {
    let _ = writeln!(script, "s=0; if {}; then", staging::guard(unit));
    for (number, op) in unit.ops.iter().enumerate() {
        // What this OS cannot do fails its own unit, not the batch.
        let fragment = op_script(os, op).unwrap_or_else(|| {
            let why = format!("cannot {} on {os}", op.describe());
            format!("echo {} >&2; return 1", quote(&why))
        });
        let _ = writeln!(
            script,
            "[ $s = 0 ] && {{ f() {{ {fragment}\n}}; n={index}.{number}; m B {index} {number}; f </dev/null; s=$?; umask 022; set +C; told; echo; m S {index} {number} $s; }}"
        );
    }
    let _ = writeln!(script, "[ $s = 0 ] && {{ u{index}=y; m D {index}; }}");
    let because = unit
        .after
        .iter()
        .map(|u| format!("[ \"$u{u}\" = y ] || b={u}; "))
        .collect::<String>();
    let _ = writeln!(script, "else {because}m K {index} $b; fi");
}

/// `nospace FILE`, after a write of FILE failed: says so when the filesystem holding it is
/// full (`df -P`'s Available column, POSIX), since the writing tool's own words for it may be
/// only "I/O error" (dash's printf); fails either way.
const NO_SPACE: &str = "nospace() { case $(df -P \"${1%/*}\" 2>/dev/null | awk 'NR == 2 { print $4 }') in 0) echo \"no space left on the filesystem holding ${1%/*}\" ;; esac; return 1; }";

/// How much of what an operation prints its error message quotes.
const OUTPUT_SHOWN: usize = 8 << 10;

/// Reads a batch script's output line by line as it arrives, telling `report` each unit's
/// outcome; the result says whether the whole answer (up to `E`) came back.
pub fn read_batch_output(
    nonce: &str,
    mut next_line: impl FnMut() -> std::io::Result<Option<Vec<u8>>>,
    report: &mut dyn FnMut(usize, UnitOutcome),
) -> Result<(), BatchReadError> {
    let marker = format!("\u{1}{nonce} ");
    let mut output = Vec::new();
    let mut kept: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    loop {
        let Some(line) = next_line().map_err(BatchReadError::Io)? else {
            return Err(BatchReadError::Protocol("the answer ended early".into()));
        };
        let Some(fields) = line.strip_prefix(marker.as_bytes()) else {
            // What an operation printed, for its error message: the start of it is enough.
            if output.len() < OUTPUT_SHOWN {
                output.extend_from_slice(&line);
                output.push(b'\n');
            }
            continue;
        };
        let fields = String::from_utf8_lossy(fields).into_owned();
        let fields: Vec<&str> = fields.split(' ').collect();
        let number = |i: usize| -> Result<usize, BatchReadError> {
            fields
                .get(i)
                .and_then(|f| f.parse().ok())
                .ok_or_else(|| BatchReadError::Protocol(format!("unreadable marker {fields:?}")))
        };
        match fields[0] {
            "E" => return Ok(()),
            "B" => output.clear(),
            "V" => {
                let unit = fields
                    .get(1)
                    .and_then(|f| f.split('.').next())
                    .and_then(|unit| unit.parse().ok())
                    .filter(|_| fields.len() > 2)
                    .ok_or_else(|| {
                        BatchReadError::Protocol(format!("unreadable marker {fields:?}"))
                    })?;
                kept.entry(unit).or_default().push(fields[2..].join(" "));
            }
            "D" => {
                let unit = number(1)?;
                let kept = kept.remove(&unit).unwrap_or_default();
                report(unit, UnitOutcome::Done { kept });
            }
            "A" => {
                for at in 1..fields.len() {
                    let unit = number(at)?;
                    let kept = kept.remove(&unit).unwrap_or_default();
                    report(unit, UnitOutcome::Done { kept });
                }
            }
            "K" => report(
                number(1)?,
                UnitOutcome::Skipped {
                    because: number(2)?,
                },
            ),
            "S" => {
                let (unit, op, status) = (number(1)?, number(2)?, number(3)?);
                if status != 0 {
                    let words = String::from_utf8_lossy(&output);
                    let error = match words.trim() {
                        "" => format!("exit status {status}"),
                        words => format!("exit status {status}: {words}"),
                    };
                    report(unit, UnitOutcome::Failed { op, error });
                }
                // What the next operation prints is its own (a staged one has no `B`).
                output.clear();
            }
            other => {
                return Err(BatchReadError::Protocol(format!(
                    "unexpected marker `{other}`"
                )));
            }
        }
    }
}

#[derive(Debug)]
pub enum BatchReadError {
    Io(std::io::Error),
    Protocol(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Unit;
    use crate::check_command::CheckCommand;
    use crate::host_state::Ownership;
    use crate::op::Op;
    use crate::sensitive::Text;
    use std::io::BufRead as _;

    const NONCE: &str = "n0nce";
    use std::process::{Command, Stdio};

    /// The whole script, as the host receives it.
    pub(super) fn script(os: OsFamily, batch: &Batch, nonce: &str, backup_dir: &str) -> String {
        let mut sent = Vec::new();
        let mut out = Outgoing::new(&mut sent);
        write_script(os, batch, nonce, backup_dir, &mut out);
        out.finish().unwrap();
        String::from_utf8(sent).unwrap()
    }

    /// Runs a batch script with the local `sh` (the operations are plain POSIX tools).
    fn run_locally(script: &str) -> Vec<(usize, UnitOutcome)> {
        let mut child = Command::new("sh")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), script.as_bytes()).unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut outcomes = Vec::new();
        read_batch_output(
            NONCE,
            || {
                let mut line = Vec::new();
                let n = stdout.read_until(b'\n', &mut line)?;
                line.pop();
                Ok((n > 0).then_some(line))
            },
            &mut |unit, outcome| outcomes.push((unit, outcome)),
        )
        .unwrap();
        child.wait().unwrap();
        outcomes
    }

    /// Mode 0600, owned by whoever runs the test.
    fn mine() -> Ownership {
        let id = |flag: &str| {
            String::from_utf8(Command::new("id").arg(flag).output().unwrap().stdout)
                .unwrap()
                .trim()
                .to_string()
        };
        Ownership {
            mode: "0600".into(),
            owner: id("-un").into(),
            group: id("-gn").into(),
        }
    }

    fn write(path: String, bytes: &[u8]) -> Op {
        Op::WriteFile {
            path,
            content: Text::new(bytes.to_vec(), false),
            ownership: mine(),
            create_only: false,
            validate: None,
        }
    }

    fn checked(op: Op, command: &str) -> Op {
        match op {
            Op::WriteFile {
                path,
                content,
                ownership,
                create_only,
                ..
            } => Op::WriteFile {
                path,
                content,
                ownership,
                create_only,
                validate: Some(CheckCommand::new(command)),
            },
            other => other,
        }
    }

    fn unit(ops: Vec<Op>) -> Unit<'static> {
        Unit {
            ops: ops.into(),
            after: vec![],
        }
    }

    #[test]
    fn a_batch_runs_in_order_and_skips_what_depends_on_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name).display().to_string();
        let binary: Vec<u8> = (0..=255u8).collect();
        let batch = Batch {
            units: vec![
                Unit {
                    ops: vec![write(at("a"), &binary)].into(),
                    after: vec![],
                },
                Unit {
                    ops: vec![write(at("missing/b"), b"b"), write(at("never"), b"x")].into(),
                    after: vec![],
                },
                Unit {
                    ops: vec![write(at("c"), b"c")].into(),
                    after: vec![1],
                },
                Unit {
                    ops: vec![write(at("d"), b"it's 100% \\ $(not run)\n")].into(),
                    after: vec![0],
                },
                Unit {
                    ops: vec![write(at("dir"), b"x")].into(),
                    after: vec![],
                },
            ],
        };
        std::fs::create_dir(at("dir")).unwrap();
        let mut outcomes = run_locally(&script(OsFamily::Rocky, &batch, NONCE, &at("backups")));
        // Staged writes report once their run is renamed into place: in unit order here.
        outcomes.sort_by_key(|(unit, _)| *unit);
        let done = UnitOutcome::Done { kept: vec![] };
        assert_eq!(outcomes[0], (0, done.clone()));
        assert!(
            matches!(&outcomes[1], (1, UnitOutcome::Failed { op: 0, error }) if error.contains("missing")),
            "{outcomes:?}"
        );
        assert_eq!(outcomes[2], (2, UnitOutcome::Skipped { because: 1 }));
        assert_eq!(outcomes[3], (3, done));
        assert_eq!(std::fs::read(at("a")).unwrap(), binary);
        assert_eq!(
            std::fs::read(at("d")).unwrap(),
            b"it's 100% \\ $(not run)\n"
        );
        assert!(!std::path::Path::new(&at("never")).exists());
        assert!(
            matches!(&outcomes[4], (4, UnitOutcome::Failed { error, .. }) if error.contains("is a directory")),
            "a directory in the file's place is an error: {outcomes:?}"
        );
        assert!(
            std::fs::read_dir(at("dir")).unwrap().next().is_none(),
            "nothing put inside it"
        );
        assert!(!std::path::Path::new(&at("c")).exists());
        let leftovers = super::super::ops::temp_files_left(dir.path());
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    /// A temporary file an earlier run left (its shell killed between write and rename) is
    /// removed by the next batch that writes in its directory; other files stay.
    #[test]
    fn a_batch_removes_the_temporary_files_a_killed_run_left() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name).display().to_string();
        std::fs::write(at(".f3s.4242.0.0"), "half").unwrap();
        std::fs::write(at(".f3s.notes"), "not ours").unwrap();
        let batch = Batch {
            units: vec![unit(vec![write(at("a"), b"a")])],
        };
        let outcomes = run_locally(&script(OsFamily::Rocky, &batch, NONCE, &at("backups")));
        assert_eq!(outcomes, [(0, UnitOutcome::Done { kept: vec![] })]);
        assert!(!std::path::Path::new(&at(".f3s.4242.0.0")).exists());
        assert!(std::path::Path::new(&at(".f3s.notes")).exists());
    }

    /// The connection drops while a batch runs (here: its reader goes away after the first
    /// marker, while the first write's check still runs). The shell does not die between
    /// its backup and its rename: the write finishes whole, the batch stops at the next
    /// marker, and no temporary file is left.
    #[test]
    fn a_batch_whose_reader_is_gone_stops_between_operations() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name).display().to_string();
        std::fs::write(at("a"), "old a").unwrap();
        std::fs::write(at("b"), "old b").unwrap();
        let batch = Batch {
            units: vec![
                unit(vec![checked(
                    write(at("a"), b"new a"),
                    "sleep 0.5 && test -f {new}",
                )]),
                unit(vec![write(at("b"), b"new b")]),
            ],
        };
        let mut child = Command::new("sh")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let script = script(OsFamily::Rocky, &batch, NONCE, &at("backups"));
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), script.as_bytes()).unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut first = Vec::new();
        stdout.read_until(b'\n', &mut first).unwrap();
        assert!(
            String::from_utf8_lossy(&first).contains(" B 0 0"),
            "{first:?}"
        );
        drop(stdout);
        child.wait().unwrap();
        let b = std::fs::read_to_string(at("b")).unwrap();
        assert_eq!(b, "old b", "nothing after the drop ran");
        let a = std::fs::read_to_string(at("a")).unwrap();
        assert_eq!(a, "new a", "the write under way finished");
        let leftovers = super::super::ops::temp_files_left(dir.path());
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    /// A `validate` command that fails leaves the old file byte for byte and nothing else
    /// behind; one that passes replaces it, and the replaced content is kept and named.
    #[test]
    fn a_refused_check_leaves_the_old_file_and_a_replaced_one_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name).display().to_string();
        let old = b"old \0 bytes\n";
        std::fs::write(at("conf"), old).unwrap();
        std::fs::write(at("key"), b"old key").unwrap();
        let check =
            "f={new}; grep -q good \"$f\" || { echo \"no good in $f\"; cat \"$f\"; exit 3; }";
        let secret = Op::WriteFile {
            path: at("key"),
            content: Text::new(b"s3cret-bytes".to_vec(), true),
            ownership: mine(),
            create_only: false,
            validate: Some(CheckCommand::new("cat {new}; false")),
        };
        let batch = Batch {
            units: vec![
                unit(vec![checked(write(at("conf"), b"bad\n"), check)]),
                unit(vec![secret]),
                unit(vec![checked(write(at("conf"), b"good\n"), check)]),
            ],
        };
        let backups = at("backups");
        let outcomes = run_locally(&script(OsFamily::Rocky, &batch, NONCE, &backups));
        let (0, UnitOutcome::Failed { error, .. }) = &outcomes[0] else {
            panic!("{outcomes:?}")
        };
        assert!(
            error.contains("no good in /"),
            "the checker's words: {error}"
        );
        assert!(
            error.contains("bad"),
            "they may quote plain content: {error}"
        );
        assert!(error.contains("is left as it was"), "{error}");
        let (1, UnitOutcome::Failed { error, .. }) = &outcomes[1] else {
            panic!("{outcomes:?}")
        };
        assert!(!error.contains("s3cret"), "withheld: {error}");
        assert!(error.contains("withheld"), "{error}");
        assert_eq!(std::fs::read(at("key")).unwrap(), b"old key");
        let (2, UnitOutcome::Done { kept }) = &outcomes[2] else {
            panic!("{outcomes:?}")
        };
        assert_eq!(std::fs::read(at("conf")).unwrap(), b"good\n");
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert!(kept[0].starts_with(&format!("{backups}{}.", at("conf"))));
        assert_eq!(std::fs::read(&kept[0]).unwrap(), old);
        let leftovers = super::super::ops::temp_files_left(dir.path());
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    fn mkdir(path: String, mode: &str) -> Op {
        Op::CreateDirectory {
            path,
            ownership: Ownership {
                mode: mode.into(),
                ..mine()
            },
        }
    }

    /// Many directories and files are staged and put in place in few processes: a new tree
    /// whole, an existing directory's files in one rename; each unit still has its outcome,
    /// a replaced file its backup, a script its mode, and nothing is left behind. A file
    /// where a directory is fails alone, and what depends on it is skipped.
    #[test]
    fn a_run_of_writes_is_staged_and_each_unit_keeps_its_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name).display().to_string();
        std::fs::create_dir(at("etc")).unwrap();
        std::fs::write(at("etc/old.conf"), "old\n").unwrap();
        std::fs::create_dir(at("etc/taken")).unwrap();
        let script_mode = Ownership {
            mode: "0755".into(),
            ..mine()
        };
        let units = vec![
            unit(vec![mkdir(at("srv"), "0750")]),
            Unit {
                ops: vec![mkdir(at("srv/a"), "0700")].into(),
                after: vec![0],
            },
            Unit {
                ops: vec![mkdir(at("srv/a/b"), "0700")].into(),
                after: vec![1],
            },
            Unit {
                ops: vec![write(at("srv/a/b/f"), b"f\n")].into(),
                after: vec![2],
            },
            unit(vec![Op::WriteFile {
                path: at("srv/run.sh"),
                content: Text::plain("#!/bin/sh\n"),
                ownership: script_mode,
                create_only: false,
                validate: None,
            }]),
            unit(vec![write(at("etc/old.conf"), b"new\n")]),
            unit(vec![write(at("etc/new.conf"), b"fresh\n")]),
            unit(vec![write(at("etc/taken"), b"x")]),
            Unit {
                ops: vec![write(at("etc/after-taken"), b"x")].into(),
                after: vec![7],
            },
        ];
        let batch = Batch { units };
        let script = script(OsFamily::Rocky, &batch, NONCE, &at("backups"));
        assert_eq!(
            script.matches("o=$(mv -f").count(),
            1,
            "one rename call for etc/"
        );
        let mut outcomes = run_locally(&script);
        outcomes.sort_by_key(|(unit, _)| *unit);
        let done = |unit: usize| {
            outcomes
                .iter()
                .any(|(u, o)| *u == unit && matches!(o, UnitOutcome::Done { .. }))
        };
        for unit in [0, 1, 2, 3, 4, 5, 6] {
            assert!(done(unit), "unit {unit}: {outcomes:?}");
        }
        assert!(
            outcomes.iter().any(|(u, o)| *u == 7 && matches!(o, UnitOutcome::Failed { error, .. } if error.contains("is a directory"))),
            "{outcomes:?}"
        );
        assert!(
            outcomes.contains(&(8, UnitOutcome::Skipped { because: 7 })),
            "{outcomes:?}"
        );
        let mode = |name: &str| {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::metadata(at(name)).unwrap().permissions().mode() & 0o7777
        };
        assert_eq!(std::fs::read_to_string(at("srv/a/b/f")).unwrap(), "f\n");
        assert_eq!(mode("srv"), 0o750);
        assert_eq!(mode("srv/a"), 0o700);
        assert_eq!(mode("srv/run.sh"), 0o755);
        assert_eq!(mode("srv/a/b/f"), 0o600);
        assert_eq!(
            std::fs::read_to_string(at("etc/old.conf")).unwrap(),
            "new\n"
        );
        assert_eq!(
            std::fs::read_to_string(at("etc/new.conf")).unwrap(),
            "fresh\n"
        );
        let (_, UnitOutcome::Done { kept }) = &outcomes[5] else {
            panic!("{outcomes:?}")
        };
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert_eq!(std::fs::read_to_string(&kept[0]).unwrap(), "old\n");
        assert!(std::fs::read_dir(at("etc/taken")).unwrap().next().is_none());
        for place in ["", "etc", "srv"] {
            let left = super::super::ops::temp_files_left(&dir.path().join(place));
            assert!(left.is_empty(), "{place}: {left:?}");
        }
    }

    #[test]
    fn a_cut_script_runs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x").display().to_string();
        let batch = Batch {
            units: vec![Unit {
                ops: vec![Op::CreateDirectory {
                    path: path.clone(),
                    ownership: Ownership {
                        mode: "0755".into(),
                        owner: "root".into(),
                        group: "root".into(),
                    },
                }]
                .into(),
                after: vec![],
            }],
        };
        let mut sent = Vec::new();
        write_batch_script(OsFamily::Rocky, &batch, NONCE, &mut sent).unwrap();
        let script = String::from_utf8(sent).unwrap();
        let cut = &script[..script.len() - 20];
        let status = Command::new("sh")
            .args(["-c", cut])
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(!status.success());
        assert!(!std::path::Path::new(&path).exists());
    }
}

#[cfg(test)]
mod timing {
    use super::tests::script;
    use super::*;
    use crate::batch::Unit;
    use crate::host_state::Ownership;
    use crate::sensitive::Text;

    /// The scale workload's batch on a local shell, for a look at what the host spends:
    /// `cargo test --release --lib batch_time -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn batch_time() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("srv").display().to_string();
        let own = |mode: &str| Ownership {
            mode: mode.into(),
            owner: "root".into(),
            group: "root".into(),
        };
        let mut units = vec![Unit {
            ops: vec![Op::CreateDirectory {
                path: root.clone(),
                ownership: own("0755"),
            }]
            .into(),
            after: vec![],
        }];
        for d in 0..999 {
            units.push(Unit {
                ops: vec![Op::CreateDirectory {
                    path: format!("{root}/d{d:04}"),
                    ownership: own("0755"),
                }]
                .into(),
                after: vec![0],
            });
        }
        let content = "0123456789abcdef".repeat(64);
        for f in 0..2000 {
            units.push(Unit {
                ops: vec![Op::WriteFile {
                    path: format!("{root}/d{:04}/f{f:05}.conf", f % 999),
                    content: Text::plain(content.clone()),
                    ownership: own("0644"),
                    create_only: false,
                    validate: None,
                }]
                .into(),
                after: vec![1 + f % 999],
            });
        }
        let batch = Batch { units };
        let started = std::time::Instant::now();
        let script = script(OsFamily::Rocky, &batch, "n0nce", &format!("{root}.backups"));
        eprintln!("script: {} bytes in {:?}", script.len(), started.elapsed());
        if let Some(path) = std::env::var_os("F3S_BATCH_SCRIPT") {
            std::fs::write(path, &script).unwrap();
        }
        let started = std::time::Instant::now();
        let mut child = std::process::Command::new("sh")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || {
            std::io::Write::write_all(&mut stdin, script.as_bytes()).unwrap()
        });
        let output = child.wait_with_output().unwrap();
        writer.join().unwrap();
        eprintln!(
            "ran in {:?}, {} bytes out, status {:?}",
            started.elapsed(),
            output.stdout.len(),
            output.status
        );
    }
}
