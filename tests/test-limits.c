/* SPDX-License-Identifier: MIT */
/*
 * test-limits.c — permissions and resource limits: regions and rings are
 * 0600, another user is refused with -1, a ring or region larger than the
 * free space of /dev/shm is -28 with the numbers in the message (in a private
 * mount namespace with a 4 MiB tmpfs), and fd or address-space exhaustion
 * gives a clear negative code, never a crash.
 *
 * Each scenario runs in a forked child (it changes its uid, its mounts or
 * its limits); the child writes its findings into shared memory and the
 * parent asserts on them.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/statvfs.h>

#include "ring-util.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif

/* What a child found. */
struct report {
    int skip;           /* 1: the scenario cannot run here (reason in msg) */
    int rc[8];
    char msg[8][256];
    int left;           /* names of the test left in the child's /dev/shm */
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

static void run_child(void (*fn)(struct report *, const char *), struct report *r,
                      const char *name)
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        fn(r, name);
        _exit(0);
    }
    int st = ru_reap(pid, 30000);
    cr_assert(ru_exit_ok(st), "scenario child crashed or hung (status %d)", st);
}

static int count_names(const char *prefix)
{
    DIR *d = opendir("/dev/shm");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static mode_t shm_mode(const char *name)
{
    char p[512];
    ru_shm_path(p, sizeof(p), name);
    struct stat st;
    cr_assert_eq(stat(p, &st), 0, "stat %s", p);
    return st.st_mode & 07777;
}

/* ---- permissions ------------------------------------------------------------ */

Test(limits, regions_and_rings_are_0600)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    /* A permissive umask must not widen the mode. */
    mode_t old = umask(0);
    char name[128];
    ru_name(name, sizeof(name), "mode_region");
    ZincHandle h;
    cr_assert_eq(zinc_create(name, 4096, &h), 0, "%s", zinc_last_error());
    cr_expect_eq(shm_mode(name), 0600, "region mode %o", (unsigned)shm_mode(name));
    zinc_close(h);
    zinc_unlink(name);

    ru_name(name, sizeof(name), "mode_ring");
    zinc_ring_config cfg = ru_cfg(2, 4096);
    zinc_producer *p;
    cr_assert_eq(zinc_producer_create(name, &cfg, &p), 0, "%s", zinc_last_error());
    cr_expect_eq(shm_mode(name), 0600, "ring mode %o", (unsigned)shm_mode(name));
    zinc_producer_close(p);
    ru_cleanup(name);
    umask(old);
}

static void as_nobody(struct report *r, const char *name)
{
    if (setgid(65534) != 0 || setuid(65534) != 0) {
        r->skip = 1;
        snprintf(r->msg[0], sizeof(r->msg[0]), "setuid(65534): %s", strerror(errno));
        return;
    }
    ZincHandle h;
    note(r, 0, zinc_open(name, &h));
    zinc_consumer *c;
    char ring[160];
    snprintf(ring, sizeof(ring), "%s_ring", name);
    note(r, 1, zinc_consumer_open(ring, ZINC_LATEST, &c));
    zinc_region_info info;
    note(r, 2, zinc_inspect(name, &info));
    note(r, 3, zinc_unlink(name) == 0 ? 0 : -1); /* sticky /dev/shm: not ours */
    zinc_ring_config cfg = ru_cfg(2, 4096);
    zinc_producer *p;
    note(r, 4, zinc_producer_create(ring, &cfg, &p));
}

Test(limits, another_user_is_refused)
{
    if (geteuid() != 0)
        cr_skip_test("needs root to switch to another uid (uid 65534)");
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    char name[128], ring[160];
    ru_name(name, sizeof(name), "other_uid");
    snprintf(ring, sizeof(ring), "%s_ring", name);
    ZincHandle h;
    cr_assert_eq(zinc_create(name, 4096, &h), 0, "%s", zinc_last_error());
    zinc_ring_config cfg = ru_cfg(2, 4096);
    zinc_producer *p;
    cr_assert_eq(zinc_producer_create(ring, &cfg, &p), 0, "%s", zinc_last_error());

    struct report *r = report_new();
    run_child(as_nobody, r, name);
    if (r->skip) {
        zinc_producer_close(p);
        zinc_close(h);
        zinc_unlink(name);
        ru_cleanup(ring);
        cr_skip_test("%s", r->msg[0]);
    }
    cr_expect_eq(r->rc[0], ZINC_EPERM, "zinc_open as uid 65534: %d (%s)", r->rc[0], r->msg[0]);
    cr_expect(strstr(r->msg[0], "permission") != NULL, "message: %s", r->msg[0]);
    cr_expect_eq(r->rc[1], ZINC_EPERM, "zinc_consumer_open as uid 65534: %d (%s)", r->rc[1],
                 r->msg[1]);
    cr_expect_eq(r->rc[2], ZINC_EPERM, "zinc_inspect as uid 65534: %d (%s)", r->rc[2],
                 r->msg[2]);
    cr_expect_neq(r->rc[3], 0, "another user could unlink our region");
    cr_expect(r->rc[4] == ZINC_EPERM || r->rc[4] == ZINC_EEXIST,
              "zinc_producer_create over our live ring as uid 65534: %d (%s)", r->rc[4],
              r->msg[4]);
    /* Still ours, untouched. */
    cr_expect(ru_exists(name) && ru_exists(ring));
    zinc_producer_close(p);
    zinc_close(h);
    zinc_unlink(name);
    ru_cleanup(ring);
}

