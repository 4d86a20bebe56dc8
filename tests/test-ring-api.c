/* SPDX-License-Identifier: MIT */
/*
 * test-ring-api.c — the frame ring's API contract, one behaviour per test:
 * config validation, claim/publish/acquire/release, misuse codes, timeouts,
 * the stream descriptor, descriptor helpers, tensor checks, counters and the
 * three delivery modes. Single process unless a test says otherwise.
 */
#include <criterion/criterion.h>
#include <sys/statvfs.h>

#include <zinc/ring.h>
#include <zinc/zinc.h>

#include "ring-util.h"

static char g_name[160], g_name2[200];

static void setup(void)
{
    ru_name(g_name, sizeof(g_name), criterion_current_test->name);
    cr_assert_lt(snprintf(g_name2, sizeof(g_name2), "%s-b", g_name), (int)sizeof(g_name2));
    ru_cleanup(g_name);
    ru_cleanup(g_name2);
}

static void teardown(void)
{
    ru_cleanup(g_name);
    ru_cleanup(g_name2);
}

TestSuite(ring_api, .init = setup, .fini = teardown, .timeout = 30);

static zinc_producer *mk_producer(const char *name, uint32_t slots, uint64_t slot_size)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    zinc_ring_config c = ru_cfg(slots, slot_size);
    zinc_producer *p = NULL;
    int r = zinc_producer_create(name, &c, &p);
    cr_assert_eq(r, 0, "create '%s': %d (%s)", name, r, zinc_last_error());
    cr_assert_not_null(p);
    return p;
}

static zinc_consumer *mk_consumer(const char *name, zinc_delivery mode)
{
    zinc_consumer *c = NULL;
    int r = zinc_consumer_open(name, mode, &c);
    cr_assert_eq(r, 0, "consumer_open '%s' mode %d: %d (%s)", name, (int)mode, r,
                 zinc_last_error());
    cr_assert_not_null(c);
    return c;
}

/* Claim, fill `size` bytes with the pattern, publish. Returns the seq. */
static uint64_t put(zinc_producer *p, uint64_t size)
{
    zinc_frame f;
    memset(&f, 0, sizeof(f));
    int r = zinc_producer_claim(p, &f, 0);
    cr_assert_eq(r, 0, "claim: %d (%s)", r, zinc_last_error());
    cr_assert_geq(f.size, size);
    f.size = size;
    ru_fill(f.data, size, f.seq, false);
    r = zinc_producer_publish(p, &f);
    cr_assert_eq(r, 0, "publish: %d (%s)", r, zinc_last_error());
    return f.seq;
}

/* ---- configuration -------------------------------------------------------- */

static int try_create(const char *name, zinc_ring_config c)
{
    zinc_producer *p = (zinc_producer *)(uintptr_t)1;
    int r = zinc_producer_create(name, &c, &p);
    if (r == 0)
        zinc_producer_close(p);
    return r;
}

Test(ring_api, config_validation)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    uint32_t bad_slots[] = { 0, 1, 3, 6, 100, 65537, 131072, 0x80000000u };
    for (size_t i = 0; i < sizeof(bad_slots) / sizeof(bad_slots[0]); i++) {
        int r = try_create(g_name, ru_cfg(bad_slots[i], 64));
        cr_expect_eq(r, -22, "slot_count %u: %d", bad_slots[i], r);
        cr_expect_neq(zinc_last_error()[0], '\0', "no message for slot_count %u", bad_slots[i]);
        zinc_ring_config c = ru_cfg(bad_slots[i], 64);
        cr_expect_eq(zinc_ring_size(&c), 0, "ring_size for slot_count %u", bad_slots[i]);
    }
    cr_expect_eq(try_create(g_name, ru_cfg(4, 0)), -22, "slot_size 0");
    zinc_ring_config c = ru_cfg(4, 64);
    c.max_consumers = 257;
    cr_expect_eq(try_create(g_name, c), -22, "max_consumers 257");
    cr_expect_eq(zinc_ring_size(&c), 0);
    c.max_consumers = 256;
    cr_expect_eq(try_create(g_name, c), 0, "max_consumers 256 is valid");
    cr_expect_eq(try_create(g_name, ru_cfg(2, 64)), 0, "2 slots is valid");
    c = ru_cfg(4, 64);
    c.flags = 0x80;
    cr_expect_eq(try_create(g_name, c), -22, "unknown flag");
    c = ru_cfg(4, 64);
    c.reserved[5] = 1;
    cr_expect_eq(try_create(g_name, c), -22, "reserved must be zero");
    c = ru_cfg(4, 64);
    c.flags = ZINC_RING_PREFAULT | ZINC_RING_HUGEPAGES;
    cr_expect_eq(try_create(g_name, c), 0, "known flags");

    c = ru_cfg(4, 64);
    zinc_producer *p = NULL;
    cr_expect_eq(zinc_producer_create(NULL, &c, &p), -22);
    cr_expect_eq(zinc_producer_create(g_name, NULL, &p), -22);
    cr_expect_eq(zinc_producer_create(g_name, &c, NULL), -22);
    cr_expect_eq(zinc_producer_create("", &c, &p), -22);
    cr_expect_eq(zinc_producer_create("a/b", &c, &p), -22);
    cr_expect_eq(zinc_producer_create("white space", &c, &p), -22);
    char longname[300];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    cr_expect_eq(zinc_producer_create(longname, &c, &p), -22);
    cr_expect_neq(zinc_last_error()[0], '\0');

    zinc_consumer *cons = NULL;
    cr_expect_eq(zinc_consumer_open(NULL, ZINC_EVERY, &cons), -22);
    cr_expect_eq(zinc_consumer_open(g_name, ZINC_EVERY, NULL), -22);
    cr_expect_eq(zinc_consumer_open("a/b", ZINC_EVERY, &cons), -22);

    /* Closing NULL is a no-op. */
    zinc_producer_close(NULL);
    zinc_consumer_close(NULL);
}

Test(ring_api, ring_size)
{
    zinc_ring_config a = ru_cfg(4, 4096), b = ru_cfg(4, 8192), big = ru_cfg(65536, 8);
    uint64_t sa = zinc_ring_size(&a), sb = zinc_ring_size(&b);
    cr_assert_gt(sa, 4 * 4096);
    cr_assert_gt(sb, sa);
    cr_assert_gt(zinc_ring_size(&big), 65536ull * 8);
    cr_assert_eq(zinc_ring_size(NULL), 0);
    cr_assert_eq(sa % ru_page(), 0, "object size is whole pages");

    zinc_producer *p = mk_producer(g_name, 4, 4096);
    char path[512];
    struct stat st;
    ru_shm_path(path, sizeof(path), g_name);
    cr_assert_eq(stat(path, &st), 0);
    cr_expect_eq((uint64_t)st.st_size, sa, "object is %lld bytes, ring_size says %llu",
                 (long long)st.st_size, (unsigned long long)sa);
    zinc_ring_stats rs;
    cr_assert_eq(zinc_ring_stats_read(g_name, &rs, NULL, 0, NULL), 0);
    cr_expect_eq(rs.ring_bytes, sa);
    zinc_producer_close(p);
}

/* ---- claim / publish / acquire / release ------------------------------------ */

