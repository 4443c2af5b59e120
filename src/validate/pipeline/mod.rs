//! Streaming an input through map + validate on all cores, in row order.
//!
//! [`prepare`] opens the input, reads the header, binds the mapping (every missing
//! column is reported at once, before row 1, as [`ConfigError`]), then makes a first
//! pass that only collects the key hashes of every row for duplicate detection and
//! the number of records in each block. The returned [`Preparer`] is an iterator of
//! chunks for the second pass: a reader thread cuts the input into blocks of whole
//! records (bounded channel, so memory stays flat), rayon parses, maps and validates
//! a batch of blocks in parallel (`block`), and each chunk comes out in row order.
//! Every input row yields exactly one [`Prepared`] (unless `only_rows` leaves it
//! out).
//!
//! An optimistic preparer (`validate`) skips the first pass: it collects the key
//! hashes while preparing and numbers each block's rows when the batch comes back.
//! Only when that pass finds duplicates does [`Preparer::complete`] re-arm a second
//! pass with them known.
//!
//! Stdin is spooled to a temporary file for the two passes. Blocks are cut
//! deterministically, so the second pass knows each block's first row from the first;
//! an input that changes between the passes is an error, not a silent mismatch.

use std::collections::HashSet;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use rayon::prelude::*;

use super::dups::{DupCollector, DupError, Dups};
use super::judge::{Judge, Scratch};
use super::{RowError, rules};
use crate::mapping::{Bound, DesiredUser, Mapping};
use crate::source::block::DEFAULT_BLOCK_BYTES;
use crate::source::input::Input;
use crate::source::{Block, BlockReader, Format, Header, InputSpec, RawRow, Record, SourceError};

/// One input row after map + validate.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The row as read (its `fields` are empty for a valid row when
    /// `keep_valid_records` is off).
    pub record: Record,
    /// The desired user, or every problem of the row.
    pub result: Result<DesiredUser, Vec<RowError>>,
    /// For an invalid row: the externalId and userName its mapping produced (so
    /// the ledger names the person even when another field is wrong). Empty for
    /// a valid row (its desired user has them) and for a row that could not be
    /// parsed.
    pub keys: Keys,
}

/// The keys an invalid row's mapping produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys {
    /// The mapped externalId.
    pub external_id: Option<String>,
    /// The mapped userName.
    pub user_name: Option<String>,
}

/// How to prepare.
#[derive(Debug, Clone)]
pub struct PrepareOptions {
    /// Keep only these rows (by row number); `None` keeps all.
    pub only_rows: Option<HashSet<u64>>,
    /// Target bytes of input per block (a chunk holds a few blocks); default 1 MiB.
    pub chunk_size: usize,
    /// Keep the fields of valid rows in `Prepared.record` (default `true`); `validate`
    /// turns it off since it only writes invalid rows out.
    pub keep_valid_records: bool,
    /// Fill `DesiredUser::source_hash` (default `true`); `validate` writes no ledger
    /// and turns it off.
    pub source_hash: bool,
    /// Count valid rows without handing them out (default `false`): `validate` only
    /// reports invalid rows, and a dropped user's memory is reused for the next row.
    pub drop_valid: bool,
    /// One pass instead of two (default `false`; `validate` turns it on): skip the
    /// duplicate pre-pass and collect the key hashes while preparing. Row numbers
    /// are then set when a batch comes back, so rows reach a caller only through
    /// [`Preparer::next_filtered`] (or [`Preparer::next_mapped`], run on the
    /// calling thread). When the pass finds duplicates, [`Preparer::complete`]
    /// says so and re-arms a second pass with them known. Ignored with `only_rows`.
    pub optimistic: bool,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        Self {
            only_rows: None,
            chunk_size: DEFAULT_BLOCK_BYTES,
            keep_valid_records: true,
            source_hash: true,
            drop_valid: false,
            optimistic: false,
        }
    }
}

