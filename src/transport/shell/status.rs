//! The status script: every check of a host read in one script (one exec), each read a
//! read-only query under its own `timeout`, so a hung NFS mount costs its timeout, never the
//! run. Each answer is a marker line `NONCE INDEX STATUS` and a few lines of what the read
//! printed (a list of snapshots, more); `read_status` turns them into readings.
//!
//! timeout(1) is in FreeBSD's base system and in coreutils: it exits 124 when the time ran
//! out, and with `-k` sends KILL a little later to what ignored TERM (then 137, 128 + 9).
//! coreutils' timeout signals the command's whole process group, FreeBSD's reaps every
//! descendant (its man page, `--foreground` and the reaper): a stat stuck on the mount goes
//! with its shell.

use super::dialect::{Dialect, prologue};
use crate::shell_words::quote;
use crate::status_check::{Reading, SNAPSHOTS_KEPT, Snapshot, Snapshots, StatusRead, Unread};

/// Lines and characters per line kept of what one read printed: enough for a reason (a list
/// of snapshots keeps its own count of lines, `kept_lines`). A snapshot's line is at most
/// 255 bytes of name (ZFS_MAX_DATASET_NAME_LEN, 256 with its NUL: include/sys/fs/zfs.h), a
/// tab and the creation time, within the width.
const KEPT_LINES: usize = 5;
const KEPT_WIDTH: usize = 300;
/// The longest snapshot name, dataset and `@` included (ZFS_MAX_DATASET_NAME_LEN - 1).
const NAME_MAX: usize = 255;
/// Seconds after TERM before KILL.
const KILL_AFTER: u32 = 2;

/// The script reading `reads` (each with its timeout in seconds) on a host of `dialect`.
pub fn status_script(dialect: &dyn Dialect, reads: &[(&StatusRead, u32)], nonce: &str) -> String {
    let mut script = format!(
        "{{\n{}\nf3s_read() {{\n  f3s_o=$(timeout -k {KILL_AFTER} \"$2\" sh -c \"$4\" </dev/null 2>&1); f3s_r=$?\n  printf '%s %s %s\\n' {n} \"$1\" \"$f3s_r\"\n  printf '%s\\n' \"$f3s_o\" | head -n \"$3\" | cut -c 1-{KEPT_WIDTH}\n}}\n",
        prologue(dialect),
        n = quote(nonce),
    );
    for (index, (read, timeout)) in reads.iter().enumerate() {
        let fragment = fragment(dialect, read);
        script.push_str(&format!(
            "f3s_read {index} {timeout} {} {}\n",
            kept_lines(read),
            quote(&fragment)
        ));
    }
    script.push_str(&format!(
        "printf '%s end\\n' {}\n}} </dev/null\n",
        quote(nonce)
    ));
    script
}

/// Lines kept of what `read` printed: a list of snapshots is the clock, the count and up to
/// `SNAPSHOTS_KEPT` snapshots.
fn kept_lines(read: &StatusRead) -> usize {
    match read {
        StatusRead::SnapshotAge { .. } => SNAPSHOTS_KEPT + 2,
        _ => KEPT_LINES,
    }
}

/// The read-only command of one read: the family's where it spells it differently.
fn fragment(dialect: &dyn Dialect, read: &StatusRead) -> String {
    match read {
        StatusRead::CarpRole { interface, vhid } => dialect
            .carp_role(interface, *vhid)
            .unwrap_or_else(|| "echo 'this host has no CARP'; exit 1".into()),
        // The dataset's own snapshots (-d 1; zfs_main.c zfs_do_list gives `-t snapshot DS`
        // depth 1 anyway), oldest first (-s creation; equal times by creation txg, zfs_iter.c
        // zfs_sort and zfs_compare), each `DS@NAME<TAB>CREATION` (-H: fields tab-separated,
        // no header; -p: the creation time in seconds since the epoch; zfs-list(8)). Printed:
        // the host's clock after the listing, how many there are, and the newest
        // SNAPSHOTS_KEPT; the age and the comparison with a source are worked out here.
        StatusRead::SnapshotAge { dataset } => format!(
            "s=$(zfs list -H -p -t snapshot -o name,creation -s creation -d 1 {}) || exit 1; date +%s; \
             printf '%s\\n' \"$s\" | grep -c .; printf '%s\\n' \"$s\" | tail -n {SNAPSHOTS_KEPT}",
            quote(dataset)
        ),
        StatusRead::PoolHealth { pool } => format!("zpool list -H -o health {}", quote(pool)),
        StatusRead::KeyStatus { dataset } => {
            format!("zfs get -H -p -o value keystatus {}", quote(dataset))
        }
        StatusRead::Service { name } => dialect.service_state(name),
        StatusRead::MountAnswers { path } => dialect.mount_answer(path),
        // The end date as openssl prints it (`notAfter=Mar  5 12:00:00 2035 GMT`) and the
        // host's clock; the days are counted here, the same on every family.
        StatusRead::CertificateDays { path } => format!(
            "e=$(openssl x509 -noout -enddate -in {}) || exit 1; printf '%s\\n' \"${{e#notAfter=}}\"; date +%s",
            quote(path)
        ),
        StatusRead::Command { command } => command.clone(),
    }
}

