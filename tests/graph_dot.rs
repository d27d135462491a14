//! `f3s graph` prints valid Graphviz DOT with the edges the engine relies on.

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use common::{EXAMPLE, f3s, stderr, stdout};

/// Parses DOT with graphviz's own `dot` (installed by scripts/test); fails on a syntax error.
fn dot_accepts(source: &str) -> Result<String, String> {
    let mut dot = Command::new("dot")
        .arg("-Tcanon")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("graphviz `dot` is installed (scripts/test installs it)");
    dot.stdin
        .take()
        .unwrap()
        .write_all(source.as_bytes())
        .unwrap();
    let output = dot.wait_with_output().unwrap();
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[test]
fn graph_is_valid_dot() {
    let output = f3s(&["graph", "-i", EXAMPLE]);
    assert!(output.status.success(), "{}", stderr(&output));
    let source = stdout(&output);
    let canonical = dot_accepts(&source).unwrap_or_else(|error| panic!("{error}\n{source}"));
    assert!(canonical.contains("\"f0/service:mountd\""));
}

#[test]
fn the_dot_check_rejects_broken_dot() {
    assert!(dot_accepts("digraph { \"a\" -> ").is_err());
}

#[test]
fn graph_has_notify_implied_and_cross_host_edges() {
    let source = stdout(&f3s(&["graph", "-i", EXAMPLE]));
    let edges = [
        "\"f0/file:/etc/exports\" -> \"f0/service:mountd\" [style=dashed, label=\"notify\"];",
        "\"r0/package:stunnel\" -> \"r0/service:stunnel\" [style=dotted];",
        "\"f0/file:/usr/local/bin/carpcontrol.sh\" -> \"f1/file:/usr/local/bin/carpcontrol.sh\" [style=dotted];",
    ];
    for edge in edges {
        assert!(source.contains(edge), "{edge}\n{source}");
    }
}

#[test]
fn host_filter_keeps_one_cluster() {
    let source = stdout(&f3s(&["graph", "-i", EXAMPLE, "--host", "r0"]));
    assert!(source.contains("label=\"r0\""));
    assert!(!source.contains("f0/"));
    dot_accepts(&source).unwrap();
}
