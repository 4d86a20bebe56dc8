/* SPDX-License-Identifier: MIT */
/*
 * layout.h — the frame ring's shared-memory wire format, in the data area
 * of a version-2 Zinc region (whose header is src/region-layout.h). Only
 * fixed-width integers and offsets, never pointers. Every offset is
 * pinned with _Static_assert; docs/layout.md describes the same bytes for
 * other languages and tests/test-layout.c pins them again.
 *
 * Little-endian, native alignment. Atomic fields are plain integers of the
 * same size to any other language.
 */
#ifndef ZINC_LAYOUT_H
#define ZINC_LAYOUT_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "region-layout.h"

/* ---- Frame ring (in the data area of a version-2 region) ----------------- */
/*
 * All ring offsets are relative to the ring base = the region's data area,
 * which starts one page into the object (version-2 region), so the base is
 * page-aligned and payload offsets that are page multiples are page-aligned
 * absolute addresses.
 *
 *   [ctl 1024 B][consumer table: max_consumers x 512 B][descriptors:
 *    slot_count x 192 B][pad to page][payloads: slot_count x slot_stride]
 */

#define ZR_MAGIC 0x474E4952434E495Aull /* "ZINCRING" as little-endian bytes */
#define ZR_LAYOUT_VERSION 1u
#define ZR_LINE 128 /* separation of producer- and consumer-written words:
                       two 64-byte lines, against the adjacent-line prefetcher */

enum zr_prod_state { ZR_CREATING = 0, ZR_OPEN = 1, ZR_CLOSED = 2 };
enum zr_cons_state { ZR_FREE = 0, ZR_ATTACHING = 1, ZR_ACTIVE = 2 };

/* Liveness tokens: OFD write locks on single bytes of the object. Byte 0 is
 * the producer's; byte 1 + i is consumer entry i's. */
#define ZR_TOKEN_PRODUCER 0u
#define ZR_TOKEN_CONSUMER(i) (1u + (uint64_t)(i))

/* Frame descriptor words (also the stream descriptor). The first 64-byte
 * line holds the lock word and everything every frame needs; the tensor
 * words (second line) are written and read only when ndim > 0, the user
 * area (third line) only when ZD_HAS_USER is set: a raw frame without user
 * data moves one descriptor line between cores, not three. */
enum {
    ZD_SEQ = 0,
    ZD_SIZE,
    ZD_TIMESTAMP,
    ZD_PUBLISH,
    ZD_DTYPE,        /* code | bits << 8 | lanes << 16 | (uint64)ndim << 32 */
    ZD_OFFSET,
    ZD_FOURCC_FLAGS, /* fourcc | (uint64)flags << 32 | ZD_HAS_USER */
    ZD_SHAPE,        /* 4 words, meaningful only when ndim > 0 */
    ZD_STRIDES = ZD_SHAPE + 4, /* 4 words, idem */
    ZD_USER = ZD_STRIDES + 4,  /* 8 words = 64 bytes, only with ZD_HAS_USER */
    ZD_WORDS = ZD_USER + 8,
};
#define ZD_HAS_USER (1ull << 48) /* in ZD_FOURCC_FLAGS: the user area is set */

struct zr_desc {
    /* Seqlock: 0 never written; 2*seq - 1 while the producer owns the slot
     * for frame `seq`; 2*seq once frame `seq` is published. */
    _Atomic uint64_t lock;
    _Atomic uint64_t w[ZD_WORDS];
};
_Static_assert(sizeof(struct zr_desc) == 192, "descriptor is 192 bytes");
_Static_assert(8 + 8 * ZD_FOURCC_FLAGS < 64 && 8 + 8 * ZD_SHAPE == 64 &&
                   8 + 8 * ZD_USER == 128,
               "descriptor lines: core, tensor, user");

/* The ring's geometry: written once at create into the control block's
 * first line, and kept by every handle as its validated private copy. */
struct zr_geom {
    uint64_t ring_bytes;     /* the ring: control block to the last payload */
    uint32_t slot_count;
    uint32_t max_consumers;
    uint64_t slot_size;
    uint64_t slot_stride;
    uint64_t off_consumers;
    uint64_t off_descs;
    uint64_t off_payloads;
};
_Static_assert(sizeof(struct zr_geom) == 56, "geometry is 56 bytes");

struct zr_ctl {
    /* line 0: geometry, written once before magic, read-only afterwards */
    _Atomic uint64_t magic;
    uint32_t layout_version;
    uint32_t ctl_size;
    uint64_t generation;
    struct zr_geom geom;
    uint32_t consumer_size;
    uint32_t desc_size;
    uint32_t flags;
    uint32_t spin_ns;
    uint64_t demote_after_ns;
    uint64_t created_ns;
    uint8_t pad0[ZR_LINE - 112];

    /* line 1: producer-written on every publish */
    _Atomic uint64_t head;       /* last published seq, 0 = none */
    _Atomic uint32_t pub_futex;  /* (uint32)head: consumers sleep on it */
    uint32_t pad1a;
    uint8_t pad1[ZR_LINE - 16];

