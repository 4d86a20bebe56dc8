/* SPDX-License-Identifier: MIT */
/*
 * test-kill-matrix.c — producer and consumers as processes on one ring,
 * killed with SIGKILL at chosen and random points, over and over:
 *
 *   producer: after a random number of frames; between claim and publish;
 *             in the middle of writing a frame; asleep in claim (blocked by
 *             an EVERY consumer); while creating the ring
 *   consumer: after a random number of frames; inside acquire; inside
 *             release; asleep on the futex in acquire; EVERY consumer while
 *             holding a frame (the producer is blocked on it)
 *
 * The children report their phase and counters through shared memory; the
 * parent waits (bounded) for the phase it wants, kills, reaps, respawns, and
 * after every kill checks:
 *   - nobody hangs: the producer publishes again and every consumer gets
 *     frames of the current ring generation, within a watchdog;
 *   - no consumer ever accepts (release returned 0) a torn or mixed frame:
 *     payloads carry a pattern keyed by seq with a checksum;
 *   - a replacement producer comes up (zinc_producer_create on the same name
 *     succeeds at once) and consumers re-attach to its generation;
 *   - the counters add up (producer: published == head == published count
 *     in the ring's stats; a consumer that exits cleanly: acquired ==
 *     released + torn; EVERY: never torn, never out of order);
 *   - after everyone exits, the name is gone (or removable with
 *     zinc_ring_remove_stale).
 * Randomised spin delays inside the children's critical sections make the
 * kills land inside them.
 *
 * Size: 300 kills or 60 s by default; ZINC_LONG_TESTS=1: 3000 kills or
 * 30 min; ZINC_KILL_ITERS=N overrides the count (sanitizer runs use less).
 *
 * The same matrix runs on a sealed anonymous ring (ZINC_RING_ANONYMOUS):
 * the producer listens on a socket path, consumers connect to it, counters
 * are read through the socket, and at the end the socket file and the
 * registry entry must be gone (and nothing was ever in /dev/shm). Half
 * the size by default; the same with ZINC_LONG_TESTS=1.
 *
 * A second test isolates the first race the matrix found: a closing
 * consumer of a dead ring must not remove the name of its replacement.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/prctl.h>

#include "ring-util.h"

#define NCONS 3
#define SLOTS 8
#define SLOT_SIZE 16384
#define WATCHDOG_MS 15000 /* any single wait of the parent */

enum phase {
    PH_NONE = 0,
    PH_CREATING,
    PH_CLAIMING,
    PH_CLAIMED,
    PH_WRITING,
    PH_PUBLISHING,
    PH_PAUSED,
    PH_IDLE,
    PH_OPENING,
    PH_ACQUIRING,
    PH_HOLDING,
    PH_HELD_PAUSED,
    PH_RELEASING,
    PH_DONE,
};

/* One child's report. Every field is written by that child only (and reset
 * by the parent before the child is forked). */
struct proc {
    _Atomic int32_t pid;
    _Atomic uint32_t phase;
    _Atomic uint64_t progress;  /* loop iterations */
    _Atomic uint64_t gen;       /* producer: its generation; consumer: of its last frame */
    _Atomic uint64_t acquired;
    _Atomic uint64_t released;  /* release returned 0 */
    _Atomic uint64_t torn;      /* release returned -75 */
    _Atomic uint64_t published;
    _Atomic uint64_t last_seq;
    _Atomic uint64_t reopens;
    _Atomic uint64_t errors;
    _Atomic int64_t err_code;   /* first error: what / seq / detail */
    _Atomic uint64_t err_seq;
    _Atomic int64_t err_detail;
    _Atomic int32_t create_rc;  /* producer: zinc_producer_create's code */
    _Atomic uint32_t clean_exit;
    char msg[256];              /* zinc_last_error() of the first error */
};

struct km {
    _Atomic uint32_t stop_cons;
    _Atomic uint32_t stop_prod;
    _Atomic uint32_t pause_prod;  /* futex word: producer parks at loop top */
    _Atomic uint32_t hold_every;  /* futex word: EVERY consumer parks holding */
    _Atomic uint32_t allow_grace; /* see producer_main */
    _Atomic uint64_t grace_waits; /* replacements that had to wait for it */
    struct proc prod;
    struct proc cons[NCONS];
    char name[64];
    uint32_t anon;    /* a sealed anonymous ring, served on `addr` */
    char addr[100];   /* socket path (anonymous rings) */
    char dir[64];     /* its directory, and the registry's (ZINC_RUNTIME_DIR) */
};

static const zinc_delivery cons_mode[NCONS] = {ZINC_EVERY, ZINC_LOSSY, ZINC_LATEST};

enum {
    E_CREATE = 1, E_CLAIM, E_PUBLISH, E_COUNT, E_OPEN, E_ACQUIRE, E_ORDER, E_DROPPED,
    E_ACCEPTED_BAD, E_EVERY_TORN, E_RELEASE, E_DESC,
};

static struct km *S;
static pid_t prod_pid = -1, cons_pid[NCONS] = {-1, -1, -1};

/* Bookkeeping in shared memory between test processes: seq_cst loads and
 * stores throughout (they pair with each other; nothing here is hot). */
