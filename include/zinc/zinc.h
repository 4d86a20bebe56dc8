/* SPDX-License-Identifier: MIT */
/*
 * zinc.h — Zinc-compatible shared-memory regions.
 *
 * A region is a named POSIX shared-memory object with a 64-byte header
 * (byte-compatible with upstream Zinc) followed by `capacity` data bytes.
 * The first nine functions are upstream Zinc's exact C ABI; everything after
 * them is a zinc extension with the same prefix.
 *
 * Return codes are literal negative numbers (ZINC_E*); 0 is success.
 * zinc_strerror() explains each one, zinc_last_error() gives the calling
 * thread's detailed message for its last failing call.
 *
 * Thread-safety (all functions): safe to call from any thread, but one handle
 * is used by one thread at a time. Handles are not inherited across fork():
 * a child opens its own.
 */
#ifndef ZINC_ZINC_H
#define ZINC_ZINC_H

#include <stddef.h>
#include <stdint.h>

#include <zinc/version.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(ZINC_BUILDING) && defined(__GNUC__)
#define ZINC_API __attribute__((visibility("default")))
#else
#define ZINC_API
#endif

/* Return codes, as upstream Zinc (literal numbers, part of the ABI). */
#define ZINC_OK          0
#define ZINC_EPERM      (-1)   /* permission denied */
#define ZINC_ENOENT     (-2)   /* no region/ring of that name */
#define ZINC_EINTR      (-4)   /* a blocking call was interrupted by a signal handler */
#define ZINC_EAGAIN     (-11)  /* nothing pending / would block / retry */
#define ZINC_EBUSY      (-16)  /* consumer table full */
#define ZINC_EEXIST     (-17)  /* name already exists (live owner) */
#define ZINC_EINVAL     (-22)  /* invalid name, size, argument, NULL handle, misuse */
#define ZINC_ENOSPC     (-28)  /* not enough free space in /dev/shm */
#define ZINC_EPIPE      (-32)  /* producer gone (closed, dead or replaced) */
#define ZINC_EBADMSG    (-74)  /* corrupted or incompatible region/ring */
#define ZINC_EOVERFLOW  (-75)  /* frame overwritten while held (torn) */
#define ZINC_EMSGSIZE   (-90)  /* frame larger than its slot */
#define ZINC_ETIMEDOUT  (-110) /* timed out */

/* Longest bare name, in bytes (the object is "/zinc_" + name). */
#define ZINC_NAME_MAX 250
/* Size of the region header; version-1 data starts here. */
#define ZINC_HEADER_SIZE 64

typedef void *ZincHandle;

/* ---- Upstream Zinc C ABI ------------------------------------------------ */

/* Create region `name` ([A-Za-z0-9_-]{1,250}) with `capacity` data bytes
 * (a non-zero multiple of the page size), layout version 1 (data at 64).
 * *out is set to NULL first. Returns 0, -22 bad name/capacity/NULL,
 * -17 name exists, -1 permission, -28 no space, or -errno.
 * Thread-safety: any thread. */
ZINC_API int32_t zinc_create(const char *name, uintptr_t capacity, ZincHandle *out);

/* Open an existing region (layout version 1 or 2). *out is set to NULL
 * first. Returns 0, -22, -2 missing, -1 permission or an object owned by
 * another user (see "Owners" below), -74 corrupted or incompatible (or not
 * a regular file), or -errno. Thread-safety: any thread. */
ZINC_API int32_t zinc_open(const char *name, ZincHandle *out);

/* First data byte; NULL for a NULL handle. */
ZINC_API uint8_t *zinc_ptr(ZincHandle h);

/* Usable data bytes; 0 for a NULL handle. */
ZINC_API uintptr_t zinc_capacity(ZincHandle h);

/* Give the handle back and unmap. The name is removed when the owner has
 * closed and no other handle remains (see docs/region.md). NULL: no-op. */
ZINC_API void zinc_close(ZincHandle h);

/* Bump the region's notification counter and wake every waiter, in any
 * process. NULL: no-op. */
ZINC_API void zinc_notify(ZincHandle h);

/* Wait until the notification counter differs from this handle's cursor
 * (notifications coalesce). 0 when one is pending (consumed), -110 on
 * timeout, -22 for NULL. timeout_ms = 0 checks once. UINT32_MAX ms is not
 * special (about 49 days), as upstream. */
ZINC_API int32_t zinc_wait(ZincHandle h, uint32_t timeout_ms);

/* 0 if a notification is pending (and consume it), -11 if none, -22 NULL. */
ZINC_API int32_t zinc_try_wait(ZincHandle h);

/* (1 << 16) | 1: the upstream C ABI version this library implements. */
ZINC_API uint32_t zinc_version(void);

/* ---- Extensions ---------------------------------------------------------- */

