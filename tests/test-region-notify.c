/* SPDX-License-Identifier: MIT */
/*
 * Zinc regions: notify / wait / try_wait, in one process and across
 * processes (fork, each process opening its own handle). Contract:
 * docs/contract.md §1.6.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zinc/zinc.h>

#define REGION_TEST_PREFIX "rn"
#include "region-util.h"

#define LONG_WAIT_MS 20000u /* a lost wake-up shows as -110 after this */



static uintptr_t page(void)
{
    return (uintptr_t)sysconf(_SC_PAGESIZE);
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The header's notify_seq, read through the data pointer of a v1 handle. */
static _Atomic uint32_t *seq_word(ZincHandle h)
{
    return (_Atomic uint32_t *)(void *)(zinc_ptr(h) - 64 + 12);
}

/* Wait (bounded) until `pid` is asleep; it may also never get there before
 * the deadline, which the tests tolerate: the result must be the same. */
static void until_sleeping(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    uint64_t end = mono_ns() + 5000000000ull;
    while (mono_ns() < end) {
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            return;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
            return;
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        if (p && p[1] == ' ' && p[2] == 'S')
            return;
        sched_yield();
    }
}

static int reap(pid_t pid)
{
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "child died (signal %d)",
              WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return WEXITSTATUS(status);
}

TestSuite(region_notify, .init = need_shm, .fini = cleanup, .timeout = 60);

/* ---- one process ---------------------------------------------------------- */

Test(region_notify, try_wait_consumes)
{
    ZincHandle h;
    cr_assert_eq(zinc_create(tname("try"), page(), &h), 0);
    cr_assert_eq(zinc_try_wait(h), -11, "nothing notified yet");
    zinc_notify(h);
    cr_assert_eq(zinc_try_wait(h), 0);
    cr_assert_eq(zinc_try_wait(h), -11, "consumed");
    cr_assert_eq(zinc_try_wait(h), -11);
    zinc_notify(h);
    cr_assert_eq(zinc_try_wait(h), 0);
    zinc_close(h);
}

Test(region_notify, notify_counts_in_the_header)
{
    ZincHandle h;
    cr_assert_eq(zinc_create(tname("count"), page(), &h), 0);
    _Atomic uint32_t *w = seq_word(h);
    /* Relaxed: this thread's own notifies, read back in program order. */
    cr_assert_eq(atomic_load_explicit(w, memory_order_relaxed), 0);
    zinc_notify(h);
    zinc_notify(h);
    zinc_notify(h);
    cr_assert_eq(atomic_load_explicit(w, memory_order_relaxed), 3, "notify adds exactly 1");
    cr_assert_eq(zinc_wait(h, 0), 0);
    cr_assert_eq(atomic_load_explicit(w, memory_order_relaxed), 3, "wait does not write it");
    zinc_close(h);
}

Test(region_notify, timeout_zero_checks_once)
{
    ZincHandle h;
    cr_assert_eq(zinc_create(tname("t0"), page(), &h), 0);
    cr_assert_eq(zinc_wait(h, 0), -110, "nothing pending");
    zinc_notify(h);
    cr_assert_eq(zinc_wait(h, 0), 0, "pending");
    cr_assert_eq(zinc_wait(h, 0), -110, "consumed");
    zinc_close(h);
}

Test(region_notify, short_timeout_expires)
{
    ZincHandle h;
    cr_assert_eq(zinc_create(tname("tshort"), page(), &h), 0);
    uint64_t t0 = mono_ns();
    cr_assert_eq(zinc_wait(h, 30), -110);
    /* A lower bound only (it cannot flake): the timeout was honoured, the
     * call did not give up early. */
    cr_assert_geq(mono_ns() - t0, 30000000ull, "returned before its timeout");
    cr_assert_eq(zinc_try_wait(h), -11, "a timeout consumed nothing");
    zinc_close(h);
}

Test(region_notify, notifications_coalesce)
{
    ZincHandle h;
    cr_assert_eq(zinc_create(tname("coal"), page(), &h), 0);
    zinc_notify(h);
    zinc_notify(h);
    zinc_notify(h);
    cr_assert_eq(zinc_wait(h, 1000), 0);
    cr_assert_eq(zinc_try_wait(h), -11, "three notifies are one wake");
    cr_assert_eq(zinc_wait(h, 0), -110);
    zinc_close(h);
}

Test(region_notify, late_opener_sees_one_pending)
{
    ZincHandle h, late, early;
    cr_assert_eq(zinc_create(tname("late"), page(), &h), 0);
    cr_assert_eq(zinc_open(name_buf, &early), 0);
    cr_assert_eq(zinc_try_wait(early), -11, "opened before any notify");
    for (int i = 0; i < 5; i++)
        zinc_notify(h);
    cr_assert_eq(zinc_open(name_buf, &late), 0);
    cr_assert_eq(zinc_wait(late, 0), 0, "opened after 5 notifies: one pending at once");
    cr_assert_eq(zinc_try_wait(late), -11);
    cr_assert_eq(zinc_try_wait(early), 0);
    cr_assert_eq(zinc_try_wait(early), -11);
    cr_assert_eq(zinc_try_wait(h), 0, "the notifier's own handle has a cursor too");
    zinc_close(late);
    zinc_close(early);
    zinc_close(h);
}

Test(region_notify, counter_wraps)
{
    ZincHandle h, o;
    cr_assert_eq(zinc_create(tname("wrap"), page(), &h), 0);
    cr_assert_eq(zinc_open(name_buf, &o), 0);
    /* Relaxed: set-up before any waiter runs, same thread. */
    atomic_store_explicit(seq_word(h), UINT32_MAX, memory_order_relaxed);
    cr_assert_eq(zinc_try_wait(o), 0, "UINT32_MAX != 0");
    cr_assert_eq(zinc_try_wait(o), -11);
    zinc_notify(h); /* UINT32_MAX + 1 == 0 */
    cr_assert_eq(atomic_load_explicit(seq_word(h), memory_order_relaxed), 0);
    cr_assert_eq(zinc_try_wait(o), 0, "wrap to 0 is a change");
    cr_assert_eq(zinc_wait(o, 0), -110);
    zinc_close(o);
    zinc_close(h);
}

/* ---- across processes ------------------------------------------------------- */

/* The waiter in another process, blocked in the kernel, is woken. The data
 * written before notify is visible to it. */
Test(region_notify, wakes_waiter_in_other_process)
{
    const char *name = tname("xwake");
    ZincHandle h;
    cr_assert_eq(zinc_create(name, page(), &h), 0);
    int ready[2];
    cr_assert_eq(pipe(ready), 0);
    pid_t pid = fork_child();
    cr_assert(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        ZincHandle c;
        if (zinc_open(name, &c) != 0)
            _exit(10);
        if (write(ready[1], "w", 1) != 1)
            _exit(11);
        int r = zinc_wait(c, LONG_WAIT_MS);
        if (r != 0)
            _exit(r == -110 ? 12 : 13);
        if (strcmp((char *)zinc_ptr(c), "payload") != 0)
            _exit(14);
        if (zinc_try_wait(c) != -11)
            _exit(15);
        zinc_close(c);
        _exit(0);
    }
    close(ready[1]);
    char ch;
    cr_assert_eq(read(ready[0], &ch, 1), 1, "waiter never got ready");
    close(ready[0]);
    until_sleeping(pid); /* most likely inside FUTEX_WAIT now; fine if not */
    memcpy(zinc_ptr(h), "payload", 8);
    zinc_notify(h);
    int st = reap(pid);
    cr_assert_eq(st, 0, "waiter failed at step %d (12 = timed out: wake-up lost)", st);
    zinc_close(h);
}

/* The waiter is the creator; the notifier is another process. */
Test(region_notify, other_process_wakes_creator)
{
    const char *name = tname("xwake2");
    ZincHandle h;
    cr_assert_eq(zinc_create(name, page(), &h), 0);
    pid_t parent = getpid();
    pid_t pid = fork_child();
    cr_assert(pid >= 0);
    if (pid == 0) {
        ZincHandle c;
        if (zinc_open(name, &c) != 0)
            _exit(10);
        until_sleeping(parent);
        zinc_ptr(c)[0] = 42;
        zinc_notify(c);
        zinc_close(c);
        _exit(0);
    }
    cr_assert_eq(zinc_wait(h, LONG_WAIT_MS), 0, "wake-up lost");
    cr_assert_eq(zinc_ptr(h)[0], 42);
    cr_assert_eq(reap(pid), 0);
    zinc_close(h);
}

/* One notify wakes every waiter, in every process. */
Test(region_notify, wakes_all_waiters)
{
    enum { N = 3 };
    const char *name = tname("xall");
    ZincHandle h;
    cr_assert_eq(zinc_create(name, page(), &h), 0);
    int ready[2];
    cr_assert_eq(pipe(ready), 0);
    pid_t pids[N];
    for (int i = 0; i < N; i++) {
        pids[i] = fork_child();
        cr_assert(pids[i] >= 0);
        if (pids[i] == 0) {
            close(ready[0]);
            ZincHandle c;
            if (zinc_open(name, &c) != 0)
                _exit(10);
            if (write(ready[1], "w", 1) != 1)
                _exit(11);
            int r = zinc_wait(c, LONG_WAIT_MS);
            zinc_close(c);
            _exit(r == 0 ? 0 : 12);
        }
    }
    close(ready[1]);
    for (int i = 0; i < N; i++) {
        char ch;
        cr_assert_eq(read(ready[0], &ch, 1), 1);
    }
    close(ready[0]);
    for (int i = 0; i < N; i++)
        until_sleeping(pids[i]);
    zinc_notify(h);
    for (int i = 0; i < N; i++)
        cr_assert_eq(reap(pids[i]), 0, "waiter %d not woken", i);
    zinc_close(h);
}

Test(region_notify, timeout_in_other_process)
{
    const char *name = tname("xtimeout");
    ZincHandle h;
    cr_assert_eq(zinc_create(name, page(), &h), 0);
    pid_t pid = fork_child();
    cr_assert(pid >= 0);
    if (pid == 0) {
        ZincHandle c;
        if (zinc_open(name, &c) != 0)
            _exit(10);
        int r = zinc_wait(c, 50);
        int t = zinc_try_wait(c);
        zinc_close(c);
        _exit(r == -110 && t == -11 ? 0 : 12);
    }
    cr_assert_eq(reap(pid), 0, "expected -110 with nobody notifying");
    zinc_close(h);
}

Test(region_notify, coalesce_across_processes)
{
    const char *name = tname("xcoal");
    ZincHandle h;
    cr_assert_eq(zinc_create(name, page(), &h), 0);
    pid_t pid = fork_child();
    cr_assert(pid >= 0);
    if (pid == 0) {
        ZincHandle c;
        if (zinc_open(name, &c) != 0)
            _exit(10);
        zinc_notify(c);
        zinc_notify(c);
        zinc_notify(c);
        zinc_close(c);
        _exit(0);
    }
    cr_assert_eq(reap(pid), 0);
    cr_assert_eq(zinc_wait(h, LONG_WAIT_MS), 0);
    cr_assert_eq(zinc_try_wait(h), -11, "three notifies, one wake");
    cr_assert_eq(zinc_wait(h, 0), -110);
    zinc_close(h);
}

Test(region_notify, late_opener_in_other_process)
{
    const char *name = tname("xlate");
    ZincHandle h;
    cr_assert_eq(zinc_create(name, page(), &h), 0);
    for (int i = 0; i < 4; i++)
        zinc_notify(h);
    pid_t pid = fork_child();
    cr_assert(pid >= 0);
    if (pid == 0) {
        ZincHandle c;
        if (zinc_open(name, &c) != 0)
            _exit(10);
        int a = zinc_try_wait(c);
        int b = zinc_try_wait(c);
        zinc_close(c);
        _exit(a == 0 && b == -11 ? 0 : 12);
    }
    cr_assert_eq(reap(pid), 0, "a handle opened after 4 notifies sees one pending");
    zinc_close(h);
}

/* ---- signals and spurious wakes ------------------------------------------------ */

static volatile sig_atomic_t got_signals;

static void on_usr1(int sig)
{
    (void)sig;
    got_signals++;
}

/* A waiter bombarded with signals (EINTR) and with futex wakes that change
 * nothing (spurious) keeps waiting and times out: it never reports a
 * notification that did not happen. */
Test(region_notify, eintr_and_spurious_wakes_are_not_notifications)
{
    const char *name = tname("spur");
    ZincHandle h;
    cr_assert_eq(zinc_create(name, page(), &h), 0);
    int ready[2];
    cr_assert_eq(pipe(ready), 0);
    pid_t pid = fork_child();
    cr_assert(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_usr1; /* no SA_RESTART: the futex returns EINTR */
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGUSR1, &sa, NULL) != 0)
            _exit(9);
        ZincHandle c;
        if (zinc_open(name, &c) != 0)
            _exit(10);
        if (write(ready[1], "w", 1) != 1)
            _exit(11);
        uint64_t t0 = mono_ns();
        int r = zinc_wait(c, 400);
        uint64_t dt = mono_ns() - t0;
        zinc_close(c);
        if (r != -110)
            _exit(12); /* reported a notification nobody sent */
        if (dt < 400000000ull)
            _exit(13); /* gave up before its timeout */
        _exit(0);
    }
    close(ready[1]);
    char ch;
    cr_assert_eq(read(ready[0], &ch, 1), 1);
    close(ready[0]);
    _Atomic uint32_t *w = seq_word(h);
    int status = 0;
    pid_t done = 0;
    for (int i = 0; done == 0; i++) {
        if (i & 1)
            kill(pid, SIGUSR1);
        else
            syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
        done = waitpid(pid, &status, WNOHANG);
        if (done == 0)
            usleep(2000); /* pacing the noise, not synchronisation */
    }
    cr_assert_eq(done, pid);
    cr_assert(WIFEXITED(status));
    cr_assert_eq(WEXITSTATUS(status), 0, "waiter failed at step %d", WEXITSTATUS(status));
    zinc_close(h);
}

