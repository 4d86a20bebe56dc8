// SPDX-License-Identifier: MIT
//! The frame ring: [`Producer`] / [`WriteFrame`] and [`Consumer`] /
//! [`ReadFrame`], with the C holding rules moved into the types; waiting
//! in event loops ([`Consumer::fd`], [`wait_any`]) and sealed anonymous
//! rings ([`Producer::listen`], [`Consumer::connect`]).

use std::borrow::BorrowMut;
use std::ffi::{CStr, CString, OsStr};
use std::fmt;
use std::marker::PhantomData;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::ptr::NonNull;
use std::str::FromStr;
use std::time::{Duration, Instant};

use zinc_sys as sys;

use crate::error::{check, Error, ErrorKind, Result, Torn};
use crate::tensor::{Element, Tensor};

/// How long a call may wait. Converts from a [`Duration`] (zero: do not
/// wait) and from `Option<Duration>` (`None`: forever).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeout {
    /// Do not wait: `WouldBlock` if nothing is there now.
    Poll,
    /// Wait without limit.
    Forever,
    /// Wait at most this long (`TimedOut` after it).
    After(Duration),
}

impl Timeout {
    /// The C convention: 0 = don't wait, negative = forever.
    #[inline]
    pub fn as_ns(self) -> i64 {
        match self {
            Timeout::Poll => 0,
            Timeout::Forever => -1,
            Timeout::After(d) => {
                let ns = d.as_nanos();
                if ns > i64::MAX as u128 {
                    i64::MAX
                } else {
                    ns as i64
                }
            }
        }
    }
}

impl From<Duration> for Timeout {
    #[inline]
    fn from(d: Duration) -> Timeout {
        Timeout::After(d)
    }
}

impl From<Option<Duration>> for Timeout {
    #[inline]
    fn from(d: Option<Duration>) -> Timeout {
        match d {
            Some(d) => Timeout::After(d),
            None => Timeout::Forever,
        }
    }
}

/// A consumer's delivery mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Every frame, in order, exactly once; the producer waits for it.
    Every,
    /// Frames in order; skips ahead when lapped (`dropped` says how many).
    Lossy,
    /// Always the newest frame not yet seen.
    Latest,
}

impl Mode {
    fn raw(self) -> sys::zinc_delivery {
        match self {
            Mode::Every => sys::ZINC_EVERY,
            Mode::Lossy => sys::ZINC_LOSSY,
            Mode::Latest => sys::ZINC_LATEST,
        }
    }

    fn from_raw(m: sys::zinc_delivery) -> Mode {
        match m {
            sys::ZINC_EVERY => Mode::Every,
            sys::ZINC_LOSSY => Mode::Lossy,
            _ => Mode::Latest,
        }
    }
}

impl FromStr for Mode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Mode> {
        match s {
            "every" => Ok(Mode::Every),
            "lossy" => Ok(Mode::Lossy),
            "latest" => Ok(Mode::Latest),
            _ => Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("mode '{}': expected every, lossy or latest", s),
            )),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Every => "every",
            Mode::Lossy => "lossy",
            Mode::Latest => "latest",
        })
    }
}

/// A ring's geometry and options (`zinc_ring_config`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingConfig {
    /// Slots: a power of two, 2..65536.
    pub slot_count: u32,
    /// Largest payload of one frame, in bytes (> 0).
    pub slot_size: u64,
    /// 0 = the default (16); else 1..256, exact.
    pub max_consumers: u32,
    /// Busy-wait before sleeping; `None` = the default (20 us). The library
    /// caps it at 10 ms.
    pub spin: Option<Duration>,
    /// Demote an EVERY consumer that blocks the producer longer than this
    /// to LOSSY; `None` = never.
    pub demote_after: Option<Duration>,
    /// Pre-fault the whole mapping at create/attach (`ZINC_RING_PREFAULT`).
    pub prefault: bool,
    /// Ask for transparent huge pages (`ZINC_RING_HUGEPAGES`).
    pub hugepages: bool,
    /// Read the clock per frame (`publish_ns`, latency histogram); `false`
    /// is `ZINC_RING_NO_TIMESTAMPS`.
    pub timestamps: bool,
    /// A sealed memfd instead of a name in /dev/shm (`ZINC_RING_ANONYMOUS`):
    /// consumers get it through [`Producer::listen`] or [`Producer::fd`].
    pub anonymous: bool,
    /// Mode 0660 instead of 0600, for users of the creator's group who
    /// trust its uid (`ZINC_RING_GROUP_ACCESS`; they list it in
    /// `ZINC_TRUST_UID`).
    pub group_access: bool,
}

impl Default for RingConfig {
    /// 8 slots of 1 MiB, default options.
    fn default() -> RingConfig {
        RingConfig::new(8, 1 << 20)
    }
}

impl RingConfig {
    /// `slot_count` slots of `slot_size` bytes, default options.
    pub fn new(slot_count: u32, slot_size: u64) -> RingConfig {
        RingConfig {
            slot_count,
            slot_size,
            max_consumers: 0,
            spin: None,
            demote_after: None,
            prefault: false,
            hugepages: false,
            timestamps: true,
            anonymous: false,
            group_access: false,
        }
    }

    /// The C struct. Durations too long for its fields saturate rather
    /// than wrap.
    pub fn to_raw(&self) -> sys::zinc_ring_config {
        let mut flags = 0;
        if self.prefault {
            flags |= sys::ZINC_RING_PREFAULT;
        }
        if self.hugepages {
            flags |= sys::ZINC_RING_HUGEPAGES;
        }
        if !self.timestamps {
            flags |= sys::ZINC_RING_NO_TIMESTAMPS;
        }
        if self.anonymous {
            flags |= sys::ZINC_RING_ANONYMOUS;
        }
        if self.group_access {
            flags |= sys::ZINC_RING_GROUP_ACCESS;
        }
        let ns = |d: Duration| d.as_nanos().min(u64::MAX as u128) as u64;
        sys::zinc_ring_config {
            slot_count: self.slot_count,
            max_consumers: self.max_consumers,
            slot_size: self.slot_size,
            flags,
            spin_ns: self.spin.map_or(0, |d| ns(d).min(u32::MAX as u64) as u32),
            demote_after_ns: self.demote_after.map_or(0, ns),
            reserved: [0; 6],
        }
    }

