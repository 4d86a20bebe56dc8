/* SPDX-License-Identifier: MIT */
/*
 * producer.c — the frame ring's producer: create (or replace a ring whose
 * producer is gone), gate on EVERY consumers, claim and publish frames in
 * place, set the stream descriptor, close. The steps P1..P3 and Q1..Q5
 * are those of docs/design.md and of the Promela model in tests/model/.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "region.h"
#include "ring-internal.h"

ZINC_API int zinc_producer_create(const char *name, const zinc_ring_config *cfg,
                                  zinc_producer **out)
{
    if (out)
        *out = NULL;
    zinc__clear_error();
    if (!out)
        return zinc__fail(ZINC_EINVAL, "producer_create: out is NULL");
    struct zinc_producer *p = calloc(1, sizeof(*p));
    if (!p)
        return zinc__fail(-ENOMEM, "producer_create: out of memory");
    struct zr_map *m = &p->m;
    int r = zinc__map_init(m, name);
    if (r < 0)
        goto fail_free;
    struct zr_geom g;
    r = zinc__ring_config_check(name, cfg, &g);
    if (r < 0)
        goto fail_free;
    uint64_t page = (uint64_t)zinc__page_size();
    uint64_t total = page + g.ring_bytes;
    if (total > SIZE_MAX) {
        r = zinc__fail(ZINC_EINVAL, "ring '%s': too large for this address space", name);
        goto fail_free;
    }

    if (cfg->flags & ZINC_RING_ANONYMOUS) {
        r = zinc__anon_create(p, name, cfg, g, total); /* nothing in /dev/shm */
        if (r < 0)
            goto fail_free;
        *out = p;
        return ZINC_OK;
    }

    /* A ring whose producer is gone (closed, dead, died creating) is retired
     * and replaced; a live one is -17 (zinc__ring_judge). */
    struct stat st;
    m->fd = zinc__shm_create(m->obj, name, zinc__ring_judge, NULL, &st);
    if (m->fd < 0) {
        r = m->fd;
        goto fail_free;
    }
    m->dev = st.st_dev;
    m->ino = st.st_ino;
    /* Our liveness token, first thing: from now on openers can tell a
     * creation in progress (-11) from a dead creator (-32). */
    r = zinc__token_take(m->fd, ZR_TOKEN_PRODUCER);
    if (r < 0) {
        r = zinc__fail(r == -EAGAIN ? ZINC_EEXIST : r, "ring '%s': cannot take the producer "
                       "token: %s", name, strerror(-r));
        goto fail_unlink;
    }
    if ((cfg->flags & ZINC_RING_GROUP_ACCESS) && (r = zinc__shm_share_group(m->fd, name)) < 0)
        goto fail_unlink;
    /* Leave the "empty object" state at once: openers give an empty object
     * the benefit of the doubt for 2 s (its creator may not hold its token
     * yet); a sized one with a free token is a dead creator's, now. */
    (void)ftruncate(m->fd, (off_t)sizeof(struct zinc_hdr));
    /* Checked before anything is sized or mapped. */
    if (total > zinc__shm_free_bytes()) {
        r = zinc__no_space(name, total);
        goto fail_unlink;
    }
    r = zinc__producer_init(p, name, cfg, g, total);
    if (r < 0)
        goto fail_unlink;
    *out = p;
    return ZINC_OK;

fail_unlink:
    /* Only if the name is still ours: a replacer may have retired it. */
    zinc__unlink_if_same(m->obj, m->dev, m->ino);
    zinc__map_release(m);
fail_free:
    free(p);
    return r;
}

/* Size, map, reserve and fill a ring in the object open on p->m.fd (whose
 * producer token is taken), then make p its producer: one path for rings
 * in /dev/shm and sealed anonymous rings (src/ring-anon.c). On failure the
 * caller releases the map. */
