//! The README, run as a new user would type it. Every `sh` block is run: the install section
//! by itself (a real `cargo install` into a directory of the test's), the rest as one shell
//! session on a terminal, in order, from the bundled example to "Your first host" against a
//! lab host that only the user's `~/.ssh/config` names, with each `yaml` block that starts
//! with a `# PATH` line written to PATH where it stands and `yes` typed when apply asks.
//! `scripts/test` is CI's own command (`.ci/run`).

mod common;
mod lab;

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{stderr, stdout};
use lab::{Lab, Os};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A fenced block of the README, with the `##` section it is in.
struct Block {
    section: String,
    language: String,
    text: String,
}

fn blocks() -> Vec<Block> {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut section = "";
    let mut open: Option<Block> = None;
    for line in readme.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (Some(_), Some("")) => blocks.extend(open.take()),
            (Some(block), _) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, Some(language)) => {
                open = Some(Block {
                    section: section.to_string(),
                    language: language.to_string(),
                    text: String::new(),
                })
            }
            (None, None) => {
                if let Some(heading) = line.strip_prefix("## ") {
                    section = heading;
                }
            }
        }
    }
    assert!(open.is_none(), "a block of the README is not closed");
    blocks
}

/// The sections whose `sh` blocks run in the session, in README order.
const SESSION: [&str; 3] = ["Try it offline", "Your first host", "Secrets"];

/// The environment of a user's shell: their own HOME, f3s on PATH, cargo and rustup where
/// they are on this machine, no agent and no ssh_config of the test's.
fn user_shell(command: &mut Command, home: &Path, bin: &Path) {
    let real_home = PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()));
    let cargo_home =
        std::env::var("CARGO_HOME").map_or_else(|_| real_home.join(".cargo"), PathBuf::from);
    let rustup_home =
        std::env::var("RUSTUP_HOME").map_or_else(|_| real_home.join(".rustup"), PathBuf::from);
    let path = format!(
        "{}:{}:{}",
        bin.display(),
        cargo_home.join("bin").display(),
        std::env::var("PATH").unwrap()
    );
    command
        .env("HOME", home)
        .env("PATH", path)
        .env("CARGO_HOME", cargo_home)
        .env("RUSTUP_HOME", rustup_home)
        .env("TERM", "dumb")
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("F3S_SSH_CONFIG")
        .env_remove("F3S_CARP_PASSWORD")
        .env_remove("F3S_DIGEST_KEY")
        .env_remove("COMPLETE");
}

/// Every `sh` block is run by one of the tests below; the last is CI's command.
#[test]
fn every_command_block_is_run() {
    let mut sections: Vec<String> = blocks()
        .into_iter()
        .filter(|block| block.language == "sh")
        .map(|block| block.section)
        .collect();
    sections.dedup();
    let mut expected = vec!["Install".to_string()];
    expected.extend(SESSION.iter().map(|s| s.to_string()));
    expected.push("Developing f3s".into());
    assert_eq!(sections, expected, "a section with commands no test runs");
    let developing: Vec<Block> = blocks()
        .into_iter()
        .filter(|block| block.section == "Developing f3s")
        .collect();
    assert_eq!(developing.len(), 1);
    assert_eq!(developing[0].text, "scripts/test\n");
    let ci = std::fs::read_to_string(Path::new(ROOT).join(".ci/run")).unwrap();
    let commands: Vec<&str> = ci
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter(|line| !line.starts_with("set ") && !line.starts_with("cd "))
        .map(|line| line.strip_prefix("exec ").unwrap_or(line))
        .collect();
    assert_eq!(commands, ["scripts/test"], "{ci}");
}

/// "Install": cargo installs f3s (into a directory of the test's, by CARGO_INSTALL_ROOT),
/// whose completion then loads in bash and whose man pages land where the README says.
#[test]
fn the_install_section_installs_f3s_its_completion_and_its_manual() {
    let home = tempfile::tempdir().unwrap();
    let root = home.path().join("cargo-root");
    let script: String = blocks()
        .into_iter()
        .filter(|block| block.section == "Install" && block.language == "sh")
        .map(|block| block.text)
        .collect();
    let mut command = Command::new("bash");
    command
        .args(["--norc", "--noprofile", "-e", "-c"])
        .arg(format!("{script}complete -p f3s\n"))
        .current_dir(ROOT)
        .env("CARGO_INSTALL_ROOT", &root)
        // Its own target directory: the release build does not wait for, or disturb, another.
        .env(
            "CARGO_TARGET_DIR",
            Path::new(ROOT).join("target/readme-install"),
        );
    user_shell(&mut command, home.path(), &root.join("bin"));
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    assert!(root.join("bin/f3s").is_file());
    assert!(
        stdout(&output).contains("_clap_complete_f3s f3s"),
        "{}",
        stdout(&output)
    );
    let page = home.path().join(".local/share/man/man1/f3s-plan.1");
    assert!(page.is_file(), "{}", page.display());
}

