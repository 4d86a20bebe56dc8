/* SPDX-License-Identifier: MIT */
/*
 * consumer.c — the frame ring's consumer: attach to a ring in a delivery
 * mode, acquire frames in place (spin, then sleep on the futex), release
 * them with the torn-frame check, read the stream descriptor, detach. The
 * steps W1..W5 and R1..R3 are those of docs/design.md and of the Promela
 * model in tests/model/.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "region.h"
#include "ring-internal.h"

ZINC_API int zinc_consumer_open(const char *name, zinc_delivery mode, zinc_consumer **out)
{
    return zinc__consumer_attach(name, -1, mode, out);
}

/* Attach to ring `name` in /dev/shm (fd < 0), or to the sealed anonymous
 * ring open on `fd` (src/ring-anon.c; `name` labels it in messages). */
int zinc__consumer_attach(const char *name, int fd, zinc_delivery mode, zinc_consumer **out)
{
    if (out)
        *out = NULL;
    zinc__clear_error();
    if (!out)
        return zinc__fail(ZINC_EINVAL, "consumer_open: out is NULL");
    if ((unsigned)mode > ZINC_LATEST)
        return zinc__fail(ZINC_EINVAL, "consumer_open: mode %d is not EVERY, LOSSY or LATEST",
                          (int)mode);
    struct zinc_consumer *c = calloc(1, sizeof(*c));
    if (!c)
        return zinc__fail(-ENOMEM, "consumer_open: out of memory");
    struct zr_map *m = &c->m;
    int r = fd < 0 ? zinc__map_open(name, m, PROT_READ | PROT_WRITE, "consumer_open")
                   : zinc__anon_map(m, fd, name, PROT_READ | PROT_WRITE);
    if (r < 0)
        goto fail;
    struct zr_ctl *ctl = m->ctl;

    /* Owning the token of byte 1 + i is owning entry i; the entry of a dead
     * consumer is reclaimed here since the kernel dropped its token. */
    int32_t idx = -1;
    for (uint32_t i = 0; i < m->g.max_consumers; i++) {
        int t = zinc__token_take(m->fd, ZR_TOKEN_CONSUMER(i));
        if (t == 0) {
            idx = (int32_t)i;
            break;
        }
        if (t != -EAGAIN) {
            r = zinc__fail(t, "consumer_open '%s': lock: %s", name, strerror(-t));
            goto fail;
        }
    }
    if (idx < 0) {
        r = zinc__fail(ZINC_EBUSY, "consumer_open '%s': all %u consumer entries are in use; "
                       "create the ring with a larger max_consumers",
                       name, m->g.max_consumers);
        goto fail;
    }
    struct zr_cons *e = &m->cons[idx];
    /* First thing once the entry is ours: it is not attached yet. A
     * reclaimed entry (its consumer was killed) still shows the dead one's
     * attached_ns until here; stats readers see the token held from the
     * take on, so the window is kept to these two stores. Release: a
     * reader that sees ATTACHING sees attached_ns 0. */
    atomic_store_explicit(&e->attached_ns, 0, memory_order_relaxed);
    atomic_store_explicit(&e->state, ZR_ATTACHING, memory_order_release);
    /* The ring's mapping options apply to every attach (best effort, and
     * never allocating: ring-map.c). */
    zinc__map_advise_attach(m);
    c->e = e;
    c->idx = (uint32_t)idx;
    c->mode = mode;
    c->spin_ns = m->spin_ns <= MAX_SPIN_NS ? m->spin_ns : MAX_SPIN_NS;
    c->spin_cur = c->spin_ns;
    (void)zinc__clock_now(&c->clk); /* first anchor now, not at the first frame */

    /* Initialise the entry; relaxed stores ordered by the seq_cst store of
     * ACTIVE below (which the producer's scan reads with acquire). */
    atomic_store_explicit(&e->mode, (uint32_t)mode, memory_order_relaxed);
    atomic_store_explicit(&e->demoted, 0, memory_order_relaxed);
    atomic_store_explicit(&e->evicted, 0, memory_order_relaxed);
    atomic_store_explicit(&e->acquired, 0, memory_order_relaxed);
    atomic_store_explicit(&e->released, 0, memory_order_relaxed);
    atomic_store_explicit(&e->dropped, 0, memory_order_relaxed);
    atomic_store_explicit(&e->torn, 0, memory_order_relaxed);
    for (int i = 0; i < ZR_HIST; i++)
        atomic_store_explicit(&e->latency[i], 0, memory_order_relaxed);
    atomic_store_explicit(&e->pid, (int32_t)getpid(), memory_order_relaxed);
    /* attached_ns stays 0 until the start point is fixed (below). */
    /* Acquire: pairs with publish's release store of head (a cursor we
     * store is a frame that exists). */
    uint64_t h0 = atomic_load_explicit(&ctl->head, memory_order_acquire);
    atomic_store_explicit(&e->cursor, h0, memory_order_relaxed);
    uint32_t hw = atomic_load_explicit(&ctl->hi_water, memory_order_relaxed);
    /* Relaxed CAS: hi_water only bounds scans; the entry itself is
     * published by the seq_cst store of ACTIVE and the epoch bump. */
    while (hw < (uint32_t)idx + 1 &&
           !atomic_compare_exchange_weak_explicit(&ctl->hi_water, &hw, (uint32_t)idx + 1,
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
    /* seq_cst: pairs with the producer's acquire load of state in its scan. */
    atomic_store_explicit(&e->state, ZR_ACTIVE, memory_order_seq_cst);
    if (mode == ZINC_EVERY) {
        /* seq_cst: the attach step of docs/design.md: a producer that
         * misses this bump published nothing our head read below misses. */
        atomic_fetch_add_explicit(&ctl->every_epoch, 1, memory_order_seq_cst);
    }
    uint64_t h1 = atomic_load_explicit(&ctl->head, memory_order_seq_cst);
    if (h1 < h0)
        h1 = h0; /* hostile: head never goes back */
    /* Release: pairs with the producer's acquire load of cursor. */
    atomic_store_explicit(&e->cursor, h1, memory_order_release);
    c->cursor = (mode == ZINC_LATEST && h1 > 0) ? h1 - 1 : h1;
    /* Release, after the start point: pairs with the acquire load in
     * zinc_ring_stats_read. A producer that sees attached_ns != 0 sees our
     * cursor, so every frame it publishes after that is one we will get
     * (EVERY, LOSSY): "attached" as tools and --wait-consumers count it. */
    uint64_t at = now_ns();
    atomic_store_explicit(&e->attached_ns, at ? at : 1, memory_order_release);

    /* A region reference, for plain Zinc readers (a hint: the ring's own
     * removal rule rests on the tokens). A count at 0 or saturated stays. */
    c->region_ref = zinc__region_ref(m->hdr);
    zinc__map_register(m);
    *out = c;
    return ZINC_OK;
fail:
    zinc__map_release(m);
    free(c);
    return r;
}

static unsigned log2_bucket(uint64_t ns)
{
    if (ns < 2)
        return 0;
    unsigned b = 63u - (unsigned)__builtin_clzll(ns);
    return b < ZR_HIST ? b : ZR_HIST - 1;
}

/* Producer gone (closed, replaced, or dead)? Token checks are syscalls, so
 * they run at most every LIVENESS_PERIOD_NS unless `force`. */
static bool producer_gone(struct zinc_consumer *c, bool force)
{
    struct zr_ctl *ctl = c->m.ctl;
    /* Acquire: pairs with close's seq_cst store; a consumer that sees
     * CLOSED then reads the final head. */
    if (atomic_load_explicit(&ctl->prod_state, memory_order_acquire) != ZR_OPEN)
        return true;
    /* The coarse clock (a few ns, jiffy resolution) is plenty for a 50 ms
     * period, and keeps a precise clock read off a polling consumer's
     * path. */
    /* Once seen dead, gone for good (a replacement is another object):
     * the rate limit below must not turn a -32 back into -11. */
    if (c->prod_dead)
        return true;
    uint64_t now = zinc__now_ns(CLOCK_MONOTONIC_COARSE);
    if (!force && now - c->last_live_check < LIVENESS_PERIOD_NS)
        return false;
    c->last_live_check = now;
    c->prod_dead = zinc__token_held(c->m.fd, ZR_TOKEN_PRODUCER) == 0;
    return c->prod_dead;
}

/* Pick the frame to read given head, or 0 if nothing is there for us.
 * `floor` (LOSSY) is the first frame not yet found overwritten in this call. */
static uint64_t want_for(const struct zinc_consumer *c, uint64_t head, uint64_t floor)
{
    if (head <= c->cursor)
        return 0;
    switch (c->mode) {
    case ZINC_LATEST:
        return head;
    case ZINC_LOSSY: {
        uint64_t want = c->cursor + 1;
        /* More than a ring behind: the oldest frame still in the ring is
         * head + 1 - slots (its slot may be under claim for head + 1; then
         * try_take finds it odd and `floor` moves past it). */
        uint64_t slots = c->m.g.slot_count;
        if (head + 1 > slots && want < head + 1 - slots)
            want = head + 1 - slots;
        if (want < floor)
            want = floor;
        return want <= head ? want : head;
    }
    default:
        return c->cursor + 1;
    }
}

static void check_demotion(struct zinc_consumer *c)
{
    /* Acquire: pairs with the producer's release stores in unblock_scan;
     * relaxed would do for the flag itself, acquire keeps it before our
     * reads of slots the producer may now overwrite. */
    if (atomic_load_explicit(&c->e->demoted, memory_order_acquire) ||
        atomic_load_explicit(&c->e->evicted, memory_order_acquire)) {
        c->mode = ZINC_LOSSY;
        c->demote_pending = true;
    }
}

/* Try to take frame `want`. 0 taken; 1 retry: overwritten (the lock is past
 * 2*want) or changed while copied; 2 retry: not visible yet (the lock is
 * below 2*want: a store not yet seen, or corruption, which the caller's
 * bounded retries catch); <0 error. */
static int try_take(struct zinc_consumer *c, uint64_t want, zinc_frame *f)
{
    struct zr_map *m = &c->m;
    if (want > UINT64_MAX / 2)
        return zinc__fail(ZINC_EBADMSG, "ring '%s': head %llu is corrupted", m->name,
                          (unsigned long long)want);
    uint64_t slot = (want - 1) & m->mask;
    struct zr_desc *d = &m->descs[slot];
    /* Acquire: pairs with publish's release store of lock (P1): seeing 2*want
     * we see the payload and descriptor of frame `want`. */
    uint64_t s1 = atomic_load_explicit(&d->lock, memory_order_acquire);
    if (s1 != 2 * want)
        return s1 > 2 * want ? 1 : 2; /* 1: overwritten; 2: not visible/corrupt */
    desc_read(d, f);
    /* Acquire fence: our descriptor reads happen before the re-load; pairs
     * with the producer's release fence after its odd store at claim. */
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&d->lock, memory_order_relaxed) != s1)
        return 1; /* overwritten while we copied (f is rewritten on retry) */
    if (f->seq != want)
        return zinc__fail(ZINC_EBADMSG, "ring '%s': slot %llu holds seq %llu, lock says %llu "
                          "(corrupted descriptor)",
                          m->name, (unsigned long long)slot, (unsigned long long)f->seq,
                          (unsigned long long)want);
    int r = desc_check(f, m->g.slot_size, m->name);
    if (r < 0)
        return r;
    f->data = m->payloads + slot * m->g.slot_stride;
    f->dropped = want - c->cursor - 1;
    if (c->demote_pending) {
        f->flags |= ZINC_FRAME_DEMOTED;
        c->demote_pending = false;
    }
    struct zr_cons *e = c->e;
    /* Relaxed counters: we are their only writer; readers are statistics.
     * No publish_ns (ZINC_RING_NO_TIMESTAMPS): no latency to record. */
    if (likely(f->publish_ns)) {
        uint64_t now = zinc__clock_now(&c->clk);
        uint64_t lat = now > f->publish_ns ? now - f->publish_ns : 0;
        unsigned b = log2_bucket(lat);
        atomic_store_explicit(&e->latency[b],
                              atomic_load_explicit(&e->latency[b], memory_order_relaxed) + 1,
                              memory_order_relaxed);
    }
    c->acquired++;
    c->dropped += f->dropped;
    atomic_store_explicit(&e->acquired, c->acquired, memory_order_relaxed);
    if (f->dropped)
        atomic_store_explicit(&e->dropped, c->dropped, memory_order_relaxed);
    c->cursor = want;
    if (c->mode != ZINC_EVERY) {
        /* Release for symmetry with R1; for LOSSY/LATEST the cursor is
         * only read by statistics (lag). */
        atomic_store_explicit(&e->cursor, want, memory_order_release);
    }
    c->holding = true;
    c->held_seq = want;
    c->held_data = f->data;
    c->held_slot = slot;
    return 0;
}

