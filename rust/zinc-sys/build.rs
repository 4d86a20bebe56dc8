// SPDX-License-Identifier: MIT
//! Finds libzinc. In order:
//! - `ZINC_LIB_DIR`: a directory holding libzinc.so / libzinc.a (e.g. a meson
//!   build's `src/`), linked without pkg-config;
//!   Headers: `ZINC_INCLUDE_DIRS` (colon-separated), else the system's;
//! - pkg-config `zinc`: an installed zinc, or a meson build directory when
//!   `PKG_CONFIG_PATH` holds its `meson-uninstalled/` (pkg-config then picks
//!   `zinc-uninstalled.pc`).
//!
//! `ZINC_STATIC=1` links libzinc.a instead of libzinc.so (the benchmarks do,
//! as the C micro-benchmarks do).

use std::env;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-env-changed=ZINC_LIB_DIR");
    println!("cargo:rerun-if-env-changed=ZINC_STATIC");
    println!("cargo:rerun-if-env-changed=ZINC_INCLUDE_DIRS");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    let want_static = env::var("ZINC_STATIC").map(|v| v == "1").unwrap_or(false);

    if let Ok(dir) = env::var("ZINC_LIB_DIR") {
        let lib = if want_static { "libzinc.a" } else { "libzinc.so" };
        if !Path::new(&dir).join(lib).exists() {
            panic!("ZINC_LIB_DIR={}: no {} there (build zinc with meson first)", dir, lib);
        }
        println!("cargo:rerun-if-changed={}/{}", dir, lib);
        println!("cargo:rustc-link-search=native={}", dir);
        link_kind(want_static);
        include_dirs(&env::var("ZINC_INCLUDE_DIRS").unwrap_or_default());
        return;
    }

    let mut cfg = pkg_config::Config::new();
    cfg.atleast_version("0.1.0").cargo_metadata(false);
    match cfg.probe("zinc") {
        Ok(lib) => {
            for dir in &lib.link_paths {
                println!("cargo:rustc-link-search=native={}", dir.display());
                let file = if want_static { "libzinc.a" } else { "libzinc.so" };
                println!("cargo:rerun-if-changed={}", dir.join(file).display());
            }
            let incs: Vec<String> =
                lib.include_paths.iter().map(|d| d.display().to_string()).collect();
            link_kind(want_static);
            include_dirs(&incs.join(":"));
        }
        Err(e) => panic!(
            "libzinc not found: {}\n\
             Build zinc with meson and point PKG_CONFIG_PATH at BUILD/meson-uninstalled \
             (or ZINC_LIB_DIR at BUILD/src); rust/test.sh does both.",
            e
        ),
    }
}

fn link_kind(want_static: bool) {
    if want_static {
        println!("cargo:rustc-link-lib=static=zinc");
        // libzinc.a's own dependencies (its pkg-config Libs.private).
        println!("cargo:rustc-link-lib=dylib=pthread");
        println!("cargo:rustc-link-lib=dylib=rt");
    } else {
        println!("cargo:rustc-link-lib=dylib=zinc");
    }
}

/// The C headers' directories (colon-separated), for the layout test and
/// for crates that compile C against zinc (`DEP_ZINC_INCLUDE`).
fn include_dirs(dirs: &str) {
    println!("cargo:rustc-env=ZINC_SYS_INCLUDE_DIRS={}", dirs);
    println!("cargo:include={}", dirs);
}