/// What each read gave, from the script's output; a read with no answer (the script was cut
/// short) says so.
pub fn read_status(
    reads: &[(&StatusRead, u32)],
    nonce: &str,
    output: &str,
) -> Vec<Result<Reading, Unread>> {
    let mut answers: Vec<Option<(i32, Vec<&str>)>> = vec![None; reads.len()];
    let mut current: Option<usize> = None;
    for line in output.lines() {
        if let Some(rest) = line.strip_prefix(nonce).and_then(|r| r.strip_prefix(' ')) {
            let mut words = rest.split(' ');
            let index = words.next().and_then(|w| w.parse::<usize>().ok());
            let status = words.next().and_then(|w| w.parse::<i32>().ok());
            current = None;
            if let (Some(index), Some(status)) = (index, status)
                && index < reads.len()
            {
                answers[index] = Some((status, Vec::new()));
                current = Some(index);
            }
            continue;
        }
        if let Some(index) = current
            && let Some((_, lines)) = &mut answers[index]
            && lines.len() < kept_lines(reads[index].0)
        {
            lines.push(line);
        }
    }
    reads
        .iter()
        .zip(answers)
        .map(|((read, timeout), answer)| match answer {
            None => Err("no answer: the status script was cut short".into()),
            Some((124 | 137, _)) => Err(format!(
                "did not answer within {timeout} s (killed; raise `timeout:` if it is only slow)"
            )),
            Some((0, lines)) => reading(read, &lines),
            Some((status, lines)) => Err(match said(&lines) {
                Some(said) => said,
                None => format!("exit status {status}"),
            }),
        })
        .collect()
}

/// What a read printed, on one line.
fn said(lines: &[&str]) -> Option<String> {
    let joined: Vec<&str> = lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    (!joined.is_empty()).then(|| joined.join("; "))
}

fn reading(read: &StatusRead, lines: &[&str]) -> Result<Reading, Unread> {
    let first = lines.first().map(|l| l.trim()).unwrap_or_default();
    let number = |text: &str| {
        text.parse::<i64>()
            .map_err(|_| format!("printed `{text}`, not a number"))
    };
    match read {
        StatusRead::SnapshotAge { dataset } => snapshots(dataset, lines).map(Reading::Snapshots),
        StatusRead::MountAnswers { .. } => number(first).map(Reading::Quantity),
        StatusRead::CertificateDays { .. } => {
            let now = number(lines.get(1).map(|l| l.trim()).unwrap_or_default())?;
            let end = openssl_time(first)
                .ok_or_else(|| format!("printed `{first}`, not an openssl date"))?;
            Ok(Reading::Quantity((end - now).div_euclid(86_400)))
        }
        _ if first.is_empty() => Err("printed nothing".into()),
        _ => Ok(Reading::Word(first.to_string())),
    }
}

