//! The attributes of one resource in a module.yml, read by its kind: each value rendered for
//! the host, typed, checked, and faults collected with their place. Attributes nobody read are
//! reported as unknown, so a typo never silently does nothing.

use std::ops::RangeInclusive;
use std::path::Path;
use std::sync::Arc;

use handlebars::Context;
use serde_json::Value;
use serde_saphyr::Spanned;

use crate::check_command::CheckCommand;
use crate::compile_error::CompileError;
use crate::compile_error_kind::CompileErrorKind;
use crate::inventory::secrets::Secrets;
use crate::module::definition::describe;
use crate::module::template::Renderer;
use crate::names::NameKind;
use crate::sensitive::Text;
use crate::source::{Origin, SourceFile};
use crate::values::ValueKind;
use crate::yaml::{SpannedMap, origin_of};

/// A rendered attribute value and where it was written.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub value: String,
    pub sensitive: bool,
    pub origin: Origin,
}

impl Rendered {
    pub fn text(&self) -> Text {
        Text::new(self.value.clone(), self.sensitive)
    }

    /// The value as a fault message may quote it: never a sensitive one.
    pub fn quoted(&self) -> String {
        match self.sensitive {
            true => "(sensitive)".into(),
            false => format!("`{}`", self.value),
        }
    }
}

/// What an attribute reader needs from the module and host it renders for.
pub struct RenderScope<'a> {
    pub file: &'a Arc<SourceFile>,
    pub templates: &'a Path,
    pub renderer: &'a Renderer,
    pub context: &'a Context,
    /// Puts secrets back into what was rendered with their tokens.
    pub secrets: &'a Secrets,
}

pub struct Attrs<'a> {
    pub kind: &'static str,
    entries: &'a SpannedMap<Spanned<Value>>,
    scope: &'a RenderScope<'a>,
    /// The resource's own place (its kind key), for faults about missing attributes.
    pub origin: Origin,
    used: Vec<String>,
    pub errors: Vec<CompileError>,
    /// A secret some value needs that has no value in this run.
    pub needs_secret: Option<String>,
}

impl<'a> Attrs<'a> {
    pub fn new(
        kind: &'static str,
        entries: &'a SpannedMap<Spanned<Value>>,
        scope: &'a RenderScope<'a>,
        origin: Origin,
    ) -> Self {
        Self {
            kind,
            entries,
            scope,
            origin,
            used: Vec::new(),
            errors: Vec::new(),
            needs_secret: None,
        }
    }

