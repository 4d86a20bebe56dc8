/* SPDX-License-Identifier: MIT */
/*
 * ring.c — the zinc frame ring: lock-free single producer, many consumers,
 * frames written and read in place in a Zinc region (layout version 2).
 *
 * The protocol, with the proof that no wake-up is lost, is in
 * docs/design.md; the bytes are in src/layout.h and docs/layout.md. The
 * step names used in comments (P1..P3, W1..W5, Q1..Q5, R1..R3) are the ones
 * of docs/design.md and of the Promela model in tests/model/.
 *
 * Everything read from shared memory is untrusted: geometry is copied into
 * the handle and validated once at attach and never re-read; every index is
 * masked with the private copy; every descriptor is re-checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zinc/ring.h>

#include "clock.h"
#include "layout.h"
#include "private.h"
#include "region.h"

#define NSEC 1000000000ull
/* Longest futex sleep: waiters re-check their peer's liveness token at
 * least this often, so a dead peer is noticed within about 100 ms. */
#define LIVENESS_PERIOD_NS 50000000ull
#define DEFAULT_SPIN_NS 20000u
#define MAX_SPIN_NS 10000000u /* 10 ms: beyond that, sleeping is always better */
/* Bounded retries on a descriptor that does not match what head promises:
 * legitimately a transient (the producer's stores becoming visible), so a
 * persistent mismatch means corrupted shared memory. */
#define MISMATCH_RETRIES (1u << 20)

struct zr_geom {
    uint32_t slot_count;
    uint32_t max_consumers;
    uint64_t slot_size;
    uint64_t slot_stride;
    uint64_t off_consumers;
    uint64_t off_descs;
    uint64_t off_payloads;
    uint64_t ring_bytes;
};

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
    dev_t dev;
    ino_t ino;
    pid_t pid;              /* process that made the handle (see forked()) */
    bool registered;        /* fd is in the fork registry */
    char obj[ZINC_OBJ_NAME_MAX];
    char name[ZINC_NAME_MAX + 1];
};

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
};

struct zinc_consumer {
    struct zr_map m;
    struct zr_cons *e;      /* our entry */
    uint32_t idx;
    zinc_delivery mode;     /* in force (LOSSY after demotion) */
    zinc_delivery req_mode;
    bool demote_pending;    /* report ZINC_FRAME_DEMOTED on the next frame */
    uint64_t cursor;        /* last seq consumed (private copy) */
    bool holding;
    uint64_t held_seq;
    void *held_data;
    uint64_t held_slot;
    uint32_t spin_ns;       /* configured ceiling of the spin phase */
    uint32_t spin_cur;      /* adaptive: halves after each sleep, doubles
                               when frames keep arriving within the spin */
    uint64_t last_live_check;
    uint64_t acquired, released, dropped, torn;
    struct zr_clock clk;    /* the latency histogram's acquire time */
};

/* ---- geometry ------------------------------------------------------------ */

static uint64_t round_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) / a * a;
}

static int geom_compute(uint32_t slot_count, uint32_t max_consumers, uint64_t slot_size,
                        struct zr_geom *g)
{
    uint64_t page = (uint64_t)zinc__page_size();
    if (slot_count < 2 || slot_count > ZINC_RING_MAX_SLOTS || (slot_count & (slot_count - 1)))
        return ZINC_EINVAL;
    if (max_consumers < 1 || max_consumers > ZINC_RING_MAX_CONSUMERS)
        return ZINC_EINVAL;
    /* 2^46 bytes (64 TiB) of payload in all: far above any /dev/shm, far
     * below any overflow of the sums below. */
    if (slot_size == 0 || slot_size > (1ull << 46))
        return ZINC_EINVAL;
    g->slot_count = slot_count;
    g->max_consumers = max_consumers;
    g->slot_size = slot_size;
    g->slot_stride = round_up(slot_size, page);
    if (g->slot_stride > (1ull << 46) / slot_count)
        return ZINC_EINVAL;
    g->off_consumers = sizeof(struct zr_ctl);
    g->off_descs = g->off_consumers + (uint64_t)max_consumers * sizeof(struct zr_cons);
    g->off_payloads = round_up(g->off_descs + (uint64_t)slot_count * sizeof(struct zr_desc), page);
    g->ring_bytes = g->off_payloads + (uint64_t)slot_count * g->slot_stride;
    return ZINC_OK;
}

ZINC_API uint64_t zinc_ring_size(const zinc_ring_config *cfg)
{
    struct zr_geom g;
    if (!cfg)
        return 0;
    uint32_t mc = cfg->max_consumers ? cfg->max_consumers : ZINC_RING_DEFAULT_CONSUMERS;
    if (geom_compute(cfg->slot_count, mc, cfg->slot_size, &g) < 0)
        return 0;
    return (uint64_t)zinc__page_size() + g.ring_bytes;
}

bool zinc__is_ring(const uint8_t *data, uint64_t len)
{
    if (!data || len < sizeof(uint64_t))
        return false;
    /* Acquire pairs with the release store of the ring magic at create. */
    return atomic_load_explicit((_Atomic uint64_t *)data, memory_order_acquire) == ZR_MAGIC;
}

/* Validate a ring's control block against the object size and fill the
 * map's geometry from a private copy. -74 on anything that does not add up. */
static int ring_validate(struct zr_map *m, uint64_t data_off, uint64_t data_len)
{
    const char *name = m->name;
    struct zr_ctl *ctl = (struct zr_ctl *)(m->base + data_off);
    if (data_len < sizeof(struct zr_ctl))
        return zinc__fail(ZINC_EBADMSG, "ring '%s': data area of %llu bytes is too small", name,
                          (unsigned long long)data_len);
    /* Acquire pairs with the creator's release store of the ring magic:
     * the geometry below was written before it. */
    uint64_t magic = atomic_load_explicit(&ctl->magic, memory_order_acquire);
    if (magic != ZR_MAGIC)
        return zinc__fail(ZINC_EBADMSG, "'%s' is a plain zinc region, not a frame ring "
                          "(ring magic 0x%016llx)", name, (unsigned long long)magic);
    /* Copy once: a hostile writer may change the bytes while we look. */
    struct zr_ctl c;
    memcpy(&c, ctl, offsetof(struct zr_ctl, pad0));
    if (c.layout_version != ZR_LAYOUT_VERSION || c.ctl_size != sizeof(struct zr_ctl) ||
        c.consumer_size != sizeof(struct zr_cons) || c.desc_size != sizeof(struct zr_desc))
        return zinc__fail(ZINC_EBADMSG, "ring '%s': layout version %u (sizes %u/%u/%u) is not "
                          "the supported version %u",
                          name, c.layout_version, c.ctl_size, c.consumer_size, c.desc_size,
                          ZR_LAYOUT_VERSION);
    struct zr_geom g;
    if (geom_compute(c.slot_count, c.max_consumers, c.slot_size, &g) < 0)
        return zinc__fail(ZINC_EBADMSG, "ring '%s': invalid geometry (slots %u, consumers %u, "
                          "slot size %llu)",
                          name, c.slot_count, c.max_consumers, (unsigned long long)c.slot_size);
    if (g.slot_stride != c.slot_stride || g.off_consumers != c.off_consumers ||
        g.off_descs != c.off_descs || g.off_payloads != c.off_payloads ||
        g.ring_bytes != c.ring_bytes)
        return zinc__fail(ZINC_EBADMSG, "ring '%s': part offsets do not add up (stride %llu, "
                          "consumers @%llu, descriptors @%llu, payloads @%llu, %llu bytes)",
                          name, (unsigned long long)c.slot_stride,
                          (unsigned long long)c.off_consumers, (unsigned long long)c.off_descs,
                          (unsigned long long)c.off_payloads, (unsigned long long)c.ring_bytes);
    if (g.ring_bytes > data_len)
        return zinc__fail(ZINC_EBADMSG, "ring '%s': needs %llu bytes but the region holds %llu",
                          name, (unsigned long long)g.ring_bytes,
                          (unsigned long long)data_len);
    m->g = g;
    m->mask = g.slot_count - 1;
    m->generation = c.generation;
    m->ctl = ctl;
    m->cons = (struct zr_cons *)((uint8_t *)ctl + g.off_consumers);
    m->descs = (struct zr_desc *)((uint8_t *)ctl + g.off_descs);
    m->payloads = (uint8_t *)ctl + g.off_payloads;
    return ZINC_OK;
}

/*
 * One mapping per object per process. Every read/write handle of the same
 * object in a process shares one mapping (refcounted), so that threads see
 * the same addresses: this saves address space with many consumers, and it
 * is what lets ThreadSanitizer watch the ring protocol between handles
 * (it tracks addresses, and two mappings of one page would hide every race).
 * Read-only mappings (statistics) are private to their call.
 */
struct map_entry {
    dev_t dev;
    ino_t ino;
    size_t len;
    uint8_t *base;
    unsigned refs;
    struct map_entry *next;
};

static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static struct map_entry *map_list;
static pthread_once_t map_once = PTHREAD_ONCE_INIT;

/* Token descriptors of this process's open handles (under map_lock).
 * Handles are not inherited across fork(): a child must not keep the
 * parent's liveness tokens alive (an OFD lock lives as long as any copy of
 * its descriptor), or a closed producer would look alive to a replacer for
 * as long as the child runs. So a forked child closes its copies at once. */
static int *tok_fds;
static size_t tok_n, tok_cap;

/* fork() while another thread holds map_lock would leave the child's copy
 * locked forever: take it around fork. */
static void map_prefork(void) { pthread_mutex_lock(&map_lock); }
static void map_postfork(void) { pthread_mutex_unlock(&map_lock); }
static void map_child(void)
{
    for (size_t i = 0; i < tok_n; i++)
        close(tok_fds[i]);
    tok_n = 0;
    pthread_mutex_unlock(&map_lock);
}
static void map_init(void) { pthread_atfork(map_prefork, map_postfork, map_child); }