/* Many rounds of ping-pong between two processes: every notify is seen,
 * none is invented (each side waits for the other's exact count). */
Test(region_notify, ping_pong_rounds)
{
    enum { ROUNDS = 300 };
    const char *name = tname("pingpong");
    ZincHandle h;
    cr_assert_eq(zinc_create(name, page(), &h), 0);
    _Atomic uint32_t *turn = (_Atomic uint32_t *)(void *)zinc_ptr(h);
    pid_t pid = fork_child();
    cr_assert(pid >= 0);
    if (pid == 0) {
        ZincHandle c;
        if (zinc_open(name, &c) != 0)
            _exit(10);
        _Atomic uint32_t *t = (_Atomic uint32_t *)(void *)zinc_ptr(c);
        for (uint32_t i = 1; i <= ROUNDS; i++) {
            /* Acquire pairs with the parent's release store of the turn. */
            while (atomic_load_explicit(t, memory_order_acquire) != 2 * i - 1)
                if (zinc_wait(c, LONG_WAIT_MS) != 0)
                    _exit(11);
            /* Release pairs with the parent's acquire load. */
            atomic_store_explicit(t, 2 * i, memory_order_release);
            zinc_notify(c);
        }
        zinc_close(c);
        _exit(0);
    }
    for (uint32_t i = 1; i <= ROUNDS; i++) {
        /* Release pairs with the child's acquire load of the turn. */
        atomic_store_explicit(turn, 2 * i - 1, memory_order_release);
        zinc_notify(h);
        /* Acquire pairs with the child's release store. */
        while (atomic_load_explicit(turn, memory_order_acquire) != 2 * i)
            cr_assert_eq(zinc_wait(h, LONG_WAIT_MS), 0, "round %u: wake-up lost", i);
    }
    cr_assert_eq(reap(pid), 0);
    zinc_close(h);
}
