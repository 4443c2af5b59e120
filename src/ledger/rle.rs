//! Parquet's RLE / bit-packing hybrid encoding, for the hand-encoded string
//! columns (their levels and dictionary indices; see `byte_column`).
//!
//! parquet-rs keeps its encoder behind the unstable `experimental` feature, so this is
//! the spec's encoding written out: a run that fills a group of 8 becomes an RLE run
//! (`varint(count << 1)` then the value in `ceil(width / 8)` little-endian bytes), the
//! rest is bit-packed in groups of 8, least significant bit first
//! (`varint(groups << 1 | 1)` then `width` bytes per group). Only the last group of a
//! stream is padded (with zeros); readers stop at the page's value count.

/// Bit-packed groups per run header at most (the header then fits one byte, as
/// parquet-rs writes it).
const MAX_GROUPS: usize = 63;

/// Bits needed to store `max` (at least 1).
pub fn bit_width(max: u32) -> u8 {
    (32 - max.leading_zeros()).max(1) as u8
}

/// Appends `values` to `out` in the hybrid encoding with `width` bits per value.
/// Every value must fit in `width` bits (checked in debug builds).
pub fn encode(values: &[u32], width: u8, out: &mut Vec<u8>) {
    debug_assert!((1..=32).contains(&width));
    debug_assert!(width == 32 || values.iter().all(|&v| v >> width == 0));
    // Groups of 8 from the first value not yet written: a group of 8 equal values
    // starts an RLE run (as long as the values stay equal); the groups before it are
    // bit-packed. Most groups of changing values are told apart by their first two.
    let mut packed_from = 0;
    let mut g = 0;
    while g + 8 <= values.len() {
        let v = values[g];
        if values[g + 1] != v || values[g + 2..g + 8].iter().any(|&x| x != v) {
            g += 8;
            continue;
        }
        let mut end = g + 8;
        while end < values.len() && values[end] == v {
            end += 1;
        }
        bit_pack(&values[packed_from..g], width, out);
        rle(v, end - g, width, out);
        packed_from = end;
        g = end;
    }
    bit_pack(&values[packed_from..], width, out);
}

/// Appends `count` values of width 1, all 1 except at `zeros` (positions below
/// `count`): the levels of a list column, which are mostly 1. Without zeros it is one
/// RLE run; otherwise a bitmap in bit-packed runs. `bitmap` is scratch space.
pub fn ones_except(
    count: usize,
    zeros: impl IntoIterator<Item = usize>,
    bitmap: &mut Vec<u8>,
    out: &mut Vec<u8>,
) {
    let mut zeros = zeros.into_iter().peekable();
    if zeros.peek().is_none() {
        if count > 0 {
            rle(1, count, 1, out);
        }
        return;
    }
    bitmap.clear();
    bitmap.resize(count.div_ceil(8), 0xff);
    if !count.is_multiple_of(8)
        && let Some(last) = bitmap.last_mut()
    {
        // Padding past `count` is zeros, as `bit_pack` writes it.
        *last = (1u8 << (count % 8)) - 1;
    }
    for at in zeros {
        bitmap[at / 8] &= !(1u8 << (at % 8));
    }
    for run in bitmap.chunks(MAX_GROUPS) {
        varint(((run.len() as u64) << 1) | 1, out);
        out.extend_from_slice(run);
    }
}

fn rle(value: u32, count: usize, width: u8, out: &mut Vec<u8>) {
    varint((count as u64) << 1, out);
    let bytes = value.to_le_bytes();
    out.extend_from_slice(&bytes[..width.div_ceil(8) as usize]);
}