    pub fn from_raw(c: &sys::zinc_ring_config) -> RingConfig {
        RingConfig {
            slot_count: c.slot_count,
            slot_size: c.slot_size,
            max_consumers: c.max_consumers,
            spin: if c.spin_ns == 0 { None } else { Some(Duration::from_nanos(c.spin_ns as u64)) },
            demote_after: if c.demote_after_ns == 0 {
                None
            } else {
                Some(Duration::from_nanos(c.demote_after_ns))
            },
            prefault: c.flags & sys::ZINC_RING_PREFAULT != 0,
            hugepages: c.flags & sys::ZINC_RING_HUGEPAGES != 0,
            timestamps: c.flags & sys::ZINC_RING_NO_TIMESTAMPS == 0,
            anonymous: c.flags & sys::ZINC_RING_ANONYMOUS != 0,
            group_access: c.flags & sys::ZINC_RING_GROUP_ACCESS != 0,
        }
    }

    /// Bytes of shared memory a ring of this configuration needs; `None` if
    /// the configuration is invalid.
    pub fn ring_bytes(&self) -> Option<u64> {
        // SAFETY: a valid pointer to a local struct.
        match unsafe { sys::zinc_ring_size(&self.to_raw()) } {
            0 => None,
            n => Some(n),
        }
    }
}

pub(crate) fn c_name(name: &str) -> Result<CString> {
    CString::new(name).map_err(|_| {
        Error::new(ErrorKind::InvalidArgument, format!("name {:?} contains a NUL byte", name))
    })
}

/// A socket address: "@name" (the abstract namespace) or a path.
pub(crate) fn c_address(address: &OsStr) -> Result<CString> {
    CString::new(address.as_bytes()).map_err(|_| {
        Error::new(ErrorKind::InvalidArgument, format!("address {:?} contains a NUL byte", address))
    })
}

/// The payload range of a handle (zinc_*_mapping): base and length, a
/// dangling base and 0 if the library gave none.
fn mapping_range(rc: i32, base: *mut std::ffi::c_void, len: usize) -> (*const u8, usize) {
    if rc != 0 || base.is_null() || len == 0 {
        return (NonNull::<u8>::dangling().as_ptr(), 0);
    }
    (base as *const u8, len)
}

/// A consumer's payload range ([`Consumer::mapping`]): every slot's bytes,
/// page-aligned, mapped while the consumer it borrows lives.
///
/// It is an address and a length, not a slice: the producer (another
/// process, or another thread) writes these bytes while you hold it, so a
/// `&[u8]` over them would be a data race that safe code could observe.
/// Hand [`as_ptr`](Self::as_ptr) and [`len`](Self::len) to
/// `cudaHostRegister`, `ibv_reg_mr` or `mlock`; read frames through
/// [`Consumer::acquire`], which tells which bytes form a whole frame.
#[derive(Clone, Copy)]
pub struct Mapping<'c> {
    base: *const u8,
    len: usize,
    // Borrows the consumer: the range is unmapped when it closes.
    _consumer: PhantomData<&'c Consumer>,
}

// SAFETY: an address and a length; nothing is read through them without
// `unsafe` (as_slice), so the value may cross threads. The borrow still
// ties it to the consumer's life.
unsafe impl Send for Mapping<'_> {}
unsafe impl Sync for Mapping<'_> {}

impl<'c> Mapping<'c> {
    /// The first byte of the range (page-aligned; dangling when empty).
    #[inline]
    pub fn as_ptr(&self) -> *const u8 {
        self.base
    }

    /// Bytes in the range: a page multiple holding every slot.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True only if the library gave no range (never for a live consumer).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The range as a slice.
    ///
    /// # Safety
    ///
    /// No byte of the range may be written while the slice lives — by the
    /// producer (in any process), or through any other handle of the ring.
    /// The library cannot promise that: the producer writes a slot whenever
    /// it claims one, and a lapped LOSSY/LATEST reader's slot as well. Call
    /// it only when you know the producer is stopped (it closed, or your own
    /// protocol holds it), e.g. to inspect a ring after the fact; read live
    /// frames through [`Consumer::acquire`] instead.
    #[inline]
    pub unsafe fn as_slice(&self) -> &'c [u8] {
        // SAFETY: `len` mapped bytes at `base` for the consumer's life
        // ('c); the caller vouches that nobody writes them meanwhile.
        std::slice::from_raw_parts(self.base, self.len)
    }
}

impl fmt::Debug for Mapping<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mapping").field("base", &self.base).field("len", &self.len).finish()
    }
}

/// A frame's or a stream's description without its payload: size, tensor,
/// fourcc, flags and the 64 user bytes. The producer announces one with
/// [`Producer::set_stream`]; consumers read it with [`Consumer::stream`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descriptor {
    pub size: u64,
    pub tensor: Tensor,
    pub fourcc: u32,
    pub flags: u32,
    pub user: [u8; sys::ZINC_FRAME_USER_SIZE],
}

impl Default for Descriptor {
    fn default() -> Descriptor {
        Descriptor::from_raw(&sys::zinc_frame::default())
    }
}

impl Descriptor {
    /// A packed `width` x `height` image: GREY, RGB24, RGBA32 or NV12.
    pub fn image(fourcc: u32, width: u32, height: u32) -> Result<Descriptor> {
        let mut f = sys::zinc_frame { size: u64::MAX, ..Default::default() };
        // SAFETY: a valid pointer to a local frame.
        check(unsafe { sys::zinc_frame_set_image(&mut f, fourcc, width, height) })?;
        Ok(Descriptor::from_raw(&f))
    }

