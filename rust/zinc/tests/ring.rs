// SPDX-License-Identifier: MIT
//! The safe ring API in one process: frames, descriptors, the holding rules
//! at run time (release and abort on drop, torn frames) and every error a
//! caller can provoke.

mod common;

use std::time::Duration;

use common::Name;
use zinc::{
    fourcc, Consumer, DType, Descriptor, ErrorKind, Mode, Producer, RingConfig, Tensor, Timeout,
};

fn ring(name: &str, slots: u32, size: u64) -> Producer {
    Producer::create(name, &RingConfig::new(slots, size)).expect("create ring")
}

#[test]
fn frame_round_trip_carries_payload_and_descriptor() {
    let name = Name::new("round_trip");
    let mut p = ring(&name, 4, 4096);
    let mut c = Consumer::open(&name, Mode::Every).unwrap();

    let mut f = p.claim(None).unwrap();
    assert_eq!(f.seq(), 1);
    assert_eq!(f.capacity(), 4096);
    f.set_image(fourcc::RGB24, 8, 4).unwrap();
    assert_eq!(f.size(), 8 * 4 * 3);
    for (i, b) in f.data_mut()[..96].iter_mut().enumerate() {
        *b = (i * 3 + 1) as u8;
    }
    f.set_timestamp_ns(123_456);
    f.set_flags(zinc::flags::KEYFRAME);
    f.user_mut()[..4].copy_from_slice(b"rust");
    assert_eq!(f.publish().unwrap(), 1);

    let f = c.acquire(Duration::from_secs(5)).unwrap();
    assert_eq!(f.seq(), 1);
    assert_eq!(f.size(), 96);
    assert_eq!(f.data().len(), 96);
    assert!(f.data().iter().enumerate().all(|(i, &b)| b == (i * 3 + 1) as u8));
    assert_eq!(f.timestamp_ns(), 123_456);
    assert!(f.publish_ns() > 0, "a ring with timestamps stamps publish_ns");
    assert_eq!(f.flags(), zinc::flags::KEYFRAME);
    assert_eq!(&f.user()[..4], b"rust");
    assert_eq!(f.fourcc(), fourcc::RGB24);
    assert_eq!(f.dropped(), 0);
    let t = f.tensor();
    assert_eq!(t.dtype(), DType::U8);
    assert_eq!(t.shape(), &[4, 8, 3]);
    assert_eq!(t.strides(), &[24, 3, 1]);
    assert_eq!(zinc::fourcc_str(f.fourcc()), "RGB3");
    assert_eq!(f.release(), Ok(()));
}

#[test]
fn typed_views_and_tensors() {
    let name = Name::new("typed");
    let mut p = ring(&name, 2, 4096);
    let mut c = Consumer::open(&name, Mode::Every).unwrap();

    let mut f = p.claim(None).unwrap();
    let pts = f.cast_mut::<f32>().expect("slots are page-aligned");
    for (i, v) in pts[..15].iter_mut().enumerate() {
        *v = i as f32 * 0.5;
    }
    f.set_points(5, 3).unwrap();
    assert_eq!(f.size(), 60);
    f.publish().unwrap();

    let f = c.acquire(None).unwrap();
    assert_eq!(f.fourcc(), fourcc::PC32F);
    assert_eq!(f.tensor().dtype(), DType::F32);
    assert_eq!(f.tensor().shape(), &[5, 3]);
    let v = f.cast::<f32>().unwrap();
    assert_eq!(v.len(), 15);
    assert_eq!(v[14], 7.0);
    assert!(f.cast::<f64>().is_none(), "60 bytes are no whole number of f64");
    f.release().unwrap();
}

#[test]
fn explicit_tensor_is_checked_at_publish() {
    let name = Name::new("tensor_check");
    let mut p = ring(&name, 2, 4096);
    let mut c = Consumer::open(&name, Mode::Every).unwrap();

    let t = Tensor::contiguous(DType::U16, &[10, 20]).unwrap();
    assert_eq!(t.strides(), &[40, 2]);
    assert_eq!(t.span(), 400);
    assert!(t.check(400).is_ok());
    assert_eq!(t.check(399).unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        Tensor::new(DType::U8, &[1, 2, 3, 4, 5], &[1, 1, 1, 1, 1], 0).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );

    // A description reaching past the frame's size: publish refuses it and
    // the claim is aborted.
    let mut f = p.claim(None).unwrap();
    f.set_tensor(&t);
    f.set_size(100);
    let e = f.publish().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("tensor"), "{}", e);
    assert_eq!(zinc::ring_stats(&name).unwrap().ring.aborted, 1);

    let mut f = p.claim(None).unwrap();
    assert_eq!(f.seq(), 1, "the aborted claim's seq is reused");
    f.set_tensor(&t);
    f.set_size(400);
    f.publish().unwrap();
    let f = c.acquire(None).unwrap();
    assert_eq!(f.tensor(), t);
    assert_eq!(f.tensor().span(), 400);
    f.release().unwrap();
}

