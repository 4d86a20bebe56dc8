/* SPDX-License-Identifier: MIT */
/*
 * ring-table.c — the consumer table and the ring seen from outside: which
 * entries are held by live consumers, the statistics snapshot, and the
 * retirement of a ring whose producer is gone (for a replacing creator and
 * for zinc_ring_remove_stale).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "region.h"
#include "ring-internal.h"

bool zinc__table_any_live(struct zr_map *m, int32_t except)
{
    uint32_t hw = table_bound(m);
    for (uint32_t i = 0; i < hw; i++) {
        if ((int32_t)i == except)
            continue;
        if (zinc__token_held(m->fd, ZR_TOKEN_CONSUMER(i)) > 0)
            return true;
    }
    return false;
}

/* How long a retirer waits for a producer that has marked its ring closed
 * to drop its token (it does so right after; a forked child's copy of the
 * descriptor goes at once too). A token still held after that is a live
 * producer whose state word someone else wrote: never retired. */
#define CLOSING_GRACE_NS 100000000ull

int zinc__ring_judge(int fd, const struct stat *st, const char *name, void *arg)
{
    (void)arg;
    (void)st;
    struct zr_map old;
    int r = zinc__map_init(&old, name);
    if (r < 0)
        return r;
    old.fd = dup(fd); /* zinc__map_release closes it; fd stays the caller's */
    if (old.fd < 0)
        return zinc__fail(-errno, "ring '%s': dup: %s", name, strerror(errno));
    /* Taking the old object's producer token makes us the only one that
     * may retire it: a live producer, a creator mid-way, or a concurrent
     * replacer holds it. Liveness rests on the token alone, never on a
     * shared word: a producer that marked its ring closed is waited for
     * (bounded) until it drops the token. */
    int t = zinc__token_take(old.fd, ZR_TOKEN_PRODUCER);
    r = zinc__map_existing(&old, PROT_READ | PROT_WRITE);
    if (t == -EAGAIN && r == ZINC_OK &&
        atomic_load_explicit(&old.ctl->prod_state, memory_order_acquire) == ZR_CLOSED) {
        uint64_t t0 = zinc__now_ns(CLOCK_MONOTONIC);
        while (t == -EAGAIN && zinc__now_ns(CLOCK_MONOTONIC) - t0 < CLOSING_GRACE_NS) {
            struct timespec ts = {0, 1000000}; /* poll the token: a 1 ms back-off */
            nanosleep(&ts, NULL);
            t = zinc__token_take(old.fd, ZR_TOKEN_PRODUCER);
        }
    }
    if (t < 0) {
        zinc__map_release(&old);
        if (t != -EAGAIN)
            return zinc__fail(t, "ring '%s': lock: %s", name, strerror(-t));
        return zinc__fail(ZINC_EEXIST, "ring '%s' exists and its producer is alive", name);
    }
    if (r == ZINC_EAGAIN) {
        /* An empty object a moment old: its creator may be between
         * shm_open and taking its token. Not ours to remove. */
        zinc__map_release(&old);
        return zinc__fail(ZINC_EEXIST, "ring '%s' is being created by another process", name);
    }
    if (r == ZINC_OK) {
        struct zr_ctl *ctl = old.ctl;
        /* seq_cst store + bump: sleepers of the old instance re-check the
         * state at W3 after their futex returns (close path, docs/design.md). */
        atomic_store_explicit(&ctl->prod_state, ZR_CLOSED, memory_order_seq_cst);
        atomic_fetch_add_explicit(&ctl->pub_futex, 1, memory_order_seq_cst);
        zinc__futex_wake(&ctl->pub_futex);
    } else if (r == ZINC_EBADMSG && old.base) {
        /* Not a ring. A plain region by that name: its owner decides (pid
         * rules, from a private copy of its header). */
        struct zinc_hdr copy;
        zinc__region_snapshot(old.hdr ? old.hdr : (struct zinc_hdr *)old.base, &copy);
        uint64_t page = (uint64_t)zinc__page_size();
        bool ring = old.len >= page + 8 && zinc__ring_probe(old.base + page, 8);
        if (atomic_load_explicit(&copy.magic, memory_order_relaxed) == ZINC_REGION_MAGIC &&
            !ring) {
            struct stat now;
            if (fstat(old.fd, &now) < 0 ||
                !zinc__region_owner_gone(&copy, (uint64_t)now.st_size, &now)) {
                zinc__map_release(&old);
                return zinc__fail(ZINC_EEXIST, "'%s' is a plain zinc region with a live owner",
                                  name);
            }
        }
    }
    /* Half-made (creator died: its token was free), a dead or closed
     * producer, or garbage: stale. */
    zinc__map_release(&old);
    return ZINC_OK;
}

ZINC_API int zinc_ring_stats_read(const char *name, zinc_ring_stats *rs, zinc_consumer_stats *cs,
                                  uint32_t cap, uint32_t *n_out)
{
    zinc__clear_error();
    if (n_out)
        *n_out = 0;
    if (!rs)
        return zinc__fail(ZINC_EINVAL, "ring_stats: rs is NULL");
    struct zr_map m;
    int r = zinc__map_open(name, &m, PROT_READ, "ring_stats");
    if (r < 0) {
        zinc__map_release(&m);
        return r;
    }
    return zinc__ring_stats_map(&m, rs, cs, cap, n_out);
}

