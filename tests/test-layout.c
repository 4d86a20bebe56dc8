/* SPDX-License-Identifier: MIT */
/*
 * test-layout.c — pins the shared-memory layout documented in
 * docs/layout.md: every offset and size of src/layout.h as a literal
 * number, and a live ring read back byte by byte from /dev/shm (pread, no
 * structs) at the documented offsets. If this test has to change, the
 * layout version has to change too, and docs/layout.md with it.
 */
#include <criterion/criterion.h>
#include <stddef.h>

#include <zinc/ring.h>
#include <zinc/zinc.h>

#include "layout.h"
#include "ring-util.h"

#include "ring-suite.h"

TestSuite(layout, .init = ru_suite_setup, .fini = ru_suite_teardown, .timeout = 30);

/* ---- the structs, as numbers -------------------------------------------------- */

Test(layout, region_header)
{
    cr_expect_eq(sizeof(struct zinc_hdr), 64);
    cr_expect_eq(offsetof(struct zinc_hdr, magic), 0);
    cr_expect_eq(offsetof(struct zinc_hdr, version), 8);
    cr_expect_eq(offsetof(struct zinc_hdr, flags), 10);
    cr_expect_eq(offsetof(struct zinc_hdr, notify_seq), 12);
    cr_expect_eq(offsetof(struct zinc_hdr, capacity), 16);
    cr_expect_eq(offsetof(struct zinc_hdr, ref_count), 24);
    cr_expect_eq(offsetof(struct zinc_hdr, owner_pid), 28);
    cr_expect_eq(offsetof(struct zinc_hdr, created_at), 32);
    cr_expect_eq(offsetof(struct zinc_hdr, name_hash), 40);
    cr_expect_eq(offsetof(struct zinc_hdr, ring_head), 48);
    cr_expect_eq(offsetof(struct zinc_hdr, ring_tail), 56);
    cr_expect_eq(ZINC_REGION_MAGIC, 0x5A494E435F524547ull);
    cr_expect_eq(ZINC_REGION_V1, 1);
    cr_expect_eq(ZINC_REGION_V2, 2);
    cr_expect_eq(ZINC_FLAG_OWNER_CLOSED, 1);
    cr_expect_eq(ZINC_HEADER_SIZE, 64);
}

Test(layout, control_block)
{
    cr_expect_eq(sizeof(struct zr_ctl), 1024);
    cr_expect_eq(ZR_LINE, 128);
    /* line 0: geometry */
    cr_expect_eq(offsetof(struct zr_ctl, magic), 0);
    cr_expect_eq(offsetof(struct zr_ctl, layout_version), 8);
    cr_expect_eq(offsetof(struct zr_ctl, ctl_size), 12);
    cr_expect_eq(offsetof(struct zr_ctl, generation), 16);
    cr_expect_eq(offsetof(struct zr_ctl, geom.ring_bytes), 24);
    cr_expect_eq(offsetof(struct zr_ctl, geom.slot_count), 32);
    cr_expect_eq(offsetof(struct zr_ctl, geom.max_consumers), 36);
    cr_expect_eq(offsetof(struct zr_ctl, geom.slot_size), 40);
    cr_expect_eq(offsetof(struct zr_ctl, geom.slot_stride), 48);
    cr_expect_eq(offsetof(struct zr_ctl, geom.off_consumers), 56);
    cr_expect_eq(offsetof(struct zr_ctl, geom.off_descs), 64);
    cr_expect_eq(offsetof(struct zr_ctl, geom.off_payloads), 72);
    cr_expect_eq(offsetof(struct zr_ctl, consumer_size), 80);
    cr_expect_eq(offsetof(struct zr_ctl, desc_size), 84);
    cr_expect_eq(offsetof(struct zr_ctl, flags), 88);
    cr_expect_eq(offsetof(struct zr_ctl, spin_ns), 92);
    cr_expect_eq(offsetof(struct zr_ctl, demote_after_ns), 96);
    cr_expect_eq(offsetof(struct zr_ctl, created_ns), 104);
    /* line 1: producer-written, hot */
    cr_expect_eq(offsetof(struct zr_ctl, head), 128);
    cr_expect_eq(offsetof(struct zr_ctl, pub_futex), 136);
    cr_expect_eq(offsetof(struct zr_ctl, prod_state), 896);
    /* line 2: consumer-written */
    cr_expect_eq(offsetof(struct zr_ctl, cons_waiters), 256);
    cr_expect_eq(offsetof(struct zr_ctl, every_epoch), 260);
    cr_expect_eq(offsetof(struct zr_ctl, hi_water), 264);
    /* line 3: the producer's sleep */
    cr_expect_eq(offsetof(struct zr_ctl, space_futex), 384);
    cr_expect_eq(offsetof(struct zr_ctl, prod_waiting), 388);
    /* line 4: producer identity and counters */
    cr_expect_eq(offsetof(struct zr_ctl, prod_pid), 512);
    cr_expect_eq(offsetof(struct zr_ctl, prod_start_ns), 520);
    cr_expect_eq(offsetof(struct zr_ctl, published), 528);
    cr_expect_eq(offsetof(struct zr_ctl, aborted), 536);
    cr_expect_eq(offsetof(struct zr_ctl, blocked_ns), 544);
    cr_expect_eq(offsetof(struct zr_ctl, blocked_claims), 552);
    cr_expect_eq(offsetof(struct zr_ctl, evicted), 560);
    cr_expect_eq(offsetof(struct zr_ctl, demoted), 568);
    cr_expect_eq(offsetof(struct zr_ctl, last_publish_ns), 576);
    cr_expect_eq(offsetof(struct zr_ctl, published_bytes), 584);
    /* lines 5-6: stream descriptor */
    cr_expect_eq(offsetof(struct zr_ctl, stream), 640);
    /* Constants */
    cr_expect_eq(ZR_MAGIC, 0x474E4952434E495Aull);
    cr_expect_eq(memcmp(&(uint64_t){ ZR_MAGIC }, "ZINCRING", 8), 0, "little-endian host");
    cr_expect_eq(ZR_LAYOUT_VERSION, 1);
    cr_expect_eq(ZR_CREATING, 0);
    cr_expect_eq(ZR_OPEN, 1);
    cr_expect_eq(ZR_CLOSED, 2);
}

