// SPDX-License-Identifier: MIT
//! Zinc regions: a named shared-memory area with a notification counter
//! (upstream Zinc's C ABI, docs/region.md).

use std::ffi::c_void;
use std::fmt;
use std::os::unix::io::{AsFd, AsRawFd};
use std::ptr::NonNull;
use std::time::Instant;

use zinc_sys as sys;

use crate::error::{check, Error, ErrorKind, Result};
use crate::ring::{c_name, Timeout};

/// Options of [`Region::create_with`] (`zinc_create_opts`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegionOptions {
    /// 1 (or 0): data at byte 64, as upstream; 2: data at one page.
    pub layout_version: u32,
    /// Replace a name whose owner is gone; a live owner is still an error.
    pub replace_stale: bool,
    /// Populate the mapping at create.
    pub prefault: bool,
    /// Mode 0660 instead of 0600, for users of the creator's group who
    /// trust its uid (`ZINC_CREATE_GROUP_ACCESS`; they list it in
    /// `ZINC_TRUST_UID`).
    pub group_access: bool,
}

/// A handle of a Zinc region. `Send` but not `Sync` (one thread at a time
/// per handle, as the C API). Closed when dropped; the name is removed when
/// the owner has closed and no other handle remains.
///
/// The data area is shared with other processes, which may write it at any
/// time: it is reached through [`as_ptr`](Self::as_ptr), and the slice
/// views are `unsafe` (the caller vouches that nobody writes meanwhile).
pub struct Region {
    h: NonNull<c_void>,
}

// SAFETY: the C library allows a handle to be used from any thread, one at a
// time; Region is not Sync.
unsafe impl Send for Region {}

impl Region {
    /// Create region `name` with `capacity` data bytes (a page multiple).
    pub fn create(name: &str, capacity: usize) -> Result<Region> {
        Region::create_with(name, capacity, &RegionOptions::default())
    }

    pub fn create_with(name: &str, capacity: usize, opts: &RegionOptions) -> Result<Region> {
        let cname = c_name(name)?;
        let mut flags = 0;
        if opts.replace_stale {
            flags |= sys::ZINC_CREATE_REPLACE_STALE;
        }
        if opts.prefault {
            flags |= sys::ZINC_CREATE_PREFAULT;
        }
        if opts.group_access {
            flags |= sys::ZINC_CREATE_GROUP_ACCESS;
        }
        let o =
            sys::zinc_create_opts { layout_version: opts.layout_version, flags, reserved: [0; 6] };
        let mut h = std::ptr::null_mut();
        // SAFETY: valid pointers; on success `h` is a handle we own.
        check(unsafe { sys::zinc_create_ex(cname.as_ptr(), capacity, &o, &mut h) })?;
        Region::own(h)
    }

    /// Open an existing region (or a ring's region, read-only use advised).
    pub fn open(name: &str) -> Result<Region> {
        let cname = c_name(name)?;
        let mut h = std::ptr::null_mut();
        // SAFETY: as create.
        check(unsafe { sys::zinc_open(cname.as_ptr(), &mut h) })?;
        Region::own(h)
    }

