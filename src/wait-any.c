/* SPDX-License-Identifier: MIT */
/*
 * wait-any.c — zinc_wait_any: one thread waits on up to 128 consumers of
 * any rings at once (docs/design.md, "Waiting on many rings"). The same
 * spin-then-sleep policy as acquire; the sleep is W1..W3 on each ring,
 * then one futex_waitv over their pub_futex words (W4), then W5 on each,
 * so every producer sees an ordinary sleeper. Where the kernel has no
 * futex_waitv (< 5.16, or ZINC_NO_FUTEX_WAITV=1), it polls the consumers'
 * descriptors (consumer-fd.c) instead.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "ring-internal.h"

#define WAIT_ANY_MAX ZINC_FUTEX_WAITV_MAX

/* The order of returns, process-wide: a consumer's any_served is the value
 * this clock had when wait_any last returned it. Relaxed: a counter whose
 * values only need to be distinct and increasing. */
static _Atomic uint64_t served_clock;

/* kernel has no futex_waitv (learnt once per process) */
static _Atomic int no_waitv;

/* The ready consumer returned least recently (0: never), ties to the lowest
 * index; -1 if none is ready. */
static int pick(zinc_consumer *const *cs, uint32_t n)
{
    int best = -1;
    for (uint32_t i = 0; i < n; i++) {
        if (!zinc__consumer_ready(cs[i]))
            continue;
        if (best < 0 || cs[i]->any_served < cs[best]->any_served)
            best = (int)i;
    }
    if (best >= 0)
        cs[best]->any_served =
            atomic_fetch_add_explicit(&served_clock, 1, memory_order_relaxed) + 1;
    return best;
}

static int interrupted(void)
{
    return zinc__fail_static(ZINC_EINTR, "wait_any: interrupted by a signal handler");
}

static int timed_out(int64_t timeout_ns)
{
    return timeout_ns == 0 ? zinc__fail_static(ZINC_EAGAIN, "wait_any: none is ready")
                           : zinc__fail_static(ZINC_ETIMEDOUT, "wait_any: none became ready "
                                                               "within the timeout");
}

/* Without futex_waitv: each consumer's descriptor (its helper thread runs
 * the sleep protocol), one ppoll over them. A readable descriptor whose
 * consumer has nothing is settled (consumed and re-armed) as acquire's -11
 * would, or ppoll would return at once for ever. */
static int wait_fds(zinc_consumer *const *cs, uint32_t n, uint64_t deadline, int64_t timeout_ns)
{
    struct pollfd p[WAIT_ANY_MAX];
    for (uint32_t i = 0; i < n; i++) {
        int fd = zinc_consumer_fd(cs[i]);
        if (fd < 0)
            return fd;
        p[i].fd = fd;
        p[i].events = POLLIN;
    }
    for (;;) {
        int i = pick(cs, n);
        if (i >= 0)
            return i;
        for (uint32_t k = 0; k < n; k++) {
            int a = zinc__fdw_settle(cs[k]);
            if (a < 0)
                return a;
        }
        i = pick(cs, n); /* W3 of a settle may have seen something */
        if (i >= 0)
            return i;
        uint64_t now = now_ns();
        if (now >= deadline)
            return timed_out(timeout_ns);
        struct timespec ts, *tsp = NULL;
        if (deadline != UINT64_MAX) {
            ts.tv_sec = (time_t)((deadline - now) / ZINC_NSEC);
            ts.tv_nsec = (long)((deadline - now) % ZINC_NSEC);
            tsp = &ts;
        }
        if (ppoll(p, n, tsp, NULL) < 0 && errno == EINTR)
            return interrupted();
    }
}

ZINC_API int zinc_wait_any(zinc_consumer *const *cs, uint32_t n, int64_t timeout_ns)
{
    if (!cs || n == 0 || n > WAIT_ANY_MAX)
        return zinc__fail(ZINC_EINVAL, "wait_any: %u consumers (1..%u, and a non-NULL array)",
                          n, WAIT_ANY_MAX);
    uint32_t spin = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!cs[i])
            return zinc__fail(ZINC_EINVAL, "wait_any: consumer %u is NULL", i);
        if (map_forked(&cs[i]->m))
            return zinc__forked_fail("wait_any");
        if (cs[i]->spin_cur > spin)
            spin = cs[i]->spin_cur;
    }
    uint64_t start = 0, deadline = UINT64_MAX;
    bool slept = false;
    uint32_t idle_wakes = 0;
    for (;;) {
        int i = pick(cs, n);
        if (i >= 0)
            return i;
        if (timeout_ns == 0)
            return timed_out(0);
        uint64_t now = now_ns();
        if (start == 0) {
            start = now;
            if (timeout_ns > 0)
                deadline = start + (uint64_t)timeout_ns;
        }
        if (now >= deadline)
            return timed_out(timeout_ns);
        if (!slept && now - start < spin) {
            for (int k = 0; k < 32; k++)
                zinc__cpu_relax();
            continue;
        }
        slept = true;
        if (atomic_load_explicit(&no_waitv, memory_order_relaxed) || zinc__waitv_disabled())
            return wait_fds(cs, n, deadline, timeout_ns);

        /* Sleep protocol (docs/design.md), on every ring at once. */
        struct zinc__futex_waiter w[WAIT_ANY_MAX];
        uint32_t armed = 0;
        bool pending = false;
        for (; armed < n && !pending; armed++) {
            struct zr_ctl *ctl = cs[armed]->m.ctl;
            /* W1 seq_cst: totally ordered with that ring's publish fence P2. */
            atomic_fetch_add_explicit(&ctl->cons_waiters, 1, memory_order_seq_cst);
            w[armed].addr = &ctl->pub_futex;
            /* W2: acquire (seq_cst) pairs with P1's release store of pub_futex. */
            w[armed].val = atomic_load_explicit(&ctl->pub_futex, memory_order_seq_cst);
            w[armed].private_ = false;
            /* W3 */
            pending = zinc__consumer_w3(cs[armed]);
        }
        int r = 0;
        if (!pending) {
            /* W4: the kernel re-checks every word before sleeping. The
             * period bounds the time to notice a producer that died. */
            uint64_t until = now + LIVENESS_PERIOD_NS;
            r = zinc__futex_waitv(w, n, until < deadline ? until : deadline);
        }
        /* W5 release, each: ends our membership of the waiter counts. */
        for (uint32_t k = 0; k < armed; k++)
            atomic_fetch_sub_explicit(&cs[k]->m.ctl->cons_waiters, 1, memory_order_release);
        if (r == -EINTR)
            return interrupted();
        if (r == -ENOSYS)
            atomic_store_explicit(&no_waitv, 1, memory_order_relaxed);
        /* A word that moved, again and again, with nothing ready behind it
         * is a peer writing it, not publishing: rest (as acquire does). */
        if (r == -EAGAIN && ++idle_wakes > 8) {
            struct timespec ts = { 0, 1000000 };
            if (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL) == EINTR)
                return interrupted();
        }
    }
}
