//! Helpers shared by the integration tests: running the real `f3s` binary.

#![allow(dead_code)] // each test binary uses its own part of these helpers

use std::path::Path;
use std::process::{Command, Output};

pub const EXAMPLE: &str = "examples/fixture/inventory.yml";
pub const EXAMPLE_STATE: &str = "examples/fixture/state";
pub const EXAMPLE_SECRET: &str = "examples/fixture/secrets/carp_password";

/// The CARP password of the lab and of the recorded cluster states (examples/f3s-state):
/// obviously fake, and distinctive enough to search output for.
pub const LAB_CARP_PASSWORD: &str = "lab-carp-pass-not-real-7f3a";

/// The digest key the recorded cluster states (examples/f3s-state) were fingerprinted with.
pub const LAB_DIGEST_KEY: &str = "lab-digest-key-not-real-5c1d";

/// Runs `f3s` with `args` in the package root, colours off, no secret in the environment.
pub fn f3s(args: &[&str]) -> Output {
    f3s_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

pub fn f3s_in(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().expect("f3s runs")
}

/// As `f3s`, with the lab's CARP password in the environment (as an admin would export it).
pub fn f3s_with_lab_secret(args: &[&str]) -> Output {
    command(Path::new(env!("CARGO_MANIFEST_DIR")), args)
        .env("F3S_CARP_PASSWORD", LAB_CARP_PASSWORD)
        .env("F3S_DIGEST_KEY", LAB_DIGEST_KEY)
        .output()
        .expect("f3s runs")
}

/// Starts `f3s` with `args` as `f3s` runs it, its output piped, for a test that acts while it
/// runs.
#[allow(dead_code)] // not every test binary starts one
pub fn spawn(args: &[&str]) -> std::process::Child {
    command(Path::new(env!("CARGO_MANIFEST_DIR")), args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("f3s starts")
}

/// Runs `f3s COMMAND -i INVENTORY REST…` for `args` = `[COMMAND, REST…]`.
#[allow(dead_code)] // not every test binary has an inventory of its own
pub fn f3s_on(inventory: &Path, args: &[&str]) -> Output {
    let mut full: Vec<&str> = vec![args[0], "-i", inventory.to_str().expect("a UTF-8 path")];
    full.extend_from_slice(&args[1..]);
    f3s(&full)
}

/// A copy of the bundled example (examples/fixture) in a temporary directory, its module path
/// pointing at the project's modules; `cp` keeps the files' modes, closed first as f3s wants
/// them.
#[allow(dead_code)] // not every test binary copies it
pub fn example_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    close_example_secrets();
    let status = Command::new("cp")
        .arg("-r")
        .arg(root.join("examples/fixture/."))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let inventory = dir.path().join("inventory.yml");
    let text = std::fs::read_to_string(&inventory).unwrap();
    let modules = root.join("modules");
    let text = text.replacen("../../modules", modules.to_str().unwrap(), 1);
    std::fs::write(&inventory, text).unwrap();
    dir
}

/// The `f3s` command with `args` in `dir`, colours off, no secret in the environment.
pub fn command(dir: &Path, args: &[&str]) -> Command {
    close_example_secrets();
    let mut command = Command::new(env!("CARGO_BIN_EXE_f3s"));
    command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("F3S_CARP_PASSWORD")
        .env_remove("F3S_DIGEST_KEY");
    command
}

/// Asserts the exit code, showing both streams when it is not the expected one.
pub fn assert_code(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Makes the bundled examples' secret files readable by their owner only, as an admin keeps
/// secrets and as f3s wants them (it refuses a file group or others may read). git records
/// no more of a mode than its x bit, so a checkout has them as its umask makes them (0644);
/// the README has users run the same chmod. Every run through these helpers does it first;
/// a test that reads or copies the files otherwise calls it itself.
pub fn close_example_secrets() {
    use std::os::unix::fs::PermissionsExt as _;
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for example in std::fs::read_dir(examples).expect("the examples").flatten() {
        let Ok(secrets) = std::fs::read_dir(example.path().join("secrets")) else {
            continue;
        };
        for entry in secrets {
            let path = entry.expect("a directory entry").path();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .expect("the example's secret files can be closed");
        }
    }
}

pub fn example_secret() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(EXAMPLE_SECRET);
    std::fs::read_to_string(path)
        .expect("example secret")
        .trim()
        .to_string()
}

/// One host, for inventories that only need something to compile modules for.
pub const HOSTS: &str = "
hosts:
  f0:
    os: freebsd
    address: 192.168.1.130
";

/// A throwaway inventory directory: `inventory.yml` plus modules under `modules/`.
pub struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    pub fn new(inventory: &str) -> Self {
        let case = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        case.file("inventory.yml", inventory)
    }

    pub fn file(self, path: &str, text: &str) -> Self {
        let path = self.dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text.trim_start()).unwrap();
        self
    }

    /// As `file`, readable by its owner only, as f3s wants a file of secrets.
    pub fn secret_file(self, path: &str, text: &str) -> Self {
        use std::os::unix::fs::PermissionsExt as _;
        let case = self.file(path, text);
        let path = case.dir.path().join(path);
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
        case
    }

    pub fn module(self, name: &str, text: &str) -> Self {
        self.file(&format!("modules/{name}/module.yml"), text)
    }

    /// Runs `f3s check` and asserts it fails with each `(file:line, message)`.
    pub fn fails_with(&self, expected: &[(&str, &str)]) -> String {
        let output = f3s_in(self.dir.path(), &["check", "-i", "inventory.yml"]);
        let err = stderr(&output);
        assert_eq!(
            output.status.code(),
            Some(1),
            "exit code 1 expected:\n{err}"
        );
        assert!(!err.contains("panicked"), "no panic:\n{err}");
        for (place, message) in expected {
            assert!(err.contains(&format!("{place}:")), "names {place}:\n{err}");
            assert!(err.contains(message), "says {message:?}:\n{err}");
        }
        err
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}
