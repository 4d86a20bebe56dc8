/* SPDX-License-Identifier: MIT */
/*
 * private.h — helpers below every layer (not installed): errors, clocks,
 * processes, liveness tokens, futexes (src/sys.c), and the shared-memory
 * objects' names, creation, replacement and removal (src/shm.c). Nothing
 * here knows of regions or rings.
 */
#ifndef ZINC_PRIVATE_H
#define ZINC_PRIVATE_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

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

#define ZINC_NSEC 1000000000ull

/* "/zinc_" + name + NUL */
#define ZINC_OBJ_NAME_MAX (6 + ZINC_NAME_MAX + 1)

/* ---- error.c ---------------------------------------------------------------- */

/* Record a detailed message for this thread, return `code`. */
ZINC_HIDDEN int zinc__fail(int code, const char *fmt, ...) ZINC_PRINTF(2, 3);
/* Same with a static message: no formatting, for hot paths (-11, -110). */
ZINC_HIDDEN int zinc__fail_static(int code, const char *msg);
ZINC_HIDDEN void zinc__clear_error(void);

/* ---- time ------------------------------------------------------------------- */

/* CLOCK_* in ns. */
static inline uint64_t zinc__now_ns(int clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * ZINC_NSEC + (uint64_t)ts.tv_nsec;
}

static inline void zinc__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* ---- sys.c: processes, liveness tokens, futexes ------------------------------ */

ZINC_HIDDEN long zinc__page_size(void);
/* Is process `pid` alive, and (if created_at_unix_ns != 0) not a reuse of
 * the pid by a process started more than 2 s after it? Zombies are dead. */
ZINC_HIDDEN bool zinc__pid_alive(int32_t pid, uint64_t created_at_unix_ns);
/* Start time of `pid` in Unix ns, 0 if unknown. */
ZINC_HIDDEN uint64_t zinc__proc_start_ns(int32_t pid);
/* A random non-zero 64-bit value (getrandom, else time and pid). */
ZINC_HIDDEN uint64_t zinc__random_u64(void);

/* OFD byte-range locks used as liveness tokens: the kernel drops them when
 * the holder's last fd to the object closes, i.e. when it dies, in any pid
 * namespace. */
ZINC_HIDDEN int zinc__token_take(int fd, uint64_t byte);      /* 0, -EAGAIN if held */
ZINC_HIDDEN int zinc__token_held(int fd, uint64_t byte);      /* 1 held, 0 free, <0 error */
ZINC_HIDDEN void zinc__token_drop(int fd, uint64_t byte);

/* Shared (not private) futexes: waiters may be in other processes. */
ZINC_HIDDEN int zinc__futex_wait(_Atomic uint32_t *addr, uint32_t expected, int64_t timeout_ns);
ZINC_HIDDEN void zinc__futex_wake(_Atomic uint32_t *addr);

/* Private futexes: a word of this process's own memory. */
ZINC_HIDDEN int zinc__futex_wait_private(_Atomic uint32_t *addr, uint32_t expected,
                                         int64_t timeout_ns);
ZINC_HIDDEN void zinc__futex_wake_private(_Atomic uint32_t *addr);

/* One word of a futex_waitv: sleep while *addr == val. */
#define ZINC_FUTEX_WAITV_MAX 128
struct zinc__futex_waiter {
    _Atomic uint32_t *addr;
    uint32_t val;
    bool private_;           /* a word of this process only */
};
/* futex_waitv until CLOCK_MONOTONIC deadline_ns (UINT64_MAX: none): the
 * index of a woken word, or -EAGAIN (a word differed), -ETIMEDOUT, -EINTR,
 * -ENOSYS (kernel < 5.16). */
ZINC_HIDDEN int zinc__futex_waitv(const struct zinc__futex_waiter *w, uint32_t n,
                                  uint64_t deadline_ns);
/* ---- owner.c: whom we trust, and vetting a descriptor ------------------------ */

/* Is an object owned by `uid` trusted: our effective uid, or a uid listed in
 * ZINC_TRUST_UID (decimal, separated by commas or spaces)? */
ZINC_HIDDEN bool zinc__uid_trusted(uid_t uid);
/* "FIFO", "directory", ... for a st_mode. */
ZINC_HIDDEN const char *zinc__file_type(mode_t mode);
/* fstat `fd` into *st and vet it before anything is read from it: a
 * regular file whose owner is trusted. Returns 0; 1 for a regular file of
 * another owner when `foreign_ok` (read-only peeks report it, flagged);
 * -1 (ZINC_EPERM) for another owner, naming both uids; -74 for a trusted
 * non-regular file. Works on any descriptor (a name's, or one received over
 * a socket). */