static inline uint64_t ld(_Atomic uint64_t *a)
{
    return atomic_load_explicit(a, memory_order_seq_cst);
}
static inline void st(_Atomic uint64_t *a, uint64_t v)
{
    atomic_store_explicit(a, v, memory_order_seq_cst);
}
static inline uint32_t ld32(_Atomic uint32_t *a)
{
    return atomic_load_explicit(a, memory_order_seq_cst);
}
static inline void st32(_Atomic uint32_t *a, uint32_t v)
{
    atomic_store_explicit(a, v, memory_order_seq_cst);
}
static inline void inc(_Atomic uint64_t *a)
{
    atomic_fetch_add_explicit(a, 1, memory_order_seq_cst);
}

static void fwait(_Atomic uint32_t *w, uint32_t v)
{
    struct timespec ts = {0, 50 * 1000 * 1000};
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT, v, &ts, NULL, 0);
}

static void fwake(_Atomic uint32_t *w)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, 1 << 30, NULL, NULL, 0);
}

static void fail_child(struct proc *me, int64_t code, uint64_t seq, int64_t detail)
{
    /* The details of the first error before the count: the parent reads
     * them as soon as it sees errors > 0 (the child is single-threaded). */
    if (ld(&me->errors) == 0) {
        snprintf(me->msg, sizeof(me->msg), "%s", zinc_last_error());
        atomic_store_explicit(&me->err_code, code, memory_order_seq_cst);
        st(&me->err_seq, seq);
        atomic_store_explicit(&me->err_detail, detail, memory_order_seq_cst);
    }
    inc(&me->errors);
}

/* A busy delay of random length: widens the windows the parent aims at
 * without sleeping (a sleeping child would be in a different place). */
static void jitter(ru_rng *r, uint64_t max)
{
    uint64_t n = ru_range(r, 0, max);
    for (volatile uint64_t i = 0; i < n; i++)
        ;
}

static void child_setup(void)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
        _exit(9);
}

/* ---- children -------------------------------------------------------------- */

static void producer_main(uint64_t seed)
{
    child_setup();
    struct proc *me = &S->prod;
    ru_rng rng = {seed};
    st32(&me->phase, PH_CREATING);
    zinc_ring_config cfg = ru_cfg(SLOTS, SLOT_SIZE);
    cfg.max_consumers = 8;
    cfg.spin_ns = 2000;
    if (S->anon)
        cfg.flags |= ZINC_RING_ANONYMOUS;
    zinc_producer *p = NULL;
    int r = zinc_producer_create(S->name, &cfg, &p);
    /* An anonymous ring is served at once; a dead predecessor's socket file
     * is replaced at once (there is no grace for anything). */
    if (r == 0 && S->anon)
        r = zinc_producer_listen(p, S->addr); /* reported below */
    /* A creator killed after taking its token but before sizing the object
     * leaves an empty object that src/ring-map.c counts as "being created" for
     * 2 s (it cannot tell that creator from one between shm_open and its
     * token). Only right after such a kill, wait that grace out (bounded)
     * and count it; anywhere else the replacement must succeed at once. */
    if (r == ZINC_EEXIST && ld32(&S->allow_grace) &&
        strstr(zinc_last_error(), "being created") != NULL) {
        atomic_fetch_add_explicit(&S->grace_waits, 1, memory_order_seq_cst);
        uint64_t t0 = ru_now_ns();
        while (r == ZINC_EEXIST && ru_now_ns() - t0 < 5ull * 1000000000ull) {
            struct timespec ts = {0, 10 * 1000000}; /* retry back-off, not a sync */
            nanosleep(&ts, NULL);
            r = zinc_producer_create(S->name, &cfg, &p);
        }
    }
    /* The generation first, create_rc last: the parent reads gen as soon
     * as it sees create_rc, so create_rc is this report's "ready" flag
     * (seq_cst store, read with seq_cst: it publishes gen). */
    if (r == 0)
        st(&me->gen, zinc_producer_generation(p));
    else
        fail_child(me, E_CREATE, 0, r); /* the message the parent prints */
    atomic_store_explicit(&me->create_rc, r, memory_order_seq_cst);
    if (r != 0)
        _exit(5);
    while (!ld32(&S->stop_prod)) {
        while (ld32(&S->pause_prod) && !ld32(&S->stop_prod)) {
            st32(&me->phase, PH_PAUSED);
            fwait(&S->pause_prod, 1);
        }
        st32(&me->phase, PH_CLAIMING);
        zinc_frame f;
        r = zinc_producer_claim(p, &f, 100 * 1000 * 1000);
        if (r == ZINC_ETIMEDOUT)
            continue;
        if (r != 0) {
            fail_child(me, E_CLAIM, ld(&me->last_seq), r);
            _exit(6);
        }
        st32(&me->phase, PH_CLAIMED);
        jitter(&rng, 20000);
        st32(&me->phase, PH_WRITING);
        uint64_t size = ru_range(&rng, 24, SLOT_SIZE);
        /* Scribble first, in pieces, so that a kill here leaves a slot
         * that is neither the old frame nor the new one. */
        for (uint64_t off = 0; off < size; off += 4096) {
            memset((uint8_t *)f.data + off, 0xEE, size - off < 4096 ? size - off : 4096);
            jitter(&rng, 3000);
        }
        ru_fill(f.data, size, f.seq, false);
        f.size = size;
        f.timestamp_ns = ru_ts(f.seq);
        memcpy(f.user, &f.seq, 8);
        st32(&me->phase, PH_PUBLISHING);
        r = zinc_producer_publish(p, &f);
        if (r != 0) {
            fail_child(me, E_PUBLISH, f.seq, r);
            _exit(7);
        }
        inc(&me->published);
        st(&me->last_seq, f.seq);
        if (ld(&me->published) != f.seq)
            fail_child(me, E_COUNT, f.seq, (int64_t)ld(&me->published));
        st32(&me->phase, PH_IDLE);
        inc(&me->progress);
    }
    zinc_producer_close(p);
    st32(&me->clean_exit, 1);
    st32(&me->phase, PH_DONE);
    _exit(0);
}