Test(ring_api, claim_fills_frame)
{
    zinc_producer *p = mk_producer(g_name, 8, 10000);
    zinc_frame f;
    memset(&f, 0xA5, sizeof(f));
    cr_assert_eq(zinc_producer_claim(p, &f, 0), 0);
    cr_expect_not_null(f.data);
    cr_expect_eq(f.size, 10000);
    cr_expect_eq(f.seq, 1);
    cr_expect_eq((uintptr_t)f.data % ru_page(), 0, "payload is page-aligned");
    cr_expect_eq(f.tensor.ndim, 0, "claim clears the descriptor");
    cr_expect_eq(f.flags, 0);
    cr_expect_eq(f.fourcc, 0);
    memset(f.data, 0x5A, 10000); /* the whole slot is writable */
    f.size = 1;
    cr_assert_eq(zinc_producer_publish(p, &f), 0);
    cr_assert_eq(zinc_producer_claim(p, &f, 0), 0);
    cr_expect_eq(f.seq, 2);
    cr_expect_eq(f.size, 10000);
    zinc_producer_close(p);
}

Test(ring_api, publish_acquire_round_trip)
{
    zinc_producer *p = mk_producer(g_name, 4, 4096);
    zinc_consumer *c = mk_consumer(g_name, ZINC_EVERY);

    zinc_frame f;
    cr_assert_eq(zinc_producer_claim(p, &f, 0), 0);
    cr_assert_eq(zinc_frame_set_image(&f, ZINC_FOURCC_RGB24, 16, 8), 0);
    cr_assert_eq(f.size, 16 * 8 * 3);
    ru_fill(f.data, f.size, f.seq, false);
    f.timestamp_ns = 123456789012345ull;
    f.flags = ZINC_FRAME_KEYFRAME | ZINC_FRAME_DISCONTINUITY;
    for (int i = 0; i < ZINC_FRAME_USER_SIZE; i++)
        f.user[i] = (uint8_t)(i * 7 + 1);
    zinc_frame sent = f;
    uint64_t t0 = ru_now_ns();
    cr_assert_eq(zinc_producer_publish(p, &f), 0);
    uint64_t t1 = ru_now_ns();

    zinc_frame g;
    memset(&g, 0, sizeof(g));
    cr_assert_eq(zinc_consumer_acquire(c, &g, 0), 0);
    cr_expect_eq(g.seq, 1);
    cr_expect_eq(g.size, sent.size);
    cr_expect_eq(g.timestamp_ns, sent.timestamp_ns);
    cr_expect_geq(g.publish_ns, t0);
    cr_expect_leq(g.publish_ns, t1);
    cr_expect_eq(g.dropped, 0);
    cr_expect_eq(g.fourcc, ZINC_FOURCC_RGB24);
    cr_expect_eq(g.flags, sent.flags);
    cr_expect_eq(memcmp(&g.tensor, &sent.tensor, sizeof(zinc_tensor)), 0, "tensor differs");
    cr_expect_eq(memcmp(g.user, sent.user, ZINC_FRAME_USER_SIZE), 0, "user area differs");
    cr_expect_eq(ru_check(g.data, g.size, 1, false), RU_OK, "payload differs");
    cr_expect_eq(zinc_consumer_release(c, &g), 0);

    /* End of stream flag and a zero-size frame go through too. */
    cr_assert_eq(zinc_producer_claim(p, &f, 0), 0);
    f.size = 0;
    f.flags = ZINC_FRAME_END_OF_STREAM;
    cr_assert_eq(zinc_producer_publish(p, &f), 0);
    cr_assert_eq(zinc_consumer_acquire(c, &g, 0), 0);
    cr_expect_eq(g.seq, 2);
    cr_expect_eq(g.size, 0);
    cr_expect_eq(g.flags, ZINC_FRAME_END_OF_STREAM);
    cr_expect_eq(g.tensor.ndim, 0);
    cr_expect_eq(zinc_consumer_release(c, &g), 0);

    zinc_consumer_close(c);
    zinc_producer_close(p);
}

Test(ring_api, oversize_publish_keeps_claim)
{
    zinc_producer *p = mk_producer(g_name, 4, 1000);
    zinc_consumer *c = mk_consumer(g_name, ZINC_EVERY);
    zinc_frame f, g;
    cr_assert_eq(zinc_producer_claim(p, &f, 0), 0);
    f.size = 1001;
    cr_expect_eq(zinc_producer_publish(p, &f), -90);
    cr_expect_neq(zinc_last_error()[0], '\0');
    cr_expect_eq(zinc_consumer_acquire(c, &g, 0), -11, "nothing was published");
    f.size = 1000;
    ru_fill(f.data, 1000, f.seq, false);
    cr_expect_eq(zinc_producer_publish(p, &f), 0, "the claim stayed open");
    cr_assert_eq(zinc_consumer_acquire(c, &g, 0), 0);
    cr_expect_eq(g.seq, 1);
    cr_expect_eq(g.size, 1000);
    cr_expect_eq(ru_check(g.data, g.size, 1, false), RU_OK);
    cr_expect_eq(zinc_consumer_release(c, &g), 0);
    zinc_consumer_close(c);
    zinc_producer_close(p);
}

Test(ring_api, claim_misuse)
{
    zinc_producer *p = mk_producer(g_name, 4, 256);
    zinc_frame f, f2;
    cr_expect_eq(zinc_producer_publish(p, &f), -22, "publish without claim");
    cr_expect_eq(zinc_producer_abort(p, &f), -22, "abort without claim");
    cr_assert_eq(zinc_producer_claim(p, &f, 0), 0);
    cr_expect_eq(zinc_producer_claim(p, &f2, 0), -22, "second claim");
    cr_expect_neq(zinc_last_error()[0], '\0');
    f.size = 8;
    cr_expect_eq(zinc_producer_publish(p, &f), 0, "first claim still publishable");
    cr_expect_eq(zinc_producer_publish(p, &f), -22, "publish twice");
    cr_expect_eq(zinc_producer_claim(NULL, &f, 0), -22);
    cr_expect_eq(zinc_producer_claim(p, NULL, 0), -22);
    cr_expect_eq(zinc_producer_publish(NULL, &f), -22);
    zinc_producer_close(p);
}

Test(ring_api, abort_reclaims_same_seq)
{
    zinc_producer *p = mk_producer(g_name, 4, 256);
    zinc_consumer *c = mk_consumer(g_name, ZINC_EVERY);
    zinc_frame f, g;
    cr_assert_eq(zinc_producer_claim(p, &f, 0), 0);
    cr_assert_eq(f.seq, 1);
    void *d1 = f.data;
    cr_assert_eq(zinc_producer_abort(p, &f), 0);
    cr_expect_eq(zinc_consumer_acquire(c, &g, 0), -11, "aborted frame not visible");
    cr_assert_eq(zinc_producer_claim(p, &f, 0), 0);
    cr_expect_eq(f.seq, 1, "re-claim after abort gives the same seq");
    cr_expect_eq(f.data, d1, "and the same slot");
    cr_expect_eq(f.size, 256);
    f.size = 40;
    ru_fill(f.data, 40, 1, false);
    cr_assert_eq(zinc_producer_publish(p, &f), 0);
    cr_assert_eq(zinc_consumer_acquire(c, &g, 0), 0);
    cr_expect_eq(g.seq, 1);
    cr_expect_eq(g.dropped, 0);
    cr_expect_eq(ru_check(g.data, g.size, 1, false), RU_OK);
    cr_expect_eq(zinc_consumer_release(c, &g), 0);
    zinc_ring_stats rs;
    cr_assert_eq(zinc_ring_stats_read(g_name, &rs, NULL, 0, NULL), 0);
    cr_expect_eq(rs.aborted, 1);
    cr_expect_eq(rs.published, 1);
    zinc_consumer_close(c);
    zinc_producer_close(p);
}

