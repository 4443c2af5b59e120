//! String columns for the ledger writer built as Arrow string *views* over strings
//! stored once, instead of copying every value into a `StringBuilder`.
//!
//! A dry run's ledger repeats the same few strings on every row: `run_id`, the
//! `action` and `outcome` spellings, and above all the SCIM paths of
//! `changed_fields` (16 or so per create, about 560 bytes a row). Copying them into
//! builders was a third of the ledger's cost. Here each distinct string is stored
//! once ([`Interned`]) and every value is a 16-byte view of it; Parquet writes a
//! view column exactly like a `Utf8` one (same physical type, same encodings), and
//! the file keeps the pinned `Utf8` / `List<Utf8>` schema (the writer's schema, not
//! the batch's, goes into the file).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use arrow_array::builder::make_view;
use arrow_array::{ArrayRef, ListArray, StringViewArray};
use arrow_buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{ArrowError, DataType, Field, FieldRef};

/// Distinct strings kept across batches before the store starts afresh (at the next
/// batch), so a run whose `changed_fields` never repeat cannot grow it without bound.
const MAX_STRINGS: usize = 4096;
/// Bytes of distinct strings kept across batches before the store starts afresh.
const MAX_BYTES: usize = 1 << 20;
/// Longest string the store keeps (longer ones go to a block of their batch only).
const MAX_LEN: usize = 1024;

/// A fast hash for short strings (the store's keys): FNV-1a over 8-byte words.
#[derive(Default)]
struct WordHasher(u64);

impl Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0 ^ 0xcbf2_9ce4_8422_2325;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = (h ^ u64::from_le_bytes(w)).wrapping_mul(0x0100_0000_01b3);
            h = h.rotate_left(29);
        }
        for &b in chunks.remainder() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// Each distinct string stored once, as the Arrow view that points at it.
///
/// Strings of 12 bytes or less live inside their view (no storage). Longer ones are
/// kept in blocks: `sealed` blocks were handed to earlier batches; `open` collects
/// the strings first seen in the current batch and is sealed by [`Interned::finish`].
/// A view's block index is the index its block has (or will have) in `sealed`.
pub(super) struct Interned {
    sealed: Vec<Buffer>,
    open: Vec<u8>,
    /// Strings too long to keep, or met after the store filled up: this batch only.
    spill: Vec<u8>,
    /// Views of `spill`, patched with its block index on `finish` (offsets known).
    spill_views: Vec<usize>,
    map: HashMap<Box<str>, u128, BuildHasherDefault<WordHasher>>,
    bytes: usize,
    /// Recently used views of long strings (see [`Self::push`]); 0 is empty.
    slots: Box<[u128]>,
    /// Set when the store is full: it starts afresh on the next `finish`.
    full: bool,
}

/// Slots of [`Interned`]'s cache: 2^SLOT_BITS.
const SLOT_BITS: u32 = 10;

impl Default for Interned {
    fn default() -> Self {
        Interned {
            sealed: Vec::new(),
            open: Vec::new(),
            spill: Vec::new(),
            spill_views: Vec::new(),
            map: HashMap::default(),
            bytes: 0,
            slots: vec![0u128; 1 << SLOT_BITS].into_boxed_slice(),
            full: false,
        }
    }
}

impl Interned {
    /// Whether `view` (made by this store, before `finish` moved on) shows `s`.
    fn same(&self, view: u128, s: &[u8]) -> bool {
        let len = (view as u32) as usize;
        if len != s.len() {
            return false;
        }
        if len <= 12 {
            // An inlined view holds its bytes right after the 4-byte length.
            return view.to_le_bytes()[4..4 + len] == *s;
        }
        let block = ((view >> 64) as u32) as usize;
        let offset = ((view >> 96) as u32) as usize;
        let buf: &[u8] = match self.sealed.get(block) {
            Some(b) => b.as_slice(),
            None => &self.open,
        };
        buf.get(offset..offset + len) == Some(s)
    }

