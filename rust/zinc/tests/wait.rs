// SPDX-License-Identifier: MIT
//! Waiting in event loops: the consumer's descriptor (AsFd/AsRawFd,
//! borrowed, level-triggered, epoll against a producer thread), wait_any
//! over two rings (poll, timeout, fairness, a Vec, bad lists), Interrupted
//! from a signal handler (and its io::ErrorKind), the payload mappings. The
//! cross-process halves (epoll and wait_any against C producer processes)
//! are in interop.rs.

mod common;

use std::io;
use std::os::unix::io::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::os::{self, Epoll};
use common::Name;
use zinc::{wait_any, Consumer, Error, ErrorKind, Mode, Producer, RingConfig, Timeout};

const WAIT: Duration = Duration::from_secs(20);

/// One frame of 8 bytes: its seq.
fn publish(p: &mut Producer) -> u64 {
    let mut f = p.claim(WAIT).unwrap();
    let seq = f.seq();
    f.write(&seq.to_le_bytes()).unwrap();
    f.publish().unwrap()
}

/// try_acquire until None; the frames taken.
fn drain(c: &mut Consumer) -> usize {
    let mut n = 0;
    while let Some(f) = c.try_acquire().unwrap() {
        f.release().unwrap();
        n += 1;
    }
    n
}

#[test]
fn descriptor_is_borrowed_stable_and_level_triggered() {
    let name = Name::new("fd_level");
    let mut p = Producer::create(&name, &RingConfig::new(8, 64)).unwrap();
    let mut c = Consumer::open(&name, Mode::Every).unwrap();
    let fd = c.fd().unwrap().as_raw_fd();
    assert!(fd >= 0);
    assert_eq!(c.as_raw_fd(), fd, "the same descriptor on every call");
    assert_eq!(c.as_fd().as_raw_fd(), fd);
    assert!(!os::readable(fd, Duration::ZERO), "nothing published");

    publish(&mut p);
    assert!(os::readable(fd, Duration::from_secs(5)), "readable after a publish");
    publish(&mut p);
    // Level-triggered: a frame taken without reaching WouldBlock leaves it
    // readable.
    c.try_acquire().unwrap().unwrap().release().unwrap();
    assert!(os::readable(fd, Duration::ZERO), "one frame still pending");
    assert_eq!(drain(&mut c), 1);
    assert!(!os::readable(fd, Duration::ZERO), "acquire answered WouldBlock");

    // The producer closes: readable, and acquire says ProducerGone.
    drop(p);
    assert!(os::readable(fd, Duration::from_secs(5)), "readable once the producer closed");
    assert_eq!(c.acquire(Timeout::Poll).unwrap_err().kind(), ErrorKind::ProducerGone);
}

