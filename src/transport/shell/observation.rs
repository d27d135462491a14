//! The observation protocol: one script answering every probe of a host, and the reading of
//! what it prints back into a `HostState`. The script travels on stdin inside `{ … } </dev/null`
//! (no size limit, read whole before it runs, no command can read the rest of it).
//!
//! Observing costs a fixed number of processes per kind, however many probes of it there are:
//! for paths one `stat` over all of them (through `xargs`), one digest command over all
//! regular files, one `cat` over the files whose text is wanted; for rc.conf variables one
//! shell sourcing rc.conf once (`Dialect::rc_vars`); for packages, pools, datasets, mounts,
//! kernel modules one call of their tool each, for CARP addresses one per interface
//! (`listings.rs`); for Rocky's services one `systemctl is-enabled` and one
//! `systemctl is-active` over all units. What stays per probe is what its tool takes one
//! operand of, or defines per operand, a handful per host: FreeBSD's services (rc.subr's
//! `enabled` and `status` are each rc script's own), a device's content (fstyp, gpart and
//! diskinfo, or blkid), what is at a pool's mountpoint (`ls -A`), a certificate (`openssl
//! x509 -in`), a crontab (`crontab -u USER -l`), and the digest of a secret rc.conf value.
//!
//! The answer: `U`name first; then `F` and a stat line per existing path, `H` and a digest
//! line per regular file, `T` and the wanted files' bytes back to back (their sizes are in the
//! stat lines, and their digests check them), `P`; then a line per other probe answered on its
//! own (`R`c var, `S`ervice, `D`evice, `O`ccupied, certificate (`X`), `C`rontab, with its
//! index) and a section per kind asked many at a time (`listings.rs`); `E`nd last, so a
//! truncated answer is noticed rather than misread, and every probe must have had its
//! answer, once, by then. The answer is read as it streams in, a line or a counted run of
//! bytes at a time, and never held whole (24 hosts × 4,000 paths of answer add up).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::BufRead;

use super::dialect::{Dialect, RcVarQuery, prologue};
use super::family::dialect;
use super::listings::{self, Answered, Section};
use super::ops::TEMP_FILE_GLOB;
use super::reader::{ObservationError, Reader};
use crate::host_state::{
    CertificateState, DeviceState, FileState, HostState, Ownership, ServiceState,
};
use crate::interned::intern;
use crate::inventory::host::OsFamily;
use crate::probe::{Probe, Reveal};
use crate::resource::ownership::normalize_mode;
use crate::sensitive::{Digest, Observed};
use crate::shell_words::quote;

/// One script answering every probe; its output is read by `parse_observation`.
pub fn observe_script(os: OsFamily, probes: &[Probe]) -> String {
    let d = dialect(os);
    let mut script = format!("{{\n{}\n", prologue(d));
    // On a host of another OS, stop before running any command meant for this one.
    let _ = writeln!(
        script,
        "k=$(uname -s); printf 'U %s\\n' \"$k\"; [ \"$k\" = {} ] || exit 0",
        quote(d.kernel())
    );
    path_section(d, probes, &mut script);
    let mut rc_vars = Vec::new();
    let mut services = Vec::new();
    for (i, probe) in probes.iter().enumerate() {
        let fragment = match probe {
            Probe::RcVar { name, reveal } => {
                let secret = matches!(reveal, Reveal::DigestOnly | Reveal::Digest);
                rc_vars.push(RcVarQuery {
                    index: i,
                    name,
                    secret,
                });
                continue;
            }
            Probe::Service { name } => {
                services.push((i, name.as_str()));
                continue;
            }
            Probe::Device { path } => format!(
                "d={}; if [ -e \"$d\" ]; then printf 'D {i} %s\\n' \"$({})\"; else printf 'D {i} absent\\n'; fi",
                quote(path),
                d.device_content()
            ),
            // zpool_do_create opens the directory and refuses it if it holds an entry or
            // cannot be opened for another reason than not being there.
            Probe::Occupied { path } => format!(
                "p={}; o=yes; if [ ! -e \"$p\" ] && [ ! -L \"$p\" ]; then o=no; elif [ -d \"$p\" ] && l=$(ls -A \"$p\") && [ -z \"$l\" ]; then o=no; fi; printf 'O {i} %s\\n' $o",
                quote(path)
            ),
            Probe::Certificate { path } => format!(
                "p={}; if [ -f \"$p\" ] && o=$(openssl x509 -noout -subject -issuer -enddate -nameopt compat -dateopt iso_8601 -in \"$p\" 2>/dev/null); then printf 'X {i} present\\n%s\\n' \"$o\"; else printf 'X {i} absent\\n'; fi",
                quote(path)
            ),
            Probe::Crontab { user } => crontab_fragment(i, user),
            // Paths are answered above; the rest by their kind's listing.
            _ => continue,
        };
        script.push_str(&fragment);
        script.push('\n');
    }
    if !rc_vars.is_empty() {
        script.push_str(&d.rc_vars(&rc_vars));
    }
    script.push_str(&d.services(&services));
    script.push_str(&listings::sections(d, probes));
    script.push_str("printf 'E\\n'\n} </dev/null\n");
    script
}

