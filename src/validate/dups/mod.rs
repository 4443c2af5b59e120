//! In-file duplicate detection: rows sharing an externalId or a userName (as
//! mapped), each flagged naming the other rows.
//!
//! A first pass pushes every row's key hashes into a [`DupCollector`], which keeps
//! `(key hash, row)` pairs (16 bytes per key per row) up to a memory budget
//! ([`DEFAULT_MEMORY_BYTES`], 24 MiB; [`MEMORY_ENV`] overrides it). Beyond the
//! budget it sorts what it holds and appends it as a sorted run to one anonymous
//! temporary file in the system temp dir (`TMPDIR`; removed by the OS when closed,
//! whatever happens). [`DupCollector::finish`] then merges the runs (k-way) and
//! keeps only the clashing groups, so the pass takes at most the budget plus the
//! merge buffers (which share the budget), whatever the file size. An input that
//! fits the budget never touches a file. A temporary file that cannot be
//! written is a [`DupError`], an error of the run.
//!
//! What is kept, [`Dups`], grows with the clashes only (see `clash`): at most
//! about 32 bytes per clashing row and key (when every clash is a pair; ~16 when
//! many rows share a value), and each row names at most [`MAX_NAMED`] others plus
//! a count. A file where every row clashes on both keys thus keeps ~64 bytes a
//! row (1M rows: ~64 MB, 5M rows: ~320 MB): only that case outgrows the budget.
//!
//! Keys are compared by a 63-bit hash (XXH3-64, see `mapping::hash64`; the top
//! bit tells externalId from userName): a false clash needs a collision (about
//! 5e-8 for a million rows).

use std::path::PathBuf;

use rayon::slice::ParallelSliceMut;

mod clash;
mod spill;

pub use clash::Dups;

/// Most other rows named in one duplicate error.
pub const MAX_NAMED: usize = 5;

/// Default memory budget for the pairs held before spilling: 24 MiB (1.5M pairs).
pub const DEFAULT_MEMORY_BYTES: usize = 24 << 20;

/// Environment variable overriding the budget, in bytes (hidden; for tests and
/// tight machines). Read by [`DupCollector::from_env`]; a value that is not a
/// number is ignored.
pub const MEMORY_ENV: &str = "SCIMPORT_DUP_MEMORY_BYTES";

/// Top bit of a tagged hash: set for userName, clear for externalId.
const USER_NAME_TAG: u64 = 1 << 63;

/// Pairs reserved when the first one arrives (1 MiB); a larger input then jumps
/// to the budget (a budget above the default grows fourfold at a time). Untouched
/// capacity costs no resident memory.
const INITIAL_PAIRS: usize = 1 << 16;

/// Bytes per held pair.
const PAIR_BYTES: usize = 16;

/// The duplicate pass could not use its temporary file.
#[derive(Debug, thiserror::Error)]
pub enum DupError {
    /// Creating, writing or reading back the spill file failed (full disk, a
    /// missing temp dir, ...).
    #[error("cannot use a temporary file in {}: {source}", dir.display())]
    Spill {
        /// The directory of the temporary file.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Collects key hashes during the first pass, within a memory budget (see the
/// module docs).
#[derive(Debug)]
pub struct DupCollector {
    budget: usize,
    dir: PathBuf,
    /// Tagged `(hash, row)` pairs not yet spilled.
    pairs: Vec<(u64, u64)>,
    spill: Option<spill::SpillFile>,
}

impl Default for DupCollector {
    fn default() -> Self {
        Self::with_budget(DEFAULT_MEMORY_BYTES)
    }
}

impl DupCollector {
    /// A collector holding at most `bytes` of pairs (at least one pair) before it
    /// spills to a temporary file in the system temp dir.
    pub fn with_budget(bytes: usize) -> Self {
        Self {
            budget: bytes,
            dir: std::env::temp_dir(),
            pairs: Vec::new(),
            spill: None,
        }
    }

    /// A collector with the budget from [`MEMORY_ENV`], else the default.
    pub fn from_env() -> Self {
        let bytes = std::env::var(MEMORY_ENV)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(DEFAULT_MEMORY_BYTES);
        Self::with_budget(bytes)
    }

    /// Puts the temporary file in `dir` instead of the system temp dir.
    pub fn in_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = dir.into();
        self
    }

    /// Sorted runs written to the temporary file so far (0: all in memory).
    pub fn spilled_runs(&self) -> usize {
        self.spill.as_ref().map_or(0, spill::SpillFile::runs)
    }

    /// Records `row`'s key hashes; spills when the budget is full.
    pub fn push(
        &mut self,
        row: u64,
        external_id: Option<u64>,
        user_name: Option<u64>,
    ) -> Result<(), DupError> {
        if let Some(h) = external_id {
            self.add(h & !USER_NAME_TAG, row)?;
        }
        if let Some(h) = user_name {
            self.add(h | USER_NAME_TAG, row)?;
        }
        Ok(())
    }

    fn add(&mut self, tagged: u64, row: u64) -> Result<(), DupError> {
        if self.pairs.len() == self.pairs.capacity() {
            let max = (self.budget / PAIR_BYTES).max(1);
            let cap = self.pairs.capacity();
            if cap >= max {
                self.spill_run()?;
            } else {
                // One jump to the whole (default-sized) budget: growing in steps
                // would copy, holding the old and the new buffer at once.
                let want = if cap == 0 {
                    INITIAL_PAIRS.min(max)
                } else {
                    let step = cap.saturating_mul(4).max(DEFAULT_MEMORY_BYTES / PAIR_BYTES);
                    step.min(max)
                };
                self.pairs.reserve_exact(want - cap);
            }
        }
        self.pairs.push((tagged, row));
        Ok(())
    }

    /// Sorts the held pairs and appends them as a run (keeps the capacity).
    fn spill_run(&mut self) -> Result<(), DupError> {
        let dir = &self.dir;
        let err = |source| DupError::Spill {
            dir: dir.clone(),
            source,
        };
        let file = match &mut self.spill {
            Some(f) => f,
            None => self
                .spill
                .insert(spill::SpillFile::create(dir).map_err(err)?),
        };
        self.pairs.par_sort_unstable();
        file.write_run(&self.pairs).map_err(err)?;
        self.pairs.clear();
        Ok(())
    }

    /// Sorts (merging the spilled runs, if any) and keeps only the clashes.
    pub fn finish(mut self) -> Result<Dups, DupError> {
        let mut grouper = clash::Grouper::default();
        if self.spill.is_none() {
            self.pairs.par_sort_unstable();
            for &(h, r) in &self.pairs {
                grouper.feed(h, r);
            }
            return Ok(grouper.finish());
        }
        if !self.pairs.is_empty() {
            self.spill_run()?;
        }
        self.pairs = Vec::new();
        if let Some(file) = self.spill.take() {
            file.merge(self.budget, |h, r| grouper.feed(h, r))
                .map_err(|source| DupError::Spill {
                    dir: self.dir.clone(),
                    source,
                })?;
        }
        Ok(grouper.finish())
    }
}

#[cfg(test)]
mod tests;
