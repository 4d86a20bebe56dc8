/* SPDX-License-Identifier: MIT */
/*
 * test-ring-wake.c — wake-up promptness, asserted directly. A lost futex
 * wake-up does not hang anyone (every sleep is capped at the 50 ms liveness
 * period), so without this test it would only show as a slow ring. Here a
 * sleeper is woken N times, each time only once it is really asleep (its
 * thread blocked in the kernel, the waiter count raised), and every
 * hand-over must take well under the 50 ms cap: one that takes about the
 * cap is a lost wake-up, and the message says so.
 *
 * Both directions: a consumer asleep in acquire(-1) woken by publish (W/P
 * steps), and a producer asleep in claim(-1) on an EVERY consumer woken by
 * release (Q/R steps).
 */
#include <criterion/criterion.h>

#include <sched.h>
#include <stdatomic.h>

#include "layout.h"
#include "ring-suite.h"

TestSuite(wake, .init = ru_suite_setup, .fini = ru_suite_teardown, .timeout = 120);

#define N 20
/* Well above scheduling noise on a loaded 2-core machine, well below the
 * 50 ms at which a sleeper with a lost wake-up gets up by itself. */
#define BOUND_NS 30000000ull
/* A loaded machine may delay one hand-over past the bound; a lost wake-up
 * protocol loses them again and again. */
#define MAX_SLOW 2

struct shared {
    _Atomic uint32_t done;       /* frames the child has handled */
    _Atomic int32_t tid;         /* producer child: 1 once the ring exists */
    _Atomic int32_t err;
    uint64_t lat_ns[N];          /* per frame: asleep -> woken */
    _Atomic uint64_t t_wake[N];  /* parent: when it woke the child */
};

/* Is `pid` blocked in the kernel (state S) — for these children, only in
 * the futex of acquire or claim? */
static bool asleep(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *fp = fopen(path, "re");
    if (!fp)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] == 'S';
}

/* Wait (bounded) until `pid` sleeps with `waiters` raised in the ring. */
static void await_sleep(pid_t pid, _Atomic uint32_t *waiters)
{
    uint64_t t0 = ru_now_ns();
    while (!(atomic_load(waiters) > 0 && asleep(pid))) {
        cr_assert_lt(ru_now_ns() - t0, 10ull * 1000000000ull, "the child never went to sleep");
        sched_yield();
    }
}

static void report(struct shared *sh, const char *who)
{
    int slow = 0;
    char list[512] = "";
    for (int k = 0; k < N; k++) {
        if (sh->lat_ns[k] > BOUND_NS) {
            slow++;
            size_t l = strlen(list);
            snprintf(list + l, sizeof(list) - l, " #%d %.1f ms", k,
                     (double)sh->lat_ns[k] / 1e6);
        }
    }
    cr_assert_leq(slow, MAX_SLOW,
                  "%s: %d of %d wake-ups took more than %llu ms (%s): the sleeper got up "
                  "by its 50 ms liveness period, not by the wake-up: a lost wake-up",
                  who, slow, N, BOUND_NS / 1000000, list);
}