/// The rest of the README as one session on a terminal: the example planned offline, then a
/// first host (a Rocky lab host the user's ~/.ssh/config calls web1) checked, planned,
/// applied, changed through a saved plan, and a resource taken away; then a digest key made.
#[test]
fn the_readme_session_runs_from_the_example_to_a_first_host() {
    let lab = Lab::start(&[("web1", Os::Rocky)]);
    let web1 = lab.host("web1");
    let home = lab.dir().join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::set_permissions(home.join(".ssh"), std::fs::Permissions::from_mode(0o700)).unwrap();
    // What the user had before f3s: ssh reaches web1 by this alias; known_hosts is empty.
    std::fs::write(
        home.join(".ssh/config"),
        format!(
            "Host web1\n    HostName {}\n    Port {}\n    User root\n    IdentityFile {}\n",
            web1.address,
            web1.port,
            lab.key.display()
        ),
    )
    .unwrap();

    let mut session = format!("set -e\ncd {ROOT}\n");
    let mut n = 0;
    for block in blocks()
        .into_iter()
        .filter(|block| SESSION.contains(&block.section.as_str()))
    {
        n += 1;
        session.push_str(&format!(
            "echo '=== README block {n} ({})'\n",
            block.section
        ));
        match block.language.as_str() {
            "sh" => session.push_str(&block.text),
            "yaml" => {
                let Some(path) = block
                    .text
                    .lines()
                    .next()
                    .and_then(|line| line.strip_prefix("# "))
                else {
                    continue;
                };
                session.push_str(&format!(
                    "cat > {path} <<'README_FILE_END'\n{}README_FILE_END\n",
                    block.text
                ));
            }
            _ => {}
        }
    }
    session.push_str("echo '=== README session done'\n");
    let script = lab.dir().join("session.sh");
    std::fs::write(&script, &session).unwrap();

    // On a terminal, as the user types: `script` gives the session a pty; apply's question
    // is answered from what is typed.
    let bin = Path::new(env!("CARGO_BIN_EXE_f3s")).parent().unwrap();
    let mut command = Command::new("script");
    command
        .args(["-q", "-e", "-c"])
        .arg(format!("bash --norc --noprofile {}", script.display()))
        .arg("/dev/null")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    user_shell(&mut command, &home, bin);
    let mut child = command.spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"yes\n").unwrap();
    let output = child.wait_with_output().unwrap();
    let typescript = stdout(&output).replace("\r\n", "\n");
    assert!(
        output.status.success() && typescript.contains("=== README session done"),
        "the session stopped:\n{typescript}\n{}\n--- session:\n{session}",
        stderr(&output)
    );

    // The example's plan, and each step of the first host, said what the README says.
    for said in [
        "Plan: 3 to create, 8 to change, 2 to refresh, 0 destructive, 10 unchanged.",
        "No changes. Plan: 0 to create, 0 to change",
        "Apply the changes above to 1 hosts?",
        // The quiet apply of the removal: its summary only.
        "1 of the changes remove lines the hosts' files have",
    ] {
        assert!(typescript.contains(said), "{said:?} in:\n{typescript}");
    }
    // The saved plan was shown as planned: its change line twice (plan, show), then applied.
    assert!(
        typescript.matches("~ file:/etc/motd  change").count() >= 3,
        "{typescript}"
    );
    assert_eq!(
        web1.read_text("/etc/motd").as_deref(),
        Some("Managed by f3s. Ask #ops before changing this host.\n")
    );
    let hosts = web1.read_text("/etc/hosts").unwrap_or_default();
    assert!(!hosts.contains("f3s-storage-ha"), "{hosts}");
    let known = std::fs::read_to_string(home.join(".ssh/known_hosts")).unwrap();
    assert!(
        known.contains(&format!("[{}]:{}", web1.address, web1.port)),
        "{known}"
    );
    let key = home.join("my-f3s/secrets/digest_key");
    let made = std::fs::read_to_string(&key).unwrap();
    assert_eq!(made.trim().len(), 64, "{made}");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}
