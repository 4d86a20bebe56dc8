/* SPDX-License-Identifier: MIT */
/*
 * Zinc regions: the close rule (owner-closed bit, last handle removes the
 * name, stragglers never remove a replacement), stale-name replacement
 * (SIGKILLed owner, zombie owner, pid reuse, half-made regions, owner
 * closed), zinc_inspect, and concurrent open/close. Contract:
 * docs/contract.md §1.4.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zinc/zinc.h>

#define REGION_TEST_PREFIX "rl"
#include "region-util.h"

#define MAGIC 0x5A494E435F524547ull



static uintptr_t page(void)
{
    return (uintptr_t)sysconf(_SC_PAGESIZE);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Inode of /dev/shm/zinc_<name>, 0 when the name does not exist. */
static ino_t inode_of(const char *name)
{
    char p[128];
    struct stat st;
    snprintf(p, sizeof(p), "/dev/shm/zinc_%s", name);
    return stat(p, &st) == 0 ? st.st_ino : 0;
}

/* 64 header bytes, as on /dev/shm. */
static void read_hdr(const char *name, uint8_t out[64])
{
    char p[128];
    snprintf(p, sizeof(p), "/dev/shm/zinc_%s", name);
    int fd = open(p, O_RDONLY);
    cr_assert(fd >= 0, "%s: %s", p, strerror(errno));
    cr_assert_eq(pread(fd, out, 64, 0), 64);
    close(fd);
}

static uint64_t le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t ref_count(const char *name)
{
    uint8_t h[64];
    read_hdr(name, h);
    return (uint32_t)le(h + 24, 4);
}

static uint16_t hdr_flags(const char *name)
{
    uint8_t h[64];
    read_hdr(name, h);
    return (uint16_t)le(h + 10, 2);
}

/* Write a v1 object by hand: magic (0 for half-made), owner pid, created_at. */
static void put_v1(const char *name, uint64_t magic, int32_t pid, uint64_t created_at,
                   uint16_t flags)
{
    uint8_t b[64] = {0};
    put_le(b + 0, magic, 8);
    put_le(b + 8, 1, 2);
    put_le(b + 10, flags, 2);
    put_le(b + 16, page(), 8);
    put_le(b + 24, 1, 4);
    put_le(b + 28, (uint32_t)pid, 4);
    put_le(b + 32, created_at, 8);
    put_le(b + 40, zinc_name_hash(name), 8);
    char obj[96];
    snprintf(obj, sizeof(obj), "/zinc_%s", name);
    int fd = shm_open(obj, O_CREAT | O_EXCL | O_RDWR, 0600);
    cr_assert(fd >= 0, "%s: %s", obj, strerror(errno));
    cr_assert_eq(ftruncate(fd, (off_t)(64 + page())), 0);
    cr_assert_eq(pwrite(fd, b, 64, 0), 64);
    close(fd);
}

/* A pid that is certainly dead: a child that exited and was reaped. The
 * kernel does not hand it out again until the pid space wraps. */
static pid_t dead_pid(void)
{
    pid_t pid = fork_child();
    cr_assert(pid >= 0);
    if (pid == 0)
        _exit(0);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    return pid;
}

/* A child that creates region `name`, reports, then blocks until killed.
 * `v2` picks the layout. Returns its pid. */
