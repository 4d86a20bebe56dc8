// SPDX-License-Identifier: MIT
//! Sealed anonymous rings in one process: listen and connect on an abstract
//! socket, ring_connect with ring_stats_fd / inspect_fd (owners, producer
//! state), Producer::fd with Consumer::open_fd (borrowed), the registry,
//! group access, and the errors of each call. Other processes (C and
//! Python producers and consumers) are in interop.rs.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::io::{AsFd, AsRawFd};
use std::time::Duration;

use common::os;
use common::Name;
use zinc::{
    inspect, inspect_fd, ring_connect, ring_stats, ring_stats_fd, socket_registry, Consumer,
    ErrorKind, Mode, Producer, ProducerState, Region, RegionOptions, RingConfig, Timeout,
};

const WAIT: Duration = Duration::from_secs(20);

fn anonymous(slots: u32, slot: u64) -> RingConfig {
    RingConfig { anonymous: true, ..RingConfig::new(slots, slot) }
}

/// One frame: `n` bytes, each (seq * 3 + i) & 0xff.
fn publish(p: &mut Producer, n: usize) -> u64 {
    let mut f = p.claim(WAIT).unwrap();
    let seq = f.seq();
    let bytes: Vec<u8> = (0..n).map(|i| (seq as usize * 3 + i) as u8).collect();
    f.write(&bytes).unwrap();
    f.publish().unwrap()
}

fn payload_ok(seq: u64, data: &[u8]) -> bool {
    data.iter().enumerate().all(|(i, &b)| b == (seq as usize * 3 + i) as u8)
}

#[test]
fn listen_connect_stats_and_owners_on_an_abstract_socket() {
    let name = Name::new("anon_listen");
    let addr = format!("@{}", &*name);
    let mut p = Producer::create(&name, &anonymous(4, 4096)).unwrap();
    p.listen(&addr).unwrap();
    // Nothing in /dev/shm.
    assert_eq!(inspect(&name).unwrap_err().kind(), ErrorKind::NotFound);

    let mut c = Consumer::connect(&addr, Mode::Every).unwrap();
    assert!(c.config().anonymous);
    assert_eq!(c.config().slot_count, 4);

    let fd = ring_connect(&addr).unwrap();
    let st = ring_stats_fd(&fd).unwrap();
    assert_eq!(st.producer_state(), Some(ProducerState::Open));
    assert_eq!(st.ring.producer_alive, 1);
    assert_eq!(st.consumers.len(), 1);
    assert_eq!(st.consumers[0].pid as u32, std::process::id());
    assert_eq!((st.ring.owner_uid, st.ring.foreign), (os::euid(), 0));
    let info = inspect_fd(fd.as_fd()).unwrap();
    assert_eq!((info.is_ring, info.owner_uid, info.foreign), (1, os::euid(), 0));

    let mut next = 1;
    for _ in 0..5 {
        publish(&mut p, 100);
        publish(&mut p, 100);
        while let Some(f) = c.try_acquire().unwrap() {
            assert_eq!(f.seq(), next);
            assert!(payload_ok(f.seq(), f.data()));
            f.release().unwrap();
            next += 1;
        }
    }
    assert_eq!(next, 11);

    // The descriptor keeps the ring: its producer is now closed.
    drop(p);
    assert_eq!(c.acquire(Timeout::Poll).unwrap_err().kind(), ErrorKind::ProducerGone);
    let st = ring_stats_fd(&fd).unwrap();
    assert_eq!(st.producer_state(), Some(ProducerState::Closed));
    assert_eq!(st.ring.published, 10);
    // And nobody listens any more.
    assert_eq!(Consumer::connect(&addr, Mode::Every).unwrap_err().kind(), ErrorKind::NotFound);
}

