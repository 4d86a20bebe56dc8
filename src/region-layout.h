/* SPDX-License-Identifier: MIT */
/*
 * region-layout.h — the Zinc region header: the 64 bytes at offset 0 of
 * every region object, byte-compatible with upstream Zinc. Only the region
 * layer (src/region.c) reads or writes them; layers built on a region (the
 * frame ring, src/layout.h) go through src/region.h.
 *
 * Little-endian, native alignment. Atomic fields are plain integers of the
 * same size to any other language. docs/layout.md describes the same bytes;
 * tests/test-layout.c pins them again.
 */
#ifndef ZINC_REGION_LAYOUT_H
#define ZINC_REGION_LAYOUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Region header (upstream Zinc, 64 bytes at offset 0) ----------------- */

#define ZINC_REGION_MAGIC 0x5A494E435F524547ull /* bytes 47 45 52 5F 43 4E 49 5A */
#define ZINC_REGION_V1 1
#define ZINC_REGION_V2 2
#define ZINC_FLAG_OWNER_CLOSED 0x1u

struct zinc_hdr {
    _Atomic uint64_t magic;       /* published last (release), read first (acquire) */
    uint16_t version;             /* 1: data at 64; 2: data at one page */
    _Atomic uint16_t flags;       /* bit 0: owner closed (our extension) */
    _Atomic uint32_t notify_seq;  /* notify counter and futex word */
    uint64_t capacity;            /* usable data bytes */
    _Atomic uint32_t ref_count;   /* open handles, 1 at create */
    _Atomic int32_t owner_pid;    /* creator's pid (diagnostic) */
    uint64_t created_at;          /* Unix time in ns */
    uint64_t name_hash;           /* FNV-1a 64 of the bare name */
    _Atomic uint64_t ring_head;   /* reserved by upstream, 0 */
    _Atomic uint64_t ring_tail;   /* reserved by upstream, 0 */
};

_Static_assert(offsetof(struct zinc_hdr, magic) == 0, "magic");
_Static_assert(offsetof(struct zinc_hdr, version) == 8, "version");
_Static_assert(offsetof(struct zinc_hdr, flags) == 10, "flags");
_Static_assert(offsetof(struct zinc_hdr, notify_seq) == 12, "notify_seq");
_Static_assert(offsetof(struct zinc_hdr, capacity) == 16, "capacity");
_Static_assert(offsetof(struct zinc_hdr, ref_count) == 24, "ref_count");
_Static_assert(offsetof(struct zinc_hdr, owner_pid) == 28, "owner_pid");
_Static_assert(offsetof(struct zinc_hdr, created_at) == 32, "created_at");
_Static_assert(offsetof(struct zinc_hdr, name_hash) == 40, "name_hash");
_Static_assert(offsetof(struct zinc_hdr, ring_head) == 48, "ring_head");
_Static_assert(offsetof(struct zinc_hdr, ring_tail) == 56, "ring_tail");
_Static_assert(sizeof(struct zinc_hdr) == 64, "header is 64 bytes");
_Static_assert(sizeof(_Atomic uint64_t) == 8 && sizeof(_Atomic uint32_t) == 4 &&
                   sizeof(_Atomic uint16_t) == 2,
               "atomics have the size of their integers");

#endif /* ZINC_REGION_LAYOUT_H */
