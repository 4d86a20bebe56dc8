#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compile tests/cpp/compile-fail.cc once per case and standard.

Usage: compile-fail.py compile-fail.cc [compiler flags...] -- COMPILER...

Case 0 (the control) must compile; every other case (`#elif CASE == N
/* expect: REGEX */`) must fail with a diagnostic matching REGEX and a
diagnostic located on one of the case's own lines, so that a case cannot
pass for the wrong reason (a missing header, a typo elsewhere). Every case
is compiled as C++17; as C++20 the control and the cases marked
`/* c++20, expect: ... */` (where the standard changes the types involved:
std::span, iteration), and every case with ZINC_LONG_TESTS=1.
"""
import os
import re
import subprocess
import sys


def main():
    args = sys.argv[1:]
    sep = args.index("--")
    src, flags, cxx = args[0], args[1:sep], args[sep + 1:]
    text = open(src, encoding="utf-8").read()
    cases, both, lines = {0: None}, {0}, {}
    marks = [(text.count("\n", 0, m.start()) + 1, m) for m in
             re.finditer(r"^#(elif CASE == (\d+) /\* (c\+\+20, )?expect: (.*?) \*/|endif)",
                         text, re.M)]
    for (line, m), (end, _) in zip(marks, marks[1:]):
        if m.group(2) is None:
            continue
        n = int(m.group(2))
        cases[n] = m.group(4)
        lines[n] = range(line + 1, end)
        if m.group(3):
            both.add(n)
    if len(cases) < 10:
        sys.exit(f"{src}: only {len(cases)} cases found")
    long_run = os.environ.get("ZINC_LONG_TESTS") == "1"
    failures = runs = 0
    for std in ("c++17", "c++20"):
        for n, expect in sorted(cases.items()):
            if std == "c++20" and n not in both and not long_run:
                continue
            runs += 1
            cmd = cxx + [f"-std={std}", "-fsyntax-only", "-Wall", "-Wextra", "-Werror",
                         f"-DCASE={n}"] + flags + [src]
            r = subprocess.run(cmd, capture_output=True, text=True)
            out = r.stdout + r.stderr
            if expect is None:
                ok = r.returncode == 0
                why = "the control case does not compile"
            else:
                name = re.escape(src.rsplit("/", 1)[-1])
                at = {int(x) for x in re.findall(name + r":(\d+):", out)}
                here = any(x in lines[n] for x in at)
                ok = r.returncode != 0 and re.search(expect, out) is not None and here
                why = ("compiled, but must not" if r.returncode == 0
                       else f"failed without a diagnostic matching /{expect}/" if not
                       re.search(expect, out) else
                       f"failed, but no diagnostic is on the case's lines {lines[n].start}-"
                       f"{lines[n].stop - 1}")
            print(f"{'ok  ' if ok else 'FAIL'} {std} case {n}" + ("" if ok else f": {why}"))
            if not ok:
                failures += 1
                print("   " + " ".join(cmd))
                print("   " + out.strip().replace("\n", "\n   ")[:3000])
    print(f"{failures} failure(s) in {runs} compilations")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