/* Adaptive spin: a frame that came while we spun (not after a sleep) says
 * spinning pays off for this stream: spin longer next time. */
static void took_frame(struct zinc_consumer *c, bool during_spin)
{
    if (during_spin && c->spin_cur < c->spin_ns)
        c->spin_cur = c->spin_cur * 2 < c->spin_ns ? c->spin_cur * 2 : c->spin_ns;
}

/* Chasing a head whose frames never come out intact (finding 7 of issue
 * 13): legitimately a producer lapping us between two loads, which ends in
 * nanoseconds; persistently a peer writing head. Every CHASE_BURST failed
 * takes, chase_step reads the clock once and (1) answers the timeout,
 * (2) calls a head that stayed put for MISMATCH_NS corruption (-74: its
 * slot never matches), (3) after CHASE_SPIN_NS of chasing, sleeps
 * CHASE_NAP_NS before each further burst, so a blocked consumer under a
 * hostile head uses a few percent of a core, never all of it. */
#define CHASE_BURST 64u                 /* failed takes between clock reads */
#define CHASE_SPIN_NS 1000000ull        /* chase at full speed this long */
#define CHASE_NAP_NS 2000000ull         /* then rest this long per burst */
#define MISMATCH_NS 50000000ull         /* an unmoving head that never matches */
#define IDLE_WAKES 8u                   /* futex returns with nothing new */

