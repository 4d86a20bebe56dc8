/* SPDX-License-Identifier: MIT */
/*
 * ring.h — the zinc frame ring: a lock-free single-producer /
 * multi-consumer slot ring in a Zinc region. The producer writes each frame
 * in place; every consumer reads it in place.
 *
 * Delivery modes, per consumer:
 *   ZINC_EVERY   every frame, in order, exactly once; the producer waits.
 *   ZINC_LOSSY   frames in order; skips ahead when lapped, `dropped` says how many.
 *   ZINC_LATEST  always the newest frame not yet seen.
 *
 * Return codes are those of <zinc/zinc.h>. Timeouts are nanoseconds:
 * 0 = don't wait (-11 if nothing), negative = forever.
 *
 * Thread-safety: a producer or consumer handle is used by one thread at a
 * time; different handles may be used concurrently. Handles are not
 * inherited across fork(): in a child, every call on a handle made before
 * the fork returns -22 (close only frees the child's copy); open new ones.
 */
#ifndef ZINC_RING_H
#define ZINC_RING_H

#include <stddef.h>
#include <stdint.h>

#include <zinc/zinc.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zinc_producer zinc_producer;
typedef struct zinc_consumer zinc_consumer;

typedef enum { ZINC_EVERY = 0, ZINC_LOSSY = 1, ZINC_LATEST = 2 } zinc_delivery;

/* zinc_ring_config.flags */
#define ZINC_RING_PREFAULT   0x1u /* pre-fault the whole mapping at create/attach */
#define ZINC_RING_HUGEPAGES  0x2u /* ask for transparent huge pages (madvise;
                                      pre-faults at create); takes effect where
                                      /dev/shm is a tmpfs mounted huge=advise
                                      (zinc doctor says) */
#define ZINC_RING_NO_TIMESTAMPS 0x4u /* read no clock per frame: publish_ns
                                      stays 0 and consumers keep no latency
                                      histogram (a hand-over ~15-20 ns
                                      shorter; docs/benchmarks.md) */
#define ZINC_RING_ANONYMOUS  0x8u /* a sealed memfd instead of a name in
                                      /dev/shm: nobody can shrink it, nobody
                                      finds it by name; consumers get it through
                                      zinc_producer_listen's socket or
                                      zinc_producer_fd (docs/rendezvous.md) */
#define ZINC_RING_GROUP_ACCESS 0x10u /* create the object 0660 (group = the
                                      creator's effective gid) instead of
                                      0600, for consumers of other users in
                                      that group who trust this uid
                                      (ZINC_TRUST_UID; "Owners" in zinc.h) */

#define ZINC_RING_MAX_SLOTS      65536u
#define ZINC_RING_MAX_CONSUMERS  256u
#define ZINC_RING_DEFAULT_CONSUMERS 16u

typedef struct zinc_ring_config {
    uint32_t slot_count;      /* power of two, 2..65536 */
    uint32_t max_consumers;   /* 0 = default (16); 1..256, exact */
    uint64_t slot_size;       /* max payload bytes per frame, > 0 */
    uint32_t flags;           /* ZINC_RING_*; 0 = defaults */
    uint32_t spin_ns;         /* busy-wait before sleeping; 0 = default (20 us), max 10 ms */
    uint64_t demote_after_ns; /* demote an EVERY consumer that blocks the producer
                                 longer than this to LOSSY; 0 = never */
    uint64_t reserved[6];     /* zero; keeps the struct's size fixed */
} zinc_ring_config;

/* DLPack data type codes (DLDataTypeCode). */
#define ZINC_DTYPE_INT    0
#define ZINC_DTYPE_UINT   1
#define ZINC_DTYPE_FLOAT  2
#define ZINC_DTYPE_BFLOAT 4

#define ZINC_TENSOR_MAX_DIMS 4

/* A strided tensor view of a frame's payload, DLPack-style. ndim = 0 means
 * "raw bytes, no tensor description". Strides are in bytes (DLPack counts
 * elements; the Python adapter converts). `offset` is the byte offset of the
 * first element inside the payload. */