    fn take(&mut self, name: &str) -> Option<&'a Spanned<Value>> {
        self.used.push(name.to_string());
        self.entries.get(name)
    }

    /// Marks an attribute as read elsewhere (by the compiler), so it is not reported unknown.
    pub fn consumed(&mut self, name: &str) {
        self.used.push(name.to_string());
    }

    pub fn has(&self, name: &str) -> bool {
        self.entries.get(name).is_some()
    }

    fn origin_of(&self, value: &Spanned<Value>) -> Origin {
        origin_of(self.scope.file, value)
    }

    fn wrong_type(&mut self, value: &Spanned<Value>, expected: &str) {
        let kind = CompileErrorKind::WrongType {
            expected: expected.into(),
            found: describe(&value.value),
        };
        let origin = self.origin_of(value);
        self.errors.push(CompileError::new(
            kind,
            &origin,
            format!("expected {expected}"),
        ));
    }

    /// Renders the value of attribute `attribute`.
    fn render(&mut self, attribute: &str, text: &str, origin: Origin) -> Option<Rendered> {
        let shell_command = is_shell_command(self.kind, attribute);
        match self
            .scope
            .renderer
            .inline(text, &origin, self.scope.context, shell_command)
        {
            Ok(rendered) => self.revealed(attribute, &rendered, origin),
            Err(error) => {
                self.errors.push(error);
                None
            }
        }
    }

    /// A rendered text with its secrets put back (then it is sensitive). Only an attribute
    /// whose value f3s never shows may hold a secret: anything else (a name, a path, a mode, a
    /// property) is printed in plans, graphs and logs, so a secret in it is a fault here.
    /// In a shell command, each secret goes back inside the quotes f3s put around its token.
    fn revealed(&mut self, attribute: &str, rendered: &str, origin: Origin) -> Option<Rendered> {
        let revealed = match is_shell_command(self.kind, attribute) {
            true => self.scope.secrets.reveal_quoted(rendered),
            false => self.scope.secrets.reveal(rendered),
        };
        if revealed.sensitive && !may_hold_secret(self.kind, attribute) {
            let kind = CompileErrorKind::SecretInAttribute {
                kind: self.kind.into(),
                attribute: attribute.into(),
            };
            self.errors
                .push(CompileError::new(kind, &origin, "rendered from a secret"));
            return None;
        }
        if let Some(secret) = revealed.missing {
            self.needs_secret.get_or_insert(secret);
        }
        Some(Rendered {
            value: revealed.value,
            sensitive: revealed.sensitive,
            origin,
        })
    }

    /// A scalar attribute, rendered. Numbers and booleans read as their text.
    pub fn string(&mut self, name: &str) -> Option<Rendered> {
        let value = self.take(name)?;
        let origin = self.origin_of(value);
        match &value.value {
            Value::String(text) => self.render(name, text, origin),
            Value::Number(number) => self.render(name, &number.to_string(), origin),
            Value::Bool(flag) => self.render(name, &flag.to_string(), origin),
            _ => {
                self.wrong_type(value, "a string");
                None
            }
        }
    }

    /// A whole number within `range`, `default` when not given (or after a fault).
    pub fn number(&mut self, name: &str, default: u32, range: RangeInclusive<u32>) -> u32 {
        let Some(Rendered {
            value,
            origin,
            sensitive,
        }) = self.string(name)
        else {
            return default;
        };
        match value.parse::<u32>() {
            Ok(n) if range.contains(&n) => n,
            _ => {
                let kind = CompileErrorKind::WrongType {
                    expected: format!("a number from {} to {}", range.start(), range.end()),
                    found: Rendered {
                        value,
                        sensitive,
                        origin: origin.clone(),
                    }
                    .quoted(),
                };
                self.errors
                    .push(CompileError::new(kind, &origin, "out of range"));
                default
            }
        }
    }

    pub fn required_string(&mut self, name: &str) -> Option<Rendered> {
        if !self.has(name) {
            self.missing(name);
            return None;
        }
        self.string(name)
    }

    pub fn missing(&mut self, name: &str) {
        let kind = CompileErrorKind::MissingAttribute {
            kind: self.kind.into(),
            name: name.into(),
        };
        self.errors
            .push(CompileError::new(kind, &self.origin, "in this resource"));
    }

    /// A name that reaches a host's commands: rendered, then checked against its rule.
    pub fn name(&mut self, name: &str, rule: NameKind) -> Option<String> {
        let rendered = self.string(name)?;
        self.checked(rendered, rule)
    }

    pub fn required_name(&mut self, name: &str, rule: NameKind) -> Option<String> {
        let rendered = self.required_string(name)?;
        self.checked(rendered, rule)
    }

    pub fn checked(&mut self, rendered: Rendered, rule: NameKind) -> Option<String> {
        match rule.check(&rendered.value) {
            Ok(()) => Some(rendered.value),
            Err(reason) => {
                let label = format!("renders to `{}`", rendered.value);
                let kind = CompileErrorKind::InvalidName {
                    what: rule,
                    value: rendered.value,
                    reason,
                };
                self.errors
                    .push(CompileError::new(kind, &rendered.origin, label));
                None
            }
        }
    }

    /// A file mode; it must be a quoted string, since YAML reads 0644 as a number.
    pub fn mode(&mut self, name: &str) -> Option<String> {
        let value = self.entries.get(name)?;
        if !value.value.is_string() {
            self.used.push(name.into());
            self.wrong_type(value, "a quoted octal string such as \"0644\"");
            return None;
        }
        self.name(name, NameKind::Mode)
    }

    pub fn bool(&mut self, name: &str) -> Option<bool> {
        let value = self.take(name)?;
        match value.value {
            Value::Bool(flag) => Some(flag),
            _ => {
                self.wrong_type(value, "true or false");
                None
            }
        }
    }

    /// Whether `state` asks for the resource to be there (`present`, the default) rather
    /// than gone (`absent`).
    pub fn present(&mut self) -> bool {
        self.choice("state", &["present", "absent"]) != Some("absent")
    }

    /// Reports attributes given that say what a resource holds, where `state: absent` says it
    /// is gone: one of them is surely a mistake.
    pub fn refuse_with_absent(&mut self, kind: &str, given: &[&str]) {
        let given: Vec<String> = given
            .iter()
            .filter(|name| self.has(name))
            .map(|name| name.to_string())
            .collect();
        if given.is_empty() {
            return;
        }
        let kind = CompileErrorKind::ConflictingAttributes {
            kind: kind.into(),
            names: [vec!["state: absent".to_string()], given].concat(),
        };
        let origin = self.origin.clone();
        self.errors
            .push(CompileError::new(kind, &origin, "in this resource"));
    }

    /// One of a fixed set of words.
    pub fn choice(&mut self, name: &str, choices: &[&'static str]) -> Option<&'static str> {
        let rendered = self.string(name)?;
        let found = choices
            .iter()
            .find(|choice| **choice == rendered.value)
            .copied();
        if found.is_none() {
            let kind = CompileErrorKind::WrongType {
                expected: format!("one of {}", choices.join(", ")),
                found: rendered.quoted(),
            };
            self.errors.push(CompileError::new(
                kind,
                &rendered.origin,
                "not a choice here",
            ));
        }
        found
    }

    /// A list of strings (a single string counts as a list of one), each rendered. Written
    /// as `"{{name}}"` where `name` is a list parameter, it is that list.
    pub fn list(&mut self, name: &str) -> Vec<Rendered> {
        let Some(value) = self.take(name) else {
            return Vec::new();
        };
        let origin = self.origin_of(value);
        match &value.value {
            Value::String(text) => match self.list_parameter(text) {
                // The items are values: taken as they are, never rendered again.
                Some(items) => items
                    .into_iter()
                    .filter_map(|item| self.revealed(name, &item, origin.clone()))
                    .collect(),
                None => self.render(name, text, origin).into_iter().collect(),
            },
            Value::Array(items) if items.iter().all(Value::is_string) => items
                .iter()
                .filter_map(|item| {
                    self.render(name, item.as_str().unwrap_or_default(), origin.clone())
                })
                .collect(),
            _ => {
                self.wrong_type(value, "a list of strings");
                Vec::new()
            }
        }
    }

    /// The items of the list parameter `text` names, if it is exactly `{{name}}`.
    fn list_parameter(&self, text: &str) -> Option<Vec<String>> {
        let name = text.trim().strip_prefix("{{")?.strip_suffix("}}")?.trim();
        let items = self.scope.context.data().get(name)?.as_array()?;
        items
            .iter()
            .map(|item| match item {
                Value::String(text) => Some(text.clone()),
                Value::Number(number) => Some(number.to_string()),
                _ => None,
            })
            .collect()
    }

    /// A mapping of strings (such as `source: { host: f0, path: ... }`), each rendered.
    pub fn string_map(&mut self, name: &str) -> Option<Vec<(String, Rendered)>> {
        let value = self.take(name)?;
        let origin = self.origin_of(value);
        match &value.value {
            Value::Object(map) if map.values().all(Value::is_string) => Some(
                map.iter()
                    .filter_map(|(key, item)| {
                        let rendered =
                            self.render(name, item.as_str().unwrap_or_default(), origin.clone())?;
                        Some((key.clone(), rendered))
                    })
                    .collect(),
            ),
            _ => {
                self.wrong_type(value, "a mapping of strings");
                None
            }
        }
    }

    /// Checks a rendered attribute against `kind`'s rule; a fault goes to `errors` and the
    /// value is dropped.
    pub fn checked_value(&mut self, rendered: Rendered, kind: ValueKind) -> Option<String> {
        match CompileError::for_value(kind, &rendered.value, rendered.sensitive, &rendered.origin) {
            None => Some(rendered.value),
            Some(error) => {
                self.errors.push(error);
                None
            }
        }
    }

    /// A required attribute, checked against `kind`'s rule (as `required_name` for names).
    pub fn required_value(&mut self, name: &str, kind: ValueKind) -> Option<String> {
        let rendered = self.required_string(name)?;
        self.checked_value(rendered, kind)
    }

    /// The resource's `validate` attribute, if it has one; a fault goes to `errors`.
    pub fn check_command(&mut self) -> Option<CheckCommand> {
        let rendered = self.string("validate")?;
        self.checked_value(rendered, ValueKind::CheckCommand)
            .map(CheckCommand::new)
    }

    /// A template file of the module, rendered for the host.
    pub fn template(&mut self, name: &str) -> Option<Rendered> {
        let file_name = self.string(name)?;
        self.checked_value(file_name.clone(), ValueKind::Template)?;
        let path = self.scope.templates.join(&file_name.value);
        match self
            .scope
            .renderer
            .file(&path, self.scope.context, &file_name.origin)
        {
            Ok(rendered) => self.revealed("content", &rendered, file_name.origin),
            Err(error) => {
                self.errors.push(error);
                None
            }
        }
    }

    /// Reports attributes no reader asked for; `known` lists what the kind accepts.
    pub fn finish(mut self, known: &[&str]) -> Vec<CompileError> {
        for (key, _) in self.entries.iter() {
            if !self.used.contains(&key.value) {
                let kind = CompileErrorKind::UnknownAttribute {
                    kind: self.kind.into(),
                    name: key.value.clone(),
                    known: known.iter().map(|k| k.to_string()).collect(),
                };
                self.errors.push(CompileError::new(
                    kind,
                    &origin_of(self.scope.file, key),
                    "unknown",
                ));
            }
        }
        self.errors
    }
}

/// Attributes that are shell command lines run on the host (`crate::check_command`, a
/// crontab's command, which cron runs with `sh -c`): every value rendered into one is quoted
/// for the shell, and must stand where the shell reads that quoting as such (DESIGN.md, rules
/// 5 and 9).
fn is_shell_command(kind: &str, attribute: &str) -> bool {
    matches!(
        (kind, attribute),
        ("file" | "block" | "line", "validate") | ("cron", "command") | ("status", "command")
    )
}

/// The attributes whose values f3s writes but never shows (a plan shows them masked): the
/// only places a secret may go. A template's rendered text counts as `content`.
fn may_hold_secret(kind: &str, attribute: &str) -> bool {
    matches!(
        (kind, attribute),
        ("file" | "block" | "systemd", "content")
            | ("sysrc", "value")
            | ("carp", "password")
            | ("line", "text")
            | ("cron", "command")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module::definition::ModuleDefinition;
    use serde_json::json;

    /// A secret in a cron command goes back inside the quotes f3s put around its token: the
    /// shell reads it as one word, exactly, whatever it holds.
    #[test]
    fn a_secret_in_a_shell_command_stays_one_quoted_word() {
        let secret = "it's $(touch ran) `touch ran`";
        // SAFETY: the variable name is this test's own.
        unsafe { std::env::set_var("F3S_TEST_SECRET_IN_COMMAND", secret) };
        let file = SourceFile::new(
            "module.yml",
            "resources:\n  - cron: c\n    command: \"printf '[%s]' {{token}}\"\n",
        );
        let mut secrets = Secrets::default();
        let origin = Origin::whole(&file);
        let env = Some("F3S_TEST_SECRET_IN_COMMAND".to_string());
        secrets.declare("token", env, None, Path::new("."), origin.clone());
        let token = secrets.resolve("token", &origin).unwrap();
        let definition: ModuleDefinition = crate::yaml::parse(&file).unwrap();
        let context = Context::from(json!({ "token": token }));
        let renderer = Renderer::default();
        let scope = RenderScope {
            file: &file,
            templates: Path::new("templates"),
            renderer: &renderer,
            context: &context,
            secrets: &secrets,
        };
        let mut attrs = Attrs::new("cron", &definition.resources[0].value, &scope, origin);
        let command = attrs.string("command").unwrap();
        assert!(attrs.errors.is_empty(), "{:?}", attrs.errors);
        assert!(command.sensitive);
        let dir = tempfile::tempdir().unwrap();
        let output = std::process::Command::new("sh")
            .args(["-c", &command.value])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            format!("[{secret}]")
        );
        assert!(!dir.path().join("ran").exists());
    }
}