#[test]
fn connect_wait_retries_until_a_listener_comes() {
    let name = Name::new("anon_later");
    let addr = format!("@{}", &*name);
    let e = Consumer::connect_wait(&addr, Mode::Every, Duration::from_millis(30)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);

    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (n2, a2) = (name.0.clone(), addr.clone());
    let t = std::thread::spawn(move || {
        rx.recv().unwrap();
        let mut p = Producer::create(&n2, &anonymous(4, 4096)).unwrap();
        p.listen(&a2).unwrap();
        // Until the consumer has attached, then one frame.
        let fd = p.fd().unwrap();
        let t0 = std::time::Instant::now();
        while !ring_stats_fd(&fd).unwrap().consumers.iter().any(|c| c.attached_ns != 0) {
            assert!(t0.elapsed() < WAIT, "no consumer attached");
            std::thread::yield_now();
        }
        publish(&mut p, 64);
        p
    });
    tx.send(()).unwrap();
    let mut c = Consumer::connect_wait(&addr, Mode::Every, WAIT).unwrap();
    let f = c.acquire(WAIT).unwrap();
    assert!(payload_ok(f.seq(), f.data()));
    f.release().unwrap();
    drop(t.join().unwrap());
}

#[test]
fn producer_fd_and_open_fd_which_borrows_it() {
    let name = Name::new("anon_fd");
    let mut p = Producer::create(&name, &anonymous(4, 4096)).unwrap();
    let fd = p.fd().unwrap();
    let other = p.fd().unwrap();
    assert_ne!(fd.as_raw_fd(), other.as_raw_fd(), "a new descriptor per call");
    let mut c = Consumer::open_fd(&fd, Mode::Every).unwrap();
    drop(fd); // borrowed: the consumer keeps its own
    let mut c2 = Consumer::open_fd(other.as_fd(), Mode::Lossy).unwrap();
    publish(&mut p, 32);
    for c in [&mut c, &mut c2] {
        let f = c.acquire(WAIT).unwrap();
        assert!(payload_ok(f.seq(), f.data()));
        f.release().unwrap();
    }
    assert_eq!(ring_stats_fd(&other).unwrap().consumers.len(), 2);
}

#[test]
fn every_call_fails_with_a_code_and_a_message() {
    let name = Name::new("anon_errors");
    let addr = format!("@{}", &*name);
    // Nobody listens.
    let e = Consumer::connect(&addr, Mode::Every).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(!e.message().is_empty());
    assert_eq!(ring_connect(&addr).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(Consumer::connect("", Mode::Every).unwrap_err().kind(), ErrorKind::InvalidArgument);
    let e = Consumer::connect("@a\0b", Mode::Every).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("NUL"), "{}", e);

    // A named ring has no socket and no descriptor to hand out.
    let mut named = Producer::create(&name, &RingConfig::new(4, 64)).unwrap();
    assert_eq!(named.listen(&addr).unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(named.fd().unwrap_err().kind(), ErrorKind::InvalidArgument);

    // Listening: a bad address, twice, an address taken.
    let na = Name::new("anon_errors_a");
    let mut p = Producer::create(&na, &anonymous(4, 64)).unwrap();
    assert_eq!(p.listen("@").unwrap_err().kind(), ErrorKind::InvalidArgument);
    p.listen(&addr).unwrap();
    let e = p.listen(format!("{}-2", addr)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "already listening: {}", e);
    let nb = Name::new("anon_errors_b");
    let mut q = Producer::create(&nb, &anonymous(4, 64)).unwrap();
    assert_eq!(q.listen(&addr).unwrap_err().kind(), ErrorKind::AlreadyExists);

    // A descriptor that is not a sealed ring: a plain file on tmpfs.
    let path = format!("/dev/shm/{}-plain", &*name);
    let file =
        std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path).unwrap();
    file.set_len(1 << 20).unwrap();
    std::fs::remove_file(&path).unwrap();
    let e = Consumer::open_fd(&file, Mode::Every).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupted, "{}", e);
    assert_eq!(ring_stats_fd(&file).unwrap_err().kind(), ErrorKind::Corrupted);
    assert_eq!(inspect_fd(&file).unwrap_err().kind(), ErrorKind::Corrupted);

    // Connecting works once a producer listens.
    let mut c = Consumer::connect(&addr, Mode::Latest).unwrap();

    // unlisten: nobody new connects, the attached consumer carries on, the
    // address is free for another producer; a second unlisten is an error.
    p.unlisten().unwrap();
    assert_eq!(Consumer::connect(&addr, Mode::Latest).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(p.unlisten().unwrap_err().kind(), ErrorKind::InvalidArgument);
    q.listen(&addr).unwrap();
    p.claim(Some(Duration::ZERO)).unwrap().publish().unwrap();
    let f = c.acquire(Some(Duration::ZERO)).unwrap();
    assert_eq!(f.seq(), 1, "the consumer of the unlistened ring carries on");
}