Test(ring_api, release_misuse)
{
    zinc_producer *p = mk_producer(g_name, 4, 256);
    zinc_consumer *c = mk_consumer(g_name, ZINC_EVERY);
    zinc_frame g, h;
    memset(&g, 0, sizeof(g));
    cr_expect_eq(zinc_consumer_release(c, &g), -22, "release before any acquire");
    put(p, 32);
    put(p, 32);
    cr_assert_eq(zinc_consumer_acquire(c, &g, 0), 0);
    cr_expect_eq(zinc_consumer_acquire(c, &h, 0), -22, "acquire while holding");
    cr_expect_neq(zinc_last_error()[0], '\0');
    h = g;
    h.seq = g.seq + 1;
    cr_expect_eq(zinc_consumer_release(c, &h), -22, "release of a frame not held");
    cr_expect_eq(zinc_consumer_release(c, NULL), -22);
    cr_expect_eq(zinc_consumer_release(NULL, &g), -22);
    cr_expect_eq(zinc_consumer_release(c, &g), 0, "the held frame still releases");
    cr_expect_eq(zinc_consumer_release(c, &g), -22, "release twice");
    cr_expect_eq(zinc_consumer_acquire(c, &g, 0), 0);
    cr_expect_eq(g.seq, 2);
    cr_expect_eq(zinc_consumer_release(c, &g), 0);
    cr_expect_eq(zinc_consumer_acquire(NULL, &g, 0), -22);
    cr_expect_eq(zinc_consumer_acquire(c, NULL, 0), -22);
    zinc_consumer_close(c);
    zinc_producer_close(p);
}

Test(ring_api, consumer_timeouts)
{
    zinc_producer *p = mk_producer(g_name, 4, 256);
    zinc_consumer *c = mk_consumer(g_name, ZINC_EVERY);
    zinc_frame g;
    cr_expect_eq(zinc_consumer_acquire(c, &g, 0), -11, "poll on an empty ring");
    cr_expect_eq(zinc_consumer_acquire(c, &g, 2000000), -110, "2 ms timeout");
    put(p, 16);
    cr_expect_eq(zinc_consumer_acquire(c, &g, 2000000), 0);
    cr_expect_eq(zinc_consumer_release(c, &g), 0);
    cr_expect_eq(zinc_consumer_acquire(c, &g, 0), -11);
    zinc_consumer_close(c);
    zinc_producer_close(p);
}

Test(ring_api, producer_blocked_by_every)
{
    zinc_producer *p = mk_producer(g_name, 2, 256);
    zinc_consumer *c = mk_consumer(g_name, ZINC_EVERY);
    zinc_consumer *l = mk_consumer(g_name, ZINC_LOSSY); /* never gates */
    put(p, 16);
    put(p, 16);
    zinc_frame f, g;
    cr_expect_eq(zinc_producer_claim(p, &f, 0), -11, "full ring, EVERY consumer at 0");
    cr_expect_eq(zinc_producer_claim(p, &f, 2000000), -110, "2 ms timeout");
    cr_assert_eq(zinc_consumer_acquire(c, &g, 0), 0);
    cr_expect_eq(zinc_producer_claim(p, &f, 0), -11, "frame 1 held, not released");
    cr_assert_eq(zinc_consumer_release(c, &g), 0);
    cr_assert_eq(zinc_producer_claim(p, &f, 0), 0, "slot of frame 1 released");
    cr_expect_eq(f.seq, 3);
    f.size = 16;
    ru_fill(f.data, 16, 3, false);
    cr_assert_eq(zinc_producer_publish(p, &f), 0);
    zinc_ring_stats rs;
    cr_assert_eq(zinc_ring_stats_read(g_name, &rs, NULL, 0, NULL), 0);
    cr_expect_geq(rs.blocked_claims, 1);
    zinc_consumer_close(l);
    zinc_consumer_close(c);
    zinc_producer_close(p);
}

Test(ring_api, consumer_table_full)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    zinc_ring_config cfg = ru_cfg(4, 64);
    cfg.max_consumers = 3;
    zinc_producer *p = NULL;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0);
    zinc_consumer *c[3];
    for (int i = 0; i < 3; i++)
        c[i] = mk_consumer(g_name, (zinc_delivery)i);
    zinc_consumer *x = NULL;
    cr_expect_eq(zinc_consumer_open(g_name, ZINC_LOSSY, &x), -16, "max_consumers is exact");
    cr_expect_neq(zinc_last_error()[0], '\0');
    zinc_consumer_close(c[1]);
    cr_expect_eq(zinc_consumer_open(g_name, ZINC_LOSSY, &x), 0, "a closed entry is reused");
    zinc_ring_config got;
    cr_assert_eq(zinc_consumer_config(x, &got), 0);
    cr_expect_eq(got.max_consumers, 3);
    cr_expect_eq(got.slot_count, 4);
    cr_expect_eq(got.slot_size, 64);
    zinc_consumer_close(x);
    zinc_consumer_close(c[0]);
    zinc_consumer_close(c[2]);
    zinc_producer_close(p);
}

Test(ring_api, default_max_consumers)
{
    zinc_producer *p = mk_producer(g_name, 2, 64);
    zinc_consumer *c[ZINC_RING_DEFAULT_CONSUMERS];
    for (unsigned i = 0; i < ZINC_RING_DEFAULT_CONSUMERS; i++)
        c[i] = mk_consumer(g_name, ZINC_LATEST);
    zinc_consumer *x = NULL;
    cr_expect_eq(zinc_consumer_open(g_name, ZINC_LATEST, &x), -16);
    for (unsigned i = 0; i < ZINC_RING_DEFAULT_CONSUMERS; i++)
        zinc_consumer_close(c[i]);
    zinc_producer_close(p);
}

Test(ring_api, second_producer_exists)
{
    zinc_producer *p = mk_producer(g_name, 4, 64);
    zinc_ring_config c = ru_cfg(4, 64);
    zinc_producer *q = NULL;
    cr_expect_eq(zinc_producer_create(g_name, &c, &q), -17);
    cr_expect_null(q);
    cr_expect_neq(zinc_last_error()[0], '\0');
    put(p, 8); /* the first one is unharmed */
    zinc_producer_close(p);
}

Test(ring_api, generation_differs)
{
    zinc_producer *p = mk_producer(g_name, 4, 64);
    zinc_producer *q = mk_producer(g_name2, 4, 64);
    uint64_t gp = zinc_producer_generation(p), gq = zinc_producer_generation(q);
    cr_expect_neq(gp, 0);
    cr_expect_neq(gq, 0);
    cr_expect_neq(gp, gq);
    zinc_consumer *c = mk_consumer(g_name, ZINC_LOSSY);
    cr_expect_eq(zinc_consumer_generation(c), gp);
    zinc_ring_stats rs;
    cr_assert_eq(zinc_ring_stats_read(g_name, &rs, NULL, 0, NULL), 0);
    cr_expect_eq(rs.generation, gp);
    zinc_consumer_close(c);
    zinc_producer_close(q);
    zinc_producer_close(p);
    /* A new instance on the same name has a new generation. */
    zinc_producer *r = mk_producer(g_name, 4, 64);
    cr_expect_neq(zinc_producer_generation(r), gp);
    zinc_producer_close(r);
}

