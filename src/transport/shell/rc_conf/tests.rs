//! The rc.conf edit and read run by the local `sh` (dash here; FreeBSD's sh is POSIX too)
//! against files of a temporary directory; what the edit wrote is read back as rc(8) reads
//! it (by sourcing) and as f3s observes it.
use super::*;
use crate::inventory::host::OsFamily;
use crate::op::Op;
use crate::probe::{Probe, Reveal};
use crate::sensitive::Observed;
use crate::transport::shell::backup::keep_function;
use crate::transport::shell::dialect::Dialect as _;
use crate::transport::shell::freebsd::FreeBsd;
use crate::transport::shell::ops::{op_script, temp_files_left};
use crate::transport::shell::parse_observation;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const NAME: &str = "ifconfig_re0_alias0";

struct Host {
    dir: tempfile::TempDir,
}

impl Host {
    fn new(rc_conf: Option<&str>, rc_conf_local: Option<&str>) -> Self {
        let host = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        for (path, content) in [(host.rc_conf(), rc_conf), (host.local(), rc_conf_local)] {
            if let Some(content) = content {
                std::fs::write(path, content).unwrap();
            }
        }
        host
    }

    fn rc_conf(&self) -> PathBuf {
        self.dir.path().join("rc.conf")
    }

    fn local(&self) -> PathBuf {
        self.dir.path().join("rc.conf.local")
    }

    fn marker(&self) -> PathBuf {
        self.dir.path().join("ran")
    }

    fn files(&self) -> [String; 2] {
        [self.rc_conf(), self.local()].map(|p| p.display().to_string())
    }

    /// Where the edit keeps its backups.
    fn backups(&self) -> PathBuf {
        self.dir.path().join("backups")
    }

    /// The fragment as a batch runs it: a function in a shell reading its script on stdin.
    fn script(&self, value: &Text) -> String {
        let files = self.files();
        let files: Vec<&str> = files.iter().map(String::as_str).collect();
        format!(
            "{}\nkept() {{ :; }}\nf() {{ {}\n}}; n=0.0; f </dev/null\n",
            keep_function(&self.backups().display().to_string()),
            set_rc_var(&files, NAME, value)
        )
    }

    fn set(&self, value: &Text) -> Output {
        run_on_stdin(Command::new("sh").arg("-s"), &self.script(value))
    }

    /// What sh has in `name` after sourcing the files as rc(8) does (source_rc_confs in
    /// libexec/rc/rc.conf: each of rc_conf_files that is readable, in order), with a
    /// variable in the environment that an unescaped `$HOSTILE` would expand.
    fn read_back(&self, name: &str) -> Vec<u8> {
        let [rc_conf, local] = self.files();
        let output = Command::new("sh")
            .args([
                "-c",
                "for f in \"$1\" \"$2\"; do [ -r \"$f\" ] && . \"$f\"; done; eval \"printf %s \\\"\\${$3}\\\"\"",
                "sh",
                &rc_conf,
                &local,
                name,
            ])
            .env("HOSTILE", "expanded")
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        output.stdout
    }

    fn text(&self, path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_default()
    }
}