/// A dataset's snapshots from what the snapshot read printed: the host's clock, how many
/// snapshots it has, then the newest of them as `zfs list -H -p -o name,creation -s
/// creation` prints them. The host is not trusted: a line that is not the dataset's own
/// snapshot with a name zfs could give it, a count that does not match the lines, times out
/// of order or a name twice are refused, not guessed at.
fn snapshots(dataset: &str, lines: &[&str]) -> Result<Snapshots, Unread> {
    let [now, total, listed @ ..] = lines else {
        return Err(format!(
            "printed {} line(s), not a clock, a count and snapshots",
            lines.len()
        ));
    };
    let now = seconds(now).ok_or_else(|| format!("printed `{}`, not the time", shown(now)))?;
    let total = match total.len() <= 9 && total.bytes().all(|b| b.is_ascii_digit()) {
        true => total.parse::<usize>().ok(),
        false => None,
    }
    .ok_or_else(|| format!("printed `{}`, not a count of snapshots", shown(total)))?;
    // No snapshot: `printf '%s\n' ""` printed one empty line.
    let listed = match (total, listed) {
        (0, [] | [""]) => &[][..],
        (0, _) => return Err("printed snapshots after a count of none".into()),
        _ => listed,
    };
    if listed.len() != total.min(SNAPSHOTS_KEPT) {
        return Err(format!(
            "counted {total} snapshot(s) but printed {} of them",
            listed.len()
        ));
    }
    let mut newest: Vec<Snapshot> = Vec::with_capacity(listed.len());
    for line in listed {
        let snapshot = snapshot(dataset, line)?;
        if let Some(before) = newest.last()
            && before.creation > snapshot.creation
        {
            return Err(format!(
                "listed {}@{} after a newer snapshot, not oldest first",
                dataset,
                shown(&snapshot.name)
            ));
        }
        if newest.iter().any(|seen| seen.name == snapshot.name) {
            return Err(format!("listed {dataset}@{} twice", shown(&snapshot.name)));
        }
        newest.push(snapshot);
    }
    Ok(Snapshots { now, newest, total })
}

/// One line of `zfs list -H -p -o name,creation`: `DATASET@NAME<TAB>CREATION`. The name's
/// characters are those zfs_namecheck.c (valid_char) allows in a snapshot's name.
fn snapshot(dataset: &str, line: &str) -> Result<Snapshot, Unread> {
    let refused = || format!("printed `{}`, not a snapshot of {dataset}", shown(line));
    let (full, creation) = line.split_once('\t').ok_or_else(refused)?;
    let name = full
        .strip_prefix(dataset)
        .and_then(|rest| rest.strip_prefix('@'))
        .ok_or_else(refused)?;
    let valid = |c: char| c.is_ascii_alphanumeric() || "-_.: ".contains(c);
    if name.is_empty() || full.len() > NAME_MAX || !name.chars().all(valid) {
        return Err(refused());
    }
    let creation = seconds(creation).ok_or_else(refused)?;
    Ok(Snapshot {
        name: name.to_string(),
        creation,
    })
}

/// Seconds since the epoch as `date +%s` or `zfs list -p` print them: digits only, and few
/// enough (to the year 9999 and some) that no sum or difference of two overflows.
fn seconds(text: &str) -> Option<i64> {
    match !text.is_empty() && text.len() <= 15 && text.bytes().all(|b| b.is_ascii_digit()) {
        true => text.parse().ok(),
        false => None,
    }
}

