/* SPDX-License-Identifier: MIT */
/*
 * test-untrusted.c — attacks by hostile processes (issue 13, findings 1-6
 * and 8), each reproduced as the attacker would do it and answered by the
 * library with a code, never a crash, a hang or a frame from the wrong
 * party. Other users are played by forked children that switch uid with
 * setresuid (root only; skipped with the reason otherwise). Every scenario
 * that could crash or hang the caller runs in a forked child under a
 * watchdog, so a regression is a failed assertion, not a dead runner.
 * docs/reliability.md, "Attacks", maps each test to its attack.
 */
#include <criterion/criterion.h>

#include <grp.h>
#include <pthread.h>
#include <stdatomic.h>

#include "layout.h"
#include "ring-suite.h"

TestSuite(untrusted, .init = ru_suite_setup, .fini = ru_suite_teardown, .timeout = 120);

#define OTHER_UID 65534 /* nobody */
#define OTHER_GID 65534 /* nogroup */
#define THIRD_UID 65533 /* a uid with no name: a second local user */

/* What a child found: codes and messages, in shared memory. */
struct report {
    int skip;
    int rc[16];
    uint64_t v[8];
    char msg[16][320];
};

static struct report *report_new(void)
{
    struct report *r = ru_shared(sizeof(*r));
    cr_assert_not_null(r);
    return r;
}

static void note(struct report *r, int i, int rc)
{
    r->rc[i] = rc;
    snprintf(r->msg[i], sizeof(r->msg[i]), "%s", zinc_last_error());
}

/* Become uid/gid (with `group` as the only supplementary group, or none):
 * 0, or -1 with r->skip and the reason. */
static int become(struct report *r, uid_t uid, gid_t gid, gid_t group)
{
    gid_t groups[1] = {group};
    if (setgroups(group ? 1 : 0, groups) != 0 || setresgid(gid, gid, gid) != 0 ||
        setresuid(uid, uid, uid) != 0) {
        r->skip = 1;
        snprintf(r->msg[0], sizeof(r->msg[0]), "setresuid(%u): %s", (unsigned)uid,
                 strerror(errno));
        return -1;
    }
    return 0;
}

static void need_root(void)
{
    if (geteuid() != 0)
        cr_skip_test("needs root to play another user (setresuid)");
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
}

static void publish_n(zinc_producer *p, int n)
{
    for (int i = 0; i < n; i++) {
        zinc_frame f;
        cr_assert_eq(zinc_producer_claim(p, &f, 0), 0, "%s", zinc_last_error());
        f.size = 64;
        memset(f.data, 0x5A, 64);
        cr_assert_eq(zinc_producer_publish(p, &f), 0, "%s", zinc_last_error());
    }
}

/* Wait for a child and require a clean exit (a signal or the watchdog is a
 * failure of the scenario it ran). */
static void reap_ok(pid_t pid, int timeout_ms, const char *what)
{
    int st = ru_reap(pid, timeout_ms);
    cr_assert_neq(st, -110, "%s: hung (killed by the %d ms watchdog)", what, timeout_ms);
    cr_assert(!WIFSIGNALED(st), "%s: killed by signal %d", what, WTERMSIG(st));
    cr_assert(ru_exit_ok(st), "%s: exit status %d", what, st);
}

/* ---- finding 1: another user squats the name ------------------------------------- */

/* The squatter: uid 65534 makes a well-formed ring at the name first, mode
 * 0666, publishes forged frames and stays alive until told. */
static void squatter(struct report *r, int ready, int done)
{
    if (become(r, OTHER_UID, OTHER_GID, 0) < 0) {
        ru_signal(ready);
        _exit(0);
    }
    zinc_ring_config cfg = ru_cfg(4, 4096);
    zinc_producer *p;
    note(r, 15, zinc_producer_create(g_name, &cfg, &p));
    if (r->rc[15] == 0) {
        char path[512];
        ru_shm_path(path, sizeof(path), g_name);
        chmod(path, 0666);
        for (int i = 0; i < 3; i++) {
            zinc_frame f;
            if (zinc_producer_claim(p, &f, 0) == 0) {
                memset(f.data, 0xEE, 64); /* forged */
                f.size = 64;
                zinc_producer_publish(p, &f);
            }
        }
    }
    ru_signal(ready);
    ru_await(done, 60000);
    if (r->rc[15] == 0)
        zinc_producer_close(p);
    _exit(0);
}

