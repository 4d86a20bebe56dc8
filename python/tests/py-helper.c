/* SPDX-License-Identifier: MIT */
/*
 * zinc-py-helper — the C side of the Python adapter's interop tests.
 *
 *   sizes                     print sizeof/offsetof of the public structs
 *   produce NAME COUNT W H    create ring NAME, print "ready", wait for a line
 *                             on stdin, publish COUNT RGB24 WxH frames, close
 *   consume NAME COUNT MODE   attach (MODE 0/1/2), print "attached", acquire
 *                             COUNT frames and print one line per frame:
 *                             "frame SEQ SIZE NDIM S0 S1 S2 ST0 ST1 ST2 CODE BITS SUM TS"
 *   stream NAME W H           create ring NAME (stream descriptor RGB24 WxH),
 *                             print "ready", publish frames every ~2 ms until
 *                             stdin becomes readable (a line or EOF), close
 *   hostile NAME WHAT         create ring NAME, print "ready", wait for a line,
 *                             publish one good frame, corrupt its descriptor in
 *                             shared memory (WHAT: shape, strides, offset, size,
 *                             ndim, dtype), print "published", wait for EOF
 *
 * Synchronisation with the Python side is by lines on stdin/stdout only.
 */
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zinc/ring.h>
#include <zinc/zinc.h>

#include "layout.h"

#define FIELD(s, f) printf("%s.%s %zu\n", #s, #f, offsetof(s, f))
#define SIZE(s) printf("%s %zu\n", #s, sizeof(s))

static int sizes(void)
{
    SIZE(zinc_create_opts);
    FIELD(zinc_create_opts, flags);
    FIELD(zinc_create_opts, reserved);
    SIZE(zinc_region_info);
    FIELD(zinc_region_info, notify_seq);
    FIELD(zinc_region_info, capacity);
    FIELD(zinc_region_info, data_offset);
    FIELD(zinc_region_info, file_size);
    FIELD(zinc_region_info, ref_count);
    FIELD(zinc_region_info, owner_pid);
    FIELD(zinc_region_info, owner_alive);
    FIELD(zinc_region_info, is_ring);
    FIELD(zinc_region_info, created_at);
    FIELD(zinc_region_info, name_hash);
    FIELD(zinc_region_info, reserved);
    SIZE(zinc_ring_config);
    FIELD(zinc_ring_config, max_consumers);
    FIELD(zinc_ring_config, slot_size);
    FIELD(zinc_ring_config, flags);
    FIELD(zinc_ring_config, spin_ns);
    FIELD(zinc_ring_config, demote_after_ns);
    FIELD(zinc_ring_config, reserved);
    SIZE(zinc_tensor);
    FIELD(zinc_tensor, dtype_bits);
    FIELD(zinc_tensor, dtype_lanes);
    FIELD(zinc_tensor, ndim);
    FIELD(zinc_tensor, offset);
    FIELD(zinc_tensor, shape);
    FIELD(zinc_tensor, strides);
    SIZE(zinc_frame);
    FIELD(zinc_frame, size);
    FIELD(zinc_frame, seq);
    FIELD(zinc_frame, timestamp_ns);
    FIELD(zinc_frame, publish_ns);
    FIELD(zinc_frame, dropped);
    FIELD(zinc_frame, tensor);
    FIELD(zinc_frame, fourcc);
    FIELD(zinc_frame, flags);
    FIELD(zinc_frame, user);
    FIELD(zinc_frame, reserved);
    SIZE(zinc_consumer_stats);
    FIELD(zinc_consumer_stats, mode);
    FIELD(zinc_consumer_stats, pid);
    FIELD(zinc_consumer_stats, alive);
    FIELD(zinc_consumer_stats, demoted);
    FIELD(zinc_consumer_stats, evicted);
    FIELD(zinc_consumer_stats, cursor);
    FIELD(zinc_consumer_stats, lag);
    FIELD(zinc_consumer_stats, acquired);
    FIELD(zinc_consumer_stats, released);
    FIELD(zinc_consumer_stats, dropped);
    FIELD(zinc_consumer_stats, torn);
    FIELD(zinc_consumer_stats, attached_ns);
    FIELD(zinc_consumer_stats, latency);
    SIZE(zinc_ring_stats);
    FIELD(zinc_ring_stats, head);
    FIELD(zinc_ring_stats, slot_count);
    FIELD(zinc_ring_stats, max_consumers);
    FIELD(zinc_ring_stats, slot_size);
    FIELD(zinc_ring_stats, ring_bytes);
    FIELD(zinc_ring_stats, producer_state);
    FIELD(zinc_ring_stats, producer_alive);
    FIELD(zinc_ring_stats, producer_pid);
    FIELD(zinc_ring_stats, consumers);
    FIELD(zinc_ring_stats, published);
    FIELD(zinc_ring_stats, aborted);
    FIELD(zinc_ring_stats, blocked_ns);
    FIELD(zinc_ring_stats, blocked_claims);
    FIELD(zinc_ring_stats, evicted);
    FIELD(zinc_ring_stats, demoted);
    FIELD(zinc_ring_stats, created_ns);
    FIELD(zinc_ring_stats, last_publish_ns);
    FIELD(zinc_ring_stats, flags);
    FIELD(zinc_ring_stats, stream_fourcc);
    FIELD(zinc_ring_stats, reserved);
    return 0;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "zinc-py-helper: %s: %d %s (%s)\n", what, rc, zinc_strerror(rc),
            zinc_last_error());
    return 1;
}

