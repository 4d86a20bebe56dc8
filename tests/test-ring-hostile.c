/* SPDX-License-Identifier: MIT */
/*
 * test-ring-hostile.c — corrupted ring bytes. A ring is created, then its
 * control block, consumer table or descriptors are overwritten through a
 * raw mapping of /dev/shm/zinc_<name> (offsets from src/layout.h; the ring
 * base is one page into the object). Attach must answer -74 for geometry
 * that does not add up; acquire must answer a negative code for hostile
 * control values and descriptors — never crash, never hang (Criterion's
 * timeout), never hand out a pointer outside the mapping.
 */
#include <criterion/criterion.h>

#include <zinc/ring.h>
#include <zinc/zinc.h>

#include "layout.h"
#include "ring-util.h"

#include "ring-suite.h"

static zinc_producer *g_p;
static uint8_t *g_raw;
static size_t g_len;

#define SLOTS 4
#define SLOT_SIZE 1000

static void teardown(void)
{
    if (g_raw)
        munmap(g_raw, g_len);
    ru_suite_teardown();
}

TestSuite(ring_hostile, .init = ru_suite_setup, .fini = teardown, .timeout = 60);

/* Writes of a hostile party: relaxed, nothing pairs with them — the point
 * is that readers survive whatever they see. */
#define POKE(field, v) atomic_store_explicit(&(field), (v), memory_order_relaxed)

static struct zr_ctl *ctl(void)
{
    return (struct zr_ctl *)(g_raw + ru_page());
}

static struct zr_desc *desc(uint32_t slot)
{
    return (struct zr_desc *)(g_raw + ru_page() + ctl()->geom.off_descs) + slot;
}

static struct zr_cons *centry(uint32_t i)
{
    return (struct zr_cons *)(g_raw + ru_page() + ctl()->geom.off_consumers) + i;
}

/* A ring with frames 1..published, and a raw read-write mapping of it. */
static void make_ring(uint64_t published)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    zinc_ring_config c = ru_cfg(SLOTS, SLOT_SIZE);
    cr_assert_eq(zinc_producer_create(g_name, &c, &g_p), 0);
    for (uint64_t i = 0; i < published; i++)
        cr_assert_eq(ru_produce(g_p, 100, false, false, 0), 0);
    g_raw = ru_map_raw(g_name, &g_len);
    cr_assert_not_null(g_raw);
    /* Relaxed: the ring is complete (create returned); just a sanity check. */
    cr_assert_eq(atomic_load_explicit(&ctl()->magic, memory_order_relaxed), ZR_MAGIC,
                 "raw view of the ring");
}

/* Is [p, p + n) inside a mapping of this ring's object? */
static bool inside_ring_mapping(const void *p, uint64_t n)
{
    char want[512];
    ru_shm_path(want, sizeof(want), g_name);
    FILE *f = fopen("/proc/self/maps", "r");
    cr_assert_not_null(f);
    char line[1024];
    bool ok = false;
    uintptr_t a = (uintptr_t)p;
    while (!ok && fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        char path[600] = "";
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %599s", &lo, &hi, path) < 2)
            continue;
        if (strcmp(path, want) != 0)
            continue;
        if (a >= lo && a <= hi && n <= hi - a)
            ok = true;
    }
    fclose(f);
    return ok;
}

static int open_code(zinc_delivery mode)
{
    zinc_consumer *c = NULL;
    int r = zinc_consumer_open(g_name, mode, &c);
    if (r == 0)
        zinc_consumer_close(c);
    return r;
}

/* ---- attach: geometry that does not add up ---------------------------------- */

typedef void (*corrupt_fn)(struct zr_ctl *c);

static void expect_bad_geometry(corrupt_fn fn, const char *what)
{
    struct zr_ctl saved;
    memcpy(&saved, ctl(), sizeof(saved));
    fn(ctl());
    int r = open_code(ZINC_LOSSY);
    cr_expect_eq(r, -74, "%s: consumer_open %d", what, r);
    cr_expect_neq(zinc_last_error()[0], '\0', "%s: no message", what);
    zinc_ring_stats rs;
    r = zinc_ring_stats_read(g_name, &rs, NULL, 0, NULL);
    cr_expect_eq(r, -74, "%s: stats_read %d", what, r);
    /* Restore: the same ring attaches again, so it was this field. */
    memcpy((void *)ctl(), &saved, offsetof(struct zr_ctl, head));
    cr_expect_eq(open_code(ZINC_LOSSY), 0, "%s: restored ring does not attach", what);
}

