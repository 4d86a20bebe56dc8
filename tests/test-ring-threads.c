/* SPDX-License-Identifier: MIT */
/*
 * test-ring-threads.c — the stress test with the producer and the consumers
 * as threads of one process, sized so that a ThreadSanitizer build
 * (-Db_sanitize=thread) can watch the protocol: ~20,000 frames by default.
 *
 * Payloads are written with relaxed atomic 8-byte stores and, by LOSSY and
 * LATEST consumers, read with relaxed atomic loads: those consumers race
 * with the producer on payload bytes by design (the seqlock's contract is
 * that release() tells them afterwards), and TSan must not report that
 * intended race. EVERY consumers are ordered by the protocol and read
 * plainly, so TSan checks that ordering for real.
 *
 * Criterion's runner itself crashes under TSan (Criterion issue #274), so
 * the same cases also build as a plain program: test-ring-threads-tsan.c
 * defines RT_STANDALONE and includes this file. Run that one under TSan.
 *
 * Caveat: every handle maps the ring's object on its own, so the producer
 * and each consumer touch the same bytes at different virtual addresses.
 * TSan tracks addresses, not pages: it cannot relate one handle's accesses
 * to another's, so it does not see the cross-handle protocol (checked: a
 * consumer reading payloads plainly while being lapped is not reported).
 * What it does check here is the library's use of its own memory from
 * several threads; the payload checks above are what catch protocol bugs.
 */
#include <pthread.h>
#include <stdatomic.h>

#include <zinc/ring.h>
#include <zinc/zinc.h>

#include "ring-util.h"

#ifdef RT_STANDALONE
static int rt_failures;
#define RT_EXPECT(cond, ...)                                                \
    do {                                                                    \
        if (!(cond)) {                                                      \
            rt_failures++;                                                  \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                 \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
        }                                                                   \
    } while (0)
#define RT_REQUIRE(cond, ...)                                               \
    do {                                                                    \
        if (!(cond)) {                                                      \
            RT_EXPECT(0, __VA_ARGS__);                                      \
            exit(1);                                                        \
        }                                                                   \
    } while (0)
#else
#include <criterion/criterion.h>
#define RT_EXPECT(cond, ...) cr_expect(cond, __VA_ARGS__)
#define RT_REQUIRE(cond, ...) cr_assert(cond, __VA_ARGS__)
#endif

struct worker {
    pthread_t th;
    zinc_consumer *c;
    zinc_delivery mode;
    uint64_t slot_size;
    int64_t timeout_ns;
    ru_result res;
};

static void *consumer_thread(void *arg)
{
    struct worker *w = arg;
    /* EVERY reads plainly (ordered by the protocol); the others atomically. */
    ru_consume(w->c, w->mode, w->timeout_ns, w->mode != ZINC_EVERY, w->slot_size, -1, &w->res);
    return NULL;
}

