/* SPDX-License-Identifier: MIT */
/* Helpers shared by the example programs: clocks, signals, argument
 * parsing, pacing a producer, latency percentiles, attaching with retry,
 * reading an image out of a frame's tensor description. JSON strings and
 * fourcc names come from tools/lib/fmt.h, shared with the zinc tool. Kept
 * small on purpose: each example should read as a real program, not as a
 * framework. */
#ifndef ZINC_EXAMPLES_COMMON_H
#define ZINC_EXAMPLES_COMMON_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <zinc/ring.h>

#include "fmt.h" /* zf_json_str, zf_fourcc (tools/lib, shared with the zinc tool) */

/* Set by SIGINT/SIGTERM once ex_handle_signals() ran. */
extern volatile sig_atomic_t ex_stop;
void ex_handle_signals(void);

uint64_t ex_now_ns(void); /* CLOCK_MONOTONIC, the clock of timestamp_ns */
void ex_sleep_ns(uint64_t ns);

/* Strict parsers: 0 on success, -1 on garbage. */
int ex_parse_u64(const char *s, uint64_t *out);
int ex_parse_double(const char *s, double *out);
int ex_parse_wxh(const char *s, uint32_t *w, uint32_t *h);
/* "latest", "lossy" or "every". */
int ex_parse_mode(const char *s, zinc_delivery *out);

/* Usage errors end an example with exit code 2; these print why and return
 * it. ex_bad_value names the option of `lo` whose value is `id`. */
int ex_usage_error(const char *usage);
int ex_bad_value(const char *prog, const struct option *lo, int id, const char *arg);

/* Paces a producer: `rate` frames a second (0: as fast as it can) for
 * `seconds` (0: no limit), from the moment of ex_pacer_start. */
typedef struct ex_pacer {
    uint64_t period, start, next, end; /* ns, CLOCK_MONOTONIC */
} ex_pacer;
void ex_pacer_start(ex_pacer *pc, double rate, double seconds);
/* Whether a frame made at `now` is the last one the time limit allows. */
bool ex_pacer_last(const ex_pacer *pc, uint64_t now);
/* Sleep until the next frame is due (no-op without a rate). */
void ex_pacer_wait(ex_pacer *pc, uint64_t now);

/* A growing array of latency samples (ns). */
typedef struct ex_samples {
    uint64_t *v;
    size_t n, cap;
} ex_samples;
void ex_samples_add(ex_samples *s, uint64_t ns);
/* Sorts the samples; p in [0, 1]. 0 when empty. */
uint64_t ex_samples_pct(ex_samples *s, double p);
void ex_samples_free(ex_samples *s);

/* Attach to `name`, retrying while it does not exist yet or is still being
 * created, for up to wait_s seconds (or until ex_stop). A name that is a
 * socket address ("@name", or a path with a '/') is a sealed anonymous
 * ring's: connect to its producer instead. Prints why on failure and
 * returns the exit code: 3 if the ring never appeared, else 1. */
int ex_open_consumer(const char *prog, const char *name, zinc_delivery mode, double wait_s,
                     zinc_consumer **out);

/* zinc_consumer_acquire for a consumer's main loop: waits at most 200 ms,
 * so that Ctrl-C is noticed (-110: call again). -32 sets *why to "producer
 * gone"; any other failure is printed. Returns the zinc code. */
int ex_acquire(const char *prog, zinc_consumer *cons, zinc_frame *f, const char **why);

/* zinc_producer_claim for a producer's main loop: waits at most 200 ms
 * (-110: an EVERY consumer is behind; call again unless stopping); any other
 * failure is printed. Returns the zinc code. */
int ex_claim(const char *prog, zinc_producer *p, zinc_frame *f);

/* Publish the claimed `f`, unless `rc` (describing it) already failed; on
 * failure print why and abort the claim. Returns the zinc code. */
int ex_publish(const char *prog, zinc_producer *p, zinc_frame *f, int rc);

/* Capture (timestamp_ns, or publish_ns if the producer set none) to `now`. */
uint64_t ex_frame_latency(const zinc_frame *f, uint64_t now);

/* Wait until `n` live consumers are attached to ring `name`. 0, or -110. */
int ex_wait_consumers(const char *name, uint32_t n, double wait_s);
/* The same for the producer's own ring (a sealed anonymous one too). */
int ex_wait_consumers_p(zinc_producer *p, uint32_t n, double wait_s);

/* Create ring `name` for a producer: in /dev/shm, or (socket non-NULL) a
 * sealed anonymous ring served on that socket address. Prints why on
 * failure. Returns the zinc code. */
int ex_create_producer(const char *prog, const char *name, const char *socket,
                       zinc_ring_config *cfg, zinc_producer **out);

/* An 8-bit image described by a frame: GREY (1 channel), RGB24 (3) or
 * RGBA32 (4), any row/pixel strides. Filled only from a descriptor that
 * passed zinc_tensor_check. */
typedef struct ex_image {
    const uint8_t *base;
    uint32_t width, height, channels;
    int64_t row_stride, px_stride;
} ex_image;
int ex_image_from_frame(const zinc_frame *f, ex_image *img);

static inline const uint8_t *ex_px(const ex_image *img, uint32_t x, uint32_t y)
{
    return img->base + (int64_t)y * img->row_stride + (int64_t)x * img->px_stride;
}

#endif /* ZINC_EXAMPLES_COMMON_H */
