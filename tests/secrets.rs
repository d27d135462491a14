//! A secret never leaves f3s. Every output channel (check, plan text, `--json`, a saved plan,
//! apply's progress and summary, graph, facts and `--save`, the error paths, and a narrow
//! pseudo-terminal where miette wraps its messages) is driven with hostile secrets: ones that
//! look like templates, hold quotes, `$`, backslashes, newlines and non-ASCII. None may show
//! the secret, a transform of it (escaped, quoted, one of its lines), or an unkeyed sha256 of
//! the secret or of anything rendered from it, which would let anyone test guesses offline.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest as _, Sha256};

/// Secrets that each break a naive path: rendered as a template, shell-interpreted, escaped.
const HOSTILE: &[&str] = &[
    "{{!x}}{{NAME}} pa$$w0rd",
    "q\"u'o`te\\d $(id) ${HOME} é中😀",
    "{{#each hosts}}{{@key}}{{/each}}",
    "  spaced\ttab  ",
];

/// A secret of two lines: fine in a file's content, refused where one line is wanted.
const MULTI_LINE: &str = "first-secret-line\nsecond-secret-line";

/// A module that uses the secret everywhere a value can go, without ever saying `sensitive`.
const LEAKY_MODULE: &str = r#"description: Uses the CARP password everywhere, marked sensitive nowhere.
params:
  carp_password: {}
resources:
  - directory: /etc/leaky
  - file: /etc/leaky/inline.conf
    content: "password={{carp_password}}\n"
  - file: /etc/leaky/templated.conf
    template: leaky.hbs
  - line: leaky-pass
    path: /etc/leaky/lines.conf
    text: "pass={{carp_password}}"
"#;

const LEAKY_TEMPLATE: &str = "secret: {{carp_password}}\n{{#if carp_password}}set{{/if}}\n";

/// A copy of the bundled example with the leaky module on f0.
fn workspace(extra_module: Option<&str>) -> tempfile::TempDir {
    let dir = common::example_copy();
    let module = dir.path().join("modules/leaky");
    std::fs::create_dir_all(module.join("templates")).unwrap();
    std::fs::write(
        module.join("module.yml"),
        extra_module.unwrap_or(LEAKY_MODULE),
    )
    .unwrap();
    std::fs::write(module.join("templates/leaky.hbs"), LEAKY_TEMPLATE).unwrap();
    let inventory = dir.path().join("inventory.yml");
    let text = std::fs::read_to_string(&inventory).unwrap();
    let text = text.replacen(
        "      - module: carpcontrol\n",
        "      - module: carpcontrol\n      - module: leaky\n",
        1,
    );
    std::fs::write(&inventory, text).unwrap();
    dir
}

/// Runs f3s in `dir` with `secret` as the CARP password; `columns` runs it on a pseudo-
/// terminal of that width (colours and miette's wrapping on).
fn f3s(dir: &Path, secret: &str, args: &[&str], columns: Option<u16>) -> Output {
    let binary = env!("CARGO_BIN_EXE_f3s");
    let mut command = match columns {
        None => {
            let mut command = Command::new(binary);
            command.args(args).env("NO_COLOR", "1");
            command
        }
        Some(columns) => {
            // script(1) gives the command a terminal; stty sets its width first.
            let line = std::iter::once(binary)
                .chain(args.iter().copied())
                .map(shell_quote)
                .collect::<Vec<_>>()
                .join(" ");
            let mut command = Command::new("script");
            command
                .args(["-qec", &format!("stty cols {columns} rows 60; exec {line}")])
                .arg("/dev/null")
                .env_remove("NO_COLOR")
                .env("TERM", "xterm-256color");
            command
        }
    };
    command
        .current_dir(dir)
        .env("F3S_CARP_PASSWORD", secret)
        .env_remove("F3S_DIGEST_KEY")
        .output()
        .expect("f3s runs")
}

fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// Every form in which `secret` must not appear: itself, its lines, escaped as JSON, sh,
/// YAML or HTML would, and the sha256 (whole and the 8-digit short form) of it and of what
/// the modules render from it.
fn forbidden(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_string()];
    forms.extend(
        secret
            .lines()
            .map(str::trim)
            .filter(|line| line.len() >= 4)
            .map(str::to_string),
    );
    let json = serde_json::to_string(secret).unwrap();
    forms.push(json[1..json.len() - 1].to_string());
    forms.push(secret.replace('\'', "'\\''"));
    let double_quoted: String = secret
        .chars()
        .flat_map(|c| match c {
            '$' | '`' | '"' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    forms.push(double_quoted);
    forms.push(
        secret
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#x27;")
            .replace('=', "&#x3D;")
            .replace('`', "&#x60;"),
    );
    let rendered = [
        secret.to_string(),
        format!("{secret}\n"),
        format!("inet vhid 1 pass {secret} alias 192.168.1.138/32"),
        format!("password={secret}\n"),
        format!("pass={secret}"),
        format!("pass={secret}\n"),
        LEAKY_TEMPLATE
            .replace("{{carp_password}}", secret)
            .replace("{{#if carp_password}}set{{/if}}", "set"),
    ];
    for text in rendered {
        let hex = hex::encode(Sha256::digest(text.as_bytes()));
        forms.push(hex[..8].to_string());
        forms.push(hex);
    }
    forms.sort();
    forms.dedup();
    forms
}

/// What a run showed: both streams and any files it wrote.
fn shown(output: &Output, files: &[PathBuf]) -> String {
    let mut text = common::stdout(output) + &common::stderr(output);
    for file in files {
        if file.is_dir() {
            for entry in std::fs::read_dir(file).unwrap() {
                text += &std::fs::read_to_string(entry.unwrap().path()).unwrap();
            }
        } else if file.exists() {
            text += &std::fs::read_to_string(file).unwrap();
        }
    }
    text
}

fn assert_no_leak(secret: &str, channel: &str, text: &str) {
    for form in forbidden(secret) {
        assert!(
            !text.contains(&form),
            "{channel} shows `{}` of the secret {secret:?}:\n{text}",
            form.escape_debug()
        );
    }
}

#[test]
fn no_output_channel_shows_a_secret_or_an_unkeyed_digest_of_it() {
    for secret in HOSTILE {
        let dir = workspace(None);
        let out = dir.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        let plan_file = out.join("plan.json");
        let saved = out.join("saved");
        let runs: Vec<(&str, Vec<&str>, Vec<PathBuf>, i32)> = vec![
            ("check", vec!["check", "-i", "inventory.yml"], vec![], 0),
            (
                "plan",
                vec!["plan", "-i", "inventory.yml", "--state", "state"],
                vec![],
                0,
            ),
            (
                "plan --json -o",
                vec![
                    "plan",
                    "-i",
                    "inventory.yml",
                    "--state",
                    "state",
                    "--json",
                    "-o",
                    plan_file.to_str().unwrap(),
                ],
                vec![plan_file.clone()],
                0,
            ),
            (
                "apply",
                vec!["apply", "-i", "inventory.yml", "--state", "state", "--yes"],
                vec![],
                0,
            ),
            ("graph", vec!["graph", "-i", "inventory.yml"], vec![], 0),
            (
                "facts --save",
                vec![
                    "facts",
                    "-i",
                    "inventory.yml",
                    "--state",
                    "state",
                    "f0",
                    "--save",
                    saved.to_str().unwrap(),
                ],
                vec![saved.clone()],
                0,
            ),
            (
                "facts",
                vec!["facts", "-i", "inventory.yml", "--state", "state", "f0"],
                vec![],
                0,
            ),
        ];
        for (channel, args, files, code) in runs {
            let output = f3s(dir.path(), secret, &args, None);
            common::assert_code(&output, code);
            assert_no_leak(secret, channel, &shown(&output, &files));
        }
        let plan = common::stdout(&f3s(
            dir.path(),
            secret,
            &["plan", "-i", "inventory.yml", "--state", "state"],
            None,
        ));
        assert!(
            plan.contains("(sensitive)"),
            "the leaky files are masked:\n{plan}"
        );
        let narrow = f3s(
            dir.path(),
            secret,
            &["plan", "-i", "inventory.yml", "--state", "state"],
            Some(24),
        );
        assert_no_leak(secret, "plan on a narrow terminal", &shown(&narrow, &[]));
    }
}

/// Error paths: a multi-line secret where one line is wanted, a secret in a name, in a mode,
/// in a list of names, next to a missing variable; each on a plain stream and on a narrow
/// terminal, where miette wraps (and so would split a secret for a text search).
#[test]
fn no_error_shows_a_secret() {
    // Each broken module, and a word its error must hold (so the test sees the right error).
    let broken_modules: [(Option<&str>, &str); 5] = [
        (None, "line"),
        (
            Some(
                "params:\n  carp_password: {}\nresources:\n  - file: \"/etc/{{carp_password}}\"\n    content: x\n",
            ),
            "rendered from a secret",
        ),
        (
            Some(
                "params:\n  carp_password: {}\nresources:\n  - file: /etc/moded\n    content: x\n    mode: \"{{carp_password}}\"\n",
            ),
            "rendered from a secret",
        ),
        (
            Some(
                "params:\n  carp_password: {}\nresources:\n  - file: /etc/x\n    content: \"{{carp_password}} {{missing}}\"\n",
            ),
            "missing",
        ),
        (
            Some(
                "params:\n  carp_password: {}\nresources:\n  - service: devd\n    refresh: \"{{carp_password}}\"\n",
            ),
            "rendered from a secret",
        ),
    ];
    for (index, (module, expected)) in broken_modules.iter().enumerate() {
        // The first module is the leaky one, broken only by the two-line secret.
        let secrets: &[&str] = match module {
            None => &[MULTI_LINE],
            Some(_) => &[HOSTILE[0], HOSTILE[1], MULTI_LINE],
        };
        for secret in secrets {
            let dir = workspace(*module);
            for columns in [None, Some(30)] {
                for command in ["check", "plan"] {
                    let output = f3s(
                        dir.path(),
                        secret,
                        &[command, "-i", "inventory.yml", "--state", "state"][..match command {
                            "check" => 3,
                            _ => 5,
                        }],
                        columns,
                    );
                    let text = shown(&output, &[]);
                    let words: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
                    assert!(
                        output.status.code() == Some(1) && words.contains(expected),
                        "module {index} with {secret:?} is refused for its fault:\n{text}"
                    );
                    assert_no_leak(secret, &format!("{command} (module {index})"), &text);
                }
            }
        }
    }
}

/// A secret without a value leaves out only what is rendered from it (and what depends on
/// that): check and graph pass, plan shows the rest and names the secret, apply converges the
/// rest and fails with one error at the secret's declaration, however many hosts use it.
#[test]
fn a_secret_without_a_value_leaves_out_only_what_needs_it() {
    let dir = workspace(None);
    std::fs::remove_file(dir.path().join("secrets/carp_password")).unwrap();
    let declared = 1 + std::fs::read_to_string(dir.path().join("inventory.yml"))
        .unwrap()
        .lines()
        .position(|line| line == "  carp_password:")
        .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_f3s"))
            .args(args)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env_remove("F3S_CARP_PASSWORD")
            .env_remove("F3S_DIGEST_KEY")
            .output()
            .unwrap()
    };
    for command in ["check", "graph"] {
        let output = run(&[command, "-i", "inventory.yml"]);
        common::assert_code(&output, 0);
    }
    let check = run(&["check", "-i", "inventory.yml"]);
    assert_eq!(
        common::stderr(&check)
            .matches("secret `carp_password` has no value")
            .count(),
        1,
        "{}",
        common::stderr(&check)
    );
    let plan = run(&["plan", "-i", "inventory.yml", "--state", "state"]);
    common::assert_code(&plan, 0);
    let text = common::stdout(&plan);
    for left_out in [
        "f0/sysrc:ifconfig_re0_alias0: needs secret `carp_password`",
        "f1/sysrc:ifconfig_re0_alias0: needs secret `carp_password`",
        "f0/file:/etc/leaky/inline.conf: needs secret `carp_password`",
    ] {
        assert!(text.contains(left_out), "{left_out}:\n{text}");
    }
    assert!(
        text.contains("~ file:/etc/exports"),
        "the rest is planned:\n{text}"
    );
    // Nothing else to change, and still not "no changes": what was left out may change.
    let only_left_out = run(&[
        "plan",
        "-i",
        "inventory.yml",
        "--state",
        "state",
        "--host",
        "f1",
        "--target",
        "f1/sysrc:ifconfig_re0_alias0",
        "--detailed-exitcode",
    ]);
    common::assert_code(&only_left_out, 2);
    let text = common::stdout(&only_left_out);
    assert!(!text.contains("No changes. "), "{text}");
    assert!(text.contains("1 resource(s) left out may change"), "{text}");
    let apply = run(&["apply", "-i", "inventory.yml", "--state", "state", "--yes"]);
    common::assert_code(&apply, 1);
    assert!(common::stdout(&apply).contains("f0/file:/etc/exports: done"));
    let stderr = common::stderr(&apply);
    assert_eq!(
        stderr.matches("declared here").count(),
        1,
        "one error: {stderr}"
    );
    assert!(
        stderr.contains(&format!("[inventory.yml:{declared}:")),
        "{stderr}"
    );
}

