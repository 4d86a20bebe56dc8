/* SPDX-License-Identifier: MIT */
/*
 * test-ring-anon.c — sealed anonymous rings and the socket rendezvous:
 * nothing in /dev/shm; the seals hold for every holder (shrink, grow, new
 * seals refused with EPERM; a punched hole zeroes but never raises a
 * SIGBUS); every mode over a path and an abstract socket; descriptors
 * passed by the application; unsealed or foreign descriptors and hostile
 * listeners refused without leaks or hangs; other uids refused on both
 * sides (root only); liveness as for a named ring; a forked child does not
 * keep serving; the registry; a consumer in a mount namespace with a
 * private /dev/shm (root only).
 *
 * Parties that must die alone are forked before any ring handle exists in
 * the forking process; they talk through pipes; watchdogs bound every wait.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <zinc/ring.h>
#include <zinc/zinc.h>

#include "ring-util.h"

#include "ring-suite.h"

#define WATCHDOG_MS 10000

/* Per test: an abstract address, a directory for path sockets, and a
 * private registry (ZINC_RUNTIME_DIR), all removed afterwards. */
static char g_abs[200], g_dir[128], g_path[192], g_reg[192];

static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static void anon_setup(void)
{
    ru_suite_setup();
    snprintf(g_abs, sizeof(g_abs), "@zinc-test/%s", g_name);
    snprintf(g_dir, sizeof(g_dir), "/tmp/zt-anon-%ld", (long)getpid());
    snprintf(g_path, sizeof(g_path), "%s/ring.sock", g_dir);
    snprintf(g_reg, sizeof(g_reg), "%s/reg", g_dir);
    mkdir(g_dir, 0700);
    setenv("ZINC_RUNTIME_DIR", g_reg, 1);
}

static void anon_teardown(void)
{
    rm_dir(g_reg);
    rm_dir(g_dir);
    ru_suite_teardown();
}

TestSuite(ring_anon, .init = anon_setup, .fini = anon_teardown, .timeout = 60);

static zinc_ring_config anon_cfg(uint32_t slots, uint64_t slot_size)
{
    zinc_ring_config c = ru_cfg(slots, slot_size);
    c.flags = ZINC_RING_ANONYMOUS;
    return c;
}

static zinc_producer *make_producer(uint32_t slots, uint64_t slot_size, const char *address)
{
    zinc_ring_config cfg = anon_cfg(slots, slot_size);
    zinc_producer *p = NULL;
    int r = zinc_producer_create(g_name, &cfg, &p);
    cr_assert_eq(r, 0, "create: %d %s", r, zinc_last_error());
    if (address) {
        r = zinc_producer_listen(p, address);
        cr_assert_eq(r, 0, "listen %s: %d %s", address, r, zinc_last_error());
    }
    return p;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* Statistics of the ring served on `address`, through the socket. */
static int stats_at(const char *address, zinc_ring_stats *rs, zinc_consumer_stats *cs,
                    uint32_t cap, uint32_t *n)
{
    int fd = zinc_ring_connect(address);
    if (fd < 0)
        return fd;
    int r = zinc_ring_stats_read_fd(fd, rs, cs, cap, n);
    close(fd);
    return r;
}

/* ---- children ------------------------------------------------------------- */

static void kid_evt(const struct ru_kid *k, const char *what)
{
    int r = ru_await(k->evt, WATCHDOG_MS);
    cr_assert_eq(r, 0, "child %d: no '%s' event (%d)", (int)k->pid, what, r);
}

static int kid_end(const struct ru_kid *k)
{
    int st = ru_reap(k->pid, WATCHDOG_MS);
    cr_assert(st != -110, "child %d did not finish within the watchdog", (int)k->pid);
    close(k->cmd);
    close(k->evt);
    return st;
}

struct cons_arg {
    const char *address; /* connect here, or */
    int fd;              /* open this descriptor (address NULL) */
    int sock;            /* or receive one on this socket (fd < 0, address NULL) */
    zinc_delivery mode;
    ru_result *res;
};

static int recv_fd(int sock)
{
    char b;
    struct iovec iov = {&b, 1};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                         .msg_controllen = sizeof(ctl.buf)};
    if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
        return -1;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    if (!cm || cm->cmsg_type != SCM_RIGHTS)
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof(int));
    return fd;
}

static int send_fds(int sock, const int *fds, int n, const void *data, size_t len)
{
    struct iovec iov = {(void *)data, len};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * 8)];
    } ctl;
    memset(&ctl, 0, sizeof(ctl));
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (n > 0) {
        msg.msg_control = ctl.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)n);
    }
    return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* Consumer: attach (connect / descriptor / descriptor received), report,
 * consume until the producer is gone. */
static void consumer_kid(int cmd, int evt, void *arg)
{
    struct cons_arg *a = arg;
    (void)cmd;
    zinc_consumer *c = NULL;
    int r;
    if (a->address) {
        r = zinc_consumer_connect(a->address, a->mode, &c);
    } else {
        int fd = a->fd >= 0 ? a->fd : recv_fd(a->sock);
        if (fd < 0)
            _exit(10);
        r = zinc_consumer_open_fd(fd, a->mode, &c);
        close(fd);
    }
    if (r != 0) {
        a->res->final_rc = r;
        _exit(11);
    }
    ru_signal(evt);
    ru_consume(c, a->mode, -1, false, UINT64_MAX, -1, a->res);
    zinc_consumer_close(c);
    _exit(0);
}

static void check_drained(const ru_result *x, zinc_delivery mode, uint64_t frames)
{
    cr_expect_eq(x->done, 1, "mode %d: did not finish (rc %d)", (int)mode, x->final_rc);
    cr_expect_eq(x->errors, 0, "mode %d: %s at %llu", (int)mode, ru_what(x->bad_what),
                 (unsigned long long)x->bad_seq);
    cr_expect_eq(x->final_rc, -32, "mode %d ended with %d", (int)mode, x->final_rc);
    cr_expect_eq(x->last_seq, frames, "mode %d ended at %llu", (int)mode,
                 (unsigned long long)x->last_seq);
    if (mode == ZINC_EVERY)
        cr_expect_eq(x->frames, frames);
}

/* Three consumers (EVERY, LOSSY, LATEST) in their own processes, attached
 * through `how`; the producer (here) publishes `frames` and closes. */