static void c_magic(struct zr_ctl *c) { POKE(c->magic, 0x1122334455667788ull); }
static void c_version(struct zr_ctl *c) { c->layout_version = ZR_LAYOUT_VERSION + 1; }
static void c_ctl_size(struct zr_ctl *c) { c->ctl_size = 512; }
static void c_cons_size(struct zr_ctl *c) { c->consumer_size = 256; }
static void c_desc_size(struct zr_ctl *c) { c->desc_size = 128; }
static void c_slots3(struct zr_ctl *c) { c->geom.slot_count = 3; }
static void c_slots0(struct zr_ctl *c) { c->geom.slot_count = 0; }
static void c_slots_huge(struct zr_ctl *c) { c->geom.slot_count = 1u << 20; }
static void c_slots_more(struct zr_ctl *c) { c->geom.slot_count = SLOTS * 2; }
static void c_maxc0(struct zr_ctl *c) { c->geom.max_consumers = 0; }
static void c_maxc_huge(struct zr_ctl *c) { c->geom.max_consumers = 100000; }
static void c_maxc_more(struct zr_ctl *c) { c->geom.max_consumers += 1; }
static void c_slot_size0(struct zr_ctl *c) { c->geom.slot_size = 0; }
static void c_slot_size_big(struct zr_ctl *c) { c->geom.slot_size = c->geom.slot_stride + 1; }
static void c_slot_size_huge(struct zr_ctl *c) { c->geom.slot_size = 1ull << 62; }
static void c_stride_half(struct zr_ctl *c) { c->geom.slot_stride /= 2; }
static void c_stride_odd(struct zr_ctl *c) { c->geom.slot_stride += 8; }
static void c_off_cons(struct zr_ctl *c) { c->geom.off_consumers = 512; }
static void c_off_descs(struct zr_ctl *c) { c->geom.off_descs = c->geom.off_consumers; }
static void c_off_pay_overlap(struct zr_ctl *c) { c->geom.off_payloads = c->geom.off_descs; }
static void c_off_pay_end(struct zr_ctl *c) { c->geom.off_payloads = c->geom.ring_bytes; }
static void c_off_pay_unaligned(struct zr_ctl *c) { c->geom.off_payloads += 64; }
static void c_off_pay_wrap(struct zr_ctl *c) { c->geom.off_payloads = UINT64_MAX - 4095; }
static void c_ring_bytes(struct zr_ctl *c) { c->geom.ring_bytes += (uint64_t)ru_page(); }
static void c_ring_bytes_small(struct zr_ctl *c) { c->geom.ring_bytes -= (uint64_t)ru_page(); }
/* Consistent numbers that describe a ring larger than the region. */
static void c_bigger_ring(struct zr_ctl *c)
{
    uint64_t page = ru_page();
    c->geom.slot_size = 4 * page;
    c->geom.slot_stride = 4 * page;
    c->geom.ring_bytes = c->geom.off_payloads + (uint64_t)c->geom.slot_count * c->geom.slot_stride;
}