    /// An `n` x `k` float32 point cloud (PC32F).
    pub fn points(n: u64, k: u32) -> Result<Descriptor> {
        let mut f = sys::zinc_frame { size: u64::MAX, ..Default::default() };
        // SAFETY: a valid pointer to a local frame.
        check(unsafe { sys::zinc_frame_set_points(&mut f, n, k) })?;
        Ok(Descriptor::from_raw(&f))
    }

    pub fn from_raw(f: &sys::zinc_frame) -> Descriptor {
        Descriptor {
            size: f.size,
            tensor: Tensor::from_raw(f.tensor),
            fourcc: f.fourcc,
            flags: f.flags,
            user: f.user,
        }
    }

    pub fn to_raw(&self) -> sys::zinc_frame {
        sys::zinc_frame {
            size: self.size,
            tensor: *self.tensor.as_raw(),
            fourcc: self.fourcc,
            flags: self.flags,
            user: self.user,
            ..Default::default()
        }
    }
}

// ---- Producer ------------------------------------------------------------------

/// The producer of a ring: creates it, claims slots and publishes frames.
///
/// `Send` but not `Sync`: the C API lets a handle move between threads but
/// be used by one thread at a time. Closed (and the name removed once no
/// live consumer is attached) when dropped.
pub struct Producer {
    raw: NonNull<sys::zinc_producer>,
    // The open claim's frame lives in the handle (the C API allows one), so
    // a WriteFrame is one pointer and moving it copies nothing.
    frame: sys::zinc_frame,
    capacity: usize,
}

// SAFETY: the C library allows a handle to be used from any thread, one
// thread at a time; `&mut self` on every state-changing call and the absence
// of `Sync` give exactly that.
unsafe impl Send for Producer {}

impl Producer {
    /// Create ring `name` (`[A-Za-z0-9_-]{1,250}`). A name whose producer is
    /// gone is replaced; a live producer is [`ErrorKind::AlreadyExists`].
    pub fn create(name: &str, cfg: &RingConfig) -> Result<Producer> {
        let cname = c_name(name)?;
        let raw_cfg = cfg.to_raw();
        let mut p = std::ptr::null_mut();
        // SAFETY: valid pointers; on success `p` is a live handle we own.
        check(unsafe { sys::zinc_producer_create(cname.as_ptr(), &raw_cfg, &mut p) })?;
        let raw = NonNull::new(p)
            .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, "create returned no handle"))?;
        Ok(Producer { raw, frame: sys::zinc_frame::default(), capacity: 0 })
    }

    /// Claim the next slot to write a frame in place. Waits up to `timeout`
    /// for EVERY consumers to free it. The frame borrows the producer, so
    /// one claim is open at a time; it is aborted if dropped unpublished.
    #[inline]
    pub fn claim<T: Into<Timeout>>(&mut self, timeout: T) -> Result<WriteFrame<'_>> {
        // SAFETY: valid handle; no claim is open (borrowck); claim fills
        // the frame on success.
        let rc = unsafe {
            sys::zinc_producer_claim(self.raw.as_ptr(), &mut self.frame, timeout.into().as_ns())
        };
        if rc != 0 {
            return Err(Error::last(rc));
        }
        self.capacity = self.frame.size as usize;
        Ok(WriteFrame { p: self })
    }

    /// Announce the stream's format, read by consumers at attach.
    pub fn set_stream(&mut self, desc: &Descriptor) -> Result<()> {
        let f = desc.to_raw();
        // SAFETY: valid handle and frame.
        check(unsafe { sys::zinc_producer_set_stream(self.raw.as_ptr(), &f) })
    }

    /// Random 64-bit id of this ring instance.
    pub fn generation(&self) -> u64 {
        // SAFETY: valid handle.
        unsafe { sys::zinc_producer_generation(self.raw.as_ptr()) }
    }

    /// Serve this anonymous ring ([`RingConfig::anonymous`]) on a Unix
    /// socket until the producer is dropped: a path (`/run/cam0.sock`) or
    /// `@name` (Linux's abstract namespace). Consumers of the same user
    /// attach with [`Consumer::connect`]. `AlreadyExists` if a live
    /// producer listens there; `InvalidArgument` for a named ring, a second
    /// listen or a bad address.
    pub fn listen<A: AsRef<OsStr>>(&mut self, address: A) -> Result<()> {
        let a = c_address(address.as_ref())?;
        // SAFETY: valid handle and C string.
        check(unsafe { sys::zinc_producer_listen(self.raw.as_ptr(), a.as_ptr()) })
    }

    /// Stop serving before the producer is dropped: nobody new connects (a
    /// path socket is removed); attached consumers carry on, and
    /// [`listen`](Self::listen) may be called again. `InvalidArgument` if
    /// not listening.
    pub fn unlisten(&mut self) -> Result<()> {
        // SAFETY: valid handle.
        check(unsafe { sys::zinc_producer_unlisten(self.raw.as_ptr()) })
    }

    /// A new descriptor of this anonymous ring (its own open file
    /// description, close-on-exec) for one consumer elsewhere: pass it on
    /// (fork, SCM_RIGHTS) and attach there with [`Consumer::open_fd`].
    /// `InvalidArgument` for a named ring.
    pub fn fd(&self) -> Result<OwnedFd> {
        // SAFETY: valid handle.
        let fd = unsafe { sys::zinc_producer_fd(self.raw.as_ptr()) };
        if fd < 0 {
            return Err(Error::last(fd));
        }
        // SAFETY: a fresh descriptor the library hands over to us.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// The page-aligned range holding every slot's payload, stable for the
    /// producer's life (`zinc_producer_mapping`): register it once with
    /// `cudaHostRegister`, `ibv_reg_mr` or `mlock`.
    ///
    /// A plain slice, unlike [`Consumer::mapping`]: only the ring's producer
    /// writes payloads (consumers never do), a live ring has one producer,
    /// and it writes only through [`claim`](Self::claim), which needs
    /// `&mut self` and so cannot run while this borrow lives (nor from
    /// another thread: `Producer` is not `Sync`).
    pub fn mapping(&self) -> &[u8] {
        let (mut base, mut len) = (std::ptr::null_mut(), 0usize);
        // SAFETY: valid handle and out-pointers.
        let rc = unsafe { sys::zinc_producer_mapping(self.raw.as_ptr(), &mut base, &mut len) };
        let (base, len) = mapping_range(rc, base, len);
        // SAFETY: `len` bytes mapped at `base` while the producer lives
        // (the borrow); nobody writes them while it lasts (see above).
        unsafe { std::slice::from_raw_parts(base, len) }
    }

    /// The C handle, for calls the safe API does not wrap. It stays owned
    /// by `self`.
    pub fn as_raw(&self) -> *mut sys::zinc_producer {
        self.raw.as_ptr()
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        // SAFETY: we own the handle; no frame borrows it (borrowck).
        unsafe { sys::zinc_producer_close(self.raw.as_ptr()) }
    }
}