static void three_modes(const char *address, int how_fd)
{
    const uint64_t frames = 2000;
    ru_result *res = ru_shared(3 * sizeof(ru_result));
    cr_assert_not_null(res);
    int sp[3][2];
    struct ru_kid k[3];
    struct cons_arg a[3];
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp[i]), 0);
        a[i] = (struct cons_arg){how_fd ? NULL : address, -1, sp[i][1], (zinc_delivery)i,
                                 &res[i]};
    }
    zinc_producer *p = NULL;
    if (how_fd) {
        /* Forked before the ring exists: they get it only by descriptor. */
        for (int i = 0; i < 3; i++)
            k[i] = ru_spawn(consumer_kid, &a[i], 30);
        p = make_producer(8, 8192, NULL);
        for (int i = 0; i < 3; i++) {
            int fd = zinc_producer_fd(p);
            cr_assert_geq(fd, 0, "producer_fd: %d %s", fd, zinc_last_error());
            char b = 0;
            cr_assert_eq(send_fds(sp[i][0], &fd, 1, &b, 1), 0);
            close(fd);
        }
    } else {
        p = make_producer(8, 8192, address);
        for (int i = 0; i < 3; i++)
            k[i] = ru_spawn(consumer_kid, &a[i], 30);
    }
    for (int i = 0; i < 3; i++)
        kid_evt(&k[i], "attached");
    for (uint64_t i = 0; i < frames; i++) {
        int r = ru_produce(p, 64 + (i * 37) % 8000, false, false, 5 * 1000000000ll);
        cr_assert_eq(r, 0, "produce %llu: %d %s", (unsigned long long)i, r, zinc_last_error());
    }
    zinc_producer_close(p);
    for (int i = 0; i < 3; i++) {
        int st = kid_end(&k[i]);
        cr_expect(ru_exit_ok(st), "consumer %d: status %d (rc %d)", i, st, res[i].final_rc);
        check_drained(&res[i], (zinc_delivery)i, frames);
        close(sp[i][0]);
        close(sp[i][1]);
    }
}

/* ---- nothing in /dev/shm; the seals ------------------------------------------- */

Test(ring_anon, nothing_in_dev_shm)
{
    zinc_producer *p = make_producer(4, 4096, g_abs);
    cr_expect(!ru_exists(g_name), "an anonymous ring has no name in /dev/shm");
    zinc_region_info in;
    cr_expect_eq(zinc_inspect(g_name, &in), ZINC_ENOENT);
    cr_expect_eq(zinc_consumer_open(g_name, ZINC_LOSSY, &(zinc_consumer *){NULL}), ZINC_ENOENT);
    zinc_ring_stats rs;
    cr_assert_eq(stats_at(g_abs, &rs, NULL, 0, NULL), 0, "%s", zinc_last_error());
    cr_expect(rs.flags & ZINC_RING_ANONYMOUS);
    cr_expect_eq(rs.producer_alive, 1);
    cr_expect_eq(rs.ring_bytes, zinc_ring_size(&(zinc_ring_config){.slot_count = 4,
                                                                    .slot_size = 4096}));
    int fd = zinc_ring_connect(g_abs);
    cr_assert_geq(fd, 0);
    cr_expect_eq(zinc_inspect_fd(fd, &in), 0, "%s", zinc_last_error());
    cr_expect_eq(in.is_ring, 1);
    cr_expect_eq(in.owner_alive, 1);
    cr_expect_eq(in.name_hash, zinc_name_hash(g_name));
    close(fd);
    zinc_producer_close(p);
}

/* Every way to change the size or the seals, from one holder. */
static void expect_sealed(int fd, const char *who)
{
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    off_t size = st.st_size;
    int seals = fcntl(fd, F_GET_SEALS);
    cr_expect_eq(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
                 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL, "%s: seals 0x%x", who, seals);
    errno = 0;
    cr_expect_eq(ftruncate(fd, 0), -1, "%s: ftruncate to 0", who);
    cr_expect_eq(errno, EPERM, "%s: ftruncate to 0: errno %d", who, errno);
    errno = 0;
    cr_expect_eq(ftruncate(fd, (off_t)ru_page()), -1, "%s: ftruncate to the header", who);
    cr_expect_eq(errno, EPERM);
    errno = 0;
    cr_expect_eq(ftruncate(fd, size + (off_t)ru_page()), -1, "%s: ftruncate larger", who);
    cr_expect_eq(errno, EPERM);
    errno = 0;
    cr_expect_eq(fallocate(fd, 0, size, (off_t)ru_page()), -1, "%s: fallocate past the end",
                 who);
    cr_expect_eq(errno, EPERM);
    errno = 0;
    cr_expect_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), -1, "%s: a new seal", who);
    cr_expect_eq(errno, EPERM);
    cr_assert_eq(fstat(fd, &st), 0);
    cr_expect_eq(st.st_size, size, "%s: the size changed", who);
}

static void sealed_kid(int cmd, int evt, void *arg)
{
    (void)cmd;
    (void)arg;
    /* Another process, holding a descriptor served over the socket. */
    int fd = zinc_ring_connect(g_abs);
    if (fd < 0)
        _exit(10);
    struct stat st;
    fstat(fd, &st);
    bool ok = ftruncate(fd, 0) < 0 && errno == EPERM &&
              ftruncate(fd, st.st_size * 2) < 0 && errno == EPERM &&
              fallocate(fd, 0, st.st_size, 4096) < 0 && errno == EPERM &&
              fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) < 0 && errno == EPERM;
    ru_signal(evt);
    _exit(ok ? 0 : 12);
}

Test(ring_anon, truncation_impossible_for_every_holder)
{
    zinc_producer *p = make_producer(4, 4096, g_abs);
    int pfd = zinc_producer_fd(p);
    cr_assert_geq(pfd, 0, "%s", zinc_last_error());
    expect_sealed(pfd, "producer_fd");
    int cfd = zinc_ring_connect(g_abs);
    cr_assert_geq(cfd, 0, "%s", zinc_last_error());
    expect_sealed(cfd, "descriptor served over the socket");
    /* Reopened read-write through /proc: the seals are the inode's. */
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", cfd);
    int rfd = open(path, O_RDWR);
    cr_assert_geq(rfd, 0);
    expect_sealed(rfd, "reopened through /proc");
    struct ru_kid k = ru_spawn(sealed_kid, NULL, 30);
    kid_evt(&k, "tried");
    int st = kid_end(&k);
    cr_expect(ru_exit_ok(st), "another process could resize or reseal (status %d)", st);
    close(rfd);
    close(cfd);
    close(pfd);
    zinc_producer_close(p);
}

/* A hole punched in the memfd cannot be sealed against while writable
 * mappings exist (only F_SEAL_WRITE forbids it): it zeroes the range, the
 * size stays, and a mapped reader never takes a SIGBUS (the memfd has no
 * size limit to hit when it faults the page in again). */
