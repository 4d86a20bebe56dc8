/* SPDX-License-Identifier: MIT */
/*
 * test-ring-stress.c — one producer and three consumer PROCESSES on real
 * shared memory: every delivery mode alone and all three at once, with
 * frames of random sizes whose bytes are a pattern keyed by seq with an
 * embedded checksum; and a wake-up hammer (short bursts, everybody sleeping
 * with an infinite timeout, a watchdog on every burst).
 *
 * Default sizes keep the file within a few tens of seconds on two busy
 * cores; ZINC_LONG_TESTS=1 runs ten times more.
 *
 * The consumers are forked before the producer exists, so that no child
 * inherits the producer's file descriptor (and with it its liveness token).
 * They report through shared memory; a watchdog (pidfd poll in the parent,
 * alarm() in the children) turns any stall into a failure, never a hang.
 */
#include <criterion/criterion.h>

#include <zinc/ring.h>
#include <zinc/zinc.h>

#include "ring-util.h"

#include "ring-suite.h"

TestSuite(ring_stress, .init = ru_suite_setup, .fini = ru_suite_teardown);

#define MAX_CONS 4

struct run {
    const char *name;
    int nc;
    zinc_delivery modes[MAX_CONS];
    ru_result *res;           /* shared, one per consumer */
    pid_t pids[MAX_CONS];
    int go[2];                /* parent -> children: the ring exists */
    int ready[2];             /* children -> parent: attached */
    int ack[2];               /* children -> parent: burst end seen (hammer) */
    uint64_t slot_size;
    int watchdog_s;
    bool churn[MAX_CONS];     /* EVERY consumers that attach and detach repeatedly */
};

/* An EVERY consumer that keeps attaching, reading a few frames, and
 * detaching, while the producer runs: exercises the attach protocol (the
 * producer's cached gate and every_epoch). From its first frame on, each
 * attach must see consecutive, intact, never-torn frames. */
static void churn_main(struct run *r, int i)
{
    ru_result *res = &r->res[i];
    ru_rng rng = { (uint64_t)getpid() };
    bool first_attach = true;
    res->mode = ZINC_EVERY;
    for (;;) {
        zinc_consumer *c = NULL;
        int rc = zinc_consumer_open(r->name, ZINC_EVERY, &c);
        if (first_attach) {
            ru_signal(r->ready[1]);
            first_attach = false;
        }
        if (rc != 0) {
            res->final_rc = rc;
            if (rc != ZINC_ENOENT)
                ru_bad(res, RU_E_ACQUIRE, 0, (uint64_t)(int64_t)rc);
            break;
        }
        uint64_t want = ru_range(&rng, 1, 64), prev = 0;
        int ar = 0;
        for (uint64_t k = 0; k < want; k++) {
            zinc_frame f;
            ar = zinc_consumer_acquire(c, &f, -1);
            if (ar != 0)
                break;
            res->frames++;
            /* A new attach starts anywhere after its attach point; from
             * there on, consecutive frames. */
            if (prev && f.seq != prev + 1)
                ru_bad(res, RU_E_ORDER, f.seq, prev);
            if (f.dropped != 0)
                ru_bad(res, RU_E_DROPPED, f.seq, f.dropped);
            int chk = ru_check(f.data, f.size, f.seq, false);
            int rr = zinc_consumer_release(c, &f);
            if (rr != 0)
                ru_bad(res, rr == ZINC_EOVERFLOW ? RU_E_EVERY_TORN : RU_E_RELEASE, f.seq,
                       (uint64_t)(int64_t)rr);
            else if (chk != RU_OK)
                ru_bad(res, RU_E_ACCEPTED_BAD, f.seq, (uint64_t)chk);
            else
                res->intact++;
            prev = f.seq;
            res->last_seq = f.seq;
        }
        res->attaches++;
        zinc_consumer_close(c);
        if (ar != 0) {
            res->final_rc = ar;
            if (ar != ZINC_EPIPE)
                ru_bad(res, RU_E_ACQUIRE, prev, (uint64_t)(int64_t)ar);
            break;
        }
    }
    res->done = 1;
    _exit(0);
}

static void child_main(struct run *r, int i)
{
    alarm((unsigned)r->watchdog_s); /* a stalled child dies; the parent sees SIGALRM */
    close(r->go[1]);
    close(r->ready[0]);
    close(r->ack[0]);
    if (ru_await(r->go[0], r->watchdog_s * 1000) != 0)
        _exit(10);
    if (r->churn[i])
        churn_main(r, i);
    zinc_consumer *c = NULL;
    int rc = zinc_consumer_open(r->name, r->modes[i], &c);
    if (rc != 0) {
        r->res[i].final_rc = rc;
        _exit(11);
    }
    ru_signal(r->ready[1]);
    ru_consume(c, r->modes[i], -1, false, r->slot_size, r->ack[1], &r->res[i]);
    zinc_consumer_close(c);
    _exit(0);
}

