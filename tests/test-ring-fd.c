/* SPDX-License-Identifier: MIT */
/*
 * test-ring-fd.c — zinc_consumer_fd (issue 12): readiness after a publish,
 * level-triggered as the caller sees it, no missed readiness over 100,000
 * frames with random pauses on both sides (spurious readiness counted),
 * two epoll sets, a dup'd descriptor, a producer that dies, fork, close
 * while another thread polls, blocking acquire beside the descriptor, and
 * the waiter count the producer pays for (zero while the watcher is busy).
 * The `_fallback` variants run with ZINC_NO_FUTEX_WAITV=1 (the helper
 * sleeps as on a kernel without futex_waitv).
 */
#include <criterion/criterion.h>
#include <sched.h>
#include <sys/epoll.h>

#include <zinc/ring.h>
#include <zinc/zinc.h>

#include "ring-internal.h"
#include "wait-util.h"

#include "ring-suite.h"

TestSuite(ring_fd, .init = ru_suite_setup, .fini = ru_suite_teardown, .timeout = 120);

static zinc_producer *make_producer(uint32_t slots)
{
    zinc_ring_config cfg = ru_cfg(slots, 256);
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

/* acquire(0) until -11, releasing; the number of frames taken. */
static int drain(zinc_consumer *c)
{
    int n = 0;
    for (;;) {
        zinc_frame f;
        int r = zinc_consumer_acquire(c, &f, 0);
        if (r == ZINC_EAGAIN)
            return n;
        cr_assert_eq(r, 0, "acquire %d", r);
        cr_assert_eq(zinc_consumer_release(c, &f), 0);
        n++;
    }
}

static uint32_t waiters(const struct zr_ctl *ctl)
{
    return atomic_load_explicit(&((struct zr_ctl *)ctl)->cons_waiters, memory_order_seq_cst);
}

Test(ring_fd, bad_arguments)
{
    cr_expect_eq(zinc_consumer_fd(NULL), ZINC_EINVAL);
}

Test(ring_fd, readable_after_publish_and_level_triggered)
{
    zinc_producer *p = make_producer(8);
    zinc_consumer *c = open_consumer(ZINC_EVERY);
    int fd = zinc_consumer_fd(c);
    cr_assert_geq(fd, 0, "%s", zinc_last_error());
    cr_expect_eq(zinc_consumer_fd(c), fd, "the same descriptor on every call");
    cr_expect(!wu_readable(fd), "nothing published: not readable");

    wu_publish(p);
    cr_expect(wu_wait_readable(fd, 5000), "readable after a publish");
    wu_publish(p);
    wu_publish(p);
    /* Level-triggered: taking frames without reaching -11 leaves it readable. */
    zinc_frame f;
    cr_assert_eq(zinc_consumer_acquire(c, &f, 0), 0);
    cr_assert_eq(zinc_consumer_release(c, &f), 0);
    cr_expect(wu_readable(fd), "two frames still pending: still readable");
    cr_assert_eq(zinc_consumer_acquire(c, &f, 0), 0);
    cr_assert_eq(zinc_consumer_release(c, &f), 0);
    cr_expect(wu_readable(fd), "one frame still pending: still readable");
    cr_expect_eq(drain(c), 1);
    cr_expect(!wu_readable(fd), "acquire answered -11: not readable");
    cr_expect_eq(zinc_consumer_acquire(c, &f, 0), ZINC_EAGAIN, "-11 again while armed");
    cr_expect(!wu_readable(fd));

    /* Frames published before the descriptor existed make it readable. */
    zinc_consumer *c2 = open_consumer(ZINC_LOSSY);
    wu_publish(p);
    int fd2 = zinc_consumer_fd(c2);
    cr_assert_geq(fd2, 0);
    cr_expect(wu_readable(fd2), "a frame was pending when the descriptor was made");
    cr_expect_eq(drain(c2), 1);
    cr_expect(!wu_readable(fd2));

    /* The producer closes: readable, and acquire says -32 after the drain. */
    cr_expect_eq(drain(c), 1);
    zinc_producer_close(p);
    cr_expect(wu_wait_readable(fd, 5000), "readable once the producer closed");
    cr_expect_eq(zinc_consumer_acquire(c, &f, 0), ZINC_EPIPE);
    zinc_consumer_close(c2);
    zinc_consumer_close(c);
}

Test(ring_fd, producer_pays_only_for_an_armed_watcher)
{
    /* The producer's hot path: it makes a system call per frame only while
     * cons_waiters != 0 (P3). An fd watcher counts there only while armed
     * (it saw nothing new); while it is busy with frames it does not. */
    zinc_producer *p = make_producer(8);
    zinc_consumer *c = open_consumer(ZINC_EVERY);
    uint8_t *raw;
    size_t len;
    struct zr_ctl *ctl = wu_ctl(g_name, &raw, &len);
    wu_publish(p);
    int fd = zinc_consumer_fd(c);
    cr_assert_geq(fd, 0);
    cr_expect_eq(waiters(ctl), 0, "a frame pending: the watcher is not armed");
    wu_publish(p);
    wu_publish(p);
    cr_expect_eq(waiters(ctl), 0, "publishing to a busy watcher: no waiter to wake");
    cr_expect_eq(drain(c), 3);
    cr_expect_eq(waiters(ctl), 1, "armed after -11: counted as a sleeper");
    wu_publish(p);
    cr_assert(wu_wait_readable(fd, 5000));
    /* The helper gives its count back before the descriptor turns readable. */
    cr_expect_eq(waiters(ctl), 0, "woken: no longer counted");
    wu_publish(p);
    cr_expect_eq(waiters(ctl), 0);
    cr_expect_eq(drain(c), 2);
    cr_expect_eq(waiters(ctl), 1);
    zinc_consumer_close(c);
    cr_expect_eq(waiters(ctl), 0, "close gives the count back");
    munmap(raw, len);
    zinc_producer_close(p);
}

/* ---- 100,000 frames with random pauses on both sides ----------------------------- */

struct random_run {
    uint64_t frames;
    uint64_t seed;
};

static void pause_random(ru_rng *r)
{
    uint64_t k = ru_range(r, 0, 999);
    if (k < 700)
        return;
    if (k < 900) {
        uint64_t t0 = ru_now_ns(), d = ru_range(r, 100, 20000);
        while (ru_now_ns() - t0 < d)
            zinc__cpu_relax();
        return;
    }
    uint64_t ns = k < 997 ? ru_range(r, 20000, 300000) : ru_range(r, 1000000, 3000000);
    struct timespec ts = { 0, (long)ns };
    nanosleep(&ts, NULL);
}

static void body_random(zinc_producer *p, void *arg)
{
    const struct random_run *a = arg;
    ru_rng r = { a->seed };
    for (uint64_t i = 0; i < a->frames; i++) {
        pause_random(&r);
        if (ru_produce(p, 64, false, false, -1) != 0)
            _exit(5);
    }
}

static void no_missed_readiness(uint64_t frames)
{
    struct random_run a = { frames, 0x5eed0fd };
    struct ru_kid k = wu_spawn_producer(g_name, 8, 64, body_random, &a);
    zinc_consumer *c = open_consumer(ZINC_EVERY);
    int fd = zinc_consumer_fd(c);
    cr_assert_geq(fd, 0);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN };
    cr_assert_eq(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
    wu_go(&k);

    ru_rng r = { 77 };
    uint64_t last = 0, wakes = 0, spurious = 0, partial = 0, after_partial = 0;
    bool gone = false, settled = true; /* the last drain ended in -11 */
    while (!gone) {
        int n = epoll_wait(ep, &ev, 1, 10000);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0) {
            zinc_frame f;
            int a0 = zinc_consumer_acquire(c, &f, 0);
            cr_assert_neq(a0, 0, "missed readiness: a frame (%llu) was there and the "
                          "descriptor was not readable for 10 s", (unsigned long long)f.seq);
            cr_assert_fail("no frame and no readiness for 10 s after frame %llu (acquire %d)",
                           (unsigned long long)last, a0);
        }
        wakes++;
        pause_random(&r);
        /* Sometimes take only part of what is there and go back to
         * epoll_wait: the descriptor must still be readable. */
        uint64_t budget = ru_range(&r, 0, 3) == 0 ? ru_range(&r, 1, 3) : UINT64_MAX;
        uint64_t got = 0;
        bool was_settled = settled;
        settled = false;
        for (;;) {
            if (got == budget) {
                partial++;
                break;
            }
            zinc_frame f;
            int rc = zinc_consumer_acquire(c, &f, 0);
            if (rc == ZINC_EAGAIN) {
                settled = true;
                break;
            }
            if (rc == ZINC_EPIPE) {
                gone = true;
                break;
            }
            cr_assert_eq(rc, 0, "acquire %d after frame %llu", rc, (unsigned long long)last);
            cr_assert_eq(f.seq, last + 1, "EVERY: frame %llu after %llu",
                         (unsigned long long)f.seq, (unsigned long long)last);
            last = f.seq;
            cr_assert_eq(zinc_consumer_release(c, &f), 0);
            got++;
        }
        /* Nothing behind a readiness: spurious, unless the previous drain
         * stopped before -11 (then the descriptor stays readable by
         * contract, whatever is left). */
        if (got == 0 && !gone) {
            if (was_settled)
                spurious++;
            else
                after_partial++;
        }
    }
    cr_expect_eq(last, frames, "every frame seen");
    printf("fd readiness%s: %llu frames, %llu wake-ups, %llu spurious (%.3f%%), %llu partial "
           "drains (%llu of them found nothing left)\n",
           getenv("ZINC_NO_FUTEX_WAITV") ? " (no futex_waitv)" : "",
           (unsigned long long)last, (unsigned long long)wakes, (unsigned long long)spurious,
           wakes ? 100.0 * (double)spurious / (double)wakes : 0.0, (unsigned long long)partial,
           (unsigned long long)after_partial);
    cr_expect_leq(spurious * 100, wakes, "spurious readiness must be rare (< 1%%)");
    close(ep);
    zinc_consumer_close(c);
    wu_finish(&k, 30000);
}

