// SPDX-License-Identifier: MIT
//! Shared by the integration tests: a ring name per test (cargo runs tests
//! as parallel threads of one process, and test binaries in sequence), and
//! helper processes driven by lines on stdin/stdout.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// A shared-memory name unique to this process and test, removed (whatever
/// is left of it) when dropped.
pub struct Name(pub String);

impl Name {
    pub fn new(test: &str) -> Name {
        let n = format!("rs{}_{}", std::process::id(), test);
        let _ = zinc::unlink(&n);
        Name(n)
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Drop for Name {
    fn drop(&mut self) {
        let _ = zinc::unlink(&self.0);
    }
}

/// A path the test script (rust/test.sh) exports; missing means the test
/// was not started through it.
pub fn env_path(var: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(p) => PathBuf::from(p),
        None => panic!(
            "{} is not set: run the Rust tests through `sh rust/test.sh` (or `meson test rust`), \
             which builds the C helpers and sets it",
            var
        ),
    }
}

/// The zinc build directory's C helper of the interop tests
/// (python/tests/py-helper.c).
pub fn c_helper() -> PathBuf {
    env_path("ZINC_PY_HELPER")
}

/// A built example program of examples/.
pub fn c_example(name: &str) -> PathBuf {
    env_path("ZINC_EXAMPLES_DIR").join(name)
}

/// A child process talked to by lines, as python/tests/conftest.py's Helper.
pub struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    what: String,
}

impl Peer {
    pub fn spawn(mut cmd: Command) -> Peer {
        let what = format!("{:?}", cmd);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {}", what, e));
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Peer { child, stdin, stdout, what }
    }

    /// The next line, which must start with `word`; its fields.
    pub fn expect(&mut self, word: &str) -> Vec<String> {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        if !line.starts_with(word) {
            let _ = self.child.kill();
            let out = self.child.wait_with_output_err();
            panic!("{} said {:?}, expected {:?}; stderr: {}", self.what, line, word, out);
        }
        line.split_whitespace().map(str::to_string).collect()
    }

    pub fn send(&mut self, line: &str) {
        let w = self.stdin.as_mut().expect("stdin still open");
        writeln!(w, "{}", line).unwrap();
        w.flush().unwrap();
    }

    /// Close stdin, wait; (success, stdout rest, stderr).
    pub fn finish(mut self) -> (bool, String, String) {
        drop(self.stdin.take());
        let mut out = String::new();
        std::io::Read::read_to_string(&mut self.stdout, &mut out).unwrap();
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            std::io::Read::read_to_string(&mut e, &mut err).unwrap();
        }
        let st = self.child.wait().unwrap();
        (st.success(), out, err)
    }
}

trait StderrText {
    fn wait_with_output_err(&mut self) -> String;
}

