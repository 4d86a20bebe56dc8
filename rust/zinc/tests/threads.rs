// SPDX-License-Identifier: MIT
//! Handles moved to other threads (Send), one frame read by several threads
//! at once (ReadFrame: Sync), and the ring's delivery guarantees between a
//! producer thread and consumer threads on real shared memory.

mod common;

use std::thread;
use std::time::Duration;

use common::Name;
use zinc::{Consumer, ErrorKind, Mode, Producer, RingConfig};

const FRAMES: u64 = 3000;

/// Payload of frame `seq`: its seq, then bytes derived from it.
fn fill(buf: &mut [u8], seq: u64) {
    buf[..8].copy_from_slice(&seq.to_le_bytes());
    for (i, b) in buf[8..].iter_mut().enumerate() {
        *b = (seq as usize * 31 + i) as u8;
    }
}

fn intact(buf: &[u8]) -> Option<u64> {
    let seq = u64::from_le_bytes(buf[..8].try_into().unwrap());
    let ok = buf[8..].iter().enumerate().all(|(i, &b)| b == (seq as usize * 31 + i) as u8);
    ok.then_some(seq)
}

#[test]
fn consumer_threads_get_their_modes_guarantees() {
    let name = Name::new("threads_modes");
    let mut p = Producer::create(&name, &RingConfig::new(4, 256)).unwrap();
    // Opened here, used in other threads: handles are Send.
    let every: Vec<Consumer> =
        (0..2).map(|_| Consumer::open(&name, Mode::Every).unwrap()).collect();
    let lossy = Consumer::open(&name, Mode::Lossy).unwrap();

    let mut workers = Vec::new();
    for mut c in every {
        workers.push(thread::spawn(move || {
            let mut next = 1;
            loop {
                match c.acquire(Duration::from_secs(20)) {
                    Ok(f) => {
                        assert_eq!(f.seq(), next, "EVERY delivers each frame, in order");
                        assert_eq!(f.dropped(), 0);
                        assert_eq!(intact(f.data()), Some(next));
                        f.release().expect("an EVERY frame is never overwritten while held");
                        next += 1;
                    }
                    Err(e) if e.kind() == ErrorKind::ProducerGone => break,
                    Err(e) => panic!("every consumer: {}", e),
                }
            }
            next - 1
        }));
    }
    let lossy_worker = thread::spawn(move || {
        let mut c = lossy;
        let (mut last, mut good, mut torn) = (0u64, 0u64, 0u64);
        loop {
            match c.acquire(Duration::from_secs(20)) {
                Ok(f) => {
                    assert!(f.seq() > last, "frames in order");
                    assert_eq!(f.seq(), last + f.dropped() + 1, "dropped counts the gap");
                    last = f.seq();
                    let seen = intact(f.data());
                    match f.release() {
                        Ok(()) => {
                            // Intact for the whole hold: the bytes read are that frame's.
                            assert_eq!(seen, Some(last));
                            good += 1;
                        }
                        Err(t) => {
                            assert_eq!(t.seq, last);
                            torn += 1;
                        }
                    }
                }
                Err(e) if e.kind() == ErrorKind::ProducerGone => break,
                Err(e) => panic!("lossy consumer: {}", e),
            }
        }
        (last, good, torn)
    });

    for _ in 0..FRAMES {
        let mut f = p.claim(Duration::from_secs(20)).unwrap();
        let seq = f.seq();
        fill(&mut f.data_mut()[..256], seq);
        f.set_size(256);
        f.publish().unwrap();
    }
    drop(p);
    for w in workers {
        assert_eq!(w.join().unwrap(), FRAMES);
    }
    let (last, good, _torn) = lossy_worker.join().unwrap();
    assert_eq!(last, FRAMES, "a lossy consumer ends on the last frame");
    assert!(good > 0);
}

#[test]
fn one_frame_read_by_several_threads() {
    let name = Name::new("threads_shared_frame");
    let mut p = Producer::create(&name, &RingConfig::new(2, 1 << 20)).unwrap();
    let mut c = Consumer::open(&name, Mode::Every).unwrap();

    // A claimed frame moves to the thread that fills and publishes it.
    let f = p.claim(None).unwrap();
    thread::scope(|s| {
        s.spawn(move || {
            let mut f = f;
            for (i, b) in f.data_mut().iter_mut().enumerate() {
                *b = (i % 251) as u8;
            }
            f.publish().unwrap()
        });
    });
    let frame = c.acquire(Duration::from_secs(10)).unwrap();
    let expect: u64 = (0..1usize << 20).map(|i| (i % 251) as u64).sum();
    let frame_ref = &frame;
    let total: u64 = thread::scope(|s| {
        // Spawn every reader before joining any (clippy misreads the collect).
        #[allow(clippy::needless_collect)]
        let parts: Vec<_> = frame_ref
            .data()
            .chunks(1 << 18)
            .map(|chunk| s.spawn(move || chunk.iter().map(|&b| b as u64).sum::<u64>()))
            .collect();
        parts.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(total, expect);
    frame.release().unwrap();
}

#[test]
fn open_wait_attaches_once_the_producer_creates_the_ring() {
    let name = Name::new("threads_open_wait");
    let missing = format!("{}_never", &*name);
    let e = Consumer::open_wait(&missing, Mode::Every, Duration::from_millis(30)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);

    let n = name.0.clone();
    let waiter =
        thread::spawn(move || Consumer::open_wait(&n, Mode::Every, Duration::from_secs(20)));
    let mut p = Producer::create(&name, &RingConfig::new(2, 64)).unwrap();
    let mut c = waiter.join().unwrap().expect("attached within the wait");
    let mut f = p.claim(None).unwrap();
    f.write(b"late").unwrap();
    f.publish().unwrap();
    assert_eq!(c.acquire(Duration::from_secs(5)).unwrap().data(), b"late");
}
