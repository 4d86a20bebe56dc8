/* SPDX-License-Identifier: MIT */
/*
 * Zinc regions: the bytes on /dev/shm, name and capacity validation, the
 * error codes, hostile headers, hand-made version-1 and version-2 regions,
 * and the behaviour of every function on NULL. Contract:
 * docs/contract.md §1.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zinc/zinc.h>

#include "region-util.h"

/* ---- helpers ------------------------------------------------------------ */

#define MAX_NAMES 8
static char names[MAX_NAMES][ZINC_NAME_MAX + 1];
static int n_names;

/* A name unique to this test process (Criterion forks one per test). */
static const char *tname(const char *tag)
{
    cr_assert(n_names < MAX_NAMES);
    snprintf(names[n_names], sizeof(names[0]), "rg%d_%s", (int)getpid(), tag);
    return names[n_names++];
}

static void remember(const char *name)
{
    cr_assert(n_names < MAX_NAMES);
    snprintf(names[n_names++], sizeof(names[0]), "%s", name);
}

/* Runs after each test, failed or not: nothing is left in /dev/shm. */
static void cleanup(void)
{
    char obj[ZINC_NAME_MAX + 8];
    for (int i = 0; i < n_names; i++) {
        snprintf(obj, sizeof(obj), "/zinc_%.250s", names[i]);
        shm_unlink(obj);
    }
    n_names = 0;
}


static long page(void)
{
    return sysconf(_SC_PAGESIZE);
}

static void path_of(const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "/dev/shm/zinc_%s", name);
}

static bool exists(const char *name)
{
    char p[ZINC_NAME_MAX + 32];
    struct stat st;
    path_of(name, p, sizeof(p));
    return stat(p, &st) == 0;
}