static void tok_register(int fd)
{
    pthread_once(&map_once, map_init);
    pthread_mutex_lock(&map_lock);
    if (tok_n == tok_cap) {
        size_t cap = tok_cap ? 2 * tok_cap : 16;
        int *n = realloc(tok_fds, cap * sizeof(*n));
        if (n) {
            tok_fds = n;
            tok_cap = cap;
        }
    }
    if (tok_n < tok_cap)
        tok_fds[tok_n++] = fd;
    pthread_mutex_unlock(&map_lock);
}

static void tok_unregister(int fd)
{
    pthread_once(&map_once, map_init);
    pthread_mutex_lock(&map_lock);
    for (size_t i = 0; i < tok_n; i++) {
        if (tok_fds[i] == fd) {
            tok_fds[i] = tok_fds[--tok_n];
            break;
        }
    }
    pthread_mutex_unlock(&map_lock);
}

static uint8_t *map_shared(int fd, dev_t dev, ino_t ino, size_t len, int flags, int *err)
{
    pthread_once(&map_once, map_init);
    pthread_mutex_lock(&map_lock);
    for (struct map_entry *e = map_list; e; e = e->next) {
        if (e->dev == dev && e->ino == ino && e->len == len) {
            e->refs++;
            pthread_mutex_unlock(&map_lock);
            return e->base;
        }
    }
    /* Map through a fresh open file description of the same object, not
     * through `fd`: a mapping keeps the description it was made from
     * alive, and with it any OFD lock on it. Mapped through `fd`, our
     * liveness token would outlive the handle for as long as another
     * handle shares the mapping. */
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    int mfd = open(path, O_RDWR | O_CLOEXEC);
    bool shareable = mfd >= 0;
    uint8_t *base = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, shareable ? mfd : fd, 0);
    *err = errno;
    if (mfd >= 0)
        close(mfd);
    if (base == MAP_FAILED) {
        pthread_mutex_unlock(&map_lock);
        return NULL;
    }
    /* Without /proc the mapping pins `fd`: keep it private to the handle,
     * which unmaps it when it closes. */
    struct map_entry *e = shareable ? calloc(1, sizeof(*e)) : NULL;
    if (e) {
        e->dev = dev;
        e->ino = ino;
        e->len = len;
        e->base = base;
        e->refs = 1;
        e->next = map_list;
        map_list = e;
    }
    pthread_mutex_unlock(&map_lock);
    return base;
}

static void map_unshare(uint8_t *base, size_t len)
{
    pthread_once(&map_once, map_init);
    pthread_mutex_lock(&map_lock);
    for (struct map_entry **pe = &map_list; *pe; pe = &(*pe)->next) {
        struct map_entry *e = *pe;
        if (e->base == base && e->len == len) {
            if (--e->refs == 0) {
                *pe = e->next;
                free(e);
                munmap(base, len);
            }
            pthread_mutex_unlock(&map_lock);
            return;
        }
    }
    pthread_mutex_unlock(&map_lock);
    munmap(base, len); /* not shared (read-only, or registry out of memory) */
}

/* Is this handle used in a child forked after it was made? Its token
 * descriptor was closed by map_child() then; touch nothing shared. */
static bool forked(const struct zr_map *m)
{
    return m->pid != getpid();
}

static void map_release(struct zr_map *m)
{
    if (m->base)
        map_unshare(m->base, m->len);
    if (m->registered && !forked(m))
        tok_unregister(m->fd);
    if (m->fd >= 0 && !(m->registered && forked(m)))
        close(m->fd); /* drops every token this handle held */
    m->base = NULL;
    m->fd = -1;
}

static uint64_t now_ns(void)
{
    return zinc__now_ns(CLOCK_MONOTONIC);
}

static uint64_t random_u64(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v) || v == 0)
        v = zinc__now_ns(CLOCK_REALTIME) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&v;
    return v;
}

/* ---- descriptors ------------------------------------------------------------ */

/* Producer: write frame f's descriptor words. Relaxed stores: the release
 * store of the slot's lock word (P1) orders them for readers. The tensor
 * and user lines are written only when used (see layout.h). */
/* Writer: every descriptor word but ZD_PUBLISH, which the caller stores
 * (publish reads its clock after these stores; see there). */
static void desc_store(struct zr_desc *d, const zinc_frame *f, uint64_t seq)
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
static void desc_read(const struct zr_desc *d, zinc_frame *f)
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

/* Check a descriptor written by someone else. */
static int desc_check(const zinc_frame *f, uint64_t slot_size, const char *name)
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

/* ---- opening the object ---------------------------------------------------- */

static int check_name(const char *name, struct zr_map *m)
{
    memset(m, 0, sizeof(*m));
    m->fd = -1;
    m->pid = getpid();
    int r = zinc__obj_name(name, m->obj);
    if (r < 0)
        return r;
    snprintf(m->name, sizeof(m->name), "%s", name);
    return ZINC_OK;
}

/* Map the object open on m->fd and validate region + ring. Codes:
 * -11 being created (creator alive), -32 creator died before finishing,
 * -74 invalid. */
static int map_existing(struct zr_map *m, int prot)
{
    struct stat st;
    uint64_t size = 0;
    uint64_t page = (uint64_t)zinc__page_size();
    bool half_made = true;
    /* An object only grows while it is being created (ftruncate to the
     * header, then to its full size, then the magic): a size read before
     * the magic may be the creator's first one. So once the magic is seen,
     * the size is read again and, if it moved, the mapping redone; -74 must
     * mean corruption, never "looked too early". Bounded: only a hostile
     * peer resizes a finished object, and it gets -74 from validation. */
    for (int attempt = 0;; attempt++) {
        if (fstat(m->fd, &st) < 0)
            return zinc__fail(-errno, "ring '%s': fstat: %s", m->name, strerror(errno));
        m->dev = st.st_dev;
        m->ino = st.st_ino;
        size = (uint64_t)st.st_size;
        half_made = size < sizeof(struct zinc_hdr);
        if (half_made || size > SIZE_MAX)
            break;
        int err = 0;
        if (prot & PROT_WRITE) {
            m->base = map_shared(m->fd, st.st_dev, st.st_ino, (size_t)size, MAP_SHARED, &err);
        } else {
            m->base = mmap(NULL, (size_t)size, prot, MAP_SHARED, m->fd, 0);
            err = errno;
            if (m->base == MAP_FAILED)
                m->base = NULL;
        }
        if (!m->base)
            return zinc__shm_errno(err, "ring (mmap)", m->name);
        m->len = (size_t)size;
        /* Acquire pairs with the creator's release store of the region
         * magic (published last, after its last ftruncate). */
        uint64_t magic = atomic_load_explicit(&((struct zinc_hdr *)m->base)->magic,
                                              memory_order_acquire);
        half_made = magic == 0;
        if (half_made)
            break;
        struct stat st2;
        if (fstat(m->fd, &st2) < 0)
            return zinc__fail(-errno, "ring '%s': fstat: %s", m->name, strerror(errno));
        if ((uint64_t)st2.st_size == size || attempt >= 3)
            break;
        /* Mapped at the creator's first size: map the finished object. */
        if (prot & PROT_WRITE)
            map_unshare(m->base, m->len);
        else
            munmap(m->base, m->len);
        m->base = NULL;
        m->len = 0;
    }
    if (half_made) {
        /* The creator takes the producer token right after shm_open, and
         * before it sizes the object, so the token tells a creation in
         * progress from a dead creator. Only an object that is still empty
         * may be in the gap between shm_open and the token: count it as
         * being created for 2 s. */
        int held = zinc__token_held(m->fd, ZR_TOKEN_PRODUCER);
        uint64_t mtime = (uint64_t)st.st_mtim.tv_sec * NSEC + (uint64_t)st.st_mtim.tv_nsec;
        bool young = size < sizeof(struct zinc_hdr) &&
                     zinc__now_ns(CLOCK_REALTIME) < mtime + 2 * NSEC;
        if (held > 0 || young)
            return zinc__fail_static(ZINC_EAGAIN, "ring is still being created: retry");
        return zinc__fail(ZINC_EPIPE, "ring '%s': its creator died before finishing it",
                          m->name);
    }
    m->hdr = (struct zinc_hdr *)m->base;
    uint64_t data_off, map_len;
    int r = zinc__region_validate(m->hdr, size, &data_off, &map_len, m->name);
    if (r < 0)
        return r;
    if (m->hdr->version != ZINC_REGION_V2 || data_off != page)
        return zinc__fail(ZINC_EBADMSG, "'%s' is a version-%u region, not a frame ring",
                          m->name, (unsigned)m->hdr->version);
    return ring_validate(m, data_off, size - data_off);
}

/* ---- producer: create / replace --------------------------------------------- */

/* The name exists: if its producer is gone, retire it (mark closed, wake its
 * sleepers, unlink the name) and return 0 so the caller creates afresh;
 * -17 if a live producer (or a live plain-region owner) holds it. */
