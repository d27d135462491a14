//! Compiling: every module a host gets, with its parameters bound (given < host var <
//! default), rendered for that host into resources. All faults are collected, not just the first.

use std::path::Path;
use std::sync::Arc;

use handlebars::Context;
use serde_json::{Map, Value, json};

use crate::compile_error::{CompileError, CompileErrors};
use crate::compile_error_kind::CompileErrorKind;
use crate::inventory::Inventory;
use crate::inventory::host::{Host, ModuleUse};
use crate::inventory::secrets::Secrets;
use crate::module::attrs::{Attrs, RenderScope};
use crate::module::definition::{ParamFault, describe};
use crate::module::template::Renderer;
use crate::module::{Module, ModuleLibrary};
use crate::resource::{Address, COMMON_ATTRIBUTES, KINDS, Reference, Resource, Spec};
use crate::source::Origin;
use crate::status_check::{READS, STATUS_ATTRIBUTES, StatusCheck};
use crate::yaml::origin_of;

type Declaration = serde_saphyr::Spanned<crate::yaml::SpannedMap<serde_saphyr::Spanned<Value>>>;

/// All resources of all hosts, in declaration order (host, module, resource). Hosts compile
/// on as many threads as the machine has cores, each a run of consecutive hosts; their
/// resources and faults are put together in host order, as one thread would have made them.
pub fn compile(inventory: &Inventory) -> Result<Vec<Resource>, CompileErrors> {
    compile_with_status(inventory).map(|(resources, _)| resources)
}