Test(untrusted, squatted_name_is_refused_by_every_attaching_call)
{
    need_root();
    int ready[2], done[2];
    cr_assert_eq(pipe(ready), 0);
    cr_assert_eq(pipe(done), 0);
    struct report *r = report_new();
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0)
        squatter(r, ready[1], done[0]);
    cr_assert_eq(ru_await(ready[0], 20000), 0, "the squatter never got ready");
    if (r->skip) {
        ru_reap(pid, 10000);
        cr_skip_test("%s", r->msg[0]);
    }
    cr_assert_eq(r->rc[15], 0, "squatter's create: %s", r->msg[15]);

    /* The real producer is told who holds the name, and why it will not
     * take it over (root could remove it, but must not trust it). */
    zinc_ring_config cfg = ru_cfg(4, 4096);
    zinc_producer *p = NULL;
    int rc = zinc_producer_create(g_name, &cfg, &p);
    cr_expect_eq(rc, ZINC_EPERM, "producer_create over a squatter: %d (%s)", rc,
                 zinc_last_error());
    cr_expect(strstr(zinc_last_error(), "uid 65534") && strstr(zinc_last_error(), "euid 0"),
              "the message names both uids: %s", zinc_last_error());
    if (p)
        zinc_producer_close(p);

    /* A consumer never attaches to it, so never receives its frames. */
    zinc_consumer *c = NULL;
    rc = zinc_consumer_open(g_name, ZINC_LATEST, &c);
    cr_expect_eq(rc, ZINC_EPERM, "consumer_open of a squatted ring: %d (%s)", rc,
                 zinc_last_error());
    if (c)
        zinc_consumer_close(c);
    ZincHandle h = NULL;
    rc = zinc_open(g_name, &h);
    cr_expect_eq(rc, ZINC_EPERM, "zinc_open of a squatted ring: %d (%s)", rc, zinc_last_error());
    if (h)
        zinc_close(h);
    zinc_create_opts o = {.layout_version = 1, .flags = ZINC_CREATE_REPLACE_STALE};
    rc = zinc_create_ex(g_name, 4096, &o, &h);
    cr_expect_eq(rc, ZINC_EPERM, "zinc_create_ex over a squatter: %d (%s)", rc,
                 zinc_last_error());
    cr_expect_eq(zinc_ring_remove_stale(g_name), ZINC_EPERM, "remove_stale: %s",
                 zinc_last_error());

    /* Read-only looks still report it, flagged. */
    zinc_region_info info;
    cr_expect_eq(zinc_inspect(g_name, &info), 0, "%s", zinc_last_error());
    cr_expect_eq(info.foreign, 1);
    cr_expect_eq(info.owner_uid, OTHER_UID);
    cr_expect_eq(info.is_ring, 1);
    zinc_ring_stats rs;
    cr_expect_eq(zinc_ring_stats_read(g_name, &rs, NULL, 0, NULL), 0, "%s", zinc_last_error());
    cr_expect_eq(rs.foreign, 1);
    cr_expect_eq(rs.owner_uid, OTHER_UID);
    cr_expect_eq(rs.head, 3);

    /* The opt-in: trusting uid 65534 on purpose attaches. */
    setenv("ZINC_TRUST_UID", "1000, 65534", 1);
    rc = zinc_consumer_open(g_name, ZINC_LATEST, &c);
    cr_expect_eq(rc, 0, "consumer_open with ZINC_TRUST_UID: %d (%s)", rc, zinc_last_error());
    if (rc == 0) {
        zinc_frame f;
        cr_expect_eq(zinc_consumer_acquire(c, &f, 0), 0);
        cr_expect_eq(f.seq, 3);
        zinc_consumer_release(c, &f);
        zinc_consumer_close(c);
    }
    cr_expect_eq(zinc_inspect(g_name, &info), 0);
    cr_expect_eq(info.foreign, 0, "a trusted owner is not foreign");
    unsetenv("ZINC_TRUST_UID");

    ru_signal(done[1]);
    reap_ok(pid, 20000, "squatter");
    cr_expect(!ru_exists(g_name), "the squatter's own close removes its name");
}

/* Deliberate sharing between two users: the creator makes the ring
 * group-accessible, the consumer trusts the creator's uid. Either alone is
 * not enough. */
static void shared_producer(struct report *r, int ready, int done, uint32_t flags)
{
    if (become(r, OTHER_UID, OTHER_GID, 0) < 0) {
        ru_signal(ready);
        _exit(0);
    }
    zinc_ring_config cfg = ru_cfg(4, 4096);
    cfg.flags = flags;
    zinc_producer *p;
    note(r, 15, zinc_producer_create(g_name, &cfg, &p));
    if (r->rc[15] == 0) {
        for (int i = 0; i < 3; i++) {
            zinc_frame f;
            if (zinc_producer_claim(p, &f, 0) == 0) {
                f.size = 64;
                zinc_producer_publish(p, &f);
            }
        }
    }
    ru_signal(ready);
    ru_await(done, 60000);
    if (r->rc[15] == 0)
        zinc_producer_close(p);
    _exit(0);
}