static void consumer_main(int i, uint64_t seed)
{
    child_setup();
    struct proc *me = &S->cons[i];
    zinc_delivery mode = cons_mode[i];
    ru_rng rng = {seed};
    zinc_consumer *c = NULL;
    uint64_t prev = 0, gen = 0;
    bool first = true;
    for (;;) {
        if (!c) {
            st32(&me->phase, PH_OPENING);
            uint64_t t0 = ru_now_ns();
            for (;;) {
                if (ld32(&S->stop_cons))
                    goto out;
                int r = S->anon ? zinc_consumer_connect(S->addr, mode, &c)
                                : zinc_consumer_open(S->name, mode, &c);
                if (r == 0)
                    break;
                /* Between generations: the name is missing (-2), being
                 * created (-11), or half-made by a creator that died (-32);
                 * a socket nobody listens on (-2). */
                if ((r != ZINC_ENOENT && r != ZINC_EAGAIN && r != ZINC_EPIPE) ||
                    ru_now_ns() - t0 > 10ull * 1000000000ull) {
                    fail_child(me, E_OPEN, 0, r);
                    _exit(3);
                }
                struct timespec ts = {0, 1000000}; /* retry back-off, not a sync */
                nanosleep(&ts, NULL);
            }
            gen = zinc_consumer_generation(c);
            first = true;
            inc(&me->reopens);
        }
        if (ld32(&S->stop_cons))
            break;
        st32(&me->phase, PH_ACQUIRING);
        inc(&me->progress);
        zinc_frame f;
        int64_t timeout = ru_range(&rng, 0, 3) ? -1 : 20 * 1000 * 1000;
        int r = zinc_consumer_acquire(c, &f, timeout);
        if (r == ZINC_ETIMEDOUT)
            continue;
        if (r == ZINC_EPIPE) {
            /* The producer is gone and everything was drained: re-attach. */
            zinc_consumer_close(c);
            c = NULL;
            continue;
        }
        if (r != 0) {
            fail_child(me, E_ACQUIRE, prev, r);
            _exit(4);
        }
        st32(&me->phase, PH_HOLDING);
        inc(&me->acquired);
        if (!first && (f.seq <= prev || (mode == ZINC_EVERY && f.seq != prev + 1)))
            fail_child(me, E_ORDER, f.seq, (int64_t)prev);
        else if (!first && mode == ZINC_LOSSY && f.seq != prev + 1 + f.dropped)
            fail_child(me, E_DROPPED, f.seq, (int64_t)f.dropped);
        uint64_t useq;
        memcpy(&useq, f.user, 8);
        bool desc_ok = f.size >= 24 && f.size <= SLOT_SIZE && f.timestamp_ns == ru_ts(f.seq) &&
                       useq == f.seq;
        jitter(&rng, 20000);
        if (mode == ZINC_EVERY) {
            while (ld32(&S->hold_every)) {
                st32(&me->phase, PH_HELD_PAUSED);
                fwait(&S->hold_every, 1);
            }
            st32(&me->phase, PH_HOLDING);
        }
        int chk = ru_check(f.data, f.size, f.seq, false);
        jitter(&rng, 5000);
        st32(&me->phase, PH_RELEASING);
        int rr = zinc_consumer_release(c, &f);
        if (rr == 0) {
            inc(&me->released);
            if (chk != RU_OK)
                fail_child(me, E_ACCEPTED_BAD, f.seq, chk);
            if (!desc_ok)
                fail_child(me, E_DESC, f.seq, (int64_t)f.size);
        } else if (rr == ZINC_EOVERFLOW) {
            inc(&me->torn);
            if (mode == ZINC_EVERY)
                fail_child(me, E_EVERY_TORN, f.seq, 0);
        } else {
            fail_child(me, E_RELEASE, f.seq, rr);
        }
        prev = f.seq;
        first = false;
        st(&me->last_seq, f.seq);
        st(&me->gen, gen);
        st32(&me->phase, PH_IDLE);
    }
out:
    if (c)
        zinc_consumer_close(c);
    if (ld(&me->acquired) != ld(&me->released) + ld(&me->torn))
        fail_child(me, E_COUNT, ld(&me->acquired), (int64_t)ld(&me->released));
    st32(&me->clean_exit, 1);
    st32(&me->phase, PH_DONE);
    _exit(0);
}

