//! Writing many files and directories in few processes. A run of a batch's units that only
//! make directories and write whole files (the bulk of a large apply) is staged rather than
//! done one by one, which would cost a process or two each (`mkdir`, `mv`, `chown`):
//!
//! - a tree of new directories is built whole beside where it belongs (`PARENT/.f3s.PID.tN`,
//!   root's alone while it is built), its directories made in one `mkdir` per mode, its
//!   files written by the shell's `printf` builtin, owners and modes set in one `chown` and
//!   one `chmod` per kind, and then renamed into place in one `mv`: a reader sees no tree,
//!   or all of it;
//! - files written into a directory that exists are written under their final names into a
//!   staging directory beside them (`DIR/.f3s.PID.sN`, root's alone), the files they replace
//!   kept as backups as every write keeps them, and renamed in one `mv` for the directory:
//!   each rename is atomic on its own (rename(2) within one filesystem), as the one-by-one
//!   write's is.
//!
//! So the processes of an apply grow with the directories it touches, not with the files.
//! Each unit still reports its own outcome: staged, it is reported done once its rename is.
//! A directory that appeared since the plan where a new tree goes, or a directory where a
//! file goes, fails its units with a message and changes nothing there.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::ops::staged_write;
use super::outgoing::Outgoing;
use crate::batch::Unit;
use crate::host_state::Ownership;
use crate::names::parent_dir;
use crate::op::Op;
use crate::shell_words::quote;

/// What a unit of a run does.
#[derive(Debug, Clone, Copy)]
enum Member<'b> {
    Dir {
        path: &'b str,
        ownership: &'b Ownership,
    },
    File {
        path: &'b str,
        op: &'b Op,
        ownership: &'b Ownership,
    },
    /// Folded into a later rewrite of the same file: runs nothing.
    Nothing,
}

fn member<'u>(unit: &'u Unit<'_>) -> Option<Member<'u>> {
    match &*unit.ops {
        [] => Some(Member::Nothing),
        [Op::CreateDirectory { path, ownership }] => Some(Member::Dir { path, ownership }),
        [
            op @ Op::WriteFile {
                path,
                ownership,
                create_only: false,
                validate: None,
                ..
            },
        ] => Some(Member::File {
            path,
            op,
            ownership,
        }),
        _ => None,
    }
}

/// Where a unit's work lands while its run is staged.
#[derive(Debug, Clone)]
enum Place {
    /// Done on its own, at its turn (a run too small to gain from staging).
    Direct,
    /// Inside staged tree `tree`, at `staged` (a shell word).
    InTree { tree: usize, staged: String },
    /// Into existing directory group `group`, at `staged`.
    InDir { staged: String },
}

/// A tree of new directories being built: its top's final path and where it is built.
struct Tree {
    top: String,
    staged: String,
    /// The top's unit.
    unit: usize,
    members: Vec<usize>,
}

/// Files staged for one existing directory.
struct DirGroup {
    dir: String,
    staged: String,
    files: Vec<usize>,
}

/// The places of a run's units, planned; `first` is the run's first unit's index in the
/// batch, `tag` makes its staging names unique within the batch.
struct Staging {
    places: Vec<Place>,
    trees: Vec<Tree>,
    groups: Vec<DirGroup>,
}

/// A tree smaller than this, or a directory getting fewer files, is not worth its staging
/// processes (a `mkdir`, a `chmod`, an `rmdir`): its units are done one by one.
const WORTH_A_TREE: usize = 3;
const WORTH_A_GROUP: usize = 2;

/// Units reported done in one `A` marker at most (a line of a few KiB).
const DONE_AT_ONCE: usize = 500;

/// Reports the units listed in `dl` done in one marker, and empties the list.
const DONE: &str = "[ -z \"$dl\" ] || m A $dl; dl=";

/// Paths handed to one command at most, well inside any system's argument limit (FreeBSD's
/// kern.argmax is 256 KiB and more; a path here is rarely 200 bytes).
const CHUNK: usize = 256;