static void shared_consumer(struct report *r)
{
    /* A third user, member of the producer's group. */
    if (become(r, THIRD_UID, THIRD_UID, OTHER_GID) < 0)
        _exit(0);
    zinc_consumer *c;
    unsetenv("ZINC_TRUST_UID");
    note(r, 0, zinc_consumer_open(g_name, ZINC_LATEST, &c));
    if (r->rc[0] == 0)
        zinc_consumer_close(c);
    setenv("ZINC_TRUST_UID", "65534", 1);
    note(r, 1, zinc_consumer_open(g_name, ZINC_LATEST, &c));
    if (r->rc[1] == 0) {
        zinc_frame f;
        note(r, 2, zinc_consumer_acquire(c, &f, 0));
        r->v[0] = r->rc[2] == 0 ? f.seq : 0;
        if (r->rc[2] == 0)
            zinc_consumer_release(c, &f);
        zinc_consumer_close(c);
    }
    _exit(0);
}

static void run_sharing(uint32_t flags, struct report *cons)
{
    int ready[2], done[2];
    cr_assert_eq(pipe(ready), 0);
    cr_assert_eq(pipe(done), 0);
    struct report *prod = report_new();
    pid_t pp = fork();
    cr_assert_geq(pp, 0);
    if (pp == 0)
        shared_producer(prod, ready[1], done[0], flags);
    cr_assert_eq(ru_await(ready[0], 20000), 0);
    if (prod->skip) {
        ru_reap(pp, 10000);
        cr_skip_test("%s", prod->msg[0]);
    }
    cr_assert_eq(prod->rc[15], 0, "producer as uid 65534: %s", prod->msg[15]);
    pid_t pc = fork();
    cr_assert_geq(pc, 0);
    if (pc == 0)
        shared_consumer(cons);
    reap_ok(pc, 20000, "consumer of another user");
    ru_signal(done[1]);
    reap_ok(pp, 20000, "producer of another user");
    if (cons->skip)
        cr_skip_test("%s", cons->msg[0]);
    close(ready[0]);
    close(ready[1]);
    close(done[0]);
    close(done[1]);
}

Test(untrusted, sharing_with_another_user_takes_group_access_and_trust)
{
    need_root();
    struct report *r = report_new();
    run_sharing(ZINC_RING_GROUP_ACCESS, r);
    cr_expect_eq(r->rc[0], ZINC_EPERM, "without ZINC_TRUST_UID: %d (%s)", r->rc[0], r->msg[0]);
    cr_expect_eq(r->rc[1], 0, "group access + ZINC_TRUST_UID: %d (%s)", r->rc[1], r->msg[1]);
    cr_expect_eq(r->rc[2], 0, "acquire: %d (%s)", r->rc[2], r->msg[2]);
    cr_expect_eq(r->v[0], 3, "the newest frame of the other user's ring");

    r = report_new();
    run_sharing(0, r);
    cr_expect_eq(r->rc[1], ZINC_EPERM, "a 0600 ring stays private even when trusted: %d (%s)",
                 r->rc[1], r->msg[1]);
}

Test(untrusted, group_access_creates_0660)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    mode_t old = umask(077); /* fchmod, not the umask, decides */
    zinc_ring_config cfg = ru_cfg(2, 4096);
    cfg.flags = ZINC_RING_GROUP_ACCESS;
    zinc_producer *p;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0, "%s", zinc_last_error());
    char path[512];
    struct stat st;
    ru_shm_path(path, sizeof(path), g_name);
    cr_assert_eq(stat(path, &st), 0);
    cr_expect_eq(st.st_mode & 07777, 0660, "mode %o", (unsigned)(st.st_mode & 07777));
    cr_expect_eq(st.st_gid, getegid());
    zinc_producer_close(p);

    char region[200];
    snprintf(region, sizeof(region), "%s-r", g_name);
    zinc_create_opts o = {.flags = ZINC_CREATE_GROUP_ACCESS};
    ZincHandle h;
    cr_assert_eq(zinc_create_ex(region, 4096, &o, &h), 0, "%s", zinc_last_error());
    ru_shm_path(path, sizeof(path), region);
    cr_assert_eq(stat(path, &st), 0);
    cr_expect_eq(st.st_mode & 07777, 0660);
    zinc_close(h);
    umask(old);
}

/* ---- finding 2: values read twice from shared memory ------------------------------- */

struct flipper {
    _Atomic uint64_t *word;
    uint64_t a, b;
    atomic_int stop; /* relaxed: a plain stop flag */
};

