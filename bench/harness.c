/* SPDX-License-Identifier: MIT */
/*
 * harness.c — the helpers every part of zinc-bench uses (clock, pause,
 * dying with a message for the parent, waits with a deadline, pinning).
 * The run driver (zinc-bench.c) and the transports (transports.c, iox.c)
 * call into this file; it calls neither.
 */
#include "harness.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t zb_job_deadline_ns = 60ull * 1000000000ull;

uint64_t zb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void zb_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

_Noreturn void zb_die(struct zb_job *j, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "zinc-bench[%d]: %s\n", (int)getpid(), msg);
    if (j && j->error[0] == 0)
        snprintf(j->error, sizeof(j->error), "%s", msg);
    _exit(1);
}

uint64_t zb_wait_ge(struct zb_job *j, struct zb_word *w, uint64_t v)
{
    uint64_t t0 = 0;
    for (unsigned n = 0;; n++) {
        /* Pairs with the release store of whoever owns the word. */
        uint64_t x = atomic_load_explicit(&w->v, memory_order_acquire);
        if (x >= v)
            return x;
        zb_pause();
        if ((n & 0xffff) == 0) {
            uint64_t t = zb_now();
            if (t0 == 0)
                t0 = t;
            else if (t - t0 > zb_job_deadline_ns)
                zb_die(j, "peer did not answer within %llu s",
                       (unsigned long long)(zb_job_deadline_ns / 1000000000ull));
        }
    }
}

void zb_spin(struct zb_job *j, struct zb_spin *s, const char *what)
{
    zb_pause();
    if ((++s->n & 0xffff) != 0)
        return;
    uint64_t t = zb_now();
    if (s->t0 == 0)
        s->t0 = t;
    else if (t - s->t0 > zb_job_deadline_ns)
        zb_die(j, "%s: nothing for %llu s", what,
               (unsigned long long)(zb_job_deadline_ns / 1000000000ull));
}

/* Setup waits sleep: a spinning waiter would take the CPU from the peer
 * (or from RouDi) it is waiting for. */
void zb_wait_polite(struct zb_job *j, struct zb_word *w, uint64_t v)
{
    uint64_t t0 = zb_now();
    /* Pairs with the release store of whoever owns the word. */
    while (atomic_load_explicit(&w->v, memory_order_acquire) < v) {
        struct timespec ts = { 0, 100 * 1000 };
        nanosleep(&ts, NULL);
        if (zb_now() - t0 > zb_job_deadline_ns)
            zb_die(j, "peer not ready within %llu s",
                   (unsigned long long)(zb_job_deadline_ns / 1000000000ull));
    }
}

void zb_pin(int cpu)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    if (sched_setaffinity(0, sizeof(s), &s) != 0)
        fprintf(stderr, "zinc-bench: sched_setaffinity(%d): %s\n", cpu, strerror(errno));
}

void zb_spin_until(uint64_t t)
{
    while (zb_now() < t)
        zb_pause();
}
