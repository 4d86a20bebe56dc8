/* SPDX-License-Identifier: MIT */
/*
 * test-ring-attach-race.c — attaching to a ring while its creator is at
 * each step of creation. A creator makes the object in steps (shm_open,
 * producer token, ftruncate to the header, ftruncate to the full size,
 * fill, ring magic, region magic); an opener that looks at any moment must
 * be told "being created" (-11) or get the finished ring — never -74,
 * which means corruption.
 *
 * The creator here is played by the test: it replays a real ring's bytes
 * (made by zinc_producer_create under another name) step by step, holding
 * the producer token as the library's creator does. fstat is wrapped at
 * link time (-Wl,--wrap=fstat64) so that the creator can finish exactly
 * between the opener's fstat and the rest of its attach: the window in
 * which an opener used to map the creator's first size and then find the
 * magic (kill matrix, seed 59243198).
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdatomic.h>

#include "layout.h"
#include "ring-suite.h"

TestSuite(attach_race, .init = ru_suite_setup, .fini = ru_suite_teardown);

enum { ST_OPEN, ST_TOKEN, ST_HEADER_SIZE, ST_FULL_SIZE, ST_FILLED, ST_RING_MAGIC,
       ST_DONE, ST_COUNT };
static const char *step_name[ST_COUNT] = {"shm_open", "token", "ftruncate(64)",
                                          "ftruncate(full)", "filled", "ring magic",
                                          "region magic"};

struct creator {
    int fd;          /* the object, as the creator holds it (and its token) */
    uint8_t *image;  /* a finished ring's bytes, magics cleared */
    size_t len;
    uint64_t ring_magic, region_magic;
    int step;        /* last step done */
};

static struct creator K;

/* Build the image from a real ring made by the library. */
static void image_make(void)
{
    char tmpl[200];
    snprintf(tmpl, sizeof(tmpl), "%s-t", g_name);
    zinc_ring_config cfg = ru_cfg(4, 8192);
    zinc_producer *p;
    cr_assert_eq(zinc_producer_create(tmpl, &cfg, &p), 0, "%s", zinc_last_error());
    char path[256];
    ru_shm_path(path, sizeof(path), tmpl);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    K.len = (size_t)st.st_size;
    K.image = malloc(K.len);
    cr_assert_eq(pread(fd, K.image, K.len, 0), (ssize_t)K.len);
    close(fd);
    zinc_producer_close(p);
    zinc_unlink(tmpl);
    long page = sysconf(_SC_PAGESIZE);
    memcpy(&K.region_magic, K.image, 8);
    memcpy(&K.ring_magic, K.image + page, 8);
    cr_assert_eq(K.region_magic, ZINC_REGION_MAGIC);
    cr_assert_eq(K.ring_magic, ZR_MAGIC);
    memset(K.image, 0, 8);
    memset(K.image + page, 0, 8);
}

static void creator_step(int s)
{
    long page = sysconf(_SC_PAGESIZE);
    char obj[256];
    snprintf(obj, sizeof(obj), "/zinc_%s", g_name);
    switch (s) {
    case ST_OPEN:
        K.fd = shm_open(obj, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
        cr_assert_geq(K.fd, 0, "shm_open: %s", strerror(errno));
        break;
    case ST_TOKEN: {
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = ZR_TOKEN_PRODUCER,
                           .l_len = 1};
        cr_assert_eq(fcntl(K.fd, F_OFD_SETLK, &fl), 0, "token: %s", strerror(errno));
        break;
    }
    case ST_HEADER_SIZE:
        cr_assert_eq(ftruncate(K.fd, 64), 0);
        break;
    case ST_FULL_SIZE:
        cr_assert_eq(ftruncate(K.fd, (off_t)K.len), 0);
        break;
    case ST_FILLED:
        cr_assert_eq(pwrite(K.fd, K.image, K.len, 0), (ssize_t)K.len);
        break;
    case ST_RING_MAGIC:
        cr_assert_eq(pwrite(K.fd, &K.ring_magic, 8, page), 8);
        break;
    case ST_DONE:
        cr_assert_eq(pwrite(K.fd, &K.region_magic, 8, 0), 8);
        break;
    }
    K.step = s;
}

static void creator_to(int s)
{
    while (K.step < s)
        creator_step(K.step + 1);
}

/* ---- the fstat seam ---------------------------------------------------------- */

int __real_fstat64(int fd, struct stat *st);
int __wrap_fstat64(int fd, struct stat *st);

static _Atomic int finish_after_fstat; /* armed: the next fstat lets the creator finish */

static void shrink_hook(void);

int __wrap_fstat64(int fd, struct stat *st)
{
    shrink_hook();
    int r = __real_fstat64(fd, st);
    if (atomic_exchange(&finish_after_fstat, 0))
        creator_to(ST_DONE);
    return r;
}

/* ---- tests --------------------------------------------------------------------- */

/* Paused at each step, an opener in a tight loop is told "being created"
 * every time, and attaches once the region magic is out. */
Test(attach_race, open_at_each_step_of_creation)
{
    image_make();
    K.step = -1;
    for (int s = ST_OPEN; s < ST_COUNT; s++) {
        creator_to(s);
        for (int i = 0; i < 500; i++) {
            zinc_consumer *c = NULL;
            int r = zinc_consumer_open(g_name, ZINC_LATEST, &c);
            if (s < ST_DONE) {
                cr_assert_eq(r, ZINC_EAGAIN, "creator after '%s': open #%d = %d (%s)",
                             step_name[s], i, r, zinc_last_error());
            } else {
                cr_assert_eq(r, 0, "finished ring: open = %d (%s)", r, zinc_last_error());
                zinc_consumer_close(c);
            }
            zinc_ring_stats rs;
            int sr = zinc_ring_stats_read(g_name, &rs, NULL, 0, NULL);
            cr_assert(s < ST_DONE ? sr == ZINC_EAGAIN : sr == 0,
                      "creator after '%s': stats = %d (%s)", step_name[s], sr, zinc_last_error());
        }
    }
    close(K.fd);
    free(K.image);
}

