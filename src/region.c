/* SPDX-License-Identifier: MIT */
/*
 * region.c — Zinc-compatible shared-memory regions (contract:
 * shared/spec/zinc-region.md). Create fills the header and publishes `magic`
 * last; open trusts nothing before an acquire load of `magic` sees it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "layout.h"
#include "private.h"
#include "region.h"

struct zinc_region {
    struct zinc_hdr *hdr;
    uint8_t *data;
    size_t map_len;
    uint64_t capacity;
    uint32_t layout;
    uint32_t cursor;  /* last notify_seq this handle consumed */
    bool owner;       /* this handle created the region */
    dev_t dev;
    ino_t ino;
    char obj[ZINC_OBJ_NAME_MAX];
};

ZINC_API uint32_t zinc_version(void)
{
    return (1u << 16) | 1u;
}

/* Data offset and mapping length for a layout, or -22. */
static int region_geometry(uint32_t layout, uint64_t capacity, uint64_t *data_off,
                           uint64_t *total)
{
    uint64_t page = (uint64_t)zinc__page_size();
    uint64_t off = layout == ZINC_REGION_V2 ? page : ZINC_HEADER_SIZE;
    if (capacity == 0 || capacity % page != 0)
        return ZINC_EINVAL;
    /* off + capacity must fit off_t (signed) and size_t. */
    if (capacity > (uint64_t)INT64_MAX - off || capacity > (uint64_t)SIZE_MAX - off)
        return ZINC_EINVAL;
    *data_off = off;
    *total = off + capacity;
    return ZINC_OK;
}

/* Is the owner of a region gone? `hdr` may be a partial mapping of `size`
 * bytes; `st` is the object's stat (for the age of a half-made region). */
bool zinc__region_owner_gone(const struct zinc_hdr *hdr, uint64_t size, const struct stat *st)
{
    uint64_t now = zinc__now_ns(CLOCK_REALTIME);
    uint64_t mtime = (uint64_t)st->st_mtim.tv_sec * 1000000000ull + (uint64_t)st->st_mtim.tv_nsec;
    if (size < sizeof(struct zinc_hdr) || !hdr) {
        /* Never even sized: gone unless it was made a moment ago. */
        return now > mtime + 2000000000ull;
    }
    /* Acquire pairs with create's release store of magic: when we see it,
     * the rest of the header is complete. */
    uint64_t magic = atomic_load_explicit(&((struct zinc_hdr *)hdr)->magic, memory_order_acquire);
    /* Relaxed: with magic set, the acquire above orders it; in a half-made
     * region it is only a hint (create's early pwrite), checked against the
     * process table below. */
    int32_t pid = atomic_load_explicit(&((struct zinc_hdr *)hdr)->owner_pid, memory_order_relaxed);
    if (magic != ZINC_REGION_MAGIC) {
        /* Half-made: gone if its creator is dead (or its pid was reused by
         * a process started after the object was sized), or (creator
         * unknown) if it has not been finished within 2 s. */
        if (pid > 0)
            return !zinc__pid_alive(pid, mtime);
        return now > mtime + 2000000000ull;
    }
    /* Relaxed: the owner-closed bit is only ever set, and orders nothing
     * here; a stale read falls through to the pid check. */
    uint16_t flags = atomic_load_explicit(&((struct zinc_hdr *)hdr)->flags, memory_order_relaxed);
    if (flags & ZINC_FLAG_OWNER_CLOSED)
        return true;
    return !zinc__pid_alive(pid, hdr->created_at);
}

/* A region whose owner closed and whose last handle is gone is dead: its
 * last closer would have removed the name, unless that closer was an
 * upstream Zinc handle (upstream's close ignores the owner-closed bit). */
