/* SPDX-License-Identifier: MIT */
/*
 * test-ring-wait.c — blocking calls under signals and hostile peers (issue
 * 13, findings 7 and 9) and the payload range (issue 12):
 *   - a handled signal (no SA_RESTART) ends acquire(-1), claim(-1) and
 *     zinc_wait_any(-1) with -4;
 *   - a peer that keeps moving head (or pub_futex) without publishing keeps
 *     a blocked acquire under 10% of a core;
 *   - zinc_consumer_mapping / zinc_producer_mapping: page-aligned, every
 *     slot's payload inside, the same range for every handle of a ring.
 */
#include <criterion/criterion.h>
#include <sched.h>

#include <zinc/ring.h>
#include <zinc/zinc.h>

#include "wait-util.h"

#include "ring-suite.h"

TestSuite(ring_wait, .init = ru_suite_setup, .fini = ru_suite_teardown, .timeout = 120);

static zinc_producer *make_producer(uint32_t slots, uint32_t spin_ns)
{
    zinc_ring_config cfg = ru_cfg(slots, 256);
    cfg.spin_ns = spin_ns;
    zinc_producer *p = NULL;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0, "%s", zinc_last_error());
    return p;
}

static zinc_consumer *open_consumer(zinc_delivery mode)
{
    zinc_consumer *c = NULL;
    cr_assert_eq(zinc_consumer_open(g_name, mode, &c), 0, "%s", zinc_last_error());
    return c;
}

/* ---- finding 9: EINTR ------------------------------------------------------------ */

static _Atomic int handled;

static void on_usr1(int sig)
{
    (void)sig;
    atomic_fetch_add(&handled, 1);
}

static void handler_without_restart(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: the program wants to hear of it */
    cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
}

enum call { CALL_ACQUIRE, CALL_CLAIM, CALL_WAIT_ANY };

struct blocked {
    enum call what;
    zinc_consumer *c;
    zinc_producer *p;
    _Atomic pid_t tid;
    _Atomic int done;
    int rc;
};

static void *block(void *arg)
{
    struct blocked *b = arg;
    atomic_store(&b->tid, wu_gettid());
    zinc_frame f;
    switch (b->what) {
    case CALL_ACQUIRE:
        b->rc = zinc_consumer_acquire(b->c, &f, -1);
        if (b->rc == 0)
            zinc_consumer_release(b->c, &f);
        break;
    case CALL_CLAIM:
        b->rc = zinc_producer_claim(b->p, &f, -1);
        if (b->rc == 0)
            zinc_producer_abort(b->p, &f);
        break;
    case CALL_WAIT_ANY:
        b->rc = zinc_wait_any(&b->c, 1, -1);
        break;
    }
    atomic_store(&b->done, 1);
    return NULL;
}

/* Start the call in a thread, wait until it sleeps in the kernel, signal
 * it (again every 20 ms, in case one landed between two sleeps) until it
 * returns, at most 5 s; then `unblock` so that a call that ignored the
 * signals still ends. Returns the call's code. */
static int interrupt(struct blocked *b, void (*unblock)(struct blocked *))
{
    handler_without_restart();
    atomic_store(&handled, 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, block, b), 0);
    while (atomic_load(&b->tid) == 0)
        sched_yield();
    cr_assert(wu_until_asleep(atomic_load(&b->tid)), "the call never slept");
    uint64_t t0 = ru_now_ns();
    while (!atomic_load(&b->done) && ru_now_ns() - t0 < 5000000000ull) {
        pthread_kill(t, SIGUSR1);
        uint64_t t1 = ru_now_ns();
        while (!atomic_load(&b->done) && ru_now_ns() - t1 < 20000000ull)
            sched_yield();
    }
    if (!atomic_load(&b->done))
        unblock(b);
    pthread_join(t, NULL);
    cr_expect_gt(atomic_load(&handled), 0, "the handler ran");
    return b->rc;
}

static void unblock_publish(struct blocked *b)
{
    wu_publish(b->p);
}

Test(ring_wait, acquire_returns_eintr)
{
    zinc_producer *p = make_producer(8, 1000);
    for (int m = 0; m < 3; m++) {
        struct blocked b = { .what = CALL_ACQUIRE, .p = p, .c = open_consumer((zinc_delivery)m) };
        int rc = interrupt(&b, unblock_publish);
        cr_expect_eq(rc, ZINC_EINTR, "mode %d: acquire(-1) under a signal returned %d", m, rc);
        zinc_consumer_close(b.c);
    }
    zinc_producer_close(p);
}

static void unblock_release(struct blocked *b)
{
    zinc_frame f;
    if (zinc_consumer_acquire(b->c, &f, 0) == 0)
        zinc_consumer_release(b->c, &f);
}