Test(ring_api, stream_descriptor)
{
    zinc_producer *p = mk_producer(g_name, 4, 1 << 16);
    zinc_consumer *early = mk_consumer(g_name, ZINC_EVERY);
    zinc_frame d;
    cr_expect_eq(zinc_consumer_stream(early, &d), -11, "no stream descriptor yet");

    zinc_frame s;
    memset(&s, 0, sizeof(s));
    s.size = 1 << 16;
    cr_assert_eq(zinc_frame_set_image(&s, ZINC_FOURCC_NV12, 64, 32), 0);
    s.flags = ZINC_FRAME_KEYFRAME;
    memcpy(s.user, "camera-7", 8);
    cr_assert_eq(zinc_producer_set_stream(p, &s), 0);

    memset(&d, 0, sizeof(d));
    cr_assert_eq(zinc_consumer_stream(early, &d), 0, "set after attach");
    cr_expect_eq(d.size, 64 * 48);
    cr_expect_eq(d.fourcc, ZINC_FOURCC_NV12);
    cr_expect_eq(d.flags, ZINC_FRAME_KEYFRAME);
    cr_expect_eq(memcmp(&d.tensor, &s.tensor, sizeof(zinc_tensor)), 0);
    cr_expect_eq(memcmp(d.user, "camera-7", 8), 0);

    zinc_consumer *late = mk_consumer(g_name, ZINC_LATEST);
    memset(&d, 0, sizeof(d));
    cr_assert_eq(zinc_consumer_stream(late, &d), 0, "set before attach");
    cr_expect_eq(d.fourcc, ZINC_FOURCC_NV12);
    cr_expect_eq(d.size, 64 * 48);

    /* A descriptor larger than a slot, or with a tensor outside its size. */
    zinc_frame bad = s;
    bad.size = (1 << 16) + 1;
    cr_expect_eq(zinc_producer_set_stream(p, &bad), -22);
    bad = s;
    bad.size = 10;
    cr_expect_eq(zinc_producer_set_stream(p, &bad), -22);
    /* The old one is still in force, and can be replaced. */
    s.fourcc = ZINC_FOURCC_NV12;
    cr_assert_eq(zinc_frame_set_image(&s, ZINC_FOURCC_GREY, 8, 8), 0);
    cr_assert_eq(zinc_producer_set_stream(p, &s), 0);
    cr_assert_eq(zinc_consumer_stream(early, &d), 0);
    cr_expect_eq(d.fourcc, ZINC_FOURCC_GREY);
    cr_expect_eq(d.size, 64);
    zinc_ring_stats rs;
    cr_assert_eq(zinc_ring_stats_read(g_name, &rs, NULL, 0, NULL), 0);
    cr_expect_eq(rs.stream_fourcc, ZINC_FOURCC_GREY);

    zinc_consumer_close(late);
    zinc_consumer_close(early);
    zinc_producer_close(p);
}

Test(ring_api, tensor_that_does_not_fit)
{
    zinc_producer *p = mk_producer(g_name, 4, 4096);
    zinc_consumer *c = mk_consumer(g_name, ZINC_EVERY);
    zinc_frame f, g;
    cr_assert_eq(zinc_producer_claim(p, &f, 0), 0);
    cr_assert_eq(zinc_frame_set_image(&f, ZINC_FOURCC_RGBA32, 16, 16), 0); /* 1024 B */
    f.size = 1023;
    cr_expect_eq(zinc_producer_publish(p, &f), -22, "tensor reaches byte 1024 of 1023");
    cr_expect_neq(zinc_last_error()[0], '\0');
    cr_expect_eq(zinc_consumer_acquire(c, &g, 0), -11, "nothing published");
    f.size = 1024;
    f.tensor.ndim = 5;
    cr_expect_eq(zinc_producer_publish(p, &f), -22, "ndim 5");
    f.tensor.ndim = 3;
    f.tensor.strides[0] = -64;
    cr_expect_eq(zinc_producer_publish(p, &f), -22, "negative stride before byte 0");
    /* Either the claim is still open (fix and publish) or it was dropped
     * (claim again): in both cases seq 1 is the next frame seen. */
    int r = zinc_producer_abort(p, &f);
    cr_expect(r == 0 || r == -22, "abort: %d", r);
    cr_assert_eq(zinc_producer_claim(p, &f, 0), 0);
    cr_expect_eq(f.seq, 1);
    cr_assert_eq(zinc_frame_set_image(&f, ZINC_FOURCC_RGBA32, 16, 16), 0);
    cr_expect_eq(zinc_producer_publish(p, &f), 0);
    cr_assert_eq(zinc_consumer_acquire(c, &g, 0), 0);
    cr_expect_eq(g.seq, 1);
    cr_expect_eq(zinc_tensor_check(&g.tensor, g.size), 0);
    cr_expect_eq(zinc_consumer_release(c, &g), 0);
    zinc_consumer_close(c);
    zinc_producer_close(p);
}

/* ---- descriptor helpers ------------------------------------------------------ */

static zinc_frame slot_frame(uint64_t cap)
{
    zinc_frame f;
    memset(&f, 0, sizeof(f));
    f.size = cap;
    return f;
}

Test(ring_api, set_image_layouts)
{
    struct {
        uint32_t fourcc, w, h, ndim;
        uint64_t size;
        uint64_t shape[3];
        int64_t strides[3];
    } cases[] = {
        { ZINC_FOURCC_GREY, 640, 480, 2, 640 * 480, { 480, 640, 0 }, { 640, 1, 0 } },
        { ZINC_FOURCC_RGB24, 640, 480, 3, 640 * 480 * 3, { 480, 640, 3 }, { 1920, 3, 1 } },
        { ZINC_FOURCC_RGBA32, 1920, 1080, 3, 8294400, { 1080, 1920, 4 }, { 7680, 4, 1 } },
        { ZINC_FOURCC_NV12, 640, 480, 2, 640 * 720, { 720, 640, 0 }, { 640, 1, 0 } },
        { ZINC_FOURCC_RGB24, 3, 1, 3, 9, { 1, 3, 3 }, { 9, 3, 1 } },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zinc_frame f = slot_frame(8294400);
        int r = zinc_frame_set_image(&f, cases[i].fourcc, cases[i].w, cases[i].h);
        cr_assert_eq(r, 0, "case %zu: %d", i, r);
        cr_expect_eq(f.size, cases[i].size, "case %zu size", i);
        cr_expect_eq(f.fourcc, cases[i].fourcc);
        cr_expect_eq(f.tensor.ndim, cases[i].ndim, "case %zu ndim", i);
        cr_expect_eq(f.tensor.dtype_code, ZINC_DTYPE_UINT);
        cr_expect_eq(f.tensor.dtype_bits, 8);
        cr_expect_eq(f.tensor.dtype_lanes, 1);
        cr_expect_eq(f.tensor.offset, 0);
        for (uint32_t d = 0; d < cases[i].ndim; d++) {
            cr_expect_eq(f.tensor.shape[d], cases[i].shape[d], "case %zu shape[%u]", i, d);
            cr_expect_eq(f.tensor.strides[d], cases[i].strides[d], "case %zu stride[%u]", i, d);
        }
        cr_expect_eq(zinc_tensor_check(&f.tensor, f.size), 0, "case %zu check", i);
        cr_expect_eq(zinc_tensor_span(&f.tensor), f.size, "case %zu span", i);
        cr_expect_eq(zinc_tensor_check(&f.tensor, f.size - 1), -22, "case %zu one short", i);
    }
    zinc_frame f = slot_frame(1000);
    cr_expect_eq(zinc_frame_set_image(&f, ZINC_FOURCC_RGB24, 20, 20), -90, "1200 > 1000");
    cr_expect_eq(f.size, 1000, "unchanged on failure");
    cr_expect_eq(zinc_frame_set_image(&f, ZINC_FOURCC_NV12, 15, 10), -22, "odd NV12 width");
    cr_expect_eq(zinc_frame_set_image(&f, ZINC_FOURCC_NV12, 10, 15), -22, "odd NV12 height");
    cr_expect_eq(zinc_frame_set_image(&f, ZINC_FOURCC('X', 'Y', 'Z', 'W'), 4, 4), -22);
    cr_expect_eq(zinc_frame_set_image(&f, ZINC_FOURCC_PC32F, 4, 4), -22);
    cr_expect_eq(zinc_frame_set_image(&f, ZINC_FOURCC_GREY, 0, 4), -22);
    cr_expect_eq(zinc_frame_set_image(&f, ZINC_FOURCC_GREY, 4, 0), -22);
    cr_expect_eq(zinc_frame_set_image(NULL, ZINC_FOURCC_GREY, 4, 4), -22);
    /* 65535 x 65535 x 4 = 17 GB does not fit but must not overflow into "fits". */
    f = slot_frame(1u << 20);
    cr_expect_eq(zinc_frame_set_image(&f, ZINC_FOURCC_RGBA32, 0xFFFFFFFFu, 0xFFFFFFFFu), -90);
}

