/* SPDX-License-Identifier: MIT */
/*
 * test-ring-liveness.c — producers and consumers that close, die (SIGKILL)
 * or stall while the others wait: -32 after draining, eviction of a dead
 * EVERY consumer, demotion of a slow one, replacement of a dead producer,
 * removal of stale names, and the name's lifetime.
 *
 * Every party that must be able to die alone lives in its own forked
 * process, forked BEFORE any ring handle exists in the forking process, so
 * that no other process inherits its descriptor (an OFD lock, the liveness
 * token, lives as long as any copy of the descriptor). Processes talk
 * through pipes; "everybody is asleep" is read from the ring's own
 * cons_waiters word; watchdogs bound every wait.
 */
#include <criterion/criterion.h>
#include <sched.h>

#include <zinc/ring.h>
#include <zinc/zinc.h>

#include "layout.h"
#include "ring-util.h"

#include "ring-suite.h"

TestSuite(ring_live, .init = ru_suite_setup, .fini = ru_suite_teardown, .timeout = 60);

#define WATCHDOG_MS 5000

/* ---- child processes ---------------------------------------------------- */

struct kid_arg {
    const char *name;
    zinc_delivery mode;
    uint32_t slots;
    uint64_t frames;
    ru_result *res;
};

static void kid_cmd(const struct ru_kid *k)
{
    cr_assert_eq(ru_signal(k->cmd), 0);
}

static void kid_evt(const struct ru_kid *k, const char *what)
{
    int r = ru_await(k->evt, 20000);
    cr_assert_eq(r, 0, "child %d: no '%s' event (%d)", (int)k->pid, what, r);
}

static void kid_kill(const struct ru_kid *k)
{
    kill(k->pid, SIGKILL);
    int st = ru_reap(k->pid, WATCHDOG_MS);
    cr_assert(st != -110, "killed child not reaped");
}

/* Consumer: wait for "go", attach, report, consume until the end. */
static void consumer_kid(int cmd, int evt, void *arg)
{
    const struct kid_arg *a = arg;
    if (ru_await(cmd, 20000) != 0)
        _exit(10);
    zinc_consumer *c = NULL;
    int r = zinc_consumer_open(a->name, a->mode, &c);
    if (r != 0) {
        a->res->final_rc = r;
        _exit(11);
    }
    ru_signal(evt);
    ru_consume(c, a->mode, -1, false, UINT64_MAX, -1, a->res);
    zinc_consumer_close(c);
    _exit(0);
}

/* EVERY consumer that acquires one frame and holds it until killed. */
static void holder_kid(int cmd, int evt, void *arg)
{
    const struct kid_arg *a = arg;
    if (ru_await(cmd, 20000) != 0)
        _exit(10);
    zinc_consumer *c = NULL;
    if (zinc_consumer_open(a->name, ZINC_EVERY, &c) != 0)
        _exit(11);
    ru_signal(evt);
    zinc_frame f;
    if (zinc_consumer_acquire(c, &f, -1) != 0)
        _exit(12);
    ru_signal(evt); /* holding frame f */
    ru_await(cmd, -1);
    _exit(0);
}

/* Consumer that attaches and then waits to be killed. */
static void idle_consumer_kid(int cmd, int evt, void *arg)
{
    const struct kid_arg *a = arg;
    zinc_consumer *c = NULL;
    if (zinc_consumer_open(a->name, a->mode, &c) != 0)
        _exit(11);
    ru_signal(evt);
    ru_await(cmd, -1);
    _exit(0);
}

/* Producer: create, report, wait for "publish", publish a->frames, report,
 * then wait (to be killed, or "close"). */
static void producer_kid(int cmd, int evt, void *arg)
{
    const struct kid_arg *a = arg;
    zinc_ring_config cfg = ru_cfg(a->slots, 4096);
    zinc_producer *p = NULL;
    if (zinc_producer_create(a->name, &cfg, &p) != 0)
        _exit(11);
    ru_signal(evt);
    if (ru_await(cmd, 20000) != 0)
        _exit(12);
    for (uint64_t i = 0; i < a->frames; i++)
        if (ru_produce(p, 100 + i, false, false, 5 * 1000000000ll) != 0)
            _exit(13);
    ru_signal(evt);
    if (ru_await(cmd, -1) == 0)
        zinc_producer_close(p);
    _exit(0);
}

/* Wait until n consumers are inside the ring's sleep protocol (read from
 * the ring's own waiter count). */
static void wait_sleepers(const char *name, uint32_t n)
{
    size_t len = 0;
    uint8_t *m = ru_map_raw(name, &len);
    cr_assert_not_null(m);
    struct zr_ctl *ctl = (struct zr_ctl *)(m + ru_page());
    uint64_t deadline = ru_now_ns() + 20 * 1000000000ull;
    /* Relaxed: we only wait for the count to reach n; nothing is read
     * through it. */
    while (atomic_load_explicit(&ctl->cons_waiters, memory_order_relaxed) < n) {
        cr_assert_lt(ru_now_ns(), deadline, "consumers never went to sleep");
        sched_yield();
    }
    munmap(m, len);
}

