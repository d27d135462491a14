//! Validation of the free-form values that land in line- or field-based text on a host:
//! fstab fields, crontab entries, the marker comments of `block` and `cron`, the text of a
//! `line`, ZFS property names and values (read back as `zfs get -H` lines), certificate
//! subjects, and the template a module names. Quoting protects the shell that carries a
//! value, not the file or program that reads it afterwards (DESIGN.md §5 rule 5): a value must
//! read back from its destination exactly as written, so what cannot is rejected at its line.
//! Each rule cites the reader it follows.

use std::fmt;
use std::path::{Component, Path};

use crate::names::NameKind;
use crate::zfs_property;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// The name of a `line`, `block` or `cron`: it is written into marker comments.
    Label,
    /// The text of a `line`.
    LineText,
    /// What starts a comment in a `block`'s file.
    CommentMarker,
    /// fs_spec of an fstab entry.
    FstabDevice,
    /// fs_vfstype and fs_mntops of an fstab entry.
    FstabField,
    /// fs_freq and fs_passno of an fstab entry.
    FstabNumber,
    CronSchedule,
    CronCommand,
    ZfsProperty,
    ZfsValue,
    /// The value of a ZFS property that is a size (quota, recordsize …).
    ZfsSize,
    /// The value of a ZFS property that takes one of a fixed set of words.
    ZfsChoice,
    ZfsMountpoint,
    ZfsKeylocation,
    X509Subject,
    /// A template file named by a module, relative to its `templates/`.
    Template,
    /// The `validate` command of a file, block or line (see `crate::check_command`).
    CheckCommand,
}

impl fmt::Display for ValueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Label => "label",
            Self::LineText => "line text",
            Self::CommentMarker => "comment marker",
            Self::FstabDevice => "fstab device",
            Self::FstabField => "fstab field",
            Self::FstabNumber => "fstab number",
            Self::CronSchedule => "cron schedule",
            Self::CronCommand => "cron command",
            Self::ZfsProperty => "ZFS property name",
            Self::ZfsValue => "ZFS property value",
            Self::ZfsSize => "ZFS size",
            Self::ZfsChoice => "ZFS property value",
            Self::ZfsMountpoint => "ZFS mountpoint",
            Self::ZfsKeylocation => "ZFS keylocation",
            Self::X509Subject => "certificate subject",
            Self::Template => "template path",
            Self::CheckCommand => "validate command",
        })
    }
}

/// `@` shortcuts that FreeBSD's cron and cronie both know (crontab(5) of each); FreeBSD's
/// `@every_second` and `@<seconds>` are left out because cronie would refuse the crontab.
const CRON_SHORTCUTS: &[&str] = &[
    "reboot", "yearly", "annually", "monthly", "weekly", "daily", "midnight", "hourly",
];

const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// The five time fields: name, bounds, and the names cron accepts for numbers (the first name
/// stands for the lower bound), as FreeBSD's usr.sbin/cron/cron/macros.h and
/// usr.sbin/cron/lib/entry.c (`MonthNames`, `DowNames`, `get_number`) define them.
const CRON_FIELDS: [(&str, u32, u32, &[&str]); 5] = [
    ("minute", 0, 59, &[]),
    ("hour", 0, 23, &[]),
    ("day of month", 1, 31, &[]),
    ("month", 1, 12, MONTHS),
    ("day of week", 0, 7, DAYS),
];

/// FreeBSD's cron reads a command into a buffer of `MAX_COMMAND` (1000) bytes and drops the
/// rest of the line without a word (usr.sbin/cron/cron/macros.h, lib/misc.c `get_string`).
const CRON_MAX_COMMAND: usize = 1000;

/// `ZAP_MAXNAMELEN` and `ZAP_MAXVALUELEN` of OpenZFS: zfs_ioctl.c `zfs_check_userprops`
/// refuses a name of 256 bytes or more and a value of 8192 or more; zfsprops(7), "User
/// Properties".
const ZFS_MAX_NAME: usize = 256;
const ZFS_MAX_VALUE: usize = 8192;

