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
        int old = shm_open(obj, O_RDWR | O_CLOEXEC, 0);
        if (old < 0) {
            if (errno == ENOENT)
                continue; /* removed meanwhile: try again */
            return zinc__shm_errno(errno, "replace", name);
        }
        struct stat ost;
        if (fstat(old, &ost) < 0) {
            int e = errno;
            close(old);
            return zinc__fail(-e, "replace '%s': fstat: %s", name, strerror(e));
        }
        int r = judge(old, &ost, name, arg);
        close(old);
        if (r < 0)
            return r;
        /* Stale: remove the name if it still refers to what was judged (a
         * concurrent creator may have replaced it already: then the next
         * round judges the newcomer). */
        r = zinc__unlink_if_same(obj, ost.st_dev, ost.st_ino);
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