ZINC_HIDDEN int zinc__fd_vet(int fd, const char *name, const char *what, bool foreign_ok,
                             struct stat *st);

/* ---- shm.c: the objects in /dev/shm ----------------------------------------- */

ZINC_HIDDEN uint64_t zinc__fnv1a64(const char *s, size_t n);
/* Validate `name` and write "/zinc_<name>" into obj (ZINC_OBJ_NAME_MAX). */
ZINC_HIDDEN int zinc__obj_name(const char *name, char *obj);
/* Free bytes in the filesystem behind /dev/shm; UINT64_MAX if unknown. */
ZINC_HIDDEN uint64_t zinc__shm_free_bytes(void);
/* Map errno from shm_open to a zinc code (with a message). */
ZINC_HIDDEN int zinc__shm_errno(int err, const char *what, const char *name);
/* Human size, e.g. "67.1 MiB". buf >= 32. */
ZINC_HIDDEN const char *zinc__human(uint64_t bytes, char *buf, size_t len);
/* -28 with a message saying how much `name` needs and /dev/shm has. */
ZINC_HIDDEN int zinc__no_space(const char *name, uint64_t need);

/* Judge of an object found at a name being created: 0 when it is stale
 * (the caller removes it, then creates afresh), ZINC_EEXIST to keep it, or
 * another negative code. `fd` is a read-write descriptor of it, `st` its
 * stat. The judge may act on the stale object (e.g. mark it closed) before
 * it answers 0. */
typedef int (*zinc__judge_fn)(int fd, const struct stat *st, const char *name, void *arg);

/* Create object `obj` exclusively (mode 0600, O_CLOEXEC). When the name is
 * taken, `judge` (NULL: never replace) decides; a stale object is removed
 * under the unlink guard and creation retried (a few times: concurrent
 * creators race for the name, each at most once per round). Returns the
 * descriptor (>= 0) with *st filled, or a negative code. */
ZINC_HIDDEN int zinc__shm_create(const char *obj, const char *name, zinc__judge_fn judge,
                                 void *arg, struct stat *st);
/* Reserve every page of the object (posix_fallocate) so that a full
 * /dev/shm fails here with -28, never as a SIGBUS at first touch. */
ZINC_HIDDEN int zinc__shm_reserve(int fd, uint64_t total, const char *name);
/* Would unlinking `obj` remove the object (dev, ino)? Unlink only then.
 * 0 removed, -2 gone, -17 the name refers to another object, -110 the
 * removal guard stayed taken for 100 ms (the name is left in place, with a
 * message), or -errno. Never waits longer. */
ZINC_HIDDEN int zinc__unlink_if_same(const char *obj, dev_t dev, ino_t ino);
/* Open the existing object `obj` the one safe way: O_NONBLOCK (a FIFO
 * planted at the name never blocks us), O_NOFOLLOW (nor a symbolic link),
 * O_CLOEXEC; then zinc__fd_vet (regular file, trusted owner; `foreign_ok`
 * for read-only peeks, which then get *foreign = true). `oflag` is O_RDONLY
 * or O_RDWR. Returns the descriptor with *st filled, or a negative code
 * (-2 missing, -1 another user's, -74 not a regular file, ...). */
ZINC_HIDDEN int zinc__shm_open_existing(const char *obj, const char *name, int oflag,
                                        const char *what, bool foreign_ok, struct stat *st,
                                        bool *foreign);
/* After mapping `mapped` bytes of the object on fd: -74 if it is smaller
 * now (a peer truncated it between our fstat and mmap; touching the tail
 * would raise SIGBUS). */
ZINC_HIDDEN int zinc__shm_size_held(int fd, uint64_t mapped, const char *name, const char *what);
/* Does the name `obj` still refer to (dev, ino)? 1 yes, 0 no (removed or
 * replaced), 1 as well when it cannot tell (no /dev/shm path). */
ZINC_HIDDEN int zinc__name_is(const char *obj, dev_t dev, ino_t ino);
/* Make a just-created object group-readable and -writable (0660; the
 * group is the creator's effective gid) for deliberate sharing. */
ZINC_HIDDEN int zinc__shm_share_group(int fd, const char *name);

#endif /* ZINC_PRIVATE_H */
