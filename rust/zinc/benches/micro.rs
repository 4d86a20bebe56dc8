// SPDX-License-Identifier: MIT
//! Rust twins of bench/micro-ring.cc's claim+publish and acquire+release,
//! through the safe API (`rust`) and through zinc-sys directly (`sys`), timed
//! the way Google Benchmark times the C shims: thread CPU time and wall time
//! over the whole loop, its iteration count grown until one run lasts the
//! minimum time (no clock read inside the loop), the acquire+release loop
//! paused (both clocks read) around each batch of 128 publishes. rust/bench.sh runs it next to
//! micro-ring, pinned to the same CPU, and compares.
//!
//!   cargo bench --offline --bench micro -- [--min-time SECONDS]
//!
//! Prints one line per benchmark: NAME CPU_NS_PER_OP WALL_NS_PER_OP ITERATIONS.

use std::mem::MaybeUninit;
use std::os::raw::{c_int, c_long};
use std::time::Instant;

use zinc::sys;
use zinc::{Consumer, Mode, Producer, RingConfig, Timeout};

#[repr(C)]
struct Timespec {
    tv_sec: c_long,
    tv_nsec: c_long,
}

extern "C" {
    fn clock_gettime(clock: c_int, ts: *mut Timespec) -> c_int;
}

const CLOCK_THREAD_CPUTIME_ID: c_int = 3;