/* ---- /dev/shm too small ---------------------------------------------------------- */

static void small_shm(struct report *r, const char *name)
{
    if (unshare(CLONE_NEWNS) != 0) {
        r->skip = 1;
        snprintf(r->msg[0], sizeof(r->msg[0]), "unshare(CLONE_NEWNS): %s", strerror(errno));
        return;
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=4m") != 0) {
        r->skip = 1;
        snprintf(r->msg[0], sizeof(r->msg[0]), "mount tmpfs on /dev/shm: %s", strerror(errno));
        return;
    }
    char n[160];
    /* 0: a 64 MiB ring in a 4 MiB /dev/shm */
    zinc_ring_config big = ru_cfg(16, 4u << 20);
    zinc_producer *p = NULL;
    snprintf(n, sizeof(n), "%s_bigring", name);
    note(r, 0, zinc_producer_create(n, &big, &p));
    if (p)
        zinc_producer_close(p);
    /* 1: a region larger than the whole tmpfs */
    ZincHandle h = NULL;
    snprintf(n, sizeof(n), "%s_bigregion", name);
    note(r, 1, zinc_create(n, 8u << 20, &h));
    if (h)
        zinc_close(h);
    /* 2: a ring that fits (control: the tmpfs works) */
    zinc_ring_config small = ru_cfg(4, 65536);
    snprintf(n, sizeof(n), "%s_smallring", name);
    p = NULL;
    note(r, 2, zinc_producer_create(n, &small, &p));
    /* 3: with that ring in place, a second ring that passes the free-space
     * check only if it is done wrong: 4 x 1 MiB > what is left */
    zinc_ring_config mid = ru_cfg(4, 1u << 20);
    zinc_producer *p2 = NULL;
    snprintf(n, sizeof(n), "%s_midring", name);
    note(r, 3, zinc_producer_create(n, &mid, &p2));
    if (p2)
        zinc_producer_close(p2);
    if (p)
        zinc_producer_close(p);
    char prefix[200];
    snprintf(prefix, sizeof(prefix), "zinc_%s", name);
    r->left = count_names(prefix);
}

Test(limits, larger_than_dev_shm_is_28_with_the_numbers)
{
    if (geteuid() != 0)
        cr_skip_test("needs root for a private mount namespace with a small tmpfs");
    char name[128];
    ru_name(name, sizeof(name), "nospace");
    struct report *r = report_new();
    run_child(small_shm, r, name);
    if (r->skip)
        cr_skip_test("cannot mount a small /dev/shm here: %s", r->msg[0]);
    cr_expect_eq(r->rc[0], ZINC_ENOSPC, "64 MiB ring in 4 MiB: %d (%s)", r->rc[0], r->msg[0]);
    cr_expect(strstr(r->msg[0], "MiB") != NULL && strstr(r->msg[0], "free") != NULL,
              "the message gives the numbers: %s", r->msg[0]);
    cr_expect_eq(r->rc[1], ZINC_ENOSPC, "8 MiB region in 4 MiB: %d (%s)", r->rc[1], r->msg[1]);
    cr_expect(strstr(r->msg[1], "MiB") != NULL, "the message gives the numbers: %s", r->msg[1]);
    cr_expect_eq(r->rc[2], 0, "a 260 KiB ring in 4 MiB: %d (%s)", r->rc[2], r->msg[2]);
    cr_expect_eq(r->rc[3], ZINC_ENOSPC, "4 MiB ring next to it: %d (%s)", r->rc[3], r->msg[3]);
    cr_expect_eq(r->left, 0, "%d name(s) left in the small /dev/shm", r->left);
}

/* ---- fd and address-space exhaustion ------------------------------------------- */