static void run(const char *name, const zinc_delivery *modes, int nc, uint32_t slots,
                uint64_t slot_size, uint64_t frames, int64_t timeout_ns)
{
    zinc_ring_config cfg = ru_cfg(slots, slot_size);
    zinc_producer *p = NULL;
    int rc = zinc_producer_create(name, &cfg, &p);
    RT_REQUIRE(rc == 0, "create: %d (%s)", rc, zinc_last_error());
    struct worker w[4];
    memset(w, 0, sizeof(w));
    for (int i = 0; i < nc; i++) {
        w[i].mode = modes[i];
        w[i].slot_size = slot_size;
        w[i].timeout_ns = timeout_ns;
        /* Attached before the first frame, so EVERY/LOSSY start at seq 1. */
        RT_REQUIRE(zinc_consumer_open(name, modes[i], &w[i].c) == 0, "open consumer %d", i);
        RT_REQUIRE(pthread_create(&w[i].th, NULL, consumer_thread, &w[i]) == 0, "thread");
    }
    ru_rng rng = { (uint64_t)getpid() ^ 0x77 };
    for (uint64_t i = 0; i < frames; i++) {
        /* Multiples of 8 bytes: the atomic readers load whole words. */
        uint64_t size = 8 * ru_range(&rng, 0, (i & 7) ? 32 : slot_size / 8);
        rc = ru_produce(p, size, true, false, 30 * 1000000000ll);
        RT_REQUIRE(rc == 0, "frame %llu: %d (%s)", (unsigned long long)i + 1, rc,
                     zinc_last_error());
    }
    zinc_producer_close(p);
    for (int i = 0; i < nc; i++) {
        pthread_join(w[i].th, NULL);
        zinc_consumer_close(w[i].c);
    }
    for (int i = 0; i < nc; i++) {
        const ru_result *x = &w[i].res;
        RT_EXPECT(x->errors == 0,
                     "consumer %d (mode %d): %llu errors, first: %s at seq %llu (detail %lld)",
                     i, (int)modes[i], (unsigned long long)x->errors, ru_what(x->bad_what),
                     (unsigned long long)x->bad_seq, (long long)x->bad_detail);
        RT_EXPECT(x->final_rc == -32, "consumer %d ended with %d", i, x->final_rc);
        RT_EXPECT(x->last_seq == frames, "consumer %d ended at %llu", i,
                     (unsigned long long)x->last_seq);
        RT_EXPECT(x->frames + x->dropped == frames, "consumer %d: frames + dropped", i);
        if (modes[i] == ZINC_EVERY) {
            RT_EXPECT(x->frames == frames, "EVERY consumer %d: %llu frames", i,
                      (unsigned long long)x->frames);
            RT_EXPECT(x->intact == frames, "EVERY consumer %d: intact", i);
            RT_EXPECT(x->torn == 0, "EVERY consumer %d: torn", i);
        }
    }
    RT_EXPECT(!ru_exists(name), "ring left behind");
}

/* ---- the cases ------------------------------------------------------------- */

static void case_mixed_modes(const char *name)
{
    zinc_delivery m[4] = { ZINC_EVERY, ZINC_LOSSY, ZINC_LATEST, ZINC_EVERY };
    run(name, m, 4, 8, 2048, ru_long() ? 200000 : 20000, -1);
}

static void case_lossy_latest_only(const char *name)
{
    /* Nobody gates the producer: the consumers are lapped all the time, so
     * torn frames and skips are frequent. */
    zinc_delivery m[3] = { ZINC_LOSSY, ZINC_LATEST, ZINC_LOSSY };
    run(name, m, 3, 4, 1024, ru_long() ? 200000 : 20000, -1);
}

static void case_pollers(const char *name)
{
    /* Consumers that poll (timeout 0: -11) instead of sleeping. */
    zinc_delivery m[3] = { ZINC_EVERY, ZINC_LATEST, ZINC_LOSSY };
    run(name, m, 3, 2, 512, ru_long() ? 50000 : 5000, 0);
}

static void case_short_timeouts(const char *name)
{
    /* Consumers that wait 100 us at a time (-110 now and then). */
    zinc_delivery m[3] = { ZINC_EVERY, ZINC_LATEST, ZINC_LOSSY };
    run(name, m, 3, 2, 512, ru_long() ? 50000 : 5000, 100000);
}

/* The stream descriptor is a seqlock too: a reader racing a producer that
 * keeps replacing it gets one of the descriptors whole, never a mix, and
 * never a "corrupted" code for a live, honest writer. */
struct stream_writer {
    zinc_producer *p;
    atomic_int stop;
    uint64_t sets;
};

static void stream_desc(zinc_frame *d, int which)
{
    memset(d, 0, sizeof(*d));
    d->size = 1024;
    if (which) {
        (void)zinc_frame_set_image(d, ZINC_FOURCC_RGB24, 8, 4);
        memset(d->user, 0xB1, sizeof(d->user));
    } else {
        (void)zinc_frame_set_points(d, 16, 3);
        memset(d->user, 0xA0, sizeof(d->user));
    }
}

