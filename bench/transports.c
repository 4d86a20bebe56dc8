/* SPDX-License-Identifier: MIT */
/*
 * transports.c — the transports the harness compares: the zinc ring, a
 * bare shared-memory SPSC ring (the same work without bookkeeping), a pipe
 * and an AF_UNIX stream socket.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zinc/ring.h>

/* ---- zinc ------------------------------------------------------------------ */

struct zst {
    struct zb_job *j;
    zinc_producer *p;
    zinc_consumer *c;
    zinc_consumer *idle[ZINC_RING_MAX_CONSUMERS];
    zinc_frame f;
    int64_t timeout;
};

/* A sealed anonymous ring (ZINC_RING_ANONYMOUS) is served on an abstract
 * socket named after the run; its consumers connect there. */
static void anon_address(const struct zb_job *j, char *buf, size_t len)
{
    snprintf(buf, len, "@zinc-bench/%s", j->name);
}

static int zinc_attach(struct zb_job *j, zinc_delivery mode, zinc_consumer **c)
{
    if (!(j->ring_flags & ZINC_RING_ANONYMOUS))
        return zinc_consumer_open(j->name, mode, c);
    char addr[128];
    anon_address(j, addr, sizeof(addr));
    return zinc_consumer_connect(addr, mode, c);
}

static int zinc_prod_open(struct zb_job *j, void **out)
{
    struct zst *s = calloc(1, sizeof(*s));
    zinc_ring_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.slot_count = j->slots;
    cfg.max_consumers = j->ncons + 1 + j->idle_lossy;
    cfg.slot_size = j->size;
    cfg.flags = j->ring_flags;
    s->j = j;
    int r = zinc_producer_create(j->name, &cfg, &s->p);
    if (r < 0)
        zb_die(j, "zinc_producer_create(%s): %s %s", j->name, zinc_strerror(r), zinc_last_error());
    if (j->ring_flags & ZINC_RING_ANONYMOUS) {
        char addr[128];
        anon_address(j, addr, sizeof(addr));
        r = zinc_producer_listen(s->p, addr);
        if (r < 0)
            zb_die(j, "zinc_producer_listen(%s): %s %s", addr, zinc_strerror(r),
                   zinc_last_error());
    }
    /* Consumers that only take a table entry: the producer's cost must
     * not grow with them. */
    for (uint32_t i = 0; i < j->idle_lossy && i < ZINC_RING_MAX_CONSUMERS; i++) {
        r = zinc_attach(j, ZINC_LOSSY, &s->idle[i]);
        if (r < 0)
            zb_die(j, "idle zinc_consumer_open: %s", zinc_strerror(r));
    }
    *out = s;
    return 0;
}

static void *zinc_prod_get(void *st, uint64_t size)
{
    struct zst *s = st;
    int r = zinc_producer_claim(s->p, &s->f, -1);
    if (r < 0)
        zb_die(s->j, "zinc_producer_claim: %s", zinc_strerror(r));
    (void)size;
    return s->f.data;
}

static int zinc_prod_send(void *st, void *buf, uint64_t size)
{
    struct zst *s = st;
    (void)buf;
    s->f.size = size;
    int r = zinc_producer_publish(s->p, &s->f);
    if (r < 0)
        zb_die(s->j, "zinc_producer_publish: %s", zinc_strerror(r));
    return 0;
}

static void zinc_prod_close(void *st)
{
    struct zst *s = st;
    for (uint32_t i = 0; i < s->j->idle_lossy && i < ZINC_RING_MAX_CONSUMERS; i++)
        zinc_consumer_close(s->idle[i]);
    zinc_producer_close(s->p);
    free(s);
}

static int zinc_cons_open(struct zb_job *j, int idx, void **out)
{
    struct zst *s = calloc(1, sizeof(*s));
    s->j = j;
    s->timeout = j->sleep ? -1 : 0;
    int r = zinc_attach(j, (zinc_delivery)j->mode[idx], &s->c);
    if (r < 0)
        zb_die(j, "zinc_consumer_open(%s): %s %s", j->name, zinc_strerror(r), zinc_last_error());
    *out = s;
    return 0;
}

static const void *zinc_cons_recv(void *st, uint64_t *dropped)
{
    struct zst *s = st;
    int r;
    struct zb_spin sp;
    zb_spin_begin(&sp);
    while ((r = zinc_consumer_acquire(s->c, &s->f, s->timeout)) == ZINC_EAGAIN)
        zb_spin(s->j, &sp, "zinc acquire");
    if (r < 0)
        zb_die(s->j, "zinc_consumer_acquire: %s", zinc_strerror(r));
    *dropped = s->f.dropped;
    return s->f.data;
}