/* Fork the consumers, create the producer, let them attach. */
static zinc_producer *start(struct run *r, const zinc_ring_config *cfg)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    r->res = ru_shared(sizeof(ru_result) * MAX_CONS);
    cr_assert_not_null(r->res);
    cr_assert_eq(pipe(r->go), 0);
    cr_assert_eq(pipe(r->ready), 0);
    cr_assert_eq(pipe(r->ack), 0);
    for (int i = 0; i < r->nc; i++) {
        pid_t pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0)
            child_main(r, i);
        r->pids[i] = pid;
    }
    close(r->go[0]);
    close(r->ready[1]);
    close(r->ack[1]);
    zinc_producer *p = NULL;
    int rc = zinc_producer_create(r->name, cfg, &p);
    cr_assert_eq(rc, 0, "create: %d (%s)", rc, zinc_last_error());
    for (int i = 0; i < r->nc; i++)
        ru_signal(r->go[1]);
    for (int i = 0; i < r->nc; i++)
        cr_assert_eq(ru_await(r->ready[0], 20000), 0, "consumer %d did not attach", i);
    return p;
}

/* Close the producer, reap the consumers, check what each one saw. */
static void finish(struct run *r, zinc_producer *p, uint64_t frames)
{
    zinc_producer_close(p);
    for (int i = 0; i < r->nc; i++) {
        int st = ru_reap(r->pids[i], r->watchdog_s * 1000);
        cr_expect(ru_exit_ok(st), "consumer %d (mode %d): status %d%s%s", i, (int)r->modes[i],
                  st, st == -110 ? " (watchdog)" : "",
                  st > 0 && WIFSIGNALED(st) ? " (killed by a signal)" : "");
    }
    for (int i = 0; i < r->nc; i++) {
        const ru_result *x = &r->res[i];
        cr_expect_eq(x->done, 1, "consumer %d did not finish", i);
        if (r->churn[i]) {
            cr_expect_eq(x->errors, 0,
                         "churning consumer %d: %llu errors, first: %s at seq %llu (detail %lld)",
                         i, (unsigned long long)x->errors, ru_what(x->bad_what),
                         (unsigned long long)x->bad_seq, (long long)x->bad_detail);
            cr_expect(x->final_rc == -32 || x->final_rc == -2, "churning consumer %d ended "
                      "with %d", i, x->final_rc);
            cr_expect_geq(x->attaches, 1, "attaches");
            cr_expect_eq(x->intact, x->frames);
            continue;
        }
        cr_expect_eq(x->errors, 0,
                     "consumer %d (mode %d): %llu errors, first: %s at seq %llu (detail %lld)",
                     i, (int)r->modes[i], (unsigned long long)x->errors, ru_what(x->bad_what),
                     (unsigned long long)x->bad_seq, (long long)x->bad_detail);
        cr_expect_eq(x->final_rc, -32, "consumer %d ended with %d", i, x->final_rc);
        cr_expect_eq(x->last_seq, frames, "consumer %d (mode %d) ended at seq %llu of %llu", i,
                     (int)r->modes[i], (unsigned long long)x->last_seq,
                     (unsigned long long)frames);
        cr_expect_eq(x->frames + x->dropped, x->last_seq,
                     "consumer %d: %llu frames + %llu dropped", i,
                     (unsigned long long)x->frames, (unsigned long long)x->dropped);
        if (r->modes[i] == ZINC_EVERY) {
            cr_expect_eq(x->frames, frames, "EVERY consumer %d saw %llu of %llu frames", i,
                         (unsigned long long)x->frames, (unsigned long long)frames);
            cr_expect_eq(x->intact, frames);
            cr_expect_eq(x->dropped, 0);
            cr_expect_eq(x->torn, 0);
        } else {
            cr_expect_geq(x->frames, 1);
            cr_expect_eq(x->intact + x->torn, x->frames);
        }
    }
    /* Producer closed and every consumer closed: the name is gone. */
    cr_expect(!ru_exists(r->name), "ring '%s' left behind in /dev/shm", r->name);
    close(r->go[1]);
    close(r->ready[0]);
    close(r->ack[0]);
    munmap(r->res, sizeof(ru_result) * MAX_CONS);
}