/* ---- parent ---------------------------------------------------------------- */

static void reset_proc(struct proc *p)
{
    memset((void *)p, 0, sizeof(*p));
    atomic_store_explicit(&p->create_rc, INT32_MIN, memory_order_seq_cst);
}

static pid_t spawn_producer(uint64_t seed)
{
    reset_proc(&S->prod);
    pid_t pid = fork();
    if (pid == 0)
        producer_main(seed);
    atomic_store_explicit(&S->prod.pid, pid, memory_order_seq_cst);
    return pid;
}

static pid_t spawn_consumer(int i, uint64_t seed)
{
    reset_proc(&S->cons[i]);
    pid_t pid = fork();
    if (pid == 0)
        consumer_main(i, seed);
    atomic_store_explicit(&S->cons[i].pid, pid, memory_order_seq_cst);
    return pid;
}

static void kill_all(void)
{
    if (!S)
        return;
    if (prod_pid > 0) {
        kill(prod_pid, SIGKILL);
        waitpid(prod_pid, NULL, 0);
        prod_pid = -1;
    }
    for (int i = 0; i < NCONS; i++) {
        if (cons_pid[i] > 0) {
            kill(cons_pid[i], SIGKILL);
            waitpid(cons_pid[i], NULL, 0);
            cons_pid[i] = -1;
        }
    }
    zinc_ring_remove_stale(S->name);
    zinc_unlink(S->name);
    if (S->anon) {
        char reg[128];
        unlink(S->addr);
        if (zinc_socket_registry(reg, sizeof(reg)) == 0) {
            DIR *d = opendir(reg);
            struct dirent *de;
            while (d && (de = readdir(d))) {
                char p[400];
                snprintf(p, sizeof(p), "%s/%s", reg, de->d_name);
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                    unlink(p); /* entries, and a killed producer's temporary link */
            }
            if (d)
                closedir(d);
            rmdir(reg);
        }
        rmdir(S->dir);
    }
}

static void teardown(void)
{
    kill_all();
}

/* Scheduler state of a process ('S' = asleep, e.g. in FUTEX_WAIT). */
static char proc_state(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    return ru_stat_state(path);
}

/* Poll shared memory until cond() holds or ms pass (a watchdog bound). */
#define WAIT(var, cond, ms)                                                        \
    do {                                                                           \
        uint64_t t0_ = ru_now_ns();                                                \
        while (!((var) = (cond)) && ru_now_ns() - t0_ < (uint64_t)(ms) * 1000000ull) \
            sched_yield();                                                         \
    } while (0)

static void check_child_errors(const char *who, struct proc *p)
{
    uint64_t e = ld(&p->errors);
    cr_assert_eq(e, 0,
                 "%s (pid %d) reported %llu error(s): first what=%lld seq=%llu detail=%lld (%s)",
                 who, (int)atomic_load_explicit(&p->pid, memory_order_seq_cst),
                 (unsigned long long)e,
                 (long long)atomic_load_explicit(&p->err_code, memory_order_seq_cst),
                 (unsigned long long)ld(&p->err_seq),
                 (long long)atomic_load_explicit(&p->err_detail, memory_order_seq_cst), p->msg);
}

enum kind {
    K_PROD_RANDOM, K_PROD_CLAIMED, K_PROD_WRITING, K_PROD_ASLEEP, K_PROD_CREATING,
    K_CONS_RANDOM, K_CONS_ACQUIRE, K_CONS_RELEASE, K_CONS_ASLEEP, K_EVERY_HOLDING,
    K_COUNT
};
static const char *kind_name[K_COUNT] = {
    "producer after random frames", "producer between claim and write",
    "producer mid-write", "producer asleep in claim", "producer while creating",
    "consumer after random frames", "consumer in acquire", "consumer in release",
    "consumer asleep on the futex", "EVERY consumer holding a frame",
};

static enum kind cur_kind = K_COUNT; /* the kill being checked, for messages */

/* On a failure: everything the parent knows, on stderr. */
static void dump_state(const char *why)
{
    static const char *names[NCONS] = {"EVERY", "LOSSY", "LATEST"};
    fprintf(stderr, "kill matrix state (%s), last kill: %s; name %s %s%s%s\n", why,
            cur_kind < K_COUNT ? kind_name[cur_kind] : "none", S->name,
            ru_exists(S->name) ? "exists" : "is missing", S->anon ? "; socket " : "",
            S->anon ? (access(S->addr, F_OK) == 0 ? "exists" : "is missing") : "");
    struct proc *all[NCONS + 1] = {&S->prod, &S->cons[0], &S->cons[1], &S->cons[2]};
    for (int i = 0; i <= NCONS; i++) {
        struct proc *p = all[i];
        fprintf(stderr,
                "  %-8s pid %d phase %u progress %llu gen %llx acquired %llu released %llu "
                "torn %llu published %llu last %llu reopens %llu create_rc %d errors %llu "
                "(what %lld seq %llu detail %lld: %s)\n",
                i ? names[i - 1] : "producer",
                (int)atomic_load_explicit(&p->pid, memory_order_seq_cst), ld32(&p->phase),
                (unsigned long long)ld(&p->progress), (unsigned long long)ld(&p->gen),
                (unsigned long long)ld(&p->acquired), (unsigned long long)ld(&p->released),
                (unsigned long long)ld(&p->torn), (unsigned long long)ld(&p->published),
                (unsigned long long)ld(&p->last_seq), (unsigned long long)ld(&p->reopens),
                atomic_load_explicit(&p->create_rc, memory_order_seq_cst),
                (unsigned long long)ld(&p->errors),
                (long long)atomic_load_explicit(&p->err_code, memory_order_seq_cst),
                (unsigned long long)ld(&p->err_seq),
                (long long)atomic_load_explicit(&p->err_detail, memory_order_seq_cst), p->msg);
    }
}