static void no_fds(struct report *r, const char *name)
{
    char ring[160];
    snprintf(ring, sizeof(ring), "%s_ring", name);
    struct rlimit rl = {.rlim_cur = 32, .rlim_max = 32};
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        r->skip = 1;
        snprintf(r->msg[0], sizeof(r->msg[0]), "setrlimit: %s", strerror(errno));
        return;
    }
    /* Use up every descriptor below the limit. */
    int last = -1;
    for (int fd; (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;)
        last = fd;
    ZincHandle h = NULL;
    note(r, 0, zinc_open(name, &h));
    zinc_consumer *c = NULL;
    note(r, 1, zinc_consumer_open(ring, ZINC_EVERY, &c));
    zinc_ring_config cfg = ru_cfg(2, 4096);
    zinc_producer *p = NULL;
    char fresh[200];
    snprintf(fresh, sizeof(fresh), "%s_fresh", name);
    note(r, 2, zinc_producer_create(fresh, &cfg, &p));
    note(r, 3, zinc_create(fresh, 4096, &h));
    /* One descriptor back: everything works again. */
    if (last >= 0)
        close(last);
    h = NULL;
    note(r, 4, zinc_open(name, &h));
    if (h)
        zinc_close(h);
    c = NULL;
    note(r, 5, zinc_consumer_open(ring, ZINC_EVERY, &c));
    if (c)
        zinc_consumer_close(c);
    r->left = ru_exists(fresh);
}

Test(limits, fd_exhaustion_is_a_clear_code)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    char name[128], ring[160];
    ru_name(name, sizeof(name), "nofd");
    snprintf(ring, sizeof(ring), "%s_ring", name);
    ZincHandle h;
    cr_assert_eq(zinc_create(name, 4096, &h), 0, "%s", zinc_last_error());
    zinc_ring_config cfg = ru_cfg(2, 4096);
    zinc_producer *p;
    cr_assert_eq(zinc_producer_create(ring, &cfg, &p), 0, "%s", zinc_last_error());
    struct report *r = report_new();
    run_child(no_fds, r, name);
    zinc_producer_close(p);
    zinc_close(h);
    zinc_unlink(name);
    ru_cleanup(ring);
    if (r->skip)
        cr_skip_test("%s", r->msg[0]);
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(r->rc[i], -EMFILE, "call %d with no descriptor left: %d (%s)", i, r->rc[i],
                     r->msg[i]);
        cr_expect(strstr(r->msg[i], "open files") != NULL, "call %d message: %s", i, r->msg[i]);
    }
    cr_expect_eq(r->rc[4], 0, "zinc_open with a descriptor free: %d (%s)", r->rc[4], r->msg[4]);
    cr_expect_eq(r->rc[5], 0, "zinc_consumer_open with a descriptor free: %d (%s)", r->rc[5],
                 r->msg[5]);
    cr_expect_eq(r->left, 0, "a failed create left its name behind");
}

static void no_address_space(struct report *r, const char *name)
{
    /* Room for what is mapped now plus a little: a 64 MiB mapping fails. */
    struct rlimit rl;
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (!f || fscanf(f, "%lu", &pages) != 1) {
        r->skip = 1;
        snprintf(r->msg[0], sizeof(r->msg[0]), "cannot read /proc/self/statm");
        if (f)
            fclose(f);
        return;
    }
    fclose(f);
    rl.rlim_cur = rl.rlim_max = pages * (rlim_t)ru_page() + (16u << 20);
    if (setrlimit(RLIMIT_AS, &rl) != 0) {
        r->skip = 1;
        snprintf(r->msg[0], sizeof(r->msg[0]), "setrlimit(RLIMIT_AS): %s", strerror(errno));
        return;
    }
    zinc_ring_config big = ru_cfg(16, 4u << 20);
    zinc_producer *p = NULL;
    note(r, 0, zinc_producer_create(name, &big, &p));
    if (p)
        zinc_producer_close(p);
    r->left = ru_exists(name);
}

Test(limits, mapping_failure_is_a_clear_code)
{
#ifdef UNDER_SANITIZER
    cr_skip_test("RLIMIT_AS cannot be lowered under a sanitizer (shadow memory)");
#endif
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    struct statvfs sv;
    if (statvfs("/dev/shm", &sv) != 0 || (uint64_t)sv.f_bavail * sv.f_frsize < (80u << 20))
        cr_skip_test("needs 80 MiB free in /dev/shm");
    char name[128];
    ru_name(name, sizeof(name), "noas");
    struct report *r = report_new();
    run_child(no_address_space, r, name);
    ru_cleanup(name);
    if (r->skip)
        cr_skip_test("%s", r->msg[0]);
    cr_expect_eq(r->rc[0], -ENOMEM, "64 MiB ring with no address space left: %d (%s)",
                 r->rc[0], r->msg[0]);
    cr_expect(strstr(r->msg[0], "max_map_count") != NULL || strstr(r->msg[0], "memory") != NULL,
              "message: %s", r->msg[0]);
    cr_expect_eq(r->left, 0, "a failed create left its name behind");
}

/* ---- huge pages -------------------------------------------------------------------- */

