//! rc.conf on FreeBSD, which f3s reads and edits itself rather than through sysrc(8), with
//! sysrc's meaning: many variables read in one shell as `sysrc -n` reads each
//! (`rc_vars_fragment`), a variable set in place as sysrc's f_sysrc_set sets it, its value in
//! no command line (`set_rc_var`).

use super::dialect::RcVarQuery;
use crate::resource::sysrc::unwritable;
use crate::sensitive::{Digest, Text};
use crate::shell_words::{print_bytes, quote};

/// rc(8)'s defaults, sourced first: they define `rc_conf_files` and `source_rc_confs`.
/// sha256(1) -q: the hex digest of stdin alone (sbin/md5/md5.c).
const SHA256: &str = "sha256 -q";

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
pub(super) fn rc_vars_fragment(defaults: &str, path: &str, vars: &[RcVarQuery]) -> String {
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
        .replace("PATHS", &quote(path))
        .replace("SHA256", SHA256);
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

/// The fragment removing rc.conf variable `name` from `files`: `sysrc -x NAME`, which drops
/// every assignment of it from each of rc_conf_files (usr.sbin/sysrc/sysrc, `-x`, through
/// f_sysrc_delete in sysrc.subr), after each file that assigns it is kept as a backup. The
/// name was checked to be a shell name; no value is involved.
pub(super) fn unset_rc_var(files: &[&str], name: &str) -> String {
    let files: Vec<String> = files.iter().map(|file| quote(file)).collect();
    format!(
        "for f in {}; do [ -f \"$f\" ] && grep -q {} \"$f\" && {{ keep \"$f\" || return 1; }}; done; sysrc -x {}",
        files.join(" "),
        quote(&format!("^[[:space:]]*{name}=")),
        quote(name)
    )
}

#[cfg(test)]
mod tests;