/// As `compile`, with the modules' status checks of every host (`f3s status`), in the same
/// order. Both are always compiled, so `check` and `plan` report a broken status entry too.
pub fn compile_with_status(
    inventory: &Inventory,
) -> Result<(Vec<Resource>, Vec<StatusCheck>), CompileErrors> {
    let modules = load_modules(inventory);
    let renderer = Renderer::default();
    let hosts: Map<String, Value> = inventory
        .hosts
        .iter()
        .map(|host| (host.name.clone(), host.template_view()))
        .collect();
    let context = Context::from(json!({ "hosts": hosts }));
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(inventory.hosts.len())
        .max(1);
    let per_thread = inventory.hosts.len().div_ceil(threads).max(1);
    let host_names: Vec<&str> = inventory.hosts.iter().map(|h| h.name.as_str()).collect();
    // A context for each thread, the last one the original: a copy holds every host's vars.
    let mut contexts: Vec<Context> = (1..threads).map(|_| context.clone()).collect();
    contexts.push(context);
    type Part = (Vec<Resource>, Vec<StatusCheck>, Vec<CompileError>);
    let parts: Vec<Part> = std::thread::scope(|scope| {
        let workers: Vec<_> = inventory
            .hosts
            .chunks(per_thread)
            .zip(modules.chunks(per_thread))
            .zip(contexts)
            .map(|((hosts, modules), context)| {
                let mut compiler = Compiler {
                    renderer: &renderer,
                    secrets: &inventory.secrets,
                    context,
                    resources: Vec::new(),
                    status: Vec::new(),
                    host_names: &host_names,
                    errors: Vec::new(),
                };
                scope.spawn(move || {
                    compiler.hosts(hosts, modules);
                    (compiler.resources, compiler.status, compiler.errors)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut resources = Vec::with_capacity(parts.iter().map(|(r, _, _)| r.len()).sum());
    let mut status = Vec::new();
    let mut errors = Vec::new();
    for (part, checks, faults) in parts {
        resources.extend(part);
        status.extend(checks);
        errors.extend(faults);
    }
    errors.extend(crate::status_check::resolve_references(&mut status));
    if errors.is_empty() {
        Ok((resources, status))
    } else {
        Err(CompileErrors(once_each(errors)))
    }
}

/// Each host's modules, loaded (or their faults, reported where first used) in order.
type HostModules = Vec<Result<Arc<Module>, Vec<CompileError>>>;

fn load_modules(inventory: &Inventory) -> Vec<HostModules> {
    let mut library = ModuleLibrary::new(inventory.module_path.clone());
    inventory
        .hosts
        .iter()
        .map(|host| {
            host.modules
                .iter()
                .map(|module_use| library.get(&module_use.name, &module_use.origin))
                .collect()
        })
        .collect()
}

struct Compiler<'a> {
    renderer: &'a Renderer,
    secrets: &'a Secrets,
    /// The one rendering context: `hosts` for the whole run; `host`, the module's parameters
    /// and `item` set in place for each module use and item, so nothing large is copied.
    context: Context,
    resources: Vec<Resource>,
    status: Vec<StatusCheck>,
    /// Every host of the inventory: where a status check may read (`on:`).
    host_names: &'a [&'a str],
    errors: Vec<CompileError>,
}

impl<'a> Compiler<'a> {
    fn hosts(&mut self, hosts: &[Host], modules: &[HostModules]) {
        for (host, modules) in hosts.iter().zip(modules) {
            for (module_use, module) in host.modules.iter().zip(modules) {
                match module {
                    Ok(module) => self.module(host, module_use, module),
                    Err(errors) => self.errors.extend(errors.iter().cloned()),
                }
            }
        }
    }

    fn module(&mut self, host: &Host, module_use: &ModuleUse, module: &Module) {
        let mut context = std::mem::replace(&mut self.context, Context::null());
        set(&mut context, "host", Some(host.template_view()));
        if let Some(params) = self.bind(host, module_use, module, &context) {
            // `host`, `hosts` and `item` are the engine's: a parameter of that name is shadowed.
            let params: Vec<(String, Value)> = params
                .into_iter()
                .filter(|(name, _)| !RESERVED.contains(&name.as_str()))
                .collect();
            for (name, value) in &params {
                set(&mut context, name, Some(value.clone()));
            }
            let templates = module.templates();
            for declaration in &module.definition.resources {
                self.each_item(host, module, &templates, &mut context, declaration, false);
            }
            for declaration in &module.definition.status {
                self.each_item(host, module, &templates, &mut context, declaration, true);
            }
            for (name, _) in &params {
                set(&mut context, name, None);
            }
        }
        self.context = context;
    }

    /// Parameter values for this host, checked and rendered; `None` after faults.
    fn bind(
        &mut self,
        host: &Host,
        module_use: &ModuleUse,
        module: &Module,
        base: &Context,
    ) -> Option<Map<String, Value>> {
        let declared = &module.definition.params;
        let known: Vec<String> = declared
            .iter()
            .map(|(name, _)| name.value.clone())
            .collect();
        let before = self.errors.len();
        for given in &module_use.params {
            if declared.get(&given.name).is_none() {
                let kind = CompileErrorKind::UnknownParameter {
                    module: module.name.to_string(),
                    name: given.name.clone(),
                    known: known.clone(),
                };
                self.errors
                    .push(CompileError::new(kind, &given.key, "unknown parameter"));
            }
        }
        let mut bound = Map::new();
        for (name, param) in declared.iter() {
            // What the inventory gives is a value, taken as written; only a module's own
            // default is a template (of `host` and `hosts`).
            let given = module_use
                .params
                .iter()
                .find(|given| given.name == name.value)
                .map(|given| (given.value.clone(), given.at.clone(), false));
            let from_var = || {
                let value = host.vars.get(&name.value)?;
                Some((
                    Value::clone(value),
                    host.var_origin(&name.value)?.clone(),
                    false,
                ))
            };
            let default = || Some((param.default.clone()?, origin_of(&module.file, name), true));
            let Some((value, origin, template)) = given.or_else(from_var).or_else(default) else {
                let kind = CompileErrorKind::MissingParameter {
                    module: module.name.to_string(),
                    name: name.value.clone(),
                };
                let label = format!(
                    "`{}` on host `{}` lacks `{}`",
                    module.name, host.name, name.value
                );
                self.errors
                    .push(CompileError::new(kind, &module_use.origin, label));
                continue;
            };
            let value = match template {
                true => match self.render_value(&value, &origin, base) {
                    Some(value) => value,
                    None => continue,
                },
                false => value,
            };
            match param.param_type.check(&value) {
                Ok(()) => {
                    bound.insert(name.value.clone(), value);
                }
                Err(fault) => self.errors.push(param_fault(fault, &value, &origin)),
            }
        }
        (self.errors.len() == before).then_some(bound)
    }

    /// Renders every string inside a default value (they may use `host` and `hosts`).
    fn render_value(&mut self, value: &Value, origin: &Origin, context: &Context) -> Option<Value> {
        Some(match value {
            Value::String(text) => match self.renderer.inline(text, origin, context, false) {
                Ok(rendered) => Value::String(rendered),
                Err(error) => {
                    self.errors.push(error);
                    return None;
                }
            },
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.render_value(item, origin, context))
                    .collect::<Option<_>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(key, item)| {
                        Some((key.clone(), self.render_value(item, origin, context)?))
                    })
                    .collect::<Option<_>>()?,
            ),
            other => other.clone(),
        })
    }

    /// A declaration becomes one resource (or, with `status`, one status check), or one per
    /// item of its `for_each` list (a list parameter's name, or a list written in place), each
    /// rendered with `item` bound in the module's context (set in place, so an item costs no
    /// copy of the context).
    fn each_item(
        &mut self,
        host: &Host,
        module: &Module,
        templates: &Path,
        context: &mut Context,
        declaration: &Declaration,
        status: bool,
    ) {
        let once = match status {
            true => Self::status_once,
            false => Self::resource_once,
        };
        let Some(for_each) = declaration.value.get("for_each") else {
            let scope = self.scope(module, templates, context);
            return once(self, host, module, &scope, declaration);
        };
        let items = match &for_each.value {
            Value::String(name) => context.data().get(name.as_str()).cloned(),
            literal => Some(literal.clone()),
        };
        let Some(Value::Array(items)) = items else {
            let kind = CompileErrorKind::WrongType {
                expected: "a list, or the name of a list parameter".into(),
                found: describe(&for_each.value),
            };
            self.errors.push(CompileError::new(
                kind,
                &origin_of(&module.file, for_each),
                "expected a list",
            ));
            return;
        };
        for item in items {
            set(context, "item", Some(item));
            let scope = self.scope(module, templates, context);
            once(self, host, module, &scope, declaration);
        }
        set(context, "item", None);
    }

    fn scope<'s>(
        &self,
        module: &'s Module,
        templates: &'s Path,
        context: &'s Context,
    ) -> RenderScope<'s>
    where
        'a: 's,
    {
        RenderScope {
            file: &module.file,
            templates,
            renderer: self.renderer,
            context,
            secrets: self.secrets,
        }
    }

    fn resource_once(
        &mut self,
        host: &Host,
        module: &Module,
        scope: &RenderScope,
        declaration: &Declaration,
    ) {
        let entries = &declaration.value;
        let kinds: Vec<_> = entries
            .iter()
            .filter_map(|(key, _)| {
                KINDS
                    .iter()
                    .find(|(kind, _)| *kind == key.value)
                    .map(|kind| (key, *kind))
            })
            .collect();
        let known_kinds = || {
            KINDS
                .iter()
                .map(|(kind, _)| kind.to_string())
                .collect::<Vec<_>>()
        };
        let (key, (kind, attributes)) = match kinds.as_slice() {
            [one] => *one,
            [] => {
                let kind = CompileErrorKind::NoResourceKind {
                    known: known_kinds(),
                };
                self.errors.push(CompileError::new(
                    kind,
                    &origin_of(&module.file, declaration),
                    "this resource",
                ));
                return;
            }
            [first, second, ..] => {
                let kind = CompileErrorKind::TwoResourceKinds {
                    first: first.0.value.clone(),
                    second: second.0.value.clone(),
                    known: known_kinds(),
                };
                self.errors.push(CompileError::new(
                    kind,
                    &origin_of(&module.file, second.0),
                    "second kind",
                ));
                return;
            }
        };
        let origin = origin_of(&module.file, key);
        let mut attrs = Attrs::new(kind, entries, scope, origin.clone());
        attrs.consumed("for_each");
        let parsed = Spec::parse(kind, &mut attrs, &host.name);
        let requires = self.references(&mut attrs, "requires", host);
        let notify = self.references(&mut attrs, "notify", host);
        let needs_secret = attrs.needs_secret.clone();
        let known: Vec<&str> = attributes
            .iter()
            .chain(COMMON_ATTRIBUTES)
            .copied()
            .collect();
        let faults = attrs.finish(&known);
        let failed = !faults.is_empty();
        self.errors.extend(faults);
        let Some((name, spec)) = parsed else {
            return;
        };
        if failed {
            return;
        }
        if !spec.supported_on(host.os) {
            let kind = CompileErrorKind::WrongType {
                expected: "a kind this host's OS has".into(),
                found: format!("`{kind}` on {} host `{}`", host.os, host.name),
            };
            self.errors
                .push(CompileError::new(kind, &origin, "not on this OS"));
            return;
        }
        self.resources.push(Resource::new(
            Address::new(&host.name, kind, &name),
            spec,
            module.name.clone(),
            origin,
            requires,
            notify,
            needs_secret,
        ));
    }

    /// One `status:` entry of a module, for `host`.
    fn status_once(
        &mut self,
        host: &Host,
        module: &Module,
        scope: &RenderScope,
        declaration: &Declaration,
    ) {
        let origin = origin_of(&module.file, declaration);
        let mut attrs = Attrs::new("status", &declaration.value, scope, origin);
        attrs.consumed("for_each");
        let parsed = StatusCheck::parse(&mut attrs, &host.name);
        let known: Vec<&str> = STATUS_ATTRIBUTES
            .iter()
            .chain(
                READS
                    .iter()
                    .flat_map(|(_, attributes, _)| attributes.iter()),
            )
            .copied()
            .collect();
        let faults = attrs.finish(&known);
        let failed = !faults.is_empty();
        self.errors.extend(faults);
        let Some(mut check) = parsed else {
            return;
        };
        if failed {
            return;
        }
        if !self.host_names.contains(&check.host.as_str()) {
            let kind = CompileErrorKind::WrongType {
                expected: "a host of the inventory".into(),
                found: format!("`{}`", check.host),
            };
            self.errors.push(CompileError::new(
                kind,
                &check.origin,
                "reads on no known host",
            ));
            return;
        }
        check.module = module.name.clone();
        self.status.push(check);
    }

    fn references(&mut self, attrs: &mut Attrs, name: &str, host: &Host) -> Vec<Reference> {
        attrs
            .list(name)
            .into_iter()
            .filter_map(
                |reference| match Address::parse(&reference.value, Some(&host.name)) {
                    Some(address) => Some(Reference {
                        address,
                        origin: reference.origin,
                    }),
                    None => {
                        let kind = CompileErrorKind::UnknownResource {
                            reference: reference.value.clone(),
                        };
                        self.errors.push(CompileError::new(
                            kind,
                            &reference.origin,
                            "not `kind:name`",
                        ));
                        None
                    }
                },
            )
            .collect()
    }
}

