//! What apply shows while it runs: on a terminal, a live line per host (done of total, what
//! runs now); off a terminal, or in CI, one plain line per resource that a log keeps whole.

mod common;

use std::process::Command;

use common::{EXAMPLE, EXAMPLE_STATE};

const APPLY: &[&str] = &["apply", "-i", EXAMPLE, "--state", EXAMPLE_STATE, "--yes"];

/// Runs the example's apply on a pseudo-terminal (script(1)), with `env` set there.
fn on_a_terminal(env: &str) -> String {
    let line = std::iter::once(env!("CARGO_BIN_EXE_f3s"))
        .chain(APPLY.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let output = Command::new("script")
        .args([
            "-qec",
            &format!("stty cols 120; env -u NO_COLOR -u CI TERM=xterm {env} {line}"),
            "/dev/null",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_terminal_gets_a_live_line_per_host() {
    let shown = on_a_terminal("");
    for host in ["f0", "f1", "r0"] {
        assert!(
            shown.contains(&format!("{host}\x1b[0m [")),
            "{host}: {shown}"
        );
    }
    assert!(shown.contains("4/4") && shown.contains("5/5"), "{shown}");
    assert!(shown.contains("applying "), "what runs now: {shown}");
    assert!(
        !shown.contains("f0/file:/etc/exports: applying"),
        "no plain lines: {shown}"
    );
    assert!(
        shown.contains("Apply summary"),
        "the summary stays: {shown}"
    );
}

#[test]
fn ci_and_no_color_get_plain_lines_even_on_a_terminal() {
    for env in ["CI=true", "NO_COLOR=1"] {
        let shown = on_a_terminal(env);
        assert!(
            shown.contains("f0/file:/etc/exports: applying"),
            "{env}: {shown}"
        );
        assert!(!shown.contains("4/4"), "{env}: {shown}");
    }
}

/// Plain means plain: with `TERM=dumb`, `CI` or `NO_COLOR`, not one escape byte, on a
/// terminal too (the plan, the progress lines, the summary).
#[test]
fn plain_terminals_get_no_escape_at_all() {
    for env in ["TERM=dumb", "CI=1", "NO_COLOR=1"] {
        let shown = on_a_terminal(env);
        assert!(shown.contains("Apply summary"), "{env}: {shown}");
        assert_eq!(shown.matches('\x1b').count(), 0, "{env}: {shown:?}");
    }
}

#[test]
fn a_log_gets_plain_lines() {
    let output = common::f3s(APPLY);
    common::assert_code(&output, 0);
    let shown = common::stdout(&output);
    assert!(shown.contains("f0/file:/etc/exports: done"), "{shown}");
    assert!(!shown.contains('\x1b'), "{shown}");
}

/// `--quiet`: the plan's closing lines and the apply's counts, not a line per resource.
#[test]
fn a_quiet_apply_prints_its_summary_only() {
    let mut args = APPLY.to_vec();
    args.push("--quiet");
    let loud = common::f3s(APPLY);
    let quiet = common::f3s(&args);
    common::assert_code(&quiet, 0);
    let text = common::stdout(&quiet);
    assert!(text.contains("Plan: "), "{text}");
    assert!(text.contains("Apply: "), "{text}");
    assert!(!text.contains("applying"), "{text}");
    assert!(!text.contains("--- /etc/exports"), "no diff: {text}");
    assert!(
        text.lines().count() * 4 < common::stdout(&loud).lines().count(),
        "{text}"
    );
}