Test(ring_hostile, attach_rejects_bad_geometry)
{
    make_ring(2);
    static const struct {
        corrupt_fn fn;
        const char *what;
    } cases[] = {
        { c_magic, "ring magic" },
        { c_version, "layout_version" },
        { c_ctl_size, "ctl_size" },
        { c_cons_size, "consumer_size" },
        { c_desc_size, "desc_size" },
        { c_slots3, "slot_count 3" },
        { c_slots0, "slot_count 0" },
        { c_slots_huge, "slot_count 2^20" },
        { c_slots_more, "slot_count doubled" },
        { c_maxc0, "max_consumers 0" },
        { c_maxc_huge, "max_consumers 100000" },
        { c_maxc_more, "max_consumers + 1" },
        { c_slot_size0, "slot_size 0" },
        { c_slot_size_big, "slot_size > stride" },
        { c_slot_size_huge, "slot_size 2^62" },
        { c_stride_half, "slot_stride halved (payloads overlap)" },
        { c_stride_odd, "slot_stride not page-aligned" },
        { c_off_cons, "consumer table overlaps the control block" },
        { c_off_descs, "descriptors overlap the consumer table" },
        { c_off_pay_overlap, "payloads overlap the descriptors" },
        { c_off_pay_end, "payloads past the end" },
        { c_off_pay_unaligned, "payloads not page-aligned" },
        { c_off_pay_wrap, "payload offset wraps" },
        { c_ring_bytes, "ring_bytes larger" },
        { c_ring_bytes_small, "ring_bytes smaller" },
        { c_bigger_ring, "consistent geometry larger than the region" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_bad_geometry(cases[i].fn, cases[i].what);
    /* The producer never noticed: it keeps its private geometry. */
    cr_expect_eq(ru_produce(g_p, 100, false, false, 0), 0);
    zinc_producer_close(g_p);
}

Test(ring_hostile, attach_rejects_bad_region_header)
{
    make_ring(1);
    struct zinc_hdr *h = (struct zinc_hdr *)g_raw;
    struct zinc_hdr saved;
    memcpy(&saved, h, sizeof(saved));

    POKE(h->magic, 0xDEADBEEFull);
    cr_expect_eq(open_code(ZINC_EVERY), -74, "region magic");
    memcpy(h, &saved, sizeof(saved));

    h->version = 1;
    cr_expect_eq(open_code(ZINC_EVERY), -74, "a version-1 region cannot hold a ring");
    h->version = 7;
    cr_expect_eq(open_code(ZINC_EVERY), -74, "region version 7");
    memcpy(h, &saved, sizeof(saved));

    h->capacity = saved.capacity + ru_page();
    cr_expect_eq(open_code(ZINC_EVERY), -74, "capacity past the end of the object");
    memcpy(h, &saved, sizeof(saved));

    cr_expect_eq(open_code(ZINC_EVERY), 0, "restored");
    zinc_producer_close(g_p);
}

Test(ring_hostile, truncated_object)
{
    /* A ring whose object is shorter than its header says. */
    make_ring(1);
    char path[512];
    ru_shm_path(path, sizeof(path), g_name);
    cr_assert_eq(truncate(path, (off_t)(ru_page() + 2048)), 0);
    munmap(g_raw, g_len); /* its tail is gone */
    g_raw = NULL;
    cr_expect_eq(open_code(ZINC_LATEST), -74);
    zinc_ring_stats rs;
    cr_expect_eq(zinc_ring_stats_read(g_name, &rs, NULL, 0, NULL), -74);
    /* The producer's own mapping now has a hole: close without touching
     * the payloads. */
    zinc_producer_close(g_p);
}

/* ---- acquire: hostile control values and descriptors ------------------------ */

/* Acquire until a negative code (bounded): every frame handed out must be
 * inside the mapping and pass zinc_tensor_check. Returns the last code. */
static int drain_hostile(zinc_consumer *c, int64_t timeout_ns, int max_frames)
{
    for (int i = 0; i <= max_frames; i++) {
        zinc_frame f;
        int r = zinc_consumer_acquire(c, &f, timeout_ns);
        if (r < 0)
            return r;
        cr_assert_eq(r, 0);
        cr_expect_leq(f.size, SLOT_SIZE);
        cr_expect(inside_ring_mapping(f.data, f.size), "frame %llu: [%p, +%llu) outside the mapping",
                  (unsigned long long)f.seq, f.data, (unsigned long long)f.size);
        cr_expect_eq(zinc_tensor_check(&f.tensor, f.size), 0);
        zinc_consumer_release(c, &f);
    }
    cr_assert_fail("acquire kept returning frames from a corrupted ring");
    return 0;
}

static void hostile_head(zinc_delivery mode, uint64_t head, int64_t timeout_ns)
{
    zinc_consumer *c = NULL;
    cr_assert_eq(zinc_consumer_open(g_name, mode, &c), 0);
    POKE(ctl()->head, head);
    int r = drain_hostile(c, timeout_ns, 4);
    cr_expect_lt(r, 0, "mode %d head %llu", (int)mode, (unsigned long long)head);
    zinc_consumer_close(c);
    POKE(ctl()->head, 2);
}

Test(ring_hostile, head_far_ahead)
{
    make_ring(2);
    uint64_t heads[] = { UINT64_MAX, UINT64_MAX / 2 + 1, 1ull << 40, 2 + SLOTS, 7 };
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        for (int m = 0; m < 3; m++) {
            hostile_head((zinc_delivery)m, heads[i], 0);
            hostile_head((zinc_delivery)m, heads[i], 50000000);
        }
    }
    zinc_producer_close(g_p);
}

Test(ring_hostile, head_far_ahead_waiting_forever)
{
    /* Infinite timeout: the corruption must still end in a code, not a hang. */
    make_ring(2);
    for (int m = 0; m < 3; m++)
        hostile_head((zinc_delivery)m, 100, -1);
    zinc_producer_close(g_p);
}

Test(ring_hostile, head_backwards)
{
    make_ring(3);
    zinc_consumer *c = NULL;
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_LATEST, &c), 0);
    zinc_frame f;
    cr_assert_eq(zinc_consumer_acquire(c, &f, 0), 0);
    cr_assert_eq(zinc_consumer_release(c, &f), 0);
    POKE(ctl()->head, 1);
    cr_expect_lt(zinc_consumer_acquire(c, &f, 0), 0);
    cr_expect_lt(zinc_consumer_acquire(c, &f, 1000000), 0);
    zinc_consumer_close(c);
    zinc_producer_close(g_p);
}