#[test]
fn dropping_a_frame_releases_it() {
    let name = Name::new("drop_release");
    let mut p = ring(&name, 8, 64);
    let mut c = Consumer::open(&name, Mode::Every).unwrap();
    for i in 0..5u8 {
        let mut f = p.claim(None).unwrap();
        f.write(&[i; 10]).unwrap();
        f.publish().unwrap();
    }
    for i in 0..5u8 {
        // Were a dropped frame still held, the next acquire would fail (-22).
        let f = c.acquire(Timeout::Poll).unwrap();
        assert_eq!(f.seq(), i as u64 + 1);
        assert_eq!(f.data(), &[i; 10]);
    }
    let st = zinc::ring_stats(&name).unwrap();
    assert_eq!(st.consumers.len(), 1);
    assert_eq!(st.consumers[0].acquired, 5);
    assert_eq!(st.consumers[0].released, 5);
    assert_eq!(st.consumers[0].torn, 0);
}

#[test]
fn dropping_a_claim_aborts_it() {
    let name = Name::new("drop_abort");
    let mut p = ring(&name, 4, 64);
    let mut c = Consumer::open(&name, Mode::Every).unwrap();
    {
        let mut f = p.claim(None).unwrap();
        f.write(b"never seen").unwrap();
    }
    f_abort_explicit(&mut p);
    let mut f = p.claim(None).unwrap();
    assert_eq!(f.seq(), 1);
    f.write(b"seen").unwrap();
    f.publish().unwrap();

    let st = zinc::ring_stats(&name).unwrap().ring;
    assert_eq!((st.aborted, st.published, st.head), (2, 1, 1));
    let f = c.acquire(Timeout::Poll).unwrap();
    assert_eq!((f.seq(), f.data()), (1, &b"seen"[..]));
    drop(f);
    assert_eq!(c.acquire(Timeout::Poll).unwrap_err().kind(), ErrorKind::WouldBlock);
}

fn f_abort_explicit(p: &mut Producer) {
    let f = p.claim(None).unwrap();
    assert_eq!(f.seq(), 1);
    f.abort();
}

#[test]
fn a_frame_overwritten_while_held_is_torn() {
    let name = Name::new("torn");
    let mut p = ring(&name, 4, 64);
    let mut c = Consumer::open(&name, Mode::Lossy).unwrap();
    let mut f = p.claim(None).unwrap();
    f.write(b"first").unwrap();
    f.publish().unwrap();

    let held = c.acquire(Timeout::Poll).unwrap();
    assert_eq!(held.data(), b"first");
    // A LOSSY consumer never holds the producer back: a lap later the
    // producer claims the held frame's slot again.
    for _ in 0..4 {
        let mut f = p.claim(Timeout::Poll).unwrap();
        f.write(b"later").unwrap();
        f.publish().unwrap();
    }
    let torn = held.release().unwrap_err();
    assert_eq!(torn.seq, 1);
    let e: zinc::Error = torn.into();
    assert_eq!(e.kind(), ErrorKind::Torn);
    assert_eq!(e.code(), -75);

    let st = zinc::ring_stats(&name).unwrap();
    assert_eq!(st.consumers[0].torn, 1);
    assert_eq!(st.consumers[0].released, 0);

    // The lossy consumer skips to the oldest frame still in the ring.
    let f = c.acquire(Timeout::Poll).unwrap();
    assert_eq!(f.seq(), 2);
    assert_eq!(f.dropped(), 0);
    f.release().unwrap();
}

#[test]
fn latest_sees_the_newest_and_counts_what_it_skipped() {
    let name = Name::new("latest");
    let mut p = ring(&name, 8, 64);
    let mut c = Consumer::open(&name, Mode::Latest).unwrap();
    for _ in 0..5 {
        p.claim(None).unwrap().publish().unwrap();
    }
    let f = c.acquire(None).unwrap();
    assert_eq!((f.seq(), f.dropped()), (5, 4));
    f.release().unwrap();
    assert!(c.try_acquire().unwrap().is_none());
}

