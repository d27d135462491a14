//! A host that lies cannot hurt the operator's screen or leak a secret, over real SSH against
//! a lab host: a managed file holding terminal commands (cursor up, erase line, a fake
//! "unchanged" line, OSC 0 and OSC 52, C1 CSI, a bidi override), an answer to the observation
//! that holds them, a kernel name that does, and an answer that echoes a secret's value. What
//! the host sent is printed with its controls made visible (`\x1b[2A`) in the plan's text, on
//! a terminal, in `--json`, in a saved plan, on stderr and in `f3s facts`, and f3s's colours
//! are the only escapes it writes; a secret is withheld on every channel.

mod common;
mod lab;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::{assert_code, stderr, stdout};
use lab::{Lab, LabHost, Os};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// What a hostile file or answer holds: cursor up two lines and erase them, a fake green line,
/// a window title (OSC 0), a clipboard write (OSC 52), C1 CSI (U+009B) and a bidi override.
const HOSTILE: &str = "\x1b[2A\x1b[2K\x1b[32m  = 9 unchanged\x1b[0m \x1b]0;owned\x07\x1b]52;c;cm0gLXJmIC8=\x07 \u{9b}1A \u{202e}olleh";

/// The same, as `printf` spells it (for a lying host's script).
const HOSTILE_PRINTF: &str = "\\033[2A\\033[2K\\033[32m  = 9 unchanged\\033[0m \\033]0;owned\\007\\033]52;c;cm0gLXJmIC8=\\007 \\302\\2331A \\342\\200\\256olleh";

/// How f3s shows `HOSTILE`.
const SHOWN: &str = "\\x1b[2A\\x1b[2K\\x1b[32m  = 9 unchanged\\x1b[0m \\x1b]0;owned\\x07\\x1b]52;c;cm0gLXJmIC8=\\x07 \\u{9b}1A \\u{202e}olleh";

/// A FreeBSD-like host, f0, whose /etc/exports f3s manages, with the CARP password as the
/// inventory's secret; and a Rocky-like host, r0, which tells the truth and has something to
/// apply (so apply runs, and prints its summary, while f0 lies).
struct Setup {
    lab: Lab,
    inventory: PathBuf,
}

impl Setup {
    fn new() -> Self {
        let lab = Lab::start(&[("f0", Os::Freebsd), ("r0", Os::Rocky)]);
        let yaml = format!(
            "module_path: [{ROOT}/examples/fixture/modules, {ROOT}/modules]\n\
             secrets:\n  carp_password:\n    file: {ROOT}/examples/fixture/secrets/carp_password\n\
             digest_key:\n  file: {ROOT}/examples/fixture/secrets/digest_key\n\
             defaults:\n  vars:\n    domain: lan.buetow.org\n    vip: 192.168.1.138\n    vip_names: [f3s-storage-ha, f3s-storage-ha.lan]\n    carp_password: {{ secret: carp_password }}\n{}",
            lab.inventory_hosts(&|host| match host.os {
                Os::Freebsd => {
                    "    modules:\n      - module: nfs_server\n      - module: carp\n".into()
                }
                Os::Rocky => "    modules:\n      - module: vip_hosts\n".into(),
            })
        );
        let inventory = lab.dir().join("inventory.yml");
        std::fs::write(&inventory, yaml).unwrap();
        Setup { lab, inventory }
    }

    fn f3s(&self, args: &[&str]) -> Output {
        common::f3s_on(&self.inventory, args)
    }

    /// As `f3s`, on a pseudo-terminal (script(1)) with colours on: stdout and stderr as one.
    fn f3s_on_terminal(&self, args: &[&str]) -> String {
        let mut line = vec![env!("CARGO_BIN_EXE_f3s"), args[0], "-i"];
        line.push(self.inventory.to_str().unwrap());
        line.extend_from_slice(&args[1..]);
        let line: Vec<String> = line
            .iter()
            .map(|word| format!("'{}'", word.replace('\'', "'\\''")))
            .collect();
        let output = Command::new("script")
            .args(["-qec", &line.join(" "), "/dev/null"])
            .env_remove("NO_COLOR")
            .env_remove("CI")
            .env("TERM", "xterm-256color")
            .output()
            .expect("script runs");
        stdout(&output)
    }

    fn f0(&self) -> &LabHost {
        self.lab.host("f0")
    }

