/* SPDX-License-Identifier: MIT */
/*
 * wake.pml — the frame ring's sleep/wake protocol (docs/design.md, "Sleeping
 * without losing a wake-up"), both directions, checked by spin:
 *
 *   consumers waiting for frames:   cons_waiters / pub_futex / head
 *   producer waiting for EVERY:     prod_waiting / space_futex / cursor
 *
 * One producer publishes K frames into a ring of SLOTS slots and stops (no
 * close, no final wake-up). NC EVERY consumers acquire and release every
 * frame. Nobody ever times out: the C caps each sleep at 50 ms, the model
 * sleeps forever, so it proves that the protocol does not lean on the cap.
 *
 * Properties (checked with `pan -DSAFETY`, valid end states on):
 *   lost wake-up  a consumer blocked in futex_wait after the producer has
 *                 stopped, or the producer blocked while the slot it wants is
 *                 free, is a process that never reaches its end: spin reports
 *                 an "invalid end state".
 *   deadlock      the same check: no reachable state in which every process
 *                 is blocked before its end.
 *   delivery      each consumer ends having seen all K frames in order
 *                 (assert), and an EVERY frame is never overwritten while a
 *                 consumer may still read it (assert on the slot's lock word
 *                 at acquire and just before release).
 *
 * Memory model. Every shared access in the C protocol that matters here is
 * seq_cst: W1/W5 and Q1/Q5 are seq_cst RMWs, W2/W3 seq_cst loads, and the
 * stores P1/R1 (release) are each followed by atomic_thread_fence(seq_cst)
 * before the waiter-count load P3/R3. Both sides of each Dekker pair are
 * therefore in the single total order S of seq_cst operations, so the only
 * executions allowed are interleavings of the program steps: exactly
 * Promela's semantics with one statement = one atomic step. What a missing
 * fence would allow (a store-buffered P1 overtaken by the P3 load) is
 * modelled explicitly by swapping the two steps: see the BROKEN_* variants.
 *
 * The futex. futex_wait(addr, v) atomically compares *addr with v and either
 * returns at once (EAGAIN) or queues the caller; futex_wake(addr) wakes every
 * queued caller (the C passes INT_MAX). Modelled by a sleep bit per process:
 * FUTEX_WAIT = atomic { if *addr == v: sleep bit := 1 } then block until the
 * bit is 0; FUTEX_WAKE = atomically clear the bits of all sleepers on addr.
 * Spurious wake-ups and EINTR only add executions in which the waiter loops
 * (W5/Q5 -> W1/Q1); they cannot hide a lost wake-up and are left out.
 *
 * Model <-> C (docs/design.md, "Model <-> C"; src/producer.c, consumer.c):
 *   producer()  slot_free() before the loop       gate_open (zinc_producer_claim)
 *               Q1 prod_waiting++                  wait_for_slot
 *               Q2 v := space_futex                wait_for_slot
 *               Q3 slot_free(); free -> undo Q1    wait_for_slot -> gate_open/gate_scan
 *               Q4/end_q4 futex_wait(space, v)     wait_for_slot
 *               Q5 prod_waiting--, loop            wait_for_slot
 *               lock[s] := 2n-1                    zinc_producer_claim (seqlock odd)
 *               lock[s] := 2n; P1 head, pub_futex  zinc_producer_publish
 *               (P2 seq_cst fence)                 zinc_producer_publish
 *               P3 load cons_waiters; wake_pub()   zinc_producer_publish
 *   consumer()  one look at head (spin phase)      zinc_consumer_acquire
 *               W1 cons_waiters++                  zinc_consumer_acquire, sleep branch
 *               W2 v := pub_futex                  zinc_consumer_acquire
 *               W3 load head; frame -> undo W1     zinc_consumer_acquire (want_for)
 *               W4/end_w4 futex_wait(pub, v)       zinc_consumer_acquire
 *               W5 cons_waiters--, loop            zinc_consumer_acquire
 *               assert lock == 2*seq (twice)       try_take (step 2), release (step 5)
 *               R1 cursor := seq                   zinc_consumer_release
 *               (R2 seq_cst fence)                 zinc_consumer_release
 *               R3 load prod_waiting;              zinc_consumer_release (and
 *                  space_futex++; wake_space()       zinc_consumer_close)
 *   monitor()   the property: at a global stall nobody sleeps while its
 *               condition holds; without idle consumers everyone finished
 *
 * Waiting outside acquire (docs/design.md, "Waiting through a descriptor"
 * and "Waiting on many rings"), each a configuration of its own:
 *   FD     consumer 1 waits through its descriptor: watcher() is the
 *          caller's thread (epoll_wait until the eventfd holds a count, then
 *          acquire(0) until -11, whose arm step is W1..W3 and a hand-over
 *          of W2's value to the helper; it may also stop after any frame
 *          and go back to epoll_wait: level-triggered), helper() is
 *          consumer-fd.c's thread
 *          (W4 on pub_futex, W5, then FIRING, the eventfd write, FIRED).
 *          Property: at a stall the watcher never sits in epoll_wait with an
 *          empty eventfd while a frame is there for it.
 *   WAITV  consumer 1 is zinc_wait_any over this ring and a second ring B
 *          (producer_b publishes KB frames on head_b/pub_b and wakes its
 *          waiters as P1..P3 do): W1..W3 on each ring, one futex_waitv over
 *          both words (W4), W5 on each. Property: at a stall it never
 *          sleeps while either ring has a frame for it.
 *
 * Deliberately broken variants (tests/model/run.sh requires spin to find an
 * error in each, which shows the check can fail):
 *   BROKEN_PUB_NO_FENCE  P3's load of cons_waiters before P1's stores
 *   BROKEN_REL_NO_FENCE  R3's load of prod_waiting before R1's store
 *   BROKEN_NO_BUMP       R3 wakes the producer without bumping space_futex
 *   BROKEN_W_ORDER       consumer reads head (W3) before pub_futex (W2)
 *   BROKEN_FD_NO_COUNT   (FD) the arm step skips W1: the helper is nobody's
 *                        sleeper, the producer never wakes it
 *   BROKEN_FD_READ_EARLY (FD) the arm step reads (empties) the eventfd
 *                        before its W3: when W3 then finds a frame, the
 *                        descriptor is neither readable nor armed, and a
 *                        caller that stops before -11 sleeps on frames
 *   BROKEN_WAITV_ONE_W1  (WAITV) W1 on ring A only: B's producer skips the
 *                        wake
 */