#[test]
fn polling_and_timeouts() {
    let name = Name::new("timeouts");
    let mut p = ring(&name, 2, 64);
    let mut c = Consumer::open(&name, Mode::Every).unwrap();

    assert!(c.try_acquire().unwrap().is_none());
    let e = c.acquire(Timeout::Poll).unwrap_err();
    assert_eq!((e.kind(), e.code()), (ErrorKind::WouldBlock, -11));
    let e = c.acquire(Duration::from_millis(20)).unwrap_err();
    assert_eq!((e.kind(), e.code()), (ErrorKind::TimedOut, -110));

    // EVERY gates the producer: a full ring makes claim wait, then time out.
    p.claim(None).unwrap().publish().unwrap();
    p.claim(None).unwrap().publish().unwrap();
    assert_eq!(p.claim(Timeout::Poll).unwrap_err().kind(), ErrorKind::WouldBlock);
    assert_eq!(p.claim(Duration::from_millis(20)).unwrap_err().kind(), ErrorKind::TimedOut);
    c.acquire(None).unwrap().release().unwrap();
    assert_eq!(p.claim(Timeout::Poll).unwrap().seq(), 3);
}

#[test]
fn consumer_drains_then_learns_the_producer_is_gone() {
    let name = Name::new("gone");
    let mut p = ring(&name, 4, 64);
    let mut c = Consumer::open(&name, Mode::Every).unwrap();
    p.claim(None).unwrap().publish().unwrap();
    p.claim(None).unwrap().publish().unwrap();
    drop(p);
    assert_eq!(c.acquire(None).unwrap().seq(), 1);
    assert_eq!(c.acquire(None).unwrap().seq(), 2);
    let e = c.acquire(None).unwrap_err();
    assert_eq!((e.kind(), e.code()), (ErrorKind::ProducerGone, -32));
    assert!(!e.message().is_empty());
}

#[test]
fn stream_descriptor_and_config() {
    let name = Name::new("stream");
    let cfg = RingConfig {
        max_consumers: 3,
        timestamps: false,
        demote_after: Some(Duration::from_millis(50)),
        ..RingConfig::new(4, 640 * 480 * 4)
    };
    let mut p = Producer::create(&name, &cfg).unwrap();
    let mut c = Consumer::open(&name, Mode::Latest).unwrap();
    assert_eq!(c.stream().unwrap(), None);

    let mut d = Descriptor::image(fourcc::RGBA32, 640, 480).unwrap();
    d.user[0] = 42;
    p.set_stream(&d).unwrap();
    let got = c.stream().unwrap().unwrap();
    assert_eq!(got, d);
    assert_eq!(got.tensor.shape(), &[480, 640, 4]);

    let too_big = Descriptor::image(fourcc::RGBA32, 1920, 1080).unwrap();
    assert_eq!(p.set_stream(&too_big).unwrap_err().kind(), ErrorKind::InvalidArgument);

    let got = c.config();
    assert_eq!((got.slot_count, got.slot_size, got.max_consumers), (4, 640 * 480 * 4, 3));
    assert!(!got.timestamps);
    assert_eq!(got.demote_after, Some(Duration::from_millis(50)));
    assert_eq!(c.generation(), p.generation());
    assert_eq!(c.mode(), Mode::Latest);

    // No timestamps: publish_ns stays 0.
    p.claim(None).unwrap().publish().unwrap();
    assert_eq!(c.acquire(None).unwrap().publish_ns(), 0);
}

