/* SPDX-License-Identifier: MIT */
/*
 * fuzz-ring-acquire.c — acquire/release (and the producer's claim) on a
 * valid, attached ring whose shared words are overwritten by fuzz bytes,
 * some before the calls and some by a second thread *while* the calls read
 * them (each flipped word alternates between its true and its fuzzed value).
 * Geometry is validated once at attach and kept privately, so whatever the
 * bytes say afterwards, every pointer handed out must stay inside the slot.
 *
 * Input:
 *   byte 0  bits 0-1 delivery mode; bit 2: the producer also claims and
 *           publishes between acquires (it reads the hostile consumer table)
 *   byte 1  frames published before the consumer attaches (mod 8)
 *   byte 2  frames published after it attaches (mod 8)
 *   byte 3  number of leading patches applied before any call; the other
 *           patches are flipped by the second thread during the calls
 *   then    patches of 10 bytes: u16 LE word index into [control block,
 *           consumer table, descriptors] and the u64 LE value to store
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include <zinc/ring.h>

#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SLOTS 4
#define SLOT_SIZE 256
#define MAX_PATCHES 64

struct patch {
    _Atomic uint64_t *word;
    uint64_t value, orig;
};

struct flipper {
    struct patch *p;
    size_t n;
    atomic_int stop; /* set by the main thread; relaxed: a plain stop flag */
};

static void *flip(void *arg)
{
    struct flipper *fl = arg;
    for (unsigned round = 0; !atomic_load_explicit(&fl->stop, memory_order_relaxed); round++)
        for (size_t i = 0; i < fl->n; i++)
            /* Relaxed: a hostile writer promises no ordering at all. */
            atomic_store_explicit(fl->p[i].word, (round & 1) ? fl->p[i].orig : fl->p[i].value,
                                  memory_order_relaxed);
    return NULL;
}

static uint64_t u64le(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

static void publish(zinc_producer *p, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        zinc_frame f;
        if (zinc_producer_claim(p, &f, 0) != 0)
            return;
        memset(f.data, (int)(f.seq & 0xff), 64);
        f.size = 64;
        if (f.seq & 1) {
            f.tensor.dtype_code = ZINC_DTYPE_UINT;
            f.tensor.dtype_bits = 8;
            f.tensor.dtype_lanes = 1;
            f.tensor.ndim = 2;
            f.tensor.shape[0] = 8;
            f.tensor.shape[1] = 8;
            f.tensor.strides[0] = 8;
            f.tensor.strides[1] = 1;
        }
        if (zinc_producer_publish(p, &f) != 0)
            abort(); /* our own valid frame */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    const char *name = fuzz_name("acquire");
    fuzz_unlink(name);
    zinc_ring_config cfg = {.slot_count = SLOTS, .max_consumers = 2, .slot_size = SLOT_SIZE,
                            .spin_ns = 1000};
    zinc_producer *p = NULL;
    if (zinc_producer_create(name, &cfg, &p) != 0)
        abort();
    ZincHandle h = NULL;
    if (zinc_open(name, &h) != 0)
        abort();
    uint8_t *ring = zinc_ptr(h); /* the ring base: control block first */
    const struct {
        uint64_t descs_end;
    } geo = {.descs_end = 1024 + 2 * 512 + SLOTS * 192};
    publish(p, data[1] % 8);

    zinc_consumer *c = NULL;
    if (zinc_consumer_open(name, (zinc_delivery)(data[0] % 3), &c) != 0)
        abort();
    publish(p, data[2] % 8);

    struct patch patches[MAX_PATCHES];
    size_t np = 0;
    for (size_t off = 4; off + 10 <= size && np < MAX_PATCHES; off += 10) {
        uint64_t word = (uint64_t)(data[off] | data[off + 1] << 8) % (geo.descs_end / 8);
        patches[np].word = (_Atomic uint64_t *)(ring + word * 8);
        patches[np].value = u64le(data + off + 2);
        patches[np].orig = atomic_load_explicit(patches[np].word, memory_order_relaxed);
        np++;
    }
    size_t nstatic = data[3] < np ? data[3] : np;
    for (size_t i = 0; i < nstatic; i++)
        atomic_store_explicit(patches[i].word, patches[i].value, memory_order_relaxed);

    struct flipper fl = {.p = patches + nstatic, .n = np - nstatic};
    atomic_init(&fl.stop, 0);
    pthread_t th;
    bool threaded = fl.n > 0 && pthread_create(&th, NULL, flip, &fl) == 0;

    uint64_t last = 0;
    for (int i = 0; i < 8; i++) {
        zinc_frame f;
        int r = zinc_consumer_acquire(c, &f, 0);
        if (r == 0) {
            if (f.seq <= last || f.size > SLOT_SIZE)
                abort(); /* frames go forward and fit their slot */
            if (f.tensor.ndim && zinc_tensor_check(&f.tensor, f.size) != 0)
                abort();
            last = f.seq;
            (void)fuzz_touch(f.data, f.size);
            r = zinc_consumer_release(c, &f);
            if (r != 0 && r != ZINC_EOVERFLOW)
                abort();
            if (zinc_consumer_release(c, &f) != ZINC_EINVAL)
                abort(); /* released twice */
        } else if (r != ZINC_EAGAIN && r != ZINC_EPIPE && r != ZINC_EBADMSG) {
            abort();
        }
        if (data[0] & 4)
            publish(p, 1);
    }
    if (threaded) {
        atomic_store_explicit(&fl.stop, 1, memory_order_relaxed);
        pthread_join(th, NULL);
    }
    zinc_consumer_close(c);
    zinc_close(h);
    zinc_producer_close(p);
    fuzz_unlink(name);
    return 0;
}