static void punched_consumer_kid(int cmd, int evt, void *arg)
{
    (void)cmd;
    int *rc = arg;
    zinc_consumer *c = NULL;
    if (zinc_consumer_connect(g_abs, ZINC_LOSSY, &c) != 0)
        _exit(10);
    ru_signal(evt);
    zinc_frame f;
    int r;
    while ((r = zinc_consumer_acquire(c, &f, 5 * 1000000000ll)) == 0) {
        (void)*(volatile uint8_t *)f.data; /* touch the payload */
        zinc_consumer_release(c, &f);
    }
    *rc = r;
    zinc_consumer_close(c);
    _exit(0);
}

Test(ring_anon, punched_hole_zeroes_without_sigbus)
{
    int *rc = ru_shared(sizeof(int));
    zinc_producer *p = make_producer(4, 4096, g_abs);
    struct ru_kid k = ru_spawn(punched_consumer_kid, rc, 30);
    kid_evt(&k, "attached");
    for (int i = 0; i < 10; i++)
        cr_assert_eq(ru_produce(p, 100, false, false, -1), 0);
    int fd = zinc_producer_fd(p);
    cr_assert_geq(fd, 0);
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    cr_expect_eq(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, st.st_size), 0,
                 "punching a hole: %s", strerror(errno));
    struct stat st2;
    cr_assert_eq(fstat(fd, &st2), 0);
    cr_expect_eq(st2.st_size, st.st_size);
    /* The producer keeps writing into the zeroed pages. */
    for (int i = 0; i < 10; i++)
        cr_assert_eq(ru_produce(p, 100, false, false, -1), 0);
    int s = kid_end(&k);
    cr_expect(WIFEXITED(s), "the consumer was killed by signal %d", WIFSIGNALED(s) ? WTERMSIG(s)
                                                                                 : 0);
    cr_expect(ru_exit_ok(s));
    /* The zeroed control block reads as "not open": the producer is gone
     * for the consumer (-32), never a crash or a hang. */
    cr_expect(*rc == ZINC_EPIPE || *rc == ZINC_EBADMSG, "consumer ended with %d", *rc);
    close(fd);
    zinc_producer_close(p);
}

/* ---- delivery -------------------------------------------------------------------- */

Test(ring_anon, all_modes_over_abstract_socket)
{
    three_modes(g_abs, 0);
}

Test(ring_anon, all_modes_over_path_socket)
{
    three_modes(g_path, 0);
    struct stat st;
    cr_expect_neq(stat(g_path, &st), 0, "the socket file outlived the producer");
}

Test(ring_anon, all_modes_over_passed_descriptors)
{
    three_modes(NULL, 1);
}

Test(ring_anon, every_gates_and_stream_descriptor)
{
    zinc_producer *p = make_producer(2, 4096, g_abs);
    zinc_frame desc;
    memset(&desc, 0, sizeof(desc));
    desc.size = 4096;
    cr_assert_eq(zinc_frame_set_image(&desc, ZINC_FOURCC_GREY, 64, 64), 0);
    cr_assert_eq(zinc_producer_set_stream(p, &desc), 0);
    zinc_consumer *c = NULL;
    cr_assert_eq(zinc_consumer_connect(g_abs, ZINC_EVERY, &c), 0, "%s", zinc_last_error());
    zinc_frame s;
    cr_assert_eq(zinc_consumer_stream(c, &s), 0);
    cr_expect_eq(s.fourcc, ZINC_FOURCC_GREY);
    zinc_ring_config cfg;
    cr_assert_eq(zinc_consumer_config(c, &cfg), 0);
    cr_expect(cfg.flags & ZINC_RING_ANONYMOUS);
    cr_expect_eq(zinc_consumer_generation(c), zinc_producer_generation(p));
    /* Two slots, nothing read: the third claim waits for the EVERY consumer. */
    cr_assert_eq(ru_produce(p, 10, false, false, 0), 0);
    cr_assert_eq(ru_produce(p, 10, false, false, 0), 0);
    zinc_frame f;
    cr_expect_eq(zinc_producer_claim(p, &f, 0), ZINC_EAGAIN);
    zinc_frame g;
    cr_assert_eq(zinc_consumer_acquire(c, &g, 0), 0);
    cr_assert_eq(zinc_consumer_release(c, &g), 0);
    cr_expect_eq(ru_produce(p, 10, false, false, 0), 0, "the slot was released");
    zinc_consumer_close(c);
    zinc_producer_close(p);
}

/* ---- refused descriptors ------------------------------------------------------------ */

static int memfd_copy(int src, unsigned seals)
{
    struct stat st;
    cr_assert_eq(fstat(src, &st), 0);
    int fd = memfd_create("zt-copy", MFD_ALLOW_SEALING | MFD_CLOEXEC);
    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, st.st_size), 0);
    char buf[65536];
    for (off_t off = 0; off < st.st_size;) {
        ssize_t n = pread(src, buf, sizeof(buf), off);
        cr_assert_gt(n, 0);
        cr_assert_eq(pwrite(fd, buf, (size_t)n, off), n);
        off += n;
    }
    if (seals)
        cr_assert_eq(fcntl(fd, F_ADD_SEALS, seals), 0);
    return fd;
}

