/* SPDX-License-Identifier: MIT */
/*
 * harness.h — shared pieces of the cross-process benchmark harness
 * (zinc-bench): the job block every process of a run maps, the transport
 * interface, and the helpers of harness.c (clock, pinning, spinning with a
 * deadline).
 */
#ifndef ZINC_BENCH_HARNESS_H
#define ZINC_BENCH_HARNESS_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define ZB_MAX_CONSUMERS 8
#define ZB_LINE 128 /* two 64-byte lines: adjacent-line prefetch pairs them */

/* One padded atomic word: written by one side, read by the other. */
struct zb_word {
    alignas(ZB_LINE) _Atomic uint64_t v;
};

/* Parameters and rendezvous of one run, in an anonymous MAP_SHARED mapping
 * made before fork(): every process of the run sees the same bytes. */
struct zb_job {
    /* parameters (written by the parent before fork, then read-only) */
    char     name[64];       /* ring / service name, unique per run */
    uint64_t size;           /* payload bytes per frame */
    uint64_t count;          /* frames, including warm-up */
    uint64_t warmup;         /* first frames not sampled */
    uint64_t gap_ns;         /* latency: idle time before each frame (sleepers) */
    uint32_t ncons;          /* consumers */
    uint32_t slots;          /* ring slots / queue depth */
    uint32_t sleep;          /* consumers block instead of spinning */
    uint32_t touch_all;      /* throughput: write/read every byte (else one line) */
    uint32_t latency;        /* 1: paced latency run, 0: throughput run */
    uint32_t ring_flags;     /* ZINC_RING_* for the zinc transport */
    uint32_t idle_lossy;     /* zinc: LOSSY consumers attached that never read */
    uint32_t mode[ZB_MAX_CONSUMERS]; /* zinc_delivery per consumer */
    int      fds[4];         /* pipe / socketpair made before fork */
    void    *shared;         /* bare ring mapping made before fork */
    uint64_t *samples;       /* ncons * count latencies, shared mapping */

    /* rendezvous: each field has one writer, named in its comment */
    struct zb_word ready;    /* producer: transport created */
    struct zb_word attached; /* consumers: fetch_add once attached */
    struct zb_word ack[ZB_MAX_CONSUMERS]; /* consumer i: last frame handled */
    struct zb_word t_start;  /* producer: CLOCK_MONOTONIC before frame 1 */
    struct zb_word t_lap;    /* consumer 0: after frame `slots` (first lap) */
    struct zb_word t_end;    /* consumer 0: after the last frame */
    struct zb_word dropped[ZB_MAX_CONSUMERS]; /* consumer i: frames skipped */
    struct zb_word received[ZB_MAX_CONSUMERS];/* consumer i: frames received */
    char     error[256];     /* first failure, for the parent's report */
};

/* A transport seen by the generic latency and throughput loops. */
struct zb_transport {
    const char *name;
    int  spin_ok;  /* has a spinning consumer */
    int  sleep_ok; /* has a sleeping consumer */
    /* parent, before fork: make fds/mappings the children inherit */
    int  (*pre_fork)(struct zb_job *j);
    void (*post_run)(struct zb_job *j);
    /* producer process */
    int  (*prod_open)(struct zb_job *j, void **st);
    void *(*prod_get)(void *st, uint64_t size);
    int  (*prod_send)(void *st, void *buf, uint64_t size);
    void (*prod_close)(void *st);
    /* consumer process */
    int  (*cons_open)(struct zb_job *j, int idx, void **st);
    const void *(*cons_recv)(void *st, uint64_t *dropped);
    int  (*cons_done)(void *st);
    void (*cons_close)(void *st);
};

/* ---- helpers (harness.c) ---- */

/* How long any wait for a peer may last before the run dies (ns). */
extern uint64_t zb_job_deadline_ns;

uint64_t zb_now(void); /* CLOCK_MONOTONIC, ns */
void zb_pause(void);   /* the CPU's spin-wait hint */
/* Print the message, keep the first one in j->error for the parent, exit. */
_Noreturn void zb_die(struct zb_job *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Spin until *w >= v (acquire); dies after the job deadline. */
uint64_t zb_wait_ge(struct zb_job *j, struct zb_word *w, uint64_t v);
/* Sleep-poll until *w >= v (acquire), for set-up waits; dies after the job
 * deadline. */
void zb_wait_polite(struct zb_job *j, struct zb_word *w, uint64_t v);
/* Spin (without sleeping) until CLOCK_MONOTONIC reaches t. */
void zb_spin_until(uint64_t t);
/* Pin the calling process to one CPU (a warning if it cannot). */
void zb_pin(int cpu);

/* A spin loop's deadline: zb_spin_begin() before the loop, zb_spin() in it
 * (pauses; every 65536 calls checks the clock, dies naming `what` after the
 * job deadline). */
struct zb_spin {
    uint64_t n, t0;
};
static inline void zb_spin_begin(struct zb_spin *s)
{
    s->n = 0;
    s->t0 = 0;
}
void zb_spin(struct zb_job *j, struct zb_spin *s, const char *what);

extern const struct zb_transport zb_tx_zinc;
extern const struct zb_transport zb_tx_bare;
extern const struct zb_transport zb_tx_pipe;
extern const struct zb_transport zb_tx_unix;
#ifdef ZINC_BENCH_IOX
extern const struct zb_transport zb_tx_iox;
int  zb_iox_start(const char *dir, char *why, size_t whylen);
void zb_iox_stop(void);
#endif

#endif /* ZINC_BENCH_HARNESS_H */
