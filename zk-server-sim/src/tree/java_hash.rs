//! The iteration order of a Java `HashSet<String>`.
//!
//! ZooKeeper keeps a node's children and a session's ephemerals in
//! `java.util.HashSet`s and hands them to clients in iteration order
//! (`getChildren`, `getEphemerals`) and deletes a closed session's ephemerals
//! in that order (so watch events come in it). To give byte-identical answers
//! the simulator reproduces that order: buckets by `String.hashCode()` spread
//! as `HashMap.hash` does, chains in insertion order, and the table growing
//! exactly as `HashMap.resize` and `treeifyBin` (below 64 buckets) grow it.
//!
//! Not modelled: the order inside a treeified bin (eight or more colliding
//! keys in one bucket of a table of 64 or more), which is vanishingly rare.

use std::collections::HashMap;
use std::fmt;

/// A set of strings that iterates like a `java.util.HashSet<String>`.
///
/// Membership is a hash map; the iteration order is rebuilt on demand by
/// sorting members by (bucket, insertion sequence), which is exactly Java's
/// order because a bucket's chain keeps insertion order through resizes.
#[derive(Clone, Default)]
pub(crate) struct JavaHashSet {
    /// Member → (spread hash, insertion sequence).
    members: HashMap<String, (u32, u64)>,
    /// The next insertion sequence number.
    next_seq: u64,
    /// Chain length per bucket; its length is the table length (0 until the
    /// first insertion allocates the table).
    chains: Vec<u32>,
    /// The capacity the first allocation will use (`HashMap(int)`'s threshold).
    initial: usize,
}

impl fmt::Debug for JavaHashSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter_java()).finish()
    }
}

impl PartialEq for JavaHashSet {
    fn eq(&self, other: &Self) -> bool {
        self.chains.len() == other.chains.len() && self.iter_java().eq(other.iter_java())
    }
}

impl Eq for JavaHashSet {}

/// `HashMap.TREEIFY_THRESHOLD`: a chain this long or longer is treeified on insert.
const TREEIFY_THRESHOLD: u32 = 8;
/// `HashMap.MIN_TREEIFY_CAPACITY`: below this the table grows instead of treeifying.
const MIN_TREEIFY_CAPACITY: usize = 64;

impl JavaHashSet {
    /// `new HashSet<>(initialCapacity)`; `new HashSet<>()` is `with_capacity(16)`.
    pub(crate) fn with_capacity(initial: usize) -> Self {
        JavaHashSet {
            members: HashMap::new(),
            next_seq: 0,
            chains: Vec::new(),
            initial: table_size_for(initial),
        }
    }

