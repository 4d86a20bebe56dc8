/* SPDX-License-Identifier: MIT */
/* TSC-extrapolated CLOCK_MONOTONIC: see clock.h. */
#include "clock.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The extrapolation error is the distance from the anchor times the rate's
 * error, and the rate's error is about twice an anchor's (a few ns) over the
 * base it was measured on. So values are extrapolated no further than that
 * base, and at most 2 ms: the error stays near twice an anchor's. A sync
 * costs ~45 ns, i.e. nothing at that period. */
#define ZCLK_RESYNC_NS 2000000ull
/* The first rate is taken once the base is 20 us old, and every anchor
 * refines it as the base grows. The base moves to the latest anchor after
 * 1 s, so the rate follows NTP's slow corrections; the old rate then serves
 * until the new base is 100 ms old. */
#define ZCLK_FIRST_RATE_NS 20000ull
#define ZCLK_SETTLED_NS 100000000ull
#define ZCLK_REBASE_NS 1000000000ull

#if ZCLK_TSC
/* Whether this process may trust the TSC: only where the kernel's own
 * clocksource is "tsc" (it then checked the TSC is invariant and in step
 * across CPUs), and not with ZINC_CLOCK=vdso. Decided once per process;
 * relaxed: every thread computes the same answer. */
static int tsc_usable(void)
{
    static _Atomic int verdict; /* 0 unknown, 1 yes, -1 no */
    int v = atomic_load_explicit(&verdict, memory_order_relaxed);
    if (v)
        return v;
    v = -1;
    const char *env = getenv("ZINC_CLOCK");
    if (!env || strcmp(env, "vdso") != 0) {
        FILE *fp = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource",
                         "re");
        if (fp) {
            char buf[32] = "";
            if (fgets(buf, sizeof(buf), fp) && strcmp(buf, "tsc\n") == 0)
                v = 1;
            fclose(fp);
        }
    }
    atomic_store_explicit(&verdict, v, memory_order_relaxed);
    return v;
}

/* An anchor: CLOCK_MONOTONIC and the TSC at the same instant, bracketed by
 * two TSC reads; a bracket wider than 600 ticks (~250 ns here, where a tight
 * one is ~90: an interrupt came in between) is
 * retried. false if no tight bracket came in a few tries. */
static bool anchor(uint64_t *tsc, uint64_t *ns)
{
    for (int i = 0; i < 4; i++) {
        uint64_t a = __rdtsc();
        uint64_t t = zinc__now_ns(CLOCK_MONOTONIC);
        uint64_t b = __rdtsc();
        if (b > a && b - a < 600) {
            *tsc = a + (b - a) / 2;
            *ns = t;
            return true;
        }
    }
    return false;
}
#endif

#if ZCLK_TSC
/* Did the extrapolation from the latest anchor miss the fresh anchor by more
 * than it can when both clocks run together (1 us, plus 0.1 % of the gap for
 * NTP's slew)? */
static bool off_course(const struct zr_clock *k, uint64_t tsc, uint64_t ns)
{
    if (!k->mult)
        return false;
    uint64_t guess = k->ns1 + (uint64_t)(((zclk_u128)(tsc - k->tsc1) * k->mult) >> 32);
    uint64_t miss = guess > ns ? guess - ns : ns - guess;
    return miss > 1000 + (ns - k->ns1) / 1000;
}
#endif

uint64_t zinc__clock_sync(struct zr_clock *k)
{
#if ZCLK_TSC
    if (k->use_tsc == 0)
        k->use_tsc = (int8_t)tsc_usable();
    uint64_t tsc, ns;
    if (k->use_tsc > 0 && anchor(&tsc, &ns)) {
        if (k->tsc0 == 0 || tsc <= k->tsc1 || ns <= k->ns1 || off_course(k, tsc, ns)) {
            /* First anchor, or the TSC and CLOCK_MONOTONIC parted ways (a
             * TSC that stepped back, a suspend that stopped one and not the
             * other, a migrated VM): forget the rate and start over. */
            k->tsc0 = tsc;
            k->ns0 = ns;
            k->mult = 0;
            k->rate_span = 0;
        } else if (ns - k->ns0 >= ZCLK_FIRST_RATE_NS &&
                   ns - k->ns0 >= (k->rate_span < ZCLK_SETTLED_NS ? k->rate_span
                                                                  : ZCLK_SETTLED_NS)) {
            /* A rate from a base at least as long as the current one's (or
             * 100 ms): after a rebase the old rate serves until then. In
             * ns per tick, 32.32; plausible TSCs tick at 100 MHz..20 GHz
             * (anything else: start over from this anchor). */
            uint64_t m = (uint64_t)((((zclk_u128)(ns - k->ns0)) << 32) /
                                    (tsc - k->tsc0));
            if (m > (1ull << 32) / 20 && m < (10ull << 32)) {
                k->mult = m;
                k->rate_span = ns - k->ns0;
                uint64_t ahead = k->rate_span < ZCLK_RESYNC_NS ? k->rate_span : ZCLK_RESYNC_NS;
                k->resync_ticks = (uint64_t)(((zclk_u128)ahead << 32) / m);
            } else {
                k->mult = 0;
                k->rate_span = 0;
            }
            if (!k->mult || ns - k->ns0 >= ZCLK_REBASE_NS) {
                k->tsc0 = tsc;
                k->ns0 = ns;
            }
        }
        k->tsc1 = tsc;
        k->ns1 = ns;
    } else {
        ns = zinc__now_ns(CLOCK_MONOTONIC);
    }
#else
    uint64_t ns = zinc__now_ns(CLOCK_MONOTONIC);
#endif
    if (ns > k->last)
        k->last = ns;
    return k->last;
}