/* Whole object, read through the file system (not through our mapping). */
static uint8_t *read_obj(const char *name, size_t *len)
{
    char p[ZINC_NAME_MAX + 32];
    path_of(name, p, sizeof(p));
    int fd = open(p, O_RDONLY);
    cr_assert(fd >= 0, "open %s: %s", p, strerror(errno));
    struct stat st;
    cr_assert(fstat(fd, &st) == 0);
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    cr_assert(buf);
    ssize_t n = pread(fd, buf, (size_t)st.st_size, 0);
    cr_assert(n == st.st_size, "read %zd of %lld bytes", n, (long long)st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return buf;
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

/* Independent FNV-1a 64, straight from the contract's parameters. */
static uint64_t fnv(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct raw_hdr {
    uint64_t magic;
    uint16_t version, flags;
    uint32_t notify_seq;
    uint64_t capacity;
    uint32_t ref_count;
    int32_t owner_pid;
    uint64_t created_at, name_hash, ring_head, ring_tail;
};

/* A header as upstream writes it, byte by byte, little-endian. */
static void encode(uint8_t out[64], const struct raw_hdr *h)
{
    put_le(out + 0, h->magic, 8);
    put_le(out + 8, h->version, 2);
    put_le(out + 10, h->flags, 2);
    put_le(out + 12, h->notify_seq, 4);
    put_le(out + 16, h->capacity, 8);
    put_le(out + 24, h->ref_count, 4);
    put_le(out + 28, (uint32_t)h->owner_pid, 4);
    put_le(out + 32, h->created_at, 8);
    put_le(out + 40, h->name_hash, 8);
    put_le(out + 48, h->ring_head, 8);
    put_le(out + 56, h->ring_tail, 8);
}

static struct raw_hdr good_hdr(const char *name, uint16_t version, uint64_t cap)
{
    struct raw_hdr h = {
        .magic = 0x5A494E435F524547ull,
        .version = version,
        .capacity = cap,
        .ref_count = 1,
        .owner_pid = (int32_t)getpid(),
        .created_at = now_ns(),
        .name_hash = fnv(name),
    };
    return h;
}

/* Make /dev/shm/zinc_<name> by hand: `size` bytes, `len` of them from buf. */
static void put_obj(const char *name, const void *buf, size_t len, off_t size)
{
    char obj[ZINC_NAME_MAX + 8];
    snprintf(obj, sizeof(obj), "/zinc_%s", name);
    int fd = shm_open(obj, O_CREAT | O_EXCL | O_RDWR, 0600);
    cr_assert(fd >= 0, "shm_open %s: %s", obj, strerror(errno));
    cr_assert(ftruncate(fd, size) == 0);
    if (len)
        cr_assert(pwrite(fd, buf, len, 0) == (ssize_t)len);
    close(fd);
}

static void put_hdr_obj(const char *name, const struct raw_hdr *h, off_t size)
{
    uint8_t b[64];
    encode(b, h);
    put_obj(name, b, size < 64 ? (size_t)size : 64, size);
}

/* How many names in /dev/shm start with zinc_<prefix>. Other programs write
 * /dev/shm at the same time, so we only count names carrying our pid. */
static int count_prefixed(const char *prefix)
{
    char want[64];
    snprintf(want, sizeof(want), "zinc_%s", prefix);
    DIR *d = opendir("/dev/shm");
    cr_assert(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strncmp(e->d_name, want, strlen(want)) == 0;
    closedir(d);
    return n;
}

TestSuite(region, .init = need_shm, .fini = cleanup, .timeout = 30);

/* ---- bytes on /dev/shm --------------------------------------------------- */

Test(region, header_bytes_v1)
{
    const char *name = tname("hdr_v1");
    uint64_t before = now_ns();
    ZincHandle h = NULL;
    cr_assert_eq(zinc_create(name, (uintptr_t)page(), &h), 0, "%s", zinc_last_error());
    uint64_t after = now_ns();
    cr_assert_not_null(h);

    size_t len;
    uint8_t *b = read_obj(name, &len);
    static const uint8_t magic[8] = {0x47, 0x45, 0x52, 0x5F, 0x43, 0x4E, 0x49, 0x5A};
    cr_assert_eq(len, 64 + (size_t)page(), "file size %zu", len);
    cr_assert_arr_eq(b, magic, 8, "magic bytes");
    cr_assert_eq(le(b + 0, 8), 0x5A494E435F524547ull);
    cr_assert_eq(le(b + 8, 2), 1, "version");
    cr_assert_eq(le(b + 10, 2), 0, "flags");
    cr_assert_eq(le(b + 12, 4), 0, "notify_seq");
    cr_assert_eq(le(b + 16, 8), (uint64_t)page(), "capacity");
    cr_assert_eq(le(b + 24, 4), 1, "ref_count");
    cr_assert_eq((int32_t)le(b + 28, 4), (int32_t)getpid(), "owner_pid");
    uint64_t created = le(b + 32, 8);
    cr_assert(created >= before && created <= after, "created_at %llu not in [%llu, %llu]",
              (unsigned long long)created, (unsigned long long)before,
              (unsigned long long)after);
    cr_assert_eq(le(b + 40, 8), fnv(name), "name_hash");
    cr_assert_eq(le(b + 40, 8), zinc_name_hash(name));
    cr_assert_eq(le(b + 48, 8), 0, "ring_head");
    cr_assert_eq(le(b + 56, 8), 0, "ring_tail");
    for (size_t i = 64; i < len; i++)
        cr_assert_eq(b[i], 0, "data byte %zu not zero", i);
    free(b);

    /* The data pointer is the mapping base + 64: the 64 bytes before it are
     * the header, and what we write through it lands at file offset 64. */
    uint8_t *p = zinc_ptr(h);
    cr_assert_not_null(p);
    cr_assert_eq(zinc_capacity(h), (uintptr_t)page());
    cr_assert_eq(zinc_layout(h), 1);
    cr_assert_arr_eq(p - 64, magic, 8);
    for (long i = 0; i < page(); i++)
        p[i] = (uint8_t)(i * 7 + 1);
    b = read_obj(name, &len);
    cr_assert_arr_eq(b, p - 64, 64, "header seen through the mapping");
    for (long i = 0; i < page(); i++)
        cr_assert_eq(b[64 + i], (uint8_t)(i * 7 + 1), "data byte %ld", i);
    free(b);
    char path[ZINC_NAME_MAX + 32];
    struct stat st;
    path_of(name, path, sizeof(path));
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0600, "mode %o", (unsigned)(st.st_mode & 07777));
    cr_assert_eq(st.st_uid, geteuid());
    zinc_close(h);
    cr_assert(!exists(name), "owner closed last: the name must be gone");
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    cr_assert(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* Create, open and inspect close their descriptors: a handle holds only
 * its mapping. */
Test(region, no_descriptor_leaks)
{
    const char *name = tname("fds");
    int before = count_fds();
    for (int i = 0; i < 50; i++) {
        ZincHandle a, b;
        zinc_create_opts o = {.layout_version = 1 + (uint32_t)(i & 1)};
        cr_assert_eq(zinc_create_ex(name, (uintptr_t)page(), &o, &a), 0);
        cr_assert_eq(zinc_open(name, &b), 0);
        zinc_region_info info;
        cr_assert_eq(zinc_inspect(name, &info), 0);
        ZincHandle c;
        cr_assert_eq(zinc_create(name, (uintptr_t)page(), &c), -17);
        zinc_close(b);
        zinc_close(a);
    }
    cr_assert_eq(count_fds(), before, "descriptors leaked");
}

Test(region, header_bytes_multi_page_capacity)
{
    const char *name = tname("hdr_cap");
    uintptr_t cap = 5 * (uintptr_t)page();
    ZincHandle h;
    cr_assert_eq(zinc_create(name, cap, &h), 0);
    zinc_ptr(h)[cap - 1] = 0xAB;
    size_t len;
    uint8_t *b = read_obj(name, &len);
    cr_assert_eq(len, 64 + cap);
    cr_assert_eq(le(b + 16, 8), cap);
    cr_assert_eq(b[64 + cap - 1], 0xAB, "last data byte at 64 + cap - 1");
    free(b);
    zinc_close(h);
}

Test(region, header_bytes_v2)
{
    const char *name = tname("hdr_v2");
    uintptr_t cap = 2 * (uintptr_t)page();
    zinc_create_opts o = {.layout_version = 2};
    ZincHandle h;
    cr_assert_eq(zinc_create_ex(name, cap, &o, &h), 0, "%s", zinc_last_error());
    cr_assert_eq(zinc_layout(h), 2);
    cr_assert_eq(zinc_capacity(h), cap);
    uint8_t *p = zinc_ptr(h);
    memcpy(p, "v2-data", 8);
    size_t len;
    uint8_t *b = read_obj(name, &len);
    cr_assert_eq(len, (size_t)page() + cap, "v2 file is page + capacity");
    cr_assert_eq(le(b, 8), 0x5A494E435F524547ull);
    cr_assert_eq(le(b + 8, 2), 2, "version");
    cr_assert_eq(le(b + 10, 2), 0);
    cr_assert_eq(le(b + 16, 8), cap);
    cr_assert_eq(le(b + 24, 4), 1);
    cr_assert_eq(le(b + 40, 8), fnv(name));
    cr_assert_str_eq((char *)b + page(), "v2-data", "data at offset page_size");
    cr_assert_arr_eq(p - page(), b, 64, "pointer is base + page");
    free(b);

    ZincHandle h2;
    cr_assert_eq(zinc_open(name, &h2), 0, "%s", zinc_last_error());
    cr_assert_eq(zinc_layout(h2), 2);
    cr_assert_eq(zinc_capacity(h2), cap);
    cr_assert_str_eq((char *)zinc_ptr(h2), "v2-data");
    zinc_close(h2);
    zinc_close(h);
    cr_assert(!exists(name));
}

Test(region, fnv1a_vectors)
{
    cr_assert_eq(zinc_name_hash("my-data"), 0xa2c98045cdc80beaull);
    cr_assert_eq(zinc_name_hash("test"), 0xf9e6e6ef197c2b25ull);
    cr_assert_eq(zinc_name_hash("a"), 0xaf63dc4c8601ec8cull);
    cr_assert_eq(fnv("my-data"), 0xa2c98045cdc80beaull, "the test's own FNV agrees");
    cr_assert_eq(zinc_name_hash(""), 0xcbf29ce484222325ull, "empty string is the basis");
}

/* ---- validation ----------------------------------------------------------- */

/* Every path an invalid name takes through the API says -22, sets *out to
 * NULL, and leaves nothing behind. */
static void expect_bad_name(const char *name, const char *prefix)
{
    int before = count_prefixed(prefix);
    ZincHandle h = (ZincHandle)&h; /* not NULL: the call must clear it */
    cr_assert_eq(zinc_name_valid(name), -22, "name_valid('%s')", name ? name : "(null)");
    cr_assert_eq(zinc_create(name, (uintptr_t)page(), &h), -22, "create('%s')",
                 name ? name : "(null)");
    cr_assert_null(h);
    cr_assert_str_neq(zinc_last_error(), "", "a message for the failure");
    h = (ZincHandle)&h;
    zinc_create_opts o = {.layout_version = 2, .flags = ZINC_CREATE_REPLACE_STALE};
    cr_assert_eq(zinc_create_ex(name, (uintptr_t)page(), &o, &h), -22);
    cr_assert_null(h);
    h = (ZincHandle)&h;
    cr_assert_eq(zinc_open(name, &h), -22);
    cr_assert_null(h);
    cr_assert_eq(zinc_unlink(name), -22);
    zinc_region_info info;
    cr_assert_eq(zinc_inspect(name, &info), -22);
    cr_assert_eq(count_prefixed(prefix), before, "an object appeared for '%s'", name);
    if (name && *name) {
        char p[600];
        struct stat st;
        snprintf(p, sizeof(p), "/dev/shm/zinc_%s", name);
        cr_assert(stat(p, &st) != 0, "%s exists", p);
    }
}

Test(region, invalid_names)
{
    char pre[32];
    snprintf(pre, sizeof(pre), "rg%d_", (int)getpid());
    char buf[600];
    expect_bad_name(NULL, pre);
    expect_bad_name("", pre);
    expect_bad_name(".", pre);
    expect_bad_name("..", pre);
    const char *suffixes[] = {".x", "/x", " x", "x.", "\xc3\xa9", "\t", "\n", ":", "*",
                              "+", "%", "~", "\x7f", "\xff"};
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        snprintf(buf, sizeof(buf), "%s%s", pre, suffixes[i]);
        expect_bad_name(buf, pre);
        snprintf(buf, sizeof(buf), "%s%sy", pre, suffixes[i]);
        expect_bad_name(buf, pre);
    }
    expect_bad_name("/", pre);
    expect_bad_name("a/b", pre);
    expect_bad_name("a b", pre);
    expect_bad_name("a.b", pre);
    /* 251 bytes: one too many. */
    snprintf(buf, sizeof(buf), "%s", pre);
    memset(buf + strlen(pre), 'x', 251 - strlen(pre));
    buf[251] = '\0';
    cr_assert_eq(strlen(buf), 251);
    expect_bad_name(buf, pre);
    /* much longer than a file name may be */
    memset(buf, 'y', 599);
    buf[599] = '\0';
    expect_bad_name(buf, pre);
}

Test(region, name_length_boundary)
{
    char name[ZINC_NAME_MAX + 2];
    snprintf(name, sizeof(name), "rg%d_", (int)getpid());
    size_t pl = strlen(name);
    memset(name + pl, 'L', ZINC_NAME_MAX - pl);
    name[ZINC_NAME_MAX] = '\0';
    cr_assert_eq(strlen(name), 250);
    remember(name);
    cr_assert_eq(zinc_name_valid(name), 0);
    ZincHandle h;
    cr_assert_eq(zinc_create(name, (uintptr_t)page(), &h), 0, "250 bytes is allowed: %s",
                 zinc_last_error());
    cr_assert(exists(name));
    ZincHandle h2;
    cr_assert_eq(zinc_open(name, &h2), 0);
    zinc_close(h2);
    zinc_close(h);
    cr_assert(!exists(name));
    /* All legal characters, and case matters. */
    const char *ok = tname("AZaz09_-");
    const char *lower = tname("azaz09_-");
    cr_assert_eq(zinc_create(ok, (uintptr_t)page(), &h), 0);
    ZincHandle h3 = (ZincHandle)&h3;
    cr_assert_eq(zinc_open(lower, &h3), -2, "names are case-sensitive");
    cr_assert_null(h3);
    zinc_close(h);
}

static void expect_bad_capacity(const char *name, uintptr_t cap, uint32_t layout)
{
    zinc_create_opts o = {.layout_version = layout};
    ZincHandle h = (ZincHandle)&h;
    cr_assert_eq(zinc_create_ex(name, cap, &o, &h), -22, "capacity %ju layout %u",
                 (uintmax_t)cap, layout);
    cr_assert_null(h);
    cr_assert(!exists(name), "capacity %ju left an object", (uintmax_t)cap);
    if (layout <= 1) {
        h = (ZincHandle)&h;
        cr_assert_eq(zinc_create(name, cap, &h), -22);
        cr_assert_null(h);
        cr_assert(!exists(name));
    }
}

Test(region, invalid_capacity)
{
    const char *name = tname("badcap");
    char pre[32];
    snprintf(pre, sizeof(pre), "rg%d_", (int)getpid());
    int before = count_prefixed(pre);
    uintptr_t pg = (uintptr_t)page();
    uintptr_t caps[] = {
        0, 1, 64, pg - 1, pg + 1, pg + 64, 3 * pg / 2,
        UINTPTR_MAX,                          /* not a page multiple */
        UINTPTR_MAX & ~(pg - 1),              /* 64 + cap overflows */
        (uintptr_t)1 << 63,                   /* does not fit off_t */
        ((uintptr_t)1 << 63) - 1,
    };
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        expect_bad_capacity(name, caps[i], 0);
        expect_bad_capacity(name, caps[i], 1);
        expect_bad_capacity(name, caps[i], 2);
    }
    /* version 2: page + capacity must fit off_t too */
    expect_bad_capacity(name, ((uintptr_t)1 << 63) - pg, 2);
    cr_assert_eq(count_prefixed(pre), before);
}

Test(region, create_opts_reserved_must_be_zero)
{
    const char *name = tname("reserved");
    for (int i = 0; i < 6; i++) {
        zinc_create_opts o = {.layout_version = 2};
        o.reserved[i] = 1;
        ZincHandle h = (ZincHandle)&h;
        cr_expect_eq(zinc_create_ex(name, (uintptr_t)page(), &o, &h), -22, "reserved[%d]", i);
        cr_expect_null(h);
        cr_expect(strstr(zinc_last_error(), "reserved") != NULL, "message: %s",
                  zinc_last_error());
        cr_expect(!exists(name), "reserved[%d] != 0 left an object", i);
    }
    zinc_create_opts o = {.layout_version = 2};
    ZincHandle h;
    cr_assert_eq(zinc_create_ex(name, (uintptr_t)page(), &o, &h), 0, "%s", zinc_last_error());
    zinc_close(h);
}

/* "Checked before any system call": in a child that may not open a single
 * file, a call that got as far as shm_open would fail with -24 (EMFILE);
 * validation failures must still say -22. */
Test(region, validation_before_any_syscall)
{
    const char *name = tname("nosyscall");
    pid_t pid = fork_child();
    cr_assert(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {0, 0};
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            _exit(77);
        uintptr_t pg = (uintptr_t)page();
        ZincHandle h;
        zinc_create_opts v2 = {.layout_version = 2};
        /* The trick works: a valid call reaches shm_open and fails there. */
        if (zinc_create(name, pg, &h) != -24)
            _exit(1);
        if (zinc_create(name, pg, &h) != -24 || zinc_open(name, &h) != -24)
            _exit(2);
        const char *bad[] = {"", ".", "a/b", "a b", "a.b", "\xc3\xa9"};
        for (int i = 0; i < 6; i++)
            if (zinc_create(bad[i], pg, &h) != -22 || zinc_open(bad[i], &h) != -22)
                _exit(3);
        if (zinc_create(NULL, pg, &h) != -22 || zinc_open(NULL, &h) != -22)
            _exit(4);
        uintptr_t caps[] = {0, 1, pg - 1, pg + 1, UINTPTR_MAX, UINTPTR_MAX & ~(pg - 1),
                            (uintptr_t)1 << 63, ((uintptr_t)1 << 63) - 64};
        for (int i = 0; i < 8; i++) {
            if (zinc_create(name, caps[i], &h) != -22)
                _exit(10 + i);
            if (zinc_create_ex(name, caps[i], &v2, &h) != -22)
                _exit(30 + i);
        }
        /* 2^63 - page fits off_t with 64 bytes before it, not with a page */
        if (zinc_create_ex(name, ((uintptr_t)1 << 63) - pg, &v2, &h) != -22)
            _exit(6);
        if (zinc_create(name, pg, NULL) != -22 || zinc_open(name, NULL) != -22)
            _exit(5);
        _exit(0);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st));
    if (WEXITSTATUS(st) == 77)
        cr_skip_test("cannot lower RLIMIT_NOFILE here");
    cr_assert_eq(WEXITSTATUS(st), 0, "step %d: a system call ran before validation",
                 WEXITSTATUS(st));
    cr_assert(!exists(name));
}

Test(region, invalid_options)
{
    const char *name = tname("badopt");
    ZincHandle h = (ZincHandle)&h;
    zinc_create_opts o = {.layout_version = 3};
    cr_assert_eq(zinc_create_ex(name, (uintptr_t)page(), &o, &h), -22, "layout 3");
    cr_assert_null(h);
    o.layout_version = 0xFFFFFFFFu;
    cr_assert_eq(zinc_create_ex(name, (uintptr_t)page(), &o, &h), -22);
    o.layout_version = 1;
    o.flags = 0x80000000u;
    cr_assert_eq(zinc_create_ex(name, (uintptr_t)page(), &o, &h), -22, "unknown flag");
    cr_assert(!exists(name));
    /* NULL opts is plain create; layout 0 means 1 */
    cr_assert_eq(zinc_create_ex(name, (uintptr_t)page(), NULL, &h), 0);
    cr_assert_eq(zinc_layout(h), 1);
    zinc_close(h);
    o = (zinc_create_opts){.layout_version = 0, .flags = ZINC_CREATE_PREFAULT};
    cr_assert_eq(zinc_create_ex(name, (uintptr_t)page(), &o, &h), 0);
    cr_assert_eq(zinc_layout(h), 1);
    zinc_close(h);
    cr_assert(!exists(name));
}

Test(region, null_out)
{
    const char *name = tname("nullout");
    cr_assert_eq(zinc_create(name, (uintptr_t)page(), NULL), -22);
    cr_assert(!exists(name), "create with NULL out must not make the object");
    cr_assert_eq(zinc_create_ex(name, (uintptr_t)page(), NULL, NULL), -22);
    cr_assert(!exists(name));
    ZincHandle h;
    cr_assert_eq(zinc_create(name, (uintptr_t)page(), &h), 0);
    cr_assert_eq(zinc_open(name, NULL), -22);
    zinc_region_info info;
    cr_assert_eq(zinc_inspect(name, &info), 0);
    cr_assert_eq(info.ref_count, 1, "a refused open took no reference");
    zinc_close(h);
}

/* ---- the error codes ------------------------------------------------------- */

Test(region, exists_is_eexist)
{
    const char *name = tname("exists");
    ZincHandle a, b = (ZincHandle)&b;
    cr_assert_eq(zinc_create(name, (uintptr_t)page(), &a), 0);
    memcpy(zinc_ptr(a), "first", 6);
    cr_assert_eq(zinc_create(name, (uintptr_t)page(), &b), -17);
    cr_assert_null(b);
    cr_assert_str_neq(zinc_last_error(), "");
    b = (ZincHandle)&b;
    cr_assert_eq(zinc_create(name, 2 * (uintptr_t)page(), &b), -17, "other size: still -17");
    cr_assert_null(b);
    zinc_create_opts o = {.flags = ZINC_CREATE_REPLACE_STALE};
    cr_assert_eq(zinc_create_ex(name, (uintptr_t)page(), &o, &b), -17, "owner is alive");
    cr_assert_null(b);
    /* The failed creates did not touch the region. */
    cr_assert_str_eq((char *)zinc_ptr(a), "first");
    zinc_region_info info;
    cr_assert_eq(zinc_inspect(name, &info), 0);
    cr_assert_eq(info.ref_count, 1);
    cr_assert_eq(info.owner_pid, getpid());
    zinc_close(a);
    cr_assert(!exists(name));
}

Test(region, missing_is_enoent)
{
    const char *name = tname("missing");
    ZincHandle h = (ZincHandle)&h;
    cr_assert_eq(zinc_open(name, &h), -2);
    cr_assert_null(h);
    cr_assert_str_neq(zinc_last_error(), "");
    cr_assert(strstr(zinc_last_error(), name) != NULL, "message names the region: %s",
              zinc_last_error());
    zinc_region_info info;
    cr_assert_eq(zinc_inspect(name, &info), -2);
    cr_assert_eq(zinc_unlink(name), -2);
    cr_assert(!exists(name), "open must not create");
}

Test(region, other_uid_is_eperm)
{
    if (geteuid() != 0)
        cr_skip_test("needs root to switch to uid 65534");
    const char *name = tname("eperm");
    ZincHandle h;
    cr_assert_eq(zinc_create(name, (uintptr_t)page(), &h), 0);
    pid_t pid = fork_child();
    cr_assert(pid >= 0);
    if (pid == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(77);
        ZincHandle o = (ZincHandle)&o;
        if (zinc_open(name, &o) != -1 || o != NULL)
            _exit(1);
        zinc_region_info info;
        if (zinc_inspect(name, &info) != -1)
            _exit(2);
        /* The other user may not take the name over either. */
        zinc_create_opts opts = {.flags = ZINC_CREATE_REPLACE_STALE};
        int r = zinc_create_ex(name, (uintptr_t)page(), &opts, &o);
        if (r != -1 && r != -17)
            _exit(3);
        _exit(0);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        cr_skip_test("setuid(65534) not permitted here");
    cr_assert_eq(WEXITSTATUS(status), 0, "child step %d failed", WEXITSTATUS(status));
    zinc_region_info info;
    cr_assert_eq(zinc_inspect(name, &info), 0);
    cr_assert_eq(info.ref_count, 1, "the refused open took no reference");
    zinc_close(h);
    cr_assert(!exists(name));
}

Test(region, failed_create_leaves_nothing)
{
    /* 4 EiB passes validation (a page multiple that fits off_t) but cannot
     * be backed: create fails after shm_open and must unlink its name. Only
     * where /dev/shm has a size limit, so the kernel refuses at once. */
    struct statvfs sv;
    if (statvfs("/dev/shm", &sv) != 0 || sv.f_blocks == 0)
        cr_skip_test("/dev/shm has no size limit");
    const char *name = tname("nospace");
    ZincHandle h = (ZincHandle)&h;
    int r = zinc_create(name, (uintptr_t)1 << 62, &h);
    cr_assert_lt(r, 0, "4 EiB region created?");
    cr_assert_neq(r, -22, "valid capacity");
    cr_assert_null(h);
    cr_assert(!exists(name), "create failed with %d and left its name behind", r);
}

/* ---- hostile headers -------------------------------------------------------- */

/* Open and inspect refuse the object with -74, the object is left alone. */
static void expect_corrupt(const char *name, bool inspect_too, const char *what)
{
    size_t len0;
    uint8_t *before = read_obj(name, &len0);
    ZincHandle h = (ZincHandle)&h;
    cr_assert_eq(zinc_open(name, &h), -74, "%s: open", what);
    cr_assert_null(h, "%s", what);
    cr_assert_str_neq(zinc_last_error(), "", "%s", what);
    if (inspect_too) {
        zinc_region_info info;
        cr_assert_eq(zinc_inspect(name, &info), -74, "%s: inspect", what);
    }
    size_t len1;
    uint8_t *after = read_obj(name, &len1);
    cr_assert_eq(len0, len1, "%s", what);
    cr_assert_arr_eq(before, after, len0, "%s: a refused open changed the object", what);
    free(before);
    free(after);
    cr_assert_eq(zinc_unlink(name), 0);
}

Test(region, corrupt_headers)
{
    const char *name = tname("corrupt");
    off_t pg = (off_t)page();
    struct raw_hdr h;

    h = good_hdr(name, 1, (uint64_t)pg);
    h.magic = 0;
    put_hdr_obj(name, &h, 64 + pg);
    expect_corrupt(name, true, "magic 0");

    /* the text "ZINC_REG" memcpy'd: the byte-reversed magic */
    uint8_t b[64];
    h = good_hdr(name, 1, (uint64_t)pg);
    encode(b, &h);
    memcpy(b, "ZINC_REG", 8);
    put_obj(name, b, 64, 64 + pg);
    expect_corrupt(name, true, "magic as text");

    h = good_hdr(name, 1, (uint64_t)pg);
    h.magic ^= 1;
    put_hdr_obj(name, &h, 64 + pg);
    expect_corrupt(name, true, "one bit off");

    uint16_t versions[] = {0, 3, 0x100, 0xFFFF};
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        h = good_hdr(name, versions[i], (uint64_t)pg);
        put_hdr_obj(name, &h, 64 + pg);
        expect_corrupt(name, true, "unknown version");
        h = good_hdr(name, versions[i], (uint64_t)pg);
        put_hdr_obj(name, &h, pg + pg);
        expect_corrupt(name, true, "unknown version, v2 size");
    }

    /* truncated below a header */
    off_t small[] = {0, 1, 8, 16, 63};
    for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
        h = good_hdr(name, 1, (uint64_t)pg);
        put_hdr_obj(name, &h, small[i]);
        expect_corrupt(name, true, "truncated");
    }

    /* v1 capacity larger than the file */
    uint64_t caps[] = {0, (uint64_t)pg + 1, 2 * (uint64_t)pg, UINT64_MAX, UINT64_MAX - 63,
                       (uint64_t)1 << 63};
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        h = good_hdr(name, 1, caps[i]);
        put_hdr_obj(name, &h, 64 + pg);
        expect_corrupt(name, true, "v1 capacity");
    }
    /* v1 file one byte short of 64 + capacity */
    h = good_hdr(name, 1, (uint64_t)pg);
    put_hdr_obj(name, &h, 64 + pg - 1);
    expect_corrupt(name, true, "v1 file short by one");
    h = good_hdr(name, 1, (uint64_t)pg);
    put_hdr_obj(name, &h, 64);
    expect_corrupt(name, true, "v1 header only");

    /* v2 whose capacity and size disagree */
    struct {
        uint64_t cap;
        off_t size;
    } v2[] = {
        {(uint64_t)pg, pg},                   /* one page: no data */
        {0, pg},
        {(uint64_t)pg + 1, 2 * pg},           /* capacity != size - page */
        {2 * (uint64_t)pg, 2 * pg},
        {(uint64_t)pg - 1, 2 * pg},
        {(uint64_t)pg, 2 * pg + 64},          /* size not a page multiple */
        {(uint64_t)pg + 64, 2 * pg + 64},
        {UINT64_MAX, 2 * pg},
        {(uint64_t)pg, 64 + pg},              /* a v1-sized file */
    };
    for (size_t i = 0; i < sizeof(v2) / sizeof(v2[0]); i++) {
        h = good_hdr(name, 2, v2[i].cap);
        put_hdr_obj(name, &h, v2[i].size);
        expect_corrupt(name, true, "v2 geometry");
    }

    /* ref_count that cannot be incremented: open refuses, inspect reads */
    uint32_t rcs[] = {0, UINT32_MAX};
    for (size_t i = 0; i < 2; i++) {
        h = good_hdr(name, 1, (uint64_t)pg);
        h.ref_count = rcs[i];
        put_hdr_obj(name, &h, 64 + pg);
        expect_corrupt(name, false, "ref_count");
        h = good_hdr(name, 2, (uint64_t)pg);
        h.ref_count = rcs[i];
        put_hdr_obj(name, &h, 2 * pg);
        expect_corrupt(name, false, "v2 ref_count");
    }
    /* UINT32_MAX - 1 is still a count: open takes the last one */
    h = good_hdr(name, 1, (uint64_t)pg);
    h.ref_count = UINT32_MAX - 1;
    put_hdr_obj(name, &h, 64 + pg);
    ZincHandle ok;
    cr_assert_eq(zinc_open(name, &ok), 0, "%s", zinc_last_error());
    ZincHandle no = (ZincHandle)&no;
    cr_assert_eq(zinc_open(name, &no), -74, "count would overflow");
    cr_assert_null(no);
    zinc_close(ok);
    cr_assert_eq(zinc_unlink(name), 0);
}

