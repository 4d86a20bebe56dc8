/* SPDX-License-Identifier: MIT */
/*
 * test-ring-wait-tsan.c — the waiting mechanisms with threads in one
 * process, as a plain program (Criterion's runner cannot start under
 * ThreadSanitizer), for the -Db_sanitize=thread build (sanitize.sh) and the
 * ordinary one. Handles of one ring in a process share one mapping, so
 * TSan sees the whole protocol here: producer threads publishing, a
 * consumer thread draining through its descriptor (the library's helper
 * thread is a third party), another in zinc_wait_any over two rings, and a
 * consumer closed while a thread polls its descriptor.
 * Exit 0 pass, 1 fail, 77 skip.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zinc/ring.h>

static int failures;

#define EXPECT(cond, ...)                                                   \
    do {                                                                    \
        if (!(cond)) {                                                      \
            failures++;                                                     \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                 \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
        }                                                                   \
    } while (0)

#define FRAMES 3000u

struct prod_arg {
    zinc_producer *p;
    uint64_t frames;
    _Atomic int *go;
};

static void *produce(void *arg)
{
    struct prod_arg *a = arg;
    while (!atomic_load(a->go))
        sched_yield();
    for (uint64_t i = 0; i < a->frames; i++) {
        zinc_frame f;
        int r = zinc_producer_claim(a->p, &f, -1);
        if (r != 0) {
            EXPECT(0, "claim %d", r);
            return NULL;
        }
        memcpy(f.data, &f.seq, sizeof(f.seq));
        f.size = sizeof(f.seq);
        r = zinc_producer_publish(a->p, &f);
        EXPECT(r == 0, "publish %d", r);
        if (i % 64 == 0)
            sched_yield(); /* let the consumers fall asleep now and then */
    }
    return NULL;
}

/* Drain every frame of an EVERY ring through its descriptor. */
static void *fd_consumer(void *arg)
{
    zinc_consumer *c = arg;
    int fd = zinc_consumer_fd(c);
    EXPECT(fd >= 0, "consumer_fd %d", fd);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN };
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    uint64_t last = 0;
    while (last < FRAMES) {
        int n = epoll_wait(ep, &ev, 1, 10000);
        if (n == 0) {
            EXPECT(0, "fd: no readiness for 10 s after frame %llu", (unsigned long long)last);
            break;
        }
        for (;;) {
            zinc_frame f;
            int r = zinc_consumer_acquire(c, &f, 0);
            if (r == ZINC_EAGAIN)
                break;
            if (r != 0) {
                EXPECT(0, "fd: acquire %d", r);
                last = FRAMES;
                break;
            }
            uint64_t s;
            memcpy(&s, f.data, sizeof(s));
            EXPECT(f.seq == last + 1 && s == f.seq, "fd: frame %llu (payload %llu) after %llu",
                   (unsigned long long)f.seq, (unsigned long long)s, (unsigned long long)last);
            last = f.seq;
            zinc_consumer_release(c, &f);
        }
    }
    close(ep);
    return NULL;
}

struct any_arg {
    zinc_consumer *cs[2];
};

static void *any_consumer(void *arg)
{
    struct any_arg *a = arg;
    uint64_t last[2] = { 0, 0 };
    while (last[0] < FRAMES || last[1] < FRAMES) {
        int k = zinc_wait_any(a->cs, 2, 10000000000ll);
        if (k < 0) {
            EXPECT(0, "wait_any %d", k);
            break;
        }
        zinc_frame f;
        int r = zinc_consumer_acquire(a->cs[k], &f, 0);
        if (r == ZINC_EAGAIN)
            continue;
        if (r != 0) {
            EXPECT(0, "wait_any: acquire %d", r);
            break;
        }
        EXPECT(f.seq == last[k] + 1, "ring %d: frame %llu after %llu", k,
               (unsigned long long)f.seq, (unsigned long long)last[k]);
        last[k] = f.seq;
        zinc_consumer_release(a->cs[k], &f);
    }
    return NULL;
}

struct poller {
    int fd;
    _Atomic int started, done;
};

static void *poll_it(void *arg)
{
    struct poller *w = arg;
    struct pollfd p = { .fd = w->fd, .events = POLLIN };
    atomic_store(&w->started, 1);
    int r;
    do
        r = poll(&p, 1, 10000);
    while (r < 0 && errno == EINTR);
    EXPECT(r == 1, "poll after close returned %d", r);
    atomic_store(&w->done, 1);
    return NULL;
}

static zinc_producer *make(const char *name)
{
    zinc_ring_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.slot_count = 8;
    cfg.slot_size = 64;
    cfg.spin_ns = 1000;
    zinc_producer *p = NULL;
    int r = zinc_producer_create(name, &cfg, &p);
    if (r != 0) {
        fprintf(stderr, "producer_create(%s): %d %s\n", name, r, zinc_last_error());
        exit(1);
    }
    return p;
}

static zinc_consumer *attach(const char *name)
{
    zinc_consumer *c = NULL;
    int r = zinc_consumer_open(name, ZINC_EVERY, &c);
    if (r != 0) {
        fprintf(stderr, "consumer_open(%s): %d\n", name, r);
        exit(1);
    }
    return c;
}

static void run(bool no_waitv)
{
    if (no_waitv)
        setenv("ZINC_NO_FUTEX_WAITV", "1", 1);
    else
        unsetenv("ZINC_NO_FUTEX_WAITV");
    char a[64], b[64];
    snprintf(a, sizeof(a), "wt-%d-a", (int)getpid());
    snprintf(b, sizeof(b), "wt-%d-b", (int)getpid());
    zinc_producer *pa = make(a), *pb = make(b);
    zinc_consumer *fdc = attach(a);
    struct any_arg any = { { attach(a), attach(b) } };
    _Atomic int go = 0;
    struct prod_arg qa = { pa, FRAMES, &go }, qb = { pb, FRAMES, &go };
    pthread_t t[4];
    pthread_create(&t[0], NULL, fd_consumer, fdc);
    pthread_create(&t[1], NULL, any_consumer, &any);
    pthread_create(&t[2], NULL, produce, &qa);
    pthread_create(&t[3], NULL, produce, &qb);
    atomic_store(&go, 1);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);

    /* A consumer closed while another thread polls its descriptor. */
    struct poller w = { .fd = zinc_consumer_fd(fdc) };
    pthread_t tp;
    pthread_create(&tp, NULL, poll_it, &w);
    while (!atomic_load(&w.started))
        sched_yield();
    zinc_consumer_close(fdc);
    pthread_join(tp, NULL);
    EXPECT(atomic_load(&w.done), "the poller did not return");

    zinc_consumer_close(any.cs[0]);
    zinc_consumer_close(any.cs[1]);
    zinc_producer_close(pa);
    zinc_producer_close(pb);
    zinc_unlink(a);
    zinc_unlink(b);
}

int main(void)
{
    struct stat st;
    if (stat("/dev/shm", &st) != 0 || access("/dev/shm", W_OK) != 0) {
        fprintf(stderr, "skip: no writable /dev/shm\n");
        return 77;
    }
    run(false);
    run(true);
    if (failures)
        fprintf(stderr, "%d failure(s)\n", failures);
    else
        printf("ring-wait-tsan: passed (descriptor, wait_any, close while polled; with and "
               "without futex_waitv)\n");
    return failures ? 1 : 0;
}