/// Recordings keep keyed fingerprints only, and a saved plan or recording needs a key that
/// outlives the run.
#[test]
fn recordings_need_the_digest_key_and_hold_no_plain_digest() {
    let dir = workspace(None);
    let saved = dir.path().join("saved");
    let output = f3s(
        dir.path(),
        "some-password",
        &[
            "facts",
            "-i",
            "inventory.yml",
            "--state",
            "state",
            "f0",
            "--save",
            saved.to_str().unwrap(),
        ],
        None,
    );
    common::assert_code(&output, 0);
    let recorded = std::fs::read_to_string(saved.join("f0.yml")).unwrap();
    assert!(recorded.contains("hmac: hmac-sha256:"), "{recorded}");
    assert!(!recorded.contains("sha256: sha256:"), "{recorded}");

    let inventory = dir.path().join("inventory.yml");
    let text = std::fs::read_to_string(&inventory).unwrap();
    let without_key = text.replace(
        "digest_key:\n  env: F3S_DIGEST_KEY\n  file: secrets/digest_key\n",
        "",
    );
    assert_ne!(text, without_key);
    std::fs::write(&inventory, without_key).unwrap();
    let output = f3s(
        dir.path(),
        "some-password",
        &[
            "plan",
            "-i",
            "inventory.yml",
            "--state",
            "state",
            "-o",
            "plan.json",
        ],
        None,
    );
    common::assert_code(&output, 1);
    assert!(
        common::stderr(&output).contains("digest_key"),
        "{}",
        common::stderr(&output)
    );
}