int zinc__producer_init(struct zinc_producer *p, const char *name, const zinc_ring_config *cfg,
                        struct zr_geom g, uint64_t total)
{
    struct zr_map *m = &p->m;
    uint64_t page = (uint64_t)zinc__page_size();
    int r;
    if (ftruncate(m->fd, (off_t)total) < 0)
        return errno == ENOSPC || errno == EFBIG ? zinc__no_space(name, total)
                                                 : zinc__shm_errno(errno, "ring (ftruncate)", name);
    /* Map first (nothing is touched yet), so that the huge-page advice is
     * in place before fallocate allocates the pages: advice given after
     * would find them already allocated as small pages. */
    int merr = 0;
    m->base = zinc__map_shared(m->fd, m->dev, m->ino, (size_t)total, &merr);
    if (!m->base)
        return zinc__shm_errno(merr, "ring (mmap)", name);
    m->len = (size_t)total;
#ifdef MADV_HUGEPAGE
    if (cfg->flags & ZINC_RING_HUGEPAGES) {
        (void)madvise(m->base, m->len, MADV_HUGEPAGE); /* best effort */
#ifdef MADV_POPULATE_WRITE
        /* fallocate allocates without a mapping, so it heeds only the
         * mount's own huge= setting: on a huge=advise tmpfs it would give
         * small pages. Faulting the pages in through the advised mapping
         * first gives huge ones. A failure (memory short) is left to
         * fallocate below to report. */
        (void)madvise(m->base, m->len, MADV_POPULATE_WRITE);
#endif
    }
#endif
    /* Reserve every page now so that a full /dev/shm fails here, cleanly,
     * and never as a SIGBUS in the middle of a frame. */
    r = zinc__shm_reserve(m->fd, total, name);
    if (r < 0)
        return r;
    if (cfg->flags & ZINC_RING_PREFAULT) {
        /* Page-table entries now, so first touches leave the hot path. */
#ifdef MADV_POPULATE_WRITE
        if (madvise(m->base, m->len, MADV_POPULATE_WRITE) != 0)
#endif
        {
            long pg = zinc__page_size();
            for (size_t off = 0; off < m->len; off += (size_t)pg)
                (void)*(volatile uint8_t *)(m->base + off);
        }
    }

    /* Fill everything, then publish the ring magic, then the region magic
     * (both release). The object is fresh: zero everywhere else. */
    struct zinc_hdr *hdr = (struct zinc_hdr *)m->base;
    struct zr_ctl *ctl = (struct zr_ctl *)(m->base + page);
    m->hdr = hdr;
    zinc__region_init(hdr, ZINC_REGION_V2, g.ring_bytes, name);

    ctl->layout_version = ZR_LAYOUT_VERSION;
    ctl->ctl_size = sizeof(struct zr_ctl);
    ctl->generation = zinc__random_u64();
    ctl->geom = g;
    ctl->consumer_size = sizeof(struct zr_cons);
    ctl->desc_size = sizeof(struct zr_desc);
    ctl->flags = cfg->flags;
    ctl->spin_ns = cfg->spin_ns ? cfg->spin_ns : DEFAULT_SPIN_NS;
    ctl->demote_after_ns = cfg->demote_after_ns;
    ctl->created_ns = now_ns();
    atomic_store_explicit(&ctl->prod_pid, (int32_t)getpid(), memory_order_relaxed);
    atomic_store_explicit(&ctl->prod_start_ns, zinc__proc_start_ns(getpid()),
                          memory_order_relaxed);
    atomic_store_explicit(&ctl->prod_state, ZR_OPEN, memory_order_relaxed);
    /* Release: pairs with the acquire fence zinc__ring_validate issues after
     * it reads the ring magic. */
    atomic_store_explicit(&ctl->magic, ZR_MAGIC, memory_order_release);
    /* The region magic last (release, in the region layer): an opener that
     * sees it sees the whole ring. */
    zinc__region_publish(hdr);

    r = zinc__ring_validate(m, page, g.ring_bytes);
    if (r < 0)
        return r; /* cannot happen: we just wrote it */
    zinc__map_register(m);
    p->next_seq = 1;
    p->spin_ns = ctl->spin_ns <= MAX_SPIN_NS ? ctl->spin_ns : MAX_SPIN_NS;
    p->timestamps = !(cfg->flags & ZINC_RING_NO_TIMESTAMPS);
    /* First anchor now (and the one-time look at the clocksource), not at
     * the first publish. */
    if (p->timestamps)
        (void)zinc__clock_now(&p->clk);
    p->demote_after_ns = cfg->demote_after_ns;
    zinc__producer_check_init(p);
    return ZINC_OK;
}

