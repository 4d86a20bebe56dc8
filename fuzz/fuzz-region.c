/* SPDX-License-Identifier: MIT */
/*
 * fuzz-region.c — region open/validation on arbitrary bytes. The object
 * /dev/shm/zinc_<name> is written by the fuzzer (a hostile or broken
 * creator); zinc_open, zinc_inspect and the stale-replacement path of
 * zinc_create_ex must answer with a code, never crash or read outside the
 * mapping. Input: see fuzz-common.h (byte 4 unused).
 */
#include <stdlib.h>

#include <zinc/zinc.h>

#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < FUZZ_HDR)
        return 0;
    const char *name = fuzz_name("region");
    uint32_t objsize = fuzz_u32(data) % (FUZZ_MAX_OBJECT + 1);
    if (fuzz_write_object(name, objsize, data + FUZZ_HDR, size - FUZZ_HDR) < 0)
        abort(); /* /dev/shm unusable: not a finding, but do not go on blind */

    zinc_region_info info;
    int ri = zinc_inspect(name, &info);
    ZincHandle h = NULL;
    int r = zinc_open(name, &h);
    if (r == 0) {
        /* Validation passed: everything the handle hands out must be inside
         * the object. */
        uint8_t *p = zinc_ptr(h);
        uintptr_t cap = zinc_capacity(h);
        if (!p || cap == 0)
            abort();
        if (ri != 0 || info.capacity != cap)
            abort(); /* open and inspect disagree on the same bytes */
        volatile uint8_t sink = p[0] ^ p[cap - 1];
        (void)sink;
        zinc_region_info gi;
        if (zinc_region_info_get(h, &gi) != 0 || gi.capacity != cap)
            abort();
        (void)zinc_try_wait(h);
        (void)zinc_wait(h, 0);
        zinc_close(h);
    } else if (h != NULL) {
        abort(); /* *out must stay NULL on failure */
    }
    /* The stale-replacement path reads the same hostile header. */
    zinc_create_opts o = {.layout_version = 1, .flags = ZINC_CREATE_REPLACE_STALE};
    ZincHandle c = NULL;
    if (zinc_create_ex(name, 4096, &o, &c) == 0)
        zinc_close(c);
    fuzz_unlink(name);
    return 0;
}
