/* SPDX-License-Identifier: MIT */
/*
 * fuzz-common.h — helpers shared by the libFuzzer targets: a per-process
 * object name, and writing fuzz bytes into /dev/shm as a "foreign" object.
 *
 * Input convention of the file-image targets (fuzz-region, fuzz-ring-attach):
 *   bytes 0..3   little-endian u32: size of the object (clamped, see below)
 *   byte  4      options for the target (mode, which calls to make, and the
 *                double-fetch flips: see each target)
 *   bytes 5..    the first bytes of the object; the rest is zero
 * With flips on, word i of the flipped set alternates between its value in
 * the image and that value XOR mask i, the masks being the input's last
 * 8 x (number of words) bytes (so they double as image bytes: the fuzzer
 * mutates both), and the size between the object's size and
 * size x (byte 4 >> 4) / 16.
 */
#ifndef ZINC_FUZZ_COMMON_H
#define ZINC_FUZZ_COMMON_H

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_MAX_OBJECT (1u << 20) /* 1 MiB: bigger sizes add nothing but time */
#define FUZZ_HDR 5

/* "fz_<what>_<pid>": unique per process; valid until the next call. */
static inline const char *fuzz_name(const char *what)
{
    static char name[64];
    snprintf(name, sizeof(name), "fz_%s_%d", what, (int)getpid());
    return name;
}

static inline uint32_t fuzz_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Make /dev/shm/zinc_<name> hold `size` bytes starting with `img`. */
static inline int fuzz_write_object(const char *name, uint32_t size, const uint8_t *img,
                                    size_t n)
{
    char obj[128];
    snprintf(obj, sizeof(obj), "/zinc_%s", name);
    shm_unlink(obj);
    int fd = shm_open(obj, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    if (n > size)
        n = size;
    if (ftruncate(fd, (off_t)size) < 0 || (n && pwrite(fd, img, n, 0) != (ssize_t)n)) {
        close(fd);
        shm_unlink(obj);
        return -1;
    }
    close(fd);
    return 0;
}

static inline void fuzz_unlink(const char *name)
{
    char obj[128];
    snprintf(obj, sizeof(obj), "/zinc_%s", name);
    shm_unlink(obj);
}

/* Touch every byte of [p, p + n) so that a pointer outside the mapping
 * faults here, under the fuzzer, and not silently. */
static inline uint8_t fuzz_touch(const void *p, uint64_t n)
{
    const volatile uint8_t *b = p;
    uint8_t x = 0;
    for (uint64_t i = 0; i < n; i++)
        x ^= b[i];
    return x;
}

/* ---- the double-fetch class: a peer changing the bytes while we read ----------
 *
 * A second thread alternates words of the object between two values, and
 * optionally the object's size between two sizes, for as long as the calls
 * under test run. A call that reads a value twice (validates one copy, uses
 * another) can then be caught using a value it never validated: a capacity
 * or geometry beyond the object, a pointer outside the mapping. Words are
 * written with pwrite, so a shrunk object never faults the flipper itself;
 * with size flips, only calls that promise never to fault (pread-only
 * readers) may run. */

#define FUZZ_FLIP_MAX 32

struct fuzz_flip {
    int fd;
    size_t n;
    off_t off[FUZZ_FLIP_MAX];
    uint64_t a[FUZZ_FLIP_MAX], b[FUZZ_FLIP_MAX];
    off_t size_a, size_b;   /* flipped when they differ */
    atomic_int stop;        /* relaxed: a plain stop flag */
    pthread_t th;
    bool running;
};

static void *fuzz_flip_loop(void *arg)
{
    struct fuzz_flip *f = arg;
    for (unsigned round = 0; !atomic_load_explicit(&f->stop, memory_order_relaxed); round++) {
        for (size_t i = 0; i < f->n; i++) {
            uint64_t v = (round & 1) ? f->a[i] : f->b[i];
            (void)!pwrite(f->fd, &v, sizeof(v), f->off[i]);
        }
        if (f->size_a != f->size_b)
            (void)!ftruncate(f->fd, (round & 1) ? f->size_a : f->size_b);
    }
    return NULL;
}

/* Prepare a flipper on /dev/shm/zinc_<name> (no words yet). */
static inline int fuzz_flip_init(struct fuzz_flip *f, const char *name, off_t size)
{
    char obj[128];
    memset(f, 0, sizeof(*f));
    snprintf(obj, sizeof(obj), "/zinc_%s", name);
    f->fd = shm_open(obj, O_RDWR | O_CLOEXEC, 0);
    f->size_a = f->size_b = size;
    atomic_init(&f->stop, 0);
    return f->fd < 0 ? -1 : 0;
}

/* Flip the word at `off` between its value in `img` (the object's first
 * `n` bytes) and that value XOR `mask`; only words inside `size`. */
static inline void fuzz_flip_word(struct fuzz_flip *f, const uint8_t *img, size_t n, off_t off,
                                  uint64_t mask, off_t size)
{
    if (f->n == FUZZ_FLIP_MAX || off < 0 || off + 8 > size || mask == 0)
        return;
    uint64_t v = 0;
    if ((size_t)off < n)
        memcpy(&v, img + off, n - (size_t)off < 8 ? n - (size_t)off : 8);
    f->off[f->n] = off;
    f->a[f->n] = v;
    f->b[f->n] = v ^ mask;
    f->n++;
}

static inline void fuzz_flip_start(struct fuzz_flip *f)
{
    if (f->fd >= 0 && (f->n || f->size_a != f->size_b))
        f->running = pthread_create(&f->th, NULL, fuzz_flip_loop, f) == 0;
}

/* Stop the flipper and leave the object as `img` made it (its words at
 * their first value, its first size), so that what follows (removal,
 * replacement) sees a settled object. */
static inline void fuzz_flip_stop(struct fuzz_flip *f)
{
    if (f->running) {
        atomic_store_explicit(&f->stop, 1, memory_order_relaxed);
        pthread_join(f->th, NULL);
    }
    if (f->fd >= 0) {
        (void)!ftruncate(f->fd, f->size_a);
        for (size_t i = 0; i < f->n; i++)
            (void)!pwrite(f->fd, &f->a[i], 8, f->off[i]);
        close(f->fd);
    }
    f->fd = -1;
    f->running = false;
}

/* Mask i of `nwords` from the input's tail (zero where the input is too
 * short). */
static inline uint64_t fuzz_flip_mask(const uint8_t *data, size_t size, size_t i, size_t nwords)
{
    size_t need = 8 * nwords;
    if (size < need)
        return 0;
    const uint8_t *p = data + size - need + 8 * i;
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--)
        v = v << 8 | p[k];
    return v;
}

/* The flipped size of an object of `size` bytes for option byte `opt`. */
static inline off_t fuzz_flip_size(uint32_t size, uint8_t opt)
{
    return (off_t)((uint64_t)size * (opt >> 4) / 16);
}

#endif