Test(ring_fd, no_missed_readiness_100k, .timeout = 300)
{
    no_missed_readiness(ru_long() ? 1000000 : 100000);
}

Test(ring_fd, no_missed_readiness_100k_fallback, .timeout = 300)
{
    setenv("ZINC_NO_FUTEX_WAITV", "1", 1);
    no_missed_readiness(100000);
}

/* ---- several waiters on one descriptor --------------------------------------------- */

Test(ring_fd, two_epoll_sets)
{
    zinc_producer *p = make_producer(8);
    zinc_consumer *c = open_consumer(ZINC_LATEST);
    int fd = zinc_consumer_fd(c);
    cr_assert_geq(fd, 0);
    int e1 = epoll_create1(EPOLL_CLOEXEC), e2 = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN };
    cr_assert_eq(epoll_ctl(e1, EPOLL_CTL_ADD, fd, &ev), 0);
    cr_assert_eq(epoll_ctl(e2, EPOLL_CTL_ADD, fd, &ev), 0);
    cr_expect_eq(epoll_wait(e1, &ev, 1, 0), 0);
    cr_expect_eq(epoll_wait(e2, &ev, 1, 0), 0);
    for (int round = 0; round < 3; round++) {
        wu_publish(p);
        cr_expect_eq(epoll_wait(e1, &ev, 1, 5000), 1, "set 1, round %d", round);
        cr_expect_eq(epoll_wait(e2, &ev, 1, 5000), 1, "set 2, round %d", round);
        /* Level-triggered: both keep reporting it until acquire says -11. */
        cr_expect_eq(epoll_wait(e1, &ev, 1, 0), 1);
        cr_expect_eq(drain(c), 1);
        cr_expect_eq(epoll_wait(e1, &ev, 1, 0), 0);
        cr_expect_eq(epoll_wait(e2, &ev, 1, 0), 0);
    }
    close(e1);
    close(e2);
    zinc_consumer_close(c);
    zinc_producer_close(p);
}