Test(ring_anon, unsealed_descriptors_refused)
{
    zinc_producer *p = make_producer(4, 4096, NULL);
    int pfd = zinc_producer_fd(p);
    cr_assert_geq(pfd, 0);
    zinc_consumer *c = NULL;
    /* The same bytes, a valid ring: refused without the seals, and for
     * exactly that reason (with them it attaches). */
    int copy = memfd_copy(pfd, 0);
    cr_expect_eq(zinc_consumer_open_fd(copy, ZINC_LOSSY, &c), ZINC_EBADMSG);
    cr_expect_null(c);
    cr_expect(strstr(zinc_last_error(), "not sealed"), "message: %s", zinc_last_error());
    zinc_ring_stats rs;
    cr_expect_eq(zinc_ring_stats_read_fd(copy, &rs, NULL, 0, NULL), ZINC_EBADMSG);
    close(copy);
    copy = memfd_copy(pfd, F_SEAL_SHRINK);
    cr_expect_eq(zinc_consumer_open_fd(copy, ZINC_LOSSY, &c), ZINC_EBADMSG, "shrink only");
    close(copy);
    copy = memfd_copy(pfd, F_SEAL_SHRINK | F_SEAL_GROW);
    cr_expect_eq(zinc_consumer_open_fd(copy, ZINC_LOSSY, &c), ZINC_EBADMSG, "no F_SEAL_SEAL");
    close(copy);
    copy = memfd_copy(pfd, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    cr_expect_eq(zinc_consumer_open_fd(copy, ZINC_LOSSY, &c), ZINC_EBADMSG, "write-sealed");
    close(copy);
    copy = memfd_copy(pfd, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
    cr_expect_eq(zinc_consumer_open_fd(copy, ZINC_LOSSY, &c), 0, "sealed copy: %s",
                 zinc_last_error());
    zinc_consumer_close(c);
    c = NULL;
    close(copy);
    /* A sealed memfd of zeros: no ring, refused at once (not "retry"). */
    int zero = memfd_create("zt-zero", MFD_ALLOW_SEALING | MFD_CLOEXEC);
    cr_assert_eq(ftruncate(zero, 1 << 20), 0);
    cr_assert_eq(fcntl(zero, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), 0);
    cr_expect_eq(zinc_consumer_open_fd(zero, ZINC_LOSSY, &c), ZINC_EBADMSG);
    close(zero);
    /* A ring in /dev/shm by descriptor: not sealed. */
    zinc_ring_config ncfg = ru_cfg(4, 4096);
    zinc_producer *np = NULL;
    cr_assert_eq(zinc_producer_create(g_name, &ncfg, &np), 0);
    char shm[512];
    ru_shm_path(shm, sizeof(shm), g_name);
    int sfd = open(shm, O_RDWR | O_CLOEXEC);
    cr_assert_geq(sfd, 0);
    cr_expect_eq(zinc_consumer_open_fd(sfd, ZINC_LOSSY, &c), ZINC_EBADMSG);
    close(sfd);
    zinc_producer_close(np);
    /* Not a file, not a descriptor. */
    int pp[2];
    cr_assert_eq(pipe(pp), 0);
    cr_expect_eq(zinc_consumer_open_fd(pp[0], ZINC_LOSSY, &c), ZINC_EBADMSG);
    close(pp[0]);
    close(pp[1]);
    cr_expect_eq(zinc_consumer_open_fd(-1, ZINC_LOSSY, &c), ZINC_EINVAL);
    cr_expect_eq(zinc_consumer_open_fd(1000, ZINC_LOSSY, &c), ZINC_EINVAL, "closed fd");
    cr_expect_eq(zinc_consumer_open_fd(pfd, (zinc_delivery)7, &c), ZINC_EINVAL);
    cr_expect_eq(zinc_consumer_open_fd(pfd, ZINC_LOSSY, NULL), ZINC_EINVAL);
    close(pfd);
    zinc_producer_close(p);
}

/* ---- hostile listeners ---------------------------------------------------------------- */

enum fake { F_UNSEALED, F_THREE_FDS, F_GARBAGE, F_SILENT, F_HANGUP, F_REFUSE, F_NO_FD };

struct fake_arg {
    enum fake what;
    int lsock;
    int good_fd; /* a sealed ring's descriptor, for the answers that need one */
};

/* The answer a zinc listener sends (docs/rendezvous.md), built by hand. */
struct answer {
    uint64_t magic;
    uint32_t version;
    int32_t status;
    uint64_t generation;
    uint64_t size;
    char name[256];
};

static void *fake_listener(void *arg)
{
    struct fake_arg *a = arg;
    int c = accept4(a->lsock, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return NULL;
    struct answer ans;
    memset(&ans, 0, sizeof(ans));
    ans.magic = 0x315644524E49435Aull;
    ans.version = 1;
    int fds[3] = {a->good_fd, a->good_fd, a->good_fd};
    switch (a->what) {
    case F_UNSEALED: {
        int m = memfd_create("zt-fake", MFD_CLOEXEC);
        (void)ftruncate(m, 1 << 20);
        send_fds(c, &m, 1, &ans, sizeof(ans));
        close(m);
        break;
    }
    case F_THREE_FDS:
        send_fds(c, fds, 3, &ans, sizeof(ans));
        break;
    case F_GARBAGE:
        send_fds(c, fds, 1, "hello", 5);
        break;
    case F_SILENT: {
        char b;
        (void)read(c, &b, 1); /* until the client gives up */
        break;
    }
    case F_HANGUP:
        break;
    case F_REFUSE:
        ans.status = ZINC_EPERM;
        send_fds(c, NULL, 0, &ans, sizeof(ans));
        break;
    case F_NO_FD:
        send_fds(c, NULL, 0, &ans, sizeof(ans));
        break;
    }
    close(c);
    return NULL;
}

static int fake_listen(const char *abs_name)
{
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    cr_assert_geq(s, 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    size_t n = strlen(abs_name + 1);
    memcpy(sa.sun_path + 1, abs_name + 1, n);
    cr_assert_eq(bind(s, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un,
                                                                     sun_path) + 1 + n)), 0);
    cr_assert_eq(listen(s, 4), 0);
    return s;
}

Test(ring_anon, hostile_listeners_refused_without_leaks, .timeout = 60)
{
    zinc_producer *p = make_producer(4, 4096, NULL);
    int good = zinc_producer_fd(p);
    cr_assert_geq(good, 0);
    static const struct {
        enum fake what;
        int rc;
        const char *why;
    } cases[] = {
        {F_UNSEALED, ZINC_EBADMSG, "an unsealed memfd"},
        {F_THREE_FDS, ZINC_EBADMSG, "three descriptors"},
        {F_GARBAGE, ZINC_EBADMSG, "a short garbage message"},
        {F_SILENT, ZINC_ETIMEDOUT, "no answer (bounded wait)"},
        {F_HANGUP, ZINC_ENOENT, "a hang-up without an answer"},
        {F_REFUSE, ZINC_EPERM, "a refusal"},
        {F_NO_FD, ZINC_EBADMSG, "an answer without a descriptor"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char addr[240];
        snprintf(addr, sizeof(addr), "%s-fake%zu", g_abs, i);
        struct fake_arg fa = {cases[i].what, fake_listen(addr), good};
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, fake_listener, &fa), 0);
        int before = count_fds();
        zinc_consumer *c = NULL;
        int r = zinc_consumer_connect(addr, ZINC_LOSSY, &c);
        cr_expect_eq(r, cases[i].rc, "%s: %d (%s)", cases[i].why, r, zinc_last_error());
        cr_expect_null(c);
        pthread_join(t, NULL); /* the fake closed what it made */
        int after = count_fds();
        cr_expect_eq(after, before, "%s: %d descriptors leaked", cases[i].why, after - before);
        close(fa.lsock);
    }
    /* A socket of another type at a path (abstract names of another type
     * are simply not found: -2). */
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    cr_assert_lt(strlen(g_path), sizeof(sa.sun_path));
    memcpy(sa.sun_path, g_path, strlen(g_path) + 1);
    cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cr_assert_eq(listen(s, 4), 0);
    zinc_consumer *c = NULL;
    cr_expect_eq(zinc_consumer_connect(g_path, ZINC_LOSSY, &c), ZINC_EBADMSG, "%s",
                 zinc_last_error());
    /* ... and a producer does not replace it: it is alive. */
    cr_expect_eq(zinc_producer_listen(p, g_path), ZINC_EEXIST, "%s", zinc_last_error());
    close(s);
    close(good);
    zinc_producer_close(p);
}

/* ---- other users (root) ------------------------------------------------------------------ */

#define NOBODY 65534

static void foreign_producer_kid(int cmd, int evt, void *arg)
{
    (void)arg;
    if (setresgid(NOBODY, NOBODY, NOBODY) != 0 || setresuid(NOBODY, NOBODY, NOBODY) != 0)
        _exit(10);
    zinc_ring_config cfg = anon_cfg(4, 4096);
    zinc_producer *p = NULL;
    char addr[240];
    snprintf(addr, sizeof(addr), "%s-foreign", g_abs);
    if (zinc_producer_create("foreign", &cfg, &p) != 0 || zinc_producer_listen(p, addr) != 0)
        _exit(11);
    ru_signal(evt);
    ru_await(cmd, 20000);
    zinc_producer_close(p);
    _exit(0);
}

/* Connect without the library (whose own check would refuse a root
 * producer first): what does the producer answer? The status, and how
 * many descriptors came with it in rc[1]; -errno if connect fails. */
static int raw_fetch(const char *address, int *nfds)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    socklen_t len;
    if (address[0] == '@') {
        memcpy(sa.sun_path + 1, address + 1, strlen(address) - 1);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(address));
    } else {
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", address);
        len = (socklen_t)sizeof(sa);
    }
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (connect(s, (struct sockaddr *)&sa, len) < 0) {
        int e = errno;
        close(s);
        return -e;
    }
    struct answer ans;
    memset(&ans, 0, sizeof(ans));
    struct iovec iov = {&ans, sizeof(ans)};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * 4)];
    } ctl;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                         .msg_controllen = sizeof(ctl.buf)};
    ssize_t n = recvmsg(s, &msg, MSG_CMSG_CLOEXEC);
    *nfds = 0;
    for (struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL; cm; cm = CMSG_NXTHDR(&msg, cm))
        if (cm->cmsg_type == SCM_RIGHTS)
            *nfds += (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    close(s);
    return n == (ssize_t)sizeof(ans) ? ans.status : -EBADMSG;
}

