/* SPDX-License-Identifier: MIT */
/* The objects in /dev/shm: names, exclusive creation with the replacement
 * of a stale object, page reservation, the unlink guard, and errno
 * messages. The replace race rules live here, next to the guard. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
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
/* How long a remover tries for the guard. A legitimate holder keeps it for
 * a stat and an unlink (microseconds); one that holds it longer is stopped
 * (SIGSTOP, a debugger) inside its own removal, or a hostile lock: never
 * worth an unbounded wait. */
#define GUARD_WAIT_NS 100000000ull

/* Take the guard on the object open on fd: 0, or ZINC_ETIMEDOUT after
 * GUARD_WAIT_NS; 1 when locks do not work here (remove without it, as
 * before the guard existed). */
static int guard_take(int fd)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = UNLINK_LOCK_BYTE,
                       .l_len = 1};
    uint64_t t0 = zinc__now_ns(CLOCK_MONOTONIC);
    long nap = 20000; /* 20 us, doubling to 5 ms: a legitimate holder is quick */
    for (;;) {
        if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EACCES)
            return 1;
        if (zinc__now_ns(CLOCK_MONOTONIC) - t0 >= GUARD_WAIT_NS)
            return ZINC_ETIMEDOUT;
        struct timespec ts = {0, nap};
        nanosleep(&ts, NULL);
        nap = nap * 2 < 5000000 ? nap * 2 : 5000000;
    }
}

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
    /* O_NONBLOCK, O_NOFOLLOW: whatever is at the name, never wait on it. */
    int fd = shm_open(obj, O_RDWR | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0 && errno != EACCES)
        return -errno;
    if (fd >= 0) {
        if (fstat(fd, &st) < 0 || st.st_dev != dev || st.st_ino != ino) {
            close(fd);
            return ZINC_EEXIST; /* the name refers to a replacement: keep it */
        }
        if (guard_take(fd) == ZINC_ETIMEDOUT) {
            close(fd);
            /* Unlinking without the guard could remove a replacement's
             * name: leave it. It is stale (whoever removes it decided so);
             * the next create over it, zinc_ring_remove_stale or zinc gc
             * removes it. */
            return zinc__fail(ZINC_ETIMEDOUT, "remove '%s': another process has held the "
                              "removal guard for 100 ms (stopped inside its own close, or a "
                              "hostile lock): the name is left in place; remove it later "
                              "(zinc gc)", obj + 1);
        }
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

int zinc__shm_open_existing(const char *obj, const char *name, int oflag, const char *what,
                            bool foreign_ok, struct stat *st, bool *foreign)
{
    if (foreign)
        *foreign = false;
    int fd = shm_open(obj, oflag | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0) {
        int e = errno;
        struct stat ls;
        char path[ZINC_OBJ_NAME_MAX + 16];
        snprintf(path, sizeof(path), "/dev/shm%s", obj);
        if (e == ELOOP)
            return zinc__fail(ZINC_EPERM, "%s '%s': the name is a symbolic link: refused",
                              what, name);
        if ((e == EACCES || e == EPERM) && lstat(path, &ls) == 0)
            return zinc__fail(ZINC_EPERM, "%s '%s': permission denied: the %s belongs to uid "
                              "%u (mode %04o), this process is euid %u",
                              what, name, S_ISREG(ls.st_mode) ? "object"
                                                              : zinc__file_type(ls.st_mode),
                              (unsigned)ls.st_uid, (unsigned)(ls.st_mode & 07777),
                              (unsigned)geteuid());
        return zinc__shm_errno(e, what, name);
    }
    int r = zinc__fd_vet(fd, name, what, foreign_ok, st);
    if (r < 0) {
        close(fd);
        return r;
    }
    if (foreign)
        *foreign = r == 1;
    return fd;
}

int zinc__shm_size_held(int fd, uint64_t mapped, const char *name, const char *what)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        return zinc__fail(-e, "%s '%s': fstat: %s", what, name, strerror(e));
    }
    if ((uint64_t)st.st_size < mapped)
        return zinc__fail(ZINC_EBADMSG, "%s '%s': the object shrank from %llu to %llu bytes "
                          "while it was being attached (another process truncated it)",
                          what, name, (unsigned long long)mapped,
                          (unsigned long long)st.st_size);
    return ZINC_OK;
}