static ru_result *results(int n)
{
    ru_result *r = ru_shared(sizeof(ru_result) * (size_t)n);
    cr_assert_not_null(r);
    return r;
}

static void check_drained(const ru_result *x, zinc_delivery mode, uint64_t frames)
{
    cr_expect_eq(x->done, 1, "mode %d: did not finish", (int)mode);
    cr_expect_eq(x->errors, 0, "mode %d: %s at %llu", (int)mode, ru_what(x->bad_what),
                 (unsigned long long)x->bad_seq);
    cr_expect_eq(x->final_rc, -32, "mode %d ended with %d", (int)mode, x->final_rc);
    cr_expect_eq(x->last_seq, frames, "mode %d ended at %llu", (int)mode,
                 (unsigned long long)x->last_seq);
    if (mode == ZINC_EVERY)
        cr_expect_eq(x->frames, frames);
}

static void skip_without_shm(void)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
}

/* ---- producer gone -------------------------------------------------------- */

Test(ring_live, producer_close_wakes_sleepers)
{
    skip_without_shm();
    ru_result *res = results(3);
    struct ru_kid k[3];
    for (int i = 0; i < 3; i++) {
        struct kid_arg a = { g_name, (zinc_delivery)i, 0, 0, &res[i] };
        k[i] = ru_spawn(consumer_kid, &a, 30);
    }
    zinc_ring_config cfg = ru_cfg(8, 4096);
    zinc_producer *p = NULL;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0);
    for (int i = 0; i < 3; i++)
        kid_cmd(&k[i]);
    for (int i = 0; i < 3; i++)
        kid_evt(&k[i], "attached");
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ru_produce(p, 200, false, false, 0), 0);
    wait_sleepers(g_name, 3);
    zinc_producer_close(p);
    for (int i = 0; i < 3; i++) {
        int st = ru_reap(k[i].pid, WATCHDOG_MS);
        cr_expect(ru_exit_ok(st), "consumer %d: status %d", i, st);
        check_drained(&res[i], (zinc_delivery)i, 3);
    }
    cr_expect(!ru_exists(g_name), "name left behind");
}

Test(ring_live, producer_close_with_backlog)
{
    /* Closed with frames not yet read: EVERY drains them all, then -32. */
    zinc_producer *p = NULL;
    skip_without_shm();
    zinc_ring_config cfg = ru_cfg(8, 256);
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0);
    zinc_consumer *e = NULL, *l = NULL;
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_EVERY, &e), 0);
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_LATEST, &l), 0);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(ru_produce(p, 64, false, false, 0), 0);
    zinc_producer_close(p);
    cr_expect(ru_exists(g_name), "consumers are still attached");
    ru_result re = { 0 }, rl = { 0 };
    ru_consume(e, ZINC_EVERY, 0, false, 256, -1, &re);
    ru_consume(l, ZINC_LATEST, 0, false, 256, -1, &rl);
    check_drained(&re, ZINC_EVERY, 5);
    check_drained(&rl, ZINC_LATEST, 5);
    cr_expect_eq(rl.frames, 1, "LATEST skips to the newest");
    zinc_frame f;
    cr_expect_eq(zinc_consumer_acquire(e, &f, 0), -32, "still -32 (poll)");
    cr_expect_eq(zinc_consumer_acquire(e, &f, -1), -32, "still -32 (forever)");
    zinc_consumer_close(e);
    cr_expect(ru_exists(g_name), "one consumer is still attached");
    zinc_consumer_close(l);
    cr_expect(!ru_exists(g_name), "last consumer closed: name removed");
}

Test(ring_live, producer_sigkill_wakes_sleepers)
{
    skip_without_shm();
    ru_result *res = results(3);
    struct ru_kid k[3];
    for (int i = 0; i < 3; i++) {
        struct kid_arg a = { g_name, (zinc_delivery)i, 0, 0, &res[i] };
        k[i] = ru_spawn(consumer_kid, &a, 30);
    }
    struct kid_arg pa = { g_name, ZINC_EVERY, 8, 3, NULL };
    struct ru_kid pk = ru_spawn(producer_kid, &pa, 30);
    kid_evt(&pk, "created");
    for (int i = 0; i < 3; i++)
        kid_cmd(&k[i]);
    for (int i = 0; i < 3; i++)
        kid_evt(&k[i], "attached");
    kid_cmd(&pk);
    kid_evt(&pk, "published");
    wait_sleepers(g_name, 3);
    kid_kill(&pk);
    /* Each sleeper notices within the liveness period (~100 ms); the
     * watchdog is 5 s. */
    for (int i = 0; i < 3; i++) {
        int st = ru_reap(k[i].pid, WATCHDOG_MS);
        cr_expect(st != -110, "consumer %d still asleep 5 s after the producer died", i);
        cr_expect(ru_exit_ok(st), "consumer %d: status %d", i, st);
        check_drained(&res[i], (zinc_delivery)i, 3);
    }
    cr_expect(!ru_exists(g_name), "the last consumer removes a dead producer's ring");
}

