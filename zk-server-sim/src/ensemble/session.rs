//! Session ids and passwords, derived so that any node can validate them.

use bytes::Bytes;
use zk_proto::PASSWORD_LEN;

/// SplitMix64: a small, good mixing function for deriving values from seeds.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The first session id a server hands out, shaped like ZooKeeper's
/// `((time << 24) >>> 8) | (sid << 56)` with seed-derived bits for the time.
pub(crate) fn first_session_id(seed: u64, server_id: u64) -> i64 {
    let base = (mix(seed ^ server_id.wrapping_mul(0x1000_0001)) << 24) >> 8;
    (base | (server_id << 56)) as i64
}

/// The 16-byte password of `session_id` under the ensemble's secret.
pub(crate) fn password(secret: u64, session_id: i64) -> Bytes {
    let a = mix(secret ^ session_id as u64);
    let b = mix(a ^ secret.rotate_left(17));
    let mut out = [0u8; PASSWORD_LEN];
    for (slot, byte) in out
        .iter_mut()
        .zip(a.to_be_bytes().into_iter().chain(b.to_be_bytes()))
    {
        *slot = byte;
    }
    Bytes::copy_from_slice(&out)
}