int zinc__ring_stats_map(struct zr_map *m, zinc_ring_stats *rs, zinc_consumer_stats *cs,
                         uint32_t cap, uint32_t *n_out)
{
    /* Relaxed loads throughout: a snapshot of statistics; fields may be
     * mutually a little out of date, never out of bounds. */
    struct zr_ctl *ctl = m->ctl;
    memset(rs, 0, sizeof(*rs));
    rs->generation = m->generation;
    rs->head = atomic_load_explicit(&ctl->head, memory_order_relaxed);
    rs->slot_count = m->g.slot_count;
    rs->max_consumers = m->g.max_consumers;
    rs->slot_size = m->g.slot_size;
    rs->ring_bytes = m->len; /* the whole object (header page + ring) */
    rs->producer_state = atomic_load_explicit(&ctl->prod_state, memory_order_relaxed);
    rs->producer_alive = zinc__token_held(m->fd, ZR_TOKEN_PRODUCER) > 0;
    rs->producer_pid = atomic_load_explicit(&ctl->prod_pid, memory_order_relaxed);
    rs->published = atomic_load_explicit(&ctl->published, memory_order_relaxed);
    rs->aborted = atomic_load_explicit(&ctl->aborted, memory_order_relaxed);
    rs->blocked_ns = atomic_load_explicit(&ctl->blocked_ns, memory_order_relaxed);
    rs->blocked_claims = atomic_load_explicit(&ctl->blocked_claims, memory_order_relaxed);
    rs->evicted = atomic_load_explicit(&ctl->evicted, memory_order_relaxed);
    rs->demoted = atomic_load_explicit(&ctl->demoted, memory_order_relaxed);
    rs->created_ns = ctl->created_ns;
    rs->last_publish_ns = atomic_load_explicit(&ctl->last_publish_ns, memory_order_relaxed);
    rs->published_bytes = atomic_load_explicit(&ctl->published_bytes, memory_order_relaxed);
    rs->flags = ctl->flags;
    rs->stream_fourcc = (uint32_t)atomic_load_explicit(&ctl->stream.w[ZD_FOURCC_FLAGS],
                                                       memory_order_relaxed);
    uint32_t hw = table_bound(m);
    uint32_t n = 0;
    for (uint32_t i = 0; i < hw; i++) {
        struct zr_cons *e = &m->cons[i];
        uint32_t st = atomic_load_explicit(&e->state, memory_order_relaxed);
        if (st == ZR_FREE)
            continue;
        if (cs && n < cap) {
            zinc_consumer_stats *o = &cs[n];
            memset(o, 0, sizeof(*o));
            o->index = i;
            o->mode = atomic_load_explicit(&e->mode, memory_order_relaxed);
            o->pid = atomic_load_explicit(&e->pid, memory_order_relaxed);
            o->alive = zinc__token_held(m->fd, ZR_TOKEN_CONSUMER(i)) > 0;
            o->demoted = atomic_load_explicit(&e->demoted, memory_order_relaxed) != 0;
            o->evicted = atomic_load_explicit(&e->evicted, memory_order_relaxed) != 0;
            o->cursor = atomic_load_explicit(&e->cursor, memory_order_relaxed);
            o->lag = rs->head > o->cursor ? rs->head - o->cursor : 0;
            o->acquired = atomic_load_explicit(&e->acquired, memory_order_relaxed);
            o->released = atomic_load_explicit(&e->released, memory_order_relaxed);
            o->dropped = atomic_load_explicit(&e->dropped, memory_order_relaxed);
            o->torn = atomic_load_explicit(&e->torn, memory_order_relaxed);
            /* Acquire: pairs with the consumer's release store at the end
             * of its attach (its start point is fixed before). */
            o->attached_ns = atomic_load_explicit(&e->attached_ns, memory_order_acquire);
            for (int b = 0; b < ZINC_LAT_BUCKETS; b++)
                o->latency[b] = atomic_load_explicit(&e->latency[b], memory_order_relaxed);
        }
        n++;
    }
    rs->consumers = n;
    if (n_out)
        *n_out = n;
    zinc__map_release(m);
    return ZINC_OK;
}

ZINC_API int zinc_ring_remove_stale(const char *name)
{
    zinc__clear_error();
    struct zr_map m;
    int r = zinc__map_open(name, &m, PROT_READ, "remove_stale");
    bool opened = m.fd >= 0;
    zinc__map_release(&m);
    if (!opened)
        return r; /* a bad name, no such object, no permission */
    if (r == ZINC_EBADMSG)
        return r; /* not a ring: zinc_unlink is the tool for that */
    if (r == ZINC_EAGAIN)
        return zinc__fail(ZINC_EEXIST, "ring '%s' is being created by a live process", name);
    /* The judge a creator uses, then the same guarded unlink. */
    int fd = shm_open(m.obj, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0)
        return zinc__shm_errno(errno, "remove_stale", name);
    struct stat st;
    r = fstat(fd, &st) < 0 ? -errno : zinc__ring_judge(fd, &st, name, NULL);
    close(fd);
    if (r < 0)
        return r;
    r = zinc__unlink_if_same(m.obj, st.st_dev, st.st_ino);
    return r == -ENOENT || r == ZINC_EEXIST ? ZINC_OK : r; /* gone, or already replaced */
}
