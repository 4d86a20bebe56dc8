/* SPDX-License-Identifier: MIT */
/*
 * test-clock.c — the hand-over path's clock (src/clock.c): a TSC
 * extrapolation of CLOCK_MONOTONIC must stay next to clock_gettime, never
 * step back, and give way to clock_gettime itself with ZINC_CLOCK=vdso.
 * Each sample is bracketed by two clock_gettime reads, so a preemption
 * widens the bracket instead of failing the test.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

static uint64_t mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool kernel_uses_tsc(void)
{
    char buf[32] = "";
    FILE *fp = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "re");
    if (!fp)
        return false;
    bool tsc = fgets(buf, sizeof(buf), fp) && strcmp(buf, "tsc\n") == 0;
    fclose(fp);
    return tsc;
}

struct sweep {
    uint64_t samples, backwards;
    int64_t below, above; /* worst distance outside [before, after] */
    uint64_t extrapolated; /* samples that came from the TSC path */
};

/* Read the clock for `ns` between two clock_gettime reads, with pauses of
 * varying length so that samples land at every distance from an anchor. */
static struct sweep sweep(struct zr_clock *k, uint64_t ns)
{
    struct sweep s = { 0 };
    uint64_t start = mono(), prev = 0;
    while (mono() - start < ns) {
        uint64_t syncs_before = k->tsc1;
        uint64_t a = mono();
        uint64_t z = zinc__clock_now(k);
        uint64_t b = mono();
        if (z < prev)
            s.backwards++;
        prev = z;
        if ((int64_t)(z - a) < s.below)
            s.below = (int64_t)(z - a);
        if ((int64_t)(z - b) > s.above)
            s.above = (int64_t)(z - b);
        if (k->tsc1 == syncs_before && k->mult)
            s.extrapolated++;
        s.samples++;
        for (volatile uint64_t i = 0; i < (s.samples % 997) * 8; i++)
            ;
    }
    return s;
}

/* A fresh handle clock on the TSC path, the test skipped where there is none,
 * after `ns` of sweeping (its rate measured). */
static void tsc_clock(struct zr_clock *k, uint64_t ns)
{
    if (!ZCLK_TSC || !kernel_uses_tsc())
        cr_skip_test("the kernel's clocksource is not the TSC: clock_gettime is used as is");
    unsetenv("ZINC_CLOCK");
    memset(k, 0, sizeof(*k));
    if (ns) {
        sweep(k, ns);
        cr_assert_gt(k->mult, 0, "no rate was measured in %llu ns", (unsigned long long)ns);
    }
}

Test(clock, tracks_clock_monotonic)
{
    struct zr_clock k;
    tsc_clock(&k, 0);
    struct sweep s = sweep(&k, 300 * 1000000ull);
    cr_log_info("%llu samples, %llu extrapolated, worst %lld ns below / %lld ns above "
                "the bracket, rate %.6f ns/tick over %llu ns",
                (unsigned long long)s.samples, (unsigned long long)s.extrapolated,
                (long long)s.below, (long long)s.above, (double)k.mult / 4294967296.0,
                (unsigned long long)k.rate_span);
    cr_assert_gt(k.mult, 0, "no rate was measured in 300 ms");
    cr_expect_gt(s.extrapolated, s.samples / 2, "the TSC path served %llu of %llu samples",
                 (unsigned long long)s.extrapolated, (unsigned long long)s.samples);
    cr_expect_eq(s.backwards, 0, "the clock stepped back %llu times",
                 (unsigned long long)s.backwards);
    /* Seen here: within 71 ns. A wrong rate or anchor is off by micro- to
     * milliseconds; 1 us leaves room for a slow anchor under load. */
    cr_expect_geq(s.below, -1000, "a value %lld ns before clock_gettime", (long long)s.below);
    cr_expect_leq(s.above, 1000, "a value %lld ns after clock_gettime", (long long)s.above);
}

Test(clock, vdso_when_asked)
{
    setenv("ZINC_CLOCK", "vdso", 1);
    struct zr_clock k;
    memset(&k, 0, sizeof(k));
    struct sweep s = sweep(&k, 20 * 1000000ull);
    cr_expect_eq(k.mult, 0, "a TSC rate was measured despite ZINC_CLOCK=vdso");
    cr_expect_eq(s.extrapolated, 0);
    cr_expect_eq(s.backwards, 0);
    cr_expect_eq(s.below, 0, "a value %lld ns before clock_gettime", (long long)s.below);
    cr_expect_eq(s.above, 0, "a value %lld ns after clock_gettime", (long long)s.above);
}

/* A handle copied into another process (fork) or a TSC that jumps back
 * (a migrated VM) must not give values before earlier ones, nor stay off. */
Test(clock, survives_a_tsc_step_back)
{
    struct zr_clock k;
    tsc_clock(&k, 20 * 1000000ull);
    uint64_t before = zinc__clock_now(&k);
    /* Pretend the anchors lie in the TSC's future. */
    k.tsc0 += 1ull << 50;
    k.tsc1 += 1ull << 50;
    uint64_t after = zinc__clock_now(&k);
    cr_expect_geq(after, before);
    struct sweep s = sweep(&k, 50 * 1000000ull);
    cr_expect_gt(k.mult, 0, "no new rate after the step");
    cr_expect_eq(s.backwards, 0);
    cr_expect_geq(s.below, -1000);
    cr_expect_leq(s.above, 1000);
}

/* A suspend that stops CLOCK_MONOTONIC but not the TSC (or a migrated VM
 * whose TSC jumps ahead): the old rate must be dropped, not blended with
 * the jump into one that is off by a quarter. */
Test(clock, survives_a_tsc_jump_ahead)
{
    struct zr_clock k;
    tsc_clock(&k, 300 * 1000000ull);
    /* 100 ms of ticks that CLOCK_MONOTONIC did not see */
    uint64_t ticks = (uint64_t)(((zclk_u128)100000000ull << 32) / k.mult);
    k.tsc0 -= ticks;
    k.tsc1 -= ticks;
    struct sweep s = sweep(&k, 50 * 1000000ull);
    cr_expect_gt(k.mult, 0, "the TSC path did not come back");
    cr_expect_gt(s.extrapolated, s.samples / 2);
    cr_expect_eq(s.backwards, 0);
    cr_expect_geq(s.below, -1000, "a value %lld ns before clock_gettime", (long long)s.below);
    cr_expect_leq(s.above, 1000, "a value %lld ns after clock_gettime", (long long)s.above);
}