    fn own(h: sys::ZincHandle) -> Result<Region> {
        NonNull::new(h)
            .map(|h| Region { h })
            .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, "no handle returned"))
    }

    /// Usable data bytes.
    pub fn capacity(&self) -> usize {
        // SAFETY: valid handle.
        unsafe { sys::zinc_capacity(self.h.as_ptr()) }
    }

    /// Layout version: 1 (data at 64) or 2 (data at one page).
    pub fn layout(&self) -> u32 {
        // SAFETY: valid handle.
        unsafe { sys::zinc_layout(self.h.as_ptr()) }
    }

    /// First data byte; `capacity()` bytes follow, mapped as long as `self`.
    pub fn as_ptr(&self) -> *mut u8 {
        // SAFETY: valid handle.
        unsafe { sys::zinc_ptr(self.h.as_ptr()) }
    }

    /// The data area as a slice.
    ///
    /// # Safety
    /// No process may write the area while the slice lives.
    pub unsafe fn as_slice(&self) -> &[u8] {
        std::slice::from_raw_parts(self.as_ptr(), self.capacity())
    }

    /// The data area as a mutable slice.
    ///
    /// # Safety
    /// No other process or handle may read or write the area while the
    /// slice lives.
    pub unsafe fn as_mut_slice(&mut self) -> &mut [u8] {
        std::slice::from_raw_parts_mut(self.as_ptr(), self.capacity())
    }

    /// Bump the notification counter and wake every waiter, in any process.
    pub fn notify(&self) {
        // SAFETY: valid handle.
        unsafe { sys::zinc_notify(self.h.as_ptr()) }
    }

    /// Wait for a notification (they coalesce): `Ok(true)` when one was
    /// pending (consumed), `Ok(false)` on timeout.
    pub fn wait<T: Into<Timeout>>(&mut self, timeout: T) -> Result<bool> {
        let timeout = timeout.into();
        let start = Instant::now();
        loop {
            // zinc_wait takes u32 ms (no "forever"): wait in slices.
            let ms = match timeout {
                Timeout::Poll => 0,
                Timeout::Forever => u32::MAX - 1,
                Timeout::After(d) => {
                    let left = d.saturating_sub(start.elapsed());
                    let ms = (left.as_nanos() + 999_999) / 1_000_000;
                    ms.min((u32::MAX - 1) as u128) as u32
                }
            };
            // SAFETY: valid handle.
            match unsafe { sys::zinc_wait(self.h.as_ptr(), ms) } {
                0 => return Ok(true),
                sys::ZINC_ETIMEDOUT => {
                    let more = match timeout {
                        Timeout::Forever => true,
                        Timeout::After(d) => start.elapsed() < d && ms > 0,
                        Timeout::Poll => false,
                    };
                    if !more {
                        return Ok(false);
                    }
                }
                rc => return Err(Error::last(rc)),
            }
        }
    }

    /// Consume a pending notification: `true` if there was one.
    pub fn try_wait(&mut self) -> Result<bool> {
        // SAFETY: valid handle.
        match unsafe { sys::zinc_try_wait(self.h.as_ptr()) } {
            0 => Ok(true),
            sys::ZINC_EAGAIN => Ok(false),
            rc => Err(Error::last(rc)),
        }
    }

    /// A snapshot of the region's header.
    pub fn info(&self) -> Result<sys::zinc_region_info> {
        let mut i = sys::zinc_region_info::default();
        // SAFETY: valid handle and struct.
        check(unsafe { sys::zinc_region_info_get(self.h.as_ptr(), &mut i) })?;
        Ok(i)
    }

    /// The C handle, for calls the safe API does not wrap.
    pub fn as_raw(&self) -> sys::ZincHandle {
        self.h.as_ptr()
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: we own the handle.
        unsafe { sys::zinc_close(self.h.as_ptr()) }
    }
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Region")
            .field("capacity", &self.capacity())
            .field("layout", &self.layout())
            .finish()
    }
}

/// Inspect region `name` without opening it. `owner_uid` is the object's
/// owner; `foreign` is 1 when that uid is not trusted here (another user,
/// not listed in `ZINC_TRUST_UID`): every attaching call refuses it.
pub fn inspect(name: &str) -> Result<sys::zinc_region_info> {
    let cname = c_name(name)?;
    let mut i = sys::zinc_region_info::default();
    // SAFETY: valid pointers.
    check(unsafe { sys::zinc_inspect(cname.as_ptr(), &mut i) })?;
    Ok(i)
}

/// [`inspect`] for the object open on `fd` (an anonymous ring's, e.g. from
/// [`ring_connect`](crate::ring_connect)); `Corrupted` if it is not a region.
pub fn inspect_fd<F: AsFd>(fd: F) -> Result<sys::zinc_region_info> {
    let mut i = sys::zinc_region_info::default();
    // SAFETY: a valid out-pointer; the descriptor is only read.
    check(unsafe { sys::zinc_inspect_fd(fd.as_fd().as_raw_fd(), &mut i) })?;
    Ok(i)
}

/// Remove the name `name` whatever its state (mappings stay valid).
pub fn unlink(name: &str) -> Result<()> {
    let cname = c_name(name)?;
    // SAFETY: a valid C string.
    check(unsafe { sys::zinc_unlink(cname.as_ptr()) })
}
