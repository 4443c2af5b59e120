//! Splits a user's PATCH operations into successive PATCH bodies of at most
//! `--max-patch-ops` operations each. The caller sends them in order, chaining
//! If-Match with the version each response returns.

use crate::scim::model::PatchOperation;

/// Default `--max-patch-ops`.
pub const DEFAULT_MAX_PATCH_OPS: usize = 50;

/// The ops in order, cut into chunks of at most `max_ops` (0 counts as 1). No ops, no
/// chunks.
pub fn chunk_ops(ops: Vec<PatchOperation>, max_ops: usize) -> Vec<Vec<PatchOperation>> {
    let max = max_ops.max(1);
    let mut out = Vec::with_capacity(ops.len().div_ceil(max));
    let mut current = Vec::with_capacity(max.min(ops.len()));
    for op in ops {
        if current.len() == max {
            out.push(std::mem::replace(
                &mut current,
                Vec::with_capacity(max.min(64)),
            ));
        }
        current.push(op);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn ops(n: usize) -> Vec<PatchOperation> {
        (0..n)
            .map(|i| PatchOperation::replace(format!("p{i}"), json!(i)))
            .collect()
    }

    #[test]
    fn chunk_table() {
        // (ops, max, expected chunk sizes)
        let cases: &[(usize, usize, &[usize])] = &[
            (0, 50, &[]),
            (1, 50, &[1]),
            (50, 50, &[50]),
            (51, 50, &[50, 1]),
            (120, 50, &[50, 50, 20]),
            (3, 1, &[1, 1, 1]),
            (3, 0, &[1, 1, 1]),
        ];
        for (n, max, sizes) in cases {
            let got: Vec<usize> = chunk_ops(ops(*n), *max).iter().map(Vec::len).collect();
            assert_eq!(got, *sizes, "{n} ops, max {max}");
        }
    }

    proptest! {
        #[test]
        fn chunking_preserves_ops_in_order(n in 0usize..300, max in 0usize..80) {
            let input = ops(n);
            let chunks = chunk_ops(input.clone(), max);
            prop_assert!(chunks.iter().all(|c| !c.is_empty() && c.len() <= max.max(1)));
            // every chunk but the last is full
            if chunks.len() > 1 {
                prop_assert!(chunks[..chunks.len() - 1].iter().all(|c| c.len() == max.max(1)));
            }
            let flat: Vec<PatchOperation> = chunks.into_iter().flatten().collect();
            prop_assert_eq!(flat, input);
        }
    }
}