/// The settable per-user, per-group and per-project properties (zfsprops(7)); after the `@`
/// zfs takes any name, f3s a plain user, group or project name or number.
const ZFS_QUOTAS: &[&str] = &[
    "userquota",
    "groupquota",
    "projectquota",
    "userobjquota",
    "groupobjquota",
    "projectobjquota",
];

impl ValueKind {
    /// The rule, as the help line of a diagnostic states it.
    pub fn rule(self) -> &'static str {
        match self {
            Self::Label => {
                "a label is one line of text, not empty, without control characters or leading or trailing blanks: f3s writes it into marker comments on the host"
            }
            Self::LineText => {
                "a `line` is one line: no line break or other control character (tabs are fine); use a `block` for several lines"
            }
            Self::CommentMarker => {
                "the comment marker is what starts a comment in the file, such as # or // or ;, without blanks"
            }
            Self::FstabDevice => {
                "an fstab field is not empty and has no blanks, control characters or `\\`, and does not start with `#` (fstab(5)); a device path is absolute and written one way only"
            }
            Self::FstabField => {
                "an fstab field is not empty and has no blanks, control characters or `\\`, and does not start with `#` (fstab(5))"
            }
            Self::FstabNumber => {
                "the dump and pass fields of fstab are whole numbers such as 0 or 2"
            }
            Self::CronSchedule => {
                "a schedule is five fields (minute hour day-of-month month day-of-week, such as `*/5 * * * *`) or one of @reboot @yearly @annually @monthly @weekly @daily @midnight @hourly"
            }
            Self::CronCommand => {
                "a cron command is one line of under 1000 bytes that starts with neither a blank nor `-` and holds no `\\\\` or `\\%`; write `%` alone, f3s escapes it for cron"
            }
            Self::ZfsProperty => {
                "a ZFS property is a native property zfs can set, by its name or short column name (compression or compress: zfsprops(7)), a quota such as userquota@NAME, or a user property: lowercase letters, digits and : - . _ with at least one `:`, not starting with `-`, under 256 characters"
            }
            Self::ZfsSize => {
                "a ZFS size is `none` or a number with an optional suffix B, K, M, G, T, P or E in any case (powers of 1024; `GB` and `GiB` read as `G`), such as 10G, 128K or 1.5T, as zfs reads it (libzfs_util.c, zfs_nicestrtonum); zfs reports it in bytes"
            }
            Self::ZfsChoice => {
                "this ZFS property takes one of the words zfsprops(7) lists for it, spelled exactly so (lowercase)"
            }
            Self::ZfsValue => {
                "a ZFS property value is not empty, has no control characters and is under 8192 bytes (zfsprops(7)); f3s reads it back from one line of `zfs get -H`"
            }
            Self::ZfsMountpoint => {
                "a mountpoint is `none`, `legacy`, or an absolute path written one way only (no `//`, `.` or `..` parts, no trailing `/`)"
            }
            Self::ZfsKeylocation => {
                "a keylocation is `prompt`, `file://` followed by an absolute path written one way only, or an https:// or http:// URL (zfsprops(7))"
            }
            Self::X509Subject => {
                "a subject is /KEY=VALUE/... with a CN, such as `/O=Org/CN=name`: keys are attribute names such as C, O, OU or CN; values are printable ASCII, not empty, without `\\`, `+` or `/`"
            }
            Self::Template => {
                "a template is named relative to the module's templates/ directory: not absolute, and without `..`"
            }
            Self::CheckCommand => {
                "a validate command is one shell command line (run by `sh -c` as root on the host) that names the file to check as {new}, exactly once and unquoted: f3s puts the quoted path of the new file there"
            }
        }
    }

    /// Checks `value`; the error is the reason it is not valid.
    pub fn check(self, value: &str) -> Result<(), String> {
        match self {
            Self::Label => check_label(value),
            Self::LineText => no_control(value, &['\t']),
            Self::CommentMarker => check_comment_marker(value),
            Self::FstabDevice => check_fstab_field(value).and_then(|()| {
                // A device that is a path names a `ufs` resource too: one spelling only.
                if value.starts_with('/') {
                    NameKind::Path.check(value)
                } else {
                    Ok(())
                }
            }),
            Self::FstabField => check_fstab_field(value),
            Self::FstabNumber => check_fstab_number(value),
            Self::CronSchedule => check_cron_schedule(value),
            Self::CronCommand => check_cron_command(value),
            Self::ZfsProperty => check_zfs_property(value),
            Self::ZfsValue | Self::ZfsSize | Self::ZfsChoice => check_zfs_value(value),
            Self::ZfsMountpoint => check_zfs_value(value).and_then(|()| match value {
                "none" | "legacy" => Ok(()),
                path => NameKind::Path.check(path),
            }),
            Self::ZfsKeylocation => check_zfs_value(value).and_then(|()| check_keylocation(value)),
            Self::X509Subject => check_subject(value),
            Self::Template => check_template(value),
            Self::CheckCommand => check_check_command(value),
        }
    }
}

