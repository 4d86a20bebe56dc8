// SPDX-License-Identifier: MIT
//! Rust against the C library's other users, in separate processes: the C
//! helper of the Python tests (python/tests/py-helper.c), the example
//! programs (examples/camera, examples/infer), and the Python adapter
//! (/usr/bin/python3, python/zinc). Test names start with `interop_c_` or
//! `interop_python_` so rust/test.sh can skip a group whose peer cannot run
//! here (and says so).

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::{c_example, c_helper, python, Name, Peer};
use zinc::{fourcc, Consumer, DType, ErrorKind, Mode, Producer, RingConfig, Tensor};

const WAIT: Duration = Duration::from_secs(20);

/// py-helper.c's `produce` fills byte k of frame seq with (seq * 7 + k).
fn helper_byte(seq: u64, k: usize) -> u8 {
    (seq as usize * 7 + k) as u8
}

#[test]
fn interop_c_producer_rust_consumer() {
    let name = Name::new("c_to_rust");
    let (w, h, count) = (40u64, 30u64, 25u64);
    let mut prod = Peer::spawn({
        let mut c = Command::new(c_helper());
        c.args(["produce", &name, &count.to_string(), &w.to_string(), &h.to_string()]);
        c
    });
    prod.expect("ready");
    let mut c = Consumer::open(&name, Mode::Every).unwrap();
    prod.send("go");
    let mut seqs = Vec::new();
    loop {
        let f = match c.acquire(WAIT) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::ProducerGone => break,
            Err(e) => panic!("acquire: {}", e),
        };
        assert_eq!(f.fourcc(), fourcc::RGB24);
        assert_eq!(f.tensor().shape(), &[h, w, 3]);
        assert_eq!(f.tensor().dtype(), DType::U8);
        assert!(f.timestamp_ns() > 0);
        assert_eq!(u64::from_le_bytes(f.user()[..8].try_into().unwrap()), f.seq());
        assert_eq!(f.data().len() as u64, w * h * 3);
        let seq = f.seq();
        assert!(f.data().iter().enumerate().all(|(k, &b)| b == helper_byte(seq, k)));
        seqs.push(seq);
        f.release().unwrap();
    }
    assert_eq!(seqs, (1..=count).collect::<Vec<_>>());
    let (ok, _, err) = prod.finish();
    assert!(ok, "{}", err);
}

#[test]
fn interop_c_consumer_of_a_rust_producer() {
    let name = Name::new("rust_to_c");
    let count = 12u64;
    let mut p = Producer::create(&name, &RingConfig::new(4, 1 << 16)).unwrap();
    let mut cons = Peer::spawn({
        let mut c = Command::new(c_helper());
        c.args(["consume", &name, &count.to_string(), "0"]); // 0: EVERY
        c
    });
    cons.expect("attached");
    let t = Tensor::contiguous(DType::U8, &[20, 10, 3]).unwrap();
    let mut sent = Vec::new();
    for i in 0..count {
        let mut f = p.claim(WAIT).unwrap();
        let mut sum = 0u64;
        for (k, b) in f.data_mut()[..600].iter_mut().enumerate() {
            *b = (k as u64 * (i + 1) % 251) as u8;
            sum += *b as u64;
        }
        f.set_size(600);
        f.set_tensor(&t);
        f.set_timestamp_ns(5000 + i);
        sent.push((f.seq(), sum));
        f.publish().unwrap();
    }
    for &(seq, sum) in &sent {
        let v: Vec<u64> = cons.expect("frame")[1..].iter().map(|s| s.parse().unwrap()).collect();
        // seq size ndim s0 s1 s2 st0 st1 st2 code bits sum ts chk
        assert_eq!(v, vec![seq, 600, 3, 20, 10, 3, 30, 3, 1, 1, 8, sum, 5000 + seq - 1, 0]);
        assert_eq!(cons.expect("release")[1], "0");
    }
    let (ok, _, err) = cons.finish();
    assert!(ok, "{}", err);
}

#[test]
fn interop_c_hostile_producer_is_reported_as_corrupted() {
    for what in ["shape", "strides", "offset", "size", "ndim", "dtype"] {
        let name = Name::new(&format!("c_hostile_{}", what));
        let mut prod = Peer::spawn({
            let mut c = Command::new(c_helper());
            c.args(["hostile", &name, what]);
            c
        });
        prod.expect("ready");
        let mut c = Consumer::open(&name, Mode::Latest).unwrap();
        prod.send("go");
        prod.expect("published");
        // The descriptor in shared memory does not fit the frame: no frame,
        // hence no slice reaching outside the payload, is handed out.
        let e = c.acquire(WAIT).unwrap_err();
        assert_eq!((e.kind(), e.code()), (ErrorKind::Corrupted, -74), "{}: {}", what, e);
        drop(c);
        let (ok, _, err) = prod.finish();
        assert!(ok, "{}", err);
    }
}

/// The Rust example's binary, built by `cargo test` next to this test's.
fn rust_example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    dir.join("examples").join(name)
}

fn json_field<'a>(json: &'a str, key: &str) -> &'a str {
    let at =
        json.find(&format!("\"{}\":", key)).unwrap_or_else(|| panic!("no {} in {}", key, json));
    let rest = &json[at + key.len() + 3..];
    let end = rest.find([',', '}']).unwrap();
    rest[..end].trim_matches('"')
}

