//! The CSV boundary scan: where records end (a newline or CR outside quotes,
//! following quoting as csv-core does), where the last whole line ends, and which
//! record passes the length limit; plus delimiter detection. No I/O, no parsing.

use memchr::{memchr, memchr3};

/// Incremental CSV boundary scan state, positions relative to `buf`.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Scan {
    pub(super) pos: usize,
    pub(super) in_quotes: bool,
    pub(super) last_cut: Option<usize>,
    /// Where the record being scanned starts (after the last `\n` or `\r` outside
    /// quotes: csv-core ends a record at either).
    pub(super) rec_start: usize,
    /// The start of a record found longer than the limit; the scan stops there.
    pub(super) oversized: Option<usize>,
}

/// Where a CSV scan stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// At the end of the bytes (or at a record longer than the limit).
    Never,
    /// After the first `\n` outside quotes (the header).
    FirstNewline,
    /// After the first record end (`\n` or `\r`) outside quotes (skipping).
    FirstEnd,
}

/// Advances the boundary scan over `buf` from `scan.pos`; records in
/// `scan.last_cut` the position just after the last newline outside quotes, and
/// in `scan.rec_start` where the current record starts. Stops as `stop` says, or
/// at a record longer than `max` bytes (its start goes to `scan.oversized`).
pub(super) fn scan_csv(buf: &[u8], scan: &mut Scan, delim: Option<u8>, max: usize, stop: Stop) {
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
            match memchr3(b'"', b'\n', b'\r', &buf[i..]) {
                None => i = buf.len(),
                Some(k) => {
                    let p = i + k;
                    if buf[p] == b'"' {
                        i = p + 1;
                        let at_field_start =
                            p == 0 || matches!(buf[p - 1], b'\n' | b'\r') || is_delim(buf[p - 1]);
                        if at_field_start {
                            scan.in_quotes = true;
                        }
                        continue;
                    }
                    if p - scan.rec_start > max {
                        scan.oversized = Some(scan.rec_start);
                        scan.pos = p;
                        return;
                    }
                    i = p + 1;
                    scan.rec_start = i;
                    if buf[p] == b'\n' {
                        scan.last_cut = Some(i);
                        if stop == Stop::FirstNewline {
                            break;
                        }
                    }
                    if stop == Stop::FirstEnd {
                        break;
                    }
                }
            }
        }
    }
    scan.pos = i;
    if buf.len() - scan.rec_start.min(buf.len()) > max {
        scan.oversized = Some(scan.rec_start);
    }
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
