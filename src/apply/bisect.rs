//! Finds the members a group PATCH is refused for, so the others still land: a
//! refused batch is split in halves and each half retried (member by member once a
//! batch is small), until each refusal is pinned on a single member.
//!
//! Pure and sans-I/O: [`Bisection`] only says which batch to send next and takes the
//! verdict; `apply::groups` sends the PATCHes. Cost: a batch of `n` members with `k`
//! refused ones takes at most `1 + k · (2·⌈log₂ n⌉ + SMALL_BATCH)` sends (each bad
//! member drags at most two halves per level, then one small batch of singles), and
//! never more than `2n` when every member is bad.

/// Batches of at most this many members are retried one member at a time.
pub const SMALL_BATCH: usize = 4;

/// The search for refused members among batches of items.
#[derive(Debug)]
pub struct Bisection<T> {
    /// Batches still to send, the next at the end.
    todo: Vec<Vec<T>>,
    /// The batch last handed out by [`Bisection::next_batch`].
    current: Vec<T>,
}

impl<T: Clone> Bisection<T> {
    /// A search that first sends `batches` as they are, in order; empty ones are
    /// dropped.
    pub fn new(batches: Vec<Vec<T>>) -> Self {
        let mut todo: Vec<Vec<T>> = batches.into_iter().filter(|b| !b.is_empty()).collect();
        todo.reverse();
        Self {
            todo,
            current: Vec::new(),
        }
    }

    /// The next batch to send, or `None` when the search is over.
    pub fn next_batch(&mut self) -> Option<&[T]> {
        self.current = self.todo.pop()?;
        Some(&self.current)
    }

    /// The batch just sent was refused for one of its members: returns that member
    /// when the batch held only it; otherwise queues its halves (or its members one by
    /// one when small) and returns `None`.
    pub fn refused(&mut self) -> Option<T> {
        let batch = std::mem::take(&mut self.current);
        match batch.len() {
            0 => None,
            1 => batch.into_iter().next(),
            n if n <= SMALL_BATCH => {
                self.todo.extend(batch.into_iter().rev().map(|m| vec![m]));
                None
            }
            n => {
                let mut first = batch;
                let second = first.split_off(n / 2);
                self.todo.push(second);
                self.todo.push(first);
                None
            }
        }
    }
}

/// Runs a whole search with a synchronous sender (`true` when a batch is accepted):
/// the members refused, in input order, and the number of sends. For tests and
/// callers without I/O.
pub fn isolate<T: Clone>(
    batches: Vec<Vec<T>>,
    mut send: impl FnMut(&[T]) -> bool,
) -> (Vec<T>, u64) {
    let mut search = Bisection::new(batches);
    let mut bad = Vec::new();
    let mut sends = 0;
    while let Some(batch) = search.next_batch() {
        sends += 1;
        if !send(batch) {
            bad.extend(search.refused());
        }
    }
    (bad, sends)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    /// The documented bound on sends for one batch of `n` with `k` bad members.
    fn bound(n: usize, k: usize) -> u64 {
        if k == 0 {
            return 1;
        }
        let log = (n.max(2) as f64).log2().ceil() as u64;
        let by_bisection = 1 + k as u64 * (2 * log + SMALL_BATCH as u64);
        by_bisection.min(2 * n as u64)
    }

    /// A sender refusing any batch that holds a bad member, with a count of sends.
    fn run(n: usize, bad: &BTreeSet<usize>) -> (Vec<usize>, u64) {
        isolate(vec![(0..n).collect()], |batch| {
            !batch.iter().any(|m| bad.contains(m))
        })
    }

    #[test]
    fn table_of_cases() {
        // (members, bad ones)
        let cases: &[(usize, &[usize])] = &[
            (1, &[]),
            (1, &[0]),
            (2, &[1]),
            (4, &[0, 3]),
            (5, &[4]),
            (50, &[17]),
            (1000, &[999]),
            (1000, &[0, 500, 999]),
            (3000, &[1234]),
            (8, &[0, 1, 2, 3, 4, 5, 6, 7]),
        ];
        for (n, bad) in cases {
            let set: BTreeSet<usize> = bad.iter().copied().collect();
            let (found, sends) = run(*n, &set);
            assert_eq!(found, bad.to_vec(), "n={n}");
            assert!(
                sends <= bound(*n, bad.len()),
                "n={n} bad={bad:?}: {sends} sends"
            );
        }
    }

    #[test]
    fn one_bad_in_3000_costs_few_calls() {
        let (found, sends) = run(3000, &BTreeSet::from([2077]));
        assert_eq!(found, vec![2077]);
        // ⌈log₂ 3000⌉ = 12 levels, two halves each, plus the first send.
        assert!(sends <= 1 + 2 * 12 + SMALL_BATCH as u64, "{sends}");
    }

    #[test]
    fn batches_are_sent_in_order_and_good_ones_once() {
        let mut seen = Vec::new();
        let (bad, sends) = isolate(vec![vec![1, 2], vec![], vec![3]], |b| {
            seen.push(b.to_vec());
            true
        });
        assert!(bad.is_empty());
        assert_eq!(sends, 2);
        assert_eq!(seen, vec![vec![1, 2], vec![3]]);
    }

    proptest! {
        #[test]
        fn finds_every_bad_member_within_the_bound(
            n in 1usize..400,
            picks in proptest::collection::vec(0usize..400, 0..6),
        ) {
            let bad: BTreeSet<usize> = picks.into_iter().filter(|p| *p < n).collect();
            let (found, sends) = run(n, &bad);
            prop_assert_eq!(found, bad.iter().copied().collect::<Vec<_>>());
            prop_assert!(sends <= bound(n, bad.len()), "n={} k={} sends={}", n, bad.len(), sends);
        }
    }
}
