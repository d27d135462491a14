//! Rollouts without a network: their mistakes reported at the YAML, their order in the text
//! and JSON plan (with what runs early for an earlier batch), and apply on recorded state,
//! where health checks cannot run. The lab tests are in rollout_e2e.rs.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Case, EXAMPLE_STATE, assert_code, f3s, f3s_in, stdout};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn rollout_mistakes_are_reported_at_their_line() {
    Case::new(
        "
groups:
  pair:
    hosts: [f0, f1, f2]
    rollout:
      batches: [[f1], [f0, r0], []]
      health: ''
  again:
    hosts: [f1]
    rollout: { batches: [[f1]] }
hosts:
  f0: { os: freebsd, address: 192.168.1.130 }
  f1: { os: freebsd, address: 192.168.1.131 }
  f2: { os: freebsd, address: 192.168.1.132 }
  r0: { os: rocky, address: 192.168.1.120 }
",
    )
    .fails_with(&[
        (
            "inventory.yml:5",
            "`r0` is in the rollout of group `pair`, but not a host of that group",
        ),
        ("inventory.yml:5", "found an empty batch"),
        (
            "inventory.yml:5",
            "`f2` of group `pair` is in no batch of the group's rollout",
        ),
        (
            "inventory.yml:6",
            "expected a shell command, found an empty string",
        ),
        (
            "inventory.yml:9",
            "`f1` is rolled out twice: in batch 1 of group `pair`, and again here",
        ),
    ]);
}

/// The bundled example with a rollout of its storage pair: f1 (whose carpcontrol.sh is a
/// copy of f0's) first, then f0.
fn example_with_rollout() -> Case {
    let example = std::fs::read_to_string(format!("{ROOT}/examples/fixture/inventory.yml"))
        .unwrap()
        .replace(
            "module_path: [modules, ../../modules]",
            &format!("module_path: [{ROOT}/examples/fixture/modules, {ROOT}/modules]"),
        )
        .replace("file: secrets/", &format!("file: {ROOT}/examples/fixture/secrets/"))
        .replace(
            "      - module: carp\n",
            "      - module: carp\n    rollout:\n      batches: [[f1], [f0]]\n      health: service nfsd onestatus\n",
        );
    assert!(
        example.contains("rollout:"),
        "the example changed:\n{example}"
    );
    Case::new(&example)
}

fn run(case: &Case, args: &[&str]) -> Output {
    let state = format!("{ROOT}/{EXAMPLE_STATE}");
    let mut full = vec![args[0], "-i", "inventory.yml", "--state", &state];
    full.extend_from_slice(&args[1..]);
    f3s_in(case.path(), &full)
}

#[test]
fn the_plan_shows_the_rollout_order_and_what_runs_early() {
    let case = example_with_rollout();
    let text = stdout(&run(&case, &["plan"]));
    assert!(
        text.contains(
            "Rollout of `storage`: f1, then f0; health check after each batch: service nfsd onestatus\n  f0/file:/usr/local/bin/carpcontrol.sh runs early, with batch 1: f1/file:/usr/local/bin/carpcontrol.sh needs it\n"
        ),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&run(&case, &["plan", "--json"]).stdout).unwrap();
    assert_eq!(
        json["rollouts"],
        serde_json::json!([{
            "group": "storage",
            "batches": [["f1"], ["f0"]],
            "health": "service nfsd onestatus",
            "early": [{
                "address": "f0/file:/usr/local/bin/carpcontrol.sh",
                "batch": 1,
                "needed_by": "f1/file:/usr/local/bin/carpcontrol.sh",
            }],
        }])
    );
    // Only the hosts in scope are rolled out.
    let f0_only = stdout(&run(&case, &["plan", "--host", "f0"]));
    assert!(
        f0_only.contains("Rollout of `storage`: f0; health check"),
        "{f0_only}"
    );
}