Test(ring_api, set_points_layout)
{
    zinc_frame f = slot_frame(1 << 20);
    cr_assert_eq(zinc_frame_set_points(&f, 1000, 3), 0);
    cr_expect_eq(f.size, 12000);
    cr_expect_eq(f.fourcc, ZINC_FOURCC_PC32F);
    cr_expect_eq(f.tensor.ndim, 2);
    cr_expect_eq(f.tensor.dtype_code, ZINC_DTYPE_FLOAT);
    cr_expect_eq(f.tensor.dtype_bits, 32);
    cr_expect_eq(f.tensor.dtype_lanes, 1);
    cr_expect_eq(f.tensor.shape[0], 1000);
    cr_expect_eq(f.tensor.shape[1], 3);
    cr_expect_eq(f.tensor.strides[0], 12);
    cr_expect_eq(f.tensor.strides[1], 4);
    cr_expect_eq(zinc_tensor_check(&f.tensor, f.size), 0);
    f = slot_frame(1 << 20);
    cr_expect_eq(zinc_frame_set_points(&f, 0, 4), 0, "an empty cloud is valid");
    cr_expect_eq(f.size, 0);
    f = slot_frame(100);
    cr_expect_eq(zinc_frame_set_points(&f, 10, 3), -90);
    cr_expect_eq(zinc_frame_set_points(&f, 1, 0), -22);
    cr_expect_eq(zinc_frame_set_points(NULL, 1, 3), -22);
    cr_expect_eq(zinc_frame_set_points(&f, UINT64_MAX, 4), -22, "n * k * 4 overflows");
}

static zinc_tensor t_u8(uint32_t ndim)
{
    zinc_tensor t;
    memset(&t, 0, sizeof(t));
    t.dtype_code = ZINC_DTYPE_UINT;
    t.dtype_bits = 8;
    t.dtype_lanes = 1;
    t.ndim = ndim;
    return t;
}

Test(ring_api, tensor_check_hostile)
{
    zinc_tensor t = t_u8(1);
    t.shape[0] = 10;
    t.strides[0] = 1;
    cr_expect_eq(zinc_tensor_check(&t, 10), 0);
    cr_expect_eq(zinc_tensor_check(&t, 9), -22, "element 9 outside 9 bytes");
    cr_expect_eq(zinc_tensor_check(NULL, 10), -22);

    t = t_u8(0);
    cr_expect_eq(zinc_tensor_check(&t, 0), 0, "ndim 0 = raw bytes");

    t = t_u8(5);
    for (int d = 0; d < 4; d++) {
        t.shape[d] = 1;
        t.strides[d] = 1;
    }
    cr_expect_eq(zinc_tensor_check(&t, 100), -22, "ndim 5");
    t.ndim = UINT32_MAX;
    cr_expect_eq(zinc_tensor_check(&t, 100), -22, "ndim 2^32-1");

    /* Negative stride reaching before byte 0, and one that stays inside. */
    t = t_u8(1);
    t.shape[0] = 4;
    t.strides[0] = -1;
    cr_expect_eq(zinc_tensor_check(&t, 100), -22, "reaches byte -3");
    t.offset = 3;
    cr_expect_eq(zinc_tensor_check(&t, 4), 0, "bytes 0..3 backwards");
    t.strides[0] = INT64_MIN;
    cr_expect_eq(zinc_tensor_check(&t, 100), -22, "INT64_MIN stride");

    /* Overflow of shape x stride, offset near the top. */
    t = t_u8(2);
    t.shape[0] = (uint64_t)1 << 40;
    t.shape[1] = (uint64_t)1 << 40;
    t.strides[0] = INT64_MAX / 2;
    t.strides[1] = INT64_MAX / 2;
    cr_expect_eq(zinc_tensor_check(&t, UINT64_MAX), -22, "products overflow");
    t = t_u8(1);
    t.shape[0] = UINT64_MAX;
    t.strides[0] = 1;
    cr_expect_eq(zinc_tensor_check(&t, UINT64_MAX), -22, "shape UINT64_MAX");
    t = t_u8(1);
    t.shape[0] = 2;
    t.strides[0] = 1;
    t.offset = UINT64_MAX - 1;
    cr_expect_eq(zinc_tensor_check(&t, UINT64_MAX), -22, "offset + extent wraps");
    t.offset = 20;
    cr_expect_eq(zinc_tensor_check(&t, 21), -22, "offset pushes it out");
    cr_expect_eq(zinc_tensor_check(&t, 22), 0);

    /* Element size counts: 4 float32 at stride 4 need 16 bytes. */
    t = t_u8(1);
    t.dtype_code = ZINC_DTYPE_FLOAT;
    t.dtype_bits = 32;
    t.shape[0] = 4;
    t.strides[0] = 4;
    cr_expect_eq(zinc_tensor_check(&t, 16), 0);
    cr_expect_eq(zinc_tensor_check(&t, 15), -22);
    t.dtype_lanes = 2;
    cr_expect_eq(zinc_tensor_check(&t, 16), -22, "2 lanes: last element ends at 20");

    /* Bad dtypes. */
    t = t_u8(1);
    t.shape[0] = 1;
    t.strides[0] = 1;
    t.dtype_code = 3;
    cr_expect_eq(zinc_tensor_check(&t, 100), -22, "dtype code 3");
    t.dtype_code = 200;
    cr_expect_eq(zinc_tensor_check(&t, 100), -22, "dtype code 200");
    t.dtype_code = ZINC_DTYPE_INT;
    t.dtype_bits = 0;
    cr_expect_eq(zinc_tensor_check(&t, 100), -22, "0 bits");
    t.dtype_bits = 12;
    cr_expect_eq(zinc_tensor_check(&t, 100), -22, "12 bits");
    t.dtype_bits = 8;
    t.dtype_lanes = 0;
    cr_expect_eq(zinc_tensor_check(&t, 100), -22, "0 lanes");
    cr_expect_eq(zinc_tensor_span(&t), 0);
}

/* ---- counters ---------------------------------------------------------------- */

