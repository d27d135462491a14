//! Why a plan could not be made: a resource whose change cannot be decided from what was
//! observed. (A host that cannot be observed is left out of the plan, not an error of it.)

use std::sync::Arc;

use miette::{Diagnostic, NamedSource, SourceSpan};
use thiserror::Error;

use crate::source::Origin;

#[derive(Debug, Error, Diagnostic)]
pub enum PlanError {
    /// Points at the resource's declaration: what was asked of the host is half the cause.
    #[error("cannot plan `{address}`: {reason}")]
    #[diagnostic(help("fix what the message names, then plan again"))]
    Undecidable {
        address: String,
        reason: String,
        #[source_code]
        file: NamedSource<Arc<String>>,
        #[label("declared here")]
        declared: SourceSpan,
    },
    /// A host's record of what f3s manages there holds what f3s would not have written.
    #[error("cannot prune {host}: its record of what f3s manages is not f3s's: {reason}")]
    #[diagnostic(help(
        "f3s writes that record at apply; one it did not write is not acted on. Look at the file on the host, then remove it (the next apply writes it anew) or plan without --prune"
    ))]
    Record { host: String, reason: String },
    /// The removals of what left the inventory clash with what the inventory has.
    #[error("cannot prune: {reason}")]
    #[diagnostic(help(
        "a resource that left the inventory would be removed where the inventory still has something; plan without --prune, or remove it by hand"
    ))]
    Prune { reason: String },
}

impl PlanError {
    pub fn undecidable(address: String, reason: String, declared: &Origin) -> Self {
        Self::Undecidable {
            address,
            reason,
            file: declared.file.named_source().clone(),
            declared: declared.span(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    #[test]
    fn an_undecidable_resource_names_the_file_and_line_declaring_it() {
        let file = SourceFile::new("modules/m/module.yml", "resources:\n  - zfs: zdata/enc\n");
        let declared = Origin::new(&file, (15, 3).into());
        let error = PlanError::undecidable("f0/zfs:zdata/enc".into(), "why".into(), &declared);
        let mut text = String::new();
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .render_report(&mut text, &error)
            .unwrap();
        assert!(text.contains("modules/m/module.yml:2:5"), "{text}");
        assert!(text.contains("declared here"), "{text}");
    }
}