static void foreign_consumer_kid(int cmd, int evt, void *arg)
{
    int *rc = arg;
    (void)cmd;
    if (setresgid(NOBODY, NOBODY, NOBODY) != 0 || setresuid(NOBODY, NOBODY, NOBODY) != 0)
        _exit(10);
    zinc_consumer *c = NULL;
    rc[0] = zinc_consumer_connect(g_abs, ZINC_LOSSY, &c);
    rc[1] = raw_fetch(g_abs, &rc[2]);
    rc[3] = raw_fetch(g_path, &rc[4]);
    rc[5] = zinc_consumer_connect(g_path, ZINC_LOSSY, &c);
    ru_signal(evt);
    _exit(0);
}

Test(ring_anon, other_uid_refused_both_ways)
{
    if (geteuid() != 0)
        cr_skip_test("needs root (a second uid through setresuid)");
    /* A producer of another user: the consumer refuses it. */
    struct ru_kid k = ru_spawn(foreign_producer_kid, NULL, 30);
    kid_evt(&k, "listening");
    char addr[240];
    snprintf(addr, sizeof(addr), "%s-foreign", g_abs);
    zinc_consumer *c = NULL;
    int r = zinc_consumer_connect(addr, ZINC_LOSSY, &c);
    cr_expect_eq(r, ZINC_EPERM, "connect to another user's producer: %d (%s)", r,
                 zinc_last_error());
    char want[64];
    snprintf(want, sizeof(want), "uid %d", NOBODY);
    cr_expect(strstr(zinc_last_error(), want) && strstr(zinc_last_error(), "uid 0"),
              "the message names both uids: %s", zinc_last_error());
    cr_expect_null(c);
    cr_expect_eq(zinc_ring_connect(addr), ZINC_EPERM);
    ru_signal(k.cmd);
    cr_expect(ru_exit_ok(kid_end(&k)));

    /* Another user connecting to our producer: the producer refuses (the
     * abstract socket has no file mode), the path socket is 0600. */
    zinc_producer *p = make_producer(4, 4096, g_abs);
    zinc_producer *p2 = NULL;
    zinc_ring_config cfg = anon_cfg(4, 4096);
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p2), 0);
    cr_assert_eq(zinc_producer_listen(p2, g_path), 0, "%s", zinc_last_error());
    /* Searchable, so that only the socket's own mode keeps them out. */
    cr_assert_eq(chmod(g_dir, 0711), 0);
    struct stat sst;
    cr_assert_eq(stat(g_path, &sst), 0);
    cr_expect_eq(sst.st_mode & 0777, 0600, "socket mode 0%o", sst.st_mode & 0777);
    int *rc = ru_shared(6 * sizeof(int));
    k = ru_spawn(foreign_consumer_kid, rc, 30);
    kid_evt(&k, "tried");
    cr_expect(ru_exit_ok(kid_end(&k)));
    cr_expect_eq(rc[0], ZINC_EPERM, "foreign consumer over the abstract socket: %d", rc[0]);
    cr_expect_eq(rc[1], ZINC_EPERM, "the producer's answer to another uid: %d", rc[1]);
    cr_expect_eq(rc[2], 0, "the producer sent %d descriptors to another uid", rc[2]);
    cr_expect_eq(rc[3], -EACCES, "connect to the 0600 path as another uid: %d", rc[3]);
    cr_expect_eq(rc[5], ZINC_EPERM, "foreign consumer over the 0600 path: %d", rc[5]);
    zinc_ring_stats rs;
    cr_assert_eq(stats_at(g_abs, &rs, NULL, 0, NULL), 0);
    cr_expect_eq(rs.consumers, 0);
    zinc_producer_close(p2);
    zinc_producer_close(p);
}

/* ---- liveness, as for a named ring ------------------------------------------------------ */