Test(ring_api, stats_counters)
{
    zinc_producer *p = mk_producer(g_name, 4, 512);
    zinc_consumer *e = mk_consumer(g_name, ZINC_EVERY);
    zinc_consumer *l = mk_consumer(g_name, ZINC_LOSSY);
    zinc_frame g;
    for (int i = 0; i < 3; i++)
        put(p, 64);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(zinc_consumer_acquire(e, &g, 0), 0);
        cr_assert_eq(zinc_consumer_release(e, &g), 0);
    }
    /* The lossy one reads frame 1, is lapped while holding it (torn), then
     * skips ahead (dropped). */
    zinc_frame held;
    cr_assert_eq(zinc_consumer_acquire(l, &held, 0), 0);
    cr_assert_eq(held.seq, 1);
    for (int i = 0; i < 9; i++) {
        put(p, 64);
        cr_assert_eq(zinc_consumer_acquire(e, &g, 0), 0);
        cr_assert_eq(zinc_consumer_release(e, &g), 0);
    }
    cr_assert_eq(zinc_consumer_acquire(l, &g, 0), -22, "still holding frame 1");
    cr_expect_eq(zinc_consumer_release(l, &held), -75, "frame 1 was overwritten while held");
    cr_assert_eq(zinc_consumer_acquire(l, &g, 0), 0);
    cr_expect_eq(g.seq, 1 + 1 + g.dropped);
    cr_expect_eq(zinc_consumer_release(l, &g), 0);
    zinc_ring_stats rs;
    zinc_consumer_stats cs[4];
    uint32_t n = 0;
    memset(cs, 0, sizeof(cs));

    cr_assert_eq(zinc_ring_stats_read(g_name, &rs, cs, 4, &n), 0);
    cr_expect_eq(n, 2);
    cr_expect_eq(rs.head, 12);
    cr_expect_eq(rs.published, 12);
    cr_expect_eq(rs.published_bytes, 12 * 64);
    cr_expect_eq(rs.slot_count, 4);
    cr_expect_eq(rs.slot_size, 512);
    cr_expect_eq(rs.max_consumers, ZINC_RING_DEFAULT_CONSUMERS);
    cr_expect_eq(rs.producer_state, 1);
    cr_expect_eq(rs.producer_alive, 1);
    cr_expect_eq(rs.producer_pid, getpid());
    cr_expect_eq(rs.consumers, 2);
    cr_expect_eq(rs.generation, zinc_producer_generation(p));
    cr_expect_neq(rs.last_publish_ns, 0);
    cr_expect_neq(rs.created_ns, 0);

    const zinc_consumer_stats *se = NULL, *sl = NULL;
    for (uint32_t i = 0; i < n && i < 4; i++) {
        if (cs[i].mode == ZINC_EVERY)
            se = &cs[i];
        else if (cs[i].mode == ZINC_LOSSY)
            sl = &cs[i];
    }
    cr_assert_not_null(se);
    cr_assert_not_null(sl);
    cr_expect_eq(se->acquired, 12);
    cr_expect_eq(se->released, 12);
    cr_expect_eq(se->cursor, 12);
    cr_expect_eq(se->lag, 0);
    cr_expect_eq(se->dropped, 0);
    cr_expect_eq(se->alive, 1);
    cr_expect_eq(se->pid, getpid());
    cr_expect_neq(se->attached_ns, 0);
    uint64_t sum = 0;
    for (int b = 0; b < ZINC_LAT_BUCKETS; b++)
        sum += se->latency[b];
    cr_expect_eq(sum, se->acquired, "latency histogram sums to acquired");
    cr_expect_eq(sl->acquired, 2);
    cr_expect_eq(sl->torn, 1);
    cr_expect_eq(sl->released, 1);
    cr_expect_eq(sl->acquired + sl->dropped, g.seq, "lossy accounts for every frame");
    cr_expect_eq(sl->cursor, g.seq);
    cr_expect_eq(sl->lag, 12 - g.seq);
    sum = 0;
    for (int b = 0; b < ZINC_LAT_BUCKETS; b++)
        sum += sl->latency[b];
    cr_expect_eq(sum, sl->acquired);
    cr_expect_eq(zinc_consumer_stream(l, &g), -11);
    zinc_consumer_close(e);
    zinc_consumer_close(l);
    zinc_producer_close(p);
}

Test(ring_api, no_timestamps_flag)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    zinc_ring_config cfg = ru_cfg(4, 256);
    cfg.flags = ZINC_RING_NO_TIMESTAMPS;
    zinc_producer *p = NULL;
    cr_assert_eq(zinc_producer_create(g_name, &cfg, &p), 0, "%s", zinc_last_error());
    zinc_consumer *c = mk_consumer(g_name, ZINC_EVERY);
    zinc_ring_config seen;
    cr_assert_eq(zinc_consumer_config(c, &seen), 0);
    cr_expect_eq(seen.flags & ZINC_RING_NO_TIMESTAMPS, ZINC_RING_NO_TIMESTAMPS,
                 "the consumer sees the flag");
    zinc_frame f, g;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(zinc_producer_claim(p, &f, 0), 0);
        f.size = 16;
        f.timestamp_ns = 1000u + (uint64_t)i; /* the producer's own time still travels */
        cr_assert_eq(zinc_producer_publish(p, &f), 0);
        cr_expect_eq(f.publish_ns, 0);
        cr_assert_eq(zinc_consumer_acquire(c, &g, 0), 0);
        cr_expect_eq(g.publish_ns, 0, "frame %llu: publish_ns %llu", (unsigned long long)g.seq,
                     (unsigned long long)g.publish_ns);
        cr_expect_eq(g.timestamp_ns, 1000u + (uint64_t)i);
        cr_assert_eq(zinc_consumer_release(c, &g), 0);
    }
    zinc_ring_stats rs;
    zinc_consumer_stats cs;
    uint32_t n = 0;
    cr_assert_eq(zinc_ring_stats_read(g_name, &rs, &cs, 1, &n), 0);
    cr_assert_eq(n, 1);
    cr_expect_eq(rs.flags & ZINC_RING_NO_TIMESTAMPS, ZINC_RING_NO_TIMESTAMPS);
    cr_expect_eq(rs.last_publish_ns, 0);
    cr_expect_eq(cs.acquired, 3);
    uint64_t sum = 0;
    for (int b = 0; b < ZINC_LAT_BUCKETS; b++)
        sum += cs.latency[b];
    cr_expect_eq(sum, 0, "no latency recorded without publish_ns");
    zinc_consumer_close(c);
    zinc_producer_close(p);
}

Test(ring_api, stats_read_without_attach)
{
    zinc_ring_stats rs;
    uint32_t n = 99;
    cr_expect_eq(zinc_ring_stats_read(g_name, &rs, NULL, 0, &n), -2, "missing ring");
    cr_expect_eq(zinc_ring_stats_read(NULL, &rs, NULL, 0, &n), -22);
    cr_expect_eq(zinc_ring_stats_read(g_name, NULL, NULL, 0, &n), -22);
    zinc_producer *p = mk_producer(g_name, 2, 64);
    put(p, 8);
    cr_assert_eq(zinc_ring_stats_read(g_name, &rs, NULL, 0, &n), 0);
    cr_expect_eq(n, 0);
    cr_expect_eq(rs.consumers, 0);
    cr_expect_eq(rs.published, 1);
    /* Reading the stats did not attach: a table of one still has room. */
    zinc_consumer *c = mk_consumer(g_name, ZINC_LATEST);
    cr_assert_eq(zinc_ring_stats_read(g_name, &rs, NULL, 0, &n), 0);
    cr_expect_eq(n, 1, "n_out counts entries even with cap 0");
    zinc_consumer_close(c);
    zinc_producer_close(p);
}

/* ---- delivery modes ------------------------------------------------------------ */

static void expect_next(zinc_consumer *c, uint64_t seq, uint64_t dropped)
{
    zinc_frame g;
    memset(&g, 0, sizeof(g));
    int r = zinc_consumer_acquire(c, &g, 0);
    cr_assert_eq(r, 0, "acquire (want %llu): %d (%s)", (unsigned long long)seq, r,
                 zinc_last_error());
    cr_expect_eq(g.seq, seq, "got seq %llu, want %llu", (unsigned long long)g.seq,
                 (unsigned long long)seq);
    cr_expect_eq(g.dropped, dropped, "seq %llu: dropped %llu, want %llu",
                 (unsigned long long)g.seq, (unsigned long long)g.dropped,
                 (unsigned long long)dropped);
    cr_expect_eq(ru_check(g.data, g.size, g.seq, false), RU_OK);
    cr_expect_eq(zinc_consumer_release(c, &g), 0);
}

