/* SPDX-License-Identifier: MIT */
/*
 * ring-anon.c — sealed anonymous rings: a frame ring in a memfd instead of
 * a name in /dev/shm, sealed after sizing so that no holder of it (the
 * producer included) can shrink or grow it, and the descriptors consumers
 * attach through: from the rendezvous socket (src/rendezvous.c) or from
 * the application. The ring inside is the same as a named ring's: same
 * region header, same layout, same creation path (zinc__producer_init).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "ring-internal.h"

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008u /* Linux 6.3: required where vm.memfd_noexec = 2 */
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

/* What makes a ring safe to map: nobody can shrink it (a mapped reader
 * past the end would take a SIGBUS), grow it, or change the seals. */
#define ANON_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

int zinc__anon_create(struct zinc_producer *p, const char *name, const zinc_ring_config *cfg,
                      struct zr_geom g, uint64_t total)
{
    struct zr_map *m = &p->m;
    m->obj[0] = '\0'; /* no name in /dev/shm: map_anonymous() */
    /* The memfd's own name only shows in /proc/<pid>/fd (249 bytes at most). */
    char label[249];
    snprintf(label, sizeof(label), "zinc:%s", name);
    int fd = memfd_create(label, MFD_ALLOW_SEALING | MFD_CLOEXEC | MFD_NOEXEC_SEAL);
    if (fd < 0 && errno == EINVAL) /* a kernel before 6.3 */
        fd = memfd_create(label, MFD_ALLOW_SEALING | MFD_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return zinc__fail(-e, "ring '%s': memfd_create: %s%s", name, strerror(e),
                          e == ENOSYS ? " (anonymous rings need Linux 3.17 or later)" : "");
    }
    m->fd = fd;
    struct stat st;
    int r;
    if (fstat(fd, &st) < 0) {
        r = zinc__fail(-errno, "ring '%s': fstat: %s", name, strerror(errno));
        goto fail;
    }
    m->dev = st.st_dev;
    m->ino = st.st_ino;
    /* Nobody else holds the memfd yet: the token is ours at once. It is
     * taken before anything else, as for a named ring. */
    r = zinc__token_take(fd, ZR_TOKEN_PRODUCER);
    if (r < 0) {
        r = zinc__fail(r, "ring '%s': cannot take the producer token: %s", name, strerror(-r));
        goto fail;
    }
    r = zinc__producer_init(p, name, cfg, g, total);
    if (r < 0)
        goto fail;
    /* Sized and reserved: seal it before anyone else can get a descriptor. */
    if (fcntl(fd, F_ADD_SEALS, ANON_SEALS) < 0) {
        r = zinc__fail(-errno, "ring '%s': sealing the memfd: %s", name, strerror(errno));
        goto fail;
    }
    return ZINC_OK;
fail:
    zinc__map_release(m);
    return r;
}

int zinc__anon_check(int fd, const char *label)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return zinc__fail(errno == EBADF ? ZINC_EINVAL : -errno, "ring '%s': fstat: %s", label,
                          strerror(errno));
    if (!S_ISREG(st.st_mode))
        return zinc__fail(ZINC_EBADMSG, "ring '%s': the descriptor is not a memory file "
                          "(mode 0%o)", label, (unsigned)st.st_mode);
    /* shmem only: a hugetlbfs memfd can take a SIGBUS when its pool runs
     * dry, a disk file when the disk does. */
    struct statfs sf;
    if (fstatfs(fd, &sf) < 0 || sf.f_type != TMPFS_MAGIC)
        return zinc__fail(ZINC_EBADMSG, "ring '%s': the descriptor is not a memfd on shared "
                          "memory", label);
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0 || (seals & ANON_SEALS) != ANON_SEALS)
        return zinc__fail(ZINC_EBADMSG, "ring '%s': the descriptor is not sealed against "
                          "shrinking, growing and new seals (seals 0x%x): a holder could "
                          "truncate it under our mapping; refused",
                          label, seals < 0 ? 0 : (unsigned)seals);
    if (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))
        return zinc__fail(ZINC_EBADMSG, "ring '%s': the descriptor is sealed against writing "
                          "(seals 0x%x): consumers cannot attach", label, (unsigned)seals);
    uint64_t min = (uint64_t)zinc__page_size() + sizeof(struct zr_ctl);
    if ((uint64_t)st.st_size < min)
        return zinc__fail(ZINC_EBADMSG, "ring '%s': %llu bytes is too small for a ring", label,
                          (unsigned long long)st.st_size);
    return ZINC_OK;
}

