/* SPDX-License-Identifier: MIT */
/*
 * wait-bench — waiting like applications, measured (issue 12; the method of
 * zinc-bench's sleeping one-way latency): the producer on CPU 0 waits for
 * the consumer's acknowledgement, lets 200 us pass (the consumer is asleep
 * by then), stamps CLOCK_MONOTONIC and hands over a 64 B frame; the
 * consumer on CPU 1 reads the clock as soon as it has it.
 *
 *   futex one-way            a raw shared futex word (the reference)
 *   acquire(-1)              zinc, one ring
 *   fd + epoll_wait          zinc_consumer_fd (eventfd + helper thread)
 *   ... no futex_waitv       the same, the helper as on a kernel < 5.16
 *   wait_any, 8 rings        zinc_wait_any over 8 rings, frame i on ring i % 8
 *   ... no futex_waitv       its fallback (the descriptors and ppoll)
 *   io_uring + eventfd       IORING_OP_FUTEX_WAIT on the raw word, the
 *                            ring's registered eventfd in epoll (EINTRs of
 *                            epoll_wait counted): the candidate not taken
 *   io_uring DEFER_TASKRUN   the same with deferred task work
 *
 * Then system calls per frame of the producer (perf_event_open on the
 * raw_syscalls:sys_enter tracepoint, counted by the producer itself) with
 * an fd watcher awake (busy, not armed) and asleep (armed in epoll_wait).
 *
 *   wait-bench [--rounds N] [--frames N] [--smoke] [--out DIR]
 */
#include "harness.h"

#include <errno.h>
#include <linux/futex.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zinc/ring.h>

#define NRINGS 8
#define GAP_NS 200000ull /* > the 20 us spin of a zinc sleeper */
#define MAXV 8

/* ---- one run: shared block, producer and consumer processes ------------------ */

struct blk {
    alignas(128) _Atomic uint64_t ack;    /* consumer: frames handled */
    alignas(128) _Atomic uint64_t ready;  /* producer: rings created */
    alignas(128) _Atomic uint64_t attached;
    alignas(128) _Atomic uint64_t t0;     /* producer: stamp of the frame in flight */
    alignas(128) _Atomic uint32_t word;   /* raw futex word (reference, io_uring) */
    alignas(128) _Atomic uint64_t eintr;  /* consumer: epoll_wait EINTRs */
    alignas(128) _Atomic uint64_t phase;  /* syscall section: producer's phase */
    _Atomic uint64_t phase_ack;           /* syscall section: consumer's */
    char name[64];
    char error[256];
    uint64_t n;
    uint64_t samples[];
};

