/* SPDX-License-Identifier: MIT */
/*
 * region.c — Zinc-compatible shared-memory regions (contract:
 * docs/region.md). The region layer owns the 64-byte header: create fills
 * it and publishes `magic` last; everyone else reads it once into private
 * memory (zinc__region_snapshot), after an acquire load of `magic`, and
 * validates the copy against the object's real size. It knows nothing of
 * what lives in the data area (the frame ring is built on it, src/ring-*.c).
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
    uid_t uid;        /* the object's owner (vetted at open) */
    char obj[ZINC_OBJ_NAME_MAX];
};

ZINC_API uint32_t zinc_version(void)
{
    return (1u << 16) | 1u;
}

ZINC_API const char *zinc_version_string(void)
{
    return ZINC_VERSION_STRING;
}

/* ---- the header: init, publish, references, validation ----------------------- */

void zinc__region_init(struct zinc_hdr *hdr, uint16_t version, uint64_t capacity,
                       const char *name)
{
    hdr->version = version;
    /* Relaxed stores: nobody may look at them before the release store of
     * magic in zinc__region_publish, which orders them. */
    atomic_store_explicit(&hdr->flags, 0, memory_order_relaxed);
    atomic_store_explicit(&hdr->notify_seq, 0, memory_order_relaxed);
    hdr->capacity = capacity;
    atomic_store_explicit(&hdr->ref_count, 1, memory_order_relaxed);
    atomic_store_explicit(&hdr->owner_pid, (int32_t)getpid(), memory_order_relaxed);
    hdr->created_at = zinc__now_ns(CLOCK_REALTIME);
    hdr->name_hash = zinc_name_hash(name);
    atomic_store_explicit(&hdr->ring_head, 0, memory_order_relaxed);
    atomic_store_explicit(&hdr->ring_tail, 0, memory_order_relaxed);
}

void zinc__region_publish(struct zinc_hdr *hdr)
{
    /* Release: pairs with the acquire load of magic in
     * zinc__region_snapshot, so an opener that sees magic sees every field
     * above and whatever the creator wrote into the data area before. */
    atomic_store_explicit(&hdr->magic, ZINC_REGION_MAGIC, memory_order_release);
}

bool zinc__region_ref(struct zinc_hdr *hdr)
{
    /* Relaxed: the count orders nothing on the way up; it only decides,
     * on the way down, who removes the name (see zinc__region_unref). */
    uint32_t rc = atomic_load_explicit(&hdr->ref_count, memory_order_relaxed);
    do {
        if (rc == 0 || rc == UINT32_MAX)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&hdr->ref_count, &rc, rc + 1,
                                                    memory_order_relaxed,
                                                    memory_order_relaxed));
    return true;
}

bool zinc__region_unref(struct zinc_hdr *hdr)
{
    /* Relaxed: only the CAS loop's first guess; the CAS checks it. */
    uint32_t rc = atomic_load_explicit(&hdr->ref_count, memory_order_relaxed);
    while (rc != 0) {
        /* acq_rel, every decrement (ours and the ring's alike): the handle
         * that reaches 0 reads from the release sequence of all earlier
         * decrements, so it sees the owner-closed bit set before any of
         * them. Pairs with itself in other closers. */
        if (atomic_compare_exchange_weak_explicit(&hdr->ref_count, &rc, rc - 1,
                                                  memory_order_acq_rel, memory_order_relaxed)) {
            /* Acquire: pairs with the owner's release fetch_or of the bit
             * (also reached through the ref_count release sequence). */
            return rc == 1 && (atomic_load_explicit(&hdr->flags, memory_order_acquire) &
                               ZINC_FLAG_OWNER_CLOSED);
        }
    }
    return false;
}

void zinc__region_owner_close(struct zinc_hdr *hdr)
{
    /* Release: the bit must be visible to whichever handle takes ref_count
     * to 0 (it reads flags after its acq_rel decrement, which reads from
     * our later decrement's release sequence). */
    atomic_fetch_or_explicit(&hdr->flags, ZINC_FLAG_OWNER_CLOSED, memory_order_release);
}

/* One relaxed load of a plain (non-_Atomic) header field: the compiler
 * reads shared memory exactly once and never re-reads it for a later use
 * (a plain read of a racing word may legally be re-done, READ_ONCE's
 * reason to exist). */
#define LOAD_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

