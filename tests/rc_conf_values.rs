//! rc.conf values (issue 9): what cannot be written is a diagnostic at the value's line that
//! never shows a secret; everything else is written by apply so that sh, sourcing rc.conf as
//! at boot, reads back exactly the value, runs none of it, and no process on the host ever
//! has the value in its command line; the next plan shows no change.

mod common;
mod lab;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{assert_code, stderr, stdout};
use lab::{Lab, LabHost, Os};

/// An inventory directory with one FreeBSD host and module `m` given `params`.
struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new(params: &str, module: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let inventory = format!(
            "secrets:\n  s:\n    env: F3S_RC_TEST_SECRET\nhosts:\n  f0:\n    os: freebsd\n    address: 192.168.1.130\n    modules:\n      - module: m\n        params:\n{params}"
        );
        std::fs::write(dir.path().join("inventory.yml"), inventory).unwrap();
        std::fs::create_dir_all(dir.path().join("modules/m")).unwrap();
        std::fs::write(dir.path().join("modules/m/module.yml"), module).unwrap();
        Self { dir }
    }

    fn check(&self, secret: &str) -> Output {
        Command::new(env!("CARGO_BIN_EXE_f3s"))
            .args(["check", "-i", "inventory.yml"])
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env("F3S_RC_TEST_SECRET", secret)
            .output()
            .unwrap()
    }
}

/// `params:` lines giving `v` the value, as a YAML double-quoted scalar (JSON's escapes).
fn param(value: &str) -> String {
    format!("          v: {}\n", serde_json::to_string(value).unwrap())
}

const MODULE: &str = "params:\n  v: {}\nresources:\n  - sysrc: rc_value\n    value: \"{{v}}\"\n";
const SECRET_MODULE: &str =
    "params:\n  v: {}\nresources:\n  - sysrc: rc_secret\n    value: \"pass {{v}}\"\n";

#[test]
fn a_value_that_cannot_be_written_is_reported_at_its_line() {
    for (value, says) in [
        ("two\nlines", "line break"),
        ("nul\0byte", "NUL byte"),
        ("carriage\r", "control character"),
        ("\u{1b}[2J", "control character"),
        ("-n", "`-n` or `-e`"),
    ] {
        let case = Case::new(&param(value), MODULE);
        let output = case.check("unused");
        let err = stderr(&output);
        assert_code(&output, 1);
        assert!(!err.contains("panicked"), "{err}");
        assert!(err.contains("module.yml:5:"), "at the value's line:\n{err}");
        assert!(
            err.contains("rc.conf variable `rc_value` cannot be set to this value"),
            "{err}"
        );
        assert!(err.contains(says), "says {says}:\n{err}");
        assert!(
            err.contains(&format!("renders to {value:?}")),
            "a plain value is shown, escaped:\n{err}"
        );
    }
}

#[test]
fn a_secret_that_cannot_be_written_is_reported_without_showing_it() {
    for secret in ["Zq7-top\nSECRET-9x", "Zq7-top\u{7}SECRET-9x"] {
        let case = Case::new("          v: { secret: s }\n", SECRET_MODULE);
        let output = case.check(secret);
        let err = stderr(&output);
        assert_code(&output, 1);
        assert!(err.contains("module.yml:5:"), "{err}");
        assert!(err.contains("rc_secret"), "{err}");
        assert!(err.contains("(sensitive)"), "{err}");
        for part in ["Zq7", "SECRET-9x", "\\u{7}", "\\n"] {
            assert!(!err.contains(part), "{part:?} of the secret shown:\n{err}");
        }
        assert!(!stdout(&output).contains("Zq7"));
    }
}

#[test]
fn values_sh_would_interpret_are_accepted() {
    for value in hostile_values(Path::new("/tmp/f3s-rc-ran")) {
        let case = Case::new(&param(&value), MODULE);
        assert_code(&case.check("unused"), 0);
    }
    let case = Case::new("          v: { secret: s }\n", SECRET_MODULE);
    assert_code(&case.check(SECRET), 0);
}

