/* SPDX-License-Identifier: MIT */
/*
 * ring-internal.h — the frame ring's private types and the functions its
 * files share (not installed). The ring is built on a version-2 Zinc region
 * (src/region.h); its bytes are in src/layout.h.
 *
 *   ring-geom.c   geometry of a configuration; validation of a ring's
 *                 control block against its object; descriptor checks
 *   ring-map.c    the process-wide, fork-aware mapping registry; the
 *                 liveness-token descriptors; opening an existing ring
 *   producer.c    create / replace, EVERY gating, claim, publish, close
 *   consumer.c    attach, acquire, release, stream, close
 *   ring-table.c  the consumer table: liveness scans, statistics, removal
 *                 of a ring whose producer is gone
 *   ring-anon.c   sealed anonymous rings: a memfd instead of a name, its
 *                 seals, descriptors for consumers
 *   rendezvous.c  the Unix-socket rendezvous: the producer's listener
 *                 thread, connect, the address registry
 *
 * Everything read from shared memory is untrusted: geometry is copied into
 * the handle and validated once at attach and never re-read; every index is
 * masked with the private copy; every descriptor is re-checked.
 */
#ifndef ZINC_RING_INTERNAL_H
#define ZINC_RING_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <zinc/ring.h>

#include "clock.h"
#include "layout.h"
#include "private.h"

_Static_assert(ZR_CREATING == (int)ZINC_PRODUCER_CREATING && ZR_OPEN == (int)ZINC_PRODUCER_OPEN &&
                   ZR_CLOSED == (int)ZINC_PRODUCER_CLOSED,
               "zinc_producer_state mirrors the shared prod_state word");

/* Longest futex sleep: waiters re-check their peer's liveness token at
 * least this often, so a dead peer is noticed within about 100 ms. */
#define LIVENESS_PERIOD_NS 50000000ull
#define DEFAULT_SPIN_NS 20000u
#define MAX_SPIN_NS 10000000u /* 10 ms: beyond that, sleeping is always better */

/* Mapping of one ring object, shared by producer and consumer handles. */
struct zr_map {
    uint8_t *base;          /* start of the object (region header) */
    size_t len;
    int fd;                 /* kept open: it carries our liveness token */
    struct zinc_hdr *hdr;
    struct zr_ctl *ctl;
    struct zr_cons *cons;
    struct zr_desc *descs;
    uint8_t *payloads;
    struct zr_geom g;
    uint64_t mask;
    uint64_t generation;
    /* Line 0 of the control block as validated at attach (private copies:
     * never re-read from the shared bytes). */
    uint32_t flags;
    uint32_t spin_ns;
    uint64_t demote_after_ns;
    uint64_t created_ns;
    dev_t dev;
    ino_t ino;
    uid_t uid;              /* the object's owner */
    bool foreign;           /* owned by an untrusted uid (read-only peeks only) */
    pid_t pid;              /* process that made the handle (see forked()) */
    bool registered;        /* fd is in the fork registry */
    char obj[ZINC_OBJ_NAME_MAX];
    char name[ZINC_NAME_MAX + 1];
};

struct zr_listener; /* src/rendezvous.c */

struct zinc_producer {
    struct zr_map m;
    uint64_t next_seq;      /* seq of the next claim */
    bool claimed;
    void *claim_data;
    uint64_t gate;          /* lower bound of EVERY cursors at the last scan */
    uint32_t gate_epoch;    /* every_epoch seen by that scan */
    bool gate_valid;
    bool timestamps;        /* publish_ns is read (no ZINC_RING_NO_TIMESTAMPS) */
    uint32_t spin_ns;
    uint64_t demote_after_ns;
    uint64_t last_live_check;
    uint64_t blocked_seq;   /* frame whose claim has been blocked ... */
    uint64_t blocked_since; /* ... since then, across claim calls (demotion) */
    uint64_t published, published_bytes, blocked_ns, blocked_claims, evicted, demoted, aborted;
    struct zr_clock clk;    /* publish_ns */
    struct zr_listener *listener; /* rendezvous socket (rendezvous.c), or NULL */
    /* Is the ring still the one consumers find? claim checks (state word,
     * name) once clk.last + next_seq reaches check_due: publish's clock
     * (ns) or, without timestamps, the frame count. */
    uint64_t check_due;
    uint64_t check_at;      /* without timestamps: the coarse clock's due time */
    bool lost;              /* closed or replaced by someone else: for good */
};