static pid_t spawn_owner(const char *name, bool v2)
{
    int ready[2];
    cr_assert_eq(pipe(ready), 0);
    pid_t pid = fork_child();
    cr_assert(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        zinc_create_opts o = {.layout_version = v2 ? 2 : 1};
        ZincHandle h;
        char r = zinc_create_ex(name, page(), &o, &h) == 0 ? 'c' : 'x';
        if (r == 'c')
            memcpy(zinc_ptr(h), "old", 4);
        if (write(ready[1], &r, 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(ready[1]);
    char r = 0;
    cr_assert_eq(read(ready[0], &r, 1), 1);
    close(ready[0]);
    if (r != 'c') {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        cr_assert_fail("the owner child could not create '%s'", name);
    }
    return pid;
}

static void kill_and_reap(pid_t pid)
{
    cr_assert_eq(kill(pid, SIGKILL), 0);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

static int replace(const char *name, ZincHandle *out)
{
    zinc_create_opts o = {.flags = ZINC_CREATE_REPLACE_STALE};
    return zinc_create_ex(name, page(), &o, out);
}

/* The region `h` is fresh: ours, one reference, nothing notified, zeroed. */
static void assert_fresh(const char *name, ZincHandle h)
{
    uint8_t b[64];
    read_hdr(name, b);
    cr_assert_eq(le(b, 8), MAGIC);
    cr_assert_eq(le(b + 10, 2), 0, "flags");
    cr_assert_eq(le(b + 12, 4), 0, "notify_seq");
    cr_assert_eq(le(b + 24, 4), 1, "ref_count");
    cr_assert_eq((int32_t)le(b + 28, 4), (int32_t)getpid(), "owner_pid");
    cr_assert_eq(zinc_ptr(h)[0], 0, "data of the old region leaked into the new one");
    cr_assert_eq(zinc_try_wait(h), -11);
}

TestSuite(region_life, .init = need_shm, .fini = cleanup, .timeout = 60);

/* ---- the close rule -------------------------------------------------------- */

Test(region_life, owner_alone_removes_name)
{
    const char *name = tname("alone");
    ZincHandle h;
    cr_assert_eq(zinc_create(name, page(), &h), 0);
    cr_assert_neq(inode_of(name), 0);
    zinc_close(h);
    cr_assert_eq(inode_of(name), 0);
}

Test(region_life, ref_count_tracks_handles)
{
    const char *name = tname("refs");
    ZincHandle a, b, c;
    cr_assert_eq(zinc_create(name, page(), &a), 0);
    cr_assert_eq(ref_count(name), 1);
    cr_assert_eq(zinc_open(name, &b), 0);
    cr_assert_eq(ref_count(name), 2);
    cr_assert_eq(zinc_open(name, &c), 0);
    cr_assert_eq(ref_count(name), 3);
    cr_assert_neq(zinc_ptr(b), zinc_ptr(c), "each handle has its own mapping");
    zinc_ptr(b)[10] = 9;
    cr_assert_eq(zinc_ptr(c)[10], 9, "same memory");
    zinc_close(c);
    cr_assert_eq(ref_count(name), 2);
    zinc_close(b);
    cr_assert_eq(ref_count(name), 1);
    cr_assert_eq(hdr_flags(name), 0, "non-owner closes set no flag");
    zinc_close(a);
    cr_assert_eq(inode_of(name), 0);
}

Test(region_life, owner_closes_first)
{
    const char *name = tname("ownerfirst");
    ZincHandle own, other;
    cr_assert_eq(zinc_create(name, page(), &own), 0);
    cr_assert_eq(zinc_open(name, &other), 0);
    zinc_close(own);
    cr_assert_neq(inode_of(name), 0, "another handle remains: the name stays");
    cr_assert_eq(hdr_flags(name) & 1, 1, "owner-closed bit");
    cr_assert_eq(ref_count(name), 1);
    zinc_ptr(other)[0] = 1; /* still mapped and usable */
    zinc_close(other);
    cr_assert_eq(inode_of(name), 0, "the last handle after the owner removes the name");
}

Test(region_life, non_owner_closes_first)
{
    const char *name = tname("otherfirst");
    ZincHandle own, other;
    cr_assert_eq(zinc_create(name, page(), &own), 0);
    cr_assert_eq(zinc_open(name, &other), 0);
    zinc_close(other);
    cr_assert_neq(inode_of(name), 0, "the owner is still open");
    cr_assert_eq(hdr_flags(name), 0);
    zinc_close(own);
    cr_assert_eq(inode_of(name), 0, "the owner's close, with no handle left, removes it");
}

/* The owner and the other handle live in different processes. */
Test(region_life, close_rule_across_processes)
{
    const char *name = tname("xclose");
    ZincHandle own;
    cr_assert_eq(zinc_create(name, page(), &own), 0);
    int opened[2], go[2];
    cr_assert_eq(pipe(opened), 0);
    cr_assert_eq(pipe(go), 0);
    pid_t pid = fork_child();
    cr_assert(pid >= 0);
    if (pid == 0) {
        close(opened[0]);
        close(go[1]);
        ZincHandle c;
        if (zinc_open(name, &c) != 0)
            _exit(10);
        if (write(opened[1], "o", 1) != 1)
            _exit(11);
        char ch;
        if (read(go[0], &ch, 1) != 1)
            _exit(12);
        zinc_close(c);
        _exit(0);
    }
    close(opened[1]);
    close(go[0]);
    char ch;
    cr_assert_eq(read(opened[0], &ch, 1), 1);
    zinc_close(own);
    cr_assert_neq(inode_of(name), 0, "the child's handle keeps the name");
    cr_assert_eq(write(go[1], "g", 1), 1);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    cr_assert_eq(inode_of(name), 0, "the child's close removed the name");
    close(opened[0]);
    close(go[1]);
}

/* A fork shares the pid, not the ownership: a child opening the region its
 * parent created is not the owner, and its close leaves the name. */
Test(region_life, forked_child_is_not_owner)
{
    const char *name = tname("forkown");
    ZincHandle own;
    cr_assert_eq(zinc_create(name, page(), &own), 0);
    pid_t pid = fork_child();
    cr_assert(pid >= 0);
    if (pid == 0) {
        ZincHandle c;
        if (zinc_open(name, &c) != 0)
            _exit(10);
        zinc_close(c);
        _exit(0);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    cr_assert_neq(inode_of(name), 0);
    cr_assert_eq(hdr_flags(name), 0);
    cr_assert_eq(ref_count(name), 1);
    zinc_close(own);
    cr_assert_eq(inode_of(name), 0);
}

Test(region_life, straggler_never_removes_replacement)
{
    const char *name = tname("straggler");
    ZincHandle a, b, c;
    cr_assert_eq(zinc_create(name, page(), &a), 0);
    cr_assert_eq(zinc_open(name, &b), 0);
    ino_t old = inode_of(name);
    cr_assert_eq(zinc_unlink(name), 0);
    cr_assert_eq(inode_of(name), 0);
    cr_assert_eq(zinc_create(name, page(), &c), 0, "%s", zinc_last_error());
    ino_t fresh = inode_of(name);
    cr_assert_neq(fresh, 0);
    cr_assert_neq(fresh, old);
    memcpy(zinc_ptr(c), "new", 4);
    zinc_close(a); /* old owner */
    zinc_close(b); /* old last handle: would remove the name if it were theirs */
    cr_assert_eq(inode_of(name), fresh, "a straggler removed the replacement");
    ZincHandle d;
    cr_assert_eq(zinc_open(name, &d), 0);
    cr_assert_str_eq((char *)zinc_ptr(d), "new");
    zinc_close(d);
    zinc_close(c);
    cr_assert_eq(inode_of(name), 0);
}

Test(region_life, straggler_owner_alone)
{
    const char *name = tname("straggler1");
    ZincHandle a, c;
    cr_assert_eq(zinc_create(name, page(), &a), 0);
    cr_assert_eq(zinc_unlink(name), 0);
    cr_assert_eq(zinc_create(name, page(), &c), 0);
    ino_t fresh = inode_of(name);
    zinc_close(a);
    cr_assert_eq(inode_of(name), fresh);
    zinc_close(c);
    cr_assert_eq(inode_of(name), 0);
}

Test(region_life, unlink_keeps_mappings)
{
    const char *name = tname("unlinked");
    ZincHandle a, b;
    cr_assert_eq(zinc_create(name, page(), &a), 0);
    cr_assert_eq(zinc_open(name, &b), 0);
    cr_assert_eq(zinc_unlink(name), 0);
    cr_assert_eq(zinc_unlink(name), -2);
    ZincHandle x = (ZincHandle)&x;
    cr_assert_eq(zinc_open(name, &x), -2);
    cr_assert_null(x);
    zinc_ptr(a)[5] = 77;
    cr_assert_eq(zinc_ptr(b)[5], 77, "mappings outlive the name");
    zinc_notify(a);
    cr_assert_eq(zinc_try_wait(b), 0);
    zinc_close(a);
    zinc_close(b);
    cr_assert_eq(inode_of(name), 0);
}

/* Threads opening and closing handles at once: no reference is lost or
 * invented (the count ends at 1 and only the owner's close removes it). */
struct churn {
    const char *name;
    int fails;
};

static void *churn_thread(void *arg)
{
    struct churn *c = arg;
    for (int i = 0; i < 400; i++) {
        ZincHandle h;
        if (zinc_open(c->name, &h) != 0) {
            c->fails++;
            continue;
        }
        zinc_notify(h);
        zinc_close(h);
    }
    return NULL;
}

Test(region_life, concurrent_open_close)
{
    enum { T = 4 };
    const char *name = tname("churn");
    ZincHandle own;
    cr_assert_eq(zinc_create(name, page(), &own), 0);
    pthread_t th[T];
    struct churn c[T];
    for (int i = 0; i < T; i++) {
        c[i] = (struct churn){.name = name};
        cr_assert_eq(pthread_create(&th[i], NULL, churn_thread, &c[i]), 0);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(c[i].fails, 0, "thread %d: open failed", i);
    }
    cr_assert_eq(ref_count(name), 1);
    uint8_t b[64];
    read_hdr(name, b);
    cr_assert_eq(le(b + 12, 4), (uint64_t)T * 400, "every notify counted");
    cr_assert_neq(inode_of(name), 0);
    zinc_close(own);
    cr_assert_eq(inode_of(name), 0);
}

/* The last handle of an owner-closed region closes while another thread
 * replaces the (stale) name: whatever the interleaving, the replacement
 * keeps its name. */
struct race {
    const char *name;
    ZincHandle old;     /* last handle of the old region */
    ZincHandle fresh;   /* the replacement */
    int replace_rc;
    pthread_barrier_t *go;
};

static void *race_close(void *arg)
{
    struct race *r = arg;
    pthread_barrier_wait(r->go);
    zinc_close(r->old);
    return NULL;
}

static void *race_replace(void *arg)
{
    struct race *r = arg;
    zinc_create_opts o = {.flags = ZINC_CREATE_REPLACE_STALE};
    pthread_barrier_wait(r->go);
    r->replace_rc = zinc_create_ex(r->name, page(), &o, &r->fresh);
    return NULL;
}

Test(region_life, straggler_close_races_replacement)
{
    const char *name = tname("race");
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 2);
    /* The window is a few instructions wide: unfixed, about 1 round in
     * 1000 loses the name. ZINC_LONG_TESTS=1 runs many more rounds. */
    const char *long_env = getenv("ZINC_LONG_TESTS");
    int lost = 0, rounds = long_env && long_env[0] == '1' ? 50000 : 3000;
    for (int i = 0; i < rounds; i++) {
        ZincHandle own;
        struct race r = {.name = name, .go = &go};
        cr_assert_eq(zinc_create(name, page(), &own), 0, "round %d: %s", i,
                     zinc_last_error());
        cr_assert_eq(zinc_open(name, &r.old), 0);
        zinc_close(own); /* owner closed: stale, kept by r.old */
        pthread_t a, b;
        pthread_create(&a, NULL, race_close, &r);
        pthread_create(&b, NULL, race_replace, &r);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
        cr_assert_eq(r.replace_rc, 0, "round %d: replace %d %s", i, r.replace_rc,
                     zinc_last_error());
        if (inode_of(name) == 0)
            lost++;
        zinc_close(r.fresh);
        zinc_unlink(name);
    }
    pthread_barrier_destroy(&go);
    cr_assert_eq(lost, 0, "%d of %d replacements lost their name to a straggler", lost,
                 rounds);
}

/* ---- stale names -------------------------------------------------------------- */

Test(region_life, sigkilled_owner_is_replaced)
{
    const char *name = tname("sigkill");
    pid_t pid = spawn_owner(name, false);
    zinc_region_info info;
    cr_assert_eq(zinc_inspect(name, &info), 0);
    cr_assert_eq(info.owner_pid, pid);
    cr_assert_eq(info.owner_alive, 1, "owner alive before the kill");
    ZincHandle h = (ZincHandle)&h;
    cr_assert_eq(replace(name, &h), -17, "a live owner is never replaced");
    cr_assert_null(h);

    ino_t old = inode_of(name);
    kill_and_reap(pid);
    cr_assert_eq(zinc_inspect(name, &info), 0);
    cr_assert_eq(info.owner_alive, 0, "owner dead after SIGKILL");
    cr_assert_eq(info.ref_count, 1, "a crash gives nothing back");
    h = (ZincHandle)&h;
    cr_assert_eq(zinc_create(name, page(), &h), -17, "plain create never replaces");
    cr_assert_null(h);
    cr_assert_eq(replace(name, &h), 0, "%s", zinc_last_error());
    cr_assert_neq(inode_of(name), old, "a fresh object");
    assert_fresh(name, h);
    cr_assert_eq(zinc_inspect(name, &info), 0);
    cr_assert_eq(info.owner_alive, 1);
    zinc_close(h);
    cr_assert_eq(inode_of(name), 0);
}

Test(region_life, zombie_owner_is_replaced)
{
    const char *name = tname("zombie");
    pid_t pid = spawn_owner(name, true);
    cr_assert_eq(kill(pid, SIGKILL), 0);
    siginfo_t si;
    /* Wait for the death without reaping: the owner is a zombie. */
    cr_assert_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
    zinc_region_info info;
    cr_assert_eq(zinc_inspect(name, &info), 0);
    cr_assert_eq(info.owner_alive, 0, "a zombie is dead");
    cr_assert_eq(info.version, 2);
    ZincHandle h;
    cr_assert_eq(replace(name, &h), 0, "%s", zinc_last_error());
    cr_assert_eq(zinc_layout(h), 1, "the replacement has the layout asked for");
    assert_fresh(name, h);
    cr_assert_eq(waitpid(pid, NULL, 0), pid);
    zinc_close(h);
}

/* Replacing a stale name does not disturb handles on the old object. */
Test(region_life, old_handles_survive_replacement)
{
    const char *name = tname("survive");
    pid_t pid = spawn_owner(name, false);
    ZincHandle old;
    cr_assert_eq(zinc_open(name, &old), 0);
    kill_and_reap(pid);
    ZincHandle h;
    cr_assert_eq(replace(name, &h), 0, "%s", zinc_last_error());
    ino_t fresh = inode_of(name);
    cr_assert_str_eq((char *)zinc_ptr(old), "old", "the old mapping still holds its data");
    cr_assert_eq(zinc_ptr(h)[0], 0);
    zinc_notify(old);
    cr_assert_eq(zinc_try_wait(h), -11, "notifies on the old object do not reach the new");
    zinc_close(old);
    cr_assert_eq(inode_of(name), fresh, "the old handle's close left the replacement");
    zinc_close(h);
    cr_assert_eq(inode_of(name), 0);
}

Test(region_life, live_owner_in_other_process_is_kept)
{
    const char *name = tname("liveowner");
    pid_t pid = spawn_owner(name, false);
    ZincHandle h = (ZincHandle)&h;
    int r = replace(name, &h);
    ZincHandle o;
    int ro = zinc_open(name, &o);
    char data[4] = {0};
    if (ro == 0) {
        memcpy(data, zinc_ptr(o), 4);
        zinc_close(o);
    }
    kill_and_reap(pid);
    cr_assert_eq(r, -17, "live owner replaced");
    cr_assert_null(h);
    cr_assert_eq(ro, 0);
    cr_assert_str_eq(data, "old", "the live owner's region was not touched");
}

Test(region_life, live_owner_here_is_kept)
{
    const char *name = tname("liveself");
    ZincHandle own, h = (ZincHandle)&h;
    cr_assert_eq(zinc_create(name, page(), &own), 0);
    ino_t ino = inode_of(name);
    cr_assert_eq(replace(name, &h), -17);
    cr_assert_null(h);
    cr_assert_eq(inode_of(name), ino);
    zinc_close(own);
}

Test(region_life, owner_closed_is_replaceable)
{
    const char *name = tname("ownclosed");
    ZincHandle own, other, h;
    cr_assert_eq(zinc_create(name, page(), &own), 0);
    cr_assert_eq(zinc_open(name, &other), 0);
    zinc_close(own); /* the name lingers for `other` */
    zinc_region_info info;
    cr_assert_eq(zinc_inspect(name, &info), 0);
    cr_assert_eq(info.flags & 1, 1);
    cr_assert_eq(info.owner_alive, 0, "closed owner counts as gone, though its pid lives");
    cr_assert_eq(info.owner_pid, getpid());
    cr_assert_eq(zinc_create(name, page(), &h), -17);
    cr_assert_eq(replace(name, &h), 0, "%s", zinc_last_error());
    ino_t fresh = inode_of(name);
    assert_fresh(name, h);
    zinc_ptr(other)[0] = 3; /* the old mapping is still valid */
    zinc_close(other);
    cr_assert_eq(inode_of(name), fresh, "the old last handle left the replacement");
    zinc_close(h);
    cr_assert_eq(inode_of(name), 0);
}

/* Mixed use with upstream Zinc: our owner closes first (owner-closed bit,
 * the name stays for the open reader), then an upstream reader closes last.
 * Upstream's close decrements ref_count and never looks at the bit, so the
 * name is left with ref_count 0. Such a name is dead: open reports it gone
 * (-2) and removes it; create replaces it, with or without REPLACE_STALE. */
static void upstream_close(ZincHandle h)
{
    /* What upstream's close does: decrement, unmap, nothing else. The
     * header is one page before the data of a version-2 handle. */
    uint8_t *hdr = zinc_ptr(h) - page();
    __atomic_fetch_sub((uint32_t *)(hdr + 24), 1, __ATOMIC_SEQ_CST);
}

static void make_dead_name(const char *name, ZincHandle *reader)
{
    ZincHandle own;
    zinc_create_opts o = {.layout_version = 2};
    cr_assert_eq(zinc_create_ex(name, page(), &o, &own), 0);
    cr_assert_eq(zinc_open(name, reader), 0);
    zinc_close(own);
    cr_assert_neq(inode_of(name), 0, "the reader keeps the name");
    upstream_close(*reader);
    cr_assert_eq(ref_count(name), 0);
    cr_assert_eq(hdr_flags(name) & 1, 1);
}

Test(region_life, dead_name_after_upstream_close_open_reports_gone)
{
    const char *name = tname("deadopen");
    ZincHandle reader, h = NULL;
    make_dead_name(name, &reader);
    cr_assert_eq(zinc_open(name, &h), -2, "%s", zinc_last_error());
    cr_assert_null(h);
    cr_assert_eq(inode_of(name), 0, "open removed the dead name");
    cr_assert_eq(zinc_create(name, page(), &h), 0);
    zinc_close(h);
    /* Free the reader's handle: its count is already given back (0 stays
     * 0) and its object is no longer the name's. */
    zinc_close(reader);
}

Test(region_life, dead_name_after_upstream_close_is_replaced_by_create)
{
    const char *name = tname("deadcreate");
    ZincHandle reader, h = NULL;
    make_dead_name(name, &reader);
    ino_t dead = inode_of(name);
    cr_assert_eq(zinc_create(name, page(), &h), 0, "%s", zinc_last_error());
    cr_assert_neq(inode_of(name), dead, "a fresh object took the name");
    assert_fresh(name, h);
    zinc_close(h);
    cr_assert_eq(inode_of(name), 0);
    zinc_close(reader); /* frees the handle; count 0 stays 0 */
}

/* A closed owner with a handle still open is not dead: create without
 * REPLACE_STALE keeps refusing. */
Test(region_life, owner_closed_with_reader_is_not_dead)
{
    const char *name = tname("notdead");
    ZincHandle own, reader, h = NULL;
    cr_assert_eq(zinc_create(name, page(), &own), 0);
    cr_assert_eq(zinc_open(name, &reader), 0);
    zinc_close(own);
    cr_assert_eq(zinc_create(name, page(), &h), -17);
    cr_assert_eq(zinc_open(name, &h), 0, "a closed owner's region stays open to readers");
    zinc_close(h);
    zinc_close(reader);
    cr_assert_eq(inode_of(name), 0);
}

Test(region_life, half_made_dead_creator_is_replaceable)
{
    const char *name = tname("halfdead");
    put_v1(name, 0, dead_pid(), 0, 0);
    ZincHandle h = (ZincHandle)&h;
    cr_assert_eq(zinc_open(name, &h), -74, "half-made is not a region yet");
    cr_assert_null(h);
    cr_assert_eq(zinc_create(name, page(), &h), -17);
    cr_assert_eq(replace(name, &h), 0, "%s", zinc_last_error());
    assert_fresh(name, h);
    zinc_close(h);
}

Test(region_life, half_made_live_creator_is_kept)
{
    /* The creator (us) might still be filling the header. */
    const char *name = tname("halflive");
    put_v1(name, 0, getpid(), 0, 0);
    ZincHandle h = (ZincHandle)&h;
    cr_assert_eq(replace(name, &h), -17);
    cr_assert_null(h);
    cr_assert_neq(inode_of(name), 0);
}

Test(region_life, half_made_unknown_creator_ages_out)
{
    /* Sized but all zero: no magic, no pid (a creator between ftruncate and
     * its first write, or one that died there). Kept while recent. */
    const char *name = tname("halfzero");
    put_v1(name, 0, 0, 0, 0);
    ZincHandle h = (ZincHandle)&h;
    cr_assert_eq(replace(name, &h), -17, "made a moment ago: maybe still being created");
    cr_assert_null(h);
    char p[128];
    snprintf(p, sizeof(p), "/dev/shm/zinc_%s", name);
    struct timespec old[2] = {{.tv_sec = time(NULL) - 60}, {.tv_sec = time(NULL) - 60}};
    cr_assert_eq(utimensat(AT_FDCWD, p, old, 0), 0, "%s", strerror(errno));
    cr_assert_eq(replace(name, &h), 0, "%s", zinc_last_error());
    assert_fresh(name, h);
    zinc_close(h);
}

Test(region_life, half_made_reused_pid_is_replaceable)
{
    /* Half-made, its recorded creator pid alive (us), but the object was
     * sized a minute before this process started: the pid was reused. */
    const char *name = tname("halfreuse");
    put_v1(name, 0, getpid(), 0, 0);
    char p[128];
    snprintf(p, sizeof(p), "/dev/shm/zinc_%s", name);
    struct timespec old[2] = {{.tv_sec = time(NULL) - 60}, {.tv_sec = time(NULL) - 60}};
    cr_assert_eq(utimensat(AT_FDCWD, p, old, 0), 0, "%s", strerror(errno));
    ZincHandle h;
    cr_assert_eq(replace(name, &h), 0, "%s", zinc_last_error());
    assert_fresh(name, h);
    zinc_close(h);
}

Test(region_life, empty_object_recent_is_kept_old_is_replaced)
{
    /* A creator between shm_open and ftruncate: size 0, nobody known. */
    const char *name = tname("empty");
    char obj[96];
    snprintf(obj, sizeof(obj), "/zinc_%s", name);
    int fd = shm_open(obj, O_CREAT | O_EXCL | O_RDWR, 0600);
    cr_assert(fd >= 0);
    ZincHandle h = (ZincHandle)&h;
    cr_assert_eq(replace(name, &h), -17, "made a moment ago: maybe still being created");
    cr_assert_null(h);
    /* Age it: an empty object older than a few seconds is abandoned. */
    struct timespec old[2] = {{.tv_sec = time(NULL) - 60}, {.tv_sec = time(NULL) - 60}};
    cr_assert_eq(futimens(fd, old), 0, "%s", strerror(errno));
    close(fd);
    cr_assert_eq(replace(name, &h), 0, "%s", zinc_last_error());
    assert_fresh(name, h);
    zinc_close(h);
}

Test(region_life, reused_pid_is_gone)
{
    /* The recorded owner pid is alive (it is us), but this process started
     * long after the region's created_at: the pid was reused. */
    const char *name = tname("pidreuse");
    put_v1(name, MAGIC, getpid(), 1000000000ull, 0);
    zinc_region_info info;
    cr_assert_eq(zinc_inspect(name, &info), 0);
    cr_assert_eq(info.owner_pid, getpid());
    cr_assert_eq(info.owner_alive, 0, "pid reuse not detected");
    ZincHandle h;
    cr_assert_eq(replace(name, &h), 0, "%s", zinc_last_error());
    assert_fresh(name, h);
    zinc_close(h);
}

Test(region_life, same_pid_created_now_is_alive)
{
    const char *name = tname("pidnow");
    put_v1(name, MAGIC, getpid(), now_ns(), 0);
    zinc_region_info info;
    cr_assert_eq(zinc_inspect(name, &info), 0);
    cr_assert_eq(info.owner_alive, 1);
    ZincHandle h = (ZincHandle)&h;
    cr_assert_eq(replace(name, &h), -17);
    cr_assert_null(h);
}

Test(region_life, replace_stale_on_free_name_creates)
{
    const char *name = tname("freename");
    ZincHandle h;
    cr_assert_eq(replace(name, &h), 0);
    assert_fresh(name, h);
    zinc_close(h);
    cr_assert_eq(inode_of(name), 0);
}

/* ---- inspect ------------------------------------------------------------------- */

Test(region_life, inspect_fields)
{
    const char *name = tname("inspect");
    uint64_t t0 = now_ns();
    ZincHandle own, other;
    uintptr_t cap = 2 * page();
    cr_assert_eq(zinc_create(name, cap, &own), 0);
    uint64_t t1 = now_ns();
    cr_assert_eq(zinc_open(name, &other), 0);
    zinc_notify(own);
    zinc_notify(other);
    zinc_region_info info;
    memset(&info, 0xA5, sizeof(info));
    cr_assert_eq(zinc_inspect(name, &info), 0, "%s", zinc_last_error());
    cr_assert_eq(info.version, 1);
    cr_assert_eq(info.flags, 0);
    cr_assert_eq(info.notify_seq, 2);
    cr_assert_eq(info.capacity, cap);
    cr_assert_eq(info.data_offset, 64);
    cr_assert_eq(info.file_size, 64 + cap);
    cr_assert_eq(info.ref_count, 2);
    cr_assert_eq(info.owner_pid, getpid());
    cr_assert_eq(info.owner_alive, 1);
    cr_assert_eq(info.is_ring, 0);
    cr_assert(info.created_at >= t0 && info.created_at <= t1);
    cr_assert_eq(info.name_hash, zinc_name_hash(name));
    cr_assert_eq(info.owner_uid, geteuid());
    cr_assert_eq(info.foreign, 0);
    for (size_t i = 0; i < sizeof(info.reserved) / sizeof(info.reserved[0]); i++)
        cr_assert_eq(info.reserved[i], 0, "reserved words are zeroed");
    /* inspect takes no reference */
    cr_assert_eq(zinc_inspect(name, &info), 0);
    cr_assert_eq(info.ref_count, 2);
    cr_assert_eq(ref_count(name), 2);

    zinc_region_info mine;
    cr_assert_eq(zinc_region_info_get(other, &mine), 0);
    cr_assert_eq(mine.version, info.version);
    cr_assert_eq(mine.capacity, info.capacity);
    cr_assert_eq(mine.data_offset, info.data_offset);
    cr_assert_eq(mine.file_size, info.file_size);
    cr_assert_eq(mine.ref_count, info.ref_count);
    cr_assert_eq(mine.owner_pid, info.owner_pid);
    cr_assert_eq(mine.owner_alive, 1);
    cr_assert_eq(mine.created_at, info.created_at);
    cr_assert_eq(mine.name_hash, info.name_hash);
    cr_assert_eq(mine.notify_seq, 2);
    cr_assert_eq(mine.owner_uid, geteuid());
    cr_assert_eq(mine.foreign, 0);
    zinc_close(other);
    zinc_close(own);
}

Test(region_life, inspect_v2)
{
    const char *name = tname("inspect2");
    zinc_create_opts o = {.layout_version = 2};
    ZincHandle h;
    cr_assert_eq(zinc_create_ex(name, 3 * page(), &o, &h), 0);
    zinc_region_info info;
    cr_assert_eq(zinc_inspect(name, &info), 0);
    cr_assert_eq(info.version, 2);
    cr_assert_eq(info.capacity, 3 * page());
    cr_assert_eq(info.data_offset, page());
    cr_assert_eq(info.file_size, 4 * page());
    cr_assert_eq(info.ref_count, 1);
    cr_assert_eq(info.owner_alive, 1);
    zinc_close(h);
}
