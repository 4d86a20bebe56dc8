// SPDX-License-Identifier: MIT
//! Pins the Rust structs to the C headers: a C program built here with the
//! system compiler prints sizeof/offsetof of every public struct field, and
//! each must equal the Rust side's. Catches a field added, removed or
//! reordered in include/zinc/*.h but not in zinc-sys.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::mem::MaybeUninit;
use std::process::Command;
use std::ptr::addr_of;

use zinc_sys::*;

// (struct, field or "" for sizeof, value) for one struct's listed fields.
macro_rules! layout {
    ($out:ident, $s:ident { $($f:ident),* $(,)? }) => {{
        let u = MaybeUninit::<$s>::uninit();
        let base = u.as_ptr();
        $out.push((stringify!($s), "", std::mem::size_of::<$s>()));
        $(
            // SAFETY: addr_of! on a field of an uninitialised value reads nothing.
            let off = unsafe { addr_of!((*base).$f) as *const u8 as usize - base as *const u8 as usize };
            $out.push((stringify!($s), stringify!($f), off));
        )*
    }};
}

fn rust_side() -> Vec<(&'static str, &'static str, usize)> {
    let mut v = Vec::new();
    layout!(v, zinc_create_opts { layout_version, flags, reserved });
    layout!(
        v,
        zinc_region_info {
            version,
            flags,
            notify_seq,
            capacity,
            data_offset,
            file_size,
            ref_count,
            owner_pid,
            owner_alive,
            is_ring,
            created_at,
            name_hash,
            owner_uid,
            foreign,
            reserved,
        }
    );
    layout!(
        v,
        zinc_ring_config {
            slot_count,
            max_consumers,
            slot_size,
            flags,
            spin_ns,
            demote_after_ns,
            reserved,
        }
    );
    layout!(v, zinc_tensor { dtype_code, dtype_bits, dtype_lanes, ndim, offset, shape, strides });
    layout!(
        v,
        zinc_frame {
            data,
            size,
            seq,
            timestamp_ns,
            publish_ns,
            dropped,
            tensor,
            fourcc,
            flags,
            user,
            reserved,
        }
    );
    layout!(
        v,
        zinc_consumer_stats {
            index,
            mode,
            pid,
            alive,
            demoted,
            evicted,
            cursor,
            lag,
            acquired,
            released,
            dropped,
            torn,
            attached_ns,
            latency,
        }
    );
    layout!(
        v,
        zinc_ring_stats {
            generation,
            head,
            slot_count,
            max_consumers,
            slot_size,
            ring_bytes,
            producer_state,
            producer_alive,
            producer_pid,
            consumers,
            published,
            aborted,
            blocked_ns,
            blocked_claims,
            evicted,
            demoted,
            created_ns,
            last_publish_ns,
            flags,
            stream_fourcc,
            published_bytes,
            owner_uid,
            foreign,
            reserved,
        }
    );
    v.push(("zinc_delivery", "", std::mem::size_of::<zinc_delivery>()));
    v.push(("zinc_producer_state", "", std::mem::size_of::<zinc_producer_state>()));
    v
}

// Every constant zinc-sys hard-codes, with the C expression it mirrors.
macro_rules! constants {
    ($($c:ident),* $(,)?) => { vec![$((stringify!($c), $c as i64)),*] };
}

fn rust_constants() -> Vec<(&'static str, i64)> {
    constants![
        ZINC_OK,
        ZINC_EPERM,
        ZINC_ENOENT,
        ZINC_EINTR,
        ZINC_EAGAIN,
        ZINC_EBUSY,
        ZINC_EEXIST,
        ZINC_EINVAL,
        ZINC_ENOSPC,
        ZINC_EPIPE,
        ZINC_EBADMSG,
        ZINC_EOVERFLOW,
        ZINC_EMSGSIZE,
        ZINC_ETIMEDOUT,
        ZINC_NAME_MAX,
        ZINC_HEADER_SIZE,
        ZINC_CREATE_REPLACE_STALE,
        ZINC_CREATE_PREFAULT,
        ZINC_CREATE_GROUP_ACCESS,
        ZINC_EVERY,
        ZINC_LOSSY,
        ZINC_LATEST,
        ZINC_RING_PREFAULT,
        ZINC_RING_HUGEPAGES,
        ZINC_RING_NO_TIMESTAMPS,
        ZINC_RING_ANONYMOUS,
        ZINC_RING_GROUP_ACCESS,
        ZINC_RING_MAX_SLOTS,
        ZINC_RING_MAX_CONSUMERS,
        ZINC_RING_DEFAULT_CONSUMERS,
        ZINC_DTYPE_INT,
        ZINC_DTYPE_UINT,
        ZINC_DTYPE_FLOAT,
        ZINC_DTYPE_BFLOAT,
        ZINC_TENSOR_MAX_DIMS,
        ZINC_FRAME_KEYFRAME,
        ZINC_FRAME_DISCONTINUITY,
        ZINC_FRAME_END_OF_STREAM,
        ZINC_FRAME_DEMOTED,
        ZINC_FRAME_USER_SIZE,
        ZINC_FOURCC_RAW,
        ZINC_FOURCC_GREY,
        ZINC_FOURCC_RGB24,
        ZINC_FOURCC_RGBA32,
        ZINC_FOURCC_NV12,
        ZINC_FOURCC_PC32F,
        ZINC_LAT_BUCKETS,
        ZINC_PRODUCER_CREATING,
        ZINC_PRODUCER_OPEN,
        ZINC_PRODUCER_CLOSED,
    ]
}