Test(wake, consumer_asleep_in_acquire_is_woken_by_each_publish)
{
    zinc_ring_config cfg = ru_cfg(4, 64);
    cfg.spin_ns = 1000; /* sleep soon */
    zinc_producer *p;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0, "%s", zinc_last_error());
    struct shared *sh = ru_shared(sizeof(*sh));
    pid_t pid = fork();
    if (pid == 0) {
        zinc_consumer *c;
        if (zinc_consumer_open(g_name, ZINC_EVERY, &c) != 0)
            _exit(2);
        for (int k = 0; k < N; k++) {
            zinc_frame f;
            int r = zinc_consumer_acquire(c, &f, -1);
            uint64_t now = ru_now_ns();
            if (r != 0 || f.seq != (uint64_t)k + 1) {
                atomic_store(&sh->err, r ? r : -1000 - k);
                _exit(3);
            }
            sh->lat_ns[k] = now - atomic_load(&sh->t_wake[k]);
            zinc_consumer_release(c, &f);
            atomic_store(&sh->done, (uint32_t)k + 1);
        }
        zinc_consumer_close(c);
        _exit(0);
    }
    size_t len;
    uint8_t *raw = ru_map_raw(g_name, &len);
    struct zr_ctl *ctl = (struct zr_ctl *)(raw + ru_page());
    for (int k = 0; k < N; k++) {
        await_sleep(pid, &ctl->cons_waiters);
        zinc_frame f;
        cr_assert_eq(zinc_producer_claim(p, &f, 0), 0);
        f.size = 8;
        atomic_store(&sh->t_wake[k], ru_now_ns());
        cr_assert_eq(zinc_producer_publish(p, &f), 0);
        uint64_t t0 = ru_now_ns();
        while (atomic_load(&sh->done) < (uint32_t)k + 1) {
            cr_assert_eq(atomic_load(&sh->err), 0, "consumer failed: %d", atomic_load(&sh->err));
            cr_assert_lt(ru_now_ns() - t0, 10ull * 1000000000ull, "frame %d never arrived", k);
            sched_yield();
        }
    }
    cr_assert_eq(ru_reap(pid, 10000), 0);
    report(sh, "consumer asleep in acquire(-1)");
    munmap(raw, len);
    zinc_producer_close(p);
}

Test(wake, producer_asleep_in_claim_is_woken_by_each_release)
{
    struct shared *sh = ru_shared(sizeof(*sh));
    pid_t pid = fork();
    if (pid == 0) {
        zinc_ring_config cfg = ru_cfg(2, 64);
        cfg.spin_ns = 1000; /* sleep soon */
        zinc_producer *p;
        if (zinc_producer_create(g_name, &cfg, &p) != 0)
            _exit(2);
        atomic_store(&sh->tid, 1); /* the ring exists */
        while (atomic_load(&sh->done) == 0) /* the parent's consumer attached */
            sched_yield();
        /* Two frames fill the ring; every later claim waits for a release. */
        for (int k = -2; k < N; k++) {
            zinc_frame f;
            int r = zinc_producer_claim(p, &f, -1);
            uint64_t now = ru_now_ns();
            if (r != 0) {
                atomic_store(&sh->err, r);
                _exit(3);
            }
            if (k >= 0)
                sh->lat_ns[k] = now - atomic_load(&sh->t_wake[k]);
            f.size = 8;
            zinc_producer_publish(p, &f);
            if (k >= 0)
                atomic_store(&sh->done, (uint32_t)k + 2);
        }
        zinc_producer_close(p);
        _exit(0);
    }
    uint64_t t0 = ru_now_ns();
    while (atomic_load(&sh->tid) == 0) {
        cr_assert_lt(ru_now_ns() - t0, 10ull * 1000000000ull, "the producer never came up");
        sched_yield();
    }
    zinc_consumer *c;
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_EVERY, &c), 0, "%s", zinc_last_error());
    size_t len;
    uint8_t *raw = ru_map_raw(g_name, &len);
    cr_assert_not_null(raw);
    struct zr_ctl *ctl = (struct zr_ctl *)(raw + ru_page());
    atomic_store(&sh->done, 1);
    for (int k = 0; k < N; k++) {
        await_sleep(pid, &ctl->prod_waiting);
        zinc_frame f;
        cr_assert_eq(zinc_consumer_acquire(c, &f, 0), 0);
        atomic_store(&sh->t_wake[k], ru_now_ns());
        cr_assert_eq(zinc_consumer_release(c, &f), 0);
        t0 = ru_now_ns();
        while (atomic_load(&sh->done) < (uint32_t)k + 2) {
            cr_assert_eq(atomic_load(&sh->err), 0, "producer failed: %d", atomic_load(&sh->err));
            cr_assert_lt(ru_now_ns() - t0, 10ull * 1000000000ull, "claim %d never returned", k);
            sched_yield();
        }
    }
    zinc_frame f;
    while (zinc_consumer_acquire(c, &f, 1000000000) == 0)
        zinc_consumer_release(c, &f); /* drain until the producer is gone */
    cr_assert_eq(ru_reap(pid, 10000), 0);
    report(sh, "producer asleep in claim(-1)");
    munmap(raw, len);
    zinc_consumer_close(c);
}