struct chase {
    uint64_t fails;     /* failed takes in this call */
    uint64_t t0;        /* first clock read of the chase */
    uint64_t head;      /* head as of mark */
    uint64_t mark;      /* since when head has been `head` */
};

/* Sleep until `deadline` or for CHASE_NAP_NS, whichever is first. */
static int chase_nap(uint64_t deadline, uint64_t now)
{
    uint64_t nap = CHASE_NAP_NS;
    if (deadline != UINT64_MAX && deadline > now && deadline - now < nap)
        nap = deadline - now;
    struct timespec ts = { (time_t)(nap / ZINC_NSEC), (long)(nap % ZINC_NSEC) };
    if (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL) == EINTR)
        return zinc__fail_static(ZINC_EINTR, "acquire: interrupted by a signal handler");
    return ZINC_OK;
}

static int chase_step(struct zinc_consumer *c, struct chase *ch, uint64_t head, uint64_t want,
                      int64_t timeout_ns, uint64_t *start)
{
    uint64_t t = now_ns();
    if (*start == 0)
        *start = t;
    if (ch->t0 == 0) {
        ch->t0 = t;
        ch->head = head;
        ch->mark = t;
    }
    if (timeout_ns >= 0 && t - *start >= (uint64_t)timeout_ns)
        return timeout_ns == 0
                   ? zinc__fail_static(ZINC_EAGAIN, "no intact frame yet")
                   : zinc__fail_static(ZINC_ETIMEDOUT, "no intact frame within the timeout");
    if (head != ch->head) {
        ch->head = head;
        ch->mark = t;
    } else if (t - ch->mark >= MISMATCH_NS) {
        return zinc__fail(ZINC_EBADMSG, "ring '%s': frame %llu's slot never matches head %llu "
                          "(corrupted ring)",
                          c->m.name, (unsigned long long)want, (unsigned long long)head);
    }
    if (t - ch->t0 < CHASE_SPIN_NS)
        return ZINC_OK;
    uint64_t deadline = timeout_ns > 0 ? *start + (uint64_t)timeout_ns : UINT64_MAX;
    return chase_nap(deadline, t);
}

