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
    v
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

#[test]
fn structs_match_the_c_headers() {
    let items = rust_side();
    let dir = std::env::temp_dir().join(format!("zinc-sys-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("layout.c");
    let exe = dir.join("layout");
    std::fs::write(&src, c_program(&items)).unwrap();

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
        "compiling the layout probe failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().expect("run the layout probe");
    assert!(run.status.success());
    std::fs::remove_dir_all(&dir).ok();

    let c_side: BTreeMap<(String, String), usize> = String::from_utf8(run.stdout)
        .unwrap()
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