void zinc__region_snapshot(const struct zinc_hdr *h, struct zinc_hdr *copy)
{
    struct zinc_hdr *hdr = (struct zinc_hdr *)h;
    memset(copy, 0, sizeof(*copy));
    /* Acquire: pairs with zinc__region_publish; with magic seen, the fixed
     * fields below are complete. Everything else is relaxed: counters and
     * flags that change at any time, taken once, used from the copy. */
    uint64_t magic = atomic_load_explicit(&hdr->magic, memory_order_acquire);
    atomic_store_explicit(&copy->magic, magic, memory_order_relaxed);
    copy->version = LOAD_ONCE(hdr->version);
    atomic_store_explicit(&copy->flags, atomic_load_explicit(&hdr->flags, memory_order_relaxed),
                          memory_order_relaxed);
    atomic_store_explicit(&copy->notify_seq,
                          atomic_load_explicit(&hdr->notify_seq, memory_order_relaxed),
                          memory_order_relaxed);
    copy->capacity = LOAD_ONCE(hdr->capacity);
    atomic_store_explicit(&copy->ref_count,
                          atomic_load_explicit(&hdr->ref_count, memory_order_relaxed),
                          memory_order_relaxed);
    atomic_store_explicit(&copy->owner_pid,
                          atomic_load_explicit(&hdr->owner_pid, memory_order_relaxed),
                          memory_order_relaxed);
    copy->created_at = LOAD_ONCE(hdr->created_at);
    copy->name_hash = LOAD_ONCE(hdr->name_hash);
}

int zinc__region_peek(int fd, const char *name, struct zinc_hdr *copy, struct stat *st)
{
    memset(copy, 0, sizeof(*copy));
    /* pread, not a mapping: a peer truncating the object meanwhile gives a
     * short read, never a SIGBUS. */
    ssize_t n = pread(fd, copy, sizeof(*copy), 0);
    if (n < 0) {
        int e = errno;
        return zinc__fail(-e, "'%s': read: %s", name, strerror(e));
    }
    if (n == (ssize_t)sizeof(*copy) &&
        atomic_load_explicit(&copy->magic, memory_order_relaxed) == ZINC_REGION_MAGIC) {
        /* The kernel copies the 64 bytes in no particular order, so the
         * fields may be older than the magic: read them again after it
         * (the acquire fence pairs with zinc__region_publish as an acquire
         * load of the magic would). This second copy is the one used. */
        atomic_thread_fence(memory_order_acquire);
        n = pread(fd, copy, sizeof(*copy), 0);
        if (n != (ssize_t)sizeof(*copy))
            memset(copy, 0, sizeof(*copy)); /* shrank meanwhile: judged by size below */
    } else if (n != (ssize_t)sizeof(*copy)) {
        memset(copy, 0, sizeof(*copy));
    }
    /* The size after the magic: a finished object no longer grows (its
     * creator sized it before publishing the magic), so this is its size. */
    if (fstat(fd, st) < 0) {
        int e = errno;
        return zinc__fail(-e, "'%s': fstat: %s", name, strerror(e));
    }
    return ZINC_OK;
}

/* Data offset and total size for a layout, or -22. */
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

int zinc__region_validate(const struct zinc_hdr *copy, uint64_t size, uint64_t *data_off,
                          const char *name)
{
    if (size < sizeof(struct zinc_hdr))
        return zinc__fail(ZINC_EBADMSG, "'%s': object is %llu bytes, smaller than a header",
                          name, (unsigned long long)size);
    uint64_t magic = atomic_load_explicit(&((struct zinc_hdr *)copy)->magic,
                                          memory_order_relaxed); /* private copy */
    if (magic != ZINC_REGION_MAGIC)
        return zinc__fail(ZINC_EBADMSG,
                          "'%s': bad magic 0x%016llx (not a zinc region, or its creator "
                          "has not finished or died while creating it)",
                          name, (unsigned long long)magic);
    uint64_t page = (uint64_t)zinc__page_size();
    uint64_t cap = copy->capacity;
    switch (copy->version) {
    case ZINC_REGION_V1:
        /* The object may be larger than 64 + capacity (the extra is never
         * handed out), never smaller. */
        if (cap == 0 || cap > size || size - cap < ZINC_HEADER_SIZE || cap > SIZE_MAX - 64)
            return zinc__fail(ZINC_EBADMSG,
                              "'%s': capacity %llu does not fit the %llu-byte object", name,
                              (unsigned long long)cap, (unsigned long long)size);
        *data_off = ZINC_HEADER_SIZE;
        return ZINC_OK;
    case ZINC_REGION_V2:
        if (size < 2 * page || size % page != 0 || cap != size - page)
            return zinc__fail(ZINC_EBADMSG,
                              "'%s': version-2 region of %llu bytes with capacity %llu does "
                              "not add up (page %llu)",
                              name, (unsigned long long)size, (unsigned long long)cap,
                              (unsigned long long)page);
        *data_off = page;
        return ZINC_OK;
    default:
        return zinc__fail(ZINC_EBADMSG, "'%s': unknown region version %u", name,
                          (unsigned)copy->version);
    }
}

