//! A batch: the resources of one host that apply sends in one go, in plan order, each with the
//! earlier units of the same batch it depends on. A transport runs a batch as one remote exec
//! (or in memory); its meaning is fixed here: units in order, a unit's operations in order
//! until the first failure, and a unit skipped when a unit it needs did not succeed.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::check_command::CheckCommand;
use crate::op::Op;

#[derive(Debug, Clone)]
pub struct Unit<'a> {
    /// Borrowed from the plan where they are sent as planned: 24 hosts' batches of 4,000
    /// units would otherwise each hold a copy of their operations while they run.
    pub ops: Cow<'a, [Op]>,
    /// Earlier units of this batch that must succeed before this one runs.
    pub after: Vec<usize>,
}

#[derive(Debug, Default, Clone)]
pub struct Batch<'a> {
    pub units: Vec<Unit<'a>>,
}

/// How one unit of a batch ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitOutcome {
    /// Every operation succeeded; `kept` names the backups on the host that hold the content
    /// its writes replaced.
    Done { kept: Vec<String> },
    /// Operation `op` failed with `error` (the command's words); later ones did not run.
    Failed { op: usize, error: String },
    /// Unit `because` of this batch did not succeed, so this one never started.
    Skipped { because: usize },
}

impl Batch<'_> {
    /// Folds whole-file rewrites of one path (a chain of line edits, each carrying the whole
    /// file as it is after that edit) into the last of them, so a file edited a thousand times
    /// is written once. Unit `i` folds into the next unit `j` rewriting the same path with the
    /// same `validate` check when `j` depends on `i`, nothing between needs `i`, and whatever
    /// else `j` needs `i` needs too; `i` then runs nothing and ends as `j` does. Returns, per
    /// unit, the unit it ends as.
    pub fn fold_rewrites(&mut self) -> Vec<usize> {
        let count = self.units.len();
        let mut ends_as: Vec<usize> = (0..count).collect();
        let mut next_rewrite: HashMap<Rewrite, usize> = HashMap::new();
        let mut follows = vec![None; count];
        for (i, unit) in self.units.iter().enumerate().rev() {
            if let Some(rewrite) = rewrite(unit) {
                follows[i] = next_rewrite.insert(rewrite, i);
            }
        }
        // The units folded into each unit so far: what needs them needs it too.
        let mut folded_into: Vec<Vec<usize>> = vec![Vec::new(); count];
        for (i, j) in follows.iter().enumerate() {
            let Some(j) = *j else {
                continue;
            };
            let mut needs_i = vec![false; j + 1];
            needs_i[i] = true;
            for &member in &folded_into[i] {
                needs_i[member] = true;
            }
            let between_free = (i + 1..j).all(|k| {
                let depends = self.units[k].after.iter().any(|a| needs_i[*a]);
                needs_i[k] = depends;
                !depends
            });
            if !between_free || !self.units[j].after.contains(&i) {
                continue;
            }
            let needed_by_i = self.closure(i);
            if self.units[j]
                .after
                .iter()
                .all(|a| *a == i || needed_by_i[*a])
            {
                ends_as[i] = j;
                let mut members = std::mem::take(&mut folded_into[i]);
                members.push(i);
                folded_into[j].extend(members);
            }
        }
        // Follow chains to the unit that really writes.
        for i in (0..count).rev() {
            ends_as[i] = ends_as[ends_as[i]];
        }
        // A folded unit runs nothing, and whatever needed it needs what it folded into.
        for (k, unit) in self.units.iter_mut().enumerate() {
            if ends_as[k] != k {
                unit.ops = Cow::Borrowed(&[]);
                unit.after.clear();
                continue;
            }
            let mut after: Vec<usize> = unit
                .after
                .iter()
                .map(|a| ends_as[*a])
                .filter(|a| *a != k)
                .collect();
            after.sort_unstable();
            after.dedup();
            unit.after = after;
        }
        ends_as
    }

    /// Whether unit `i` depends on each unit, directly or not.
    fn closure(&self, i: usize) -> Vec<bool> {
        let mut found = vec![false; self.units.len()];
        let mut pending = self.units[i].after.clone();
        while let Some(unit) = pending.pop() {
            if !std::mem::replace(&mut found[unit], true) {
                pending.extend(&self.units[unit].after);
            }
        }
        found
    }

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
                    .unwrap_or(UnitOutcome::Done { kept: Vec::new() }),
            };
            succeeded[index] = matches!(outcome, UnitOutcome::Done { .. });
            report(index, outcome);
        }
    }
}