/// A shell word for `rest` (a path below a staging directory) inside staging directory
/// `parent/.f3s.$$.NAME`: `$$` must expand, the rest stays quoted.
fn staging_word(parent: &str, name: &str, rest: &str) -> String {
    let parent = parent.trim_end_matches('/');
    let rest = if rest.is_empty() {
        String::new()
    } else {
        quote(rest)
    };
    format!("{}\"/.f3s.$$.{name}\"{rest}", quote(parent))
}

impl Staging {
    fn plan(units: &[(usize, Member)], tag: usize) -> Self {
        let mut places = vec![Place::Direct; units.len()];
        let mut trees: Vec<Tree> = Vec::new();
        // The tree each new directory is in, by its final path.
        let mut new_dirs: BTreeMap<&str, usize> = BTreeMap::new();
        for (at, (_, member)) in units.iter().enumerate() {
            let Member::Dir { path, .. } = member else {
                continue;
            };
            let parent = parent_dir(path).unwrap_or("/");
            let tree = match new_dirs.get(parent) {
                Some(tree) => *tree,
                None => {
                    trees.push(Tree {
                        top: path.trim_end_matches('/').to_string(),
                        staged: String::new(),
                        unit: at,
                        members: Vec::new(),
                    });
                    trees.len() - 1
                }
            };
            trees[tree].members.push(at);
            new_dirs.insert(path, tree);
        }
        let mut files_by_dir: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (at, (_, member)) in units.iter().enumerate() {
            let Member::File { path, .. } = member else {
                continue;
            };
            let parent = parent_dir(path).unwrap_or("/");
            match new_dirs.get(parent) {
                Some(tree) => trees[*tree].members.push(at),
                None => files_by_dir.entry(parent).or_default().push(at),
            }
        }
        let mut kept_trees = Vec::new();
        for tree in trees {
            if tree.members.len() < WORTH_A_TREE {
                continue;
            }
            let index = kept_trees.len();
            let top_parent = parent_dir(&tree.top).unwrap_or("/");
            for &at in &tree.members {
                let path = match units[at].1 {
                    Member::Dir { path, .. } | Member::File { path, .. } => path,
                    Member::Nothing => continue,
                };
                let below = &path[tree.top.len()..];
                places[at] = Place::InTree {
                    tree: index,
                    staged: staging_word(top_parent, &format!("t{tag}.{index}"), below),
                };
            }
            kept_trees.push(Tree {
                staged: staging_word(top_parent, &format!("t{tag}.{index}"), ""),
                ..tree
            });
        }
        let mut groups = Vec::new();
        for (dir, files) in files_by_dir {
            if files.len() < WORTH_A_GROUP {
                continue;
            }
            let index = groups.len();
            let name = format!("s{tag}.{index}");
            for &at in &files {
                let Member::File { path, .. } = units[at].1 else {
                    continue;
                };
                let file = &path[dir.trim_end_matches('/').len()..];
                places[at] = Place::InDir {
                    staged: staging_word(dir, &name, file),
                };
            }
            groups.push(DirGroup {
                dir: dir.to_string(),
                staged: staging_word(dir, &name, ""),
                files,
            });
        }
        Self {
            places,
            trees: kept_trees,
            groups,
        }
    }
}

/// How unit `index` is guarded, as `batch.rs` guards every unit: what it comes after must
/// have succeeded.
pub(super) fn guard(unit: &Unit) -> String {
    if unit.after.is_empty() {
        "true".to_string()
    } else {
        let flags: String = unit.after.iter().map(|u| format!("$u{u}")).collect();
        format!("[ \"{flags}\" = {} ]", "y".repeat(unit.after.len()))
    }
}

/// The units of `units` (a batch's, with their indices) that start a stageable run here:
/// how many consecutive ones from the first are members.
pub(super) fn run_length(units: &[(usize, &Unit)]) -> usize {
    units
        .iter()
        .take_while(|(_, unit)| member(unit).is_some())
        .count()
}