#ifndef K
#define K 4          /* frames published */
#endif
#ifndef NC
#define NC 2         /* EVERY consumers */
#endif
#ifndef SLOTS
#define SLOTS 2      /* ring slots (a power of two in the C) */
#endif

byte head = 0;           /* last published seq */
byte pub_futex = 0;      /* (uint32)head: the consumers' futex word */
byte cons_waiters = 0;   /* consumers inside W1..W5 */
byte space_futex = 0;    /* bumped by releases that wake the producer */
byte prod_waiting = 0;   /* producer inside Q1..Q5 */
byte cursor[NC];         /* per consumer: last seq released */
byte lock[SLOTS];        /* per slot seqlock word: 2n-1 writing, 2n published */

bit c_sleep[NC];         /* consumer i queued on pub_futex */
bit p_sleep;             /* producer queued on space_futex */

#ifdef FD
/* consumer 1's descriptor (consumer-fd.c) */
#define ARMED 1
#define FIRED 0
#define FIRING 2
byte fd_state = FIRED;   /* ARMED / FIRING / FIRED */
byte armed_v;            /* pub_futex as the arm step's W2 read it */
byte efd = 1;            /* the eventfd's count (readable if > 0); made readable */
bit h_sleep;             /* the helper queued on pub_futex */
bit in_epoll;            /* the watcher blocked in epoll_wait */
#endif

