// SPDX-License-Identifier: MIT
//! zinc: zero-copy frame rings and Zinc regions in shared memory, the safe
//! Rust API over libzinc (the raw bindings are [`sys`], the `zinc-sys`
//! crate). The guide is docs/rust.md; its examples are compiled and run as
//! this crate's doctests.
//!
//! A producer writes each frame in place in a slot of the ring; every
//! consumer reads it in place:
//!
//! ```
//! use zinc::{Consumer, Mode, Producer, RingConfig};
//!
//! # fn main() -> zinc::Result<()> {
//! let name = format!("lib-doc-{}", std::process::id());
//! let mut producer = Producer::create(&name, &RingConfig::new(4, 4096))?;
//! let mut consumer = Consumer::open(&name, Mode::Every)?;
//!
//! let mut frame = producer.claim(None)?;       // a slot, written in place
//! frame.write(b"hello")?;
//! frame.publish()?;
//!
//! let frame = consumer.acquire(None)?;         // borrows `consumer`
//! assert_eq!(frame.data(), b"hello");
//! frame.release()?;                            // Err(Torn) if overwritten meanwhile
//! # Ok(())
//! # }
//! ```
//!
//! # The holding rules, enforced by the compiler
//!
//! The C API asks its callers to release every acquired frame exactly once,
//! never to touch a frame after releasing it, to hold one frame per
//! consumer at a time, and to publish or abort every claim exactly once.
//! Here a [`ReadFrame`] borrows its [`Consumer`] mutably and a
//! [`WriteFrame`] its [`Producer`]; `release`, `publish` and `abort` take
//! the frame by value; dropping a frame releases (or aborts) it. Each rule
//! below is a doctest that must fail to compile, next to its compiling twin.
//!
//! A frame cannot be used after its release:
//!
//! ```compile_fail,E0505
//! # fn f(c: &mut zinc::Consumer) -> zinc::Result<()> {
//! let frame = c.acquire(None)?;
//! let bytes = frame.data();
//! frame.release()?;
//! println!("{}", bytes[0]); // error: `frame` was moved by `release`
//! # Ok(()) }
//! ```
//! ```
//! # fn f(c: &mut zinc::Consumer) -> zinc::Result<()> {
//! let frame = c.acquire(None)?;
//! println!("{}", frame.data()[0]);
//! frame.release()?;
//! # Ok(()) }
//! ```
//!
//! Nor released twice:
//!
//! ```compile_fail,E0382
//! # fn f(c: &mut zinc::Consumer) -> zinc::Result<()> {
//! let frame = c.acquire(None)?;
//! frame.release()?;
//! frame.release()?; // error: use of moved value
//! # Ok(()) }
//! ```
//!
//! One frame per consumer at a time (the C API allows no more):
//!
//! ```compile_fail,E0499
//! # fn f(c: &mut zinc::Consumer) -> zinc::Result<()> {
//! let a = c.acquire(None)?;
//! let b = c.acquire(None)?; // error: `*c` is already borrowed by `a`
//! # drop((a, b)); Ok(()) }
//! ```
//! ```
//! # fn f(c: &mut zinc::Consumer) -> zinc::Result<()> {
//! let a = c.acquire(None)?;
//! drop(a); // released
//! let b = c.acquire(None)?;
//! # drop(b); Ok(()) }
//! ```
//!
//! A frame cannot outlive its consumer:
//!
//! ```compile_fail,E0505
//! # fn f() -> zinc::Result<()> {
//! let mut c = zinc::Consumer::open("cam0", zinc::Mode::Latest)?;
//! let frame = c.acquire(None)?;
//! drop(c); // error: `c` is borrowed by `frame`
//! # drop(frame); Ok(()) }
//! ```
//!
//! Nor can a consumer's payload range ([`Consumer::mapping`]), which is an
//! address and a length: reading it as a slice is `unsafe`, since the
//! producer writes it meanwhile.
//!
//! ```compile_fail,E0505
//! # fn f() -> zinc::Result<()> {
//! let c = zinc::Consumer::open("cam0", zinc::Mode::Latest)?;
//! let range = c.mapping();
//! drop(c); // error: `c` is borrowed by `range`
//! # println!("{:?}", range.as_ptr()); Ok(()) }
//! ```
//! ```compile_fail,E0133
//! # fn f(c: &zinc::Consumer) {
//! let bytes = c.mapping().as_slice(); // error: call to unsafe function
//! # drop(bytes); }
//! ```
//! ```
//! # fn f(c: &zinc::Consumer) {
//! let range = c.mapping();
//! let (base, len) = (range.as_ptr(), range.len()); // for cudaHostRegister & co
//! # drop((base, len)); }
//! ```
//!
//! The payload of a received frame is read-only:
//!
//! ```compile_fail,E0594
//! # fn f(c: &mut zinc::Consumer) -> zinc::Result<()> {
//! let frame = c.acquire(None)?;
//! frame.data()[0] = 1; // error: cannot assign through a `&` reference
//! # Ok(()) }
//! ```
//!
//! A claim is published once, and one claim is open at a time:
//!
//! ```compile_fail,E0382
//! # fn f(p: &mut zinc::Producer) -> zinc::Result<()> {
//! let frame = p.claim(None)?;
//! frame.publish()?;
//! frame.publish()?; // error: use of moved value
//! # Ok(()) }
//! ```
//! ```compile_fail,E0499
//! # fn f(p: &mut zinc::Producer) -> zinc::Result<()> {
//! let a = p.claim(None)?;
//! let b = p.claim(None)?; // error: `*p` is already borrowed by `a`
//! # drop((a, b)); Ok(()) }
//! ```
//! ```
//! # fn f(p: &mut zinc::Producer) -> zinc::Result<()> {
//! let mut a = p.claim(None)?;
//! a.data_mut()[0] = 1;
//! a.publish()?;
//! let b = p.claim(None)?;
//! drop(b); // aborted
//! # Ok(()) }
//! ```
//!
//! # Threads
//!
//! The C rule: a handle may be used from any thread, by one thread at a
//! time. So [`Producer`], [`Consumer`] and [`Region`] are `Send` (a handle
//! can move to another thread) but not `Sync` (no two threads can call it
//! at once); different handles work in parallel. A [`ReadFrame`] is `Send`
//! and `Sync` (it only reads its copied descriptor and the payload: several
//! threads may read one frame), as is a [`WriteFrame`].
//!
//! ```compile_fail,E0277
//! fn shared<T: Sync>(_: &T) {}
//! # fn f(c: &zinc::Consumer) {
//! shared(c); // error: `Consumer` cannot be shared between threads
//! # }
//! ```
//! ```
//! fn moved<T: Send>(_: T) {}
//! fn shared<T: Sync>(_: &T) {}
//! # fn f(c: zinc::Consumer, p: zinc::Producer, r: zinc::Region, fr: &zinc::ReadFrame) {
//! shared(fr);
//! moved(c);
//! moved(p);
//! moved(r);
//! # }
//! ```
//!
//! # Errors
//!
//! Every call that can fail returns [`Result`]: an [`Error`] carries the
//! [`ErrorKind`] (one variant per zinc code, `code()` gives the number) and
//! the failing call's own message (`zinc_last_error`), `advice()` says what
//! to do. [`ReadFrame::release`] returns [`Torn`] on its own.

