//! Where secrets and the digest key come from, and what f3s refuses there: a file of secrets
//! that group or others may read (as OpenSSH refuses such a private key) unless
//! `--allow-open-secret-files` says otherwise, a value that is not UTF-8 text, a digest key
//! that is, holds or is part of a secret's value or comes from a file the inventory uses for
//! something else; and that the run's own keys and nonces come from the operating system's
//! generator. Every refusal is a diagnostic at the declaration's lines, and shows no value.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

use common::{Case, assert_code, stderr};

/// The value of secret `token` in the inventories below: obviously fake.
const TOKEN: &str = "token-value-not-real-4e2a";

/// A digest key of its own, made as the README says (`openssl rand -hex 32`); fake.
const GOOD_KEY: &str = "5b0d3e9a1c7f42e68d0b9a3f1e2c7d4a6b8e0f1a2c3d4e5f60718293a4b5c6d7";

/// Secret `token` from a file, referenced by f0; secret `spare` from the environment, used
/// nowhere; the digest key from a file (`KEY_FILE`, relative to the inventory).
fn inventory(key_file: &str) -> String {
    format!(
        "
secrets:
  token:
    file: secrets/token
  spare:
    env: F3S_TEST_SPARE
digest_key:
  file: {key_file}
hosts:
  f0:
    os: freebsd
    address: 192.168.1.130
    connection:
      known_hosts: known_hosts
    vars:
      token: {{ secret: token }}
"
    )
}

/// The inventory with the token and the digest key (`key`) in closed files.
fn case(key: &str) -> Case {
    Case::new(&inventory("secrets/digest_key"))
        .secret_file("secrets/token", TOKEN)
        .secret_file("secrets/digest_key", key)
}

/// Runs f3s in `dir`, colours off, with `env` (and no other secret) in the environment.
fn run(dir: &Path, args: &[&str], env: &[(&str, &OsStr)]) -> Output {
    let mut command = common::command(dir, args);
    command.env_remove("F3S_TEST_SPARE");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("f3s runs")
}