fn no_control(value: &str, allowed: &[char]) -> Result<(), String> {
    match value
        .chars()
        .find(|c| c.is_control() && !allowed.contains(c))
    {
        Some('\n') => Err("it holds a line break".into()),
        Some(c) => Err(format!("it contains the control character {c:?}")),
        None => Ok(()),
    }
}

fn check_label(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("it is empty".into());
    }
    no_control(value, &[])?;
    if value.trim() != value {
        return Err("it starts or ends with a blank".into());
    }
    Ok(())
}

fn check_comment_marker(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("it is empty".into());
    }
    no_control(value, &[])?;
    if value.contains(char::is_whitespace) {
        return Err("it contains a blank".into());
    }
    Ok(())
}

/// fstab(5) of FreeBSD: fields are separated by blanks, a line whose first field starts with
/// `#` is a comment (lib/libc/gen/fstab.c `fstabscan`), and fs_spec and fs_file are decoded
/// with strunvis(3). On Rocky, libmount decodes `\NNN` octal escapes in the first four fields
/// (util-linux libmount/src/tab_parse.c `mnt_parse_table_line`). The two decoders differ, so
/// f3s writes no escapes: a field with a blank or a backslash is refused rather than encoded.
fn check_fstab_field(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("it is empty".into());
    }
    no_control(value, &[])?;
    if value.contains(char::is_whitespace) {
        return Err("it contains a blank, which would split it into two fields".into());
    }
    if value.contains('\\') {
        return Err("it contains `\\`, which fstab readers decode as an escape".into());
    }
    if value.starts_with('#') {
        return Err("it starts with `#`, which makes the line a comment".into());
    }
    Ok(())
}

/// fs_freq and fs_passno are read with atoi(3) (FreeBSD fstab.c) or strtol(3) (libmount).
fn check_fstab_number(value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > 9 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err("it is not a whole number".into());
    }
    Ok(())
}

/// The time fields as cron reads them (FreeBSD usr.sbin/cron/lib/entry.c `load_entry`,
/// `get_list`, `get_range`, `get_number`; cronie's src/entry.c is the same code): a list of
/// `*`, numbers or names, or ranges `a-b`, each with an optional `/step`. Cron itself accepts
/// some sloppiness silently (`*-5` loses its `-5`, a backwards range matches nothing); f3s
/// refuses it.
fn check_cron_schedule(value: &str) -> Result<(), String> {
    no_control(value, &['\t'])?;
    let trimmed = value.trim();
    if let Some(shortcut) = trimmed.strip_prefix('@') {
        if CRON_SHORTCUTS.contains(&shortcut) {
            return Ok(());
        }
        return Err(format!(
            "`@{shortcut}` is not a schedule both FreeBSD and cronie know"
        ));
    }
    let fields: Vec<&str> = trimmed
        .split([' ', '\t'])
        .filter(|f| !f.is_empty())
        .collect();
    if fields.len() != CRON_FIELDS.len() {
        return Err(format!("it has {} fields, not five", fields.len()));
    }
    for (field, (what, low, high, names)) in fields.iter().zip(CRON_FIELDS) {
        for item in field.split(',') {
            check_cron_item(item, low, high, names)
                .map_err(|reason| format!("{what}: {reason}"))?;
        }
    }
    Ok(())
}

