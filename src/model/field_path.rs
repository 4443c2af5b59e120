//! [`FieldPath`]: one entry of a row's `changed_fields`, and [`intern`], which lets
//! every row that changes the same attribute share one copy of its path.
//!
//! A dry run of a million rows lists about 16 paths per row. As owned strings, each
//! would be one more allocation per path for the planner to make and the ledger
//! writer's thread to free; interned, a path is a `&'static str` and copying it is
//! free.
//!
//! The vocabulary is small (the mapping's targets, typed paths such as
//! `emails[type eq "work"].value`), so interned paths are kept for the life of the
//! process; past [`MAX_INTERNED`] distinct paths, [`intern`] hands out owned copies
//! instead, so memory stays bounded whatever the data holds. Does not decide which
//! paths changed (see `plan`) nor how they are written (see `writer`).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::Mutex;

/// A SCIM path in a ledger row's `changed_fields`: interned (borrowed) when the
/// planner made it, owned when read back from a file.
pub type FieldPath = Cow<'static, str>;

/// Distinct paths kept per process at most (a few hundred KB).
pub const MAX_INTERNED: usize = 4096;

/// Keys are paths the run itself produced: a fast unkeyed hash will do.
type PathSet = HashSet<&'static str, foldhash::fast::FixedState>;

/// The process's interned paths.
struct Table {
    set: Mutex<Option<PathSet>>,
    limit: usize,
}

impl Table {
    /// The interned copy of `path`, made if there is room.
    fn get_or_leak(&self, path: &str) -> Option<&'static str> {
        let mut set = self.set.lock().unwrap_or_else(|e| e.into_inner());
        let set = set.get_or_insert_with(PathSet::default);
        if let Some(&p) = set.get(path) {
            return Some(p);
        }
        if set.len() >= self.limit {
            return None;
        }
        let p: &'static str = Box::leak(path.into());
        set.insert(p);
        Some(p)
    }
}

static TABLE: Table = Table {
    set: Mutex::new(None),
    limit: MAX_INTERNED,
};

thread_local! {
    /// This thread's view of `TABLE`, so a path seen before costs a hash and no lock.
    static SEEN: RefCell<PathSet> = RefCell::default();
}

/// `path`, shared with every other row that changed the same attribute.
pub fn intern(path: &str) -> FieldPath {
    SEEN.with_borrow_mut(|seen| {
        if let Some(&p) = seen.get(path) {
            return Cow::Borrowed(p);
        }
        match TABLE.get_or_leak(path) {
            Some(p) => {
                seen.insert(p);
                Cow::Borrowed(p)
            }
            None => Cow::Owned(path.to_string()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_paths_share_one_copy_across_threads() {
        let a = intern("urn:test:field_path:title");
        let b = std::thread::spawn(|| intern(&String::from("urn:test:field_path:title")))
            .join()
            .unwrap();
        let (Cow::Borrowed(a), Cow::Borrowed(b)) = (a, b) else {
            panic!("not interned");
        };
        assert!(std::ptr::eq(a, b));
        let Cow::Borrowed(other) = intern("urn:test:field_path:other") else {
            panic!("not interned");
        };
        assert!(!std::ptr::eq(other, b));
    }

    #[test]
    fn past_the_limit_paths_are_not_kept() {
        let t = Table {
            set: Mutex::new(None),
            limit: 2,
        };
        let a = t.get_or_leak("a").unwrap();
        assert!(t.get_or_leak("b").is_some());
        assert_eq!(t.get_or_leak("c"), None, "full");
        assert!(
            std::ptr::eq(t.get_or_leak("a").unwrap(), a),
            "kept ones stay shared"
        );
    }
}
