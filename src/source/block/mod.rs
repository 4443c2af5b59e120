//! Cutting an input's byte stream into blocks of whole records, so that worker
//! threads can parse blocks independently and in parallel.
//!
//! The reader thread does only I/O and a cheap boundary scan: for CSV it follows
//! quoting with `memchr` (a quote opens a quoted field only at the start of a field,
//! `""` inside quotes is an escaped quote, as csv-core does) and cuts after the last
//! newline outside quotes; for NDJSON it cuts after the last newline. Each block
//! starts at a record boundary, so parsing a block alone yields exactly the records a
//! sequential parse would. The header (CSV) is parsed here, once, together with the
//! format and delimiter detection.
//!
//! A record longer than the reader's `max_record_bytes` (`--max-record-bytes`) is
//! never held whole: once it passes the limit, the records before it go out as a
//! block, its bytes are dropped while the scan follows it to its end (quotes
//! included), and it goes out alone as a block marked [`Block::too_large`], which
//! the parsers turn into one `record_too_large` row.

use std::io::Read;

use memchr::{memchr, memrchr};

use super::{Format, Header, SourceError};

/// Default target size of a block in bytes: small enough that a block and its
/// prepared rows stay in the allocator's reusable size classes (no fresh pages per
/// block), big enough to amortise the hand-off.
pub const DEFAULT_BLOCK_BYTES: usize = 256 * 1024;

/// Default longest record (`--max-record-bytes`): 1 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1 << 20;

/// A record skipped for its size (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    /// The record's length in bytes (without its line break).
    pub bytes: u64,
    /// The limit it passed.
    pub limit: usize,
}

impl TooLarge {
    /// The row error's problem text.
    pub fn problem(&self) -> String {
        format!(
            "the record is {} bytes, more than the limit of {} bytes; it was skipped unread",
            self.bytes, self.limit
        )
    }
    /// The row error's fix.
    pub const FIX: &'static str = "raise --max-record-bytes above the record's size, or fix the export (an unclosed quote makes one record of the rest of the file)";
}

/// A run of whole records.
#[derive(Debug)]
pub struct Block {
    /// 0-based position of the block in the input.
    pub index: usize,
    /// The bytes: whole records (for CSV without the header row); empty for a
    /// record skipped for its size.
    pub data: Vec<u8>,
    /// Set when the block stands for one record longer than the limit, skipped.
    pub too_large: Option<TooLarge>,
}

/// Reads an input and hands out [`Block`]s.
pub struct BlockReader {
    rdr: Box<dyn Read + Send>,
    label: String,
    buf: Vec<u8>,
    eof: bool,
    format: Format,
    delimiter: u8,
    header: Header,
    block_bytes: usize,
    scan: Scan,
    /// NDJSON boundary scan: how much of `buf` has been searched for a newline,
    /// and the position just after the last newline found, so that each byte is
    /// searched once however long a line is (issue 14: a rescan after every read
    /// made a long line quadratic).
    nd_scan: NdScan,
    /// Longest record kept; a longer one is skipped (see the module docs).
    max_record: usize,
    /// The record at the start of `buf` is too long: skip it next.
    skipping: bool,
    next_index: usize,
    /// Bytes the boundary scans have looked at, for the linear-time test.
    scanned: u64,
    /// The most bytes `buf` has held, for the bounded-memory test.
    peak: usize,
}

/// Incremental NDJSON boundary scan state, positions relative to `buf`.
#[derive(Debug, Default, Clone, Copy)]
struct NdScan {
    pos: usize,
    last_cut: Option<usize>,
}

impl std::fmt::Debug for BlockReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockReader")
            .field("label", &self.label)
            .field("format", &self.format)
            .field("delimiter", &(self.delimiter as char))
            .finish()
    }
}