typedef void (*desc_fn)(struct zr_desc *d);

static void d_size_big(struct zr_desc *d) { POKE(d->w[ZD_SIZE], SLOT_SIZE + 1); }
static void d_size_huge(struct zr_desc *d) { POKE(d->w[ZD_SIZE], UINT64_MAX); }
static void d_seq(struct zr_desc *d) { POKE(d->w[ZD_SEQ], 77); }
static void d_tensor_out(struct zr_desc *d)
{
    POKE(d->w[ZD_DTYPE], (uint64_t)ZINC_DTYPE_UINT | 8u << 8 | 1u << 16 | (uint64_t)1 << 32);
    POKE(d->w[ZD_SHAPE], 101); /* size is 100 */
    POKE(d->w[ZD_STRIDES], 1);
}
static void d_tensor_neg(struct zr_desc *d)
{
    POKE(d->w[ZD_DTYPE], (uint64_t)ZINC_DTYPE_UINT | 8u << 8 | 1u << 16 | (uint64_t)1 << 32);
    POKE(d->w[ZD_SHAPE], 10);
    POKE(d->w[ZD_STRIDES], (uint64_t)-1); /* reaches byte -9 */
}
static void d_tensor_ndim(struct zr_desc *d)
{
    POKE(d->w[ZD_DTYPE], (uint64_t)ZINC_DTYPE_UINT | 8u << 8 | 1u << 16 | (uint64_t)7 << 32);
}
static void d_tensor_dtype(struct zr_desc *d)
{
    POKE(d->w[ZD_DTYPE], (uint64_t)9 | 8u << 8 | 1u << 16 | (uint64_t)1 << 32);
    POKE(d->w[ZD_SHAPE], 1);
    POKE(d->w[ZD_STRIDES], 1);
}
static void d_tensor_offset(struct zr_desc *d)
{
    POKE(d->w[ZD_DTYPE], (uint64_t)ZINC_DTYPE_UINT | 8u << 8 | 1u << 16 | (uint64_t)1 << 32);
    POKE(d->w[ZD_SHAPE], 1);
    POKE(d->w[ZD_STRIDES], 1);
    POKE(d->w[ZD_OFFSET], UINT64_MAX);
}