mod error;
mod region;
mod ring;
mod tensor;

pub use zinc_sys as sys;

pub use crate::error::{Error, ErrorKind, Result, Torn};
pub use crate::region::{inspect, inspect_fd, unlink, Region, RegionOptions};
pub use crate::ring::{
    remove_stale, ring_connect, ring_stats, ring_stats_fd, socket_registry, wait_any, Consumer,
    Descriptor, Mapping, Mode, Producer, ProducerState, ReadFrame, RingConfig, RingStats, Timeout,
    WriteFrame,
};
pub use crate::tensor::{DType, Element, Tensor};

/// Pixel and point formats (`ZINC_FOURCC_*`).
pub mod fourcc {
    pub use zinc_sys::{
        ZINC_FOURCC_GREY as GREY, ZINC_FOURCC_NV12 as NV12, ZINC_FOURCC_PC32F as PC32F,
        ZINC_FOURCC_RAW as RAW, ZINC_FOURCC_RGB24 as RGB24, ZINC_FOURCC_RGBA32 as RGBA32,
    };
}

/// Frame flags (`ZINC_FRAME_*`).
pub mod flags {
    pub use zinc_sys::{
        ZINC_FRAME_DEMOTED as DEMOTED, ZINC_FRAME_DISCONTINUITY as DISCONTINUITY,
        ZINC_FRAME_END_OF_STREAM as END_OF_STREAM, ZINC_FRAME_KEYFRAME as KEYFRAME,
    };
}

/// "RGB3" style text of a fourcc (non-printable bytes as '.').
pub fn fourcc_str(fourcc: u32) -> String {
    if fourcc == 0 {
        return "raw".to_string();
    }
    fourcc
        .to_le_bytes()
        .iter()
        .map(|&b| if b.is_ascii_graphic() { b as char } else { '.' })
        .collect()
}

/// The upstream C ABI version libzinc implements ((1 << 16) | 1).
pub fn version() -> u32 {
    // SAFETY: no arguments, no state.
    unsafe { sys::zinc_version() }
}

/// The loaded library's own version, e.g. "0.1.0".
pub fn version_string() -> &'static str {
    // SAFETY: a static NUL-terminated string, never NULL.
    unsafe { std::ffi::CStr::from_ptr(sys::zinc_version_string()) }.to_str().unwrap_or("?")
}

/// Check a bare name (`[A-Za-z0-9_-]{1,250}`) without a system call.
pub fn name_valid(name: &str) -> bool {
    match ring::c_name(name) {
        // SAFETY: a valid C string.
        Ok(c) => unsafe { sys::zinc_name_valid(c.as_ptr()) == 0 },
        Err(_) => false,
    }
}

// docs/rust.md's code blocks run as doctests of this crate.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/rust.md")]
pub struct GuideDoctests;