static void *flip(void *arg)
{
    struct flipper *f = arg;
    /* Relaxed: a hostile writer promises no ordering at all. */
    for (unsigned i = 0; !atomic_load_explicit(&f->stop, memory_order_relaxed); i++)
        atomic_store_explicit(f->word, (i & 1) ? f->a : f->b, memory_order_relaxed);
    return NULL;
}

/* A 4,160-byte region (capacity 4096) whose capacity word a peer flips to
 * 1 TiB and back: whatever open, inspect and region_info_get return must
 * be the 4096 that validation saw, never the other value. */
Test(untrusted, flipped_capacity_is_never_handed_out)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    ZincHandle own;
    cr_assert_eq(zinc_create(g_name, 4096, &own), 0, "%s", zinc_last_error());
    size_t len;
    uint8_t *raw = ru_map_raw(g_name, &len);
    cr_assert_not_null(raw);
    cr_assert_eq(len, 4160);
    struct flipper fl = {.word = (_Atomic uint64_t *)(raw + 16), .a = 4096, .b = 1ull << 40};
    atomic_init(&fl.stop, 0);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, flip, &fl), 0);
    int opened = 0, inspected = 0;
    for (int i = 0; i < 3000; i++) {
        ZincHandle h;
        if (zinc_open(g_name, &h) == 0) {
            opened++;
            cr_assert_eq(zinc_capacity(h), 4096, "zinc_capacity after open");
            zinc_region_info gi;
            cr_assert_eq(zinc_region_info_get(h, &gi), 0);
            cr_assert_eq(gi.capacity, 4096, "region_info_get capacity %llu",
                         (unsigned long long)gi.capacity);
            (void)*(volatile uint8_t *)(zinc_ptr(h) + zinc_capacity(h) - 1);
            zinc_close(h);
        }
        zinc_region_info info;
        if (zinc_inspect(g_name, &info) == 0) {
            inspected++;
            cr_assert_eq(info.capacity, 4096, "inspect capacity %llu",
                         (unsigned long long)info.capacity);
            cr_assert_leq(info.data_offset + info.capacity, info.file_size);
        }
    }
    atomic_store_explicit(&fl.stop, 1, memory_order_relaxed);
    pthread_join(th, NULL);
    atomic_store_explicit(fl.word, 4096, memory_order_relaxed);
    /* The handle's own view never follows the shared word either. */
    zinc_region_info gi;
    atomic_store_explicit(fl.word, 1ull << 40, memory_order_relaxed);
    cr_assert_eq(zinc_region_info_get(own, &gi), 0);
    cr_expect_eq(gi.capacity, 4096, "region_info_get of the owner: %llu",
                 (unsigned long long)gi.capacity);
    atomic_store_explicit(fl.word, 4096, memory_order_relaxed);
    munmap(raw, len);
    zinc_close(own);
    cr_log_info("flipped capacity: %d opens and %d inspects accepted, all 4096", opened,
                inspected);
}

/* The ring's geometry word flipped while consumers attach: an attached
 * consumer's slot size is the one validation saw. */
Test(untrusted, flipped_ring_geometry_is_never_handed_out)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    zinc_ring_config cfg = ru_cfg(4, 4096);
    zinc_producer *p;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0, "%s", zinc_last_error());
    publish_n(p, 2);
    size_t len;
    uint8_t *raw = ru_map_raw(g_name, &len);
    cr_assert_not_null(raw);
    struct zr_ctl *ctl = (struct zr_ctl *)(raw + ru_page());
    struct flipper fl = {.word = (_Atomic uint64_t *)&ctl->geom.slot_size, .a = 4096, .b = 1ull << 30};
    atomic_init(&fl.stop, 0);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, flip, &fl), 0);
    for (int i = 0; i < 2000; i++) {
        zinc_consumer *c;
        if (zinc_consumer_open(g_name, ZINC_LATEST, &c) == 0) {
            zinc_ring_config got;
            cr_assert_eq(zinc_consumer_config(c, &got), 0);
            cr_assert_eq(got.slot_size, 4096);
            zinc_frame f;
            if (zinc_consumer_acquire(c, &f, 0) == 0) {
                cr_assert_leq(f.size, 4096);
                zinc_consumer_release(c, &f);
            }
            zinc_consumer_close(c);
        }
        zinc_ring_stats rs;
        if (zinc_ring_stats_read(g_name, &rs, NULL, 0, NULL) == 0)
            cr_assert_eq(rs.slot_size, 4096);
    }
    atomic_store_explicit(&fl.stop, 1, memory_order_relaxed);
    pthread_join(th, NULL);
    atomic_store_explicit(fl.word, 4096, memory_order_relaxed);
    munmap(raw, len);
    zinc_producer_close(p);
}

