//! ZooKeeper's tree digest (`zookeeper.digest.enabled`, on by default in
//! 3.8), listed by the `hash` four-letter word.
//!
//! A node's digest is the CRC-32 of its path (`""` for the root), its data,
//! then 60 bytes of its persisted Stat, big-endian: czxid, mzxid, pzxid,
//! ctime, mtime (longs), version, cversion, aversion (ints), ephemeralOwner
//! (long). Nodes under `/zookeeper/` count nothing. The tree's digest is the
//! wrapping sum of its nodes' digests, as a Java `long`. (Checked against a
//! real 3.8 server: its fresh tree logs `digest is 1371985504`.)

use super::DataTree;

/// The CRC-32 (IEEE, reflected, as `java.util.zip.CRC32`) lookup table.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        // A const block: i < 256 by the loop bound.
        #[allow(clippy::indexing_slicing)]
        {
            table[i] = c;
        }
        i += 1;
    }
    table
};

/// A running CRC-32.
struct Crc32(u32);

impl Crc32 {
    fn new() -> Self {
        Crc32(!0)
    }

    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            let idx = usize::from((self.0 as u8) ^ b);
            self.0 = CRC_TABLE.get(idx).copied().unwrap_or(0) ^ (self.0 >> 8);
        }
    }

    fn value(&self) -> u32 {
        !self.0
    }
}

impl DataTree {
    /// The tree digest a real 3.8 server computes for the same tree.
    pub fn digest(&self) -> i64 {
        self.nodes
            .iter()
            .filter(|(path, _)| !path.starts_with("/zookeeper/"))
            .fold(0i64, |sum, (path, n)| {
                let path = if path == "/" { "" } else { path.as_str() };
                let s = &n.stat;
                let mut stat = [0u8; 60];
                let fields = s
                    .czxid
                    .to_be_bytes()
                    .into_iter()
                    .chain(s.mzxid.to_be_bytes())
                    .chain(s.pzxid.to_be_bytes())
                    .chain(s.ctime.to_be_bytes())
                    .chain(s.mtime.to_be_bytes())
                    .chain(s.version.to_be_bytes())
                    .chain(s.cversion.to_be_bytes())
                    .chain(s.aversion.to_be_bytes())
                    .chain(s.ephemeral_owner.to_be_bytes());
                for (slot, b) in stat.iter_mut().zip(fields) {
                    *slot = b;
                }
                let mut crc = Crc32::new();
                crc.update(path.as_bytes());
                crc.update(&n.data);
                crc.update(&stat);
                sum.wrapping_add(i64::from(crc.value()))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        let mut c = Crc32::new();
        c.update(b"123456789");
        assert_eq!(c.value(), 0xcbf4_3926);
    }

    #[test]
    fn a_fresh_tree_has_real_zookeepers_digest() {
        // Logged by a fresh real 3.8 standalone server:
        // "Snapshot loaded ..., highest zxid is 0x0, digest is 1371985504".
        assert_eq!(DataTree::new().digest(), 1_371_985_504);
    }
}
