//! One block of the pipeline: its records parsed, each row given the quick
//! verdict (when valid rows only need counting) or mapped and judged in full, and
//! handed on in row order with its position; plus the bits that number rows once
//! the blocks before are counted.

use super::{Ctx, KeyRow, Keys, Prepared, RowError, rules};
use crate::mapping::{DesiredUser, Pool, hash64};
use crate::model::ErrorKind;
use crate::source::{Block, Format, RawRow, Record, SourceError, TooLarge};
use crate::validate::judge::{Judge, KeyHashes, Scratch};

impl Ctx<'_> {
    pub(super) fn each_raw(&self, block: &Block, mut f: impl FnMut(RawRow<'_>)) {
        if let Some(t) = block.too_large {
            // One record, skipped unread: one row.
            f(RawRow::Bad {
                fields: vec![String::new(); self.header.len()],
                kind: ErrorKind::RecordTooLarge,
                problem: t.problem(),
                fix: TooLarge::FIX,
            });
            return;
        }
        match self.format {
            Format::Csv => {
                crate::source::csv::parse_block(&block.data, self.delimiter, self.header.len(), f)
            }
            Format::Ndjson => crate::source::ndjson::parse_block(&block.data, &self.header, f),
        }
    }

    pub(super) fn prepare_block(&self, block: &Block) -> Result<Vec<Prepared>, SourceError> {
        let mut out =
            Vec::with_capacity(self.counts.get(block.index).copied().unwrap_or(0) as usize);
        self.prepare_block_with(block, &mut |p, _, _| out.push(p), None)?;
        Ok(out)
    }

    /// Prepares a block's rows, handing each to `sink` in row order (valid rows only
    /// when `drop_valid` is off), with its position in the block (0-based) and
    /// whether its number is that position in the block (optimistic pass: block bases are not known yet, the caller shifts
    /// them); `keys` (optimistic pass) receives every row's key hashes. Returns
    /// the number of records read and of valid rows dropped.
    pub(super) fn prepare_block_with(
        &self,
        block: &Block,
        sink: &mut dyn FnMut(Prepared, u64, bool),
        mut keys: Option<&mut Vec<KeyRow>>,
    ) -> Result<(u64, u64), SourceError> {
        // One user is mapped into and emptied again row after row while rows are
        // dropped; a row handed out takes it along.
        let mut pool = Pool::default();
        let mut du = DesiredUser::default();
        // Rows that only need counting when valid get the quick verdict first.
        let judge = self.opts.drop_valid.then(|| Judge::new(&self.bound));
        let mut scratch = Scratch::default();
        let mut dropped = 0u64;
        let changed = || SourceError::Header {
            path: self.label.clone(),
            problem: "the input changed while being read".into(),
        };
        let base = if self.optimistic {
            0
        } else {
            *self.bases.get(block.index).ok_or_else(changed)?
        };
        let mut n = 0u64;
        let m = self.bound.mapping();
        let keep = |row: u64| {
            self.opts
                .only_rows
                .as_ref()
                .is_none_or(|s| s.contains(&row))
        };
        self.each_raw(block, |raw| {
            let pos = n;
            let position = base + n + 1;
            n += 1;
            match raw {
                RawRow::Ok(fields) => {
                    let (row, explicit, row_err) = match self.bound.row_number(fields) {
                        None => (position, None, None),
                        Some(Ok(r)) => (r, Some(r), None),
                        Some(Err(v)) => (position, None, Some(bad_row_number(position, &v.0))),
                    };
                    if !keep(row) {
                        return;
                    }
                    let mut note_keys = |k: KeyHashes| {
                        if let Some(keys) = keys.as_deref_mut()
                            && (k[0].is_some() || k[1].is_some())
                        {
                            keys.push((pos, explicit, k[0], k[1]));
                        }
                    };
                    if let Some(again) = &self.again
                        && !bit(again, position)
                        && !self.dups.flags(row)
                    {
                        // Valid in the first pass, and no duplicate: valid still.
                        dropped += 1;
                        return;
                    }
                    if let Some(judge) = &judge
                        && row_err.is_none()
                        && !self.dups.flags(row)
                        && let Some(k) = judge.judge(fields, &mut scratch)
                    {
                        #[cfg(debug_assertions)]
                        self.check_verdict(row, fields, k);
                        note_keys(k);
                        dropped += 1;
                        return;
                    }
                    let mut errors = Vec::new();
                    self.bound
                        .map_into(row, fields, &mut du, &mut errors, &mut pool);
                    note_keys([du.external_id().map(hash64), du.user_name().map(hash64)]);
                    errors.extend(row_err);
                    rules::check(m, &du, &mut errors);
                    self.dups
                        .add_errors(m, row, [du.external_id(), du.user_name()], &mut errors);
                    let mut keys = Keys::default();
                    let result = if errors.is_empty() {
                        if self.opts.drop_valid {
                            pool.clear(&mut du);
                            dropped += 1;
                            return;
                        }
                        Ok(std::mem::take(&mut du))
                    } else {
                        keys.external_id = du.external_id().map(str::to_string);
                        keys.user_name = du.user_name().map(str::to_string);
                        pool.clear(&mut du);
                        Err(errors)
                    };
                    let fields = if result.is_err() || self.opts.keep_valid_records {
                        fields.iter().map(|s| s.to_string()).collect()
                    } else {
                        Vec::new()
                    };
                    sink(
                        Prepared {
                            record: Record { row, fields },
                            result,
                            keys,
                        },
                        pos,
                        explicit.is_none(),
                    );
                }
                RawRow::Bad {
                    fields,
                    kind,
                    problem,
                    fix,
                } => {
                    let strs: Vec<&str> = fields.iter().map(String::as_str).collect();
                    let (row, explicit) = match self.bound.row_number(&strs) {
                        Some(Ok(r)) => (r, true),
                        _ => (position, false),
                    };
                    if !keep(row) {
                        return;
                    }
                    let err = RowError {
                        row,
                        column: None,
                        path: None,
                        value: None,
                        kind,
                        problem,
                        fix: fix.to_string(),
                    };
                    sink(
                        Prepared {
                            record: Record { row, fields },
                            result: Err(vec![err]),
                            keys: Keys::default(),
                        },
                        pos,
                        !explicit,
                    );
                }
            }
        });
        if !self.optimistic && n != self.counts[block.index] {
            return Err(changed());
        }
        Ok((n, dropped))
    }
}