ZINC_API uint64_t zinc_producer_generation(const zinc_producer *p)
{
    return p ? p->m.generation : 0;
}

/* ---- producer: gating on EVERY consumers -------------------------------------- */

/* Rescan the consumer table for the lowest EVERY cursor. */
static void gate_scan(struct zinc_producer *p)
{
    struct zr_map *m = &p->m;
    /* Acquire pairs with the attaching consumer's seq_cst epoch bump: if we
     * see the bump we see its ACTIVE state and cursor (docs/design.md,
     * "EVERY gating and attach"). */
    p->gate_epoch = atomic_load_explicit(&m->ctl->every_epoch, memory_order_acquire);
    uint32_t hw = table_bound(m);
    uint64_t head = p->next_seq - 1;
    uint64_t min = UINT64_MAX;
    for (uint32_t i = 0; i < hw; i++) {
        struct zr_cons *e = &m->cons[i];
        /* Acquire: pairs with the consumer's seq_cst store of ACTIVE (after
         * its entry is initialised). */
        if (atomic_load_explicit(&e->state, memory_order_acquire) != ZR_ACTIVE)
            continue;
        /* Relaxed: mode is ours to change (demotion/eviction) or was set
         * before ACTIVE, which the acquire above orders. */
        if (atomic_load_explicit(&e->mode, memory_order_relaxed) != ZINC_EVERY)
            continue;
        /* Acquire: pairs with the consumer's release store of cursor at
         * release (R1): its reads of the payload happen before our
         * overwrite of the slot. */
        uint64_t c = atomic_load_explicit(&e->cursor, memory_order_acquire);
        if (c > head)
            c = head; /* hostile or stale-high: clamp */
        if (c < min)
            min = c;
    }
    p->gate = min;
    p->gate_valid = true;
}

static bool gate_open(struct zinc_producer *p, uint64_t n, bool force)
{
    uint64_t slots = p->m.g.slot_count;
    if (n <= slots)
        return true; /* the slot has never held a frame */
    uint64_t need = n - slots;
    if (!force && p->gate_valid && p->gate >= need &&
        atomic_load_explicit(&p->m.ctl->every_epoch, memory_order_relaxed) == p->gate_epoch)
        return true; /* relaxed: a stale epoch only makes us rescan later;
                        the attach argument in docs/design.md covers it */
    gate_scan(p);
    return p->gate >= need;
}

/* Evict dead EVERY consumers that block frame n; demote live ones that
 * have blocked longer than demote_after_ns. */
static void unblock_scan(struct zinc_producer *p, uint64_t n, bool demote)
{
    struct zr_map *m = &p->m;
    uint64_t need = n - m->g.slot_count;
    uint32_t hw = table_bound(m);
    for (uint32_t i = 0; i < hw; i++) {
        struct zr_cons *e = &m->cons[i];
        if (atomic_load_explicit(&e->state, memory_order_acquire) != ZR_ACTIVE ||
            atomic_load_explicit(&e->mode, memory_order_relaxed) != ZINC_EVERY ||
            atomic_load_explicit(&e->cursor, memory_order_acquire) >= need)
            continue;
        int held = zinc__token_held(m->fd, ZR_TOKEN_CONSUMER(i));
        if (held == 0) {
            /* Release: the flag before the mode change, both before we
             * overwrite its slot; the consumer reads the flags with acquire. */
            atomic_store_explicit(&e->evicted, 1, memory_order_release);
            atomic_store_explicit(&e->mode, ZINC_LOSSY, memory_order_release);
            p->evicted++;
            atomic_store_explicit(&m->ctl->evicted, p->evicted, memory_order_relaxed);
        } else if (demote) {
            atomic_store_explicit(&e->demoted, 1, memory_order_release);
            atomic_store_explicit(&e->mode, ZINC_LOSSY, memory_order_release);
            p->demoted++;
            atomic_store_explicit(&m->ctl->demoted, p->demoted, memory_order_relaxed);
        }
    }
    p->gate_valid = false;
}