impl BlockReader {
    /// Reads the start of `rdr`: strips a UTF-8 BOM, detects the format (when
    /// `format` is `None`: `format_hint`, else `{` first means NDJSON) and the CSV
    /// delimiter (when `delimiter` is `None`), and reads the header. Records
    /// longer than `max_record` bytes (at least 1) become [`Block::too_large`]; a
    /// header line longer than that is an error (its names cannot be read without
    /// holding it).
    pub fn try_new(
        rdr: Box<dyn Read + Send>,
        label: &str,
        format: Option<Format>,
        format_hint: Option<Format>,
        delimiter: Option<u8>,
        block_bytes: usize,
        max_record: usize,
    ) -> Result<Self, SourceError> {
        let mut me = Self {
            rdr,
            label: label.to_string(),
            buf: Vec::with_capacity(block_bytes + 64 * 1024),
            eof: false,
            format: Format::Csv,
            delimiter: delimiter.unwrap_or(b','),
            header: Header::default(),
            block_bytes: block_bytes.max(1),
            scan: Scan::default(),
            nd_scan: NdScan::default(),
            max_record: max_record.max(1),
            skipping: false,
            next_index: 0,
            scanned: 0,
            peak: 0,
        };
        // Enough bytes for the BOM and the format sniff.
        while me.buf.len() < 4 && !me.eof {
            let n = me.min_read();
            me.fill(n)?;
        }
        if me.buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
            me.buf.drain(..3);
        }
        me.format = match format.or(format_hint) {
            Some(f) => f,
            None => {
                let first = me.buf.iter().find(|b| !b.is_ascii_whitespace());
                if first == Some(&b'{') {
                    Format::Ndjson
                } else {
                    Format::Csv
                }
            }
        };
        match me.format {
            Format::Csv => me.read_csv_header(delimiter)?,
            Format::Ndjson => me.read_ndjson_header()?,
        }
        Ok(me)
    }

    /// The format in use.
    pub fn format(&self) -> Format {
        self.format
    }
    /// The CSV delimiter in use (`,` for NDJSON).
    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }
    /// The column names.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Smallest read: 64 KiB, or less for tiny blocks (tests).
    fn min_read(&self) -> usize {
        self.block_bytes.min(64 * 1024)
    }

    fn io(&self, source: std::io::Error) -> SourceError {
        SourceError::Io {
            path: self.label.clone(),
            source,
        }
    }

    /// Reads up to `want` more bytes; sets `eof` when the input ends. (Reads into
    /// the buffer's spare capacity: no zeroing of bytes about to be overwritten.)
    fn fill(&mut self, want: usize) -> Result<(), SourceError> {
        let len = self.buf.len();
        self.buf.reserve(want);
        let got = match (&mut self.rdr).take(want as u64).read_to_end(&mut self.buf) {
            Ok(n) => n,
            Err(e) => {
                self.buf.truncate(len);
                return Err(self.io(e));
            }
        };
        if got < want {
            self.eof = true;
        }
        self.peak = self.peak.max(self.buf.len());
        Ok(())
    }

    fn read_csv_header(&mut self, delimiter: Option<u8>) -> Result<(), SourceError> {
        // The delimiter comes from the first line (quotes in a header are rare), then
        // the end of the header record is the first newline outside quotes.
        let mut searched = 0;
        let first_end = loop {
            self.scanned += (self.buf.len() - searched) as u64;
            if let Some(k) = memchr(b'\n', &self.buf[searched..]) {
                break searched + k;
            }
            searched = self.buf.len();
            if self.eof {
                break searched;
            }
            self.check_header_len(self.buf.len())?;
            let n = self.min_read();
            self.fill(n)?;
        };
        let first_line = &self.buf[..first_end];
        self.delimiter = delimiter.unwrap_or_else(|| detect_delimiter(first_line));
        let mut scan = Scan::default();
        loop {
            let from = scan.pos;
            scan_csv(
                &self.buf,
                &mut scan,
                Some(self.delimiter),
                usize::MAX,
                Stop::FirstNewline,
            );
            self.scanned += scan.pos.saturating_sub(from) as u64;
            if scan.last_cut.is_some() || self.eof {
                break;
            }
            self.check_header_len(self.buf.len())?;
            let n = self.min_read();
            self.fill(n)?;
        }
        let end = scan.last_cut.unwrap_or(self.buf.len());
        let line = &self.buf[..end];
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(SourceError::Header {
                path: self.label.clone(),
                problem: "the input is empty: a header row is needed".into(),
            });
        }
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(self.delimiter)
            .from_reader(line);
        let mut rec = csv::ByteRecord::new();
        let ok = rdr
            .read_byte_record(&mut rec)
            .map_err(|e| SourceError::Header {
                path: self.label.clone(),
                problem: format!("cannot read the header row: {e}"),
            })?;
        if !ok {
            return Err(SourceError::Header {
                path: self.label.clone(),
                problem: "the input is empty: a header row is needed".into(),
            });
        }
        // A lone CR also ends a record: continue right after what csv-core read.
        let mut end = (rdr.position().byte() as usize).min(end);
        if line.get(end) == Some(&b'\n') {
            end += 1;
        }
        let mut names = Vec::with_capacity(rec.len());
        for f in rec.iter() {
            match std::str::from_utf8(f) {
                Ok(s) => names.push(s.trim().to_string()),
                Err(_) => {
                    return Err(SourceError::Header {
                        path: self.label.clone(),
                        problem: "the header row is not valid UTF-8; save the file as UTF-8".into(),
                    });
                }
            }
        }
        self.set_header(names)?;
        self.buf.drain(..end);
        Ok(())
    }

    /// A header line (or, for NDJSON, a line before the first object) of `len`
    /// bytes so far: an error past the record limit, before it is read further.
    fn check_header_len(&self, len: usize) -> Result<(), SourceError> {
        if len <= self.max_record {
            return Ok(());
        }
        let what = match self.format {
            Format::Csv => "the header row",
            Format::Ndjson => "a line before the first JSON object (which names the columns)",
        };
        Err(SourceError::Header {
            path: self.label.clone(),
            problem: format!(
                "{what} is longer than {} bytes (--max-record-bytes); raise --max-record-bytes, \
                 or check that this is the export (an unclosed quote makes one record of the \
                 rest of the file)",
                self.max_record
            ),
        })
    }

    /// Keeps `names` as the header, refusing names given twice: which of two
    /// columns a mapping means would otherwise be a silent guess.
    fn set_header(&mut self, names: Vec<String>) -> Result<(), SourceError> {
        let dups = duplicate_names(&names);
        if !dups.is_empty() {
            let what = match self.format {
                Format::Csv => "the header row names",
                Format::Ndjson => "the first JSON object has the keys",
            };
            return Err(SourceError::Header {
                path: self.label.clone(),
                problem: format!(
                    "{what} {} more than once; rename or remove the duplicate columns",
                    dups.iter()
                        .map(|d| format!("\"{d}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        self.header = Header::new(names);
        Ok(())
    }

    fn read_ndjson_header(&mut self) -> Result<(), SourceError> {
        // Column names come from the first non-blank line that is a JSON object.
        let mut start = 0;
        // Where the newline search resumes: a long line is searched once.
        let mut searched = 0;
        loop {
            self.scanned += (self.buf.len() - searched) as u64;
            match memchr(b'\n', &self.buf[searched..]) {
                Some(k) => {
                    self.check_header_len(searched + k - start)?;
                    let line = &self.buf[start..searched + k];
                    if !line.iter().all(|b| b.is_ascii_whitespace())
                        && let Some(names) = super::ndjson::header_from_line(line)
                    {
                        return self.set_header(names);
                    }
                    start = searched + k + 1;
                    searched = start;
                }
                None if self.eof => {
                    let line = &self.buf[start..];
                    if let Some(names) = super::ndjson::header_from_line(line) {
                        return self.set_header(names);
                    }
                    return Err(SourceError::Header {
                        path: self.label.clone(),
                        problem: "no line is a JSON object: column names are taken from the \
                                  first object"
                            .into(),
                    });
                }
                None => {
                    searched = self.buf.len();
                    self.check_header_len(self.buf.len() - start)?;
                    self.fill(256 * 1024)?;
                }
            }
        }
    }

    /// The next block of whole records, or `None` at the end of the input.
    pub fn next_block(&mut self) -> Result<Option<Block>, SourceError> {
        loop {
            if self.skipping {
                self.skipping = false;
                let bytes = self.skip_record()?;
                let too_large = TooLarge {
                    bytes,
                    limit: self.max_record,
                };
                let mut b = self.block(Vec::new());
                b.too_large = Some(too_large);
                return Ok(Some(b));
            }
            let (cut, oversized) = match self.format {
                Format::Csv => {
                    let from = self.scan.pos;
                    scan_csv(
                        &self.buf,
                        &mut self.scan,
                        Some(self.delimiter),
                        self.max_record,
                        Stop::Never,
                    );
                    self.scanned += self.scan.pos.saturating_sub(from) as u64;
                    (self.scan.last_cut, self.scan.oversized)
                }
                Format::Ndjson => self.scan_ndjson(),
            };
            if let Some(start) = oversized {
                // The records before go out now; the long one is skipped next.
                self.skipping = true;
                let rest = self.buf.split_off(start);
                let data = std::mem::replace(&mut self.buf, rest);
                self.scan = Scan::default();
                self.nd_scan = NdScan::default();
                if !data.is_empty() {
                    return Ok(Some(self.block(data)));
                }
                continue;
            }
            if self.buf.len() >= self.block_bytes
                && let Some(cut) = cut
            {
                let mut rest = Vec::with_capacity(self.block_bytes + 64 * 1024);
                rest.extend_from_slice(&self.buf[cut..]);
                let mut data = std::mem::replace(&mut self.buf, rest);
                data.truncate(cut);
                // Both scans stopped at or after `cut`; only one format uses its own.
                self.scan.pos = self.scan.pos.saturating_sub(cut);
                self.scan.rec_start = self.scan.rec_start.saturating_sub(cut);
                self.scan.last_cut = None;
                self.nd_scan.pos = self.nd_scan.pos.saturating_sub(cut);
                self.nd_scan.last_cut = None;
                return Ok(Some(self.block(data)));
            }
            if self.eof {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                let data = std::mem::take(&mut self.buf);
                self.scan = Scan::default();
                self.nd_scan = NdScan::default();
                return Ok(Some(self.block(data)));
            }
            let want = self
                .block_bytes
                .saturating_sub(self.buf.len())
                .max(self.min_read());
            self.fill(want)?;
        }
    }

    /// Searches the bytes read since the last search for newlines: returns the
    /// position after the last one, and the start of a line longer than the limit
    /// if there is one (complete or not).
    fn scan_ndjson(&mut self) -> (Option<usize>, Option<usize>) {
        // Only the bytes read since the last search are new.
        let from = self.nd_scan.pos;
        self.scanned += (self.buf.len() - from) as u64;
        let line_start = self.nd_scan.last_cut.unwrap_or(0);
        self.nd_scan.pos = self.buf.len();
        if self.buf.len() - line_start <= self.max_record {
            // No line can be too long: one search from the end.
            if let Some(p) = memrchr(b'\n', &self.buf[from..]) {
                self.nd_scan.last_cut = Some(from + p + 1);
            }
            return (self.nd_scan.last_cut, None);
        }
        let mut start = line_start;
        for p in memchr::memchr_iter(b'\n', &self.buf[from..]) {
            let p = from + p;
            if p - start > self.max_record {
                return (self.nd_scan.last_cut, Some(start));
            }
            start = p + 1;
            self.nd_scan.last_cut = Some(start);
        }
        let tail_too_long = self.buf.len() - start > self.max_record;
        (self.nd_scan.last_cut, tail_too_long.then_some(start))
    }

    /// Drops the record at the start of `buf` (longer than the limit) up to and
    /// including its line break, reading on as needed but holding at most one read
    /// of it at a time; returns its length without the line break.
    fn skip_record(&mut self) -> Result<u64, SourceError> {
        let mut skipped = 0u64;
        let mut scan = Scan::default();
        loop {
            let end = match self.format {
                Format::Csv => {
                    let from = scan.pos;
                    scan_csv(
                        &self.buf,
                        &mut scan,
                        Some(self.delimiter),
                        usize::MAX,
                        Stop::FirstEnd,
                    );
                    self.scanned += scan.pos.saturating_sub(from) as u64;
                    // `rec_start` moves past the record's end once it is found.
                    (scan.rec_start > 0).then(|| scan.rec_start - 1)
                }
                Format::Ndjson => {
                    self.scanned += self.buf.len() as u64;
                    let end = memchr(b'\n', &self.buf);
                    scan.pos = self.buf.len();
                    end
                }
            };
            if let Some(end) = end {
                skipped += end as u64;
                self.buf.drain(..=end);
                return Ok(skipped);
            }
            if self.eof {
                skipped += self.buf.len() as u64;
                self.buf.clear();
                return Ok(skipped);
            }
            // Keep one scanned byte: whether a quote opens a field depends on the
            // byte before it.
            let drop = scan.pos.saturating_sub(1);
            skipped += drop as u64;
            self.buf.drain(..drop);
            scan.pos -= drop;
            let n = self.min_read();
            self.fill(n)?;
        }
    }

    /// Bytes the boundary scans have looked at so far.
    #[cfg(test)]
    fn scanned(&self) -> u64 {
        self.scanned
    }

    /// The most bytes the buffer has held so far.
    #[cfg(test)]
    fn peak(&self) -> usize {
        self.peak
    }

    fn block(&mut self, data: Vec<u8>) -> Block {
        let index = self.next_index;
        self.next_index += 1;
        Block {
            index,
            data,
            too_large: None,
        }
    }
}

impl Iterator for BlockReader {
    type Item = Result<Block, SourceError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_block().transpose()
    }
}

/// Non-empty names given more than once, each once, in order of first repeat
/// (blank names, e.g. from trailing delimiters, cannot be mapped and are let be).
fn duplicate_names(names: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut dups: Vec<String> = Vec::new();
    for n in names.iter().filter(|n| !n.is_empty()) {
        if !seen.insert(n.as_str()) && !dups.contains(n) {
            dups.push(n.clone());
        }
    }
    dups
}

mod scan;
#[cfg(test)]
mod tests;

pub use scan::detect_delimiter;
use scan::{Scan, Stop, scan_csv};