#[test]
fn interop_c_camera_rust_infer_agrees_with_c_infer() {
    let name = Name::new("c_camera_infer");
    let infer = |prog: PathBuf| {
        let mut c = Command::new(prog);
        c.args(["--name", &name, "--mode", "every", "--json", "--quiet", "--wait", "20"]);
        Peer::spawn(c)
    };
    let rust = infer(rust_example("infer"));
    let c = infer(c_example("infer"));
    let camera = Peer::spawn({
        let mut c = Command::new(c_example("camera"));
        c.args(["--name", &name, "--size", "160x120", "--format", "rgb24", "--fps", "0"]);
        c.args(["--frames", "30", "--wait-consumers", "2", "--wait", "20", "--quiet"]);
        c
    });
    let (ok, _, err) = camera.finish();
    assert!(ok, "camera: {}", err);
    let (rok, rout, rerr) = rust.finish();
    let (cok, cout, cerr) = c.finish();
    assert!(rok && cok, "rust: {} / c: {}", rerr, cerr);
    // Both saw every frame and computed the same edges and motion.
    for key in ["frames", "torn", "skipped", "edge_mean", "motion_max", "end", "mode"] {
        assert_eq!(json_field(&rout, key), json_field(&cout, key), "{}: {} vs {}", key, rout, cout);
    }
    assert_eq!(json_field(&rout, "frames"), "30");
    assert_eq!(json_field(&rout, "end"), "end of stream");
    assert_ne!(json_field(&rout, "edge_mean"), "0.000");
    // Every party closed its handle: the last one out removed the name.
    assert_eq!(zinc::ring_stats(&name).unwrap_err().kind(), ErrorKind::NotFound);
}

const PY_PRODUCER: &str = r#"
import sys, numpy as np, zinc
name, count, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with zinc.Producer.create(name, slot_count=4, slot_size=w * h * 3) as p:
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(count):
        f = p.claim(20)
        a = f.array((h, w, 3), np.uint8)
        a[:] = ((np.arange(w * h * 3) + f.seq * 5) % 256).astype(np.uint8).reshape(h, w, 3)
        f.timestamp_ns = 1000 + f.seq
        f.user = f.seq.to_bytes(8, "little")
        p.publish(f)
"#;

#[test]
fn interop_python_producer_rust_consumer() {
    let name = Name::new("python_to_rust");
    let (w, h, count) = (16u64, 8u64, 20u64);
    let mut prod = Peer::spawn(python(
        PY_PRODUCER,
        &[&name, &count.to_string(), &w.to_string(), &h.to_string()],
    ));
    prod.expect("ready");
    let mut c = Consumer::open(&name, Mode::Every).unwrap();
    prod.send("go");
    let mut next = 1;
    loop {
        let f = match c.acquire(WAIT) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::ProducerGone => break,
            Err(e) => panic!("acquire: {}", e),
        };
        assert_eq!(f.seq(), next);
        let t = f.tensor();
        assert_eq!((t.dtype(), t.shape()), (DType::U8, &[h, w, 3][..]));
        assert_eq!(f.timestamp_ns(), 1000 + next);
        assert_eq!(&f.user()[..8], &next.to_le_bytes());
        assert!(f
            .data()
            .iter()
            .enumerate()
            .all(|(k, &b)| b == ((k as u64 + next * 5) % 256) as u8));
        f.release().unwrap();
        next += 1;
    }
    assert_eq!(next - 1, count);
    let (ok, _, err) = prod.finish();
    assert!(ok, "{}", err);
}

const PY_CONSUMER: &str = r#"
import sys, zinc
name, count = sys.argv[1], int(sys.argv[2])
with zinc.Consumer.open(name, zinc.Mode.EVERY) as c:
    print("attached", flush=True)
    for _ in range(count):
        with c.acquire(20) as f:
            a = f.numpy()
            print("frame", f.seq, "x".join(map(str, a.shape)), a.dtype, int(a.astype("int64").sum()),
                  f.fourcc, bytes(f.user[:4]).decode(), flush=True)
"#;

#[test]
fn interop_python_consumer_of_a_rust_producer() {
    let name = Name::new("rust_to_python");
    let count = 10u64;
    let mut p = Producer::create(&name, &RingConfig::new(4, 4096)).unwrap();
    let mut cons = Peer::spawn(python(PY_CONSUMER, &[&name, &count.to_string()]));
    cons.expect("attached");
    let mut sums = Vec::new();
    for _ in 0..count {
        let mut f = p.claim(WAIT).unwrap();
        f.set_image(fourcc::GREY, 32, 24).unwrap();
        let seq = f.seq();
        let mut sum = 0u64;
        for (k, b) in f.data_mut()[..32 * 24].iter_mut().enumerate() {
            *b = ((k as u64 + seq) % 200) as u8;
            sum += *b as u64;
        }
        f.user_mut()[..4].copy_from_slice(b"rust");
        sums.push((seq, sum));
        f.publish().unwrap();
    }
    for (seq, sum) in sums {
        let v = cons.expect("frame");
        let grey = fourcc::GREY.to_string();
        assert_eq!(
            v[1..],
            [seq.to_string(), "24x32".into(), "uint8".into(), sum.to_string(), grey, "rust".into()]
        );
    }
    let (ok, _, err) = cons.finish();
    assert!(ok, "{}", err);
}
