//! [`ByteColumn`]: the ledger's string columns without statistics (`changed_fields`,
//! the ids, names, hashes and errors, `run_id`, `action`, `outcome`), encoded by hand.
//!
//! Through parquet-rs's Arrow writer each value was copied into a builder, copied again
//! into the column writer's page buffer, hashed into the dictionary (for dictionary
//! columns), and compressed into a fresh, zeroed, reallocated buffer per page: most of
//! what the ledger cost. Here values go straight from the row into the page being
//! built, and every buffer is reused.
//!
//! Dictionary columns find a value's entry by guessing first: the two entries that
//! last followed the previous value of the row's list (or, for a flat column, the two
//! last values). For `changed_fields` that is right for nearly every path, since rows
//! list their paths in the mapping's order, and an interned path ([`FieldPath`]) is
//! told by its address without reading its bytes. Only a miss hashes.
//!
//! The file is the Parquet that parquet-rs would write: per row group a dictionary
//! page (PLAIN) for dictionary columns, and data pages v1 (RLE levels; RLE_DICTIONARY
//! indices or PLAIN values), Snappy compressed and written by parquet-rs's own page
//! writer, then spliced into the row group with
//! `SerializedRowGroupWriter::append_column`. A row group whose dictionary outgrows
//! [`DICT_LIMIT`] writes PLAIN pages for the rest, as parquet-rs does. No statistics:
//! the ledger writer keeps parquet-rs for the columns that have them.

use std::borrow::Cow;
use std::collections::HashMap;

use bytes::Bytes;
use parquet::basic::{Compression, Encoding};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::ParquetError;
use parquet::file::metadata::ColumnChunkMetaData;
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

use super::rle;
use crate::model::field_path::{FieldPath, same};

/// Dictionary bytes after which a row group's later pages are PLAIN (parquet-rs's
/// default dictionary page limit).
pub const DICT_LIMIT: usize = 1024 * 1024;

const NONE: u32 = u32::MAX;

/// What a column holds per row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A required list of required strings (`changed_fields`): levels 0..=1 each way.
    List,
    /// A required string: no levels.
    Required,
    /// An optional string: definition levels only.
    Optional,
}

/// Builds one string column's chunk, one row group at a time.
pub struct ByteColumn {
    descr: ColumnDescPtr,
    shape: Shape,
    dict_limit: usize,
    snappy: snap::raw::Encoder,
    // The row group's dictionary: its PLAIN page body, where each entry's bytes are,
    // a hash index for misses, and the entry that followed each entry last time.
    dict: Vec<u8>,
    spans: Vec<(usize, usize)>,
    index: HashMap<Box<[u8]>, u32, foldhash::fast::FixedState>,
    /// The two entries that last followed each entry, most recent first.
    next: Vec<[u32; 2]>,
    /// Each entry's interned path, once one was pushed: compared by address.
    interned: Vec<Option<&'static str>>,
    first: [u32; 2],
    /// No dictionary, or it is full: pages hold PLAIN values.
    plain: bool,
    /// The column is dictionary encoded (until its dictionary is full).
    dictionary: bool,
    pages: Vec<CompressedPage>,
    levels: i64,
    rows: u64,
    unencoded: i64,
    // The page being built: each row's list length (for a flat column, 1 for a value
    // and 0 for a null), then the levels made from them.
    lens: Vec<u32>,
    bitmap: Vec<u8>,
    compressed: Vec<u8>,
    ids: Vec<u32>,
    values: Vec<u8>,
    buf: Vec<u8>,
}

impl ByteColumn {
    /// A writer for the leaf `descr`: `changed_fields.list.item` (a required list of
    /// required strings) or a flat string, required or optional. Dictionary encoded
    /// when `dictionary`, else PLAIN.
    pub fn new(descr: ColumnDescPtr, dictionary: bool) -> Self {
        let shape = match (descr.max_def_level(), descr.max_rep_level()) {
            (1, 1) => Shape::List,
            (0, 0) => Shape::Required,
            (1, 0) => Shape::Optional,
            levels => unreachable!("no ledger column has levels {levels:?}"),
        };
        ByteColumn {
            descr,
            shape,
            dict_limit: DICT_LIMIT,
            snappy: snap::raw::Encoder::new(),
            dict: Vec::new(),
            spans: Vec::new(),
            index: HashMap::default(),
            next: Vec::new(),
            interned: Vec::new(),
            first: [NONE; 2],
            plain: !dictionary,
            dictionary,
            pages: Vec::new(),
            levels: 0,
            rows: 0,
            unencoded: 0,
            lens: Vec::new(),
            bitmap: Vec::new(),
            compressed: Vec::new(),
            ids: Vec::new(),
            values: Vec::new(),
            buf: Vec::new(),
        }
    }