#ifdef WAITV
#ifndef KB
#define KB 2             /* frames of ring B */
#endif
byte head_b = 0;         /* ring B: head, pub_futex, waiter count */
byte pub_b = 0;
byte cons_waiters_b = 0;
byte seen_b = 0;         /* frames of B the wait_any consumer took */
bit any_sleep;           /* the wait_any consumer queued on both words */
#endif

byte done = 0;           /* consumers that saw all K frames */
byte idled = 0;          /* consumers that stopped consuming (alive, idle) */
byte pwant = 0;          /* frame the producer is claiming (0: none) */
bit pdone = 0;           /* producer published all K frames */
byte cseen[NC];          /* per consumer: last frame acquired */

/* FUTEX_WAKE(pub_futex, INT_MAX): every waiter queued on the word (the
 * helper of FD and the futex_waitv of WAITV included) */
inline wake_pub() {
    d_step {
        j = 0;
        do
        :: j < NC -> c_sleep[j] = 0; j++
        :: else -> break
        od;
#ifdef FD
        h_sleep = 0;
#endif
#ifdef WAITV
        any_sleep = 0;
#endif
        j = 0
    }
}

/* FUTEX_WAKE(space_futex, INT_MAX) */
inline wake_space() {
    p_sleep = 0
}

/* Is the slot of frame n free of every EVERY consumer? (cursor >= n - SLOTS) */
inline slot_free(n, r) {
    d_step {
        r = 1;
        j = 0;
        do
        :: j < NC -> if
                     :: cursor[j] + SLOTS < n -> r = 0
                     :: else -> skip
                     fi;
                     j++
        :: else -> break
        od;
        j = 0
    }
}

proctype producer()
{
    byte n = 0, v, j, w;
    bit free;

    do
    :: n == K -> break
    :: n < K ->
        n++;
        pwant = n;
        /* claim(n): the spin phase only checks; sleep only when gated */
        slot_free(n, free);
        if
        :: free -> skip
        :: else ->
            do
            :: true ->
Q1:             prod_waiting++;
Q2:             v = space_futex;
Q3:             slot_free(n, free);
                if
                :: free -> prod_waiting--; break
                :: else -> skip
                fi;
Q4:             atomic {
                    if
                    :: space_futex == v -> p_sleep = 1
                    :: else -> skip        /* EAGAIN */
                    fi
                };
end_q4:         (p_sleep == 0);            /* blocked until a wake */
Q5:             prod_waiting--
            od
        fi;
        /* step 2: the slot is ours, its frame n-SLOTS is released by all */
        lock[(n - 1) % SLOTS] = 2 * n - 1;
        /* step 3: payload written in place (not modelled) */
#ifdef BROKEN_PUB_NO_FENCE
        w = cons_waiters;                  /* load overtakes the stores */
#endif
        lock[(n - 1) % SLOTS] = 2 * n;
P1:     head = n;
        pub_futex = n;
        /* P2: seq_cst fence (an interleaving point) */
#ifndef BROKEN_PUB_NO_FENCE
P3:     w = cons_waiters;
#endif
        if
        :: w != 0 -> wake_pub()
        :: else -> skip
        fi
    od;
    pwant = 0;
    pdone = 1
}

