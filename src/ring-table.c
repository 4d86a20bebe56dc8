/* SPDX-License-Identifier: MIT */
/*
 * ring-table.c — the consumer table and the ring seen from outside: which
 * entries are held by live consumers, the statistics snapshot, the
 * retirement of a ring whose producer is gone (for a replacing creator and
 * for zinc_ring_remove_stale), and the liveness decisions behind removals
 * and a producer's check that its ring is still the one its name finds.
 * Whoever looks at a ring without holding it reads it with pread, never
 * through a mapping: a peer truncating the object gives a code, not a
 * SIGBUS.
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

/* How long a retirer (or a closing consumer) waits for a producer that has
 * marked its ring closed to drop its token (it does so right after; a
 * forked child's copy of the descriptor goes at once too). A token still
 * held after that is a live producer whose state word someone else wrote:
 * never retired, its name never removed. */
#define CLOSING_GRACE_NS 100000000ull

/* Wait until the producer token on fd is free (1), at most CLOSING_GRACE_NS
 * (0: still held); with `take`, take it as well. Polls the token with a
 * back-off from 20 us to 2 ms: a closing producer drops it within
 * microseconds. */
static int token_wait_free(int fd, bool take)
{
    uint64_t t0 = zinc__now_ns(CLOCK_MONOTONIC);
    long nap = 20000;
    for (;;) {
        int t = take ? zinc__token_take(fd, ZR_TOKEN_PRODUCER)
                     : (zinc__token_held(fd, ZR_TOKEN_PRODUCER) > 0 ? -EAGAIN : 0);
        if (t == 0)
            return 1;
        if (t != -EAGAIN || zinc__now_ns(CLOCK_MONOTONIC) - t0 >= CLOSING_GRACE_NS)
            return 0;
        struct timespec ts = {0, nap};
        nanosleep(&ts, NULL);
        nap = nap * 2 < 2000000 ? nap * 2 : 2000000;
    }
}

/* Offsets of control words in the object (the ring starts one page in). */
static off_t ctl_off(size_t field)
{
    return (off_t)zinc__page_size() + (off_t)field;
}

/* The producer state word of the ring open on fd, by pread (ZR_OPEN if
 * unreadable: nothing is concluded from a word we could not read). */
static uint32_t state_pread(int fd)
{
    uint32_t v;
    if (pread(fd, &v, sizeof(v), ctl_off(offsetof(struct zr_ctl, prod_state))) != sizeof(v))
        return ZR_OPEN;
    return v;
}

/* Retire the ring open on fd, whose producer token we hold: state CLOSED,
 * pub_futex bumped, its sleepers woken. pwrite, never a store through a
 * mapping (the object may have been truncated under us: pwrite cannot
 * raise SIGBUS). Both words have one writer, the producer, whose token we
 * hold, so read-modify-write by pread/pwrite races with no writer; a
 * reader sees the state change in one byte (OPEN 1 -> CLOSED 2). */
static void ring_retire(int fd)
{
    uint32_t closed = ZR_CLOSED, v = 0;
    off_t fut = ctl_off(offsetof(struct zr_ctl, pub_futex));
    (void)!pwrite(fd, &closed, sizeof(closed), ctl_off(offsetof(struct zr_ctl, prod_state)));
    if (pread(fd, &v, sizeof(v), fut) == sizeof(v)) {
        v++;
        (void)!pwrite(fd, &v, sizeof(v), fut);
    }
    /* The wake needs an address in a mapping of the object (a shared futex
     * is keyed by the file page). Nothing is loaded or stored through it:
     * FUTEX_WAKE on a page that is gone fails with EFAULT (the kernel's own
     * fault-in), never a SIGBUS. Sleepers also re-check every 50 ms. */
    long page = zinc__page_size();
    void *p = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, (off_t)page);
    if (p != MAP_FAILED) {
        zinc__futex_wake((_Atomic uint32_t *)((uint8_t *)p + offsetof(struct zr_ctl, pub_futex)));
        munmap(p, (size_t)page);
    }
}

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
    r = zinc__map_existing(&old, 0); /* pread only: never mapped */
    if (t == -EAGAIN && r == ZINC_OK && state_pread(old.fd) == ZR_CLOSED)
        t = token_wait_free(old.fd, true) ? 0 : -EAGAIN;
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
        ring_retire(old.fd);
    } else if (r == ZINC_EBADMSG) {
        /* Not a ring. A plain region by that name: its owner decides (pid
         * rules, from a private copy of its header, read with pread). */
        struct zinc_hdr copy;
        struct stat now;
        uint64_t page = (uint64_t)zinc__page_size();
        if (zinc__region_peek(old.fd, name, &copy, &now) == 0 &&
            atomic_load_explicit(&copy.magic, memory_order_relaxed) == ZINC_REGION_MAGIC &&
            !zinc__ring_probe_fd(old.fd, page) &&
            !zinc__region_owner_gone(&copy, (uint64_t)now.st_size, &now)) {
            zinc__map_release(&old);
            return zinc__fail(ZINC_EEXIST, "'%s' is a plain zinc region with a live owner",
                              name);
        }
    }
    /* Half-made (creator died: its token was free), a dead or closed
     * producer, or garbage: stale. */
    zinc__map_release(&old);
    return ZINC_OK;
}

