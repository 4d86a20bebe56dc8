# SPDX-License-Identifier: MIT
"""Put the tables of bench/results/ into docs/benchmarks.md, between the
BEGIN/END RESULTS markers. Run by `sh scripts/bench.sh --docs`."""

import os
import re
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
R = os.path.join(ROOT, 'bench', 'results')
doc = os.path.join(ROOT, 'docs', 'benchmarks.md')
summ = open(f'{R}/summary.md').read().strip().split('\n\n')
head, lat, tp, ratios = summ[0], summ[1], summ[2], summ[3]
machine = open(f'{R}/machine.txt').read().strip()
micro = open(f'{R}/micro.md').read().strip()
sysc = open(f'{R}/syscalls.txt').read()
def grab(block):
    out = []
    for l in block.split('\n'):
        if re.search(r'zinc +(spin|sleep) +64 B|raw_syscalls|sys_enter_futex|^-- |total', l):
            out.append(l.rstrip())
    return '\n'.join(out)
run = re.search(r'run: (\S+)', machine).group(1)
body = f"""<!-- generated from bench/results by the run below; tables are median over rounds -->
## Results — run of {run}

```
{machine}
```

{head}

### Ratios against the targets of the issue

{ratios}

![latency per transport](bench-latency.png)

![throughput per transport](bench-throughput.png)

### One-way latency (ns)

{lat}

### Throughput, per-frame cost and ring options

GB/s is payload over the steady-state time (after the first 4 frames);
`ns/frame` the median interval between two frame arrivals at the consumer in
the steady state (a time slice lost to another process does not count);
`first lap` the mean interval of the first 4 frames, which take the page
faults. For `one-line` rows the GB/s column is meaningless (one line per
frame is moved): read `ns/frame`.

{tp}

### Micro-benchmarks (one thread on CPU 0, Google Benchmark)

Consumers are LOSSY and idle except the first; `mode` 0 EVERY, 1 LOSSY,
2 LATEST. CPU time is the figure to read (wall time includes other
processes' turns on the shared CPU).

{micro}

### System calls of claim+publish

`perf stat -e raw_syscalls:sys_enter,syscalls:sys_enter_futex` over a whole
harness process tree, the same run with N and then 2N frames (`n=` is the
number of frames sampled, 95 % of those sent): setup (fork, mmap, shm_open,
the harness's waits) is the same in both, so the difference is what the
extra frames cost.

```
{grab(sysc)}
```
"""
s = open(doc).read()
s = re.sub(r'<!-- BEGIN RESULTS -->.*<!-- END RESULTS -->',
           lambda m: '<!-- BEGIN RESULTS -->\n' + body + '<!-- END RESULTS -->', s, flags=re.S)
open(doc, 'w').write(s)
print('ok', run)