static void check_all_errors(void)
{
    uint64_t e = ld(&S->prod.errors);
    for (int i = 0; i < NCONS; i++)
        e += ld(&S->cons[i].errors);
    if (e)
        dump_state("a child reported an error");
    check_child_errors("producer", &S->prod);
    static const char *names[NCONS] = {"EVERY consumer", "LOSSY consumer", "LATEST consumer"};
    for (int i = 0; i < NCONS; i++)
        check_child_errors(names[i], &S->cons[i]);
}

/* No child may have died on its own. */
static void check_nobody_died(void)
{
    int status;
    pid_t w = waitpid(-1, &status, WNOHANG);
    if (w > 0) {
        check_all_errors();
        cr_assert_fail("child %d exited unexpectedly (status 0x%x)", (int)w, status);
    }
}

static void kill_and_reap(pid_t *pid)
{
    kill(*pid, SIGKILL);
    int st = ru_reap(*pid, WATCHDOG_MS);
    cr_assert(st != -110, "a SIGKILLed child was not reaped within the watchdog");
    *pid = -1;
}

struct tally {
    uint64_t kills[K_COUNT];
    uint64_t aimed[K_COUNT]; /* the wanted phase was reached before the kill */
    uint64_t rounds, gens, frames, torn, published;
};

static uint64_t cons_frames(int i)
{
    return ld(&S->cons[i].acquired);
}

/* After a kill and respawn: the producer publishes again, and every
 * consumer gets frames of the current generation. */
static void check_progress(void)
{
    bool up;
    WAIT(up, atomic_load_explicit(&S->prod.create_rc, memory_order_seq_cst) !=
                             INT32_MIN, WATCHDOG_MS);
    cr_assert(up, "replacement producer did not finish zinc_producer_create in time");
    cr_assert_eq(atomic_load_explicit(&S->prod.create_rc, memory_order_seq_cst), 0,
                 "replacement producer after a kill of %s: zinc_producer_create = %d (%s)",
                 cur_kind < K_COUNT ? kind_name[cur_kind] : "none",
                 atomic_load_explicit(&S->prod.create_rc, memory_order_seq_cst), S->prod.msg);
    uint64_t gen = ld(&S->prod.gen);
    uint64_t p0 = ld(&S->prod.published);
    uint64_t c0[NCONS];
    for (int i = 0; i < NCONS; i++)
        c0[i] = cons_frames(i);
    bool ok;
    WAIT(ok, ld(&S->prod.published) >= p0 + 3 && ld(&S->cons[0].gen) == gen &&
                             cons_frames(0) > c0[0] && ld(&S->cons[1].gen) == gen &&
                             cons_frames(1) > c0[1] && ld(&S->cons[2].gen) == gen &&
                             cons_frames(2) > c0[2],
                         WATCHDOG_MS);
    if (!ok) {
        dump_state("no progress");
        check_all_errors();
        check_nobody_died();
    }
    cr_assert(ok,
              "no progress within %d ms after a kill of %s: producer phase %u published %llu (was %llu); "
              "consumers (phase, frames, gen ok): EVERY %u %llu %d, LOSSY %u %llu %d, "
              "LATEST %u %llu %d",
              WATCHDOG_MS, cur_kind < K_COUNT ? kind_name[cur_kind] : "none", ld32(&S->prod.phase), (unsigned long long)ld(&S->prod.published),
              (unsigned long long)p0, ld32(&S->cons[0].phase),
              (unsigned long long)cons_frames(0), ld(&S->cons[0].gen) == gen,
              ld32(&S->cons[1].phase), (unsigned long long)cons_frames(1),
              ld(&S->cons[1].gen) == gen, ld32(&S->cons[2].phase),
              (unsigned long long)cons_frames(2), ld(&S->cons[2].gen) == gen);
}

/* With the producer parked: its own count, the ring's head and the ring's
 * published counter agree. */
