//! Order statistics over user slots: which slot is the k-th active (or inactive) user
//! in creation order, in O(log n), so a list page costs O(page · log n) and not
//! O(startIndex).
//!
//! Owns one Fenwick tree (binary indexed tree) of 0/1 flags per slot. The store keeps
//! it in step with every insert, state change and delete; it knows nothing of users.

/// A Fenwick tree of 0/1 flags over slots `0..len`, growing by `push`.
#[derive(Debug, Default, Clone)]
pub(crate) struct Rank {
    /// 1-based Fenwick array: `tree[i]` sums flags of slots `(i - lowbit(i), i]`.
    tree: Vec<u32>,
    /// The flags themselves (to make `set` idempotent).
    flags: Vec<bool>,
}

fn lowbit(i: usize) -> usize {
    i & i.wrapping_neg()
}

impl Rank {
    /// Reserves room for `n` more slots.
    pub fn reserve(&mut self, n: usize) {
        self.tree.reserve(n);
        self.flags.reserve(n);
    }

    /// Number of slots tracked.
    pub fn len(&self) -> usize {
        self.flags.len()
    }

    /// Whether no slot is tracked.
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }

    /// Number of flagged slots among the first `n` slots.
    fn prefix(&self, mut n: usize) -> u32 {
        let mut sum = 0;
        while n > 0 {
            sum += self.tree[n - 1];
            n -= lowbit(n);
        }
        sum
    }

    /// Appends a slot with `flag`.
    pub fn push(&mut self, flag: bool) {
        let i = self.tree.len() + 1;
        // tree[i] covers (i - lowbit(i), i]: the new flag plus slots (i - lowbit(i), i - 1].
        let covered = self.prefix(i - 1) - self.prefix(i - lowbit(i));
        self.tree.push(covered + u32::from(flag));
        self.flags.push(flag);
    }

    /// Sets slot `idx`'s flag (a slot past the end is ignored).
    pub fn set(&mut self, idx: usize, flag: bool) {
        let Some(old) = self.flags.get_mut(idx) else {
            return;
        };
        if *old == flag {
            return;
        }
        *old = flag;
        let mut i = idx + 1;
        while i <= self.tree.len() {
            if flag {
                self.tree[i - 1] += 1;
            } else {
                self.tree[i - 1] -= 1;
            }
            i += lowbit(i);
        }
    }

    /// The slot holding the `k`-th flag (0-based), if there are more than `k` flags.
    pub fn nth(&self, k: usize) -> Option<usize> {
        if self.is_empty() {
            return None;
        }
        let n = self.tree.len();
        let mut pos = 0;
        let mut rest = u32::try_from(k).ok()?;
        let mut step = 1 << (usize::BITS - 1 - n.leading_zeros());
        while step > 0 {
            let next = pos + step;
            if next <= n && self.tree[next - 1] <= rest {
                pos = next;
                rest -= self.tree[next - 1];
            }
            step >>= 1;
        }
        // `pos` slots hold exactly k flags; the next slot is the k-th.
        (pos < n).then_some(pos)
    }

    /// Up to `count` flagged slots starting at the `skip`-th, in slot order. Walks the
    /// flags from the first hit, so it costs O(log n + the slots it passes).
    #[cfg(test)]
    pub fn page(&self, skip: usize, count: usize) -> Vec<u32> {
        self.page_examined(skip, count).0
    }

    /// [`Rank::page`] with the number of slots and tree nodes it examined (what the
    /// emulator's stats report as paging cost).
    pub fn page_examined(&self, skip: usize, count: usize) -> (Vec<u32>, u64) {
        let depth = u64::from(usize::BITS - self.tree.len().leading_zeros());
        let mut examined = depth;
        if count == 0 {
            return (Vec::new(), 0);
        }
        let Some(first) = self.nth(skip) else {
            return (Vec::new(), examined);
        };
        let mut out = Vec::with_capacity(count.min(1024));
        let mut i = first;
        while out.len() < count && i < self.flags.len() {
            examined += 1;
            if self.flags[i] {
                out.push(i as u32);
            }
            i += 1;
            // A long run of unflagged slots: jump with another O(log n) search.
            if !self.flags.get(i).copied().unwrap_or(true) && out.len() < count {
                examined += depth;
                match self.nth(skip + out.len()) {
                    Some(next) => i = next,
                    None => break,
                }
            }
        }
        (out, examined)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nth_and_page_follow_flags() {
        let mut r = Rank::default();
        for f in [true, false, true, true, false, true] {
            r.push(f);
        }
        assert_eq!(r.nth(0), Some(0));
        assert_eq!(r.nth(1), Some(2));
        assert_eq!(r.nth(3), Some(5));
        assert_eq!(r.nth(4), None);
        assert_eq!(r.page(1, 2), vec![2, 3]);
        r.set(2, false);
        r.set(4, true);
        assert_eq!(r.page(0, 10), vec![0, 3, 4, 5]);
        assert_eq!(r.page(4, 10), Vec::<u32>::new());
        assert_eq!(r.page(0, 0), Vec::<u32>::new());
        assert_eq!(Rank::default().nth(0), None);
    }

    proptest! {
        /// Against a plain filter-skip-take over the flags.
        #[test]
        fn page_matches_a_scan(
            flags in proptest::collection::vec(any::<bool>(), 0..300),
            flips in proptest::collection::vec((0usize..300, any::<bool>()), 0..50),
            skip in 0usize..320,
            count in 0usize..40,
        ) {
            let mut r = Rank::default();
            let mut plain = flags.clone();
            for &f in &flags {
                r.push(f);
            }
            for (i, f) in flips {
                if i < plain.len() {
                    plain[i] = f;
                }
                r.set(i, f);
            }
            let want: Vec<u32> = (0..plain.len())
                .filter(|&i| plain[i])
                .skip(skip)
                .take(count)
                .map(|i| i as u32)
                .collect();
            prop_assert_eq!(r.page(skip, count), want);
        }
    }
}
