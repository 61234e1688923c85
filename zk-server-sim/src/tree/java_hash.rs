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

/// A set of strings that iterates like a `java.util.HashSet<String>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct JavaHashSet {
    /// Members in chain order: the order Java would meet them inside a bucket.
    entries: Vec<(String, u32)>,
    /// The table length; 0 until the first insertion allocates it.
    capacity: usize,
    /// The capacity the first allocation will use (`HashMap(int)`'s threshold).
    initial: usize,
}

/// `HashMap.TREEIFY_THRESHOLD`: a chain this long or longer is treeified on insert.
const TREEIFY_THRESHOLD: usize = 8;
/// `HashMap.MIN_TREEIFY_CAPACITY`: below this the table grows instead of treeifying.
const MIN_TREEIFY_CAPACITY: usize = 64;

impl JavaHashSet {
    /// `new HashSet<>(initialCapacity)`; `new HashSet<>()` is `with_capacity(16)`.
    pub(crate) fn with_capacity(initial: usize) -> Self {
        JavaHashSet {
            entries: Vec::new(),
            capacity: 0,
            initial: table_size_for(initial),
        }
    }

    /// Number of members.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `key` is a member.
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == key)
    }

    /// `HashSet.add`: appends to its bucket's chain and grows the table as Java does.
    pub(crate) fn insert(&mut self, key: &str) -> bool {
        if self.contains(key) {
            return false;
        }
        if self.capacity == 0 {
            self.capacity = self.initial.max(1);
        }
        let hash = spread(java_string_hash(key));
        let bucket = bucket_of(hash, self.capacity);
        let chain = self
            .entries
            .iter()
            .filter(|(_, h)| bucket_of(*h, self.capacity) == bucket)
            .count();
        self.entries.push((key.to_owned(), hash));
        if chain >= TREEIFY_THRESHOLD && self.capacity < MIN_TREEIFY_CAPACITY {
            self.capacity = self.capacity.saturating_mul(2);
        }
        if self.entries.len() > threshold(self.capacity) {
            self.capacity = self.capacity.saturating_mul(2);
        }
        true
    }

    /// `HashSet.remove`.
    pub(crate) fn remove(&mut self, key: &str) -> bool {
        let before = self.entries.len();
        self.entries.retain(|(k, _)| k != key);
        before != self.entries.len()
    }

    /// The members in Java's iteration order.
    pub(crate) fn iter_java(&self) -> impl Iterator<Item = &str> {
        let cap = self.capacity.max(1);
        let mut order: Vec<&(String, u32)> = self.entries.iter().collect();
        // A stable sort keeps chain (insertion) order inside each bucket.
        order.sort_by_key(|(_, h)| bucket_of(*h, cap));
        order.into_iter().map(|(k, _)| k.as_str())
    }

    /// `(HashSet) set.clone()`: a fresh `HashMap` sized for the current size and
    /// filled in the source's iteration order, which can reorder the members.
    pub(crate) fn java_clone(&self) -> JavaHashSet {
        if self.entries.is_empty() {
            return JavaHashSet::with_capacity(1);
        }
        // HashMap.putMapEntries: (int) ((float) s / loadFactor + 1.0F)
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        let wanted = ((self.entries.len() as f32) / 0.75_f32 + 1.0_f32) as usize;
        let mut out = JavaHashSet::with_capacity(wanted);
        for key in self.iter_java() {
            out.insert(key);
        }
        out
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
        assert_eq!(s.capacity, 16);
        assert_eq!(s.len(), 7);
        assert!(s.remove("n3"));
        assert!(!s.contains("n3"));
        assert_eq!(s.capacity, 16);
    }
}