Test(region, random_headers_never_crash)
{
    /* Deterministic garbage around a valid header: open returns 0 or -74,
     * never crashes, and never hands out a pointer past the object. */
    const char *name = tname("fuzz");
    off_t pg = (off_t)page();
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 300; i++) {
        struct raw_hdr h = good_hdr(name, 1 + (uint16_t)(i & 1), (uint64_t)pg);
        uint8_t b[64];
        encode(b, &h);
        off_t size = (i & 1) ? 2 * pg : 64 + pg;
        for (int k = 0; k < 3; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b[8 + x % 56] = (uint8_t)(x >> 32); /* anything but the magic */
        }
        if (i % 7 == 0)
            size = (off_t)(x % (uint64_t)(3 * pg));
        put_obj(name, b, size < 64 ? (size_t)size : 64, size);
        ZincHandle hd = (ZincHandle)&hd;
        int r = zinc_open(name, &hd);
        cr_assert(r == 0 || r == -74, "round %d: %d", i, r);
        if (r == 0) {
            uint8_t *p = zinc_ptr(hd);
            uintptr_t cap = zinc_capacity(hd);
            uint64_t off = zinc_layout(hd) == 2 ? (uint64_t)pg : 64;
            cr_assert_leq(off + cap, (uint64_t)size, "round %d", i);
            p[0] = 1;
            p[cap - 1] = 1; /* the whole data area is mapped */
            zinc_close(hd);
        } else {
            cr_assert_null(hd);
        }
        zinc_region_info info;
        r = zinc_inspect(name, &info);
        cr_assert(r == 0 || r == -74, "round %d: inspect %d", i, r);
        zinc_unlink(name);
    }
}