    /// Makes f0 answer the observation as it would, but with `line` (a `printf` format) in
    /// place of the answer's end: a line f3s does not know, which it quotes in its error.
    /// Commands other than a script sent on stdin (`sh -s`; the lock is not one, and holds
    /// its stdin open) run as asked.
    fn answer_with(&self, line: &str) {
        self.f0().lie_with(&format!(
            "#!/bin/sh\n\
             case $1 in *'sh -s') ;; *) exec /bin/sh -c \"$1\" ;; esac\n\
             in=$(mktemp)\n\
             cat > \"$in\"\n\
             if grep -qF \"printf 'U %s\" \"$in\"; then\n\
             \x20 /bin/sh -c \"$1\" < \"$in\" | sed '$d'\n\
             \x20 printf '{line}\\n'\n\
             \x20 printf 'E\\n'\n\
             \x20 s=0\n\
             else\n\
             \x20 /bin/sh -c \"$1\" < \"$in\"\n\
             \x20 s=$?\n\
             fi\n\
             rm -f \"$in\"\n\
             exit $s\n"
        ));
    }

    /// Makes f0 answer the observation with only a kernel name line: `U ` and `kernel`.
    fn kernel(&self, kernel: &str) {
        self.f0().lie_with(&format!(
            "#!/bin/sh\ncat >/dev/null\nprintf 'U {kernel}\\n'\n"
        ));
    }
}

/// Each character of `text` that a terminal would act on or draw otherwise than it reads, but
/// line breaks and tabs; on a terminal, f3s's own colours (SGR, `ESC [ … m`) and the carriage
/// return the terminal puts before each line break are its own, not the host's.
fn raw_controls(text: &str, terminal: bool) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        if terminal && c == '\x1b' && chars.get(at + 1) == Some(&'[') {
            let end = (at + 2..chars.len()).find(|&i| !matches!(chars[i], '0'..='9' | ';'));
            if let Some(end) = end.filter(|&end| chars[end] == 'm') {
                at = end + 1;
                continue;
            }
        }
        let own =
            c == '\n' || c == '\t' || (terminal && c == '\r' && chars.get(at + 1) == Some(&'\n'));
        let hidden = c.is_control()
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200b}'..='\u{200f}');
        if hidden && !own {
            let context: String = chars[at.saturating_sub(20)..(at + 20).min(chars.len())]
                .iter()
                .collect();
            found.push(format!("{c:?} in {context:?}"));
        }
        at += 1;
    }
    found
}

fn assert_no_raw_controls(channel: &str, text: &str, terminal: bool) {
    let found = raw_controls(text, terminal);
    assert!(
        found.is_empty(),
        "{channel} prints a host's controls raw: {found:#?}\n{text}"
    );
}

/// A managed file holding terminal commands shows them escaped in the plan's diff, on a plain
/// stream, on a terminal (where f3s's colours are the only escapes), in `--json` and in a
/// saved plan (as JSON escapes, read back as the same text), and in `f3s facts` (which a plan
/// from it reads back the same).
#[test]
fn a_managed_files_controls_are_shown_escaped_on_every_channel() {
    let setup = Setup::new();
    let hostile_line = format!("V4: /data/nfs {HOSTILE}");
    setup
        .f0()
        .write("/etc/exports", &format!("{hostile_line}\r\n"));

    let plan = setup.f3s(&["plan"]);
    assert_code(&plan, 0);
    let text = stdout(&plan);
    assert_no_raw_controls("plan", &text, false);
    assert!(
        text.contains(&format!("      -V4: /data/nfs {SHOWN}\\r\n")),
        "the line as the host has it, made visible: {text}"
    );

    let on_terminal = setup.f3s_on_terminal(&["plan"]);
    assert_no_raw_controls("plan on a terminal", &on_terminal, true);
    assert!(
        on_terminal.contains("\x1b[31m-V4: /data/nfs \\x1b[2A"),
        "{on_terminal}"
    );

    let saved = setup.lab.dir().join("plan.json");
    let json = setup.f3s(&["plan", "--json", "-o", saved.to_str().unwrap()]);
    assert_code(&json, 0);
    let saved = std::fs::read_to_string(&saved).unwrap();
    for (channel, text) in [("plan --json", stdout(&json)), ("plan -o", saved)] {
        assert_no_raw_controls(channel, &text, false);
        assert!(text.contains("\\u001b[2A"), "{channel}: {text}");
        assert!(text.contains("\\u009b1A \\u202eolleh"), "{channel}: {text}");
        let plan: serde_json::Value = serde_json::from_str(&text).unwrap();
        let diff = plan["hosts"][0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|resource| resource["diff"].as_str())
            .expect("the exports diff");
        assert!(
            diff.contains(&format!("-{hostile_line}\r\n")),
            "{channel} carries the host's text itself: {diff:?}"
        );
    }

    let facts = setup.f3s(&["facts"]);
    assert_code(&facts, 0);
    assert_no_raw_controls("facts", &stdout(&facts), false);
    let recorded = setup.lab.dir().join("recorded");
    assert_code(
        &setup.f3s(&["facts", "--save", recorded.to_str().unwrap()]),
        0,
    );
    assert_no_raw_controls(
        "facts --save",
        &std::fs::read_to_string(recorded.join("f0.yml")).unwrap(),
        false,
    );
    let replayed = setup.f3s(&["plan", "--json", "--state", recorded.to_str().unwrap()]);
    assert_code(&replayed, 0);
    assert_eq!(
        stdout(&replayed),
        stdout(&json),
        "the recording reads back the host's text"
    );
}

