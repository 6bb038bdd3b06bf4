//! [`Memo`]: what a column's most recently repeated texts gave, so that a
//! text seen again skips the work that is a function of the column and the
//! text alone (parsing, hashing its comparison key, the personal-data scan).

/// Slots of a [`Memo`].
const MEMO_SLOTS: usize = 256;
/// Lookups in a round: a round with fewer than a quarter hits rests the memo
/// for [`MEMO_REST`] values (a column of mostly distinct values pays no more
/// than a counter).
const MEMO_ROUND: u32 = 1024;
const MEMO_REST: u32 = 16 * 1024;
/// The longest text remembered.
pub(crate) const MEMO_MAX_LEN: usize = 64;

/// The texts a column repeats most recently, direct-mapped by their xxh3-64
/// hash, each with what it gave (`T`). A hit is checked against the text
/// itself, so it never confuses two texts.
#[derive(Debug, Clone)]
pub(crate) struct Memo<T> {
    pub(crate) slots: Vec<(u64, String, T)>,
    lookups: u32,
    hits: u32,
    pub(crate) resting: u32,
}

impl<T> Default for Memo<T> {
    fn default() -> Memo<T> {
        Memo { slots: Vec::new(), lookups: 0, hits: 0, resting: 0 }
    }
}

impl<T: Copy + Default> Memo<T> {
    /// What `text` (hash `hash`) gave when it was remembered.
    #[inline]
    pub(crate) fn find(&mut self, hash: u64, text: &str) -> Option<T> {
        if self.resting > 0 {
            self.resting -= 1;
            return None;
        }
        self.lookups += 1;
        if self.lookups == MEMO_ROUND {
            if self.hits < MEMO_ROUND / 4 {
                self.resting = MEMO_REST;
            }
            self.lookups = 0;
            self.hits = 0;
        }
        let (h, t, found) = self.slots.get((hash as usize) % MEMO_SLOTS)?;
        if *h == hash && t == text {
            self.hits += 1;
            return Some(*found);
        }
        None
    }

    /// Remembers `text` (unless resting, or long), replacing the text in its slot.
    #[inline]
    pub(crate) fn remember(&mut self, hash: u64, text: &str, gave: T) {
        if self.resting > 0 || text.len() > MEMO_MAX_LEN {
            return;
        }
        if self.slots.is_empty() {
            self.slots = vec![(0, String::new(), T::default()); MEMO_SLOTS];
        }
        let slot = &mut self.slots[(hash as usize) % MEMO_SLOTS];
        slot.0 = hash;
        slot.1.clear();
        slot.1.push_str(text);
        slot.2 = gave;
    }
}
