/* SPDX-License-Identifier: MIT */
/* System helpers: names, clocks, process liveness, OFD-lock tokens,
 * shared futexes, /dev/shm space. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "private.h"

uint64_t zinc__fnv1a64(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

ZINC_API uint64_t zinc_name_hash(const char *name)
{
    return name ? zinc__fnv1a64(name, strlen(name)) : 0;
}

ZINC_API int32_t zinc_name_valid(const char *name)
{
    if (!name)
        return ZINC_EINVAL;
    size_t n = 0;
    for (; name[n]; n++) {
        char ch = name[n];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
        if (!ok || n >= ZINC_NAME_MAX)
            return ZINC_EINVAL;
    }
    return n ? ZINC_OK : ZINC_EINVAL;
}

int zinc__obj_name(const char *name, char *obj)
{
    if (zinc_name_valid(name) != ZINC_OK)
        return zinc__fail(ZINC_EINVAL,
                          "invalid name '%.40s%s': use 1..%d characters from [A-Za-z0-9_-]",
                          name ? name : "(null)", name && strlen(name) > 40 ? "..." : "",
                          ZINC_NAME_MAX);
    snprintf(obj, ZINC_OBJ_NAME_MAX, "/zinc_%s", name);
    return ZINC_OK;
}

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

uint64_t zinc__now_ns(int clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
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

uint64_t zinc__shm_free_bytes(void)
{
    struct statvfs sv;
    if (statvfs("/dev/shm", &sv) < 0)
        return UINT64_MAX;
    return (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
}

/* Byte of the object that removers of its name lock (beyond any token byte
 * and beyond EOF, where locks are allowed). */
#define UNLINK_LOCK_BYTE ((off_t)1 << 62)

int zinc__unlink_if_same(const char *obj, dev_t dev, ino_t ino)
{
    /* Checking the name and unlinking it are two steps: between them
     * another remover could unlink this object and a replacement take the
     * name, which we would then remove. So every remover holds a write lock
     * on the object itself across both steps: while we hold it, the name
     * cannot move from this object to another (removing it needs the lock,
     * a replacement needs the name free). */
    char path[ZINC_OBJ_NAME_MAX + 16];
    struct stat st;
    snprintf(path, sizeof(path), "/dev/shm%s", obj);
    int fd = shm_open(obj, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0 && errno != EACCES)
        return -errno;
    if (fd >= 0) {
        if (fstat(fd, &st) < 0 || st.st_dev != dev || st.st_ino != ino) {
            close(fd);
            return ZINC_EEXIST; /* the name refers to a replacement: keep it */
        }
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET,
                           .l_start = UNLINK_LOCK_BYTE, .l_len = 1};
        while (fcntl(fd, F_OFD_SETLKW, &fl) < 0 && errno == EINTR)
            ;
    }
    /* fd < 0: no write access, so no lock; unlinking is then most likely
     * refused anyway (sticky /dev/shm). */
    int r = 0;
    if (stat(path, &st) < 0)
        r = -errno;
    else if (st.st_dev != dev || st.st_ino != ino)
        r = ZINC_EEXIST;
    else if (shm_unlink(obj) < 0)
        r = -errno;
    if (fd >= 0)
        close(fd); /* drops the lock */
    return r;
}

int zinc__shm_errno(int err, const char *what, const char *name)
{
    switch (err) {
    case ENOENT:
        return zinc__fail(ZINC_ENOENT, "%s '%s': no such region in /dev/shm", what, name);
    case EEXIST:
        return zinc__fail(ZINC_EEXIST, "%s '%s': the name already exists", what, name);
    case EACCES:
    case EPERM:
        return zinc__fail(ZINC_EPERM, "%s '%s': permission denied (owned by another user?)",
                          what, name);
    case ENOSPC:
        return zinc__fail(ZINC_ENOSPC, "%s '%s': /dev/shm is full", what, name);
    case EMFILE:
    case ENFILE:
        return zinc__fail(-err, "%s '%s': too many open files (raise ulimit -n)", what, name);
    case ENOMEM:
        return zinc__fail(-err, "%s '%s': out of memory or vm.max_map_count reached", what,
                          name);
    default:
        return zinc__fail(-err, "%s '%s': %s", what, name, strerror(err));
    }
}

const char *zinc__human(uint64_t b, char *buf, size_t len)
{
    static const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%llu B", (unsigned long long)b);
    else
        snprintf(buf, len, "%.1f %s", v, unit[u]);
    return buf;
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

int zinc__futex_wait(_Atomic uint32_t *addr, uint32_t expected, int64_t timeout_ns)
{
    struct timespec ts, *tsp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        tsp = &ts;
    }
    /* FUTEX_WAIT without FUTEX_PRIVATE_FLAG: the word lives in a MAP_SHARED
     * mapping and the waker may be another process. */
    long r = syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT, expected, tsp, NULL, 0);
    return r < 0 ? -errno : 0;
}

void zinc__futex_wake(_Atomic uint32_t *addr)
{
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}