typedef struct zinc_tensor {
    uint8_t  dtype_code;      /* ZINC_DTYPE_* */
    uint8_t  dtype_bits;      /* 8, 16, 32, 64 */
    uint16_t dtype_lanes;     /* 1 for scalars */
    uint32_t ndim;            /* 0..4 */
    uint64_t offset;          /* bytes from `data` to element [0,...,0] */
    uint64_t shape[ZINC_TENSOR_MAX_DIMS];
    int64_t  strides[ZINC_TENSOR_MAX_DIMS];
} zinc_tensor;

/* Frame flags (zinc_frame.flags). The low 16 bits are the producer's, the
 * high 16 bits are set by the library for the consumer. */
#define ZINC_FRAME_KEYFRAME      0x0001u
#define ZINC_FRAME_DISCONTINUITY 0x0002u
#define ZINC_FRAME_END_OF_STREAM 0x0004u
#define ZINC_FRAME_DEMOTED       0x10000u /* consumer was demoted EVERY -> LOSSY */

#define ZINC_FRAME_USER_SIZE 64

#ifdef __cplusplus /* no C casts: C++ code built with -Wold-style-cast includes this */
#define ZINC_FOURCC(a, b, c, d)                                                    \
    (static_cast<uint32_t>(a) | (static_cast<uint32_t>(b) << 8) |                 \
     (static_cast<uint32_t>(c) << 16) | (static_cast<uint32_t>(d) << 24))
#else
#define ZINC_FOURCC(a, b, c, d) \
    ((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))
#endif
#define ZINC_FOURCC_RAW    0u
#define ZINC_FOURCC_GREY   ZINC_FOURCC('G', 'R', 'E', 'Y') /* 8-bit luma */
#define ZINC_FOURCC_RGB24  ZINC_FOURCC('R', 'G', 'B', '3') /* V4L2 RGB24 */
#define ZINC_FOURCC_RGBA32 ZINC_FOURCC('A', 'B', '2', '4') /* V4L2 RGBA32 */
#define ZINC_FOURCC_NV12   ZINC_FOURCC('N', 'V', '1', '2') /* Y plane + interleaved UV */
#define ZINC_FOURCC_PC32F  ZINC_FOURCC('P', 'C', '3', 'F') /* N x K float32 points */

typedef struct zinc_frame {
    void    *data;          /* payload, inside the shared mapping */
    uint64_t size;          /* bytes of payload */
    uint64_t seq;           /* 1-based frame number */
    uint64_t timestamp_ns;  /* producer's capture time, CLOCK_MONOTONIC; 0 = unknown */
    uint64_t publish_ns;    /* CLOCK_MONOTONIC at publish (set by the library;
                               read through the TSC where the kernel's clock is
                               the TSC: within ~0.1 us, see docs/design.md) */
    uint64_t dropped;       /* consumer: frames skipped since last acquire */
    zinc_tensor tensor;     /* element type, shape and byte strides */
    uint32_t fourcc;        /* pixel/point format; 0 = raw bytes */
    uint32_t flags;         /* ZINC_FRAME_* */
    uint8_t  user[ZINC_FRAME_USER_SIZE]; /* opaque to the library */
    uint64_t reserved[4];
} zinc_frame;

/* ---- Producer -------------------------------------------------------------- */

/* Create ring `name` (a region of that name). A name whose producer is gone
 * (closed, dead, or died while creating) is replaced; a live producer is -17
 * (liveness is its token: a state word someone wrote CLOSED does not make
 * it replaceable). An object of another user at the name is never judged
 * nor replaced: -1, naming both uids ("Owners" in zinc.h).
 * Returns 0, -22 bad config, -17, -28 /dev/shm too small (sizes in
 * zinc_last_error()), -1, -110 (the old name's removal guard stayed taken
 * for 100 ms), or -errno. Thread-safety: any thread. */
ZINC_API int zinc_producer_create(const char *name, const zinc_ring_config *cfg,
                                  zinc_producer **out);

/* Claim the next slot: fills f->data, f->size (= slot capacity), f->seq,
 * and clears the descriptor. Waits for EVERY consumers up to timeout_ns
 * (-11 at 0, -110 after; -4 if a signal handler ran while it slept). A
 * second claim before publish/abort is -22.
 * -32: this ring is no longer the one consumers find — another process
 * marked it closed, or removed or replaced its name (see publish); from
 * then on every claim is -32: close the producer and create it again. */