/// Names the engine binds in every context.
const RESERVED: &[&str] = &["host", "hosts", "item"];

/// Binds (or with `None`, unbinds) a top-level name of the context.
fn set(context: &mut Context, name: &str, value: Option<Value>) {
    if let Some(map) = context.data_mut().as_object_mut() {
        match value {
            Some(value) => {
                map.insert(name.to_string(), value);
            }
            None => {
                map.remove(name);
            }
        }
    }
}

fn param_fault(fault: ParamFault, value: &Value, origin: &Origin) -> CompileError {
    match fault {
        ParamFault::Type { expected, found } => CompileError::new(
            CompileErrorKind::WrongType {
                expected: expected.into(),
                found,
            },
            origin,
            format!("expected {expected}"),
        ),
        ParamFault::Name(what, reason) => CompileError::new(
            CompileErrorKind::InvalidName {
                what,
                value: value.as_str().unwrap_or_default().to_string(),
                reason,
            },
            origin,
            format!("not a valid {what}"),
        ),
    }
}

/// One diagnostic per fault: a typo in a module's attribute is compiled once for each host
/// that uses the module, and is the same fault at the same place each time.
fn once_each(errors: Vec<CompileError>) -> Vec<CompileError> {
    let mut seen = std::collections::HashSet::new();
    errors
        .into_iter()
        .filter(|error| {
            let place = error.origin.as_ref().map(|origin| {
                (
                    origin.file.name.clone(),
                    origin.span().offset(),
                    origin.span().len(),
                )
            });
            seen.insert((error.kind.to_string(), error.label.clone(), place))
        })
        .collect()
}
