//! How a command fails: diagnostics printed by miette on the way out (a message that quotes a
//! secret withheld), and the failures the commands share (hosts not reached, secrets missing).

use crate::compile_error::CompileErrors;
use crate::inventory::Inventory;
use crate::transport::TransportError;
use crate::visible::VisibleDiagnostic;

/// An apply that left out resources for want of a secret's value did not converge them.
pub(super) fn missing_secrets_failure(
    inventory: &Inventory,
    plan: &crate::plan::Plan,
) -> Result<(), Failure> {
    let missing = plan.missing_secrets();
    let errors: Vec<_> = inventory
        .secrets
        .unavailable()
        .iter()
        .filter(|secret| missing.contains(secret.name))
        .map(|secret| miette::Report::new(secret.error()))
        .collect();
    match errors.is_empty() {
        true => Ok(()),
        false => Err(Failure::new(errors)),
    }
}

/// Refuses to record `what` (a saved plan, a host's state) holding hidden values under a key
/// drawn for this run alone: it could never be compared again.
pub(super) fn require_persistent_key(holds_hidden: bool, what: &str) -> Result<(), Failure> {
    if !holds_hidden || crate::sensitive::digest_key_is_persistent() {
        return Ok(());
    }
    Err(Failure::new(vec![miette::miette!(
        help = "declare `digest_key: { env: F3S_DIGEST_KEY, file: secrets/digest_key }` in the inventory, its value a random string kept with your secrets (e.g. `(umask 077; openssl rand -hex 32 > secrets/digest_key)`); see docs/guide.md, \"Secrets and fingerprints\"",
        "cannot {what}: it holds hidden values, and the inventory declares no `digest_key` to fingerprint them with"
    )]))
}

/// After the plan of the rest was shown (or applied): the run fails if a host was not
/// reached, with why for each.
pub(super) fn unreached_failure(plan: crate::plan::Plan) -> Result<(), Failure> {
    unreached_hosts(
        plan.unreached
            .into_iter()
            .filter_map(|unreached| unreached.cause),
    )
}

/// After the work on the other hosts was done: the run fails if a host was not reached, with
/// why for each (each error names its host).
pub(super) fn unreached_hosts(
    causes: impl IntoIterator<Item = TransportError>,
) -> Result<(), Failure> {
    let reports: Vec<miette::Report> = causes.into_iter().map(miette::Report::new).collect();
    if reports.is_empty() {
        return Ok(());
    }
    Err(Failure::new(reports))
}

/// Diagnostics to print on the way out.
pub struct Failure {
    pub(super) reports: Vec<miette::Report>,
}

impl Failure {
    pub(super) fn new(reports: Vec<miette::Report>) -> Self {
        Self { reports }
    }

    pub(super) fn report(&self) {
        let count = self.reports.len();
        for report in &self.reports {
            eprintln!("{}", shown(report));
        }
        if count > 1 {
            eprintln!("{count} errors");
        }
    }
}

/// A diagnostic as printed, or, when its words quote a secret (a host's message may), a note
/// that it is withheld. Checked on the unwrapped text, before miette wraps it to the terminal.
/// Its words are printed with their controls escaped (`visible`): a host's stderr, answer or
/// kernel name may hold terminal commands, and miette's colours are the only escapes wanted.
pub(super) fn shown(report: &miette::Report) -> String {
    let mut words = String::new();
    let _ = miette::NarratableReportHandler::new().render_report(&mut words, report.as_ref());
    if crate::sensitive::quotable(&words).is_none() {
        return "Error: (this message is withheld: it quotes a secret)".into();
    }
    /// Renders as the `miette` hook does, but a diagnostic borrowed, not a `Report`.
    struct Printed<'a>(miette::MietteHandler, VisibleDiagnostic<'a>);
    impl std::fmt::Debug for Printed<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            miette::ReportHandler::debug(&self.0, &self.1, f)
        }
    }
    let printed = Printed(
        crate::render::diagnostics(crate::render::stderr_color()),
        VisibleDiagnostic::new(report.as_ref()),
    );
    format!("{printed:?}")
}

impl From<CompileErrors> for Failure {
    fn from(errors: CompileErrors) -> Self {
        Self::new(errors.0.into_iter().map(miette::Report::new).collect())
    }
}

impl From<Vec<crate::plan_error::PlanError>> for Failure {
    fn from(errors: Vec<crate::plan_error::PlanError>) -> Self {
        Self::new(errors.into_iter().map(miette::Report::new).collect())
    }
}

impl From<crate::compile_error::CompileError> for Failure {
    fn from(error: crate::compile_error::CompileError) -> Self {
        Self::from(CompileErrors::from(error))
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Self::new(vec![miette::Report::msg(error.to_string())])
    }
}