fn check(dir: &Path) -> Output {
    run(dir, &["check", "-i", "inventory.yml"], &[])
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The lines (1-based) of the declaration `key:` in `text` as written (`Case` drops its
/// leading line breaks): its own and its fields'.
fn declaration_lines(text: &str, key: &str) -> std::ops::RangeInclusive<usize> {
    let lines: Vec<&str> = text.trim_start().lines().collect();
    let start = lines
        .iter()
        .position(|line| line.trim_start() == format!("{key}:"))
        .unwrap_or_else(|| panic!("`{key}:` is declared:\n{text}"));
    let indent = lines[start].len() - lines[start].trim_start().len();
    let fields = lines[start + 1..]
        .iter()
        .take_while(|line| line.len() - line.trim_start().len() > indent)
        .count();
    start + 1..=start + 1 + fields
}

/// Asserts `output` failed with a diagnostic that says each of `says`, placed in
/// inventory.yml at the declaration `key:` of `inventory`, and shows none of `hidden`.
fn refused_at(output: &Output, inventory: &str, key: &str, says: &[&str], hidden: &[&str]) {
    assert_code(output, 1);
    let text = stderr(output);
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for said in says {
        assert!(words.contains(said), "says {said:?}:\n{text}");
    }
    let lines = declaration_lines(inventory, key);
    let placed = text.split("[inventory.yml:").skip(1).any(|rest| {
        rest.split(':')
            .next()
            .and_then(|line| line.parse::<usize>().ok())
            .is_some_and(|line| lines.contains(&line))
    });
    assert!(placed, "placed at `{key}:` (lines {lines:?}):\n{text}");
    for value in hidden {
        assert!(!text.contains(value), "shows no value:\n{text}");
    }
}

/// A copy of the bundled example (it plans against recorded state), its secret files closed.
fn example() -> tempfile::TempDir {
    common::example_copy()
}

#[test]
fn a_secret_or_key_file_group_or_others_may_read_is_refused_at_its_declaration() {
    let case = case(GOOD_KEY);
    let text = inventory("secrets/digest_key");
    assert_code(&check(case.path()), 0);
    for (file, declaration) in [
        ("secrets/token", "token"),
        ("secrets/digest_key", "digest_key"),
    ] {
        let path = case.path().join(file);
        for mode in [0o644, 0o640, 0o604, 0o620, 0o606] {
            set_mode(&path, mode);
            let output = check(case.path());
            refused_at(
                &output,
                &text,
                declaration,
                &[
                    &format!("`{declaration}` is read from {file}, whose"),
                    &format!("permissions {mode:04o} are too open"),
                    &format!("chmod 600 {file}`"),
                    "--allow-open-secret-files",
                ],
                &[TOKEN, GOOD_KEY],
            );
        }
        for mode in [0o600, 0o400] {
            set_mode(&path, mode);
            assert_code(&check(case.path()), 0);
        }
    }
}

/// The flag is one of the inventory's arguments, so every command that reads the inventory
/// takes it, and with it reads open files as before.
#[test]
fn allow_open_secret_files_reads_them_in_every_command() {
    let dir = example();
    for file in ["secrets/carp_password", "secrets/digest_key"] {
        set_mode(&dir.path().join(file), 0o644);
    }
    let commands: [&[&str]; 5] = [
        &["check", "-i", "inventory.yml"],
        &["graph", "-i", "inventory.yml"],
        &["plan", "-i", "inventory.yml", "--state", "state"],
        &["facts", "-i", "inventory.yml", "--state", "state", "f0"],
        &["apply", "-i", "inventory.yml", "--state", "state", "--yes"],
    ];
    for args in commands {
        let refused = run(dir.path(), args, &[]);
        assert_code(&refused, 1);
        assert!(
            stderr(&refused).contains("are too open"),
            "{args:?}: {}",
            stderr(&refused)
        );
        let allowed = run(
            dir.path(),
            &[args, &["--allow-open-secret-files"]].concat(),
            &[],
        );
        assert_code(&allowed, 0);
    }
}

/// A secret that is there but is not text is an error at its declaration, as an empty one
/// is, in every command; never a secret "without a value" that a plan only notes.
#[test]
fn a_secret_that_is_not_utf8_text_is_an_error_at_its_declaration() {
    let dir = example();
    let text = std::fs::read_to_string(dir.path().join("inventory.yml")).unwrap();
    let file = dir.path().join("secrets/carp_password");
    std::fs::write(&file, b"not-utf8-\xff\xfe-secret\n").unwrap();
    for args in [
        &["check", "-i", "inventory.yml"][..],
        &["plan", "-i", "inventory.yml", "--state", "state"],
    ] {
        refused_at(
            &run(dir.path(), args, &[]),
            &text,
            "carp_password",
            &[
                "`carp_password` is read from secrets/carp_password, which holds bytes that are not UTF-8 text",
            ],
            &["not-utf8-"],
        );
    }
    // The same bytes in the environment variable, which is read first.
    std::fs::write(&file, "fixture-carp-password-not-secret\n").unwrap();
    let bytes = OsStr::from_bytes(b"not-utf8-\xff\xfe-secret");
    refused_at(
        &run(
            dir.path(),
            &["plan", "-i", "inventory.yml", "--state", "state"],
            &[("F3S_CARP_PASSWORD", bytes)],
        ),
        &text,
        "carp_password",
        &["read from $F3S_CARP_PASSWORD, which holds bytes that are not UTF-8 text"],
        &["not-utf8-"],
    );
    // And in the digest key's file.
    std::fs::write(
        dir.path().join("secrets/digest_key"),
        b"not-utf8-key-\xff\xfe-0123456789abcdef",
    )
    .unwrap();
    refused_at(
        &check(dir.path()),
        &text,
        "digest_key",
        &[
            "`digest_key` is read from secrets/digest_key, which holds bytes that are not UTF-8 text",
        ],
        &["not-utf8-key-"],
    );
}

/// A fingerprint under a key that is, holds or is part of a secret's value is again an
/// offline test of a guess of that secret: such a key is refused, whichever secret it is
/// (one used nowhere too), wherever it is given (a file or the environment).
#[test]
fn a_digest_key_that_is_holds_or_is_part_of_a_secret_is_refused() {
    let text = inventory("secrets/digest_key");
    let spare = "spare-secret-not-real-but-long-9c1b";
    let keys = [
        (TOKEN.to_string(), "is the value of secret `token`"),
        (
            format!("digest-{TOKEN}-key"),
            "holds the value of secret `token`",
        ),
        (spare.to_string(), "is the value of secret `spare`"),
        (
            spare[..20].to_string(),
            "is part of the value of secret `spare`",
        ),
    ];
    for (key, says) in &keys {
        let case = case(key);
        let spare_env = [("F3S_TEST_SPARE", OsStr::new(spare))];
        let output = run(case.path(), &["check", "-i", "inventory.yml"], &spare_env);
        refused_at(
            &output,
            &text,
            "digest_key",
            &[&format!("the digest key {says}"), "openssl rand -hex 32"],
            &[TOKEN, spare, key],
        );
        // Given in the environment instead of the file.
        let from_env = [spare_env[0], ("F3S_DIGEST_KEY", OsStr::new(key))];
        let case =
            Case::new(&text.replace("digest_key:\n", "digest_key:\n  env: F3S_DIGEST_KEY\n"))
                .secret_file("secrets/token", TOKEN)
                .secret_file("secrets/digest_key", GOOD_KEY);
        let output = run(case.path(), &["check", "-i", "inventory.yml"], &from_env);
        assert_code(&output, 1);
        assert!(stderr(&output).contains(says), "{}", stderr(&output));
    }
    let case = case(GOOD_KEY);
    let spare_env = [("F3S_TEST_SPARE", OsStr::new(spare))];
    assert_code(
        &run(case.path(), &["check", "-i", "inventory.yml"], &spare_env),
        0,
    );
}

/// A digest key read from a file the inventory already reads for something else (a secret's,
/// however a path reaches it; the inventory itself; a host's known_hosts) is refused, even
/// where that file is absent (CI checks the inventory without its secrets).
#[test]
fn a_digest_key_read_from_a_file_the_inventory_uses_is_refused() {
    let cases = [
        ("secrets/token", "the file of secret `token`"),
        ("secrets/../secrets/token", "the file of secret `token`"),
        ("secrets/link-to-token", "the file of secret `token`"),
        ("hard-link-to-token", "the file of secret `token`"),
        ("inventory.yml", "the inventory itself"),
        ("known_hosts", "the known_hosts of host `f0`"),
    ];
    for (key_file, what) in cases {
        let text = inventory(key_file);
        let case = Case::new(&text)
            .secret_file("secrets/token", TOKEN)
            .file("known_hosts", "");
        std::os::unix::fs::symlink("token", case.path().join("secrets/link-to-token")).unwrap();
        std::fs::hard_link(
            case.path().join("secrets/token"),
            case.path().join("hard-link-to-token"),
        )
        .unwrap();
        refused_at(
            &check(case.path()),
            &text,
            "digest_key",
            &[
                &format!("the digest key is read from {key_file}, which"),
                &format!("which is {what}"),
                "openssl rand -hex 32",
            ],
            &[TOKEN],
        );
    }
    let text = inventory("secrets/token");
    let absent = Case::new(&text);
    refused_at(
        &check(absent.path()),
        &text,
        "digest_key",
        &["which is the file of secret `token`"],
        &[],
    );
}

/// The run's digest key (when the inventory gives none) and the secrets' token nonce are
/// drawn from the kernel (getrandom(2)), not from std's hasher seeded once per thread; the
/// 32-byte key is one draw of 32 bytes, and no draw asks for the kernel's insecure pool.
#[test]
fn the_runs_keys_are_drawn_from_the_operating_systems_generator() {
    let case = Case::new(
        &inventory("secrets/digest_key").replace("digest_key:\n  file: secrets/digest_key\n", ""),
    )
    .secret_file("secrets/token", TOKEN);
    let trace = case.path().join("getrandom.trace");
    let output = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=getrandom", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_f3s"))
        .args(["check", "-i", "inventory.yml"])
        .current_dir(case.path())
        .env("NO_COLOR", "1")
        .env_remove("F3S_DIGEST_KEY")
        .output()
        .expect("strace runs (scripts/test installs it)");
    assert_code(&output, 0);
    let trace = std::fs::read_to_string(trace).unwrap();
    let draws: Vec<&str> = trace
        .lines()
        .filter(|line| line.contains("getrandom(") && !line.contains("GRND_INSECURE"))
        .collect();
    for size in [32, 16] {
        assert!(
            draws
                .iter()
                .any(|line| line.contains(&format!(", {size}, "))
                    && line.ends_with(&format!("= {size}"))),
            "a draw of {size} bytes from the kernel:\n{trace}"
        );
    }
}

#[test]
fn the_readme_says_how_to_make_a_digest_key_and_how_secret_files_are_kept() {
    let readme = include_str!("../README.md");
    for said in [
        "openssl rand -hex 32",
        "--allow-open-secret-files",
        "chmod 600 examples/fixture/secrets/*",
    ] {
        assert!(readme.contains(said), "README says {said:?}");
    }
}
