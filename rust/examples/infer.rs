// SPDX-License-Identifier: MIT
//! infer — examples/infer.c in Rust: a consumer that always works on the
//! freshest frame (LATEST), as an inference process would. Per frame it
//! reads the image in place, downscales it to grey, runs a Sobel edge filter
//! and measures motion against the previous frame, then reports the latency
//! from capture (the producer's timestamp_ns) to result.
//!
//!   cargo run --example infer -- --name cam0 --json
//!   cargo run --example infer -- --socket @cam0   (a sealed anonymous ring)

use std::os::raw::{c_int, c_long};
use std::process::exit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use zinc::{fourcc, Consumer, DType, ErrorKind, Mode, ReadFrame};

const USAGE: &str = "usage: infer [OPTIONS]
Attach to a frame ring as a LATEST consumer (always the newest frame), and
for each frame: downscale to grey, Sobel edge magnitude, motion against the
previous frame. Reports capture->result latency percentiles at the end.
  --name NAME     ring name (default cam0)
  --socket ADDR   a sealed anonymous ring instead: connect to its producer's
                  socket (a path, or @name)
  --mode M        latest (default), lossy or every
  --scale N       downscale factor (default 4)
  --frames N      stop after N processed frames
  --wait S        wait up to S seconds for the ring to appear (default 10)
  --json          print the summary as JSON
  --quiet         no progress line
  --help          this text
Stops at END_OF_STREAM, when the producer is gone, or on Ctrl-C.
";

// ---- the clock of timestamp_ns, and Ctrl-C (libc, declared here) -----------

#[repr(C)]
struct Timespec {
    tv_sec: c_long,
    tv_nsec: c_long,
}

extern "C" {
    fn clock_gettime(clock: c_int, ts: *mut Timespec) -> c_int;
    fn signal(sig: c_int, handler: extern "C" fn(c_int)) -> usize;
}

const CLOCK_MONOTONIC: c_int = 1;
const SIGINT: c_int = 2;
const SIGTERM: c_int = 15;

/// CLOCK_MONOTONIC in ns: the clock producers stamp `timestamp_ns` with.
fn now_ns() -> u64 {
    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid out-pointer; CLOCK_MONOTONIC always exists on Linux.
    unsafe { clock_gettime(CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: c_int) {
    STOP.store(true, Ordering::Relaxed); // async-signal-safe: one atomic store
}

// ---- arguments --------------------------------------------------------------

struct Args {
    name: String, // a ring name, or a socket address (is_address)
    mode: Mode,
    scale: u32,
    frames: u64,
    wait: Duration,
    json: bool,
    quiet: bool,
}

/// A socket address ("@name", or a path with a '/') rather than a ring name.
fn is_address(s: &str) -> bool {
    s.starts_with('@') || s.contains('/')
}

fn usage_error(msg: &str) -> ! {
    if !msg.is_empty() {
        eprintln!("infer: {}", msg);
    }
    eprint!("{}", USAGE);
    exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        name: "cam0".into(),
        mode: Mode::Latest,
        scale: 4,
        frames: 0,
        wait: Duration::from_secs(10),
        json: false,
        quiet: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(opt) = it.next() {
        let mut value =
            || it.next().unwrap_or_else(|| usage_error(&format!("{} needs a value", opt)));
        match opt.as_str() {
            "--help" | "-h" => {
                print!("{}", USAGE);
                exit(0)
            }
            "--name" => a.name = value(),
            "--socket" => {
                a.name = value();
                if !is_address(&a.name) {
                    usage_error(&format!("bad --socket '{}' (a path, or @name)", a.name))
                }
            }
            "--mode" => {
                let v = value();
                a.mode = v.parse().unwrap_or_else(|_| usage_error(&format!("bad --mode '{}'", v)))
            }
            "--scale" => {
                let v = value();
                a.scale = match v.parse() {
                    Ok(n) if (1..=64).contains(&n) => n,
                    _ => usage_error(&format!("bad --scale '{}' (1..64)", v)),
                }
            }
            "--frames" => {
                let v = value();
                a.frames =
                    v.parse().unwrap_or_else(|_| usage_error(&format!("bad --frames '{}'", v)))
            }
            "--wait" => {
                let v = value();
                a.wait = match v.parse::<f64>() {
                    Ok(s) if s >= 0.0 && s.is_finite() => Duration::from_secs_f64(s),
                    _ => usage_error(&format!("bad --wait '{}'", v)),
                }
            }
            "--json" => a.json = true,
            "--quiet" => a.quiet = true,
            _ => usage_error(&format!("unknown option '{}'", opt)),
        }
    }
    a
}

// ---- the work -----------------------------------------------------------------

/// An 8-bit image described by a frame: GREY (1 channel), RGB24 (3) or
/// RGBA32 (4), any row/pixel strides (as examples/common.c's ex_image).
struct Image<'a> {
    bytes: &'a [u8],
    base: i64,
    width: u32,
    height: u32,
    channels: u32,
    row_stride: i64,
    px_stride: i64,
}

impl<'a> Image<'a> {
    fn from_frame(f: &'a ReadFrame<'_>) -> Option<Image<'a>> {
        let t = f.tensor();
        if t.check(f.size()).is_err() || t.dtype() != DType::U8 {
            return None;
        }
        let (shape, strides) = (t.shape(), t.strides());
        let channels = match shape.len() {
            2 if f.fourcc() == fourcc::GREY || f.fourcc() == fourcc::RAW => 1,
            3 if (shape[2] == 3 || shape[2] == 4) && strides[2] == 1 => shape[2] as u32,
            _ => return None,
        };
        if shape[0] == 0 || shape[1] == 0 || shape[0] > 65536 || shape[1] > 65536 {
            return None;
        }
        Some(Image {
            bytes: f.data(),
            base: t.offset() as i64,
            width: shape[1] as u32,
            height: shape[0] as u32,
            channels,
            row_stride: strides[0],
            px_stride: strides[1],
        })
    }

    /// Luma of pixel (x, y), BT.601 weights in 8.8 fixed point. Indexing is
    /// bounds-checked: the tensor check above keeps it in range.
    fn luma(&self, x: u32, y: u32) -> u32 {
        let i = (self.base + y as i64 * self.row_stride + x as i64 * self.px_stride) as usize;
        let p = &self.bytes[i..i + self.channels as usize];
        if self.channels == 1 {
            p[0] as u32
        } else {
            (77 * p[0] as u32 + 150 * p[1] as u32 + 29 * p[2] as u32) >> 8
        }
    }
}