static int zinc_cons_done(void *st)
{
    struct zst *s = st;
    int r = zinc_consumer_release(s->c, &s->f);
    if (r < 0)
        zb_die(s->j, "zinc_consumer_release: %s", zinc_strerror(r));
    return 0;
}

static void zinc_cons_close(void *st)
{
    struct zst *s = st;
    zinc_consumer_close(s->c);
    free(s);
}

static void zinc_post_run(struct zb_job *j)
{
    zinc_ring_remove_stale(j->name); /* normally already gone: -2 */
}

const struct zb_transport zb_tx_zinc = {
    .name = "zinc", .spin_ok = 1, .sleep_ok = 1,
    .post_run = zinc_post_run,
    .prod_open = zinc_prod_open, .prod_get = zinc_prod_get,
    .prod_send = zinc_prod_send, .prod_close = zinc_prod_close,
    .cons_open = zinc_cons_open, .cons_recv = zinc_cons_recv,
    .cons_done = zinc_cons_done, .cons_close = zinc_cons_close,
};

/* ---- bare SPSC ring ---------------------------------------------------------
 * What a ring costs without any bookkeeping: page-aligned slots, a head the
 * producer writes, a tail the consumer writes, both spinning. No
 * descriptors, no seqlock, no wake-ups, no liveness. */

struct bare_hdr {
    struct zb_word head; /* producer: frames published */
    struct zb_word tail; /* consumer: frames released */
};

struct bst {
    struct zb_job *j;
    struct bare_hdr *h;
    uint8_t *slots;
    uint64_t stride, mask, pos, tail_cache;
};

static uint64_t page_round(uint64_t n)
{
    return (n + 4095u) & ~(uint64_t)4095u;
}

static int bare_pre_fork(struct zb_job *j)
{
    size_t len = 4096 + page_round(j->size) * j->slots;
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return -errno;
    j->shared = m;
    return 0;
}

static void bare_post_run(struct zb_job *j)
{
    munmap(j->shared, 4096 + page_round(j->size) * j->slots);
    j->shared = NULL;
}

static struct bst *bare_state(struct zb_job *j)
{
    struct bst *s = calloc(1, sizeof(*s));
    s->j = j;
    s->h = j->shared;
    s->slots = (uint8_t *)j->shared + 4096;
    s->stride = page_round(j->size);
    s->mask = j->slots - 1;
    return s;
}

static int bare_prod_open(struct zb_job *j, void **out)
{
    *out = bare_state(j);
    return 0;
}

static void *bare_prod_get(void *st, uint64_t size)
{
    struct bst *s = st;
    struct zb_spin sp;
    (void)size;
    zb_spin_begin(&sp);
    while (s->pos - s->tail_cache >= s->mask + 1) {
        /* Pairs with the consumer's release store of tail: its reads of
         * the slot happen before we overwrite it. */
        s->tail_cache = atomic_load_explicit(&s->h->tail.v, memory_order_acquire);
        if (s->pos - s->tail_cache >= s->mask + 1)
            zb_spin(s->j, &sp, "bare ring: waiting for a free slot");
    }
    return s->slots + (s->pos & s->mask) * s->stride;
}

static int bare_prod_send(void *st, void *buf, uint64_t size)
{
    struct bst *s = st;
    (void)buf;
    (void)size;
    /* Pairs with the consumer's acquire load of head: the payload is
     * visible before the new head. */
    atomic_store_explicit(&s->h->head.v, ++s->pos, memory_order_release);
    return 0;
}

static int bare_cons_open(struct zb_job *j, int idx, void **out)
{
    (void)idx;
    *out = bare_state(j);
    return 0;
}

static const void *bare_cons_recv(void *st, uint64_t *dropped)
{
    struct bst *s = st;
    struct zb_spin sp;
    *dropped = 0;
    zb_spin_begin(&sp);
    /* Pairs with the producer's release store of head. */
    while (atomic_load_explicit(&s->h->head.v, memory_order_acquire) == s->pos)
        zb_spin(s->j, &sp, "bare ring: waiting for a frame");
    return s->slots + (s->pos & s->mask) * s->stride;
}

static int bare_cons_done(void *st)
{
    struct bst *s = st;
    /* Pairs with the producer's acquire load of tail. */
    atomic_store_explicit(&s->h->tail.v, ++s->pos, memory_order_release);
    return 0;
}

static void bare_close(void *st)
{
    free(st);
}

