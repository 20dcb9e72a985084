//! Sequence sets to positions in the sequence map (RFC 9051 §9 `sequence-set`, RFC 5182 `$`),
//! and UID lists to the inclusive ranges the store reads.

use surel_imap_proto::{SeqNum, SequenceSet};
use surel_types::Uid;

/// A message sequence number beyond EXISTS, or `*` in an empty mailbox (RFC 9051 §9: the
/// server answers such a command with BAD).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct OutOfRange;

/// The positions (sequence number - 1) in `uids` that the set names, ascending and without
/// duplicates. `uids` is the ascending sequence map; `saved` the ascending `$` result.
pub(super) fn resolve(
    uids: &[u32],
    saved: &[u32],
    uid: bool,
    set: &SequenceSet,
) -> Result<Vec<usize>, OutOfRange> {
    match set {
        // RFC 5182 §2.1: `$` names the saved UIDs, in UID and sequence commands alike; those
        // expunged since are simply no longer there.
        SequenceSet::Saved => Ok(saved
            .iter()
            .filter_map(|u| uids.binary_search(u).ok())
            .collect()),
        SequenceSet::Ranges(_) if uid => {
            let mut positions = Vec::new();
            for (lo, hi) in uid_intervals(uids, set, saved) {
                let start = uids.partition_point(|&u| u < lo);
                let end = uids.partition_point(|&u| u <= hi);
                positions.extend(start..end);
            }
            Ok(positions)
        }
        SequenceSet::Ranges(ranges) => {
            let count = u32::try_from(uids.len()).unwrap_or(u32::MAX);
            let number = |n: SeqNum| match n {
                SeqNum::Largest if count > 0 => Ok(count),
                SeqNum::Value(v) if v >= 1 && v <= count => Ok(v),
                _ => Err(OutOfRange),
            };
            let mut intervals = Vec::with_capacity(ranges.len());
            for &(a, b) in ranges {
                let (a, b) = (number(a)?, number(b)?);
                intervals.push((a.min(b), a.max(b)));
            }
            let mut positions = Vec::new();
            for (lo, hi) in merge(intervals) {
                positions.extend(lo as usize - 1..hi as usize);
            }
            Ok(positions)
        }
    }
}

/// The set as merged inclusive UID intervals, ascending. `*` is the largest UID in the map;
/// RFC 9051 §6.4.9: `559:*` includes the last message even when 559 is above every UID.
pub(super) fn uid_intervals(uids: &[u32], set: &SequenceSet, saved: &[u32]) -> Vec<(u32, u32)> {
    match set {
        SequenceSet::Saved => runs(saved),
        SequenceSet::Ranges(ranges) => {
            let largest = uids.last().copied().unwrap_or(0);
            let value = |n: SeqNum| match n {
                SeqNum::Largest => largest,
                SeqNum::Value(v) => v,
            };
            let intervals = ranges
                .iter()
                .map(|&(a, b)| {
                    let (a, b) = (value(a), value(b));
                    (a.min(b), a.max(b))
                })
                .collect();
            merge(intervals)
        }
    }
}

/// True if `n` lies in one of the ascending, disjoint `intervals`.
pub(super) fn contains(intervals: &[(u32, u32)], n: u32) -> bool {
    let i = intervals.partition_point(|&(_, hi)| hi < n);
    intervals.get(i).is_some_and(|&(lo, _)| lo <= n)
}

