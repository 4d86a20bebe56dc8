/* SPDX-License-Identifier: MIT */
/*
 * wait-util.h — helpers of the waiting tests (test-ring-fd.c,
 * test-wait-any.c, test-ring-wait.c): producers in child processes driven
 * through pipes, a raw view of a ring's control block, thread states read
 * from /proc (a thread is asleep in the kernel, not "probably asleep after
 * a sleep()").
 */
#ifndef ZINC_TESTS_WAIT_UTIL_H
#define ZINC_TESTS_WAIT_UTIL_H

#include <criterion/criterion.h>
#include <pthread.h>

#include "layout.h"
#include "ring-suite.h"
#include "ring-util.h"

/* A producer in its own process: it creates ring `name`, writes one byte
 * on `evt` when the ring exists, then waits for one byte on `cmd` before it
 * runs `body` (which publishes), closes and exits. */
typedef void (*wu_body)(zinc_producer *p, void *arg);

struct wu_producer {
    const char *name;
    uint32_t slots;
    uint64_t slot_size;
    wu_body body;
    void *arg;
};

static void wu_producer_main(int cmd, int evt, void *arg)
{
    const struct wu_producer *w = arg;
    zinc_ring_config cfg = ru_cfg(w->slots, w->slot_size);
    cfg.spin_ns = 1000;
    zinc_producer *p = NULL;
    if (zinc_producer_create(w->name, &cfg, &p) != 0)
        _exit(3);
    ru_signal(evt);
    if (ru_await(cmd, 60000) != 0)
        _exit(4);
    if (w->body)
        w->body(p, w->arg);
    zinc_producer_close(p);
}

static RU_UNUSED struct ru_kid wu_spawn_producer(const char *name, uint32_t slots,
                                                 uint64_t slot_size, wu_body body, void *arg)
{
    struct wu_producer w = { name, slots, slot_size, body, arg };
    struct ru_kid k = ru_spawn(wu_producer_main, &w, 120);
    cr_assert_eq(ru_await(k.evt, 20000), 0, "producer of %s did not start", name);
    return k;
}

static RU_UNUSED void wu_go(const struct ru_kid *k)
{
    cr_assert_eq(ru_signal(k->cmd), 0);
}

static RU_UNUSED void wu_finish(const struct ru_kid *k, int timeout_ms)
{
    int st = ru_reap(k->pid, timeout_ms);
    cr_expect(ru_exit_ok(st), "producer %d ended with status %d", (int)k->pid, st);
    close(k->cmd);
    close(k->evt);
}

/* The control block of ring `name` through a mapping of our own (to read
 * the waiter count, or to play a hostile peer). */
static RU_UNUSED struct zr_ctl *wu_ctl(const char *name, uint8_t **raw, size_t *len)
{
    *raw = ru_map_raw(name, len);
    cr_assert_not_null(*raw, "map %s", name);
    return (struct zr_ctl *)(*raw + ru_page());
}

/* One state letter of thread `tid` of this process ('S' asleep in the
 * kernel, 'R' running), '?' if unknown. */
static RU_UNUSED char wu_thread_state(pid_t tid)
{
    char p[96];
    snprintf(p, sizeof(p), "/proc/self/task/%d/stat", (int)tid);
    return ru_stat_state(p);
}

/* Wait (bounded, 5 s) until thread `tid` sleeps in the kernel. */
static RU_UNUSED bool wu_until_asleep(pid_t tid)
{
    uint64_t t0 = ru_now_ns();
    while (ru_now_ns() - t0 < 5000000000ull) {
        if (wu_thread_state(tid) == 'S')
            return true;
        sched_yield();
    }
    return false;
}

static RU_UNUSED pid_t wu_gettid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

/* Is fd readable right now? */
static RU_UNUSED bool wu_readable(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int r;
    do
        r = poll(&p, 1, 0);
    while (r < 0 && errno == EINTR);
    return r == 1 && (p.revents & POLLIN);
}

/* Wait up to timeout_ms for fd to turn readable. */
static RU_UNUSED bool wu_wait_readable(int fd, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int r;
    do
        r = poll(&p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    return r == 1 && (p.revents & POLLIN);
}

/* Publish one small frame carrying its seq (in-process producers). */
static RU_UNUSED void wu_publish(zinc_producer *p)
{
    cr_assert_eq(ru_produce(p, 64, false, false, 1000000000), 0);
}

#endif /* ZINC_TESTS_WAIT_UTIL_H */