    /// Number of members.
    pub(crate) fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the set is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Whether `key` is a member.
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.members.contains_key(key)
    }

    /// `HashSet.add`: appends to its bucket's chain and grows the table as Java does.
    pub(crate) fn insert(&mut self, key: &str) -> bool {
        if self.contains(key) {
            return false;
        }
        if self.chains.is_empty() {
            self.chains = vec![0; self.initial.max(1)];
        }
        let hash = spread(java_string_hash(key));
        let bucket = bucket_of(hash, self.chains.len());
        let chain = self.chains.get(bucket).copied().unwrap_or(0);
        if let Some(c) = self.chains.get_mut(bucket) {
            *c += 1;
        }
        self.members.insert(key.to_owned(), (hash, self.next_seq));
        self.next_seq += 1;
        if chain >= TREEIFY_THRESHOLD && self.chains.len() < MIN_TREEIFY_CAPACITY {
            self.grow();
        }
        if self.members.len() > threshold(self.chains.len()) {
            self.grow();
        }
        true
    }

    /// Doubles the table (`HashMap.resize`).
    fn grow(&mut self) {
        let cap = self.chains.len().saturating_mul(2).max(1);
        let mut chains = vec![0_u32; cap];
        for (hash, _) in self.members.values() {
            if let Some(c) = chains.get_mut(bucket_of(*hash, cap)) {
                *c += 1;
            }
        }
        self.chains = chains;
    }

    /// `HashSet.remove`.
    pub(crate) fn remove(&mut self, key: &str) -> bool {
        match self.members.remove(key) {
            Some((hash, _)) => {
                let cap = self.chains.len();
                if let Some(c) = self.chains.get_mut(bucket_of(hash, cap)) {
                    *c = c.saturating_sub(1);
                }
                true
            }
            None => false,
        }
    }

    /// The members in Java's iteration order.
    pub(crate) fn iter_java(&self) -> impl Iterator<Item = &str> {
        let cap = self.chains.len().max(1);
        let mut order: Vec<(&String, &(u32, u64))> = self.members.iter().collect();
        order.sort_by_key(|(_, (hash, seq))| (bucket_of(*hash, cap), *seq));
        order.into_iter().map(|(k, _)| k.as_str())
    }

    /// `(HashSet) set.clone()`: a fresh `HashMap` sized for the current size and
    /// filled in the source's iteration order, which can reorder the members.
    pub(crate) fn java_clone(&self) -> JavaHashSet {
        if self.members.is_empty() {
            return JavaHashSet::with_capacity(1);
        }
        // HashMap.putMapEntries: (int) ((float) s / loadFactor + 1.0F)
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        let wanted = ((self.members.len() as f32) / 0.75_f32 + 1.0_f32) as usize;
        let mut out = JavaHashSet::with_capacity(wanted);
        for key in self.iter_java() {
            out.insert(key);
        }
        out
    }

    /// The table length (0 before the first insertion).
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.chains.len()
    }
}

/// `HashMap.tableSizeFor`: the smallest power of two ≥ `c` (at least 1).
fn table_size_for(c: usize) -> usize {
    c.max(1).checked_next_power_of_two().unwrap_or(1 << 30)
}

/// The resize threshold of a table: `capacity × 0.75`, as Java computes it.
fn threshold(capacity: usize) -> usize {
    capacity / 4 * 3 + (capacity % 4) * 3 / 4
}

fn bucket_of(hash: u32, capacity: usize) -> usize {
    // capacity is a power of two; u32 → usize never truncates on supported targets.
    (hash as usize) & (capacity.saturating_sub(1))
}

/// `String.hashCode()`: over UTF-16 code units, `h = 31 h + c` with wrapping.
pub(crate) fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0_i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// `HashMap.hash`: `h ^ (h >>> 16)`.
fn spread(h: i32) -> u32 {
    let h = h as u32;
    h ^ (h >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_hash_matches_java() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("ab"), 97 * 31 + 98);
        // A non-BMP character hashes as its two UTF-16 surrogates.
        assert_eq!(java_string_hash("\u{1f600}"), 0xD83D * 31 + 0xDE00);
    }

    #[test]
    fn thresholds() {
        assert_eq!(threshold(1), 0);
        assert_eq!(threshold(2), 1);
        assert_eq!(threshold(4), 3);
        assert_eq!(threshold(8), 6);
        assert_eq!(threshold(16), 12);
    }

    #[test]
    fn order_is_bucket_then_insertion() {
        // "quota" and "config" are /zookeeper's children; with 8 buckets Java
        // prints them in bucket order whatever the insertion order.
        let mut a = JavaHashSet::with_capacity(8);
        a.insert("quota");
        a.insert("config");
        let mut b = JavaHashSet::with_capacity(8);
        b.insert("config");
        b.insert("quota");
        let va: Vec<&str> = a.iter_java().collect();
        let vb: Vec<&str> = b.iter_java().collect();
        assert_eq!(va, vb);
    }

    #[test]
    fn grows_past_threshold() {
        let mut s = JavaHashSet::with_capacity(8);
        for i in 0..7 {
            s.insert(&format!("n{i}"));
        }
        assert_eq!(s.capacity(), 16);
        assert_eq!(s.len(), 7);
        assert!(s.remove("n3"));
        assert!(!s.contains("n3"));
        assert_eq!(s.capacity(), 16);
    }
}