#[test]
fn recorded_state_is_applied_batch_by_batch_without_checks() {
    let case = example_with_rollout();
    let applied = run(&case, &["apply", "--yes"]);
    assert_code(&applied, 0);
    let text = stdout(&applied);
    let lines: Vec<&str> = text.lines().collect();
    let at = |line: &str| {
        lines
            .iter()
            .position(|l| *l == line)
            .unwrap_or_else(|| panic!("no line `{line}` in:\n{text}"))
    };
    let early = at("f0/file:/usr/local/bin/carpcontrol.sh: applying");
    let copy = at("f1/file:/usr/local/bin/carpcontrol.sh: applying");
    let checked = at(
        "rollout of `storage`: health check on f1: not run: recorded host state cannot run commands",
    );
    let f0 = at("f0/file:/etc/exports: applying");
    let last_f1 = lines.iter().rposition(|l| l.starts_with("f1/")).unwrap();
    assert!(early < copy && last_f1 < checked && checked < f0, "{text}");
}

/// Two rollouts whose first batches each need a resource of the other's second batch, one of
/// them through a host in no rollout: each such resource runs with its own rollout's first
/// batch, so nothing waits forever. And a host in no rollout (d0) whose first resource waits
/// for a second batch, and whose second one the first batch needs: it takes the second first.
#[test]
fn rollouts_needing_each_other_do_not_deadlock() {
    let mut case = Case::new(
        "
groups:
  a:
    hosts: [a1, a2]
    rollout: { batches: [[a1], [a2]] }
  b:
    hosts: [b1, b2]
    rollout: { batches: [[b1], [b2]] }
hosts:
  a1: { os: freebsd, address: 127.0.0.1, modules: [{ module: needy, params: { needs: b2/file:/etc/b2 } }, { module: wants_d0 }] }
  a2: { os: freebsd, address: 127.0.0.1, modules: [{ module: leaf }, { module: late }] }
  b1: { os: freebsd, address: 127.0.0.1, modules: [{ module: needy, params: { needs: c0/file:/etc/c0 } }] }
  b2: { os: freebsd, address: 127.0.0.1, modules: [{ module: leaf }] }
  c0: { os: freebsd, address: 127.0.0.1, modules: [{ module: needy, params: { needs: a2/file:/etc/a2 } }] }
  d0: { os: freebsd, address: 127.0.0.1, modules: [{ module: d0 }] }
",
    )
    .module(
        "leaf",
        "resources:\n  - file: /etc/{{host.name}}\n    content: leaf\n",
    )
    .module(
        "needy",
        "params:\n  needs: {}\nresources:\n  - file: /etc/{{host.name}}\n    content: needy\n    requires: [\"{{needs}}\"]\n",
    )
    .module(
        "late",
        "resources:\n  - file: /etc/{{host.name}}-late\n    content: late\n",
    )
    .module(
        "wants_d0",
        "resources:\n  - file: /etc/a1-d0\n    content: x\n    requires: [d0/file:/etc/d0-needed]\n",
    )
    .module(
        "d0",
        "resources:\n  - file: /etc/d0-waits\n    content: x\n    requires: [a2/file:/etc/a2-late]\n  - file: /etc/d0-needed\n    content: x\n",
    );
    for host in ["a1", "a2", "b1", "b2", "c0", "d0"] {
        case = case.file(&format!("state/{host}.yml"), "os: freebsd\n");
    }
    let plan = f3s_in(
        case.path(),
        &["plan", "-i", "inventory.yml", "--state", "state"],
    );
    let text = stdout(&plan);
    for early in [
        "b2/file:/etc/b2 runs early, with batch 1: a1/file:/etc/a1 needs it",
        "a2/file:/etc/a2 runs early, with batch 1: c0/file:/etc/c0 needs it",
    ] {
        assert!(text.contains(early), "{text}");
    }
    let mut apply = Command::new(env!("CARGO_BIN_EXE_f3s"))
        .args(["apply", "-i", "inventory.yml", "--state", "state", "--yes"])
        .current_dir(case.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = apply.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            // Only the process this test started, by its handle.
            let _ = apply.kill();
            panic!("apply did not finish: deadlocked");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success());
}

#[test]
fn apply_help_explains_rollouts() {
    let help = stdout(&f3s(&["apply", "--help"]));
    assert!(help.contains("Rolling apply:"), "{help}");
    assert!(help.contains("stops the rollout"), "{help}");
}
