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

use std::io::Read;

use memchr::{memchr, memchr2, memrchr};

use super::{Format, Header, SourceError};

/// Default target size of a block in bytes: small enough that a block and its
/// prepared rows stay in the allocator's reusable size classes (no fresh pages per
/// block), big enough to amortise the hand-off.
pub const DEFAULT_BLOCK_BYTES: usize = 256 * 1024;

/// A run of whole records.
#[derive(Debug)]
pub struct Block {
    /// 0-based position of the block in the input.
    pub index: usize,
    /// The bytes: whole records (for CSV without the header row).
    pub data: Vec<u8>,
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
    next_index: usize,
    /// Bytes the boundary scans have looked at, for the linear-time test.
    scanned: u64,
}

/// Incremental NDJSON boundary scan state, positions relative to `buf`.
#[derive(Debug, Default, Clone, Copy)]
struct NdScan {
    pos: usize,
    last_cut: Option<usize>,
}

/// Incremental CSV boundary scan state, positions relative to `buf`.
#[derive(Debug, Default, Clone, Copy)]
struct Scan {
    pos: usize,
    in_quotes: bool,
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
    /// delimiter (when `delimiter` is `None`), and reads the header.
    pub fn try_new(
        rdr: Box<dyn Read + Send>,
        label: &str,
        format: Option<Format>,
        format_hint: Option<Format>,
        delimiter: Option<u8>,
        block_bytes: usize,
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
            next_index: 0,
            scanned: 0,
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
            let n = self.min_read();
            self.fill(n)?;
        };
        let first_line = &self.buf[..first_end];
        self.delimiter = delimiter.unwrap_or_else(|| detect_delimiter(first_line));
        let mut scan = Scan::default();
        loop {
            let from = scan.pos;
            scan_csv(&self.buf, &mut scan, Some(self.delimiter), true);
            self.scanned += scan.pos.saturating_sub(from) as u64;
            if scan.last_cut.is_some() || self.eof {
                break;
            }
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
                    self.fill(256 * 1024)?;
                }
            }
        }
    }

    /// The next block of whole records, or `None` at the end of the input.
    pub fn next_block(&mut self) -> Result<Option<Block>, SourceError> {
        loop {
            let cut = match self.format {
                Format::Csv => {
                    let from = self.scan.pos;
                    scan_csv(&self.buf, &mut self.scan, Some(self.delimiter), false);
                    self.scanned += self.scan.pos.saturating_sub(from) as u64;
                    self.scan.last_cut
                }
                Format::Ndjson => {
                    // Only the bytes read since the last search are new.
                    let from = self.nd_scan.pos;
                    self.scanned += (self.buf.len() - from) as u64;
                    if let Some(p) = memrchr(b'\n', &self.buf[from..]) {
                        self.nd_scan.last_cut = Some(from + p + 1);
                    }
                    self.nd_scan.pos = self.buf.len();
                    self.nd_scan.last_cut
                }
            };
            if self.buf.len() >= self.block_bytes
                && let Some(cut) = cut
            {
                let mut rest = Vec::with_capacity(self.block_bytes + 64 * 1024);
                rest.extend_from_slice(&self.buf[cut..]);
                let mut data = std::mem::replace(&mut self.buf, rest);
                data.truncate(cut);
                // Both scans stopped at or after `cut`; only one format uses its own.
                self.scan.pos = self.scan.pos.saturating_sub(cut);
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

    /// Bytes the boundary scans have looked at so far.
    #[cfg(test)]
    fn scanned(&self) -> u64 {
        self.scanned
    }

    fn block(&mut self, data: Vec<u8>) -> Block {
        let index = self.next_index;
        self.next_index += 1;
        Block { index, data }
    }
}

impl Iterator for BlockReader {
    type Item = Result<Block, SourceError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_block().transpose()
    }
}

/// Advances the boundary scan over `buf` from `scan.pos`; records in
/// `scan.last_cut` the position just after the last newline outside quotes. With
/// `first_only`, stops at the first such newline.
fn scan_csv(buf: &[u8], scan: &mut Scan, delim: Option<u8>, first_only: bool) {
    let is_delim = |b: u8| delim == Some(b);
    let mut i = scan.pos;
    while i < buf.len() {
        if scan.in_quotes {
            match memchr(b'"', &buf[i..]) {
                None => i = buf.len(),
                Some(k) => {
                    let q = i + k;
                    if q + 1 >= buf.len() {
                        // Cannot tell `""` from a closing quote yet: wait for more bytes.
                        i = q;
                        break;
                    }
                    if buf[q + 1] == b'"' {
                        i = q + 2;
                    } else {
                        scan.in_quotes = false;
                        i = q + 1;
                    }
                }
            }
        } else {
            match memchr2(b'"', b'\n', &buf[i..]) {
                None => i = buf.len(),
                Some(k) => {
                    let p = i + k;
                    i = p + 1;
                    if buf[p] == b'\n' {
                        scan.last_cut = Some(p + 1);
                        if first_only {
                            break;
                        }
                    } else {
                        let at_field_start =
                            p == 0 || matches!(buf[p - 1], b'\n' | b'\r') || is_delim(buf[p - 1]);
                        if at_field_start {
                            scan.in_quotes = true;
                        }
                    }
                }
            }
        }
    }
    scan.pos = i;
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

/// The most frequent of `,` `;` tab `|` outside quotes in the header line (`,` when
/// none occurs).
pub fn detect_delimiter(line: &[u8]) -> u8 {
    let mut counts = [0usize; 4];
    let cands = [b',', b';', b'\t', b'|'];
    let mut in_quotes = false;
    for &b in line {
        if b == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes && let Some(i) = cands.iter().position(|&c| c == b) {
            counts[i] += 1;
        }
    }
    let mut best = 0;
    for i in 1..4 {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    if counts[best] == 0 { b',' } else { cands[best] }
}

#[cfg(test)]
mod tests;
