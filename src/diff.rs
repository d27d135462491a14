//! Unified diffs of file content, as the plan shows them.

use similar::TextDiff;

/// A unified diff of a file's content, and how many of the lines it had the new content
/// drops (one diff computed for both).
pub struct Unified {
    pub text: String,
    pub removed_lines: usize,
}

pub fn unified(path: &str, before: Option<&str>, after: &str) -> Unified {
    let old_header = if before.is_some() {
        path.to_string()
    } else {
        "/dev/null".to_string()
    };
    let diff = TextDiff::from_lines(before.unwrap_or(""), after);
    Unified {
        removed_lines: removed_lines(&diff),
        text: diff
            .unified_diff()
            .context_radius(3)
            .header(&old_header, &format!("{path} (planned)"))
            .missing_newline_hint(true)
            .to_string(),
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

    #[test]
    fn new_files_diff_against_dev_null() {
        assert!(
            unified("/x", None, "a\n")
                .text
                .starts_with("--- /dev/null\n")
        );
    }
}
