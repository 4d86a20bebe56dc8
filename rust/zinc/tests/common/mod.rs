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
