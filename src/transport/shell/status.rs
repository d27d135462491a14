//! The status script: every check of a host read in one script (one exec), each read a
//! read-only query under its own `timeout`, so a hung NFS mount costs its timeout, never the
//! run. Each answer is a marker line `NONCE INDEX STATUS` and a few lines of what the read
//! printed; `read_status` turns them into readings.
//!
//! timeout(1) is in FreeBSD's base system and in coreutils: it exits 124 when the time ran
//! out, and with `-k` sends KILL a little later to what ignored TERM (then 137, 128 + 9).
//! coreutils' timeout signals the command's whole process group, FreeBSD's reaps every
//! descendant (its man page, `--foreground` and the reaper): a stat stuck on the mount goes
//! with its shell.

use super::dialect::{Dialect, prologue};
use crate::shell_words::quote;
use crate::status_check::{Reading, StatusRead, Unread};

/// Lines and characters per line kept of what one read printed: enough for a reason.
const KEPT_LINES: usize = 5;
const KEPT_WIDTH: usize = 300;
/// Seconds after TERM before KILL.
const KILL_AFTER: u32 = 2;

/// The script reading `reads` (each with its timeout in seconds) on a host of `dialect`.
pub fn status_script(dialect: &dyn Dialect, reads: &[(&StatusRead, u32)], nonce: &str) -> String {
    let mut script = format!(
        "{{\n{}\nf3s_read() {{\n  f3s_o=$(timeout -k {KILL_AFTER} \"$2\" sh -c \"$3\" </dev/null 2>&1); f3s_r=$?\n  printf '%s %s %s\\n' {n} \"$1\" \"$f3s_r\"\n  printf '%s\\n' \"$f3s_o\" | head -n {KEPT_LINES} | cut -c 1-{KEPT_WIDTH}\n}}\n",
        prologue(dialect),
        n = quote(nonce),
    );
    for (index, (read, timeout)) in reads.iter().enumerate() {
        let fragment = fragment(dialect, read);
        script.push_str(&format!(
            "f3s_read {index} {timeout} {}\n",
            quote(&fragment)
        ));
    }
    script.push_str(&format!(
        "printf '%s end\\n' {}\n}} </dev/null\n",
        quote(nonce)
    ));
    script
}

/// The read-only command of one read: the family's where it spells it differently.
fn fragment(dialect: &dyn Dialect, read: &StatusRead) -> String {
    match read {
        StatusRead::CarpRole { interface, vhid } => dialect
            .carp_role(interface, *vhid)
            .unwrap_or_else(|| "echo 'this host has no CARP'; exit 1".into()),
        // Newest last (-s creation, ascending); -p prints the creation time in seconds since
        // the epoch (zfs-list(8)), and the age is taken against the host's own clock.
        StatusRead::SnapshotAge { dataset } => format!(
            "n=$(zfs list -H -p -t snapshot -o creation -s creation -d 1 {d}) || exit 1; n=$(printf '%s\\n' \"$n\" | tail -n 1); \
             [ -n \"$n\" ] || {{ echo {d}' has no snapshot'; exit 1; }}; echo $(( $(date +%s) - n ))",
            d = quote(dataset)
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
        if let Some(Some((_, lines))) = current.map(|i| &mut answers[i])
            && lines.len() < KEPT_LINES
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
        StatusRead::SnapshotAge { .. } | StatusRead::MountAnswers { .. } => {
            number(first).map(Reading::Quantity)
        }
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
