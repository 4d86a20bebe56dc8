/* SPDX-License-Identifier: MIT */
/*
 * fuzz-region.c — region open/validation on arbitrary bytes. The object
 * /dev/shm/zinc_<name> is written by the fuzzer (a hostile or broken
 * creator); zinc_open, zinc_inspect and the stale-replacement path of
 * zinc_create_ex must answer with a code, never crash or read outside the
 * mapping. Input: see fuzz-common.h; byte 4:
 *   bit 0  the double-fetch class: a second thread flips the 8 header words
 *          (between image and image ^ mask) while open/inspect/info run
 *   bit 1  it also flips the object's size: then only the calls that read
 *          with pread run (inspect, the replace-stale judge), which must
 *          never fault; a mapped reader of a shrinking object can
 *          (docs/reliability.md, what remains)
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
    uint8_t opt = data[4];
    const uint8_t *img = data + FUZZ_HDR;
    size_t n = size - FUZZ_HDR;
    if (fuzz_write_object(name, objsize, img, n) < 0)
        abort(); /* /dev/shm unusable: not a finding, but do not go on blind */

    struct fuzz_flip fl = {.fd = -1};
    bool flips = opt & 1, resizes = opt & 2;
    if ((flips || resizes) && fuzz_flip_init(&fl, name, objsize) == 0) {
        for (size_t i = 0; flips && i < 8; i++)
            fuzz_flip_word(&fl, img, n, (off_t)(8 * i), fuzz_flip_mask(data, size, i, 8),
                           objsize);
        if (resizes)
            fl.size_b = fuzz_flip_size(objsize, opt);
        fuzz_flip_start(&fl);
    }
    bool changing = fl.running;

    zinc_region_info info;
    int ri = zinc_inspect(name, &info);
    if (ri == 0 && (info.capacity > info.file_size ||
                    info.data_offset > info.file_size - info.capacity))
        abort(); /* inspect's own numbers must add up, whatever it raced with */
    ZincHandle h = NULL;
    int r = (changing && resizes) ? ZINC_EINVAL : zinc_open(name, &h);
    if (r == 0) {
        /* Validation passed: everything the handle hands out must be inside
         * the object. */
        uint8_t *p = zinc_ptr(h);
        uintptr_t cap = zinc_capacity(h);
        if (!p || cap == 0 || cap > objsize)
            abort();
        if (!changing && (ri != 0 || info.capacity != cap))
            abort(); /* open and inspect disagree on the same bytes */
        volatile uint8_t sink = p[0] ^ p[cap - 1];
        (void)sink;
        zinc_region_info gi;
        if (zinc_region_info_get(h, &gi) != 0 || gi.capacity != cap)
            abort(); /* the handle's view is the validated one, never re-read */
        (void)zinc_try_wait(h);
        (void)zinc_wait(h, 0);
        zinc_close(h);
    } else if (h != NULL) {
        abort(); /* *out must stay NULL on failure */
    }
    /* The stale-replacement path reads the same hostile header (pread). */
    zinc_create_opts o = {.layout_version = 1, .flags = ZINC_CREATE_REPLACE_STALE};
    ZincHandle c = NULL;
    int rc = zinc_create_ex(name, 4096, &o, &c);
    fuzz_flip_stop(&fl);
    if (rc == 0)
        zinc_close(c);
    fuzz_unlink(name);
    return 0;
}