impl Ctx<'_> {
    /// Debug builds: a row the quick verdict passed must map and judge without a
    /// problem, with the same key hashes (see `judge`).
    #[cfg(debug_assertions)]
    fn check_verdict(&self, row: u64, fields: &[&str], keys: KeyHashes) {
        let (du, mut errors) = self.bound.map(row, fields);
        rules::check(self.bound.mapping(), &du, &mut errors);
        assert!(
            errors.is_empty(),
            "the quick verdict passed row {row}: {errors:?}"
        );
        let full = [du.external_id().map(hash64), du.user_name().map(hash64)];
        assert_eq!(keys, full, "the quick verdict's keys of row {row}");
    }
}

fn bad_row_number(row: u64, v: &str) -> RowError {
    RowError {
        row,
        column: None,
        path: None,
        value: Some(v.to_string()),
        kind: ErrorKind::BadRowNumber,
        problem: format!("`{v}` in the row column is not a row number"),
        fix: "keep the row column as scimport wrote it, or drop the column".into(),
    }
}

/// Sets bit `i` (growing the words as needed).
pub(super) fn set_bit(bits: &mut Vec<u64>, i: u64) {
    let w = (i / 64) as usize;
    if bits.len() <= w {
        bits.resize(w + 1, 0);
    }
    bits[w] |= 1 << (i % 64);
}

/// Whether bit `i` is set.
fn bit(bits: &[u64], i: u64) -> bool {
    bits.get((i / 64) as usize)
        .is_some_and(|w| w & (1 << (i % 64)) != 0)
}

/// Adds `base` to every row number a prepared row carries.
pub(super) fn shift_rows(p: &mut Prepared, base: u64) {
    p.record.row += base;
    match &mut p.result {
        Ok(du) => du.row += base,
        Err(errors) => errors.iter_mut().for_each(|e| e.row += base),
    }
}
