//! Unified diffs of file content, as the plan shows them.

use std::fmt::Write as _;

use similar::TextDiff;

/// A unified diff of a file's content, and how many of the lines it had the new content
/// drops (one diff computed for both).
pub struct Unified {
    pub text: String,
    pub removed_lines: usize,
}

/// Lines of context around each change.
const CONTEXT: usize = 3;

pub fn unified(path: &str, before: Option<&str>, after: &str) -> Unified {
    let old_header = if before.is_some() {
        path.to_string()
    } else {
        "/dev/null".to_string()
    };
    // The lines both texts share at their start and end, beyond the context, are left out
    // before diffing (a byte comparison): a file edited a line at a time, a thousand times
    // in one plan, is diffed around each edit, not whole each time.
    let (skipped, before, after) = around_the_change(before.unwrap_or(""), after);
    let diff = TextDiff::from_lines(before, after);
    let text = diff
        .unified_diff()
        .context_radius(CONTEXT)
        .header(&old_header, &format!("{path} (planned)"))
        .missing_newline_hint(true)
        .to_string();
    Unified {
        removed_lines: removed_lines(&diff),
        text: if skipped == 0 {
            text
        } else {
            shifted(&text, skipped)
        },
    }
}

/// The part of `before` and `after` from `CONTEXT` lines before their first difference to
/// `CONTEXT` lines after their last, and how many lines come before it.
fn around_the_change<'t>(before: &'t str, after: &'t str) -> (usize, &'t str, &'t str) {
    // Bytes, not characters: the first difference may fall inside a character; the cuts
    // made from it fall after a line break.
    let common_start = shared_start(before.as_bytes(), after.as_bytes());
    // Whole lines only: back to the start of the line the difference is in.
    let line_start = line_break_before(before, common_start);
    let mut start = line_start;
    let mut kept = 0;
    while kept < CONTEXT && start > 0 {
        start = line_break_before(before, start - 1);
        kept += 1;
    }
    let skipped = memchr::memchr_iter(b'\n', &before.as_bytes()[..start]).count();
    let shared = common_start - start;
    let (before, after) = (&before[start..], &after[start..]);
    // The shared end, never reaching into the shared start.
    let common_end = shared_end(before.as_bytes(), after.as_bytes())
        .min(before.len() - shared)
        .min(after.len() - shared);
    // Whole lines only, with the context after the change kept.
    let mut end = before.len() - common_end;
    for _ in 0..=CONTEXT {
        match memchr::memchr(b'\n', &before.as_bytes()[end..]) {
            Some(next) => end += next + 1,
            None => {
                end = before.len();
                break;
            }
        }
    }
    let cut = before.len() - end;
    (
        skipped,
        &before[..before.len() - cut],
        &after[..after.len() - cut],
    )
}

/// Where the line holding byte `at` of `text` starts.
fn line_break_before(text: &str, at: usize) -> usize {
    memchr::memrchr(b'\n', &text.as_bytes()[..at]).map_or(0, |at| at + 1)
}

/// How many bytes `a` and `b` share at their start: compared a block at a time (one `memcmp`
/// each), as a file edited a line at a time is compared with itself once per edit.
fn shared_start(a: &[u8], b: &[u8]) -> usize {
    let most = a.len().min(b.len());
    let mut at = 0;
    while at + BLOCK <= most && a[at..at + BLOCK] == b[at..at + BLOCK] {
        at += BLOCK;
    }
    at + a[at..most]
        .iter()
        .zip(&b[at..most])
        .take_while(|(x, y)| x == y)
        .count()
}

/// How many bytes `a` and `b` share at their end, as `shared_start` counts them.
fn shared_end(a: &[u8], b: &[u8]) -> usize {
    let most = a.len().min(b.len());
    let (a_end, b_end) = (a.len(), b.len());
    let mut shared = 0;
    while shared + BLOCK <= most
        && a[a_end - shared - BLOCK..a_end - shared] == b[b_end - shared - BLOCK..b_end - shared]
    {
        shared += BLOCK;
    }
    shared
        + a[..a_end - shared]
            .iter()
            .rev()
            .zip(b[..b_end - shared].iter().rev())
            .take_while(|(x, y)| x == y)
            .count()
}

/// The bytes `shared_start` and `shared_end` compare at once.
const BLOCK: usize = 64;

