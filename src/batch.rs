//! A batch: the resources of one host that apply sends in one go, in plan order, each with the
//! earlier units of the same batch it depends on. A transport runs a batch as one remote exec
//! (or in memory); its meaning is fixed here: units in order, a unit's operations in order
//! until the first failure, and a unit skipped when a unit it needs did not succeed.

use crate::op::Op;

#[derive(Debug, Clone)]
pub struct Unit {
    pub ops: Vec<Op>,
    /// Earlier units of this batch that must succeed before this one runs.
    pub after: Vec<usize>,
}

#[derive(Debug, Default, Clone)]
pub struct Batch {
    pub units: Vec<Unit>,
}

/// How one unit of a batch ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitOutcome {
    Done,
    /// Operation `op` failed with `error` (the command's words); later ones did not run.
    Failed {
        op: usize,
        error: String,
    },
    /// Unit `because` of this batch did not succeed, so this one never started.
    Skipped {
        because: usize,
    },
}

impl Batch {
    /// Runs the batch one operation at a time through `run_op`, telling `report` each unit's
    /// outcome: the in-memory reading of what a remote batch script does.
    pub fn run_each(
        &self,
        mut run_op: impl FnMut(&Op) -> Result<(), String>,
        report: &mut dyn FnMut(usize, UnitOutcome),
    ) {
        let mut succeeded = vec![false; self.units.len()];
        for (index, unit) in self.units.iter().enumerate() {
            let outcome = match unit.after.iter().find(|&&before| !succeeded[before]) {
                Some(&because) => UnitOutcome::Skipped { because },
                None => unit
                    .ops
                    .iter()
                    .enumerate()
                    .find_map(|(op, operation)| {
                        run_op(operation)
                            .err()
                            .map(|error| UnitOutcome::Failed { op, error })
                    })
                    .unwrap_or(UnitOutcome::Done),
            };
            succeeded[index] = outcome == UnitOutcome::Done;
            report(index, outcome);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(paths: &[&str], after: &[usize]) -> Unit {
        Unit {
            ops: paths
                .iter()
                .map(|path| Op::RemovePath {
                    path: (*path).to_string(),
                })
                .collect(),
            after: after.to_vec(),
        }
    }

    #[test]
    fn a_failure_ends_its_unit_and_skips_its_dependents_only() {
        let batch = Batch {
            units: vec![
                unit(&["/a", "/bad", "/never"], &[]),
                unit(&["/b"], &[0]),
                unit(&["/c"], &[]),
                unit(&["/d"], &[1]),
            ],
        };
        let mut ran = Vec::new();
        let mut outcomes = Vec::new();
        batch.run_each(
            |op| {
                let Op::RemovePath { path } = op else {
                    unreachable!()
                };
                ran.push(path.clone());
                if path == "/bad" {
                    Err("no".into())
                } else {
                    Ok(())
                }
            },
            &mut |index, outcome| outcomes.push((index, outcome)),
        );
        assert_eq!(ran, ["/a", "/bad", "/c"]);
        assert_eq!(
            outcomes,
            [
                (
                    0,
                    UnitOutcome::Failed {
                        op: 1,
                        error: "no".into()
                    }
                ),
                (1, UnitOutcome::Skipped { because: 0 }),
                (2, UnitOutcome::Done),
                (3, UnitOutcome::Skipped { because: 1 }),
            ]
        );
    }
}