bool zinc__region_owner_gone(const struct zinc_hdr *copy, uint64_t size, const struct stat *st)
{
    uint64_t now = zinc__now_ns(CLOCK_REALTIME);
    uint64_t mtime = (uint64_t)st->st_mtim.tv_sec * ZINC_NSEC + (uint64_t)st->st_mtim.tv_nsec;
    if (size < sizeof(struct zinc_hdr) || !copy) {
        /* Never even sized: gone unless it was made a moment ago. */
        return now > mtime + 2 * ZINC_NSEC;
    }
    struct zinc_hdr *c = (struct zinc_hdr *)copy; /* private: relaxed reads */
    uint64_t magic = atomic_load_explicit(&c->magic, memory_order_relaxed);
    int32_t pid = atomic_load_explicit(&c->owner_pid, memory_order_relaxed);
    if (magic != ZINC_REGION_MAGIC) {
        /* Half-made: gone if its creator is dead (or its pid was reused by
         * a process started after the object was sized), or (creator
         * unknown) if it has not been finished within 2 s. The pid is
         * create's early pwrite, checked against the process table. */
        if (pid > 0)
            return !zinc__pid_alive(pid, mtime);
        return now > mtime + 2 * ZINC_NSEC;
    }
    if (atomic_load_explicit(&c->flags, memory_order_relaxed) & ZINC_FLAG_OWNER_CLOSED)
        return true;
    return !zinc__pid_alive(pid, c->created_at);
}

bool zinc__region_dead(const struct zinc_hdr *copy)
{
    struct zinc_hdr *c = (struct zinc_hdr *)copy; /* private: relaxed reads */
    return atomic_load_explicit(&c->magic, memory_order_relaxed) == ZINC_REGION_MAGIC &&
           (atomic_load_explicit(&c->flags, memory_order_relaxed) & ZINC_FLAG_OWNER_CLOSED) &&
           atomic_load_explicit(&c->ref_count, memory_order_relaxed) == 0;
}

/* ---- create / open / close -------------------------------------------------------- */

/* Judge for zinc__shm_create: an existing region is replaced when its owner
 * is gone (with ZINC_CREATE_REPLACE_STALE) or, always, when it is dead.
 * The header is read with pread: a peer truncating the object meanwhile
 * gives a short read, never a SIGBUS. */
static int region_judge(int fd, const struct stat *st, const char *name, void *arg)
{
    bool any_stale = *(const bool *)arg;
    struct zinc_hdr copy;
    bool have = (uint64_t)st->st_size >= sizeof(copy) &&
                pread(fd, &copy, sizeof(copy), 0) == (ssize_t)sizeof(copy);
    bool gone = any_stale ? zinc__region_owner_gone(have ? &copy : NULL,
                                                    (uint64_t)st->st_size, st)
                          : have && zinc__region_dead(&copy);
    if (gone)
        return ZINC_OK;
    if (any_stale)
        return zinc__fail(ZINC_EEXIST, "create '%s': the name exists and its owner is alive",
                          name);
    return zinc__fail(ZINC_EEXIST, "create '%s': the name already exists "
                      "(ZINC_CREATE_REPLACE_STALE replaces it if its owner is gone)", name);
}

/* A handle over the mapping `map` of `len` bytes: the values come from
 * the creator's own geometry or the opener's validated copy, never from
 * the shared header. */
static void region_fill(struct zinc_region *reg, void *map, uint64_t data_off, uint64_t len,
                        uint64_t capacity, uint32_t layout, bool owner, const struct stat *st,
                        const char *obj)
{
    reg->hdr = map;
    reg->data = (uint8_t *)map + data_off;
    reg->map_len = (size_t)len;
    reg->capacity = capacity;
    reg->layout = layout;
    reg->owner = owner;
    reg->dev = st->st_dev;
    reg->ino = st->st_ino;
    reg->uid = st->st_uid;
    snprintf(reg->obj, sizeof(reg->obj), "%s", obj);
}

