// SPDX-License-Identifier: MIT
//! Rust against the C library's other users, in separate processes: the C
//! helper of the Python tests (python/tests/py-helper.c), the example
//! programs (examples/camera, examples/infer), and the Python adapter
//! (/usr/bin/python3, python/zinc); named rings, sealed anonymous rings
//! over abstract sockets and handed-over descriptors, and epoll / wait_any
//! on Rust consumers fed by C producer processes. Test names start with
//! `interop_c_` or `interop_python_` so rust/test.sh can skip a group whose
//! peer cannot run here (and says so).

mod common;

use std::os::unix::io::{AsFd, AsRawFd};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::os::Epoll;
use common::{c_example, c_helper, python, Name, Peer};
use zinc::{
    fourcc, ring_stats_fd, wait_any, Consumer, DType, ErrorKind, Mode, Producer, RingConfig,
    Tensor, Timeout,
};

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

/// examples/camera feeding examples/infer and the Rust infer example: on a
/// named ring, or (`sock`) on a sealed anonymous ring the camera serves on
/// an abstract socket, which both consumers reach with --socket.
fn camera_and_two_infers(name: &Name, sock: bool) {
    let addr = format!("@{}", &**name);
    let (opt, at) = if sock { ("--socket", addr.as_str()) } else { ("--name", &**name) };
    let infer = |prog: PathBuf| {
        let mut c = Command::new(prog);
        c.args([opt, at, "--mode", "every", "--json", "--quiet", "--wait", "20"]);
        Peer::spawn(c)
    };
    let rust = infer(rust_example("infer"));
    let c = infer(c_example("infer"));
    let camera = Peer::spawn({
        let mut c = Command::new(c_example("camera"));
        c.args([opt, at, "--size", "160x120", "--format", "rgb24", "--fps", "0"]);
        c.args(["--frames", "30", "--wait-consumers", "2", "--wait", "20", "--quiet"]);
        c
    });
    let (ok, _, err) = camera.finish();
    assert!(ok, "camera: {}", err);
    let (rok, rout, rerr) = rust.finish();
    let (cok, cout, cerr) = c.finish();
    assert!(rok && cok, "rust: {} / c: {}", rerr, cerr);
    // Both saw every frame and computed the same edges and motion.
    for key in ["name", "frames", "torn", "skipped", "edge_mean", "motion_max", "end", "mode"] {
        assert_eq!(json_field(&rout, key), json_field(&cout, key), "{}: {} vs {}", key, rout, cout);
    }
    assert_eq!(json_field(&rout, "name"), at);
    assert_eq!(json_field(&rout, "frames"), "30");
    assert_eq!(json_field(&rout, "end"), "end of stream");
    assert_ne!(json_field(&rout, "edge_mean"), "0.000");
}

#[test]
fn interop_c_camera_rust_infer_agrees_with_c_infer() {
    let name = Name::new("c_camera_infer");
    camera_and_two_infers(&name, false);
    // Every party closed its handle: the last one out removed the name.
    assert_eq!(zinc::ring_stats(&name).unwrap_err().kind(), ErrorKind::NotFound);
}

