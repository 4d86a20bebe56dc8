// SPDX-License-Identifier: MIT
//! Raw FFI bindings to libzinc: `<zinc/zinc.h>` (Zinc regions) and
//! `<zinc/ring.h>` (the frame ring), written by hand to match the C headers
//! field for field. `tests/layout.rs` checks every struct's size and field
//! offsets against the C compiler's.
//!
//! Everything here is `unsafe` to use and follows the C rules (see the
//! headers): return codes are `0` or a negative `ZINC_E*`; a handle is used
//! by one thread at a time. The `zinc` crate is the safe API over this one.
#![allow(non_camel_case_types)]

use std::marker::{PhantomData, PhantomPinned};
use std::os::raw::{c_char, c_int, c_uint, c_void};

// ---- zinc.h -----------------------------------------------------------------

pub const ZINC_OK: i32 = 0;
pub const ZINC_EPERM: i32 = -1;
pub const ZINC_ENOENT: i32 = -2;
/// A blocking call was interrupted by a signal handler.
pub const ZINC_EINTR: i32 = -4;
pub const ZINC_EAGAIN: i32 = -11;
pub const ZINC_EBUSY: i32 = -16;
pub const ZINC_EEXIST: i32 = -17;
pub const ZINC_EINVAL: i32 = -22;
pub const ZINC_ENOSPC: i32 = -28;
pub const ZINC_EPIPE: i32 = -32;
pub const ZINC_EBADMSG: i32 = -74;
pub const ZINC_EOVERFLOW: i32 = -75;
pub const ZINC_EMSGSIZE: i32 = -90;
pub const ZINC_ETIMEDOUT: i32 = -110;

pub const ZINC_NAME_MAX: usize = 250;
pub const ZINC_HEADER_SIZE: usize = 64;

pub type ZincHandle = *mut c_void;

