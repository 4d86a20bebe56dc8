/* SPDX-License-Identifier: MIT */
/*
 * fuzz-ring-attach.c — ring attach on arbitrary bytes: the object holds a
 * region header, a ring control block, consumer table and descriptors as the
 * fuzzer wrote them (seeds are valid ring images, so mutations start deep).
 * zinc_consumer_open must accept only rings whose numbers add up, and then
 * acquire/release/stream/config/stats/remove_stale/producer_create must stay
 * inside the mapping. Input: see fuzz-common.h; byte 4: bits 0-1 the
 * delivery mode, bit 2 also try zinc_producer_create over the object;
 *   bit 3  the double-fetch class: a second thread flips the region header
 *          and the control block's geometry line (24 words, image vs image
 *          ^ mask) while attach, acquire, stats and inspect run
 *   bit 4  it also flips the object's size: then only the readers that
 *          promise never to fault run (stats, inspect, remove_stale and
 *          producer_create's judge, all pread/pwrite), not attach
 */
#include <stdlib.h>

#include <zinc/ring.h>

#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_frame(const zinc_frame *f, const zinc_ring_config *cfg)
{
    if (f->size > cfg->slot_size)
        abort(); /* accepted a descriptor larger than the slot */
    if (f->tensor.ndim && zinc_tensor_check(&f->tensor, f->size) != 0)
        abort(); /* accepted a tensor outside the frame */
    (void)fuzz_touch(f->data, f->size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < FUZZ_HDR)
        return 0;
    const char *name = fuzz_name("attach");
    uint32_t objsize = fuzz_u32(data) % (FUZZ_MAX_OBJECT + 1);
    uint8_t opt = data[4];
    const uint8_t *img = data + FUZZ_HDR;
    size_t nimg = size - FUZZ_HDR;
    if (fuzz_write_object(name, objsize, img, nimg) < 0)
        abort();

    struct fuzz_flip fl = {.fd = -1};
    bool flips = opt & 8, resizes = opt & 16;
    if ((flips || resizes) && fuzz_flip_init(&fl, name, objsize) == 0) {
        off_t page = (off_t)sysconf(_SC_PAGESIZE);
        for (size_t i = 0; flips && i < 24; i++)
            fuzz_flip_word(&fl, img, nimg, i < 8 ? (off_t)(8 * i) : page + (off_t)(8 * (i - 8)),
                           fuzz_flip_mask(data, size, i, 24), objsize);
        if (resizes)
            fl.size_b = fuzz_flip_size(objsize, opt);
        fuzz_flip_start(&fl);
    }
    bool no_mapping = fl.running && resizes;

    zinc_consumer *c = NULL;
    int r = no_mapping ? ZINC_EINVAL : zinc_consumer_open(name, (zinc_delivery)(opt & 3), &c);
    if (r == 0) {
        zinc_ring_config cfg;
        if (zinc_consumer_config(c, &cfg) != 0 || cfg.slot_size == 0 ||
            (uint64_t)cfg.slot_count * cfg.slot_size > objsize)
            abort();
        zinc_frame f;
        if (zinc_consumer_stream(c, &f) == 0 && f.size > cfg.slot_size)
            abort();
        uint64_t last = 0;
        for (int i = 0; i < 4; i++) {
            r = zinc_consumer_acquire(c, &f, 0);
            if (r != 0)
                break;
            if (f.seq <= last)
                abort(); /* frames go forward */
            last = f.seq;
            check_frame(&f, &cfg);
            (void)zinc_consumer_release(c, &f);
        }
        (void)zinc_consumer_mode(c);
        zinc_consumer_close(c);
    } else if (c != NULL) {
        abort();
    }
    zinc_ring_stats rs;
    zinc_consumer_stats cs[4];
    uint32_t n = 0;
    if (zinc_ring_stats_read(name, &rs, cs, 4, &n) == 0 &&
        (n > rs.max_consumers || (uint64_t)rs.slot_count * rs.slot_size > rs.ring_bytes))
        abort(); /* a snapshot whose geometry does not fit its own object */
    zinc_region_info info;
    if (zinc_inspect(name, &info) == 0 && info.capacity > info.file_size)
        abort();
    fuzz_flip_stop(&fl);
    if (opt & 4) {
        zinc_ring_config pc = {.slot_count = 2, .slot_size = 64};
        zinc_producer *p = NULL;
        if (zinc_producer_create(name, &pc, &p) == 0)
            zinc_producer_close(p);
    } else {
        (void)zinc_ring_remove_stale(name);
    }
    fuzz_unlink(name);
    return 0;
}
