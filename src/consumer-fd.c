/* SPDX-License-Identifier: MIT */
/*
 * consumer-fd.c — zinc_consumer_fd: a consumer's readiness as a file
 * descriptor for poll/epoll/select (docs/design.md, "Waiting through a
 * descriptor"). The descriptor is an eventfd; a helper thread per consumer
 * runs the sleep protocol (W4 of docs/design.md) on the ring's pub_futex
 * and writes the eventfd when it wakes. The consumer's thread does W1..W3
 * before handing the helper a value to wait on (the arm step, in acquire's
 * -11 path), the helper does W5 when it stops waiting, so the producer's
 * side (P1..P3) is unchanged: an armed descriptor is a sleeper.
 *
 * Why a thread and not an io_uring FUTEX_WAIT: measured in
 * docs/benchmarks.md ("Waiting through a descriptor"): an io_uring
 * completion runs as task work in the submitting thread, which interrupts
 * that thread's own epoll_wait with EINTR on every wake-up; with
 * DEFER_TASKRUN the ring's eventfd was signalled only ~16 ms late. The
 * helper costs one more (local) wake-up, ~1.1x a futex's latency.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ring-internal.h"

enum { FDW_FIRED = 0, FDW_ARMED = 1, FDW_FIRING = 2 };

struct zr_fdw {
    int efd;                      /* the descriptor the caller polls */
    pthread_t thread;
    /* Consumer -> helper. `ctl` is bumped after each change of the words
     * below (release), the helper sleeps on it (private futex). */
    _Atomic uint32_t ctl;
    _Atomic uint32_t quit;
    _Atomic uint32_t armed_v;     /* pub_futex as the arm step's W2 read it */
    /* FDW_ARMED: the helper waits on pub_futex != armed_v and owns one
     * count of cons_waiters; FDW_FIRING: it stopped (count given back) and
     * is writing the eventfd; FDW_FIRED: the eventfd holds a count.
     * Consumer: FIRED -> ARMED; helper: ARMED -> FIRING -> FIRED. Each side
     * writes its transitions with release and reads the other's with
     * acquire. FIRING exists because the eventfd write wakes the caller's
     * thread, often before the helper runs again (wake-up preemption): a
     * consumer that took "still ARMED" for "nothing happened" would leave
     * the count behind, a readiness with nothing behind it. */
    _Atomic uint32_t state;
    _Atomic uint64_t fires;       /* wake-ups delivered (statistics, tests) */
    _Atomic uint32_t no_waitv;    /* the helper sleeps on pub_futex alone
                                     (relaxed: a hint for close's kick) */
    _Atomic uint32_t dead;        /* the helper found the producer's token free */
    /* The ring as the helper sees it (valid until it is joined). */
    _Atomic uint32_t *pub_futex;
    _Atomic uint32_t *cons_waiters;
    _Atomic uint32_t *prod_state;
    int map_fd;                   /* the consumer's token descriptor */
};

/* ---- futex_waitv availability -------------------------------------------------- */

bool zinc__waitv_disabled(void)
{
    const char *e = getenv("ZINC_NO_FUTEX_WAITV");
    return e && e[0] == '1';
}

/* ---- the helper thread ----------------------------------------------------------- */

static bool producer_gone(const struct zr_fdw *w)
{
    /* Acquire: pairs with close's seq_cst store of CLOSED. */
    return atomic_load_explicit(w->prod_state, memory_order_acquire) != ZR_OPEN ||
           zinc__token_held(w->map_fd, ZR_TOKEN_PRODUCER) == 0;
}

/* Wait (armed) until pub_futex leaves v, the producer is gone, or we are
 * told to quit. Returns true to fire, false to quit. */
static bool wait_armed(struct zr_fdw *w, uint32_t v, uint32_t seen)
{
    bool waitv = !atomic_load_explicit(&w->no_waitv, memory_order_relaxed);
    for (;;) {
        if (atomic_load_explicit(&w->quit, memory_order_acquire))
            return false;
        /* Acquire: pairs with P1's release store of pub_futex. */
        if (atomic_load_explicit(w->pub_futex, memory_order_acquire) != v)
            return true;
        int r;
        if (waitv) {
            /* Both words in one sleep: a publish, or a word from our
             * consumer (quit), ends it at once. */
            struct zinc__futex_waiter fw[2] = {
                { w->pub_futex, v, false },
                { &w->ctl, seen, true },
            };
            r = zinc__futex_waitv(fw, 2, now_ns() + LIVENESS_PERIOD_NS);
            if (r == -ENOSYS) {
                /* Kernel < 5.16: close must kick pub_futex from now on. */
                atomic_store_explicit(&w->no_waitv, 1, memory_order_relaxed);
                waitv = false;
                continue;
            }
        } else {
            /* W4 alone; a quit kicks pub_futex (zinc__fdw_close). */
            r = zinc__futex_wait(w->pub_futex, v, (int64_t)LIVENESS_PERIOD_NS);
        }
        /* A sleep that ran its whole period: is the producer still there?
         * (The token, as acquire checks it; a dead producer never wakes
         * us.) Other returns loop to the checks above. */
        if (r == -ETIMEDOUT && producer_gone(w)) {
            /* Relaxed: published by the release store of FIRING (H6). */
            atomic_store_explicit(&w->dead, 1, memory_order_relaxed);
            return true;
        }
    }
}