fn check_cron_item(item: &str, low: u32, high: u32, names: &[&str]) -> Result<(), String> {
    let (base, step) = match item.split_once('/') {
        Some((base, step)) => (base, Some(step)),
        None => (item, None),
    };
    if let Some(step) = step
        && cron_number(step, 1, u32::MAX, &[]).is_err()
    {
        return Err(format!("step `{step}` is not a positive number"));
    }
    if base == "*" {
        return Ok(());
    }
    match base.split_once('-') {
        None => cron_number(base, low, high, names).map(|_| ()),
        Some((first, last)) => {
            let (first, last) = (
                cron_number(first, low, high, names)?,
                cron_number(last, low, high, names)?,
            );
            if first <= last {
                Ok(())
            } else {
                Err(format!("`{base}` runs backwards"))
            }
        }
    }
}

fn cron_number(text: &str, low: u32, high: u32, names: &[&str]) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(index) = names.iter().position(|name| *name == lower) {
        return Ok(low + index as u32);
    }
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<u32>() {
        Ok(n) if digits && (low..=high).contains(&n) => Ok(n),
        _ => Err(format!("`{text}` is not a number from {low} to {high}")),
    }
}

/// The command part of a crontab line. Cron runs everything up to the end of the line with
/// `sh -c`, except that FreeBSD's cron first reads a leading `-n`/`-q` as its own options
/// (usr.sbin/cron/lib/entry.c), both skip leading blanks, and both end the command at the
/// first unescaped `%` (crontab(5)). Their unescaping differs: FreeBSD's do_command.c turns
/// `\%` into `%` and `\\` into `\`, cronie's src/do_command.c only `\%` into `%`. So f3s
/// escapes every `%` as `\%` (which both read back as `%`) and refuses `\\` and `\%`, which
/// no escaping makes read back the same on both.
fn check_cron_command(value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err("it is empty".into());
    }
    no_control(value, &['\t'])?;
    if value.starts_with([' ', '\t']) {
        return Err("it starts with a blank, which cron drops".into());
    }
    if value.starts_with('-') {
        return Err("it starts with `-`, which FreeBSD's cron reads as its own option".into());
    }
    if value.contains("\\\\") {
        return Err("it contains `\\\\`, which FreeBSD's cron and cronie read differently".into());
    }
    if value.contains("\\%") {
        return Err("it contains `\\%`: write `%` alone, f3s escapes it for cron".into());
    }
    let length = value.len() + value.matches('%').count();
    if length >= CRON_MAX_COMMAND {
        return Err(format!(
            "it is {length} bytes in the crontab, and FreeBSD's cron keeps only {}",
            CRON_MAX_COMMAND - 1
        ));
    }
    Ok(())
}

/// OpenZFS module/zcommon/zfs_prop.c: `zfs_prop_user` takes a name of lowercase letters,
/// digits and `-_.:` holding a `:` (`zprop_valid_char`); `zfs_prop_userquota` a known prefix
/// followed by `@`. Native names are lowercase letters, digits and `_` (zfs_prop.c's table).
/// zfsprops(7) adds that a user property cannot begin with `-`, which `zfs` would read as an
/// option. A `,` would also split the probe's `zfs get` property list.
fn check_zfs_property(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("it is empty".into());
    }
    no_control(value, &[])?;
    if value.len() >= ZFS_MAX_NAME {
        return Err(format!(
            "it is {} bytes, ZFS takes under {ZFS_MAX_NAME}",
            value.len()
        ));
    }
    if let Some((prefix, name)) = value.split_once('@') {
        if !ZFS_QUOTAS.contains(&prefix) {
            return Err(format!("`{prefix}@` is not a settable quota property"));
        }
        let numeric = !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit());
        if numeric || NameKind::User.check(name).is_ok() {
            return Ok(());
        }
        return Err(format!(
            "`{name}` is not a user, group or project name or number"
        ));
    }
    if value.starts_with('-') {
        return Err("it starts with `-`".into());
    }
    let user = value.contains(':');
    let allowed = |c: char| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || (user && "-.:".contains(c))
    };
    match value.chars().find(|c| !allowed(*c)) {
        Some(bad) if user => Err(format!("it contains `{bad}`")),
        Some(bad) => Err(format!(
            "it contains `{bad}`, and without a `:` it is not a user property"
        )),
        None if !user && !value.starts_with(|c: char| c.is_ascii_lowercase()) => {
            Err("it does not start with a letter".into())
        }
        None if user => Ok(()),
        None => zfs_property::check_name(value),
    }
}