proctype consumer(byte i)
{
    byte seen = 0, v, h, w;

    do
    :: seen == K -> break
    :: seen < K ->
        /* acquire: spin phase, one look at head */
        if
        :: head > seen -> skip
        :: else ->
            do
            :: true ->
W1:             cons_waiters++;
#ifdef BROKEN_W_ORDER
W3x:            h = head;
W2x:            v = pub_futex;
#else
W2:             v = pub_futex;
W3:             h = head;
#endif
                if
                :: h > seen -> cons_waiters--; break
                :: else -> skip
                fi;
W4:             atomic {
                    if
                    :: pub_futex == v -> c_sleep[i] = 1
                    :: else -> skip        /* EAGAIN */
                    fi
                };
end_w4:         (c_sleep[i] == 0);         /* blocked until a wake */
W5:             cons_waiters--
            od
        fi;
        seen++;
        cseen[i] = seen;
        /* step 2: an EVERY frame is published and not overwritten */
        assert(lock[(seen - 1) % SLOTS] == 2 * seen);
        /* ... the caller reads the payload ... */
        assert(lock[(seen - 1) % SLOTS] == 2 * seen);   /* step 5 re-check */
#ifdef BROKEN_REL_NO_FENCE
        w = prod_waiting;                  /* load overtakes the store */
#endif
R1:     cursor[i] = seen;
        /* R2: seq_cst fence (an interleaving point) */
#ifndef BROKEN_REL_NO_FENCE
R3:     w = prod_waiting;
#endif
        if
        :: w != 0 ->
#ifndef BROKEN_NO_BUMP
            space_futex++;
#endif
            wake_space()
        :: else -> skip
        fi;
#ifndef NO_IDLE
        /* the application may stop calling acquire: an idle, live consumer */
        if
        :: true -> skip
        :: idled == 0 -> idled++; goto idle
        fi
#endif
    od;
    assert(seen == K && cursor[i] == K);
    done++;
idle:
    skip
}

#ifdef FD
/* The helper thread: idle until armed; W4 on pub_futex with the armed
 * value (looping while the word still holds it: a timeout or a spurious
 * wake); W5; FIRING, the eventfd write, FIRED. */
proctype helper()
{
    byte v;
    do
    :: true ->
end_hidle:  (fd_state == ARMED);          /* woken by the arm step's kick */
        v = armed_v;
H4:     atomic {
            if
            :: pub_futex == v -> h_sleep = 1
            :: else -> skip
            fi
        };
end_h4: (h_sleep == 0);
        if
        :: pub_futex == v -> goto H4       /* nothing moved: sleep again */
        :: else -> skip
        fi;
#ifndef BROKEN_FD_NO_COUNT
H5:     cons_waiters--;
#endif
        fd_state = FIRING;
        efd = 1;
        fd_state = FIRED
    od
}

/* The caller's thread of consumer 1: epoll_wait, then acquire(0) until -11.
 * A frame is taken as consumer() takes it (EVERY: the producer gates on
 * it); -11 runs the arm step (zinc__fdw_settle). */
proctype watcher(byte i)
{
    byte seen = 0, v, w;
    do
    :: seen == K -> break
    :: seen < K ->
        in_epoll = 1;
end_epoll: (efd > 0);
        in_epoll = 0;
        do
        :: head > seen ->                  /* acquire(0) returns a frame */
            seen++;
            cseen[i] = seen;
            assert(lock[(seen - 1) % SLOTS] == 2 * seen);
            assert(lock[(seen - 1) % SLOTS] == 2 * seen);
            cursor[i] = seen;              /* R1 (R2: interleaving point) */
            w = prod_waiting;              /* R3 */
            if
            :: w != 0 -> space_futex++; wake_space()
            :: else -> skip
            fi;
            if
            :: seen == K -> break
            :: true -> skip
            :: true -> break               /* enough for now: back to epoll */
            fi
        :: else ->                         /* nothing: the arm step */
            if
            :: fd_state == ARMED -> break  /* still armed: -11 */
            :: else -> skip
            fi;
            (fd_state == FIRED);           /* FIRING: the write is under way */
#ifdef BROKEN_FD_READ_EARLY
            efd = 0;
#endif
#ifndef BROKEN_FD_NO_COUNT
A1:         cons_waiters++;
#endif
A2:         v = pub_futex;
A3:         if
            :: head > seen ->              /* W3: take it instead */
#ifndef BROKEN_FD_NO_COUNT
                cons_waiters--
#else
                skip
#endif
            :: else ->
                efd = 0;                   /* read the eventfd */
                armed_v = v;
                fd_state = ARMED;          /* and kick the helper */
                break                      /* -11 */
            fi
        od
    od;
    assert(seen == K && cursor[i] == K);
    done++
}
#endif

