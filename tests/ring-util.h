/* SPDX-License-Identifier: MIT */
/*
 * ring-util.h — helpers shared by the frame-ring tests (and, read-only, by
 * the kill-matrix tests): unique names, a payload pattern keyed by seq with
 * an embedded checksum, a raw mapping of a ring's object, shared result
 * memory, pipe signalling and a child reaper with a watchdog.
 *
 * Header-only, `static` functions; a test file uses what it needs.
 */
#ifndef ZINC_TESTS_RING_UTIL_H
#define ZINC_TESTS_RING_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zinc/ring.h>

#if defined(__GNUC__)
#define RU_UNUSED __attribute__((unused))
#else
#define RU_UNUSED
#endif

/* ---- sizes and names ------------------------------------------------------ */

/* ZINC_LONG_TESTS=1 selects the full-size stress runs. */
static RU_UNUSED bool ru_long(void)
{
    const char *s = getenv("ZINC_LONG_TESTS");
    return s && s[0] == '1';
}

/* "rt-<tag>-<pid>": unique per test process (Criterion forks each test).
 * Tags are C identifiers (test names), so the result is a valid zinc name. */
static RU_UNUSED void ru_name(char *buf, size_t len, const char *tag)
{
    snprintf(buf, len, "rt-%.100s-%ld", tag, (long)getpid());
}

static RU_UNUSED void ru_shm_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "/dev/shm/zinc_%s", name);
}

static RU_UNUSED bool ru_exists(const char *name)
{
    char p[512];
    ru_shm_path(p, sizeof(p), name);
    return access(p, F_OK) == 0;
}

/* Remove whatever the test left behind (ignore errors: it may be gone). */
static RU_UNUSED void ru_cleanup(const char *name)
{
    (void)zinc_unlink(name);
}

static RU_UNUSED bool ru_have_shm(void)
{
    struct stat st;
    return stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0;
}

static RU_UNUSED zinc_ring_config ru_cfg(uint32_t slots, uint64_t slot_size)
{
    zinc_ring_config c;
    memset(&c, 0, sizeof(c));
    c.slot_count = slots;
    c.slot_size = slot_size;
    return c;
}

/* ---- deterministic randomness ------------------------------------------- */