Test(ring_live, poller_sees_dead_producer)
{
    /* A consumer polling with timeout 0 sees -11 while the producer lives,
     * and -32 (not -11 forever) once it is dead. */
    skip_without_shm();
    struct kid_arg pa = { g_name, ZINC_EVERY, 4, 0, NULL };
    struct ru_kid pk = ru_spawn(producer_kid, &pa, 30);
    kid_evt(&pk, "created");
    zinc_consumer *c = NULL;
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_LOSSY, &c), 0);
    zinc_frame f;
    cr_expect_eq(zinc_consumer_acquire(c, &f, 0), -11);
    kid_cmd(&pk);
    kid_evt(&pk, "published");
    kid_kill(&pk);
    uint64_t deadline = ru_now_ns() + WATCHDOG_MS * 1000000ull;
    int r;
    while ((r = zinc_consumer_acquire(c, &f, 0)) == -11) {
        cr_assert_lt(ru_now_ns(), deadline, "a poller never learns the producer died");
        sched_yield();
    }
    cr_expect_eq(r, -32);
    zinc_ring_stats rs;
    cr_assert_eq(zinc_ring_stats_read(g_name, &rs, NULL, 0, NULL), 0);
    cr_expect_eq(rs.producer_alive, 0);
    cr_expect_eq(rs.producer_state, 1, "killed, not closed");
    zinc_consumer_close(c);
    cr_expect(!ru_exists(g_name));
}

/* ---- EVERY consumer dead or slow ------------------------------------------ */

static void evict_case(int64_t claim_timeout)
{
    skip_without_shm();
    struct kid_arg a = { g_name, ZINC_EVERY, 0, 0, NULL };
    struct ru_kid k = ru_spawn(holder_kid, &a, 30);
    zinc_ring_config cfg = ru_cfg(2, 256);
    zinc_producer *p = NULL;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0);
    kid_cmd(&k);
    kid_evt(&k, "attached");
    cr_assert_eq(ru_produce(p, 64, false, false, 0), 0);
    cr_assert_eq(ru_produce(p, 64, false, false, 0), 0);
    kid_evt(&k, "holding");
    zinc_frame f;
    cr_assert_eq(zinc_producer_claim(p, &f, 0), -11, "a live EVERY consumer holds frame 1");
    kid_kill(&k);
    int r;
    if (claim_timeout == 0) {
        uint64_t deadline = ru_now_ns() + WATCHDOG_MS * 1000000ull;
        while ((r = zinc_producer_claim(p, &f, 0)) == -11) {
            cr_assert_lt(ru_now_ns(), deadline, "polling claim never evicts the dead consumer");
            sched_yield();
        }
    } else {
        r = zinc_producer_claim(p, &f, claim_timeout);
    }
    cr_assert_eq(r, 0, "claim after the consumer died: %d", r);
    cr_expect_eq(f.seq, 3);
    cr_assert_eq(zinc_producer_abort(p, &f), 0);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(ru_produce(p, 64, false, false, 0), 0, "the producer goes on");
    zinc_ring_stats rs;
    zinc_consumer_stats cs;
    uint32_t n = 0;
    cr_assert_eq(zinc_ring_stats_read(g_name, &rs, &cs, 1, &n), 0);
    cr_expect_eq(rs.evicted, 1);
    cr_expect_eq(rs.demoted, 0);
    if (n == 1) {
        cr_expect_eq(cs.evicted, 1);
        cr_expect_eq(cs.alive, 0);
        cr_expect_eq(cs.mode, ZINC_LOSSY);
    }
    /* The dead consumer's entry is reclaimed by the next attach. */
    zinc_consumer *c = NULL;
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_EVERY, &c), 0);
    cr_expect_eq(zinc_consumer_mode(c), ZINC_EVERY);
    cr_assert_eq(ru_produce(p, 64, false, false, 0), 0);
    cr_assert_eq(zinc_consumer_acquire(c, &f, 0), 0);
    cr_expect_eq(f.seq, 13);
    cr_expect_eq(f.flags & ZINC_FRAME_DEMOTED, 0);
    cr_assert_eq(zinc_consumer_release(c, &f), 0);
    zinc_consumer_close(c);
    zinc_producer_close(p);
    cr_expect(!ru_exists(g_name));
}

Test(ring_live, dead_every_consumer_evicted_waiting)
{
    evict_case(-1);
}

Test(ring_live, dead_every_consumer_evicted_polling)
{
    evict_case(0);
}

