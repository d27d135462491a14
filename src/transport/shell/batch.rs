//! A batch (see `crate::batch`) as one shell script, and the reading of what it prints. The
//! script is sent on stdin inside one `{ … } </dev/null` group: the shell reads it whole before
//! running any of it, so a connection cut while sending runs nothing, and no command can read
//! the rest of the script as its input.
//!
//! Each operation is a shell function run in the batch's shell (a fork per operation costs
//! more than most operations), its output (stdout and stderr) on stdout between two marker
//! lines. A marker starts with \001 and a nonce the batch draws, so no output can forge one:
//! `B UNIT OP` before an operation, `S UNIT OP STATUS` after it (on a line of its own), `D
//! UNIT` when a unit is done, `K UNIT BECAUSE` when it is skipped, `E` at the end.

use std::fmt::Write as _;

use super::ops::op_script;
use super::{dialect, prologue, quote};
use crate::batch::{Batch, UnitOutcome};
use crate::inventory::host::OsFamily;

/// The script running `batch`, with its markers' `nonce`.
pub fn batch_script(os: OsFamily, batch: &Batch, nonce: &str) -> String {
    let mut script = format!(
        "{{\n{}\nexec 2>&1; k='{nonce}'; r=$(id -u); m() {{ printf '\\001%s %s\\n' \"$k\" \"$*\"; }}\n",
        prologue(dialect(os))
    );
    for (index, unit) in batch.units.iter().enumerate() {
        let guard = if unit.after.is_empty() {
            "true".to_string()
        } else {
            let flags: String = unit.after.iter().map(|u| format!("$u{u}")).collect();
            format!("[ \"{flags}\" = {} ]", "y".repeat(unit.after.len()))
        };
        let _ = writeln!(script, "s=0; if {guard}; then");
        for (number, op) in unit.ops.iter().enumerate() {
            // What this OS cannot do fails its own unit, not the batch.
            let fragment = op_script(os, op).unwrap_or_else(|| {
                let why = format!("cannot {} on {os}", op.describe());
                format!("echo {} >&2; return 1", quote(&why))
            });
            let _ = writeln!(
                script,
                "[ $s = 0 ] && {{ f() {{ {fragment}\n}}; n={index}.{number}; m B {index} {number}; f </dev/null; s=$?; umask 022; set +C; echo; m S {index} {number} $s; }}"
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
    script.push_str("m E\n} </dev/null\n");
    script
}

/// Reads a batch script's output line by line as it arrives, telling `report` each unit's
/// outcome; the result says whether the whole answer (up to `E`) came back.
pub fn read_batch_output(
    nonce: &str,
    mut next_line: impl FnMut() -> std::io::Result<Option<Vec<u8>>>,
    report: &mut dyn FnMut(usize, UnitOutcome),
) -> Result<(), BatchReadError> {
    let marker = format!("\u{1}{nonce} ");
    let mut output = Vec::new();
    loop {
        let Some(line) = next_line().map_err(BatchReadError::Io)? else {
            return Err(BatchReadError::Protocol("the answer ended early".into()));
        };
        let Some(fields) = line.strip_prefix(marker.as_bytes()) else {
            output.extend_from_slice(&line);
            output.push(b'\n');
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
            "D" => report(number(1)?, UnitOutcome::Done),
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
    use crate::host_state::Ownership;
    use crate::op::Op;
    use crate::sensitive::Text;
    use std::io::BufRead as _;

    const NONCE: &str = "n0nce";
    use std::process::{Command, Stdio};

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

    #[test]
    fn a_batch_runs_in_order_and_skips_what_depends_on_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name).display().to_string();
        let me = Ownership {
            mode: "0600".into(),
            owner: String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
                .unwrap()
                .trim()
                .into(),
            group: String::from_utf8(Command::new("id").arg("-gn").output().unwrap().stdout)
                .unwrap()
                .trim()
                .into(),
        };
        let write = |path: String, bytes: &[u8]| Op::WriteFile {
            path,
            content: Text::new(bytes.to_vec(), false),
            ownership: me.clone(),
            create_only: false,
        };
        let binary: Vec<u8> = (0..=255u8).collect();
        let batch = Batch {
            units: vec![
                Unit {
                    ops: vec![write(at("a"), &binary)],
                    after: vec![],
                },
                Unit {
                    ops: vec![write(at("missing/b"), b"b"), write(at("never"), b"x")],
                    after: vec![],
                },
                Unit {
                    ops: vec![write(at("c"), b"c")],
                    after: vec![1],
                },
                Unit {
                    ops: vec![write(at("d"), b"it's 100% \\ $(not run)\n")],
                    after: vec![0],
                },
                Unit {
                    ops: vec![write(at("dir"), b"x")],
                    after: vec![],
                },
            ],
        };
        std::fs::create_dir(at("dir")).unwrap();
        let outcomes = run_locally(&batch_script(OsFamily::Rocky, &batch, NONCE));
        assert_eq!(outcomes[0], (0, UnitOutcome::Done));
        assert!(
            matches!(&outcomes[1], (1, UnitOutcome::Failed { op: 0, error }) if error.contains("missing")),
            "{outcomes:?}"
        );
        assert_eq!(outcomes[2], (2, UnitOutcome::Skipped { because: 1 }));
        assert_eq!(outcomes[3], (3, UnitOutcome::Done));
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
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".f3s."))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
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
                }],
                after: vec![],
            }],
        };
        let script = batch_script(OsFamily::Rocky, &batch, NONCE);
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