Test(ring_fd, dup_descriptor)
{
    zinc_producer *p = make_producer(8);
    zinc_consumer *c = open_consumer(ZINC_EVERY);
    int fd = zinc_consumer_fd(c);
    cr_assert_geq(fd, 0);
    int d = dup(fd);
    cr_assert_geq(d, 0);
    cr_expect(!wu_readable(d));
    wu_publish(p);
    cr_expect(wu_wait_readable(d, 5000), "the dup'd descriptor sees the readiness");
    cr_expect(wu_readable(fd));
    cr_expect_eq(drain(c), 1);
    cr_expect(!wu_readable(d), "and its end");
    close(d);
    wu_publish(p);
    cr_expect(wu_wait_readable(fd, 5000), "closing the dup leaves the original working");
    cr_expect_eq(drain(c), 1);
    zinc_consumer_close(c);
    zinc_producer_close(p);
}

Test(ring_fd, blocking_acquire_beside_the_descriptor)
{
    zinc_producer *p = make_producer(8);
    zinc_consumer *c = open_consumer(ZINC_EVERY);
    int fd = zinc_consumer_fd(c);
    cr_assert_geq(fd, 0);
    zinc_frame f;
    for (int i = 0; i < 20; i++) {
        wu_publish(p);
        /* A blocking acquire takes the frame; the descriptor may then be
         * readable once with nothing behind it, never stuck readable. */
        cr_assert_eq(zinc_consumer_acquire(c, &f, 1000000000), 0);
        cr_assert_eq(zinc_consumer_release(c, &f), 0);
        cr_assert_eq(zinc_consumer_acquire(c, &f, 1000000), ZINC_ETIMEDOUT);
        cr_expect_eq(zinc_consumer_acquire(c, &f, 0), ZINC_EAGAIN);
        cr_expect(!wu_readable(fd), "round %d: -11 leaves it not readable", i);
    }
    zinc_consumer_close(c);
    zinc_producer_close(p);
}