static void check_counters(void)
{
    st32(&S->pause_prod, 1);
    bool parked;
    WAIT(parked, ld32(&S->prod.phase) == PH_PAUSED, WATCHDOG_MS);
    cr_assert(parked, "producer did not park (phase %u)", ld32(&S->prod.phase));
    zinc_ring_stats rs;
    zinc_consumer_stats cs[8];
    uint32_t n = 0;
    int r;
    if (S->anon) {
        int fd = zinc_ring_connect(S->addr);
        cr_assert_geq(fd, 0, "zinc_ring_connect: %d %s", fd, zinc_last_error());
        r = zinc_ring_stats_read_fd(fd, &rs, cs, 8, &n);
        close(fd);
    } else {
        r = zinc_ring_stats_read(S->name, &rs, cs, 8, &n);
    }
    cr_assert_eq(r, 0, "zinc_ring_stats_read: %d %s", r, zinc_last_error());
    cr_assert_eq(rs.generation, ld(&S->prod.gen));
    cr_assert_eq(rs.head, ld(&S->prod.last_seq), "head %llu, producer's last seq %llu",
                 (unsigned long long)rs.head, (unsigned long long)ld(&S->prod.last_seq));
    cr_assert_eq(rs.published, rs.head, "published %llu, head %llu",
                 (unsigned long long)rs.published, (unsigned long long)rs.head);
    cr_assert_eq(ld(&S->prod.published), rs.head);
    cr_assert_eq(rs.producer_alive, 1);
    /* Per-consumer counters are checked when each consumer exits cleanly
     * (acquired == released + torn): the ring's entries change while we
     * read them. */
    (void)cs;
    st32(&S->pause_prod, 0);
    fwake(&S->pause_prod);
}

static int env_int(const char *name, int dflt)
{
    const char *s = getenv(name);
    return s && *s ? atoi(s) : dflt;
}