/* The start of a call that makes a handle: *out and the thread's last
 * error cleared, `out` and `name` checked, "/zinc_<name>" into obj. */
static int handle_call_begin(ZincHandle *out, const char *what, const char *name, char *obj)
{
    if (out)
        *out = NULL;
    zinc__clear_error();
    if (!out)
        return zinc__fail(ZINC_EINVAL, "%s: out is NULL", what);
    return zinc__obj_name(name, obj);
}

ZINC_API int32_t zinc_create_ex(const char *name, uintptr_t capacity,
                                const zinc_create_opts *opts, ZincHandle *out)
{
    char obj[ZINC_OBJ_NAME_MAX];
    int r = handle_call_begin(out, "create", name, obj);
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
    if (flags & ~(ZINC_CREATE_REPLACE_STALE | ZINC_CREATE_PREFAULT | ZINC_CREATE_GROUP_ACCESS))
        return zinc__fail(ZINC_EINVAL, "create '%s': unknown flags 0x%x", name, flags);
    uint64_t data_off, total;
    if (region_geometry(layout, capacity, &data_off, &total) < 0)
        return zinc__fail(ZINC_EINVAL,
                          "create '%s': capacity %llu must be a non-zero multiple of the "
                          "page size (%ld) and fit in memory",
                          name, (unsigned long long)capacity, zinc__page_size());

    bool any_stale = flags & ZINC_CREATE_REPLACE_STALE;
    struct stat st;
    int fd = zinc__shm_create(obj, name, region_judge, &any_stale, &st);
    if (fd < 0)
        return fd;
    void *map = MAP_FAILED;
    if ((flags & ZINC_CREATE_GROUP_ACCESS) && (r = zinc__shm_share_group(fd, name)) < 0)
        goto fail;
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
    r = zinc__shm_reserve(fd, total, name);
    if (r < 0)
        goto fail;
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
    zinc__region_init(map, (uint16_t)layout, capacity, name);
    zinc__region_publish(map);

    region_fill(reg, map, data_off, total, capacity, layout, true, &st, obj);
    *out = reg;
    return ZINC_OK;

fail:
    if (map != MAP_FAILED)
        munmap(map, (size_t)total);
    close(fd);
    /* Nothing half-made is left behind, but only our own object: never a
     * name someone replaced meanwhile. */
    zinc__unlink_if_same(obj, st.st_dev, st.st_ino);
    return r;
}

ZINC_API int32_t zinc_create(const char *name, uintptr_t capacity, ZincHandle *out)
{
    return zinc_create_ex(name, capacity, NULL, out);
}

ZINC_API int32_t zinc_open(const char *name, ZincHandle *out)
{
    char obj[ZINC_OBJ_NAME_MAX];
    int r = handle_call_begin(out, "open", name, obj);
    if (r < 0)
        return r;
    /* Another user's object (a squatter), a FIFO or a link: refused. */
    struct stat st;
    int fd = zinc__shm_open_existing(obj, name, O_RDWR, "open", false, &st, NULL);
    if (fd < 0)
        return fd;
    /* The header is read once, with pread, and validated against the size
     * that follows its magic; only that private copy is used from here on
     * (capacity and version are never read from the shared bytes again). */
    struct zinc_hdr copy;
    uint64_t data_off;
    r = zinc__region_peek(fd, name, &copy, &st);
    uint64_t size = (uint64_t)st.st_size;
    if (r == 0)
        r = zinc__region_validate(&copy, size, &data_off, name);
    if (r == 0 && size > SIZE_MAX)
        r = zinc__fail(ZINC_EBADMSG, "open '%s': object too large to map", name);
    if (r < 0) {
        close(fd);
        return r;
    }
    void *map = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        r = zinc__shm_errno(errno, "open (mmap)", name);
        close(fd);
        return r;
    }
    /* Shrunk between the fstat and the mmap: the tail would be a SIGBUS. */
    r = zinc__shm_size_held(fd, size, name, "open");
    close(fd);
    struct zinc_hdr *hdr = map;
    if (r < 0)
        goto fail;
    if (!zinc__region_ref(hdr)) {
        struct zinc_hdr now;
        zinc__region_snapshot(hdr, &now);
        if (zinc__region_dead(&now)) {
            /* Owner closed and nobody left: the last closer did not remove
             * the name (an upstream Zinc handle). Gone, as close would have
             * made it. */
            munmap(map, (size_t)size);
            zinc__unlink_if_same(obj, st.st_dev, st.st_ino);
            return zinc__fail(ZINC_ENOENT, "open '%s': the region was closed by its owner and "
                              "every other handle (a dead name, now removed)", name);
        }
        r = zinc__fail(ZINC_EBADMSG, "open '%s': ref_count is %u (corrupted or closing)", name,
                       atomic_load_explicit(&now.ref_count, memory_order_relaxed));
        goto fail;
    }
    struct zinc_region *reg = calloc(1, sizeof(*reg));
    if (!reg) {
        zinc__region_unref(hdr);
        r = zinc__fail(-ENOMEM, "open '%s': out of memory", name);
        goto fail;
    }
    /* Capacity and layout from the validated copy, never re-read. */
    region_fill(reg, map, data_off, size, copy.capacity, copy.version, false, &st, obj);
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
    if (reg->owner)
        zinc__region_owner_close(reg->hdr);
    if (zinc__region_unref(reg->hdr))
        zinc__unlink_if_same(reg->obj, reg->dev, reg->ino);
    munmap(reg->hdr, reg->map_len);
    free(reg);
}