impl fmt::Debug for Producer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer").field("generation", &self.generation()).finish()
    }
}

/// A claimed slot: write the payload in place ([`data_mut`](Self::data_mut)),
/// describe it, then [`publish`](Self::publish). Dropped unpublished, the
/// claim is aborted (the slot is reused by the next claim with the same seq).
pub struct WriteFrame<'p> {
    p: &'p mut Producer,
}

// Send comes with `&mut Producer`. SAFETY of Sync: `&WriteFrame` only reads
// the frame's descriptor and the slot, never calls the library.
unsafe impl Sync for WriteFrame<'_> {}

impl<'p> WriteFrame<'p> {
    /// 1-based frame number.
    #[inline]
    pub fn seq(&self) -> u64 {
        self.p.frame.seq
    }

    /// Bytes the slot can hold.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.p.capacity
    }

    /// The whole slot, to write the payload in place.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: the claim gives us `capacity` writable bytes at `data`
        // (page-aligned, non-null) until publish/abort, which consume self.
        unsafe { std::slice::from_raw_parts_mut(self.p.frame.data as *mut u8, self.p.capacity) }
    }

    /// The whole slot, read-only.
    #[inline]
    pub fn data(&self) -> &[u8] {
        // SAFETY: as data_mut.
        unsafe { std::slice::from_raw_parts(self.p.frame.data as *const u8, self.p.capacity) }
    }

    /// The slot as elements of `T` (None if the slot is not aligned for `T`).
    pub fn cast_mut<T: Element>(&mut self) -> Option<&mut [T]> {
        crate::tensor::cast_mut(self.data_mut())
    }

    /// Payload bytes to publish (checked at publish: at most the capacity).
    #[inline]
    pub fn size(&self) -> u64 {
        self.p.frame.size
    }

    #[inline]
    pub fn set_size(&mut self, size: u64) {
        self.p.frame.size = size;
    }

    /// Copy `bytes` to the start of the slot and set the size to their length.
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if bytes.len() > self.p.capacity {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!("{} bytes do not fit a {}-byte slot", bytes.len(), self.p.capacity),
            ));
        }
        self.data_mut()[..bytes.len()].copy_from_slice(bytes);
        self.p.frame.size = bytes.len() as u64;
        Ok(())
    }

    /// Capture time, CLOCK_MONOTONIC ns (0 = unknown).
    #[inline]
    pub fn set_timestamp_ns(&mut self, ns: u64) {
        self.p.frame.timestamp_ns = ns;
    }

    #[inline]
    pub fn set_fourcc(&mut self, fourcc: u32) {
        self.p.frame.fourcc = fourcc;
    }

    /// The producer's flags (`ZINC_FRAME_KEYFRAME`, ...; low 16 bits).
    #[inline]
    pub fn set_flags(&mut self, flags: u32) {
        self.p.frame.flags = flags;
    }

    /// The 64 bytes the library carries without looking at them.
    #[inline]
    pub fn user_mut(&mut self) -> &mut [u8; sys::ZINC_FRAME_USER_SIZE] {
        &mut self.p.frame.user
    }

    /// Element type, shape and byte strides of the payload (checked at
    /// publish against the size).
    #[inline]
    pub fn set_tensor(&mut self, t: &Tensor) {
        self.p.frame.tensor = *t.as_raw();
    }

    /// Describe a packed image (tensor, fourcc and size).
    pub fn set_image(&mut self, fourcc: u32, width: u32, height: u32) -> Result<()> {
        self.p.frame.size = self.p.capacity as u64;
        // SAFETY: a valid pointer to our frame.
        check(unsafe { sys::zinc_frame_set_image(&mut self.p.frame, fourcc, width, height) })
    }

    /// Describe an `n` x `k` float32 point cloud.
    pub fn set_points(&mut self, n: u64, k: u32) -> Result<()> {
        self.p.frame.size = self.p.capacity as u64;
        // SAFETY: a valid pointer to our frame.
        check(unsafe { sys::zinc_frame_set_points(&mut self.p.frame, n, k) })
    }

    /// Publish the frame to every consumer; returns its seq. On failure
    /// (size above the capacity, a tensor that does not fit) the claim is
    /// aborted.
    #[inline]
    pub fn publish(self) -> Result<u64> {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: the claimed frame of this handle.
        let rc = unsafe { sys::zinc_producer_publish(this.p.raw.as_ptr(), &mut this.p.frame) };
        if rc == 0 {
            return Ok(this.p.frame.seq);
        }
        let e = Error::last(rc);
        // SAFETY: the claim is still open after a failed publish.
        unsafe { sys::zinc_producer_abort(this.p.raw.as_ptr(), &mut this.p.frame) };
        Err(e)
    }

    /// Give the slot up without publishing (what dropping does).
    pub fn abort(self) {
        drop(self)
    }

    /// The C frame, for calls the safe API does not wrap.
    pub fn as_raw(&self) -> &sys::zinc_frame {
        &self.p.frame
    }
}

