/* SPDX-License-Identifier: MIT */
/* A CLOCK_MONOTONIC reader for the frame hand-over path (publish_ns and the
 * consumer's latency histogram). Not installed.
 *
 * clock_gettime() through the vDSO costs ~24 ns here, most of it the
 * ordered TSC read (lfence; rdtsc), and two of them sit on the critical path
 * of every frame. Where the kernel itself uses the TSC as its clocksource,
 * this reader extrapolates from an anchor pair (TSC, CLOCK_MONOTONIC) taken
 * with clock_gettime at most ZCLK_RESYNC_NS ago, at a rate measured against
 * CLOCK_MONOTONIC, with a plain rdtsc (~10 ns, not ordered: it may run
 * alongside the loads around it). The result stays within a few tens of ns
 * of clock_gettime (docs/design.md, "Clock"); elsewhere, or with
 * ZINC_CLOCK=vdso in the environment, it is clock_gettime(CLOCK_MONOTONIC).
 *
 * One zr_clock per producer or consumer handle: those are used by one
 * thread at a time, so the state needs no synchronisation. */
#ifndef ZINC_CLOCK_H
#define ZINC_CLOCK_H

#include <stdint.h>

#include "private.h"

#if defined(__x86_64__)
#include <x86intrin.h>
#define ZCLK_TSC 1
/* 64x64->128-bit products for the fixed-point rate (GCC/Clang on x86-64) */
__extension__ typedef unsigned __int128 zclk_u128;
#else
#define ZCLK_TSC 0
#endif

struct zr_clock {
    uint64_t tsc0, ns0;     /* base anchor: the rate is measured from here */
    uint64_t tsc1, ns1;     /* latest anchor: values extrapolate from here */
    uint64_t mult;          /* ns per TSC tick, 32.32 fixed point; 0: none yet */
    uint64_t rate_span;     /* ns between the two anchors mult came from */
    uint64_t resync_ticks;  /* take a new anchor this many ticks after tsc1 */
    uint64_t last;          /* last value returned: never step back */
    int8_t use_tsc;         /* 0 unknown yet, 1 yes, -1 no */
};

/* Slow path: take an anchor (clock_gettime), update the rate, return now. */
ZINC_HIDDEN uint64_t zinc__clock_sync(struct zr_clock *k);

static inline uint64_t zinc__clock_now(struct zr_clock *k)
{
#if ZCLK_TSC
    if (likely(k->mult)) {
        uint64_t dt = __rdtsc() - k->tsc1;
        if (likely(dt < k->resync_ticks)) {
            uint64_t ns = k->ns1 + (uint64_t)(((zclk_u128)dt * k->mult) >> 32);
            if (likely(ns > k->last))
                k->last = ns;
            return k->last;
        }
    }
#endif
    return zinc__clock_sync(k);
}

#endif /* ZINC_CLOCK_H */