/* ---- regions made by upstream ------------------------------------------------ */

Test(region, handmade_v2_opens)
{
    const char *name = tname("upstream_v2");
    off_t pg = (off_t)page();
    uint64_t cap = 3 * (uint64_t)pg;
    size_t size = (size_t)pg + cap;
    uint8_t *obj = calloc(1, size);
    cr_assert(obj);
    struct raw_hdr h = good_hdr(name, 2, cap);
    h.notify_seq = 0;
    encode(obj, &h);
    memcpy(obj + pg, "written by upstream", 20);
    obj[size - 1] = 0x5A;
    put_obj(name, obj, size, (off_t)size);
    free(obj);

    ZincHandle r;
    cr_assert_eq(zinc_open(name, &r), 0, "%s", zinc_last_error());
    cr_assert_eq(zinc_layout(r), 2);
    cr_assert_eq(zinc_capacity(r), cap);
    uint8_t *p = zinc_ptr(r);
    cr_assert_str_eq((char *)p, "written by upstream", "data at offset page_size");
    cr_assert_eq(p[cap - 1], 0x5A);
    cr_assert_eq(le(p - pg, 8), 0x5A494E435F524547ull, "header one page before the data");
    cr_assert_eq(zinc_try_wait(r), -11);

    zinc_region_info info;
    cr_assert_eq(zinc_region_info_get(r, &info), 0);
    cr_assert_eq(info.version, 2);
    cr_assert_eq(info.data_offset, (uint64_t)pg);
    cr_assert_eq(info.file_size, size);
    cr_assert_eq(info.ref_count, 2);
    cr_assert_eq(zinc_inspect(name, &info), 0);
    cr_assert_eq(info.version, 2);
    cr_assert_eq(info.data_offset, (uint64_t)pg);

    size_t len;
    uint8_t *b = read_obj(name, &len);
    cr_assert_eq(le(b + 24, 4), 2, "open took a reference");
    free(b);
    zinc_close(r);
    b = read_obj(name, &len);
    cr_assert_eq(le(b + 24, 4), 1, "close gave it back");
    cr_assert_eq(le(b + 10, 2), 0, "a non-owner close sets no flag");
    free(b);
    cr_assert(exists(name), "the upstream owner has not closed: the name stays");
}