/// A unified diff's hunk headers moved down by `lines`.
fn shifted(text: &str, lines: usize) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.split_inclusive('\n') {
        match line.strip_prefix("@@ -") {
            Some(rest) => {
                let mut parts = rest.splitn(2, " +");
                let old = parts.next().unwrap_or_default();
                let new = parts.next().unwrap_or_default();
                let (new, tail) = new.split_once(' ').unwrap_or((new, ""));
                let _ = write!(
                    out,
                    "@@ -{} +{} {tail}",
                    moved(old, lines),
                    moved(new, lines)
                );
            }
            None => out.push_str(line),
        }
    }
    out
}

/// `START,LEN` (or `START`) with `lines` added to its start.
fn moved(range: &str, lines: usize) -> String {
    let (start, len) = range
        .split_once(',')
        .map_or((range, None), |(s, l)| (s, Some(l)));
    let start = start
        .parse::<usize>()
        .map_or_else(|_| start.to_string(), |s| (s + lines).to_string());
    match len {
        Some(len) => format!("{start},{len}"),
        None => start,
    }
}

/// How many of the old lines `diff` drops rather than changes: a run of deleted lines
/// counts whole, a run replaced by fewer lines counts what it is short of. A changed value
/// (one line for one) removes nothing; an extra export line or a stunnel section written
/// by hand and gone from the new content does.
fn removed_lines(diff: &TextDiff<'_, '_, str>) -> usize {
    diff.ops()
        .iter()
        .map(|op| match *op {
            similar::DiffOp::Delete { old_len, .. } => old_len,
            similar::DiffOp::Replace {
                old_len, new_len, ..
            } => old_len.saturating_sub(new_len),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_dropped_are_counted_and_lines_changed_are_not() {
        let removed = |before: &str, after: &str| unified("/f", Some(before), after).removed_lines;
        let exports = "V4: /data/nfs -sec=sys\n/data/nfs -alldirs\n/data/extra -ro\n";
        assert_eq!(
            removed(exports, "V4: /data/nfs -sec=sys\n/data/nfs -alldirs\n"),
            1
        );
        assert_eq!(
            removed(
                exports,
                "V4: /data/nfs -sec=krb5\n/data/nfs -alldirs\n/data/extra -ro\n"
            ),
            0
        );
        assert_eq!(removed(exports, "V4: /\n"), 2, "three lines for one");
        assert_eq!(removed("", "new\n"), 0);
    }

    #[test]
    fn shows_changed_lines_with_context() {
        let diff = unified(
            "/etc/exports",
            Some("V4: /data/nfs\nold\n"),
            "V4: /data/nfs\nnew\n",
        )
        .text;
        assert!(
            diff.contains("--- /etc/exports\n+++ /etc/exports (planned)\n"),
            "{diff}"
        );
        assert!(diff.contains("-old\n+new\n"), "{diff}");
    }

    /// Left out around the change or not, a diff reads the same: hunks at the same lines,
    /// the same context, the same count of lines dropped.
    #[test]
    fn the_diff_around_a_change_is_the_diff_of_the_whole() {
        let whole = |before: &str, after: &str| {
            let diff = TextDiff::from_lines(before, after);
            let text = diff
                .unified_diff()
                .context_radius(CONTEXT)
                .header("/f", "/f (planned)")
                .missing_newline_hint(true)
                .to_string();
            (text, removed_lines(&diff))
        };
        let lines: Vec<String> = (0..40).map(|i| format!("line {i}\n")).collect();
        let text = lines.concat();
        let mut cases: Vec<(String, String)> = vec![
            (text.clone(), format!("{text}appended\n")),
            (text.clone(), text.replace("line 20\n", "changed\n")),
            (text.clone(), text.replace("line 0\n", "")),
            (text.clone(), text.replace("line 39\n", "")),
            (
                text.clone(),
                text.replace("line 5\n", "").replace("line 30\n", "x\n"),
            ),
            (
                text.clone(),
                format!("{}no newline", &text[..text.len() - 1]),
            ),
            ("a\nb\n".into(), "a\nb\nb\n".into()),
            ("b\nb\n".into(), "b\n".into()),
            (String::new(), "new\n".into()),
            ("x".into(), "x\n".into()),
            // The first and last difference inside a character (é and è share a byte).
            (format!("{text}é\n{text}"), format!("{text}è\n{text}")),
        ];
        cases.push((text.clone(), text.clone()));
        for (before, after) in cases {
            let fast = unified("/f", Some(&before), &after);
            let (text, removed) = whole(&before, &after);
            assert_eq!(fast.text, text, "{before:?} -> {after:?}");
            assert_eq!(fast.removed_lines, removed, "{before:?} -> {after:?}");
        }
    }

    #[test]
    fn new_files_diff_against_dev_null() {
        assert!(
            unified("/x", None, "a\n")
                .text
                .starts_with("--- /dev/null\n")
        );
    }
}