ZINC_API int zinc_consumer_acquire(zinc_consumer *c, zinc_frame *f, int64_t timeout_ns)
{
    if (unlikely(!c || !f))
        return zinc__fail(ZINC_EINVAL, "acquire: NULL argument");
    if (unlikely(map_forked(&c->m)))
        return zinc__forked_fail("acquire");
    if (unlikely(c->holding))
        return zinc__fail(ZINC_EINVAL, "acquire: frame %llu is still held; release it first",
                          (unsigned long long)c->held_seq);
    struct zr_map *m = &c->m;
    struct zr_ctl *ctl = m->ctl;
    uint64_t start = 0, deadline = UINT64_MAX;
    struct chase ch = { 0 };
    uint32_t idle_wakes = 0; /* futex returns with nothing new, in a row */
    uint64_t floor = 0;
    bool slept = false;
    bool use_head = false;

    for (;;) {
        if (c->mode == ZINC_EVERY)
            check_demotion(c);
        bool nothing_yet = false;
        /* The word that announces our next frame, and its value as this
         * turn saw it: the spin below waits for it to move from *this*
         * value (re-reading it there could miss a publish in between). */
        _Atomic uint64_t *watch = &ctl->head;
        uint64_t watched = 0;
        if (c->mode != ZINC_LATEST && !floor) {
            /* Fast path: EVERY and LOSSY want cursor + 1, so look at its slot
             * directly rather than at head first. A spinning consumer then
             * waits on the line that brings the frame's seqlock word and
             * first descriptor words, one cross-core transfer fewer on the
             * critical path. Acquire pairs with publish's release store of
             * lock (P1); try_take re-checks it. */
            uint64_t next = c->cursor + 1;
            const struct zr_desc *nd = &m->descs[(next - 1) & m->mask];
            uint64_t lk = atomic_load_explicit(&((struct zr_desc *)nd)->lock,
                                               memory_order_acquire);
            watch = &((struct zr_desc *)nd)->lock;
            watched = lk;
            /* Below 2*next: frame `next` is not published yet, so head
             * cannot be past it either (we would be lapped only with a
             * higher value): nothing for us, and no need to touch head's
             * line. `use_head` overrides this for the rest of the call once
             * head has shown a frame for us (a publish since our look, or a
             * corrupted ring whose slots never agree with head). */
            nothing_yet = lk < 2 * next && !use_head;
            if (lk == 2 * next) {
                int r = try_take(c, next, f);
                if (likely(r == 0)) {
                    took_frame(c, start && !slept);
                    return ZINC_OK;
                }
                if (r < 0)
                    return r;
            }
        }
        /* Acquire: pairs with publish's release store of head (P1). */
        uint64_t head = nothing_yet ? c->cursor
                                    : atomic_load_explicit(&ctl->head, memory_order_acquire);
        if (!nothing_yet) {
            watch = &ctl->head;
            watched = head;
        }
        uint64_t want = want_for(c, head, floor);
        if (want) {
            int r = try_take(c, want, f);
            if (likely(r == 0)) {
                took_frame(c, start && !slept);
                return ZINC_OK;
            }
            if (r < 0)
                return r;
            if (r == 1 && c->mode == ZINC_LOSSY)
                floor = want + 1; /* lapped: try the next one, not the same */
            /* Overwritten (r == 1) is normal for LOSSY/LATEST: go round with
             * a fresh head. For EVERY it means demotion/eviction (flags are
             * re-read at the top). A lock below 2*want (r == 2) is a store
             * not yet visible. Either way bounded (chase_step). */
            if (unlikely((++ch.fails & (CHASE_BURST - 1)) == 0)) {
                r = chase_step(c, &ch, head, want, timeout_ns, &start);
                if (r < 0)
                    return r;
            }
            zinc__cpu_relax();
            continue;
        }
        /* Nothing for us. */
        if (producer_gone(c, false)) {
            /* Drain first: re-read head after seeing the state. If head
             * promises a frame the slot fast path did not see (possible
             * only in a corrupted ring), take the head path from now on,
             * whose retries are bounded; otherwise this would loop. */
            if (want_for(c, atomic_load_explicit(&ctl->head, memory_order_acquire), 0)) {
                use_head = true;
                continue;
            }
            return zinc__fail_static(ZINC_EPIPE, "producer gone and nothing left to read");
        }
        if (timeout_ns == 0) {
            /* A descriptor in use (zinc_consumer_fd): consume its readiness
             * and re-arm it; a frame that came meanwhile is taken instead. */
            if (unlikely(c->fdw != NULL)) {
                int a = zinc__fdw_settle(c);
                if (a > 0) {
                    use_head = true; /* W3 saw it through head */
                    continue;
                }
                if (a < 0)
                    return a;
            }
            return zinc__fail_static(ZINC_EAGAIN, "no new frame");
        }
        uint64_t now = now_ns();
        if (start == 0)
            start = now;
        if (timeout_ns > 0 && deadline == UINT64_MAX)
            deadline = start + (uint64_t)timeout_ns;
        if (now >= deadline)
            return zinc__fail_static(ZINC_ETIMEDOUT, "no new frame within the timeout");
        if (!slept && now - start < c->spin_cur) {
            /* Spin on the word that announces our next frame (its slot's
             * lock for EVERY/LOSSY, head for LATEST) and go round as soon
             * as it moves, so a spinning acquire(-1) sees a frame as soon
             * as a polling one does. Relaxed: only a hint; the loop's
             * acquire loads re-read it. */
            for (int i = 0; i < 32; i++) {
                zinc__cpu_relax();
                if (atomic_load_explicit(watch, memory_order_relaxed) != watched)
                    break;
            }
            continue;
        }
        if (!slept) {
            slept = true;
            /* The spin did not pay off: spin less next time (floor 1 us,
             * or the configured spin if that is shorter). */
            uint32_t floor_ns = c->spin_ns < 1000 ? c->spin_ns : 1000;
            c->spin_cur = c->spin_cur / 2 > floor_ns ? c->spin_cur / 2 : floor_ns;
        }
        /* Sleep protocol, consumer side (W1..W5 in docs/design.md). */
        /* W1 seq_cst: totally ordered with publish's fence P2. */
        atomic_fetch_add_explicit(&ctl->cons_waiters, 1, memory_order_seq_cst);
        /* W2: acquire (seq_cst) pairs with P1's release store of pub_futex. */
        uint32_t v = atomic_load_explicit(&ctl->pub_futex, memory_order_seq_cst);
        int fr = 1; /* did not sleep */
        /* W3 */
        uint64_t h = atomic_load_explicit(&ctl->head, memory_order_seq_cst);
        bool pending = want_for(c, h, 0) != 0;
        if (pending)
            use_head = true; /* see the fast path above */
        if (!pending &&
            atomic_load_explicit(&ctl->prod_state, memory_order_seq_cst) == ZR_OPEN &&
            !(c->mode == ZINC_EVERY &&
              (atomic_load_explicit(&c->e->demoted, memory_order_relaxed) ||
               atomic_load_explicit(&c->e->evicted, memory_order_relaxed)))) {
            uint64_t left = deadline - now;
            /* W4: the kernel re-checks pub_futex == v before sleeping. */
            fr = zinc__futex_wait(&ctl->pub_futex, v,
                                  (int64_t)(left < LIVENESS_PERIOD_NS ? left : LIVENESS_PERIOD_NS));
        }
        /* W5 release: ends our membership of the waiter count; nobody
         * synchronises on it. */
        atomic_fetch_sub_explicit(&ctl->cons_waiters, 1, memory_order_release);
        if (fr == -EINTR)
            return zinc__fail_static(ZINC_EINTR, "acquire: interrupted by a signal handler");
        /* Woken, or pub_futex had moved, yet nothing for us: once is a
         * publish we take on the next turn; again and again within one
         * call is a peer writing the word (finding 7): rest instead of
         * spinning through the kernel. */
        if ((fr == 0 || fr == -EAGAIN) && ++idle_wakes > IDLE_WAKES) {
            int nr = chase_nap(deadline, now);
            if (nr < 0)
                return nr;
        }
        /* A sleeper re-checks the producer's token every period. */
        if (producer_gone(c, false) &&
            !want_for(c, atomic_load_explicit(&ctl->head, memory_order_acquire), 0))
            return zinc__fail_static(ZINC_EPIPE, "producer gone and nothing left to read");
    }
}