static int retire_if_gone(const char *obj, const char *name)
{
    struct zr_map old;
    memset(&old, 0, sizeof(old));
    snprintf(old.obj, sizeof(old.obj), "%s", obj);
    snprintf(old.name, sizeof(old.name), "%s", name);
    old.fd = shm_open(obj, O_RDWR | O_CLOEXEC, 0);
    if (old.fd < 0)
        return errno == ENOENT ? 0 : zinc__shm_errno(errno, "replace", name);
    /* Taking the old object's producer token makes us the only one that
     * may retire it: a live producer, a creator mid-way, or a concurrent
     * replacer holds it and we back off with -17. */
    int t = zinc__token_take(old.fd, ZR_TOKEN_PRODUCER);
    if (t < 0 && t != -EAGAIN) {
        close(old.fd);
        return zinc__fail(t, "ring '%s': lock: %s", name, strerror(-t));
    }
    old.pid = getpid();
    int r = map_existing(&old, PROT_READ | PROT_WRITE);
    if (t == -EAGAIN) {
        /* Held: a live producer, a creator mid-way, a concurrent replacer,
         * or a child its producer forked a moment ago that has not closed
         * its copy of the descriptor yet. A ring whose producer *closed* is
         * retired whatever its token says: a closed producer never comes
         * back, and concurrent replacers are kept apart by the locked
         * unlink and O_EXCL below. Acquire pairs with close's store. */
        bool closed = r == ZINC_OK && atomic_load_explicit(&old.ctl->prod_state,
                                                          memory_order_acquire) == ZR_CLOSED;
        if (!closed) {
            map_release(&old);
            return zinc__fail(ZINC_EEXIST, "ring '%s' exists and its producer is alive", name);
        }
    }
    if (r == ZINC_EAGAIN) {
        /* An empty object a moment old: its creator may be between
         * shm_open and taking its token. Not ours to remove. */
        map_release(&old);
        return zinc__fail(ZINC_EEXIST, "ring '%s' is being created by another process", name);
    }
    if (r == ZINC_OK) {
        struct zr_ctl *ctl = old.ctl;
        /* seq_cst store + bump: sleepers of the old instance re-check the
         * state at W3 after their futex returns (close path, docs/design.md). */
        atomic_store_explicit(&ctl->prod_state, ZR_CLOSED, memory_order_seq_cst);
        atomic_fetch_add_explicit(&ctl->pub_futex, 1, memory_order_seq_cst);
        zinc__futex_wake(&ctl->pub_futex);
    } else if (r == ZINC_EBADMSG && old.hdr &&
               atomic_load_explicit(&old.hdr->magic, memory_order_acquire) == ZINC_REGION_MAGIC &&
               !(old.len > (size_t)zinc__page_size() &&
                 zinc__is_ring(old.base + zinc__page_size(), 8))) {
        /* A plain region by that name: its owner decides (pid rules). */
        struct stat st;
        fstat(old.fd, &st);
        if (!zinc__region_owner_gone(old.hdr, old.len, &st)) {
            map_release(&old);
            return zinc__fail(ZINC_EEXIST, "'%s' is a plain zinc region with a live owner",
                              name);
        }
    }
    /* Half-made (creator died: its token was free), a dead or closed
     * producer, or garbage: remove the name if it is still this object. */
    struct stat st;
    if (fstat(old.fd, &st) == 0)
        zinc__unlink_if_same(obj, st.st_dev, st.st_ino);
    map_release(&old);
    return ZINC_OK;
}

static int config_check(const char *name, const zinc_ring_config *cfg, struct zr_geom *g)
{
    if (!cfg)
        return zinc__fail(ZINC_EINVAL, "ring '%s': config is NULL", name);
    for (size_t i = 0; i < sizeof(cfg->reserved) / sizeof(cfg->reserved[0]); i++)
        if (cfg->reserved[i])
            return zinc__fail(ZINC_EINVAL, "ring '%s': config.reserved must be zero", name);
    if (cfg->flags & ~(ZINC_RING_PREFAULT | ZINC_RING_HUGEPAGES | ZINC_RING_NO_TIMESTAMPS))
        return zinc__fail(ZINC_EINVAL, "ring '%s': unknown config flags 0x%x", name, cfg->flags);
    uint32_t mc = cfg->max_consumers ? cfg->max_consumers : ZINC_RING_DEFAULT_CONSUMERS;
    if (geom_compute(cfg->slot_count, mc, cfg->slot_size, g) < 0)
        return zinc__fail(ZINC_EINVAL,
                          "ring '%s': invalid config: slot_count %u (power of two, 2..%u), "
                          "max_consumers %u (1..%u), slot_size %llu (> 0)",
                          name, cfg->slot_count, ZINC_RING_MAX_SLOTS, cfg->max_consumers,
                          ZINC_RING_MAX_CONSUMERS, (unsigned long long)cfg->slot_size);
    return ZINC_OK;
}

static int no_space(const char *name, uint64_t need)
{
    char a[32], b[32];
    return zinc__fail(ZINC_ENOSPC,
                      "ring '%s' needs %s but /dev/shm has %s free; free space (zinc gc), "
                      "shrink the ring, or give the container a larger --shm-size",
                      name, zinc__human(need, a, sizeof(a)),
                      zinc__human(zinc__shm_free_bytes(), b, sizeof(b)));
}