    #[cfg(test)]
    pub(super) fn set_dict_limit(&mut self, limit: usize) {
        self.dict_limit = limit;
    }

    /// Appends one row's list (a `List` column).
    pub fn push_list(&mut self, fields: &[FieldPath]) -> Result<(), ParquetError> {
        debug_assert_eq!(self.shape, Shape::List);
        self.start_row(fields.len() as u32)?;
        let mut prev = NONE;
        for f in fields {
            let interned = match f {
                Cow::Borrowed(p) => Some(*p),
                Cow::Owned(_) => None,
            };
            prev = self.push_value(f.as_bytes(), interned, prev);
        }
        Ok(())
    }

    /// Appends one row's value (a flat column; `None` only when it is optional).
    pub fn push(&mut self, value: Option<&str>) -> Result<(), ParquetError> {
        debug_assert!(self.shape != Shape::List);
        debug_assert!(value.is_some() || self.shape == Shape::Optional);
        self.start_row(u32::from(value.is_some()))?;
        if let Some(v) = value {
            self.push_value(v.as_bytes(), None, NONE);
        }
        Ok(())
    }

    fn start_row(&mut self, len: u32) -> Result<(), ParquetError> {
        if !self.plain && self.dict.len() > self.dict_limit {
            // Pages break between rows: what is built so far keeps its indices.
            self.finish_page()?;
            self.plain = true;
        }
        self.rows += 1;
        self.lens.push(len);
        Ok(())
    }

    /// Appends value `f` (`interned`: the same, interned) after the row's value `prev`
    /// (`NONE`: the first, or a flat column); returns its dictionary entry (`NONE`
    /// when PLAIN).
    #[inline(always)]
    fn push_value(&mut self, f: &[u8], interned: Option<&'static str>, prev: u32) -> u32 {
        self.unencoded += f.len() as i64;
        if self.plain {
            self.values
                .extend_from_slice(&(f.len() as u32).to_le_bytes());
            self.values.extend_from_slice(f);
            return NONE;
        }
        let [a, b] = *self.guesses(prev);
        let id = if a != NONE && self.is(a, f, interned) {
            a
        } else {
            let id = if b != NONE && self.is(b, f, interned) {
                b
            } else {
                self.lookup(f, interned)
            };
            *self.guesses(prev) = [id, a];
            id
        };
        self.ids.push(id);
        id
    }

    /// Entry `id` is `f`: by address when both are the same interned path, else by
    /// bytes.
    #[inline(always)]
    fn is(&self, id: u32, f: &[u8], interned: Option<&'static str>) -> bool {
        match (self.interned[id as usize], interned) {
            (Some(known), Some(f)) if same(known, f) => true,
            _ => entry(&self.dict, &self.spans, id) == f,
        }
    }

    /// The guesses for the path after entry `prev` (`NONE`: the list's first path).
    #[inline(always)]
    fn guesses(&mut self, prev: u32) -> &mut [u32; 2] {
        if prev == NONE {
            &mut self.first
        } else {
            &mut self.next[prev as usize]
        }
    }

    fn lookup(&mut self, f: &[u8], interned: Option<&'static str>) -> u32 {
        if let Some(&id) = self.index.get(f) {
            let known = &mut self.interned[id as usize];
            *known = known.or(interned);
            return id;
        }
        let id = self.spans.len() as u32;
        self.dict.extend_from_slice(&(f.len() as u32).to_le_bytes());
        self.spans.push((self.dict.len(), f.len()));
        self.dict.extend_from_slice(f);
        self.index.insert(f.into(), id);
        self.next.push([NONE; 2]);
        self.interned.push(interned);
        id
    }

    /// Ends the page being built (call between batches; pages end between rows).
    pub fn finish_page(&mut self) -> Result<(), ParquetError> {
        if self.lens.is_empty() {
            return Ok(());
        }
        self.buf.clear();
        // Each row has one level per item, or one for an empty list or a null.
        // Repetition (lists): 0 starts a row, 1 continues its list. Definition (lists
        // and optional values): 1 for an item or a value, 0 for an empty list or a
        // null. Both are mostly 1.
        let count: usize = self.lens.iter().map(|&n| n.max(1) as usize).sum();
        let starts = self.lens.iter().scan(0, |at, &n| {
            let start = *at;
            *at += n.max(1) as usize;
            Some((start, n))
        });
        let rep = starts.clone().map(|(start, _)| start);
        let def = starts.filter(|&(_, n)| n == 0).map(|(start, _)| start);
        let bitmap = &mut self.bitmap;
        if self.shape == Shape::List {
            length_prefixed(&mut self.buf, |b| rle::ones_except(count, rep, bitmap, b));
        }
        if self.shape != Shape::Required {
            length_prefixed(&mut self.buf, |b| rle::ones_except(count, def, bitmap, b));
        }
        let num_values = count as u32;
        // A page without values (only empty lists or nulls) is PLAIN and empty.
        let encoding = if self.plain || self.ids.is_empty() {
            self.buf.extend_from_slice(&self.values);
            Encoding::PLAIN
        } else {
            let width = rle::bit_width(self.spans.len() as u32 - 1);
            self.buf.push(width);
            rle::encode(&self.ids, width, &mut self.buf);
            Encoding::RLE_DICTIONARY
        };
        self.levels += i64::from(num_values);
        let page = Page::DataPage {
            buf: self.compress()?,
            num_values,
            encoding,
            def_level_encoding: Encoding::RLE,
            rep_level_encoding: Encoding::RLE,
            statistics: None,
        };
        self.pages.push(CompressedPage::new(page, self.buf.len()));
        self.lens.clear();
        self.ids.clear();
        self.values.clear();
        Ok(())
    }

