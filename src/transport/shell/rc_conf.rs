//! rc.conf on FreeBSD, which f3s reads and edits itself rather than through sysrc(8), with
//! sysrc's meaning: many variables read in one shell as `sysrc -n` reads each
//! (`rc_vars_fragment`), a variable set in place as sysrc's f_sysrc_set sets it, its value in
//! no command line (`set_rc_var`).

use super::freebsd::FreeBsd;
use super::ops::print_bytes;
use super::{Dialect, RcVarQuery, quote};
use crate::resource::sysrc::unwritable;
use crate::sensitive::{Digest, Text};

/// rc(8)'s defaults, sourced first: they define `rc_conf_files` and `source_rc_confs`.
pub(super) const RC_DEFAULTS: &str = "/etc/defaults/rc.conf";

/// Prints the `R INDEX …` line of each of `vars` as `sysrc -n NAME` reads the variable, all
/// of them in one shell. sysrc (usr.sbin/sysrc/sysrc) first checks the files, `/bin/sh -n`
/// on `defaults` and on each existing file of the `rc_conf_files` it defines, and reads
/// nothing if one fails ("Exiting due to previous syntax errors"); f_sysrc_get
/// (usr.sbin/bsdconfig/share/sysrc.subr) needs `defaults` to be a readable file, and then, in
/// a function's subshell whose variables are all unset (f_clean_env; here `env -i` and the
/// asked names unset, OPTIND aside as there), sources `defaults` and calls
/// `source_rc_confs`, both silenced, and expands the variable: unknown when unset (sysrc asks
/// `${NAME?}` first), else its value through `echo`, which sysrc echoes again and f3s read
/// through `$(…)`, so trailing newlines go and a value of exactly `-n` or `-e` prints as
/// nothing (FreeBSD sh's echo takes them for options, bin/sh/bltin/echo.c). Sourcing that
/// calls `exit` ends f_sysrc_get's subshell there: with status 0 every variable reads as
/// empty (`${NAME?}` did not fail), otherwise as unknown.
///
/// The shell's own variables are named so that no asked name can be one of them, and a name
/// that is not a shell name is unknown (sysrc refuses it). `${#v}` counts bytes: the emptied
/// environment sets no locale. A secret's value never leaves the host: its digest is made
/// there, by one `sha256` per secret variable (a value reaches a command only on stdin, one
/// stdin per process; a handful of secrets per host); every other variable costs no process
/// of its own.
pub(super) fn rc_vars_fragment(defaults: &str, vars: &[RcVarQuery]) -> String {
    let shell_name = |name: &str| {
        name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    let (readable, unreadable): (Vec<&RcVarQuery>, Vec<&RcVarQuery>) =
        vars.iter().partition(|var| shell_name(var.name));
    let unset = |vars: &[&RcVarQuery]| -> String {
        vars.iter()
            .map(|v| format!("R {} unset\n", v.index))
            .collect()
    };
    let mut fragment = String::new();
    if !unreadable.is_empty() {
        fragment = format!("printf '%s' {}\n", quote(&unset(&unreadable)));
    }
    if readable.is_empty() {
        return fragment;
    }
    let empty_digest = Digest::of(b"").to_string().replace("sha256:", "");
    let empty: String = readable
        .iter()
        .map(|v| match v.secret {
            true => format!("R {} digest {empty_digest}\n", v.index),
            false => format!("R {} text 0\n\n", v.index),
        })
        .collect();
    let prefix = (0..)
        .map(|n| {
            if n == 0 {
                "f3s_".to_string()
            } else {
                format!("f3s{n}_")
            }
        })
        .find(|p| !readable.iter().any(|v| v.name.starts_with(p.as_str())))
        .unwrap_or_default();
    let program = RC_READ
        .replace("P_", &prefix)
        .replace("DEFAULTS", &quote(defaults))
        .replace("PATHS", &quote(FreeBsd.path()))
        .replace("SHA256", FreeBsd::SHA256);
    let args: Vec<String> = readable
        .iter()
        .map(|v| {
            quote(&format!(
                "{}{}{}",
                v.index,
                if v.secret { 'd' } else { 't' },
                v.name
            ))
        })
        .collect();
    let d = quote(defaults);
    fragment.push_str(&format!(
        "if [ -f {d} ] && [ -r {d} ] && /bin/sh -n {d} 2>/dev/null && ( . {d} >/dev/null 2>&1; for f3s_f in $rc_conf_files; do [ -e \"$f3s_f\" ] || continue; /bin/sh -n \"$f3s_f\" 2>/dev/null || exit 1; done ); then\n\
         f3s_o=$(env -i /bin/sh -c {} sh {}); f3s_s=$?\n\
         case $f3s_o in *.) printf '%s' \"${{f3s_o%.}}\" ;; *) if [ \"$f3s_s\" = 0 ]; then printf '%s' {}; else printf '%s' {}; fi ;; esac\n\
         else printf '%s' {}; fi\n",
        quote(&program),
        args.join(" "),
        quote(&empty),
        quote(&unset(&readable)),
        quote(&unset(&readable)),
    ));
    fragment
}

/// The program `rc_vars_fragment` runs in the emptied shell, its arguments `INDEX`, `t` (text)
/// or `d` (digest) and the name, run together (`12tzrepl_enable`). Sourcing happens in a
/// function, so a file that resets the positional parameters (`set --`) leaves these alone.
/// It prints `.` last, once every variable is answered.
const RC_READ: &str = r#"for P_a; do P_n=${P_a#*[td]}; [ "$P_n" = OPTIND ] || unset "$P_n"; done
P_source() { . DEFAULTS; source_rc_confs; }
P_source >/dev/null 2>&1
P_l='
'
for P_a; do
  P_i=${P_a%%[td]*}; P_r=${P_a#"$P_i"}; P_n=${P_r#?}
  eval "P_s=\${$P_n+s}"
  if [ -z "$P_s" ]; then printf 'R %s unset\n' "$P_i"; continue; fi
  eval "P_v=\${$P_n}"
  while :; do case $P_v in *"$P_l") P_v=${P_v%?} ;; *) break ;; esac; done
  case $P_v in -n|-e) P_v= ;; esac
  case $P_r in
  d*) printf 'R %s digest %s\n' "$P_i" "$(PATH=PATHS; printf %s "$P_v" | SHA256)" ;;
  *) printf 'R %s text %s\n%s\n' "$P_i" "${#P_v}" "$P_v" ;;
  esac