static void run_matrix(bool anon)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    S = ru_shared(sizeof(*S));
    cr_assert_not_null(S);
    ru_name(S->name, sizeof(S->name), anon ? "km-anon" : "km");
    zinc_unlink(S->name);
    S->anon = anon;
    if (anon) {
        char reg[128];
        snprintf(S->dir, sizeof(S->dir), "/tmp/zt-km-%ld", (long)getpid());
        snprintf(S->addr, sizeof(S->addr), "%s/ring.sock", S->dir);
        snprintf(reg, sizeof(reg), "%s/reg", S->dir);
        cr_assert_eq(mkdir(S->dir, 0700), 0, "mkdir %s: %s", S->dir, strerror(errno));
        setenv("ZINC_RUNTIME_DIR", reg, 1); /* inherited by the children */
    }
    int scale = anon ? 2 : 1; /* the anonymous run: half the default size */
    int iters = env_int("ZINC_KILL_ITERS", ru_long() ? 3000 : 300 / scale);
    uint64_t budget_ns = (uint64_t)env_int("ZINC_KILL_SECONDS", ru_long() ? 1800 : 60 / scale) *
                         1000000000ull;
    uint64_t seed = (uint64_t)env_int("ZINC_KILL_SEED", (int)(ru_now_ns() & 0x7fffffff));
    ru_rng rng = {seed};
    fprintf(stderr, "kill matrix: seed %llu (ZINC_KILL_SEED to replay), up to %d kills / %llu s\n",
            (unsigned long long)seed, iters, (unsigned long long)(budget_ns / 1000000000ull));

    prod_pid = spawn_producer(ru_next(&rng));
    bool up;
    WAIT(up, atomic_load_explicit(&S->prod.create_rc, memory_order_seq_cst) > INT32_MIN,
         WATCHDOG_MS);
    cr_assert(up, "the first producer did not come up");
    for (int i = 0; i < NCONS; i++)
        cons_pid[i] = spawn_consumer(i, ru_next(&rng));
    check_progress();

    struct tally t;
    memset(&t, 0, sizeof(t));
    uint64_t t0 = ru_now_ns();
    for (int round = 0; round < iters && ru_now_ns() - t0 < budget_ns; round++) {
        enum kind k = (enum kind)ru_range(&rng, 0, K_COUNT - 1);
        int ci = (int)ru_range(&rng, 0, NCONS - 1);
        bool aimed = true;
        switch (k) {
        case K_PROD_RANDOM: {
            uint64_t target = ld(&S->prod.progress) + ru_range(&rng, 0, 30);
            WAIT(aimed, ld(&S->prod.progress) >= target, WATCHDOG_MS);
            kill_and_reap(&prod_pid);
            break;
        }
        case K_PROD_CLAIMED:
            WAIT(aimed, ld32(&S->prod.phase) == PH_CLAIMED, 2000);
            kill_and_reap(&prod_pid);
            break;
        case K_PROD_WRITING:
            WAIT(aimed, ld32(&S->prod.phase) == PH_WRITING, 2000);
            kill_and_reap(&prod_pid);
            break;
        case K_PROD_ASLEEP:
            st32(&S->hold_every, 1);
            WAIT(aimed, ld32(&S->cons[0].phase) == PH_HELD_PAUSED, 2000);
            if (aimed)
                WAIT(aimed, ld32(&S->prod.phase) == PH_CLAIMING && proc_state(prod_pid) == 'S',
                     2000);
            kill_and_reap(&prod_pid);
            st32(&S->hold_every, 0);
            fwake(&S->hold_every);
            break;
        case K_PROD_CREATING:
            /* Aimed below, at the replacement; this first kill is random. */
            aimed = false;
            kill_and_reap(&prod_pid);
            break;
        case K_CONS_RANDOM: {
            uint64_t target = ld(&S->cons[ci].progress) + ru_range(&rng, 0, 20);
            WAIT(aimed, ld(&S->cons[ci].progress) >= target, WATCHDOG_MS);
            kill_and_reap(&cons_pid[ci]);
            break;
        }
        case K_CONS_ACQUIRE:
            WAIT(aimed, ld32(&S->cons[ci].phase) == PH_ACQUIRING, 2000);
            kill_and_reap(&cons_pid[ci]);
            break;
        case K_CONS_RELEASE:
            WAIT(aimed, ld32(&S->cons[ci].phase) == PH_RELEASING, 2000);
            kill_and_reap(&cons_pid[ci]);
            break;
        case K_CONS_ASLEEP:
            st32(&S->pause_prod, 1);
            WAIT(aimed, ld32(&S->prod.phase) == PH_PAUSED, 2000);
            if (aimed)
                WAIT(aimed,
                     ld32(&S->cons[ci].phase) == PH_ACQUIRING && proc_state(cons_pid[ci]) == 'S',
                     2000);
            kill_and_reap(&cons_pid[ci]);
            st32(&S->pause_prod, 0);
            fwake(&S->pause_prod);
            break;
        case K_EVERY_HOLDING:
            ci = 0;
            st32(&S->hold_every, 1);
            WAIT(aimed, ld32(&S->cons[0].phase) == PH_HELD_PAUSED, 2000);
            kill_and_reap(&cons_pid[0]);
            st32(&S->hold_every, 0);
            fwake(&S->hold_every);
            break;
        default:
            break;
        }
        cur_kind = k;
        t.kills[k]++;
        t.aimed[k] += aimed;
        check_nobody_died();
        if (prod_pid < 0) {
            t.gens++;
            t.published += ld(&S->prod.published); /* the dead one's count */
            prod_pid = spawn_producer(ru_next(&rng));
            if (k == K_PROD_CREATING) {
                /* Kill the replacement somewhere inside (or just before or
                 * after) zinc_producer_create, then replace it again. */
                WAIT(aimed, ld32(&S->prod.phase) == PH_CREATING, 2000);
                uint64_t n = ru_range(&rng, 0, 40000);
                for (volatile uint64_t i = 0; i < n; i++)
                    ;
                aimed = ld32(&S->prod.phase) == PH_CREATING &&
                        atomic_load_explicit(&S->prod.create_rc, memory_order_seq_cst) ==
                            INT32_MIN;
                t.aimed[k] += aimed;
                kill_and_reap(&prod_pid);
                t.published += ld(&S->prod.published);
                st32(&S->allow_grace, 1);
                prod_pid = spawn_producer(ru_next(&rng));
            }
        } else {
            t.frames += ld(&S->cons[ci].acquired);
            t.torn += ld(&S->cons[ci].torn);
            cons_pid[ci] = spawn_consumer(ci, ru_next(&rng));
        }
        check_progress();
        st32(&S->allow_grace, 0);
        check_counters();
        check_all_errors();
        check_nobody_died();
        t.rounds++;
    }

    /* Clean shutdown: consumers first (they close with the producer still
     * there), then the producer, whose close removes the name. */
    st32(&S->stop_cons, 1);
    for (int i = 0; i < NCONS; i++) {
        int status = ru_reap(cons_pid[i], WATCHDOG_MS);
        cons_pid[i] = -1;
        cr_assert(ru_exit_ok(status), "consumer %d did not exit cleanly (status %d)", i, status);
        cr_assert_eq(ld32(&S->cons[i].clean_exit), 1);
    }
    st32(&S->stop_prod, 1);
    int status = ru_reap(prod_pid, WATCHDOG_MS);
    prod_pid = -1;
    cr_assert(ru_exit_ok(status), "producer did not exit cleanly (status %d)", status);
    check_all_errors();
    t.published += ld(&S->prod.published);
    for (int i = 0; i < NCONS; i++) {
        t.frames += ld(&S->cons[i].acquired);
        t.torn += ld(&S->cons[i].torn);
    }

    if (anon) {
        /* Nothing was ever in /dev/shm; a clean close removed the socket
         * file and the registry entry. */
        struct stat st;
        cr_assert(!ru_exists(S->name), "an anonymous ring has a name in /dev/shm");
        cr_assert_neq(stat(S->addr, &st), 0, "the socket file outlived a clean close");
        char reg[128];
        cr_assert_eq(zinc_socket_registry(reg, sizeof(reg)), 0);
        DIR *rd = opendir(reg);
        struct dirent *de;
        int entries = 0;
        while (rd && (de = readdir(rd)))
            entries += de->d_name[0] != '.';
        if (rd)
            closedir(rd);
        cr_assert_eq(entries, 0, "registry entries left after a clean close");
    }
    /* Nothing is left that the library's own means cannot remove; after a
     * clean shutdown nothing is left at all. */
    bool left = ru_exists(S->name);
    if (left) {
        int r = zinc_ring_remove_stale(S->name);
        cr_assert(r == 0 || r == ZINC_ENOENT, "zinc_ring_remove_stale: %d %s", r,
                  zinc_last_error());
    }
    cr_assert(!ru_exists(S->name), "the ring's name is still in /dev/shm");
    cr_assert(!left, "a clean shutdown left the name in /dev/shm");
    DIR *d = opendir("/dev/shm");
    if (d) {
        struct dirent *de;
        char prefix[80];
        snprintf(prefix, sizeof(prefix), "zinc_%s", S->name);
        while ((de = readdir(d)))
            cr_assert(strncmp(de->d_name, prefix, strlen(prefix)) != 0, "left: %s", de->d_name);
        closedir(d);
    }

    uint64_t kills = t.kills[K_PROD_CREATING], aimed = 0;
    for (int k = 0; k < K_COUNT; k++) {
        kills += t.kills[k];
        aimed += t.aimed[k];
    }
    fprintf(stderr,
            "kill matrix%s: %llu rounds, %llu kills (%llu of them while creating), %llu aimed, "
            "%llu producer generations, %llu frames published, %llu frames acquired and "
            "checked (%llu refused as torn by release), %llu replacements waited for an "
            "empty object's grace, %.1f s\n",
            anon ? " (anonymous ring)" : "", (unsigned long long)t.rounds, (unsigned long long)kills,
            (unsigned long long)t.kills[K_PROD_CREATING], (unsigned long long)aimed,
            (unsigned long long)t.gens, (unsigned long long)t.published,
            (unsigned long long)t.frames, (unsigned long long)t.torn,
            (unsigned long long)atomic_load_explicit(&S->grace_waits, memory_order_seq_cst),
            (double)(ru_now_ns() - t0) / 1e9);
    for (int k = 0; k < K_COUNT; k++)
        fprintf(stderr, "  %-32s %6llu kills, %6llu at the aimed point\n", kind_name[k],
                (unsigned long long)t.kills[k], (unsigned long long)t.aimed[k]);
    cr_assert_geq(t.rounds, iters < 20 ? (uint64_t)iters : 20u, "too few rounds ran");
}