/// Masking follows the data, not a text search: a one-letter secret neither corrupts the
/// output (a search would replace every `c`) nor spells itself by where masks land. (A letter
/// the example's digest key does not hold: a key holding a secret's value is refused.)
#[test]
fn a_short_secret_leaves_the_output_intact() {
    let dir = workspace(None);
    let output = f3s(
        dir.path(),
        "c",
        &["plan", "-i", "inventory.yml", "--state", "state", "--json"],
        None,
    );
    common::assert_code(&output, 0);
    let plan: serde_json::Value = serde_json::from_str(&common::stdout(&output)).unwrap();
    assert_eq!(plan["format_version"], 1);
    assert_eq!(plan["inventory"], "inventory.yml");
}

/// An empty secret, or one of only whitespace, is refused at its declaration's line; one of
/// two lines is refused where a single line is wanted, at that attribute's line.
#[test]
fn unusable_secrets_are_diagnostics_at_their_lines() {
    let dir = workspace(None);
    let inventory = std::fs::read_to_string(dir.path().join("inventory.yml")).unwrap();
    let declared = 1 + inventory
        .lines()
        .position(|line| line == "  carp_password:")
        .unwrap();
    for blank in ["", " \t "] {
        let output = f3s(dir.path(), blank, &["check", "-i", "inventory.yml"], None);
        common::assert_code(&output, 1);
        let stderr = common::stderr(&output);
        assert!(
            stderr.contains(&format!("[inventory.yml:{declared}:")),
            "{stderr}"
        );
        assert!(
            stderr.contains("is empty") || stderr.contains("only whitespace"),
            "{stderr}"
        );
    }
    let output = f3s(
        dir.path(),
        MULTI_LINE,
        &["check", "-i", "inventory.yml"],
        None,
    );
    common::assert_code(&output, 1);
    let stderr = common::stderr(&output);
    assert!(
        stderr.contains("[modules/leaky/module.yml:12:"),
        "the line's text: {stderr}"
    );
}