Test(layout, consumer_entry)
{
    cr_expect_eq(sizeof(struct zr_cons), 512);
    cr_expect_eq(offsetof(struct zr_cons, cursor), 0);
    cr_expect_eq(offsetof(struct zr_cons, state), 8);
    cr_expect_eq(offsetof(struct zr_cons, reserved0), 12);
    cr_expect_eq(offsetof(struct zr_cons, acquired), 16);
    cr_expect_eq(offsetof(struct zr_cons, released), 24);
    cr_expect_eq(offsetof(struct zr_cons, dropped), 32);
    cr_expect_eq(offsetof(struct zr_cons, torn), 40);
    cr_expect_eq(offsetof(struct zr_cons, pid), 48);
    cr_expect_eq(offsetof(struct zr_cons, attached_ns), 56);
    cr_expect_eq(offsetof(struct zr_cons, mode), 128);
    cr_expect_eq(offsetof(struct zr_cons, demoted), 132);
    cr_expect_eq(offsetof(struct zr_cons, evicted), 136);
    cr_expect_eq(offsetof(struct zr_cons, latency), 256);
    cr_expect_eq(ZR_HIST, 32);
    cr_expect_eq(ZR_HIST, ZINC_LAT_BUCKETS);
    cr_expect_eq(ZR_FREE, 0);
    cr_expect_eq(ZR_ATTACHING, 1);
    cr_expect_eq(ZR_ACTIVE, 2);
    cr_expect_eq(ZINC_EVERY, 0);
    cr_expect_eq(ZINC_LOSSY, 1);
    cr_expect_eq(ZINC_LATEST, 2);
    cr_expect_eq(ZR_TOKEN_PRODUCER, 0);
    cr_expect_eq(ZR_TOKEN_CONSUMER(0), 1);
    cr_expect_eq(ZR_TOKEN_CONSUMER(255), 256);
}

Test(layout, descriptor)
{
    cr_expect_eq(sizeof(struct zr_desc), 192);
    cr_expect_eq(offsetof(struct zr_desc, lock), 0);
    cr_expect_eq(offsetof(struct zr_desc, w), 8);
    cr_expect_eq(ZD_SEQ, 0);
    cr_expect_eq(ZD_SIZE, 1);
    cr_expect_eq(ZD_TIMESTAMP, 2);
    cr_expect_eq(ZD_PUBLISH, 3);
    cr_expect_eq(ZD_DTYPE, 4);
    cr_expect_eq(ZD_OFFSET, 5);
    cr_expect_eq(ZD_FOURCC_FLAGS, 6);
    cr_expect_eq(ZD_SHAPE, 7);
    cr_expect_eq(ZD_STRIDES, 11);
    cr_expect_eq(ZD_USER, 15);
    cr_expect_eq(ZD_WORDS, 23);
    cr_expect_eq(ZINC_FRAME_USER_SIZE, 64);
    cr_expect_eq(ZINC_TENSOR_MAX_DIMS, 4);
}

