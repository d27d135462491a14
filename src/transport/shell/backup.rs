//! Backups of what f3s replaces (Ansible's `backup`, Puppet's filebucket). Right before a
//! write renames new content over a file (and before the rc.conf edit renames over rc.conf),
//! the old file is copied to `DIR/PATH.STAMP` under the OS family's backup directory (see
//! `Dialect::backup_dir`), where STAMP is the host's UTC time (`20250131T235959Z`), and only
//! the newest `KEEP` backups of each path stay. A file f3s creates has nothing to back up;
//! directories, removed paths and crontabs (installed by crontab(1)) are not backed up.
//!
//! `cp -p` keeps the original's mode, owner and group, so the backup of a 0400 key is as
//! closed as the key; the backup directory is made 0700 and the batch's user's (root, as
//! every batch runs) each time a file is kept, not only when it is created: backups of
//! 0644 files that hold secrets (rc.conf holds the CARP password) must not be reachable
//! through a directory someone else made or opened (umask 077 for everything under it).
//! The copy is made before the rename, so the rename stays the one atomic step: a reader sees
//! the old file or the new one, and a failed copy leaves the old file in place.

use crate::shell_words::quote;

/// How many backups of one path are kept (the newest); the README and `f3s apply --help`
/// say so (a test holds them to it).
pub const KEEP: usize = 5;

/// The glob matching a backup's STAMP, so pruning one path's backups never touches those of
/// another path that starts the same (`exports.2` beside `exports`).
const STAMP_GLOB: &str = "[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z";

/// The shell function `keep FILE` a batch defines (its fragments call it right before they
/// rename over FILE): copies FILE, if it is a regular file, into its backup under `dir`,
/// prunes that path's older backups, and reports the backup with the batch's `kept`. A
/// second write of one path within the same second keeps the older backup, which holds the
/// content from before both. Sets umask 077, which the batch restores after the operation.
pub fn keep_function(dir: &str) -> String {
    let dir = quote(dir);
    [
        "keep() {".to_string(),
        "  [ -f \"$1\" ] || return 0".into(),
        "  w=$(date -u +%Y%m%dT%H%M%SZ) || return 1".into(),
        format!("  b={dir}\"$1\".$w; d=${{b%/*}}; f=${{1##*/}}; umask 077"),
        format!("  [ -d {dir} ] || mkdir -p -m 0700 {dir} || return 1"),
        // Once a batch (`kd`), with the batch's user id (`$r`) where it has one: three
        // processes per backed-up file would be most of a large apply's cost.
        format!(
            "  [ -n \"$kd\" ] || {{ chown \"${{r:-$(id -u)}}\" {dir} && chmod 0700 {dir} || return 1; kd=1; }}"
        ),
        "  [ -d \"$d\" ] || mkdir -p \"$d\" || return 1".into(),
        "  [ ! -e \"$b\" ] || return 0".into(),
        "  cp -p \"$1\" \"$b\" || { rm -f \"$b\"; echo \"could not keep a backup of $1 in $b\" >&2; return 1; }".into(),
        format!("  set -- \"$d/$f\".{STAMP_GLOB}"),
        format!("  while [ $# -gt {KEEP} ]; do rm -f \"$1\"; shift; done"),
        "  kept \"$b\"".into(),
        "}".into(),
    ]
    .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;
    use std::process::Command;

    /// Runs `keep` on `file` as a batch would; what it reported as kept.
    fn keep(dir: &std::path::Path, file: &std::path::Path) -> String {
        let script = format!(
            "{}\nkept() {{ printf '%s\\n' \"$1\"; }}\nkeep \"$1\"",
            keep_function(&dir.display().to_string())
        );
        let output = Command::new("sh")
            .args(["-c", &script, "sh"])
            .arg(file)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    }

    #[test]
    fn the_old_file_is_copied_with_its_mode_into_a_closed_directory() {
        let root = tempfile::tempdir().unwrap();
        let backups = root.path().join("backups");
        let file = root.path().join("etc/key");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, b"old\0bytes").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o400)).unwrap();
        let kept = keep(&backups, &file);
        let kept = kept.trim();
        let expected = format!("{}{}.", backups.display(), file.display());
        assert!(kept.starts_with(&expected), "{kept}");
        assert_eq!(std::fs::read(kept).unwrap(), b"old\0bytes");
        let mode =
            |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(kept.as_ref()), 0o400);
        assert_eq!(mode(&backups), 0o700);
        assert_eq!(mode(std::path::Path::new(kept).parent().unwrap()), 0o700);
    }

    /// A backup directory someone else made, or opened to group and others, is closed again
    /// before anything is kept in it.
    #[test]
    fn an_existing_backup_directory_is_closed_and_made_the_batch_users_again() {
        use std::os::unix::fs::MetadataExt as _;
        let root = tempfile::tempdir().unwrap();
        let backups = root.path().join("backups");
        std::fs::create_dir(&backups).unwrap();
        let file = root.path().join("rc.conf");
        std::fs::write(
            &file,
            "ifconfig_re0_alias0=\"inet vhid 1 pass not-a-real-pass\"\n",
        )
        .unwrap();
        // Twice: a directory opened again between two runs is closed again by the next.
        for _ in 0..2 {
            std::fs::set_permissions(&backups, std::fs::Permissions::from_mode(0o755)).unwrap();
            // Only root can give the directory to someone else (nobody); as anyone else, the
            // mode is what the test holds the step to.
            let given_away = std::os::unix::fs::chown(&backups, Some(65534), Some(65534)).is_ok();
            keep(&backups, &file);
            let meta = std::fs::metadata(&backups).unwrap();
            assert_eq!(meta.permissions().mode() & 0o7777, 0o700);
            if given_away {
                // SAFETY: geteuid has no preconditions and cannot fail.
                assert_eq!(meta.uid(), unsafe { libc::geteuid() });
            }
        }
    }

    #[test]
    fn the_documentation_says_how_many_are_kept() {
        let newest = format!("newest {KEEP}");
        assert!(include_str!("../../../README.md").contains(&newest));
        assert!(include_str!("../../cli/mod.rs").contains(&newest));
    }

    #[test]
    fn nothing_is_kept_of_a_file_that_is_not_there() {
        let root = tempfile::tempdir().unwrap();
        let backups = root.path().join("backups");
        assert_eq!(keep(&backups, &root.path().join("new")), "");
        assert!(!backups.exists());
    }

    #[test]
    fn only_the_newest_backups_of_a_path_stay() {
        let root = tempfile::tempdir().unwrap();
        let backups = root.path().join("backups");
        let file = root.path().join("exports");
        let dir = backups.join(root.path().strip_prefix("/").unwrap());
        std::fs::create_dir_all(&dir).unwrap();
        // Older backups of this path, and one of another path starting the same.
        for day in 1..=7 {
            std::fs::write(dir.join(format!("exports.2020010{day}T000000Z")), "old").unwrap();
        }
        std::fs::write(dir.join("exports.2.20200101T000000Z"), "other").unwrap();
        std::fs::write(&file, "now").unwrap();
        let kept = keep(&backups, &file);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), KEEP + 1, "{names:?}");
        assert_eq!(names[0], "exports.2.20200101T000000Z");
        assert_eq!(names[1], "exports.20200104T000000Z");
        assert!(kept.trim().ends_with(names.last().unwrap()), "{kept}");
    }
}
