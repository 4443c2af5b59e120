//! Sorted runs of `(hash, row)` pairs on disk, and their k-way merge.
//!
//! Owns the spill file: one anonymous temporary file (the OS removes it when it
//! is closed, also on a panic or a kill, and no name is ever visible) to which
//! each run is appended as fixed 16-byte records (hash, row; little-endian). The
//! merge reads every run through its own small buffer (positioned reads on the one
//! file) and yields the pairs in ascending order. Knows nothing about keys or
//! clashes (see `clash`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Bytes per record on disk.
const RECORD: usize = 16;

/// Sorted runs appended to one temporary file.
#[derive(Debug)]
pub(super) struct SpillFile {
    out: BufWriter<File>,
    /// `(first record, records)` of each run.
    runs: Vec<(u64, u64)>,
    written: u64,
}

impl SpillFile {
    /// Creates the (anonymous) file in `dir`.
    pub(super) fn create(dir: &Path) -> std::io::Result<Self> {
        let file = tempfile::tempfile_in(dir)?;
        Ok(Self {
            out: BufWriter::with_capacity(1 << 16, file),
            runs: Vec::new(),
            written: 0,
        })
    }

    /// Appends one run; `pairs` must be sorted.
    pub(super) fn write_run(&mut self, pairs: &[(u64, u64)]) -> std::io::Result<()> {
        for &(h, r) in pairs {
            let mut rec = [0u8; RECORD];
            rec[..8].copy_from_slice(&h.to_le_bytes());
            rec[8..].copy_from_slice(&r.to_le_bytes());
            self.out.write_all(&rec)?;
        }
        let n = pairs.len() as u64;
        self.runs.push((self.written, n));
        self.written += n;
        Ok(())
    }

    /// Number of runs written.
    pub(super) fn runs(&self) -> usize {
        self.runs.len()
    }

    /// Merges every run, handing each pair to `f` in ascending order. The runs'
    /// read buffers share `buffer_bytes` (each between 4 KiB and 1 MiB).
    pub(super) fn merge(
        self,
        buffer_bytes: usize,
        mut f: impl FnMut(u64, u64),
    ) -> std::io::Result<()> {
        let mut file = self.out.into_inner().map_err(|e| e.into_error())?;
        let per_run = (buffer_bytes / self.runs.len().max(1)).clamp(4 << 10, 1 << 20);
        let per_run = per_run / RECORD * RECORD;
        let mut cursors: Vec<Cursor> = self
            .runs
            .iter()
            .map(|&(start, len)| Cursor {
                next: start,
                left: len,
                buf: Vec::new(),
                pos: 0,
                cap: per_run,
            })
            .collect();
        let mut heap = BinaryHeap::with_capacity(cursors.len());
        for (i, c) in cursors.iter_mut().enumerate() {
            if let Some(p) = c.pop(&mut file)? {
                heap.push(Reverse((p, i)));
            }
        }
        while let Some(Reverse(((h, r), i))) = heap.pop() {
            f(h, r);
            if let Some(p) = cursors[i].pop(&mut file)? {
                heap.push(Reverse((p, i)));
            }
        }
        Ok(())
    }
}

/// Reading position in one run.
struct Cursor {
    /// Next record to load from the file.
    next: u64,
    /// Records of the run not yet loaded.
    left: u64,
    buf: Vec<u8>,
    pos: usize,
    cap: usize,
}

impl Cursor {
    fn pop(&mut self, file: &mut File) -> std::io::Result<Option<(u64, u64)>> {
        if self.pos == self.buf.len() {
            if self.left == 0 {
                self.buf = Vec::new();
                return Ok(None);
            }
            let n = self.left.min((self.cap / RECORD) as u64);
            self.buf.resize(n as usize * RECORD, 0);
            file.seek(SeekFrom::Start(self.next * RECORD as u64))?;
            file.read_exact(&mut self.buf)?;
            self.next += n;
            self.left -= n;
            self.pos = 0;
        }
        let rec = &self.buf[self.pos..self.pos + RECORD];
        self.pos += RECORD;
        let mut h = [0u8; 8];
        let mut r = [0u8; 8];
        h.copy_from_slice(&rec[..8]);
        r.copy_from_slice(&rec[8..]);
        Ok(Some((u64::from_le_bytes(h), u64::from_le_bytes(r))))
    }
}