/// `zfs get -H` prints `property<TAB>value` lines (zfs-get(8)); a line break or tab in a value
/// would not read back. zfsprops(7): "Property values are limited to 8192 bytes".
fn check_zfs_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("it is empty".into());
    }
    no_control(value, &[])?;
    if value.len() >= ZFS_MAX_VALUE {
        return Err(format!(
            "it is {} bytes, ZFS takes under {ZFS_MAX_VALUE}",
            value.len()
        ));
    }
    Ok(())
}

/// zfsprops(7): `keylocation=prompt|file://</absolute/file/path>|https://<address>|http://…`.
/// A file location names the key file a `secret` or `file` resource manages, so its path
/// follows the path rule.
fn check_keylocation(value: &str) -> Result<(), String> {
    if value == "prompt" {
        return Ok(());
    }
    if let Some(path) = value.strip_prefix("file://") {
        return NameKind::Path.check(path);
    }
    if value.starts_with("https://") || value.starts_with("http://") {
        if value.contains(char::is_whitespace) {
            return Err("the URL contains a blank".into());
        }
        return Ok(());
    }
    Err("it is not `prompt`, a file:// path or an http(s):// URL".into())
}

/// What `openssl req -subj` takes and `openssl x509 -subject -nameopt compat` prints back the
/// same (tried with OpenSSL 3.0): openssl drops a part with an empty value or an unknown key,
/// prints an OID key by its name, reads `+` as a multi-valued RDN and `\` as an escape, and
/// prints bytes outside ASCII as `\xNN`. f3s compares the printed subject with this one, and a
/// CA whose subject seems to differ is never replaced, so the subject must read back exactly.
fn check_subject(value: &str) -> Result<(), String> {
    no_control(value, &[])?;
    let Some(parts) = value.strip_prefix('/') else {
        return Err("it does not start with `/`".into());
    };
    let mut has_cn = false;
    for part in parts.split('/') {
        let Some((key, text)) = part.split_once('=') else {
            return Err(format!("`{part}` is not KEY=VALUE"));
        };
        let name = key.starts_with(|c: char| c.is_ascii_alphabetic())
            && key.chars().all(|c| c.is_ascii_alphanumeric());
        if !name {
            return Err(format!("`{key}` is not an attribute name"));
        }
        if text.is_empty() {
            return Err(format!("`{key}` has an empty value"));
        }
        if let Some(bad) = text
            .chars()
            .find(|c| !(' '..='~').contains(c) || "\\+".contains(*c))
        {
            return Err(format!("the value of `{key}` contains `{bad}`"));
        }
        has_cn |= key == "CN";
    }
    if has_cn {
        Ok(())
    } else {
        Err("it has no CN".into())
    }
}

/// The template is read from the admin's machine and its text sent to hosts (and shown in
/// plans), so a name rendered from a var must not reach files outside the module.
fn check_template(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("it is empty".into());
    }
    no_control(value, &[])?;
    for component in Path::new(value).components() {
        match component {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => return Err("it contains `..`".into()),
            Component::RootDir | Component::Prefix(_) => return Err("it is absolute".into()),
        }
    }
    Ok(())
}

/// A `validate` command: one line, naming the file to check once. The placeholder becomes
/// `"$1"`, the new file's path as `sh -c` passes it, so a quote around it would either hide
/// it (`'{new}'` reads as the text `"$1"`) or end the quoting it stands in.
/// What a check command writes where the path of the file to check goes.
pub const PLACEHOLDER: &str = "{new}";