ZINC_API int zinc_producer_claim(zinc_producer *p, zinc_frame *f, int64_t timeout_ns);

/* Publish the claimed frame with f's descriptor (size, timestamps, tensor,
 * fourcc, flags, user). -90 if size > slot (claim stays open), -22 if the
 * tensor description does not fit in `size` or f is not the claimed frame.
 * -32: the frame was published, but the ring's name no longer refers to it
 * (removed or replaced by another process) or it was marked closed: nobody
 * new will see it. Checked without a system call per frame: the state word
 * at every claim, the name at most every 50 ms (at a publish; with
 * ZINC_RING_NO_TIMESTAMPS at one publish in 64), so a producer learns it
 * within 50 ms of frames. */
ZINC_API int zinc_producer_publish(zinc_producer *p, zinc_frame *f);

/* Abandon the open claim; the slot is reused by the next claim with the
 * same seq. -22 if nothing is claimed. */
ZINC_API int zinc_producer_abort(zinc_producer *p, zinc_frame *f);

/* Set the stream descriptor consumers read at attach (size, tensor, fourcc,
 * flags, user of `desc`; data/seq ignored). -22 if it does not fit a slot. */
ZINC_API int zinc_producer_set_stream(zinc_producer *p, const zinc_frame *desc);

/* Random 64-bit id of this ring instance. */
ZINC_API uint64_t zinc_producer_generation(const zinc_producer *p);

/* Mark the ring closed (consumers get -32 after draining), wake everyone,
 * remove the name once no live consumer is attached, free. NULL: no-op. */
ZINC_API void zinc_producer_close(zinc_producer *p);

/* ---- Sealed anonymous rings and the socket rendezvous ------------------------ */
/*
 * A ring created with ZINC_RING_ANONYMOUS lives in a memfd sealed against
 * shrinking, growing and further seals (F_SEAL_SHRINK | F_SEAL_GROW |
 * F_SEAL_SEAL): no holder of it, the producer included, can truncate it
 * under a mapped reader, and nothing is in /dev/shm. Consumers receive its
 * descriptor over a Unix socket (SCM_RIGHTS) or from the application.
 * Everything else (modes, liveness, statistics, close) is as for a named
 * ring. The wire protocol is in docs/rendezvous.md.
 *
 * Socket addresses: a file system path ("/run/cam0.sock", at most 107
 * bytes), or "@name" for the abstract namespace (Linux; the name lives in
 * the network namespace and vanishes with the listener).
 *
 * Who may connect: a peer whose effective uid is ours (SO_PEERCRED), on
 * both sides; a path socket is also created 0600.
 */

/* Serve the ring's descriptor on `address`: a listener thread (signals
 * blocked) accepts connections and answers each at once, until
 * zinc_producer_close stops and joins it. A path whose socket nobody
 * listens on any more (a dead producer's) is replaced; a live listener is
 * -17. The address is registered for `zinc ls` (zinc_socket_registry).
 * Returns 0, -22 (not an anonymous ring, already listening, bad address),
 * -17, -1 (no permission on the path), or -errno.
 * Thread-safety: as the other producer calls (one thread per handle); the
 * listener thread touches nothing the producer's thread writes. */
ZINC_API int zinc_producer_listen(zinc_producer *p, const char *address);

/* Stop serving the ring before close: joins the listener thread, removes a
 * path socket (if still ours) and its registration; connections still
 * queued get -2. Attached consumers are not affected, and the producer may
 * listen again (on the same address or another). Returns 0, or -22 (NULL,
 * not listening, a forked child's copy). Thread-safety: as listen. */
ZINC_API int zinc_producer_unlisten(zinc_producer *p);

/* A new descriptor of the anonymous ring (O_RDWR, close-on-exec, an open
 * file description of its own), for the application to pass on (fork,
 * SCM_RIGHTS, systemd): one per consumer. The caller closes it. Returns
 * the fd, -22 (not anonymous), or -errno (/proc is needed).
 * Thread-safety: as the other producer calls. */
ZINC_API int zinc_producer_fd(zinc_producer *p);