Test(ring_wait, claim_returns_eintr)
{
    zinc_producer *p = make_producer(2, 1000);
    zinc_consumer *c = open_consumer(ZINC_EVERY);
    wu_publish(p);
    wu_publish(p); /* the ring is full: the next claim waits for c */
    struct blocked b = { .what = CALL_CLAIM, .p = p, .c = c };
    int rc = interrupt(&b, unblock_release);
    cr_expect_eq(rc, ZINC_EINTR, "claim(-1) under a signal returned %d", rc);
    /* The producer is intact: the claim goes through once there is room. */
    unblock_release(&b);
    zinc_frame f;
    cr_expect_eq(zinc_producer_claim(p, &f, 1000000000), 0);
    cr_expect_eq(zinc_producer_abort(p, &f), 0);
    zinc_consumer_close(c);
    zinc_producer_close(p);
}

static void wait_any_eintr(void)
{
    zinc_producer *p = make_producer(8, 1000);
    struct blocked b = { .what = CALL_WAIT_ANY, .p = p, .c = open_consumer(ZINC_LATEST) };
    int rc = interrupt(&b, unblock_publish);
    cr_expect_eq(rc, ZINC_EINTR, "wait_any(-1) under a signal returned %d", rc);
    zinc_consumer_close(b.c);
    zinc_producer_close(p);
}

Test(ring_wait, wait_any_returns_eintr)
{
    wait_any_eintr();
}

Test(ring_wait, wait_any_returns_eintr_fallback)
{
    setenv("ZINC_NO_FUTEX_WAITV", "1", 1);
    wait_any_eintr();
}

Test(ring_wait, eintr_has_a_message)
{
    cr_expect_eq(ZINC_EINTR, -4);
    cr_expect(strstr(zinc_strerror(ZINC_EINTR), "signal") != NULL, "%s",
              zinc_strerror(ZINC_EINTR));
}

/* ---- finding 7: a hostile head ---------------------------------------------------- */

struct hostile {
    _Atomic uint64_t *head;
    _Atomic uint32_t *pub_futex; /* bumped (and woken) too, if set */
    _Atomic int stop;
    uint64_t writes;
};

static void *move_head(void *arg)
{
    struct hostile *h = arg;
    while (!atomic_load(&h->stop)) {
        if (h->head)
            atomic_fetch_add(h->head, 1);
        if (h->pub_futex) {
            atomic_fetch_add(h->pub_futex, 1);
            syscall(SYS_futex, h->pub_futex, 1 /* FUTEX_WAKE */, 1 << 30, NULL, NULL, 0);
        }
        h->writes++;
        struct timespec ts = { 0, 20000 }; /* far faster than the 50 ms checks */
        nanosleep(&ts, NULL);
    }
    return NULL;
}

struct victim {
    zinc_consumer *c;
    int64_t timeout_ns;
    int rc;
    double cpu_s, wall_s;
};

static void *blocked_acquire(void *arg)
{
    struct victim *v = arg;
    struct timespec a, b;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    uint64_t t0 = ru_now_ns();
    zinc_frame f;
    v->rc = zinc_consumer_acquire(v->c, &f, v->timeout_ns);
    if (v->rc == 0)
        zinc_consumer_release(v->c, &f);
    v->wall_s = (double)(ru_now_ns() - t0) / 1e9;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    v->cpu_s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    return NULL;
}

/* What a thread that never sleeps gets of a core here, now (the machine is
 * shared): a spinning victim would show about this much. */
static void *spin_share(void *arg)
{
    double *share = arg;
    struct timespec a, b;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    uint64_t t0 = ru_now_ns();
    while (ru_now_ns() - t0 < 300000000ull)
        __asm__ __volatile__("" ::: "memory");
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    double cpu = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    *share = cpu / ((double)(ru_now_ns() - t0) / 1e9);
    return NULL;
}

static void hostile_cpu(zinc_delivery mode, bool head, bool pub, double secs)
{
    zinc_producer *p = make_producer(8, 0);
    wu_publish(p);
    zinc_consumer *c = open_consumer(mode);
    uint8_t *raw;
    size_t len;
    struct zr_ctl *ctl = wu_ctl(g_name, &raw, &len);
    struct hostile h = { .head = head ? &ctl->head : NULL, .pub_futex = pub ? &ctl->pub_futex : NULL };
    struct victim v = { .c = c, .timeout_ns = (int64_t)(secs * 1e9) };
    pthread_t th, tv;
    cr_assert_eq(pthread_create(&th, NULL, move_head, &h), 0);
    double avail = 0;
    cr_assert_eq(pthread_create(&tv, NULL, spin_share, &avail), 0);
    pthread_join(tv, NULL);
    cr_assert_eq(pthread_create(&tv, NULL, blocked_acquire, &v), 0);
    pthread_join(tv, NULL);
    atomic_store(&h.stop, 1);
    pthread_join(th, NULL);
    double share = v.cpu_s / v.wall_s;
    printf("hostile %s%s%s, mode %d: acquire(%.0f s) returned %d after %.2f s using %.3f s of "
           "CPU (%.1f%% of a core; a spinning thread got %.0f%% here); the peer wrote %llu "
           "times\n",
           head ? "head" : "", head && pub ? " + " : "", pub ? "pub_futex" : "", (int)mode,
           secs, v.rc, v.wall_s, v.cpu_s, 100 * share, 100 * avail,
           (unsigned long long)h.writes);
    cr_expect(v.rc == ZINC_ETIMEDOUT || v.rc == ZINC_EBADMSG, "acquire returned %d", v.rc);
    cr_expect_lt(share, 0.10, "a blocked consumer used %.1f%% of a core under a hostile peer",
                 100 * share);
    /* On a loaded machine a spinner gets little of a core too: the victim
     * must also stay far below what spinning would get it. */
    cr_expect_lt(share, avail / 2, "a blocked consumer used %.1f%% of a core, a spinning "
                 "thread gets %.1f%% here", 100 * share, 100 * avail);
    munmap(raw, len);
    zinc_consumer_close(c);
    zinc_producer_close(p);
}

