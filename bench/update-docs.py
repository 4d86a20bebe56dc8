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


def huge_pages():
    """The ring options run again on a /dev/shm mounted huge=advise."""
    path = f'{R}/hugepages/summary.md'
    if not os.path.exists(path):
        return ('Not run (`unshare -m` and the mount need root): see '
                '`bench/results/hugepages.txt`.')
    blocks = open(path).read().strip().split('\n\n')
    def rows(block, keep):
        lines = block.split('\n')
        return '\n'.join(lines[:2] + [l for l in lines[2:] if keep(l)])
    tpt = rows(blocks[2], lambda l: 'throughput' in l)
    rat = rows(blocks[3], lambda l: '(options)' in l or '/ bare ring' in l)
    return f"""{blocks[0]}

{rat}

{tpt}"""



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

### Huge pages: the ring options on a /dev/shm mounted `huge=advise`

This machine's `/dev/shm` is mounted without `huge=`, where
`ZINC_RING_HUGEPAGES` cannot take effect (the rows above show it). `bench.sh`
therefore runs the ring options once more in a private mount namespace whose
`/dev/shm` is a tmpfs mounted `huge=advise` (`unshare -m`, as root): there
the flag gives 2 MiB pages (`ShmemPmdMapped` in `/proc/meminfo` covers the
ring while it lives). The bare ring's anonymous shared mapping follows the
system-wide `shmem_enabled` setting (`never` here), so it keeps small pages.

{huge_pages()}

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