/// Sorts and joins overlapping or adjacent intervals, so `1:*,1:*,...` costs no more than `1:*`.
fn merge(mut intervals: Vec<(u32, u32)>) -> Vec<(u32, u32)> {
    intervals.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(intervals.len());
    for (lo, hi) in intervals {
        match merged.last_mut() {
            Some(last) if u64::from(lo) <= u64::from(last.1) + 1 => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    merged
}

/// Ascending numbers as runs of consecutive values: `[1, 2, 3, 7]` is `[(1, 3), (7, 7)]`.
pub(super) fn runs(sorted: &[u32]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for &n in sorted {
        match out.last_mut() {
            Some(last) if u64::from(n) == u64::from(last.1) + 1 => last.1 = n,
            Some(last) if n == last.1 => {}
            _ => out.push((n, n)),
        }
    }
    out
}

/// The UID ranges [`surel_store::Store::message_rows`] takes.
pub(super) fn uid_ranges(sorted: &[u32]) -> Vec<(Uid, Uid)> {
    runs(sorted)
        .into_iter()
        .map(|(lo, hi)| (Uid(lo), Uid(hi)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(list: &[(SeqNum, SeqNum)]) -> SequenceSet {
        SequenceSet::Ranges(list.to_vec())
    }
    use SeqNum::{Largest, Value};

    #[test]
    fn sequence_numbers_resolve_with_star_and_reversed_ranges() {
        let uids = [3, 5, 9, 10, 20];
        let set = ranges(&[
            (Value(4), Value(2)),
            (Largest, Largest),
            (Value(1), Value(1)),
        ]);
        assert_eq!(resolve(&uids, &[], false, &set), Ok(vec![0, 1, 2, 3, 4]));
        let set = ranges(&[(Value(2), Largest), (Value(3), Value(3))]);
        assert_eq!(resolve(&uids, &[], false, &set), Ok(vec![1, 2, 3, 4]));
    }

    #[test]
    fn sequence_number_beyond_exists_is_out_of_range() {
        let uids = [3, 5];
        let set = ranges(&[(Value(2), Value(3))]);
        assert_eq!(resolve(&uids, &[], false, &set), Err(OutOfRange));
        let set = ranges(&[(Value(1), Largest)]);
        assert_eq!(resolve(&[], &[], false, &set), Err(OutOfRange));
        let set = ranges(&[(Value(0), Value(1))]);
        assert_eq!(resolve(&uids, &[], false, &set), Err(OutOfRange));
    }

    #[test]
    fn uid_ranges_that_match_nothing_are_fine() {
        let uids = [3, 5, 9];
        let set = ranges(&[(Value(100), Value(200))]);
        assert_eq!(resolve(&uids, &[], true, &set), Ok(vec![]));
        // `n:*` beyond the end still names the last message.
        let set = ranges(&[(Value(100), Largest)]);
        assert_eq!(resolve(&uids, &[], true, &set), Ok(vec![2]));
        let set = ranges(&[(Value(4), Value(9))]);
        assert_eq!(resolve(&uids, &[], true, &set), Ok(vec![1, 2]));
        assert_eq!(resolve(&[], &[], true, &set), Ok(vec![]));
        let set = ranges(&[(Largest, Largest)]);
        assert_eq!(resolve(&[], &[], true, &set), Ok(vec![]));
    }

    #[test]
    fn saved_result_skips_expunged_uids() {
        let uids = [3, 5, 9];
        assert_eq!(
            resolve(&uids, &[1, 5, 9], false, &SequenceSet::Saved),
            Ok(vec![1, 2])
        );
        assert_eq!(resolve(&uids, &[], true, &SequenceSet::Saved), Ok(vec![]));
    }

    #[test]
    fn repeated_huge_ranges_are_merged() {
        let uids: Vec<u32> = (1..=1000).collect();
        let set = ranges(&vec![(Value(1), Largest); 10_000]);
        assert_eq!(resolve(&uids, &[], false, &set).map(|p| p.len()), Ok(1000));
        let set = ranges(&[(Value(1), Value(u32::MAX)), (Value(u32::MAX), Value(5))]);
        assert_eq!(resolve(&uids, &[], true, &set).map(|p| p.len()), Ok(1000));
    }

    #[test]
    fn runs_and_contains() {
        assert_eq!(runs(&[1, 2, 3, 7, 9, 10]), vec![(1, 3), (7, 7), (9, 10)]);
        assert_eq!(
            runs(&[u32::MAX - 1, u32::MAX]),
            vec![(u32::MAX - 1, u32::MAX)]
        );
        let intervals = [(1, 3), (7, 7)];
        assert!(contains(&intervals, 2));
        assert!(contains(&intervals, 7));
        assert!(!contains(&intervals, 5));
        assert!(!contains(&intervals, 8));
    }
}