Test(ring_live, slow_every_consumer_demoted)
{
    skip_without_shm();
    zinc_ring_config cfg = ru_cfg(2, 256);
    cfg.demote_after_ns = 20 * 1000000ull;
    zinc_producer *p = NULL;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0);
    zinc_consumer *c = NULL, *other = NULL;
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_EVERY, &c), 0);
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_EVERY, &other), 0);
    zinc_frame f;
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(ru_produce(p, 64, false, false, 0), 0);
        /* `other` keeps up; `c` never consumes. */
        cr_assert_eq(zinc_consumer_acquire(other, &f, 0), 0);
        cr_assert_eq(zinc_consumer_release(other, &f), 0);
    }
    /* Infinite timeout: only the demotion can let this claim through. */
    cr_assert_eq(ru_produce(p, 64, false, false, -1), 0);
    cr_assert_eq(zinc_consumer_acquire(other, &f, 0), 0);
    cr_assert_eq(zinc_consumer_release(other, &f), 0);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(ru_produce(p, 64, false, false, 0), 0, "no longer gated by c");
        cr_assert_eq(zinc_consumer_acquire(other, &f, 0), 0);
        cr_expect_eq(f.flags & ZINC_FRAME_DEMOTED, 0, "the fast one is not demoted");
        cr_assert_eq(zinc_consumer_release(other, &f), 0);
    }
    zinc_ring_stats rs;
    zinc_consumer_stats cs[2];
    uint32_t n = 0;
    cr_assert_eq(zinc_ring_stats_read(g_name, &rs, cs, 2, &n), 0);
    cr_expect_eq(rs.demoted, 1);
    cr_expect_eq(rs.evicted, 0);
    cr_assert_eq(n, 2);
    cr_expect_eq(cs[0].demoted, 1);
    cr_expect_eq(cs[0].mode, ZINC_LOSSY);
    cr_expect_eq(cs[1].demoted, 0);
    cr_expect_eq(cs[1].mode, ZINC_EVERY);
    cr_expect_eq(zinc_consumer_mode(c), ZINC_LOSSY);
    cr_expect_eq(zinc_consumer_mode(other), ZINC_EVERY);

    cr_assert_eq(zinc_consumer_acquire(c, &f, 0), 0);
    cr_expect(f.flags & ZINC_FRAME_DEMOTED, "the demoted consumer learns it from its next frame");
    cr_expect_gt(f.dropped, 0);
    cr_expect_eq(f.seq, 1 + f.dropped);
    cr_expect_eq(ru_check(f.data, f.size, f.seq, false), RU_OK);
    cr_expect_eq(zinc_consumer_release(c, &f), 0);
    cr_assert_eq(ru_produce(p, 64, false, false, 0), 0);
    cr_assert_eq(zinc_consumer_acquire(c, &f, 0), 0);
    cr_expect_eq(f.flags & ZINC_FRAME_DEMOTED, 0, "told once");
    cr_expect_eq(zinc_consumer_release(c, &f), 0);
    zinc_consumer_close(c);
    zinc_consumer_close(other);
    zinc_producer_close(p);
}

Test(ring_live, demoted_while_holding)
{
    /* An EVERY consumer that holds a frame and stops: once demoted, its
     * frame may be overwritten, and release says so (-75) — the one
     * exception to "an EVERY frame is never overwritten while held". */
    skip_without_shm();
    zinc_ring_config cfg = ru_cfg(2, 256);
    cfg.demote_after_ns = 10 * 1000000ull;
    zinc_producer *p = NULL;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0);
    zinc_consumer *c = NULL;
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_EVERY, &c), 0);
    cr_assert_eq(ru_produce(p, 64, false, false, 0), 0);
    cr_assert_eq(ru_produce(p, 64, false, false, 0), 0);
    zinc_frame held, f;
    cr_assert_eq(zinc_consumer_acquire(c, &held, 0), 0);
    cr_assert_eq(held.seq, 1);
    cr_assert_eq(ru_produce(p, 64, false, false, -1), 0, "frame 3 after the demotion");
    cr_expect_eq(zinc_consumer_release(c, &held), -75, "frame 1's slot was reused");
    cr_expect_eq(zinc_consumer_mode(c), ZINC_LOSSY);
    cr_assert_eq(zinc_consumer_acquire(c, &f, 0), 0);
    cr_expect(f.flags & ZINC_FRAME_DEMOTED);
    cr_expect_eq(f.seq, 1 + 1 + f.dropped);
    cr_expect_eq(zinc_consumer_release(c, &f), 0);
    zinc_ring_stats rs;
    zinc_consumer_stats cs;
    uint32_t n = 0;
    cr_assert_eq(zinc_ring_stats_read(g_name, &rs, &cs, 1, &n), 0);
    cr_expect_eq(rs.demoted, 1);
    cr_expect_eq(cs.torn, 1);
    zinc_consumer_close(c);
    zinc_producer_close(p);
}

Test(ring_live, polling_producer_demotes)
{
    /* A producer that only ever polls (claim with timeout 0) is blocked
     * across calls: the demotion bound counts that time too. */
    skip_without_shm();
    zinc_ring_config cfg = ru_cfg(2, 256);
    cfg.demote_after_ns = 10 * 1000000ull;
    zinc_producer *p = NULL;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0);
    zinc_consumer *c = NULL;
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_EVERY, &c), 0);
    cr_assert_eq(ru_produce(p, 64, false, false, 0), 0);
    cr_assert_eq(ru_produce(p, 64, false, false, 0), 0);
    uint64_t deadline = ru_now_ns() + WATCHDOG_MS * 1000000ull;
    int r;
    while ((r = ru_produce(p, 64, false, false, 0)) == -11) {
        cr_assert_lt(ru_now_ns(), deadline, "a polling producer never demotes");
        sched_yield();
    }
    cr_expect_eq(r, 0);
    zinc_ring_stats rs;
    cr_assert_eq(zinc_ring_stats_read(g_name, &rs, NULL, 0, NULL), 0);
    cr_expect_eq(rs.demoted, 1);
    cr_expect_eq(zinc_consumer_mode(c), ZINC_LOSSY);
    zinc_consumer_close(c);
    zinc_producer_close(p);
}