struct zr_fdw; /* consumer-fd.c */

struct zinc_consumer {
    struct zr_map m;
    struct zr_cons *e;      /* our entry */
    uint32_t idx;
    zinc_delivery mode;     /* in force (LOSSY after demotion) */
    bool demote_pending;    /* report ZINC_FRAME_DEMOTED on the next frame */
    bool region_ref;        /* holds a region reference (plain Zinc readers' count) */
    uint64_t cursor;        /* last seq consumed (private copy) */
    bool holding;
    uint64_t held_seq;
    void *held_data;
    uint64_t held_slot;
    uint32_t spin_ns;       /* configured ceiling of the spin phase */
    uint32_t spin_cur;      /* adaptive: halves after each sleep, doubles
                               when frames keep arriving within the spin */
    uint64_t last_live_check;
    bool prod_dead;         /* its token was seen free: gone for good */
    uint64_t acquired, released, dropped, torn;
    struct zr_clock clk;    /* the latency histogram's acquire time */
    struct zr_fdw *fdw;     /* zinc_consumer_fd's watcher (consumer-fd.c), or NULL */
    uint64_t any_served;    /* zinc_wait_any: when it last returned us (wait-any.c) */
};

static inline uint64_t now_ns(void)
{
    return zinc__now_ns(CLOCK_MONOTONIC);
}

/* Entries of the consumer table worth scanning: 1 + the highest ever used,
 * as the shared hi_water says, clamped to the table (a hostile value never
 * indexes past it). Relaxed: hi_water only bounds scans; each entry is
 * judged by its own state word. */
static inline uint32_t table_bound(const struct zr_map *m)
{
    uint32_t hw = atomic_load_explicit(&m->ctl->hi_water, memory_order_relaxed);
    return hw < m->g.max_consumers ? hw : m->g.max_consumers;
}

/* ---- ring-geom.c ---------------------------------------------------------------- */

ZINC_HIDDEN int zinc__ring_geom(uint32_t slot_count, uint32_t max_consumers,
                                uint64_t slot_size, struct zr_geom *g);
/* Check a configuration for creation and compute its geometry; -22 with a
 * message otherwise. */
ZINC_HIDDEN int zinc__ring_config_check(const char *name, const zinc_ring_config *cfg,
                                        struct zr_geom *g);
/* Does the data area at data_off (pread from fd) / at data (mapped) start
 * with the ring magic? For zinc_region_info.is_ring. */
ZINC_HIDDEN bool zinc__ring_probe_fd(int fd, uint64_t data_off);
ZINC_HIDDEN bool zinc__ring_probe(const uint8_t *data, uint64_t len);
/* Validate the ring in the data area (data_off, data_len) of the object
 * open on m->fd (read with pread), and fill the map's geometry and line-0
 * copies from a private copy; also the part pointers when m->base is
 * mapped. -74 on anything that does not add up. */
ZINC_HIDDEN int zinc__ring_validate(struct zr_map *m, uint64_t data_off, uint64_t data_len);
/* Part pointers (ctl, cons, descs, payloads) of the mapping at m->base from
 * the validated geometry. */
ZINC_HIDDEN void zinc__ring_parts(struct zr_map *m, uint64_t data_off);

/* ---- ring-map.c ------------------------------------------------------------------- */

/* Prepare an empty map for ring `name` (checks the name). */
ZINC_HIDDEN int zinc__map_init(struct zr_map *m, const char *name);
/* Map `len` bytes of the object open on `fd` read-write, shared with every
 * other handle of this process on the same object. NULL with *err set. */
ZINC_HIDDEN uint8_t *zinc__map_shared(int fd, dev_t dev, ino_t ino, size_t len, int *err);
ZINC_HIDDEN void zinc__map_unshare(uint8_t *base, size_t len);
/* The handle's token descriptor joins the fork registry: a forked child
 * closes its copy at once (handles are not inherited across fork). */
