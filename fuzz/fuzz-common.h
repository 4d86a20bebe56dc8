/* SPDX-License-Identifier: MIT */
/*
 * fuzz-common.h — helpers shared by the libFuzzer targets: a per-process
 * object name, and writing fuzz bytes into /dev/shm as a "foreign" object.
 *
 * Input convention of the file-image targets (fuzz-region, fuzz-ring-attach):
 *   bytes 0..3   little-endian u32: size of the object (clamped, see below)
 *   byte  4      options for the target (mode, which calls to make)
 *   bytes 5..    the first bytes of the object; the rest is zero
 */
#ifndef ZINC_FUZZ_COMMON_H
#define ZINC_FUZZ_COMMON_H

#include <fcntl.h>
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

#endif