/// Problems found before row 1: the input cannot be read, or the mapping does not
/// fit it (every problem listed).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The input cannot be opened or has no header.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The mapping names columns the input lacks.
    #[error("the mapping does not fit {path}:\n  - {}", problems.join("\n  - "))]
    Mapping {
        /// The input.
        path: String,
        /// Every problem.
        problems: Vec<String>,
    },
}

/// The second pass: an iterator of chunks of [`Prepared`] rows in row order.
pub struct Preparer<'m> {
    ctx: Ctx<'m>,
    rx: Option<Receiver<Result<Block, SourceError>>>,
    reader: Option<JoinHandle<()>>,
    batch: usize,
    /// The input and how to read it again (stdin is spooled).
    input: Input,
    spec: InputSpec,
    /// The key hashes of an optimistic pass.
    collector: Option<DupCollector>,
}

/// What the workers share (read-only during a pass).
struct Ctx<'m> {
    header: Header,
    bound: Bound<'m>,
    format: Format,
    delimiter: u8,
    dups: Dups,
    /// First row (0-based position) of each block, from the first pass.
    bases: Vec<u64>,
    counts: Vec<u64>,
    total_rows: u64,
    opts: PrepareOptions,
    label: String,
    /// An optimistic pass is under way: block bases are not known in advance.
    optimistic: bool,
    /// After an optimistic pass that found duplicates: the positions (1-based) of
    /// the rows it handed out, one bit each. The second pass maps and judges only
    /// those and the duplicate rows, and counts the others as they were.
    again: Option<Vec<u64>>,
    /// The bits being gathered during an optimistic pass that drops valid rows.
    handed_out: Vec<u64>,
}

impl std::fmt::Debug for Preparer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preparer")
            .field("label", &self.ctx.label)
            .field("total_rows", &self.ctx.total_rows)
            .finish()
    }
}

/// Opens `spec`, checks the mapping against its header, runs the duplicate pass and
/// returns the streaming second pass. See the module docs.
pub fn prepare<'m>(
    spec: &InputSpec,
    m: &'m Mapping,
    opts: PrepareOptions,
) -> Result<Preparer<'m>, ConfigError> {
    let mut input = Input::open(&spec.path, true)?;
    let label = input.label().to_string();
    let (br, rx, handle) = spawn_reader(&mut input, spec, opts.chunk_size)?;
    let header = br.0;
    let (format, delimiter) = (br.1, br.2);
    let mut bound = m
        .bind(&header, spec.row_column.as_deref())
        .map_err(|problems| ConfigError::Mapping {
            path: label.clone(),
            problems,
        })?;
    if !opts.source_hash {
        bound = bound.without_source_hash();
    }
    let batch = (rayon::current_num_threads() * 2).max(2);
    let optimistic = opts.optimistic && opts.only_rows.is_none();
    let mut me = Preparer {
        ctx: Ctx {
            header,
            bound,
            format,
            delimiter,
            dups: Dups::default(),
            bases: Vec::new(),
            counts: Vec::new(),
            total_rows: 0,
            opts,
            label,
            optimistic,
            again: None,
            handed_out: Vec::new(),
        },
        rx: Some(rx),
        reader: Some(handle),
        batch,
        input,
        spec: spec.clone(),
        collector: optimistic.then(DupCollector::from_env),
    };
    if !optimistic {
        me.first_pass()?;
        me.rearm()?;
    }
    Ok(me)
}

type Opened = (Header, Format, u8);
type BlockRx = Receiver<Result<Block, SourceError>>;

fn spawn_reader(
    input: &mut Input,
    spec: &InputSpec,
    block_bytes: usize,
) -> Result<(Opened, BlockRx, JoinHandle<()>), SourceError> {
    let rdr = input.reader()?;
    let br = BlockReader::try_new(
        rdr,
        input.label(),
        spec.format,
        input.format_hint(),
        spec.delimiter,
        block_bytes,
        spec.max_record_bytes,
    )?;
    let opened = (br.header().clone(), br.format(), br.delimiter());
    let (tx, rx) = sync_channel(4);
    let handle = std::thread::Builder::new()
        .name("scimport-reader".into())
        .spawn(move || pump(br, tx))
        .map_err(|source| SourceError::Io {
            path: input.label().to_string(),
            source,
        })?;
    Ok((opened, rx, handle))
}