impl Drop for WriteFrame<'_> {
    fn drop(&mut self) {
        // SAFETY: the claim is open (publish does not run this).
        unsafe { sys::zinc_producer_abort(self.p.raw.as_ptr(), &mut self.p.frame) };
    }
}

impl fmt::Debug for WriteFrame<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteFrame")
            .field("seq", &self.p.frame.seq)
            .field("size", &self.p.frame.size)
            .field("capacity", &self.p.capacity)
            .finish()
    }
}

// ---- Consumer ------------------------------------------------------------------

/// A consumer attached to a ring in one [`Mode`].
///
/// `Send` but not `Sync`, as [`Producer`]. Detached when dropped.
pub struct Consumer {
    raw: NonNull<sys::zinc_consumer>,
    // The held frame's descriptor lives in the handle (one at a time, as
    // the C API), so a ReadFrame is one pointer and moving it copies nothing.
    frame: sys::zinc_frame,
}

// SAFETY: as for Producer.
unsafe impl Send for Consumer {}

impl Consumer {
    /// Own the handle an attaching call made (`rc` is its code).
    fn attached(rc: i32, c: *mut sys::zinc_consumer) -> Result<Consumer> {
        check(rc)?;
        let raw = NonNull::new(c)
            .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, "attach returned no handle"))?;
        Ok(Consumer { raw, frame: sys::zinc_frame::default() })
    }

    /// `attach` until it succeeds, fails with a kind `retry` does not
    /// accept, or `wait` is over.
    fn attach_waiting(
        wait: Duration,
        retry: fn(ErrorKind) -> bool,
        attach: impl Fn() -> Result<Consumer>,
    ) -> Result<Consumer> {
        let start = Instant::now();
        loop {
            match attach() {
                Err(e) if retry(e.kind()) && start.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                r => return r,
            }
        }
    }

    /// Attach to ring `name` in `mode`.
    pub fn open(name: &str, mode: Mode) -> Result<Consumer> {
        let cname = c_name(name)?;
        let mut c = std::ptr::null_mut();
        // SAFETY: valid pointers; on success `c` is a live handle we own.
        let rc = unsafe { sys::zinc_consumer_open(cname.as_ptr(), mode.raw(), &mut c) };
        Consumer::attached(rc, c)
    }

    /// [`open`](Self::open), retrying for up to `wait` while the ring does
    /// not exist yet or is still being created. Like examples/common.c, it
    /// also retries `ProducerGone`: a name left by a producer that died
    /// creating it (the next producer replaces it) looks the same as one
    /// whose creator has not taken its liveness lock yet.
    pub fn open_wait(name: &str, mode: Mode, wait: Duration) -> Result<Consumer> {
        Consumer::attach_waiting(
            wait,
            |k| matches!(k, ErrorKind::NotFound | ErrorKind::WouldBlock | ErrorKind::ProducerGone),
            || Consumer::open(name, mode),
        )
    }

    /// Attach to the sealed anonymous ring served on `address` (a path, or
    /// `@name`) by a producer of this user ([`Producer::listen`]). Errors:
    /// `NotFound` (nobody listens), `PermissionDenied` (the peer is another
    /// user), `Corrupted` (not a zinc listener, or a descriptor that is not
    /// a sealed ring), `WouldBlock` (the listener's backlog is full),
    /// `TimedOut` (no answer within 2 s), and those of [`open`](Self::open).
    pub fn connect<A: AsRef<OsStr>>(address: A, mode: Mode) -> Result<Consumer> {
        let a = c_address(address.as_ref())?;
        let mut c = std::ptr::null_mut();
        // SAFETY: valid pointers; on success `c` is a live handle we own.
        let rc = unsafe { sys::zinc_consumer_connect(a.as_ptr(), mode.raw(), &mut c) };
        Consumer::attached(rc, c)
    }

    /// [`connect`](Self::connect), retrying for up to `wait` while nobody
    /// listens on `address` yet or its backlog is full.
    pub fn connect_wait<A: AsRef<OsStr>>(
        address: A,
        mode: Mode,
        wait: Duration,
    ) -> Result<Consumer> {
        let address = address.as_ref();
        Consumer::attach_waiting(
            wait,
            |k| matches!(k, ErrorKind::NotFound | ErrorKind::WouldBlock),
            || Consumer::connect(address, mode),
        )
    }

    /// Attach to the anonymous ring open on `fd` (from [`Producer::fd`] in
    /// another process, or [`ring_connect`]). The descriptor stays the
    /// caller's. No uid is checked (whoever handed it over vouched for
    /// it); the seals are (`Corrupted`).
    pub fn open_fd<F: AsFd>(fd: F, mode: Mode) -> Result<Consumer> {
        let mut c = std::ptr::null_mut();
        // SAFETY: a valid out-pointer; the descriptor is only read.
        let rc = unsafe { sys::zinc_consumer_open_fd(fd.as_fd().as_raw_fd(), mode.raw(), &mut c) };
        Consumer::attached(rc, c)
    }

    /// The next frame for this consumer's mode, waiting up to `timeout`.
    /// The frame borrows the consumer: one frame is held at a time, and it
    /// cannot outlive the consumer. Errors: `WouldBlock` (nothing, with
    /// [`Timeout::Poll`]), `TimedOut`, `ProducerGone` (and nothing left),
    /// `Corrupted`.
    #[inline]
    pub fn acquire<T: Into<Timeout>>(&mut self, timeout: T) -> Result<ReadFrame<'_>> {
        // SAFETY: valid handle; no frame is held (borrowck). On failure the
        // frame's contents are unspecified but still plain integers.
        let rc = unsafe {
            sys::zinc_consumer_acquire(self.raw.as_ptr(), &mut self.frame, timeout.into().as_ns())
        };
        if rc != 0 {
            return Err(Error::last(rc));
        }
        Ok(ReadFrame { c: self })
    }

    /// The next frame if one is there now, `None` if not (no wait, and no
    /// error message copied: the polling path).
    #[inline]
    pub fn try_acquire(&mut self) -> Result<Option<ReadFrame<'_>>> {
        // SAFETY: as acquire.
        let rc = unsafe { sys::zinc_consumer_acquire(self.raw.as_ptr(), &mut self.frame, 0) };
        match rc {
            0 => Ok(Some(ReadFrame { c: self })),
            sys::ZINC_EAGAIN => Ok(None),
            _ => Err(Error::last(rc)),
        }
    }

    /// The stream description the producer set, `None` if it set none.
    pub fn stream(&self) -> Result<Option<Descriptor>> {
        let mut f = sys::zinc_frame::default();
        // SAFETY: valid handle and frame.
        match unsafe { sys::zinc_consumer_stream(self.raw.as_ptr(), &mut f) } {
            0 => Ok(Some(Descriptor::from_raw(&f))),
            sys::ZINC_EAGAIN => Ok(None),
            rc => Err(Error::last(rc)),
        }
    }

    /// The ring's geometry as created.
    pub fn config(&self) -> RingConfig {
        let mut c = sys::zinc_ring_config::default();
        // SAFETY: valid handle and struct; cannot fail for a live handle.
        unsafe { sys::zinc_consumer_config(self.raw.as_ptr(), &mut c) };
        RingConfig::from_raw(&c)
    }

    pub fn generation(&self) -> u64 {
        // SAFETY: valid handle.
        unsafe { sys::zinc_consumer_generation(self.raw.as_ptr()) }
    }

    /// The mode in force: `Lossy` after an EVERY consumer was demoted.
    pub fn mode(&self) -> Mode {
        // SAFETY: valid handle.
        Mode::from_raw(unsafe { sys::zinc_consumer_mode(self.raw.as_ptr()) })
    }

    /// A descriptor for poll/epoll/select (`zinc_consumer_fd`), owned by the
    /// consumer (closed when it is dropped): readable whenever
    /// `acquire(Timeout::Poll)` would answer something other than
    /// `WouldBlock` (a frame, the producer gone, corruption), and until
    /// `acquire` has answered `WouldBlock` (level-triggered): after each
    /// readiness, take frames with [`try_acquire`](Self::try_acquire) until
    /// `Ok(None)`. Made at the first call (one sleeping helper thread per
    /// consumer), the same one afterwards; fails only when the system is
    /// out of descriptors or memory. Once it succeeded, the [`AsFd`] and
    /// [`AsRawFd`] impls give the same descriptor and cannot fail.
    pub fn fd(&self) -> Result<BorrowedFd<'_>> {
        // SAFETY: valid handle; one thread uses it (Consumer is not Sync),
        // and no frame is held while `&self` exists (a ReadFrame borrows the
        // consumer mutably).
        let fd = unsafe { sys::zinc_consumer_fd(self.raw.as_ptr()) };
        if fd < 0 {
            return Err(Error::last(fd));
        }
        // SAFETY: the descriptor stays open until zinc_consumer_close, which
        // only Drop calls, and the result borrows `self`.
        Ok(unsafe { BorrowedFd::borrow_raw(fd) })
    }

    /// The page-aligned range holding every slot's payload, stable for the
    /// consumer's life (`zinc_consumer_mapping`; handles of one ring in one
    /// process share it): register it once with `cudaHostRegister`,
    /// `ibv_reg_mr` or `mlock`. A [`Mapping`], not a slice: the producer
    /// writes these bytes while you look. Read frames through
    /// [`acquire`](Self::acquire), which checks them.
    pub fn mapping(&self) -> Mapping<'_> {
        let (mut base, mut len) = (std::ptr::null_mut(), 0usize);
        // SAFETY: valid handle and out-pointers.
        let rc = unsafe { sys::zinc_consumer_mapping(self.raw.as_ptr(), &mut base, &mut len) };
        let (base, len) = mapping_range(rc, base, len);
        Mapping { base, len, _consumer: PhantomData }
    }

    /// The C handle, for calls the safe API does not wrap.
    pub fn as_raw(&self) -> *mut sys::zinc_consumer {
        self.raw.as_ptr()
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        // SAFETY: we own the handle; no frame borrows it (borrowck).
        unsafe { sys::zinc_consumer_close(self.raw.as_ptr()) }
    }
}

