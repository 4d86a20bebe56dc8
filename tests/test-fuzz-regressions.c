/* SPDX-License-Identifier: MIT */
/*
 * test-fuzz-regressions.c — replays every committed fuzz input through the
 * fuzz targets, compiled here with the normal compiler and without
 * libFuzzer: the seed corpora (fuzz/corpus/<target>/) and the reproducers of
 * past findings (fuzz/regressions/<target>/, one file per finding, named
 * after it). A target abort()s on any broken invariant, and memory errors
 * show under the sanitizer builds, so a regression fails this test.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#define LLVMFuzzerTestOneInput fuzz_region_one
#include "../fuzz/fuzz-region.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_ring_attach_one
#include "../fuzz/fuzz-ring-attach.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_ring_acquire_one
#include "../fuzz/fuzz-ring-acquire.c"
#undef LLVMFuzzerTestOneInput

typedef int (*target_fn)(const uint8_t *, size_t);

/* Run every file of <root>/fuzz/<sub>/<target>/; returns how many. */
static int replay_dir(const char *sub, const char *target, target_fn fn)
{
    const char *root = getenv("ZINC_SRC_ROOT");
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/fuzz/%s/%s", root ? root : "..", sub, target);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[2048];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "%s", path);
        uint8_t *buf = malloc(1 << 20);
        cr_assert_not_null(buf);
        size_t len = fread(buf, 1, 1 << 20, f);
        fclose(f);
        fn(buf, len);
        free(buf);
        n++;
    }
    closedir(d);
    return n;
}

static void replay(const char *target, target_fn fn)
{
    int seeds = replay_dir("corpus", target, fn);
    replay_dir("regressions", target, fn);
    cr_assert_gt(seeds, 0, "no seed corpus found for %s (ZINC_SRC_ROOT?)", target);
}

Test(fuzz_regressions, region)
{
    replay("region", fuzz_region_one);
}

Test(fuzz_regressions, ring_attach)
{
    replay("ring-attach", fuzz_ring_attach_one);
}

Test(fuzz_regressions, ring_acquire)
{
    replay("ring-acquire", fuzz_ring_acquire_one);
}