/// Reads `user`'s crontab once (`printf x` keeps its trailing newlines through the command
/// substitution). `crontab -l` fails for a user with no crontab, saying so on stderr:
/// "crontab: no crontab for USER" (FreeBSD, usr.sbin/cron/crontab/crontab.c, list_cmd:
/// `errx(ERROR_EXIT, "no crontab for %s", User)`) or "no crontab for USER" (cronie,
/// src/crontab.c, list_cmd), exit status 1 both; any other failure (an unknown user, an
/// unreadable spool) is not "no crontab", since writing one would replace what is there.
/// FreeBSD's `-l` leaves out the three header lines its install wrote (copy_file skips up
/// to NHEADER_LINES leading `#` lines); cronie writes none.
fn crontab_fragment(i: usize, user: &str) -> String {
    let u = quote(user);
    format!(
        "if c=$(crontab -u {u} -l 2>/dev/null; s=$?; printf x; exit $s); then c=${{c%x}}; printf 'C {i} text %s\\n' \"$(($(printf %s \"$c\" | wc -c)))\"; printf '%s\\n' \"$c\"; \
         else e=$(crontab -u {u} -l 2>&1 >/dev/null); case $e in \"crontab: no crontab for \"{u}|\"no crontab for \"{u}) printf 'C {i} absent\\n';; \
         *) printf 'C {i} failed %s\\n' \"$(printf %s \"$e\" | tr '\\n' ' ')\";; esac; fi"
    )
}