static struct blk *blk_new(uint64_t n, const char *tag)
{
    static unsigned seq;
    size_t len = sizeof(struct blk) + n * sizeof(uint64_t);
    struct blk *b = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (b == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    memset(b, 0, len);
    b->n = n;
    snprintf(b->name, sizeof(b->name), "wb_%d_%u_%s", (int)getpid(), seq++, tag);
    return b;
}

static void blk_free(struct blk *b)
{
    munmap(b, sizeof(struct blk) + b->n * sizeof(uint64_t));
}

_Noreturn static void die(struct blk *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void die(struct blk *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->error, sizeof(b->error), fmt, ap);
    va_end(ap);
    fprintf(stderr, "wait-bench[%d]: %s\n", (int)getpid(), b->error);
    _exit(1);
}

/* Spin until *w >= v (acquire: pairs with the owner's release store). */
static void wait_ge(struct blk *b, _Atomic uint64_t *w, uint64_t v)
{
    uint64_t t0 = zb_now();
    for (unsigned k = 0; atomic_load_explicit(w, memory_order_acquire) < v; k++) {
        zb_pause();
        if ((k & 0xffff) == 0 && zb_now() - t0 > 60000000000ull)
            die(b, "peer did not answer within 60 s");
    }
}

typedef void (*role)(struct blk *b);

static int run(struct blk *b, role prod, role cons)
{
    pid_t parent = getpid(), pids[2];
    fflush(NULL);
    for (int i = 0; i < 2; i++) {
        pids[i] = fork();
        if (pids[i] < 0) {
            perror("fork");
            exit(1);
        }
        if (pids[i] == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(1);
            zb_pin(i);
            (i == 0 ? prod : cons)(b);
            _exit(0);
        }
    }
    int bad = 0;
    for (int i = 0; i < 2; i++) {
        int st;
        waitpid(pids[i], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            bad = 1;
            kill(pids[1 - i], SIGKILL);
        }
    }
    return bad ? -1 : 0;
}

/* ---- producers ------------------------------------------------------------ */

static void pace(struct blk *b, uint64_t i)
{
    wait_ge(b, &b->ack, i);
    zb_spin_until(zb_now() + GAP_NS);
    /* Relaxed: published by the hand-over's release (publish, seq store). */
    atomic_store_explicit(&b->t0, zb_now(), memory_order_relaxed);
}

static void prod_futex(struct blk *b)
{
    wait_ge(b, &b->attached, 1);
    for (uint64_t i = 0; i < b->n; i++) {
        pace(b, i);
        /* Release: pairs with the consumer's acquire load of the word. */
        atomic_store_explicit(&b->word, (uint32_t)(i + 1), memory_order_release);
        syscall(SYS_futex, &b->word, FUTEX_WAKE, 1 << 30, NULL, NULL, 0);
    }
}

static zinc_producer *create(struct blk *b, int k)
{
    char n[96];
    snprintf(n, sizeof(n), "%s_%d", b->name, k);
    zinc_ring_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.slot_count = 4;
    cfg.slot_size = 64;
    zinc_producer *p = NULL;
    int r = zinc_producer_create(n, &cfg, &p);
    if (r < 0)
        die(b, "producer_create(%s): %s %s", n, zinc_strerror(r), zinc_last_error());
    return p;
}

static void send(struct blk *b, zinc_producer *p)
{
    zinc_frame f;
    int r = zinc_producer_claim(p, &f, -1);
    if (r == 0) {
        f.size = 64;
        r = zinc_producer_publish(p, &f);
    }
    if (r < 0)
        die(b, "send: %s", zinc_strerror(r));
}

static int nrings; /* rings of the zinc runs: 1, or NRINGS for wait_any */

static void prod_zinc(struct blk *b)
{
    zinc_producer *p[NRINGS];
    for (int k = 0; k < nrings; k++)
        p[k] = create(b, k);
    /* Release: the rings exist before the consumer opens them. */
    atomic_store_explicit(&b->ready, 1, memory_order_release);
    wait_ge(b, &b->attached, 1);
    for (uint64_t i = 0; i < b->n; i++) {
        pace(b, i);
        send(b, p[i % (uint64_t)nrings]);
    }
    wait_ge(b, &b->ack, b->n);
    for (int k = 0; k < nrings; k++)
        zinc_producer_close(p[k]);
}

/* ---- consumers ------------------------------------------------------------- */

static void got(struct blk *b, uint64_t i)
{
    uint64_t t1 = zb_now();
    b->samples[i] = t1 - atomic_load_explicit(&b->t0, memory_order_relaxed);
    /* Release: pairs with the producer's acquire wait on ack. */
    atomic_store_explicit(&b->ack, i + 1, memory_order_release);
}

static void cons_futex(struct blk *b)
{
    atomic_store_explicit(&b->attached, 1, memory_order_release);
    for (uint64_t i = 0; i < b->n; i++) {
        uint32_t x;
        /* Acquire: pairs with the producer's release store of the word. */
        while ((x = atomic_load_explicit(&b->word, memory_order_acquire)) != (uint32_t)(i + 1))
            syscall(SYS_futex, &b->word, FUTEX_WAIT, x, NULL, NULL, 0);
        got(b, i);
    }
}

static zinc_delivery cons_mode = ZINC_EVERY;

static void open_all(struct blk *b, zinc_consumer **c)
{
    wait_ge(b, &b->ready, 1);
    for (int k = 0; k < nrings; k++) {
        char n[96];
        snprintf(n, sizeof(n), "%s_%d", b->name, k);
        int r = zinc_consumer_open(n, cons_mode, &c[k]);
        if (r < 0)
            die(b, "consumer_open(%s): %s", n, zinc_strerror(r));
    }
}

static void take(struct blk *b, zinc_consumer *c, uint64_t i, int64_t timeout)
{
    zinc_frame f;
    int r;
    while ((r = zinc_consumer_acquire(c, &f, timeout)) == ZINC_EAGAIN && timeout == 0)
        die(b, "frame %llu: the wait said ready, acquire(0) found nothing",
            (unsigned long long)i);
    if (r < 0)
        die(b, "acquire: %s %s", zinc_strerror(r), zinc_last_error());
    got(b, i);
    zinc_consumer_release(c, &f);
}

static void cons_acquire(struct blk *b)
{
    zinc_consumer *c[NRINGS];
    open_all(b, c);
    atomic_store_explicit(&b->attached, 1, memory_order_release);
    for (uint64_t i = 0; i < b->n; i++)
        take(b, c[0], i, -1);
    zinc_consumer_close(c[0]);
}

static void cons_fd(struct blk *b)
{
    zinc_consumer *c[NRINGS];
    open_all(b, c);
    int fd = zinc_consumer_fd(c[0]);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN };
    if (fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        die(b, "consumer_fd: %s", zinc_strerror(fd));
    atomic_store_explicit(&b->attached, 1, memory_order_release);
    for (uint64_t i = 0; i < b->n; i++) {
        while (epoll_wait(ep, &ev, 1, -1) != 1)
            atomic_fetch_add_explicit(&b->eintr, 1, memory_order_relaxed); /* statistics */
        take(b, c[0], i, 0);
        zinc_frame f;
        if (zinc_consumer_acquire(c[0], &f, 0) != ZINC_EAGAIN) /* -11: re-arms */
            die(b, "a frame too many");
    }
    close(ep);
    zinc_consumer_close(c[0]);
}

static void cons_wait_any(struct blk *b)
{
    zinc_consumer *c[NRINGS];
    open_all(b, c);
    atomic_store_explicit(&b->attached, 1, memory_order_release);
    for (uint64_t i = 0; i < b->n; i++) {
        int k = zinc_wait_any(c, (uint32_t)nrings, -1);
        if (k < 0)
            die(b, "wait_any: %s", zinc_strerror(k));
        if ((uint64_t)k != i % (uint64_t)nrings)
            die(b, "wait_any said %d for frame %llu", k, (unsigned long long)i);
        take(b, c[k], i, 0);
    }
    for (int k = 0; k < nrings; k++)
        zinc_consumer_close(c[k]);
}

/* ---- io_uring, raw (the candidate mechanism, for the record) ----------------- */

#define OP_FUTEX_WAIT 51 /* IORING_OP_FUTEX_WAIT, Linux >= 6.7 (newer than our headers) */
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1u << 13)
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1u << 12)
#endif
#ifndef IORING_SETUP_TASKRUN_FLAG
#define IORING_SETUP_TASKRUN_FLAG (1u << 9)
#endif
#ifndef IORING_SQ_TASKRUN
#define IORING_SQ_TASKRUN (1u << 2)
#endif