/* Wait until frame n's slot is free of EVERY readers. */
static int wait_for_slot(struct zinc_producer *p, uint64_t n, int64_t timeout_ns)
{
    struct zr_map *m = &p->m;
    struct zr_ctl *ctl = m->ctl;
    uint64_t start = now_ns();
    uint64_t deadline = timeout_ns < 0 ? UINT64_MAX : start + (uint64_t)timeout_ns;
    int r = ZINC_OK;
    bool counted = false;
    /* Demotion counts the time frame n has been blocked across calls, so a
     * producer that polls (timeout 0) or retries short timeouts demotes too. */
    if (p->blocked_seq != n) {
        p->blocked_seq = n;
        p->blocked_since = start;
    }
    uint64_t bstart = p->blocked_since;

    uint64_t now = start;
    for (uint64_t spins = 0;; spins++) {
        /* While spinning, read the clock every 64 turns; once sleeping,
         * every turn (each may have slept up to LIVENESS_PERIOD_NS). */
        if ((spins & 63) == 0 || now - start >= p->spin_ns)
            now = now_ns();
        /* Liveness and demotion first, so that a poll with timeout 0 also
         * evicts a dead consumer (at most every LIVENESS_PERIOD_NS). */
        bool demote = p->demote_after_ns && now - bstart >= p->demote_after_ns;
        if (demote || now - p->last_live_check >= LIVENESS_PERIOD_NS) {
            p->last_live_check = now;
            unblock_scan(p, n, demote);
            if (gate_open(p, n, true))
                break;
        }
        if (timeout_ns == 0) {
            r = zinc__fail_static(ZINC_EAGAIN, "claim: EVERY consumers hold the next slot");
            break;
        }
        if (!counted) {
            counted = true;
            p->blocked_claims++;
            atomic_store_explicit(&ctl->blocked_claims, p->blocked_claims, memory_order_relaxed);
        }
        if (now >= deadline) {
            r = zinc__fail_static(ZINC_ETIMEDOUT, "claim: timed out waiting for EVERY consumers");
            break;
        }
        if (now - start < p->spin_ns) {
            zinc__cpu_relax();
            if (gate_open(p, n, true))
                break;
            continue;
        }
        /* Sleep protocol, producer side (Q1..Q5 in docs/design.md). */
        /* Q1 seq_cst: totally ordered with the consumer's fence R2, so
         * either it sees us waiting or we see its new cursor at Q3. */
        atomic_fetch_add_explicit(&ctl->prod_waiting, 1, memory_order_seq_cst);
        /* Q2 acquire: pairs with R3's release bump; a bump we read comes
         * with the cursor stored before it. */
        uint32_t v = atomic_load_explicit(&ctl->space_futex, memory_order_acquire);
        /* Q2' seq_cst fence, partner of the consumer's R2 fence: Q3's
         * cursor loads are acquire, not seq_cst, so without it they could
         * be ordered before Q1 and both sides miss each other (we sleep on
         * a cursor R1 already moved while R3 reads prod_waiting = 0). With
         * it, either R3 sees our Q1 or Q3 sees R1's cursor. */
        atomic_thread_fence(memory_order_seq_cst);
        if (gate_open(p, n, true)) { /* Q3 */
            atomic_fetch_sub_explicit(&ctl->prod_waiting, 1, memory_order_release);
            break;
        }
        uint64_t left = deadline - now;
        uint64_t nap = LIVENESS_PERIOD_NS;
        if (p->demote_after_ns && p->demote_after_ns > now - bstart &&
            p->demote_after_ns - (now - bstart) < nap)
            nap = p->demote_after_ns - (now - bstart) + 1;
        if (left < nap)
            nap = left;
        int fr = zinc__futex_wait(&ctl->space_futex, v, (int64_t)nap); /* Q4 */
        /* Q5 release: nobody synchronises on the decrement; it only ends
         * our membership of the waiter count. */
        atomic_fetch_sub_explicit(&ctl->prod_waiting, 1, memory_order_release);
        if (gate_open(p, n, true))
            break;
        if (fr == -EINTR) {
            r = zinc__fail_static(ZINC_EINTR, "claim: interrupted by a signal handler");
            break;
        }
    }
    if (counted) {
        p->blocked_ns += now_ns() - start;
        atomic_store_explicit(&ctl->blocked_ns, p->blocked_ns, memory_order_relaxed);
    }
    return r;
}