/// The paths of `probes` that pass `wanted`, each quoted, as `for` loop words.
fn path_words(probes: &[Probe], wanted: impl Fn(&Reveal) -> bool) -> String {
    probes
        .iter()
        .filter_map(|probe| match probe {
            Probe::Path { path, reveal } if wanted(reveal) => Some(quote(path)),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Stat lines for every existing path, digests of every regular file, and the bytes of the
/// files whose text is wanted; each command runs once over all of them (`xargs` splits what
/// is too long for one command line), fed NUL-separated names by the shell's `printf`, with
/// no shell loop (bash takes ~0.1 ms a turn). Only regular files are read, so a FIFO at a
/// managed path cannot hang the plan: the digest command gets the paths the stat lines call
/// regular files (paths hold no tab or newline, names.rs), and `cat` those of its paths that
/// `find -L … -prune -type f` keeps, in their order (POSIX find: -L follows links as
/// `stat -L` does, -prune stops it descending into a directory; FreeBSD find(1) the same;
/// paths are absolute, so none can read as part of find's expression).
fn path_section(d: &dyn Dialect, probes: &[Probe], script: &mut String) {
    let all = path_words(probes, |_| true);
    let text = path_words(probes, |reveal| *reveal == Reveal::Text);
    script.push_str("printf 'F\\n'\n");
    if !all.is_empty() {
        // What does not exist is left out by stat itself.
        let _ = writeln!(
            script,
            "s=$(printf '%s\\0' {all} | {})\n[ -z \"$s\" ] || printf '%s\\n' \"$s\"",
            d.stat_files()
        );
    }
    script.push_str("printf 'H\\n'\n");
    if !all.is_empty() {
        let _ = writeln!(
            script,
            "[ -z \"$s\" ] || printf '%s\\n' \"$s\" | awk -F '\\t' 'tolower($4) ~ /^regular/ {{ print $6 }}' | tr '\\n' '\\0' | xargs -0 -r {} 2>/dev/null",
            d.sha256_files()
        );
    }
    script.push_str("printf 'T\\n'\n");
    if !text.is_empty() {
        let _ = writeln!(
            script,
            "printf '%s\\0' {text} | xargs -0 -r sh -c 'exec find -L \"$@\" -prune -type f -print0' find 2>/dev/null | xargs -0 -r cat"
        );
    }
    script.push_str("printf '\\nP\\n'\n");
    // What an interrupted write left beside the probed paths: builtins only (a glob and
    // `[`), one `W PATH` line each.
    let globs: Vec<String> = leftover_dirs(probes)
        .iter()
        .map(|dir| format!("{}/{TEMP_FILE_GLOB}", quote(dir.trim_end_matches('/'))))
        .collect();
    if !globs.is_empty() {
        let _ = writeln!(
            script,
            "for f in {}; do [ -e \"$f\" ] && printf 'W %s\\n' \"$f\"; done",
            globs.join(" ")
        );
    }
}

/// The directories holding the probed paths, where a write's temporary file would be.
fn leftover_dirs(probes: &[Probe]) -> BTreeSet<&str> {
    probes
        .iter()
        .filter_map(|probe| match probe {
            Probe::Path { path, .. } => crate::names::parent_dir(path),
            _ => None,
        })
        .collect()
}

/// A `W PATH` line's path, if it is a temporary file of f3s's in a directory asked about.
fn leftover<'l>(path: &'l str, probes: &[Probe]) -> Result<&'l str, String> {
    let (dir, name) = path
        .rsplit_once('/')
        .ok_or_else(|| format!("unexpected leftover `{path}`"))?;
    let dir = if dir.is_empty() { "/" } else { dir };
    let ours = name
        .strip_prefix(".f3s.")
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
    match ours && leftover_dirs(probes).contains(dir) {
        true => Ok(path),
        false => Err(format!("unexpected leftover `{path}`")),
    }
}

fn digest(hex: &str) -> Result<Observed, String> {
    let sha256 = Digest::from_hex(hex).ok_or_else(|| format!("`{hex}` is not a sha256 digest"))?;
    Ok(Observed::digest(sha256))
}

/// Parses the output of `observe_script(os, probes)` into the state, as it streams in. It
/// starts with the kernel name (`uname -s`); on a host of another OS the script stops there.
pub fn parse_observation(
    os: OsFamily,
    probes: &[Probe],
    answer: impl BufRead,
) -> Result<HostState, ObservationError> {
    let mut reader = Reader::new(answer);
    let first = reader.raw_line()?;
    let kernel = std::str::from_utf8(first.strip_suffix(b"\n").unwrap_or(&first))
        .ok()
        .and_then(|line| line.strip_prefix("U "))
        .unwrap_or("(no answer)");
    if kernel != dialect(os).kernel() {
        return Err(ObservationError::WrongKernel(kernel.to_string()));
    }
    let mut state = HostState {
        os: Some(os),
        ..HostState::default()
    };
    read_paths(&mut reader, probes, &mut state)?;
    let d = dialect(os);
    let mut answered = Answered::new(probes);
    loop {
        let line = reader.line()?;
        if let Some(path) = line.strip_prefix("W ") {
            state.leftovers.insert(leftover(path, probes)?.to_string());
            continue;
        }
        let fields: Vec<&str> = line.split(' ').collect();
        if fields == ["E"] {
            answered.all(probes)?;
            return Ok(state);
        }
        match fields.get(1).and_then(|i| i.parse::<usize>().ok()) {
            Some(index) => {
                let probe = probes
                    .get(index)
                    .ok_or_else(|| format!("answer to no probe: `{line}`"))?;
                answered.mark(index, probe)?;
                read_probe_answer(&mut reader, probe, &fields, &mut state)?;
            }
            None => listings::read_section(
                &fields,
                Section {
                    d,
                    reader: &mut reader,
                    probes,
                    state: &mut state,
                    answered: &mut answered,
                },
            )?,
        }
    }
}

/// The answer line `fields` (and what follows it) of a probe answered on its own.
fn read_probe_answer(
    reader: &mut Reader<impl BufRead>,
    probe: &Probe,
    fields: &[&str],
    state: &mut HostState,
) -> Result<(), ObservationError> {
    let unexpected = || format!("unexpected answer `{}`", fields.join(" ")).into();
    match (probe, fields) {
        (Probe::RcVar { name, .. }, [_, _, "text", length]) => {
            let value = reader.content(length.parse().map_err(|_| "bad length")?)?;
            state
                .rc_conf
                .insert(name.clone(), Observed::of(&value, false));
        }
        (Probe::RcVar { name, .. }, [_, _, "digest", hex]) => {
            state.rc_conf.insert(name.clone(), digest(hex)?);
        }
        (Probe::RcVar { .. }, [_, _, "unset"]) => {}
        (Probe::RcVar { name, .. }, [_, _, "unsupported"]) => {
            return Err(format!("this OS has no rc.conf to read `{name}` from").into());
        }
        (Probe::Service { name }, [_, _, enabled, running]) => {
            let service = ServiceState {
                enabled: match *enabled {
                    "yes" => Some(true),
                    "no" => Some(false),
                    "fixed" => None,
                    _ => return Err(unexpected()),
                },
                running: match *running {
                    "yes" => Some(true),
                    "no" => Some(false),
                    "unknown" => None,
                    _ => return Err(unexpected()),
                },
            };
            state.services.insert(name.clone(), service);
        }
        (Probe::Device { .. }, [_, _, "absent"]) => {}
        (Probe::Device { path }, [_, _, what, rest @ ..]) => {
            let rest = rest.join(" ");
            let device = match *what {
                "empty" => DeviceState::default(),
                "fs" => DeviceState {
                    filesystem: Some(rest),
                    unreadable: None,
                },
                _ => DeviceState {
                    filesystem: None,
                    unreadable: Some(format!("{what} {rest}").trim().to_string()),
                },
            };
            state.devices.insert(path.clone(), device);
        }
        (Probe::Occupied { .. }, [_, _, "no"]) => {}
        (Probe::Occupied { path }, [_, _, "yes"]) => {
            state.occupied.insert(path.clone());
        }
        (Probe::Certificate { .. }, [_, _, "absent"]) => {}
        (Probe::Certificate { path }, [_, _, "present"]) => {
            let mut field = |name: &str| -> Result<String, ObservationError> {
                let line = reader.line()?;
                line.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix('='))
                    .map(str::to_string)
                    .ok_or_else(|| format!("expected `{name}=` from openssl, got `{line}`").into())
            };
            let certificate = CertificateState {
                subject: field("subject")?,
                issuer: field("issuer")?,
                not_after: field("notAfter")?,
            };
            state.certificates.insert(path.clone(), certificate);
        }
        (Probe::Crontab { user }, [_, _, "failed", words @ ..]) => {
            return Err(format!(
                "cannot read the crontab of {user}: {}",
                words.join(" ").trim()
            )
            .into());
        }
        (Probe::Crontab { .. }, [_, _, "absent"]) => {}
        (Probe::Crontab { user }, [_, _, "text", length]) => {
            let value = reader.content(length.parse().map_err(|_| "bad length")?)?;
            state
                .crontabs
                .insert(user.clone(), Observed::of(&value, false));
        }
        (Probe::Carp { address, .. }, [_, _, "unsupported"]) => {
            return Err(format!("this OS has no CARP to configure `{address}` with").into());
        }
        _ => return Err(unexpected()),
    }
    Ok(())
}

/// What `stat` said of one path, as it said it.
struct Stat<'a> {
    mode: &'a str,
    owner: &'a str,
    group: &'a str,
    is_file: bool,
    size: usize,
    path: &'a str,
}

impl Stat<'_> {
    fn ownership(&self) -> Ownership {
        Ownership {
            mode: intern(&normalize_mode(self.mode)),
            owner: intern(self.owner),
            group: intern(self.group),
        }
    }
}