/* ---- a live ring, read back raw ------------------------------------------------ */

static int g_fd = -1;

static uint64_t rd(uint64_t off, unsigned n)
{
    uint64_t v = 0;
    cr_assert_eq(pread(g_fd, &v, n, (off_t)off), (ssize_t)n, "pread %u at %llu", n,
                 (unsigned long long)off);
    return v; /* little-endian host: the low n bytes */
}

static uint64_t rd64(uint64_t off) { return rd(off, 8); }
static uint64_t rd32(uint64_t off) { return rd(off, 4); }
static uint64_t rd16(uint64_t off) { return rd(off, 2); }

static uint64_t up(uint64_t v, uint64_t a)
{
    return (v + a - 1) / a * a;
}

/* Is byte `b` of the object write-locked by someone (OFD lock)? */
static bool token_held(uint64_t b)
{
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = (off_t)b,
                        .l_len = 1 };
    cr_assert_eq(fcntl(g_fd, F_OFD_GETLK, &fl), 0);
    return fl.l_type != F_UNLCK;
}

Test(layout, live_ring_bytes)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    const uint64_t page = ru_page();
    zinc_ring_config cfg = ru_cfg(8, 5000);
    cfg.max_consumers = 3;
    cfg.spin_ns = 12345;
    cfg.demote_after_ns = 777000000;
    zinc_producer *p = NULL;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0);
    zinc_consumer *c = NULL;
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_EVERY, &c), 0);

    /* Two frames with a full descriptor, and a stream descriptor. */
    zinc_frame f, sent[2];
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(zinc_producer_claim(p, &f, 0), 0);
        cr_assert_eq(zinc_frame_set_image(&f, ZINC_FOURCC_RGB24, 10 + (uint32_t)i, 20), 0);
        ru_fill(f.data, f.size, f.seq, false);
        f.timestamp_ns = 1000 + (uint64_t)i;
        f.flags = ZINC_FRAME_KEYFRAME;
        for (int u = 0; u < ZINC_FRAME_USER_SIZE; u++)
            f.user[u] = (uint8_t)(u + 3 * i);
        cr_assert_eq(zinc_producer_publish(p, &f), 0);
        sent[i] = f;
    }
    zinc_frame st;
    memset(&st, 0, sizeof(st));
    st.size = 4000;
    st.fourcc = ZINC_FOURCC_GREY;
    cr_assert_eq(zinc_producer_set_stream(p, &st), 0);
    cr_assert_eq(zinc_consumer_acquire(c, &f, 0), 0);
    cr_assert_eq(zinc_consumer_release(c, &f), 0);

    char path[512];
    ru_shm_path(path, sizeof(path), g_name);
    g_fd = open(path, O_RDWR | O_CLOEXEC);
    cr_assert_geq(g_fd, 0);
    struct stat sb;
    cr_assert_eq(fstat(g_fd, &sb), 0);

    /* Expected geometry, from the documented rules. */
    const uint64_t off_cons = 1024, off_descs = 1024 + 3 * 512;
    const uint64_t off_pay = up(off_descs + 8 * 192, page);
    const uint64_t stride = up(5000, page);
    const uint64_t ring_bytes = off_pay + 8 * stride;
    cr_expect_eq((uint64_t)sb.st_size, page + ring_bytes, "object = one page + ring");
    cr_expect_eq(zinc_ring_size(&cfg), page + ring_bytes);

    /* Region header (version 2). */
    char magic[8];
    cr_assert_eq(pread(g_fd, magic, 8, 0), 8);
    cr_expect_eq(memcmp(magic, "GER_CNIZ", 8), 0, "region magic bytes");
    cr_expect_eq(rd16(8), 2, "region version");
    cr_expect_eq(rd16(10) & ZINC_FLAG_OWNER_CLOSED, 0);
    cr_expect_eq(rd64(16), ring_bytes, "capacity = ring bytes");
    cr_expect_geq(rd32(24), 1, "ref_count");
    cr_expect_eq((int32_t)rd32(28), getpid(), "owner_pid");
    cr_expect_neq(rd64(32), 0, "created_at");
    cr_expect_eq(rd64(40), zinc_name_hash(g_name), "name_hash");
    cr_expect_eq(rd64(48), 0);
    cr_expect_eq(rd64(56), 0);

    /* Control block line 0, at the ring base = one page. */
    const uint64_t R = page;
    cr_assert_eq(pread(g_fd, magic, 8, (off_t)R), 8);
    cr_expect_eq(memcmp(magic, "ZINCRING", 8), 0, "ring magic bytes");
    cr_expect_eq(rd32(R + 8), 1, "layout_version");
    cr_expect_eq(rd32(R + 12), 1024, "ctl_size");
    cr_expect_eq(rd64(R + 16), zinc_producer_generation(p), "generation");
    cr_expect_eq(rd64(R + 24), ring_bytes, "ring_bytes");
    cr_expect_eq(rd32(R + 32), 8, "slot_count");
    cr_expect_eq(rd32(R + 36), 3, "max_consumers");
    cr_expect_eq(rd64(R + 40), 5000, "slot_size");
    cr_expect_eq(rd64(R + 48), stride, "slot_stride");
    cr_expect_eq(rd64(R + 56), off_cons, "off_consumers");
    cr_expect_eq(rd64(R + 64), off_descs, "off_descs");
    cr_expect_eq(rd64(R + 72), off_pay, "off_payloads");
    cr_expect_eq(rd32(R + 80), 512, "consumer_size");
    cr_expect_eq(rd32(R + 84), 192, "desc_size");
    cr_expect_eq(rd32(R + 88), 0, "flags");
    cr_expect_eq(rd32(R + 92), 12345, "spin_ns");
    cr_expect_eq(rd64(R + 96), 777000000, "demote_after_ns");
    cr_expect_neq(rd64(R + 104), 0, "created_ns");
    cr_expect_eq((R + off_pay) % page, 0, "payloads page-aligned in the file");
    cr_expect_eq(stride % page, 0);

    /* Line 1: head, pub_futex; line 7: prod_state. */
    cr_expect_eq(rd64(R + 128), 2, "head");
    cr_expect_eq(rd32(R + 136), 2, "pub_futex = (uint32)head");
    cr_expect_eq(rd32(R + 896), ZR_OPEN, "prod_state");
    /* Line 2. */
    cr_expect_eq(rd32(R + 256), 0, "cons_waiters");
    cr_expect_eq(rd32(R + 260), 1, "every_epoch: one EVERY attach");
    cr_expect_eq(rd32(R + 264), 1, "hi_water");
    /* Line 3. */
    cr_expect_eq(rd32(R + 388), 0, "prod_waiting");
    /* Line 4. */
    cr_expect_eq((int32_t)rd32(R + 512), getpid(), "prod_pid");
    cr_expect_eq(rd64(R + 528), 2, "published");
    cr_expect_eq(rd64(R + 536), 0, "aborted");
    cr_expect_eq(rd64(R + 576), sent[1].publish_ns, "last_publish_ns");
    cr_expect_eq(rd64(R + 584), sent[0].size + sent[1].size, "published_bytes");
    /* Lines 5-6: the stream descriptor (a seqlock, even when stable). */
    cr_expect_eq(rd64(R + 640), 2, "stream lock after one set");
    cr_expect_eq(rd64(R + 640 + 8 + 8 * ZD_SIZE), 4000, "stream size");
    cr_expect_eq(rd64(R + 640 + 8 + 8 * ZD_FOURCC_FLAGS), ZINC_FOURCC_GREY, "stream fourcc");

    /* Consumer entry 0. */
    const uint64_t E = R + off_cons;
    cr_expect_eq(rd64(E + 0), 1, "cursor: frame 1 released");
    cr_expect_eq(rd32(E + 8), ZR_ACTIVE, "state");
    cr_expect_eq(rd32(E + 12), 0, "reserved0");
    cr_expect_eq(rd64(E + 16), 1, "acquired");
    cr_expect_eq(rd64(E + 24), 1, "released");
    cr_expect_eq((int32_t)rd32(E + 48), getpid(), "pid");
    cr_expect_neq(rd64(E + 56), 0, "attached_ns");
    cr_expect_eq(rd32(E + 128), ZINC_EVERY, "mode");
    cr_expect_eq(rd32(E + 132), 0, "demoted");
    cr_expect_eq(rd32(E + 136), 0, "evicted");
    uint64_t hist = 0;
    for (int b = 0; b < 32; b++)
        hist += rd64(E + 256 + 8 * (uint64_t)b);
    cr_expect_eq(hist, 1, "latency histogram");
    cr_expect_eq(rd32(E + 512 + 8), ZR_FREE, "entry 1 unused");

    /* Descriptors and payloads of frames 1 and 2. */
    for (uint64_t seq = 1; seq <= 2; seq++) {
        const zinc_frame *s = &sent[seq - 1];
        uint64_t slot = (seq - 1) & 7;
        uint64_t D = R + off_descs + slot * 192;
        cr_expect_eq(rd64(D), 2 * seq, "lock = 2 * seq once published");
        cr_expect_eq(rd64(D + 8 + 8 * ZD_SEQ), seq);
        cr_expect_eq(rd64(D + 8 + 8 * ZD_SIZE), s->size);
        cr_expect_eq(rd64(D + 8 + 8 * ZD_TIMESTAMP), s->timestamp_ns);
        cr_expect_eq(rd64(D + 8 + 8 * ZD_PUBLISH), s->publish_ns);
        uint64_t dt = (uint64_t)ZINC_DTYPE_UINT | 8u << 8 | 1u << 16 | (uint64_t)3 << 32;
        cr_expect_eq(rd64(D + 8 + 8 * ZD_DTYPE), dt, "code | bits << 8 | lanes << 16 | ndim << 32");
        cr_expect_eq(rd64(D + 8 + 8 * ZD_OFFSET), 0);
        for (int d = 0; d < 3; d++) {
            cr_expect_eq(rd64(D + 8 + 8 * (ZD_SHAPE + (uint64_t)d)), s->tensor.shape[d]);
            cr_expect_eq(rd64(D + 8 + 8 * (ZD_STRIDES + (uint64_t)d)),
                         (uint64_t)s->tensor.strides[d]);
        }
        uint64_t has_user = 0;
        for (int i = 0; i < 64; i++)
            has_user |= s->user[i];
        cr_expect_eq(rd64(D + 8 + 8 * ZD_FOURCC_FLAGS),
                     (uint64_t)ZINC_FOURCC_RGB24 | (uint64_t)ZINC_FRAME_KEYFRAME << 32 |
                         (has_user ? ZD_HAS_USER : 0));
        uint8_t user[64];
        cr_assert_eq(pread(g_fd, user, 64, (off_t)(D + 8 + 8 * ZD_USER)), 64);
        cr_expect_eq(memcmp(user, s->user, 64), 0, "user area");

        uint64_t P = R + off_pay + slot * stride;
        cr_expect_eq(P % page, 0, "payload of slot %llu page-aligned", (unsigned long long)slot);
        uint8_t *buf = malloc(s->size);
        cr_assert_not_null(buf);
        cr_assert_eq(pread(g_fd, buf, s->size, (off_t)P), (ssize_t)s->size);
        cr_expect_eq(ru_check(buf, s->size, seq, false), RU_OK, "payload of frame %llu",
                     (unsigned long long)seq);
        free(buf);
    }
    /* An unused slot: lock 0. */
    cr_expect_eq(rd64(R + off_descs + 5 * 192), 0, "never-written slot");

    /* Liveness tokens: byte 0 producer, byte 1 + i consumer entry i. */
    cr_expect(token_held(0), "producer token");
    cr_expect(token_held(1), "consumer 0 token");
    cr_expect(!token_held(2), "entry 1 free");
    zinc_consumer_close(c);
    cr_expect(!token_held(1), "consumer 0 token dropped at close");
    cr_expect_eq(rd32(E + 8), ZR_FREE, "state FREE after close");
    zinc_producer_close(p);
    cr_expect(!token_held(0), "producer token dropped at close");
    cr_expect_eq(rd32(R + 896), ZR_CLOSED, "prod_state CLOSED");
    cr_expect_eq(rd16(10) & ZINC_FLAG_OWNER_CLOSED, ZINC_FLAG_OWNER_CLOSED,
                 "region owner-closed bit");
    close(g_fd);
    g_fd = -1;
}