done
echo ."#;

/// The files rc(8) sources after /etc/defaults/rc.conf, in order: the default
/// `rc_conf_files` (libexec/rc/rc.conf, installed as /etc/defaults/rc.conf). A host that sets
/// its own `rc_conf_files` is not followed: f3s edits these two.
pub(super) const RC_CONF_FILES: &[&str] = &["/etc/rc.conf", "/etc/rc.conf.local"];

/// `value` as the right-hand side of an rc.conf assignment: in double quotes, as sysrc(8)
/// writes (`NAME="VALUE"`), with a backslash before each of the four characters sh still
/// interprets inside double quotes (`$`, `` ` ``, `"`, `\`; POSIX sh, "Double-Quotes"), so
/// sourcing the file gives back every byte as written and runs nothing. sysrc itself escapes
/// nothing (f_sysrc_set writes `$varname="$new_value"` as given), which is why f3s does not
/// hand it the value.
pub(super) fn rc_quoted(value: &[u8]) -> Vec<u8> {
    let mut quoted = Vec::with_capacity(value.len() + 2);
    quoted.push(b'"');
    for &byte in value {
        if matches!(byte, b'$' | b'`' | b'"' | b'\\') {
            quoted.push(b'\\');
        }
        quoted.push(byte);
    }
    quoted.push(b'"');
    quoted
}