static inline uint64_t ru_mix(uint64_t x)
{
    /* splitmix64 finaliser */
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

typedef struct { uint64_t s; } ru_rng;

static inline uint64_t ru_next(ru_rng *r)
{
    r->s += 0x9E3779B97F4A7C15ull;
    return ru_mix(r->s);
}

/* Uniform in [lo, hi]. */
static inline uint64_t ru_range(ru_rng *r, uint64_t lo, uint64_t hi)
{
    return lo + ru_next(r) % (hi - lo + 1);
}

/* ---- payload pattern -------------------------------------------------------
 * A frame of `size` bytes for `seq` is the byte stream of little-endian
 * 64-bit words w[k], truncated to `size`:
 *   w[0] = seq, w[1] = size, w[2] = checksum of the body, w[k>=3] = gen(seq, k).
 * The checksum folds the body words (the last one masked to the bytes that
 * are inside the frame). A reader regenerates every word and compares, and
 * checks the checksum, so any torn or misplaced byte is caught.
 *
 * `atomic` mode reads and writes whole aligned words with relaxed
 * __atomic builtins (the threaded TSan test: payload bytes are the
 * seqlock's intended race); it may touch up to 7 bytes past `size` in the
 * last word, so the buffer must have round_up(size, 8) bytes (slot sizes in
 * the tests are multiples of 8). */

enum { RU_OK = 0, RU_BAD_SEQ = 1, RU_BAD_SIZE = 2, RU_BAD_SUM = 3, RU_BAD_BODY = 4 };

static inline uint64_t ru_gen(uint64_t seq, uint64_t k)
{
    return ru_mix(seq * 0xD1B54A32D192ED03ull ^ k);
}

static inline uint64_t ru_tail_mask(uint64_t nbytes)
{
    return nbytes >= 8 ? ~0ull : ((1ull << (nbytes * 8)) - 1);
}

static inline uint64_t ru_body_sum(uint64_t seq, uint64_t size)
{
    uint64_t words = (size + 7) / 8, sum = 0x5A494E43ull;
    for (uint64_t k = 3; k < words; k++) {
        uint64_t w = ru_gen(seq, k);
        if (k == words - 1)
            w &= ru_tail_mask(size - k * 8);
        sum = ru_mix(sum ^ w);
    }
    return sum;
}

static inline uint64_t ru_word(uint64_t seq, uint64_t size, uint64_t sum, uint64_t k)
{
    return k == 0 ? seq : k == 1 ? size : k == 2 ? sum : ru_gen(seq, k);
}

static RU_UNUSED void ru_fill(void *data, uint64_t size, uint64_t seq, bool atomic)
{
    uint64_t sum = ru_body_sum(seq, size);
    uint64_t words = size / 8, rest = size % 8;
    uint64_t *w = data;
    for (uint64_t k = 0; k < words; k++) {
        uint64_t v = ru_word(seq, size, sum, k);
        if (atomic)
            __atomic_store_n(&w[k], v, __ATOMIC_RELAXED);
        else
            memcpy((uint8_t *)data + k * 8, &v, 8);
    }
    if (rest) {
        uint64_t v = ru_word(seq, size, sum, words) & ru_tail_mask(rest);
        if (atomic)
            __atomic_store_n(&w[words], v, __ATOMIC_RELAXED);
        else
            memcpy((uint8_t *)data + words * 8, &v, rest);
    }
}

static RU_UNUSED int ru_check(const void *data, uint64_t size, uint64_t seq, bool atomic)
{
    uint64_t words = (size + 7) / 8;
    uint64_t sum_seen = 0, sum_calc = 0x5A494E43ull;
    const uint64_t *w = data;
    int bad = RU_OK;
    for (uint64_t k = 0; k < words; k++) {
        uint64_t v = 0, n = (k == words - 1 && size % 8) ? size % 8 : 8;
        if (atomic)
            v = __atomic_load_n(&w[k], __ATOMIC_RELAXED) & ru_tail_mask(n);
        else
            memcpy(&v, (const uint8_t *)data + k * 8, n);
        if (k == 0) {
            if (v != (seq & ru_tail_mask(n)))
                return RU_BAD_SEQ;
        } else if (k == 1) {
            if (v != (size & ru_tail_mask(n)))
                return RU_BAD_SIZE;
        } else if (k == 2) {
            sum_seen = v;
        } else {
            if (v != (ru_gen(seq, k) & ru_tail_mask(n)) && bad == RU_OK)
                bad = RU_BAD_BODY;
            sum_calc = ru_mix(sum_calc ^ v);
        }
    }
    if (bad)
        return bad;
    if (size >= 24 && sum_seen != sum_calc)
        return RU_BAD_SUM;
    return RU_OK;
}

/* ---- shared memory for results, pipes, children ------------------------- */

static RU_UNUSED void *ru_shared(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    memset(p, 0, len);
    return p;
}

/* Write one byte; 0 or -1. */
static RU_UNUSED int ru_signal(int fd)
{
    char c = 1;
    ssize_t r;
    do
        r = write(fd, &c, 1);
    while (r < 0 && errno == EINTR);
    return r == 1 ? 0 : -1;
}

/* Read one byte, waiting at most timeout_ms (a watchdog, not a delay):
 * 0 got it, -1 EOF/error, -110 timeout. */
static RU_UNUSED int ru_await(int fd, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int r;
    do
        r = poll(&p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return -110;
    if (r < 0)
        return -1;
    char c;
    ssize_t n;
    do
        n = read(fd, &c, 1);
    while (n < 0 && errno == EINTR);
    return n == 1 ? 0 : -1;
}

/* Wait for child `pid` to exit, at most timeout_ms; on timeout kill it
 * (SIGKILL) and reap. Returns the wait status, or -110 on timeout. Uses a
 * pidfd so that the wait is an event, not a polling loop. */
static RU_UNUSED int ru_reap(pid_t pid, int timeout_ms)
{
    int status = 0;
#ifdef SYS_pidfd_open
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd >= 0) {
        struct pollfd p = { .fd = pfd, .events = POLLIN };
        int r;
        do
            r = poll(&p, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        close(pfd);
        if (r == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -110;
        }
    }
#else
    (void)timeout_ms;
#endif
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return status;
}

/* Status of a child that exited normally with code 0? */
static RU_UNUSED bool ru_exit_ok(int status)
{
    return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- raw access to a ring's object ------------------------------------- */

/* Map /dev/shm/zinc_<name> read-write; *len gets its size. NULL on error. */
static RU_UNUSED uint8_t *ru_map_raw(const char *name, size_t *len)
{
    char p[512];
    ru_shm_path(p, sizeof(p), name);
    int fd = open(p, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size <= 0) {
        close(fd);
        return NULL;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return NULL;
    *len = (size_t)st.st_size;
    return m;
}

/* The ring base: the version-2 region's data area, one page in. */
static RU_UNUSED size_t ru_page(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

static inline uint64_t ru_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}


/* ---- checking consumer (stress tests) ------------------------------------ */

/* What one consumer saw. Lives in shared memory (processes) or in the
 * test's memory (threads); written only by that consumer. */
typedef struct ru_result {
    uint64_t frames;        /* successful acquires */
    uint64_t intact;        /* releases that returned 0 */
    uint64_t torn;          /* releases that returned -75 */
    uint64_t dropped;       /* sum of f.dropped */
    uint64_t last_seq;
    uint64_t attaches;      /* consumers that attach repeatedly: how often */
    uint64_t errors;        /* contract violations */
    uint64_t bad_seq;       /* first violation: seq, what, and a detail value */
    uint64_t bad_detail;
    int32_t bad_what;       /* RU_E_* */
    int32_t final_rc;       /* the acquire code that ended the loop (-32 expected) */
    int32_t mode;
    int32_t done;
} ru_result;

enum {
    RU_E_NONE = 0,
    RU_E_ORDER = 1,      /* seq not increasing / not prev + 1 (EVERY) */
    RU_E_DROPPED = 2,    /* seq != prev + 1 + dropped */
    RU_E_ACCEPTED_BAD = 3, /* release returned 0 but the payload was wrong */
    RU_E_EVERY_TORN = 4, /* an EVERY frame was overwritten while held */
    RU_E_RELEASE = 5,    /* release returned something else */
    RU_E_DESC = 6,       /* descriptor fields wrong (size, timestamp, user) */
    RU_E_ACQUIRE = 7,    /* acquire failed with an unexpected code */
};

static RU_UNUSED const char *ru_what(int32_t w)
{
    static const char *names[] = { "none", "order", "dropped", "accepted a bad payload",
                                   "EVERY frame torn", "release code", "descriptor",
                                   "acquire code" };
    return w >= 0 && w <= RU_E_ACQUIRE ? names[w] : "?";
}

static inline void ru_bad(ru_result *r, int32_t what, uint64_t seq, uint64_t detail)
{
    if (r->errors++ == 0) {
        r->bad_what = what;
        r->bad_seq = seq;
        r->bad_detail = detail;
    }
}

/* Producer side of the stress pattern: the descriptor carries
 * timestamp = seq * 3 + 1 and user[0..7] = seq, so that a reader can check
 * the descriptor copy as well as the payload. */
static inline uint64_t ru_ts(uint64_t seq)
{
    return seq * 3 + 1;
}

/* Consume until the acquire loop ends (-32 normally; -11/-110 only make a
 * poller ask again), checking every frame
 * against the contract of `mode`. `atomic`: read payloads with relaxed
 * atomic word loads (TSan runs; LOSSY/LATEST only need it). `max_size` is
 * the slot size. `every_ack` (fd or -1): write a byte there after each frame
 * whose user[8] is 1 (burst ends, for the wake-up hammer). */
static RU_UNUSED void ru_consume(zinc_consumer *c, zinc_delivery mode, int64_t timeout_ns,
                                 bool atomic, uint64_t max_size, int ack_fd, ru_result *res)
{
    uint64_t prev = 0;
    res->mode = (int32_t)mode;
    for (;;) {
        zinc_frame f;
        int r = zinc_consumer_acquire(c, &f, timeout_ns);
        if ((r == ZINC_EAGAIN && timeout_ns == 0) || (r == ZINC_ETIMEDOUT && timeout_ns > 0))
            continue; /* a poller: nothing yet, ask again */
        if (r != 0) {
            res->final_rc = r;
            if (r != ZINC_EPIPE)
                ru_bad(res, RU_E_ACQUIRE, prev, (uint64_t)(int64_t)r);
            break;
        }
        res->frames++;
        if (f.seq <= prev || (mode == ZINC_EVERY && f.seq != prev + 1))
            ru_bad(res, RU_E_ORDER, f.seq, prev);
        else if (f.seq != prev + 1 + f.dropped)
            ru_bad(res, RU_E_DROPPED, f.seq, f.dropped);
        uint64_t useq;
        memcpy(&useq, f.user, 8);
        /* The descriptor is copied under the seqlock: always consistent. */
        if (f.size > max_size || f.timestamp_ns != ru_ts(f.seq) || useq != f.seq)
            ru_bad(res, RU_E_DESC, f.seq, f.size);
        int chk = ru_check(f.data, f.size, f.seq, atomic);
        bool burst_end = f.user[8] == 1;
        int rr = zinc_consumer_release(c, &f);
        if (rr == 0) {
            res->intact++;
            if (chk != RU_OK)
                ru_bad(res, RU_E_ACCEPTED_BAD, f.seq, (uint64_t)chk);
        } else if (rr == ZINC_EOVERFLOW) {
            res->torn++;
            if (mode == ZINC_EVERY)
                ru_bad(res, RU_E_EVERY_TORN, f.seq, 0);
        } else {
            ru_bad(res, RU_E_RELEASE, f.seq, (uint64_t)(int64_t)rr);
        }
        res->dropped += f.dropped;
        prev = f.seq;
        res->last_seq = prev;
        if (burst_end && ack_fd >= 0)
            ru_signal(ack_fd);
    }
    res->done = 1;
}

/* Claim (waiting up to claim_timeout_ns), fill `size` bytes with the pattern,
 * describe it (timestamp, user), publish. 0 or the failing code. */
static RU_UNUSED int ru_produce(zinc_producer *p, uint64_t size, bool atomic, bool burst_end,
                                int64_t claim_timeout_ns)
{
    zinc_frame f;
    int r = zinc_producer_claim(p, &f, claim_timeout_ns);
    if (r != 0)
        return r;
    if (size > f.size)
        size = f.size;
    ru_fill(f.data, size, f.seq, atomic);
    f.size = size;
    f.timestamp_ns = ru_ts(f.seq);
    memcpy(f.user, &f.seq, 8);
    f.user[8] = burst_end ? 1 : 0;
    return zinc_producer_publish(p, &f);
}

/* The scheduler state letter in a /proc/.../stat file ('S' asleep in the
 * kernel, e.g. in FUTEX_WAIT; 'R' running), '?' if unknown. */
static RU_UNUSED char ru_stat_state(const char *path)
{
    char buf[512];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return '?';
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return '?';
    buf[n] = '\0';
    char *q = strrchr(buf, ')');
    return q && q[1] == ' ' ? q[2] : '?';
}

#endif /* ZINC_TESTS_RING_UTIL_H */