/* W3 for a waiter outside acquire (the descriptor's arm step, zinc_wait_any):
 * after its W1 (cons_waiters) and W2 (pub_futex), does acquire have
 * something to say (a frame for us, or a producer that closed)? seq_cst
 * loads, as acquire's own W3: they are ordered with the producer's P2. */
bool zinc__consumer_w3(struct zinc_consumer *c)
{
    struct zr_ctl *ctl = c->m.ctl;
    if (want_for(c, atomic_load_explicit(&ctl->head, memory_order_seq_cst), 0))
        return true;
    return atomic_load_explicit(&ctl->prod_state, memory_order_seq_cst) != ZR_OPEN;
}

/* Would acquire(c, 0) answer something other than -11 now? The cheap
 * probe zinc_wait_any spins on: a held frame (-22), our next slot published
 * or overwritten, head ahead of us, a closed or (checked at most every
 * LIVENESS_PERIOD_NS) dead producer. */
bool zinc__consumer_ready(struct zinc_consumer *c)
{
    if (c->holding)
        return true;
    struct zr_map *m = &c->m;
    if (c->mode != ZINC_LATEST) {
        uint64_t next = c->cursor + 1;
        /* Acquire: pairs with publish's release store of lock (P1), as
         * acquire's fast path. */
        if (atomic_load_explicit(&m->descs[(next - 1) & m->mask].lock, memory_order_acquire) >=
            2 * next)
            return true;
    }
    /* Acquire: pairs with publish's release store of head (P1). */
    if (want_for(c, atomic_load_explicit(&m->ctl->head, memory_order_acquire), 0))
        return true;
    return producer_gone(c, false);
}

