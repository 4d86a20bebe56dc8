/* SPDX-License-Identifier: MIT */
/* Internal helpers shared by region.c and ring.c. Not installed. */
#ifndef ZINC_PRIVATE_H
#define ZINC_PRIVATE_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <zinc/zinc.h>

#define ZINC_HIDDEN __attribute__((visibility("hidden")))

#if defined(__GNUC__)
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define ZINC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define likely(x)   (x)
#define unlikely(x) (x)
#define ZINC_PRINTF(a, b)
#endif

/* "/zinc_" + name + NUL */
#define ZINC_OBJ_NAME_MAX (6 + ZINC_NAME_MAX + 1)

/* error.c: record a detailed message for this thread, return `code`. */
ZINC_HIDDEN int zinc__fail(int code, const char *fmt, ...) ZINC_PRINTF(2, 3);
/* Same with a static message: no formatting, for hot paths (-11, -110). */
ZINC_HIDDEN int zinc__fail_static(int code, const char *msg);
ZINC_HIDDEN void zinc__clear_error(void);

/* shm.c */
ZINC_HIDDEN uint64_t zinc__fnv1a64(const char *s, size_t n);
/* Validate `name` and write "/zinc_<name>" into obj (ZINC_OBJ_NAME_MAX). */
ZINC_HIDDEN int zinc__obj_name(const char *name, char *obj);
ZINC_HIDDEN long zinc__page_size(void);
ZINC_HIDDEN uint64_t zinc__now_ns(int clock);     /* CLOCK_* in ns */
/* Is process `pid` alive, and (if created_at_unix_ns != 0) not a reuse of
 * the pid by a process started more than 2 s after it? Zombies are dead. */
ZINC_HIDDEN bool zinc__pid_alive(int32_t pid, uint64_t created_at_unix_ns);
/* Start time of `pid` in Unix ns, 0 if unknown. */
ZINC_HIDDEN uint64_t zinc__proc_start_ns(int32_t pid);
/* Free bytes in the filesystem behind /dev/shm; UINT64_MAX if unknown. */
ZINC_HIDDEN uint64_t zinc__shm_free_bytes(void);
/* Would unlinking `obj` remove the object (dev, ino)? Unlink only then. */
ZINC_HIDDEN int zinc__unlink_if_same(const char *obj, dev_t dev, ino_t ino);
/* Map errno from shm_open to a zinc code (with a message). */
ZINC_HIDDEN int zinc__shm_errno(int err, const char *what, const char *name);
/* Human size, e.g. "67.1 MiB". buf >= 32. */
ZINC_HIDDEN const char *zinc__human(uint64_t bytes, char *buf, size_t len);

/* OFD byte-range locks used as liveness tokens: the kernel drops them when
 * the holder's last fd to the object closes, i.e. when it dies, in any pid
 * namespace. */
ZINC_HIDDEN int zinc__token_take(int fd, uint64_t byte);      /* 0, -EAGAIN if held */
ZINC_HIDDEN int zinc__token_held(int fd, uint64_t byte);      /* 1 held, 0 free, <0 error */
ZINC_HIDDEN void zinc__token_drop(int fd, uint64_t byte);

/* Shared (not private) futexes: waiters may be in other processes. */
ZINC_HIDDEN int zinc__futex_wait(_Atomic uint32_t *addr, uint32_t expected, int64_t timeout_ns);
ZINC_HIDDEN void zinc__futex_wake(_Atomic uint32_t *addr);

static inline void zinc__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

#endif /* ZINC_PRIVATE_H */