#[derive(Default)]
struct Work {
    sw: u32,
    sh: u32,
    grey: Vec<u8>,
    prev: Vec<u8>,
    have_prev: bool,
}

/// Mean Sobel magnitude of the downscaled image, and mean absolute change
/// against the previous one. None if the image has an unusable size.
fn process(img: &Image<'_>, scale: u32, w: &mut Work) -> Option<(f64, f64)> {
    let (sw, sh) = (img.width / scale, img.height / scale);
    if sw < 3 || sh < 3 {
        return None;
    }
    let need = sw as usize * sh as usize;
    if sw != w.sw || sh != w.sh {
        *w = Work { sw, sh, grey: vec![0; need], prev: vec![0; need], have_prev: false };
    }
    // Box-filter downscale: average of scale x scale source pixels.
    let area = scale * scale;
    for y in 0..sh {
        for x in 0..sw {
            let mut sum = 0;
            for dy in 0..scale {
                for dx in 0..scale {
                    sum += img.luma(x * scale + dx, y * scale + dy);
                }
            }
            w.grey[(y * sw + x) as usize] = (sum / area) as u8;
        }
    }
    let (g, swu) = (&w.grey, sw as usize);
    let mut esum = 0.0;
    for y in 1..sh as usize - 1 {
        let (a, b, c) = (&g[(y - 1) * swu..], &g[y * swu..], &g[(y + 1) * swu..]);
        for x in 1..swu - 1 {
            let px = |r: &[u8], i: usize| r[i] as i32;
            let gx = (px(a, x + 1) + 2 * px(b, x + 1) + px(c, x + 1))
                - (px(a, x - 1) + 2 * px(b, x - 1) + px(c, x - 1));
            let gy = (px(c, x - 1) + 2 * px(c, x) + px(c, x + 1))
                - (px(a, x - 1) + 2 * px(a, x) + px(a, x + 1));
            esum += ((gx * gx + gy * gy) as f64).sqrt();
        }
    }
    let edges = esum / ((sw - 2) as f64 * (sh - 2) as f64);
    let motion = if w.have_prev {
        let m: u64 = w
            .grey
            .iter()
            .zip(&w.prev)
            .map(|(&a, &b)| (a as i32 - b as i32).unsigned_abs() as u64)
            .sum();
        m as f64 / need as f64
    } else {
        0.0
    };
    std::mem::swap(&mut w.grey, &mut w.prev);
    w.have_prev = true;
    Some((edges, motion))
}

/// Percentile p in [0, 1] of sorted samples (0 when empty).
fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = (p * (sorted.len() - 1) as f64 + 0.5) as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    // run() returns before exit so that the consumer is closed (exit runs
    // no destructors): the last one out removes the ring's name.
    exit(run())
}