Test(ring_wait, hostile_head_keeps_cpu_low, .timeout = 60)
{
    hostile_cpu(ZINC_EVERY, true, false, 5.0);
}

Test(ring_wait, hostile_head_keeps_cpu_low_latest, .timeout = 60)
{
    hostile_cpu(ZINC_LATEST, true, false, 2.0);
}

Test(ring_wait, hostile_pub_futex_keeps_cpu_low, .timeout = 60)
{
    hostile_cpu(ZINC_LOSSY, false, true, 2.0);
}

Test(ring_wait, unmoving_corrupt_head_is_still_74)
{
    /* The chase's rests must not delay the verdict on a head that does not
     * move and whose slot never matches. */
    zinc_producer *p = make_producer(8, 0);
    wu_publish(p);
    for (int m = 0; m < 3; m++) {
        zinc_consumer *c = open_consumer((zinc_delivery)m);
        uint8_t *raw;
        size_t len;
        struct zr_ctl *ctl = wu_ctl(g_name, &raw, &len);
        atomic_store(&ctl->head, 100);
        uint64_t t0 = ru_now_ns();
        zinc_frame f;
        int r = zinc_consumer_acquire(c, &f, -1);
        cr_expect_eq(r, ZINC_EBADMSG, "mode %d: %d", m, r);
        cr_expect_lt(ru_now_ns() - t0, 2000000000ull, "mode %d: -74 took %.0f ms", m,
                     (double)(ru_now_ns() - t0) / 1e6);
        atomic_store(&ctl->head, 1);
        munmap(raw, len);
        zinc_consumer_close(c);
    }
    zinc_producer_close(p);
}

/* ---- the payload range -------------------------------------------------------------- */

Test(ring_wait, payload_mapping)
{
    zinc_ring_config cfg = ru_cfg(4, 5000); /* not a page multiple: stride rounds up */
    zinc_producer *p = NULL;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0);
    zinc_consumer *c = open_consumer(ZINC_EVERY);
    void *pb = NULL, *cb = NULL;
    size_t pl = 0, cl = 0;
    cr_assert_eq(zinc_producer_mapping(p, &pb, &pl), 0);
    cr_assert_eq(zinc_consumer_mapping(c, &cb, &cl), 0);
    size_t page = ru_page();
    cr_expect_eq((uintptr_t)pb % page, 0, "base page-aligned");
    cr_expect_eq(pl % page, 0, "length a page multiple");
    cr_expect_eq(pl, 4 * ((5000 + page - 1) / page * page));
    cr_expect_eq(pb, cb, "one mapping per ring in a process");
    cr_expect_eq(pl, cl);
    for (int i = 0; i < 10; i++) {
        zinc_frame f;
        cr_assert_eq(zinc_producer_claim(p, &f, -1), 0);
        cr_expect((uint8_t *)f.data >= (uint8_t *)pb &&
                      (uint8_t *)f.data + f.size <= (uint8_t *)pb + pl,
                  "slot of frame %llu inside", (unsigned long long)f.seq);
        f.size = 100;
        cr_assert_eq(zinc_producer_publish(p, &f), 0);
        cr_assert_eq(zinc_consumer_acquire(c, &f, 0), 0);
        cr_expect((uint8_t *)f.data >= (uint8_t *)cb &&
                      (uint8_t *)f.data + f.size <= (uint8_t *)cb + cl);
        cr_assert_eq(zinc_consumer_release(c, &f), 0);
    }
    /* Stable for the handle's life: the same answer later. */
    void *again;
    size_t l2;
    cr_assert_eq(zinc_consumer_mapping(c, &again, &l2), 0);
    cr_expect_eq(again, cb);
    /* mlock works on it, as an application would register it. */
    if (mlock(cb, cl) == 0)
        munlock(cb, cl);
    cr_expect_eq(zinc_consumer_mapping(NULL, &cb, &cl), ZINC_EINVAL);
    cr_expect_eq(zinc_consumer_mapping(c, NULL, &cl), ZINC_EINVAL);
    cr_expect_eq(zinc_producer_mapping(p, &pb, NULL), ZINC_EINVAL);
    cr_expect_eq(zinc_producer_mapping(NULL, &pb, &pl), ZINC_EINVAL);
    zinc_consumer_close(c);
    zinc_producer_close(p);
}