/// The fragment setting rc.conf variable `name` to `value` in `files` (rc_conf_files, in
/// order; a parameter so a test can point it at files of its own), with shell builtins and
/// the value never in any command line: `sysrc NAME=VALUE` would put the value (the CARP
/// password) in the process list of the host for anyone running `ps`, and sysrc does not
/// escape it (see `rc_quoted`). One path for every value, secret or not.
///
/// It follows f_sysrc_set (usr.sbin/sysrc/sysrc.subr): the variable is changed in the last
/// of `files` that assigns it (a line matching `^[[:space:]]*NAME=`), else in the first; in
/// that file only its last assignment is changed, keeping what follows the old value on its
/// line (a comment, say); an assignment whose old value cannot be told apart from what
/// follows it (sysrc gives up on one starting with `` ` ``, `$` or `\`; f3s also on
/// expansions inside double quotes and on quotes or operators inside a bare word) is left
/// as it is and the new one appended, where it wins when sh reads the file. The new file is
/// written beside the old one, with its mode and owner (`cp -p`), checked with `sh -n` as
/// sysrc checks its result, the old file kept as a backup (`keep`, see `backup.rs`), and
/// renamed into place.
pub(super) fn set_rc_var(files: &[&str], name: &str, value: &Text) -> String {
    if let Some(fault) = unwritable(&value.expose()) {
        // Refused at load time already; this holds for an operation from anywhere else.
        let why = format!("cannot set rc.conf {name}: {}", fault.reason());
        return format!("echo {} >&2; return 1", quote(&why));
    }
    let first = quote(files.first().copied().unwrap_or("/etc/rc.conf"));
    let reversed: Vec<String> = files.iter().rev().map(|file| quote(file)).collect();
    let assignment = quote(&format!("{name}="));
    let value = print_bytes(&rc_quoted(&value.expose()), value.is_sensitive());
    [
        // `v`: the quoted value, printed by the printf builtin into a subshell's output.
        format!("v=$({value}; printf x); v=${{v%x}}"),
        // Where the last assignment is: the last file that has one, and its line number.
        "file=; last=0".into(),
        format!("for c in {}; do", reversed.join(" ")),
        "  [ -f \"$c\" ] || continue; num=0".into(),
        "  while IFS= read -r line || [ -n \"$line\" ]; do num=$((num + 1))".into(),
        format!("    case ${{line#\"${{line%%[![:space:]]*}}\"}} in {assignment}*) last=$num ;; esac"),
        "  done < \"$c\"".into(),
        "  [ \"$last\" = 0 ] || { file=$c; break; }".into(),
        "done".into(),
        format!("[ -n \"$file\" ] || file={first}"),
        "[ ! -d \"$file\" ] || { echo \"$file is a directory\" >&2; return 1; }".into(),
        "t=${file%/*}/.f3s.$$.$n; set -C; true > \"$t\" || return 1".into(),
        "{ [ ! -e \"$file\" ] || cp -p \"$file\" \"$t\"; } && {".into(),
        "  num=0; put=".into(),
        "  [ ! -e \"$file\" ] || while IFS= read -r line || [ -n \"$line\" ]; do num=$((num + 1))".into(),
        "    if [ \"$num\" = \"$last\" ]; then".into(),
        // Where the old value ends: `ok` when it is one word f3s can delimit, `rest` what
        // follows it, kept when it is nothing, blanks (a comment) or `;`.
        format!("      rest=${{line#*{assignment}}}; ok="),
        "      case $rest in".into(),
        "        \\\"*) body=${rest#?}".into(),
        "          while [ -n \"$body\" ]; do ch=${body%\"${body#?}\"}; body=${body#?}".into(),
        "            case $ch in '\"') ok=y; rest=$body; break ;; '\\') [ -n \"$body\" ] || break; body=${body#?} ;; '$'|'`') break ;; esac".into(),
        "          done ;;".into(),
        "        \\'*) body=${rest#?}; case $body in *\\'*) ok=y; rest=${body#*\\'} ;; esac ;;".into(),
        "        *) word=${rest%%[[:space:];]*}; rest=${rest#\"$word\"}".into(),
        "          case $word in *\\\"*|*\\'*|*\\\\*|*\\$*|*\\`*|*\\(*|*\\)*|*\\<*|*\\>*|*\\&*|*\\|*) ;; *) ok=y ;; esac ;;".into(),
        "      esac".into(),
        "      case $rest in ''|[[:space:]]*|\\;*) ;; *) ok= ;; esac".into(),
        format!("      [ -z \"$ok\" ] || {{ pre=${{line%%{assignment}*}}; printf '%s%s%s%s\\n' \"$pre\" {assignment} \"$v\" \"$rest\"; put=y; continue; }}"),
        "    fi".into(),
        "    printf '%s\\n' \"$line\"".into(),
        "  done < \"$file\"".into(),
        format!("  [ -n \"$put\" ] || printf '%s%s\\n' {assignment} \"$v\""),
        // sh's own complaint is not shown: it may quote a word of the file, which holds secrets.
        "} >| \"$t\" && { sh -n \"$t\" 2>/dev/null || { echo \"not changing $file: it would not parse as sh (sh -n)\" >&2; false; }; } && keep \"$file\" && mv -f \"$t\" \"$file\" || { rm -f \"$t\"; return 1; }".into(),
    ]
    .join("\n")
}

#[cfg(test)]
mod tests {
    //! The rc.conf edit and read run by the local `sh` (dash here; FreeBSD's sh is POSIX too)
    //! against files of a temporary directory; what the edit wrote is read back as rc(8) reads
    //! it (by sourcing) and as f3s observes it.
    use super::*;
    use crate::inventory::host::OsFamily;
    use crate::op::Op;
    use crate::probe::{Probe, Reveal};
    use crate::sensitive::Observed;
    use crate::transport::shell::backup::keep_function;
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
                let leftovers = super::super::temp_files_left(host.dir.path());
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
        assert!(super::super::temp_files_left(host.dir.path()).is_empty());
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
        let script = super::super::ops::op_script(OsFamily::Freebsd, &op).unwrap();
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
        let lab = include_str!("../../../tests/lab/bare/freebsd/etc/defaults/rc.conf");
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
        let fragment = rc_vars_fragment(&defaults, &queries);
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
                    Some(&Observed::Plain(value.clone())),
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
        let plain = |v: &str| Some(Observed::Plain(v.to_string()));
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
}