static int wait_line(void)
{
    char line[64];
    return fgets(line, sizeof(line), stdin) ? 0 : -1;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int produce(const char *name, unsigned count, unsigned w, unsigned h)
{
    zinc_ring_config cfg = {0};
    cfg.slot_count = 4;
    cfg.slot_size = (uint64_t)w * h * 3;
    zinc_producer *p;
    int rc = zinc_producer_create(name, &cfg, &p);
    if (rc < 0)
        return fail("create", rc);
    printf("ready\n");
    fflush(stdout);
    if (wait_line() < 0) {
        zinc_producer_close(p);
        return fail("stdin closed before go", ZINC_EPIPE);
    }
    for (unsigned i = 0; i < count; i++) {
        zinc_frame f;
        rc = zinc_producer_claim(p, &f, 10 * 1000000000ll);
        if (rc < 0)
            break;
        rc = zinc_frame_set_image(&f, ZINC_FOURCC_RGB24, w, h);
        if (rc < 0)
            break;
        uint8_t *b = f.data;
        for (uint64_t k = 0; k < f.size; k++)
            b[k] = (uint8_t)(f.seq * 7 + k);
        f.timestamp_ns = mono_ns();
        memcpy(f.user, &f.seq, sizeof(f.seq));
        rc = zinc_producer_publish(p, &f);
        if (rc < 0)
            break;
    }
    zinc_producer_close(p);
    if (rc < 0)
        return fail("produce", rc);
    return 0;
}

static int stream(const char *name, unsigned w, unsigned h)
{
    zinc_ring_config cfg = {0};
    cfg.slot_count = 8;
    cfg.slot_size = (uint64_t)w * h * 3;
    zinc_producer *p;
    int rc = zinc_producer_create(name, &cfg, &p);
    if (rc < 0)
        return fail("create", rc);
    zinc_frame desc = {0};
    desc.size = cfg.slot_size;
    rc = zinc_frame_set_image(&desc, ZINC_FOURCC_RGB24, w, h);
    if (rc == 0)
        rc = zinc_producer_set_stream(p, &desc);
    if (rc < 0) {
        zinc_producer_close(p);
        return fail("set_stream", rc);
    }
    printf("ready\n");
    fflush(stdout);
    struct pollfd pfd = {.fd = 0, .events = POLLIN};
    /* poll() paces the frames (2 ms) and notices the end of the test. */
    while (poll(&pfd, 1, 2) == 0) {
        zinc_frame f;
        rc = zinc_producer_claim(p, &f, 1000000000ll);
        if (rc == ZINC_ETIMEDOUT)
            continue; /* a stalled EVERY reader: keep watching stdin */
        if (rc < 0)
            break;
        rc = zinc_frame_set_image(&f, ZINC_FOURCC_RGB24, w, h);
        if (rc < 0)
            break;
        memset(f.data, (int)(f.seq & 0xff), f.size);
        f.timestamp_ns = mono_ns();
        rc = zinc_producer_publish(p, &f);
        if (rc < 0)
            break;
    }
    zinc_producer_close(p);
    return rc < 0 ? fail("stream", rc) : 0;
}

static int consume(const char *name, unsigned count, int mode)
{
    zinc_consumer *c;
    int rc = zinc_consumer_open(name, (zinc_delivery)mode, &c);
    if (rc < 0)
        return fail("open", rc);
    printf("attached\n");
    fflush(stdout);
    for (unsigned i = 0; i < count; i++) {
        zinc_frame f;
        rc = zinc_consumer_acquire(c, &f, 10 * 1000000000ll);
        if (rc < 0)
            break;
        uint64_t sum = 0;
        const uint8_t *b = f.data;
        for (uint64_t k = 0; k < f.size; k++)
            sum += b[k];
        int chk = zinc_tensor_check(&f.tensor, f.size);
        printf("frame %llu %llu %u %llu %llu %llu %lld %lld %lld %u %u %llu %llu %d\n",
               (unsigned long long)f.seq, (unsigned long long)f.size, f.tensor.ndim,
               (unsigned long long)f.tensor.shape[0], (unsigned long long)f.tensor.shape[1],
               (unsigned long long)f.tensor.shape[2], (long long)f.tensor.strides[0],
               (long long)f.tensor.strides[1], (long long)f.tensor.strides[2],
               f.tensor.dtype_code, f.tensor.dtype_bits, (unsigned long long)sum,
               (unsigned long long)f.timestamp_ns, chk);
        rc = zinc_consumer_release(c, &f);
        printf("release %d\n", rc);
        fflush(stdout);
    }
    zinc_consumer_close(c);
    if (rc < 0)
        return fail("consume", rc);
    return 0;
}

static int hostile(const char *name, const char *what)
{
    zinc_ring_config cfg = {0};
    cfg.slot_count = 2;
    cfg.slot_size = 4096;
    zinc_producer *p;
    int rc = zinc_producer_create(name, &cfg, &p);
    if (rc < 0)
        return fail("create", rc);
    printf("ready\n");
    fflush(stdout);
    if (wait_line() < 0) {
        zinc_producer_close(p);
        return 1;
    }
    zinc_frame f;
    rc = zinc_producer_claim(p, &f, 0);
    if (rc == 0)
        rc = zinc_frame_set_image(&f, ZINC_FOURCC_GREY, 64, 64);
    if (rc == 0)
        rc = zinc_producer_publish(p, &f);
    if (rc < 0) {
        zinc_producer_close(p);
        return fail("publish", rc);
    }
    /* Corrupt the published descriptor in place, keeping its seqlock word
     * even, as a buggy or malicious producer could. */
    ZincHandle h;
    rc = zinc_open(name, &h);
    if (rc < 0) {
        zinc_producer_close(p);
        return fail("open region", rc);
    }
    uint8_t *base = zinc_ptr(h);
    struct zr_ctl *ctl = (struct zr_ctl *)base;
    struct zr_desc *d = (struct zr_desc *)(base + ctl->geom.off_descs) +
                        ((f.seq - 1) & (ctl->geom.slot_count - 1));
    _Atomic uint64_t *w = d->w;
    if (!strcmp(what, "shape"))
        atomic_store_explicit(&w[ZD_SHAPE], 1000000, memory_order_relaxed);
    else if (!strcmp(what, "strides"))
        atomic_store_explicit(&w[ZD_STRIDES], (uint64_t)-64, memory_order_relaxed);
    else if (!strcmp(what, "offset"))
        atomic_store_explicit(&w[ZD_OFFSET], 4000, memory_order_relaxed);
    else if (!strcmp(what, "size"))
        atomic_store_explicit(&w[ZD_SIZE], 1u << 20, memory_order_relaxed);
    else if (!strcmp(what, "ndim"))
        atomic_store_explicit(&w[ZD_DTYPE], 1u | 8u << 8 | 1u << 16 | (uint64_t)7 << 32,
                              memory_order_relaxed);
    else if (!strcmp(what, "dtype"))
        atomic_store_explicit(&w[ZD_DTYPE], 9u | 8u << 8 | 1u << 16 | (uint64_t)2 << 32,
                              memory_order_relaxed);
    /* Relaxed stores are enough: the reader is told to look only after the
     * "published" line, and the pipe orders everything before it. */
    zinc_close(h);
    printf("published\n");
    fflush(stdout);
    wait_line();
    zinc_producer_close(p);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && !strcmp(argv[1], "sizes"))
        return sizes();
    if (argc == 6 && !strcmp(argv[1], "produce"))
        return produce(argv[2], (unsigned)atoi(argv[3]), (unsigned)atoi(argv[4]),
                       (unsigned)atoi(argv[5]));
    if (argc == 5 && !strcmp(argv[1], "stream"))
        return stream(argv[2], (unsigned)atoi(argv[3]), (unsigned)atoi(argv[4]));
    if (argc == 5 && !strcmp(argv[1], "consume"))
        return consume(argv[2], (unsigned)atoi(argv[3]), atoi(argv[4]));
    if (argc == 4 && !strcmp(argv[1], "hostile"))
        return hostile(argv[2], argv[3]);
    fprintf(stderr, "usage: zinc-py-helper sizes | produce NAME COUNT W H | "
                    "stream NAME W H | consume NAME COUNT MODE | hostile NAME WHAT\n");
    return 2;
}