struct uring {
    int fd;
    unsigned *sq_flags, *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail;
    struct io_uring_sqe *sqes;
};

static unsigned uring_flags;

static int uring_setup(struct uring *r, unsigned flags)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = flags;
    r->fd = (int)syscall(__NR_io_uring_setup, 4, &p);
    if (r->fd < 0)
        return -errno;
    size_t sz = p.sq_off.array + p.sq_entries * 4;
    size_t cz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    if (cz > sz)
        sz = cz; /* IORING_FEAT_SINGLE_MMAP: one mapping for both rings */
    uint8_t *q = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                      IORING_OFF_SQ_RING);
    r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
    if (q == MAP_FAILED || r->sqes == MAP_FAILED)
        return -ENOMEM;
    r->sq_flags = (unsigned *)(q + p.sq_off.flags);
    r->sq_tail = (unsigned *)(q + p.sq_off.tail);
    r->sq_mask = (unsigned *)(q + p.sq_off.ring_mask);
    r->sq_array = (unsigned *)(q + p.sq_off.array);
    r->cq_head = (unsigned *)(q + p.cq_off.head);
    r->cq_tail = (unsigned *)(q + p.cq_off.tail);
    return 0;
}

static int uring_enter(struct uring *r, unsigned n, unsigned flags)
{
    long rc = syscall(__NR_io_uring_enter, r->fd, n, 0, flags, NULL, 0);
    return rc < 0 ? -errno : (int)rc;
}