fn pump(mut br: BlockReader, tx: SyncSender<Result<Block, SourceError>>) {
    loop {
        let item = br.next_block().transpose();
        let Some(item) = item else { return };
        let stop = item.is_err();
        if tx.send(item).is_err() || stop {
            return;
        }
    }
}

/// Per-record key hashes from the first pass: (position in block, explicit row,
/// externalId hash, userName hash).
type KeyRow = (u64, Option<u64>, Option<u64>, Option<u64>);

impl<'m> Preparer<'m> {
    /// The input's column names.
    pub fn header(&self) -> &Header {
        &self.ctx.header
    }
    /// Rows in the input (known after the first pass).
    pub fn total_rows(&self) -> u64 {
        self.ctx.total_rows
    }
    /// Rows that share a key with another row.
    pub fn duplicate_rows(&self) -> usize {
        self.ctx.dups.len()
    }
    /// Whether the pass that just ended is complete. `false` only after an
    /// optimistic pass that found duplicates: the preparer is then re-armed for a
    /// second pass with the duplicates (and every block's rows) known, and the
    /// caller discards what it gathered and iterates again. A temporary file of
    /// the duplicate pass that fails is an error of the run.
    pub fn complete(&mut self) -> Result<bool, SourceError> {
        let Some(collector) = self.collector.take() else {
            return Ok(true);
        };
        self.finish_reader();
        self.ctx.dups = finish_dups(collector, &self.ctx.label)?;
        self.ctx.optimistic = false;
        let handed_out = std::mem::take(&mut self.ctx.handed_out);
        if self.ctx.dups.is_empty() {
            return Ok(true);
        }
        if self.ctx.opts.drop_valid {
            self.ctx.again = Some(handed_out);
        }
        self.rearm()?;
        Ok(false)
    }

    /// Starts the reader again from the top of the input, checking that the
    /// header did not change.
    fn rearm(&mut self) -> Result<(), SourceError> {
        let (br, rx, handle) = spawn_reader(&mut self.input, &self.spec, self.ctx.opts.chunk_size)?;
        if br.0 != self.ctx.header {
            return Err(SourceError::Header {
                path: self.ctx.label.clone(),
                problem: "the input changed while being read".into(),
            });
        }
        self.rx = Some(rx);
        self.reader = Some(handle);
        Ok(())
    }

    /// The format in use.
    pub fn format(&self) -> Format {
        self.ctx.format
    }
    /// The CSV delimiter in use.
    pub fn delimiter(&self) -> u8 {
        self.ctx.delimiter
    }

    /// The next batch of blocks, keeping only the rows `keep` accepts, decided (and
    /// the others dropped) on the worker thread that prepared them. Returns, per
    /// block in order, the number of rows prepared and the kept rows in row order.
    /// `validate` keeps only invalid rows this way, so a valid user is built and
    /// freed on one thread without ever being collected. `None` at the end.
    #[allow(clippy::type_complexity)]
    pub fn next_filtered(
        &mut self,
        keep: &(dyn Fn(&Prepared) -> bool + Sync),
    ) -> Option<Result<Vec<(u64, Vec<Prepared>)>, SourceError>> {
        let blocks = match self.next_batch()? {
            Ok(b) => b,
            Err(e) => return Some(Err(e)),
        };
        let ctx = &self.ctx;
        let done: Result<Vec<BlockOut>, SourceError> = blocks
            .par_iter()
            .map(|b| {
                let mut out = BlockOut {
                    index: b.index,
                    ..BlockOut::default()
                };
                let mut rows = 0u64;
                let keys = ctx.optimistic.then_some(&mut out.keys);
                let kept = &mut out.kept;
                let (_, dropped) = ctx.prepare_block_with(
                    b,
                    &mut |p, pos, positional| {
                        rows += 1;
                        if keep(&p) {
                            kept.push((p, pos, positional));
                        }
                    },
                    keys,
                )?;
                out.rows = rows + dropped;
                Ok(out)
            })
            .collect();
        let done = match done {
            Ok(d) => d,
            Err(e) => {
                self.finish_reader();
                return Some(Err(e));
            }
        };
        let mut result = Vec::with_capacity(done.len());
        for out in done {
            match self.settle(out) {
                Ok(r) => result.push(r),
                Err(e) => {
                    self.finish_reader();
                    return Some(Err(e));
                }
            }
        }
        Some(Ok(result))
    }