fn cpu_ns() -> u64 {
    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid out-pointer.
    unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// CPU and wall time accumulated over the timed parts, as Google
/// Benchmark's State does between PauseTiming/ResumeTiming.
struct Timer {
    cpu: u64,
    wall: u64,
    cpu0: u64,
    wall0: Instant,
}

impl Timer {
    fn start() -> Timer {
        Timer { cpu: 0, wall: 0, cpu0: cpu_ns(), wall0: Instant::now() }
    }
    fn pause(&mut self) {
        self.cpu += cpu_ns() - self.cpu0;
        self.wall += self.wall0.elapsed().as_nanos() as u64;
    }
    fn resume(&mut self) {
        self.cpu0 = cpu_ns();
        self.wall0 = Instant::now();
    }
}

/// Google Benchmark's iteration control: run `body(n)` timed as a whole
/// (no clock read inside), growing `n` until one run takes `min_ns` of CPU
/// time; the last run is the result.
fn timed_runs(min_ns: u64, mut body: impl FnMut(u64)) -> (Timer, u64) {
    let mut n = 1u64;
    loop {
        let mut t = Timer::start();
        body(n);
        t.pause();
        if t.cpu >= min_ns || n >= 1 << 34 {
            return (t, n);
        }
        // As benchmark's PredictNumItersNeeded: aim 40 % past the goal,
        // grow at most tenfold per step.
        let mult = if t.cpu == 0 { 10.0 } else { (min_ns as f64 * 1.4 / t.cpu as f64).min(10.0) };
        n = ((n as f64 * mult) as u64).max(n + 1);
    }
}

struct Ring {
    name: String,
    p: Producer,
    c: Consumer,
}

fn ring(tag: &str, mode: Mode) -> Ring {
    let name = format!("rbm_{}_{}", std::process::id(), tag);
    let cfg = RingConfig { max_consumers: 1, ..RingConfig::new(256, 64) };
    let p = Producer::create(&name, &cfg).expect("create ring");
    let c = Consumer::open(&name, mode).expect("open consumer");
    Ring { name, p, c }
}

impl Drop for Ring {
    fn drop(&mut self) {
        let _ = zinc::unlink(&self.name);
    }
}

fn report(name: &str, t: &Timer, n: u64) {
    println!("{} {:.2} {:.2} {}", name, t.cpu as f64 / n as f64, t.wall as f64 / n as f64, n);
}

/// Claim + publish of a 64-byte frame, one idle LOSSY consumer attached
/// (BM_ClaimPublish/consumers:1).
fn claim_publish_rust(min_ns: u64) {
    let mut r = ring("cp_rust", Mode::Lossy);
    let (t, n) = timed_runs(min_ns, |n| {
        for _ in 0..n {
            let mut f = r.p.claim(Timeout::Poll).expect("claim");
            // SAFETY: the slot holds at least 8 bytes (64-byte slots).
            unsafe { std::ptr::write_volatile(f.data_mut().as_mut_ptr() as *mut u64, 1) };
            f.set_size(64);
            f.publish().expect("publish");
        }
    });
    report("ClaimPublish/consumers:1/rust", &t, n);
}

fn claim_publish_sys(min_ns: u64) {
    let r = ring("cp_sys", Mode::Lossy);
    let p = r.p.as_raw();
    let (t, n) = timed_runs(min_ns, |n| {
        for _ in 0..n {
            let mut f = MaybeUninit::<sys::zinc_frame>::uninit();
            // SAFETY: a live producer; the frame is filled by claim.
            unsafe {
                let mut rc = sys::zinc_producer_claim(p, f.as_mut_ptr(), 0);
                let f = &mut *f.as_mut_ptr();
                std::ptr::write_volatile(f.data as *mut u64, 1);
                f.size = 64;
                rc |= sys::zinc_producer_publish(p, f);
                assert!(rc >= 0, "claim/publish: {}", rc);
            }
        }
    });
    report("ClaimPublish/consumers:1/sys", &t, n);
}

fn publish_batch(p: &mut Producer, batch: usize) {
    for _ in 0..batch {
        let mut f = p.claim(Timeout::Poll).expect("claim");
        f.set_size(64);
        f.publish().expect("publish");
    }
}

/// Acquire + release by one consumer in `mode`, frames published in
/// batches of 128 outside the timed part (BM_AcquireRelease/mode:M/consumers:1).
fn acquire_release_rust(mode: Mode, min_ns: u64) {
    let mut r = ring("ar_rust", mode);
    const BATCH: usize = 128;
    let mut n = 0u64;
    let mut t = Timer::start();
    t.pause();
    while t.cpu < min_ns {
        publish_batch(&mut r.p, BATCH);
        t.resume();
        for _ in 0..BATCH {
            let f = r.c.acquire(Timeout::Poll).expect("acquire");
            // SAFETY: 64 published bytes.
            unsafe { std::ptr::read_volatile(f.data().as_ptr() as *const u64) };
            f.release().expect("release");
        }
        t.pause();
        n += BATCH as u64;
    }
    report(&format!("AcquireRelease/mode:{}/consumers:1/rust", mode as u32), &t, n);
}

fn acquire_release_sys(mode: Mode, min_ns: u64) {
    let mut r = ring("ar_sys", mode);
    let c = r.c.as_raw();
    const BATCH: usize = 128;
    let mut n = 0u64;
    let mut t = Timer::start();
    t.pause();
    while t.cpu < min_ns {
        publish_batch(&mut r.p, BATCH);
        t.resume();
        for _ in 0..BATCH {
            let mut f = MaybeUninit::<sys::zinc_frame>::uninit();
            // SAFETY: a live consumer holding no frame; f filled by acquire.
            unsafe {
                let mut rc = sys::zinc_consumer_acquire(c, f.as_mut_ptr(), 0);
                std::ptr::read_volatile((*f.as_ptr()).data as *const u64);
                rc |= sys::zinc_consumer_release(c, f.as_ptr());
                assert!(rc >= 0, "acquire/release: {}", rc);
            }
        }
        t.pause();
        n += BATCH as u64;
    }
    report(&format!("AcquireRelease/mode:{}/consumers:1/sys", mode as u32), &t, n);
}

fn main() {
    let mut min_time = 0.2f64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--min-time" => {
                min_time = args.next().and_then(|v| v.parse().ok()).expect("--min-time SECONDS")
            }
            "--bench" => {} // passed by `cargo bench`
            other => {
                eprintln!("micro: unknown argument '{}'", other);
                std::process::exit(2)
            }
        }
    }
    let min_ns = (min_time * 1e9) as u64;
    claim_publish_sys(min_ns);
    claim_publish_rust(min_ns);
    for mode in [Mode::Every, Mode::Lossy] {
        acquire_release_sys(mode, min_ns);
        acquire_release_rust(mode, min_ns);
    }
}