Test(region, handmade_v1_opens)
{
    const char *name = tname("upstream_v1");
    uint64_t cap = (uint64_t)page();
    uint8_t *obj = calloc(1, 64 + cap);
    struct raw_hdr h = good_hdr(name, 1, cap);
    h.notify_seq = 7;
    h.flags = 0x8000; /* reserved by upstream: readers must not depend on it */
    encode(obj, &h);
    memcpy(obj + 64, "v1 payload", 11);
    put_obj(name, obj, 64 + cap, (off_t)(64 + cap));
    free(obj);
    ZincHandle r;
    cr_assert_eq(zinc_open(name, &r), 0, "%s", zinc_last_error());
    cr_assert_eq(zinc_layout(r), 1);
    cr_assert_eq(zinc_capacity(r), cap);
    cr_assert_str_eq((char *)zinc_ptr(r), "v1 payload", "data at offset 64");
    cr_assert_eq(zinc_try_wait(r), 0, "notify_seq 7 != cursor 0: one pending");
    cr_assert_eq(zinc_try_wait(r), -11);
    zinc_close(r);
    cr_assert(exists(name));
}

/* ---- misc API ----------------------------------------------------------------- */

Test(region, version)
{
    cr_assert_eq(zinc_version(), 0x10001u);
    cr_assert_eq(zinc_version(), (1u << 16) | 1u);
}