fn c_program(items: &[(&str, &str, usize)]) -> String {
    let mut c = String::from(
        "#include <stddef.h>\n#include <stdio.h>\n#include <zinc/ring.h>\n#include <zinc/zinc.h>\n\
         int main(void)\n{\n",
    );
    for (s, f, _) in items {
        if f.is_empty() {
            writeln!(c, "    printf(\"{s} - %zu\\n\", sizeof({s}));").unwrap();
        } else {
            writeln!(c, "    printf(\"{s} {f} %zu\\n\", offsetof({s}, {f}));").unwrap();
        }
    }
    c += "    return 0;\n}\n";
    c
}

/// Compile `program` against the headers build.rs found, run it, its stdout.
fn run_c(what: &str, program: &str) -> String {
    let dir = std::env::temp_dir().join(format!("zinc-sys-{}-{}", what, std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("probe.c");
    let exe = dir.join("probe");
    std::fs::write(&src, program).unwrap();

    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let mut cmd = Command::new(&cc);
    cmd.arg("-std=c11").arg("-o").arg(&exe).arg(&src);
    // Include directories found by build.rs (pkg-config's Cflags).
    for inc in env!("ZINC_SYS_INCLUDE_DIRS").split(':').filter(|s| !s.is_empty()) {
        cmd.arg(format!("-I{}", inc));
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler '{}': {} (set CC)", cc, e));
    assert!(
        out.status.success(),
        "compiling the probe failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().expect("run the probe");
    assert!(run.status.success());
    std::fs::remove_dir_all(&dir).ok();
    String::from_utf8(run.stdout).unwrap()
}

#[test]
fn structs_match_the_c_headers() {
    let items = rust_side();
    let c_side: BTreeMap<(String, String), usize> = run_c("layout", &c_program(&items))
        .lines()
        .map(|l| {
            let mut w = l.split(' ');
            let (s, f, n) = (w.next().unwrap(), w.next().unwrap(), w.next().unwrap());
            let f = if f == "-" { "" } else { f };
            ((s.to_string(), f.to_string()), n.parse().unwrap())
        })
        .collect();
    assert_eq!(c_side.len(), items.len());
    for (s, f, rust) in items {
        let c = c_side[&(s.to_string(), f.to_string())];
        assert_eq!(rust, c, "{}.{}: Rust {} vs C {}", s, f, rust, c);
    }
}

#[test]
fn constants_match_the_c_headers() {
    let items = rust_constants();
    let mut c = String::from(
        "#include <stdio.h>\n#include <zinc/ring.h>\n#include <zinc/zinc.h>\nint main(void)\n{\n",
    );
    for (name, _) in &items {
        writeln!(c, "    printf(\"{name} %lld\\n\", (long long)({name}));").unwrap();
    }
    c += "    return 0;\n}\n";
    let out = run_c("constants", &c);
    let c_side: BTreeMap<&str, i64> = out
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap();
            (k, v.parse().unwrap())
        })
        .collect();
    assert_eq!(c_side.len(), items.len());
    for (name, rust) in items {
        assert_eq!(rust, c_side[name], "{}: Rust {} vs C {}", name, rust, c_side[name]);
    }
}

#[test]
fn the_loaded_library_has_the_headers_version() {
    let c = "#include <stdio.h>\n#include <zinc/zinc.h>\n\
             int main(void)\n{\n    puts(ZINC_VERSION_STRING);\n    return 0;\n}\n";
    let header = run_c("version", c);
    // SAFETY: a static NUL-terminated string.
    let lib = unsafe { std::ffi::CStr::from_ptr(zinc_version_string()) }.to_str().unwrap();
    assert_eq!(header.trim_end(), lib);
}

#[test]
fn constants_match_the_library() {
    // The library's own view of the fixed numbers the bindings hard-code.
    assert_eq!(unsafe { zinc_version() }, (1 << 16) | 1);
    let cfg = zinc_ring_config { slot_count: 4, slot_size: 64, ..Default::default() };
    assert!(unsafe { zinc_ring_size(&cfg) } > 0);
    let bad = zinc_ring_config { slot_count: ZINC_RING_MAX_SLOTS * 2, slot_size: 64, ..cfg };
    assert_eq!(unsafe { zinc_ring_size(&bad) }, 0);
    // zinc_strerror has its own text for every code the bindings name; a
    // code it does not know falls back to the C library's strerror.
    let codes = [
        ZINC_EPERM,
        ZINC_ENOENT,
        ZINC_EINTR,
        ZINC_EAGAIN,
        ZINC_EBUSY,
        ZINC_EEXIST,
        ZINC_EINVAL,
        ZINC_ENOSPC,
        ZINC_EPIPE,
        ZINC_EBADMSG,
        ZINC_EOVERFLOW,
        ZINC_EMSGSIZE,
        ZINC_ETIMEDOUT,
    ];
    let text =
        |c: i32| unsafe { std::ffi::CStr::from_ptr(zinc_strerror(c)) }.to_str().unwrap().to_owned();
    for c in codes {
        let libc = std::io::Error::from_raw_os_error(-c).to_string();
        let libc = libc.split(" (os error").next().unwrap();
        assert_ne!(text(c), libc, "zinc_strerror({}) falls back to strerror", c);
    }
}
