//! The bundled example, planned against its recorded state: what the README promises.

mod common;

use common::{EXAMPLE, EXAMPLE_STATE, example_secret, f3s, stderr, stdout};

/// The example's plan saved to a file of its own (kept while the handle lives), and what
/// `plan -o` printed.
fn saved_plan() -> (tempfile::NamedTempFile, std::process::Output) {
    let saved = tempfile::NamedTempFile::new().unwrap();
    let planned = plan(&["-o", saved.path().to_str().unwrap()]);
    assert!(planned.status.success(), "{}", stderr(&planned));
    (saved, planned)
}

fn plan(extra: &[&str]) -> std::process::Output {
    let mut args = vec!["plan", "-i", EXAMPLE, "--state", EXAMPLE_STATE];
    args.extend_from_slice(extra);
    f3s(&args)
}

#[test]
fn text_plan_is_pinned() {
    let output = plan(&[]);
    assert!(output.status.success(), "{}", stderr(&output));
    insta::assert_snapshot!("example_plan_text", stdout(&output));
}

#[test]
fn json_plan_is_pinned() {
    let output = plan(&["--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("plan JSON parses");
    insta::assert_json_snapshot!("example_plan_json", json);
}

#[test]
fn detailed_exitcode_says_changes_are_pending() {
    let output = plan(&["--detailed-exitcode"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn detailed_exitcode_is_zero_when_nothing_changes() {
    let output = plan(&[
        "--detailed-exitcode",
        "--target",
        "f0/sysrc:nfsv4_server_enable",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("No changes."));
}

#[test]
fn plan_shows_the_kinds_of_change_the_example_exists_for() {
    let text = stdout(&plan(&[]));
    assert!(
        text.contains("+ directory:/data/nfs/k3svolumes  create"),
        "a creation:\n{text}"
    );
    assert!(
        text.contains("-/data/nfs -alldirs -maproot=root -network 192.168.1.0"),
        "a diff:\n{text}"
    );
    assert!(
        text.contains("* service:mountd  refresh"),
        "a refresh:\n{text}"
    );
    assert!(
        text.contains("value: (sensitive) "),
        "a masked secret:\n{text}"
    );
    assert!(
        text.contains("-> (known after apply)"),
        "a value known after apply:\n{text}"
    );
}

#[test]
fn no_output_holds_the_secret() {
    let secret = example_secret();
    let saved = tempfile::NamedTempFile::new().unwrap();
    let path = saved.path().to_str().unwrap();
    for output in [plan(&[]), plan(&["--json", "-o", path])] {
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(!stdout(&output).contains(&secret));
        assert!(!stderr(&output).contains(&secret));
    }
    let saved = std::fs::read_to_string(path).unwrap();
    assert!(saved.contains("\"format_version\": 1"));
    assert!(!saved.contains(&secret));
}

#[test]
fn the_same_plan_twice_is_byte_identical() {
    for extra in [&[][..], &["--json"][..]] {
        let first = plan(extra);
        let second = plan(extra);
        assert_eq!(first.stdout, second.stdout);
        assert!(!first.stdout.is_empty());
    }
}

#[test]
fn host_filter_plans_only_that_host() {
    let text = stdout(&plan(&["--host", "r0"]));
    assert!(text.contains("r0  rocky"));
    assert!(!text.contains("f0  freebsd"));
    assert!(text.contains("(1 hosts, 5 resources)"), "{text}");
}

/// A target brings what it requires and what notifies it (its configuration), transitively.
#[test]
fn target_brings_its_dependencies() {
    let json = stdout(&plan(&["--json", "--target", "r0/service:stunnel"]));
    let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
    let addresses: Vec<&str> = plan["hosts"][0]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        addresses,
        [
            "r0/package:stunnel",
            "r0/directory:/etc/stunnel",
            "r0/file:/etc/stunnel/stunnel.conf",
            "r0/service:stunnel"
        ]
    );
}

#[test]
fn unknown_target_and_host_are_errors() {
    let output = plan(&["--target", "r0/service:nope", "--host", "f9"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("unknown host `f9`"), "{err}");
    assert!(err.contains("`r0/service:nope` names no resource"), "{err}");
}

#[test]
fn missing_recorded_state_is_an_error_naming_the_host() {
    let empty = tempfile::tempdir().unwrap();
    let output = plan_with_state(empty.path());
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("no recorded state for host `f0`"), "{err}");
    assert!(err.contains("inventory.yml:"), "points at the host: {err}");
}

fn plan_with_state(dir: &std::path::Path) -> std::process::Output {
    f3s(&["plan", "-i", EXAMPLE, "--state", dir.to_str().unwrap()])
}

/// Compiling and graphing need no secret's value: CI checks the real inventory with none.
#[test]
fn check_and_graph_need_no_secret() {
    for command in ["check", "graph"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_f3s"))
            .args([command, "-i", "inventory/f3s.yml"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_clear()
            .output()
            .unwrap();
        assert!(output.status.success(), "{command}: {}", stderr(&output));
    }
}

#[test]
fn check_accepts_the_example_and_the_real_inventory() {
    // The real inventory's CARP password comes from the environment, as on an admin's machine.
    for inventory in [EXAMPLE, "inventory/f3s.yml"] {
        let output = common::f3s_with_lab_secret(&["check", "-i", inventory]);
        assert!(output.status.success(), "{inventory}: {}", stderr(&output));
        assert!(stdout(&output).contains("no cycles"));
    }
}

/// An export line the admin added by hand is dropped by the module's whole-file `exports`:
/// the plan says so on the resource's line, in its summary and in the JSON plan, not only as
/// a `-` line deep in the diff.
#[test]
fn a_change_that_drops_a_hosts_lines_is_marked_and_counted() {
    let dir = common::example_copy();
    let state = dir.path().join("state/f0.yml");
    let text = std::fs::read_to_string(&state).unwrap();
    let extra = "      V4: /data/nfs -sec=sys\n";
    assert!(text.contains(extra));
    std::fs::write(
        &state,
        text.replacen(
            extra,
            &format!("{extra}      /data/backup -ro -network 10.0.0.0/8\n"),
            1,
        ),
    )
    .unwrap();
    let inventory = dir.path().join("inventory.yml");
    let args = ["plan", "-i", inventory.to_str().unwrap(), "--state"];
    let state_dir = dir.path().join("state");
    let plan = common::f3s(&[&args[..], &[state_dir.to_str().unwrap()]].concat());
    let out = common::stdout(&plan);
    assert!(
        out.contains("~ file:/etc/exports  change  REMOVES 1 LINE the host's file has"),
        "{out}"
    );
    // A line of its own, not an escaped line break inside the summary's.
    assert!(
        out.lines()
            .any(|line| line.starts_with("1 of the changes remove lines the hosts' files have")),
        "{out}"
    );
    let json = common::f3s(&[&args[..], &[state_dir.to_str().unwrap(), "--json"]].concat());
    let json: serde_json::Value = serde_json::from_str(&common::stdout(&json)).unwrap();
    assert_eq!(json["summary"]["remove_lines"], 1);
    let exports = json["hosts"][0]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "f0/file:/etc/exports")
        .unwrap();
    assert_eq!(exports["removes_lines"], 1);
    // Apply (against the recorded state) says it again, where it says what was done.
    let apply = common::f3s(&[
        "apply",
        "-i",
        inventory.to_str().unwrap(),
        "--state",
        state_dir.to_str().unwrap(),
        "--yes",
    ]);
    let out = common::stdout(&apply);
    let line = out
        .lines()
        .find(|line| line.contains("f0/file:/etc/exports  done"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("1 line(s) the file had were removed"),
        "{line}"
    );
}

/// A saved plan names its inventory: `apply PLANFILE` needs no `-i` again.
#[test]
fn a_saved_plan_is_applied_with_the_inventory_it_names() {
    let (saved, _) = saved_plan();
    let path = saved.path().to_str().unwrap();
    let applied = f3s(&["apply", "--state", EXAMPLE_STATE, "--yes", path]);
    assert!(applied.status.success(), "{}", stderr(&applied));
    assert!(
        stdout(&applied).contains("f0/file:/etc/exports: done"),
        "{}",
        stdout(&applied)
    );
}

/// `f3s show PLANFILE` prints a saved plan as `plan` printed it, and `--json` gives back the
/// file as it was saved; neither needs the inventory or the hosts.
#[test]
fn a_saved_plan_is_shown_as_it_was_planned() {
    let (saved, planned) = saved_plan();
    let path = saved.path().to_str().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let shown = common::f3s_in(elsewhere.path(), &["show", path]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    assert_eq!(stdout(&shown), stdout(&planned));
    let json = common::f3s_in(elsewhere.path(), &["show", "--json", path]);
    assert!(json.status.success(), "{}", stderr(&json));
    assert_eq!(json.stdout, std::fs::read(path).unwrap());
}

/// A plan that left something out (a secret without a value) is shown with what it left
/// out and without "No changes".
#[test]
fn a_saved_plan_shows_what_it_left_out() {
    let saved = tempfile::NamedTempFile::new().unwrap();
    let path = saved.path().to_str().unwrap();
    let dir = common::example_copy();
    std::fs::remove_file(dir.path().join("secrets/carp_password")).unwrap();
    let planned = common::f3s_in(
        dir.path(),
        &[
            "plan",
            "-i",
            "inventory.yml",
            "--state",
            "state",
            "-o",
            path,
        ],
    );
    assert!(planned.status.success(), "{}", stderr(&planned));
    let shown = f3s(&["show", path]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    assert_eq!(stdout(&shown), stdout(&planned));
    assert!(
        stdout(&shown).contains("needs secret `carp_password`"),
        "{}",
        stdout(&shown)
    );
}

/// What is not a saved plan is refused, saying which file and why.
#[test]
fn show_refuses_what_is_not_a_saved_plan() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let (saved, _) = saved_plan();
    let path = saved.path().to_str().unwrap();
    let good = std::fs::read_to_string(path).unwrap();
    let cases = [
        (write("missing.json", ""), "is not a plan f3s saved"),
        (
            write("other.json", "{\"a\": 1}\n"),
            "it has no format_version",
        ),
        (
            write(
                "future.json",
                &good.replacen("\"format_version\": 1", "\"format_version\": 2", 1),
            ),
            "is a plan of format version 2; this f3s reads version 1",
        ),
        (
            write(
                "address.json",
                &good.replacen("\"f0/file:/etc/exports\"", "\"exports\"", 1),
            ),
            "`exports` is not an address",
        ),
        (
            dir.path().join("absent.json").display().to_string(),
            "cannot read the saved plan",
        ),
    ];
    for (file, says) in cases {
        let shown = f3s(&["show", &file]);
        common::assert_code(&shown, 1);
        let error = stderr(&shown);
        assert!(
            error.contains(&file) && error.contains(says),
            "{file}: {error}"
        );
        assert!(stdout(&shown).is_empty(), "{}", stdout(&shown));
    }
}