/* Connect to the producer listening on `address`, check it (its uid is
 * ours, the descriptor is a sealed ring) and attach in `mode`. Returns 0,
 * -22, -2 nobody listens there, -1 the peer is another user (either side
 * refused), -11 the listener's backlog is full (retry), -110 the listener
 * did not answer within 2 s, -74 not a zinc listener or the descriptor is
 * not a sealed ring, and the codes of zinc_consumer_open. Every wait is
 * bounded (2 s). Thread-safety: any thread. */
ZINC_API int zinc_consumer_connect(const char *address, zinc_delivery mode,
                                   zinc_consumer **out);

/* Attach to the anonymous ring open on `fd` (borrowed: the caller may
 * close it afterwards). The descriptor must be sealed as above (-74
 * otherwise); no uid is checked (whoever handed it over vouched for it).
 * The consumer takes an open file description of its own through
 * /proc/self/fd; without /proc, give each consumer its own descriptor
 * from zinc_producer_fd (liveness tokens are per description). Codes as
 * zinc_consumer_open, -22 for a bad descriptor. Thread-safety: any thread. */
ZINC_API int zinc_consumer_open_fd(int fd, zinc_delivery mode, zinc_consumer **out);

/* The checked descriptor a listener serves (as zinc_consumer_connect,
 * without attaching): for statistics (zinc_ring_stats_read_fd,
 * zinc_inspect_fd) or to hand to a sandboxed consumer. Returns the fd
 * (the caller closes it) or the codes of zinc_consumer_connect.
 * Thread-safety: any thread. */
ZINC_API int zinc_ring_connect(const char *address);

/* Where listening producers register their addresses for `zinc ls`:
 * $ZINC_RUNTIME_DIR, else $XDG_RUNTIME_DIR/zinc, else /tmp/zinc-<euid>.
 * Each entry is a symbolic link whose target is an address. 0, or -22 if
 * `buf` is too small. Thread-safety: any thread (reads the environment). */
ZINC_API int zinc_socket_registry(char *buf, size_t len);

/* ---- Consumer -------------------------------------------------------------- */

/* Attach to ring `name` in `mode`. Returns 0, -22, -2, -1 (no permission,
 * or the ring belongs to another user: "Owners" in zinc.h), -74 not a valid
 * ring (or one that shrank while attaching), -16 table full, -11 still
 * being created (retry), -32 its creator died before finishing. Attaching
 * never allocates shared memory (ZINC_RING_PREFAULT pre-faults only a ring
 * whose pages are all allocated already). */
ZINC_API int zinc_consumer_open(const char *name, zinc_delivery mode, zinc_consumer **out);

/* Get the next frame for this consumer's mode. 0 with *f filled; -11 nothing
 * (timeout 0); -110 timeout; -4 a signal handler ran while it slept (as
 * sem_wait: whatever SA_RESTART says; retry or stop); -32 producer gone and
 * nothing left; -22 a frame is already held; -74 the ring's shared bytes
 * are corrupted. On failure the contents of *f are unspecified (a frame
 * found torn may be half read into it). */
ZINC_API int zinc_consumer_acquire(zinc_consumer *c, zinc_frame *f, int64_t timeout_ns);

/* Release the held frame. 0: the frame was intact for the whole hold.
 * -75: it was overwritten meanwhile (discard what was computed from it).
 * -22: f is not the held frame (or it was already released). */
ZINC_API int zinc_consumer_release(zinc_consumer *c, const zinc_frame *f);

/* Stream descriptor set by the producer: 0, -11 if none was set (or, for
 * a second, while the producer updates it), -74 if it is corrupted (it
 * does not fit a slot, or was left half-written by a producer now gone). */
ZINC_API int zinc_consumer_stream(zinc_consumer *c, zinc_frame *desc);

/* Ring geometry as created. */
ZINC_API int zinc_consumer_config(const zinc_consumer *c, zinc_ring_config *cfg);

ZINC_API uint64_t zinc_consumer_generation(const zinc_consumer *c);
ZINC_API zinc_delivery zinc_consumer_mode(const zinc_consumer *c); /* LOSSY after demotion */

/* Detach (closes the descriptor of zinc_consumer_fd, if any). NULL: no-op. */
ZINC_API void zinc_consumer_close(zinc_consumer *c);

/* ---- Waiting in event loops (docs/contract.md, "Waiting") ------------------- */

