/* SPDX-License-Identifier: MIT */
/*
 * test-ring-anon-tsan.c — the rendezvous from several threads of one
 * process, as a plain program (Criterion's runner cannot start under
 * ThreadSanitizer) for the -Db_sanitize=thread build, and a test in every
 * other build. Exit 0 pass, 1 fail, 77 skip.
 *
 * A producer thread publishes into a sealed anonymous ring served on an
 * abstract socket; consumer threads connect, read a few frames and close,
 * over and over, in every mode; a statistics thread connects and reads the
 * counters; at the end the producer closes while a thread keeps connecting,
 * so the listener is stopped and joined under load. TSan watches the
 * listener thread against the producer's and the consumers' threads (they
 * share one mapping per process, so it sees the ring protocol too).
 */
#include <pthread.h>
#include <stdatomic.h>

#include <zinc/ring.h>
#include <zinc/zinc.h>

#include "ring-util.h"

#define CONSUMERS 4
#define ROUNDS 40

static char g_addr[128];
static atomic_int g_stop_producer, g_stop_stats, g_failures;
static atomic_int g_connected, g_frames;

#define FAIL(...)                                                           \
    do {                                                                    \
        atomic_fetch_add_explicit(&g_failures, 1, memory_order_relaxed);    \
        fprintf(stderr, __VA_ARGS__);                                       \
        fputc('\n', stderr);                                                \
    } while (0)

static void *producer_main(void *arg)
{
    zinc_producer *p = arg;
    /* Relaxed flags throughout: stop requests and counters; the library's
     * own synchronisation is what is under test. */
    while (!atomic_load_explicit(&g_stop_producer, memory_order_relaxed)) {
        zinc_frame f;
        int r = zinc_producer_claim(p, &f, 10 * 1000 * 1000);
        if (r == ZINC_ETIMEDOUT)
            continue; /* an EVERY consumer is behind */
        if (r != 0) {
            FAIL("claim: %d %s", r, zinc_last_error());
            return NULL;
        }
        ru_fill(f.data, 256, f.seq, true);
        f.size = 256;
        if ((r = zinc_producer_publish(p, &f)) != 0) {
            FAIL("publish: %d %s", r, zinc_last_error());
            return NULL;
        }
    }
    return NULL;
}

static void *consumer_main(void *arg)
{
    zinc_delivery mode = (zinc_delivery)((intptr_t)arg % 3);
    for (int round = 0; round < ROUNDS; round++) {
        zinc_consumer *c = NULL;
        int r = zinc_consumer_connect(g_addr, mode, &c);
        if (r != 0) {
            FAIL("connect (mode %d): %d %s", (int)mode, r, zinc_last_error());
            return NULL;
        }
        atomic_fetch_add_explicit(&g_connected, 1, memory_order_relaxed);
        uint64_t prev = 0;
        for (int i = 0; i < 5; i++) {
            zinc_frame f;
            r = zinc_consumer_acquire(c, &f, 2000 * 1000 * 1000ll);
            if (r != 0) {
                FAIL("acquire (mode %d): %d %s", (int)mode, r, zinc_last_error());
                break;
            }
            int chk = ru_check(f.data, f.size, f.seq, true);
            int rr = zinc_consumer_release(c, &f);
            if (f.seq <= prev || (rr == 0 && chk != RU_OK))
                FAIL("frame %llu after %llu, check %d, release %d", (unsigned long long)f.seq,
                     (unsigned long long)prev, chk, rr);
            prev = f.seq;
            atomic_fetch_add_explicit(&g_frames, 1, memory_order_relaxed);
        }
        zinc_consumer_close(c);
    }
    return NULL;
}

static void *stats_main(void *arg)
{
    (void)arg;
    while (!atomic_load_explicit(&g_stop_stats, memory_order_relaxed)) {
        int fd = zinc_ring_connect(g_addr);
        if (fd < 0) {
            FAIL("ring_connect: %d %s", fd, zinc_last_error());
            return NULL;
        }
        zinc_ring_stats rs;
        zinc_consumer_stats cs[8];
        uint32_t n;
        int r = zinc_ring_stats_read_fd(fd, &rs, cs, 8, &n);
        if (r != 0 || !rs.producer_alive)
            FAIL("stats: %d alive %u %s", r, rs.producer_alive, zinc_last_error());
        close(fd);
    }
    return NULL;
}

/* Connects until nobody listens: runs across the producer's close. */
static void *late_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100000; i++) {
        zinc_consumer *c = NULL;
        int r = zinc_consumer_connect(g_addr, ZINC_LATEST, &c);
        if (r == 0) {
            zinc_consumer_close(c);
            continue;
        }
        if (r != ZINC_ENOENT)
            FAIL("late connect: %d %s", r, zinc_last_error());
        return NULL; /* the listener is gone: -2, as documented */
    }
    FAIL("late connect: the listener never went away");
    return NULL;
}

int main(void)
{
    char name[96];
    ru_name(name, sizeof(name), "anon-tsan");
    snprintf(g_addr, sizeof(g_addr), "@zinc-test/%s", name);
    char reg[128];
    snprintf(reg, sizeof(reg), "/tmp/zt-anon-tsan-%ld", (long)getpid());
    setenv("ZINC_RUNTIME_DIR", reg, 1);
    zinc_ring_config cfg = ru_cfg(8, 4096);
    cfg.flags = ZINC_RING_ANONYMOUS;
    zinc_producer *p = NULL;
    int r = zinc_producer_create(name, &cfg, &p);
    if (r == -ENOSYS) {
        printf("SKIP: no memfd_create\n");
        return 77;
    }
    if (r != 0 || (r = zinc_producer_listen(p, g_addr)) != 0) {
        fprintf(stderr, "create/listen: %d %s\n", r, zinc_last_error());
        return 1;
    }
    pthread_t prod, stats, late, cons[CONSUMERS];
    pthread_create(&prod, NULL, producer_main, p);
    pthread_create(&stats, NULL, stats_main, NULL);
    for (intptr_t i = 0; i < CONSUMERS; i++)
        pthread_create(&cons[i], NULL, consumer_main, (void *)i);
    for (int i = 0; i < CONSUMERS; i++)
        pthread_join(cons[i], NULL);
    atomic_store_explicit(&g_stop_stats, 1, memory_order_relaxed);
    pthread_join(stats, NULL);
    atomic_store_explicit(&g_stop_producer, 1, memory_order_relaxed);
    pthread_join(prod, NULL);
    pthread_create(&late, NULL, late_main, NULL);
    zinc_producer_close(p); /* stops and joins the listener while `late` connects */
    pthread_join(late, NULL);
    rmdir(reg);
    int fails = atomic_load_explicit(&g_failures, memory_order_relaxed);
    printf("anon-tsan: %d connections, %d frames, %d failures\n",
           atomic_load_explicit(&g_connected, memory_order_relaxed),
           atomic_load_explicit(&g_frames, memory_order_relaxed), fails);
    return fails ? 1 : 0;
}