Test(ring_hostile, corrupted_descriptors)
{
    static const struct {
        desc_fn fn;
        const char *what;
    } cases[] = {
        { d_size_big, "size > slot" },
        { d_size_huge, "size 2^64-1" },
        { d_seq, "seq word differs from the lock" },
        { d_tensor_out, "tensor past the frame" },
        { d_tensor_neg, "tensor before byte 0" },
        { d_tensor_ndim, "ndim 7" },
        { d_tensor_dtype, "dtype code 9" },
        { d_tensor_offset, "tensor offset 2^64-1" },
    };
    make_ring(0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int m = 0; m < 3; m++) {
            zinc_consumer *c = NULL;
            cr_assert_eq(zinc_consumer_open(g_name, (zinc_delivery)m, &c), 0);
            cr_assert_eq(ru_produce(g_p, 100, false, false, -1), 0);
            zinc_ring_stats rs;
            cr_assert_eq(zinc_ring_stats_read(g_name, &rs, NULL, 0, NULL), 0);
            uint32_t slot = (uint32_t)((rs.head - 1) & (SLOTS - 1));
            cases[i].fn(desc(slot));
            zinc_frame f;
            int r = zinc_consumer_acquire(c, &f, 0);
            cr_expect_lt(r, 0, "%s (mode %d): acquire %d", cases[i].what, m, r);
            if (r == 0) {
                cr_expect(inside_ring_mapping(f.data, f.size));
                zinc_consumer_release(c, &f);
            }
            zinc_consumer_close(c);
        }
    }
    zinc_producer_close(g_p);
}

Test(ring_hostile, forged_frame_stays_inside)
{
    /* A forger publishes a frame of the maximum size in every slot, with a
     * lock word and seq that agree: whatever acquire returns is inside. */
    make_ring(1);
    zinc_consumer *c = NULL;
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_LOSSY, &c), 0);
    cr_assert(!inside_ring_mapping(&g_len, sizeof(g_len)), "the bounds check itself works");
    cr_assert(!inside_ring_mapping(g_raw + g_len - 8, 16), "the bounds check itself works");
    cr_assert(inside_ring_mapping(g_raw + g_len - 16, 16), "the bounds check itself works");
    int accepted = 0;
    for (uint64_t s = 2; s <= 2 + SLOTS; s++) {
        struct zr_desc *d = desc((uint32_t)((s - 1) & (SLOTS - 1)));
        POKE(d->w[ZD_SEQ], s);
        POKE(d->w[ZD_SIZE], SLOT_SIZE);
        POKE(d->w[ZD_DTYPE], 0);
        /* Release, as a producer's publish: pairs with acquire's acquire
         * loads of lock and head (the forged words are visible with them). */
        atomic_store_explicit(&d->lock, 2 * s, memory_order_release);
        atomic_store_explicit(&ctl()->head, s, memory_order_release);
        zinc_frame f;
        int r = zinc_consumer_acquire(c, &f, 0);
        if (r == 0) {
            cr_expect(inside_ring_mapping(f.data, f.size), "forged frame %llu outside",
                      (unsigned long long)s);
            cr_expect_leq(f.size, SLOT_SIZE);
            zinc_consumer_release(c, &f);
            accepted++;
        }
    }
    cr_expect_gt(accepted, 0, "well-formed forgeries are indistinguishable from frames");
    zinc_consumer_close(c);
    zinc_producer_close(g_p);
}

Test(ring_hostile, hostile_table_values)
{
    /* hi_water, cursors and states that make no sense: the producer and
     * the stats reader must not index past the table or hang. */
    make_ring(2);
    zinc_consumer *c = NULL;
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_EVERY, &c), 0);
    POKE(ctl()->hi_water, UINT32_MAX);
    POKE(centry(0)->cursor, UINT64_MAX);
    POKE(centry(3)->state, 77);
    zinc_ring_stats rs;
    zinc_consumer_stats cs[ZINC_RING_DEFAULT_CONSUMERS];
    uint32_t n = 0;
    cr_expect_eq(zinc_ring_stats_read(g_name, &rs, cs, ZINC_RING_DEFAULT_CONSUMERS, &n), 0);
    cr_expect_leq(n, ZINC_RING_DEFAULT_CONSUMERS);
    for (int i = 0; i < 2 * SLOTS; i++) {
        zinc_frame f;
        int r = zinc_producer_claim(g_p, &f, 0);
        cr_expect(r == 0 || r == -11, "claim %d", r);
        if (r == 0) {
            f.size = 8;
            ru_fill(f.data, 8, f.seq, false);
            cr_expect_eq(zinc_producer_publish(g_p, &f), 0);
        }
    }
    cr_expect_lt(drain_hostile(c, 0, 4 * SLOTS), 0);
    /* A waiter count that never drops does not block anyone. */
    POKE(ctl()->cons_waiters, 1000);
    POKE(ctl()->prod_waiting, 1000);
    int r = ru_produce(g_p, 8, false, false, 0);
    cr_expect(r == 0 || r == -11, "produce with hostile waiter counts: %d", r);
    zinc_consumer_close(c);
    zinc_producer_close(g_p);
}