impl StderrText for Child {
    fn wait_with_output_err(&mut self) -> String {
        let mut err = String::new();
        if let Some(mut e) = self.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        let _ = self.wait();
        err
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// /usr/bin/python3 with the repository's python/ on its path and the
/// freshly built library.
pub fn python(script: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.arg("-c").arg(script).args(args);
    cmd.env("PYTHONPATH", env_path("ZINC_SRC_ROOT").join("python"));
    cmd.env("ZINC_LIB", env_path("ZINC_LIB"));
    cmd.env("PYTHONDONTWRITEBYTECODE", "1");
    cmd
}

/// The few libc calls the tests need (poll, epoll, signals, descriptors),
/// declared here: the crate depends on nothing but libzinc.
pub mod os {
    use std::os::raw::{c_int, c_uint, c_ulong};
    use std::time::Duration;

    #[repr(C)]
    struct PollFd {
        fd: c_int,
        events: i16,
        revents: i16,
    }

    /// `struct epoll_event`: packed on x86-64 only.
    #[cfg_attr(target_arch = "x86_64", repr(C, packed))]
    #[cfg_attr(not(target_arch = "x86_64"), repr(C))]
    #[derive(Clone, Copy, Default)]
    pub struct EpollEvent {
        pub events: u32,
        pub data: u64,
    }

    pub const EPOLLIN: u32 = 0x1;
    pub const EPOLL_CTL_ADD: c_int = 1;
    pub const EPOLL_CTL_DEL: c_int = 2;
    const EPOLL_CLOEXEC: c_int = 0o2000000;
    pub const SIGUSR1: c_int = 10;

    extern "C" {
        fn poll(fds: *mut PollFd, n: c_ulong, timeout_ms: c_int) -> c_int;
        fn epoll_create1(flags: c_int) -> c_int;
        fn epoll_ctl(ep: c_int, op: c_int, fd: c_int, ev: *mut EpollEvent) -> c_int;
        fn epoll_wait(ep: c_int, evs: *mut EpollEvent, n: c_int, timeout_ms: c_int) -> c_int;
        fn close(fd: c_int) -> c_int;
        fn dup2(old: c_int, new: c_int) -> c_int;
        fn signal(sig: c_int, handler: usize) -> usize;
        fn siginterrupt(sig: c_int, flag: c_int) -> c_int;
        fn pthread_kill(t: c_ulong, sig: c_int) -> c_int;
        #[link_name = "pthread_self"]
        fn pthread_self_raw() -> c_ulong;
        fn gettid() -> c_int;
        fn geteuid() -> c_uint;
    }

    /// Is `fd` readable within `timeout` (zero: right now)?
    pub fn readable(fd: c_int, timeout: Duration) -> bool {
        let mut p = PollFd { fd, events: 1, revents: 0 };
        loop {
            // SAFETY: one valid pollfd.
            let r = unsafe { poll(&mut p, 1, timeout.as_millis() as c_int) };
            if r < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return r == 1 && p.revents & 1 != 0;
        }
    }

    /// An epoll set, closed when dropped.
    pub struct Epoll(c_int);

    impl Epoll {
        pub fn new() -> Epoll {
            // SAFETY: no pointers.
            let ep = unsafe { epoll_create1(EPOLL_CLOEXEC) };
            assert!(ep >= 0, "epoll_create1: {}", std::io::Error::last_os_error());
            Epoll(ep)
        }
        pub fn add(&self, fd: c_int, data: u64) {
            let mut ev = EpollEvent { events: EPOLLIN, data };
            // SAFETY: a valid event.
            let r = unsafe { epoll_ctl(self.0, EPOLL_CTL_ADD, fd, &mut ev) };
            assert_eq!(r, 0, "epoll_ctl ADD: {}", std::io::Error::last_os_error());
        }
        pub fn del(&self, fd: c_int) {
            let mut ev = EpollEvent::default();
            // SAFETY: a valid event (ignored by DEL).
            unsafe { epoll_ctl(self.0, EPOLL_CTL_DEL, fd, &mut ev) };
        }
        /// The data of one ready entry, `None` after `timeout`.
        pub fn wait(&self, timeout: Duration) -> Option<u64> {
            loop {
                let mut ev = EpollEvent::default();
                // SAFETY: room for one event.
                let r = unsafe { epoll_wait(self.0, &mut ev, 1, timeout.as_millis() as c_int) };
                if r < 0
                    && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
                {
                    continue;
                }
                return if r == 1 { Some(ev.data) } else { None };
            }
        }
    }

    impl Drop for Epoll {
        fn drop(&mut self) {
            // SAFETY: our descriptor.
            unsafe { close(self.0) };
        }
    }

    /// Install `handler` for `sig` without SA_RESTART (the program wants
    /// to hear of the signal: glibc's signal() sets it, siginterrupt clears
    /// it).
    pub fn set_handler(sig: c_int, handler: extern "C" fn(c_int)) {
        // SAFETY: a valid function pointer.
        unsafe {
            signal(sig, handler as usize);
            siginterrupt(sig, 1);
        }
    }

    pub fn send_signal(thread: c_ulong, sig: c_int) {
        // SAFETY: a pthread_t of a thread not joined yet.
        unsafe { pthread_kill(thread, sig) };
    }

    pub fn pthread_self() -> c_ulong {
        // SAFETY: no arguments.
        unsafe { pthread_self_raw() }
    }

    pub fn thread_id() -> c_int {
        // SAFETY: no arguments.
        unsafe { gettid() }
    }

    pub fn euid() -> u32 {
        // SAFETY: no arguments.
        unsafe { geteuid() }
    }

    /// In a child between fork and exec: make `fd` the child's `target`.
    pub fn dup_to(fd: c_int, target: c_int) -> std::io::Result<()> {
        // SAFETY: dup2 is async-signal-safe.
        if unsafe { dup2(fd, target) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// The scheduler state of thread `tid` of this process ('S': asleep).
    pub fn thread_state(tid: c_int) -> char {
        let stat =
            std::fs::read_to_string(format!("/proc/self/task/{}/stat", tid)).unwrap_or_default();
        stat.rfind(')').and_then(|at| stat[at + 1..].trim_start().chars().next()).unwrap_or('?')
    }
}