/* kB of the mapping of /dev/shm/zinc_<name> mapped by PMD (huge pages), from
 * /proc/self/smaps; -1 if no such mapping. */
static long pmd_mapped_kb(const char *name)
{
    char want[320], line[512];
    snprintf(want, sizeof(want), "/dev/shm/zinc_%s", name);
    FILE *fp = fopen("/proc/self/smaps", "re");
    if (!fp)
        return -1;
    long kb = -1;
    bool in = false;
    while (fgets(line, sizeof(line), fp)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) { /* a mapping's first line */
            char *path = strchr(line, '/');
            size_t len = strlen(want);
            in = path && strncmp(path, want, len) == 0 &&
                 (path[len] == '\n' || path[len] == ' ');
            continue;
        }
        long v;
        if (in && sscanf(line, "ShmemPmdMapped: %ld kB", &v) == 1)
            kb = kb < 0 ? v : kb + v;
    }
    fclose(fp);
    return kb;
}

static void huge_shm(struct report *r, const char *name)
{
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=64m,huge=advise") != 0) {
        r->skip = 1;
        snprintf(r->msg[0], sizeof(r->msg[0]), "a huge=advise tmpfs on /dev/shm: %s",
                 strerror(errno));
        return;
    }
    char n[2][140];
    for (int i = 0; i < 2; i++) {
        /* 0: with ZINC_RING_HUGEPAGES; 1: without (control) */
        snprintf(n[i], sizeof(n[i]), "%s_%s", name, i ? "small" : "huge");
        zinc_ring_config cfg = ru_cfg(4, 4u << 20);
        cfg.flags = i ? 0 : ZINC_RING_HUGEPAGES;
        zinc_producer *p = NULL;
        note(r, 2 * i, zinc_producer_create(n[i], &cfg, &p));
        if (!p)
            continue;
        zinc_frame f;
        note(r, 2 * i + 1, zinc_producer_claim(p, &f, 0));
        if (r->rc[2 * i + 1] == 0)
            memset(f.data, 0x5a, f.size); /* touch the slot: map it */
        r->rc[4 + i] = (int)pmd_mapped_kb(n[i]);
        zinc_producer_close(p);
    }
    if (r->rc[4] > 0)
        return;
    /* No huge page with the flag: can this kernel give one right now at
     * all (memory too fragmented, say)? Ask a huge=always mount, where the
     * library plays no part; if it cannot either, the test cannot tell. */
    if (mount(NULL, "/dev/shm", NULL, MS_REMOUNT, "size=64m,huge=always") == 0) {
        char a[160];
        snprintf(a, sizeof(a), "%s_always", name);
        zinc_ring_config cfg = ru_cfg(4, 4u << 20);
        zinc_producer *p = NULL;
        zinc_frame f;
        if (zinc_producer_create(a, &cfg, &p) == 0 && zinc_producer_claim(p, &f, 0) == 0) {
            memset(f.data, 0x5a, f.size);
            if (pmd_mapped_kb(a) <= 0) {
                r->skip = 1;
                snprintf(r->msg[0], sizeof(r->msg[0]),
                         "no huge page available even on a huge=always tmpfs");
            }
        }
        if (p)
            zinc_producer_close(p);
    }
}

Test(limits, hugepages_flag_maps_huge_pages_on_a_huge_advise_shm)
{
    if (geteuid() != 0)
        cr_skip_test("needs root for a private mount namespace with a huge=advise tmpfs");
    char mode[128] = "";
    FILE *fp = fopen("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "re");
    if (!fp)
        cr_skip_test("no transparent huge pages in this kernel");
    if (!fgets(mode, sizeof(mode), fp))
        mode[0] = 0;
    fclose(fp);
    if (strstr(mode, "[deny]") || strstr(mode, "[force]"))
        cr_skip_test("shmem_enabled is %s: the mount option is overridden", mode);
    char name[128];
    ru_name(name, sizeof(name), "huge");
    struct report *r = report_new();
    run_child(huge_shm, r, name);
    if (r->skip)
        cr_skip_test("%s", r->msg[0]);
    cr_assert_eq(r->rc[0], 0, "create with ZINC_RING_HUGEPAGES: %d (%s)", r->rc[0], r->msg[0]);
    cr_assert_eq(r->rc[1], 0, "claim: %d (%s)", r->rc[1], r->msg[1]);
    cr_assert_eq(r->rc[2], 0, "create without the flag: %d (%s)", r->rc[2], r->msg[2]);
    /* The 4 MiB slot just written spans at least one aligned 2 MiB page. */
    cr_expect_geq(r->rc[4], 2048, "ZINC_RING_HUGEPAGES: %d kB mapped by huge pages", r->rc[4]);
    cr_expect_eq(r->rc[5], 0, "without the flag: %d kB mapped by huge pages", r->rc[5]);
}