/* ---- replacement, stale names ---------------------------------------------- */

Test(ring_live, dead_producer_replaced)
{
    skip_without_shm();
    struct kid_arg pa = { g_name, ZINC_EVERY, 8, 3, NULL };
    struct ru_kid pk = ru_spawn(producer_kid, &pa, 30);
    kid_evt(&pk, "created");
    zinc_consumer *old = NULL;
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_EVERY, &old), 0);
    uint64_t g_old = zinc_consumer_generation(old);
    kid_cmd(&pk);
    kid_evt(&pk, "published");
    kid_kill(&pk);

    zinc_ring_config cfg = ru_cfg(4, 512);
    zinc_producer *p = NULL;
    int r = zinc_producer_create(g_name, &cfg, &p);
    cr_assert_eq(r, 0, "create over a dead producer: %d (%s)", r, zinc_last_error());
    uint64_t g_new = zinc_producer_generation(p);
    cr_expect_neq(g_new, g_old);

    /* The old consumer drains the old instance, then -32 (forever too). */
    ru_result res = { 0 };
    ru_consume(old, ZINC_EVERY, -1, false, 4096, -1, &res);
    check_drained(&res, ZINC_EVERY, 3);

    /* Re-attach: the new instance, seq from 1 again. */
    zinc_consumer *c = NULL;
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_EVERY, &c), 0);
    cr_expect_eq(zinc_consumer_generation(c), g_new);
    zinc_ring_config got;
    cr_assert_eq(zinc_consumer_config(c, &got), 0);
    cr_expect_eq(got.slot_count, 4, "the new geometry");
    cr_assert_eq(ru_produce(p, 64, false, false, 0), 0);
    zinc_frame f;
    cr_assert_eq(zinc_consumer_acquire(c, &f, 0), 0);
    cr_expect_eq(f.seq, 1);
    cr_expect_eq(ru_check(f.data, f.size, 1, false), RU_OK);
    cr_assert_eq(zinc_consumer_release(c, &f), 0);

    /* Closing the old consumer must not remove the new ring's name. */
    zinc_consumer_close(old);
    cr_expect(ru_exists(g_name), "old consumer's close removed the new ring");
    zinc_ring_stats rs;
    cr_assert_eq(zinc_ring_stats_read(g_name, &rs, NULL, 0, NULL), 0);
    cr_expect_eq(rs.generation, g_new);
    cr_expect_eq(rs.producer_alive, 1);
    zinc_consumer_close(c);
    zinc_producer_close(p);
    cr_expect(!ru_exists(g_name));
}

Test(ring_live, sleeper_learns_of_replacement)
{
    /* An old consumer asleep (infinite timeout) when the ring is replaced
     * (its producer closed): it gets -32, then re-attaches. */
    skip_without_shm();
    ru_result *res = results(1);
    struct kid_arg a = { g_name, ZINC_LATEST, 0, 0, &res[0] };
    struct ru_kid k = ru_spawn(consumer_kid, &a, 30);
    zinc_ring_config cfg = ru_cfg(4, 256);
    zinc_producer *p = NULL;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0);
    kid_cmd(&k);
    kid_evt(&k, "attached");
    cr_assert_eq(ru_produce(p, 64, false, false, 0), 0);
    wait_sleepers(g_name, 1);
    zinc_producer_close(p);
    zinc_producer *q = NULL;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &q), 0, "replace a closed producer");
    int st = ru_reap(k.pid, WATCHDOG_MS);
    cr_expect(ru_exit_ok(st), "old consumer: status %d", st);
    check_drained(&res[0], ZINC_LATEST, 1);
    cr_expect(ru_exists(g_name));
    zinc_producer_close(q);
    cr_expect(!ru_exists(g_name));
}

Test(ring_live, remove_stale)
{
    skip_without_shm();
    cr_expect_eq(zinc_ring_remove_stale(g_name), -2);
    cr_expect_eq(zinc_ring_remove_stale("bad/name"), -22);

    /* Live producer: -17, and the ring is untouched. */
    zinc_ring_config cfg = ru_cfg(4, 256);
    zinc_producer *p = NULL;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0);
    cr_expect_eq(zinc_ring_remove_stale(g_name), -17);
    cr_expect(ru_exists(g_name));
    cr_assert_eq(ru_produce(p, 64, false, false, 0), 0);

    /* Closed producer, consumer still attached: the name stays, and is stale. */
    zinc_consumer *c = NULL;
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_LOSSY, &c), 0);
    zinc_producer_close(p);
    cr_expect(ru_exists(g_name));
    cr_expect_eq(zinc_ring_remove_stale(g_name), 0);
    cr_expect(!ru_exists(g_name));
    zinc_frame f;
    cr_expect_eq(zinc_consumer_acquire(c, &f, -1), -32, "the mapping still works");
    zinc_consumer_close(c);

    /* Dead producer (SIGKILL): removable. */
    struct kid_arg pa = { g_name, ZINC_EVERY, 4, 1, NULL };
    struct ru_kid pk = ru_spawn(producer_kid, &pa, 30);
    kid_evt(&pk, "created");
    cr_expect_eq(zinc_ring_remove_stale(g_name), -17);
    kid_kill(&pk);
    cr_expect_eq(zinc_ring_remove_stale(g_name), 0);
    cr_expect(!ru_exists(g_name));
}

