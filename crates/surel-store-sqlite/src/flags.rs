//! Message flags as stored: a bit set of system flags and a sorted list of keywords.

use surel_store::{Flag, FlagOp, StoreError, StoreResult};

pub(crate) const SEEN: i64 = 1;
const ANSWERED: i64 = 2;
const FLAGGED: i64 = 4;
pub(crate) const DELETED: i64 = 8;
const DRAFT: i64 = 16;

const SYSTEM: [(Flag, i64); 5] = [
    (Flag::Seen, SEEN),
    (Flag::Answered, ANSWERED),
    (Flag::Flagged, FLAGGED),
    (Flag::Deleted, DELETED),
    (Flag::Draft, DRAFT),
];

/// A message's flags in stored form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FlagSet {
    system: i64,
    /// Sorted; unique ignoring ASCII case (keywords compare case-insensitively, like atoms in
    /// RFC 9051), keeping the first spelling seen.
    keywords: Vec<String>,
}

impl FlagSet {
    /// Builds a set from flags given by a caller. `Invalid` for a keyword that could not be stored
    /// or served back (empty, or with spaces or control characters: never an IMAP atom).
    pub(crate) fn new(flags: &[Flag]) -> StoreResult<Self> {
        let mut set = FlagSet::default();
        for flag in flags {
            match flag {
                // A system flag spelled as a keyword is still the system flag.
                Flag::Keyword(k) => match Flag::parse(k) {
                    Flag::Keyword(k) => {
                        if k.is_empty() || k.chars().any(|c| c.is_whitespace() || c.is_control()) {
                            return Err(StoreError::Invalid(format!(
                                "keyword {k:?} is not an IMAP atom"
                            )));
                        }
                        set.add_keyword(k);
                    }
                    system => set.system |= bit(&system),
                },
                system => set.system |= bit(system),
            }
        }
        set.keywords.sort();
        Ok(set)
    }

    /// The set as stored in the `flags` and `keywords` columns.
    pub(crate) fn decode(system: i64, keywords: &str) -> Self {
        FlagSet {
            system,
            keywords: keywords
                .split(' ')
                .filter(|k| !k.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }

    /// The `flags` column.
    pub(crate) fn system(&self) -> i64 {
        self.system
    }

    /// The `keywords` column.
    pub(crate) fn keywords(&self) -> String {
        self.keywords.join(" ")
    }

    /// The flags, sorted as [`Flag`] orders them.
    pub(crate) fn to_flags(&self) -> Vec<Flag> {
        SYSTEM
            .iter()
            .filter(|(_, b)| self.system & b != 0)
            .map(|(f, _)| f.clone())
            .chain(self.keywords.iter().cloned().map(Flag::Keyword))
            .collect()
    }

    /// The result of applying `op` with `given` to this set.
    pub(crate) fn apply(&self, op: FlagOp, given: &FlagSet) -> FlagSet {
        match op {
            FlagOp::Replace => given.clone(),
            FlagOp::Add => {
                let mut out = self.clone();
                out.system |= given.system;
                for k in &given.keywords {
                    out.add_keyword(k.clone());
                }
                out.keywords.sort();
                out
            }
            FlagOp::Remove => FlagSet {
                system: self.system & !given.system,
                keywords: self
                    .keywords
                    .iter()
                    .filter(|k| !given.keywords.iter().any(|g| g.eq_ignore_ascii_case(k)))
                    .cloned()
                    .collect(),
            },
        }
    }

    fn add_keyword(&mut self, k: String) {
        if !self
            .keywords
            .iter()
            .any(|have| have.eq_ignore_ascii_case(&k))
        {
            self.keywords.push(k);
        }
    }
}

fn bit(flag: &Flag) -> i64 {
    SYSTEM
        .iter()
        .find(|(f, _)| f == flag)
        .map_or(0, |(_, b)| *b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(k: &str) -> Flag {
        Flag::Keyword(k.into())
    }

    #[test]
    fn roundtrips_through_columns_sorted() {
        let set = FlagSet::new(&[
            kw("$Junk"),
            Flag::Draft,
            Flag::Seen,
            kw("$Forwarded"),
            kw("$junk"),
        ])
        .unwrap();
        let back = FlagSet::decode(set.system(), &set.keywords());
        assert_eq!(back, set);
        assert_eq!(
            back.to_flags(),
            [Flag::Seen, Flag::Draft, kw("$Forwarded"), kw("$Junk")]
        );
    }

    #[test]
    fn system_flag_spelled_as_keyword_is_the_system_flag() {
        assert_eq!(
            FlagSet::new(&[kw("\\seen")]).unwrap().to_flags(),
            [Flag::Seen]
        );
    }

    #[test]
    fn keywords_that_are_not_atoms_are_refused() {
        for bad in ["", "a b", "a\nb"] {
            assert!(
                matches!(FlagSet::new(&[kw(bad)]), Err(StoreError::Invalid(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn add_remove_replace() {
        let have = FlagSet::new(&[Flag::Seen, kw("$A")]).unwrap();
        let given = FlagSet::new(&[Flag::Flagged, kw("$a"), kw("$B")]).unwrap();
        assert_eq!(
            have.apply(FlagOp::Add, &given).to_flags(),
            [Flag::Seen, Flag::Flagged, kw("$A"), kw("$B")]
        );
        assert_eq!(have.apply(FlagOp::Remove, &given).to_flags(), [Flag::Seen]);
        assert_eq!(have.apply(FlagOp::Replace, &given), given);
    }
}