int zinc__name_is(const char *obj, dev_t dev, ino_t ino)
{
    char path[ZINC_OBJ_NAME_MAX + 16];
    struct stat st;
    snprintf(path, sizeof(path), "/dev/shm%s", obj);
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : 1;
    return st.st_dev == dev && st.st_ino == ino;
}

int zinc__shm_share_group(int fd, const char *name)
{
    /* fchmod, not the create mode: the umask must not narrow it. */
    if (fchmod(fd, 0660) < 0) {
        int e = errno;
        return zinc__fail(-e, "create '%s': fchmod 0660: %s", name, strerror(e));
    }
    return ZINC_OK;
}

/* How often a creator retries the name after removing a stale object:
 * each round either creates, or meets an object that another creator made
 * in between (then judged afresh), so a few rounds suffice. */
#define CREATE_ROUNDS 4

int zinc__shm_create(const char *obj, const char *name, zinc__judge_fn judge, void *arg,
                     struct stat *st)
{
    int fd = -1, err = 0;
    for (int round = 0; round < CREATE_ROUNDS; round++) {
        fd = shm_open(obj, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
        err = errno;
        if (fd >= 0 || err != EEXIST || !judge)
            break;
        /* The one safe opener: another user's object (a squatter) is -1
         * with both uids named, never judged nor removed; a FIFO or a
         * symbolic link at the name is refused without waiting. */
        struct stat ost;
        int old = zinc__shm_open_existing(obj, name, O_RDWR, "create", false, &ost, NULL);
        if (old == ZINC_ENOENT)
            continue; /* removed meanwhile: try again */
        if (old < 0)
            return old;
        int r = judge(old, &ost, name, arg);
        close(old);
        if (r < 0)
            return r;
        /* Stale: remove the name if it still refers to what was judged (a
         * concurrent creator may have replaced it already: then the next
         * round judges the newcomer). */
        r = zinc__unlink_if_same(obj, ost.st_dev, ost.st_ino);
        if (r == ZINC_ETIMEDOUT)
            return r; /* the guard stayed taken: bounded, with its message */
        if (r < 0 && r != -ENOENT && r != ZINC_EEXIST)
            return zinc__shm_errno(-r, "replace", name);
    }
    if (fd < 0)
        return zinc__shm_errno(err, "create", name);
    if (fstat(fd, st) < 0) {
        err = errno;
        close(fd);
        shm_unlink(obj);
        return zinc__fail(-err, "create '%s': fstat: %s", name, strerror(err));
    }
    return fd;
}

int zinc__no_space(const char *name, uint64_t need)
{
    char a[32], b[32];
    return zinc__fail(ZINC_ENOSPC,
                      "'%s' needs %s but /dev/shm has %s free; free space (zinc gc), "
                      "make it smaller, or give the container a larger --shm-size",
                      name, zinc__human(need, a, sizeof(a)),
                      zinc__human(zinc__shm_free_bytes(), b, sizeof(b)));
}

int zinc__shm_reserve(int fd, uint64_t total, const char *name)
{
    int fe = posix_fallocate(fd, 0, (off_t)total);
    if (fe == ENOSPC || fe == EFBIG)
        return zinc__no_space(name, total);
    if (fe != 0 && fe != EOPNOTSUPP && fe != EINVAL)
        return zinc__shm_errno(fe, "fallocate", name);
    return ZINC_OK; /* reserved, or a filesystem that cannot (nothing to gain) */
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