Test(region, strerror_every_code)
{
    const int32_t codes[] = {0, -1, -2, -11, -16, -17, -22, -28, -32, -74, -75, -90, -110};
    const size_t n = sizeof(codes) / sizeof(codes[0]);
    for (size_t i = 0; i < n; i++) {
        const char *m = zinc_strerror(codes[i]);
        cr_assert_not_null(m);
        cr_assert_gt(strlen(m), 5, "code %d", codes[i]);
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(m, zinc_strerror(codes[j]), "codes %d and %d share a message",
                              codes[i], codes[j]);
    }
    /* other -errno values and nonsense still give text */
    const int32_t others[] = {-5, -12, -24, -27, -36, -9999, INT32_MIN, 1, 42, INT32_MAX};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        const char *m = zinc_strerror(others[i]);
        cr_assert_not_null(m);
        cr_assert_gt(strlen(m), 0);
    }
}

Test(region, last_error_per_failure)
{
    const char *name = tname("lasterr");
    ZincHandle h;
    cr_assert_eq(zinc_open(name, &h), -2);
    char first[512];
    snprintf(first, sizeof(first), "%s", zinc_last_error());
    cr_assert_str_neq(first, "");
    cr_assert_eq(zinc_create(name, 3, &h), -22);
    cr_assert_str_neq(zinc_last_error(), "");
    cr_assert_str_neq(zinc_last_error(), first, "each failure says what went wrong");
    cr_assert_eq(zinc_create(name, (uintptr_t)page(), &h), 0);
    cr_assert_str_eq(zinc_last_error(), "", "a successful call clears the message");
    ZincHandle h2;
    cr_assert_eq(zinc_create(name, (uintptr_t)page(), &h2), -17);
    cr_assert_str_neq(zinc_last_error(), "");
    zinc_close(h);
}

Test(region, null_handle_everywhere)
{
    cr_assert_null(zinc_ptr(NULL));
    cr_assert_eq(zinc_capacity(NULL), 0);
    cr_assert_eq(zinc_layout(NULL), 0);
    zinc_close(NULL);
    zinc_notify(NULL);
    cr_assert_eq(zinc_wait(NULL, 0), -22);
    cr_assert_eq(zinc_wait(NULL, 10), -22);
    cr_assert_eq(zinc_try_wait(NULL), -22);
    zinc_region_info info;
    cr_assert_eq(zinc_region_info_get(NULL, &info), -22);
    cr_assert_eq(zinc_name_hash(NULL), 0);
    cr_assert_eq(zinc_name_valid(NULL), -22);

    const char *name = tname("nullarg");
    ZincHandle h;
    cr_assert_eq(zinc_create(name, (uintptr_t)page(), &h), 0);
    cr_assert_eq(zinc_region_info_get(h, NULL), -22);
    cr_assert_eq(zinc_inspect(name, NULL), -22);
    zinc_close(h);
}