struct prod_arg {
    const char *address;
    uint64_t frames;
};

/* Producer: create + listen, report, publish on command, report, wait to
 * be killed (or closed on a second command). */
static void producer_kid(int cmd, int evt, void *arg)
{
    struct prod_arg *a = arg;
    zinc_ring_config cfg = anon_cfg(8, 4096);
    zinc_producer *p = NULL;
    if (zinc_producer_create(g_name, &cfg, &p) != 0 || zinc_producer_listen(p, a->address) != 0)
        _exit(11);
    ru_signal(evt);
    if (ru_await(cmd, 20000) != 0)
        _exit(12);
    for (uint64_t i = 0; i < a->frames; i++)
        if (ru_produce(p, 100 + i, false, false, 5 * 1000000000ll) != 0)
            _exit(13);
    ru_signal(evt);
    if (ru_await(cmd, -1) == 0)
        zinc_producer_close(p);
    _exit(0);
}

Test(ring_anon, producer_sigkill_seen_by_consumers_and_replaced)
{
    ru_result *res = ru_shared(3 * sizeof(ru_result));
    struct cons_arg ca[3];
    struct prod_arg pa = {g_path, 5};
    struct ru_kid pk = ru_spawn(producer_kid, &pa, 30);
    kid_evt(&pk, "listening");
    struct ru_kid k[3];
    for (int i = 0; i < 3; i++) {
        ca[i] = (struct cons_arg){g_path, -1, -1, (zinc_delivery)i, &res[i]};
        k[i] = ru_spawn(consumer_kid, &ca[i], 30);
        kid_evt(&k[i], "attached");
    }
    zinc_ring_stats rs;
    zinc_consumer_stats cs[4];
    uint32_t n = 0;
    int watch = zinc_ring_connect(g_path); /* outlives the producer */
    cr_assert_geq(watch, 0);
    cr_assert_eq(zinc_ring_stats_read_fd(watch, &rs, cs, 4, &n), 0);
    cr_expect_eq(rs.producer_alive, 1);
    cr_expect_eq(n, 3);
    for (uint32_t i = 0; i < n; i++)
        cr_expect_eq(cs[i].alive, 1);
    ru_signal(pk.cmd);
    kid_evt(&pk, "published");
    kill(pk.pid, SIGKILL);
    kid_end(&pk);
    /* Every consumer drains, then gets -32 (the producer token is free). */
    for (int i = 0; i < 3; i++) {
        int st = kid_end(&k[i]);
        cr_expect(ru_exit_ok(st), "consumer %d: status %d", i, st);
        check_drained(&res[i], (zinc_delivery)i, 5);
    }
    cr_assert_eq(zinc_ring_stats_read_fd(watch, &rs, cs, 4, &n), 0);
    cr_expect_eq(rs.producer_alive, 0);
    cr_expect_eq(rs.producer_state, ZINC_PRODUCER_OPEN, "killed, not closed");
    close(watch);
    /* The dead producer's socket file is left; nobody listens on it. */
    struct stat st;
    cr_expect_eq(stat(g_path, &st), 0);
    zinc_consumer *c = NULL;
    cr_expect_eq(zinc_consumer_connect(g_path, ZINC_LOSSY, &c), ZINC_ENOENT);
    /* A replacement takes the path at once; a second live one is -17. */
    zinc_producer *p = make_producer(4, 4096, g_path);
    zinc_producer *p2 = NULL;
    zinc_ring_config cfg = anon_cfg(4, 4096);
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p2), 0);
    cr_expect_eq(zinc_producer_listen(p2, g_path), ZINC_EEXIST, "%s", zinc_last_error());
    cr_assert_eq(zinc_consumer_connect(g_path, ZINC_LOSSY, &c), 0);
    cr_expect_eq(zinc_consumer_generation(c), zinc_producer_generation(p));
    zinc_consumer_close(c);
    zinc_producer_close(p2);
    zinc_producer_close(p);
}

static void holder_kid(int cmd, int evt, void *arg)
{
    (void)arg;
    if (ru_await(cmd, 20000) != 0) /* the producer listens */
        _exit(10);
    zinc_consumer *c = NULL;
    if (zinc_consumer_connect(g_abs, ZINC_EVERY, &c) != 0)
        _exit(11);
    ru_signal(evt);
    zinc_frame f;
    if (zinc_consumer_acquire(c, &f, -1) != 0)
        _exit(12);
    ru_signal(evt); /* holding */
    ru_await(cmd, -1);
    _exit(0);
}

Test(ring_anon, dead_every_consumer_evicted)
{
    struct ru_kid k = ru_spawn(holder_kid, NULL, 30);
    zinc_producer *p = make_producer(2, 256, g_abs);
    ru_signal(k.cmd);
    kid_evt(&k, "attached");
    cr_assert_eq(ru_produce(p, 10, false, false, -1), 0);
    kid_evt(&k, "holding");
    cr_assert_eq(ru_produce(p, 10, false, false, -1), 0);
    zinc_frame f;
    cr_expect_eq(zinc_producer_claim(p, &f, 0), ZINC_EAGAIN, "the holder gates frame 3");
    kill(k.pid, SIGKILL);
    kid_end(&k);
    /* Within the liveness period: not a timeout. */
    int r = zinc_producer_claim(p, &f, 5 * 1000000000ll);
    cr_expect_eq(r, 0, "claim after the EVERY consumer died: %d", r);
    if (r == 0)
        zinc_producer_abort(p, &f);
    zinc_ring_stats rs;
    cr_assert_eq(stats_at(g_abs, &rs, NULL, 0, NULL), 0);
    cr_expect_eq(rs.evicted, 1);
    zinc_producer_close(p);
}

Test(ring_anon, producer_close_ends_consumers_and_the_socket)
{
    zinc_producer *p = make_producer(4, 4096, g_abs);
    zinc_consumer *c = NULL;
    cr_assert_eq(zinc_consumer_connect(g_abs, ZINC_LATEST, &c), 0);
    cr_assert_eq(ru_produce(p, 10, false, false, -1), 0);
    zinc_producer_close(p);
    zinc_frame f;
    cr_expect_eq(zinc_consumer_acquire(c, &f, 0), 0, "drains first");
    zinc_consumer_release(c, &f);
    cr_expect_eq(zinc_consumer_acquire(c, &f, -1), ZINC_EPIPE);
    zinc_consumer_close(c);
    zinc_consumer *c2 = NULL;
    cr_expect_eq(zinc_consumer_connect(g_abs, ZINC_LATEST, &c2), ZINC_ENOENT);
    cr_expect_eq(zinc_ring_connect(g_abs), ZINC_ENOENT);
}