Test(ring_live, open_after_producer_died)
{
    skip_without_shm();
    struct kid_arg pa = { g_name, ZINC_EVERY, 8, 2, NULL };
    struct ru_kid pk = ru_spawn(producer_kid, &pa, 30);
    kid_evt(&pk, "created");
    kid_cmd(&pk);
    kid_evt(&pk, "published");
    kid_kill(&pk);
    zinc_consumer *e = NULL, *l = NULL;
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_EVERY, &e), 0, "attach works");
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_LATEST, &l), 0);
    zinc_frame f;
    cr_expect_eq(zinc_consumer_acquire(e, &f, -1), -32, "EVERY: nothing after its attach");
    cr_assert_eq(zinc_consumer_acquire(l, &f, -1), 0, "LATEST: the newest frame");
    cr_expect_eq(f.seq, 2);
    cr_expect_eq(ru_check(f.data, f.size, 2, false), RU_OK);
    cr_expect_eq(zinc_consumer_release(l, &f), 0);
    cr_expect_eq(zinc_consumer_acquire(l, &f, -1), -32);
    zinc_consumer_close(e);
    cr_expect(ru_exists(g_name));
    zinc_consumer_close(l);
    cr_expect(!ru_exists(g_name), "the last consumer of a dead producer removes the name");
}

Test(ring_live, name_lifetime)
{
    skip_without_shm();
    zinc_ring_config cfg = ru_cfg(4, 256);
    zinc_producer *p = NULL;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0);
    zinc_consumer *a = NULL, *b = NULL;
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_EVERY, &a), 0);
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_LATEST, &b), 0);
    zinc_consumer_close(a);
    cr_expect(ru_exists(g_name), "producer still open");
    zinc_producer_close(p);
    cr_expect(ru_exists(g_name), "a consumer is still attached");
    zinc_consumer_close(b);
    cr_expect(!ru_exists(g_name), "producer closed and last consumer closed");

    /* A dead consumer does not keep the name alive. */
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0);
    struct kid_arg ka = { g_name, ZINC_EVERY, 0, 0, NULL };
    struct ru_kid k = ru_spawn(idle_consumer_kid, &ka, 30);
    kid_evt(&k, "attached");
    kid_kill(&k);
    zinc_producer_close(p);
    cr_expect(!ru_exists(g_name), "only a dead consumer was attached");
}

/* ---- a creator that dies half-way ------------------------------------------ */

/* Do what a creator does first — create the object, take the producer token
 * (OFD write lock on byte 0), size it — and stop there, before any magic. */
static void half_creator_kid(int cmd, int evt, void *arg)
{
    const struct kid_arg *a = arg;
    char obj[300];
    snprintf(obj, sizeof(obj), "/zinc_%s", a->name);
    int fd = shm_open(obj, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd < 0)
        _exit(11);
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
    if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
        _exit(12);
    if (ftruncate(fd, (off_t)(4 * ru_page())) < 0)
        _exit(13);
    ru_signal(evt);
    ru_await(cmd, -1);
    _exit(0);
}

Test(ring_live, creator_died_half_way)
{
    skip_without_shm();
    struct kid_arg a = { g_name, ZINC_EVERY, 0, 0, NULL };
    struct ru_kid k = ru_spawn(half_creator_kid, &a, 30);
    kid_evt(&k, "half-made");
    zinc_consumer *c = NULL;
    cr_expect_eq(zinc_consumer_open(g_name, ZINC_EVERY, &c), -11, "still being created");
    zinc_ring_config cfg = ru_cfg(4, 256);
    zinc_producer *p = NULL;
    cr_expect_eq(zinc_producer_create(g_name, &cfg, &p), -17, "its creator is alive");
    cr_expect_eq(zinc_ring_remove_stale(g_name), -17, "its creator is alive");
    kid_kill(&k);
    cr_expect_eq(zinc_consumer_open(g_name, ZINC_EVERY, &c), -32, "its creator died");
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0, "a half-made name counts as gone");
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_EVERY, &c), 0);
    zinc_consumer_close(c);
    zinc_producer_close(p);
    cr_expect(!ru_exists(g_name));

    /* And zinc_ring_remove_stale removes a half-made name too. */
    k = ru_spawn(half_creator_kid, &a, 30);
    kid_evt(&k, "half-made");
    kid_kill(&k);
    cr_expect_eq(zinc_ring_remove_stale(g_name), 0);
    cr_expect(!ru_exists(g_name));
}

