//! The plan as JSON: the `Plan` structure itself, versioned by `format_version` (see
//! docs/plan-json.md). Sensitive values serialize as digests by construction; a host's text
//! carries its control and bidi characters as JSON escapes (`visible::json_pretty`), so the
//! plan can be printed to a terminal or saved and read back as the same text.

use crate::plan::Plan;

pub fn render(plan: &Plan) -> String {
    let mut text = crate::visible::json_pretty(plan).expect("a plan always serializes");
    text.push('\n');
    text
}