/// The start of a host's text as an error quotes it.
fn shown(text: &str) -> String {
    const SHOWN: usize = 80;
    match text.char_indices().nth(SHOWN) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// Seconds since the epoch of a time as openssl prints a certificate's (ASN1_TIME_print:
/// `Mar  5 12:00:00 2035 GMT`, always GMT).
fn openssl_time(text: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let words: Vec<&str> = text.split_whitespace().collect();
    let [month, day, time, year, "GMT"] = words.as_slice() else {
        return None;
    };
    let month = MONTHS.iter().position(|m| m == month)? as i64 + 1;
    let day: i64 = day.parse().ok()?;
    let year: i64 = year.parse().ok()?;
    let mut hms = time.split(':').map(|part| part.parse::<i64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

/// Days since 1970-01-01 of a date of the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_dates_count_from_the_epoch() {
        assert_eq!(openssl_time("Jan  1 00:00:00 1970 GMT"), Some(0));
        assert_eq!(
            openssl_time("Mar  5 12:00:00 2035 GMT"),
            Some(2_056_708_800)
        );
        assert_eq!(
            openssl_time("Feb 29 00:00:01 2024 GMT"),
            Some(1_709_164_801)
        );
        assert_eq!(openssl_time("Mar  5 12:00:00 2035"), None);
    }

    const DS: &str = "zdata/sink/f0/zdata/enc/nfsdata";

    fn listed(lines: &[&str]) -> Result<Snapshots, Unread> {
        snapshots(DS, lines)
    }

    #[test]
    fn snapshots_are_read_as_zfs_list_prints_them() {
        let read = listed(&[
            "1796638548",
            "2",
            "zdata/sink/f0/zdata/enc/nfsdata@zrepl_20261207_101500_000\t1796637600",
            "zdata/sink/f0/zdata/enc/nfsdata@manual: before upgrade.1\t1796638500",
        ])
        .unwrap();
        assert_eq!(read.now, 1_796_638_548);
        assert_eq!(read.total, 2);
        assert_eq!(read.newest[0].name, "zrepl_20261207_101500_000");
        assert_eq!(read.newest[0].creation, 1_796_637_600);
        assert_eq!(read.last().unwrap().name, "manual: before upgrade.1");
        // None: `printf '%s\n' ""` prints one empty line.
        let none = listed(&["1796638548", "0", ""]).unwrap();
        assert!(none.newest.is_empty());
        assert_eq!(listed(&["1796638548", "0"]).unwrap().total, 0);
        // Taken in the same second: listed in the order taken.
        let same = format!("{DS}@b\t1796638500");
        let first = format!("{DS}@a\t1796638500");
        let read = listed(&["1796638548", "2", &first, &same]).unwrap();
        assert_eq!(read.last().unwrap().name, "b");
        // More than were sent: the newest SNAPSHOTS_KEPT, and the count of all.
        let many: Vec<String> = (0..SNAPSHOTS_KEPT)
            .map(|i| format!("{DS}@s{i}\t{}", 1_796_000_000 + i))
            .collect();
        let mut lines = vec!["1796638548", "5000"];
        lines.extend(many.iter().map(String::as_str));
        let read = listed(&lines).unwrap();
        assert_eq!((read.total, read.newest.len()), (5000, SNAPSHOTS_KEPT));
    }

    #[test]
    fn a_hostile_list_of_snapshots_is_refused_not_guessed_at() {
        let now = "1796638548";
        let refused = |lines: &[&str]| {
            let read = listed(lines);
            assert!(read.is_err(), "{lines:?} read as {read:?}");
            read.unwrap_err()
        };
        let line = |name: &str, creation: &str| format!("{DS}@{name}\t{creation}");
        let ok = line("a", "1796638500");
        // Not a clock, not a count, too little.
        refused(&[]);
        refused(&[now]);
        refused(&["-1", "1", &ok]);
        refused(&["1796638548.5", "1", &ok]);
        refused(&["99999999999999999999999", "1", &ok]);
        refused(&[now, "one", &ok]);
        refused(&[now, "-1", &ok]);
        refused(&[now, "1234567890123", &ok]);
        // Counts that do not match the lines.
        refused(&[now, "2", &ok]);
        refused(&[now, "0", &ok]);
        refused(&[now, "1"]);
        refused(&[now, "1", ""]);
        // Not this dataset's own snapshot.
        refused(&[now, "1", "zdata/enc/nfsdata@a\t1796638500"]);
        refused(&[now, "1", &format!("{DS}/child@a\t1796638500")]);
        refused(&[now, "1", &format!("{DS}x@a\t1796638500")]);
        refused(&[now, "1", &format!("{DS}\t1796638500")]);
        refused(&[now, "1", &format!("{DS}#bookmark\t1796638500")]);
        // Names zfs would not give.
        refused(&[now, "1", &line("", "1796638500")]);
        refused(&[now, "1", &line("a@b", "1796638500")]);
        refused(&[now, "1", &line("a/b", "1796638500")]);
        refused(&[now, "1", &line("a\x1b[2Jb", "1796638500")]);
        refused(&[now, "1", &line("a\tb", "1796638500")]);
        refused(&[now, "1", &line("é", "1796638500")]);
        refused(&[now, "1", &line(&"x".repeat(256 - DS.len()), "1796638500")]);
        assert!(listed(&[now, "1", &line(&"x".repeat(255 - DS.len() - 1), "1")]).is_ok());
        // Creation times that are not.
        refused(&[now, "1", &line("a", "")]);
        refused(&[now, "1", &line("a", "-5")]);
        refused(&[now, "1", &line("a", "17966385OO")]);
        refused(&[now, "1", &line("a", "1796638500 ")]);
        refused(&[now, "1", &line("a", "9223372036854775808")]);
        // Out of order, or a name twice.
        let older = line("b", "1796638400");
        let why = refused(&[now, "2", &ok, &older]);
        assert!(why.contains("not oldest first"), "{why}");
        let again = line("a", "1796638600");
        let why = refused(&[now, "2", &ok, &again]);
        assert!(why.contains("twice"), "{why}");
        // What is quoted of the host's text is bounded.
        let long = format!("{}\t1", "y".repeat(10_000));
        let why = refused(&[now, "1", &long]);
        assert!(why.len() < 400, "{why}");
    }

    #[test]
    fn a_list_of_snapshots_keeps_its_lines_and_no_more() {
        let age = StatusRead::SnapshotAge { dataset: DS.into() };
        let carp = StatusRead::CarpRole {
            interface: "re0".into(),
            vhid: 1,
        };
        let reads = [(&age, 10), (&carp, 10)];
        let mut output = String::from("N 0 0\n1796638548\n7\n");
        for i in 0..7 {
            output.push_str(&format!("{DS}@s{i}\t{}\n", 1_796_638_000 + i));
        }
        output.push_str("N 1 0\nBACKUP\nN end\n");
        let read = read_status(&reads, "N", &output);
        let Ok(Reading::Snapshots(listed)) = &read[0] else {
            panic!("{read:?}")
        };
        assert_eq!(listed.newest.len(), 7);
        assert_eq!(read[1], Ok(Reading::Word("BACKUP".into())));
        // A host printing more lines than the script keeps: the rest is dropped unread.
        let mut flood = String::from("N 0 0\n1796638548\n100000\n");
        for i in 0..10_000 {
            flood.push_str(&format!("{DS}@s{i}\t{}\n", 1_796_000_000 + i));
        }
        flood.push_str("N end\n");
        let read = read_status(&reads[..1], "N", &flood);
        let Ok(Reading::Snapshots(listed)) = &read[0] else {
            panic!("{read:?}")
        };
        assert_eq!(
            (listed.newest.len(), listed.total),
            (SNAPSHOTS_KEPT, 100_000)
        );
    }

    #[test]
    fn the_snapshot_read_lists_name_and_creation_oldest_first() {
        let age = StatusRead::SnapshotAge { dataset: DS.into() };
        let fragment = fragment(&super::super::freebsd::FreeBsd, &age);
        assert!(
            fragment.starts_with(&format!(
                "s=$(zfs list -H -p -t snapshot -o name,creation -s creation -d 1 {}) || exit 1;",
                quote(DS)
            )),
            "{fragment}"
        );
        let script = status_script(&super::super::freebsd::FreeBsd, &[(&age, 10)], "N");
        assert!(script.contains(&format!("f3s_read 0 10 {} ", SNAPSHOTS_KEPT + 2)));
    }

    #[test]
    fn answers_are_read_by_their_markers() {
        let carp = StatusRead::CarpRole {
            interface: "re0".into(),
            vhid: 1,
        };
        let age = StatusRead::SnapshotAge {
            dataset: "zdata/sink".into(),
        };
        let cert = StatusRead::CertificateDays { path: "/c".into() };
        let mount = StatusRead::MountAnswers { path: "/m".into() };
        let reads = [
            (&carp, 10),
            (&age, 10),
            (&cert, 10),
            (&mount, 3),
            (&carp, 10),
        ];
        let output = "N 0 0\nMASTER\nN 1 1\ncannot open 'zdata/sink': dataset does not exist\n\
                      N 2 0\nMar  5 12:00:00 2035 GMT\n2056622400\nN 3 124\nN fake\nN end\n";
        let read = read_status(&reads, "N", output);
        assert_eq!(read[0], Ok(Reading::Word("MASTER".into())));
        assert_eq!(
            read[1],
            Err("cannot open 'zdata/sink': dataset does not exist".into())
        );
        assert_eq!(read[2], Ok(Reading::Quantity(1)));
        assert!(read[3].as_ref().unwrap_err().contains("within 3 s"));
        assert!(read[4].as_ref().unwrap_err().contains("cut short"));
    }
}
