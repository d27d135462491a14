//! Modules: `modules/<name>/module.yml` plus `templates/`, found along the inventory's module
//! path and read once however many hosts use them.

pub mod attrs;
pub mod definition;
pub mod template;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::compile_error::CompileError;
use crate::compile_error_kind::CompileErrorKind;
use crate::names::NameKind;
use crate::source::{Origin, SourceFile};
use crate::yaml;
use definition::ModuleDefinition;

#[derive(Debug)]
pub struct Module {
    /// Shared with every resource compiled from it.
    pub name: Arc<str>,
    pub dir: PathBuf,
    pub file: Arc<SourceFile>,
    pub definition: ModuleDefinition,
}

impl Module {
    pub fn templates(&self) -> PathBuf {
        self.dir.join("templates")
    }
}

pub struct ModuleLibrary {
    search: Vec<PathBuf>,
    /// `None` for a module that failed to load: its fault is reported once.
    loaded: BTreeMap<String, Option<Arc<Module>>>,
}

impl ModuleLibrary {
    pub fn new(search: Vec<PathBuf>) -> Self {
        Self {
            search,
            loaded: BTreeMap::new(),
        }
    }

    /// The module `name`, used at `used_at`. Faults come once; later asks get `Err(vec![])`.
    pub fn get(&mut self, name: &str, used_at: &Origin) -> Result<Arc<Module>, Vec<CompileError>> {
        if let Some(loaded) = self.loaded.get(name) {
            return loaded.clone().ok_or_else(Vec::new);
        }
        let result = self.load(name, used_at);
        self.loaded
            .insert(name.to_string(), result.as_ref().ok().cloned());
        result
    }

    fn load(&self, name: &str, used_at: &Origin) -> Result<Arc<Module>, Vec<CompileError>> {
        if let Err(reason) = NameKind::Service.check(name) {
            let kind = CompileErrorKind::InvalidName {
                what: NameKind::Service,
                value: name.to_string(),
                reason,
            };
            return Err(vec![CompileError::new(kind, used_at, "not a module name")]);
        }
        let Some(dir) = self
            .search
            .iter()
            .map(|base| base.join(name))
            .find(|dir| is_module(dir))
        else {
            let kind = CompileErrorKind::UnknownModule {
                name: name.to_string(),
                searched: self
                    .search
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect(),
            };
            return Err(vec![CompileError::new(kind, used_at, "no such module")]);
        };
        let file = yaml::read_source(&dir.join("module.yml")).map_err(|e| vec![e])?;
        let definition = yaml::parse(&file).map_err(|e| vec![e])?;
        Ok(Arc::new(Module {
            name: Arc::from(name),
            dir,
            file,
            definition,
        }))
    }
}

fn is_module(dir: &Path) -> bool {
    dir.join("module.yml").is_file()
}