ZINC_API int zinc_consumer_release(zinc_consumer *c, const zinc_frame *f)
{
    if (unlikely(!c || !f))
        return zinc__fail(ZINC_EINVAL, "release: NULL argument");
    if (unlikely(map_forked(&c->m)))
        return zinc__forked_fail("release");
    if (unlikely(!c->holding || f->seq != c->held_seq || f->data != c->held_data))
        return zinc__fail(ZINC_EINVAL, "release: frame %llu is not the held frame (released "
                          "twice, or never acquired)", (unsigned long long)f->seq);
    struct zr_map *m = &c->m;
    struct zr_desc *d = &m->descs[c->held_slot];
    /* Acquire fence: the caller's reads of the payload happen before the
     * re-check; pairs with the producer's release fence after it marked the
     * slot odd at claim. Seeing the same even value means no byte we read
     * came from a later frame. */
    atomic_thread_fence(memory_order_acquire);
    bool intact = atomic_load_explicit(&d->lock, memory_order_relaxed) == 2 * c->held_seq;
    c->holding = false;
    struct zr_cons *e = c->e;
    if (c->mode == ZINC_EVERY) {
        struct zr_ctl *ctl = m->ctl;
        /* R1 release: pairs with the producer's acquire load of cursor in
         * gate_scan: our payload reads happen before its overwrite. */
        atomic_store_explicit(&e->cursor, c->held_seq, memory_order_release);
        /* R2: totally ordered with the producer's Q1. */
        atomic_thread_fence(memory_order_seq_cst);
        if (atomic_load_explicit(&ctl->prod_waiting, memory_order_relaxed) != 0) {
            /* R3 release: pairs with Q2's acquire load. */
            atomic_fetch_add_explicit(&ctl->space_futex, 1, memory_order_release);
            zinc__futex_wake(&ctl->space_futex);
        }
    }
    if (!intact) {
        c->torn++;
        atomic_store_explicit(&e->torn, c->torn, memory_order_relaxed);
        return zinc__fail(ZINC_EOVERFLOW, "release: frame %llu was overwritten while held; "
                          "discard what was computed from it", (unsigned long long)f->seq);
    }
    c->released++;
    atomic_store_explicit(&e->released, c->released, memory_order_relaxed);
    return ZINC_OK;
}