static void *helper_main(void *arg)
{
    struct zr_fdw *w = arg;
    uint32_t seen = 0;
    for (;;) {
        /* Acquire: pairs with the consumer's release bump of ctl, after
         * it stored armed_v, state and quit. */
        uint32_t k = atomic_load_explicit(&w->ctl, memory_order_acquire);
        if (k == seen) {
            (void)zinc__futex_wait_private(&w->ctl, seen, -1);
            continue;
        }
        seen = k;
        if (atomic_load_explicit(&w->quit, memory_order_acquire)) {
            /* Armed and told to quit before we started waiting: the count
             * the arm step took is still ours to give back (W5). */
            if (atomic_load_explicit(&w->state, memory_order_acquire) == FDW_ARMED)
                atomic_fetch_sub_explicit(w->cons_waiters, 1, memory_order_release);
            break;
        }
        if (atomic_load_explicit(&w->state, memory_order_acquire) != FDW_ARMED)
            continue;
        uint32_t v = atomic_load_explicit(&w->armed_v, memory_order_relaxed); /* under ctl */
        bool fire = wait_armed(w, v, seen); /* H4 = W4 */
        /* H5 = W5, release: the count the arm step took is ours to give
         * back; nobody synchronises on it. */
        atomic_fetch_sub_explicit(w->cons_waiters, 1, memory_order_release);
        if (!fire) {
            atomic_store_explicit(&w->state, FDW_FIRED, memory_order_release);
            break;
        }
        /* H6. Release: W5 (and `dead`) before the consumer, seeing
         * FIRING, goes on to re-arm. */
        atomic_store_explicit(&w->state, FDW_FIRING, memory_order_release);
        uint64_t one = 1;
        ssize_t n;
        do
            n = write(w->efd, &one, sizeof(one));
        while (n < 0 && errno == EINTR);
        atomic_fetch_add_explicit(&w->fires, 1, memory_order_relaxed); /* statistics */
        /* Release: the eventfd count is in place before the consumer,
         * seeing FIRED, reads it to consume the readiness. */
        atomic_store_explicit(&w->state, FDW_FIRED, memory_order_release);
    }
    return NULL;
}

/* ---- the consumer's side --------------------------------------------------------- */

static void kick(struct zr_fdw *w)
{
    /* Release: armed_v, state and quit are stored before the helper,
     * seeing the new ctl, reads them. */
    atomic_fetch_add_explicit(&w->ctl, 1, memory_order_release);
    zinc__futex_wake_private(&w->ctl);
}

static void fire_now(struct zr_fdw *w)
{
    uint64_t one = 1;
    ssize_t n;
    do
        n = write(w->efd, &one, sizeof(one));
    while (n < 0 && errno == EINTR);
}

/* The arm step A1..A4 (docs/design.md), with the helper idle (FIRED):
 * W1..W3 as a sleeper, then hand the helper W4. 1 when W3 saw something
 * (nothing armed, the readiness left as it is), 0 when armed. */
static int arm(struct zinc_consumer *c, struct zr_fdw *w)
{
    struct zr_ctl *ctl = c->m.ctl;
    /* A1 = W1, seq_cst: totally ordered with publish's fence P2. */
    atomic_fetch_add_explicit(&ctl->cons_waiters, 1, memory_order_seq_cst);
    /* A2 = W2: acquire (seq_cst) pairs with P1's release store of pub_futex. */
    uint32_t v = atomic_load_explicit(&ctl->pub_futex, memory_order_seq_cst);
    /* A3 = W3 */
    if (zinc__consumer_w3(c)) {
        /* W5 release: ends our membership of the waiter count. */
        atomic_fetch_sub_explicit(&ctl->cons_waiters, 1, memory_order_release);
        return 1;
    }
    /* A4. Nothing for us as of W3: the readiness the eventfd holds (if
     * any) is used up. Only the helper writes the eventfd, and it is idle. */
    uint64_t cnt;
    ssize_t n;
    do
        n = read(w->efd, &cnt, sizeof(cnt));
    while (n < 0 && errno == EINTR);
    atomic_store_explicit(&w->armed_v, v, memory_order_relaxed); /* published by kick */
    atomic_store_explicit(&w->state, FDW_ARMED, memory_order_relaxed); /* idem */
    kick(w);
    return 0;
}