/* The creator finishes right after the opener's fstat: whatever size that
 * fstat saw, the opener ends up with the finished ring (or, for an object
 * not yet sized, "being created"), never with -74. */
Test(attach_race, creator_finishes_between_fstat_and_map)
{
    image_make();
    for (int s = ST_OPEN; s < ST_DONE; s++) {
        K.step = -1;
        creator_to(s);
        atomic_store(&finish_after_fstat, 1);
        zinc_consumer *c = NULL;
        int r = zinc_consumer_open(g_name, ZINC_LATEST, &c);
        cr_assert_eq(atomic_load(&finish_after_fstat), 0, "the seam was not reached");
        cr_assert_eq(K.step, ST_DONE);
        if (s < ST_HEADER_SIZE)
            cr_assert(r == 0 || r == ZINC_EAGAIN, "fstat saw an empty object: open = %d (%s)",
                      r, zinc_last_error());
        else
            cr_assert_eq(r, 0, "fstat after '%s': open = %d (%s)", step_name[s], r,
                         zinc_last_error());
        if (r == 0)
            zinc_consumer_close(c);
        /* Retry as a caller would: now it attaches. */
        r = zinc_consumer_open(g_name, ZINC_LATEST, &c);
        cr_assert_eq(r, 0, "retry after '%s': %d (%s)", step_name[s], r, zinc_last_error());
        zinc_consumer_close(c);
        close(K.fd);
        zinc_unlink(g_name);
    }
    free(K.image);
}

/* ---- an object that shrinks while it is attached (issue 13, finding 3b) ---------- */

/* A peer that flips the object's size (full <-> cut after the control
 * block's first bytes) each time an opener has mapped it: the mmap seam
 * marks "mapped", the next fstat flips the size first. An opener that
 * remapped and re-read the size a bounded number of times, then trusted
 * its last mapping, ended up writing its consumer entry past the end
 * (SIGBUS); whichever size the peer starts from, attach must answer -74. */
void *__real_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);

static _Atomic int shrink_fd = -1;   /* the object the peer toggles, or -1 */
static _Atomic int mapped_since;     /* an opener mapped since the last toggle */
static off_t shrink_sizes[2];
static int shrink_turn;

void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    void *p = __real_mmap64(addr, len, prot, flags, fd, off);
    if (p != MAP_FAILED && fd >= 0 && atomic_load(&shrink_fd) >= 0)
        atomic_store(&mapped_since, 1);
    return p;
}

static void shrink_hook(void)
{
    int fd = atomic_load(&shrink_fd);
    if (fd >= 0 && atomic_exchange(&mapped_since, 0)) {
        shrink_turn ^= 1;
        (void)!ftruncate(fd, shrink_sizes[shrink_turn]);
    }
}

static void shrink_after_map(bool start_cut);

Test(attach_race, object_shrunk_after_mapping_is_refused)
{
    shrink_after_map(false);
    shrink_after_map(true);
}

static void shrink_after_map(bool start_cut)
{
    /* The producer lives in a child of its own: the opener below must not
     * inherit its mapping (it would reuse it rather than map). */
    int ready[2], done[2], out[2];
    cr_assert_eq(pipe(ready), 0);
    cr_assert_eq(pipe(done), 0);
    cr_assert_eq(pipe(out), 0);
    pid_t prod = fork();
    cr_assert_geq(prod, 0);
    if (prod == 0) {
        zinc_ring_config cfg = ru_cfg(4, 8192);
        zinc_producer *p;
        if (zinc_producer_create(g_name, &cfg, &p) != 0)
            _exit(1);
        ru_signal(ready[1]);
        ru_await(done[0], 30000);
        zinc_producer_close(p);
        _exit(0);
    }
    cr_assert_eq(ru_await(ready[0], 20000), 0, "the producer did not start");
    char path[256];
    ru_shm_path(path, sizeof(path), g_name);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    struct stat st;
    cr_assert_eq(__real_fstat64(fd, &st), 0);
    /* Small: the header page and the start of the control block only. */
    shrink_sizes[0] = st.st_size;
    shrink_sizes[1] = (off_t)sysconf(_SC_PAGESIZE) + 512;
    shrink_turn = start_cut;
    cr_assert_eq(ftruncate(fd, shrink_sizes[shrink_turn]), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        atomic_store(&shrink_fd, fd);
        zinc_consumer *c = NULL;
        int r = zinc_consumer_open(g_name, ZINC_LATEST, &c);
        atomic_store(&shrink_fd, -1);
        (void)!write(out[1], &r, sizeof(r));
        _exit(0);
    }
    int st_child = ru_reap(pid, 20000);
    (void)!ftruncate(fd, st.st_size);
    close(fd);
    ru_signal(done[1]);
    ru_reap(prod, 20000);
    cr_assert(!WIFSIGNALED(st_child), "the opener died of signal %d", WTERMSIG(st_child));
    cr_assert(ru_exit_ok(st_child), "opener status %d", st_child);
    int r = 0;
    cr_assert_eq(read(out[0], &r, sizeof(r)), (ssize_t)sizeof(r));
    cr_expect_eq(r, ZINC_EBADMSG, "attach to an object whose size flips after each mmap "
                 "(starting %s): %d", start_cut ? "cut" : "full", r);
    for (int i = 0; i < 2; i++) {
        close(ready[i]);
        close(done[i]);
        close(out[i]);
    }
}