pub const ZINC_CREATE_REPLACE_STALE: u32 = 0x1;
pub const ZINC_CREATE_PREFAULT: u32 = 0x2;
pub const ZINC_CREATE_GROUP_ACCESS: u32 = 0x4;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct zinc_create_opts {
    pub layout_version: u32,
    pub flags: u32,
    pub reserved: [u64; 6],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct zinc_region_info {
    pub version: u16,
    pub flags: u16,
    pub notify_seq: u32,
    pub capacity: u64,
    pub data_offset: u64,
    pub file_size: u64,
    pub ref_count: u32,
    pub owner_pid: i32,
    pub owner_alive: i32,
    pub is_ring: u32,
    pub created_at: u64,
    pub name_hash: u64,
    pub owner_uid: u32,
    pub foreign: u32,
    pub reserved: [u64; 3],
}

// ---- ring.h -----------------------------------------------------------------

/// Opaque producer handle.
#[repr(C)]
pub struct zinc_producer {
    _opaque: [u8; 0],
    _not_send_sync: PhantomData<(*mut u8, PhantomPinned)>,
}

/// Opaque consumer handle.
#[repr(C)]
pub struct zinc_consumer {
    _opaque: [u8; 0],
    _not_send_sync: PhantomData<(*mut u8, PhantomPinned)>,
}

/// `zinc_delivery` (a C enum: 4 bytes).
pub type zinc_delivery = c_uint;
pub const ZINC_EVERY: zinc_delivery = 0;
pub const ZINC_LOSSY: zinc_delivery = 1;
pub const ZINC_LATEST: zinc_delivery = 2;

pub const ZINC_RING_PREFAULT: u32 = 0x1;
pub const ZINC_RING_HUGEPAGES: u32 = 0x2;
pub const ZINC_RING_NO_TIMESTAMPS: u32 = 0x4;
pub const ZINC_RING_ANONYMOUS: u32 = 0x8;
pub const ZINC_RING_GROUP_ACCESS: u32 = 0x10;

pub const ZINC_RING_MAX_SLOTS: u32 = 65536;
pub const ZINC_RING_MAX_CONSUMERS: u32 = 256;
pub const ZINC_RING_DEFAULT_CONSUMERS: u32 = 16;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct zinc_ring_config {
    pub slot_count: u32,
    pub max_consumers: u32,
    pub slot_size: u64,
    pub flags: u32,
    pub spin_ns: u32,
    pub demote_after_ns: u64,
    pub reserved: [u64; 6],
}

pub const ZINC_DTYPE_INT: u8 = 0;
pub const ZINC_DTYPE_UINT: u8 = 1;
pub const ZINC_DTYPE_FLOAT: u8 = 2;
pub const ZINC_DTYPE_BFLOAT: u8 = 4;

pub const ZINC_TENSOR_MAX_DIMS: usize = 4;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct zinc_tensor {
    pub dtype_code: u8,
    pub dtype_bits: u8,
    pub dtype_lanes: u16,
    pub ndim: u32,
    pub offset: u64,
    pub shape: [u64; ZINC_TENSOR_MAX_DIMS],
    pub strides: [i64; ZINC_TENSOR_MAX_DIMS],
}

pub const ZINC_FRAME_KEYFRAME: u32 = 0x0001;
pub const ZINC_FRAME_DISCONTINUITY: u32 = 0x0002;
pub const ZINC_FRAME_END_OF_STREAM: u32 = 0x0004;
pub const ZINC_FRAME_DEMOTED: u32 = 0x10000;

pub const ZINC_FRAME_USER_SIZE: usize = 64;

/// `ZINC_FOURCC(a, b, c, d)`.
pub const fn zinc_fourcc(a: u8, b: u8, c: u8, d: u8) -> u32 {
    (a as u32) | (b as u32) << 8 | (c as u32) << 16 | (d as u32) << 24
}
pub const ZINC_FOURCC_RAW: u32 = 0;
pub const ZINC_FOURCC_GREY: u32 = zinc_fourcc(b'G', b'R', b'E', b'Y');
pub const ZINC_FOURCC_RGB24: u32 = zinc_fourcc(b'R', b'G', b'B', b'3');
pub const ZINC_FOURCC_RGBA32: u32 = zinc_fourcc(b'A', b'B', b'2', b'4');
pub const ZINC_FOURCC_NV12: u32 = zinc_fourcc(b'N', b'V', b'1', b'2');
pub const ZINC_FOURCC_PC32F: u32 = zinc_fourcc(b'P', b'C', b'3', b'F');

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct zinc_frame {
    pub data: *mut c_void,
    pub size: u64,
    pub seq: u64,
    pub timestamp_ns: u64,
    pub publish_ns: u64,
    pub dropped: u64,
    pub tensor: zinc_tensor,
    pub fourcc: u32,
    pub flags: u32,
    pub user: [u8; ZINC_FRAME_USER_SIZE],
    pub reserved: [u64; 4],
}

impl Default for zinc_frame {
    fn default() -> Self {
        zinc_frame {
            data: std::ptr::null_mut(),
            size: 0,
            seq: 0,
            timestamp_ns: 0,
            publish_ns: 0,
            dropped: 0,
            tensor: zinc_tensor::default(),
            fourcc: 0,
            flags: 0,
            user: [0; ZINC_FRAME_USER_SIZE],
            reserved: [0; 4],
        }
    }
}

pub const ZINC_LAT_BUCKETS: usize = 32;

/// `zinc_producer_state` (a C enum: 4 bytes), `zinc_ring_stats.producer_state`.
pub type zinc_producer_state = c_uint;
pub const ZINC_PRODUCER_CREATING: zinc_producer_state = 0;
pub const ZINC_PRODUCER_OPEN: zinc_producer_state = 1;
pub const ZINC_PRODUCER_CLOSED: zinc_producer_state = 2;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct zinc_consumer_stats {
    pub index: u32,
    pub mode: u32,
    pub pid: i32,
    pub alive: u32,
    pub demoted: u32,
    pub evicted: u32,
    pub cursor: u64,
    pub lag: u64,
    pub acquired: u64,
    pub released: u64,
    pub dropped: u64,
    pub torn: u64,
    pub attached_ns: u64,
    pub latency: [u64; ZINC_LAT_BUCKETS],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct zinc_ring_stats {
    pub generation: u64,
    pub head: u64,
    pub slot_count: u32,
    pub max_consumers: u32,
    pub slot_size: u64,
    pub ring_bytes: u64,
    pub producer_state: u32,
    pub producer_alive: u32,
    pub producer_pid: i32,
    pub consumers: u32,
    pub published: u64,
    pub aborted: u64,
    pub blocked_ns: u64,
    pub blocked_claims: u64,
    pub evicted: u64,
    pub demoted: u64,
    pub created_ns: u64,
    pub last_publish_ns: u64,
    pub flags: u32,
    pub stream_fourcc: u32,
    pub published_bytes: u64,
    pub owner_uid: u32,
    pub foreign: u32,
    pub reserved: [u64; 4],
}

extern "C" {
    // Upstream Zinc C ABI.
    pub fn zinc_create(name: *const c_char, capacity: usize, out: *mut ZincHandle) -> i32;
    pub fn zinc_open(name: *const c_char, out: *mut ZincHandle) -> i32;
    pub fn zinc_ptr(h: ZincHandle) -> *mut u8;
    pub fn zinc_capacity(h: ZincHandle) -> usize;
    pub fn zinc_close(h: ZincHandle);
    pub fn zinc_notify(h: ZincHandle);
    pub fn zinc_wait(h: ZincHandle, timeout_ms: u32) -> i32;
    pub fn zinc_try_wait(h: ZincHandle) -> i32;
    pub fn zinc_version() -> u32;

    // Region extensions.
    pub fn zinc_create_ex(
        name: *const c_char,
        capacity: usize,
        opts: *const zinc_create_opts,
        out: *mut ZincHandle,
    ) -> i32;
    pub fn zinc_unlink(name: *const c_char) -> i32;
    pub fn zinc_inspect(name: *const c_char, out: *mut zinc_region_info) -> i32;
    pub fn zinc_region_info_get(h: ZincHandle, out: *mut zinc_region_info) -> i32;
    pub fn zinc_layout(h: ZincHandle) -> u32;
    pub fn zinc_name_hash(name: *const c_char) -> u64;
    pub fn zinc_name_valid(name: *const c_char) -> i32;
    pub fn zinc_inspect_fd(fd: c_int, out: *mut zinc_region_info) -> i32;
    pub fn zinc_version_string() -> *const c_char;
    pub fn zinc_strerror(code: i32) -> *const c_char;
    pub fn zinc_last_error() -> *const c_char;

    // Producer.
    pub fn zinc_producer_create(
        name: *const c_char,
        cfg: *const zinc_ring_config,
        out: *mut *mut zinc_producer,
    ) -> c_int;
    pub fn zinc_producer_claim(p: *mut zinc_producer, f: *mut zinc_frame, timeout_ns: i64)
        -> c_int;
    pub fn zinc_producer_publish(p: *mut zinc_producer, f: *mut zinc_frame) -> c_int;
    pub fn zinc_producer_abort(p: *mut zinc_producer, f: *mut zinc_frame) -> c_int;
    pub fn zinc_producer_set_stream(p: *mut zinc_producer, desc: *const zinc_frame) -> c_int;
    pub fn zinc_producer_generation(p: *const zinc_producer) -> u64;
    pub fn zinc_producer_close(p: *mut zinc_producer);

    // Sealed anonymous rings and the socket rendezvous.
    pub fn zinc_producer_listen(p: *mut zinc_producer, address: *const c_char) -> c_int;
    pub fn zinc_producer_unlisten(p: *mut zinc_producer) -> c_int;
    pub fn zinc_producer_fd(p: *mut zinc_producer) -> c_int;
    pub fn zinc_consumer_connect(
        address: *const c_char,
        mode: zinc_delivery,
        out: *mut *mut zinc_consumer,
    ) -> c_int;
    pub fn zinc_consumer_open_fd(
        fd: c_int,
        mode: zinc_delivery,
        out: *mut *mut zinc_consumer,
    ) -> c_int;
    pub fn zinc_ring_connect(address: *const c_char) -> c_int;
    pub fn zinc_socket_registry(buf: *mut c_char, len: usize) -> c_int;

    // Consumer.
    pub fn zinc_consumer_open(
        name: *const c_char,
        mode: zinc_delivery,
        out: *mut *mut zinc_consumer,
    ) -> c_int;
    pub fn zinc_consumer_acquire(
        c: *mut zinc_consumer,
        f: *mut zinc_frame,
        timeout_ns: i64,
    ) -> c_int;
    pub fn zinc_consumer_release(c: *mut zinc_consumer, f: *const zinc_frame) -> c_int;
    pub fn zinc_consumer_stream(c: *mut zinc_consumer, desc: *mut zinc_frame) -> c_int;
    pub fn zinc_consumer_config(c: *const zinc_consumer, cfg: *mut zinc_ring_config) -> c_int;
    pub fn zinc_consumer_generation(c: *const zinc_consumer) -> u64;
    pub fn zinc_consumer_mode(c: *const zinc_consumer) -> zinc_delivery;
    pub fn zinc_consumer_close(c: *mut zinc_consumer);

    // Waiting in event loops.
    pub fn zinc_consumer_fd(c: *mut zinc_consumer) -> c_int;
    pub fn zinc_wait_any(cs: *const *mut zinc_consumer, n: u32, timeout_ns: i64) -> c_int;
    pub fn zinc_consumer_mapping(
        c: *const zinc_consumer,
        base: *mut *mut c_void,
        len: *mut usize,
    ) -> c_int;
    pub fn zinc_producer_mapping(
        p: *const zinc_producer,
        base: *mut *mut c_void,
        len: *mut usize,
    ) -> c_int;

    // Descriptor helpers.
    pub fn zinc_frame_set_image(f: *mut zinc_frame, fourcc: u32, width: u32, height: u32) -> c_int;
    pub fn zinc_frame_set_points(f: *mut zinc_frame, n: u64, k: u32) -> c_int;
    pub fn zinc_tensor_check(t: *const zinc_tensor, size: u64) -> c_int;
    pub fn zinc_tensor_span(t: *const zinc_tensor) -> u64;

    // Observability.
    pub fn zinc_ring_stats_read(
        name: *const c_char,
        rs: *mut zinc_ring_stats,
        cs: *mut zinc_consumer_stats,
        cap: u32,
        n_out: *mut u32,
    ) -> c_int;
    pub fn zinc_ring_stats_read_fd(
        fd: c_int,
        rs: *mut zinc_ring_stats,
        cs: *mut zinc_consumer_stats,
        cap: u32,
        n_out: *mut u32,
    ) -> c_int;
    pub fn zinc_ring_remove_stale(name: *const c_char) -> c_int;
    pub fn zinc_ring_size(cfg: *const zinc_ring_config) -> u64;
}