/* ---- a producer that dies ---------------------------------------------------------- */

static void body_hang(zinc_producer *p, void *arg)
{
    (void)arg;
    if (ru_produce(p, 64, false, false, -1) != 0)
        _exit(5);
    for (;;)
        pause(); /* killed by the test */
}

static void producer_death(void)
{
    struct ru_kid k = wu_spawn_producer(g_name, 4, 64, body_hang, NULL);
    zinc_consumer *c = open_consumer(ZINC_EVERY);
    int fd = zinc_consumer_fd(c);
    cr_assert_geq(fd, 0);
    wu_go(&k);
    cr_assert(wu_wait_readable(fd, 5000));
    cr_expect_eq(drain(c), 1);
    cr_expect(!wu_readable(fd));
    uint64_t t0 = ru_now_ns();
    kill(k.pid, SIGKILL);
    cr_expect(wu_wait_readable(fd, 5000), "readable after the producer died");
    double ms = (double)(ru_now_ns() - t0) / 1e6;
    zinc_frame f;
    cr_expect_eq(zinc_consumer_acquire(c, &f, 0), ZINC_EPIPE);
    printf("fd: a killed producer was noticed after %.0f ms\n", ms);
    zinc_consumer_close(c);
    int st = ru_reap(k.pid, 5000);
    cr_expect(WIFSIGNALED(st));
    close(k.cmd);
    close(k.evt);
}

Test(ring_fd, producer_death)
{
    producer_death();
}

Test(ring_fd, producer_death_fallback)
{
    setenv("ZINC_NO_FUTEX_WAITV", "1", 1);
    producer_death();
}

/* ---- fork ---------------------------------------------------------------------- */

Test(ring_fd, forked_child_cannot_steal)
{
    zinc_producer *p = make_producer(8);
    zinc_consumer *c = open_consumer(ZINC_EVERY);
    int fd = zinc_consumer_fd(c);
    cr_assert_geq(fd, 0);
    wu_publish(p); /* readable when the child is born */
    cr_assert(wu_wait_readable(fd, 5000));
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        /* The child's copy of the descriptor is closed: it can neither
         * read the parent's readiness nor keep it. Its copy of the handle
         * frees only local things. */
        uint64_t v;
        int bad = fcntl(fd, F_GETFD) != -1 || read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v);
        zinc_consumer_close(c);
        _exit(bad ? 1 : 0);
    }
    int st = ru_reap(pid, 10000);
    cr_expect(ru_exit_ok(st), "child saw the parent's descriptor open (status %d)", st);
    cr_expect(wu_readable(fd), "the parent's readiness is intact");
    cr_expect_eq(drain(c), 1);
    cr_expect(!wu_readable(fd));
    wu_publish(p);
    cr_expect(wu_wait_readable(fd, 5000), "and its next wake-up too");
    cr_expect_eq(drain(c), 1);
    zinc_consumer_close(c);
    zinc_producer_close(p);
}

/* ---- close while another thread polls -------------------------------------------- */

struct poller {
    int fd;
    _Atomic pid_t tid;
    _Atomic int done;
    int rc;
    short revents;
};

static void *poll_forever(void *arg)
{
    struct poller *w = arg;
    atomic_store(&w->tid, wu_gettid());
    struct pollfd p = { .fd = w->fd, .events = POLLIN };
    int r;
    do
        r = poll(&p, 1, -1);
    while (r < 0 && errno == EINTR);
    w->rc = r;
    w->revents = p.revents;
    atomic_store(&w->done, 1);
    return NULL;
}