#[test]
fn interop_c_camera_on_an_abstract_socket_rust_infer_agrees_with_c_infer() {
    let name = Name::new("c_camera_sock");
    camera_and_two_infers(&name, true);
    // Nothing was ever in /dev/shm, and nobody listens any more.
    assert_eq!(zinc::inspect(&name).unwrap_err().kind(), ErrorKind::NotFound);
    let e = Consumer::connect(format!("@{}", &*name), Mode::Every).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

/// Wait until the anonymous ring of `p` has `n` consumers attached.
fn await_consumers(p: &Producer, n: usize) {
    let fd = p.fd().unwrap();
    let t0 = Instant::now();
    while ring_stats_fd(&fd).unwrap().consumers.iter().filter(|c| c.attached_ns != 0).count() < n {
        assert!(t0.elapsed() < WAIT, "fewer than {} consumers attached within 20 s", n);
        std::thread::yield_now();
    }
}

/// A Rust producer listening on an abstract socket, examples/infer (C)
/// connecting to it with --socket.
#[test]
fn interop_c_infer_connects_to_a_rust_listener() {
    let name = Name::new("rust_listener");
    let addr = format!("@{}", &*name);
    let (w, h, count) = (64u32, 48u32, 12u64);
    let cfg = RingConfig { anonymous: true, ..RingConfig::new(4, (w * h * 3) as u64) };
    let mut p = Producer::create(&name, &cfg).unwrap();
    p.listen(&addr).unwrap();
    let infer = Peer::spawn({
        let mut c = Command::new(c_example("infer"));
        c.args(["--socket", &addr, "--mode", "every", "--frames", &count.to_string()]);
        c.args(["--json", "--quiet", "--wait", "20"]);
        c
    });
    await_consumers(&p, 1);
    for _ in 0..count {
        let mut f = p.claim(WAIT).unwrap();
        f.set_image(fourcc::RGB24, w, h).unwrap();
        let seq = f.seq();
        for (k, b) in f.data_mut().iter_mut().enumerate() {
            *b = (k as u64 * seq % 253) as u8;
        }
        f.publish().unwrap();
    }
    let (ok, out, err) = infer.finish();
    assert!(ok, "infer: {}", err);
    assert_eq!(json_field(&out, "name"), addr);
    assert_eq!(json_field(&out, "frames"), count.to_string(), "{}", out);
    assert_eq!(json_field(&out, "torn"), "0", "{}", out);
    assert_ne!(json_field(&out, "edge_mean"), "0.000", "{}", out);
}

/// Two C producer processes (py-helper's `produce`): the frames of each,
/// taken as `next` tells, checked and counted per ring, until both are gone.
struct TwoCProducers {
    names: [Name; 2],
    peers: Vec<Peer>,
    count: u64,
    size: usize,
}

impl TwoCProducers {
    fn start(test: &str, count: u64) -> (TwoCProducers, Vec<Consumer>) {
        let names = [Name::new(&format!("{}_a", test)), Name::new(&format!("{}_b", test))];
        let (w, h) = (24u64, 16u64);
        let mut peers: Vec<Peer> = names
            .iter()
            .map(|n| {
                let mut c = Command::new(c_helper());
                c.args(["produce", n, &count.to_string(), &w.to_string(), &h.to_string()]);
                Peer::spawn(c)
            })
            .collect();
        let mut cons = Vec::new();
        for (peer, n) in peers.iter_mut().zip(&names) {
            peer.expect("ready");
            cons.push(Consumer::open(n, Mode::Every).unwrap());
        }
        for peer in &mut peers {
            peer.send("go");
        }
        (TwoCProducers { names, peers, count, size: (w * h * 3) as usize }, cons)
    }

    /// Take what `c` has now (until WouldBlock), checking each frame
    /// against `next`; true once its producer is gone.
    fn drain(&self, c: &mut Consumer, next: &mut u64) -> bool {
        loop {
            match c.acquire(Timeout::Poll) {
                Ok(f) => {
                    assert_eq!(f.seq(), *next);
                    assert_eq!(f.data().len(), self.size);
                    let seq = f.seq();
                    assert!(f.data().iter().enumerate().all(|(k, &b)| b == helper_byte(seq, k)));
                    f.release().unwrap();
                    *next += 1;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == ErrorKind::ProducerGone => return true,
                Err(e) => panic!("acquire: {}", e),
            }
        }
    }

    fn finish(self, next: [u64; 2]) {
        assert_eq!(next, [self.count + 1; 2], "every frame of both rings");
        for peer in self.peers {
            let (ok, _, err) = peer.finish();
            assert!(ok, "{}", err);
        }
        drop(self.names);
    }
}

/// epoll on the descriptors of two Rust consumers, each fed by a C
/// producer process.
#[test]
fn interop_c_producers_epoll_on_rust_descriptors() {
    let (peers, mut cons) = TwoCProducers::start("c_epoll", 40);
    let ep = Epoll::new();
    for (i, c) in cons.iter().enumerate() {
        ep.add(c.as_fd().as_raw_fd(), i as u64);
    }
    let mut next = [1u64; 2];
    let mut live = 2;
    while live > 0 {
        let i = ep.wait(WAIT).expect("no readiness within 20 s") as usize;
        if peers.drain(&mut cons[i], &mut next[i]) {
            ep.del(cons[i].as_raw_fd());
            live -= 1;
        }
    }
    peers.finish(next);
}

/// wait_any across the two rings of two C producer processes; a consumer
/// whose producer is gone leaves the list (it would stay ready).
#[test]
fn interop_c_producers_wait_any_across_two_rings() {
    let (peers, cons) = TwoCProducers::start("c_any", 40);
    let mut live: Vec<(usize, Consumer)> = cons.into_iter().enumerate().collect();
    let mut next = [1u64; 2];
    while !live.is_empty() {
        let mut list: Vec<&mut Consumer> = live.iter_mut().map(|(_, c)| c).collect();
        let i = wait_any(&mut list, WAIT).unwrap();
        let ring = live[i].0;
        if peers.drain(&mut live[i].1, &mut next[ring]) {
            live.remove(i);
        }
    }
    peers.finish(next);
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

const PY_LISTENER: &str = r#"
import sys, numpy as np, zinc
name, addr, count, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with zinc.Producer.create(name, slot_count=4, slot_size=n, listen=addr) as p:
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(count):
        f = p.claim(20)
        a = f.array((n,), np.uint8)
        a[:] = ((np.arange(n) + f.seq * 3) % 256).astype(np.uint8)
        p.publish(f)
"#;

/// A Python producer serving a sealed anonymous ring on an abstract
/// socket; a Rust consumer connects to it and takes every frame.
#[test]
fn interop_python_listener_rust_connects() {
    let name = Name::new("python_listener");
    let addr = format!("@{}", &*name);
    let (count, n) = (15u64, 1000usize);
    let mut prod =
        Peer::spawn(python(PY_LISTENER, &[&name, &addr, &count.to_string(), &n.to_string()]));
    prod.expect("ready");
    let mut c = Consumer::connect(&addr, Mode::Every).unwrap();
    assert!(c.config().anonymous);
    // The listener's own ring: nothing of that name in /dev/shm.
    assert_eq!(zinc::inspect(&name).unwrap_err().kind(), ErrorKind::NotFound);
    prod.send("go");
    let mut next = 1u64;
    loop {
        let f = match c.acquire(WAIT) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::ProducerGone => break,
            Err(e) => panic!("acquire: {}", e),
        };
        assert_eq!(f.seq(), next);
        assert_eq!(f.data().len(), n);
        assert!(f
            .data()
            .iter()
            .enumerate()
            .all(|(k, &b)| b == ((k as u64 + next * 3) % 256) as u8));
        f.release().unwrap();
        next += 1;
    }
    assert_eq!(next - 1, count);
    let (ok, _, err) = prod.finish();
    assert!(ok, "{}", err);
}

const PY_FD_CONSUMER: &str = r#"
import sys, zinc
fd, count = int(sys.argv[1]), int(sys.argv[2])
with zinc.Consumer.open_fd(fd, zinc.Mode.EVERY) as c:
    print("attached", flush=True)
    for _ in range(count):
        with c.acquire(20) as f:
            print("frame", f.seq, sum(f.tobytes()), flush=True)
"#;

/// Producer::fd handed to a Python process (inherited as descriptor 200),
/// which attaches with Consumer.open_fd: no socket, no name.
#[test]
fn interop_python_consumer_of_a_rust_producer_fd() {
    use std::os::unix::process::CommandExt;
    const CHILD_FD: i32 = 200;
    let name = Name::new("rust_fd_python");
    let count = 8u64;
    let cfg = RingConfig { anonymous: true, ..RingConfig::new(4, 4096) };
    let mut p = Producer::create(&name, &cfg).unwrap();
    let fd = p.fd().unwrap();
    // dup2 onto itself would keep close-on-exec.
    assert_ne!(fd.as_raw_fd(), CHILD_FD);
    let mut cmd = python(PY_FD_CONSUMER, &[&CHILD_FD.to_string(), &count.to_string()]);
    let raw = fd.as_raw_fd();
    // SAFETY: dup2 is async-signal-safe; nothing else runs in the child.
    unsafe { cmd.pre_exec(move || common::os::dup_to(raw, CHILD_FD)) };
    let mut cons = Peer::spawn(cmd);
    drop(fd); // the child has its copy
    cons.expect("attached");
    let mut sums = Vec::new();
    for _ in 0..count {
        let mut f = p.claim(WAIT).unwrap();
        let seq = f.seq();
        let bytes: Vec<u8> = (0..300u64).map(|k| ((k * seq) % 241) as u8).collect();
        f.write(&bytes).unwrap();
        sums.push((seq, bytes.iter().map(|&b| b as u64).sum::<u64>()));
        f.publish().unwrap();
    }
    for (seq, sum) in sums {
        assert_eq!(cons.expect("frame")[1..], [seq.to_string(), sum.to_string()]);
    }
    let (ok, _, err) = cons.finish();
    assert!(ok, "{}", err);
}