/* Owners. /dev/shm is writable by every user, so another user could create
 * a name first and feed forged data to whoever opens it. Every call that
 * attaches to or acts on an existing object (zinc_open, zinc_create_ex over
 * an existing name, zinc_consumer_open, zinc_producer_create, removal of a
 * stale ring) refuses one whose owner is not this process's effective uid
 * with -1 and a message naming both uids; zinc_inspect and
 * zinc_ring_stats_read still report it (read only, never mapped), with
 * `foreign` set. Deliberate sharing between users takes both sides: the
 * creator makes the object group-accessible (ZINC_CREATE_GROUP_ACCESS,
 * ZINC_RING_GROUP_ACCESS: mode 0660, group = its effective gid), and each
 * other user lists the creator's uid in the environment variable
 * ZINC_TRUST_UID (decimal uids separated by commas). A FIFO, symbolic link
 * or other non-regular file at a name is refused without waiting on it. */

/* zinc_create_opts.flags */
#define ZINC_CREATE_REPLACE_STALE 0x1u /* replace a name whose owner is gone */
#define ZINC_CREATE_PREFAULT      0x2u /* populate the mapping (MAP_POPULATE) */
#define ZINC_CREATE_GROUP_ACCESS  0x4u /* mode 0660 instead of 0600, group = the
                                          creator's effective gid (see "Owners") */

typedef struct zinc_create_opts {
    uint32_t layout_version; /* 0 or 1: data at 64; 2: data at one page */
    uint32_t flags;          /* ZINC_CREATE_* */
    uint64_t reserved[6];    /* zero (else -22) */
} zinc_create_opts;

/* zinc_create with options; opts may be NULL (= zinc_create). With
 * ZINC_CREATE_REPLACE_STALE, an existing name whose owner is gone (owner
 * closed, owner pid dead, pid reused, or never finished creating) is
 * unlinked and a fresh region made; a live owner is still -17.
 * Thread-safety: any thread. */
ZINC_API int32_t zinc_create_ex(const char *name, uintptr_t capacity,
                                const zinc_create_opts *opts, ZincHandle *out);

/* Remove the name `name` (shm_unlink of "/zinc_" + name) whatever its state;
 * mappings stay valid. Returns 0, -22, -2, -1, -110 (another process held
 * the removal guard for 100 ms: a remover stopped mid-way, or a hostile
 * lock; the name is left in place) or -errno. */
ZINC_API int32_t zinc_unlink(const char *name);

/* Read-only snapshot of a region's header. */
typedef struct zinc_region_info {
    uint16_t version;        /* header version: 1 or 2 */
    uint16_t flags;          /* header flags (bit 0: owner closed) */
    uint32_t notify_seq;
    uint64_t capacity;
    uint64_t data_offset;    /* 64 (version 1) or the page size (version 2) */
    uint64_t file_size;      /* size of the shared-memory object */
    uint32_t ref_count;      /* open handles (a hint: crashed openers never give theirs back) */
    int32_t  owner_pid;
    int32_t  owner_alive;    /* 1 alive, 0 gone (dead, closed, or pid reused) */
    uint32_t is_ring;        /* 1 when the data area holds a zinc frame ring */
    uint64_t created_at;     /* Unix time, ns */
    uint64_t name_hash;      /* FNV-1a 64 of the bare name */
    uint32_t owner_uid;      /* st_uid of the object */
    uint32_t foreign;        /* 1: owned by a uid this process does not trust
                                (see "Owners"): every attaching call refuses it */
    uint64_t reserved[3];
} zinc_region_info;

/* Inspect region `name` without opening it (no ref_count change; read with
 * pread, never mapped, so a peer truncating it meanwhile gives -74, never a
 * SIGBUS). Another user's object is reported with `foreign` set. Returns
 * 0, -22, -2, -1 (no read permission, or not a regular file owned by
 * another user), -74. Thread-safety: any thread. */
ZINC_API int32_t zinc_inspect(const char *name, zinc_region_info *out);

/* zinc_inspect for an object open on `fd` (e.g. an anonymous ring's memfd
 * from zinc_ring_connect); read with pread. Returns 0, -22, -74. */
ZINC_API int32_t zinc_inspect_fd(int fd, zinc_region_info *out);

/* Same snapshot for an open handle. Returns 0 or -22. */
ZINC_API int32_t zinc_region_info_get(ZincHandle h, zinc_region_info *out);

/* Layout version of an open handle (1 or 2); 0 for NULL. */
ZINC_API uint32_t zinc_layout(ZincHandle h);

/* FNV-1a 64 of the bare name, as stored in the header. */
ZINC_API uint64_t zinc_name_hash(const char *name);

/* Check a bare name: 0 if valid, -22 otherwise. No system call. */
ZINC_API int32_t zinc_name_valid(const char *name);

/* The library's own version, e.g. "0.1.0" (ZINC_VERSION_STRING of the
 * library that is loaded, which may differ from the header's). */
ZINC_API const char *zinc_version_string(void);

/* Static message for a code: what happened and what to do. Never NULL. */
ZINC_API const char *zinc_strerror(int32_t code);

/* The calling thread's message for its last failing zinc call ("" if none).
 * Valid until that thread's next zinc call. */
ZINC_API const char *zinc_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* ZINC_ZINC_H */
