#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compile tests/cpp/compile-fail.cc once per case and standard.

Usage: compile-fail.py compile-fail.cc [compiler flags...] -- COMPILER...

Case 0 (the control) must compile; every other case (`#elif CASE == N
/* expect: REGEX */`) must fail, with a diagnostic matching REGEX, so a case
cannot pass for the wrong reason (a missing header, a typo).
"""
import re
import subprocess
import sys


def main():
    args = sys.argv[1:]
    sep = args.index("--")
    src, flags, cxx = args[0], args[1:sep], args[sep + 1:]
    text = open(src, encoding="utf-8").read()
    cases = {0: None}
    for m in re.finditer(r"#elif CASE == (\d+) /\* expect: (.*?) \*/", text):
        cases[int(m.group(1))] = m.group(2)
    if len(cases) < 10:
        sys.exit(f"{src}: only {len(cases)} cases found")
    failures = 0
    for std in ("c++17", "c++20"):
        for n, expect in sorted(cases.items()):
            cmd = cxx + [f"-std={std}", "-fsyntax-only", "-Wall", "-Wextra", "-Werror",
                         f"-DCASE={n}"] + flags + [src]
            r = subprocess.run(cmd, capture_output=True, text=True)
            out = r.stdout + r.stderr
            if expect is None:
                ok = r.returncode == 0
                why = "the control case does not compile"
            else:
                ok = r.returncode != 0 and re.search(expect, out) is not None
                why = ("compiled, but must not" if r.returncode == 0
                       else f"failed without a diagnostic matching /{expect}/")
            print(f"{'ok  ' if ok else 'FAIL'} {std} case {n}" + ("" if ok else f": {why}"))
            if not ok:
                failures += 1
                print("   " + " ".join(cmd))
                print("   " + out.strip().replace("\n", "\n   ")[:3000])
    print(f"{failures} failure(s) in {2 * len(cases)} compilations")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