/* A forked child holds copies of the producer's descriptors: it must keep
 * neither the token nor the listening socket (a connect would then wait
 * for an answer nobody sends). */
static void idle_kid(int cmd, int evt, void *arg)
{
    (void)arg;
    ru_signal(evt);
    ru_await(cmd, 20000);
    _exit(0);
}

Test(ring_anon, forked_child_does_not_serve_or_keep_alive)
{
    zinc_producer *p = make_producer(4, 4096, g_abs);
    zinc_consumer *c = NULL;
    cr_assert_eq(zinc_consumer_connect(g_abs, ZINC_LATEST, &c), 0);
    struct ru_kid k = ru_spawn(idle_kid, NULL, 30);
    kid_evt(&k, "forked");
    int watch = zinc_ring_connect(g_abs);
    cr_assert_geq(watch, 0);
    zinc_producer_close(p);
    zinc_frame f;
    cr_expect_eq(zinc_consumer_acquire(c, &f, 2 * 1000000000ll), ZINC_EPIPE);
    zinc_ring_stats rs;
    cr_assert_eq(zinc_ring_stats_read_fd(watch, &rs, NULL, 0, NULL), 0);
    cr_expect_eq(rs.producer_alive, 0, "the child kept the producer token");
    cr_expect_eq(zinc_ring_connect(g_abs), ZINC_ENOENT, "the child kept the socket");
    close(watch);
    zinc_consumer_close(c);
    ru_signal(k.cmd);
    cr_expect(ru_exit_ok(kid_end(&k)));
}

/* ---- listen's rules; the registry ---------------------------------------------------------- */

Test(ring_anon, listen_rules)
{
    zinc_ring_config ncfg = ru_cfg(4, 4096);
    zinc_producer *np = NULL;
    cr_assert_eq(zinc_producer_create(g_name, &ncfg, &np), 0);
    cr_expect_eq(zinc_producer_listen(np, g_abs), ZINC_EINVAL, "a named ring");
    cr_expect_eq(zinc_producer_fd(np), ZINC_EINVAL, "a named ring");
    zinc_producer_close(np);
    zinc_producer *p = make_producer(4, 4096, NULL);
    cr_expect_eq(zinc_producer_listen(NULL, g_abs), ZINC_EINVAL);
    cr_expect_eq(zinc_producer_listen(p, NULL), ZINC_EINVAL);
    cr_expect_eq(zinc_producer_listen(p, ""), ZINC_EINVAL);
    cr_expect_eq(zinc_producer_listen(p, "@"), ZINC_EINVAL);
    char longp[200];
    memset(longp, 'x', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = '\0';
    cr_expect_eq(zinc_producer_listen(p, longp), ZINC_EINVAL);
    cr_expect_eq(zinc_producer_listen(p, "/nonexistent-dir-zinc/x.sock"), ZINC_ENOENT);
    char file[256];
    snprintf(file, sizeof(file), "%s/plain", g_dir);
    int fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_expect_eq(zinc_producer_listen(p, file), ZINC_EEXIST, "a regular file is kept");
    struct stat st;
    cr_expect(stat(file, &st) == 0 && S_ISREG(st.st_mode));
    cr_assert_eq(zinc_producer_listen(p, g_abs), 0, "%s", zinc_last_error());
    cr_expect_eq(zinc_producer_listen(p, g_path), ZINC_EINVAL, "already listening");
    zinc_producer *p2 = make_producer(4, 4096, NULL);
    cr_expect_eq(zinc_producer_listen(p2, g_abs), ZINC_EEXIST, "the abstract name is taken");
    zinc_producer_close(p2);
    zinc_consumer *c = NULL;
    cr_expect_eq(zinc_consumer_connect(NULL, ZINC_LOSSY, &c), ZINC_EINVAL);
    cr_expect_eq(zinc_consumer_connect(g_abs, (zinc_delivery)9, &c), ZINC_EINVAL);
    cr_expect_eq(zinc_consumer_connect(g_abs, ZINC_LOSSY, NULL), ZINC_EINVAL);
    cr_expect_eq(zinc_consumer_connect(file, ZINC_LOSSY, &c), ZINC_ENOENT, "not a socket");
    zinc_producer_close(p);
}

static int registry_entries(char targets[][256], int max)
{
    char dir[256];
    cr_assert_eq(zinc_socket_registry(dir, sizeof(dir)), 0);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < max) {
        if (de->d_name[0] == '.')
            continue;
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        ssize_t k = readlink(p, targets[n], 255);
        if (k < 0)
            continue;
        targets[n][k] = '\0';
        n++;
    }
    closedir(d);
    return n;
}

