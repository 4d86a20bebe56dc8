/* SPDX-License-Identifier: MIT */
/*
 * ring-map.c — how a process holds rings: the process-wide, fork-aware
 * registry of mappings and of liveness-token descriptors, and opening and
 * mapping an existing ring (with the judgement of a ring still being
 * created, or abandoned by its creator).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "region.h"
#include "ring-internal.h"

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
_Atomic unsigned zinc__fork_gen;

static void map_child(void)
{
    atomic_fetch_add_explicit(&zinc__fork_gen, 1, memory_order_relaxed);
    for (size_t i = 0; i < tok_n; i++)
        close(tok_fds[i]);
    tok_n = 0;
    pthread_mutex_unlock(&map_lock);
}
static void map_init(void) { pthread_atfork(map_prefork, map_postfork, map_child); }

int zinc__forked_fail(const char *what)
{
    return zinc__fail(ZINC_EINVAL, "%s: handle used in a child forked after it was made "
                      "(handles are not inherited across fork: open one in the child)", what);
}

unsigned zinc__fork_gen_now(void)
{
    pthread_once(&map_once, map_init);
    return atomic_load_explicit(&zinc__fork_gen, memory_order_relaxed);
}

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

uint8_t *zinc__map_shared(int fd, dev_t dev, ino_t ino, size_t len, int *err)
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
    uint8_t *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, shareable ? mfd : fd, 0);
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

void zinc__map_unshare(uint8_t *base, size_t len)
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

void zinc__map_release(struct zr_map *m)
{
    if (m->base)
        zinc__map_unshare(m->base, m->len);
    if (m->registered && !map_forked(m))
        tok_unregister(m->fd);
    if (m->fd >= 0 && !(m->registered && map_forked(m)))
        close(m->fd); /* drops every token this handle held */
    m->base = NULL;
    m->fd = -1;
}

void zinc__map_register(struct zr_map *m)
{
    tok_register(m->fd);
    m->registered = true;
}

/* Other descriptors a forked child must not keep (a producer's listening
 * socket: a child's copy would keep accepting connections nobody answers
 * after the parent closed). */
void zinc__fork_close_add(int fd)
{
    tok_register(fd);
}

void zinc__fork_close_del(int fd)
{
    tok_unregister(fd);
}

int zinc__map_init(struct zr_map *m, const char *name)
{
    memset(m, 0, sizeof(*m));
    m->fd = -1;
    m->fork_gen = zinc__fork_gen_now();
    int r = zinc__obj_name(name, m->obj);
    if (r < 0)
        return r;
    snprintf(m->name, sizeof(m->name), "%s", name);
    return ZINC_OK;
}

int zinc__map_existing(struct zr_map *m, int prot)
{
    struct stat st;
    struct zinc_hdr copy;
    uint64_t page = (uint64_t)zinc__page_size();
    /* Everything is read with pread and validated before anything is
     * mapped: a peer truncating the object meanwhile yields a short read
     * and a code, never a SIGBUS. The size is read after the header (an
     * object only grows while it is being created, and its creator sizes it
     * before the magic), so a finished header comes with its final size. */
    int r = zinc__region_peek(m->fd, m->name, &copy, &st);
    if (r < 0)
        return r;
    m->dev = st.st_dev;
    m->ino = st.st_ino;
    m->uid = st.st_uid;
    uint64_t size = (uint64_t)st.st_size;
    if (size < sizeof(struct zinc_hdr) ||
        atomic_load_explicit(&copy.magic, memory_order_relaxed) == 0) {
        /* The creator takes the producer token right after shm_open, and
         * before it sizes the object, so the token tells a creation in
         * progress from a dead creator. Only an object that is still empty
         * may be in the gap between shm_open and the token: count it as
         * being created for 2 s. */
        int held = zinc__token_held(m->fd, ZR_TOKEN_PRODUCER);
        uint64_t mtime = (uint64_t)st.st_mtim.tv_sec * ZINC_NSEC + (uint64_t)st.st_mtim.tv_nsec;
        bool young = size < sizeof(struct zinc_hdr) &&
                     zinc__now_ns(CLOCK_REALTIME) < mtime + 2 * ZINC_NSEC;
        if (held > 0 || young)
            return zinc__fail_static(ZINC_EAGAIN, "ring is still being created: retry");
        return zinc__fail(ZINC_EPIPE, "ring '%s': its creator died before finishing it",
                          m->name);
    }
    uint64_t data_off;
    r = zinc__region_validate(&copy, size, &data_off, m->name);
    if (r < 0)
        return r;
    if (copy.version != ZINC_REGION_V2 || data_off != page)
        return zinc__fail(ZINC_EBADMSG, "'%s' is a version-%u region, not a frame ring",
                          m->name, (unsigned)copy.version);
    if (size > SIZE_MAX)
        return zinc__fail(ZINC_EBADMSG, "ring '%s': too large to map here", m->name);
    r = zinc__ring_validate(m, data_off, size - data_off);
    if (r < 0)
        return r;
    m->len = (size_t)size;
    if (!prot)
        return ZINC_OK; /* validated, not mapped (statistics, judges) */
    int err = 0;
    if (prot & PROT_WRITE) {
        m->base = zinc__map_shared(m->fd, st.st_dev, st.st_ino, m->len, &err);
    } else {
        m->base = mmap(NULL, m->len, prot, MAP_SHARED, m->fd, 0);
        err = errno;
        if (m->base == MAP_FAILED)
            m->base = NULL;
    }
    if (!m->base)
        return zinc__shm_errno(err, "ring (mmap)", m->name);
    /* Shrunk between our fstat and the mmap: every byte past the new end
     * would be a SIGBUS at first touch. (Shrinking it later, while we hold
     * it, is what a same-uid peer can still do: docs/reliability.md.) */
    r = zinc__shm_size_held(m->fd, size, m->name, "ring");
    if (r < 0)
        return r;
    m->hdr = (struct zinc_hdr *)m->base;
    zinc__ring_parts(m, data_off);
    return ZINC_OK;
}

int zinc__map_open(const char *name, struct zr_map *m, int prot, const char *what)
{
    int r = zinc__map_init(m, name);
    if (r < 0)
        return r;
    /* A mapping is only made of a trusted object; a read-only peek (prot 0:
     * pread only) may look at another user's, and reports it. */
    struct stat st;
    m->fd = zinc__shm_open_existing(m->obj, name, (prot & PROT_WRITE) ? O_RDWR : O_RDONLY, what,
                                    prot == 0, &st, &m->foreign);
    if (m->fd < 0) {
        r = m->fd;
        m->fd = -1;
        return r;
    }
    return zinc__map_existing(m, prot);
}

void zinc__map_advise_attach(struct zr_map *m)
{
#ifdef MADV_HUGEPAGE
    if (m->flags & ZINC_RING_HUGEPAGES)
        (void)madvise(m->base, m->len, MADV_HUGEPAGE); /* best effort, allocates nothing */
#endif
#ifdef MADV_POPULATE_READ
    /* A read fault on a hole of a tmpfs file allocates a page (charged to
     * us): populating a sparse ring would fill /dev/shm on a hostile
     * creator's say-so. So only an object whose every page is allocated
     * already is pre-faulted; at worst (a peer punching holes right after
     * this fstat) we put back pages it had itself a moment before, never
     * more than the object's size. */
    struct stat st;
    if ((m->flags & ZINC_RING_PREFAULT) && fstat(m->fd, &st) == 0 &&
        (uint64_t)st.st_blocks * 512u >= (uint64_t)st.st_size)
        (void)madvise(m->base, m->len, MADV_POPULATE_READ);
#endif
}