/// Writes the script of a run (`units`, all members) to `script`; `false`, writing nothing,
/// where staging gains nothing (then each unit is done on its own). `direct` writes a unit
/// done one by one, as `batch.rs` does.
pub(super) fn run_script(
    units: &[(usize, &Unit)],
    tag: usize,
    direct: &dyn Fn(&mut Outgoing, usize, &Unit),
    script: &mut Outgoing,
) -> bool {
    let members: Vec<(usize, Member)> = units
        .iter()
        .map(|(index, unit)| (*index, member(unit).expect("a run holds members only")))
        .collect();
    let staging = Staging::plan(&members, tag);
    if staging.trees.is_empty() && staging.groups.is_empty() {
        return false;
    }
    script.push_str("dl=\n");
    // The staging directories, root's alone, in one call; then each tree's directories, in
    // plan order (parents first), one call per run of one mode.
    let mut tops: Vec<String> = Vec::new();
    for tree in &staging.trees {
        let (index, unit) = units[tree.unit];
        let _ = writeln!(
            script,
            "if {}; then u{index}=y; else u{index}=; fi",
            guard(unit)
        );
        tops.push(format!(
            "[ \"$u{index}\" != y ] || set -- \"$@\" {}",
            tree.staged
        ));
    }
    for group in &staging.groups {
        tops.push(format!("set -- \"$@\" {}", group.staged));
    }
    let _ = writeln!(
        script,
        "set --; {}; [ $# = 0 ] || o=$(umask 077; mkdir \"$@\" 2>&1) || true",
        tops.join("; ")
    );
    let mut pending_mode: Option<&str> = None;
    let mut pending: Vec<(usize, &str)> = Vec::new();
    let flush_mkdir =
        |script: &mut Outgoing, mode: Option<&str>, pending: &mut Vec<(usize, &str)>| {
            if let Some(mode) = mode {
                for chunk in pending.chunks(CHUNK) {
                    let _ = writeln!(
                        script,
                        "{}; [ $# = 0 ] || o=$(mkdir -m {} \"$@\" 2>&1) || true",
                        those_done(chunk),
                        quote(mode)
                    );
                }
            }
            pending.clear();
        };
    for (at, (index, member)) in members.iter().enumerate() {
        let (Place::InTree { tree, staged }, Member::Dir { ownership, .. }) =
            (&staging.places[at], member)
        else {
            continue;
        };
        if staging.trees[*tree].unit == at {
            continue;
        }
        if pending_mode != Some(&*ownership.mode) {
            flush_mkdir(script, pending_mode, &mut pending);
            pending_mode = Some(&ownership.mode);
        }
        let _ = writeln!(
            script,
            "if {}; then u{index}=y; else u{index}=; fi",
            guard(units[at].1)
        );
        pending.push((*index, staged));
    }
    flush_mkdir(script, pending_mode, &mut pending);
    // Each directory unit's outcome so far, then each file written where it is staged (or
    // done on its own), in order.
    for (at, (index, member)) in members.iter().enumerate() {
        let unit = units[at].1;
        match (&staging.places[at], member) {
            (Place::Direct, _) => direct(script, *index, unit),
            (Place::InTree { staged, .. }, Member::Dir { path, .. }) => {
                let _ = writeln!(
                    script,
                    "if [ \"$u{index}\" = y ]; then [ -d {staged} ] || {{ printf '%s\\n' {} \"$o\"; m S {index} 0 1; u{index}=; }}; else {}; fi",
                    quote(&format!("could not create {path}:")),
                    skipped(*index, unit)
                );
            }
            (
                Place::InTree { staged, .. } | Place::InDir { staged, .. },
                Member::File { op, .. },
            ) => {
                let _ = writeln!(
                    script,
                    "if {}; then {}; else {}; fi",
                    guard(unit),
                    staged_write(op, staged, *index),
                    skipped(*index, unit)
                );
            }
            (_, _) => direct(script, *index, unit),
        }
    }
    // Owners and modes, one call per kind, while nobody else can see the files.
    let mut owners: BTreeMap<(&str, &str), Vec<(usize, &str)>> = BTreeMap::new();
    let mut modes: BTreeMap<&str, Vec<(usize, &str)>> = BTreeMap::new();
    for (at, (index, member)) in members.iter().enumerate() {
        let staged = match &staging.places[at] {
            Place::InTree { staged, .. } | Place::InDir { staged, .. } => staged.as_str(),
            Place::Direct => continue,
        };
        let ownership = match member {
            Member::Dir { ownership, .. } | Member::File { ownership, .. } => ownership,
            Member::Nothing => continue,
        };
        owners
            .entry((&ownership.owner, &ownership.group))
            .or_default()
            .push((*index, staged));
        // A directory's mode came from mkdir; a file's from the umask, which never gives
        // execute or the set-ID and sticky bits.
        let needs_chmod = match member {
            Member::File { .. } => {
                u32::from_str_radix(&ownership.mode, 8).map_or(true, |mode| mode & !0o666 != 0)
            }
            _ => false,
        };
        if needs_chmod {
            modes
                .entry(&ownership.mode)
                .or_default()
                .push((*index, staged));
        }
    }
    for ((owner, group), paths) in &owners {
        let command = format!("chown {}:{}", quote(owner), quote(group));
        for chunk in paths.chunks(CHUNK) {
            let _ = writeln!(script, "{}", each_or_all(&command, chunk));
        }
    }
    for (mode, paths) in &modes {
        let command = format!("chmod {}", quote(mode));
        for chunk in paths.chunks(CHUNK) {
            let _ = writeln!(script, "{}", each_or_all(&command, chunk));
        }
    }
    // Into place: each existing directory's files in one rename call, each tree whole.
    let staged_file = |at: usize| match (members[at], &staging.places[at]) {
        ((index, Member::File { path, .. }), Place::InDir { staged }) => {
            Some((index, path, staged.as_str()))
        }
        _ => None,
    };
    for group in &staging.groups {
        let mut body = String::new();
        for chunk in group.files.chunks(CHUNK) {
            let mut renamed: Vec<(usize, &str)> = Vec::new();
            for &at in chunk {
                let Some((index, path, staged)) = staged_file(at) else {
                    continue;
                };
                // What it comes after may have failed its own rename since it was staged; a
                // file still done after these checks (its old content kept) is renamed.
                let _ = writeln!(
                    body,
                    "if [ \"$u{index}\" = y ]; then n={index}.0; if ! {}; then rm -f {staged}; {}; elif [ -d {p} ]; then m B {index} 0; echo {}; m S {index} 0 1; u{index}=; rm -f {staged}; elif keep {p}; then told; else m B {index} 0; m S {index} 0 1; u{index}=; rm -f {staged}; fi; fi",
                    guard(units[at].1),
                    skipped(index, units[at].1),
                    quote(&format!("{path} is a directory")),
                    p = quote(path),
                );
                renamed.push((index, staged));
            }
            let _ = writeln!(
                body,
                "{}; [ $# = 0 ] || o=$(mv -f \"$@\" {} 2>&1) || true",
                those_done(&renamed),
                quote(&format!("{}/", group.dir.trim_end_matches('/')))
            );
        }
        for &at in &group.files {
            let Some((index, path, staged)) = staged_file(at) else {
                continue;
            };
            let _ = writeln!(
                body,
                "if [ \"$u{index}\" = y ]; then if [ -e {staged} ]; then m B {index} 0; printf '%s\\n' {} \"$o\"; m S {index} 0 1; u{index}=; rm -f {staged}; else dl=\"$dl {index}\"; fi; fi",
                quote(&format!("could not rename the new {path} into place:"))
            );
        }
        let _ = writeln!(body, "rmdir {} 2>/dev/null; {DONE}", group.staged);
        script.push_str(&body);
    }
    for tree in &staging.trees {
        let (top_index, top_unit) = members[tree.unit];
        let Member::Dir { ownership, .. } = top_unit else {
            continue;
        };
        let fail_all: String = tree
            .members
            .iter()
            .map(|&at| {
                let index = members[at].0;
                format!(
                    "[ \"$u{index}\" != y ] || {{ m B {index} 0; printf '%s\\n' \"$w\"; m S {index} 0 1; u{index}=; }}; "
                )
            })
            .collect();
        let done_all: String = tree
            .members
            .chunks(DONE_AT_ONCE)
            .map(|chunk| {
                let each: String = chunk
                    .iter()
                    .map(|&at| {
                        let index = members[at].0;
                        format!("[ \"$u{index}\" != y ] || dl=\"$dl {index}\"; ")
                    })
                    .collect();
                format!("{each}{DONE}; ")
            })
            .collect();
        let top = quote(&tree.top);
        let _ = writeln!(
            script,
            "if [ \"$u{top_index}\" = y ]; then w=; chmod {} {s} || w={}; [ -n \"$w\" ] || [ ! -e {top} ] || w={}; [ -n \"$w\" ] || mv {s} {top} || w={}; if [ -n \"$w\" ]; then {fail_all}rm -rf {s}; else {done_all}fi; fi",
            quote(&ownership.mode),
            quote(&format!("could not give {} its mode", tree.top)),
            quote(&format!(
                "{} appeared since the plan; plan again (nothing was changed there)",
                tree.top
            )),
            quote(&format!("could not rename the new {} into place", tree.top)),
            s = tree.staged,
        );
    }
    true
}