/// Bit-packs `values` in groups of 8 (the last one padded with zeros).
fn bit_pack(values: &[u32], width: u8, out: &mut Vec<u8>) {
    for run in values.chunks(MAX_GROUPS * 8) {
        let groups = run.len().div_ceil(8);
        varint(((groups as u64) << 1) | 1, out);
        if width <= 8 {
            // A group of 8 narrow values fits one u64: `width` bytes of it.
            let w = u32::from(width);
            let (whole, rest) = run.as_chunks::<8>();
            let mut last = [0u32; 8];
            last[..rest.len()].copy_from_slice(rest);
            let tail = (!rest.is_empty()).then_some(&last);
            for group in whole.iter().chain(tail) {
                let mut acc = 0u64;
                for (k, &v) in group.iter().enumerate() {
                    acc |= u64::from(v) << (k as u32 * w);
                }
                out.extend_from_slice(&acc.to_le_bytes()[..width as usize]);
            }
            continue;
        }
        let start = out.len();
        out.resize(start + groups * width as usize, 0);
        let packed = &mut out[start..];
        let (mut acc, mut bits, mut at) = (0u64, 0u32, 0);
        for &v in run {
            acc |= u64::from(v) << bits;
            bits += u32::from(width);
            while bits >= 8 {
                packed[at] = acc as u8;
                at += 1;
                acc >>= 8;
                bits -= 8;
            }
        }
        // What is left of the last byte; the padding is the zeros `resize` wrote.
        if bits > 0 {
            packed[at] = acc as u8;
        }
    }
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A decoder written from the Parquet spec, independent of the encoder.
    fn decode(mut data: &[u8], width: u8, n: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let read_varint = |data: &mut &[u8]| {
            let (mut v, mut s) = (0u64, 0);
            loop {
                let b = data[0];
                *data = &data[1..];
                v |= u64::from(b & 0x7f) << s;
                s += 7;
                if b < 0x80 {
                    return v;
                }
            }
        };
        while out.len() < n {
            let h = read_varint(&mut data);
            if h & 1 == 0 {
                let nb = width.div_ceil(8) as usize;
                let mut b = [0u8; 4];
                b[..nb].copy_from_slice(&data[..nb]);
                data = &data[nb..];
                out.extend(std::iter::repeat_n(
                    u32::from_le_bytes(b),
                    (h >> 1) as usize,
                ));
            } else {
                let count = (h >> 1) as usize * 8;
                let bytes = &data[..count * width as usize / 8];
                data = &data[bytes.len()..];
                for k in 0..count {
                    let mut v = 0u64;
                    for j in 0..width as usize {
                        let bit = k * width as usize + j;
                        v |= u64::from((bytes[bit / 8] >> (bit % 8)) & 1) << j;
                    }
                    out.push(v as u32);
                }
            }
        }
        assert!(data.is_empty(), "{} bytes left over", data.len());
        out.truncate(n);
        out
    }

    #[test]
    fn widths() {
        assert_eq!(bit_width(0), 1);
        assert_eq!(bit_width(1), 1);
        assert_eq!(bit_width(2), 2);
        assert_eq!(bit_width(16), 5);
        assert_eq!(bit_width(u32::MAX), 32);
    }

    #[test]
    fn a_long_run_is_one_rle_run() {
        let mut out = Vec::new();
        encode(&[1; 1000], 1, &mut out);
        assert_eq!(out, [0xd0, 0x0f, 1]); // varint(2000), value 1
    }

    #[test]
    fn ones_except_zeros() {
        let mut scratch = Vec::new();
        for (count, zeros) in [
            (0, vec![]),
            (1, vec![]),
            (1000, vec![]),
            (1, vec![0]),
            (9, vec![0, 8]),
            (17, vec![0, 16]),
            (5000, vec![0, 7, 8, 503, 504, 505, 4999]),
        ] {
            let mut out = Vec::new();
            ones_except(count, zeros.iter().copied(), &mut scratch, &mut out);
            let mut want = vec![1; count];
            for &z in &zeros {
                want[z] = 0;
            }
            assert_eq!(decode(&out, 1, count), want, "{count} {zeros:?}");
            if zeros.is_empty() && count > 0 {
                assert!(out.len() <= 4, "one RLE run");
            }
        }
    }

    #[test]
    fn levels_of_lists_round_trip() {
        // Repetition levels of lists of 16, 0 (one level) and 3 items.
        let mut rep = vec![0];
        rep.extend([1; 15]);
        rep.push(0);
        rep.extend([0, 1, 1]);
        let mut out = Vec::new();
        encode(&rep, 1, &mut out);
        assert_eq!(decode(&out, 1, rep.len()), rep);
    }

    proptest! {
        #[test]
        fn round_trips(
            width in 1u8..=32,
            runs in prop::collection::vec((any::<u32>(), 1usize..40), 0..60),
        ) {
            let mask = if width == 32 { u32::MAX } else { (1 << width) - 1 };
            let values: Vec<u32> = runs
                .iter()
                .flat_map(|&(v, n)| std::iter::repeat_n(v & mask, n))
                .collect();
            let mut out = Vec::new();
            encode(&values, width, &mut out);
            prop_assert_eq!(decode(&out, width, values.len()), values);
        }

        #[test]
        fn ones_except_round_trips(count in 1usize..3000, picks in prop::collection::vec(any::<prop::sample::Index>(), 0..50)) {
            let mut zeros: Vec<usize> = picks.iter().map(|i| i.index(count)).collect();
            zeros.sort_unstable();
            zeros.dedup();
            let mut want = vec![1; count];
            for &z in &zeros {
                want[z] = 0;
            }
            let (mut out, mut scratch) = (Vec::new(), Vec::new());
            ones_except(count, zeros, &mut scratch, &mut out);
            prop_assert_eq!(decode(&out, 1, count), want);
        }
    }
}
