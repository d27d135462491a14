//! A module's `module.yml` as written: its parameters (typed, with defaults), its resources,
//! each a mapping whose first key names the resource kind, and its status checks.

use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

use crate::names::NameKind;
use crate::yaml::SpannedMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleDefinition {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub params: SpannedMap<ParamDefinition>,
    #[serde(default)]
    pub resources: Vec<Spanned<SpannedMap<Spanned<Value>>>>,
    /// Checks of the running system (`f3s status`), each a mapping read by
    /// `crate::status_check`.
    #[serde(default)]
    pub status: Vec<Spanned<SpannedMap<Spanned<Value>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamDefinition {
    #[serde(default, rename = "type")]
    pub param_type: ParamType,
    pub default: Option<Value>,
    #[serde(default)]
    pub description: Option<String>,
}

/// What a parameter holds; names are checked at load time like any name in a resource.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    #[default]
    String,
    Path,
    Dataset,
    Service,
    Package,
    Bool,
    Int,
    List,
    Map,
    Any,
}

impl ParamType {
    fn name_kind(self) -> Option<NameKind> {
        match self {
            Self::Path => Some(NameKind::Path),
            Self::Dataset => Some(NameKind::Dataset),
            Self::Service => Some(NameKind::Service),
            Self::Package => Some(NameKind::Package),
            _ => None,
        }
    }

    /// Checks a value against the type: `Err((expected, found))` for a wrong type, or the
    /// name rule it breaks.
    pub fn check(self, value: &Value) -> Result<(), ParamFault> {
        let expected = match self {
            Self::Any => return Ok(()),
            Self::Bool if value.is_boolean() => return Ok(()),
            Self::Int if value.is_i64() || value.is_u64() => return Ok(()),
            Self::List if value.is_array() => return Ok(()),
            Self::Map if value.is_object() => return Ok(()),
            Self::Bool => "a boolean",
            Self::Int => "an integer",
            Self::List => "a list",
            Self::Map => "a mapping",
            _ => match value {
                Value::String(text) => {
                    return match self.name_kind() {
                        Some(kind) => kind
                            .check(text)
                            .map_err(|reason| ParamFault::Name(kind, reason)),
                        None => Ok(()),
                    };
                }
                // Numbers and booleans are fine where a string is asked for: they render.
                Value::Number(_) | Value::Bool(_) if self == Self::String => return Ok(()),
                _ => "a string",
            },
        };
        Err(ParamFault::Type {
            expected,
            found: describe(value),
        })
    }
}

pub enum ParamFault {
    Type {
        expected: &'static str,
        found: String,
    },
    Name(NameKind, String),
}

pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing (null)".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(_) => "a number".into(),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}