    /* line 2: consumer-written, read by the producer */
    _Atomic uint32_t cons_waiters; /* consumers inside the sleep protocol */
    _Atomic uint32_t every_epoch;  /* bumped when an EVERY consumer attaches */
    _Atomic uint32_t hi_water;     /* 1 + highest consumer entry ever used */
    uint8_t pad2[ZR_LINE - 12];

    /* line 3: the producer's sleep on EVERY consumers */
    _Atomic uint32_t space_futex;  /* bumped by releases that wake the producer */
    _Atomic uint32_t prod_waiting; /* producer inside the sleep protocol */
    uint8_t pad3[ZR_LINE - 8];

    /* line 4: producer identity and counters (producer-written, cold) */
    _Atomic int32_t prod_pid;
    uint32_t pad4a;
    _Atomic uint64_t prod_start_ns; /* process start, Unix ns (diagnostic) */
    _Atomic uint64_t published;
    _Atomic uint64_t aborted;
    _Atomic uint64_t blocked_ns;
    _Atomic uint64_t blocked_claims;
    _Atomic uint64_t evicted;
    _Atomic uint64_t demoted;
    _Atomic uint64_t last_publish_ns;
    _Atomic uint64_t published_bytes;
    uint8_t pad4[ZR_LINE - 80];

    /* lines 5-6: stream descriptor (lock = 2 * n once set n times) */
    struct zr_desc stream;
    uint8_t pad5[2 * ZR_LINE - sizeof(struct zr_desc)];

    /* line 7: producer state, written at create and close only, read by
     * consumers on every empty poll: on a line of its own so that those
     * polls do not pull the publish line across cores after each frame. */
    _Atomic uint32_t prod_state; /* zr_prod_state */
    uint8_t pad7[ZR_LINE - 4];
};

_Static_assert(offsetof(struct zr_ctl, magic) == 0, "ring magic");
_Static_assert(offsetof(struct zr_ctl, geom) == 24, "geometry");
_Static_assert(offsetof(struct zr_ctl, demote_after_ns) == 96, "geometry");
_Static_assert(offsetof(struct zr_ctl, created_ns) == 104, "geometry");
_Static_assert(offsetof(struct zr_ctl, head) == 1 * ZR_LINE, "head line");
_Static_assert(offsetof(struct zr_ctl, pub_futex) == 1 * ZR_LINE + 8, "pub_futex");
_Static_assert(offsetof(struct zr_ctl, prod_state) == 7 * ZR_LINE, "prod_state line");
_Static_assert(offsetof(struct zr_ctl, cons_waiters) == 2 * ZR_LINE, "consumer line");
_Static_assert(offsetof(struct zr_ctl, space_futex) == 3 * ZR_LINE, "space line");
_Static_assert(offsetof(struct zr_ctl, prod_pid) == 4 * ZR_LINE, "producer line");
_Static_assert(offsetof(struct zr_ctl, last_publish_ns) == 4 * ZR_LINE + 64, "counters");
_Static_assert(offsetof(struct zr_ctl, published_bytes) == 4 * ZR_LINE + 72, "counters");
_Static_assert(offsetof(struct zr_ctl, stream) == 5 * ZR_LINE, "stream descriptor");
_Static_assert(sizeof(struct zr_ctl) == 1024, "control block is 1024 bytes");

#define ZR_HIST 32

struct zr_cons {
    /* line 0: consumer-written, read by the producer (cursor) and tools */
    _Atomic uint64_t cursor;     /* last seq consumed (EVERY: released) */
    _Atomic uint32_t state;      /* zr_cons_state */
    uint32_t reserved0;          /* 0 (was the mode asked for at attach: the
                                    mode in force is `mode`, line 1) */
    _Atomic uint64_t acquired;
    _Atomic uint64_t released;
    _Atomic uint64_t dropped;
    _Atomic uint64_t torn;
    _Atomic int32_t pid;
    uint32_t pad0a;
    _Atomic uint64_t attached_ns;
    uint8_t pad0[ZR_LINE - 64];

    /* line 1: producer-written */
    _Atomic uint32_t mode;       /* mode in force (LOSSY after demotion/eviction) */
    _Atomic uint32_t demoted;
    _Atomic uint32_t evicted;
    uint8_t pad1[ZR_LINE - 12];

    /* lines 2-3: consumer-written latency histogram, publish -> acquire */
    _Atomic uint64_t latency[ZR_HIST];
};

_Static_assert(offsetof(struct zr_cons, cursor) == 0, "cursor");
_Static_assert(offsetof(struct zr_cons, attached_ns) == 56, "attached_ns");
_Static_assert(offsetof(struct zr_cons, mode) == ZR_LINE, "producer-written line");
_Static_assert(offsetof(struct zr_cons, latency) == 2 * ZR_LINE, "histogram");
_Static_assert(sizeof(struct zr_cons) == 512, "consumer entry is 512 bytes");

#endif /* ZINC_LAYOUT_H */
