//! `f3s facts` over the fixture transport (no network): every host or those named, printed
//! as one YAML document per host or saved as DIR/HOST.yml, and a host that cannot be
//! observed named while the others are still recorded.

mod common;

use std::path::Path;

use common::{EXAMPLE, EXAMPLE_STATE, assert_code, stderr, stdout};

const HOSTS: [&str; 3] = ["f0", "f1", "r0"];

/// The files in `dir`, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn facts_prints_every_host_as_one_document_each_as_facts_host_does() {
    let output = common::f3s(&["facts", "-i", EXAMPLE, "--state", EXAMPLE_STATE]);
    assert_code(&output, 0);
    let all = stdout(&output);
    let documents: Vec<&str> = all.split("---\n").collect();
    assert_eq!(documents.len(), HOSTS.len(), "{all}");
    for (document, host) in documents.into_iter().zip(HOSTS) {
        assert!(
            document.starts_with(&format!("# Observed by `f3s facts {host}`.\n")),
            "{document}"
        );
        // The positional HOST of before still gives that host alone, the same document.
        let one = common::f3s(&["facts", "-i", EXAMPLE, "--state", EXAMPLE_STATE, host]);
        assert_code(&one, 0);
        assert_eq!(stdout(&one), document);
    }
}

#[test]
fn facts_save_records_the_hosts_named_so_a_plan_from_them_is_unchanged() {
    let saved = tempfile::tempdir().unwrap();
    let dir = saved.path().to_str().unwrap();
    let output = common::f3s(&[
        "facts",
        "-i",
        EXAMPLE,
        "--state",
        EXAMPLE_STATE,
        "--host",
        "r0,f0",
        "--save",
        dir,
    ]);
    assert_code(&output, 0);
    assert_eq!(stdout(&output), "");
    assert_eq!(files(saved.path()), ["f0.yml", "r0.yml"]);
    let plan = |state: &str| {
        let output = common::f3s(&[
            "plan", "-i", EXAMPLE, "--state", state, "--host", "f0,r0", "--json",
        ]);
        assert_code(&output, 0);
        stdout(&output)
    };
    assert_eq!(plan(dir), plan(EXAMPLE_STATE));
}

#[test]
fn facts_save_records_the_hosts_reached_and_names_the_one_that_was_not() {
    let state = tempfile::tempdir().unwrap();
    for host in ["f0", "f1"] {
        let recorded = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(EXAMPLE_STATE)
            .join(format!("{host}.yml"));
        std::fs::copy(recorded, state.path().join(format!("{host}.yml"))).unwrap();
    }
    let saved = tempfile::tempdir().unwrap();
    let output = common::f3s(&[
        "facts",
        "-i",
        EXAMPLE,
        "--state",
        state.path().to_str().unwrap(),
        "--save",
        saved.path().to_str().unwrap(),
    ]);
    assert_code(&output, 1);
    assert!(
        stderr(&output).contains("no recorded state for host `r0`"),
        "{}",
        stderr(&output)
    );
    assert_eq!(files(saved.path()), ["f0.yml", "f1.yml"]);
}

#[test]
fn facts_refuses_unknown_hosts_before_observing_any() {
    let saved = tempfile::tempdir().unwrap();
    let output = common::f3s(&[
        "facts",
        "-i",
        EXAMPLE,
        "--state",
        EXAMPLE_STATE,
        "--host",
        "f0,f9",
        "--save",
        saved.path().to_str().unwrap(),
    ]);
    assert_code(&output, 1);
    assert!(
        stderr(&output).contains("unknown host `f9`"),
        "{}",
        stderr(&output)
    );
    assert!(files(saved.path()).is_empty());
}

/// Without a persistent digest key, the hosts holding hidden values (f0 and f1 hold the CARP
/// password) are refused one by one; r0, which holds none, is still recorded.
#[test]
fn facts_save_without_a_digest_key_refuses_each_host_with_hidden_values() {
    let workspace = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // cp keeps the files' modes, closed here as f3s wants them.
    common::close_example_secrets();
    let copied = std::process::Command::new("cp")
        .arg("-r")
        .arg(root.join("examples/fixture/."))
        .arg(workspace.path())
        .status()
        .unwrap();
    assert!(copied.success());
    let path = workspace.path().join("inventory.yml");
    let inventory = std::fs::read_to_string(&path).unwrap();
    let without_key = inventory
        .replace(
            "digest_key:\n  env: F3S_DIGEST_KEY\n  file: secrets/digest_key\n",
            "",
        )
        .replace("../../modules", root.join("modules").to_str().unwrap());
    assert!(!without_key.contains("digest_key:"), "{without_key}");
    std::fs::write(&path, without_key).unwrap();
    let saved = workspace.path().join("saved");
    let output = common::f3s_in(
        workspace.path(),
        &[
            "facts",
            "-i",
            "inventory.yml",
            "--state",
            "state",
            "--save",
            saved.to_str().unwrap(),
        ],
    );
    assert_code(&output, 1);
    let err = stderr(&output);
    for host in ["f0", "f1"] {
        assert!(
            err.contains(&format!("cannot record {host}: it holds hidden values")),
            "{err}"
        );
    }
    assert!(!err.contains("cannot record r0"), "{err}");
    assert_eq!(files(&saved), ["r0.yml"]);
}