int zinc__fdw_settle(struct zinc_consumer *c)
{
    struct zr_fdw *w = c->fdw;
    /* Acquire: pairs with the helper's release store of FIRED (its
     * eventfd write and W5 happen before). ARMED: nothing has come since
     * the arm step, or the helper is about to fire; either way -11 is
     * right and the descriptor will turn readable when something comes. */
    uint32_t st = atomic_load_explicit(&w->state, memory_order_acquire);
    if (st == FDW_ARMED)
        return 0;
    /* The helper is between its decision and its eventfd write (a system
     * call; longer only if it was preempted, by us for instance: yield). */
    while (st == FDW_FIRING) {
        sched_yield();
        st = atomic_load_explicit(&w->state, memory_order_acquire);
    }
    /* The helper fired because the producer died: acquire's own token
     * check may be rate-limited right now, so tell it (it answers -32
     * once drained; the descriptor stays readable). Relaxed: after the
     * acquire load of FIRED above, which the helper stored after `dead`. */
    if (atomic_load_explicit(&w->dead, memory_order_relaxed)) {
        c->prod_dead = true;
        return 1;
    }
    return arm(c, w);
}

ZINC_API int zinc_consumer_fd(zinc_consumer *c)
{
    if (!c)
        return zinc__fail(ZINC_EINVAL, "consumer_fd: NULL consumer");
    /* First: a forked child's copy of fdw names a descriptor closed at fork. */
    if (map_forked(&c->m))
        return zinc__forked_fail("consumer_fd");
    if (c->fdw)
        return c->fdw->efd;
    struct zr_fdw *w = calloc(1, sizeof(*w));
    if (!w)
        return zinc__fail(-ENOMEM, "consumer_fd: out of memory");
    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->efd < 0) {
        int e = errno;
        free(w);
        return zinc__fail(-e, "consumer_fd: eventfd: %s", strerror(e));
    }
    w->pub_futex = &c->m.ctl->pub_futex;
    w->cons_waiters = &c->m.ctl->cons_waiters;
    w->prod_state = &c->m.ctl->prod_state;
    w->map_fd = c->m.fd;
    atomic_store_explicit(&w->state, FDW_FIRED, memory_order_relaxed); /* before the thread */
    atomic_store_explicit(&w->no_waitv, zinc__waitv_disabled(), memory_order_relaxed);

    /* The helper takes no signal (they are the application's, and EINTR
     * is what its own calls should see) and needs little stack. */
    pthread_attr_t attr;
    sigset_t all, old;
    sigfillset(&all);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&w->thread, &attr, helper_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (e != 0) {
        close(w->efd);
        free(w);
        return zinc__fail(e == EAGAIN ? -EAGAIN : -e, "consumer_fd: cannot start its helper "
                          "thread: %s", strerror(e));
    }
#ifdef __GLIBC__
    (void)pthread_setname_np(w->thread, "zinc-fd");
#endif
    /* A forked child closes its copy at once (ring-map.c's registry): one
     * that read it would take the parent's wake-ups. */
    zinc__fork_close_add(w->efd);
    c->fdw = w;
    /* Start as "readable", then settle: armed if nothing is there yet, or
     * left readable for what is. */
    fire_now(w);
    if (arm(c, w) < 0)
        return zinc__fail(ZINC_EINVAL, "consumer_fd: cannot arm"); /* not reached */
    return w->efd;
}

void zinc__fdw_close(struct zinc_consumer *c)
{
    struct zr_fdw *w = c->fdw;
    if (!w)
        return;
    c->fdw = NULL;
    if (map_forked(&c->m)) {
        /* A forked child's copy (made by its parent: consumer_fd refuses a
         * forked handle): no helper here, the descriptor was closed
         * at fork, the waiter count is the parent's. */
        free(w);
        return;
    }
    atomic_store_explicit(&w->quit, 1, memory_order_relaxed); /* published by kick */
    kick(w);
    if (atomic_load_explicit(&w->no_waitv, memory_order_relaxed)) {
        /* Without futex_waitv the helper sleeps on pub_futex alone: wake
         * that word (the ring's other sleepers re-check and sleep again).
         * A helper between its quit check and its sleep misses this and
         * notices within LIVENESS_PERIOD_NS. */
        zinc__futex_wake(w->pub_futex);
    }
    pthread_join(w->thread, NULL);
    zinc__fork_close_del(w->efd);
    /* A thread polling the descriptor right now wakes up (readable)
     * rather than sleeping on a closed descriptor. */
    fire_now(w);
    close(w->efd);
    free(w);
}

uint64_t zinc__fdw_fires(const struct zinc_consumer *c)
{
    return c && c->fdw ? atomic_load_explicit(&c->fdw->fires, memory_order_relaxed) : 0;
}