fn check_check_command(value: &str) -> Result<(), String> {
    no_control(value, &[])?;
    match value.matches(PLACEHOLDER).count() {
        0 => {
            return Err(format!(
                "it does not name the file to check as {PLACEHOLDER}"
            ));
        }
        1 => {}
        _ => return Err(format!("it names {PLACEHOLDER} more than once")),
    }
    let (before, after) = value.split_once(PLACEHOLDER).unwrap_or((value, ""));
    let quote = |c: Option<char>| matches!(c, Some('\'' | '"'));
    if quote(before.chars().next_back()) || quote(after.chars().next()) {
        return Err(format!(
            "{PLACEHOLDER} is quoted; f3s quotes the path itself"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(kind: ValueKind, value: &str) {
        assert_eq!(kind.check(value), Ok(()), "{kind} {value:?}");
    }

    fn bad(kind: ValueKind, value: &str, reason: &str) {
        let error = kind.check(value).expect_err(value);
        assert!(error.contains(reason), "{kind} {value:?}: {error}");
    }

    #[test]
    fn labels_are_one_plain_line() {
        ok(ValueKind::Label, "carp-auto-failback");
        ok(ValueKind::Label, "vip name");
        bad(ValueKind::Label, "a\nb", "line break");
        bad(ValueKind::Label, "a\u{1b}[2J", "control character");
        bad(ValueKind::Label, " a", "blank");
        bad(ValueKind::Label, "", "empty");
    }

    #[test]
    fn fstab_fields_cannot_split_or_escape() {
        ok(ValueKind::FstabDevice, "127.0.0.1:/data/nfs/k3svolumes");
        ok(ValueKind::FstabDevice, "/dev/da0");
        ok(ValueKind::FstabField, "port=2323,_netdev");
        bad(ValueKind::FstabDevice, "/dev/da0 /x", "blank");
        bad(ValueKind::FstabDevice, "/dev//da0", "`//`");
        bad(ValueKind::FstabField, "rw\n/dev/da1", "line break");
        bad(ValueKind::FstabField, "a\\040b", "`\\`");
        bad(ValueKind::FstabDevice, "#x", "comment");
        bad(ValueKind::FstabNumber, "0 0", "whole number");
        ok(ValueKind::FstabNumber, "2");
    }

    #[test]
    fn cron_schedules_have_five_fields_in_range() {
        for good in [
            "* * * * *",
            "*/5 0-23/2 1,15 jan-mar Mon",
            "0 3 * * 7",
            "@reboot",
            "@daily",
        ] {
            ok(ValueKind::CronSchedule, good);
        }
        bad(ValueKind::CronSchedule, "* * * * * *", "6 fields");
        bad(ValueKind::CronSchedule, "* * * *", "4 fields");
        bad(ValueKind::CronSchedule, "60 * * * *", "minute: `60`");
        bad(ValueKind::CronSchedule, "* * * * 8", "day of week");
        bad(ValueKind::CronSchedule, "*/0 * * * *", "step");
        bad(ValueKind::CronSchedule, "5-1 * * * *", "backwards");
        bad(
            ValueKind::CronSchedule,
            "* * * * *\n* * * * * id",
            "line break",
        );
        bad(ValueKind::CronSchedule, "@every_second", "both");
    }

    #[test]
    fn cron_commands_read_back_on_both_crons() {
        ok(
            ValueKind::CronCommand,
            "/usr/local/bin/carp-auto-failback.sh",
        );
        ok(ValueKind::CronCommand, "date +%F > /tmp/x");
        ok(ValueKind::CronCommand, "printf 'a\\n'");
        bad(ValueKind::CronCommand, "a\nb", "line break");
        bad(ValueKind::CronCommand, "-q /bin/x", "option");
        bad(ValueKind::CronCommand, "date +\\%F", "`\\%`");
        bad(ValueKind::CronCommand, "echo \\\\", "`\\\\`");
        ok(ValueKind::CronCommand, &"x".repeat(999));
        bad(ValueKind::CronCommand, &"x".repeat(1000), "keeps only 999");
        bad(
            ValueKind::CronCommand,
            &format!("{}%", "x".repeat(998)),
            "1000 bytes",
        );
    }

    #[test]
    fn zfs_properties_follow_zfs_prop_user() {
        for good in [
            "compression",
            "special_small_blocks",
            "com.sun:auto-snapshot",
            "org.f3s:role",
            "userquota@paul",
            "groupquota@1001",
        ] {
            ok(ValueKind::ZfsProperty, good);
        }
        bad(ValueKind::ZfsProperty, "Compression", "`C`");
        bad(ValueKind::ZfsProperty, "atime=off", "`=`");
        bad(ValueKind::ZfsProperty, "a,b", "`,`");
        bad(ValueKind::ZfsProperty, "org.f3s:Role", "`R`");
        bad(ValueKind::ZfsProperty, "-o:x", "`-`");
        bad(ValueKind::ZfsProperty, "userused@paul", "settable");
        ok(ValueKind::ZfsProperty, "compress");
        bad(
            ValueKind::ZfsProperty,
            "compresion",
            "not a ZFS dataset property",
        );
        bad(ValueKind::ZfsProperty, "used", "read-only");
        bad(
            ValueKind::ZfsProperty,
            &format!("a:{}", "b".repeat(254)),
            "under 256",
        );
        ok(ValueKind::ZfsProperty, &format!("a:{}", "b".repeat(253)));
    }

    #[test]
    fn zfs_values_read_back_from_one_line() {
        ok(ValueKind::ZfsValue, "aes-256-gcm");
        bad(ValueKind::ZfsValue, "on\toff", "control character");
        bad(ValueKind::ZfsValue, &"x".repeat(8192), "under 8192");
        ok(ValueKind::ZfsMountpoint, "/data/nfs");
        ok(ValueKind::ZfsMountpoint, "legacy");
        bad(ValueKind::ZfsMountpoint, "/data/nfs/", "ends with `/`");
        ok(ValueKind::ZfsKeylocation, "file:///keys/f0.lan:zdata.key");
        ok(ValueKind::ZfsKeylocation, "prompt");
        bad(ValueKind::ZfsKeylocation, "file:///keys//f0.key", "`//`");
        bad(ValueKind::ZfsKeylocation, "/keys/f0.key", "not `prompt`");
    }

    #[test]
    fn subjects_read_back_from_openssl() {
        ok(
            ValueKind::X509Subject,
            "/C=US/O=F3S Storage/CN=F3S Stunnel CA",
        );
        ok(ValueKind::X509Subject, "/O=a=b/CN=x");
        bad(ValueKind::X509Subject, "CN=x", "start with `/`");
        bad(ValueKind::X509Subject, "/O=a+b/CN=x", "`+`");
        bad(ValueKind::X509Subject, "/O=/CN=x", "empty value");
        bad(ValueKind::X509Subject, "/CN=x/", "not KEY=VALUE");
        bad(ValueKind::X509Subject, "/2.5.4.10=x/CN=x", "attribute name");
        bad(ValueKind::X509Subject, "/O=ä/CN=x", "`ä`");
        bad(ValueKind::X509Subject, "/O=x", "no CN");
    }

    #[test]
    fn templates_stay_in_the_module() {
        ok(ValueKind::Template, "devd-carp.hbs");
        ok(ValueKind::Template, "sub/x.hbs");
        bad(ValueKind::Template, "../../inventory/secrets/pw", "`..`");
        bad(ValueKind::Template, "sub/../../x", "`..`");
        bad(ValueKind::Template, "/etc/shadow", "absolute");
    }

    #[test]
    fn validate_commands_name_the_new_file_once_unquoted() {
        ok(ValueKind::CheckCommand, "zrepl --config {new} configcheck");
        ok(ValueKind::CheckCommand, "sshd -t -f {new}");
        ok(ValueKind::CheckCommand, "tool --file={new}");
        bad(ValueKind::CheckCommand, "sh -n", "does not name");
        bad(
            ValueKind::CheckCommand,
            "diff {new} {new}",
            "more than once",
        );
        bad(ValueKind::CheckCommand, "sh -n '{new}'", "quoted");
        bad(ValueKind::CheckCommand, "sh -n \"{new}\"", "quoted");
        bad(
            ValueKind::CheckCommand,
            "sh -n {new}\nrm -rf /",
            "line break",
        );
    }
}