/* ---- finding 3: truncation under read-only callers --------------------------------- */

struct truncator {
    int fd;
    off_t sizes[3];
    atomic_int stop;
};

static void *truncate_loop(void *arg)
{
    struct truncator *t = arg;
    for (unsigned i = 0; !atomic_load_explicit(&t->stop, memory_order_relaxed); i++)
        (void)!ftruncate(t->fd, t->sizes[i % 3]);
    return NULL;
}

/* A peer shrinks the object to nothing, to the control page and back while
 * inspect, stats and remove_stale look at it: codes, never SIGBUS. Runs in
 * a child: a SIGBUS there fails the test instead of killing the runner. */
Test(untrusted, read_only_callers_survive_truncation)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    zinc_ring_config cfg = ru_cfg(4, 16384);
    zinc_producer *p;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0, "%s", zinc_last_error());
    publish_n(p, 3);
    zinc_consumer *c;
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_LOSSY, &c), 0);
    char path[512];
    ru_shm_path(path, sizeof(path), g_name);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    struct report *r = report_new();
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct truncator t = {.fd = open(path, O_RDWR | O_CLOEXEC),
                              .sizes = {0, (off_t)ru_page() + 1024, st.st_size}};
        atomic_init(&t.stop, 0);
        pthread_t th;
        if (t.fd < 0 || pthread_create(&th, NULL, truncate_loop, &t) != 0)
            _exit(2);
        for (int i = 0; i < 3000; i++) {
            zinc_region_info info;
            int a = zinc_inspect(g_name, &info);
            zinc_ring_stats rs;
            zinc_consumer_stats cs[4];
            uint32_t n;
            int b = zinc_ring_stats_read(g_name, &rs, cs, 4, &n);
            int d = zinc_ring_remove_stale(g_name);
            r->v[0] += a == 0;
            r->v[1] += b == 0;
            r->v[2] += a != 0 && a != ZINC_EBADMSG;
            r->v[3] += b != 0 && b != ZINC_EBADMSG && b != ZINC_EAGAIN && b != ZINC_EPIPE;
            r->v[4] += d != ZINC_EEXIST && d != ZINC_EBADMSG;
        }
        atomic_store_explicit(&t.stop, 1, memory_order_relaxed);
        pthread_join(th, NULL);
        (void)!ftruncate(t.fd, st.st_size);
        _exit(0);
    }
    reap_ok(pid, 60000, "inspect/stats/remove_stale under a truncating peer");
    cr_expect_eq(r->v[2], 0, "inspect returned a code other than 0/-74");
    cr_expect_eq(r->v[3], 0, "stats returned a code other than 0/-74/-11/-32");
    cr_expect_eq(r->v[4], 0, "remove_stale removed or failed oddly");
    cr_log_info("under truncation: %llu inspects and %llu stats succeeded of 3000",
                (unsigned long long)r->v[0], (unsigned long long)r->v[1]);
    /* The object is restored at its size (zeroed where it was cut): close
     * without reading frames. */
    zinc_consumer_close(c);
    zinc_producer_close(p);
}

/* ---- finding 4: a FIFO (or a link) at the name ------------------------------------- */

/* Every entry point on a FIFO at the name answers at once. In a child with
 * a watchdog: before the fix, the read-only ones blocked in open forever. */
static void fifo_calls(struct report *r)
{
    zinc_region_info info;
    note(r, 0, zinc_inspect(g_name, &info));
    zinc_ring_stats rs;
    note(r, 1, zinc_ring_stats_read(g_name, &rs, NULL, 0, NULL));
    note(r, 2, zinc_ring_remove_stale(g_name));
    ZincHandle h = NULL;
    zinc_create_opts o = {.layout_version = 1, .flags = ZINC_CREATE_REPLACE_STALE};
    note(r, 3, zinc_create_ex(g_name, 4096, &o, &h));
    note(r, 4, zinc_open(g_name, &h));
    zinc_consumer *c = NULL;
    note(r, 5, zinc_consumer_open(g_name, ZINC_LATEST, &c));
    zinc_ring_config cfg = ru_cfg(2, 4096);
    zinc_producer *p = NULL;
    note(r, 6, zinc_producer_create(g_name, &cfg, &p));
}

static void check_fifo_codes(const struct report *r, int want)
{
    static const char *what[] = {"inspect", "ring_stats_read", "remove_stale",
                                 "create_ex(REPLACE_STALE)", "open", "consumer_open",
                                 "producer_create"};
    for (int i = 0; i < 7; i++)
        cr_expect_eq(r->rc[i], want, "%s on a FIFO: %d (%s)", what[i], r->rc[i], r->msg[i]);
}