static void uring_arm(struct uring *r, _Atomic uint32_t *w, uint32_t v)
{
    unsigned t = *r->sq_tail, i = t & *r->sq_mask;
    struct io_uring_sqe *s = &r->sqes[i];
    memset(s, 0, sizeof(*s));
    s->opcode = OP_FUTEX_WAIT;
    s->fd = 2; /* FUTEX2_SIZE_U32, shared */
    s->addr = (uint64_t)(uintptr_t)w;
    s->addr2 = v;
    s->addr3 = 0xffffffffu; /* FUTEX_BITSET_MATCH_ANY */
    r->sq_array[i] = i;
    /* Release: the SQE is written before the kernel sees the new tail. */
    atomic_store_explicit((_Atomic unsigned *)r->sq_tail, t + 1, memory_order_release);
    uring_enter(r, 1, 0);
}

/* Run deferred work until none is left, then empty the CQ. */
static void uring_reap(struct uring *r)
{
    do
        uring_enter(r, 0, IORING_ENTER_GETEVENTS);
    while ((uring_flags & IORING_SETUP_DEFER_TASKRUN) &&
           (atomic_load_explicit((_Atomic unsigned *)r->sq_flags, memory_order_acquire) &
            IORING_SQ_TASKRUN));
    /* Acquire/release: pairs with the kernel's CQ tail store / head load. */
    unsigned tail = atomic_load_explicit((_Atomic unsigned *)r->cq_tail, memory_order_acquire);
    atomic_store_explicit((_Atomic unsigned *)r->cq_head, tail, memory_order_release);
}

static void cons_uring(struct blk *b)
{
    struct uring r;
    memset(&r, 0, sizeof(r));
    int e = uring_setup(&r, uring_flags);
    if (e < 0)
        die(b, "io_uring_setup: %s", strerror(-e));
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (syscall(__NR_io_uring_register, r.fd, IORING_REGISTER_EVENTFD, &efd, 1) < 0)
        die(b, "register eventfd: %s", strerror(errno));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN };
    epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
    atomic_store_explicit(&b->attached, 1, memory_order_release);
    for (uint64_t i = 0; i < b->n; i++) {
        uring_arm(&r, &b->word, (uint32_t)i);
        for (;;) {
            int n = epoll_wait(ep, &ev, 1, 5000);
            if (n == 1)
                break;
            if (n < 0 && errno == EINTR)
                atomic_fetch_add_explicit(&b->eintr, 1, memory_order_relaxed);
            else if (n == 0)
                die(b, "io_uring: no readiness in 5 s");
        }
        got(b, i);
        uring_reap(&r);
        uint64_t cnt;
        (void)!read(efd, &cnt, sizeof(cnt));
    }
}

/* ---- statistics -------------------------------------------------------------- */

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, c = *(const uint64_t *)y;
    return a < c ? -1 : a > c;
}

static int cmp_dbl(const void *x, const void *y)
{
    double a = *(const double *)x, c = *(const double *)y;
    return a < c ? -1 : a > c;
}

static double med_dbl(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_dbl);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct variant {
    const char *what;
    role prod, cons;
    int rings;
    const char *env;        /* an environment variable set for the run */
    unsigned uring;         /* io_uring setup flags (raw variants) */
    int divisor;            /* fewer frames (a slow variant) */
    double med[64], p99[64], eintr[64];
    int n;
};