bool zinc__producer_gone(struct zr_map *m)
{
    int held = zinc__token_held(m->fd, ZR_TOKEN_PRODUCER);
    if (held == 0)
        return true;
    if (held < 0)
        return false; /* cannot tell: keep the name */
    /* Held. A producer in its close marks CLOSED, then drops the token:
     * wait for that, bounded. Acquire: pairs with close's seq_cst store
     * (nothing is read after it but the token, which is the authority). */
    if (atomic_load_explicit(&m->ctl->prod_state, memory_order_acquire) != ZR_CLOSED)
        return false;
    return token_wait_free(m->fd, false);
}

/* The key claim compares with check_due (see struct zinc_producer). */
static uint64_t check_key(const struct zinc_producer *p)
{
    return p->clk.last + p->next_seq;
}

void zinc__producer_check_init(struct zinc_producer *p)
{
    p->check_at = zinc__now_ns(CLOCK_MONOTONIC_COARSE) + LIVENESS_PERIOD_NS;
    p->check_due = check_key(p) + (p->timestamps ? LIVENESS_PERIOD_NS : 64);
}

int zinc__producer_check(struct zinc_producer *p)
{
    struct zr_map *m = &p->m;
    if (!p->lost) {
        p->check_due = check_key(p) + (p->timestamps ? LIVENESS_PERIOD_NS : 64);
        if (!p->timestamps) {
            /* Frames counted on the hot path; the coarse clock (a few ns,
             * no system call) read once in 64 of them. */
            uint64_t now = zinc__now_ns(CLOCK_MONOTONIC_COARSE);
            if (now < p->check_at)
                return ZINC_OK;
            p->check_at = now + LIVENESS_PERIOD_NS;
        }
        /* Relaxed: nothing is read on its account. */
        bool closed = atomic_load_explicit(&m->ctl->prod_state, memory_order_relaxed) != ZR_OPEN;
        /* An anonymous ring has no name to lose: only the state word. */
        if (!closed && (map_anonymous(m) || zinc__name_is(m->obj, m->dev, m->ino)))
            return ZINC_OK;
        p->lost = true;
        p->check_due = 0; /* every claim from now on comes here */
        if (!closed) {
            /* Our frames reach nobody new: close the ring as close would
             * (seq_cst store and bump, for the sleepers' W3 re-check:
             * docs/design.md), so that our consumers drain it, get -32,
             * and re-open the name. */
            atomic_store_explicit(&m->ctl->prod_state, ZR_CLOSED, memory_order_seq_cst);
            atomic_fetch_add_explicit(&m->ctl->pub_futex, 1, memory_order_seq_cst);
            zinc__futex_wake(&m->ctl->pub_futex);
        }
    }
    return zinc__fail(ZINC_EPIPE, "ring '%s' was closed by another process, or its name "
                      "removed or taken by another ring: consumers no longer find this one; "
                      "close this producer (and create the ring again)", m->name);
}