#[test]
fn errors_have_their_kind_code_and_message() {
    let name = Name::new("errors");
    let e = Consumer::open(&name, Mode::Every).unwrap_err();
    assert_eq!((e.kind(), e.code()), (ErrorKind::NotFound, -2));
    assert!(e.message().contains(&*name.0), "message names the ring: {}", e.message());
    let text = e.to_string();
    assert!(text.starts_with("zinc error -2: "), "{}", text);
    assert!(text.contains(e.advice()) && text.contains(e.message()), "{}", text);

    let bad = RingConfig::new(3, 64);
    assert_eq!(bad.ring_bytes(), None);
    let e = Producer::create(&name, &bad).unwrap_err();
    assert_eq!((e.kind(), e.code()), (ErrorKind::InvalidArgument, -22));
    assert!(!e.message().is_empty());
    let e = Producer::create(&name, &RingConfig::new(4, 0)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);

    let _p = ring(&name, 4, 64);
    let e = Producer::create(&name, &RingConfig::new(4, 64)).unwrap_err();
    assert_eq!((e.kind(), e.code()), (ErrorKind::AlreadyExists, -17));

    for bad_name in ["", "a/b", "has space", &"x".repeat(251)] {
        let e = Consumer::open(bad_name, Mode::Every).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{:?}", bad_name);
        assert!(!zinc::name_valid(bad_name));
    }
    let e = Consumer::open("nul\0byte", Mode::Every).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("NUL"));
    assert!(zinc::name_valid("cam0_left-1"));
    assert_eq!("sometimes".parse::<Mode>().unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!("every".parse::<Mode>().unwrap(), Mode::Every);
}

#[test]
fn consumer_table_full_is_busy() {
    let name = Name::new("busy");
    let _p = Producer::create(&name, &RingConfig { max_consumers: 1, ..RingConfig::new(2, 64) })
        .unwrap();
    let _c = Consumer::open(&name, Mode::Lossy).unwrap();
    let e = Consumer::open(&name, Mode::Lossy).unwrap_err();
    assert_eq!((e.kind(), e.code()), (ErrorKind::Busy, -16));
}

#[test]
fn a_region_that_is_no_ring_is_corrupted() {
    let name = Name::new("not_a_ring");
    let _r = zinc::Region::create(&name, 4096).unwrap();
    let e = Consumer::open(&name, Mode::Every).unwrap_err();
    assert_eq!((e.kind(), e.code()), (ErrorKind::Corrupted, -74));
}

#[test]
fn publish_larger_than_the_slot_is_too_large_and_aborts() {
    let name = Name::new("too_large");
    let mut p = ring(&name, 2, 64);
    let mut f = p.claim(None).unwrap();
    assert_eq!(f.write(&[0; 65]).unwrap_err().kind(), ErrorKind::TooLarge);
    f.set_size(65);
    let e = f.publish().unwrap_err();
    assert_eq!((e.kind(), e.code()), (ErrorKind::TooLarge, -90));
    assert_eq!(p.claim(None).unwrap().seq(), 1, "the failed claim was aborted");
}

#[test]
fn every_code_has_a_kind_and_back() {
    let codes = [-1, -2, -4, -11, -16, -17, -22, -28, -32, -74, -75, -90, -110];
    for &code in &codes {
        let k = ErrorKind::from_code(code);
        assert!(!matches!(k, ErrorKind::Os(_)), "{} has no kind of its own", code);
        assert_eq!(k.code(), code);
        assert!(!k.advice().is_empty());
    }
    // Any other -errno passes through.
    assert_eq!(ErrorKind::from_code(-12), ErrorKind::Os(-12));
    assert_eq!(ErrorKind::Os(-24).code(), -24);
    let io: std::io::Error = zinc::Error::new(ErrorKind::TimedOut, "t").into();
    assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
    let io: std::io::Error = zinc::Error::new(ErrorKind::Os(-24), "").into();
    assert_eq!(io.raw_os_error(), Some(24));
}

#[test]
fn ring_stats_and_remove_stale() {
    let name = Name::new("stats");
    let mut p = ring(&name, 4, 128);
    let mut f = p.claim(None).unwrap();
    f.write(&[7; 100]).unwrap();
    f.publish().unwrap();
    let st = zinc::ring_stats(&name).unwrap();
    assert_eq!((st.ring.head, st.ring.published, st.ring.published_bytes), (1, 1, 100));
    assert_eq!((st.ring.slot_count, st.ring.slot_size), (4, 128));
    assert_eq!(st.ring.producer_alive, 1);
    assert_eq!(st.ring.producer_pid as u32, std::process::id());
    assert_eq!(zinc::remove_stale(&name).unwrap_err().kind(), ErrorKind::AlreadyExists);
    // A consumer keeps the name after the producer closed; remove_stale
    // then takes it away.
    let c = Consumer::open(&name, Mode::Lossy).unwrap();
    drop(p);
    assert_eq!(zinc::ring_stats(&name).unwrap().ring.producer_alive, 0);
    zinc::remove_stale(&name).unwrap();
    assert_eq!(zinc::ring_stats(&name).unwrap_err().kind(), ErrorKind::NotFound);
    drop(c);
}