Test(untrusted, fifo_at_the_name_never_blocks)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    char path[512];
    ru_shm_path(path, sizeof(path), g_name);
    cr_assert_eq(mkfifo(path, 0600), 0, "mkfifo: %s", strerror(errno));
    struct report *r = report_new();
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        fifo_calls(r);
        _exit(0);
    }
    reap_ok(pid, 20000, "the entry points on a FIFO");
    check_fifo_codes(r, ZINC_EBADMSG);
    cr_expect(strstr(r->msg[0], "FIFO") != NULL, "message: %s", r->msg[0]);
    struct stat st;
    cr_expect_eq(lstat(path, &st), 0, "a FIFO is never removed by the library's judges");
    cr_expect_eq(zinc_unlink(g_name), 0, "zinc_unlink removes whatever is at the name");
}

Test(untrusted, foreign_fifo_at_the_name_is_refused)
{
    need_root();
    char path[512];
    ru_shm_path(path, sizeof(path), g_name);
    cr_assert_eq(mkfifo(path, 0666), 0, "mkfifo: %s", strerror(errno));
    cr_assert_eq(chown(path, OTHER_UID, OTHER_GID), 0);
    struct report *r = report_new();
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        fifo_calls(r);
        _exit(0);
    }
    reap_ok(pid, 20000, "the entry points on another user's FIFO");
    check_fifo_codes(r, ZINC_EPERM);
    zinc_unlink(g_name);
}

Test(untrusted, symbolic_link_at_the_name_is_refused)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    /* A link to a real ring: following it would attach to whatever the
     * link's owner points it at. */
    char target[200], path[512], tpath[512];
    snprintf(target, sizeof(target), "%s-t", g_name);
    zinc_ring_config cfg = ru_cfg(2, 4096);
    zinc_producer *p;
    cr_assert_eq(zinc_producer_create(target, &cfg, &p), 0);
    ru_shm_path(path, sizeof(path), g_name);
    ru_shm_path(tpath, sizeof(tpath), target);
    cr_assert_eq(symlink(tpath, path), 0);
    zinc_consumer *c = NULL;
    cr_expect_eq(zinc_consumer_open(g_name, ZINC_LATEST, &c), ZINC_EPERM);
    cr_expect(strstr(zinc_last_error(), "symbolic link") != NULL, "%s", zinc_last_error());
    zinc_region_info info;
    cr_expect_eq(zinc_inspect(g_name, &info), ZINC_EPERM);
    ZincHandle h = NULL;
    cr_expect_eq(zinc_open(g_name, &h), ZINC_EPERM);
    unlink(path);
    zinc_producer_close(p);
}

/* ---- finding 5: the removal guard held by someone else ----------------------------- */

/* A peer holds a read lock on the unlink guard's byte (or is stopped in
 * its own removal). Every remover gives up after a bounded wait and leaves
 * the name; once the lock goes, removal works again. */
static void guard_scenario(struct report *r, int locked, int unlock)
{
    zinc_ring_config cfg = ru_cfg(2, 4096);
    zinc_producer *p;
    note(r, 0, zinc_producer_create(g_name, &cfg, &p));
    if (r->rc[0] != 0)
        _exit(0);
    /* The locker opens the object now that it exists. */
    ru_signal(locked); /* "go" */
    if (ru_await(unlock, 20000) != 0) /* the locker says it holds the lock */
        _exit(3);
    uint64_t t0 = ru_now_ns();
    zinc_producer_close(p);
    r->v[0] = ru_now_ns() - t0;
    r->v[1] = ru_exists(g_name);
    note(r, 1, zinc_unlink(g_name));
    /* A replacement of the closed ring needs the name removed: bounded too. */
    note(r, 2, zinc_producer_create(g_name, &cfg, &p));
    if (r->rc[2] == 0)
        zinc_producer_close(p);
    ru_signal(locked); /* "release it" */
    if (ru_await(unlock, 20000) != 0)
        _exit(3);
    note(r, 3, zinc_producer_create(g_name, &cfg, &p));
    if (r->rc[3] == 0)
        zinc_producer_close(p);
    r->v[2] = ru_exists(g_name);
    _exit(0);
}