/// One stat line, `MODE\tUID:OWNER\tGID:GROUP\tTYPE\tSIZE\tNAME` (TYPE as GNU `%F` or
/// FreeBSD `%HT` words it: "regular file", "Regular File", "directory", "Directory", …).
fn stat_line(line: &str) -> Result<Stat<'_>, String> {
    let fields: Vec<&str> = line.splitn(6, '\t').collect();
    let [mode, owner, group, kind, size, path] = fields[..] else {
        return Err(format!("unreadable stat line `{line}`"));
    };
    let (Some(owner), Some(group)) = (account(owner), account(group)) else {
        return Err(format!("unreadable owner or group in `{line}`"));
    };
    let kind = kind.to_ascii_lowercase();
    if !kind.starts_with("regular") && kind != "directory" {
        return Err(format!("{path} is neither a file nor a directory ({kind})"));
    }
    Ok(Stat {
        mode,
        owner,
        group,
        is_file: kind.starts_with("regular"),
        size: size
            .parse()
            .map_err(|_| format!("unreadable size in `{line}`"))?,
        path,
    })
}

/// A user or group from `ID:NAME`: its name, or its id where the host has no name for it (GNU
/// stat prints UNKNOWN, FreeBSD's `(ID)`, or the id itself before FreeBSD 14), so the plan
/// shows the id and a chown keeping it names it in a form chown(8) takes.
fn account(field: &str) -> Option<&str> {
    let (id, name) = field.split_once(':')?;
    let in_parentheses = name.strip_prefix('(').and_then(|n| n.strip_suffix(')')) == Some(id);
    let unnamed = name == "UNKNOWN" || name == id || in_parentheses;
    Some(if unnamed { id } else { name })
}

/// One digest line, `HEX  NAME` (GNU sha256sum) or `HEX NAME` (FreeBSD `sha256 -r`).
fn digest_line(line: &str) -> Result<(&str, Digest), String> {
    let (hex, name) = line
        .split_once(' ')
        .ok_or_else(|| format!("unreadable digest line `{line}`"))?;
    let digest = Digest::from_hex(hex).ok_or_else(|| format!("`{hex}` is not a sha256 digest"))?;
    Ok((name.trim_start_matches([' ', '*']), digest))
}

/// A file whose stat line has come, waiting for its digest and maybe its text.
struct StatedFile<'p> {
    path: &'p String,
    reveal: &'p Reveal,
    ownership: Ownership,
    size: usize,
}

/// The `F`/`H`/`T`/`P` sections: every path probe answered, each line matched to its probe as
/// it comes. Stat lines come in the order the paths were asked (`xargs` and `stat` keep it),
/// leaving out what does not exist; digest lines likewise, for the regular files among them.
fn read_paths(
    reader: &mut Reader<impl BufRead>,
    probes: &[Probe],
    state: &mut HostState,
) -> Result<(), ObservationError> {
    expect(reader, "F")?;
    let mut asked = probes.iter().filter_map(|probe| match probe {
        Probe::Path { path, reveal } => Some((path, reveal)),
        _ => None,
    });
    // Gathered first and built into the maps at once: a map built from a list fills its nodes,
    // where one grown entry by entry leaves them about half empty (thousands of paths a host).
    let (mut directories, mut files) = (Vec::new(), Vec::new());
    loop {
        let line = reader.line()?;
        if line == "H" {
            break;
        }
        let stat = stat_line(&line)?;
        let Some((path, reveal)) = asked.find(|(path, _)| *path == stat.path) else {
            return Err(format!("a stat line for {} out of turn", stat.path).into());
        };
        if stat.is_file {
            files.push(StatedFile {
                path,
                reveal,
                ownership: stat.ownership(),
                size: stat.size,
            });
        } else {
            directories.push((path.clone(), stat.ownership()));
        }
    }
    // The digest of `files[i]` is `digests[i]`.
    let mut digests = Vec::with_capacity(files.len());
    loop {
        let line = reader.line()?;
        if line == "T" {
            break;
        }
        let (name, digest) = digest_line(&line)?;
        match files.get(digests.len()) {
            Some(file) if file.path == name => digests.push(digest),
            Some(file) => return Err(format!("{} could not be read", file.path).into()),
            None => return Err(format!("a digest line for {name} out of turn").into()),
        }
    }
    if let Some(file) = files.get(digests.len()) {
        return Err(format!("{} could not be read", file.path).into());
    }
    state.directories = directories.into_iter().collect();
    let mut read = Vec::with_capacity(files.len());
    for (file, digest) in files.into_iter().zip(digests) {
        let content = match file.reveal {
            Reveal::Text => {
                let bytes = reader.bytes(file.size)?;
                if Digest::of(&bytes) != digest {
                    return Err(
                        format!("{} changed while it was read; plan again", file.path).into(),
                    );
                }
                Observed::of(&bytes, false)
            }
            _ => Observed::digest(digest),
        };
        let Ownership { mode, owner, group } = file.ownership;
        let observed = FileState {
            content,
            mode,
            owner,
            group,
        };
        read.push((file.path.clone(), observed));
    }
    state.files = read.into_iter().collect();
    expect(reader, "")?;
    expect(reader, "P")
}

fn expect(reader: &mut Reader<impl BufRead>, wanted: &str) -> Result<(), ObservationError> {
    match reader.line()? {
        line if line == wanted => Ok(()),
        line => Err(format!("expected `{wanted}`, got `{line}`").into()),
    }
}

/// A whole observation through `observe_once` (one round trip): once for every probe, and
/// again only for the files whose text is wanted for a diff and differs from what it should be.
pub fn observe_with_texts<E>(
    probes: &[Probe],
    mut observe_once: impl FnMut(&[Probe]) -> Result<HostState, E>,
) -> Result<HostState, E> {
    let mut state = observe_once(probes)?;
    let texts = texts_to_fetch(probes, &state);
    if !texts.is_empty() {
        state.files.extend(observe_once(&texts)?.files);
    }
    Ok(state)
}