/// epoll on the descriptor of an EVERY consumer fed by a producer thread:
/// every frame, in order, then the producer's end.
#[test]
fn epoll_on_the_descriptor_with_a_producer_thread() {
    let name = Name::new("fd_epoll");
    let frames = 500u64;
    let mut p = Producer::create(&name, &RingConfig::new(4, 64)).unwrap();
    let mut c = Consumer::open(&name, Mode::Every).unwrap();
    let ep = Epoll::new();
    ep.add(c.as_raw_fd(), 7);
    let t = std::thread::spawn(move || {
        for _ in 0..frames {
            publish(&mut p);
        }
    }); // p is dropped at the end of the thread: the consumer sees ProducerGone
    let mut next = 1u64;
    loop {
        assert_eq!(ep.wait(WAIT), Some(7), "no readiness within 20 s; next frame {}", next);
        let gone = loop {
            match c.acquire(Timeout::Poll) {
                Ok(f) => {
                    assert_eq!((f.seq(), f.data()), (next, &next.to_le_bytes()[..]));
                    f.release().unwrap();
                    next += 1;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break false,
                Err(e) if e.kind() == ErrorKind::ProducerGone => break true,
                Err(e) => panic!("acquire: {}", e),
            }
        };
        if gone {
            break;
        }
    }
    t.join().unwrap();
    assert_eq!(next, frames + 1);
}

#[test]
fn wait_any_poll_timeout_ready_and_fairness() {
    let (na, nb) = (Name::new("any_a"), Name::new("any_b"));
    let mut pa = Producer::create(&na, &RingConfig::new(8, 64)).unwrap();
    let mut pb = Producer::create(&nb, &RingConfig::new(8, 64)).unwrap();
    let mut a = Consumer::open(&na, Mode::Every).unwrap();
    let mut b = Consumer::open(&nb, Mode::Every).unwrap();

    // Nothing anywhere.
    let e = wait_any(&mut [&mut a, &mut b], Timeout::Poll).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WouldBlock);
    let t0 = Instant::now();
    let e = wait_any(&mut [&mut a, &mut b], Duration::from_millis(20)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    assert!(t0.elapsed() >= Duration::from_millis(20));

    // A frame on b only: its index, as long as it is not taken.
    publish(&mut pb);
    assert_eq!(wait_any(&mut [&mut a, &mut b], WAIT).unwrap(), 1);
    assert_eq!(wait_any(&mut [&mut a, &mut b], Timeout::Poll).unwrap(), 1);
    assert_eq!(drain(&mut b), 1);

    // Both stay ready: the one returned least recently first, so they
    // alternate.
    publish(&mut pa);
    publish(&mut pb);
    let first = wait_any(&mut [&mut a, &mut b], None).unwrap();
    let second = wait_any(&mut [&mut a, &mut b], None).unwrap();
    let third = wait_any(&mut [&mut a, &mut b], None).unwrap();
    assert_ne!(first, second);
    assert_eq!(third, first);

    // A Vec of consumers works as well.
    let mut v = vec![a, b];
    assert!(wait_any(&mut v, Timeout::Poll).unwrap() < 2);
    assert_eq!(wait_any(&mut v[1..], Timeout::Poll).unwrap(), 0);
    assert_eq!(drain(&mut v[0]) + drain(&mut v[1]), 2);
    assert_eq!(wait_any(&mut v, Timeout::Poll).unwrap_err().kind(), ErrorKind::WouldBlock);

    // Bad lists: a clear error, never a crash.
    let mut none: [&mut Consumer; 0] = [];
    let e = wait_any(&mut none, Timeout::Poll).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(!e.message().is_empty());
    let nm = Name::new("any_many");
    let _keep = Producer::create(&nm, &RingConfig { max_consumers: 256, ..RingConfig::new(2, 64) })
        .unwrap();
    let mut many: Vec<Consumer> =
        (0..129).map(|_| Consumer::open(&nm, Mode::Latest).unwrap()).collect();
    let e = wait_any(&mut many, Timeout::Poll).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("128"), "{}", e);
    assert_eq!(
        wait_any(&mut many[..128], Timeout::Poll).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
}

// ---- signals -----------------------------------------------------------------

static HANDLED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_usr1(_: std::os::raw::c_int) {
    HANDLED.fetch_add(1, Ordering::SeqCst);
}

/// Run `call` in a scoped thread; once it sleeps in the kernel, signal it
/// (again every 20 ms, in case one lands between two sleeps) until it
/// returns, at most 5 s, then `unblock` so that a call that ignored the
/// signals still ends. The call's result.
fn interrupt<R: Send>(call: impl FnOnce() -> R + Send, unblock: impl FnOnce()) -> R {
    os::set_handler(os::SIGUSR1, on_usr1);
    let before = HANDLED.load(Ordering::SeqCst);
    let tid = AtomicI32::new(0);
    let pthread = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    let r = std::thread::scope(|s| {
        let t = s.spawn(|| {
            pthread.store(os::pthread_self() as u64, Ordering::SeqCst);
            tid.store(os::thread_id(), Ordering::SeqCst);
            let r = call();
            done.store(true, Ordering::SeqCst);
            r
        });
        while tid.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        let t0 = Instant::now();
        while os::thread_state(tid.load(Ordering::SeqCst)) != 'S'
            && t0.elapsed() < Duration::from_secs(5)
        {
            std::thread::yield_now();
        }
        let pt = pthread.load(Ordering::SeqCst);
        let t0 = Instant::now();
        while !done.load(Ordering::SeqCst) && t0.elapsed() < Duration::from_secs(5) {
            os::send_signal(pt as _, os::SIGUSR1);
            let t1 = Instant::now();
            while !done.load(Ordering::SeqCst) && t1.elapsed() < Duration::from_millis(20) {
                std::thread::yield_now();
            }
        }
        if !done.load(Ordering::SeqCst) {
            unblock();
        }
        t.join().unwrap()
    });
    assert!(HANDLED.load(Ordering::SeqCst) > before, "the handler ran");
    r
}

#[test]
fn a_signal_handler_ends_a_wait_with_interrupted() {
    let name = Name::new("sig");
    let p = std::sync::Mutex::new(Producer::create(&name, &RingConfig::new(8, 64)).unwrap());
    let mut c = Consumer::open(&name, Mode::Latest).unwrap();

    let e = interrupt(
        || wait_any(&mut [&mut c], None).map(|_| ()),
        || {
            publish(&mut p.lock().unwrap());
        },
    )
    .unwrap_err();
    assert_eq!((e.kind(), e.code()), (ErrorKind::Interrupted, -4), "{}", e);
    assert!(e.advice().contains("signal"), "{}", e.advice());
    assert_eq!(io::Error::from(e).kind(), io::ErrorKind::Interrupted);

    let e = interrupt(
        || c.acquire(None).map(|f| f.seq()),
        || {
            publish(&mut p.lock().unwrap());
        },
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Interrupted, "{}", e);
}

#[test]
fn interrupted_converts_to_io_interrupted() {
    assert_eq!(ErrorKind::from_code(-4), ErrorKind::Interrupted);
    assert_eq!(ErrorKind::Interrupted.code(), zinc::sys::ZINC_EINTR);
    let e = Error::new(ErrorKind::Interrupted, "a test");
    assert_eq!(io::Error::from(e).kind(), io::ErrorKind::Interrupted);
}

// ---- mappings ----------------------------------------------------------------

/// Do the `n` bytes at `p` lie within the `len` bytes at `base`?
fn inside((base, len): (*const u8, usize), p: *const u8, n: usize) -> bool {
    p as usize >= base as usize && p as usize + n <= base as usize + len
}

#[test]
fn mappings_hold_every_slot_and_are_shared() {
    let name = Name::new("mapping");
    let (slots, slot) = (4u32, 3 * 4096u64);
    let mut p = Producer::create(&name, &RingConfig::new(slots, slot)).unwrap();
    let mut c = Consumer::open(&name, Mode::Every).unwrap();
    let (pbase, plen) = (p.mapping().as_ptr(), p.mapping().len());
    assert!(plen as u64 >= slots as u64 * slot);
    assert_eq!(pbase as usize % 4096, 0, "page-aligned");
    assert_eq!(plen % 4096, 0);
    // Handles of one ring in one process share one mapping.
    let cmap = (c.mapping().as_ptr(), c.mapping().len());
    assert_eq!(cmap, (pbase, plen));
    assert!(!c.mapping().is_empty());

    for i in 0..2 * slots {
        let mut w = p.claim(WAIT).unwrap();
        let (wp, wn) = (w.data().as_ptr(), w.capacity());
        w.write(&[i as u8]).unwrap();
        w.publish().unwrap();
        let r = c.acquire(WAIT).unwrap();
        assert_eq!(r.data(), &[i as u8]);
        assert!(inside(cmap, r.data().as_ptr(), r.data().len()), "slot {}", i);
        r.release().unwrap();
        assert!(inside((pbase, plen), wp, wn), "slot {}", i);
    }
    assert_eq!(p.mapping().as_ptr(), pbase, "stable for the handle's life");
}

#[test]
fn consumer_mapping_reads_the_slots_once_the_producer_is_gone() {
    let name = Name::new("mapping_slice");
    let mut p = Producer::create(&name, &RingConfig::new(2, 4096)).unwrap();
    let mut c = Consumer::open(&name, Mode::Every).unwrap();
    let base = c.mapping().as_ptr() as usize;
    let mut offsets = Vec::new();
    for tag in [0xa5u8, 0x5a] {
        let mut w = p.claim(WAIT).unwrap();
        w.write(&[tag; 16]).unwrap();
        w.publish().unwrap();
        let r = c.acquire(WAIT).unwrap();
        offsets.push((r.data().as_ptr() as usize - base, tag));
        drop(r);
    }
    drop(p); // nobody writes the payloads any more: as_slice's contract holds
    let map = c.mapping();
    // A `Mapping` is an address and a length that may cross threads.
    let (addr, len) =
        std::thread::scope(|s| s.spawn(|| (map.as_ptr() as usize, map.len())).join().unwrap());
    assert_eq!((addr, len), (map.as_ptr() as usize, map.len()));
    // SAFETY: the ring's producer is closed, no other handle writes it.
    let bytes = unsafe { map.as_slice() };
    assert_eq!(bytes.len(), map.len());
    for (off, tag) in offsets {
        assert_eq!(&bytes[off..off + 16], &[tag; 16], "slot at {}", off);
    }
    assert_eq!(c.acquire(Timeout::Poll).unwrap_err().kind(), ErrorKind::ProducerGone);
}