/// `command` on every staged path of `paths` whose unit still stands, in one call; where
/// that call fails, once per path, so the one that fails fails its own unit alone.
fn each_or_all(command: &str, paths: &[(usize, &str)]) -> String {
    let each: String = paths
        .iter()
        .map(|(index, staged)| {
            format!(
                "[ \"$u{index}\" != y ] || o=$({command} {staged} 2>&1) || {{ m B {index} 0; printf '%s\\n' \"$o\"; m S {index} 0 1; u{index}=; }}; "
            )
        })
        .collect();
    format!(
        "{}; [ $# = 0 ] || {command} \"$@\" 2>/dev/null || {{ {each}}}",
        those_done(paths)
    )
}

/// Sets the positional parameters to the staged paths of `paths` whose unit is done so far
/// (`$u<index>` is `y`), in order. When every one is (the common case), in one `set` of them
/// all: adding them one `set -- "$@" PATH` at a time copies the list each time, which made a
/// shell's run of 4,000 units spend most of its time copying.
fn those_done(paths: &[(usize, &str)]) -> String {
    if paths.is_empty() {
        return "set --".into();
    }
    let all_done: Vec<String> = paths
        .iter()
        .map(|(index, _)| format!("[ \"$u{index}\" = y ]"))
        .collect();
    let all: Vec<&str> = paths.iter().map(|(_, staged)| *staged).collect();
    let some: String = paths
        .iter()
        .map(|(index, staged)| format!("[ \"$u{index}\" != y ] || set -- \"$@\" {staged}; "))
        .collect();
    format!(
        "if {}; then set -- {}; else set --; {some}fi",
        all_done.join(" && "),
        all.join(" ")
    )
}

/// The skip report of a unit whose guard failed, naming the unit it waited for.
fn skipped(index: usize, unit: &Unit) -> String {
    let because: String = unit
        .after
        .iter()
        .map(|u| format!("[ \"$u{u}\" = y ] || b={u}; "))
        .collect();
    format!("u{index}=; {because}m K {index} $b")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the positional parameters are after `those_done`, in a real shell, with `$u1`
    /// and `$u3` done and `$u2` not, or all three done.
    fn listed(done: &str) -> String {
        let script = format!(
            "{done}; {}; printf '%s|' \"$@\"",
            those_done(&[(1, "'/a b'"), (2, "'/c'"), (3, "\"/d\"'$e'")])
        );
        let output = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .expect("sh runs");
        assert!(output.status.success(), "{script}");
        String::from_utf8(output.stdout).unwrap()
    }

    #[test]
    fn those_done_lists_the_done_units_paths_in_order() {
        assert_eq!(listed("u1=y u2=y u3=y"), "/a b|/c|/d$e|");
        assert_eq!(listed("u1=y u2= u3=y"), "/a b|/d$e|");
        assert_eq!(listed("u1= u2= u3="), "|");
        assert_eq!(those_done(&[]), "set --");
    }
}
