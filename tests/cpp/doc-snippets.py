#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Turn the ```cpp blocks of docs/cpp.md into one C++ translation unit.

Usage: doc-snippets.py docs/cpp.md OUT.cc

Each block goes into a namespace of its own (doc_block_N), its #include
lines hoisted to the top. A block whose fence reads ```cpp NAME is a
program: its main() becomes doc_block_N::doc_main, listed in doc_programs[]
under NAME so that tests/cpp/test-docs.cc can run it. Blocks fenced as
```c++ are not compiled (the manual's examples of code that must not
compile).
"""
import re
import sys


def blocks(text):
    out = []
    for m in re.finditer(r"^```cpp([^\n]*)\n(.*?)^```", text, re.M | re.S):
        out.append((m.group(1).strip(), m.group(2), text.count("\n", 0, m.start()) + 2))
    return out


def main():
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f:
        text = f.read()
    found = blocks(text)
    if not found:
        sys.exit(f"{src}: no ```cpp blocks")
    includes, bodies, programs = [], [], []
    for i, (tag, body, line) in enumerate(found):
        kept = []
        for ln in body.splitlines():
            if ln.startswith("#include"):
                if ln not in includes:
                    includes.append(ln)
                kept.append("")  # keep line numbers
            else:
                kept.append(ln)
        code = "\n".join(kept)
        if tag:
            if not re.search(r"\bint main\(", code):
                sys.exit(f"{src}:{line}: block '{tag}' has no int main(")
            code = re.sub(r"\bint main\(", "int doc_main(", code)
            programs.append((tag, i))
        bodies.append(f'namespace doc_block_{i} {{\n#line {line} "docs/cpp.md"\n{code}\n}}\n')
    with open(dst, "w", encoding="utf-8") as f:
        f.write("// SPDX-License-Identifier: MIT\n")
        f.write(f"// Generated from {src} by tests/cpp/doc-snippets.py: do not edit.\n")
        f.write("\n".join(includes) + "\n\n")
        f.write("\n".join(bodies))
        f.write("\n#line 1 \"doc-snippets.cc\"\n")
        f.write("struct DocProgram { const char *name; int (*main)(int, char **); };\n")
        f.write("extern const DocProgram doc_programs[];\n")
        f.write("extern const int doc_program_count;\n")
        f.write("const DocProgram doc_programs[] = {\n")
        for tag, i in programs:
            f.write(f'    {{"{tag}", &doc_block_{i}::doc_main}},\n')
        f.write("    {nullptr, nullptr},\n};\n")
        f.write(f"const int doc_program_count = {len(programs)};\n")


if __name__ == "__main__":
    main()