fn run() -> i32 {
    let args = parse_args();
    // SAFETY: installing a handler that only stores to an atomic.
    unsafe {
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
    }

    // Attach, retrying while the producer has not created the ring yet (or
    // does not listen yet, or its backlog is full).
    let start_wait = Instant::now();
    let sock = is_address(&args.name);
    let mut cons = loop {
        let attached = if sock {
            Consumer::connect(&args.name, args.mode)
        } else {
            Consumer::open(&args.name, args.mode)
        };
        match attached {
            Ok(c) => break c,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::NotFound | ErrorKind::WouldBlock | ErrorKind::ProducerGone
                ) && start_wait.elapsed() < args.wait
                    && !STOP.load(Ordering::Relaxed) =>
            {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => {
                eprintln!("infer: cannot attach to ring '{}': {}", args.name, e);
                if e.kind() == ErrorKind::NotFound {
                    eprintln!(
                        "infer: start the producer first (e.g. camera {} {})",
                        if sock { "--socket" } else { "--name" },
                        args.name
                    );
                    return 3;
                }
                return 1;
            }
        }
    };
    if let Ok(Some(d)) = cons.stream() {
        if d.tensor.ndim() >= 2 && !args.quiet {
            eprintln!(
                "infer: attached to '{}': {}x{} {}",
                args.name,
                d.tensor.shape()[1],
                d.tensor.shape()[0],
                zinc::fourcc_str(d.fourcc)
            );
        }
    }

    let mut work = Work::default();
    let mut lat = Vec::new();
    let (mut frames, mut torn, mut dropped, mut skipped) = (0u64, 0u64, 0u64, 0u64);
    let (mut edges, mut motion, mut edge_sum, mut motion_max) = (0.0, 0.0, 0.0, 0.0f64);
    let (mut start, mut last_report) = (0u64, 0u64);
    let mut why = "stopped";
    let mut ret = 0;
    while !STOP.load(Ordering::Relaxed) && (args.frames == 0 || frames < args.frames) {
        // Wait in the library at most 200 ms at a time, to notice Ctrl-C.
        let f = match cons.acquire(Duration::from_millis(200)) {
            Ok(f) => f,
            // Ctrl-C while the library slept (Interrupted): the loop looks.
            Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::Interrupted) => continue,
            Err(e) if e.kind() == ErrorKind::ProducerGone => {
                why = "producer gone";
                break;
            }
            Err(e) => {
                eprintln!("infer: acquire: {}", e);
                ret = 1;
                break;
            }
        };
        if start == 0 {
            start = now_ns();
            last_report = start;
        }
        dropped += f.dropped();
        let result = Image::from_frame(&f).and_then(|img| process(&img, args.scale, &mut work));
        let done = now_ns();
        let eos = f.is_end_of_stream();
        let ts = if f.timestamp_ns() != 0 { f.timestamp_ns() } else { f.publish_ns() };
        let latency = done.saturating_sub(ts);
        match (f.release(), result) {
            // The producer lapped us while we read: the result is garbage.
            (Err(_torn), _) => torn += 1,
            (Ok(()), None) => skipped += 1,
            (Ok(()), Some((e, m))) => {
                frames += 1;
                edges = e;
                motion = m;
                edge_sum += e;
                motion_max = motion_max.max(m);
                lat.push(latency);
            }
        }
        if !args.quiet && !args.json && done - last_report >= 1_000_000_000 {
            eprintln!(
                "infer: {} frames, edges {:.1}, motion {:.2}, latency {:.2} ms",
                frames,
                edges,
                motion,
                lat.last().map_or(0.0, |&l| l as f64 / 1e6)
            );
            last_report = done;
        }
        if eos {
            why = "end of stream";
            break;
        }
    }
    let elapsed = if start != 0 { (now_ns() - start) as f64 / 1e9 } else { 0.0 };
    let fps = if elapsed > 0.0 { frames as f64 / elapsed } else { 0.0 };
    lat.sort_unstable();
    let (p50, p90, p99, pmax) = (pct(&lat, 0.5), pct(&lat, 0.9), pct(&lat, 0.99), pct(&lat, 1.0));
    let edge_mean = if frames > 0 { edge_sum / frames as f64 } else { 0.0 };
    if args.json {
        println!(
            "{{\"name\":\"{}\",\"mode\":\"{}\",\"frames\":{},\"dropped\":{},\"torn\":{},\"skipped\":{},\
             \"seconds\":{:.3},\"fps\":{:.2},\"edge_mean\":{:.3},\"motion_max\":{:.3},\
             \"latency_ns\":{{\"p50\":{},\"p90\":{},\"p99\":{},\"max\":{}}},\"end\":\"{}\"}}",
            args.name, args.mode, frames, dropped, torn, skipped, elapsed, fps, edge_mean,
            motion_max, p50, p90, p99, pmax, why
        );
    } else {
        println!(
            "infer: {} frames ({:.1} fps), {} skipped as stale, {} torn; mean edge energy {:.2}; \
             capture->result latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({})",
            frames,
            fps,
            dropped,
            torn,
            edge_mean,
            p50 as f64 / 1e6,
            p99 as f64 / 1e6,
            pmax as f64 / 1e6,
            why
        );
    }
    ret
}