ZINC_API int zinc_consumer_stream(zinc_consumer *c, zinc_frame *desc)
{
    if (!c || !desc)
        return zinc__fail(ZINC_EINVAL, "stream: NULL argument");
    if (unlikely(map_forked(&c->m)))
        return zinc__forked_fail("stream");
    struct zr_desc *d = &c->m.ctl->stream;
    uint64_t start = 0;
    for (uint64_t tries = 0;; tries++) {
        /* Acquire: pairs with set_stream's final release store. */
        uint64_t s1 = atomic_load_explicit(&d->lock, memory_order_acquire);
        if (s1 == 0)
            return zinc__fail_static(ZINC_EAGAIN, "no stream descriptor set");
        if (!(s1 & 1)) {
            zinc_frame w; /* the caller's struct is written only if intact */
            desc_read(d, &w);
            /* Acquire fence before the re-check, as for frames. */
            atomic_thread_fence(memory_order_acquire);
            if (atomic_load_explicit(&d->lock, memory_order_relaxed) == s1) {
                *desc = w;
                desc->seq = 0;
                return desc_check(desc, c->m.g.slot_size, c->m.name);
            }
        }
        /* An update in progress: retry. A writer stuck mid-update (dead,
         * or hostile) must not hang us: after 1 s answer -11 while the
         * producer lives (retry later) and -74 once it is gone. (The bound
         * is generous because a reader preempted between its copy and its
         * re-check, under a producer updating without pause, must not give
         * up on an honest stream.) */
        if ((tries & 1023) == 1023) {
            uint64_t now = now_ns();
            if (!start)
                start = now;
            else if (now - start > ZINC_NSEC)
                return producer_gone(c, true)
                           ? zinc__fail(ZINC_EBADMSG, "stream: descriptor left half-written")
                           : zinc__fail_static(ZINC_EAGAIN, "stream: descriptor being updated");
        }
        zinc__cpu_relax();
    }
}

