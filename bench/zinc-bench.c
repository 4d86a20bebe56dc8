/* SPDX-License-Identifier: MIT */
/*
 * zinc-bench.c — cross-process comparison of the zinc ring with the
 * physical limits (cache-line hop, futex wake-up, memset/memcpy) and the
 * alternatives (bare shared-memory ring, pipe, AF_UNIX socket, iceoryx),
 * all in one run on the same cores: the producer on CPU 0, consumers on
 * CPU 1. Writes results.json, latency.dat, throughput.dat and summary.md
 * into the output directory.
 *
 *   zinc-bench [--out DIR] [--smoke] [--no-iox] [--scale X] [--rounds N]
 *              [--only PATTERNS]
 *
 * Latency is one-way: the producer stores CLOCK_MONOTONIC in the first
 * payload line just before it hands the frame over (publish, write, store),
 * the consumer reads the clock as soon as it has the frame; the producer
 * waits for the consumer's acknowledgement before the next frame, so there
 * is never a queue. Both processes read the same TSC-based clock.
 */
#include "harness.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zinc/ring.h>

#define MiB (1024.0 * 1024.0)
#define SZ_1080P 8294400ull   /* 1920 x 1080 x 4 */
#define SZ_4K    33177600ull  /* 3840 x 2160 x 4 */
#define SZ_CLOUD 1600000ull   /* 100,000 points x 16 B */

static struct zb_job *cur_job;

/* ---- results ------------------------------------------------------------------ */

struct stat3 {
    double median, p99, p999, min, mean;
    uint64_t n;
};

struct result {
    char group[24];     /* latency, throughput, reference, mixed, option */
    char transport[24];
    char variant[40];   /* spin, sleep, write-all/read-all, one-line, ... */
    uint64_t size;
    struct stat3 lat;   /* ns */
    double gbps;        /* GB/s of payload (1e9 B/s), steady-state wall time */
    double gbps_run;    /* GB/s at the median frame interval (while running) */
    double interval_ns; /* per frame, steady state */
    double cold_ns;     /* per frame during the first lap */
    uint64_t frames, dropped;
    int rounds;         /* merged: how many rounds; raw: round number */
    double lo, hi;      /* merged: range of the main metric over the rounds */
};

static struct result results[1024];
static int nresults;
static int round_no;
static int rounds = 9;
static const char *out_dir = "bench-results";
static int smoke;
static double scale = 1.0;
static int want_iox = 1;
static int nfail;
static const char *only; /* comma-separated substrings of "group:transport:variant:size" */

/* Is the run named by this key selected by --only? */
static int selected(const char *group, const char *tx, const char *variant, uint64_t size)
{
    if (!only)
        return 1;
    char key[160];
    snprintf(key, sizeof(key), "%s:%s:%s:%llu", group, tx, variant, (unsigned long long)size);
    const char *p = only;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char pat[96];
        if (n >= sizeof(pat))
            n = sizeof(pat) - 1;
        memcpy(pat, p, n);
        pat[n] = 0;
        if (n && strstr(key, pat))
            return 1;
        p += n + (e ? 1 : 0);
    }
    return 0;
}
static char iox_status[512] = "not run";

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static struct stat3 stats(uint64_t *v, uint64_t n)
{
    struct stat3 s = { 0 };
    if (n == 0)
        return s;
    qsort(v, n, sizeof(*v), cmp_u64);
    double sum = 0;
    for (uint64_t i = 0; i < n; i++)
        sum += (double)v[i];
    s.n = n;
    s.min = (double)v[0];
    s.mean = sum / (double)n;
    s.median = (double)v[n / 2];
    s.p99 = (double)v[(n * 99) / 100];
    s.p999 = (double)v[(n * 999) / 1000];
    return s;
}

static struct result *add(const char *group, const char *tx, const char *variant, uint64_t size)
{
    struct result *r = &results[nresults++];
    memset(r, 0, sizeof(*r));
    snprintf(r->group, sizeof(r->group), "%s", group);
    snprintf(r->transport, sizeof(r->transport), "%s", tx);
    snprintf(r->variant, sizeof(r->variant), "%s", variant);
    r->size = size;
    r->rounds = round_no;
    return r;
}

static int find_round; /* find() in the raw results of this round; 0: any */

static const struct result *find(const char *group, const char *tx, const char *variant, uint64_t size)
{
    for (int i = 0; i < nresults; i++) {
        const struct result *r = &results[i];
        if (!strcmp(r->group, group) && !strcmp(r->transport, tx) &&
            !strcmp(r->variant, variant) && r->size == size &&
            (find_round == 0 || r->rounds == find_round))
            return r;
    }
    return NULL;
}

static void print_lat(const struct result *r)
{
    printf("  %-10s %-22s %9llu B  median %9.0f ns  p99 %9.0f  p99.9 %9.0f  (n=%llu)\n",
           r->transport, r->variant, (unsigned long long)r->size, r->lat.median,
           r->lat.p99, r->lat.p999, (unsigned long long)r->lat.n);
    fflush(stdout);
}

static void print_tp(const struct result *r)
{
    printf("  %-10s %-22s %9llu B  %7.2f GB/s (%7.2f at the median interval)  %9.0f ns/frame"
           "  (first lap %9.0f)\n",
           r->transport, r->variant, (unsigned long long)r->size, r->gbps, r->gbps_run,
           r->interval_ns, r->cold_ns);
    fflush(stdout);
}

/* ---- running a job in pinned processes ------------------------------------------- */