ZINC_HIDDEN void zinc__map_register(struct zr_map *m);
/* Any other descriptor a forked child closes at once (and its removal). */
ZINC_HIDDEN void zinc__fork_close_add(int fd);
ZINC_HIDDEN void zinc__fork_close_del(int fd);
/* Unmap and close (dropping every token of this handle). */
ZINC_HIDDEN void zinc__map_release(struct zr_map *m);
/* Validate region + ring of the object open on m->fd, reading with pread
 * only (never a SIGBUS), then map it (PROT_READ, or with PROT_WRITE) and
 * check that it did not shrink meanwhile; prot 0 validates without
 * mapping (m->len is the object's size). -11 being created (creator
 * alive), -32 creator died before finishing, -74 invalid or shrunk. */
ZINC_HIDDEN int zinc__map_existing(struct zr_map *m, int prot);
/* Open ring `name` (the safe opener: a FIFO never blocks, another user's
 * object is refused — but reported with m->foreign for prot 0) and map it
 * as zinc__map_existing. Whatever it returns, the caller
 * zinc__map_release()s `m`. */
ZINC_HIDDEN int zinc__map_open(const char *name, struct zr_map *m, int prot, const char *what);
/* An attaching consumer's mapping advice from the ring's flags. It never
 * allocates backing store: pre-faulting only an object that is fully
 * allocated already (a sparse hostile ring would fill /dev/shm on our
 * account). */
ZINC_HIDDEN void zinc__map_advise_attach(struct zr_map *m);

/* Is this handle used in a child forked after it was made? Its token
 * descriptor was closed at fork then; touch nothing shared. */
static inline bool map_forked(const struct zr_map *m)
{
    return m->pid != getpid();
}

/* Is this the handle of a sealed anonymous ring (no name in /dev/shm)? */
static inline bool map_anonymous(const struct zr_map *m)
{
    return m->obj[0] == '\0';
}

/* ---- producer.c, consumer.c: the steps both kinds of ring share ---------------- */

/* Size, map, reserve and fill a ring in the object open on p->m.fd (its
 * producer token taken) and make p its producer. The caller releases the
 * map on failure. */
ZINC_HIDDEN int zinc__producer_init(struct zinc_producer *p, const char *name,
                                    const zinc_ring_config *cfg, struct zr_geom g,
                                    uint64_t total);
/* zinc_consumer_open for ring `name` in /dev/shm (fd < 0), or for the
 * anonymous ring open on `fd` (borrowed; `name` is its label). */
ZINC_HIDDEN int zinc__consumer_attach(const char *name, int fd, zinc_delivery mode,
                                      zinc_consumer **out);

/* ---- ring-anon.c ------------------------------------------------------------------ */

/* zinc_producer_create with ZINC_RING_ANONYMOUS: a sealed memfd. On failure
 * everything it made is released (not p itself). */
ZINC_HIDDEN int zinc__anon_create(struct zinc_producer *p, const char *name,
                                  const zinc_ring_config *cfg, struct zr_geom g, uint64_t total);
/* Is `fd` a sealed anonymous ring's memfd (regular, on shmem, sealed
 * against shrinking, growing and further seals)? 0, or -74 with a message. */
ZINC_HIDDEN int zinc__anon_check(int fd, const char *label);
/* A new open file description of the object open on `fd` (through
 * /proc/self/fd; oflags O_RDWR or O_RDONLY), so that locks taken on it are
 * its own: >= 0 or -errno. */
ZINC_HIDDEN int zinc__anon_reopen(int fd, int oflags);
/* Check the memfd open on `fd` (borrowed), give m a description of its own
 * and map it (prot as zinc__map_existing). */
ZINC_HIDDEN int zinc__anon_map(struct zr_map *m, int fd, const char *label, int prot);

/* ---- rendezvous.c ----------------------------------------------------------------- */

/* Stop p's listener, if any: no new connection is served once it returns.
 * Joins the thread; in a forked child only closes the child's copies. */
ZINC_HIDDEN void zinc__listener_stop(struct zinc_producer *p);

/* ---- ring-table.c ---------------------------------------------------------------- */

/* Is any consumer entry other than `except` (-1: none) held by a live
 * consumer? */
ZINC_HIDDEN bool zinc__table_any_live(struct zr_map *m, int32_t except);
/* Judge for zinc__shm_create: retire a ring whose producer is gone (mark it
 * closed, wake its sleepers) and answer 0; -17 when it lives. Reads and
 * writes the old object with pread/pwrite only (never a SIGBUS). */