    /// A block's rows once prepared: in an optimistic pass, numbers its
    /// positional rows from the rows before it and hands its key hashes to the
    /// duplicate collector.
    fn settle(&mut self, out: BlockOut) -> Result<(u64, Vec<Prepared>), SourceError> {
        let BlockOut {
            index,
            rows,
            kept,
            keys,
        } = out;
        let ctx = &mut self.ctx;
        let (true, Some(collector)) = (ctx.optimistic, self.collector.as_mut()) else {
            return Ok((rows, kept.into_iter().map(|(p, _, _)| p).collect()));
        };
        let base = number_block(ctx, collector, index, rows, keys)?;
        let kept = kept
            .into_iter()
            .map(|(mut p, pos, positional)| {
                if ctx.opts.drop_valid {
                    set_bit(&mut ctx.handed_out, base + pos + 1);
                }
                if positional {
                    shift_rows(&mut p, base);
                }
                p
            })
            .collect();
        Ok((rows, kept))
    }

    /// The next batch of blocks, each block's rows (in row order) handed to `f` on
    /// the worker thread that prepared them (in an optimistic pass, on this thread
    /// once the rows are numbered); the results come back in block order. Lets a
    /// caller reduce rows where they were built (e.g. count and drop valid users)
    /// instead of moving every row to one thread. `None` at the end.
    pub fn next_mapped<T: Send>(
        &mut self,
        f: &(dyn Fn(Vec<Prepared>) -> T + Sync),
    ) -> Option<Result<Vec<T>, SourceError>> {
        if self.ctx.optimistic {
            return self
                .next_filtered(&|_| true)
                .map(|r| r.map(|blocks| blocks.into_iter().map(|(_, rows)| f(rows)).collect()));
        }
        let blocks = match self.next_batch()? {
            Ok(b) => b,
            Err(e) => return Some(Err(e)),
        };
        let ctx = &self.ctx;
        let done: Result<Vec<T>, SourceError> = blocks
            .par_iter()
            .map(|b| ctx.prepare_block(b).map(f))
            .collect();
        if done.is_err() {
            self.finish_reader();
        }
        Some(done)
    }

    fn next_batch(&mut self) -> Option<Result<Vec<Block>, SourceError>> {
        let rx = self.rx.as_ref()?;
        let mut blocks = Vec::with_capacity(self.batch);
        while blocks.len() < self.batch {
            match rx.recv() {
                Ok(Ok(b)) => blocks.push(b),
                Ok(Err(e)) => {
                    self.finish_reader();
                    return Some(Err(e));
                }
                Err(_) => break,
            }
        }
        if blocks.is_empty() {
            self.finish_reader();
            return None;
        }
        Some(Ok(blocks))
    }

    fn finish_reader(&mut self) {
        self.rx = None;
        if let Some(h) = self.reader.take() {
            let _ = h.join();
        }
    }

