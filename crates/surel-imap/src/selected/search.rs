//! SEARCH and UID SEARCH (RFC 9051 §6.4.4), with ESEARCH (RFC 4731), SEARCHRES (RFC 5182)
//! and MODSEQ (RFC 7162 §3.1.5).

use surel_imap_proto::{SearchKey, SearchReturn};
use surel_store::{Store, StoreError};

use super::fetch::load;
use super::{CHUNK, Selected, set};
use crate::response::{Done, Enabled};
use crate::search::{self as eval, Candidate, Context};

impl Selected {
    /// SEARCH / UID SEARCH (charset already checked; strings UTF-8), plain or ESEARCH.
    #[allow(clippy::too_many_arguments)]
    pub async fn search(
        &mut self,
        store: &dyn Store,
        enabled: &Enabled,
        tag: &str,
        uid: bool,
        criteria: &SearchKey,
        ret: Option<&[SearchReturn]>,
        out: &mut Vec<u8>,
    ) -> Result<Done, StoreError> {
        self.note_enabled(enabled);
        let save = ret.is_some_and(|r| r.contains(&SearchReturn::Save));
        let result = self.matching(store, criteria).await;
        let matched = match result {
            Ok(matched) => matched,
            Err(e) => {
                // RFC 5182 §2.1: a SEARCH with SAVE that fails leaves `$` empty.
                if save {
                    self.saved.clear();
                }
                return Err(e);
            }
        };
        let with_modseq = uses_modseq(criteria);
        if with_modseq {
            // RFC 7162 §3.1: a MODSEQ criterion turns CONDSTORE on.
            self.condstore = true;
        }

        let results: Vec<u32> = matched
            .iter()
            .filter_map(|&(uid_value, _)| {
                if uid {
                    Some(uid_value)
                } else {
                    self.seq_of(uid_value)
                }
            })
            .collect();
        // RFC 7162 §3.1.5: the highest MODSEQ of the matches; none when nothing matched.
        let modseq = if with_modseq {
            matched.iter().map(|&(_, m)| m).max()
        } else {
            None
        };

        if save {
            self.saved = saved_result(ret.unwrap_or(&[]), &matched);
        }
        match ret {
            // RFC 9051 §6.4.4 / §7.3.4: IMAP4rev2 has no SEARCH response; a SEARCH without
            // RETURN is answered with ESEARCH ... ALL.
            None if enabled.rev2 => eval::render(out, tag, uid, Some(&[]), &results, modseq),
            None => eval::render(out, tag, uid, None, &results, modseq),
            Some(ret) => {
                // RFC 5182 §2.4: RETURN (SAVE) alone answers no ESEARCH.
                let shown: Vec<SearchReturn> = ret
                    .iter()
                    .copied()
                    .filter(|r| *r != SearchReturn::Save)
                    .collect();
                if !(save && shown.is_empty()) {
                    eval::render(out, tag, uid, Some(&shown), &results, modseq);
                }
            }
        }
        Ok(Done::ok("SEARCH completed"))
    }

    /// (UID, MODSEQ) of every message that matches, ascending by UID.
    ///
    /// Work is staged so a search touches as little as it can: the UID and sequence-set
    /// conjuncts narrow the candidates without reading anything; the conjuncts on flags, size,
    /// dates and MODSEQ are checked on the rows alone; the cached parse is read only for the
    /// candidates still in, and message bytes (BODY, TEXT) last of all.
    async fn matching(
        &self,
        store: &dyn Store,
        criteria: &SearchKey,
    ) -> Result<Vec<(u32, u64)>, StoreError> {
        let ctx = Context {
            largest_seq: u32::try_from(self.uids.len()).unwrap_or(u32::MAX),
            largest_uid: self.uids.last().copied().unwrap_or(0),
            saved: &self.saved,
        };
        let conjuncts: Vec<&SearchKey> = match criteria {
            SearchKey::And(keys) => keys.iter().collect(),
            key => vec![key],
        };
        let candidates = self.narrowed(&conjuncts);
        let stage = |k: &&SearchKey| {
            let needs = eval::needs(k);
            u8::from(needs.parsed) + 2 * u8::from(needs.raw)
        };
        let on_rows: Vec<&SearchKey> = conjuncts
            .iter()
            .copied()
            .filter(|k| stage(k) == 0)
            .collect();
        let on_parse: Vec<&SearchKey> = conjuncts
            .iter()
            .copied()
            .filter(|k| stage(k) == 1)
            .collect();
        let on_bytes: Vec<&SearchKey> = conjuncts
            .iter()
            .copied()
            .filter(|k| stage(k) >= 2)
            .collect();
        let parse_later = on_parse
            .iter()
            .chain(&on_bytes)
            .any(|k| eval::needs(k).parsed);
        let holds = |keys: &[&SearchKey], candidate: &Candidate<'_>| {
            keys.iter().all(|k| eval::matches(k, candidate, &ctx))
        };

