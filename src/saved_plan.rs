//! A plan read back from the file `f3s plan -o` saved, for `f3s show`. What it holds of a
//! value is what the plan showed of it (a secret's mask, not the secret), so a saved plan is
//! only ever shown: `apply PLANFILE` plans again and compares, it never runs what a file says.

use std::path::Path;

use miette::Diagnostic;
use thiserror::Error;

use crate::plan::{FORMAT_VERSION, Plan};

#[derive(Debug, Error, Diagnostic)]
pub enum SavedPlanError {
    #[error("cannot read the saved plan {path}: {message}")]
    #[diagnostic(help("name a file written by `f3s plan -o PLANFILE`"))]
    Unreadable { path: String, message: String },
    #[error("{path} is not a plan f3s saved: {message}")]
    #[diagnostic(help(
        "name a file written by `f3s plan -o PLANFILE` (its format: docs/plan-json.md); a file edited by hand is not shown"
    ))]
    NotAPlan { path: String, message: String },
    #[error("{path} is a plan of format version {found}; this f3s reads version {FORMAT_VERSION}")]
    #[diagnostic(help("show it with the f3s that saved it, or plan again with this one"))]
    Version { path: String, found: String },
}

/// A saved plan, to show.
#[derive(Debug)]
pub struct SavedPlan(Plan);

impl SavedPlan {
    /// Reads the plan saved at `path`: its format version first, then the whole of it.
    pub fn read(path: &Path) -> Result<Self, SavedPlanError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SavedPlanError::Unreadable {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        let not_a_plan = |e: serde_json::Error| SavedPlanError::NotAPlan {
            path: shown.clone(),
            message: e.to_string(),
        };
        let value: serde_json::Value = serde_json::from_str(&text).map_err(not_a_plan)?;
        match &value["format_version"] {
            serde_json::Value::Number(n) if n.as_u64() == Some(u64::from(FORMAT_VERSION)) => {}
            serde_json::Value::Null => {
                return Err(SavedPlanError::NotAPlan {
                    path: shown,
                    message: "it has no format_version".into(),
                });
            }
            other => {
                return Err(SavedPlanError::Version {
                    path: shown,
                    found: other.to_string(),
                });
            }
        }
        serde_json::from_value(value).map(Self).map_err(not_a_plan)
    }

    /// The plan as it was saved, to render.
    pub fn plan(&self) -> &Plan {
        &self.0
    }
}