    /// Counts each block's records and collects every row's key hashes. The
    /// collector holds at most its budget in memory ([`DupCollector::from_env`]:
    /// 24 MiB, or `SCIMPORT_DUP_MEMORY_BYTES`) and spills sorted runs to a
    /// temporary file beyond it; a failing temporary file is an error of the run.
    fn first_pass(&mut self) -> Result<(), SourceError> {
        let mut collector = DupCollector::from_env();
        while let Some(batch) = self.next_batch() {
            let blocks = batch?;
            let ctx = &self.ctx;
            let results: Vec<(usize, u64, Vec<KeyRow>)> = blocks
                .par_iter()
                .map(|b| {
                    let mut keys = Vec::new();
                    let mut n = 0u64;
                    let judge = Judge::new(&ctx.bound);
                    let mut scratch = Scratch::default();
                    ctx.each_raw(b, |raw| {
                        let pos = n;
                        n += 1;
                        if let RawRow::Ok(fields) = raw {
                            let explicit = ctx.bound.row_number(fields).and_then(Result::ok);
                            let [e, u] = judge.keys(fields, &mut scratch);
                            if e.is_some() || u.is_some() {
                                keys.push((pos, explicit, e, u));
                            }
                        }
                    });
                    (b.index, n, keys)
                })
                .collect();
            for (index, n, keys) in results {
                number_block(&mut self.ctx, &mut collector, index, n, keys)?;
            }
        }
        self.ctx.dups = finish_dups(collector, &self.ctx.label)?;
        Ok(())
    }
}

/// Numbers a block once the blocks before it are counted: its base is the rows
/// before it, and its key hashes go to the duplicate collector with their rows.
/// Returns the base.
fn number_block(
    ctx: &mut Ctx<'_>,
    collector: &mut DupCollector,
    index: usize,
    rows: u64,
    keys: Vec<KeyRow>,
) -> Result<u64, SourceError> {
    debug_assert_eq!(index, ctx.counts.len());
    let base = ctx.total_rows;
    for (pos, explicit, e, u) in keys {
        collector
            .push(explicit.unwrap_or(base + pos + 1), e, u)
            .map_err(|e| scratch_error(e, &ctx.label))?;
    }
    ctx.bases.push(base);
    ctx.counts.push(rows);
    ctx.total_rows += rows;
    Ok(base)
}

/// What one block gave in [`Preparer::next_filtered`].
#[derive(Default)]
struct BlockOut {
    index: usize,
    rows: u64,
    /// Kept rows, each with its position in the block (0-based) and whether its
    /// number is that position (in an optimistic pass; to be shifted by the
    /// block's base).
    kept: Vec<(Prepared, u64, bool)>,
    /// Key hashes (optimistic pass only).
    keys: Vec<KeyRow>,
}

fn scratch_error(e: DupError, label: &str) -> SourceError {
    let DupError::Spill { dir, source } = e;
    SourceError::Scratch {
        path: label.to_string(),
        what: "duplicate detection",
        dir: dir.display().to_string(),
        source,
    }
}

/// Finishes the duplicate collector (merging what it spilled).
fn finish_dups(collector: DupCollector, label: &str) -> Result<Dups, SourceError> {
    let runs = collector.spilled_runs();
    let dups = collector.finish().map_err(|e| scratch_error(e, label))?;
    tracing::debug!(
        spilled_runs = runs,
        duplicate_rows = dups.len(),
        "duplicate pass done"
    );
    Ok(dups)
}

impl Iterator for Preparer<'_> {
    type Item = Result<Vec<Prepared>, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        // One batch of blocks, flattened: rows stay in order.
        let parts = match self.next_mapped(&|rows| rows)? {
            Ok(parts) => parts,
            Err(e) => return Some(Err(e)),
        };
        let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
        for p in parts {
            out.extend(p);
        }
        Some(Ok(out))
    }
}

impl Drop for Preparer<'_> {
    fn drop(&mut self) {
        // Dropping the receiver makes the reader thread's next send fail, so it ends.
        self.finish_reader();
    }
}

mod block;
use block::{set_bit, shift_rows};

#[cfg(test)]
mod tests;