Test(ring_fd, close_while_another_thread_polls)
{
    zinc_producer *p = make_producer(8);
    zinc_consumer *c = open_consumer(ZINC_EVERY);
    struct poller w = { .fd = zinc_consumer_fd(c) };
    cr_assert_geq(w.fd, 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, poll_forever, &w), 0);
    while (atomic_load(&w.tid) == 0)
        sched_yield();
    cr_assert(wu_until_asleep(atomic_load(&w.tid)), "the poller never slept");
    zinc_consumer_close(c);
    uint64_t t0 = ru_now_ns();
    while (!atomic_load(&w.done) && ru_now_ns() - t0 < 5000000000ull)
        sched_yield();
    cr_assert(atomic_load(&w.done), "the poller is still asleep 5 s after close");
    pthread_join(t, NULL);
    cr_expect_eq(w.rc, 1);
    cr_expect(w.revents & (POLLIN | POLLHUP | POLLNVAL));
    zinc_producer_close(p);
}

Test(ring_fd, close_while_armed_fallback)
{
    /* Without futex_waitv the helper sleeps on pub_futex alone: close must
     * still return (the kick) and give the waiter count back. */
    setenv("ZINC_NO_FUTEX_WAITV", "1", 1);
    zinc_producer *p = make_producer(8);
    uint8_t *raw;
    size_t len;
    struct zr_ctl *ctl = wu_ctl(g_name, &raw, &len);
    for (int i = 0; i < 5; i++) {
        zinc_consumer *c = open_consumer(ZINC_LOSSY);
        cr_assert_geq(zinc_consumer_fd(c), 0);
        cr_expect_eq(waiters(ctl), 1);
        zinc_consumer_close(c);
        cr_expect_eq(waiters(ctl), 0);
    }
    munmap(raw, len);
    zinc_producer_close(p);
}

/* ---- sealed anonymous rings (a memfd, no name) ------------------------------------ */

Test(ring_fd, anonymous_ring_descriptor_and_wait_any)
{
    /* The mechanisms need only the mapping and the token descriptor, which
     * an anonymous ring has as well. */
    zinc_ring_config cfg = ru_cfg(8, 256);
    cfg.flags = ZINC_RING_ANONYMOUS;
    zinc_producer *pa = NULL;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &pa), 0, "%s", zinc_last_error());
    int pfd = zinc_producer_fd(pa);
    cr_assert_geq(pfd, 0, "%s", zinc_last_error());
    zinc_consumer *ca = NULL;
    cr_assert_eq(zinc_consumer_open_fd(pfd, ZINC_EVERY, &ca), 0, "%s", zinc_last_error());
    close(pfd);
    int fd = zinc_consumer_fd(ca);
    cr_assert_geq(fd, 0);
    cr_expect(!wu_readable(fd));
    wu_publish(pa);
    cr_expect(wu_wait_readable(fd, 5000), "an anonymous ring's frame makes it readable");
    cr_expect_eq(drain(ca), 1);
    cr_expect(!wu_readable(fd));
    /* ... and zinc_wait_any over it and a named ring. */
    char named[200];
    snprintf(named, sizeof(named), "%s-n", g_name);
    zinc_ring_config nc = ru_cfg(8, 256);
    zinc_producer *pn = NULL;
    cr_assert_eq(zinc_producer_create(named, &nc, &pn), 0);
    zinc_consumer *cn = NULL;
    cr_assert_eq(zinc_consumer_open(named, ZINC_EVERY, &cn), 0);
    zinc_consumer *both[2] = { cn, ca };
    cr_expect_eq(zinc_wait_any(both, 2, 1000000), ZINC_ETIMEDOUT);
    wu_publish(pa);
    cr_expect_eq(zinc_wait_any(both, 2, 5000000000ll), 1);
    cr_expect_eq(drain(ca), 1);
    zinc_producer_close(pa);
    cr_expect(wu_wait_readable(fd, 5000), "readable once the anonymous producer closed");
    zinc_frame f;
    cr_expect_eq(zinc_consumer_acquire(ca, &f, 0), ZINC_EPIPE);
    cr_expect_eq(zinc_wait_any(both, 2, 0), 1, "a finished ring is ready (-32)");
    zinc_consumer_close(ca);
    zinc_consumer_close(cn);
    zinc_producer_close(pn);
    ru_cleanup(named);
}