Test(ring_anon, registry_lists_listeners)
{
    char dir[256];
    cr_assert_eq(zinc_socket_registry(dir, sizeof(dir)), 0);
    cr_expect_str_eq(dir, g_reg);
    cr_expect_eq(zinc_socket_registry(dir, 4), ZINC_EINVAL);
    char t[8][256];
    cr_expect_eq(registry_entries(t, 8), 0);
    zinc_producer *a = make_producer(4, 4096, g_abs);
    /* A relative path is registered as an absolute one. */
    char cwd[256];
    cr_assert_neq(getcwd(cwd, sizeof(cwd)), NULL);
    cr_assert_eq(chdir(g_dir), 0);
    zinc_producer *b = make_producer(4, 4096, "rel.sock");
    cr_assert_eq(chdir(cwd), 0);
    int n = registry_entries(t, 8);
    cr_expect_eq(n, 2);
    char abs_rel[256];
    snprintf(abs_rel, sizeof(abs_rel), "%s/rel.sock", g_dir);
    bool seen_a = false, seen_b = false;
    for (int i = 0; i < n; i++) {
        seen_a |= strcmp(t[i], g_abs) == 0;
        seen_b |= strcmp(t[i], abs_rel) == 0;
    }
    cr_expect(seen_a && seen_b, "registry: %s, %s", n > 0 ? t[0] : "-", n > 1 ? t[1] : "-");
    struct stat st;
    cr_assert_eq(stat(g_reg, &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0700);
    /* Every entry leads to its ring. */
    for (int i = 0; i < n; i++) {
        int fd = zinc_ring_connect(t[i]);
        cr_expect_geq(fd, 0, "%s: %s", t[i], zinc_last_error());
        if (fd >= 0)
            close(fd);
    }
    zinc_producer_close(a);
    zinc_producer_close(b);
    cr_expect_eq(registry_entries(t, 8), 0, "close removes the entries");
}

/* ---- a consumer in a mount namespace with a private /dev/shm (root) ------------------------ */

static void ns_consumer_kid(int cmd, int evt, void *arg)
{
    struct cons_arg *a = arg;
    /* unshare -m; a /dev/shm of our own: the producer's is out of reach. */
    if (unshare(CLONE_NEWNS) != 0) {
        a->res->final_rc = -errno;
        _exit(20);
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=1777") != 0) {
        a->res->final_rc = -errno;
        _exit(21);
    }
    char marker[200];
    snprintf(marker, sizeof(marker), "%s-marker", g_name);
    zinc_region_info in;
    if (zinc_inspect(marker, &in) != ZINC_ENOENT) /* the parent's, in its /dev/shm */
        _exit(22);
    ru_signal(evt); /* isolated */
    if (ru_await(cmd, 20000) != 0) /* the producer listens */
        _exit(24);
    zinc_consumer *c = NULL;
    int r = zinc_consumer_connect(a->address, a->mode, &c);
    if (r != 0) {
        a->res->final_rc = r;
        _exit(23);
    }
    ru_signal(evt);
    ru_consume(c, a->mode, -1, false, UINT64_MAX, -1, a->res);
    zinc_consumer_close(c);
    _exit(0);
}

Test(ring_anon, consumer_with_private_dev_shm)
{
    if (geteuid() != 0)
        cr_skip_test("needs root (unshare -m and a tmpfs on /dev/shm)");
    /* A marker in our /dev/shm, which the consumer must not see. */
    char mname[200];
    snprintf(mname, sizeof(mname), "%s-marker", g_name);
    ZincHandle marker = NULL;
    zinc_unlink(mname);
    cr_assert_eq(zinc_create(mname, (uintptr_t)ru_page(), &marker), 0);
    cr_assert(ru_exists(mname));
    ru_result *res = ru_shared(sizeof(ru_result));
    struct cons_arg a = {g_path, -1, -1, ZINC_EVERY, res};
    struct ru_kid k = ru_spawn(ns_consumer_kid, &a, 30);
    int r = ru_await(k.evt, WATCHDOG_MS);
    if (r != 0) {
        int st = kid_end(&k);
        zinc_close(marker);
        zinc_unlink(mname);
        if (WIFEXITED(st) && (WEXITSTATUS(st) == 20 || WEXITSTATUS(st) == 21))
            cr_skip_test("cannot make a mount namespace here (%s)", strerror(-res->final_rc));
        cr_assert_fail("namespace child failed: status %d", st);
    }
    zinc_producer *p = make_producer(4, 4096, g_path);
    ru_signal(k.cmd);
    kid_evt(&k, "attached");
    for (int i = 0; i < 100; i++)
        cr_assert_eq(ru_produce(p, 64 + i, false, false, 5 * 1000000000ll), 0);
    zinc_producer_close(p);
    int st = kid_end(&k);
    cr_expect(ru_exit_ok(st), "consumer: status %d rc %d", st, res->final_rc);
    check_drained(res, ZINC_EVERY, 100);
    zinc_close(marker);
    zinc_unlink(mname);
}

/* A producer checks every 50 ms (of publish's clock, or every 64 frames
 * without timestamps) that its ring is still the one consumers find: for a
 * named ring by its name; an anonymous ring has none, and must not be
 * taken for lost because of that. Publish for well past several periods. */
Test(ring_anon, producer_check_keeps_an_anonymous_ring)
{
    for (int ts = 0; ts < 2; ts++) {
        zinc_ring_config cfg = anon_cfg(4, 64);
        if (!ts)
            cfg.flags |= ZINC_RING_NO_TIMESTAMPS;
        zinc_producer *p;
        cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0, "%s", zinc_last_error());
        uint64_t t0 = ru_now_ns(), frames = 0;
        while (ru_now_ns() - t0 < 200000000ull || frames < 1000) {
            zinc_frame f;
            int r = zinc_producer_claim(p, &f, 0);
            cr_assert_eq(r, 0, "claim of frame %llu after %llu ms (%s): %s",
                         (unsigned long long)frames + 1,
                         (unsigned long long)((ru_now_ns() - t0) / 1000000),
                         ts ? "timestamps" : "no timestamps", zinc_last_error());
            f.size = 8;
            cr_assert_eq(zinc_producer_publish(p, &f), 0);
            frames++;
        }
        zinc_producer_close(p);
    }
}

/* unlisten stops serving before close: new connects find nobody, the path
 * socket is gone, attached consumers carry on, and the producer may listen
 * again on the same address. */
Test(ring_anon, unlisten_then_listen_again)
{
    zinc_producer *p = make_producer(4, 4096, g_path);
    zinc_consumer *c = NULL;
    cr_assert_eq(zinc_consumer_connect(g_path, ZINC_EVERY, &c), 0, "%s", zinc_last_error());
    cr_assert_eq(zinc_producer_unlisten(p), 0, "%s", zinc_last_error());
    struct stat st;
    cr_expect_neq(lstat(g_path, &st), 0, "the socket file is removed");
    zinc_consumer *c2 = NULL;
    cr_expect_eq(zinc_consumer_connect(g_path, ZINC_LATEST, &c2), ZINC_ENOENT);
    cr_expect_eq(zinc_producer_unlisten(p), ZINC_EINVAL, "not listening any more");
    cr_expect_eq(zinc_producer_unlisten(NULL), ZINC_EINVAL);
    /* The attached consumer still gets every frame. */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ru_produce(p, 64, false, false, -1), 0);
    zinc_frame f;
    for (uint64_t want = 1; want <= 3; want++) {
        cr_assert_eq(zinc_consumer_acquire(c, &f, 0), 0, "%s", zinc_last_error());
        cr_expect_eq(f.seq, want);
        zinc_consumer_release(c, &f);
    }
    /* Listen again, on the same address: a new consumer attaches. */
    cr_assert_eq(zinc_producer_listen(p, g_path), 0, "%s", zinc_last_error());
    cr_assert_eq(zinc_consumer_connect(g_path, ZINC_LATEST, &c2), 0, "%s", zinc_last_error());
    cr_assert_eq(ru_produce(p, 64, false, false, -1), 0);
    cr_expect_eq(zinc_consumer_acquire(c2, &f, 0), 0);
    cr_expect_eq(f.seq, 4);
    zinc_consumer_release(c2, &f);
    zinc_consumer_close(c2);
    zinc_consumer_close(c);
    zinc_producer_close(p);
    cr_expect_neq(lstat(g_path, &st), 0);
}