static void *stream_writer_thread(void *arg)
{
    struct stream_writer *w = arg;
    zinc_frame d[2];
    stream_desc(&d[0], 0);
    stream_desc(&d[1], 1);
    /* Relaxed: a stop flag; nothing is read through it. */
    while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
        zinc_producer_set_stream(w->p, &d[w->sets & 1]);
        w->sets++;
    }
    return NULL;
}

static void case_stream_updates(const char *name)
{
    zinc_ring_config cfg = ru_cfg(2, 1024);
    struct stream_writer w;
    memset(&w, 0, sizeof(w));
    atomic_init(&w.stop, 0);
    RT_REQUIRE(zinc_producer_create(name, &cfg, &w.p) == 0, "create");
    zinc_consumer *c = NULL;
    RT_REQUIRE(zinc_consumer_open(name, ZINC_LATEST, &c) == 0, "open");
    zinc_frame want[2];
    stream_desc(&want[0], 0);
    stream_desc(&want[1], 1);
    RT_REQUIRE(zinc_producer_set_stream(w.p, &want[0]) == 0, "set_stream");
    pthread_t th;
    RT_REQUIRE(pthread_create(&th, NULL, stream_writer_thread, &w) == 0, "thread");
    uint64_t bad_code = 0, torn = 0, reads = ru_long() ? 2000000 : 200000;
    int first = 0;
    for (uint64_t i = 0; i < reads; i++) {
        zinc_frame d;
        int r = zinc_consumer_stream(c, &d);
        if (r != 0) {
            if (!bad_code++)
                first = r;
            continue;
        }
        int k = d.fourcc == ZINC_FOURCC_RGB24;
        if (d.size != want[k].size || memcmp(&d.tensor, &want[k].tensor, sizeof(d.tensor)) ||
            memcmp(d.user, want[k].user, sizeof(d.user)))
            torn++;
    }
    atomic_store_explicit(&w.stop, 1, memory_order_relaxed);
    pthread_join(th, NULL);
    RT_EXPECT(bad_code == 0, "%llu of %llu reads failed (first: %d) while %llu honest updates ran",
              (unsigned long long)bad_code, (unsigned long long)reads, first,
              (unsigned long long)w.sets);
    RT_EXPECT(torn == 0, "%llu reads mixed two descriptors", (unsigned long long)torn);
    zinc_consumer_close(c);
    zinc_producer_close(w.p);
}

#ifdef RT_STANDALONE

int main(void)
{
    static const struct {
        const char *tag;
        void (*fn)(const char *);
    } cases[] = {
        { "mixed_modes", case_mixed_modes },
        { "lossy_latest_only", case_lossy_latest_only },
        { "pollers", case_pollers },
        { "short_timeouts", case_short_timeouts },
        { "stream_updates", case_stream_updates },
    };
    if (!ru_have_shm()) {
        printf("SKIP: no writable /dev/shm\n");
        return 77;
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char name[160];
        ru_name(name, sizeof(name), cases[i].tag);
        ru_cleanup(name);
        int before = rt_failures;
        cases[i].fn(name);
        ru_cleanup(name);
        printf("%s: %s\n", cases[i].tag, rt_failures == before ? "ok" : "FAILED");
    }
    return rt_failures ? 1 : 0;
}

#else

#include "ring-suite.h"

TestSuite(ring_threads, .init = ru_suite_setup, .fini = ru_suite_teardown, .timeout = 600);

static void need_shm(void)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
}

Test(ring_threads, mixed_modes)
{
    need_shm();
    case_mixed_modes(g_name);
}

Test(ring_threads, lossy_latest_only)
{
    need_shm();
    case_lossy_latest_only(g_name);
}

Test(ring_threads, pollers)
{
    need_shm();
    case_pollers(g_name);
}

Test(ring_threads, short_timeouts)
{
    need_shm();
    case_short_timeouts(g_name);
}

Test(ring_threads, stream_updates)
{
    need_shm();
    case_stream_updates(g_name);
}

#endif