static struct variant vs[] = {
    { .what = "futex one-way (reference)", .prod = prod_futex, .cons = cons_futex, .rings = 1,
      .divisor = 1 },
    { .what = "zinc acquire(-1), 1 ring", .prod = prod_zinc, .cons = cons_acquire, .rings = 1,
      .divisor = 1 },
    { .what = "zinc fd + epoll_wait", .prod = prod_zinc, .cons = cons_fd, .rings = 1,
      .divisor = 1 },
    { .what = "zinc fd + epoll_wait, no futex_waitv", .prod = prod_zinc, .cons = cons_fd,
      .rings = 1, .env = "ZINC_NO_FUTEX_WAITV", .divisor = 1 },
    { .what = "zinc_wait_any, 8 rings", .prod = prod_zinc, .cons = cons_wait_any,
      .rings = NRINGS, .divisor = 1 },
    { .what = "zinc_wait_any, 8 rings, no futex_waitv", .prod = prod_zinc,
      .cons = cons_wait_any, .rings = NRINGS, .env = "ZINC_NO_FUTEX_WAITV", .divisor = 1 },
    { .what = "io_uring FUTEX_WAIT + eventfd", .prod = prod_futex, .cons = cons_uring,
      .rings = 1, .divisor = 1 },
    { .what = "io_uring DEFER_TASKRUN + eventfd", .prod = prod_futex, .cons = cons_uring,
      .rings = 1, .divisor = 20,
      .uring = IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_TASKRUN_FLAG },
};
#define NV (int)(sizeof(vs) / sizeof(vs[0]))

static void one(struct variant *v, uint64_t frames)
{
    uint64_t n = frames / (uint64_t)v->divisor;
    if (n < 20)
        n = 20;
    struct blk *b = blk_new(n, "lat");
    nrings = v->rings;
    uring_flags = v->uring;
    if (v->env)
        setenv(v->env, "1", 1);
    int r = run(b, v->prod, v->cons);
    if (v->env)
        unsetenv(v->env);
    if (r == 0 && v->n < 64) {
        uint64_t w = n / 20; /* warm-up */
        qsort(b->samples + w, n - w, sizeof(uint64_t), cmp_u64);
        v->med[v->n] = (double)b->samples[w + (n - w) / 2];
        v->p99[v->n] = (double)b->samples[w + (n - w) * 99 / 100];
        v->eintr[v->n] = (double)atomic_load(&b->eintr) / (double)n;
        v->n++;
    } else if (r != 0) {
        printf("  %-42s FAILED: %s\n", v->what, b->error);
    }
    for (int k = 0; k < v->rings; k++) {
        char nm[96];
        snprintf(nm, sizeof(nm), "%s_%d", b->name, k);
        zinc_ring_remove_stale(nm);
    }
    blk_free(b);
}

/* ---- system calls per frame ---------------------------------------------------- */

static int tp_id(void)
{
    FILE *f = fopen("/sys/kernel/tracing/events/raw_syscalls/sys_enter/id", "r");
    if (!f)
        f = fopen("/sys/kernel/debug/tracing/events/raw_syscalls/sys_enter/id", "r");
    int id = -1;
    if (f) {
        if (fscanf(f, "%d", &id) != 1)
            id = -1;
        fclose(f);
    }
    return id;
}

/* This process's system calls so far (-1: not countable here). The read
 * itself is one; callers subtract it. */
static int64_t sc_count(int fd)
{
    uint64_t v;
    return fd >= 0 && read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v) ? (int64_t)v : -1;
}

enum { PH_START = 1, PH_AWAKE, PH_ASLEEP, PH_DONE };
static double sc_result[4];
static uint64_t sc_frames;