static struct zb_job *job_new(const struct zb_transport *t, uint64_t size, uint64_t count)
{
    static unsigned seq;
    struct zb_job *j = mmap(NULL, sizeof(*j), PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (j == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    memset(j, 0, sizeof(*j));
    snprintf(j->name, sizeof(j->name), "zb_%d_%u_%s", (int)getpid(), seq++, t ? t->name : "ref");
    j->size = size;
    j->count = count;
    j->ncons = 1;
    j->slots = 4;
    return j;
}

static void job_free(struct zb_job *j)
{
    if (j->samples)
        munmap(j->samples, j->ncons * j->count * sizeof(uint64_t));
    munmap(j, sizeof(*j));
}

static void alloc_samples(struct zb_job *j)
{
    j->samples = mmap(NULL, j->ncons * j->count * sizeof(uint64_t), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (j->samples == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
}

typedef void (*role_fn)(struct zb_job *j, const struct zb_transport *t, int idx);

/* Fork the producer (CPU 0) and the consumers (CPU 1), wait for all.
 * Returns 0 if every process exited 0. */
static pid_t pids[ZB_MAX_CONSUMERS + 1]; /* the current run's processes */
static volatile sig_atomic_t reaped[ZB_MAX_CONSUMERS + 1];
static volatile sig_atomic_t npids;

/* SIGKILL the run's processes not yet reaped: a reaped pid may already
 * belong to someone else. */
static void kill_unreaped(void)
{
    for (int i = 0; i < npids; i++)
        if (!reaped[i])
            kill(pids[i], SIGKILL);
}

static int run(struct zb_job *j, const struct zb_transport *t, role_fn prod, role_fn cons)
{
    int n = 0, bad = 0;
    pid_t parent = getpid();
    cur_job = j;
    if (t && t->pre_fork) {
        int r = t->pre_fork(j);
        if (r < 0) {
            snprintf(j->error, sizeof(j->error), "setup: %s", strerror(-r));
            return -1;
        }
    }
    fflush(NULL);
    for (int i = -1; i < (int)j->ncons; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            exit(1);
        }
        if (pid == 0) {
            /* A harness killed mid-run (meson's timeout) takes its
             * spinning children with it. */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(1);
            sigset_t chld;
            sigemptyset(&chld);
            sigaddset(&chld, SIGCHLD);
            sigprocmask(SIG_UNBLOCK, &chld, NULL);
            zb_pin(i < 0 ? 0 : 1);
            if (i < 0)
                prod(j, t, 0);
            else
                cons(j, t, i);
            /* exit, not _exit: the iceoryx runtime unregisters from RouDi
             * in its static destructor (else RouDi aborts at shutdown). */
            exit(0);
        }
        reaped[n] = 0;
        pids[n++] = pid;
        npids = n;
    }
    uint64_t t0 = zb_now(), t_done = 0;
    int left = n, hung = 0;
    while (left > 0) {
        /* Every consumer has every frame and has written its results: a
         * process that then hangs in its teardown (iceoryx's runtime, when
         * RouDi lost track of it) is killed without failing the run. */
        int complete = 1;
        for (uint32_t i = 0; i < j->ncons; i++)
            if (atomic_load_explicit(&j->received[i].v, memory_order_acquire) == 0)
                complete = 0;
        if (complete && t_done == 0)
            t_done = zb_now();
        if (t_done && !hung && zb_now() - t_done > 10000000000ull) {
            fprintf(stderr, "zinc-bench: run %s (%llu B): a process hung after its work was "
                    "done; killed\n", j->name, (unsigned long long)j->size);
            kill_unreaped();
            hung = 1;
        }
        /* Our run's pids only: RouDi is a child too. */
        int st;
        pid_t pid = 0;
        for (int i = 0; i < n && pid <= 0; i++)
            if (!reaped[i] && (pid = waitpid(pids[i], &st, WNOHANG)) == pids[i])
                reaped[i] = 1;
        if (pid > 0) {
            left--;
            if ((!WIFEXITED(st) || WEXITSTATUS(st) != 0) && !hung)
                bad = 1;
            if (bad) /* one failed: the others would wait for it forever */
                kill_unreaped();
            continue;
        }
        if (zb_now() - t0 > zb_job_deadline_ns + 15000000000ull) {
            kill_unreaped();
            snprintf(j->error, sizeof(j->error), "run timed out");
            bad = 1;
        }
        /* Sleep until a child exits (SIGCHLD is blocked, see main), at most
         * 50 ms: few system calls of ours in the counts of a run. */
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        sigset_t chld;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        sigtimedwait(&chld, NULL, &ts);
    }
    npids = 0;
    if (t && t->post_run)
        t->post_run(j);
    if (bad && j->error[0] == 0)
        snprintf(j->error, sizeof(j->error), "a process failed");
    return bad ? -1 : 0;
}

/* Frame header the loops write into the first payload line. */
struct hdr {
    uint64_t seq;
    uint64_t t0;
};

static void fill(void *buf, uint64_t size, uint64_t seq, int all)
{
    if (all)
        memset(buf, (int)(seq & 0xff), size);
    struct hdr *h = buf;
    h->seq = seq;
}

static volatile uint64_t sink;

static uint64_t read_all(const void *buf, uint64_t size)
{
    const uint64_t *p = buf;
    uint64_t a = 0, b = 0, c = 0, d = 0;
    size_t n4 = (size_t)(size / 32);
    for (size_t i = 0; i < n4; i++) {
        a ^= p[4 * i];
        b ^= p[4 * i + 1];
        c ^= p[4 * i + 2];
        d ^= p[4 * i + 3];
    }
    /* every frame size of the harness is a multiple of 32 bytes */
    return a ^ b ^ c ^ d;
}

/* ---- generic loops over a transport ----------------------------------------------- */

static void wait_attached(struct zb_job *j)
{
    zb_wait_polite(j, &j->attached, j->ncons);
}

static void ack_all(struct zb_job *j, uint64_t v)
{
    for (uint32_t i = 0; i < j->ncons; i++)
        zb_wait_ge(j, &j->ack[i], v);
}

static void prod_loop(struct zb_job *j, const struct zb_transport *t, int idx)
{
    void *st;
    (void)idx;
    t->prod_open(j, &st);
    /* Pairs with the consumers' acquire wait on ready: created first. */
    atomic_store_explicit(&j->ready.v, 1, memory_order_release);
    wait_attached(j);
    uint64_t t_start = zb_now();
    atomic_store_explicit(&j->t_start.v, t_start, memory_order_relaxed); /* read after join */
    for (uint64_t i = 0; i < j->count; i++) {
        if (j->latency) {
            ack_all(j, i);
            if (j->gap_ns)
                zb_spin_until(zb_now() + j->gap_ns);
        }
        void *buf = t->prod_get(st, j->size);
        fill(buf, j->size, i + 1, j->touch_all);
        struct hdr *h = buf;
        h->t0 = zb_now();
        t->prod_send(st, buf, j->size);
    }
    /* Every consumer has everything before the producer goes away. */
    for (uint32_t i = 0; i < j->ncons; i++)
        zb_wait_polite(j, &j->ack[i], j->count);
    t->prod_close(st);
}

static void cons_loop(struct zb_job *j, const struct zb_transport *t, int idx)
{
    void *st;
    zb_wait_polite(j, &j->ready, 1);
    t->cons_open(j, idx, &st);
    /* Pairs with the producer's wait_attached. */
    atomic_fetch_add_explicit(&j->attached.v, 1, memory_order_acq_rel);
    uint64_t *samples = j->samples ? j->samples + (uint64_t)idx * j->count : NULL;
    uint64_t got = 0, dropped = 0, last = 0, acc = 0;
    while (last < j->count) {
        uint64_t d = 0;
        const void *buf = t->cons_recv(st, &d);
        uint64_t t1 = zb_now();
        const struct hdr *h = buf;
        uint64_t seq = h->seq;
        /* latency runs: one-way latency; throughput runs: arrival time */
        if (samples && seq >= 1 && seq <= j->count)
            samples[seq - 1] = j->latency ? t1 - h->t0 : t1;
        if (!j->latency && j->touch_all)
            acc ^= read_all(buf, j->size);
        t->cons_done(st);
        if (seq <= last || seq > j->count)
            zb_die(j, "%s: consumer %d got frame %llu after %llu", t->name, idx,
                   (unsigned long long)seq, (unsigned long long)last);
        dropped += d;
        got++;
        last = seq;
        if (idx == 0 && seq == j->slots)
            atomic_store_explicit(&j->t_lap.v, zb_now(), memory_order_relaxed); /* read after join */
        /* Pairs with the producer's ack_all acquire wait. */
        atomic_store_explicit(&j->ack[idx].v, seq, memory_order_release);
    }
    if (idx == 0)
        atomic_store_explicit(&j->t_end.v, zb_now(), memory_order_relaxed); /* read after join */
    /* relaxed: published by the release store of received just below */
    atomic_store_explicit(&j->dropped[idx].v, dropped, memory_order_relaxed);
    /* Release: pairs with the parent's acquire load in run(); the samples,
     * t_end and dropped are written before. */
    atomic_store_explicit(&j->received[idx].v, got, memory_order_release);
    sink = acc;
    t->cons_close(st);
}

static uint64_t lat_count(uint64_t size, uint64_t gap)
{
    uint64_t n;
    if (size >= SZ_1080P)
        n = 400;
    else if (size >= (1u << 20))
        n = 1500;
    else
        n = 20000;
    if (gap)
        n = n < 4000 ? n : 4000;
    n = (uint64_t)((double)n * scale);
    return n < 50 ? 50 : n;
}

static uint32_t lat_ring_flags; /* next bench_latency: ZINC_RING_* (zinc) */

/* variant: "spin" (timeout 0 in a loop), "sleep" (blocking, each frame
 * after `gap` idle so the consumer is asleep), "block" (blocking, frames
 * back to back: the consumer is still in its spin phase). */
static void bench_latency(const struct zb_transport *t, uint64_t size, int sleep, uint64_t gap,
                          const char *variant)
{
    if (!selected("latency", t->name, variant, size))
        return;
    struct zb_job *j = job_new(t, size, lat_count(size, sleep ? gap : 0));
    j->latency = 1;
    j->sleep = (uint32_t)sleep;
    j->gap_ns = sleep ? gap : 0;
    j->ring_flags = lat_ring_flags;
    j->warmup = j->count / 20;
    j->mode[0] = ZINC_EVERY;
    alloc_samples(j);
    if (run(j, t, prod_loop, cons_loop) == 0) {
        struct result *r = add("latency", t->name, variant, size);
        r->lat = stats(j->samples + j->warmup, j->count - j->warmup);
        r->frames = j->count;
        print_lat(r);
    } else {
        nfail++;
        printf("  %-10s %-8s %llu B: FAILED: %s\n", t->name, variant,
               (unsigned long long)size, j->error);
    }
    job_free(j);
}

static uint64_t tp_count(uint64_t size)
{
    double bytes = smoke ? 64 * MiB : 6400 * MiB;
    uint64_t n = (uint64_t)(bytes * scale / (double)size);
    if (size < 1600000 && !smoke)
        n = (uint64_t)(60000 * scale);
    return n < 16 ? 16 : n;
}

static uint32_t tp_idle_lossy; /* next bench_tp: idle LOSSY consumers (zinc) */

static struct result *bench_tp(const struct zb_transport *t, uint64_t size, int all, int sleep,
                               uint32_t flags, const char *variant)
{
    if (!selected("throughput", t->name, variant, size))
        return NULL;
    struct zb_job *j = job_new(t, size, tp_count(size));
    j->touch_all = (uint32_t)all;
    j->sleep = (uint32_t)sleep;
    j->ring_flags = flags;
    j->idle_lossy = tp_idle_lossy;
    j->mode[0] = ZINC_EVERY;
    alloc_samples(j);
    struct result *r = NULL;
    if (run(j, t, prod_loop, cons_loop) == 0) {
        uint64_t ts = j->t_start.v, tl = j->t_lap.v, te = j->t_end.v;
        r = add("throughput", t->name, variant, size);
        r->frames = j->count;
        /* Frame interval: the median gap between arrivals after the first
         * lap, so a time slice lost to another process does not count. */
        uint64_t n = j->count - j->slots - 1;
        uint64_t *gaps = malloc(n * sizeof(*gaps));
        for (uint64_t i = 0; i < n; i++)
            gaps[i] = j->samples[j->slots + i + 1] - j->samples[j->slots + i];
        r->interval_ns = stats(gaps, n).median;
        free(gaps);
        r->gbps_run = r->interval_ns > 0 ? (double)size / r->interval_ns : 0;
        r->cold_ns = (double)(tl - ts) / (double)j->slots;
        /* steady state: the first lap pays the first touch of every page */
        r->gbps = (double)size * (double)(j->count - j->slots) / (double)(te - tl);
        print_tp(r);
    } else {
        nfail++;
        printf("  %-10s %-22s %llu B: FAILED: %s\n", t->name, variant,
               (unsigned long long)size, j->error);
    }
    job_free(j);
    return r;
}

/* The /dev/shm ring's run and a sealed anonymous ring's (ZINC_RING_ANONYMOUS,
 * reached over a socket) back to back, first one then the other in odd
 * rounds, the other way round in even ones, so that neither always runs
 * second (warmer caches, a settled clock). */
static void lat_pair(uint64_t size, int sleep, uint64_t gap, const char *variant,
                     const char *anon_variant)
{
    for (int i = 0; i < 2; i++) {
        int anon = (round_no % 2) ? i : !i;
        lat_ring_flags = anon ? ZINC_RING_ANONYMOUS : 0;
        bench_latency(&zb_tx_zinc, size, sleep, gap, anon ? anon_variant : variant);
    }
    lat_ring_flags = 0;
}

static void tp_pair(uint64_t size, const char *variant, const char *anon_variant)
{
    for (int i = 0; i < 2; i++) {
        int anon = (round_no % 2) ? i : !i;
        bench_tp(&zb_tx_zinc, size, 1, 0, anon ? ZINC_RING_ANONYMOUS : 0,
                 anon ? anon_variant : variant);
    }
}

/* Several sleeping zinc consumers of mixed modes on CPU 1. */
static void bench_mixed(uint64_t size, uint64_t gap)
{
    static const zinc_delivery modes[] = { ZINC_EVERY, ZINC_LOSSY, ZINC_LATEST, ZINC_EVERY };
    static const char *names[] = { "every", "lossy", "latest", "every" };
    if (!selected("mixed", "zinc", "sleep", size))
        return;
    struct zb_job *j = job_new(&zb_tx_zinc, size, lat_count(size, gap));
    j->latency = 1;
    j->sleep = 1;
    j->gap_ns = gap;
    j->ncons = 4;
    j->warmup = j->count / 20;
    for (int i = 0; i < 4; i++)
        j->mode[i] = (uint32_t)modes[i];
    alloc_samples(j);
    if (run(j, &zb_tx_zinc, prod_loop, cons_loop) == 0) {
        for (int i = 0; i < 4; i++) {
            char v[40];
            snprintf(v, sizeof(v), "sleep-%s-%d/4", names[i], i + 1);
            struct result *r = add("mixed", "zinc", v, size);
            r->lat = stats(j->samples + (uint64_t)i * j->count + j->warmup, j->count - j->warmup);
            r->frames = j->received[i].v;
            r->dropped = j->dropped[i].v;
            print_lat(r);
        }
    } else {
        nfail++;
        printf("  mixed: FAILED: %s\n", j->error);
    }
    job_free(j);
}

/* ---- references -------------------------------------------------------------------- */

/* Cache-line ping-pong: the producer stores 2i+1, the consumer answers 2i+2
 * on the same line; one round trip / 2 per sample. */
static void ref_pp_prod(struct zb_job *j, const struct zb_transport *t, int idx)
{
    (void)t;
    (void)idx;
    _Atomic uint64_t *w = &j->ack[0].v;
    wait_attached(j);
    for (uint64_t i = 0; i < j->count; i++) {
        uint64_t t0 = zb_now();
        /* Pairs with the consumer's acquire load. */
        atomic_store_explicit(w, 2 * i + 1, memory_order_release);
        /* Pairs with the consumer's release store of the answer. */
        while (atomic_load_explicit(w, memory_order_acquire) != 2 * i + 2)
            zb_pause();
        j->samples[i] = (zb_now() - t0) / 2;
    }
}

static void ref_pp_cons(struct zb_job *j, const struct zb_transport *t, int idx)
{
    (void)t;
    (void)idx;
    _Atomic uint64_t *w = &j->ack[0].v;
    /* Pairs with the producer's wait_attached. */
    atomic_fetch_add_explicit(&j->attached.v, 1, memory_order_acq_rel);
    for (uint64_t i = 0; i < j->count; i++) {
        /* Pairs with the producer's release store. */
        while (atomic_load_explicit(w, memory_order_acquire) != 2 * i + 1)
            zb_pause();
        /* Pairs with the producer's acquire load. */
        atomic_store_explicit(w, 2 * i + 2, memory_order_release);
    }
}

/* One-way cache-line hop measured like the transports: t0 stored with the
 * sequence in one line, the consumer spins on it and reads its clock. */
struct ow_line {
    alignas(ZB_LINE) _Atomic uint64_t seq;
    _Atomic uint64_t t0;
};

static void ref_ow_prod(struct zb_job *j, const struct zb_transport *t, int idx)
{
    (void)t;
    (void)idx;
    struct ow_line *l = j->shared;
    wait_attached(j);
    for (uint64_t i = 0; i < j->count; i++) {
        ack_all(j, i);
        if (j->gap_ns)
            zb_spin_until(zb_now() + j->gap_ns);
        atomic_store_explicit(&l->t0, zb_now(), memory_order_relaxed); /* published by seq */
        /* Pairs with the consumer's acquire load of seq. */
        atomic_store_explicit(&l->seq, i + 1, memory_order_release);
        if (j->sleep)
            syscall(SYS_futex, &l->seq, FUTEX_WAKE, 1, NULL, NULL, 0);
    }
    ack_all(j, j->count);
}

static void ref_ow_cons(struct zb_job *j, const struct zb_transport *t, int idx)
{
    (void)t;
    (void)idx;
    struct ow_line *l = j->shared;
    /* Pairs with the producer's wait_attached. */
    atomic_fetch_add_explicit(&j->attached.v, 1, memory_order_acq_rel);
    for (uint64_t i = 0; i < j->count; i++) {
        uint64_t s;
        /* Pairs with the producer's release store of seq. */
        while ((s = atomic_load_explicit(&l->seq, memory_order_acquire)) != i + 1) {
            if (j->sleep) /* the futex is the low half of seq (little endian) */
                syscall(SYS_futex, &l->seq, FUTEX_WAIT, (uint32_t)s, NULL, NULL, 0);
            else
                zb_pause();
        }
        uint64_t t1 = zb_now();
        /* relaxed: ordered after the acquire load of seq above */
        j->samples[i] = t1 - atomic_load_explicit(&l->t0, memory_order_relaxed);
        /* Pairs with the producer's ack_all acquire wait. */
        atomic_store_explicit(&j->ack[0].v, i + 1, memory_order_release);
    }
}

/* Shared futex ping-pong: both sleep in FUTEX_WAIT (no PRIVATE flag, as
 * across processes), each wakes the other; round trip / 2. */
static void ref_fx_prod(struct zb_job *j, const struct zb_transport *t, int idx)
{
    (void)t;
    (void)idx;
    _Atomic uint32_t *w = (_Atomic uint32_t *)j->shared;
    wait_attached(j);
    for (uint64_t i = 0; i < j->count; i++) {
        uint32_t mine = (uint32_t)(2 * i + 1), want = (uint32_t)(2 * i + 2);
        uint64_t t0 = zb_now();
        /* Pairs with the consumer's acquire load. */
        atomic_store_explicit(w, mine, memory_order_release);
        syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
        /* Pairs with the consumer's release store. */
        while (atomic_load_explicit(w, memory_order_acquire) != want)
            syscall(SYS_futex, w, FUTEX_WAIT, mine, NULL, NULL, 0);
        j->samples[i] = (zb_now() - t0) / 2;
    }
}

static void ref_fx_cons(struct zb_job *j, const struct zb_transport *t, int idx)
{
    (void)t;
    (void)idx;
    _Atomic uint32_t *w = (_Atomic uint32_t *)j->shared;
    /* Pairs with the producer's wait_attached. */
    atomic_fetch_add_explicit(&j->attached.v, 1, memory_order_acq_rel);
    for (uint64_t i = 0; i < j->count; i++) {
        uint32_t want = (uint32_t)(2 * i + 1);
        uint32_t x;
        /* Pairs with the producer's release store. */
        while ((x = atomic_load_explicit(w, memory_order_acquire)) != want)
            syscall(SYS_futex, w, FUTEX_WAIT, x, NULL, NULL, 0);
        /* Pairs with the producer's acquire load. */
        atomic_store_explicit(w, want + 1, memory_order_release);
        syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
    }
}

/* The futex ping-pong again, through two zinc rings whose consumers sleep
 * (spin 1 ns): "a" carries the ping, "b" the pong. Each side creates the
 * ring it produces, then attaches to the other's. The same method as the
 * futex reference, so their ratio is the library's own cost of a wake-up. */
static zinc_producer *pp_create(struct zb_job *j, const char *suffix)
{
    char n[96];
    snprintf(n, sizeof(n), "%s_%s", j->name, suffix);
    zinc_ring_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.slot_count = 4;
    cfg.max_consumers = 1;
    cfg.slot_size = 64;
    cfg.spin_ns = 1;
    zinc_producer *p = NULL;
    int r = zinc_producer_create(n, &cfg, &p);
    if (r < 0)
        zb_die(j, "zinc_producer_create(%s): %s %s", n, zinc_strerror(r), zinc_last_error());
    return p;
}

static zinc_consumer *pp_attach(struct zb_job *j, const char *suffix)
{
    char n[96];
    snprintf(n, sizeof(n), "%s_%s", j->name, suffix);
    uint64_t t0 = zb_now();
    for (;;) {
        zinc_consumer *c = NULL;
        int r = zinc_consumer_open(n, ZINC_EVERY, &c);
        if (r == 0)
            return c;
        if ((r != ZINC_ENOENT && r != ZINC_EAGAIN) || zb_now() - t0 > zb_job_deadline_ns)
            zb_die(j, "zinc_consumer_open(%s): %s %s", n, zinc_strerror(r), zinc_last_error());
        struct timespec ts = { 0, 100 * 1000 };
        nanosleep(&ts, NULL);
    }
}

static void pp_send(struct zb_job *j, zinc_producer *p, uint64_t seq)
{
    zinc_frame f;
    int r = zinc_producer_claim(p, &f, -1);
    if (r == 0) {
        memcpy(f.data, &seq, sizeof(seq));
        f.size = sizeof(seq);
        r = zinc_producer_publish(p, &f);
    }
    if (r < 0)
        zb_die(j, "ping-pong send: %s %s", zinc_strerror(r), zinc_last_error());
}

static void pp_recv(struct zb_job *j, zinc_consumer *c, uint64_t seq)
{
    zinc_frame f;
    int r = zinc_consumer_acquire(c, &f, -1);
    if (r < 0)
        zb_die(j, "ping-pong acquire: %s %s", zinc_strerror(r), zinc_last_error());
    uint64_t got;
    memcpy(&got, f.data, sizeof(got));
    r = zinc_consumer_release(c, &f);
    if (r < 0 || got != seq)
        zb_die(j, "ping-pong: frame %llu carried %llu (release %d)", (unsigned long long)seq,
               (unsigned long long)got, r);
}

static void zinc_pp_prod(struct zb_job *j, const struct zb_transport *t, int idx)
{
    (void)t;
    (void)idx;
    zinc_producer *p = pp_create(j, "a");
    zinc_consumer *c = pp_attach(j, "b");
    wait_attached(j);
    for (uint64_t i = 0; i < j->count; i++) {
        uint64_t t0 = zb_now();
        pp_send(j, p, i + 1);
        pp_recv(j, c, i + 1);
        j->samples[i] = (zb_now() - t0) / 2;
    }
    zinc_consumer_close(c);
    zinc_producer_close(p);
}

static void zinc_pp_cons(struct zb_job *j, const struct zb_transport *t, int idx)
{
    (void)t;
    (void)idx;
    zinc_producer *p = pp_create(j, "b");
    zinc_consumer *c = pp_attach(j, "a");
    /* Pairs with the producer's wait_attached. */
    atomic_fetch_add_explicit(&j->attached.v, 1, memory_order_acq_rel);
    for (uint64_t i = 0; i < j->count; i++) {
        pp_recv(j, c, i + 1);
        pp_send(j, p, i + 1);
    }
    zinc_consumer_close(c);
    zinc_producer_close(p);
}

static void bench_ref_latency(const char *group, const char *name, const char *variant,
                              role_fn p, role_fn c, uint64_t count, int sleep, uint64_t gap)
{
    if (!selected(group, name, variant, 64))
        return;
    struct zb_job *j = job_new(NULL, 64, count);
    j->sleep = (uint32_t)sleep;
    j->gap_ns = gap;
    j->warmup = count / 20;
    j->shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memset(j->shared, 0, 4096);
    alloc_samples(j);
    if (run(j, NULL, p, c) == 0) {
        struct result *r = add(group, name, variant, 64);
        r->lat = stats(j->samples + j->warmup, j->count - j->warmup);
        r->frames = count;
        print_lat(r);
    } else {
        nfail++;
        printf("  %s %s: FAILED: %s\n", name, variant, j->error);
    }
    munmap(j->shared, 4096);
    job_free(j);
}

/* Single-thread bandwidth on CPU 0: memset, memcpy, read-all of 1080p. */
static void bench_bandwidth(void)
{
    uint64_t size = SZ_1080P, n = smoke ? 4 : (uint64_t)(200 * scale) + 4;
    if (!selected("reference", "memset/memcpy/read-all", "1-thread", size))
        return;
    uint8_t *a = aligned_alloc(4096, size), *b = aligned_alloc(4096, size);
    memset(a, 1, size);
    memset(b, 2, size);
    zb_pin(0);
    const char *names[] = { "memset", "memcpy", "read-all" };
    for (int k = 0; k < 3; k++) {
        uint64_t t0 = zb_now();
        for (uint64_t i = 0; i < n; i++) {
            if (k == 0)
                memset(a, (int)i, size);
            else if (k == 1)
                memcpy(b, a, size);
            else
                sink ^= read_all(a, size);
            __asm__ __volatile__("" ::: "memory");
        }
        uint64_t dt = zb_now() - t0;
        struct result *r = add("reference", names[k], "1-thread", size);
        r->frames = n;
        r->interval_ns = (double)dt / (double)n;
        r->gbps = (double)size * (double)n / (double)dt;
        r->gbps_run = r->gbps; /* one thread, one loop: no frame intervals */
        print_tp(r);
    }
    free(a);
    free(b);
    cpu_set_t all;
    CPU_ZERO(&all);
    CPU_SET(0, &all);
    CPU_SET(1, &all);
    sched_setaffinity(0, sizeof(all), &all);
}

/* ---- merging rounds ----------------------------------------------------------------
 * Every comparison runs in R interleaved rounds (zinc, then each
 * alternative, then again), so a burst of load from another process hits
 * all transports alike; each figure reported is the median over rounds. */

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_dbl);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void merge_rounds(void)
{
    static struct result merged[1024];
    static char done[1024];
    int nm = 0;
    memset(done, 0, sizeof(done));
    for (int i = 0; i < nresults; i++) {
        if (done[i])
            continue;
        const struct result *a = &results[i];
        int idx[64], n = 0;
        for (int k = i; k < nresults && n < 64; k++) {
            const struct result *b = &results[k];
            if (!done[k] && !strcmp(a->group, b->group) && !strcmp(a->transport, b->transport) &&
                !strcmp(a->variant, b->variant) && a->size == b->size) {
                idx[n++] = k;
                done[k] = 1;
            }
        }
        struct result *m = &merged[nm++];
        *m = *a;
        m->rounds = n;
        m->lat.n = 0;
        m->frames = 0;
        m->dropped = 0;
        double v[8][64];
        for (int k = 0; k < n; k++) {
            const struct result *b = &results[idx[k]];
            v[0][k] = b->lat.median;
            v[1][k] = b->lat.p99;
            v[2][k] = b->lat.p999;
            v[3][k] = b->lat.min;
            v[4][k] = b->lat.mean;
            v[5][k] = b->gbps;
            v[6][k] = b->interval_ns;
            v[7][k] = b->gbps_run;
            m->lat.n += b->lat.n;
            m->frames += b->frames;
            m->dropped += b->dropped;
        }
        int main_metric = a->lat.n ? 0 : a->gbps_run > 0 ? 7 : 5;
        m->lo = m->hi = v[main_metric][0];
        for (int k = 1; k < n; k++) {
            m->lo = v[main_metric][k] < m->lo ? v[main_metric][k] : m->lo;
            m->hi = v[main_metric][k] > m->hi ? v[main_metric][k] : m->hi;
        }
        m->lat.median = median_of(v[0], n);
        m->lat.p99 = median_of(v[1], n);
        m->lat.p999 = median_of(v[2], n);
        m->lat.min = median_of(v[3], n);
        m->lat.mean = median_of(v[4], n);
        m->gbps = median_of(v[5], n);
        m->interval_ns = median_of(v[6], n);
        double c[64];
        for (int k = 0; k < n; k++)
            c[k] = results[idx[k]].cold_ns;
        m->cold_ns = median_of(c, n);
        for (int k = 0; k < n; k++)
            c[k] = results[idx[k]].gbps_run;
        m->gbps_run = median_of(c, n);
    }
    memcpy(results, merged, sizeof(merged[0]) * (size_t)nm);
    nresults = nm;
}

/* ---- output ---------------------------------------------------------------------- */

static FILE *out_file(const char *name)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", out_dir, name);
    FILE *f = fopen(p, "w");
    if (!f) {
        fprintf(stderr, "zinc-bench: cannot write %s: %s\n", p, strerror(errno));
        exit(1);
    }
    return f;
}

struct ratio {
    const char *what;
    double value, target;
    int le;         /* 1: value must be <= target, 0: >= */
    int n;          /* rounds it was measured in */
    double lo, hi;  /* range over the rounds */
    double v[64];   /* per round */
};

static struct ratio ratios[40];
static int nratios;

static double med(const char *g, const char *t, const char *v, uint64_t s)
{
    const struct result *r = find(g, t, v, s);
    return r ? r->lat.median : 0;
}

static double ivl(const char *g, const char *t, const char *v, uint64_t s)
{
    const struct result *r = find(g, t, v, s);
    return r ? r->interval_ns : 0;
}

static double gbps(const char *g, const char *t, const char *v, uint64_t s)
{
    const struct result *r = find(g, t, v, s);
    return r ? r->gbps : 0;
}

static double gbps_run(const char *g, const char *t, const char *v, uint64_t s)
{
    const struct result *r = find(g, t, v, s);
    return r ? r->gbps_run : 0;
}

/* Each ratio is taken within one round (numerator and denominator measured
 * minutes apart at most), then the median over the rounds is reported. */
static void ratio(const char *what, double a, double b, double target, int le)
{
    if (a <= 0 || b <= 0)
        return;
    struct ratio *r = NULL;
    for (int i = 0; i < nratios; i++)
        if (ratios[i].what == what)
            r = &ratios[i];
    if (!r) {
        if (nratios == (int)(sizeof(ratios) / sizeof(ratios[0])))
            return; /* table full: add room above */
        r = &ratios[nratios++];
        r->what = what;
        r->target = target;
        r->le = le;
    }
    if (r->n < 64)
        r->v[r->n++] = a / b;
}

static void finish_ratios(void)
{
    for (int i = 0; i < nratios; i++) {
        struct ratio *r = &ratios[i];
        double tmp[64];
        memcpy(tmp, r->v, sizeof(double) * (size_t)r->n);
        r->value = median_of(tmp, r->n);
        r->lo = tmp[0];
        r->hi = tmp[r->n - 1];
    }
}

static void compute_ratios(void)
{
    double z64 = med("latency", "zinc", "spin", 64);
    ratio("64 B spin latency / cache-line round trip/2", z64,
          med("reference", "cacheline", "round-trip/2", 64), 1.3, 1);
    ratio("64 B spin latency / cache-line one-way (same method)", z64,
          med("reference", "cacheline", "one-way", 64), 1.3, 1);
    ratio("64 B spin latency / iceoryx spin", z64, med("latency", "iceoryx", "spin", 64), 0.2, 1);
    double zs = med("latency", "zinc", "sleep", 64);
    ratio("64 B sleeping wake-up / futex ping-pong round trip/2", zs,
          med("reference", "futex", "round-trip/2", 64), 1.2, 1);
    ratio("64 B sleeping wake-up / futex one-way (same method)", zs,
          med("reference", "futex", "one-way", 64), 1.2, 1);
    ratio("64 B sleeping ping-pong round trip/2 / futex ping-pong round trip/2 (same method)",
          med("latency", "zinc", "sleep round-trip/2", 64),
          med("reference", "futex", "round-trip/2", 64), 1.2, 1);
    ratio("1080p one-line frame interval / iceoryx", ivl("throughput", "zinc", "one-line", SZ_1080P),
          ivl("throughput", "iceoryx", "one-line", SZ_1080P), 0.3, 1);
    const char *wa = "write-all/read-all";
    double z = gbps_run("throughput", "zinc", wa, SZ_1080P);
    ratio("1080p throughput / bare ring", z, gbps_run("throughput", "bare", wa, SZ_1080P), 0.95, 0);
    ratio("1080p throughput / iceoryx", z, gbps_run("throughput", "iceoryx", wa, SZ_1080P), 1.0, 0);
    ratio("1080p throughput / AF_UNIX 4 MiB", z, gbps_run("throughput", "unix", wa, SZ_1080P), 1.5, 0);
    ratio("1080p throughput / pipe 1 MiB", z, gbps_run("throughput", "pipe", wa, SZ_1080P), 5.0, 0);
    /* The same on wall time, which also counts the time slices another
     * process took from our pinned producer or consumer. */
    double zw = gbps("throughput", "zinc", wa, SZ_1080P);
    ratio("1080p wall-time throughput / bare ring", zw, gbps("throughput", "bare", wa, SZ_1080P), 0.95, 0);
    ratio("1080p wall-time throughput / iceoryx", zw, gbps("throughput", "iceoryx", wa, SZ_1080P), 1.0, 0);
    ratio("1080p wall-time throughput / AF_UNIX 4 MiB", zw, gbps("throughput", "unix", wa, SZ_1080P), 1.5, 0);
    ratio("1080p wall-time throughput / pipe 1 MiB", zw, gbps("throughput", "pipe", wa, SZ_1080P), 5.0, 0);
    /* Context, no target: what any shared-memory ring could reach here. */
    double b = gbps_run("throughput", "bare", wa, SZ_1080P);
    ratio("(bound) bare ring 1080p / AF_UNIX 4 MiB", b, gbps_run("throughput", "unix", wa, SZ_1080P), 0, 0);
    ratio("(bound) bare ring 1080p / pipe 1 MiB", b, gbps_run("throughput", "pipe", wa, SZ_1080P), 0, 0);
    ratio("(bound) bare ring 64 B spin / cache-line one-way", med("latency", "bare", "spin", 64),
          med("reference", "cacheline", "one-way", 64), 0, 0);
    ratio("64 B spin latency with clock_gettime (ZINC_CLOCK=vdso) / cache-line one-way",
          med("latency", "zinc", "spin vdso-clock", 64),
          med("reference", "cacheline", "one-way", 64), 0, 0);
    ratio("64 B spin latency, ZINC_RING_NO_TIMESTAMPS / cache-line one-way",
          med("latency", "zinc", "spin no-timestamps", 64),
          med("reference", "cacheline", "one-way", 64), 0, 0);
    ratio("64 B spin latency, ZINC_RING_NO_TIMESTAMPS / iceoryx spin",
          med("latency", "zinc", "spin no-timestamps", 64),
          med("latency", "iceoryx", "spin", 64), 0, 0);
    /* Ring options against the plain ring, each within its round. */
    double zp = gbps_run("throughput", "zinc", wa, SZ_1080P);
    static const char *const opts[][2] = {
        { "(options) 1080p prefault / plain", "write-all/read-all prefault" },
        { "(options) 1080p hugepages / plain", "write-all/read-all hugepages" },
        { "(options) 1080p prefault+huge / plain", "write-all/read-all prefault+huge" },
    };
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        ratio(opts[i][0], gbps_run("throughput", "zinc", opts[i][1], SZ_1080P), zp, 0, 0);
    ratio("4K throughput / bare ring", gbps_run("throughput", "zinc", wa, SZ_4K),
          gbps_run("throughput", "bare", wa, SZ_4K), 0, 0);
    ratio("4K throughput / iceoryx", gbps_run("throughput", "zinc", wa, SZ_4K),
          gbps_run("throughput", "iceoryx", wa, SZ_4K), 0, 0);
    ratio("point cloud throughput / bare ring", gbps_run("throughput", "zinc", wa, SZ_CLOUD),
          gbps_run("throughput", "bare", wa, SZ_CLOUD), 0, 0);
    ratio("point cloud throughput / iceoryx", gbps_run("throughput", "zinc", wa, SZ_CLOUD),
          gbps_run("throughput", "iceoryx", wa, SZ_CLOUD), 0, 0);
    ratio("1080p one-line frame interval / bare ring", ivl("throughput", "zinc", "one-line", SZ_1080P),
          ivl("throughput", "bare", "one-line", SZ_1080P), 0, 0);
    ratio("1080p one-line interval, +3 idle LOSSY consumers / none",
          ivl("throughput", "zinc", "one-line +3 idle lossy", SZ_1080P),
          ivl("throughput", "zinc", "one-line", SZ_1080P), 0, 0);
    ratio("1080p one-line interval, +15 idle LOSSY consumers / none",
          ivl("throughput", "zinc", "one-line +15 idle lossy", SZ_1080P),
          ivl("throughput", "zinc", "one-line", SZ_1080P), 0, 0);
    /* A sealed anonymous ring against the /dev/shm ring (same figures
     * expected: the same mapping, only reached another way). */
    ratio("(anonymous) 64 B spin latency / /dev/shm ring",
          med("latency", "zinc", "spin anonymous", 64), z64, 0, 0);
    ratio("(anonymous) 64 B sleeping wake-up / /dev/shm ring",
          med("latency", "zinc", "sleep anonymous", 64), zs, 0, 0);
    ratio("(anonymous) 1080p spin latency / /dev/shm ring",
          med("latency", "zinc", "spin anonymous", SZ_1080P),
          med("latency", "zinc", "spin", SZ_1080P), 0, 0);
    ratio("(anonymous) 1080p throughput / /dev/shm ring",
          gbps_run("throughput", "zinc", "write-all/read-all anonymous", SZ_1080P), z, 0, 0);
}

static void write_outputs(const char *started)
{
    FILE *f = out_file("results.json");
    fprintf(f, "{\n  \"started\": \"%s\",\n  \"smoke\": %s,\n  \"scale\": %g,\n"
            "  \"iceoryx\": \"%s\",\n  \"results\": [\n", started, smoke ? "true" : "false",
            scale, iox_status);
    for (int i = 0; i < nresults; i++) {
        const struct result *r = &results[i];
        fprintf(f, "    {\"group\": \"%s\", \"transport\": \"%s\", \"variant\": \"%s\", "
                "\"size\": %llu, \"n\": %llu, \"median_ns\": %.0f, \"p99_ns\": %.0f, "
                "\"p999_ns\": %.0f, \"min_ns\": %.0f, \"mean_ns\": %.1f, \"gbps\": %.3f, \"gbps_at_median_interval\": %.3f, "
                "\"interval_ns\": %.1f, \"first_lap_ns\": %.1f, \"frames\": %llu, "
                "\"dropped\": %llu, \"rounds\": %d, \"round_lo\": %.3f, "
                "\"round_hi\": %.3f}%s\n",
                r->group, r->transport, r->variant, (unsigned long long)r->size,
                (unsigned long long)r->lat.n, r->lat.median, r->lat.p99, r->lat.p999,
                r->lat.min, r->lat.mean, r->gbps, r->gbps_run, r->interval_ns, r->cold_ns,
                (unsigned long long)r->frames, (unsigned long long)r->dropped,
                r->rounds, r->lo, r->hi, i + 1 < nresults ? "," : "");
    }
    fprintf(f, "  ],\n  \"ratios\": [\n");
    for (int i = 0; i < nratios; i++) {
        const struct ratio *q = &ratios[i];
        int ok = q->le ? q->value <= q->target : q->value >= q->target;
        if (q->target == 0)
            fprintf(f, "    {\"what\": \"%s\", \"value\": %.3f, \"round_lo\": %.3f, "
                    "\"round_hi\": %.3f, \"target\": null, \"met\": null}%s\n", q->what,
                    q->value, q->lo, q->hi, i + 1 < nratios ? "," : "");
        else
            fprintf(f, "    {\"what\": \"%s\", \"value\": %.3f, \"round_lo\": %.3f, "
                    "\"round_hi\": %.3f, \"target\": \"%s %.2f\", \"met\": %s}%s\n",
                    q->what, q->value, q->lo, q->hi, q->le ? "<=" : ">=", q->target,
                    ok ? "true" : "false", i + 1 < nratios ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    fclose(f);

    /* gnuplot data: one row per bar */
    f = out_file("latency.dat");
    fprintf(f, "# label median_us p99_us\n");
    for (int i = 0; i < nresults; i++) {
        const struct result *r = &results[i];
        if (r->lat.n == 0 || !strcmp(r->group, "mixed"))
            continue;
        char sz[32];
        if (r->size == SZ_1080P)
            snprintf(sz, sizeof(sz), "1080p");
        else if (r->size >= (1u << 20))
            snprintf(sz, sizeof(sz), "%lluMiB", (unsigned long long)(r->size >> 20));
        else if (r->size >= 1024)
            snprintf(sz, sizeof(sz), "%lluKiB", (unsigned long long)(r->size / 1024));
        else
            snprintf(sz, sizeof(sz), "%lluB", (unsigned long long)r->size);
        fprintf(f, "\"%s %s %s\" %.3f %.3f\n", r->transport, r->variant, sz,
                r->lat.median / 1000.0, r->lat.p99 / 1000.0);
    }
    fclose(f);
    f = out_file("throughput.dat");
    fprintf(f, "# label GB/s(wall) GB/s(median interval)\n");
    for (int i = 0; i < nresults; i++) {
        const struct result *r = &results[i];
        /* one-line runs move no payload: their GB/s means nothing */
        if (r->gbps <= 0 || strstr(r->variant, "one-line"))
            continue;
        const char *sz = r->size == SZ_1080P ? "1080p" : r->size == SZ_4K ? "4K" :
                         r->size == SZ_CLOUD ? "cloud" : "other";
        char v[48];
        snprintf(v, sizeof(v), "%s", r->variant);
        if (!strncmp(v, "write-all/read-all", 18)) /* shorter labels on the plot */
            snprintf(v, sizeof(v), "rw%s", r->variant + 18);
        fprintf(f, "\"%s %s %s\" %.3f %.3f\n", r->transport, sz, v, r->gbps,
                r->gbps_run > 0 ? r->gbps_run : r->gbps);
    }
    fclose(f);

    f = out_file("summary.md");
    fprintf(f, "Run started %s%s. iceoryx: %s.\n\n", started, smoke ? " (smoke)" : "", iox_status);
    fprintf(f, "| group | transport | variant | size (B) | median (ns) | p99 (ns) | p99.9 (ns) "
               "| medians of the rounds | n |\n|---|---|---|---:|---:|---:|---:|---|---:|\n");
    for (int i = 0; i < nresults; i++) {
        const struct result *r = &results[i];
        if (r->lat.n)
            fprintf(f, "| %s | %s | %s | %llu | %.0f | %.0f | %.0f | %.0f–%.0f | %llu |\n",
                    r->group, r->transport, r->variant, (unsigned long long)r->size,
                    r->lat.median, r->lat.p99, r->lat.p999, r->lo, r->hi,
                    (unsigned long long)r->lat.n);
    }
    fprintf(f, "\n| group | transport | variant | size (B) | ns/frame (median) "
               "| GB/s at median | GB/s wall | GB/s at median, rounds "
               "| first lap ns/frame | frames |\n"
               "|---|---|---|---:|---:|---:|---:|---|---:|---:|\n");
    for (int i = 0; i < nresults; i++) {
        const struct result *r = &results[i];
        if (r->gbps > 0)
            fprintf(f, "| %s | %s | %s | %llu | %.0f | %.2f | %.2f | %.2f–%.2f | %.0f | %llu |\n",
                    r->group, r->transport, r->variant, (unsigned long long)r->size,
                    r->interval_ns, r->gbps_run, r->gbps, r->lo, r->hi, r->cold_ns,
                    (unsigned long long)r->frames);
    }
    fprintf(f, "\n| ratio (median of the rounds) | value | rounds | target | met |\n"
               "|---|---:|---|---|---|\n");
    for (int i = 0; i < nratios; i++) {
        const struct ratio *q = &ratios[i];
        int ok = q->le ? q->value <= q->target : q->value >= q->target;
        if (q->target == 0)
            fprintf(f, "| %s | %.2f | %.2f–%.2f | context | |\n", q->what, q->value, q->lo,
                    q->hi);
        else
            fprintf(f, "| %s | %.2f | %.2f–%.2f | %s %.2f | %s |\n", q->what, q->value, q->lo,
                    q->hi, q->le ? "<=" : ">=", q->target, ok ? "yes" : "**no**");
    }
    fclose(f);
}

#ifdef ZINC_BENCH_IOX
/* Start RouDi only if some iceoryx run is selected. */
static int iox_selected(void)
{
    static const char *g[] = { "latency", "throughput" };
    static const char *v[] = { "spin", "sleep", "write-all/read-all", "one-line" };
    static const uint64_t s[] = { 64, 4096, 1u << 20, SZ_1080P, SZ_4K, SZ_CLOUD };
    for (size_t a = 0; a < 2; a++)
        for (size_t b = 0; b < 4; b++)
            for (size_t c = 0; c < 6; c++)
                if (selected(g[a], "iceoryx", v[b], s[c]))
                    return 1;
    return 0;
}
#endif

static void on_signal(int sig)
{
    /* The run's processes first, then the ring name they leave behind
     * (not async-signal-safe on paper; the main thread only waits here). */
    kill_unreaped();
    for (int i = 0; i < npids; i++)
        if (!reaped[i])
            waitpid(pids[i], NULL, 0);
    if (npids && cur_job)
        zinc_ring_remove_stale(cur_job->name);
#ifdef ZINC_BENCH_IOX
    zb_iox_stop(); /* kill, waitpid, nanosleep: async-signal-safe */
#endif
    signal(sig, SIG_DFL);
    raise(sig);
}

/* ---- main ---------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: zinc-bench [--out DIR] [--smoke] [--no-iox] [--scale X] [--rounds N] [--only PATTERNS]\n"
                    "  PATTERNS: comma-separated substrings of group:transport:variant:size,\n"
                    "  e.g. --only latency:zinc:spin:64,reference:cacheline\n");
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out_dir = argv[++i];
        else if (!strcmp(argv[i], "--smoke"))
            smoke = 1;
        else if (!strcmp(argv[i], "--no-iox"))
            want_iox = 0;
        else if (!strcmp(argv[i], "--scale") && i + 1 < argc)
            scale = atof(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]) > 0 ? atoi(argv[i]) : 1;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else
            usage();
    }
    if (smoke) {
        rounds = 1;
        scale = 0.01;
        want_iox = 0;
        zb_job_deadline_ns = 30ull * 1000000000ull; /* the VM stalls for seconds at times */
    }
    /* the same number of frames in all, spread over the rounds */
    scale /= rounds;
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
        fprintf(stderr, "zinc-bench: fewer than 2 CPUs online: numbers mean little\n");
    /* run() sleeps in sigtimedwait() for its children */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    mkdir(out_dir, 0755);
    setvbuf(stdout, NULL, _IOLBF, 0);

    char started[64];
    time_t now = time(NULL);
    strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    printf("zinc-bench %s, results in %s\n", started, out_dir);

    const struct zb_transport *txs[8];
    int ntx = 0;
    txs[ntx++] = &zb_tx_zinc;
    txs[ntx++] = &zb_tx_bare;
#ifdef ZINC_BENCH_IOX
    if (want_iox && iox_selected()) {
        char why[400];
        if (zb_iox_start(out_dir, why, sizeof(why)) == 0) {
            txs[ntx++] = &zb_tx_iox;
            snprintf(iox_status, sizeof(iox_status), "iceoryx 2.0 (C binding), RouDi started by the harness");
        } else {
            snprintf(iox_status, sizeof(iox_status), "skipped: %s", why);
        }
    } else {
        snprintf(iox_status, sizeof(iox_status), "not run (--no-iox, --smoke or not selected)");
    }
#else
    snprintf(iox_status, sizeof(iox_status), "skipped: built without the iceoryx C binding");
#endif
    txs[ntx++] = &zb_tx_unix;
    txs[ntx++] = &zb_tx_pipe;
    printf("iceoryx: %s\n", iox_status);

    uint64_t gap = 200 * 1000; /* > the 20 us spin of a zinc sleeper */
    uint64_t ref_n = smoke ? 200 : (uint64_t)(20000 * scale) + 50;
    uint64_t ref_s = smoke ? 50 : (uint64_t)(4000 * scale) + 50;

    for (round_no = 1; round_no <= rounds; round_no++) {
        printf("== round %d of %d\n", round_no, rounds);
        /* Each ratio's two sides run back to back: spin group, sleep group. */
        printf("64 B, spinning consumers, with the cache-line references:\n");
        bench_ref_latency("reference", "cacheline", "round-trip/2", ref_pp_prod, ref_pp_cons, ref_n, 0, 0);
        bench_ref_latency("reference", "cacheline", "one-way", ref_ow_prod, ref_ow_cons, ref_n, 0, 0);
        /* Odd rounds run the transports in order, even rounds in reverse,
         * so none always runs first after the same neighbour. */
        for (int k = 0; k < ntx; k++) {
            const struct zb_transport *t = txs[round_no % 2 ? k : ntx - 1 - k];
            if (t == &zb_tx_zinc)
                lat_pair(64, 0, 0, "spin", "spin anonymous");
            else if (t->spin_ok)
                bench_latency(t, 64, 0, 0, "spin");
        }
        bench_latency(&zb_tx_zinc, 64, 1, 0, "block");
        /* The clock's share of the hand-over: the same run with
         * clock_gettime for publish_ns and the histogram (the children
         * inherit the variable; the parent never reads the ring clock). */
        setenv("ZINC_CLOCK", "vdso", 1);
        bench_latency(&zb_tx_zinc, 64, 0, 0, "spin vdso-clock");
        unsetenv("ZINC_CLOCK");
        /* ... and without any clock read (the ring option). */
        lat_ring_flags = ZINC_RING_NO_TIMESTAMPS;
        bench_latency(&zb_tx_zinc, 64, 0, 0, "spin no-timestamps");
        lat_ring_flags = 0;
        printf("64 B, sleeping consumers, with the futex references:\n");
        bench_ref_latency("reference", "futex", "round-trip/2", ref_fx_prod, ref_fx_cons, ref_s, 1, 0);
        bench_ref_latency("latency", "zinc", "sleep round-trip/2", zinc_pp_prod, zinc_pp_cons, ref_s,
                          1, 0);
        bench_ref_latency("reference", "futex", "one-way", ref_ow_prod, ref_ow_cons, ref_s, 1, gap);
        for (int k = 0; k < ntx; k++) {
            const struct zb_transport *t = txs[round_no % 2 ? k : ntx - 1 - k];
            if (t == &zb_tx_zinc)
                lat_pair(64, 1, gap, "sleep", "sleep anonymous");
            else if (t->sleep_ok)
                bench_latency(t, 64, 1, gap, "sleep");
        }

        static const uint64_t lat_sizes[] = { 4096, 1u << 20, SZ_1080P };
        printf("one-way latency, larger frames:\n");
        for (size_t s = 0; s < sizeof(lat_sizes) / sizeof(lat_sizes[0]); s++) {
            for (int k = 0; k < ntx; k++) {
                const struct zb_transport *t = txs[round_no % 2 ? k : ntx - 1 - k];
                if (t == &zb_tx_zinc && lat_sizes[s] == SZ_1080P)
                    lat_pair(SZ_1080P, 0, 0, "spin", "spin anonymous");
                else if (t->spin_ok)
                    bench_latency(t, lat_sizes[s], 0, 0, "spin");
                if (t->sleep_ok)
                    bench_latency(t, lat_sizes[s], 1, gap, "sleep");
            }
        }

        printf("single-thread bandwidth (CPU 0):\n");
        bench_bandwidth();
        printf("throughput (producer CPU 0, consumer CPU 1, 4 slots / queue 4):\n");
        static const uint64_t tp_sizes[] = { SZ_1080P, SZ_4K, SZ_CLOUD };
        for (size_t s = 0; s < sizeof(tp_sizes) / sizeof(tp_sizes[0]); s++)
            for (int k = 0; k < ntx; k++) {
                const struct zb_transport *t = txs[round_no % 2 ? k : ntx - 1 - k];
                if (t == &zb_tx_zinc && tp_sizes[s] == SZ_1080P)
                    tp_pair(SZ_1080P, "write-all/read-all", "write-all/read-all anonymous");
                else
                    bench_tp(t, tp_sizes[s], 1, 0, 0, "write-all/read-all");
            }
        bench_tp(&zb_tx_zinc, SZ_1080P, 1, 1, 0, "write-all/read-all sleep");
        printf("per-frame cost (one cache line written and read per 1080p frame):\n");
        for (int k = 0; k < ntx; k++) {
            const struct zb_transport *t = txs[round_no % 2 ? k : ntx - 1 - k];
            if (t->spin_ok)
                bench_tp(t, SZ_1080P, 0, 0, 0, "one-line");
        }
        tp_idle_lossy = 3;
        bench_tp(&zb_tx_zinc, SZ_1080P, 0, 0, 0, "one-line +3 idle lossy");
        tp_idle_lossy = 15;
        bench_tp(&zb_tx_zinc, SZ_1080P, 0, 0, 0, "one-line +15 idle lossy");
        tp_idle_lossy = 0;
        bench_tp(&zb_tx_zinc, 64, 0, 0, 0, "one-line");
        bench_tp(&zb_tx_bare, 64, 0, 0, 0, "one-line");
#ifdef ZINC_BENCH_IOX
        for (int t = 0; t < ntx; t++)
            if (txs[t] == &zb_tx_iox)
                bench_tp(&zb_tx_iox, 64, 0, 0, 0, "one-line");
#endif

        printf("ring options (zinc, 1080p write-all/read-all):\n");
        bench_tp(&zb_tx_zinc, SZ_1080P, 1, 0, ZINC_RING_PREFAULT, "write-all/read-all prefault");
        bench_tp(&zb_tx_zinc, SZ_1080P, 1, 0, ZINC_RING_HUGEPAGES, "write-all/read-all hugepages");
        bench_tp(&zb_tx_zinc, SZ_1080P, 1, 0, ZINC_RING_PREFAULT | ZINC_RING_HUGEPAGES,
                 "write-all/read-all prefault+huge");
    }
    round_no = 0;
    for (find_round = 1; find_round <= rounds; find_round++)
        compute_ratios();
    find_round = 0;
    finish_ratios();

    printf("mixed sleeping consumers (every, lossy, latest, every on CPU 1):\n");
    bench_mixed(64, gap);
    bench_mixed(SZ_1080P, gap);
    merge_rounds();

#ifdef ZINC_BENCH_IOX
    zb_iox_stop();
#endif
    printf("ratios (median over the rounds of the ratio within a round):\n");
    for (int i = 0; i < nratios; i++) {
        const struct ratio *q = &ratios[i];
        int ok = q->le ? q->value <= q->target : q->value >= q->target;
        if (q->target == 0)
            printf("  %-55s %6.2f  [%.2f-%.2f] (context)\n", q->what, q->value, q->lo, q->hi);
        else
            printf("  %-55s %6.2f  [%.2f-%.2f] (target %s %.2f) %s\n", q->what, q->value,
                   q->lo, q->hi, q->le ? "<=" : ">=", q->target, ok ? "met" : "MISSED");
    }
    write_outputs(started);
    if (nfail)
        fprintf(stderr, "zinc-bench: %d run(s) failed\n", nfail);
    return nfail ? 1 : 0;
}