Test(untrusted, a_held_removal_guard_never_blocks_removal)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    int go[2], back[2];
    cr_assert_eq(pipe(go), 0);
    cr_assert_eq(pipe(back), 0);
    struct report *r = report_new();
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0)
        guard_scenario(r, go[1], back[0]);
    cr_assert_eq(ru_await(go[0], 20000), 0, "the ring was not created: %s", r->msg[0]);
    char path[512];
    ru_shm_path(path, sizeof(path), g_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = (off_t)1 << 62,
                       .l_len = 1};
    cr_assert_eq(fcntl(fd, F_OFD_SETLK, &fl), 0, "read lock: %s", strerror(errno));
    ru_signal(back[1]);
    cr_assert_eq(ru_await(go[0], 30000), 0, "the closer hung with the guard held");
    close(fd); /* drops the lock */
    ru_signal(back[1]);
    reap_ok(pid, 30000, "removals with the guard held");
    cr_expect_eq(r->v[1], 1, "a close that cannot take the guard leaves the name");
    cr_expect_eq(r->rc[1], ZINC_ETIMEDOUT, "zinc_unlink with the guard held: %d (%s)", r->rc[1],
                 r->msg[1]);
    cr_expect_eq(r->rc[2], ZINC_ETIMEDOUT, "a replacement with the guard held: %d (%s)",
                 r->rc[2], r->msg[2]);
    cr_expect_eq(r->rc[3], 0, "the replacement once the lock is gone: %d (%s)", r->rc[3],
                 r->msg[3]);
    cr_expect_eq(r->v[2], 0, "and its close removes the name");
    cr_log_info("producer_close with the guard held took %.1f ms", (double)r->v[0] / 1e6);
}

/* ---- finding 6: attach allocates what a hostile ring asks for ---------------------- */

static blkcnt_t blocks_of(const char *name)
{
    char path[512];
    struct stat st;
    ru_shm_path(path, sizeof(path), name);
    cr_assert_eq(stat(path, &st), 0);
    return st.st_blocks;
}

Test(untrusted, attach_never_allocates_a_sparse_ring)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    /* 16 x 256 KiB of payload. The "hostile" creator punches the payloads
     * out (as a 1 GiB ring that was never filled would be) and sets the
     * prefault flag that consumers honour. */
    zinc_ring_config cfg = ru_cfg(16, 256 * 1024);
    zinc_producer *p;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0, "%s", zinc_last_error());
    char path[512];
    ru_shm_path(path, sizeof(path), g_name);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    struct zr_ctl ctl;
    cr_assert_eq(pread(fd, &ctl, sizeof(ctl), (off_t)ru_page()), (ssize_t)sizeof(ctl));
    off_t pay = (off_t)(ru_page() + ctl.geom.off_payloads);
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, pay, st.st_size - pay) != 0)
        cr_skip_test("this /dev/shm cannot punch holes: %s", strerror(errno));
    uint32_t flags = ctl.flags | ZINC_RING_PREFAULT;
    cr_assert_eq(pwrite(fd, &flags, 4, (off_t)(ru_page() + offsetof(struct zr_ctl, flags))), 4);
    close(fd);

    blkcnt_t before = blocks_of(g_name);
    cr_assert_lt((uint64_t)before * 512, (uint64_t)st.st_size / 2, "the ring is sparse");
    zinc_consumer *c;
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_LATEST, &c), 0, "%s", zinc_last_error());
    blkcnt_t after = blocks_of(g_name);
    cr_expect_eq(after, before, "attach allocated %lld KiB of a sparse ring",
                 (long long)(after - before) / 2);
    zinc_consumer_close(c);
    zinc_producer_close(p);
}

/* ---- finding 8: a one-word write against a live ring ------------------------------- */

static _Atomic uint32_t *state_word(uint8_t *raw)
{
    return &((struct zr_ctl *)(raw + ru_page()))->prod_state;
}

/* Claim and publish until a code other than 0 (a 1 kHz stream), with a
 * 10 s watchdog; returns that code and counts the frames. The detection
 * bound is 50 ms of publish's clock (64 frames without timestamps): the
 * watchdog only keeps a failure from hanging. */
static int publish_until_told(zinc_producer *p, uint64_t *frames)
{
    int rc = 0;
    uint64_t t0 = ru_now_ns();
    struct timespec ms = {0, 1000000};
    *frames = 0;
    while (rc == 0 && ru_now_ns() - t0 < 10 * 1000000000ull) {
        zinc_frame f;
        rc = zinc_producer_claim(p, &f, 0);
        if (rc == 0) {
            f.size = 8;
            rc = zinc_producer_publish(p, &f);
            ++*frames;
        }
        nanosleep(&ms, NULL); /* the stream's pace, not a synchronisation */
    }
    return rc;
}

/* Writing CLOSED into a live producer's state word does not make its ring
 * replaceable (liveness is the token); the producer learns of it within
 * the detection period. */