Test(ring_live, empty_object_young_then_stale)
{
    /* An empty object with a free token may be a creator between shm_open
     * and its token: "being created" while young (mtime < 2 s), gone once
     * old. Age it with futimens instead of waiting. */
    skip_without_shm();
    char obj[300];
    snprintf(obj, sizeof(obj), "/zinc_%s", g_name);
    int fd = shm_open(obj, O_CREAT | O_EXCL | O_RDWR, 0600);
    cr_assert_geq(fd, 0);
    zinc_consumer *c = NULL;
    zinc_ring_config cfg = ru_cfg(4, 256);
    zinc_producer *p = NULL;
    cr_expect_eq(zinc_consumer_open(g_name, ZINC_LATEST, &c), -11, "young: being created");
    cr_expect_eq(zinc_producer_create(g_name, &cfg, &p), -17, "young: not ours to replace");
    cr_expect(ru_exists(g_name));
    struct timespec old[2];
    clock_gettime(CLOCK_REALTIME, &old[0]);
    old[0].tv_sec -= 10;
    old[1] = old[0];
    cr_assert_eq(futimens(fd, old), 0);
    close(fd);
    cr_expect_eq(zinc_consumer_open(g_name, ZINC_LATEST, &c), -32, "old and empty: creator gone");
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0, "old and empty: replaced");
    zinc_producer_close(p);
    cr_expect(!ru_exists(g_name));
}

/* Handles are not inherited across fork: a child forked while the producer
 * is open (and still running) must not keep the producer's liveness token
 * alive after the parent closes it, or no replacement could ever start. */
Test(ring_live, forked_child_does_not_keep_producer_alive)
{
    skip_without_shm();
    zinc_ring_config cfg = ru_cfg(4, 256);
    zinc_producer *p = NULL;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0);
    int hold[2];
    cr_assert_eq(pipe(hold), 0);
    pid_t kid = fork();
    cr_assert_geq(kid, 0);
    if (kid == 0) {
        /* Stay alive, holding whatever fork gave us, until the parent is done. */
        char b;
        close(hold[1]);
        ssize_t n = read(hold[0], &b, 1);
        (void)n;
        zinc_producer_close(p); /* the child's copy: local clean-up only */
        _exit(0);
    }
    close(hold[0]);
    /* An attached consumer keeps the name after the producer closes, so the
     * replacement below has to judge the old ring by its producer token. */
    zinc_consumer *c = NULL;
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_LOSSY, &c), 0);
    zinc_producer_close(p);
    cr_assert(ru_exists(g_name));
    zinc_producer *q = NULL;
    int r = zinc_producer_create(g_name, &cfg, &q);
    cr_expect_eq(r, 0, "replacement while the forked child lives: %d (%s)", r,
                 zinc_last_error());
    close(hold[1]);
    int st;
    cr_assert_eq(waitpid(kid, &st, 0), kid);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* The child's close did not touch the parent's (new) ring. */
    cr_expect(ru_exists(g_name));
    zinc_frame f;
    cr_expect_eq(zinc_consumer_acquire(c, &f, 0), -32, "the old ring's consumer learns it");
    zinc_consumer_close(c);
    zinc_producer_close(q);
}

/* The same when the producer dies: its forked child (still running, not
 * using zinc) must not hold the dead producer's token. The child signals
 * through a pipe once it runs, i.e. after fork's child handlers. */
Test(ring_live, forked_child_of_dead_producer_does_not_hold_token)
{
    skip_without_shm();
    int up[2], hold[2];
    cr_assert_eq(pipe(up), 0);
    cr_assert_eq(pipe(hold), 0);
    pid_t prod = fork();
    cr_assert_geq(prod, 0);
    if (prod == 0) {
        zinc_ring_config cfg = ru_cfg(4, 256);
        zinc_producer *p = NULL;
        if (zinc_producer_create(g_name, &cfg, &p) != 0)
            _exit(2);
        pid_t kid = fork();
        if (kid == 0) {
            char b = 'k';
            close(hold[1]);
            if (write(up[1], &b, 1) != 1)
                _exit(3);
            ssize_t n = read(hold[0], &b, 1); /* until the test is done */
            (void)n;
            _exit(0);
        }
        char b = 'p';
        if (kid < 0 || write(up[1], &b, 1) != 1)
            _exit(4);
        for (;;)
            pause(); /* killed by the test */
    }
    close(up[1]);
    close(hold[0]);
    char got[2];
    cr_assert_eq(read(up[0], &got[0], 1), 1);
    cr_assert_eq(read(up[0], &got[1], 1), 1, "producer and its child are both up");
    kill(prod, SIGKILL);
    int st;
    cr_assert_eq(waitpid(prod, &st, 0), prod);
    zinc_ring_config cfg = ru_cfg(4, 256);
    zinc_producer *q = NULL;
    int r = zinc_producer_create(g_name, &cfg, &q);
    cr_expect_eq(r, 0, "replacement while the dead producer's child lives: %d (%s)", r,
                 zinc_last_error());
    close(hold[1]); /* lets the orphaned grandchild exit */
    zinc_producer_close(q);
}