ZINC_API int zinc_consumer_config(const zinc_consumer *c, zinc_ring_config *cfg)
{
    if (!c || !cfg)
        return zinc__fail(ZINC_EINVAL, "config: NULL argument");
    memset(cfg, 0, sizeof(*cfg));
    cfg->slot_count = c->m.g.slot_count;
    cfg->max_consumers = c->m.g.max_consumers;
    cfg->slot_size = c->m.g.slot_size;
    /* The copies validated at attach, not the shared words. */
    cfg->flags = c->m.flags & (ZINC_RING_PREFAULT | ZINC_RING_HUGEPAGES |
                               ZINC_RING_NO_TIMESTAMPS | ZINC_RING_ANONYMOUS |
                               ZINC_RING_GROUP_ACCESS);
    cfg->spin_ns = c->spin_ns;
    cfg->demote_after_ns = c->m.demote_after_ns;
    return ZINC_OK;
}

ZINC_API uint64_t zinc_consumer_generation(const zinc_consumer *c)
{
    return c ? c->m.generation : 0;
}

ZINC_API zinc_delivery zinc_consumer_mode(const zinc_consumer *c)
{
    if (!c)
        return ZINC_LOSSY;
    if (c->mode == ZINC_EVERY &&
        (atomic_load_explicit(&c->e->demoted, memory_order_relaxed) ||
         atomic_load_explicit(&c->e->evicted, memory_order_relaxed)))
        return ZINC_LOSSY;
    return c->mode;
}

ZINC_API void zinc_consumer_close(zinc_consumer *c)
{
    if (!c)
        return;
    struct zr_map *m = &c->m;
    struct zr_ctl *ctl = m->ctl;
    struct zr_cons *e = c->e;
    /* The descriptor's helper first: it reads the mapping until joined. */
    zinc__fdw_close(c);
    if (map_forked(m)) {
        zinc__map_release(m); /* a child's copy: the entry is the parent's */
        free(c);
        return;
    }
    c->holding = false;
    /* A freed entry shows no attach time: the next consumer to take it
     * must not look attached before it fixed its own start point. */
    atomic_store_explicit(&e->attached_ns, 0, memory_order_relaxed);
    /* Release: our last payload reads happen before the producer, which
     * skips FREE entries, overwrites anything (and attached_ns 0 before
     * FREE). */
    atomic_store_explicit(&e->state, ZR_FREE, memory_order_release);
    if (c->mode == ZINC_EVERY) {
        /* A producer blocked on us must re-scan: R2/R3 as in release. */
        atomic_thread_fence(memory_order_seq_cst);
        if (atomic_load_explicit(&ctl->prod_waiting, memory_order_relaxed) != 0) {
            atomic_fetch_add_explicit(&ctl->space_futex, 1, memory_order_release);
            zinc__futex_wake(&ctl->space_futex);
        }
    }
    zinc__token_drop(m->fd, ZR_TOKEN_CONSUMER(c->idx));
    if (c->region_ref)
        (void)zinc__region_unref(m->hdr);
    /* Removing the name is decided by the producer's token alone, never
     * by its state word (which anyone can write); an anonymous ring has no
     * name to remove. */
    if (!map_anonymous(m) && zinc__producer_gone(m) &&
        !zinc__table_any_live(m, (int32_t)c->idx))
        zinc__unlink_if_same(m->obj, m->dev, m->ino);
    zinc__map_release(m);
    free(c);
}