ZINC_HIDDEN int zinc__ring_judge(int fd, const struct stat *st, const char *name, void *arg);
/* Is the producer of the ring mapped in `m` gone, judged by its token
 * alone? A producer that marked its ring closed drops its token right
 * after: that is waited for (100 ms at most); a token still held then is a
 * live producer whose state word someone else wrote. For removal
 * decisions (a closing consumer). */
ZINC_HIDDEN bool zinc__producer_gone(struct zr_map *m);
/* Statistics of the validated ring open on m->fd (m->g and m->len set; no
 * mapping needed), read with pread. */
ZINC_HIDDEN int zinc__ring_stats_map(struct zr_map *m, zinc_ring_stats *rs,
                                     zinc_consumer_stats *cs, uint32_t cap, uint32_t *n_out);
/* The producer's check that its ring is still the one consumers find,
 * called by claim when p->check_due is reached, i.e. at most every
 * LIVENESS_PERIOD_NS of publish's clock (without timestamps: every 64
 * frames, then the coarse clock): is the state word still OPEN (only the
 * producer closes a live ring), does the name still refer to the object?
 * If not, -32 for good; a ring whose name was taken is marked closed too
 * (its consumers drain it, get -32 and re-open the name). 0 otherwise. */
ZINC_HIDDEN int zinc__producer_check(struct zinc_producer *p);
/* The first check_due of a new producer. */
ZINC_HIDDEN void zinc__producer_check_init(struct zinc_producer *p);

/* ---- consumer.c, for the waiters outside acquire ------------------------------- */

/* W3 of the sleep protocol for a waiter that did W1 and W2 itself: a frame
 * for us or a closed producer (seq_cst loads). */
ZINC_HIDDEN bool zinc__consumer_w3(struct zinc_consumer *c);
/* Would acquire(c, 0) answer something other than -11 now? */
ZINC_HIDDEN bool zinc__consumer_ready(struct zinc_consumer *c);

/* ---- consumer-fd.c: zinc_consumer_fd's watcher --------------------------------- */

/* Called by acquire when it is about to answer -11: consume the
 * descriptor's readiness and re-arm it. 1: W3 saw something meanwhile
 * (take it; the descriptor stays readable); 0: armed, or still armed;
 * < 0: an error code. */
ZINC_HIDDEN int zinc__fdw_settle(struct zinc_consumer *c);
/* Stop and free the watcher (no-op without one); closes the descriptor. */
ZINC_HIDDEN void zinc__fdw_close(struct zinc_consumer *c);
/* Wake-ups the descriptor delivered (tests count them). */
ZINC_HIDDEN uint64_t zinc__fdw_fires(const struct zinc_consumer *c);
/* ZINC_NO_FUTEX_WAITV=1: behave as on a kernel without futex_waitv (tests). */
ZINC_HIDDEN bool zinc__waitv_disabled(void);

/* ---- descriptors ---------------------------------------------------------------- */

/* Writer: every descriptor word of frame f but ZD_PUBLISH, which the
 * caller stores (publish reads its clock after these stores; see there).
 * Relaxed stores: the release store of the slot's lock word (P1) orders
 * them for readers. The tensor and user lines are written only when used
 * (see layout.h). */
static inline void desc_store(struct zr_desc *d, const zinc_frame *f, uint64_t seq)
{
    const zinc_tensor *t = &f->tensor;
    uint64_t user[ZINC_FRAME_USER_SIZE / 8], any = 0;
    memcpy(user, f->user, sizeof(user));
    for (int i = 0; i < ZINC_FRAME_USER_SIZE / 8; i++)
        any |= user[i];
    atomic_store_explicit(&d->w[ZD_SEQ], seq, memory_order_relaxed);
    atomic_store_explicit(&d->w[ZD_SIZE], f->size, memory_order_relaxed);
    atomic_store_explicit(&d->w[ZD_TIMESTAMP], f->timestamp_ns, memory_order_relaxed);
    atomic_store_explicit(&d->w[ZD_DTYPE],
                          (uint64_t)t->dtype_code | (uint64_t)t->dtype_bits << 8 |
                              (uint64_t)t->dtype_lanes << 16 | (uint64_t)t->ndim << 32,
                          memory_order_relaxed);
    atomic_store_explicit(&d->w[ZD_OFFSET], t->offset, memory_order_relaxed);
    atomic_store_explicit(&d->w[ZD_FOURCC_FLAGS],
                          (uint64_t)f->fourcc | (uint64_t)(f->flags & 0xffffu) << 32 |
                              (any ? ZD_HAS_USER : 0),
                          memory_order_relaxed);
    if (t->ndim) {
        for (int i = 0; i < 4; i++) {
            atomic_store_explicit(&d->w[ZD_SHAPE + i], t->shape[i], memory_order_relaxed);
            atomic_store_explicit(&d->w[ZD_STRIDES + i], (uint64_t)t->strides[i],
                                  memory_order_relaxed);
        }
    }
    if (any)
        for (int i = 0; i < ZINC_FRAME_USER_SIZE / 8; i++)
            atomic_store_explicit(&d->w[ZD_USER + i], user[i], memory_order_relaxed);
}