int zinc__anon_reopen(int fd, int oflags)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    int nfd = open(path, oflags | O_CLOEXEC);
    return nfd >= 0 ? nfd : -errno;
}

int zinc__anon_map(struct zr_map *m, int fd, const char *label, int prot)
{
    memset(m, 0, sizeof(*m));
    m->fd = -1;
    m->fork_gen = zinc__fork_gen_now();
    snprintf(m->name, sizeof(m->name), "%s", label); /* m->obj stays "": anonymous */
    int r = zinc__anon_check(fd, label);
    if (r < 0)
        return r;
    /* Liveness tokens are locks of an open file description: a consumer
     * needs one of its own, or it would share its locks with whoever else
     * holds that description. Without /proc, the caller's descriptor is
     * used (zinc_consumer_open_fd documents it). */
    int own = zinc__anon_reopen(fd, (prot & PROT_WRITE) ? O_RDWR : O_RDONLY);
    if (own < 0)
        own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own < 0)
        return zinc__fail(-errno, "ring '%s': cannot duplicate the descriptor: %s", label,
                          strerror(errno));
    m->fd = own;
    r = zinc__map_existing(m, prot);
    /* A sealed object never changes size: "still being created" or "its
     * creator died creating it" (an empty header) mean it was never a ring. */
    if (r == ZINC_EAGAIN || r == ZINC_EPIPE)
        r = zinc__fail(ZINC_EBADMSG, "ring '%s': the memfd holds no finished ring", label);
    return r;
}

ZINC_API int zinc_producer_fd(zinc_producer *p)
{
    zinc__clear_error();
    if (!p)
        return zinc__fail(ZINC_EINVAL, "producer_fd: NULL producer");
    if (!map_anonymous(&p->m))
        return zinc__fail(ZINC_EINVAL, "producer_fd: ring '%s' lives in /dev/shm; only an "
                          "anonymous ring (ZINC_RING_ANONYMOUS) is passed by descriptor",
                          p->m.name);
    if (map_forked(&p->m))
        return zinc__forked_fail("producer_fd");
    int fd = zinc__anon_reopen(p->m.fd, O_RDWR);
    if (fd < 0)
        return zinc__fail(fd, "producer_fd: ring '%s': reopening the memfd through "
                          "/proc/self/fd: %s (anonymous rings need /proc in the producer)",
                          p->m.name, strerror(-fd));
    return fd;
}

ZINC_API int zinc_consumer_open_fd(int fd, zinc_delivery mode, zinc_consumer **out)
{
    char label[32];
    snprintf(label, sizeof(label), "fd %d", fd);
    if (fd < 0) {
        if (out)
            *out = NULL;
        return zinc__fail(ZINC_EINVAL, "consumer_open_fd: bad descriptor %d", fd);
    }
    return zinc__consumer_attach(label, fd, mode, out);
}

ZINC_API int zinc_ring_stats_read_fd(int fd, zinc_ring_stats *rs, zinc_consumer_stats *cs,
                                     uint32_t cap, uint32_t *n_out)
{
    zinc__clear_error();
    if (n_out)
        *n_out = 0;
    if (!rs || fd < 0)
        return zinc__fail(ZINC_EINVAL, "ring_stats_read_fd: bad descriptor or rs is NULL");
    char label[32];
    snprintf(label, sizeof(label), "fd %d", fd);
    struct zr_map m;
    /* prot 0: validated with pread, never mapped (as zinc_ring_stats_read). */
    int r = zinc__anon_map(&m, fd, label, 0);
    if (r == 0)
        r = zinc__ring_stats_map(&m, rs, cs, cap, n_out);
    zinc__map_release(&m);
    return r;
}
