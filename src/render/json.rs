//! The plan as JSON: the `Plan` structure itself, versioned by `format_version` (see
//! docs/plan-json.md). Sensitive values serialize as digests by construction.

use crate::plan::Plan;

pub fn render(plan: &Plan) -> String {
    let mut text = serde_json::to_string_pretty(plan).expect("a plan always serializes");
    text.push('\n');
    text
}