/// Values that sh would run, expand, split, glob or cut short if written unescaped (none with
/// `{{`, which is the template renderer's to read).
fn hostile_values(marker: &Path) -> Vec<String> {
    let m = marker.display().to_string();
    [
        "pa$$w0rd",
        "$(touch MARKER)",
        "`touch MARKER`",
        "\"; touch MARKER; x=\"",
        "'; touch MARKER; x='",
        "a\"b",
        "trailing backslash\\",
        "\\\\ and \\n and \\$",
        "it's",
        "$HOME and ${HOME:-y} and ${x:-y}",
        "ünïcödé ✓",
        "  spaces  around  ",
        "# not a comment",
        "a;b & c | d",
        "* ? [a-z] ~root",
        "",
        "tab\there",
    ]
    .iter()
    .map(|v| v.replace("MARKER", &m))
    .collect()
}

/// The CARP-like secret of the lab test: every character sh reads inside double quotes, and
/// a distinctive part to search command lines for.
const SECRET: &str = "Zq7s3cret-pa$$w0rd-$(touch /tmp/f3s-rc-ran)-`id`-\"q\"-'s'-\\";

fn strace_available() -> bool {
    Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// strace(1) following every process of a lab host's sshd (each session and what it runs)
/// and writing their execs to a file; stopped by its own PID.
struct ExecTrace {
    child: std::process::Child,
    out: PathBuf,
}

impl ExecTrace {
    fn attach(host: &LabHost, out: PathBuf) -> Self {
        let mut child = Command::new("strace")
            .args(["-f", "-s", "100000", "-e", "trace=execve,execveat", "-o"])
            .arg(&out)
            .args(["-p", &host.pid().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("strace runs (scripts/test installs it)");
        // strace says "Process N attached" on stderr once it traces.
        let mut stderr = child.stderr.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut said = Vec::new();
        let mut buf = [0u8; 256];
        while !String::from_utf8_lossy(&said).contains("attached") {
            assert!(Instant::now() < deadline, "strace did not attach");
            let n = stderr.read(&mut buf).unwrap();
            assert!(n > 0, "strace ended: {}", String::from_utf8_lossy(&said));
            said.extend_from_slice(&buf[..n]);
        }
        // Keep draining its stderr so it never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        Self { child, out }
    }

    /// Detaches (SIGTERM to strace, which lets the traced processes go on) and returns the
    /// trace.
    fn finish(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        std::fs::read_to_string(&self.out).unwrap()
    }
}

impl Drop for ExecTrace {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What sh gives `name` when it sources rc.conf files as rc(8) does at boot.
fn sourced(host: &LabHost, name: &str) -> Vec<u8> {
    let output = host.sh(&format!(
        "for f in /etc/rc.conf /etc/rc.conf.local; do [ -r \"$f\" ] && . \"$f\"; done; printf %s \"${name}\""
    ));
    assert!(output.status.success(), "{output:?}");
    output.stdout
}

#[test]
fn apply_writes_every_value_so_sh_reads_it_back_and_no_command_line_holds_it() {
    assert!(
        strace_available(),
        "strace is needed (scripts/test installs it)"
    );
    let lab = Lab::start(&[("f0", Os::Freebsd)]);
    let f0 = lab.host("f0");
    let marker = Path::new("/tmp/f3s-rc-ran");
    let values = hostile_values(marker);

    // What a host has before: a value f3s must replace in place keeping its comment, one
    // sysrc would not touch (f3s appends after it), and one in rc.conf.local, edited there.
    let mut rc_conf = f0.read_text("/etc/rc.conf").unwrap();
    rc_conf.push_str("rc_v1='old' # kept comment\nrc_v2=`echo old`\n");
    f0.write("/etc/rc.conf", &rc_conf);
    f0.write("/etc/rc.conf.local", "rc_v3=\"old\" # local\n");

    let dir = lab.dir();
    std::fs::create_dir_all(dir.join("modules/m")).unwrap();
    let mut module = String::from("params:\n  secret: {}\n");
    let mut resources = String::from(
        "resources:\n  - sysrc: ifconfig_re0_alias0\n    value: \"inet vhid 1 pass {{secret}} alias 192.168.1.138/32\"\n",
    );
    let mut params = String::new();
    for (i, value) in values.iter().enumerate() {
        module.push_str(&format!("  v{i}: {{}}\n"));
        resources.push_str(&format!(
            "  - sysrc: rc_v{i}\n    value: \"{{{{v{i}}}}}\"\n"
        ));
        params.push_str(&format!(
            "          v{i}: {}\n",
            serde_json::to_string(value).unwrap()
        ));
    }
    module.push_str(&resources);
    std::fs::write(dir.join("modules/m/module.yml"), module).unwrap();
    let modules = |_: &LabHost| {
        format!(
            "    modules:\n      - module: m\n        params:\n          secret: {{ secret: carp }}\n{params}"
        )
    };
    let inventory = dir.join("inventory.yml");
    std::fs::write(
        &inventory,
        format!(
            "module_path: [{}]\nsecrets:\n  carp:\n    env: F3S_RC_TEST_SECRET\n{}",
            dir.join("modules").display(),
            lab.inventory_hosts(&modules)
        ),
    )
    .unwrap();
    let f3s = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_f3s"))
            .args([args[0], "-i", inventory.to_str().unwrap()])
            .args(&args[1..])
            .env("NO_COLOR", "1")
            .env("F3S_RC_TEST_SECRET", SECRET)
            .output()
            .unwrap()
    };

    let calls_before = f0.calls().len();
    let trace = ExecTrace::attach(f0, dir.join("execs.trace"));
    let applied = f3s(&["apply", "--yes"]);
    let execs = trace.finish();
    assert_code(&applied, 0);
    assert!(
        stdout(&applied).contains("0 failed, 0 skipped"),
        "{}",
        stdout(&applied)
    );

    // Read back through sh's sourcing (as at boot) and through `sysrc -n` (as f3s observes).
    for (i, value) in values.iter().enumerate() {
        let name = format!("rc_v{i}");
        assert_eq!(
            String::from_utf8_lossy(&sourced(f0, &name)),
            *value,
            "{name}:\n{}",
            f0.read_text("/etc/rc.conf").unwrap()
        );
        let observed = f0.sh(&format!("sysrc -n {name}"));
        assert_eq!(
            String::from_utf8_lossy(&observed.stdout),
            format!("{value}\n"),
            "{observed:?}"
        );
    }
    let carp = format!("inet vhid 1 pass {SECRET} alias 192.168.1.138/32");
    assert_eq!(
        String::from_utf8_lossy(&sourced(f0, "ifconfig_re0_alias0")),
        carp
    );
    assert!(
        !f0.sh(&format!("test -e {}", marker.display()))
            .status
            .success(),
        "a value ran when rc.conf was sourced"
    );
    let rc_conf = f0.read_text("/etc/rc.conf").unwrap();
    assert!(rc_conf.contains("\" # kept comment\n"), "{rc_conf}");
    assert!(rc_conf.contains("rc_v2=`echo old`\n"), "{rc_conf}");
    assert!(
        f0.read_text("/etc/rc.conf.local")
            .unwrap()
            .ends_with("\" # local\n")
    );
    assert!(!rc_conf.contains("rc_v3="), "rc_v3 is rc.conf.local's");

    // No process on the host had the secret in its command line, and the trace did see the
    // edit's own commands (so it was tracing).
    for needle in ["\"cp\", \"-p\"", "\"mv\", \"-f\"", "\"sh\", \"-n\""] {
        assert!(execs.contains(needle), "the trace saw {needle}");
    }
    assert!(!execs.contains("Zq7s3cret"), "the secret in a command line");
    assert!(!execs.contains("pa$$w0rd"), "a value in a command line");
    let calls: Vec<String> = f0.calls().split_off(calls_before);
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("sysrc ") && c.contains('=')),
        "sysrc was not asked to set anything: {calls:?}"
    );
    assert!(!calls.iter().any(|c| c.contains("Zq7s3cret")));
    assert!(!stdout(&applied).contains("Zq7s3cret"));

    let again = f3s(&["plan", "--detailed-exitcode"]);
    assert_code(&again, 0);
    assert!(stdout(&again).contains("No changes."), "{}", stdout(&again));
}
