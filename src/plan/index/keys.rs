//! A key → user-slot map that stores only the slot (4 bytes a bucket): the key itself
//! is read back from the user's record, so every hit is verified and two keys that
//! hash alike never match the wrong user.
//!
//! Owns hashing (seeded XXH3, or a test's hasher) and the table. Does not know how a
//! record stores its keys: callers pass a closure that says whether a slot holds the key.

use hashbrown::HashTable;

/// Hashes a key with a seed.
pub type HashFn = fn(u64, &str) -> u64;

/// The hash the key tables use: a seeded function (the seed is random per index, so
/// a tenant cannot pick keys that collide on purpose).
#[derive(Debug, Clone, Copy)]
pub struct KeyHasher {
    seed: u64,
    hash: HashFn,
}

impl Default for KeyHasher {
    fn default() -> Self {
        Self {
            seed: rand::random(),
            hash: xxh3,
        }
    }
}

fn xxh3(seed: u64, key: &str) -> u64 {
    twox_hash::XxHash3_64::oneshot_with_seed(seed, key.as_bytes())
}

impl KeyHasher {
    /// A hasher with a given function (tests force collisions with a constant one).
    #[cfg(test)]
    pub fn with(hash: HashFn) -> Self {
        Self { seed: 0, hash }
    }

    /// The hash of a key.
    pub fn hash(&self, key: &str) -> u64 {
        (self.hash)(self.seed, key)
    }
}

/// Slots by key; `is` says whether a slot's record has the key (the verification).
#[derive(Debug, Default, Clone)]
pub struct KeyTable {
    table: HashTable<u32>,
}

impl KeyTable {
    /// The slot holding `key`.
    pub fn get(&self, hash: u64, is: impl Fn(u32) -> bool) -> Option<u32> {
        self.table.find(hash, |s| is(*s)).copied()
    }

    /// Points `key` at `slot`, replacing the slot it pointed at. `rehash` gives the
    /// hash of the key a slot holds (the table re-buckets entries when it grows).
    pub fn set(
        &mut self,
        hash: u64,
        slot: u32,
        is: impl Fn(u32) -> bool,
        rehash: impl Fn(u32) -> u64,
    ) {
        match self.table.find_mut(hash, |s| is(*s)) {
            Some(s) => *s = slot,
            None => {
                self.table.insert_unique(hash, slot, |s| rehash(*s));
            }
        }
    }

    /// Drops `key` if it points at `slot` (another user may have taken it since).
    pub fn remove_if(&mut self, hash: u64, slot: u32, is: impl Fn(u32) -> bool) {
        if let Ok(e) = self.table.find_entry(hash, |s| is(*s))
            && *e.get() == slot
        {
            e.remove();
        }
    }

    /// Number of keys.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Heap bytes of the table.
    pub fn heap_bytes(&self) -> usize {
        self.table.allocation_size()
    }
}