/* Reader: the descriptor words in use straight into `f` (the others
 * zeroed; the tensor line only if ndim > 0, the user line only if
 * ZD_HAS_USER). Relaxed loads; the caller brackets them with the acquire
 * load of lock and an acquire fence + re-load, and trusts `f` only if the
 * re-load matches. */
static inline void desc_read(const struct zr_desc *d, zinc_frame *f)
{
    struct zr_desc *dd = (struct zr_desc *)d;
    zinc_tensor *t = &f->tensor;
    uint64_t dt = atomic_load_explicit(&dd->w[ZD_DTYPE], memory_order_relaxed);
    uint64_t ff = atomic_load_explicit(&dd->w[ZD_FOURCC_FLAGS], memory_order_relaxed);
    f->data = NULL;
    f->size = atomic_load_explicit(&dd->w[ZD_SIZE], memory_order_relaxed);
    f->seq = atomic_load_explicit(&dd->w[ZD_SEQ], memory_order_relaxed);
    f->timestamp_ns = atomic_load_explicit(&dd->w[ZD_TIMESTAMP], memory_order_relaxed);
    f->publish_ns = atomic_load_explicit(&dd->w[ZD_PUBLISH], memory_order_relaxed);
    f->dropped = 0;
    t->dtype_code = (uint8_t)(dt & 0xff);
    t->dtype_bits = (uint8_t)(dt >> 8 & 0xff);
    t->dtype_lanes = (uint16_t)(dt >> 16 & 0xffff);
    t->ndim = (uint32_t)(dt >> 32);
    t->offset = atomic_load_explicit(&dd->w[ZD_OFFSET], memory_order_relaxed);
    for (int i = 0; i < 4; i++) {
        t->shape[i] = t->ndim ? atomic_load_explicit(&dd->w[ZD_SHAPE + i],
                                                     memory_order_relaxed) : 0;
        t->strides[i] = t->ndim ? (int64_t)atomic_load_explicit(&dd->w[ZD_STRIDES + i],
                                                                memory_order_relaxed) : 0;
    }
    f->fourcc = (uint32_t)(ff & 0xffffffffu);
    f->flags = (uint32_t)(ff >> 32) & 0xffffu;
    for (int i = 0; i < ZINC_FRAME_USER_SIZE / 8; i++) {
        uint64_t u = (ff & ZD_HAS_USER) ? atomic_load_explicit(&dd->w[ZD_USER + i],
                                                               memory_order_relaxed) : 0;
        memcpy(f->user + 8 * i, &u, 8);
    }
    memset(f->reserved, 0, sizeof(f->reserved));
}

/* Check a descriptor written by someone else (the messages are cold). */
static inline int desc_check(const zinc_frame *f, uint64_t slot_size, const char *name)
{
    if (f->size > slot_size)
        return zinc__fail(ZINC_EBADMSG, "ring '%s': frame %llu claims %llu bytes in a %llu-byte "
                          "slot (corrupted descriptor)",
                          name, (unsigned long long)f->seq, (unsigned long long)f->size,
                          (unsigned long long)slot_size);
    if (f->tensor.ndim && zinc_tensor_check(&f->tensor, f->size) < 0)
        return zinc__fail(ZINC_EBADMSG, "ring '%s': frame %llu has a tensor description that "
                          "does not fit its %llu bytes (corrupted descriptor)",
                          name, (unsigned long long)f->seq, (unsigned long long)f->size);
    return ZINC_OK;
}

#endif /* ZINC_RING_INTERNAL_H */