static void expect_empty(zinc_consumer *c)
{
    zinc_frame g;
    int r = zinc_consumer_acquire(c, &g, 0);
    cr_expect_eq(r, -11, "expected nothing, got %d (seq %llu)", r,
                 r == 0 ? (unsigned long long)g.seq : 0ull);
    if (r == 0)
        zinc_consumer_release(c, &g);
}

/* A producer that waits until the stats show a consumer attached
 * (attached_ns != 0) and then publishes: the consumer, in another process,
 * gets that very frame. attached_ns is set only once the consumer's start
 * point is fixed, so no frame published after it can fall before it. */
Test(ring_api, attached_ns_set_means_next_frame_arrives)
{
    zinc_producer *p = mk_producer(g_name, 4, 128);
    for (int round = 0; round < 100; round++) {
        int pfd[2];
        cr_assert_eq(pipe(pfd), 0);
        pid_t pid = fork();
        if (pid == 0) {
            close(pfd[0]);
            zinc_consumer *c = NULL;
            zinc_frame f;
            /* The frame's seq, or (on failure) the code and message. */
            struct { uint64_t seq; int rc; char msg[200]; } out = { 0, 0, "" };
            out.rc = zinc_consumer_open(g_name, round % 2 ? ZINC_LOSSY : ZINC_EVERY, &c);
            if (out.rc == 0)
                out.rc = zinc_consumer_acquire(c, &f, 5000000000ll);
            if (out.rc == 0) {
                out.seq = f.seq;
                zinc_consumer_release(c, &f);
            } else {
                snprintf(out.msg, sizeof(out.msg), "%s", zinc_last_error());
            }
            zinc_consumer_close(c); /* frees the entry: it gates nothing later */
            if (write(pfd[1], &out, sizeof(out)) != sizeof(out))
                _exit(1);
            _exit(0);
        }
        close(pfd[1]);
        zinc_consumer_stats cs[ZINC_RING_DEFAULT_CONSUMERS];
        zinc_ring_stats rs;
        uint32_t n = 0;
        uint64_t t0 = ru_now_ns();
        bool attached = false;
        while (!attached) {
            cr_assert_eq(zinc_ring_stats_read(g_name, &rs, cs, ZINC_RING_DEFAULT_CONSUMERS, &n), 0);
            for (uint32_t i = 0; i < n; i++)
                attached |= cs[i].alive && cs[i].attached_ns != 0;
            cr_assert_lt(ru_now_ns() - t0, 10000000000ull, "the consumer never attached");
        }
        uint64_t want = put(p, 16);
        struct { uint64_t seq; int rc; char msg[200]; } got;
        cr_assert_eq(read(pfd[0], &got, sizeof(got)), (ssize_t)sizeof(got));
        close(pfd[0]);
        cr_assert_eq(ru_reap(pid, 10000), 0);
        cr_assert_eq(got.seq, want, "round %d (%s): the consumer got frame %llu, not %llu, the "
                     "first published after it showed as attached (%d %s)", round,
                     round % 2 ? "lossy" : "every", (unsigned long long)got.seq,
                     (unsigned long long)want, got.rc, got.msg);
    }
    zinc_producer_close(p);
}

Test(ring_api, every_and_lossy_start_after_attach)
{
    zinc_producer *p = mk_producer(g_name, 8, 128);
    put(p, 32);
    put(p, 32);
    zinc_consumer *e = mk_consumer(g_name, ZINC_EVERY);
    zinc_consumer *l = mk_consumer(g_name, ZINC_LOSSY);
    cr_expect_eq(zinc_consumer_mode(e), ZINC_EVERY);
    cr_expect_eq(zinc_consumer_mode(l), ZINC_LOSSY);
    expect_empty(e);
    expect_empty(l);
    put(p, 40);
    expect_next(e, 3, 0);
    expect_next(l, 3, 0);
    expect_empty(e);
    expect_empty(l);
    zinc_consumer_close(e);
    zinc_consumer_close(l);
    zinc_producer_close(p);
}

Test(ring_api, latest_first_acquire_is_newest)
{
    zinc_producer *p = mk_producer(g_name, 8, 128);
    zinc_consumer *empty = mk_consumer(g_name, ZINC_LATEST);
    expect_empty(empty);
    for (int i = 0; i < 3; i++)
        put(p, 24 + (uint64_t)i);
    zinc_consumer *c = mk_consumer(g_name, ZINC_LATEST);
    cr_expect_eq(zinc_consumer_mode(c), ZINC_LATEST);
    zinc_frame g;
    cr_assert_eq(zinc_consumer_acquire(c, &g, 0), 0);
    cr_expect_eq(g.seq, 3, "newest already-published frame");
    cr_expect_eq(ru_check(g.data, g.size, 3, false), RU_OK);
    cr_expect_eq(zinc_consumer_release(c, &g), 0);
    expect_empty(c);
    /* It skips the backlog, counting it. */
    for (int i = 0; i < 4; i++)
        put(p, 30);
    expect_next(c, 7, 3);
    expect_empty(c);
    put(p, 30);
    expect_next(c, 8, 0);
    /* The consumer attached to the empty ring saw nothing until now. */
    expect_next(empty, 8, 7);
    zinc_consumer_close(empty);
    zinc_consumer_close(c);
    zinc_producer_close(p);
}

Test(ring_api, lossy_lapped_counts_dropped)
{
    zinc_producer *p = mk_producer(g_name, 4, 128);
    zinc_consumer *l = mk_consumer(g_name, ZINC_LOSSY);
    for (int i = 0; i < 10; i++)
        put(p, 48);
    zinc_frame g;
    cr_assert_eq(zinc_consumer_acquire(l, &g, 0), 0);
    /* Frames 1..6 were overwritten; 7..10 are in the ring: a lapped LOSSY
     * consumer resumes at the oldest frame still there, exactly. */
    cr_expect_eq(g.seq, 7, "resumed at %llu, the oldest frame in the ring is 7",
                 (unsigned long long)g.seq);
    cr_expect_eq(g.dropped, 6, "dropped %llu, frames 1..6 were lost",
                 (unsigned long long)g.dropped);
    cr_expect_eq(ru_check(g.data, g.size, g.seq, false), RU_OK);
    cr_assert_eq(zinc_consumer_release(l, &g), 0);
    for (uint64_t s = g.seq + 1; s <= 10; s++)
        expect_next(l, s, 0);
    expect_empty(l);
    zinc_consumer_stats cs;
    zinc_ring_stats rs;
    uint32_t n = 0;
    cr_assert_eq(zinc_ring_stats_read(g_name, &rs, &cs, 1, &n), 0);
    cr_assert_eq(n, 1);
    cr_expect_eq(cs.dropped + cs.acquired, 10);
    zinc_consumer_close(l);
    zinc_producer_close(p);
}

/* Lapped while the producer holds a claim: the oldest published frame's
 * slot is being overwritten (odd lock), so the consumer resumes one later,
 * and counts that frame as dropped too. */
Test(ring_api, lossy_lapped_during_claim_resumes_after_claimed_slot)
{
    zinc_producer *p = mk_producer(g_name, 4, 128);
    zinc_consumer *l = mk_consumer(g_name, ZINC_LOSSY);
    for (int i = 0; i < 10; i++)
        put(p, 48);
    zinc_frame w, g;
    cr_assert_eq(zinc_producer_claim(p, &w, 0), 0);
    cr_assert_eq(w.seq, 11); /* slot of frame 7 */
    cr_assert_eq(zinc_consumer_acquire(l, &g, 0), 0);
    cr_expect_eq(g.seq, 8, "resumed at %llu: frame 7's slot is under claim",
                 (unsigned long long)g.seq);
    cr_expect_eq(g.dropped, 7, "dropped %llu (1..7)", (unsigned long long)g.dropped);
    cr_expect_eq(ru_check(g.data, g.size, g.seq, false), RU_OK);
    cr_assert_eq(zinc_consumer_release(l, &g), 0);
    expect_next(l, 9, 0);
    expect_next(l, 10, 0);
    expect_empty(l);
    w.size = 48;
    ru_fill(w.data, 48, w.seq, false);
    cr_assert_eq(zinc_producer_publish(p, &w), 0);
    expect_next(l, 11, 0);
    zinc_consumer_close(l);
    zinc_producer_close(p);
}

