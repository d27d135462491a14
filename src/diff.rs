//! Unified diffs of file content, as the plan shows them.

use similar::TextDiff;

pub fn unified(path: &str, before: Option<&str>, after: &str) -> String {
    let old_header = if before.is_some() {
        path.to_string()
    } else {
        "/dev/null".to_string()
    };
    TextDiff::from_lines(before.unwrap_or(""), after)
        .unified_diff()
        .context_radius(3)
        .header(&old_header, &format!("{path} (planned)"))
        .missing_newline_hint(true)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_changed_lines_with_context() {
        let diff = unified(
            "/etc/exports",
            Some("V4: /data/nfs\nold\n"),
            "V4: /data/nfs\nnew\n",
        );
        assert!(
            diff.contains("--- /etc/exports\n+++ /etc/exports (planned)\n"),
            "{diff}"
        );
        assert!(diff.contains("-old\n+new\n"), "{diff}");
    }

    #[test]
    fn new_files_diff_against_dev_null() {
        assert!(unified("/x", None, "a\n").starts_with("--- /dev/null\n"));
    }
}
