// SPDX-License-Identifier: MIT
//! Errors: every zinc return code as an [`ErrorKind`], with the failing
//! call's own message (`zinc_last_error`).

use std::ffi::CStr;
use std::fmt;
use std::io;

use zinc_sys as sys;

/// What went wrong: one variant per zinc return code (`include/zinc/zinc.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// -1: the shared-memory object belongs to another user.
    PermissionDenied,
    /// -2: no region or ring of that name.
    NotFound,
    /// -4: interrupted by a signal (`ZINC_EINTR`).
    Interrupted,
    /// -11: nothing now (a zero timeout), or the ring is still being created.
    WouldBlock,
    /// -16: the ring's consumer table is full.
    Busy,
    /// -17: the name exists and its owner is alive.
    AlreadyExists,
    /// -22: invalid name, size, argument or call order.
    InvalidArgument,
    /// -28: not enough free space in /dev/shm.
    NoSpace,
    /// -32: the producer is gone (closed, dead or replaced) and nothing is left.
    ProducerGone,
    /// -74: corrupted or incompatible shared memory.
    Corrupted,
    /// -75: the frame was overwritten while it was held.
    Torn,
    /// -90: the frame is larger than its slot.
    TooLarge,
    /// -110: timed out.
    TimedOut,
    /// Any other `-errno` passed through from the system (e.g. -12, -24).
    Os(i32),
}

impl ErrorKind {
    /// The kind of a negative zinc return code.
    pub fn from_code(code: i32) -> ErrorKind {
        match code {
            sys::ZINC_EPERM => ErrorKind::PermissionDenied,
            sys::ZINC_ENOENT => ErrorKind::NotFound,
            sys::ZINC_EINTR => ErrorKind::Interrupted,
            sys::ZINC_EAGAIN => ErrorKind::WouldBlock,
            sys::ZINC_EBUSY => ErrorKind::Busy,
            sys::ZINC_EEXIST => ErrorKind::AlreadyExists,
            sys::ZINC_EINVAL => ErrorKind::InvalidArgument,
            sys::ZINC_ENOSPC => ErrorKind::NoSpace,
            sys::ZINC_EPIPE => ErrorKind::ProducerGone,
            sys::ZINC_EBADMSG => ErrorKind::Corrupted,
            sys::ZINC_EOVERFLOW => ErrorKind::Torn,
            sys::ZINC_EMSGSIZE => ErrorKind::TooLarge,
            sys::ZINC_ETIMEDOUT => ErrorKind::TimedOut,
            other => ErrorKind::Os(other),
        }
    }

    /// The negative zinc return code.
    pub fn code(self) -> i32 {
        match self {
            ErrorKind::PermissionDenied => sys::ZINC_EPERM,
            ErrorKind::NotFound => sys::ZINC_ENOENT,
            ErrorKind::Interrupted => sys::ZINC_EINTR,
            ErrorKind::WouldBlock => sys::ZINC_EAGAIN,
            ErrorKind::Busy => sys::ZINC_EBUSY,
            ErrorKind::AlreadyExists => sys::ZINC_EEXIST,
            ErrorKind::InvalidArgument => sys::ZINC_EINVAL,
            ErrorKind::NoSpace => sys::ZINC_ENOSPC,
            ErrorKind::ProducerGone => sys::ZINC_EPIPE,
            ErrorKind::Corrupted => sys::ZINC_EBADMSG,
            ErrorKind::Torn => sys::ZINC_EOVERFLOW,
            ErrorKind::TooLarge => sys::ZINC_EMSGSIZE,
            ErrorKind::TimedOut => sys::ZINC_ETIMEDOUT,
            ErrorKind::Os(code) => code,
        }
    }

    /// What the code means and what to do about it (`zinc_strerror`).
    pub fn advice(self) -> &'static str {
        strerror(self.code())
    }
}

/// A failed zinc call: its [`ErrorKind`] and the library's message for that
/// very call (`zinc_last_error`, copied before any other zinc call).
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

/// `Result<T, zinc::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error with `code` and this thread's `zinc_last_error()`. Call it
    /// right after the failing call, before any other zinc call.
    #[cold]
    #[inline(never)]
    pub fn last(code: i32) -> Error {
        // SAFETY: zinc_last_error returns a NUL-terminated string valid until
        // this thread's next zinc call; it is copied here.
        let msg = unsafe { CStr::from_ptr(sys::zinc_last_error()) };
        Error { kind: ErrorKind::from_code(code), message: msg.to_string_lossy().into_owned() }
    }

    /// An error made on the Rust side (before reaching the library).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into() }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The negative zinc code (e.g. -110).
    pub fn code(&self) -> i32 {
        self.kind.code()
    }

    /// The failing call's own message (may be empty), e.g.
    /// "consumer_open 'cam0': no such region in /dev/shm".
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What the code means and what to do about it (`zinc_strerror`).
    pub fn advice(&self) -> &'static str {
        self.kind.advice()
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("code", &self.code())
            .field("message", &self.message)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "zinc error {}: {}", self.code(), self.advice())?;
        if !self.message.is_empty() {
            write!(f, " [{}]", self.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        let kind = match e.kind {
            ErrorKind::PermissionDenied => io::ErrorKind::PermissionDenied,
            ErrorKind::NotFound => io::ErrorKind::NotFound,
            ErrorKind::Interrupted => io::ErrorKind::Interrupted,
            ErrorKind::WouldBlock => io::ErrorKind::WouldBlock,
            ErrorKind::AlreadyExists => io::ErrorKind::AlreadyExists,
            ErrorKind::InvalidArgument => io::ErrorKind::InvalidInput,
            ErrorKind::ProducerGone => io::ErrorKind::BrokenPipe,
            ErrorKind::Corrupted | ErrorKind::Torn => io::ErrorKind::InvalidData,
            ErrorKind::TimedOut => io::ErrorKind::TimedOut,
            ErrorKind::Os(code) => return io::Error::from_raw_os_error(-code),
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}

/// A frame was overwritten by the producer while it was held: whatever was
/// computed from it must be discarded. Returned by
/// [`ReadFrame::release`](crate::ReadFrame::release).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Torn {
    /// The frame's sequence number.
    pub seq: u64,
}

impl fmt::Display for Torn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "frame {} was overwritten while it was held: discard what was computed from it",
            self.seq
        )
    }
}

impl std::error::Error for Torn {}

impl From<Torn> for Error {
    fn from(t: Torn) -> Error {
        Error::new(ErrorKind::Torn, t.to_string())
    }
}

pub(crate) fn strerror(code: i32) -> &'static str {
    // SAFETY: zinc_strerror returns a static NUL-terminated string, never NULL.
    unsafe { CStr::from_ptr(sys::zinc_strerror(code)) }.to_str().unwrap_or("zinc error")
}

/// Turns a C return code into a `Result`.
#[inline]
pub(crate) fn check(rc: i32) -> Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(Error::last(rc))
    }
}