ZINC_API int zinc_producer_claim(zinc_producer *p, zinc_frame *f, int64_t timeout_ns)
{
    if (unlikely(!p || !f))
        return zinc__fail(ZINC_EINVAL, "claim: NULL argument");
    if (unlikely(p->claimed))
        return zinc__fail(ZINC_EINVAL, "claim: frame %llu is still claimed; publish or abort "
                          "it first", (unsigned long long)p->next_seq);
    struct zr_map *m = &p->m;
    uint64_t n = p->next_seq;
    /* Is the ring still ours (not closed by someone else, its name not
     * taken)? Checked every LIVENESS_PERIOD_NS of publish's clock (every
     * 64 frames without timestamps): no system call, no clock read per
     * frame (ring-table.c). */
    if (unlikely(p->clk.last + n >= p->check_due)) {
        int r = zinc__producer_check(p);
        if (r < 0)
            return r;
    }
    if (!gate_open(p, n, false)) {
        int r = wait_for_slot(p, n, timeout_ns);
        if (r < 0)
            return r;
    }
    uint64_t slot = (n - 1) & m->mask;
    struct zr_desc *d = &m->descs[slot];
    /* Seqlock write side, step 2 of "Publish": the odd value is visible
     * before any byte of the new payload. Relaxed store + release fence,
     * as the kernel's write_seqcount_begin (store, smp_wmb). Pairs with the
     * acquire fence readers issue before re-checking lock in release(). */
    atomic_store_explicit(&d->lock, 2 * n - 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    memset(f, 0, sizeof(*f));
    f->data = m->payloads + slot * m->g.slot_stride;
    f->size = m->g.slot_size;
    f->seq = n;
    p->claimed = true;
    p->claim_data = f->data;
    return ZINC_OK;
}

ZINC_API int zinc_producer_publish(zinc_producer *p, zinc_frame *f)
{
    if (unlikely(!p || !f))
        return zinc__fail(ZINC_EINVAL, "publish: NULL argument");
    uint64_t n = p->next_seq;
    if (unlikely(!p->claimed || f->seq != n || f->data != p->claim_data))
        return zinc__fail(ZINC_EINVAL, "publish: frame %llu is not the claimed frame",
                          (unsigned long long)f->seq);
    struct zr_map *m = &p->m;
    if (unlikely(f->size > m->g.slot_size))
        return zinc__fail(ZINC_EMSGSIZE, "publish: %llu bytes do not fit a %llu-byte slot; "
                          "the claim stays open",
                          (unsigned long long)f->size, (unsigned long long)m->g.slot_size);
    if (f->tensor.ndim && unlikely(zinc_tensor_check(&f->tensor, f->size) < 0))
        return zinc__fail(ZINC_EINVAL, "publish: the tensor description does not fit the "
                          "frame's %llu bytes: %s",
                          (unsigned long long)f->size, zinc_last_error());
    struct zr_ctl *ctl = m->ctl;
    uint64_t slot = (n - 1) & m->mask;
    struct zr_desc *d = &m->descs[slot];
    /* The descriptor words first, the clock after: the stores start
     * taking the descriptor's line (a spinning consumer holds it) while
     * the clock is read. */
    desc_store(d, f, n);
    uint64_t pub = likely(p->timestamps) ? zinc__clock_now(&p->clk) : 0;
    atomic_store_explicit(&d->w[ZD_PUBLISH], pub, memory_order_relaxed);
    f->publish_ns = pub;
    /* P1, release: pairs with the reader's acquire load of lock; a reader
     * that sees 2n sees the payload and the descriptor words. */
    atomic_store_explicit(&d->lock, 2 * n, memory_order_release);
    /* P1, release: pairs with the consumer's acquire load of head. */
    atomic_store_explicit(&ctl->head, n, memory_order_release);
    /* P1, release: pairs with W2; a sleeper that reads the new value also
     * sees the new head at W3. */
    atomic_store_explicit(&ctl->pub_futex, (uint32_t)n, memory_order_release);
    p->claimed = false;
    p->next_seq = n + 1;
    p->published++;
    p->published_bytes += f->size;
    /* Relaxed counters: statistics, single writer, no ordering needed. */
    atomic_store_explicit(&ctl->published, p->published, memory_order_relaxed);
    atomic_store_explicit(&ctl->published_bytes, p->published_bytes, memory_order_relaxed);
    atomic_store_explicit(&ctl->last_publish_ns, pub, memory_order_relaxed);
    /* P2: seq_cst fence, totally ordered with the consumer's W1 RMW: either
     * the consumer's W3 sees head = n, or we see its waiter count here. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&ctl->cons_waiters, memory_order_relaxed) != 0)
        zinc__futex_wake(&ctl->pub_futex); /* P3 */
    return ZINC_OK;
}

ZINC_API int zinc_producer_abort(zinc_producer *p, zinc_frame *f)
{
    if (!p)
        return zinc__fail(ZINC_EINVAL, "abort: NULL producer");
    if (!p->claimed || (f && (f->seq != p->next_seq || f->data != p->claim_data)))
        return zinc__fail(ZINC_EINVAL, "abort: nothing claimed (or not the claimed frame)");
    /* The slot's lock stays odd: the frame that was there may be partly
     * overwritten already, so its readers must see it as torn. The next
     * claim reuses the same seq and slot. */
    p->claimed = false;
    p->aborted++;
    atomic_store_explicit(&p->m.ctl->aborted, p->aborted, memory_order_relaxed);
    return ZINC_OK;
}

ZINC_API int zinc_producer_set_stream(zinc_producer *p, const zinc_frame *desc)
{
    if (!p || !desc)
        return zinc__fail(ZINC_EINVAL, "set_stream: NULL argument");
    if (desc->size > p->m.g.slot_size)
        return zinc__fail(ZINC_EINVAL, "set_stream: %llu bytes do not fit a %llu-byte slot",
                          (unsigned long long)desc->size, (unsigned long long)p->m.g.slot_size);
    if (desc->tensor.ndim && zinc_tensor_check(&desc->tensor, desc->size) < 0)
        return zinc__fail(ZINC_EINVAL, "set_stream: tensor does not fit %llu bytes",
                          (unsigned long long)desc->size);
    struct zr_desc *d = &p->m.ctl->stream;
    uint64_t s = atomic_load_explicit(&d->lock, memory_order_relaxed);
    if (s & 1)
        s++; /* hostile odd value: step to even first */
    /* Seqlock write, as a frame's: odd, fence, words, even (release). */
    atomic_store_explicit(&d->lock, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    desc_store(d, desc, 0);
    atomic_store_explicit(&d->w[ZD_PUBLISH], now_ns(), memory_order_relaxed);
    atomic_store_explicit(&d->lock, s + 2, memory_order_release);
    return ZINC_OK;
}

ZINC_API void zinc_producer_close(zinc_producer *p)
{
    if (!p)
        return;
    struct zr_map *m = &p->m;
    struct zr_ctl *ctl = m->ctl;
    if (map_forked(m)) {
        /* A child's copy of its parent's handle: the ring is the parent's. */
        zinc__listener_stop(p);
        zinc__map_release(m);
        free(p);
        return;
    }
    zinc__listener_stop(p); /* no new consumer from here on */
    if (p->claimed)
        zinc_producer_abort(p, NULL);
    /* seq_cst: after every publish (so a consumer that sees CLOSED sees the
     * final head), and ordered before the bump that wakes sleepers, who
     * re-check the state at W3. */
    atomic_store_explicit(&ctl->prod_state, ZR_CLOSED, memory_order_seq_cst);
    atomic_fetch_add_explicit(&ctl->pub_futex, 1, memory_order_seq_cst);
    zinc__futex_wake(&ctl->pub_futex);
    /* The region's owner-closed bit and our reference, for plain Zinc
     * readers; the ring's own removal rule rests on the tokens. */
    zinc__region_owner_close(m->hdr);
    (void)zinc__region_unref(m->hdr);
    if (!map_anonymous(m) && !zinc__table_any_live(m, -1))
        zinc__unlink_if_same(m->obj, m->dev, m->ino);
    zinc__map_release(m);
    free(p);
}