ZINC_API int zinc_producer_create(const char *name, const zinc_ring_config *cfg,
                                  zinc_producer **out)
{
    if (out)
        *out = NULL;
    zinc__clear_error();
    if (!out)
        return zinc__fail(ZINC_EINVAL, "producer_create: out is NULL");
    struct zinc_producer *p = calloc(1, sizeof(*p));
    if (!p)
        return zinc__fail(-ENOMEM, "producer_create: out of memory");
    struct zr_map *m = &p->m;
    int r = check_name(name, m);
    if (r < 0)
        goto fail_free;
    struct zr_geom g;
    r = config_check(name, cfg, &g);
    if (r < 0)
        goto fail_free;
    uint64_t page = (uint64_t)zinc__page_size();
    uint64_t total = page + g.ring_bytes;
    if (total > SIZE_MAX) {
        r = zinc__fail(ZINC_EINVAL, "ring '%s': too large for this address space", name);
        goto fail_free;
    }

    for (int attempt = 0; attempt < 4; attempt++) {
        m->fd = shm_open(m->obj, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
        if (m->fd >= 0 || errno != EEXIST)
            break;
        r = retire_if_gone(m->obj, name);
        if (r < 0)
            goto fail_free;
    }
    if (m->fd < 0) {
        r = zinc__shm_errno(errno, "producer_create", name);
        goto fail_free;
    }
    struct stat st;
    if (fstat(m->fd, &st) == 0) {
        m->dev = st.st_dev;
        m->ino = st.st_ino;
    }
    /* Our liveness token, first thing: from now on openers can tell a
     * creation in progress (-11) from a dead creator (-32). */
    r = zinc__token_take(m->fd, ZR_TOKEN_PRODUCER);
    if (r < 0) {
        r = zinc__fail(r == -EAGAIN ? ZINC_EEXIST : r, "ring '%s': cannot take the producer "
                       "token: %s", name, strerror(-r));
        goto fail_unlink;
    }
    /* Leave the "empty object" state at once: openers give an empty object
     * the benefit of the doubt for 2 s (its creator may not hold its token
     * yet); a sized one with a free token is a dead creator's, now. */
    (void)ftruncate(m->fd, (off_t)sizeof(struct zinc_hdr));
    /* Checked before anything is sized or mapped. */
    if (total > zinc__shm_free_bytes()) {
        r = no_space(name, total);
        goto fail_unlink;
    }
    if (ftruncate(m->fd, (off_t)total) < 0) {
        r = errno == ENOSPC || errno == EFBIG ? no_space(name, total)
                                              : zinc__shm_errno(errno, "ring (ftruncate)", name);
        goto fail_unlink;
    }
    /* Map first (nothing is touched yet), so that the huge-page advice is
     * in place before fallocate allocates the pages: advice given after
     * would find them already allocated as small pages. */
    int merr = 0;
    m->base = map_shared(m->fd, m->dev, m->ino, (size_t)total, MAP_SHARED, &merr);
    if (!m->base) {
        r = zinc__shm_errno(merr, "ring (mmap)", name);
        goto fail_unlink;
    }
    m->len = (size_t)total;
#ifdef MADV_HUGEPAGE
    if (cfg->flags & ZINC_RING_HUGEPAGES) {
        (void)madvise(m->base, m->len, MADV_HUGEPAGE); /* best effort */
#ifdef MADV_POPULATE_WRITE
        /* fallocate allocates without a mapping, so it heeds only the
         * mount's own huge= setting: on a huge=advise tmpfs it would give
         * small pages. Faulting the pages in through the advised mapping
         * first gives huge ones. A failure (memory short) is left to
         * fallocate below to report. */
        (void)madvise(m->base, m->len, MADV_POPULATE_WRITE);
#endif
    }
#endif
    /* Reserve every page now so that a full /dev/shm fails here, cleanly,
     * and never as a SIGBUS in the middle of a frame. */
    int fe = posix_fallocate(m->fd, 0, (off_t)total);
    if (fe == ENOSPC || fe == EFBIG) {
        r = no_space(name, total);
        goto fail_unlink;
    } else if (fe != 0 && fe != EOPNOTSUPP && fe != EINVAL) {
        r = zinc__shm_errno(fe, "ring (fallocate)", name);
        goto fail_unlink;
    }
    if (cfg->flags & ZINC_RING_PREFAULT) {
        /* Page-table entries now, so first touches leave the hot path. */
#ifdef MADV_POPULATE_WRITE
        if (madvise(m->base, m->len, MADV_POPULATE_WRITE) != 0)
#endif
        {
            long pg = zinc__page_size();
            for (size_t off = 0; off < m->len; off += (size_t)pg)
                (void)*(volatile uint8_t *)(m->base + off);
        }
    }

    /* Fill everything, then publish the ring magic, then the region magic
     * (both release). The object is fresh: zero everywhere else. */
    struct zinc_hdr *hdr = (struct zinc_hdr *)m->base;
    struct zr_ctl *ctl = (struct zr_ctl *)(m->base + page);
    m->hdr = hdr;
    hdr->version = ZINC_REGION_V2;
    hdr->capacity = g.ring_bytes;
    /* Relaxed: ordered by the release store of magic below. */
    atomic_store_explicit(&hdr->ref_count, 1, memory_order_relaxed);
    atomic_store_explicit(&hdr->owner_pid, (int32_t)getpid(), memory_order_relaxed);
    hdr->created_at = zinc__now_ns(CLOCK_REALTIME);
    hdr->name_hash = zinc_name_hash(name);

    ctl->layout_version = ZR_LAYOUT_VERSION;
    ctl->ctl_size = sizeof(struct zr_ctl);
    ctl->generation = random_u64();
    ctl->ring_bytes = g.ring_bytes;
    ctl->slot_count = g.slot_count;
    ctl->max_consumers = g.max_consumers;
    ctl->slot_size = g.slot_size;
    ctl->slot_stride = g.slot_stride;
    ctl->off_consumers = g.off_consumers;
    ctl->off_descs = g.off_descs;
    ctl->off_payloads = g.off_payloads;
    ctl->consumer_size = sizeof(struct zr_cons);
    ctl->desc_size = sizeof(struct zr_desc);
    ctl->flags = cfg->flags;
    ctl->spin_ns = cfg->spin_ns ? cfg->spin_ns : DEFAULT_SPIN_NS;
    ctl->demote_after_ns = cfg->demote_after_ns;
    ctl->created_ns = now_ns();
    atomic_store_explicit(&ctl->prod_pid, (int32_t)getpid(), memory_order_relaxed);
    atomic_store_explicit(&ctl->prod_start_ns, zinc__proc_start_ns(getpid()),
                          memory_order_relaxed);
    atomic_store_explicit(&ctl->prod_state, ZR_OPEN, memory_order_relaxed);
    /* Release: pairs with ring_validate's acquire load of the ring magic. */
    atomic_store_explicit(&ctl->magic, ZR_MAGIC, memory_order_release);
    /* Release: pairs with map_existing's/open's acquire load of the region
     * magic; an opener that sees it sees the whole ring. */
    atomic_store_explicit(&hdr->magic, ZINC_REGION_MAGIC, memory_order_release);

    r = ring_validate(m, page, g.ring_bytes);
    if (r < 0)
        goto fail_unlink; /* cannot happen: we just wrote it */
    tok_register(m->fd);
    m->registered = true;
    p->next_seq = 1;
    p->spin_ns = ctl->spin_ns <= MAX_SPIN_NS ? ctl->spin_ns : MAX_SPIN_NS;
    p->timestamps = !(cfg->flags & ZINC_RING_NO_TIMESTAMPS);
    /* First anchor now (and the one-time look at the clocksource), not at
     * the first publish. */
    if (p->timestamps)
        (void)zinc__clock_now(&p->clk);
    p->demote_after_ns = cfg->demote_after_ns;
    *out = p;
    return ZINC_OK;

fail_unlink:
    /* Only if the name is still ours: a replacer may have retired it. */
    zinc__unlink_if_same(m->obj, m->dev, m->ino);
    map_release(m);
fail_free:
    free(p);
    return r;
}

ZINC_API uint64_t zinc_producer_generation(const zinc_producer *p)
{
    return p ? p->m.generation : 0;
}

/* ---- producer: gating on EVERY consumers -------------------------------------- */

/* Rescan the consumer table for the lowest EVERY cursor. */
static void gate_scan(struct zinc_producer *p)
{
    struct zr_map *m = &p->m;
    /* Acquire pairs with the attaching consumer's seq_cst epoch bump: if we
     * see the bump we see its ACTIVE state and cursor (docs/design.md,
     * "EVERY gating and attach"). */
    p->gate_epoch = atomic_load_explicit(&m->ctl->every_epoch, memory_order_acquire);
    uint32_t hw = atomic_load_explicit(&m->ctl->hi_water, memory_order_relaxed);
    if (hw > m->g.max_consumers)
        hw = m->g.max_consumers; /* hostile value: never index past the table */
    uint64_t head = p->next_seq - 1;
    uint64_t min = UINT64_MAX;
    for (uint32_t i = 0; i < hw; i++) {
        struct zr_cons *e = &m->cons[i];
        /* Acquire: pairs with the consumer's seq_cst store of ACTIVE (after
         * its entry is initialised). */
        if (atomic_load_explicit(&e->state, memory_order_acquire) != ZR_ACTIVE)
            continue;
        /* Relaxed: mode is ours to change (demotion/eviction) or was set
         * before ACTIVE, which the acquire above orders. */
        if (atomic_load_explicit(&e->mode, memory_order_relaxed) != ZINC_EVERY)
            continue;
        /* Acquire: pairs with the consumer's release store of cursor at
         * release (R1): its reads of the payload happen before our
         * overwrite of the slot. */
        uint64_t c = atomic_load_explicit(&e->cursor, memory_order_acquire);
        if (c > head)
            c = head; /* hostile or stale-high: clamp */
        if (c < min)
            min = c;
    }
    p->gate = min;
    p->gate_valid = true;
}

static bool gate_open(struct zinc_producer *p, uint64_t n, bool force)
{
    uint64_t slots = p->m.g.slot_count;
    if (n <= slots)
        return true; /* the slot has never held a frame */
    uint64_t need = n - slots;
    if (!force && p->gate_valid && p->gate >= need &&
        atomic_load_explicit(&p->m.ctl->every_epoch, memory_order_relaxed) == p->gate_epoch)
        return true; /* relaxed: a stale epoch only makes us rescan later;
                        the attach argument in docs/design.md covers it */
    gate_scan(p);
    return p->gate >= need;
}

/* Evict dead EVERY consumers that block frame n; demote live ones that
 * have blocked longer than demote_after_ns. */
static void unblock_scan(struct zinc_producer *p, uint64_t n, bool demote)
{
    struct zr_map *m = &p->m;
    uint64_t need = n - m->g.slot_count;
    uint32_t hw = atomic_load_explicit(&m->ctl->hi_water, memory_order_relaxed);
    if (hw > m->g.max_consumers)
        hw = m->g.max_consumers;
    for (uint32_t i = 0; i < hw; i++) {
        struct zr_cons *e = &m->cons[i];
        if (atomic_load_explicit(&e->state, memory_order_acquire) != ZR_ACTIVE ||
            atomic_load_explicit(&e->mode, memory_order_relaxed) != ZINC_EVERY ||
            atomic_load_explicit(&e->cursor, memory_order_acquire) >= need)
            continue;
        int held = zinc__token_held(m->fd, ZR_TOKEN_CONSUMER(i));
        if (held == 0) {
            /* Release: the flag before the mode change, both before we
             * overwrite its slot; the consumer reads the flags with acquire. */
            atomic_store_explicit(&e->evicted, 1, memory_order_release);
            atomic_store_explicit(&e->mode, ZINC_LOSSY, memory_order_release);
            p->evicted++;
            atomic_store_explicit(&m->ctl->evicted, p->evicted, memory_order_relaxed);
        } else if (demote) {
            atomic_store_explicit(&e->demoted, 1, memory_order_release);
            atomic_store_explicit(&e->mode, ZINC_LOSSY, memory_order_release);
            p->demoted++;
            atomic_store_explicit(&m->ctl->demoted, p->demoted, memory_order_relaxed);
        }
    }
    p->gate_valid = false;
}

/* Wait until frame n's slot is free of EVERY readers. */
static int wait_for_slot(struct zinc_producer *p, uint64_t n, int64_t timeout_ns)
{
    struct zr_map *m = &p->m;
    struct zr_ctl *ctl = m->ctl;
    uint64_t start = now_ns();
    uint64_t deadline = timeout_ns < 0 ? UINT64_MAX : start + (uint64_t)timeout_ns;
    int r = ZINC_OK;
    bool counted = false;
    /* Demotion counts the time frame n has been blocked across calls, so a
     * producer that polls (timeout 0) or retries short timeouts demotes too. */
    if (p->blocked_seq != n) {
        p->blocked_seq = n;
        p->blocked_since = start;
    }
    uint64_t bstart = p->blocked_since;

    uint64_t now = start;
    for (uint64_t spins = 0;; spins++) {
        /* While spinning, read the clock every 64 turns; once sleeping,
         * every turn (each may have slept up to LIVENESS_PERIOD_NS). */
        if ((spins & 63) == 0 || now - start >= p->spin_ns)
            now = now_ns();
        /* Liveness and demotion first, so that a poll with timeout 0 also
         * evicts a dead consumer (at most every LIVENESS_PERIOD_NS). */
        bool demote = p->demote_after_ns && now - bstart >= p->demote_after_ns;
        if (demote || now - p->last_live_check >= LIVENESS_PERIOD_NS) {
            p->last_live_check = now;
            unblock_scan(p, n, demote);
            if (gate_open(p, n, true))
                break;
        }
        if (timeout_ns == 0) {
            r = zinc__fail_static(ZINC_EAGAIN, "claim: EVERY consumers hold the next slot");
            break;
        }
        if (!counted) {
            counted = true;
            p->blocked_claims++;
            atomic_store_explicit(&ctl->blocked_claims, p->blocked_claims, memory_order_relaxed);
        }
        if (now >= deadline) {
            r = zinc__fail_static(ZINC_ETIMEDOUT, "claim: timed out waiting for EVERY consumers");
            break;
        }
        if (now - start < p->spin_ns) {
            zinc__cpu_relax();
            if (gate_open(p, n, true))
                break;
            continue;
        }
        /* Sleep protocol, producer side (Q1..Q5 in docs/design.md). */
        /* Q1 seq_cst: totally ordered with the consumer's fence R2, so
         * either it sees us waiting or we see its new cursor at Q3. */
        atomic_fetch_add_explicit(&ctl->prod_waiting, 1, memory_order_seq_cst);
        /* Q2 acquire: pairs with R3's release bump; a bump we read comes
         * with the cursor stored before it. */
        uint32_t v = atomic_load_explicit(&ctl->space_futex, memory_order_acquire);
        atomic_thread_fence(memory_order_seq_cst);
        if (gate_open(p, n, true)) { /* Q3 */
            atomic_fetch_sub_explicit(&ctl->prod_waiting, 1, memory_order_release);
            break;
        }
        uint64_t left = deadline - now;
        uint64_t nap = LIVENESS_PERIOD_NS;
        if (p->demote_after_ns && p->demote_after_ns > now - bstart &&
            p->demote_after_ns - (now - bstart) < nap)
            nap = p->demote_after_ns - (now - bstart) + 1;
        if (left < nap)
            nap = left;
        zinc__futex_wait(&ctl->space_futex, v, (int64_t)nap); /* Q4 */
        /* Q5 release: nobody synchronises on the decrement; it only ends
         * our membership of the waiter count. */
        atomic_fetch_sub_explicit(&ctl->prod_waiting, 1, memory_order_release);
        if (gate_open(p, n, true))
            break;
    }
    if (counted) {
        p->blocked_ns += now_ns() - start;
        atomic_store_explicit(&ctl->blocked_ns, p->blocked_ns, memory_order_relaxed);
    }
    return r;
}

ZINC_API int zinc_producer_claim(zinc_producer *p, zinc_frame *f, int64_t timeout_ns)
{
    if (unlikely(!p || !f))
        return zinc__fail(ZINC_EINVAL, "claim: NULL argument");
    if (unlikely(p->claimed))
        return zinc__fail(ZINC_EINVAL, "claim: frame %llu is still claimed; publish or abort "
                          "it first", (unsigned long long)p->next_seq);
    struct zr_map *m = &p->m;
    uint64_t n = p->next_seq;
    if (!gate_open(p, n, false)) {
        int r = wait_for_slot(p, n, timeout_ns);
        if (r < 0)
            return r;
    }
    uint64_t slot = (n - 1) & m->mask;
    struct zr_desc *d = &m->descs[slot];
    /* Seqlock write side, step 2 of "Publish": the odd value is visible
     * before any byte of the new payload. Relaxed store + release fence,
     * as the kernel's write_seqcount_begin (store, smp_wmb). Pairs with the
     * acquire fence readers issue before re-checking lock in release(). */
    atomic_store_explicit(&d->lock, 2 * n - 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    memset(f, 0, sizeof(*f));
    f->data = m->payloads + slot * m->g.slot_stride;
    f->size = m->g.slot_size;
    f->seq = n;
    p->claimed = true;
    p->claim_data = f->data;
    return ZINC_OK;
}

ZINC_API int zinc_producer_publish(zinc_producer *p, zinc_frame *f)
{
    if (unlikely(!p || !f))
        return zinc__fail(ZINC_EINVAL, "publish: NULL argument");
    uint64_t n = p->next_seq;
    if (unlikely(!p->claimed || f->seq != n || f->data != p->claim_data))
        return zinc__fail(ZINC_EINVAL, "publish: frame %llu is not the claimed frame",
                          (unsigned long long)f->seq);
    struct zr_map *m = &p->m;
    if (unlikely(f->size > m->g.slot_size))
        return zinc__fail(ZINC_EMSGSIZE, "publish: %llu bytes do not fit a %llu-byte slot; "
                          "the claim stays open",
                          (unsigned long long)f->size, (unsigned long long)m->g.slot_size);
    if (f->tensor.ndim && unlikely(zinc_tensor_check(&f->tensor, f->size) < 0))
        return zinc__fail(ZINC_EINVAL, "publish: the tensor description does not fit the "
                          "frame's %llu bytes: %s",
                          (unsigned long long)f->size, zinc_last_error());
    struct zr_ctl *ctl = m->ctl;
    uint64_t slot = (n - 1) & m->mask;
    struct zr_desc *d = &m->descs[slot];
    /* The descriptor words first, the clock after: the stores start
     * taking the descriptor's line (a spinning consumer holds it) while
     * the clock is read. */
    desc_store(d, f, n);
    uint64_t pub = likely(p->timestamps) ? zinc__clock_now(&p->clk) : 0;
    atomic_store_explicit(&d->w[ZD_PUBLISH], pub, memory_order_relaxed);
    f->publish_ns = pub;
    /* P1, release: pairs with the reader's acquire load of lock; a reader
     * that sees 2n sees the payload and the descriptor words. */
    atomic_store_explicit(&d->lock, 2 * n, memory_order_release);
    /* P1, release: pairs with the consumer's acquire load of head. */
    atomic_store_explicit(&ctl->head, n, memory_order_release);
    /* P1, release: pairs with W2; a sleeper that reads the new value also
     * sees the new head at W3. */
    atomic_store_explicit(&ctl->pub_futex, (uint32_t)n, memory_order_release);
    p->claimed = false;
    p->next_seq = n + 1;
    p->published++;
    p->published_bytes += f->size;
    /* Relaxed counters: statistics, single writer, no ordering needed. */
    atomic_store_explicit(&ctl->published, p->published, memory_order_relaxed);
    atomic_store_explicit(&ctl->published_bytes, p->published_bytes, memory_order_relaxed);
    atomic_store_explicit(&ctl->last_publish_ns, pub, memory_order_relaxed);
    /* P2: seq_cst fence, totally ordered with the consumer's W1 RMW: either
     * the consumer's W3 sees head = n, or we see its waiter count here. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&ctl->cons_waiters, memory_order_relaxed) != 0)
        zinc__futex_wake(&ctl->pub_futex); /* P3 */
    return ZINC_OK;
}

ZINC_API int zinc_producer_abort(zinc_producer *p, zinc_frame *f)
{
    if (!p)
        return zinc__fail(ZINC_EINVAL, "abort: NULL producer");
    if (!p->claimed || (f && (f->seq != p->next_seq || f->data != p->claim_data)))
        return zinc__fail(ZINC_EINVAL, "abort: nothing claimed (or not the claimed frame)");
    /* The slot's lock stays odd: the frame that was there may be partly
     * overwritten already, so its readers must see it as torn. The next
     * claim reuses the same seq and slot. */
    p->claimed = false;
    p->aborted++;
    atomic_store_explicit(&p->m.ctl->aborted, p->aborted, memory_order_relaxed);
    return ZINC_OK;
}

ZINC_API int zinc_producer_set_stream(zinc_producer *p, const zinc_frame *desc)
{
    if (!p || !desc)
        return zinc__fail(ZINC_EINVAL, "set_stream: NULL argument");
    if (desc->size > p->m.g.slot_size)
        return zinc__fail(ZINC_EINVAL, "set_stream: %llu bytes do not fit a %llu-byte slot",
                          (unsigned long long)desc->size, (unsigned long long)p->m.g.slot_size);
    if (desc->tensor.ndim && zinc_tensor_check(&desc->tensor, desc->size) < 0)
        return zinc__fail(ZINC_EINVAL, "set_stream: tensor does not fit %llu bytes",
                          (unsigned long long)desc->size);
    struct zr_desc *d = &p->m.ctl->stream;
    uint64_t s = atomic_load_explicit(&d->lock, memory_order_relaxed);
    if (s & 1)
        s++; /* hostile odd value: step to even first */
    /* Seqlock write, as a frame's: odd, fence, words, even (release). */
    atomic_store_explicit(&d->lock, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    desc_store(d, desc, 0);
    atomic_store_explicit(&d->w[ZD_PUBLISH], now_ns(), memory_order_relaxed);
    atomic_store_explicit(&d->lock, s + 2, memory_order_release);
    return ZINC_OK;
}

static bool any_live_consumer(struct zr_map *m, int32_t except)
{
    uint32_t hw = atomic_load_explicit(&m->ctl->hi_water, memory_order_relaxed);
    if (hw > m->g.max_consumers)
        hw = m->g.max_consumers;
    for (uint32_t i = 0; i < hw; i++) {
        if ((int32_t)i == except)
            continue;
        if (zinc__token_held(m->fd, ZR_TOKEN_CONSUMER(i)) > 0)
            return true;
    }
    return false;
}

/* Give back our region reference (the region layer's count; a hint). */
static void region_unref(struct zr_map *m)
{
    uint32_t rc = atomic_load_explicit(&m->hdr->ref_count, memory_order_relaxed);
    /* Relaxed: the count orders nothing; removal is decided by tokens. */
    while (rc != 0 && !atomic_compare_exchange_weak_explicit(&m->hdr->ref_count, &rc, rc - 1,
                                                             memory_order_relaxed,
                                                             memory_order_relaxed))
        ;
}

ZINC_API void zinc_producer_close(zinc_producer *p)
{
    if (!p)
        return;
    struct zr_map *m = &p->m;
    struct zr_ctl *ctl = m->ctl;
    if (forked(m)) {
        /* A child's copy of its parent's handle: the ring is the parent's. */
        map_release(m);
        free(p);
        return;
    }
    if (p->claimed)
        zinc_producer_abort(p, NULL);
    /* seq_cst: after every publish (so a consumer that sees CLOSED sees the
     * final head), and ordered before the bump that wakes sleepers, who
     * re-check the state at W3. */
    atomic_store_explicit(&ctl->prod_state, ZR_CLOSED, memory_order_seq_cst);
    atomic_fetch_add_explicit(&ctl->pub_futex, 1, memory_order_seq_cst);
    zinc__futex_wake(&ctl->pub_futex);
    /* Release: the region's owner-closed bit, for plain Zinc readers. */
    atomic_fetch_or_explicit(&m->hdr->flags, ZINC_FLAG_OWNER_CLOSED, memory_order_release);
    region_unref(m);
    if (!any_live_consumer(m, -1))
        zinc__unlink_if_same(m->obj, m->dev, m->ino);
    map_release(m);
    free(p);
}

/* ---- consumer ---------------------------------------------------------------- */

/* Open and map the existing ring `name` into `m` (prot: PROT_READ, or with
 * PROT_WRITE). Whatever it returns, the caller map_release()s `m`. */
static int open_existing(const char *name, struct zr_map *m, int prot, const char *what)
{
    int r = check_name(name, m);
    if (r < 0)
        return r;
    m->fd = shm_open(m->obj, ((prot & PROT_WRITE) ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0);
    if (m->fd < 0)
        return zinc__shm_errno(errno, what, name);
    return map_existing(m, prot);
}

ZINC_API int zinc_consumer_open(const char *name, zinc_delivery mode, zinc_consumer **out)
{
    if (out)
        *out = NULL;
    zinc__clear_error();
    if (!out)
        return zinc__fail(ZINC_EINVAL, "consumer_open: out is NULL");
    if ((unsigned)mode > ZINC_LATEST)
        return zinc__fail(ZINC_EINVAL, "consumer_open: mode %d is not EVERY, LOSSY or LATEST",
                          (int)mode);
    struct zinc_consumer *c = calloc(1, sizeof(*c));
    if (!c)
        return zinc__fail(-ENOMEM, "consumer_open: out of memory");
    struct zr_map *m = &c->m;
    int r = open_existing(name, m, PROT_READ | PROT_WRITE, "consumer_open");
    if (r < 0)
        goto fail;
    struct zr_ctl *ctl = m->ctl;

    /* Owning the token of byte 1 + i is owning entry i; the entry of a dead
     * consumer is reclaimed here since the kernel dropped its token. */
    int32_t idx = -1;
    for (uint32_t i = 0; i < m->g.max_consumers; i++) {
        int t = zinc__token_take(m->fd, ZR_TOKEN_CONSUMER(i));
        if (t == 0) {
            idx = (int32_t)i;
            break;
        }
        if (t != -EAGAIN) {
            r = zinc__fail(t, "consumer_open '%s': lock: %s", name, strerror(-t));
            goto fail;
        }
    }
    if (idx < 0) {
        r = zinc__fail(ZINC_EBUSY, "consumer_open '%s': all %u consumer entries are in use; "
                       "create the ring with a larger max_consumers",
                       name, m->g.max_consumers);
        goto fail;
    }
    /* The ring's mapping options apply to every attach (best effort); the
     * advice first, so that pre-faulting maps huge pages whole. */
#ifdef MADV_HUGEPAGE
    if (ctl->flags & ZINC_RING_HUGEPAGES)
        (void)madvise(m->base, m->len, MADV_HUGEPAGE);
#endif
#ifdef MADV_POPULATE_READ
    if (ctl->flags & ZINC_RING_PREFAULT)
        (void)madvise(m->base, m->len, MADV_POPULATE_READ);
#endif
    struct zr_cons *e = &m->cons[idx];
    c->e = e;
    c->idx = (uint32_t)idx;
    c->mode = c->req_mode = mode;
    c->spin_ns = ctl->spin_ns <= MAX_SPIN_NS ? ctl->spin_ns : MAX_SPIN_NS;
    c->spin_cur = c->spin_ns;
    (void)zinc__clock_now(&c->clk); /* first anchor now, not at the first frame */

    /* Initialise the entry; relaxed stores ordered by the seq_cst store of
     * ACTIVE below (which the producer's scan reads with acquire). */
    atomic_store_explicit(&e->state, ZR_ATTACHING, memory_order_relaxed);
    atomic_store_explicit(&e->req_mode, (uint32_t)mode, memory_order_relaxed);
    atomic_store_explicit(&e->mode, (uint32_t)mode, memory_order_relaxed);
    atomic_store_explicit(&e->demoted, 0, memory_order_relaxed);
    atomic_store_explicit(&e->evicted, 0, memory_order_relaxed);
    atomic_store_explicit(&e->acquired, 0, memory_order_relaxed);
    atomic_store_explicit(&e->released, 0, memory_order_relaxed);
    atomic_store_explicit(&e->dropped, 0, memory_order_relaxed);
    atomic_store_explicit(&e->torn, 0, memory_order_relaxed);
    for (int i = 0; i < ZR_HIST; i++)
        atomic_store_explicit(&e->latency[i], 0, memory_order_relaxed);
    atomic_store_explicit(&e->pid, (int32_t)getpid(), memory_order_relaxed);
    atomic_store_explicit(&e->attached_ns, now_ns(), memory_order_relaxed);
    /* Acquire: pairs with publish's release store of head (a cursor we
     * store is a frame that exists). */
    uint64_t h0 = atomic_load_explicit(&ctl->head, memory_order_acquire);
    atomic_store_explicit(&e->cursor, h0, memory_order_relaxed);
    uint32_t hw = atomic_load_explicit(&ctl->hi_water, memory_order_relaxed);
    /* Relaxed CAS: hi_water only bounds scans; the entry itself is
     * published by the seq_cst store of ACTIVE and the epoch bump. */
    while (hw < (uint32_t)idx + 1 &&
           !atomic_compare_exchange_weak_explicit(&ctl->hi_water, &hw, (uint32_t)idx + 1,
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
    /* seq_cst: pairs with the producer's acquire load of state in its scan. */
    atomic_store_explicit(&e->state, ZR_ACTIVE, memory_order_seq_cst);
    if (mode == ZINC_EVERY) {
        /* seq_cst: the attach step of docs/design.md: a producer that
         * misses this bump published nothing our head read below misses. */
        atomic_fetch_add_explicit(&ctl->every_epoch, 1, memory_order_seq_cst);
    }
    uint64_t h1 = atomic_load_explicit(&ctl->head, memory_order_seq_cst);
    if (h1 < h0)
        h1 = h0; /* hostile: head never goes back */
    /* Release: pairs with the producer's acquire load of cursor. */
    atomic_store_explicit(&e->cursor, h1, memory_order_release);
    c->cursor = (mode == ZINC_LATEST && h1 > 0) ? h1 - 1 : h1;

    uint32_t rc = atomic_load_explicit(&m->hdr->ref_count, memory_order_relaxed);
    /* Relaxed: a hint for plain Zinc readers, orders nothing. */
    while (rc != 0 && rc != UINT32_MAX &&
           !atomic_compare_exchange_weak_explicit(&m->hdr->ref_count, &rc, rc + 1,
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
    tok_register(m->fd);
    m->registered = true;
    *out = c;
    return ZINC_OK;
fail:
    map_release(m);
    free(c);
    return r;
}

static unsigned log2_bucket(uint64_t ns)
{
    if (ns < 2)
        return 0;
    unsigned b = 63u - (unsigned)__builtin_clzll(ns);
    return b < ZR_HIST ? b : ZR_HIST - 1;
}

/* Producer gone (closed, replaced, or dead)? Token checks are syscalls, so
 * they run at most every LIVENESS_PERIOD_NS unless `force`. */
static bool producer_gone(struct zinc_consumer *c, bool force)
{
    struct zr_ctl *ctl = c->m.ctl;
    /* Acquire: pairs with close's seq_cst store; a consumer that sees
     * CLOSED then reads the final head. */
    if (atomic_load_explicit(&ctl->prod_state, memory_order_acquire) != ZR_OPEN)
        return true;
    /* The coarse clock (a few ns, jiffy resolution) is plenty for a 50 ms
     * period, and keeps a precise clock read off a polling consumer's
     * path. */
    uint64_t now = zinc__now_ns(CLOCK_MONOTONIC_COARSE);
    if (!force && now - c->last_live_check < LIVENESS_PERIOD_NS)
        return false;
    c->last_live_check = now;
    return zinc__token_held(c->m.fd, ZR_TOKEN_PRODUCER) == 0;
}

/* Pick the frame to read given head, or 0 if nothing is there for us.
 * `floor` (LOSSY) is the first frame not yet found overwritten in this call. */
static uint64_t want_for(const struct zinc_consumer *c, uint64_t head, uint64_t floor)
{
    if (head <= c->cursor)
        return 0;
    switch (c->mode) {
    case ZINC_LATEST:
        return head;
    case ZINC_LOSSY: {
        uint64_t want = c->cursor + 1;
        /* More than a ring behind: the oldest frame still in the ring is
         * head + 1 - slots (its slot may be under claim for head + 1; then
         * try_take finds it odd and `floor` moves past it). */
        uint64_t slots = c->m.g.slot_count;
        if (head + 1 > slots && want < head + 1 - slots)
            want = head + 1 - slots;
        if (want < floor)
            want = floor;
        return want <= head ? want : head;
    }
    default:
        return c->cursor + 1;
    }
}

static void check_demotion(struct zinc_consumer *c)
{
    /* Acquire: pairs with the producer's release stores in unblock_scan;
     * relaxed would do for the flag itself, acquire keeps it before our
     * reads of slots the producer may now overwrite. */
    if (atomic_load_explicit(&c->e->demoted, memory_order_acquire) ||
        atomic_load_explicit(&c->e->evicted, memory_order_acquire)) {
        c->mode = ZINC_LOSSY;
        c->demote_pending = true;
    }
}

/* Try to take frame `want`. 0 taken, 1 retry (overwritten or torn copy),
 * <0 error. */
static int try_take(struct zinc_consumer *c, uint64_t want, zinc_frame *f)
{
    struct zr_map *m = &c->m;
    if (want > UINT64_MAX / 2)
        return zinc__fail(ZINC_EBADMSG, "ring '%s': head %llu is corrupted", m->name,
                          (unsigned long long)want);
    uint64_t slot = (want - 1) & m->mask;
    struct zr_desc *d = &m->descs[slot];
    /* Acquire: pairs with publish's release store of lock (P1): seeing 2*want
     * we see the payload and descriptor of frame `want`. */
    uint64_t s1 = atomic_load_explicit(&d->lock, memory_order_acquire);
    if (s1 != 2 * want)
        return s1 > 2 * want ? 1 : 2; /* 1: overwritten; 2: not visible/corrupt */
    desc_read(d, f);
    /* Acquire fence: our descriptor reads happen before the re-load; pairs
     * with the producer's release fence after its odd store at claim. */
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&d->lock, memory_order_relaxed) != s1)
        return 1; /* overwritten while we copied (f is rewritten on retry) */
    if (f->seq != want)
        return zinc__fail(ZINC_EBADMSG, "ring '%s': slot %llu holds seq %llu, lock says %llu "
                          "(corrupted descriptor)",
                          m->name, (unsigned long long)slot, (unsigned long long)f->seq,
                          (unsigned long long)want);
    int r = desc_check(f, m->g.slot_size, m->name);
    if (r < 0)
        return r;
    f->data = m->payloads + slot * m->g.slot_stride;
    f->dropped = want - c->cursor - 1;
    if (c->demote_pending) {
        f->flags |= ZINC_FRAME_DEMOTED;
        c->demote_pending = false;
    }
    struct zr_cons *e = c->e;
    /* Relaxed counters: we are their only writer; readers are statistics.
     * No publish_ns (ZINC_RING_NO_TIMESTAMPS): no latency to record. */
    if (likely(f->publish_ns)) {
        uint64_t now = zinc__clock_now(&c->clk);
        uint64_t lat = now > f->publish_ns ? now - f->publish_ns : 0;
        unsigned b = log2_bucket(lat);
        atomic_store_explicit(&e->latency[b],
                              atomic_load_explicit(&e->latency[b], memory_order_relaxed) + 1,
                              memory_order_relaxed);
    }
    c->acquired++;
    c->dropped += f->dropped;
    atomic_store_explicit(&e->acquired, c->acquired, memory_order_relaxed);
    if (f->dropped)
        atomic_store_explicit(&e->dropped, c->dropped, memory_order_relaxed);
    c->cursor = want;
    if (c->mode != ZINC_EVERY) {
        /* Release for symmetry with R1; for LOSSY/LATEST the cursor is
         * only read by statistics (lag). */
        atomic_store_explicit(&e->cursor, want, memory_order_release);
    }
    c->holding = true;
    c->held_seq = want;
    c->held_data = f->data;
    c->held_slot = slot;
    return 0;
}

/* Adaptive spin: a frame that came while we spun (not after a sleep) says
 * spinning pays off for this stream: spin longer next time. */
static void took_frame(struct zinc_consumer *c, bool during_spin)
{
    if (during_spin && c->spin_cur < c->spin_ns)
        c->spin_cur = c->spin_cur * 2 < c->spin_ns ? c->spin_cur * 2 : c->spin_ns;
}

ZINC_API int zinc_consumer_acquire(zinc_consumer *c, zinc_frame *f, int64_t timeout_ns)
{
    if (unlikely(!c || !f))
        return zinc__fail(ZINC_EINVAL, "acquire: NULL argument");
    if (unlikely(c->holding))
        return zinc__fail(ZINC_EINVAL, "acquire: frame %llu is still held; release it first",
                          (unsigned long long)c->held_seq);
    struct zr_map *m = &c->m;
    struct zr_ctl *ctl = m->ctl;
    uint64_t start = 0, deadline = UINT64_MAX;
    uint32_t mismatches = 0;
    uint64_t last_head = 0;
    uint64_t floor = 0;
    bool slept = false;
    bool use_head = false;

    for (uint64_t spins = 0;; spins++) {
        if (c->mode == ZINC_EVERY)
            check_demotion(c);
        bool nothing_yet = false;
        /* The word that announces our next frame, and its value as this
         * turn saw it: the spin below waits for it to move from *this*
         * value (re-reading it there could miss a publish in between). */
        _Atomic uint64_t *watch = &ctl->head;
        uint64_t watched = 0;
        if (c->mode != ZINC_LATEST && !floor) {
            /* Fast path: EVERY and LOSSY want cursor + 1, so look at its slot
             * directly rather than at head first. A spinning consumer then
             * waits on the line that brings the frame's seqlock word and
             * first descriptor words, one cross-core transfer fewer on the
             * critical path. Acquire pairs with publish's release store of
             * lock (P1); try_take re-checks it. */
            uint64_t next = c->cursor + 1;
            const struct zr_desc *nd = &m->descs[(next - 1) & m->mask];
            uint64_t lk = atomic_load_explicit(&((struct zr_desc *)nd)->lock,
                                               memory_order_acquire);
            watch = &((struct zr_desc *)nd)->lock;
            watched = lk;
            /* Below 2*next: frame `next` is not published yet, so head
             * cannot be past it either (we would be lapped only with a
             * higher value): nothing for us, and no need to touch head's
             * line. `use_head` overrides this for the rest of the call once
             * head has shown a frame for us (a publish since our look, or a
             * corrupted ring whose slots never agree with head). */
            nothing_yet = lk < 2 * next && !use_head;
            if (lk == 2 * next) {
                int r = try_take(c, next, f);
                if (likely(r == 0)) {
                    took_frame(c, start && !slept);
                    return ZINC_OK;
                }
                if (r < 0)
                    return r;
            }
        }
        /* Acquire: pairs with publish's release store of head (P1). */
        uint64_t head = nothing_yet ? c->cursor
                                    : atomic_load_explicit(&ctl->head, memory_order_acquire);
        if (!nothing_yet) {
            watch = &ctl->head;
            watched = head;
        }
        uint64_t want = want_for(c, head, floor);
        if (want) {
            int r = try_take(c, want, f);
            if (likely(r == 0)) {
                took_frame(c, start && !slept);
                return ZINC_OK;
            }
            if (r < 0)
                return r;
            if (r == 1 && c->mode == ZINC_LOSSY)
                floor = want + 1; /* lapped: try the next one, not the same */
            /* Overwritten (r == 1) is normal for LOSSY/LATEST: go round with
             * a fresh head. For EVERY it means demotion/eviction (flags are
             * re-read at the top). A lock below 2*want (r == 2) is a store
             * not yet visible. Either way bounded: a persistent mismatch
             * with an unchanging head is corruption. */
            if (head != last_head) {
                last_head = head;
                mismatches = 0;
            } else if (++mismatches > MISMATCH_RETRIES) {
                return zinc__fail(ZINC_EBADMSG, "ring '%s': frame %llu's slot never matches "
                                  "head %llu (corrupted ring)",
                                  m->name, (unsigned long long)want, (unsigned long long)head);
            }
            /* The timeout still holds while we chase a fast producer (or a
             * hostile writer that keeps moving head). */
            if ((spins & 1023) == 1023 && timeout_ns >= 0) {
                uint64_t t = now_ns();
                if (start == 0)
                    start = t;
                if (t - start >= (uint64_t)timeout_ns)
                    return timeout_ns == 0
                               ? zinc__fail_static(ZINC_EAGAIN, "no intact frame yet")
                               : zinc__fail_static(ZINC_ETIMEDOUT, "no intact frame within "
                                                                   "the timeout");
            }
            zinc__cpu_relax();
            continue;
        }
        /* Nothing for us. */
        if (producer_gone(c, false)) {
            /* Drain first: re-read head after seeing the state. If head
             * promises a frame the slot fast path did not see (possible
             * only in a corrupted ring), take the head path from now on,
             * whose retries are bounded; otherwise this would loop. */
            if (want_for(c, atomic_load_explicit(&ctl->head, memory_order_acquire), 0)) {
                use_head = true;
                continue;
            }
            return zinc__fail_static(ZINC_EPIPE, "producer gone and nothing left to read");
        }
        if (timeout_ns == 0)
            return zinc__fail_static(ZINC_EAGAIN, "no new frame");
        uint64_t now = now_ns();
        if (start == 0)
            start = now;
        if (timeout_ns > 0 && deadline == UINT64_MAX)
            deadline = start + (uint64_t)timeout_ns;
        if (now >= deadline)
            return zinc__fail_static(ZINC_ETIMEDOUT, "no new frame within the timeout");
        if (!slept && now - start < c->spin_cur) {
            /* Spin on the word that announces our next frame (its slot's
             * lock for EVERY/LOSSY, head for LATEST) and go round as soon
             * as it moves, so a spinning acquire(-1) sees a frame as soon
             * as a polling one does. Relaxed: only a hint; the loop's
             * acquire loads re-read it. */
            for (int i = 0; i < 32; i++) {
                zinc__cpu_relax();
                if (atomic_load_explicit(watch, memory_order_relaxed) != watched)
                    break;
            }
            continue;
        }
        if (!slept) {
            slept = true;
            /* The spin did not pay off: spin less next time (floor 1 us,
             * or the configured spin if that is shorter). */
            uint32_t floor_ns = c->spin_ns < 1000 ? c->spin_ns : 1000;
            c->spin_cur = c->spin_cur / 2 > floor_ns ? c->spin_cur / 2 : floor_ns;
        }
        /* Sleep protocol, consumer side (W1..W5 in docs/design.md). */
        /* W1 seq_cst: totally ordered with publish's fence P2. */
        atomic_fetch_add_explicit(&ctl->cons_waiters, 1, memory_order_seq_cst);
        /* W2: acquire (seq_cst) pairs with P1's release store of pub_futex. */
        uint32_t v = atomic_load_explicit(&ctl->pub_futex, memory_order_seq_cst);
        /* W3 */
        uint64_t h = atomic_load_explicit(&ctl->head, memory_order_seq_cst);
        bool pending = want_for(c, h, 0) != 0;
        if (pending)
            use_head = true; /* see the fast path above */
        if (!pending &&
            atomic_load_explicit(&ctl->prod_state, memory_order_seq_cst) == ZR_OPEN &&
            !(c->mode == ZINC_EVERY &&
              (atomic_load_explicit(&c->e->demoted, memory_order_relaxed) ||
               atomic_load_explicit(&c->e->evicted, memory_order_relaxed)))) {
            uint64_t left = deadline - now;
            /* W4: the kernel re-checks pub_futex == v before sleeping. */
            zinc__futex_wait(&ctl->pub_futex, v,
                             (int64_t)(left < LIVENESS_PERIOD_NS ? left : LIVENESS_PERIOD_NS));
        }
        /* W5 release: ends our membership of the waiter count; nobody
         * synchronises on it. */
        atomic_fetch_sub_explicit(&ctl->cons_waiters, 1, memory_order_release);
        /* A sleeper re-checks the producer's token every period. */
        if (producer_gone(c, false) &&
            !want_for(c, atomic_load_explicit(&ctl->head, memory_order_acquire), 0))
            return zinc__fail_static(ZINC_EPIPE, "producer gone and nothing left to read");
    }
}

ZINC_API int zinc_consumer_release(zinc_consumer *c, const zinc_frame *f)
{
    if (unlikely(!c || !f))
        return zinc__fail(ZINC_EINVAL, "release: NULL argument");
    if (unlikely(!c->holding || f->seq != c->held_seq || f->data != c->held_data))
        return zinc__fail(ZINC_EINVAL, "release: frame %llu is not the held frame (released "
                          "twice, or never acquired)", (unsigned long long)f->seq);
    struct zr_map *m = &c->m;
    struct zr_desc *d = &m->descs[c->held_slot];
    /* Acquire fence: the caller's reads of the payload happen before the
     * re-check; pairs with the producer's release fence after it marked the
     * slot odd at claim. Seeing the same even value means no byte we read
     * came from a later frame. */
    atomic_thread_fence(memory_order_acquire);
    bool intact = atomic_load_explicit(&d->lock, memory_order_relaxed) == 2 * c->held_seq;
    c->holding = false;
    struct zr_cons *e = c->e;
    if (c->mode == ZINC_EVERY) {
        struct zr_ctl *ctl = m->ctl;
        /* R1 release: pairs with the producer's acquire load of cursor in
         * gate_scan: our payload reads happen before its overwrite. */
        atomic_store_explicit(&e->cursor, c->held_seq, memory_order_release);
        /* R2: totally ordered with the producer's Q1. */
        atomic_thread_fence(memory_order_seq_cst);
        if (atomic_load_explicit(&ctl->prod_waiting, memory_order_relaxed) != 0) {
            /* R3 release: pairs with Q2's acquire load. */
            atomic_fetch_add_explicit(&ctl->space_futex, 1, memory_order_release);
            zinc__futex_wake(&ctl->space_futex);
        }
    }
    if (!intact) {
        c->torn++;
        atomic_store_explicit(&e->torn, c->torn, memory_order_relaxed);
        return zinc__fail(ZINC_EOVERFLOW, "release: frame %llu was overwritten while held; "
                          "discard what was computed from it", (unsigned long long)f->seq);
    }
    c->released++;
    atomic_store_explicit(&e->released, c->released, memory_order_relaxed);
    return ZINC_OK;
}

ZINC_API int zinc_consumer_stream(zinc_consumer *c, zinc_frame *desc)
{
    if (!c || !desc)
        return zinc__fail(ZINC_EINVAL, "stream: NULL argument");
    struct zr_desc *d = &c->m.ctl->stream;
    uint64_t start = 0;
    for (uint64_t tries = 0;; tries++) {
        /* Acquire: pairs with set_stream's final release store. */
        uint64_t s1 = atomic_load_explicit(&d->lock, memory_order_acquire);
        if (s1 == 0)
            return zinc__fail_static(ZINC_EAGAIN, "no stream descriptor set");
        if (!(s1 & 1)) {
            zinc_frame w; /* the caller's struct is written only if intact */
            desc_read(d, &w);
            /* Acquire fence before the re-check, as for frames. */
            atomic_thread_fence(memory_order_acquire);
            if (atomic_load_explicit(&d->lock, memory_order_relaxed) == s1) {
                *desc = w;
                desc->seq = 0;
                return desc_check(desc, c->m.g.slot_size, c->m.name);
            }
        }
        /* An update in progress: retry. A writer stuck mid-update (dead,
         * or hostile) must not hang us: after 1 s answer -11 while the
         * producer lives (retry later) and -74 once it is gone. (The bound
         * is generous because a reader preempted between its copy and its
         * re-check, under a producer updating without pause, must not give
         * up on an honest stream.) */
        if ((tries & 1023) == 1023) {
            uint64_t now = now_ns();
            if (!start)
                start = now;
            else if (now - start > NSEC)
                return producer_gone(c, true)
                           ? zinc__fail(ZINC_EBADMSG, "stream: descriptor left half-written")
                           : zinc__fail_static(ZINC_EAGAIN, "stream: descriptor being updated");
        }
        zinc__cpu_relax();
    }
}

ZINC_API int zinc_consumer_config(const zinc_consumer *c, zinc_ring_config *cfg)
{
    if (!c || !cfg)
        return zinc__fail(ZINC_EINVAL, "config: NULL argument");
    memset(cfg, 0, sizeof(*cfg));
    cfg->slot_count = c->m.g.slot_count;
    cfg->max_consumers = c->m.g.max_consumers;
    cfg->slot_size = c->m.g.slot_size;
    cfg->flags = c->m.ctl->flags &
                 (ZINC_RING_PREFAULT | ZINC_RING_HUGEPAGES | ZINC_RING_NO_TIMESTAMPS);
    cfg->spin_ns = c->spin_ns;
    cfg->demote_after_ns = c->m.ctl->demote_after_ns;
    return ZINC_OK;
}

ZINC_API uint64_t zinc_consumer_generation(const zinc_consumer *c)
{
    return c ? c->m.generation : 0;
}

ZINC_API zinc_delivery zinc_consumer_mode(const zinc_consumer *c)
{
    if (!c)
        return ZINC_LOSSY;
    if (c->mode == ZINC_EVERY &&
        (atomic_load_explicit(&c->e->demoted, memory_order_relaxed) ||
         atomic_load_explicit(&c->e->evicted, memory_order_relaxed)))
        return ZINC_LOSSY;
    return c->mode;
}

ZINC_API void zinc_consumer_close(zinc_consumer *c)
{
    if (!c)
        return;
    struct zr_map *m = &c->m;
    struct zr_ctl *ctl = m->ctl;
    struct zr_cons *e = c->e;
    if (forked(m)) {
        map_release(m); /* a child's copy: the entry is the parent's */
        free(c);
        return;
    }
    c->holding = false;
    /* Release: our last payload reads happen before the producer, which
     * skips FREE entries, overwrites anything. */
    atomic_store_explicit(&e->state, ZR_FREE, memory_order_release);
    if (c->mode == ZINC_EVERY) {
        /* A producer blocked on us must re-scan: R2/R3 as in release. */
        atomic_thread_fence(memory_order_seq_cst);
        if (atomic_load_explicit(&ctl->prod_waiting, memory_order_relaxed) != 0) {
            atomic_fetch_add_explicit(&ctl->space_futex, 1, memory_order_release);
            zinc__futex_wake(&ctl->space_futex);
        }
    }
    zinc__token_drop(m->fd, ZR_TOKEN_CONSUMER(c->idx));
    region_unref(m);
    if (producer_gone(c, true) && !any_live_consumer(m, (int32_t)c->idx))
        zinc__unlink_if_same(m->obj, m->dev, m->ino);
    map_release(m);
    free(c);
}

/* ---- observability and clean-up -------------------------------------------------- */

ZINC_API int zinc_ring_stats_read(const char *name, zinc_ring_stats *rs, zinc_consumer_stats *cs,
                                  uint32_t cap, uint32_t *n_out)
{
    zinc__clear_error();
    if (n_out)
        *n_out = 0;
    if (!rs)
        return zinc__fail(ZINC_EINVAL, "ring_stats: rs is NULL");
    struct zr_map m;
    int r = open_existing(name, &m, PROT_READ, "ring_stats");
    if (r < 0) {
        map_release(&m);
        return r;
    }
    /* Relaxed loads throughout: a snapshot of statistics; fields may be
     * mutually a little out of date, never out of bounds. */
    struct zr_ctl *ctl = m.ctl;
    memset(rs, 0, sizeof(*rs));
    rs->generation = m.generation;
    rs->head = atomic_load_explicit(&ctl->head, memory_order_relaxed);
    rs->slot_count = m.g.slot_count;
    rs->max_consumers = m.g.max_consumers;
    rs->slot_size = m.g.slot_size;
    rs->ring_bytes = m.len;
    rs->producer_state = atomic_load_explicit(&ctl->prod_state, memory_order_relaxed);
    rs->producer_alive = zinc__token_held(m.fd, ZR_TOKEN_PRODUCER) > 0;
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
    uint32_t hw = atomic_load_explicit(&ctl->hi_water, memory_order_relaxed);
    if (hw > m.g.max_consumers)
        hw = m.g.max_consumers;
    uint32_t n = 0;
    for (uint32_t i = 0; i < hw; i++) {
        struct zr_cons *e = &m.cons[i];
        uint32_t st = atomic_load_explicit(&e->state, memory_order_relaxed);
        if (st == ZR_FREE)
            continue;
        if (cs && n < cap) {
            zinc_consumer_stats *o = &cs[n];
            memset(o, 0, sizeof(*o));
            o->index = i;
            o->mode = atomic_load_explicit(&e->mode, memory_order_relaxed);
            o->pid = atomic_load_explicit(&e->pid, memory_order_relaxed);
            o->alive = zinc__token_held(m.fd, ZR_TOKEN_CONSUMER(i)) > 0;
            o->demoted = atomic_load_explicit(&e->demoted, memory_order_relaxed) != 0;
            o->evicted = atomic_load_explicit(&e->evicted, memory_order_relaxed) != 0;
            o->cursor = atomic_load_explicit(&e->cursor, memory_order_relaxed);
            o->lag = rs->head > o->cursor ? rs->head - o->cursor : 0;
            o->acquired = atomic_load_explicit(&e->acquired, memory_order_relaxed);
            o->released = atomic_load_explicit(&e->released, memory_order_relaxed);
            o->dropped = atomic_load_explicit(&e->dropped, memory_order_relaxed);
            o->torn = atomic_load_explicit(&e->torn, memory_order_relaxed);
            o->attached_ns = atomic_load_explicit(&e->attached_ns, memory_order_relaxed);
            for (int b = 0; b < ZINC_LAT_BUCKETS; b++)
                o->latency[b] = atomic_load_explicit(&e->latency[b], memory_order_relaxed);
        }
        n++;
    }
    rs->consumers = n;
    if (n_out)
        *n_out = n;
    map_release(&m);
    return ZINC_OK;
}

ZINC_API int zinc_ring_remove_stale(const char *name)
{
    zinc__clear_error();
    struct zr_map m;
    int r = open_existing(name, &m, PROT_READ, "remove_stale");
    bool opened = m.fd >= 0;
    map_release(&m);
    if (!opened)
        return r; /* a bad name, no such object, no permission */
    if (r == ZINC_EBADMSG)
        return r; /* not a ring: zinc_unlink is the tool for that */
    if (r == ZINC_EAGAIN)
        return zinc__fail(ZINC_EEXIST, "ring '%s' is being created by a live process", name);
    return retire_if_gone(m.obj, name);
}
