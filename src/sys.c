/* SPDX-License-Identifier: MIT */
/* Below every layer: page size, process liveness and start times, random
 * ids, OFD-lock liveness tokens and shared futexes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "private.h"

long zinc__page_size(void)
{
    static _Atomic long cached;
    /* Relaxed: an idempotent cache of a constant; racing writers store the
     * same value. */
    long p = atomic_load_explicit(&cached, memory_order_relaxed);
    if (!p) {
        p = sysconf(_SC_PAGESIZE);
        if (p <= 0)
            p = 4096;
        atomic_store_explicit(&cached, p, memory_order_relaxed);
    }
    return p;
}

/* /proc/<pid>/stat: state is field 3, starttime (clock ticks since boot)
 * field 22. The command name (field 2) may contain spaces and parentheses,
 * so parse from the last ')'. */
static int proc_stat(int32_t pid, char *state, unsigned long long *start_ticks)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -EIO;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return -EIO;
    p += 2;
    *state = *p;
    /* skip fields 3..21 (19 fields) to reach 22 */
    for (int f = 3; f < 22; f++) {
        p = strchr(p, ' ');
        if (!p)
            return -EIO;
        p++;
    }
    *start_ticks = strtoull(p, NULL, 10);
    return 0;
}

static uint64_t boot_time_unix_ns(void)
{
    /* CLOCK_REALTIME - CLOCK_BOOTTIME is the boot instant with ns precision
     * (btime in /proc/stat is whole seconds). */
    return zinc__now_ns(CLOCK_REALTIME) - zinc__now_ns(CLOCK_BOOTTIME);
}

uint64_t zinc__proc_start_ns(int32_t pid)
{
    char state;
    unsigned long long ticks;
    if (pid <= 0 || proc_stat(pid, &state, &ticks) < 0)
        return 0;
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0)
        hz = 100;
    return boot_time_unix_ns() + (uint64_t)(ticks * (1000000000ull / (unsigned long long)hz));
}

bool zinc__pid_alive(int32_t pid, uint64_t created_at_unix_ns)
{
    if (pid <= 0)
        return false;
    if (kill(pid, 0) < 0 && errno == ESRCH)
        return false;
    char state;
    unsigned long long ticks;
    if (proc_stat(pid, &state, &ticks) < 0)
        return true; /* exists (kill said so) but /proc hidden: assume alive */
    if (state == 'Z' || state == 'X')
        return false; /* exited, not yet reaped: dead for our purposes */
    if (created_at_unix_ns) {
        uint64_t start = zinc__proc_start_ns(pid);
        /* Tick granularity (10 ms) and clock adjustments are far below 2 s. */
        if (start && start > created_at_unix_ns + 2000000000ull)
            return false; /* pid reused by a process born after the region */
    }
    return true;
}

uint64_t zinc__random_u64(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v) || v == 0)
        v = zinc__now_ns(CLOCK_REALTIME) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&v;
    return v;
}

static int ofd_lock(int fd, int cmd, short type, uint64_t byte, struct flock *out)
{
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = (off_t)byte;
    fl.l_len = 1;
    fl.l_pid = 0; /* required for OFD locks */
    int r;
    do {
        r = fcntl(fd, cmd, &fl);
    } while (r < 0 && errno == EINTR);
    if (out)
        *out = fl;
    return r < 0 ? -errno : 0;
}

int zinc__token_take(int fd, uint64_t byte)
{
    int r = ofd_lock(fd, F_OFD_SETLK, F_WRLCK, byte, NULL);
    if (r == -EACCES)
        r = -EAGAIN;
    return r;
}

int zinc__token_held(int fd, uint64_t byte)
{
    struct flock fl;
    int r = ofd_lock(fd, F_OFD_GETLK, F_WRLCK, byte, &fl);
    if (r < 0)
        return r;
    return fl.l_type != F_UNLCK;
}

void zinc__token_drop(int fd, uint64_t byte)
{
    (void)ofd_lock(fd, F_OFD_SETLK, F_UNLCK, byte, NULL);
}

/* FUTEX_WAIT (shared: the word lives in a MAP_SHARED mapping and the
 * waker may be another process) or FUTEX_WAIT_PRIVATE, with a relative
 * timeout (negative: none). 0 or -errno. */
static int futex_wait_op(_Atomic uint32_t *addr, int op, uint32_t expected, int64_t timeout_ns)
{
    struct timespec ts, *tsp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        tsp = &ts;
    }
    long r = syscall(SYS_futex, (uint32_t *)addr, op, expected, tsp, NULL, 0);
    return r < 0 ? -errno : 0;
}

int zinc__futex_wait(_Atomic uint32_t *addr, uint32_t expected, int64_t timeout_ns)
{
    return futex_wait_op(addr, FUTEX_WAIT, expected, timeout_ns);
}

void zinc__futex_wake(_Atomic uint32_t *addr)
{
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* futex_waitv (Linux >= 5.16): sleep until one of the words differs from
 * its value or is woken. Kernel headers older than 5.16 lack the call:
 * -ENOSYS then, as on an older kernel. */
#ifndef FUTEX_32
#define FUTEX_32 2
#endif

int zinc__futex_waitv(const struct zinc__futex_waiter *w, uint32_t n, uint64_t deadline_ns)
{
#ifdef SYS_futex_waitv
    struct futex_waitv v[ZINC_FUTEX_WAITV_MAX];
    if (n == 0 || n > ZINC_FUTEX_WAITV_MAX)
        return -EINVAL;
    for (uint32_t i = 0; i < n; i++) {
        v[i].val = w[i].val;
        v[i].uaddr = (uint64_t)(uintptr_t)w[i].addr;
        /* Shared unless asked: the word may live in another process's
         * mapping of the same object. */
        v[i].flags = FUTEX_32 | (w[i].private_ ? FUTEX_PRIVATE_FLAG : 0);
        v[i].__reserved = 0;
    }
    struct timespec ts, *tsp = NULL;
    if (deadline_ns != UINT64_MAX) {
        ts.tv_sec = (time_t)(deadline_ns / ZINC_NSEC);
        ts.tv_nsec = (long)(deadline_ns % ZINC_NSEC);
        tsp = &ts;
    }
    long r = syscall(SYS_futex_waitv, v, n, 0, tsp, CLOCK_MONOTONIC);
    return r < 0 ? -errno : (int)r;
#else
    (void)w;
    (void)n;
    (void)deadline_ns;
    return -ENOSYS;
#endif
}

int zinc__futex_wait_private(_Atomic uint32_t *addr, uint32_t expected, int64_t timeout_ns)
{
    return futex_wait_op(addr, FUTEX_WAIT_PRIVATE, expected, timeout_ns);
}

void zinc__futex_wake_private(_Atomic uint32_t *addr)
{
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}