static void sc_prod(struct blk *b)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof(a));
    a.type = PERF_TYPE_TRACEPOINT;
    a.size = sizeof(a);
    a.config = (uint64_t)tp_id();
    int pfd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
    if (pfd < 0)
        die(b, "perf_event_open(raw_syscalls:sys_enter): %s", strerror(errno));
    nrings = 1;
    zinc_producer *p = create(b, 0);
    atomic_store_explicit(&b->ready, 1, memory_order_release);
    wait_ge(b, &b->attached, 1);
    double *out = (double *)b->samples;
    /* 0: nobody waits; the consumer has not made its descriptor yet. */
    int64_t c0 = sc_count(pfd);
    for (uint64_t i = 0; i < b->n; i++)
        send(b, p);
    out[0] = (double)(sc_count(pfd) - c0 - 1) / (double)b->n;
    /* 1: an fd watcher awake: its descriptor is readable (frames pending),
     * so it is not armed and not counted as a sleeper. */
    atomic_store_explicit(&b->phase, PH_AWAKE, memory_order_release);
    wait_ge(b, &b->phase_ack, PH_AWAKE);
    c0 = sc_count(pfd);
    for (uint64_t i = 0; i < b->n; i++)
        send(b, p);
    out[1] = (double)(sc_count(pfd) - c0 - 1) / (double)b->n;
    /* 2: the watcher asleep: armed in epoll_wait before every frame. */
    atomic_store_explicit(&b->phase, PH_ASLEEP, memory_order_release);
    wait_ge(b, &b->phase_ack, PH_ASLEEP);
    uint64_t base = atomic_load_explicit(&b->ack, memory_order_acquire);
    int64_t total = 0;
    for (uint64_t i = 0; i < b->n; i++) {
        wait_ge(b, &b->ack, base + i); /* it re-armed: acquire said -11 */
        zb_spin_until(zb_now() + 20000);
        c0 = sc_count(pfd);
        send(b, p);
        total += sc_count(pfd) - c0 - 1;
    }
    out[2] = (double)total / (double)b->n;
    atomic_store_explicit(&b->phase, PH_DONE, memory_order_release);
    wait_ge(b, &b->phase_ack, PH_DONE);
    zinc_producer_close(p);
}

static void sc_cons(struct blk *b)
{
    zinc_consumer *c[NRINGS];
    nrings = 1;
    open_all(b, c);
    atomic_store_explicit(&b->attached, 1, memory_order_release);
    wait_ge(b, &b->phase, PH_AWAKE);
    int fd = zinc_consumer_fd(c[0]); /* frames are pending: readable, not armed */
    atomic_store_explicit(&b->phase_ack, PH_AWAKE, memory_order_release);
    wait_ge(b, &b->phase, PH_ASLEEP);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN };
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    zinc_frame f;
    while (zinc_consumer_acquire(c[0], &f, 0) == 0) /* drain to -11: armed */
        zinc_consumer_release(c[0], &f);
    atomic_store_explicit(&b->phase_ack, PH_ASLEEP, memory_order_release);
    for (uint64_t i = 0; i < b->n; i++) {
        while (epoll_wait(ep, &ev, 1, -1) != 1)
            ;
        while (zinc_consumer_acquire(c[0], &f, 0) == 0)
            zinc_consumer_release(c[0], &f);
        atomic_store_explicit(&b->ack, i + 1, memory_order_release);
    }
    wait_ge(b, &b->phase, PH_DONE);
    atomic_store_explicit(&b->phase_ack, PH_DONE, memory_order_release);
    close(ep);
    zinc_consumer_close(c[0]);
}

static int syscalls(uint64_t frames)
{
    if (tp_id() < 0) {
        printf("system calls per frame: not measured (no raw_syscalls:sys_enter tracepoint: "
               "mount tracefs, run as root)\n");
        return 0;
    }
    struct blk *b = blk_new(8, "sc");
    b->n = frames;
    cons_mode = ZINC_LOSSY; /* the producer never waits for it */
    int r = run(b, sc_prod, sc_cons);
    cons_mode = ZINC_EVERY;
    double *out = (double *)b->samples;
    if (r == 0) {
        sc_result[0] = out[0];
        sc_result[1] = out[1];
        sc_result[2] = out[2];
        sc_frames = frames;
        printf("system calls per frame of the producer (%llu frames each, perf_event_open on "
               "raw_syscalls:sys_enter):\n"
               "  nobody waiting              %.3f\n"
               "  fd watcher awake (busy)     %.3f\n"
               "  fd watcher asleep (armed)   %.3f\n",
               (unsigned long long)frames, out[0], out[1], out[2]);
    } else {
        printf("system calls per frame: FAILED: %s\n", b->error);
    }
    char nm[96];
    snprintf(nm, sizeof(nm), "%s_0", b->name);
    zinc_ring_remove_stale(nm);
    munmap(b, sizeof(struct blk) + 8 * sizeof(uint64_t));
    return r;
}