/// A host answering the observation with a line of terminal commands, or naming its kernel
/// with them: the error quoting it is shown escaped in the plan's "Not planned", in its JSON
/// (as JSON escapes) and on stderr.
#[test]
fn a_lying_answer_or_kernel_is_quoted_escaped() {
    let setup = Setup::new();
    setup.answer_with(&format!("Q {HOSTILE_PRINTF}"));
    let plan = setup.f3s(&["plan"]);
    assert_code(&plan, 1);
    let (out, err) = (stdout(&plan), stderr(&plan));
    assert_no_raw_controls("plan", &out, false);
    assert_no_raw_controls("plan's stderr", &err, false);
    assert!(
        out.contains(&format!(
            "  f0: unreadable answer to the observation: unexpected answer `Q {SHOWN}`\n"
        )),
        "{out}"
    );
    assert!(err.contains(SHOWN), "{err}");
    let on_terminal = setup.f3s_on_terminal(&["plan"]);
    assert_no_raw_controls("plan on a terminal", &on_terminal, true);
    assert!(on_terminal.contains("\\x1b]52;c;"), "{on_terminal}");

    let json = setup.f3s(&["plan", "--json"]);
    assert_code(&json, 1);
    assert_no_raw_controls("plan --json", &stdout(&json), false);
    let plan: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    let error = plan["unreached"][0]["error"].as_str().unwrap();
    assert!(
        error.contains(HOSTILE),
        "the host's words themselves: {error:?}"
    );

    setup.kernel("\\033]0;owned\\007FreeBSD\\033[1A");
    let plan = setup.f3s(&["plan"]);
    assert_code(&plan, 1);
    let (out, err) = (stdout(&plan), stderr(&plan));
    assert_no_raw_controls("plan", &out, false);
    assert_no_raw_controls("plan's stderr", &err, false);
    let kernel = "f0: the host runs \\x1b]0;owned\\x07FreeBSD\\x1b[1A, but the inventory says";
    assert!(out.contains(kernel), "{out}");
    assert!(err.contains(kernel), "{err}");
}

/// A host echoing the secret's value in an answer line: the error quoting it is withheld in
/// the plan's text, its JSON, a saved plan, apply's output and stderr, and each says so.
#[test]
fn a_host_echoing_a_secret_is_withheld_on_every_channel() {
    let setup = Setup::new();
    let secret = common::example_secret();
    setup.answer_with(&format!("Q the password is {secret}"));
    let withheld = "f0: not reached; (withheld: it quotes a secret)";

    let plan = setup.f3s(&["plan"]);
    assert_code(&plan, 1);
    let saved = setup.lab.dir().join("plan.json");
    let json = setup.f3s(&["plan", "--json", "-o", saved.to_str().unwrap()]);
    assert_code(&json, 1);
    let apply = setup.f3s(&["apply", "--yes"]);
    assert_code(&apply, 1);
    let saved = std::fs::read_to_string(&saved).unwrap();
    for (channel, text) in [
        ("plan", stdout(&plan)),
        ("plan's stderr", stderr(&plan)),
        ("plan --json", stdout(&json)),
        ("plan -o", saved.clone()),
        ("apply", stdout(&apply)),
        ("apply's stderr", stderr(&apply)),
    ] {
        assert!(
            !text.contains(&secret),
            "{channel} shows the secret:\n{text}"
        );
    }
    assert!(
        stdout(&plan).contains(&format!("Not planned (hosts not reached, values not known, and what depends on them):\n  {withheld}\n")),
        "{}",
        stdout(&plan)
    );
    for text in [stdout(&json), saved] {
        let plan: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(plan["unreached"][0]["error"], withheld, "{text}");
    }
    assert!(
        stdout(&apply).contains(&format!("\n  {withheld}\n"))
            && stdout(&apply).contains(&format!("not reached  {withheld}")),
        "in the plan apply shows, and in its summary: {}",
        stdout(&apply)
    );
    assert!(stderr(&apply).contains("withheld"), "{}", stderr(&apply));
}