/* A file descriptor for poll/epoll/select, owned by the consumer (closed by
 * zinc_consumer_close; do not close it yourself). It is readable (POLLIN)
 * whenever zinc_consumer_acquire(c, &f, 0) would answer something other
 * than -11: a frame is there, the producer is gone (noticed within about
 * 100 ms when it died), or the ring needs attention (-74). Level-triggered
 * as the caller sees it: it stays readable until acquire has returned -11
 * (acquire consumes the readiness and re-arms then; reading the descriptor
 * yourself is not needed and not allowed). A readiness with nothing behind
 * it is possible but rare; a missed one is a bug. Blocking acquire calls
 * may be mixed with it. Returns the descriptor (the same one on every call),
 * or a negative code (-22 NULL, -24/-12 out of descriptors or memory).
 * Closing the consumer while another thread polls the descriptor makes that
 * poll return (readable). Not inherited across fork(): a child's copy is
 * closed in the child. Costs one sleeping helper thread per consumer
 * (docs/design.md, "Waiting through a descriptor"). Thread-safety: as
 * acquire (the descriptor itself may be polled from any thread). */
ZINC_API int zinc_consumer_fd(zinc_consumer *c);

/* Wait until at least one of the n consumers (1..128, any rings) has
 * something for acquire (as zinc_consumer_fd's readiness: a frame, its
 * producer gone, corruption, or a frame still held) and return its index.
 * timeout_ns as acquire: 0 polls (-11 if none is ready), negative waits
 * forever, otherwise -110 when it expires; -4 if a signal handler ran while
 * it slept; -22 for n = 0, n > 128, a NULL array or a NULL element. When
 * several are ready, the one this function returned least recently (in the
 * whole process; never counts as oldest; ties: the lowest index) is
 * returned, so a consumer that stays ready is returned within n calls.
 * Sleeps in one futex_waitv (Linux >= 5.16); where the kernel lacks it,
 * polls the consumers' descriptors (zinc_consumer_fd) instead.
 * Thread-safety: none of the n consumers is used by another thread during
 * the call. */
ZINC_API int zinc_wait_any(zinc_consumer *const *cs, uint32_t n, int64_t timeout_ns);

/* The page-aligned range that holds every slot's payload (slot_count x
 * slot stride bytes), stable for the handle's life: register it once with
 * cudaHostRegister, ibv_reg_mr or mlock. Handles of one ring in one process
 * share one mapping, hence one range. 0, or -22 for NULL arguments. */
ZINC_API int zinc_consumer_mapping(const zinc_consumer *c, void **base, size_t *len);
ZINC_API int zinc_producer_mapping(const zinc_producer *p, void **base, size_t *len);

/* ---- Descriptor helpers ---------------------------------------------------- */

/* Describe a packed image of width x height in f (tensor, fourcc, size).
 * fourcc: GREY, RGB24, RGBA32, NV12. -22 unknown fourcc or zero size,
 * -90 larger than f->size (the slot capacity after claim). */
ZINC_API int zinc_frame_set_image(zinc_frame *f, uint32_t fourcc, uint32_t width, uint32_t height);

/* Describe an n x k float32 point cloud (fourcc PC32F). -22, -90 as above. */
ZINC_API int zinc_frame_set_points(zinc_frame *f, uint64_t n, uint32_t k);

/* 0 if the tensor description lies within `size` bytes, -22 otherwise
 * (ndim > 4, bad dtype, overflow, an element outside [0, size)). */
ZINC_API int zinc_tensor_check(const zinc_tensor *t, uint64_t size);

/* Bytes spanned by the tensor from offset 0 (0 for ndim = 0 or on error). */
ZINC_API uint64_t zinc_tensor_span(const zinc_tensor *t);

/* ---- Observability (no attach) ---------------------------------------------- */

#define ZINC_LAT_BUCKETS 32 /* bucket i: latency in [2^i, 2^(i+1)) ns; 0 holds < 2 ns */