/* ---- notify / wait ------------------------------------------------------------ */

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
    /* Acquire pairs with notify's release fetch_add. */
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
        if (r == ZINC_ETIMEDOUT)
            return r; /* the removal guard stayed taken (message set) */
        if (r != ZINC_EEXIST)
            return zinc__shm_errno(-r, "unlink", name);
        /* replaced between our stat and the check: unlink the new one */
    }
    if (shm_unlink(obj) < 0)
        return zinc__shm_errno(errno, "unlink", name);
    return ZINC_OK;
}

/* ---- information ------------------------------------------------------------------- */

/* Fill `out` from a header copy (the caller's zinc__region_snapshot or
 * zinc__region_peek), and the owner from the object's stat. */
static void info_fill(const struct zinc_hdr *copy, uint64_t size, uint64_t data_off,
                      uid_t uid, zinc_region_info *out)
{
    struct zinc_hdr *c = (struct zinc_hdr *)copy; /* private: relaxed reads */
    memset(out, 0, sizeof(*out));
    out->version = c->version;
    out->flags = atomic_load_explicit(&c->flags, memory_order_relaxed);
    out->notify_seq = atomic_load_explicit(&c->notify_seq, memory_order_relaxed);
    out->capacity = c->capacity;
    out->data_offset = data_off;
    out->file_size = size;
    out->ref_count = atomic_load_explicit(&c->ref_count, memory_order_relaxed);
    out->owner_pid = atomic_load_explicit(&c->owner_pid, memory_order_relaxed);
    out->created_at = c->created_at;
    out->name_hash = c->name_hash;
    out->owner_alive = !(out->flags & ZINC_FLAG_OWNER_CLOSED) &&
                       zinc__pid_alive(out->owner_pid, out->created_at);
    out->owner_uid = (uint32_t)uid;
    out->foreign = !zinc__uid_trusted(uid);
}

int zinc__region_info_handle(ZincHandle h, zinc_region_info *out, const uint8_t **data,
                             uint64_t *len)
{
    struct zinc_region *reg = h;
    struct stat st;
    char path[ZINC_OBJ_NAME_MAX + 16];
    snprintf(path, sizeof(path), "/dev/shm%s", reg->obj);
    uint64_t size = stat(path, &st) == 0 && st.st_ino == reg->ino ? (uint64_t)st.st_size
                                                                   : (uint64_t)reg->map_len;
    struct zinc_hdr copy;
    zinc__region_snapshot(reg->hdr, &copy);
    info_fill(&copy, size, (uint64_t)(reg->data - (uint8_t *)reg->hdr), reg->uid, out);
    /* The geometry the handle validated at open, not what the shared
     * header says now (a peer may have rewritten it since). */
    out->version = (uint16_t)reg->layout;
    out->capacity = reg->capacity;
    *data = reg->data;
    *len = reg->capacity;
    return ZINC_OK;
}

int zinc__region_info_fd(int fd, const char *name, zinc_region_info *out)
{
    struct stat st;
    struct zinc_hdr copy;
    int r = zinc__region_peek(fd, name, &copy, &st);
    if (r < 0)
        return r;
    uint64_t size = (uint64_t)st.st_size;
    uint64_t data_off;
    r = zinc__region_validate(&copy, size, &data_off, name);
    if (r < 0)
        return r;
    info_fill(&copy, size, data_off, st.st_uid, out);
    return ZINC_OK;
}