#ifdef WAITV
/* Ring B's producer: P1 (head_b, pub_b), P2 fence, P3. No slots: the
 * property is about the wake-up only. */
proctype producer_b()
{
    byte n = 0, w;
    do
    :: n == KB -> break
    :: n < KB ->
        n++;
        head_b = n;
        pub_b = n;
        w = cons_waiters_b;
        if
        :: w != 0 -> any_sleep = 0         /* FUTEX_WAKE(pub_b) */
        :: else -> skip
        fi
    od
}

/* Consumer 1 as zinc_wait_any over ring A (this model's ring, EVERY) and
 * ring B: take whatever is ready, else W1..W3 on A and on B, one
 * futex_waitv over both words, W5 on both. */
proctype anyw(byte i)
{
    byte seen = 0, va, vb, w;
    do
    :: seen == K && seen_b == KB -> break
    :: else ->
        if
        :: head > seen ->
            seen++;
            cseen[i] = seen;
            assert(lock[(seen - 1) % SLOTS] == 2 * seen);
            assert(lock[(seen - 1) % SLOTS] == 2 * seen);
            cursor[i] = seen;
            w = prod_waiting;
            if
            :: w != 0 -> space_futex++; wake_space()
            :: else -> skip
            fi
        :: head_b > seen_b -> seen_b++
        :: else ->
V1a:        cons_waiters++;
V2a:        va = pub_futex;
#ifndef BROKEN_WAITV_ONE_W1
V1b:        cons_waiters_b++;
#endif
V2b:        vb = pub_b;
V3:         if
            :: head > seen || head_b > seen_b -> skip
            :: else ->
V4:             atomic {
                    if
                    :: pub_futex == va && pub_b == vb -> any_sleep = 1
                    :: else -> skip        /* EAGAIN */
                    fi
                };
end_v4:         (any_sleep == 0)
            fi;
V5:         cons_waiters--;
#ifndef BROKEN_WAITV_ONE_W1
            cons_waiters_b--
#else
            skip
#endif
        fi
    od;
    assert(seen == K && cursor[i] == K);
    done++
}
#endif

/* At a global stall (`timeout`: no process can move), nobody may be asleep
 * while the condition it sleeps for holds: that is a lost wake-up. If no
 * consumer went idle, everything must have finished (no deadlock). */
proctype monitor()
{
    byte j;
    bit free;
end_mon:
    timeout ->
    slot_free(pwant, free);
    assert(!(p_sleep && pwant != 0 && free));
    j = 0;
    do
    :: j < NC -> assert(!(c_sleep[j] && head > cseen[j])); j++
    :: else -> break
    od;
#ifdef FD
    /* a watcher in epoll_wait with nothing to wake it, a frame waiting */
    assert(!(in_epoll && efd == 0 && head > cseen[1]));
#endif
#ifdef WAITV
    assert(!(any_sleep && (head > cseen[1] || head_b > seen_b)));
#endif
    assert(idled != 0 || (pdone && done == NC && head == K))
}

init {
    byte i;
    atomic {
        i = 0;
        do
        :: i < NC ->
#if defined(FD)
            if
            :: i == 1 -> run watcher(i); run helper()
            :: else -> run consumer(i)
            fi;
#elif defined(WAITV)
            if
            :: i == 1 -> run anyw(i); run producer_b()
            :: else -> run consumer(i)
            fi;
#else
            run consumer(i);
#endif
            i++
        :: else -> break
        od;
        run producer();
        run monitor()
    }
}