/// A whole-file rewrite: the path and the check its new content must pass.
type Rewrite<'a> = (&'a str, Option<&'a CheckCommand>);

/// What a unit rewrites whole, when that is all it does.
fn rewrite<'u>(unit: &'u Unit<'_>) -> Option<Rewrite<'u>> {
    match &*unit.ops {
        [
            Op::WriteFile {
                path,
                create_only: false,
                validate,
                ..
            },
        ] => Some((path, validate.as_ref())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(paths: &[&str], after: &[usize]) -> Unit<'static> {
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

    fn write(path: &str, after: &[usize]) -> Unit<'static> {
        Unit {
            ops: vec![Op::WriteFile {
                path: path.into(),
                content: crate::sensitive::Text::plain(path),
                ownership: crate::host_state::Ownership {
                    mode: "0644".into(),
                    owner: "root".into(),
                    group: "root".into(),
                },
                create_only: false,
                validate: None,
            }]
            .into(),
            after: after.to_vec(),
        }
    }

    #[test]
    fn a_chain_of_rewrites_is_written_once_unless_something_between_needs_it() {
        let mut batch = Batch {
            units: vec![
                unit(&["/d"], &[]),
                write("/d/f", &[0]),
                write("/d/f", &[0, 1]),
                write("/d/f", &[0, 2]),
                unit(&["/x"], &[3]),
                write("/d/f", &[0, 3]),
                write("/d/g", &[0]),
                write("/d/f", &[5, 6]),
            ],
        };
        let ends_as = batch.fold_rewrites();
        // 1 and 2 fold into 3; 3 is needed by 4 before 5, so it runs; 5 needs 6, which 5
        // does not cover, so 7 cannot absorb 5 either.
        assert_eq!(ends_as, [0, 3, 3, 3, 4, 5, 6, 7]);
        assert!(batch.units[1].ops.is_empty() && batch.units[2].ops.is_empty());
        assert_eq!(batch.units[3].ops.len(), 1);
        assert_eq!(batch.units[5].ops.len(), 1);
    }

    /// A write checked by `validate` carries its check: it does not fold into (or absorb) a
    /// write with another check, which would check the content with the wrong command.
    #[test]
    fn rewrites_fold_only_into_writes_with_the_same_check() {
        let checked = |after: &[usize]| {
            let mut unit = write("/d/conf", after);
            if let Op::WriteFile { validate, .. } = &mut unit.ops.to_mut()[0] {
                *validate = Some(CheckCommand::new("sh -n {new}"));
            }
            unit
        };
        let mut batch = Batch {
            units: vec![write("/d/conf", &[]), checked(&[0]), checked(&[1])],
        };
        assert_eq!(batch.fold_rewrites(), [0, 2, 2]);
    }

    /// What needs a folded unit waits for, and fails with, the unit it folded into.
    #[test]
    fn what_needs_a_folded_rewrite_needs_the_write_that_carries_it() {
        let mut batch = Batch {
            units: vec![
                write("/d/conf", &[]),
                write("/d/conf", &[0]),
                unit(&["/restart"], &[0]),
            ],
        };
        // The restart comes after both edits, so the first folds into the second.
        assert_eq!(batch.fold_rewrites(), [1, 1, 2]);
        assert_eq!(batch.units[2].after, [1]);
        let mut outcomes = Vec::new();
        batch.run_each(
            |op| match op {
                Op::WriteFile { .. } => Err("disk full".into()),
                _ => Ok(()),
            },
            &mut |index, outcome| outcomes.push((index, outcome)),
        );
        assert_eq!(outcomes[2], (2, UnitOutcome::Skipped { because: 1 }));
    }

    /// A chain A → B → C with S between B and C needing A: A's line must be written before S.
    #[test]
    fn a_chain_does_not_fold_past_what_needs_its_first_link() {
        let mut batch = Batch {
            units: vec![
                write("/d/conf", &[]),
                write("/d/conf", &[0]),
                unit(&["/s"], &[0]),
                write("/d/conf", &[1]),
            ],
        };
        let ends_as = batch.fold_rewrites();
        assert_eq!(ends_as[0], 1, "A folds into B");
        assert_eq!(ends_as[1], 1, "B is written before S, which needs A's line");
        assert_eq!(batch.units[2].after, [1]);
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
                (2, UnitOutcome::Done { kept: vec![] }),
                (3, UnitOutcome::Skipped { because: 1 }),
            ]
        );
    }
}