Test(ring_api, lossy_overwritten_while_held)
{
    zinc_producer *p = mk_producer(g_name, 2, 128);
    zinc_consumer *l = mk_consumer(g_name, ZINC_LOSSY);
    zinc_consumer *t = mk_consumer(g_name, ZINC_LATEST);
    put(p, 64);
    zinc_frame g, h;
    cr_assert_eq(zinc_consumer_acquire(l, &g, 0), 0);
    cr_assert_eq(zinc_consumer_acquire(t, &h, 0), 0);
    cr_assert_eq(g.seq, 1);
    cr_assert_eq(h.seq, 1);
    put(p, 64);
    put(p, 64); /* frame 3 reuses frame 1's slot */
    cr_expect_eq(zinc_consumer_release(l, &g), -75, "lossy frame overwritten while held");
    cr_expect_eq(zinc_consumer_release(t, &h), -75, "latest frame overwritten while held");
    cr_expect_eq(zinc_consumer_release(l, &g), -22, "the hold is over after -75");
    zinc_ring_stats rs;
    zinc_consumer_stats cs[2];
    uint32_t n = 0;
    cr_assert_eq(zinc_ring_stats_read(g_name, &rs, cs, 2, &n), 0);
    cr_assert_eq(n, 2);
    cr_expect_eq(cs[0].torn, 1);
    cr_expect_eq(cs[1].torn, 1);
    cr_expect_eq(cs[0].released, 0);
    /* After the torn frame 1 (its cursor), frame 2 is still in the ring
     * (slot 1; frame 3 took slot 0): next is exactly 2, nothing dropped. */
    cr_assert_eq(zinc_consumer_acquire(l, &g, 0), 0);
    cr_expect_eq(g.seq, 2, "seq %llu", (unsigned long long)g.seq);
    cr_expect_eq(g.dropped, 0);
    cr_expect_eq(zinc_consumer_release(l, &g), 0);
    expect_next(l, 3, 0);
    expect_empty(l);

    /* A claim alone (odd lock word) is enough to tear a held frame, and a
     * claim of another slot is not. */
    put(p, 64); /* 4, slot 1 */
    cr_assert_eq(zinc_consumer_acquire(l, &g, 0), 0);
    cr_assert_eq(g.seq, 4);
    zinc_frame f;
    cr_assert_eq(zinc_producer_claim(p, &f, 0), 0); /* 5, slot 0 */
    cr_assert_eq(zinc_producer_abort(p, &f), 0);
    cr_expect_eq(zinc_consumer_release(l, &g), 0, "frame 4 was not touched");
    cr_assert_eq(zinc_producer_claim(p, &f, 0), 0); /* 5, slot 0, again */
    cr_assert_eq(f.seq, 5);
    cr_assert_eq(zinc_producer_abort(p, &f), 0);
    cr_assert_eq(zinc_consumer_acquire(l, &g, 0), -11);
    put(p, 64); /* 5 */
    cr_assert_eq(zinc_consumer_acquire(l, &g, 0), 0);
    cr_assert_eq(g.seq, 5);
    put(p, 64); /* 6, slot 1 */
    cr_assert_eq(zinc_producer_claim(p, &f, 0), 0); /* 7, slot 0: frame 5's */
    cr_expect_eq(zinc_consumer_release(l, &g), -75, "claim of its slot tears frame 5");
    cr_assert_eq(zinc_producer_abort(p, &f), 0);
    zinc_consumer_close(t);
    zinc_consumer_close(l);
    zinc_producer_close(p);
}

Test(ring_api, every_frame_never_overwritten_while_held)
{
    zinc_producer *p = mk_producer(g_name, 2, 128);
    zinc_consumer *e = mk_consumer(g_name, ZINC_EVERY);
    put(p, 64);
    put(p, 64);
    zinc_frame g, f;
    cr_assert_eq(zinc_consumer_acquire(e, &g, 0), 0);
    cr_expect_eq(zinc_producer_claim(p, &f, 0), -11);
    cr_expect_eq(ru_check(g.data, g.size, 1, false), RU_OK);
    cr_expect_eq(zinc_consumer_release(e, &g), 0);
    zinc_consumer_close(e);
    zinc_producer_close(p);
}

/* ---- errors with detail -------------------------------------------------------- */

Test(ring_api, open_missing_and_plain_region)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    zinc_consumer *c = (zinc_consumer *)(uintptr_t)1;
    cr_expect_eq(zinc_consumer_open(g_name, ZINC_EVERY, &c), -2);
    cr_expect_null(c);
    cr_expect_neq(zinc_last_error()[0], '\0');

    ZincHandle h = NULL;
    cr_assert_eq(zinc_create(g_name, ru_page(), &h), 0);
    cr_expect_eq(zinc_consumer_open(g_name, ZINC_EVERY, &c), -74, "version-1 plain region");
    cr_expect_neq(zinc_last_error()[0], '\0');
    zinc_ring_stats rs;
    cr_expect_eq(zinc_ring_stats_read(g_name, &rs, NULL, 0, NULL), -74);
    cr_expect_eq(zinc_ring_remove_stale(g_name), -74);
    zinc_close(h);
    ru_cleanup(g_name);

    zinc_create_opts o;
    memset(&o, 0, sizeof(o));
    o.layout_version = 2;
    cr_assert_eq(zinc_create_ex(g_name2, 4 * ru_page(), &o, &h), 0);
    cr_expect_eq(zinc_consumer_open(g_name2, ZINC_LOSSY, &c), -74, "version-2 plain region");
    zinc_close(h);

    cr_expect_eq(zinc_consumer_open(g_name, (zinc_delivery)3, &c), -22, "bad mode");
}

Test(ring_api, ring_is_a_region)
{
    zinc_producer *p = mk_producer(g_name, 4, 4096);
    zinc_region_info info;
    cr_assert_eq(zinc_inspect(g_name, &info), 0);
    cr_expect_eq(info.version, 2);
    cr_expect_eq(info.is_ring, 1);
    cr_expect_eq(info.data_offset, ru_page());
    ZincHandle h = NULL;
    cr_assert_eq(zinc_open(g_name, &h), 0, "a plain Zinc client can open it");
    cr_expect_eq(memcmp(zinc_ptr(h), "ZINCRING", 8), 0);
    zinc_close(h);
    zinc_producer_close(p);
}

Test(ring_api, no_space_in_dev_shm)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    struct statvfs sv;
    cr_assert_eq(statvfs("/dev/shm", &sv), 0);
    uint64_t free_b = (uint64_t)sv.f_bavail * sv.f_frsize;
    zinc_ring_config c = ru_cfg(2, (uint64_t)1 << 44); /* 32 TiB */
    uint64_t need = zinc_ring_size(&c);
    if (need == 0 || need <= free_b)
        cr_skip_test("cannot exceed /dev/shm's free space here");
    zinc_producer *p = NULL;
    cr_expect_eq(zinc_producer_create(g_name, &c, &p), -28);
    const char *m = zinc_last_error();
    cr_expect_neq(m[0], '\0');
    cr_expect_not_null(strstr(m, g_name), "message names the ring: %s", m);
    cr_expect(!ru_exists(g_name), "nothing left behind");
}