/// The consumer's own descriptor ([`Consumer::fd`]), borrowed.
///
/// # Panics
///
/// If the descriptor cannot be made (the process is out of descriptors or
/// memory). Call [`Consumer::fd`] once first to get that as an error; after
/// it succeeded this never fails.
impl AsFd for Consumer {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self.fd() {
            Ok(fd) => fd,
            Err(e) => panic!("zinc::Consumer::as_fd: {}", e),
        }
    }
}

/// As [`AsFd`]: the consumer keeps the descriptor and closes it when it is
/// dropped; never close it yourself.
impl AsRawFd for Consumer {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

impl fmt::Debug for Consumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("mode", &self.mode())
            .field("generation", &self.generation())
            .finish()
    }
}

/// A frame held by a consumer, read in place in shared memory. Released
/// when dropped; [`release`](Self::release) also says whether the frame
/// stayed intact while it was held.
///
/// The payload is shared memory that a producer lapping this consumer may
/// overwrite meanwhile (a LOSSY/LATEST consumer, or a demoted one): read it,
/// then call `release` and discard the result on [`Torn`] — the seqlock
/// contract of the C API, which is never told a torn frame is good.
pub struct ReadFrame<'c> {
    c: &'c mut Consumer,
}

// Send comes with `&mut Consumer`. SAFETY of Sync: `&ReadFrame` only reads
// the copied descriptor and the payload, never calls the library, so
// several threads may read one frame.
unsafe impl Sync for ReadFrame<'_> {}