    /// `buf`, compressed. Through a reused buffer: `compress_vec` zeroes a fresh one
    /// every time.
    fn compress(&mut self) -> Result<Bytes, ParquetError> {
        let max = snap::raw::max_compress_len(self.buf.len());
        if self.compressed.len() < max {
            self.compressed.resize(max, 0);
        }
        let n = self
            .snappy
            .compress(&self.buf, &mut self.compressed)
            .map_err(|e| ParquetError::External(Box::new(e)))?;
        Ok(Bytes::copy_from_slice(&self.compressed[..n]))
    }

    /// Rows pushed since the last [`ByteColumn::finish_row_group`].
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The row group's column chunk (dictionary page first, then the data pages) and
    /// what `SerializedRowGroupWriter::append_column` needs to splice it in.
    /// Starts a new row group.
    pub fn finish_row_group(&mut self) -> Result<(Bytes, ColumnCloseResult), ParquetError> {
        self.finish_page()?;
        let mut sink = TrackedWrite::new(Vec::new());
        let mut pages = SerializedPageWriter::new(&mut sink);
        let (mut compressed, mut uncompressed) = (0i64, 0i64);
        let mut dict_offset = None;
        if !self.spans.is_empty() {
            self.buf.clear();
            self.buf.extend_from_slice(&self.dict);
            let page = Page::DictionaryPage {
                buf: self.compress()?,
                num_values: self.spans.len() as u32,
                encoding: Encoding::PLAIN,
                is_sorted: false,
            };
            let spec = pages.write_page(CompressedPage::new(page, self.dict.len()))?;
            dict_offset = Some(spec.offset as i64);
            compressed += spec.compressed_size as i64;
            uncompressed += spec.uncompressed_size as i64;
        }
        let mut data_offset = None;
        for page in self.pages.drain(..) {
            let spec = pages.write_page(page)?;
            data_offset.get_or_insert(spec.offset as i64);
            compressed += spec.compressed_size as i64;
            uncompressed += spec.uncompressed_size as i64;
        }
        pages.close()?;
        let bytes = Bytes::from(sink.into_inner()?);
        let mut encodings = vec![Encoding::PLAIN, Encoding::RLE];
        if dict_offset.is_some() {
            encodings.push(Encoding::RLE_DICTIONARY);
        }
        let metadata = ColumnChunkMetaData::builder(self.descr.clone())
            .set_compression(Compression::SNAPPY)
            .set_encodings(encodings)
            .set_num_values(self.levels)
            .set_total_compressed_size(compressed)
            .set_total_uncompressed_size(uncompressed)
            .set_data_page_offset(data_offset.unwrap_or(0))
            .set_dictionary_page_offset(dict_offset)
            .set_unencoded_byte_array_data_bytes(Some(self.unencoded))
            .build()?;
        let close = ColumnCloseResult {
            bytes_written: compressed as u64,
            rows_written: self.rows,
            metadata,
            bloom_filter: None,
            column_index: None,
            offset_index: None,
        };
        self.dict.clear();
        self.spans.clear();
        self.index.clear();
        self.next.clear();
        self.interned.clear();
        self.first = [NONE; 2];
        self.plain = !self.dictionary;
        self.levels = 0;
        self.rows = 0;
        self.unencoded = 0;
        Ok((bytes, close))
    }
}

/// Appends what `write` writes, after its length (4 bytes, little-endian), as a data
/// page v1 frames its levels.
fn length_prefixed(buf: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
    let at = buf.len();
    buf.extend_from_slice(&[0; 4]);
    write(buf);
    let len = (buf.len() - at - 4) as u32;
    buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
}

/// Entry `id`'s bytes.
fn entry<'a>(dict: &'a [u8], spans: &[(usize, usize)], id: u32) -> &'a [u8] {
    let (start, len) = spans[id as usize];
    &dict[start..start + len]
}

#[cfg(test)]
mod tests;
