//! The byte layout of encoded requests, for a client that encodes a request
//! when it is made and patches it when it is written: the xid (assigned in
//! wire order) and the watch flag (cleared when another watch serves it).
//!
//! A frame from [`encode_request`](crate::encode_request) is the 4-byte
//! length, the [`RequestHeader`](crate::RequestHeader) (xid, then opcode),
//! then the body; the reads that can leave a watch (exists, getData,
//! getChildren, getChildren2) end with the one-byte watch flag.

use crate::{OpCode, SetWatches, SetWatches2};

/// Where the xid sits in a request frame (after the length prefix).
const XID: std::ops::Range<usize> = 4..8;

/// Sets the xid of a request frame made by
/// [`encode_request`](crate::encode_request). False (nothing changed) if
/// the frame is too short to hold a header.
pub fn set_request_xid(frame: &mut [u8], xid: i32) -> bool {
    match frame.get_mut(XID) {
        Some(slot) => {
            slot.copy_from_slice(&xid.to_be_bytes());
            true
        }
        None => false,
    }
}

/// Whether requests of `op` end with a watch flag.
pub fn has_watch_flag(op: OpCode) -> bool {
    matches!(
        op,
        OpCode::Exists | OpCode::GetData | OpCode::GetChildren | OpCode::GetChildren2
    )
}

/// Sets the watch flag of an encoded `op` request frame. False (nothing
/// changed) if `op` has no watch flag or the frame holds no body.
pub fn set_request_watch(frame: &mut [u8], op: OpCode, watch: bool) -> bool {
    if !has_watch_flag(op) || frame.len() <= XID.end + 4 {
        return false;
    }
    match frame.last_mut() {
        Some(flag) => {
            *flag = u8::from(watch);
            true
        }
        None => false,
    }
}

impl From<SetWatches> for SetWatches2 {
    /// The same one-shot watches, with no persistent ones (SetWatches2 is a
    /// superset of SetWatches).
    fn from(w: SetWatches) -> Self {
        SetWatches2 {
            relative_zxid: w.relative_zxid,
            data_watches: w.data_watches,
            exist_watches: w.exist_watches,
            child_watches: w.child_watches,
            persistent_watches: Vec::new(),
            persistent_recursive_watches: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use bytes::BytesMut;

    use super::*;
    use crate::{decode_request, encode_request, GetDataRequest, Request, DEFAULT_MAX_FRAME};

    #[test]
    fn patched_frames_decode_as_encoded_with_the_new_values() {
        for (op, req) in [
            (
                OpCode::GetData,
                Request::GetData(GetDataRequest {
                    path: "/a/b".into(),
                    watch: true,
                }),
            ),
            (
                OpCode::Exists,
                Request::Exists(crate::ExistsRequest {
                    path: "/x".into(),
                    watch: true,
                }),
            ),
        ] {
            let mut frame = BytesMut::new();
            encode_request(&mut frame, DEFAULT_MAX_FRAME, 0, &req).unwrap();
            assert!(set_request_xid(&mut frame, 4711));
            assert!(set_request_watch(&mut frame, op, false));
            let (header, decoded) = decode_request(frame.split_off(4).freeze()).unwrap();
            assert_eq!(header.xid, 4711);
            match decoded {
                Request::GetData(r) => assert!(!r.watch),
                Request::Exists(r) => assert!(!r.watch),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn ops_without_a_flag_and_short_frames_are_left_alone() {
        let mut frame = BytesMut::new();
        encode_request(&mut frame, DEFAULT_MAX_FRAME, 1, &Request::Ping).unwrap();
        let before = frame.clone();
        assert!(!set_request_watch(&mut frame, OpCode::Ping, false));
        assert_eq!(frame, before);
        assert!(!set_request_xid(&mut [0u8; 7], 1));
        assert!(!set_request_watch(&mut [0u8; 8], OpCode::GetData, true));
    }

    #[test]
    fn set_watches_converts_to_set_watches2() {
        let w = SetWatches {
            relative_zxid: 9,
            data_watches: vec!["/d".into()],
            exist_watches: vec!["/e".into()],
            child_watches: vec!["/c".into()],
        };
        let w2 = SetWatches2::from(w.clone());
        assert_eq!(w2.relative_zxid, 9);
        assert_eq!(w2.data_watches, w.data_watches);
        assert_eq!(w2.exist_watches, w.exist_watches);
        assert_eq!(w2.child_watches, w.child_watches);
        assert!(w2.persistent_watches.is_empty() && w2.persistent_recursive_watches.is_empty());
    }
}