static void stress(zinc_delivery a, zinc_delivery b, zinc_delivery c)
{
    uint64_t frames = ru_long() ? 1000000 : 100000;
    struct run r = {
        .name = g_name, .nc = 3, .modes = { a, b, c }, .slot_size = 4096,
        .watchdog_s = ru_long() ? 1200 : 240,
    };
    zinc_ring_config cfg = ru_cfg(16, r.slot_size);
    zinc_producer *p = start(&r, &cfg);
    ru_rng rng = { (uint64_t)getpid() };
    for (uint64_t i = 0; i < frames; i++) {
        /* Mostly small frames (speed), some up to the whole slot. */
        uint64_t size = (i & 15) == 0 ? ru_range(&rng, 0, r.slot_size) : ru_range(&rng, 0, 512);
        int rc = ru_produce(p, size, false, false, 30 * 1000000000ll);
        cr_assert_eq(rc, 0, "frame %llu: %d (%s)", (unsigned long long)i + 1, rc,
                     zinc_last_error());
    }
    finish(&r, p, frames);
}

Test(ring_stress, every_x3, .timeout = 600)
{
    stress(ZINC_EVERY, ZINC_EVERY, ZINC_EVERY);
}

Test(ring_stress, lossy_x3, .timeout = 600)
{
    stress(ZINC_LOSSY, ZINC_LOSSY, ZINC_LOSSY);
}

Test(ring_stress, latest_x3, .timeout = 600)
{
    stress(ZINC_LATEST, ZINC_LATEST, ZINC_LATEST);
}

Test(ring_stress, mixed_modes, .timeout = 600)
{
    stress(ZINC_EVERY, ZINC_LOSSY, ZINC_LATEST);
}

Test(ring_stress, every_attach_churn, .timeout = 600)
{
    /* One EVERY consumer for the whole stream, two that attach, read 1..64
     * frames and detach, over and over, and a LATEST one. */
    uint64_t frames = ru_long() ? 1000000 : 100000;
    struct run r = {
        .name = g_name, .nc = 4, .modes = { ZINC_EVERY, ZINC_EVERY, ZINC_EVERY, ZINC_LATEST },
        .churn = { false, true, true, false }, .slot_size = 1024,
        .watchdog_s = ru_long() ? 1200 : 240,
    };
    zinc_ring_config cfg = ru_cfg(8, r.slot_size);
    zinc_producer *p = start(&r, &cfg);
    ru_rng rng = { (uint64_t)getpid() ^ 0x5eed };
    for (uint64_t i = 0; i < frames; i++) {
        int rc = ru_produce(p, ru_range(&rng, 0, 256), false, false, 30 * 1000000000ll);
        cr_assert_eq(rc, 0, "frame %llu: %d (%s)", (unsigned long long)i + 1, rc,
                     zinc_last_error());
    }
    finish(&r, p, frames);
}

/* Wake-up hammer: bursts of 1..4 frames on a 2-slot ring. After each burst
 * the producer waits (watchdog) until every consumer has seen the burst's
 * last frame, so every consumer goes back to sleep (infinite timeout)
 * before the next burst; the producer itself sleeps on the EVERY consumer
 * inside bursts longer than the ring (claim with an infinite timeout). */
static void hammer(uint32_t spin_ns, int bursts)
{
    struct run r = {
        .name = g_name, .nc = 3, .modes = { ZINC_EVERY, ZINC_LOSSY, ZINC_LATEST },
        .slot_size = 256, .watchdog_s = ru_long() ? 1200 : 240,
    };
    zinc_ring_config cfg = ru_cfg(2, r.slot_size);
    cfg.spin_ns = spin_ns;
    zinc_producer *p = start(&r, &cfg);
    ru_rng rng = { (uint64_t)getpid() * 31 };
    uint64_t frames = 0;
    for (int b = 0; b < bursts; b++) {
        uint64_t k = ru_range(&rng, 1, 4);
        for (uint64_t j = 0; j < k; j++) {
            int rc = ru_produce(p, ru_range(&rng, 8, r.slot_size), false, j == k - 1, -1);
            cr_assert_eq(rc, 0, "burst %d frame %llu: %d", b, (unsigned long long)j, rc);
            frames++;
        }
        for (int i = 0; i < r.nc; i++) {
            int w = ru_await(r.ack[0], 10000);
            if (w != 0) {
                for (int x = 0; x < r.nc; x++)
                    kill(r.pids[x], SIGKILL);
                cr_assert_fail("burst %d (frames up to %llu): a consumer stalled with frames "
                               "pending (%d)", b, (unsigned long long)frames, w);
            }
        }
    }
    finish(&r, p, frames);
}

Test(ring_stress, wakeup_hammer_sleepers, .timeout = 600)
{
    hammer(1, ru_long() ? 50000 : 2000);
}

Test(ring_stress, wakeup_hammer_default_spin, .timeout = 600)
{
    hammer(0, ru_long() ? 20000 : 1000);
}
