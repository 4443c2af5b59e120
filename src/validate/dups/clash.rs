//! The clash map: which rows share a key, built from one sorted stream of tagged
//! `(key hash, row)` pairs, and the duplicate errors it adds to a row.
//!
//! Owns [`Dups`] and the group detection; does not collect or spill pairs (see
//! the parent module and `spill`). Memory is per clashing row, not per input row:
//! one 16-byte `(row, group)` note per row and clashing key, plus per set of rows
//! sharing a key value a 16-byte [`Group`] and its first `MAX_NAMED + 1` rows
//! (8 bytes each): 32 bytes per clashing row and key when every group is a pair,
//! about 16 bytes when groups are large (plus vector growth slack, up to 2x).

use super::{MAX_NAMED, USER_NAME_TAG};
use crate::mapping::{Mapping, MatchKey, Target};
use crate::model::ErrorKind;
use crate::validate::RowError;

/// Rows that share one key value.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    /// Where the group's first rows start in `members`: its first
    /// `min(size, MAX_NAMED + 1)` rows, ascending, enough to name `MAX_NAMED`
    /// others for any member.
    start: usize,
    /// How many rows share the value (a row named twice counts twice).
    size: u64,
}

/// Rows per group kept in `members`.
const KEPT: u64 = MAX_NAMED as u64 + 1;

/// The other rows each clashing row shares a key with.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Dups {
    /// `(row, index into groups)`, sorted and deduplicated.
    notes: Vec<(u64, usize)>,
    /// ExternalId groups, then userName groups (the stream's order).
    groups: Vec<Group>,
    /// Index of the first userName group.
    user_from: usize,
    /// The first rows of each group.
    members: Vec<u64>,
    /// Distinct rows among `notes`.
    rows: usize,
}

/// Builds [`Dups`] from tagged `(hash, row)` pairs fed in ascending order.
#[derive(Debug, Default)]
pub(super) struct Grouper {
    /// The current run of equal hashes: its hash, and its first row while it has
    /// only one (no group yet).
    current: Option<(u64, u64)>,
    /// Whether the current run already became a group (the last of `groups`).
    open: bool,
    notes: Vec<(u64, usize)>,
    groups: Vec<Group>,
    user_from: Option<usize>,
    members: Vec<u64>,
}

impl Grouper {
    /// Feeds the next pair; pairs must come sorted by `(hash, row)`.
    pub(super) fn feed(&mut self, hash: u64, row: u64) {
        match self.current {
            Some((h, first)) if h == hash => {
                if !self.open {
                    if hash & USER_NAME_TAG != 0 && self.user_from.is_none() {
                        self.user_from = Some(self.groups.len());
                    }
                    self.groups.push(Group {
                        start: self.members.len(),
                        size: 0,
                    });
                    self.open = true;
                    self.add(first);
                }
                self.add(row);
            }
            _ => {
                self.current = Some((hash, row));
                self.open = false;
            }
        }
    }

    fn add(&mut self, row: u64) {
        let gid = self.groups.len() - 1;
        if let Some(g) = self.groups.last_mut() {
            if g.size < KEPT {
                self.members.push(row);
            }
            g.size += 1;
        }
        if self.notes.last() != Some(&(row, gid)) {
            self.notes.push((row, gid));
        }
    }

    /// The clash map.
    pub(super) fn finish(self) -> Dups {
        let mut notes = self.notes;
        notes.sort_unstable();
        notes.dedup();
        notes.shrink_to_fit();
        let mut rows = 0;
        let mut last = None;
        for &(r, _) in &notes {
            if last != Some(r) {
                rows += 1;
                last = Some(r);
            }
        }
        let user_from = self.user_from.unwrap_or(self.groups.len());
        let mut members = self.members;
        members.shrink_to_fit();
        let mut groups = self.groups;
        groups.shrink_to_fit();
        Dups {
            notes,
            groups,
            user_from,
            members,
            rows,
        }
    }
}

impl Dups {
    /// Number of rows that clash with another.
    pub fn len(&self) -> usize {
        self.rows
    }
    /// Whether no row clashes.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Whether `row` clashes with another row on some key.
    #[inline]
    pub fn flags(&self, row: u64) -> bool {
        !self.notes.is_empty() && {
            let at = self.notes.partition_point(|&(r, _)| r < row);
            self.notes.get(at).is_some_and(|&(r, _)| r == row)
        }
    }

    /// For each key `row` clashes on, in key order (externalId first): the key, up
    /// to `MAX_NAMED` other rows (ascending) and the number of other rows.
    pub fn clashes(&self, row: u64) -> impl Iterator<Item = (MatchKey, Vec<u64>, u64)> + '_ {
        let start = self.notes.partition_point(|&(r, _)| r < row);
        self.notes[start..]
            .iter()
            .take_while(move |&&(r, _)| r == row)
            .filter_map(move |&(_, gid)| {
                let g = self.groups.get(gid)?;
                let kept = g.size.min(KEPT) as usize;
                let first = self.members.get(g.start..g.start + kept)?;
                let key = if gid < self.user_from {
                    MatchKey::ExternalId
                } else {
                    MatchKey::UserName
                };
                Some((key, first, g.size))
            })
            .map(move |(key, first, size)| {
                let others: Vec<u64> = first
                    .iter()
                    .copied()
                    .filter(|&o| o != row)
                    .take(MAX_NAMED)
                    .collect();
                (key, others, size - 1)
            })
    }

    /// Adds `row`'s duplicate errors, naming the other rows.
    pub fn add_errors(
        &self,
        m: &Mapping,
        row: u64,
        value: [Option<&str>; 2],
        errors: &mut Vec<RowError>,
    ) {
        if self.notes.is_empty() {
            return;
        }
        for (key, others, total) in self.clashes(row) {
            let (t, kind, name, v) = match key {
                MatchKey::ExternalId => (
                    Target::ExternalId,
                    ErrorKind::DuplicateExternalId,
                    "externalId",
                    value[0],
                ),
                MatchKey::UserName => (
                    Target::UserName,
                    ErrorKind::DuplicateUserName,
                    "userName",
                    value[1],
                ),
            };
            let mut list: Vec<String> = others.iter().map(|r| r.to_string()).collect();
            let named = others.len() as u64;
            if total > named {
                list.push(format!("and {} more", total - named));
            }
            let rows = list.join(", ");
            let plural = if total > 1 { "s" } else { "" };
            errors.push(RowError {
                row,
                column: m
                    .field(&t)
                    .map(|f| f.label.clone())
                    .filter(|l| !l.is_empty()),
                path: Some(t.path()),
                value: v.map(|v| crate::mapping::transform::shorten(v, 60)),
                kind,
                problem: format!("the same {name} is also on row{plural} {rows}"),
                fix: format!("give each user its own {name}, or remove the duplicate row"),
            });
        }
    }
}