impl<'c> ReadFrame<'c> {
    /// The payload: `size` bytes in the slot.
    #[inline]
    pub fn data(&self) -> &[u8] {
        let len = self.c.frame.size as usize;
        if len == 0 {
            return &[];
        }
        // SAFETY: the library checked size <= slot size before handing the
        // frame out; the slot stays mapped while the consumer lives, which
        // outlives 'c and so this borrow.
        unsafe { std::slice::from_raw_parts(self.c.frame.data as *const u8, len) }
    }

    /// The payload as elements of `T` (None if misaligned or the size is not
    /// a multiple of `T`'s).
    pub fn cast<T: Element>(&self) -> Option<&[T]> {
        crate::tensor::cast(self.data())
    }

    /// 1-based frame number.
    #[inline]
    pub fn seq(&self) -> u64 {
        self.c.frame.seq
    }

    #[inline]
    pub fn size(&self) -> u64 {
        self.c.frame.size
    }

    /// The producer's capture time, CLOCK_MONOTONIC ns (0 = unknown).
    #[inline]
    pub fn timestamp_ns(&self) -> u64 {
        self.c.frame.timestamp_ns
    }

    /// CLOCK_MONOTONIC at publish (0 on a ring without timestamps).
    #[inline]
    pub fn publish_ns(&self) -> u64 {
        self.c.frame.publish_ns
    }

    /// Frames skipped since this consumer's previous frame.
    #[inline]
    pub fn dropped(&self) -> u64 {
        self.c.frame.dropped
    }

    #[inline]
    pub fn fourcc(&self) -> u32 {
        self.c.frame.fourcc
    }

    #[inline]
    pub fn flags(&self) -> u32 {
        self.c.frame.flags
    }

    pub fn is_end_of_stream(&self) -> bool {
        self.c.frame.flags & sys::ZINC_FRAME_END_OF_STREAM != 0
    }

    /// This EVERY consumer was demoted to LOSSY (it kept the producer
    /// waiting longer than the ring's `demote_after`).
    pub fn is_demoted(&self) -> bool {
        self.c.frame.flags & sys::ZINC_FRAME_DEMOTED != 0
    }

    #[inline]
    pub fn user(&self) -> &[u8; sys::ZINC_FRAME_USER_SIZE] {
        &self.c.frame.user
    }

    /// Element type, shape and byte strides (ndim 0: raw bytes). Checked by
    /// the library to lie within the payload.
    #[inline]
    pub fn tensor(&self) -> Tensor {
        Tensor::from_raw(self.c.frame.tensor)
    }

    pub fn descriptor(&self) -> Descriptor {
        Descriptor::from_raw(&self.c.frame)
    }

    /// Give the frame back. `Err(Torn)`: it was overwritten while held, so
    /// whatever was computed from it must be discarded.
    #[inline]
    pub fn release(self) -> std::result::Result<(), Torn> {
        let this = ManuallyDrop::new(self);
        // SAFETY: the frame this handle holds, released once (self is consumed).
        let rc = unsafe { sys::zinc_consumer_release(this.c.raw.as_ptr(), &this.c.frame) };
        if rc == 0 {
            Ok(())
        } else {
            // Only -75 can come back for the held frame; any failure means
            // the frame cannot be vouched for.
            debug_assert_eq!(rc, sys::ZINC_EOVERFLOW);
            Err(Torn { seq: this.c.frame.seq })
        }
    }

    /// The C frame, for calls the safe API does not wrap.
    pub fn as_raw(&self) -> &sys::zinc_frame {
        &self.c.frame
    }
}

impl Drop for ReadFrame<'_> {
    fn drop(&mut self) {
        // SAFETY: the held frame, released once. A torn result is counted by
        // the library (ring stats); there is nobody to tell it to here.
        unsafe { sys::zinc_consumer_release(self.c.raw.as_ptr(), &self.c.frame) };
    }
}

impl fmt::Debug for ReadFrame<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadFrame")
            .field("seq", &self.c.frame.seq)
            .field("size", &self.c.frame.size)
            .field("dropped", &self.c.frame.dropped)
            .field("fourcc", &crate::fourcc_str(self.c.frame.fourcc))
            .field("tensor", &self.tensor())
            .finish()
    }
}

// ---- Waiting on several rings ------------------------------------------------------

