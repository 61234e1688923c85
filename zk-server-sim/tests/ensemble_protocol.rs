//! Client-protocol behaviour of a simulated ensemble, checked with a raw
//! client: handshake variants, session moves, FIFO, watch ordering, 4lw.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod ensemble_support;

use bytes::Bytes;
use ensemble_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zk_proto::{CreateMode, ErrorCode, EventType, Request, Response};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_negotiates_timeout_and_echoes_read_only_byte_only_when_sent() {
    let ens = ensemble(3).await; // tick 20 ms: timeouts clamp to [40, 400]
    let (_, hs) = handshake(
        ens.addr(0),
        &Hello {
            timeout: 10,
            ..Hello::default()
        },
    )
    .await;
    let Handshake::Connected(r) = hs else {
        panic!("refused")
    };
    assert_eq!(r.timeout, 40);
    assert_eq!(r.read_only, Some(false));
    assert_eq!(r.passwd.len(), 16);
    assert_eq!((r.session_id as u64) >> 56, 1, "server id in the high byte");
    let (_, hs) = handshake(
        ens.addr(2),
        &Hello {
            timeout: 100_000,
            read_only: None,
            ..Hello::default()
        },
    )
    .await;
    let Handshake::Connected(r) = hs else {
        panic!("refused")
    };
    assert_eq!(r.timeout, 400);
    assert_eq!(r.read_only, None, "old clients get no read-only byte");
    assert_eq!((r.session_id as u64) >> 56, 3);
    ens.check_history().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_moves_to_another_node_with_id_and_password() {
    let ens = ensemble(3).await;
    let mut a = connect(ens.addr(0)).await;
    assert_eq!(
        a.call(create("/e", b"x", CreateMode::Ephemeral))
            .await
            .err(),
        ErrorCode::Ok
    );
    let hello = a.hello();
    let (b, hs) = handshake(ens.addr(1), &hello).await;
    let Handshake::Connected(r) = hs else {
        panic!("refused")
    };
    assert_eq!(r.session_id, a.session_id);
    assert!(!r.is_expired());
    let mut b = b.unwrap();
    // The session (and its ephemeral) lives on.
    let reply = b.call(get("/e", false)).await;
    assert_eq!(reply.data(), Bytes::from_static(b"x"));
    // A write on the old connection gets SESSIONMOVED: the server closes it.
    let xid = a.send(&set("/e", b"y")).await;
    assert!(
        a.try_reply_to(xid).await.is_none(),
        "old connection is closed"
    );
    assert_eq!(
        b.call(get("/e", false)).await.data(),
        Bytes::from_static(b"x")
    );
    ens.check_history().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_on_the_same_node_closes_the_old_connection() {
    let ens = ensemble(3).await;
    let mut a = connect(ens.addr(1)).await;
    let (b, _) = handshake(ens.addr(1), &a.hello()).await;
    let mut b = b.unwrap();
    assert!(a.closed().await);
    assert_eq!(b.call(exists("/", false)).await.err(), ErrorCode::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_or_unknown_session_gets_the_expired_response() {
    let ens = ensemble(3).await;
    let a = connect(ens.addr(0)).await;
    let mut hello = a.hello();
    hello.passwd = Bytes::from_static(&[7; 16]);
    let (raw, hs) = handshake(ens.addr(1), &hello).await;
    let Handshake::Connected(r) = hs else {
        panic!("no response")
    };
    assert!(r.is_expired());
    assert_eq!(r.session_id, 0);
    assert_eq!(&r.passwd[..], &[0; 16]);
    assert!(raw.unwrap().closed().await);
    // Closed sessions are unknown afterwards.
    let mut a = a;
    let hello = a.hello();
    assert_eq!(a.call(Request::CloseSession).await.err(), ErrorCode::Ok);
    assert!(a.closed().await);
    let (_, hs) = handshake(ens.addr(2), &hello).await;
    let Handshake::Connected(r) = hs else {
        panic!("no response")
    };
    assert!(r.is_expired());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_ahead_of_the_server_is_closed_without_response() {
    let ens = ensemble(3).await;
    let (_, hs) = handshake(
        ens.addr(0),
        &Hello {
            last_zxid: ens.last_zxid(0) + 1000,
            ..Hello::default()
        },
    )
    .await;
    assert!(matches!(hs, Handshake::Closed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_sees_its_writes_in_order_and_replies_come_in_request_order() {
    let ens = ensemble(3).await;
    let follower = (0..3).find(|i| Some(*i) != ens.leader()).unwrap();
    let mut c = connect(ens.addr(follower)).await;
    let mut xids = Vec::new();
    xids.push(c.send(&create("/fifo", b"0", CreateMode::Persistent)).await);
    for i in 1..50u32 {
        xids.push(c.send(&set("/fifo", i.to_string().as_bytes())).await);
        xids.push(c.send(&get("/fifo", false)).await);
    }
    let mut last = 0;
    for (k, xid) in xids.iter().enumerate() {
        let r = c.reply_to(*xid).await; // asserts order
        assert_eq!(r.err(), ErrorCode::Ok);
        if k % 2 == 0 && k > 0 {
            let v: u32 = std::str::from_utf8(&r.data()).unwrap().parse().unwrap();
            assert_eq!(v, (k / 2) as u32, "read-your-writes");
            assert!(r.header.zxid > last);
            last = r.header.zxid;
        }
    }
    ens.check_history().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_event_arrives_before_the_data_it_announces() {
    let ens = ensemble(3).await;
    let mut w = connect(ens.addr(1)).await;
    let mut writer = connect(ens.addr(2)).await;
    writer
        .call(create("/w", b"a", CreateMode::Persistent))
        .await;
    w.call(sync("/w")).await;
    assert_eq!(
        w.call(get("/w", true)).await.data(),
        Bytes::from_static(b"a")
    );
    assert_eq!(
        w.call(exists("/w/child", true)).await.err(),
        ErrorCode::NoNode
    );
    writer.call(set("/w", b"b")).await;
    writer
        .call(create("/w/child", b"", CreateMode::Persistent))
        .await;
    // The first read that can see "b" comes after the event.
    let xid = w.send(&sync("/w")).await;
    w.reply_to(xid).await;
    let r = w.call(get("/w", false)).await;
    assert_eq!(r.data(), Bytes::from_static(b"b"));
    let pos_event = w
        .log
        .iter()
        .position(|f| matches!(f, Frame::Event(e) if e.path == "/w" && e.event_type == EventType::NodeDataChanged.code()))
        .expect("NodeDataChanged delivered");
    let pos_reply = w
        .log
        .iter()
        .position(|f| matches!(f, Frame::Reply(r) if matches!(&r.body, Some(Response::GetData(d)) if d.data[..] == b"b"[..])))
        .unwrap();
    assert!(pos_event < pos_reply);
    assert!(w
        .events()
        .iter()
        .any(|e| e.path == "/w/child" && e.event_type == EventType::NodeCreated.code()));
    ens.check_history().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_watches_sends_catch_up_events_before_its_reply() {
    let ens = ensemble(3).await;
    let mut c = connect(ens.addr(0)).await;
    c.call(create("/sw", b"1", CreateMode::Persistent)).await;
    let zxid = c.last_zxid;
    c.call(set("/sw", b"2")).await;
    let xid = c
        .send(&Request::SetWatches(zk_proto::SetWatches {
            relative_zxid: zxid,
            data_watches: vec!["/sw".into()],
            exist_watches: vec!["/nope".into()],
            child_watches: vec![],
        }))
        .await;
    let first = c.recv().await.unwrap();
    assert!(
        matches!(first, Frame::Event(ref e) if e.event_type == EventType::NodeDataChanged.code()),
        "{first:?}"
    );
    assert_eq!(c.reply_to(xid).await.err(), ErrorCode::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_auth_unknown_opcode_and_oversized_frames() {
    let ens = ensemble(3).await;
    let mut c = connect(ens.addr(0)).await;
    c.call(create("/p", b"", CreateMode::Persistent)).await;
    let r = c.call(Request::Ping).await;
    assert_eq!(r.header.xid, -2);
    assert_eq!(r.header.zxid, ens.last_zxid(0));
    // Digest auth works; reply zxid 0.
    let r = c
        .call(Request::Auth(zk_proto::AuthPacket {
            auth_type: 0,
            scheme: "digest".into(),
            auth: Bytes::from_static(b"user:pw"),
        }))
        .await;
    assert_eq!(
        (r.header.xid, r.header.zxid, r.err()),
        (-4, 0, ErrorCode::Ok)
    );
    // whoAmI lists the ip and digest ids.
    let r = c.call(Request::WhoAmI).await;
    let Some(Response::WhoAmI(who)) = r.body else {
        panic!()
    };
    assert!(who.client_info.iter().any(|i| i.auth_scheme == "ip"));
    assert!(who.client_info.iter().any(|i| i.auth_scheme == "digest"));
    // An unknown opcode gets UNIMPLEMENTED, in order.
    let mut frame = bytes::BytesMut::new();
    zk_proto::encode_frame(&mut frame, 1 << 20, |b| {
        use bytes::BufMut;
        b.put_i32(77);
        b.put_i32(9999);
    })
    .unwrap();
    c.stream.write_all(&frame).await.unwrap();
    let mut hdr = [0u8; 20];
    c.stream.read_exact(&mut hdr).await.unwrap();
    assert_eq!(i32::from_be_bytes(hdr[4..8].try_into().unwrap()), 77);
    assert_eq!(
        i32::from_be_bytes(hdr[16..20].try_into().unwrap()),
        ErrorCode::Unimplemented.code()
    );
    // An unknown auth scheme fails and closes.
    let mut d = connect(ens.addr(1)).await;
    let xid = d
        .send(&Request::Auth(zk_proto::AuthPacket {
            auth_type: 0,
            scheme: "nosuch".into(),
            auth: Bytes::new(),
        }))
        .await;
    assert_eq!(d.reply_to(xid).await.err(), ErrorCode::AuthFailed);
    assert!(d.closed().await);
    // An oversized frame closes the connection without a reply.
    let mut e = connect(ens.addr(2)).await;
    e.stream
        .write_all(&(2_000_000i32).to_be_bytes())
        .await
        .unwrap();
    assert!(e.closed().await);
    let mut f = connect(ens.addr(2)).await;
    f.stream.write_all(&(-1i32).to_be_bytes()).await.unwrap();
    assert!(f.closed().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_session_removes_ephemerals_on_every_node() {
    let ens = ensemble(3).await;
    let mut owner = connect(ens.addr(0)).await;
    let mut watchers = Vec::new();
    owner.call(create("/eph", b"", CreateMode::Ephemeral)).await;
    for i in 0..3 {
        let mut w = connect(ens.addr(i)).await;
        w.call(sync("/")).await;
        assert_eq!(w.call(exists("/eph", true)).await.err(), ErrorCode::Ok);
        watchers.push(w);
    }
    assert_eq!(owner.call(Request::CloseSession).await.err(), ErrorCode::Ok);
    assert!(owner.closed().await);
    for w in &mut watchers {
        let ev = loop {
            if let Some(Frame::Event(e)) = w.recv().await {
                break e;
            }
        };
        assert_eq!(
            (ev.event_type, ev.path.as_str()),
            (EventType::NodeDeleted.code(), "/eph")
        );
    }
    for i in 0..3 {
        assert!(!ens.snapshot(i).contains_key("/eph"));
    }
    ens.check_history().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_letter_words_have_the_real_formats() {
    let ens = ensemble(3).await;
    let leader = ens.leader().unwrap();
    let _c = connect(ens.addr(leader)).await;
    assert_eq!(four(ens.addr(0), "ruok").await, "imok");
    assert_eq!(four(ens.addr(0), "isro").await, "rw");
    let srvr = four(ens.addr(leader), "srvr").await;
    let lines: Vec<&str> = srvr.lines().collect();
    assert!(lines[0].starts_with("Zookeeper version: 3.8"), "{srvr}");
    assert!(lines[1].starts_with("Latency min/avg/max: "));
    assert!(lines[2].starts_with("Received: "));
    assert!(lines[3].starts_with("Sent: "));
    assert_eq!(
        lines[4], "Connections: 2",
        "the asking connection counts, as in 3.8"
    );
    assert!(lines[5].starts_with("Outstanding: "));
    assert_eq!(lines[6], format!("Zxid: {:#x}", ens.last_zxid(leader)));
    assert_eq!(lines[7], "Mode: leader");
    assert!(lines[8].starts_with("Node count: "));
    assert!(srvr.ends_with('\n'));
    let follower = (leader + 1) % 3;
    assert!(four(ens.addr(follower), "srvr")
        .await
        .contains("Mode: follower\n"));
    let stat = four(ens.addr(leader), "stat").await;
    assert!(stat.contains("\nClients:\n /127.0.0.1:"), "{stat}");
    assert!(stat.contains("[0](queued=0,recved=1,sent=0)\n"), "{stat}");
    assert!(stat.contains("[1](queued=0,recved="), "{stat}");
    let mntr = four(ens.addr(leader), "mntr").await;
    assert!(mntr.contains("zk_server_state\tleader\n"), "{mntr}");
    assert!(mntr.contains("zk_synced_followers\t2\n"));
    assert!(mntr.contains("zk_znode_count\t"));
    let cons = four(ens.addr(leader), "cons").await;
    assert!(cons.contains(",sid=0x"), "{cons}");
    // With the default whitelist `*`, dump answers too (issue 13).
    let dump = four(ens.addr(leader), "dump").await;
    assert!(
        dump.starts_with("SessionTracker dump:\nSession Sets ("),
        "{dump}"
    );
    assert!(
        dump.contains("\nephemeral nodes dump:\nSessions with Ephemerals ("),
        "{dump}"
    );
    assert!(
        dump.contains("\nConnections dump:\nConnections Sets ("),
        "{dump}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_commits_atomically_and_reports_per_op_errors() {
    use zk_proto::{MultiOp, MultiRequest};
    let ens = ensemble(3).await;
    let mut c = connect(ens.addr(1)).await;
    c.call(create("/m", b"", CreateMode::Persistent)).await;
    let Request::Create(cr) = create("/m/a", b"1", CreateMode::Persistent) else {
        unreachable!()
    };
    let ok = Request::Multi(MultiRequest {
        ops: vec![
            MultiOp::Create(cr.clone()),
            MultiOp::SetData(zk_proto::SetDataRequest {
                path: "/m/a".into(),
                data: Bytes::from_static(b"2").into(),
                version: 0,
            }),
            MultiOp::Check(zk_proto::CheckVersionRequest {
                path: "/m".into(),
                version: 0,
            }),
        ],
    });
    let r = c.call(ok).await;
    assert_eq!(r.err(), ErrorCode::Ok, "{r:?}");
    assert_eq!(
        c.call(get("/m/a", false)).await.data(),
        Bytes::from_static(b"2")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_watch_answers_with_an_error_response_body_and_stays_armed() {
    let ens = ensemble(3).await;
    let mut c = connect(ens.addr(0)).await;
    let r = c
        .call(Request::AddWatch(zk_proto::AddWatchRequest {
            path: "/aw".into(),
            mode: 1,
        }))
        .await;
    assert_eq!(r.err(), ErrorCode::Ok);
    assert!(matches!(r.body, Some(Response::AddWatch(_))), "{r:?}");
    c.call(create("/aw", b"", CreateMode::Persistent)).await;
    c.call(create("/aw/x", b"", CreateMode::Persistent)).await;
    let paths: Vec<String> = c.events().iter().map(|e| e.path.clone()).collect();
    assert_eq!(paths, ["/aw", "/aw/x"]);
    assert_eq!(ens.watch_count(0), ens.watch_count(0).max(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_pipelined_behind_the_connect_request_are_answered_after_it() {
    use bytes::BytesMut;
    use tokio::net::TcpStream;
    let ens = ensemble(3).await;
    let follower = (0..3).find(|i| Some(*i) != ens.leader()).unwrap();
    let mut s = TcpStream::connect(ens.addr(follower)).await.unwrap();
    let mut out = BytesMut::new();
    let hello = zk_proto::ConnectRequest {
        timeout: 10_000,
        passwd: Bytes::from_static(&[0; 16]),
        ..Default::default()
    };
    zk_proto::encode_record_frame(&mut out, 1 << 20, &hello).unwrap();
    zk_proto::encode_request(&mut out, 1 << 20, 1, &exists("/zookeeper", false)).unwrap();
    s.write_all(&out).await.unwrap();
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    while frames.len() < 2 {
        if let Some(f) = zk_proto::FrameDecoder::default().decode(&mut buf).unwrap() {
            frames.push(f);
            continue;
        }
        assert!(s.read_buf(&mut buf).await.unwrap() > 0);
    }
    use zk_proto::Record;
    let resp = zk_proto::ConnectResponse::from_bytes(frames[0].clone()).unwrap();
    assert!(!resp.is_expired());
    let hdr = zk_proto::ReplyHeader::decode(&mut zk_proto::Reader::new(frames[1].clone())).unwrap();
    assert_eq!((hdr.xid, hdr.err), (1, ErrorCode::Ok));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_node_ensemble_serves_and_dropping_an_ensemble_closes_its_ports() {
    let ens = ensemble(1).await;
    assert_eq!(ens.leader(), Some(0));
    let mut c = connect(ens.addr(0)).await;
    assert_eq!(
        c.call(create("/solo", b"", CreateMode::Persistent))
            .await
            .err(),
        ErrorCode::Ok
    );
    assert!(four(ens.addr(0), "srvr").await.contains("Mode: leader"));
    let addr = ens.addr(0);
    drop(ens);
    assert!(c.closed().await, "client connections are closed");
    for _ in 0..10_000 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    panic!("port still open after drop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_lets_a_lagging_follower_catch_up_before_answering() {
    let ens = patient_ensemble(5).await;
    let leader = ens.leader().unwrap();
    let lagging = (0..5).find(|i| *i != leader).unwrap();
    let mut reader = connect(ens.addr(lagging)).await;
    let mut writer = connect(ens.addr(leader)).await;
    ens.pause(lagging);
    writer
        .call(create("/fresh", b"", CreateMode::Persistent))
        .await;
    let zxid = ens.last_zxid(leader);
    assert!(ens.last_zxid(lagging) < zxid, "the paused follower lags");
    let xid = reader.send(&sync("/fresh")).await;
    ens.resume(lagging);
    let r = reader.reply_to(xid).await;
    assert!(r.header.zxid >= zxid);
    let Some(Response::Sync(s)) = r.body else {
        panic!()
    };
    assert_eq!(s.path, "/fresh");
    assert_eq!(
        reader.call(exists("/fresh", false)).await.err(),
        ErrorCode::Ok
    );
    ens.check_history().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_testkit_raw_client_works_across_nodes() {
    use zk_server_sim::testkit::RawClient;
    let ens = ensemble(3).await;
    let mut a = RawClient::connect(ens.addr(0), 10_000).await.unwrap();
    let mut b = RawClient::connect(ens.addr(2), 10_000).await.unwrap();
    let (h, _) = a
        .request(&create("/rk", b"1", CreateMode::Persistent))
        .await
        .unwrap();
    assert_eq!(h.err, ErrorCode::Ok);
    let (h, _) = b.request(&sync("/rk")).await.unwrap();
    assert_eq!(h.err, ErrorCode::Ok);
    let (h, body) = b.request(&get("/rk", true)).await.unwrap();
    assert_eq!(h.err, ErrorCode::Ok);
    assert!(matches!(body, Some(Response::GetData(ref d)) if d.data[..] == b"1"[..]));
    a.request(&set("/rk", b"2")).await.unwrap();
    let ev = b
        .next_notification(std::time::Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeDataChanged.code(), "/rk")
    );
    a.close().await.unwrap();
    b.close().await.unwrap();
    ens.check_history().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_four_letter_words_list_sessions_and_paths() {
    // Real 3.8 lists only data watches in wchs/wchc/wchp (DataTree.dumpWatches
    // uses dataWatches); with data watches alone the formats are comparable.
    let ens = ensemble(3).await;
    let mut c = connect(ens.addr(0)).await;
    c.call(get("/zookeeper", true)).await;
    assert_eq!(
        four(ens.addr(0), "wchs").await,
        "1 connections watching 1 paths\nTotal watches:1\n"
    );
    let sid = c.session_id;
    assert_eq!(
        four(ens.addr(0), "wchc").await,
        format!("{sid:#x}\n\t/zookeeper\n\n")
    );
    assert_eq!(
        four(ens.addr(0), "wchp").await,
        format!("/zookeeper\n\t{sid:#x}\n\n")
    );
    assert_eq!(
        four(ens.addr(1), "wchs").await,
        "0 connections watching 0 paths\nTotal watches:0\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_read_checks_the_acl_with_the_ids_it_arrived_with() {
    // A real 3.8 server answers this pipeline (setData; getData of a node
    // only u1 may read; auth as u1; getData again) with OK, NOAUTH, OK, OK:
    // a request's ids are copied when it arrives, even if it waits behind a
    // write while a later auth packet is processed.
    use zk_proto::{encode_request, Acl, AuthPacket, FrameDecoder, Perms, Reader, Record};
    let ens = ensemble(1).await;
    let mut c = connect(ens.addr(0)).await;
    let acl = vec![Acl::new(
        Perms::ALL,
        zk_server_sim::tree::auth::digest_id("u1:p1"),
    )];
    let r = c
        .call(Request::Create(zk_proto::CreateRequest {
            path: "/secret".into(),
            data: "s".into(),
            acl,
            flags: 0,
        }))
        .await;
    assert_eq!(r.err(), ErrorCode::Ok);
    c.call(create("/other", b"", CreateMode::Persistent)).await;
    let auth = Request::Auth(AuthPacket {
        auth_type: 0,
        scheme: "digest".into(),
        auth: "u1:p1".into(),
    });
    let mut out = bytes::BytesMut::new();
    for (xid, req) in [
        (100, set("/other", b"x")),
        (101, get("/secret", false)),
        (zk_proto::xid::AUTH, auth),
        (102, get("/secret", false)),
    ] {
        encode_request(&mut out, 1 << 20, xid, &req).unwrap();
    }
    c.stream.write_all(&out).await.unwrap();
    // The auth reply may overtake the setData's: collect by xid.
    let mut replies = std::collections::BTreeMap::new();
    let mut buf = bytes::BytesMut::new();
    while replies.len() < 4 {
        if let Some(f) = FrameDecoder::default().decode(&mut buf).unwrap() {
            let h = zk_proto::ReplyHeader::decode(&mut Reader::new(f)).unwrap();
            replies.insert(h.xid, h.err);
            continue;
        }
        assert!(c.stream.read_buf(&mut buf).await.unwrap() > 0, "closed");
    }
    assert_eq!(replies[&100], ErrorCode::Ok);
    assert_eq!(replies[&101], ErrorCode::NoAuth, "ids of its arrival");
    assert_eq!(replies[&zk_proto::xid::AUTH], ErrorCode::Ok);
    assert_eq!(replies[&102], ErrorCode::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipelined_sync_and_read_do_not_see_the_sessions_later_write() {
    // Found by the differential runner: on the leader's own connection, a
    // sync resolved through a message to itself came after the session's
    // next write had been applied, so its reply (and a read queued behind
    // it) showed that later write.
    use zk_server_sim::testkit::RawClient;
    for nodes in [1, 3] {
        let ens = ensemble(nodes).await;
        let leader = ens.leader().unwrap();
        let mut c = RawClient::connect(ens.addr(leader), 10_000).await.unwrap();
        let r = c
            .pipeline(&[
                create("/p", b"1", CreateMode::Persistent),
                sync("/p"),
                get("/p", false),
                set("/p", b"2"),
            ])
            .await
            .unwrap();
        let zxid = |i: usize| r[i].as_ref().unwrap().0.zxid;
        assert_eq!(zxid(1), zxid(0), "the sync's reply shows the create");
        assert_eq!(zxid(2), zxid(0));
        assert_eq!(zxid(3), zxid(0) + 1);
        let Some(Response::GetData(d)) = &r[2].as_ref().unwrap().1 else {
            panic!("{r:?}")
        };
        assert_eq!(&d.data[..], b"1", "the read comes before the setData");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_check_and_client_delete_container_answer_as_3_8() {
    // Checked against a real 3.8 server: a successful standalone check takes
    // a zxid and gets no reply, a failed one its error; a client-sent
    // deleteContainer is BADARGUMENTS (with a zxid) and deletes nothing.
    use zk_proto::{CheckVersionRequest, DeleteContainerRequest};
    use zk_server_sim::testkit::RawClient;
    for nodes in [1, 3] {
        let ens = ensemble(nodes).await;
        let mut c = RawClient::connect(ens.addr(nodes - 1), 10_000)
            .await
            .unwrap();
        let (h, _) = c
            .request(&create("/k", b"", CreateMode::Container))
            .await
            .unwrap();
        assert_eq!(h.err, ErrorCode::Ok);
        let created = h.zxid;
        let check = |version| {
            Request::Check(CheckVersionRequest {
                path: "/k".into(),
                version,
            })
        };
        let r = c.pipeline(&[check(0), Request::Ping]).await.unwrap();
        assert!(r[0].is_none(), "no reply to a successful check: {r:?}");
        let ping = r[1].as_ref().unwrap().0.zxid;
        assert_eq!(ping, created + 1, "the check took a zxid");
        let (h, _) = c.request(&check(5)).await.unwrap();
        assert_eq!((h.err, h.zxid), (ErrorCode::BadVersion, created + 2));
        let (h, _) = c
            .request(&Request::DeleteContainer(DeleteContainerRequest {
                path: "/k".into(),
            }))
            .await
            .unwrap();
        assert_eq!((h.err, h.zxid), (ErrorCode::BadArguments, created + 3));
        let (h, _) = c.request(&exists("/k", false)).await.unwrap();
        assert_eq!(h.err, ErrorCode::Ok, "the container is still there");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quorum_members_list_the_membership_in_the_config_node() {
    // A real 3-node 3.8 ensemble: "server.1=127.0.0.1:<quorum>:<election>:
    // participant;127.0.0.1:<client port>" per server, then "version=0";
    // czxid/mzxid/ctime 0, version and aversion -1. Standalone: empty.
    let ens = ensemble(3).await;
    let mut c = connect(ens.addr(1)).await;
    let r = c.call(get("/zookeeper/config", false)).await;
    let Some(Response::GetData(d)) = r.body else {
        panic!("{r:?}")
    };
    let expected: String = (0..3)
        .map(|i| {
            let a = ens.addr(i);
            format!(
                "server.{}=127.0.0.1:0:0:participant;127.0.0.1:{}\n",
                i + 1,
                a.port()
            )
        })
        .chain(["version=0".to_owned()])
        .collect();
    assert_eq!(String::from_utf8_lossy(&d.data), expected);
    let st = d.stat;
    assert_eq!((st.czxid, st.mzxid, st.ctime), (0, 0, 0));
    assert_eq!((st.version, st.aversion), (-1, -1));
    assert_eq!(st.data_length as usize, expected.len());
    let one = ensemble(1).await;
    let mut c = connect(one.addr(0)).await;
    assert!(c
        .call(get("/zookeeper/config", false))
        .await
        .data()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_four_letter_words_leave_child_watches_out() {
    // The same calls on a real 3.8 server (standalone and 3 nodes) answer
    // wchs "2 connections watching 4 paths / Total watches:4", wchc and wchp
    // with /a and /nope for the first session and /p and /r for the second
    // (paths in Java HashMap order there), and mntr zk_watch_count 8: child
    // watches (including addWatch's) count only in zk_watch_count.
    let ens = ensemble(3).await;
    let mut c = connect(ens.addr(0)).await;
    let mut d = connect(ens.addr(0)).await;
    c.call(create("/a", b"", CreateMode::Persistent)).await;
    c.call(create("/a/b", b"", CreateMode::Persistent)).await;
    c.call(get("/a", true)).await;
    c.call(children("/a", true)).await;
    c.call(children("/a/b", true)).await;
    assert_eq!(c.call(exists("/nope", true)).await.err(), ErrorCode::NoNode);
    for (path, mode) in [("/p", 0), ("/r", 1)] {
        let r = d
            .call(Request::AddWatch(zk_proto::AddWatchRequest {
                path: path.into(),
                mode,
            }))
            .await;
        assert_eq!(r.err(), ErrorCode::Ok);
    }
    assert_eq!(
        four(ens.addr(0), "wchs").await,
        "2 connections watching 4 paths\nTotal watches:4\n"
    );
    let (sc, sd) = (c.session_id, d.session_id);
    assert_eq!(
        four(ens.addr(0), "wchc").await,
        format!("{sc:#x}\n\t/a\n\t/nope\n{sd:#x}\n\t/p\n\t/r\n\n")
    );
    let wchp = four(ens.addr(0), "wchp").await;
    for path in ["/a", "/nope", "/p", "/r"] {
        assert!(wchp.contains(&format!("{path}\n\t0x")), "{wchp}");
    }
    assert!(!wchp.contains("/a/b"), "{wchp}");
    assert!(four(ens.addr(0), "mntr")
        .await
        .contains("zk_watch_count\t8\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_zxids_follow_the_server_version() {
    use zk_server_sim::testkit::RawClient;
    use zk_server_sim::ServerVersion;
    for (version, real_zxid) in [(ServerVersion::V3_8, false), (ServerVersion::V3_9, true)] {
        let ens = zk_server_sim::Ensemble::builder()
            .nodes(3)
            .tick_time(std::time::Duration::from_millis(20))
            .server_version(version)
            .seed(seed())
            .build()
            .await
            .unwrap();
        let mut c = RawClient::connect(ens.addr(0), 10_000).await.unwrap();
        c.request(&exists("/n", true)).await.unwrap();
        let (h, _) = c
            .request(&create("/n", b"", CreateMode::Persistent))
            .await
            .unwrap();
        let mut events = c.notifications_with_zxid();
        while events.is_empty() {
            c.request(&Request::Ping).await.unwrap();
            events = c.notifications_with_zxid();
        }
        let (zxid, ev) = &events[0];
        assert_eq!(ev.event_type, EventType::NodeCreated.code());
        if real_zxid {
            assert_eq!(*zxid, h.zxid, "3.9 sends the change's zxid");
        } else {
            assert_eq!(*zxid, -1, "3.8 sends -1");
        }
        let srvr = four(ens.addr(0), "srvr").await;
        assert!(srvr.starts_with(if real_zxid {
            "Zookeeper version: 3.9"
        } else {
            "Zookeeper version: 3.8"
        }));
    }
}