/* A forked child that uses its parent's handles gets -22 from every call
 * that would read or write the ring's shared state (claim, publish, abort,
 * set_stream, acquire, release, stream, wait_any), and the parent's ring is
 * untouched: its EVERY consumer's cursor and held frame stay its own. */
Test(ring_live, forked_child_cannot_use_inherited_handles)
{
    skip_without_shm();
    zinc_ring_config cfg = ru_cfg(4, 256);
    zinc_producer *p = NULL;
    zinc_consumer *c = NULL;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0);
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_EVERY, &c), 0);
    zinc_frame w, r;
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(zinc_producer_claim(p, &w, 0), 0);
        cr_assert_eq(zinc_producer_publish(p, &w), 0);
    }
    cr_assert_eq(zinc_consumer_acquire(c, &r, 0), 0);
    cr_assert_eq(r.seq, 1);
    cr_assert_geq(zinc_consumer_fd(c), 0, "%s", zinc_last_error()); /* made before fork */
    cr_assert_eq(zinc_producer_claim(p, &w, 0), 0); /* frame 3, claimed across fork */
    pid_t kid = fork();
    cr_assert_geq(kid, 0);
    if (kid == 0) {
        /* Bit i set: call i did not give -22 with the fork message. */
        int bad = 0;
        zinc_frame f;
        zinc_consumer *const one[1] = {c};
#define CHILD_EXPECT(i, call)                                                            \
        if ((call) != -22 || !strstr(zinc_last_error(), "forked"))                        \
            bad |= 1 << (i)
        CHILD_EXPECT(0, zinc_producer_publish(p, &w));
        CHILD_EXPECT(1, zinc_producer_abort(p, &w));
        CHILD_EXPECT(2, zinc_producer_set_stream(p, &w));
        CHILD_EXPECT(3, zinc_consumer_release(c, &r));
        CHILD_EXPECT(4, zinc_consumer_stream(c, &f));
        CHILD_EXPECT(5, zinc_wait_any(one, 1, 0));
        CHILD_EXPECT(6, zinc_consumer_fd(c));
        zinc_producer_close(p); /* local clean-up only */
        zinc_consumer_close(c);
        _exit(bad);
#undef CHILD_EXPECT
    }
    int st;
    cr_assert_eq(waitpid(kid, &st, 0), kid);
    cr_assert(WIFEXITED(st));
    cr_expect_eq(WEXITSTATUS(st), 0, "calls in the child that did not refuse (bit mask): %#x",
                 WEXITSTATUS(st));
    /* The parent's handles work on as if the child never ran. */
    cr_expect_eq(zinc_producer_publish(p, &w), 0, "%s", zinc_last_error());
    cr_expect_eq(zinc_consumer_release(c, &r), 0, "%s", zinc_last_error());
    for (uint64_t want = 2; want <= 3; want++) {
        cr_assert_eq(zinc_consumer_acquire(c, &r, 0), 0, "%s", zinc_last_error());
        cr_expect_eq(r.seq, want);
        cr_expect_eq(zinc_consumer_release(c, &r), 0);
    }
    zinc_consumer_close(c);
    zinc_producer_close(p);
}

/* Claim and acquire in a forked child: refused too (separately, since a
 * claim needs no claimed frame and an acquire no held one). */
Test(ring_live, forked_child_cannot_claim_or_acquire)
{
    skip_without_shm();
    zinc_ring_config cfg = ru_cfg(4, 256);
    zinc_producer *p = NULL;
    zinc_consumer *c = NULL;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0);
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_EVERY, &c), 0);
    zinc_frame w;
    cr_assert_eq(zinc_producer_claim(p, &w, 0), 0);
    cr_assert_eq(zinc_producer_publish(p, &w), 0);
    pid_t kid = fork();
    cr_assert_geq(kid, 0);
    if (kid == 0) {
        zinc_frame f;
        int bad = 0;
        if (zinc_producer_claim(p, &f, 0) != -22)
            bad |= 1;
        if (zinc_consumer_acquire(c, &f, 0) != -22)
            bad |= 2;
        _exit(bad);
    }
    int st;
    cr_assert_eq(waitpid(kid, &st, 0), kid);
    cr_assert(WIFEXITED(st));
    cr_expect_eq(WEXITSTATUS(st), 0, "not refused in the child (1 claim, 2 acquire): %#x",
                 WEXITSTATUS(st));
    zinc_frame r;
    cr_assert_eq(zinc_consumer_acquire(c, &r, 0), 0, "frame 1 is still unread in the parent");
    cr_expect_eq(r.seq, 1);
    cr_expect_eq(zinc_consumer_release(c, &r), 0);
    cr_expect_eq(zinc_producer_claim(p, &w, 0), 0, "the parent claims frame 2");
    cr_expect_eq(w.seq, 2);
    zinc_producer_abort(p, &w);
    zinc_consumer_close(c);
    zinc_producer_close(p);
}