typedef struct zinc_consumer_stats {
    uint32_t index;           /* entry in the consumer table */
    uint32_t mode;            /* zinc_delivery now in force */
    int32_t  pid;             /* diagnostic */
    uint32_t alive;           /* 1 if its liveness lock is held */
    uint32_t demoted;         /* 1 if demoted EVERY -> LOSSY */
    uint32_t evicted;         /* 1 if evicted by the producer */
    uint64_t cursor;          /* last frame seq it consumed */
    uint64_t lag;             /* head - cursor */
    uint64_t acquired;
    uint64_t released;        /* released intact */
    uint64_t dropped;
    uint64_t torn;            /* releases that returned -75 */
    uint64_t attached_ns;     /* CLOCK_MONOTONIC at attach; 0 while the
                                 consumer is still attaching. Once it is
                                 set, every frame published afterwards
                                 reaches the consumer (EVERY, LOSSY): wait
                                 for it, not for `alive`, before a first
                                 frame that must not be missed */
    uint64_t latency[ZINC_LAT_BUCKETS]; /* publish -> acquire, log2 ns (empty
                                           with ZINC_RING_NO_TIMESTAMPS) */
} zinc_consumer_stats;

/* zinc_ring_stats.producer_state. A producer that died is still OPEN: its
 * liveness (producer_alive) tells it apart. */
typedef enum {
    ZINC_PRODUCER_CREATING = 0, /* being created; not yet open to consumers */
    ZINC_PRODUCER_OPEN = 1,     /* publishing (or died: producer_alive = 0) */
    ZINC_PRODUCER_CLOSED = 2    /* closed by its producer or a replacement */
} zinc_producer_state;

typedef struct zinc_ring_stats {
    uint64_t generation;
    uint64_t head;            /* last published seq */
    uint32_t slot_count;
    uint32_t max_consumers;
    uint64_t slot_size;
    uint64_t ring_bytes;      /* size of the whole shared-memory object: the
                                 region's header page plus the ring (whose
                                 own size the layout calls ring_bytes) */
    uint32_t producer_state;  /* a zinc_producer_state */
    uint32_t producer_alive;  /* 1 if its liveness lock is held */
    int32_t  producer_pid;
    uint32_t consumers;       /* entries in use (alive or not yet reclaimed) */
    uint64_t published;
    uint64_t aborted;
    uint64_t blocked_ns;      /* time spent waiting for EVERY consumers */
    uint64_t blocked_claims;  /* claims that had to wait */
    uint64_t evicted;         /* dead EVERY consumers evicted */
    uint64_t demoted;         /* slow EVERY consumers demoted */
    uint64_t created_ns;      /* CLOCK_MONOTONIC at create */
    uint64_t last_publish_ns;
    uint32_t flags;
    uint32_t stream_fourcc;
    uint64_t published_bytes; /* sum of the sizes of published frames */
    uint32_t owner_uid;       /* st_uid of the object */
    uint32_t foreign;         /* 1: owned by an untrusted uid ("Owners" in zinc.h) */
    uint64_t reserved[4];
} zinc_ring_stats;

/* Read ring `name`'s counters without attaching: read with pread, never
 * mapped, so a peer truncating the object gives -74, never a SIGBUS. Fills
 * *rs, and up to `cap` entries of `cs` (may be NULL) with the consumer
 * entries in use; *n_out (may be NULL) gets their number. Another user's
 * ring is reported with `foreign` set.
 * Returns 0, -22, -2, -1, -74, -11 (being created), -32 (its creator died
 * before finishing it). */
ZINC_API int zinc_ring_stats_read(const char *name, zinc_ring_stats *rs,
                                  zinc_consumer_stats *cs, uint32_t cap, uint32_t *n_out);

/* zinc_ring_stats_read for the anonymous ring open on `fd` (a sealed
 * memfd, -74 otherwise; e.g. from zinc_ring_connect). Thread-safety: any
 * thread. */
ZINC_API int zinc_ring_stats_read_fd(int fd, zinc_ring_stats *rs, zinc_consumer_stats *cs,
                                     uint32_t cap, uint32_t *n_out);

/* Remove ring `name` if its producer is gone (closed, dead, half-made):
 * 0 removed, -17 live producer, -2 missing, -74 not a ring, -1 another
 * user's, -110 the removal guard stayed taken (name left in place). */
ZINC_API int zinc_ring_remove_stale(const char *name);

/* Bytes of shared memory a ring with this configuration needs (0 if the
 * configuration is invalid). */
ZINC_API uint64_t zinc_ring_size(const zinc_ring_config *cfg);

#ifdef __cplusplus
}
#endif

#endif /* ZINC_RING_H */