/// A listener registers its address for `zinc ls` (a symbolic link to it)
/// and removes it when it closes.
#[test]
fn a_listener_registers_its_address() {
    let dir = socket_registry().unwrap();
    let expect = match (std::env::var_os("ZINC_RUNTIME_DIR"), std::env::var_os("XDG_RUNTIME_DIR")) {
        (Some(d), _) if !d.is_empty() => d.into(),
        (_, Some(x)) if !x.is_empty() => std::path::PathBuf::from(x).join("zinc"),
        _ => format!("/tmp/zinc-{}", os::euid()).into(),
    };
    assert_eq!(dir, expect);

    let name = Name::new("anon_registry");
    let addr = format!("@{}", &*name);
    let entries_to = |addr: &str| -> usize {
        std::fs::read_dir(&dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter(|e| {
                        std::fs::read_link(e.path()).map(|t| t.as_os_str() == addr).unwrap_or(false)
                    })
                    .count()
            })
            .unwrap_or(0)
    };
    let mut p = Producer::create(&name, &anonymous(4, 64)).unwrap();
    p.listen(&addr).unwrap();
    // Registration is best effort: only in a directory that is ours alone.
    let md = std::fs::metadata(&dir);
    let ours = md.map(|m| m.permissions().mode() & 0o022 == 0).unwrap_or(false);
    if !ours {
        eprintln!("SKIP registry check: {} is not a private directory here", dir.display());
        return;
    }
    assert_eq!(entries_to(&addr), 1, "one entry in {} pointing at {}", dir.display(), addr);
    drop(p);
    assert_eq!(entries_to(&addr), 0, "removed at close");
}

fn shm_mode(name: &str) -> u32 {
    std::fs::metadata(format!("/dev/shm/zinc_{}", name)).unwrap().permissions().mode() & 0o777
}

#[test]
fn group_access_and_owners() {
    let (r1, r2, r3) = (Name::new("grp_r1"), Name::new("grp_r2"), Name::new("grp_ring"));
    let _plain = Region::create(&r1, 4096).unwrap();
    assert_eq!(shm_mode(&r1), 0o600);
    let opts = RegionOptions { group_access: true, ..Default::default() };
    let _shared = Region::create_with(&r2, 4096, &opts).unwrap();
    assert_eq!(shm_mode(&r2), 0o660);
    let i = inspect(&r2).unwrap();
    assert_eq!((i.owner_uid, i.foreign), (os::euid(), 0));

    let _p = Producer::create(&r3, &RingConfig { group_access: true, ..RingConfig::new(4, 64) })
        .unwrap();
    assert_eq!(shm_mode(&r3), 0o660);
    let st = ring_stats(&r3).unwrap();
    assert_eq!(st.producer_state(), Some(ProducerState::Open));
    assert_eq!((st.ring.owner_uid, st.ring.foreign), (os::euid(), 0));
}

#[test]
fn the_library_version_is_the_headers() {
    let v = zinc::version_string();
    let parts: Vec<&str> = v.split('.').collect();
    assert_eq!(parts.len(), 3, "{}", v);
    assert!(parts.iter().all(|p| p.parse::<u32>().is_ok()), "{}", v);
}