/* ---- main ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    int rounds = 5, smoke = 0;
    uint64_t frames = 2000;
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--frames") && i + 1 < argc)
            frames = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--smoke"))
            smoke = 1;
        else if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else {
            fprintf(stderr, "usage: wait-bench [--rounds N] [--frames N] [--smoke] [--out DIR]\n");
            return 2;
        }
    }
    if (smoke) {
        rounds = 1;
        frames = 60;
    }
    if (rounds < 1 || rounds > 64 || frames < 20)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("wait-bench: 64 B sleeping one-way latency, producer CPU 0, consumer CPU 1, "
           "%llu frames x %d rounds (medians of the round medians)\n",
           (unsigned long long)frames, rounds);
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < NV; k++) {
            int idx = r % 2 ? NV - 1 - k : k; /* alternate the order, as zinc-bench */
            one(&vs[idx], frames);
        }
    double ref = 0;
    FILE *md = NULL;
    if (out) {
        mkdir(out, 0755);
        char p[512];
        snprintf(p, sizeof(p), "%s/wait.md", out);
        md = fopen(p, "w");
    }
    if (md)
        fprintf(md, "| wake-up, 64 B | median (ns) | p99 (ns) | / futex one-way | epoll "
                    "EINTR per frame |\n|---|---:|---:|---:|---:|\n");
    for (int k = 0; k < NV; k++) {
        struct variant *v = &vs[k];
        if (!v->n)
            continue;
        double m = med_dbl(v->med, v->n), p = med_dbl(v->p99, v->n), e = med_dbl(v->eintr, v->n);
        if (k == 0)
            ref = m;
        printf("  %-42s median %8.0f ns  p99 %8.0f ns  x%.2f futex", v->what, m, p,
               ref > 0 ? m / ref : 0);
        if (e > 0)
            printf("  (epoll_wait EINTR per frame: %.2f)", e);
        printf("\n");
        if (md)
            fprintf(md, "| %s | %.0f | %.0f | %.2f | %.2f |\n", v->what, m, p,
                    ref > 0 ? m / ref : 0, e);
    }
    /* Ratios within each round, then the median (as zinc-bench). */
    double rf[64], ra[64];
    int nf = 0, na = 0;
    for (int r = 0; r < vs[0].n && r < vs[2].n; r++)
        rf[nf++] = vs[2].med[r] / vs[0].med[r];
    for (int r = 0; r < vs[1].n && r < vs[4].n; r++)
        ra[na++] = vs[4].med[r] / vs[1].med[r];
    double qf = nf ? med_dbl(rf, nf) : 0, qa = na ? med_dbl(ra, na) : 0;
    printf("ratios (median of the per-round ratios):\n"
           "  fd + epoll_wait / futex one-way          %.2f  (target <= 1.3: %s)\n"
           "  wait_any over 8 rings / acquire on one   %.2f  (target <= 1.2: %s)\n",
           qf, qf <= 1.3 ? "met" : "NOT met", qa, qa <= 1.2 ? "met" : "NOT met");
    int sr = syscalls(smoke ? 200 : 20000);
    if (md) {
        fprintf(md, "\n| ratio (median of the rounds) | value | target | met |\n|---|---:|---|---|\n"
                    "| fd + epoll_wait / futex one-way | %.2f | <= 1.3 | %s |\n"
                    "| zinc_wait_any over 8 rings / acquire(-1) on one | %.2f | <= 1.2 | %s |\n",
                qf, qf <= 1.3 ? "yes" : "**no**", qa, qa <= 1.2 ? "yes" : "**no**");
        if (sc_frames)
            fprintf(md, "\n| producer system calls per frame (%llu frames) | value |\n|---|---:|\n"
                        "| nobody waiting | %.3f |\n| fd watcher awake (busy, not armed) | %.3f |\n"
                        "| fd watcher asleep (armed in epoll_wait) | %.3f |\n",
                    (unsigned long long)sc_frames, sc_result[0], sc_result[1], sc_result[2]);
        fclose(md);
    }
    for (int k = 0; k < NV; k++)
        if (!vs[k].n)
            return 1;
    return sr != 0;
}