static bool region_dead(const struct zinc_hdr *hdr)
{
    struct zinc_hdr *h = (struct zinc_hdr *)hdr;
    /* Relaxed: a snapshot of two words that only a dead region keeps still;
     * a live one refuses either value at the next look. */
    return (atomic_load_explicit(&h->flags, memory_order_relaxed) & ZINC_FLAG_OWNER_CLOSED) &&
           atomic_load_explicit(&h->ref_count, memory_order_relaxed) == 0;
}

/* Check the existing name `obj` and unlink it if its owner is gone
 * (`any_stale`: dead pid, half-made, owner closed) or, without it, only if
 * the region is dead (owner closed, no handle left).
 * 0: removed (retry create), -17: live owner, other: error. */
static int replace_if_stale(const char *obj, const char *name, bool any_stale)
{
    int fd = shm_open(obj, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return errno == ENOENT ? 0 : zinc__shm_errno(errno, "replace", name);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    const struct zinc_hdr *hdr = NULL;
    void *map = MAP_FAILED;
    if ((uint64_t)st.st_size >= sizeof(struct zinc_hdr)) {
        map = mmap(NULL, sizeof(struct zinc_hdr), PROT_READ, MAP_SHARED, fd, 0);
        if (map != MAP_FAILED)
            hdr = map;
    }
    close(fd);
    bool gone = any_stale ? zinc__region_owner_gone(hdr, (uint64_t)st.st_size, &st)
                          : (hdr && atomic_load_explicit(&((struct zinc_hdr *)hdr)->magic,
                                                         memory_order_acquire) ==
                                        ZINC_REGION_MAGIC &&
                             region_dead(hdr));
    if (map != MAP_FAILED)
        munmap(map, sizeof(struct zinc_hdr));
    if (!gone && any_stale)
        return zinc__fail(ZINC_EEXIST, "create '%s': the name exists and its owner is alive",
                          name);
    if (!gone)
        return zinc__fail(ZINC_EEXIST, "create '%s': the name already exists "
                          "(ZINC_CREATE_REPLACE_STALE replaces it if its owner is gone)", name);
    int r = zinc__unlink_if_same(obj, st.st_dev, st.st_ino);
    return (r == -ENOENT || r == ZINC_EEXIST) ? 0 : r; /* someone else replaced it: retry */
}

ZINC_API int32_t zinc_create_ex(const char *name, uintptr_t capacity,
                                const zinc_create_opts *opts, ZincHandle *out)
{
    if (out)
        *out = NULL;
    zinc__clear_error();
    if (!out)
        return zinc__fail(ZINC_EINVAL, "create: out is NULL");
    char obj[ZINC_OBJ_NAME_MAX];
    int r = zinc__obj_name(name, obj);
    if (r < 0)
        return r;
    uint32_t layout = opts ? opts->layout_version : 0;
    uint32_t flags = opts ? opts->flags : 0;
    for (size_t i = 0; opts && i < sizeof(opts->reserved) / sizeof(opts->reserved[0]); i++)
        if (opts->reserved[i])
            return zinc__fail(ZINC_EINVAL, "create '%s': opts.reserved[%zu] must be zero (a "
                              "later version may give it a meaning)", name, i);
    if (layout == 0)
        layout = ZINC_REGION_V1;
    if (layout != ZINC_REGION_V1 && layout != ZINC_REGION_V2)
        return zinc__fail(ZINC_EINVAL, "create '%s': layout_version %u (use 1 or 2)", name,
                          layout);
    if (flags & ~(ZINC_CREATE_REPLACE_STALE | ZINC_CREATE_PREFAULT))
        return zinc__fail(ZINC_EINVAL, "create '%s': unknown flags 0x%x", name, flags);
    uint64_t data_off, total;
    if (region_geometry(layout, capacity, &data_off, &total) < 0)
        return zinc__fail(ZINC_EINVAL,
                          "create '%s': capacity %llu must be a non-zero multiple of the "
                          "page size (%ld) and fit in memory",
                          name, (unsigned long long)capacity, zinc__page_size());

    int fd = -1, oerr = 0;
    for (int attempt = 0; attempt < 4; attempt++) {
        fd = shm_open(obj, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
        oerr = errno; /* replace_if_stale below may change errno */
        if (fd >= 0 || oerr != EEXIST)
            break;
        r = replace_if_stale(obj, name, flags & ZINC_CREATE_REPLACE_STALE);
        if (r < 0)
            return r;
    }
    if (fd < 0)
        return zinc__shm_errno(oerr, "create", name);

    struct stat st;
    void *map = MAP_FAILED;
    bool st_ok = fstat(fd, &st) == 0;
    if (!st_ok) {
        r = zinc__fail(-errno, "create '%s': fstat: %s", name, strerror(errno));
        goto fail;
    }
    if (ftruncate(fd, (off_t)total) < 0) {
        r = zinc__shm_errno(errno, "create (ftruncate)", name);
        goto fail;
    }
    /* Record our pid at once (the header proper comes after fallocate, which
     * may take seconds for a large region): a concurrent create with
     * REPLACE_STALE then sees a half-made region whose creator is alive and
     * leaves it alone, instead of judging it abandoned by its age. The same
     * value is stored again with the header. */
    int32_t self = (int32_t)getpid();
    if (pwrite(fd, &self, sizeof(self), offsetof(struct zinc_hdr, owner_pid)) != sizeof(self)) {
        r = zinc__shm_errno(errno, "create (write)", name);
        goto fail;
    }
    /* Reserve the pages now: a full /dev/shm fails here with -28 instead of
     * a SIGBUS at first touch. */
    int fe = posix_fallocate(fd, 0, (off_t)total);
    if (fe == ENOSPC || fe == EFBIG) {
        char need[32], have[32];
        r = zinc__fail(ZINC_ENOSPC, "create '%s': needs %s but /dev/shm has %s free", name,
                       zinc__human(total, need, sizeof(need)),
                       zinc__human(zinc__shm_free_bytes(), have, sizeof(have)));
        goto fail;
    } else if (fe != 0 && fe != EOPNOTSUPP && fe != EINVAL) {
        r = zinc__shm_errno(fe, "create (fallocate)", name);
        goto fail;
    }
    int mflags = MAP_SHARED | ((flags & ZINC_CREATE_PREFAULT) ? MAP_POPULATE : 0);
    map = mmap(NULL, (size_t)total, PROT_READ | PROT_WRITE, mflags, fd, 0);
    if (map == MAP_FAILED) {
        r = zinc__shm_errno(errno, "create (mmap)", name);
        goto fail;
    }
    struct zinc_region *reg = calloc(1, sizeof(*reg));
    if (!reg) {
        r = zinc__fail(-ENOMEM, "create '%s': out of memory", name);
        goto fail;
    }
    close(fd);

    struct zinc_hdr *hdr = map;
    hdr->version = (uint16_t)layout;
    /* Relaxed stores: nobody may look at them before the release store of
     * magic below, which orders them. */
    atomic_store_explicit(&hdr->flags, 0, memory_order_relaxed);
    atomic_store_explicit(&hdr->notify_seq, 0, memory_order_relaxed);
    hdr->capacity = capacity;
    atomic_store_explicit(&hdr->ref_count, 1, memory_order_relaxed);
    atomic_store_explicit(&hdr->owner_pid, (int32_t)getpid(), memory_order_relaxed);
    hdr->created_at = zinc__now_ns(CLOCK_REALTIME);
    hdr->name_hash = zinc_name_hash(name);
    atomic_store_explicit(&hdr->ring_head, 0, memory_order_relaxed);
    atomic_store_explicit(&hdr->ring_tail, 0, memory_order_relaxed);
    /* Release: pairs with the acquire load of magic in open/inspect, so an
     * opener that sees magic sees every field above. */
    atomic_store_explicit(&hdr->magic, ZINC_REGION_MAGIC, memory_order_release);

    reg->hdr = hdr;
    reg->data = (uint8_t *)map + data_off;
    reg->map_len = (size_t)total;
    reg->capacity = capacity;
    reg->layout = layout;
    reg->owner = true;
    reg->dev = st.st_dev;
    reg->ino = st.st_ino;
    memcpy(reg->obj, obj, sizeof(obj));
    *out = reg;
    return ZINC_OK;

fail:
    if (map != MAP_FAILED)
        munmap(map, (size_t)total);
    close(fd);
    /* Nothing half-made is left behind, but only our own object: never a
     * name someone replaced meanwhile. */
    if (st_ok)
        zinc__unlink_if_same(obj, st.st_dev, st.st_ino);
    else
        shm_unlink(obj);
    return r;
}

ZINC_API int32_t zinc_create(const char *name, uintptr_t capacity, ZincHandle *out)
{
    return zinc_create_ex(name, capacity, NULL, out);
}

/* Validate a mapped header against the object size. On success fills the
 * data offset and the mapping length the layout needs. */
int zinc__region_validate(const struct zinc_hdr *hdr, uint64_t size, uint64_t *data_off,
                          uint64_t *map_len, const char *name)
{
    if (size < sizeof(struct zinc_hdr))
        return zinc__fail(ZINC_EBADMSG, "'%s': object is %llu bytes, smaller than a header",
                          name, (unsigned long long)size);
    uint64_t magic = atomic_load_explicit(&((struct zinc_hdr *)hdr)->magic, memory_order_acquire);
    if (magic != ZINC_REGION_MAGIC)
        return zinc__fail(ZINC_EBADMSG,
                          "'%s': bad magic 0x%016llx (not a zinc region, or its creator "
                          "has not finished or died while creating it)",
                          name, (unsigned long long)magic);
    uint64_t page = (uint64_t)zinc__page_size();
    uint64_t cap = hdr->capacity;
    switch (hdr->version) {
    case ZINC_REGION_V1:
        if (cap == 0 || cap > size || size - cap < ZINC_HEADER_SIZE || cap > SIZE_MAX - 64)
            return zinc__fail(ZINC_EBADMSG,
                              "'%s': capacity %llu does not fit the %llu-byte object", name,
                              (unsigned long long)cap, (unsigned long long)size);
        *data_off = ZINC_HEADER_SIZE;
        *map_len = ZINC_HEADER_SIZE + cap;
        return ZINC_OK;
    case ZINC_REGION_V2:
        if (size < 2 * page || size % page != 0 || cap != size - page)
            return zinc__fail(ZINC_EBADMSG,
                              "'%s': version-2 region of %llu bytes with capacity %llu does "
                              "not add up (page %llu)",
                              name, (unsigned long long)size, (unsigned long long)cap,
                              (unsigned long long)page);
        *data_off = page;
        *map_len = size;
        return ZINC_OK;
    default:
        return zinc__fail(ZINC_EBADMSG, "'%s': unknown region version %u", name,
                          (unsigned)hdr->version);
    }
}

ZINC_API int32_t zinc_open(const char *name, ZincHandle *out)
{
    if (out)
        *out = NULL;
    zinc__clear_error();
    if (!out)
        return zinc__fail(ZINC_EINVAL, "open: out is NULL");
    char obj[ZINC_OBJ_NAME_MAX];
    int r = zinc__obj_name(name, obj);
    if (r < 0)
        return r;
    int fd = shm_open(obj, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0)
        return zinc__shm_errno(errno, "open", name);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        r = zinc__fail(-errno, "open '%s': fstat: %s", name, strerror(errno));
        close(fd);
        return r;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size < sizeof(struct zinc_hdr) || size > SIZE_MAX) {
        close(fd);
        return zinc__fail(ZINC_EBADMSG, "open '%s': object is %llu bytes: not a zinc region",
                          name, (unsigned long long)size);
    }
    void *map = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int merr = errno;
    close(fd);
    if (map == MAP_FAILED)
        return zinc__shm_errno(merr, "open (mmap)", name);
    struct zinc_hdr *hdr = map;
    uint64_t data_off, map_len;
    r = zinc__region_validate(hdr, size, &data_off, &map_len, name);
    if (r < 0)
        goto fail;
    /* Take a reference: refuse 0 (a region being torn down, or garbage)
     * and overflow. Relaxed is enough: the count orders nothing, it is only
     * read by close to decide who removes the name. */
    uint32_t rc = atomic_load_explicit(&hdr->ref_count, memory_order_relaxed);
    do {
        if (rc == 0 && region_dead(hdr)) {
            /* Owner closed and nobody left: the last closer did not remove
             * the name (an upstream Zinc handle, whose close ignores the
             * owner-closed bit). Gone, as close would have made it. */
            munmap(map, (size_t)size);
            zinc__unlink_if_same(obj, st.st_dev, st.st_ino);
            return zinc__fail(ZINC_ENOENT, "open '%s': the region was closed by its owner and "
                              "every other handle (a dead name, now removed)", name);
        }
        if (rc == 0 || rc == UINT32_MAX) {
            r = zinc__fail(ZINC_EBADMSG, "open '%s': ref_count is %u (corrupted or closing)",
                           name, rc);
            goto fail;
        }
    } while (!atomic_compare_exchange_weak_explicit(&hdr->ref_count, &rc, rc + 1,
                                                    memory_order_relaxed,
                                                    memory_order_relaxed));
    struct zinc_region *reg = calloc(1, sizeof(*reg));
    if (!reg) {
        /* Relaxed: gives back the reference the CAS above just took. */
        atomic_fetch_sub_explicit(&hdr->ref_count, 1, memory_order_relaxed);
        r = zinc__fail(-ENOMEM, "open '%s': out of memory", name);
        goto fail;
    }
    /* The whole object stays mapped (a version-1 object may be larger than
     * 64 + capacity; the extra is never handed out). */
    (void)map_len;
    reg->hdr = hdr;
    reg->data = (uint8_t *)map + data_off;
    reg->map_len = (size_t)size;
    reg->capacity = hdr->capacity;
    reg->layout = hdr->version;
    reg->owner = false;
    reg->dev = st.st_dev;
    reg->ino = st.st_ino;
    memcpy(reg->obj, obj, sizeof(obj));
    *out = reg;
    return ZINC_OK;
fail:
    munmap(map, (size_t)size);
    return r;
}

ZINC_API uint8_t *zinc_ptr(ZincHandle h)
{
    return h ? ((struct zinc_region *)h)->data : NULL;
}

ZINC_API uintptr_t zinc_capacity(ZincHandle h)
{
    return h ? (uintptr_t)((struct zinc_region *)h)->capacity : 0;
}

ZINC_API uint32_t zinc_layout(ZincHandle h)
{
    return h ? ((struct zinc_region *)h)->layout : 0;
}

ZINC_API void zinc_close(ZincHandle h)
{
    struct zinc_region *reg = h;
    if (!reg)
        return;
    struct zinc_hdr *hdr = reg->hdr;
    if (reg->owner) {
        /* Release: the owner-closed bit must be visible to whichever handle
         * takes ref_count to 0 (it reads flags after its acq_rel decrement,
         * which reads from our decrement's release sequence). */
        atomic_fetch_or_explicit(&hdr->flags, ZINC_FLAG_OWNER_CLOSED, memory_order_release);
    }
    /* Relaxed: only the CAS loop's first guess; the CAS checks it. */
    uint32_t rc = atomic_load_explicit(&hdr->ref_count, memory_order_relaxed);
    bool last = false;
    while (rc != 0) {
        /* acq_rel: the handle that reaches 0 synchronises with every earlier
         * decrement, and so sees the owner-closed bit set before one of them. */
        if (atomic_compare_exchange_weak_explicit(&hdr->ref_count, &rc, rc - 1,
                                                  memory_order_acq_rel, memory_order_relaxed)) {
            last = (rc == 1);
            break;
        }
    }
    /* Acquire: pairs with the owner's release fetch_or of the bit (also
     * reached through the ref_count release sequence above). */
    if (last && (atomic_load_explicit(&hdr->flags, memory_order_acquire) & ZINC_FLAG_OWNER_CLOSED))
        zinc__unlink_if_same(reg->obj, reg->dev, reg->ino);
    munmap(hdr, reg->map_len);
    free(reg);
}

ZINC_API void zinc_notify(ZincHandle h)
{
    struct zinc_region *reg = h;
    if (!reg)
        return;
    /* Release: pairs with the acquire load in zinc_wait/zinc_try_wait, so a
     * waiter that sees the new count sees the data written before notify. */
    atomic_fetch_add_explicit(&reg->hdr->notify_seq, 1, memory_order_release);
    /* Always wake: the header has no waiter count, so skipping the syscall
     * could lose a wake-up. Shared futex: waiters live in other processes. */
    zinc__futex_wake(&reg->hdr->notify_seq);
}

ZINC_API int32_t zinc_try_wait(ZincHandle h)
{
    struct zinc_region *reg = h;
    if (!reg)
        return zinc__fail(ZINC_EINVAL, "try_wait: NULL handle");
    uint32_t v = atomic_load_explicit(&reg->hdr->notify_seq, memory_order_acquire);
    if (v != reg->cursor) {
        reg->cursor = v;
        return ZINC_OK;
    }
    return ZINC_EAGAIN;
}

ZINC_API int32_t zinc_wait(ZincHandle h, uint32_t timeout_ms)
{
    struct zinc_region *reg = h;
    if (!reg)
        return zinc__fail(ZINC_EINVAL, "wait: NULL handle");
    uint64_t deadline = zinc__now_ns(CLOCK_MONOTONIC) + (uint64_t)timeout_ms * 1000000ull;
    for (;;) {
        /* Acquire pairs with notify's release fetch_add. */
        uint32_t v = atomic_load_explicit(&reg->hdr->notify_seq, memory_order_acquire);
        if (v != reg->cursor) {
            reg->cursor = v;
            return ZINC_OK;
        }
        if (timeout_ms == 0)
            return ZINC_ETIMEDOUT;
        uint64_t now = zinc__now_ns(CLOCK_MONOTONIC);
        if (now >= deadline)
            return ZINC_ETIMEDOUT;
        /* The kernel compares the word with `cursor` atomically with queuing
         * us, so a notify between our load and this call makes it return
         * EAGAIN at once: no lost wake-up. Every return (woken, EINTR,
         * EAGAIN, spurious, timeout) loops back to the recheck above, with
         * the remaining time. */
        (void)zinc__futex_wait(&reg->hdr->notify_seq, reg->cursor, (int64_t)(deadline - now));
    }
}

ZINC_API int32_t zinc_unlink(const char *name)
{
    zinc__clear_error();
    char obj[ZINC_OBJ_NAME_MAX];
    int r = zinc__obj_name(name, obj);
    if (r < 0)
        return r;
    /* Remove the object the name refers to now, through the same locked
     * check-and-unlink as every other remover, so that a straggler's close
     * racing with us can never remove a region created after us. */
    char path[ZINC_OBJ_NAME_MAX + 16];
    snprintf(path, sizeof(path), "/dev/shm%s", obj);
    for (int attempt = 0; attempt < 8; attempt++) {
        struct stat st;
        if (stat(path, &st) < 0)
            break; /* gone (or no /dev/shm): let shm_unlink say */
        r = zinc__unlink_if_same(obj, st.st_dev, st.st_ino);
        if (r == 0)
            return ZINC_OK;
        if (r == -ENOENT)
            return zinc__shm_errno(ENOENT, "unlink", name);
        if (r != ZINC_EEXIST)
            return zinc__shm_errno(-r, "unlink", name);
        /* replaced between our stat and the check: unlink the new one */
    }
    if (shm_unlink(obj) < 0)
        return zinc__shm_errno(errno, "unlink", name);
    return ZINC_OK;
}

static void fill_info(const struct zinc_hdr *h, uint64_t size, uint64_t data_off,
                      zinc_region_info *out)
{
    memset(out, 0, sizeof(*out));
    struct zinc_hdr *hdr = (struct zinc_hdr *)h;
    /* Relaxed loads: a diagnostic snapshot of counters that change at any
     * time; the fixed fields were ordered by the caller's acquire load of
     * magic (zinc__region_validate). */
    out->version = hdr->version;
    out->flags = atomic_load_explicit(&hdr->flags, memory_order_relaxed);
    out->notify_seq = atomic_load_explicit(&hdr->notify_seq, memory_order_relaxed);
    out->capacity = hdr->capacity;
    out->data_offset = data_off;
    out->file_size = size;
    out->ref_count = atomic_load_explicit(&hdr->ref_count, memory_order_relaxed);
    out->owner_pid = atomic_load_explicit(&hdr->owner_pid, memory_order_relaxed);
    out->created_at = hdr->created_at;
    out->name_hash = hdr->name_hash;
    out->owner_alive = !(out->flags & ZINC_FLAG_OWNER_CLOSED) &&
                       zinc__pid_alive(out->owner_pid, out->created_at);
}

ZINC_API int32_t zinc_region_info_get(ZincHandle h, zinc_region_info *out)
{
    struct zinc_region *reg = h;
    if (!reg || !out)
        return zinc__fail(ZINC_EINVAL, "region_info: NULL argument");
    struct stat st;
    char path[ZINC_OBJ_NAME_MAX + 16];
    snprintf(path, sizeof(path), "/dev/shm%s", reg->obj);
    uint64_t size = stat(path, &st) == 0 && st.st_ino == reg->ino ? (uint64_t)st.st_size
                                                                   : (uint64_t)reg->map_len;
    fill_info(reg->hdr, size, (uint64_t)(reg->data - (uint8_t *)reg->hdr), out);
    out->is_ring = zinc__is_ring(reg->data, reg->capacity);
    return ZINC_OK;
}

ZINC_API int32_t zinc_inspect(const char *name, zinc_region_info *out)
{
    zinc__clear_error();
    if (!out)
        return zinc__fail(ZINC_EINVAL, "inspect: out is NULL");
    char obj[ZINC_OBJ_NAME_MAX];
    int r = zinc__obj_name(name, obj);
    if (r < 0)
        return r;
    int fd = shm_open(obj, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return zinc__shm_errno(errno, "inspect", name);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        r = -errno;
        close(fd);
        return r;
    }
    uint64_t size = (uint64_t)st.st_size;
    uint64_t page = (uint64_t)zinc__page_size();
    /* The header and, for rings, the ring's first page. */
    size_t len = (size_t)(size < 2 * page ? size : 2 * page);
    if (size < sizeof(struct zinc_hdr)) {
        close(fd);
        return zinc__fail(ZINC_EBADMSG, "inspect '%s': object is %llu bytes: not a region",
                          name, (unsigned long long)size);
    }
    void *map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        r = zinc__shm_errno(errno, "inspect (mmap)", name);
        close(fd);
        return r;
    }
    uint64_t data_off, map_len;
    r = zinc__region_validate(map, size, &data_off, &map_len, name);
    if (r == 0) {
        fill_info(map, size, data_off, out);
        if (data_off + 8 <= len)
            out->is_ring = zinc__is_ring((const uint8_t *)map + data_off, len - data_off);
        if (out->is_ring) {
            /* A ring's owner is its producer; its kernel-held token is the
             * authority (pids lie across namespaces). */
            int held = zinc__token_held(fd, 0);
            if (held >= 0)
                out->owner_alive = held;
        }
    }
    munmap(map, len);
    close(fd);
    return r;
}