    /// Pushes the view of `s` onto `out`: first tried in a small direct-mapped cache
    /// keyed by the string's length and its first and last 8 bytes (one compare when
    /// it hits), then looked up in the store, then stored.
    pub(super) fn push(&mut self, s: &str, out: &mut Vec<u128>) {
        let b = s.as_bytes();
        if b.len() <= 12 {
            out.push(make_view(b, 0, 0));
            return;
        }
        let mut head = [0u8; 8];
        let mut tail = [0u8; 8];
        head.copy_from_slice(&b[..8]);
        tail.copy_from_slice(&b[b.len() - 8..]);
        let key = (u64::from_le_bytes(head) ^ u64::from_le_bytes(tail).rotate_left(17))
            .wrapping_add(b.len() as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let slot = (key >> (64 - SLOT_BITS)) as usize;
        let v = self.slots[slot];
        if v != 0 && self.same(v, b) {
            out.push(v);
            return;
        }
        if let Some(v) = self.view(s, out) {
            self.slots[slot] = v;
        }
    }

    /// Pushes the view of `s` onto `out`; returns it when it may be reused later in
    /// this batch and the next ones (`None` for a spilled string).
    pub(super) fn view(&mut self, s: &str, out: &mut Vec<u128>) -> Option<u128> {
        let b = s.as_bytes();
        if b.len() <= 12 {
            let v = make_view(b, 0, 0);
            out.push(v);
            return Some(v);
        }
        if let Some(v) = self.map.get(s) {
            out.push(*v);
            return Some(*v);
        }
        if b.len() > MAX_LEN || self.full {
            self.spill_views.push(out.len());
            out.push(make_view(b, 0, len_u32(self.spill.len())));
            self.spill.extend_from_slice(b);
            return None;
        }
        let v = make_view(b, len_u32(self.sealed.len()), len_u32(self.open.len()));
        self.open.extend_from_slice(b);
        self.bytes += b.len();
        self.map.insert(s.into(), v);
        if self.map.len() >= MAX_STRINGS || self.bytes >= MAX_BYTES {
            self.full = true;
        }
        out.push(v);
        Some(v)
    }

    /// The blocks the views made since the last `finish` point into, with `views`
    /// patched for this batch's spilled strings; then seals the open block and,
    /// when full, starts afresh for the next batch.
    pub(super) fn finish(&mut self, views: &mut [u128]) -> Arc<[Buffer]> {
        if !self.open.is_empty() {
            let open = std::mem::take(&mut self.open);
            self.sealed.push(Buffer::from_vec(open));
        }
        let mut blocks = self.sealed.clone();
        if !self.spill.is_empty() {
            let block = len_u32(blocks.len());
            for &i in &self.spill_views {
                let v = views[i];
                // Bits 64..96 hold the block index.
                views[i] = (v & !(u128::from(u32::MAX) << 64)) | (u128::from(block) << 64);
            }
            blocks.push(Buffer::from_vec(std::mem::take(&mut self.spill)));
            self.spill_views.clear();
        }
        if self.full {
            *self = Interned::default();
        }
        blocks.into()
    }
}

fn len_u32(n: usize) -> u32 {
    // Blocks hold at most MAX_BYTES plus one batch's spill: far below 4 GiB.
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A `Utf8View` column whose values all come from an [`Interned`] store.
pub(super) fn string_views(mut views: Vec<u128>, store: &mut Interned) -> StringViewArray {
    let blocks = store.finish(&mut views);
    // SAFETY: every view was made by `make_view` from a `&str` (valid UTF-8) with the
    // offset at which `Interned` stored exactly those bytes in the block whose index
    // the view holds (open blocks are sealed in order, spilled views are patched to
    // the spill block's index by `finish`), so `try_new` would accept them. Checking
    // every value again (UTF-8 and bounds) would cost what the views save; the tests
    // run `validate_full` on the arrays built here.
    unsafe { StringViewArray::new_unchecked(ScalarBuffer::from(views), blocks, None) }
}

/// The `changed_fields` column: a list of non-null `Utf8View` items.
pub(super) fn list_of_views(
    offsets: Vec<i32>,
    views: Vec<u128>,
    store: &mut Interned,
) -> Result<ListArray, ArrowError> {
    let values = string_views(views, store);
    ListArray::try_new(
        item_view_field(),
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        Arc::new(values) as ArrayRef,
        None,
    )
}

/// The element field of the `changed_fields` batches (views; the file says `Utf8`).
pub(super) fn item_view_field() -> FieldRef {
    static ITEM: std::sync::LazyLock<FieldRef> =
        std::sync::LazyLock::new(|| Arc::new(Field::new("item", DataType::Utf8View, false)));
    ITEM.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;

    fn read(a: &StringViewArray) -> Vec<String> {
        a.to_data().validate_full().unwrap();
        (0..a.len()).map(|i| a.value(i).to_string()).collect()
    }

    #[test]
    fn views_read_back_across_batches_spills_and_a_reset() {
        let mut store = Interned::default();
        let long = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department";
        let huge = "x".repeat(MAX_LEN + 1);
        let mut expect_all = Vec::new();
        for batch in 0..3 {
            let mut views = Vec::new();
            let mut expect = Vec::new();
            for row in 0..50 {
                let items: Vec<String> = vec![
                    "title".into(),
                    long.into(),
                    format!("a fresh string of batch {batch} row {row}"),
                    if row % 2 == 0 {
                        huge.clone()
                    } else {
                        long.into()
                    },
                    String::new(),
                ];
                for s in &items {
                    store.push(s, &mut views);
                }
                expect.extend(items);
            }
            let a = string_views(views, &mut store);
            assert_eq!(read(&a), expect);
            expect_all.push((a, expect));
        }
        // Earlier batches' arrays still read the same (their blocks are shared).
        for (a, expect) in &expect_all {
            assert_eq!(&read(a), expect);
        }
    }

    #[test]
    fn a_full_store_starts_afresh_and_stays_correct() {
        let mut store = Interned::default();
        for batch in 0..3 {
            let mut views = Vec::new();
            let mut expect = Vec::new();
            for i in 0..(MAX_STRINGS + 10) {
                let s = format!("batch {batch} string number {i:06}");
                store.push(&s, &mut views);
                expect.push(s);
            }
            assert!(store.full);
            let a = string_views(views, &mut store);
            assert!(!store.full, "reset after the batch");
            assert_eq!(read(&a), expect);
        }
    }
}
