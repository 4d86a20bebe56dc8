# SPDX-License-Identifier: MIT
"""`meson install` gives a working tool and Python package: install the build
tree into a temporary DESTDIR, then run the installed `zinc --version` and
`import zinc` from there, with nothing pointing at the build tree (no
LD_LIBRARY_PATH, ZINC_LIB or PYTHONPATH). The installed tool must find the
installed library through its run path, and the package the library it was
installed with.

Run by meson (tools/meson.build) with ZINC_BUILD_ROOT, ZINC_SRC_ROOT,
ZINC_MESON and ZINC_VERSION set. Exit 77 (skip) when it cannot run here.
"""
import json
import os
import subprocess
import sys
import tempfile

TIMEOUT = 120


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


def run(args, **kw):
    r = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, **kw)
    assert r.returncode == 0, f"{args}: exit {r.returncode}\n{r.stdout}{r.stderr}"
    return r.stdout


def main():
    build, src = os.environ.get("ZINC_BUILD_ROOT"), os.environ.get("ZINC_SRC_ROOT")
    meson, version = os.environ.get("ZINC_MESON"), os.environ.get("ZINC_VERSION")
    if not (build and src and meson and version):
        skip("ZINC_BUILD_ROOT/ZINC_SRC_ROOT/ZINC_MESON/ZINC_VERSION not set: run through "
             "meson test")
    installed = json.loads(run([meson, "introspect", "--installed", build]))
    by_name = {}
    for dest in installed.values():
        by_name.setdefault(os.path.basename(dest), []).append(dest)
    tool = [d for d in by_name.get("zinc", []) if "/bin/" in d]
    init = [d for d in by_name.get("__init__.py", []) if d.endswith("/zinc/__init__.py")]
    assert len(tool) == 1 and len(init) == 1, sorted(installed.values())
    pkg_dir = os.path.dirname(init[0])
    # Every module of the package is installed, and the generated _config.py.
    mods = {f for f in os.listdir(os.path.join(src, "python", "zinc")) if f.endswith(".py")}
    assert mods | {"_config.py"} == set(by_name) & (mods | {"_config.py"}), mods

    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_LIBRARY_PATH", "LD_PRELOAD", "ZINC_LIB", "PYTHONPATH")}
    with tempfile.TemporaryDirectory(prefix="zinc-install-") as dest:
        run([meson, "install", "-C", build, "--no-rebuild", "--quiet", "--destdir", dest])
        staged_tool = dest + tool[0]

        out = run([staged_tool, "--version"], env=env)
        assert out.startswith(f"zinc {version} (Zinc C ABI 1.1)"), out
        # The loader resolved libzinc.so.0 inside the staged tree (run path),
        # not in the build tree or the system.
        ldd = run([staged_tool], env=dict(env, LD_TRACE_LOADED_OBJECTS="1"))
        line = [l for l in ldd.splitlines() if "libzinc.so.0" in l]
        assert line and f"=> {dest}/" in line[0], ldd

        probe = ("import sys, zinc; v = zinc.version(); "
                 "print(zinc.__file__, zinc.library_path, v.library, v.abi, sep='\\n')")
        out = run([sys.executable, "-c", probe], env=env, cwd=dest + os.path.dirname(pkg_dir))
        file, lib, lib_version, abi = out.splitlines()
        assert file == os.path.join(dest + pkg_dir, "__init__.py"), file
        assert lib.startswith(dest + "/") and "libzinc.so" in lib, lib
        assert lib_version == version and abi == "(1, 1)", out

    # Where `import zinc` needs no PYTHONPATH: the standard prefixes put the
    # package on the interpreter's own path.
    prefix = json.loads(run([meson, "introspect", "--buildoptions", build]))
    prefix = [o["value"] for o in prefix if o["name"] == "prefix"][0]
    if prefix in ("/usr", "/usr/local"):
        path = run([sys.executable, "-c", "import sys; print('\\n'.join(sys.path))"], env=env)
        assert os.path.dirname(pkg_dir) in path.splitlines(), (pkg_dir, path)
    print(f"installed {len(installed)} files; zinc {version} and `import zinc` work from "
          f"the staged tree")


if __name__ == "__main__":
    main()