const struct zb_transport zb_tx_bare = {
    .name = "bare", .spin_ok = 1, .sleep_ok = 0,
    .pre_fork = bare_pre_fork, .post_run = bare_post_run,
    .prod_open = bare_prod_open, .prod_get = bare_prod_get,
    .prod_send = bare_prod_send, .prod_close = bare_close,
    .cons_open = bare_cons_open, .cons_recv = bare_cons_recv,
    .cons_done = bare_cons_done, .cons_close = bare_close,
};

/* ---- pipe and AF_UNIX stream socket -----------------------------------------
 * The producer fills a private buffer and writes it; the consumer reads the
 * whole frame into its private buffer. fds[0] is the read end, fds[1] the
 * write end. */

struct fst {
    struct zb_job *j;
    int fd;
    uint8_t *buf;
};

static int pipe_pre_fork(struct zb_job *j)
{
    int p[2];
    if (pipe(p) < 0)
        return -errno;
    if (fcntl(p[1], F_SETPIPE_SZ, 1 << 20) < 0)
        return -errno;
    j->fds[0] = p[0];
    j->fds[1] = p[1];
    return 0;
}

static int unix_pre_fork(struct zb_job *j)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return -errno;
    int sz = 4 << 20;
    for (int i = 0; i < 2; i++) {
        /* SO_*BUFFORCE (root) gets past net.core.[rw]mem_max. */
        if (setsockopt(sv[i], SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0 &&
            setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) < 0)
            return -errno;
        if (setsockopt(sv[i], SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0 &&
            setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) < 0)
            return -errno;
    }
    j->fds[0] = sv[0];
    j->fds[1] = sv[1];
    return 0;
}

static void fd_post_run(struct zb_job *j)
{
    close(j->fds[0]);
    close(j->fds[1]);
}

static struct fst *fd_state(struct zb_job *j, int fd)
{
    struct fst *s = calloc(1, sizeof(*s));
    s->j = j;
    s->fd = fd;
    if (posix_memalign((void **)&s->buf, 4096, page_round(j->size)) != 0)
        zb_die(j, "out of memory");
    memset(s->buf, 0, j->size);
    return s;
}

static int fd_prod_open(struct zb_job *j, void **out)
{
    close(j->fds[0]);
    *out = fd_state(j, j->fds[1]);
    return 0;
}

static void *fd_prod_get(void *st, uint64_t size)
{
    (void)size;
    return ((struct fst *)st)->buf;
}

static int fd_prod_send(void *st, void *buf, uint64_t size)
{
    struct fst *s = st;
    const uint8_t *p = buf;
    while (size > 0) {
        ssize_t n = write(s->fd, p, size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            zb_die(s->j, "write: %s", strerror(errno));
        }
        p += n;
        size -= (uint64_t)n;
    }
    return 0;
}

static int fd_cons_open(struct zb_job *j, int idx, void **out)
{
    (void)idx;
    close(j->fds[1]);
    *out = fd_state(j, j->fds[0]);
    return 0;
}

static const void *fd_cons_recv(void *st, uint64_t *dropped)
{
    struct fst *s = st;
    uint64_t got = 0;
    *dropped = 0;
    while (got < s->j->size) {
        ssize_t n = read(s->fd, s->buf + got, s->j->size - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            zb_die(s->j, "read: %s", strerror(errno));
        }
        if (n == 0)
            zb_die(s->j, "read: unexpected end of stream");
        got += (uint64_t)n;
    }
    return s->buf;
}

static int fd_cons_done(void *st)
{
    (void)st;
    return 0;
}

static void fd_close(void *st)
{
    struct fst *s = st;
    close(s->fd);
    free(s->buf);
    free(s);
}

const struct zb_transport zb_tx_pipe = {
    .name = "pipe", .spin_ok = 0, .sleep_ok = 1,
    .pre_fork = pipe_pre_fork, .post_run = fd_post_run,
    .prod_open = fd_prod_open, .prod_get = fd_prod_get,
    .prod_send = fd_prod_send, .prod_close = fd_close,
    .cons_open = fd_cons_open, .cons_recv = fd_cons_recv,
    .cons_done = fd_cons_done, .cons_close = fd_close,
};

const struct zb_transport zb_tx_unix = {
    .name = "unix", .spin_ok = 0, .sleep_ok = 1,
    .pre_fork = unix_pre_fork, .post_run = fd_post_run,
    .prod_open = fd_prod_open, .prod_get = fd_prod_get,
    .prod_send = fd_prod_send, .prod_close = fd_close,
    .cons_open = fd_cons_open, .cons_recv = fd_cons_recv,
    .cons_done = fd_cons_done, .cons_close = fd_close,
};