Test(kill_matrix, sigkill_anywhere_nobody_hangs_nothing_torn, .fini = teardown, .timeout = 2400)
{
    run_matrix(false);
}

Test(kill_matrix, anonymous_ring_sigkill_anywhere, .fini = teardown, .timeout = 2400)
{
    run_matrix(true);
}

/* The race the matrix found first, in isolation: a consumer of a ring whose
 * producer is gone closes (and removes the name, being the last) while a new
 * producer replaces the ring under the same name. The replacement must
 * survive: its name may not be removed by the old instance's consumer. */
static char rep_name[64];

static void rep_teardown(void)
{
    if (rep_name[0])
        zinc_unlink(rep_name);
}

Test(kill_matrix, replacement_survives_closing_consumers, .fini = rep_teardown, .timeout = 300)
{
    if (!ru_have_shm())
        cr_skip_test("no writable /dev/shm");
    enum { NK = 3 };
    char *name = rep_name;
    ru_name(rep_name, sizeof(rep_name), "km_replace");
    zinc_unlink(name);
    int iters = ru_long() ? 20000 : 2000;
    zinc_ring_config cfg = ru_cfg(2, 4096);
    int lost = 0;
    for (int i = 0; i < iters && !lost; i++) {
        zinc_producer *p0 = NULL, *p1 = NULL;
        int ready[2], go[2], end[2];
        cr_assert_eq(pipe(ready), 0);
        cr_assert_eq(pipe(go), 0);
        cr_assert_eq(pipe(end), 0);
        /* Fork before creating: a child would inherit the producer's
         * descriptor, and with it the producer's liveness token. */
        pid_t kid[NK];
        for (int k = 0; k < NK; k++) {
            kid[k] = fork();
            cr_assert(kid[k] >= 0);
            if (kid[k] == 0) {
                zinc_consumer *c = NULL;
                if (ru_await(go[0], 10000) != 0 ||
                    zinc_consumer_open(name, ZINC_LOSSY, &c) != 0)
                    _exit(2);
                ru_signal(ready[1]);
                if (ru_await(end[0], 10000) != 0)
                    _exit(3);
                /* Sweep the closes across the replacer's retire + create. */
                ru_rng jr = {(uint64_t)i * 7919u + (uint64_t)k};
                jitter(&jr, 40000);
                zinc_consumer_close(c); /* the last one removes the name */
                _exit(0);
            }
        }
        cr_assert_eq(zinc_producer_create(name, &cfg, &p0), 0, "%s", zinc_last_error());
        for (int k = 0; k < NK; k++)
            ru_signal(go[1]);
        for (int k = 0; k < NK; k++)
            cr_assert_eq(ru_await(ready[0], 10000), 0, "consumer did not attach");
        zinc_producer_close(p0); /* live consumers: the name stays */
        for (int k = 0; k < NK; k++)
            ru_signal(end[1]);
        int r = zinc_producer_create(name, &cfg, &p1);
        for (int k = 0; k < NK; k++) {
            int st = ru_reap(kid[k], 10000);
            cr_assert(ru_exit_ok(st), "consumer child failed (status %d)", st);
        }
        close(ready[0]);
        close(ready[1]);
        close(go[0]);
        close(go[1]);
        close(end[0]);
        close(end[1]);
        cr_assert_eq(r, 0, "replacement %d: %d %s", i, r, zinc_last_error());
        if (!ru_exists(name))
            lost = i + 1;
        zinc_producer_close(p1);
        zinc_unlink(name);
    }
    cr_assert_eq(lost, 0, "iteration %d: the live replacement's name was removed by a closing "
                          "consumer of the old instance", lost - 1);
}