/// The files whose text a second observation must fetch: asked for unless their digest is a
/// given one, and it is not.
fn texts_to_fetch(probes: &[Probe], state: &HostState) -> Vec<Probe> {
    probes
        .iter()
        .filter_map(|probe| match probe {
            Probe::Path {
                path,
                reveal: Reveal::TextUnless(expected),
            } => match state.files.get(path).map(|file| &file.content) {
                Some(Observed::Hidden(hidden)) if !hidden.is(expected) => Some(Probe::Path {
                    path: path.clone(),
                    reveal: Reveal::Text,
                }),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zfs_property::OpenZfs;
    use std::collections::BTreeSet;

    #[test]
    fn reads_every_kind_of_answer() {
        let probes = vec![
            Probe::Path {
                path: "/etc/exports".into(),
                reveal: Reveal::Text,
            },
            Probe::Path {
                path: "/data".into(),
                reveal: Reveal::Text,
            },
            Probe::RcVar {
                name: "zrepl_enable".into(),
                reveal: Reveal::Text,
            },
            Probe::Package {
                name: "zrepl".into(),
            },
            Probe::Service {
                name: "zrepl".into(),
            },
            Probe::Path {
                path: "/nope".into(),
                reveal: Reveal::Text,
            },
        ];
        let exports = "V4: /\n";
        let hex = Digest::of(exports.as_bytes())
            .to_string()
            .replace("sha256:", "");
        let answer = format!(
            "U FreeBSD\nF\n0644\t0:root\t0:wheel\tRegular File\t6\t/etc/exports\n4755\t1234:(1234)\t0:wheel\tDirectory\t512\t/data\nH\n{hex} /etc/exports\nT\n{exports}\nP\nR 2 text 3\nYES\nK\n+ zrepl 0.6.1\nK end 0\nS 4 yes no\nE\n"
        );
        let answer = answer.as_bytes();
        let elsewhere = parse_observation(OsFamily::Rocky, &probes, answer);
        assert!(matches!(elsewhere, Err(ObservationError::WrongKernel(k)) if k == "FreeBSD"));
        let state = parse_observation(OsFamily::Freebsd, &probes, answer).unwrap();
        assert_eq!(
            state.files["/etc/exports"].content,
            Observed::Plain("V4: /\n".into())
        );
        assert_eq!(&*state.files["/etc/exports"].mode, "0644");
        assert_eq!(&*state.files["/etc/exports"].owner, "root");
        // The whole mode, and an owner the host has no name for as its id.
        assert_eq!(&*state.directories["/data"].mode, "4755");
        assert_eq!(&*state.directories["/data"].owner, "1234");
        assert_eq!(state.rc_conf["zrepl_enable"], Observed::Plain("YES".into()));
        assert_eq!(state.packages["zrepl"], "0.6.1");
        assert_eq!(
            state.services["zrepl"],
            ServiceState {
                enabled: Some(true),
                running: Some(false)
            }
        );
        assert!(!state.files.contains_key("/nope"));
    }

    #[test]
    fn a_truncated_answer_is_an_error() {
        let probes = vec![Probe::Package {
            name: "zrepl".into(),
        }];
        let answer = "U Linux\nF\nH\nT\n\nP\nK\n+ 1.0-1.el9\n";
        assert!(parse_observation(OsFamily::Rocky, &probes, answer.as_bytes()).is_err());
        let file = vec![Probe::Path {
            path: "/f".into(),
            reveal: Reveal::Text,
        }];
        let hex = Digest::of(b"ab").to_string().replace("sha256:", "");
        let answer = |content: &str| {
            format!(
                "U Linux\nF\n644\t0:root\t1001:UNKNOWN\tregular file\t2\t/f\nH\n{hex}  /f\nT\n{content}\nP\nE\n"
            )
        };
        let state = parse_observation(OsFamily::Rocky, &file, answer("ab").as_bytes()).unwrap();
        assert_eq!(
            &*state.files["/f"].group, "1001",
            "GNU stat's UNKNOWN is the id"
        );
        assert!(parse_observation(OsFamily::Rocky, &file, answer("a").as_bytes()).is_err());
        let changed = parse_observation(OsFamily::Rocky, &file, answer("xy").as_bytes());
        assert!(
            changed
                .unwrap_err()
                .to_string()
                .contains("changed while it was read")
        );
    }

    /// What an interrupted write left beside a probed path is found; a host naming anything
    /// else as a leftover (another name, another directory) is not believed.
    #[test]
    fn leftovers_of_an_interrupted_write_are_found_and_nothing_else_is() {
        let file = vec![Probe::Path {
            path: "/etc/exports".into(),
            reveal: Reveal::Digest,
        }];
        let script = observe_script(OsFamily::Freebsd, &file);
        assert!(
            script.contains("for f in '/etc'/.f3s.[0-9]*; do"),
            "{script}"
        );
        let answer = |leftover: &str| format!("U FreeBSD\nF\nH\nT\n\nP\nW {leftover}\nE\n");
        let state = parse_observation(
            OsFamily::Freebsd,
            &file,
            answer("/etc/.f3s.4242.0.1").as_bytes(),
        )
        .unwrap();
        assert_eq!(
            state.leftovers.iter().collect::<Vec<_>>(),
            ["/etc/.f3s.4242.0.1"]
        );
        for lie in ["/etc/passwd", "/root/.f3s.1.0.0", "/etc/.f3s.x"] {
            let read = parse_observation(OsFamily::Freebsd, &file, answer(lie).as_bytes());
            assert!(read.is_err(), "{lie} taken for a leftover");
        }
    }

    /// A host that lies about sizes or never ends a line is refused at a limit, before f3s
    /// holds more than the limit of what it sent.
    #[test]
    fn an_answer_past_a_limit_is_refused_without_being_held() {
        use crate::transport::bounded::{CONTENT_LIMIT, Exceeded, LINE_LIMIT};
        use std::io::Read as _;
        let file = vec![Probe::Path {
            path: "/f".into(),
            reveal: Reveal::Text,
        }];
        let hex = Digest::of(b"ab").to_string().replace("sha256:", "");
        let huge = format!(
            "U Linux\nF\n644\t0:root\t0:root\tregular file\t1000000000000000\t/f\nH\n{hex}  /f\nT\n"
        );
        let endless = std::io::BufReader::new(huge.as_bytes().chain(std::io::repeat(b'a')));
        match parse_observation(OsFamily::Rocky, &file, endless) {
            Err(ObservationError::Io(error)) => assert_eq!(
                Exceeded::of(&error),
                Some(&Exceeded::new(
                    "in one file's content",
                    CONTENT_LIMIT as u64
                ))
            ),
            other => panic!("{other:?}"),
        }
        let line = std::io::BufReader::new(b"U Linux\nF\n".chain(std::io::repeat(b'x')));
        match parse_observation(OsFamily::Rocky, &file, line) {
            Err(ObservationError::Io(error)) => assert_eq!(
                Exceeded::of(&error),
                Some(&Exceeded::new("in one line", LINE_LIMIT as u64))
            ),
            other => panic!("{other:?}"),
        }
    }

    /// An answer that leaves a probe out, answers one twice, or holds a line its tool would
    /// not print is unreadable: nothing is taken for absent because its line went missing.
    #[test]
    fn every_probe_is_answered_once_and_with_lines_its_tool_prints() {
        let probes = vec![
            Probe::Package {
                name: "zrepl".into(),
            },
            Probe::Pool {
                name: "zroot".into(),
            },
            Probe::Dataset {
                name: "zroot/data".into(),
                properties: vec!["quota".into()],
            },
            Probe::Mount {
                path: "/data".into(),
            },
        ];
        let parse = |sections: &str| {
            let answer = format!("U FreeBSD\nF\nH\nT\n\nP\n{sections}E\n");
            parse_observation(OsFamily::Freebsd, &probes, answer.as_bytes())
                .map_err(|e| e.to_string())
        };
        let package = "K\n+ zrepl 0.6.1\nK end 0 \n";
        let pool = "Z\nzroot\tONLINE\nZ end\n";
        let dataset = "Y\nzroot/data\nY get\nzroot/data\tquota\t0\nY end\n";
        let mount = "M\nzroot/data\t\t/data\t\tzfs\trw\t\t0 0\nM end\n";
        let state = parse(&format!("{package}{pool}{dataset}{mount}")).unwrap();
        assert_eq!(state.zfs_version, None, "no version section, no release");
        let version = "V\nzfs-2.2.6-FreeBSD_g33174af15\nzfs-kmod-2.2.6-FreeBSD_g33174af15\nV end\n";
        let versioned = parse(&format!("{version}{dataset}{package}{pool}{mount}")).unwrap();
        assert_eq!(versioned.zfs_version, Some(OpenZfs::new(2, 2, 6)));
        assert_eq!(state.packages["zrepl"], "0.6.1");
        assert_eq!(state.pools["zroot"], "ONLINE");
        assert_eq!(state.datasets["zroot/data"].properties["quota"], "0");
        assert_eq!(state.mounts["/data"].device, "zroot/data");

        let missing = parse(&format!("{package}{pool}{mount}")).unwrap_err();
        assert_eq!(missing, "the answer says nothing of dataset zroot/data");
        let unasked = parse_observation(
            OsFamily::Rocky,
            &[],
            &b"U Linux\nF\nH\nT\n\nP\nK\n+ 1\nK end 0\nE\n"[..],
        );
        assert!(unasked.is_err(), "packages nobody asked about");
        let twice = parse(&format!("{package}{pool}{dataset}{mount}K\nK end 69 \n"));
        assert_eq!(twice.unwrap_err(), "a second answer about package zrepl");
        for wrong in [
            "Z\nzroot ONLINE\nZ end\n",
            "Z\nzroot\tONLINE\nzroot\tONLINE\nZ end\n",
            "Z\ntank\tONLINE\nZ end\n",
            "Y\nzroot/data\nY get\nzroot/data\tcompression\tlz4\nY end\n",
            "Y\nzroot/data\nY get\nzroot/other\tquota\t0\nY end\n",
            "Y\nzroot/data\nY get\nzroot/data\tquota\nY end\n",
            "M\n/data\nM end\n",
            "K\nzrepl 0.6.1\nK end 0 \n",
            "K\n+ zrepl 0.6.1\nK end zero\n",
        ] {
            let kind = &wrong[..1];
            let rest: String = [package, pool, dataset, mount]
                .into_iter()
                .filter(|section| !section.starts_with(kind))
                .collect();
            assert!(parse(&format!("{rest}{wrong}")).is_err(), "{wrong:?}");
        }
    }

    /// A size or length the host printed is believed only as far as the answer goes: one past
    /// it is an unreadable answer, one past the content limit (up to the largest number there
    /// is) is refused before anything is read, and neither is an overflow.
    #[test]
    fn a_size_past_the_answer_is_an_error() {
        let hex = Digest::of(b"ab").to_string().replace("sha256:", "");
        let file = vec![Probe::Path {
            path: "/f".into(),
            reveal: Reveal::Text,
        }];
        let crontab = vec![Probe::Crontab {
            user: "root".into(),
        }];
        let limit = "the host sent more than f3s reads in one file's content (16 MiB)";
        for (size, expected) in [
            (1_000, "the answer ended early"),
            (usize::MAX - 1, limit),
            (usize::MAX, limit),
        ] {
            let stat = format!(
                "U Linux\nF\n644\t0:root\t0:root\tregular file\t{size}\t/f\nH\n{hex}  /f\nT\nab\nP\nE\n"
            );
            let read = parse_observation(OsFamily::Rocky, &file, stat.as_bytes());
            assert_eq!(read.unwrap_err().to_string(), expected, "size {size}");
            let text = format!("U Linux\nF\nH\nT\n\nP\nC 0 text {size}\nab\nE\n");
            let read = parse_observation(OsFamily::Rocky, &crontab, text.as_bytes());
            assert_eq!(read.unwrap_err().to_string(), expected, "length {size}");
        }
    }

    /// Each kind's tools appear as often in the script for fifty probes as for one, and as
    /// often as the comment on each says: a fixed number of processes per kind.
    #[test]
    fn each_kind_asks_its_tools_as_often_for_fifty_probes_as_for_one() {
        type Make = fn(usize) -> Probe;
        /// A tool's word in the script, and how often it is there.
        type Calls = &'static [(&'static str, usize)];
        let kinds: [(OsFamily, Make, Calls); 11] = [
            (
                OsFamily::Freebsd,
                |i| Probe::Package {
                    name: format!("p{i}"),
                },
                &[("pkg ", 1)],
            ),
            (
                OsFamily::Rocky,
                |i| Probe::Package {
                    name: format!("p{i}"),
                },
                &[("rpm ", 1)],
            ),
            // sysrc's checks of defaults and of each existing rc.conf file, then one shell.
            (
                OsFamily::Freebsd,
                |i| Probe::RcVar {
                    name: format!("v{i}"),
                    reveal: Reveal::Text,
                },
                &[("/bin/sh -n", 2), ("env -i", 1), ("sysrc", 0)],
            ),
            // Three functions: the batch without SysV, one unit alone, is-active.
            (
                OsFamily::Rocky,
                |i| Probe::Service {
                    name: format!("s{i}"),
                },
                &[("systemctl ", 3)],
            ),
            (
                OsFamily::Freebsd,
                |i| Probe::Pool {
                    name: format!("t{i}"),
                },
                &[("zpool ", 1)],
            ),
            (
                OsFamily::Freebsd,
                |i| Probe::Dataset {
                    name: format!("t/d{i}"),
                    properties: vec!["mounted".into(), format!("user:p{i}")],
                },
                // version, list, get
                &[("zfs ", 3)],
            ),
            (
                OsFamily::Freebsd,
                |i| Probe::Mount {
                    path: format!("/m{i}"),
                },
                &[("mount ", 1)],
            ),
            (
                OsFamily::Rocky,
                |i| Probe::Mount {
                    path: format!("/m{i}"),
                },
                &[("findmnt ", 1)],
            ),
            (
                OsFamily::Freebsd,
                |i| Probe::KernelModule {
                    name: format!("k{i}"),
                },
                &[("kldstat ", 1)],
            ),
            (
                OsFamily::Freebsd,
                |i| Probe::Carp {
                    interface: "re0".into(),
                    address: format!("10.0.0.{i}"),
                },
                &[("ifconfig ", 1)],
            ),
            // A shell test of /sys/module each: no process at all.
            (
                OsFamily::Rocky,
                |i| Probe::KernelModule {
                    name: format!("k{i}"),
                },
                &[("modprobe", 0), ("lsmod", 0), ("kmod", 0)],
            ),
        ];
        for (os, make, tools) in kinds {
            for n in [1, 50] {
                let probes: Vec<Probe> = (0..n).map(make).collect();
                let script = observe_script(os, &probes);
                for (tool, times) in tools {
                    let found = script.matches(tool).count();
                    assert_eq!(found, *times, "{os:?}, {n} × {:?}: `{tool}`", make(0));
                }
            }
        }
        // FreeBSD's services stay per service: rc.subr defines `enabled` and `status` per
        // rc script.
        let services: Vec<Probe> = (0..50)
            .map(|i| Probe::Service {
                name: format!("s{i}"),
            })
            .collect();
        let script = observe_script(OsFamily::Freebsd, &services);
        assert_eq!(script.matches("service ").count(), 100);
    }

    /// Runs `script` with this machine's `sh` and returns what it printed.
    fn run_here(script: &str) -> Vec<u8> {
        let mut child = std::process::Command::new("sh")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), script.as_bytes()).unwrap();
        child.wait_with_output().unwrap().stdout
    }

    /// Only regular files are digested or read: a FIFO at a managed path is stat'ed (and then
    /// refused by the parser) but never opened, which would wait for a writer forever; a link
    /// to a file is followed.
    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name).display().to_string();
        std::fs::write(at("file"), "text\n").unwrap();
        std::os::unix::fs::symlink(at("file"), at("link")).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(at("fifo"))
            .status();
        assert!(made.unwrap().success());
        let probes: Vec<Probe> = ["fifo", "link", "file"]
            .into_iter()
            .map(|name| Probe::Path {
                path: at(name),
                reveal: Reveal::Text,
            })
            .collect();
        let answer =
            String::from_utf8(run_here(&observe_script(OsFamily::Rocky, &probes))).unwrap();
        let digests = answer
            .split("\nH\n")
            .nth(1)
            .unwrap()
            .split("\nT\n")
            .next()
            .unwrap();
        assert_eq!(digests.lines().count(), 2, "{answer}");
        assert!(!digests.contains("fifo"), "{answer}");
        assert!(answer.contains("\nT\ntext\ntext\n\nP\n"), "{answer}");
        let refused = parse_observation(OsFamily::Rocky, &probes, answer.as_bytes());
        assert!(
            refused
                .unwrap_err()
                .to_string()
                .contains("neither a file nor a directory")
        );
    }

    /// The datasets' part of the script run here, with a `zfs` printing as `version` what
    /// each release prints and logging the properties `get` is asked for: a property a
    /// release does not have is left out of its list (one unknown name would make zfs refuse
    /// the list whole), and the release is read from the answer.
    #[test]
    fn a_zfs_is_asked_only_the_properties_its_release_has() {
        let dir = tempfile::tempdir().unwrap();
        let zfs = dir.path().join("zfs");
        std::fs::write(
            &zfs,
            "#!/bin/sh\ncase $1 in\n version) [ -n \"$V\" ] && printf 'zfs-%s-1\\nzfs-kmod-%s-1\\n' \"$V\" \"$V\" ;;\n \
             list) echo t/d ;;\n get) echo \"$6\" > \"$LOG\"; printf 't/d\\tatime\\ton\\n' ;;\nesac\n",
        )
        .unwrap();
        std::fs::set_permissions(&zfs, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let probes = vec![Probe::Dataset {
            name: "t/d".into(),
            properties: [
                "atime",
                "direct",
                "jailed",
                "prefetch",
                "snapshots_changed",
                "zoned",
            ]
            .map(String::from)
            .to_vec(),
        }];
        for (version, asked, release) in [
            ("2.1.11", "atime,jailed", Some(OpenZfs::new(2, 1, 11))),
            (
                "2.2.6",
                "atime,jailed,snapshots_changed",
                Some(OpenZfs::new(2, 2, 6)),
            ),
            (
                "2.3.2",
                "atime,jailed,snapshots_changed,direct,prefetch",
                Some(OpenZfs::new(2, 3, 2)),
            ),
            ("", "atime,jailed,snapshots_changed,direct,prefetch", None),
        ] {
            let script = listings::sections(dialect(OsFamily::Freebsd), &probes);
            let output = std::process::Command::new("sh")
                .args(["-c", &script])
                .env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
                .env("V", version)
                .env("LOG", dir.path().join("asked"))
                .output()
                .unwrap();
            let logged = std::fs::read_to_string(dir.path().join("asked")).unwrap();
            assert_eq!(logged.trim(), asked, "{version}");
            let answer = format!("U FreeBSD\nF\nH\nT\n\nP\n{}E\n", stdout_of(&output));
            let state = parse_observation(OsFamily::Freebsd, &probes, answer.as_bytes()).unwrap();
            assert_eq!(state.zfs_version, release, "{version}");
            assert_eq!(state.datasets["t/d"].properties["atime"], "on");
        }
    }

    fn stdout_of(output: &std::process::Output) -> String {
        String::from_utf8(output.stdout.clone()).unwrap()
    }

    /// The Rocky script run here, with this machine's findmnt and /sys/module: the mount
    /// table's last mount at a point, nothing where nothing is mounted, the modules there.
    #[test]
    fn the_script_reads_this_machines_mounts_and_modules() {
        let probes = vec![
            Probe::Mount {
                path: "/proc".into(),
            },
            Probe::Mount {
                path: "/no/such/mount".into(),
            },
            Probe::KernelModule {
                name: "kernel".into(),
            },
            Probe::KernelModule {
                name: "no_such_module".into(),
            },
        ];
        let output = run_here(&observe_script(OsFamily::Rocky, &probes));
        let state = parse_observation(OsFamily::Rocky, &probes, &output[..]).unwrap();
        let proc = &state.mounts["/proc"];
        assert_eq!(
            (proc.device.as_str(), proc.fstype.as_str()),
            ("proc", "proc")
        );
        assert_eq!(state.mounts.len(), 1, "{:?}", state.mounts);
        assert_eq!(state.kernel_modules, BTreeSet::from(["kernel".to_string()]));
    }

    /// The script, run by this machine's `sh` and GNU tools (the Rocky dialect), over many
    /// paths of every sort, reads back what is there.
    #[test]
    fn the_script_observes_many_paths_in_one_go() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: String| dir.path().join(name).display().to_string();
        let mut probes = Vec::new();
        for i in 0..4500 {
            let path = at(format!("f{i}"));
            std::fs::write(&path, format!("line {i}\n")).unwrap();
            let reveal = match i % 3 {
                0 => Reveal::Text,
                1 => Reveal::DigestOnly,
                _ => Reveal::TextUnless(Digest::of(b"something else")),
            };
            probes.push(Probe::Path { path, reveal });
        }
        std::fs::write(at("binary".into()), [0u8, 255, 10]).unwrap();
        std::fs::create_dir(at("d".into())).unwrap();
        for name in ["binary", "d", "absent"] {
            probes.push(Probe::Path {
                path: at(name.into()),
                reveal: Reveal::Text,
            });
        }
        let script = observe_script(OsFamily::Rocky, &probes);
        assert!(script.len() > 128 * 1024, "bigger than one argument may be");
        let output = run_here(&script);
        let state = parse_observation(OsFamily::Rocky, &probes, &output[..]).unwrap();
        assert_eq!(
            state.files[&at("f0".into())].content,
            Observed::Plain("line 0\n".into())
        );
        assert_eq!(
            state.files[&at("f1".into())].content,
            Observed::digest(Digest::of(b"line 1\n"))
        );
        assert_eq!(
            texts_to_fetch(&probes, &state).len(),
            1500,
            "every TextUnless file differs from `something else`"
        );
        assert!(matches!(
            state.files[&at("binary".into())].content,
            Observed::Hidden(_)
        ));
        assert!(state.directories.contains_key(&at("d".into())));
        assert!(!state.files.contains_key(&at("absent".into())));
        assert_eq!(state.files.len(), 4501);
    }
}