Test(untrusted, forged_closed_word_does_not_hand_over_a_live_ring)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    zinc_ring_config cfg = ru_cfg(4, 4096);
    zinc_producer *p;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0, "%s", zinc_last_error());
    publish_n(p, 1);
    size_t len;
    uint8_t *raw = ru_map_raw(g_name, &len);
    cr_assert_not_null(raw);
    atomic_store_explicit(state_word(raw), ZR_CLOSED, memory_order_relaxed);
    zinc_producer *q = NULL;
    cr_expect_eq(zinc_producer_create(g_name, &cfg, &q), ZINC_EEXIST, "%s", zinc_last_error());
    if (q)
        zinc_producer_close(q);
    uint64_t frames;
    int rc = publish_until_told(p, &frames);
    cr_expect_eq(rc, ZINC_EPIPE, "claim on a ring someone else closed: %d (%s)", rc,
                 zinc_last_error());
    zinc_frame f;
    cr_expect_eq(zinc_producer_claim(p, &f, 0), ZINC_EPIPE, "and for good");
    cr_log_info("told after %llu frames", (unsigned long long)frames);
    munmap(raw, len);
    zinc_producer_close(p);
}

/* A consumer closing while the state word reads CLOSED decides by the
 * token: the producer lives, so the name stays. */
Test(untrusted, consumer_closing_under_a_forged_closed_word_keeps_the_name)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    zinc_ring_config cfg = ru_cfg(4, 4096);
    zinc_producer *p;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0, "%s", zinc_last_error());
    zinc_consumer *c;
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_LATEST, &c), 0);
    size_t len;
    uint8_t *raw = ru_map_raw(g_name, &len);
    cr_assert_not_null(raw);
    atomic_store_explicit(state_word(raw), ZR_CLOSED, memory_order_relaxed);
    zinc_consumer_close(c);
    cr_expect(ru_exists(g_name), "a closing consumer removed a live producer's name");
    atomic_store_explicit(state_word(raw), ZR_OPEN, memory_order_relaxed);
    munmap(raw, len);
    zinc_producer_close(p);
    cr_expect(!ru_exists(g_name), "the producer's own close removes it");
}

/* The honest close: a consumer that closes right after its producer still
 * removes the name (no leak), whichever of the two finishes first. */
Test(untrusted, consumer_after_producer_close_still_removes_the_name)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    zinc_ring_config cfg = ru_cfg(4, 4096);
    for (int i = 0; i < 50; i++) {
        zinc_producer *p;
        cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0, "%s", zinc_last_error());
        zinc_consumer *c;
        cr_assert_eq(zinc_consumer_open(g_name, ZINC_EVERY, &c), 0);
        zinc_producer_close(p);
        zinc_consumer_close(c);
        cr_assert(!ru_exists(g_name), "round %d: the name leaked", i);
    }
}

/* Someone removes the name (zinc rm --force) and another producer takes
 * it: the first producer's frames reach nobody, and it is told (-32)
 * within the detection period, without a system call per frame. */
static void replaced_under(uint32_t flags)
{
    zinc_ring_config cfg = ru_cfg(4, 4096);
    cfg.flags = flags;
    zinc_producer *p, *q;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0, "%s", zinc_last_error());
    publish_n(p, 1);
    zinc_consumer *c; /* a consumer of the ring that is about to lose its name */
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_LOSSY, &c), 0, "%s", zinc_last_error());
    cr_assert_eq(zinc_unlink(g_name), 0);
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &q), 0, "%s", zinc_last_error());
    uint64_t frames;
    int rc = publish_until_told(p, &frames);
    cr_expect_eq(rc, ZINC_EPIPE, "the replaced producer was never told: %d (%s)", rc,
                 zinc_last_error());
    zinc_frame f;
    cr_expect_eq(zinc_producer_claim(p, &f, 0), ZINC_EPIPE, "every claim after is -32");
    cr_log_info("flags 0x%x: told after %llu frames", flags, (unsigned long long)frames);
    /* Its consumer is told too: the lost ring was closed, so it drains what
     * is left and gets -32 (and re-opening the name would find q). */
    zinc_frame g;
    int ar;
    do {
        ar = zinc_consumer_acquire(c, &g, 0);
        if (ar == 0)
            zinc_consumer_release(c, &g);
    } while (ar == 0);
    cr_expect_eq(ar, ZINC_EPIPE, "a consumer of the lost ring: %d (%s)", ar, zinc_last_error());
    zinc_consumer_close(c);
    zinc_producer_close(p);
    cr_expect(ru_exists(g_name), "closing the replaced producer keeps the new one's name");
    zinc_producer_close(q);
}

Test(untrusted, producer_learns_its_name_was_taken)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    replaced_under(0);
}

Test(untrusted, producer_learns_its_name_was_taken_without_timestamps)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    replaced_under(ZINC_RING_NO_TIMESTAMPS);
}