Test(ring_hostile, stream_descriptor_garbage)
{
    make_ring(0);
    zinc_consumer *c = NULL;
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_LATEST, &c), 0);
    struct zr_desc *s = &ctl()->stream;
    zinc_frame d;
    /* Odd forever (a writer that died mid-update, or garbage). */
    POKE(s->lock, 7);
    cr_expect_lt(zinc_consumer_stream(c, &d), 0);
    /* Even, but describing more than a slot. */
    POKE(s->w[ZD_SIZE], SLOT_SIZE * 10);
    POKE(s->lock, 8);
    cr_expect_eq(zinc_consumer_stream(c, &d), -74);
    /* The producer can still set a good one over the garbage. */
    zinc_frame good;
    memset(&good, 0, sizeof(good));
    good.size = 64;
    good.fourcc = ZINC_FOURCC_GREY;
    cr_expect_eq(zinc_producer_set_stream(g_p, &good), 0);
    cr_expect_eq(zinc_consumer_stream(c, &d), 0);
    cr_expect_eq(d.size, 64);
    zinc_consumer_close(c);
    zinc_producer_close(g_p);
}

/* "Attached" (attached_ns != 0 in the stats) must mean that the consumer
 * fixed its start point: a closed consumer's entry keeps no attach time
 * for the next one to inherit, and an entry still ATTACHING (its new owner
 * holds the token but has not fixed its start yet) reports 0 whatever its
 * word holds. Before, a reader in that window saw the previous owner's
 * time and published a frame the new consumer then skipped. */
Test(ring_hostile, reused_entry_is_not_attached_before_its_start_point)
{
    make_ring(2);
    zinc_consumer *a = NULL, *b = NULL;
    cr_assert_eq(zinc_consumer_open(g_name, ZINC_LOSSY, &a), 0);
    cr_assert_neq(atomic_load_explicit(&centry(0)->attached_ns, memory_order_relaxed), 0);
    zinc_consumer_close(a);
    cr_expect_eq(atomic_load_explicit(&centry(0)->attached_ns, memory_order_relaxed), 0,
                 "a freed entry keeps its attach time");

    cr_assert_eq(zinc_consumer_open(g_name, ZINC_LOSSY, &b), 0);
    uint64_t at = atomic_load_explicit(&centry(0)->attached_ns, memory_order_relaxed);
    cr_assert_neq(at, 0);
    /* b as it was a moment into its attach: token held, not yet started. */
    POKE(centry(0)->state, ZR_ATTACHING);
    POKE(centry(0)->attached_ns, 12345);
    zinc_ring_stats rs;
    zinc_consumer_stats cs[4];
    uint32_t n = 0;
    cr_assert_eq(zinc_ring_stats_read(g_name, &rs, cs, 4, &n), 0, "%s", zinc_last_error());
    cr_assert_eq(n, 1);
    cr_expect(cs[0].alive);
    cr_expect_eq(cs[0].attached_ns, 0, "an ATTACHING entry shows attach time %llu",
                 (unsigned long long)cs[0].attached_ns);
    POKE(centry(0)->state, ZR_ACTIVE);
    POKE(centry(0)->attached_ns, at);
    cr_assert_eq(zinc_ring_stats_read(g_name, &rs, cs, 4, &n), 0);
    cr_expect_eq(cs[0].attached_ns, at);
    zinc_consumer_close(b);
    zinc_producer_close(g_p);
}