int zinc__ring_stats_map(struct zr_map *m, zinc_ring_stats *rs, zinc_consumer_stats *cs,
                         uint32_t cap, uint32_t *n_out)
{
    /* Everything by pread into private memory: a peer truncating the object
     * meanwhile gives a short read and -74, never a SIGBUS. Fields may be
     * mutually a little out of date, never out of bounds. */
    struct zr_ctl ctl;
    if (pread(m->fd, &ctl, sizeof(ctl), ctl_off(0)) != (ssize_t)sizeof(ctl))
        return zinc__fail(ZINC_EBADMSG, "ring_stats '%s': the object shrank while read",
                          m->name);
    memset(rs, 0, sizeof(*rs));
    rs->generation = m->generation;
    rs->head = atomic_load_explicit(&ctl.head, memory_order_relaxed);
    rs->slot_count = m->g.slot_count;
    rs->max_consumers = m->g.max_consumers;
    rs->slot_size = m->g.slot_size;
    rs->ring_bytes = m->len; /* the whole object (header page + ring) */
    rs->producer_state = atomic_load_explicit(&ctl.prod_state, memory_order_relaxed);
    rs->producer_alive = zinc__token_held(m->fd, ZR_TOKEN_PRODUCER) > 0;
    rs->producer_pid = atomic_load_explicit(&ctl.prod_pid, memory_order_relaxed);
    rs->published = atomic_load_explicit(&ctl.published, memory_order_relaxed);
    rs->aborted = atomic_load_explicit(&ctl.aborted, memory_order_relaxed);
    rs->blocked_ns = atomic_load_explicit(&ctl.blocked_ns, memory_order_relaxed);
    rs->blocked_claims = atomic_load_explicit(&ctl.blocked_claims, memory_order_relaxed);
    rs->evicted = atomic_load_explicit(&ctl.evicted, memory_order_relaxed);
    rs->demoted = atomic_load_explicit(&ctl.demoted, memory_order_relaxed);
    rs->created_ns = m->created_ns;
    rs->last_publish_ns = atomic_load_explicit(&ctl.last_publish_ns, memory_order_relaxed);
    rs->published_bytes = atomic_load_explicit(&ctl.published_bytes, memory_order_relaxed);
    rs->flags = m->flags;
    rs->stream_fourcc = (uint32_t)atomic_load_explicit(&ctl.stream.w[ZD_FOURCC_FLAGS],
                                                       memory_order_relaxed);
    rs->owner_uid = (uint32_t)m->uid;
    rs->foreign = !zinc__uid_trusted(m->uid);
    uint32_t hw = atomic_load_explicit(&ctl.hi_water, memory_order_relaxed);
    if (hw > m->g.max_consumers)
        hw = m->g.max_consumers; /* a hostile value never reads past the table */
    uint32_t n = 0;
    for (uint32_t i = 0; i < hw; i++) {
        struct zr_cons e;
        off_t off = ctl_off(m->g.off_consumers + (uint64_t)i * sizeof(e));
        if (pread(m->fd, &e, sizeof(e), off) != (ssize_t)sizeof(e))
            return zinc__fail(ZINC_EBADMSG, "ring_stats '%s': the object shrank while read",
                              m->name);
        /* Acquire fence after the copy (as an acquire load of attached_ns
         * would): pairs with the consumer's release store of attached_ns
         * at the end of its attach, so a caller that sees it set and then
         * publishes publishes after the consumer fixed its start point. */
        atomic_thread_fence(memory_order_acquire);
        uint32_t st = atomic_load_explicit(&e.state, memory_order_relaxed);
        if (st == ZR_FREE)
            continue;
        if (cs && n < cap) {
            zinc_consumer_stats *o = &cs[n];
            memset(o, 0, sizeof(*o));
            o->index = i;
            o->mode = atomic_load_explicit(&e.mode, memory_order_relaxed);
            o->pid = atomic_load_explicit(&e.pid, memory_order_relaxed);
            o->alive = zinc__token_held(m->fd, ZR_TOKEN_CONSUMER(i)) > 0;
            o->demoted = atomic_load_explicit(&e.demoted, memory_order_relaxed) != 0;
            o->evicted = atomic_load_explicit(&e.evicted, memory_order_relaxed) != 0;
            o->cursor = atomic_load_explicit(&e.cursor, memory_order_relaxed);
            o->lag = rs->head > o->cursor ? rs->head - o->cursor : 0;
            o->acquired = atomic_load_explicit(&e.acquired, memory_order_relaxed);
            o->released = atomic_load_explicit(&e.released, memory_order_relaxed);
            o->dropped = atomic_load_explicit(&e.dropped, memory_order_relaxed);
            o->torn = atomic_load_explicit(&e.torn, memory_order_relaxed);
            /* Attached means ACTIVE with its start point fixed: an entry
             * still ATTACHING shows 0 whatever its word holds. */
            o->attached_ns = st == ZR_ACTIVE
                                 ? atomic_load_explicit(&e.attached_ns, memory_order_relaxed)
                                 : 0;
            for (int b = 0; b < ZINC_LAT_BUCKETS; b++)
                o->latency[b] = atomic_load_explicit(&e.latency[b], memory_order_relaxed);
        }
        n++;
    }
    rs->consumers = n;
    if (n_out)
        *n_out = n;
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
    /* prot 0: validated with pread, never mapped. */
    int r = zinc__map_open(name, &m, 0, "ring_stats");
    if (r == 0)
        r = zinc__ring_stats_map(&m, rs, cs, cap, n_out);
    zinc__map_release(&m);
    return r;
}

ZINC_API int zinc_ring_remove_stale(const char *name)
{
    zinc__clear_error();
    struct zr_map m;
    int r = zinc__map_open(name, &m, 0, "remove_stale"); /* pread only */
    bool opened = m.fd >= 0, foreign = m.foreign;
    uid_t uid = m.uid;
    zinc__map_release(&m);
    if (!opened)
        return r; /* a bad name, no such object, no permission, not a file */
    if (foreign)
        return zinc__fail(ZINC_EPERM, "remove_stale '%s': the ring belongs to uid %u, not to "
                          "this process (euid %u): not ours to judge or remove",
                          name, (unsigned)uid, (unsigned)geteuid());
    if (r == ZINC_EBADMSG)
        return r; /* not a ring: zinc_unlink is the tool for that */
    if (r == ZINC_EAGAIN)
        return zinc__fail(ZINC_EEXIST, "ring '%s' is being created by a live process", name);
    /* The judge a creator uses, then the same guarded unlink. */
    struct stat st;
    int fd = zinc__shm_open_existing(m.obj, name, O_RDWR, "remove_stale", false, &st, NULL);
    if (fd < 0)
        return fd;
    r = zinc__ring_judge(fd, &st, name, NULL);
    close(fd);
    if (r < 0)
        return r;
    r = zinc__unlink_if_same(m.obj, st.st_dev, st.st_ino);
    return r == -ENOENT || r == ZINC_EEXIST ? ZINC_OK : r; /* gone, or already replaced */
}