fn run_on_stdin(command: &mut Command, script: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Values that sh would run, expand, split, glob or cut short if written unescaped.
fn hostile(marker: &Path) -> Vec<String> {
    let m = marker.display();
    [
        "pa$$w0rd",
        "inet vhid 1 pass pa$$w0rd alias 192.168.1.138/32",
        "$(touch MARKER)",
        "`touch MARKER`",
        "\"; touch MARKER; x=\"",
        "'; touch MARKER; x='",
        "a\"b",
        "\"",
        "\\",
        "trailing backslash\\",
        "\\\\double",
        "\\n\\t\\047 %s %% \\c",
        "it's",
        "'",
        "$HOSTILE",
        "${HOSTILE:-y}",
        "${x:-y}",
        "$",
        "a$",
        "ünïcödé ✓ 日本",
        "  spaces  around  ",
        "# not a comment",
        "a;b & c | d > e < f",
        "* ? [a-z] ~ ~root",
        "",
        "tab\tinside",
        "-n -e",
        "a'b\"c$d`e\\f",
        "NAME=x",
        "\\\"",
        "\\$(touch MARKER)",
    ]
    .iter()
    .map(|v| v.replace("MARKER", &m.to_string()))
    .collect()
}

/// rc.conf as hosts have it before f3s sets NAME: absent, without NAME, with NAME in each
/// form sysrc and people write, in rc.conf.local, with no final newline.
fn starting_points() -> Vec<(Option<String>, Option<String>)> {
    let around = |line: &str| {
        Some(format!(
            "# rc.conf\nhostname=\"lab\"\n{line}\nkeep=\"kept\" # after\n"
        ))
    };
    vec![
        (None, None),
        (Some("hostname=\"lab\"\nkeep=\"kept\"\n".into()), None),
        (around(&format!("{NAME}=\"old\"")), None),
        (around(&format!("  {NAME}='old' # comment kept")), None),
        (around(&format!("{NAME}=old;other=\"x\"")), None),
        (around(&format!("{NAME}= # empty")), None),
        (around(&format!("{NAME}=\"a \\\"q\\\" b\"")), None),
        (around(&format!("{NAME}=\"$(echo old)\"")), None),
        (around(&format!("{NAME}=$(echo old)")), None),
        (
            around(&format!("{NAME}=\"first\"\n{NAME}=\"second\"")),
            None,
        ),
        (
            around(&format!("{NAME}=\"in rc.conf\"")),
            Some(format!("{NAME}=\"old\" # local\n")),
        ),
        (Some(format!("keep=\"kept\"\n{NAME}=\"old\"")), None),
        (Some("keep=\"kept\"".into()), None),
    ]
}

#[test]
fn every_value_reads_back_exactly_through_sh_and_nothing_runs() {
    for (rc_conf, local) in starting_points() {
        for sensitive in [false, true] {
            let host = Host::new(rc_conf.as_deref(), local.as_deref());
            for value in hostile(&host.marker()) {
                let text = Text::new(value.clone(), sensitive);
                let output = host.set(&text);
                let conf = host.text(&host.rc_conf());
                assert!(
                    output.status.success(),
                    "{value:?} from {rc_conf:?}: {output:?}\n{conf}"
                );
                assert_eq!(
                    String::from_utf8_lossy(&host.read_back(NAME)),
                    value,
                    "from {rc_conf:?} / {local:?}:\n{conf}\n{}",
                    host.text(&host.local())
                );
                assert!(!host.marker().exists(), "{value:?} ran");
                if rc_conf.as_deref().is_some_and(|c| c.contains("keep=")) {
                    assert_eq!(host.read_back("keep"), b"kept", "{conf}");
                }
            }
            if rc_conf.as_deref().is_some_and(|c| c.contains("other=")) {
                assert_eq!(host.read_back("other"), b"x");
            }
            if rc_conf
                .as_deref()
                .is_some_and(|c| c.contains("comment kept"))
            {
                let conf = host.text(&host.rc_conf());
                assert!(conf.contains("\" # comment kept\n"), "{conf}");
            }
            let leftovers = temp_files_left(host.dir.path());
            assert!(leftovers.is_empty(), "{leftovers:?}");
        }
    }
}

#[test]
fn a_value_f3s_wrote_is_replaced_in_place_not_appended_again() {
    for (rc_conf, local) in starting_points() {
        let host = Host::new(rc_conf.as_deref(), local.as_deref());
        for value in hostile(&host.marker()) {
            assert!(host.set(&Text::plain(value)).status.success());
        }
        let lines = |path: &Path| {
            host.text(path)
                .lines()
                .filter(|l| l.trim_start().starts_with(&format!("{NAME}=")))
                .count()
        };
        let before = lines(&host.rc_conf()) + lines(&host.local());
        for value in hostile(&host.marker()) {
            assert!(host.set(&Text::plain(value)).status.success());
        }
        assert_eq!(
            lines(&host.rc_conf()) + lines(&host.local()),
            before,
            "from {rc_conf:?}:\n{}",
            host.text(&host.rc_conf())
        );
    }
}

/// rc.conf holds the CARP password: its backup is as closed as it is.
#[test]
fn the_replaced_rc_conf_is_kept_with_its_mode() {
    let host = Host::new(Some("a=1\n"), None);
    std::fs::set_permissions(host.rc_conf(), std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(host.set(&Text::new("s3cret", true)).status.success());
    let dir = host
        .backups()
        .join(host.dir.path().strip_prefix("/").unwrap());
    let kept: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(
        kept[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("rc.conf.")
    );
    assert_eq!(host.text(&kept[0]), "a=1\n");
    let mode = std::fs::metadata(&kept[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn the_file_assigning_it_last_is_edited_like_sysrc_does() {
    let host = Host::new(
        Some(&format!("{NAME}=\"in rc.conf\"\nkeep=\"kept\"\n")),
        Some(&format!("a=1\n{NAME}=\"old\" # local\nb=2\n")),
    );
    assert!(host.set(&Text::plain("new")).status.success());
    assert_eq!(
        host.text(&host.rc_conf()),
        format!("{NAME}=\"in rc.conf\"\nkeep=\"kept\"\n")
    );
    assert_eq!(
        host.text(&host.local()),
        format!("a=1\n{NAME}=\"new\" # local\nb=2\n")
    );

    let host = Host::new(Some("a=1\n"), None);
    assert!(host.set(&Text::plain("x")).status.success());
    assert!(!host.local().exists(), "not made where it was not");
    assert_eq!(host.text(&host.rc_conf()), format!("a=1\n{NAME}=\"x\"\n"));

    // An old value sysrc would not touch stays, and the new assignment after it wins.
    let host = Host::new(Some(&format!("{NAME}=`echo old` # c\nz=1\n")), None);
    assert!(host.set(&Text::plain("y")).status.success());
    assert_eq!(
        host.text(&host.rc_conf()),
        format!("{NAME}=`echo old` # c\nz=1\n{NAME}=\"y\"\n")
    );
}

#[test]
fn mode_and_owner_are_kept_and_a_file_that_does_not_parse_is_not_replaced() {
    let host = Host::new(Some("a=1\n"), None);
    let rc_conf = host.rc_conf();
    std::fs::set_permissions(&rc_conf, std::fs::Permissions::from_mode(0o640)).unwrap();
    let (uid, gid) = (12345, 23456);
    let as_root = std::os::unix::fs::chown(&rc_conf, Some(uid), Some(gid)).is_ok();
    assert!(host.set(&Text::plain("v")).status.success());
    let meta = std::fs::metadata(&rc_conf).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o640);
    if as_root {
        assert_eq!((meta.uid(), meta.gid()), (uid, gid));
    }

    let broken = "if true; then\na=1\n";
    let host = Host::new(Some(broken), None);
    let output = host.set(&Text::plain("v"));
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("would not parse"));
    assert_eq!(host.text(&host.rc_conf()), broken);
    assert!(temp_files_left(host.dir.path()).is_empty());
}

#[test]
fn a_value_that_cannot_be_written_fails_its_operation_and_writes_nothing() {
    let host = Host::new(Some("a=1\n"), None);
    for value in ["two\nLINES", "nul\0BYTES", "-n"] {
        let output = host.set(&Text::new(value, true));
        assert!(!output.status.success());
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(
            said.contains(&format!("cannot set rc.conf {NAME}")),
            "{said}"
        );
        assert!(!said.contains("LINES") && !said.contains("BYTES"), "{said}");
    }
    assert_eq!(host.text(&host.rc_conf()), "a=1\n");
}

/// Every exec of the edit, traced by strace(1): no argument of any holds the secret, in
/// any form (plain or as written to rc.conf).
#[test]
fn the_value_is_in_no_command_line() {
    let host = Host::new(Some(&format!("{NAME}=\"old\"\n")), None);
    let secret = "s3cr3t-Pa$$-w0rd";
    let trace = host.dir.path().join("trace");
    for sensitive in [true, false] {
        let output = run_on_stdin(
            Command::new("strace")
                .args(["-f", "-qq", "-s", "100000", "-e", "trace=execve,execveat"])
                .arg("-o")
                .arg(&trace)
                .args(["sh", "-s"]),
            &host.script(&Text::new(secret, sensitive)),
        );
        assert!(output.status.success(), "strace runs the edit: {output:?}");
        assert_eq!(host.read_back(NAME), secret.as_bytes());
        let execs = std::fs::read_to_string(&trace).unwrap();
        for needle in ["\"cp\"", "\"mv\"", "\"sh\", \"-n\""] {
            assert!(execs.contains(needle), "the trace saw {needle}:\n{execs}");
        }
        for form in [
            secret.to_string(),
            "s3cr3t-Pa\\$\\$-w0rd".into(),
            "s3cr3t".into(),
        ] {
            assert!(!execs.contains(&form), "{form} in a command line:\n{execs}");
        }
    }
}

#[test]
fn an_operation_edits_the_hosts_rc_conf_files_with_this_code() {
    let value = Text::new("pa$$w0rd", true);
    let op = Op::SetRcVar {
        name: NAME.into(),
        value: value.clone(),
    };
    let script = op_script(OsFamily::Freebsd, &op).unwrap();
    assert_eq!(script, set_rc_var(RC_CONF_FILES, NAME, &value));
    assert!(script.contains("for c in '/etc/rc.conf.local' '/etc/rc.conf'; do"));
    assert!(
        !script.contains("sysrc"),
        "sysrc would need the value as an argument"
    );
    assert!(!script.contains("pa$$w0rd"));
}

/// The lab's /etc/defaults/rc.conf (FreeBSD's, cut down: its defaults, `rc_conf_files`
/// and `source_rc_confs`), its `rc_conf_files` pointed at the host's two files.
fn defaults(host: &Host) -> PathBuf {
    let lab = include_str!("../../../../tests/lab/bare/freebsd/etc/defaults/rc.conf");
    let [rc_conf, local] = host.files();
    let text = lab.replace(
        "rc_conf_files=\"/etc/rc.conf /etc/rc.conf.local\"",
        &format!("rc_conf_files=\"{rc_conf} {local}\""),
    );
    let path = host.dir.path().join("defaults.rc");
    std::fs::write(&path, text).unwrap();
    path
}

/// The rc.conf variables `names` as f3s observes them on `host`: the fragment run by sh,
/// its answer parsed.
fn observe(host: &Host, names: &[&str]) -> Result<BTreeMap<String, Observed>, String> {
    let defaults = defaults(host).display().to_string();
    let queries: Vec<RcVarQuery> = names
        .iter()
        .enumerate()
        .map(|(index, name)| RcVarQuery {
            index,
            name,
            secret: false,
        })
        .collect();
    let fragment = rc_vars_fragment(&defaults, FreeBsd.path(), &queries);
    let output = Command::new("sh")
        .arg("-c")
        .arg(&fragment)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let mut answer = b"U FreeBSD\nF\nH\nT\n\nP\n".to_vec();
    answer.extend_from_slice(&output.stdout);
    answer.extend_from_slice(b"E\n");
    let probes: Vec<Probe> = names
        .iter()
        .map(|name| Probe::RcVar {
            name: name.to_string(),
            reveal: Reveal::Text,
        })
        .collect();
    parse_observation(OsFamily::Freebsd, &probes, &answer[..])
        .map(|state| state.rc_conf)
        .map_err(|e| e.to_string())
}

#[test]
fn every_value_written_is_observed_as_written_all_in_one_shell() {
    for (rc_conf, local) in starting_points() {
        let host = Host::new(rc_conf.as_deref(), local.as_deref());
        let values = hostile(&host.marker());
        let names: Vec<String> = (0..values.len()).map(|i| format!("v{i}")).collect();
        for (name, value) in names.iter().zip(&values) {
            let script = host
                .script(&Text::plain(value.as_str()))
                .replace(NAME, name);
            let output = run_on_stdin(Command::new("sh").arg("-s"), &script);
            assert!(output.status.success(), "{value:?}: {output:?}");
        }
        let mut asked: Vec<&str> = names.iter().map(String::as_str).collect();
        asked.push("devd_enable");
        asked.push("never_set");
        let observed = observe(&host, &asked).unwrap();
        for (name, value) in names.iter().zip(&values) {
            assert_eq!(
                observed.get(name),
                Some(&Observed::Plain(value.as_str().into())),
                "{name} from {rc_conf:?}"
            );
        }
        assert_eq!(observed["devd_enable"], Observed::Plain("YES".into()));
        assert!(!observed.contains_key("never_set"), "unset is no value");
        assert!(!host.marker().exists(), "a value ran");
    }
}

/// What sysrc(8) makes of a value, not as it was written: trailing newlines go (command
/// substitution), `-n` and `-e` are echo's options, and sourcing that exits or a file
/// that does not parse leaves every variable empty or unknown.
#[test]
fn values_read_as_sysrc_reads_them() {
    let plain = |v: &str| Some(Observed::Plain(v.into()));
    let host = Host::new(
        Some(
            "a=\"x\n\n\"\nn=-n\ne=-e\nsix=\"-n -e\"\nOPTIND=7\nf3s_v=mine\nempty=\nset -- 1 2 3\n",
        ),
        None,
    );
    let names = [
        "a",
        "n",
        "e",
        "six",
        "OPTIND",
        "f3s_v",
        "empty",
        "devd_enable",
    ];
    let read = observe(&host, &names).unwrap();
    let got: Vec<Option<Observed>> = names.iter().map(|n| read.get(*n).cloned()).collect();
    assert_eq!(
        got,
        [
            plain("x"),
            plain(""),
            plain(""),
            plain("-n -e"),
            plain("7"),
            plain("mine"),
            plain(""),
            plain("YES")
        ]
    );

    for (exit, expected) in [("exit 0", plain("")), ("exit 3", None)] {
        let host = Host::new(Some(&format!("a=1\n{exit}\nb=2\n")), None);
        let read = observe(&host, &["a", "devd_enable"]).unwrap();
        for name in ["a", "devd_enable"] {
            assert_eq!(read.get(name).cloned(), expected, "{exit}");
        }
    }

    let broken = Host::new(Some("a=1\nif true; then\n"), None);
    assert!(observe(&broken, &["a", "devd_enable"]).unwrap().is_empty());
    let unparsable_local = Host::new(Some("a=1\n"), Some("b='\n"));
    assert!(observe(&unparsable_local, &["a"]).unwrap().is_empty());
    assert_eq!(
        observe(&Host::new(Some("a=1\n"), None), &["a", "1a", "a-b"]).unwrap(),
        BTreeMap::from([("a".to_string(), Observed::Plain("1".into()))]),
        "names sh has no variable of are unknown"
    );
}

#[test]
fn quoting_escapes_what_double_quotes_leave_to_sh() {
    assert_eq!(rc_quoted(b"YES"), b"\"YES\"");
    assert_eq!(rc_quoted(b"a$b`c\"d\\e'f"), b"\"a\\$b\\`c\\\"d\\\\e'f\"");
}