        let mut matched = Vec::new();
        for chunk in candidates.chunks(CHUNK) {
            // Without row-only keys there is nothing to sift first: read the parse at once.
            let first_with_parse = on_rows.is_empty() && parse_later;
            let rows = store
                .message_rows(self.mailbox.id, &set::uid_ranges(chunk), first_with_parse)
                .await?;
            let mut survivors = Vec::new();
            for row in rows {
                let Some(seq) = self.seq_of(row.meta.uid.0) else {
                    continue;
                };
                let candidate = Candidate {
                    seq,
                    meta: &row.meta,
                    info: None,
                    raw: None,
                };
                if holds(&on_rows, &candidate) {
                    survivors.push((seq, row));
                }
            }
            if on_parse.is_empty() && on_bytes.is_empty() {
                matched.extend(
                    survivors
                        .iter()
                        .map(|(_, r)| (r.meta.uid.0, r.meta.modseq.0)),
                );
                continue;
            }
            if survivors.is_empty() {
                continue;
            }
            let rows = if parse_later && !first_with_parse {
                let uids: Vec<u32> = survivors.iter().map(|(_, r)| r.meta.uid.0).collect();
                store
                    .message_rows(self.mailbox.id, &set::uid_ranges(&uids), true)
                    .await?
                    .into_iter()
                    .filter_map(|r| Some((self.seq_of(r.meta.uid.0)?, r)))
                    .collect()
            } else {
                survivors
            };
            for (seq, row) in rows {
                let (info, _) = load(store, &row, parse_later, false).await?;
                let info = parse_later.then_some(&info);
                let candidate = Candidate {
                    seq,
                    meta: &row.meta,
                    info,
                    raw: None,
                };
                if !holds(&on_parse, &candidate) {
                    continue;
                }
                if !on_bytes.is_empty() {
                    let raw = store.read_blob(&row.meta.blob).await?;
                    let candidate = Candidate {
                        raw: Some(&raw),
                        ..candidate
                    };
                    if !holds(&on_bytes, &candidate) {
                        continue;
                    }
                }
                matched.push((row.meta.uid.0, row.meta.modseq.0));
            }
        }
        Ok(matched)
    }

    /// The UIDs the UID and sequence-set conjuncts leave (all of the mailbox without any),
    /// ascending. A set that cannot be resolved (a number beyond EXISTS) narrows nothing here;
    /// the evaluator then decides on it like any other key.
    fn narrowed(&self, conjuncts: &[&SearchKey]) -> Vec<u32> {
        let mut positions: Option<Vec<usize>> = None;
        for key in conjuncts {
            let found = match key {
                SearchKey::Uid(set) => set::resolve(&self.uids, &self.saved, true, set).ok(),
                SearchKey::SequenceSet(set) => {
                    set::resolve(&self.uids, &self.saved, false, set).ok()
                }
                _ => None,
            };
            if let Some(found) = found {
                positions = Some(match positions {
                    None => found,
                    Some(before) => intersect(&before, &found),
                });
            }
        }
        match positions {
            None => self.uids.clone(),
            Some(positions) => positions
                .iter()
                .filter_map(|&i| self.uids.get(i).copied())
                .collect(),
        }
    }
}

/// The common elements of two ascending lists.
fn intersect(a: &[usize], b: &[usize]) -> Vec<usize> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while let (Some(&x), Some(&y)) = (a.get(i), b.get(j)) {
        match x.cmp(&y) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(x);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// RFC 5182 §2.4: with MIN and/or MAX but neither ALL nor COUNT, `$` holds only those.
fn saved_result(ret: &[SearchReturn], matched: &[(u32, u64)]) -> Vec<u32> {
    let has = |r: SearchReturn| ret.contains(&r);
    let all: Vec<u32> = matched.iter().map(|&(u, _)| u).collect();
    if has(SearchReturn::All) || has(SearchReturn::Count) {
        return all;
    }
    if !has(SearchReturn::Min) && !has(SearchReturn::Max) {
        return all;
    }
    let mut saved = Vec::new();
    if let (true, Some(&min)) = (has(SearchReturn::Min), all.first()) {
        saved.push(min);
    }
    if let (true, Some(&max)) = (has(SearchReturn::Max), all.last()) {
        saved.push(max);
    }
    saved.dedup();
    saved
}

/// Does the criteria use MODSEQ anywhere? Walked with a stack: the depth comes from the
/// client.
fn uses_modseq(key: &SearchKey) -> bool {
    let mut stack = vec![key];
    while let Some(key) = stack.pop() {
        match key {
            SearchKey::ModSeq(_) => return true,
            SearchKey::Not(k) => stack.push(k),
            SearchKey::Or(a, b) => {
                stack.push(a);
                stack.push(b);
            }
            SearchKey::And(keys) => stack.extend(keys),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intersection_of_ascending_lists() {
        assert_eq!(intersect(&[1, 3, 5, 7], &[2, 3, 4, 7, 9]), vec![3, 7]);
        assert_eq!(intersect(&[], &[1]), Vec::<usize>::new());
    }

    #[test]
    fn save_with_min_max_keeps_only_those() {
        let m = [(3, 1), (5, 1), (9, 1)];
        assert_eq!(saved_result(&[SearchReturn::Save], &m), vec![3, 5, 9]);
        assert_eq!(
            saved_result(&[SearchReturn::Save, SearchReturn::Min], &m),
            vec![3]
        );
        assert_eq!(
            saved_result(
                &[SearchReturn::Save, SearchReturn::Min, SearchReturn::Max],
                &m
            ),
            vec![3, 9]
        );
        assert_eq!(
            saved_result(
                &[SearchReturn::Save, SearchReturn::Min, SearchReturn::All],
                &m
            ),
            vec![3, 5, 9]
        );
        assert_eq!(saved_result(&[SearchReturn::Min], &[]), Vec::<u32>::new());
    }

    #[test]
    fn modseq_found_deep_in_criteria() {
        let mut key = SearchKey::ModSeq(4);
        for _ in 0..1000 {
            key = SearchKey::Not(Box::new(key));
        }
        assert!(uses_modseq(&key));
        let key = SearchKey::Or(
            Box::new(SearchKey::Seen),
            Box::new(SearchKey::And(vec![SearchKey::All])),
        );
        assert!(!uses_modseq(&key));
    }
}