/// Wait until one of `consumers` (1..128, of any rings) has something for
/// `acquire` — a frame, its producer gone, corruption — and return its
/// index (`zinc_wait_any`). When several are ready, the one returned least
/// recently comes first, so none is starved.
///
/// The slice holds the consumers exclusively (`&mut [&mut Consumer]`, or a
/// `&mut [Consumer]` such as a `Vec`'s): no frame of theirs can be held
/// meanwhile (a held frame would count as ready at once), and no other
/// thread can use them. Errors: `WouldBlock` ([`Timeout::Poll`], none
/// ready), `TimedOut`, `Interrupted` (a signal handler ran: retry, or stop
/// if it asked for it), `InvalidArgument` (no consumer, or more than 128).
///
/// ```no_run
/// # fn f(cam: &mut zinc::Consumer, lidar: &mut zinc::Consumer) -> zinc::Result<()> {
/// let i = zinc::wait_any(&mut [&mut *cam, &mut *lidar], std::time::Duration::from_millis(100))?;
/// # Ok(()) }
/// ```
pub fn wait_any<C, T>(consumers: &mut [C], timeout: T) -> Result<usize>
where
    C: BorrowMut<Consumer>,
    T: Into<Timeout>,
{
    const MAX: usize = 128; // zinc_wait_any's limit
    let n = consumers.len();
    if n > MAX {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("wait_any: {} consumers, at most {}", n, MAX),
        ));
    }
    // Not zeroed: only the first n are written and read (a hot path).
    // SAFETY: an array of MaybeUninit needs no initialisation.
    let mut raw: [MaybeUninit<*mut sys::zinc_consumer>; MAX] =
        unsafe { MaybeUninit::uninit().assume_init() };
    for (r, c) in raw.iter_mut().zip(consumers.iter_mut()) {
        r.write(c.borrow_mut().raw.as_ptr());
    }
    // SAFETY: the first n entries are live handles, held exclusively by the
    // borrow of `consumers` for the call.
    let rc = unsafe {
        sys::zinc_wait_any(
            raw.as_ptr() as *const *mut sys::zinc_consumer,
            n as u32,
            timeout.into().as_ns(),
        )
    };
    if rc < 0 {
        Err(Error::last(rc))
    } else {
        Ok(rc as usize)
    }
}

// ---- Observability ---------------------------------------------------------------

/// Where a ring's producer stands (`zinc_ring_stats.producer_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProducerState {
    /// Being created; not yet open to consumers.
    Creating,
    /// Publishing, or dead: `ring.producer_alive` tells.
    Open,
    /// Closed by its producer or a replacement.
    Closed,
}

/// A ring's counters and its consumer entries, read without attaching.
/// `ring.owner_uid` is the owner of its shared memory; `ring.foreign` is 1
/// when that uid is not trusted here (another user, not listed in
/// `ZINC_TRUST_UID`): every attaching call refuses such a ring.
#[derive(Clone, Debug)]
pub struct RingStats {
    pub ring: sys::zinc_ring_stats,
    pub consumers: Vec<sys::zinc_consumer_stats>,
}

impl RingStats {
    /// The producer's state; `None` for a value this crate does not know.
    pub fn producer_state(&self) -> Option<ProducerState> {
        match self.ring.producer_state {
            sys::ZINC_PRODUCER_CREATING => Some(ProducerState::Creating),
            sys::ZINC_PRODUCER_OPEN => Some(ProducerState::Open),
            sys::ZINC_PRODUCER_CLOSED => Some(ProducerState::Closed),
            _ => None,
        }
    }

    fn read(
        read: impl FnOnce(
            *mut sys::zinc_ring_stats,
            *mut sys::zinc_consumer_stats,
            u32,
            *mut u32,
        ) -> i32,
    ) -> Result<RingStats> {
        let mut rs = sys::zinc_ring_stats::default();
        let mut cs =
            vec![sys::zinc_consumer_stats::default(); sys::ZINC_RING_MAX_CONSUMERS as usize];
        let mut n = 0u32;
        check(read(&mut rs, cs.as_mut_ptr(), cs.len() as u32, &mut n))?;
        cs.truncate(n as usize);
        Ok(RingStats { ring: rs, consumers: cs })
    }
}

/// Read ring `name`'s counters (`zinc_ring_stats_read`).
pub fn ring_stats(name: &str) -> Result<RingStats> {
    let cname = c_name(name)?;
    RingStats::read(|rs, cs, cap, n| {
        // SAFETY: `cs` has room for `cap` entries; valid pointers.
        unsafe { sys::zinc_ring_stats_read(cname.as_ptr(), rs, cs, cap, n) }
    })
}

/// The counters of the anonymous ring open on `fd` (from [`ring_connect`]
/// or [`Producer::fd`]); `Corrupted` if it is not a sealed ring.
pub fn ring_stats_fd<F: AsFd>(fd: F) -> Result<RingStats> {
    let fd = fd.as_fd().as_raw_fd();
    RingStats::read(|rs, cs, cap, n| {
        // SAFETY: as ring_stats; the descriptor is only read.
        unsafe { sys::zinc_ring_stats_read_fd(fd, rs, cs, cap, n) }
    })
}

/// The checked descriptor of the anonymous ring served on `address`,
/// without attaching (`zinc_ring_connect`): for [`ring_stats_fd`] and
/// [`inspect_fd`](crate::inspect_fd), or to hand on. Errors as
/// [`Consumer::connect`].
pub fn ring_connect<A: AsRef<OsStr>>(address: A) -> Result<OwnedFd> {
    let a = c_address(address.as_ref())?;
    // SAFETY: a valid C string.
    let fd = unsafe { sys::zinc_ring_connect(a.as_ptr()) };
    if fd < 0 {
        return Err(Error::last(fd));
    }
    // SAFETY: a fresh descriptor the library hands over to us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The directory where listening producers register their addresses (one
/// symbolic link each, for `zinc ls`): `$ZINC_RUNTIME_DIR`, else
/// `$XDG_RUNTIME_DIR/zinc`, else `/tmp/zinc-<euid>`.
pub fn socket_registry() -> Result<PathBuf> {
    let mut buf = [0 as std::os::raw::c_char; 4096];
    // SAFETY: a buffer of that length.
    check(unsafe { sys::zinc_socket_registry(buf.as_mut_ptr(), buf.len()) })?;
    // SAFETY: the library wrote a NUL-terminated string into it.
    let s = unsafe { CStr::from_ptr(buf.as_ptr()) };
    Ok(PathBuf::from(OsStr::from_bytes(s.to_bytes())))
}

/// Remove ring `name` if its producer is gone (closed, dead, half-made).
pub fn remove_stale(name: &str) -> Result<()> {
    let cname = c_name(name)?;
    // SAFETY: a valid C string.
    check(unsafe { sys::zinc_ring_remove_stale(cname.as_ptr()) })
}
