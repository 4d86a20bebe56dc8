/* SPDX-License-Identifier: MIT */
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t ex_stop;

static void on_signal(int sig)
{
    (void)sig;
    ex_stop = 1;
}

void ex_handle_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

uint64_t ex_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void ex_sleep_ns(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};
    nanosleep(&ts, NULL);
}

int ex_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int ex_parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < 0)
        return -1;
    *out = v;
    return 0;
}

int ex_parse_wxh(const char *s, uint32_t *w, uint32_t *h)
{
    unsigned a, b;
    char tail;
    if (sscanf(s, "%ux%u%c", &a, &b, &tail) != 2 || a == 0 || b == 0 || a > 16384 ||
        b > 16384)
        return -1;
    *w = a;
    *h = b;
    return 0;
}

int ex_parse_mode(const char *s, zinc_delivery *out)
{
    if (!strcmp(s, "latest")) *out = ZINC_LATEST;
    else if (!strcmp(s, "lossy")) *out = ZINC_LOSSY;
    else if (!strcmp(s, "every")) *out = ZINC_EVERY;
    else return -1;
    return 0;
}

int ex_usage_error(const char *usage)
{
    fputs(usage, stderr);
    return 2;
}

int ex_bad_value(const char *prog, const struct option *lo, int id, const char *arg)
{
    while (lo->name && lo->val != id)
        lo++;
    fprintf(stderr, "%s: bad value for --%s: '%s'\n", prog, lo->name ? lo->name : "?", arg);
    return 2;
}

void ex_pacer_start(ex_pacer *pc, double rate, double seconds)
{
    pc->period = rate > 0 ? (uint64_t)(1e9 / rate) : 0;
    pc->start = pc->next = ex_now_ns();
    pc->end = seconds > 0 ? pc->start + (uint64_t)(seconds * 1e9) : UINT64_MAX;
}

bool ex_pacer_last(const ex_pacer *pc, uint64_t now)
{
    /* With a rate, the next frame would be due at next + period. */
    return pc->period ? pc->next + pc->period >= pc->end : now >= pc->end;
}

void ex_pacer_wait(ex_pacer *pc, uint64_t now)
{
    if (!pc->period)
        return;
    pc->next += pc->period;
    if (pc->next + 4 * pc->period < now) {
        pc->next = now; /* far behind (machine busy): do not burst */
    } else if (pc->next > now) {
        struct timespec ts = {.tv_sec = (time_t)(pc->next / 1000000000u),
                              .tv_nsec = (long)(pc->next % 1000000000u)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
}

void ex_samples_add(ex_samples *s, uint64_t ns)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        uint64_t *v = realloc(s->v, cap * sizeof(*v));
        if (!v)
            return;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = ns;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t ex_samples_pct(ex_samples *s, double p)
{
    if (s->n == 0)
        return 0;
    qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
    size_t i = (size_t)(p * (double)(s->n - 1) + 0.5);
    return s->v[i < s->n ? i : s->n - 1];
}

void ex_samples_free(ex_samples *s)
{
    free(s->v);
    memset(s, 0, sizeof(*s));
}

int ex_open_consumer(const char *prog, const char *name, zinc_delivery mode, double wait_s,
                     zinc_consumer **out)
{
    uint64_t end = ex_now_ns() + (uint64_t)(wait_s * 1e9);
    bool sock = name[0] == '@' || strchr(name, '/') != NULL;
    for (;;) {
        /* A socket: -2 until the producer listens, -11 while its backlog
         * is full. */
        int rc = sock ? zinc_consumer_connect(name, mode, out) : zinc_consumer_open(name, mode, out);
        if (rc == 0)
            return 0;
        /* -2: the producer has not created it yet; -11: it is creating it;
         * -32: its creator died before finishing it (the next producer
         * replaces it). A ring whose producer closed or died opens (0) and
         * reports -32 from acquire once drained. */
        bool retry = rc == ZINC_ENOENT || rc == ZINC_EAGAIN || rc == ZINC_EPIPE;
        if (!retry || ex_stop || ex_now_ns() >= end) {
            fprintf(stderr, "%s: cannot attach to ring '%s': %s (%d) %s\n", prog, name,
                    zinc_strerror(rc), rc, zinc_last_error());
            if (rc == ZINC_ENOENT)
                fprintf(stderr, "%s: start the producer first (e.g. camera %s %s)\n", prog,
                        sock ? "--socket" : "--name", name);
            return rc == ZINC_ENOENT ? 3 : 1;
        }
        ex_sleep_ns(10 * 1000 * 1000);
    }
}

int ex_acquire(const char *prog, zinc_consumer *cons, zinc_frame *f, const char **why)
{
    /* Sleep in the library until a frame comes (or 200 ms pass, to notice
     * Ctrl-C). */
    int rc = zinc_consumer_acquire(cons, f, 200 * 1000 * 1000);
    if (rc == ZINC_EPIPE)
        *why = "producer gone";
    else if (rc != 0 && rc != ZINC_ETIMEDOUT)
        fprintf(stderr, "%s: acquire: %s (%d) %s\n", prog, zinc_strerror(rc), rc,
                zinc_last_error());
    return rc;
}

int ex_claim(const char *prog, zinc_producer *p, zinc_frame *f)
{
    int rc = zinc_producer_claim(p, f, 200 * 1000 * 1000);
    if (rc != 0 && rc != ZINC_ETIMEDOUT)
        fprintf(stderr, "%s: claim: %s (%d) %s\n", prog, zinc_strerror(rc), rc,
                zinc_last_error());
    return rc;
}

int ex_publish(const char *prog, zinc_producer *p, zinc_frame *f, int rc)
{
    if (rc == 0)
        rc = zinc_producer_publish(p, f);
    if (rc != 0) {
        fprintf(stderr, "%s: publish: %s (%d) %s\n", prog, zinc_strerror(rc), rc,
                zinc_last_error());
        zinc_producer_abort(p, f);
    }
    return rc;
}

uint64_t ex_frame_latency(const zinc_frame *f, uint64_t now)
{
    uint64_t ts = f->timestamp_ns ? f->timestamp_ns : f->publish_ns;
    return now > ts ? now - ts : 0;
}

/* Statistics of ring `name`, or of the anonymous ring open on `fd`. */
static int wait_consumers(const char *name, int fd, uint32_t n, double wait_s)
{
    uint64_t end = ex_now_ns() + (uint64_t)(wait_s * 1e9);
    static zinc_consumer_stats cs[ZINC_RING_MAX_CONSUMERS];
    while (!ex_stop) {
        zinc_ring_stats rs;
        uint32_t got = 0, alive = 0;
        int rc = fd >= 0 ? zinc_ring_stats_read_fd(fd, &rs, cs, ZINC_RING_MAX_CONSUMERS, &got)
                         : zinc_ring_stats_read(name, &rs, cs, ZINC_RING_MAX_CONSUMERS, &got);
        if (rc == 0) {
            /* attached_ns != 0: its start point is fixed, so the first
             * frame published after this reaches it. */
            for (uint32_t i = 0; i < got && i < ZINC_RING_MAX_CONSUMERS; i++)
                alive += cs[i].alive && cs[i].attached_ns != 0;
            if (alive >= n)
                return 0;
        }
        if (ex_now_ns() >= end)
            break;
        ex_sleep_ns(5 * 1000 * 1000);
    }
    return ZINC_ETIMEDOUT;
}

int ex_wait_consumers(const char *name, uint32_t n, double wait_s)
{
    return wait_consumers(name, -1, n, wait_s);
}

int ex_wait_consumers_p(zinc_producer *p, uint32_t n, double wait_s)
{
    int fd = zinc_producer_fd(p); /* -22 for a ring in /dev/shm: read it by name */
    if (fd < 0)
        return ZINC_EINVAL;
    int rc = wait_consumers(NULL, fd, n, wait_s);
    close(fd);
    return rc;
}

int ex_create_producer(const char *prog, const char *name, const char *socket,
                       zinc_ring_config *cfg, zinc_producer **out)
{
    if (socket)
        cfg->flags |= ZINC_RING_ANONYMOUS;
    int rc = zinc_producer_create(name, cfg, out);
    if (rc != 0) {
        fprintf(stderr, "%s: cannot create ring '%s': %s (%d) %s\n", prog, name,
                zinc_strerror(rc), rc, zinc_last_error());
        if (rc == ZINC_EEXIST)
            fprintf(stderr, "%s: another producer is running on '%s' (see: zinc ls)\n", prog,
                    name);
        return rc;
    }
    if (socket && (rc = zinc_producer_listen(*out, socket)) != 0) {
        fprintf(stderr, "%s: cannot listen on '%s': %s (%d) %s\n", prog, socket,
                zinc_strerror(rc), rc, zinc_last_error());
        zinc_producer_close(*out);
        *out = NULL;
    }
    return rc;
}

int ex_image_from_frame(const zinc_frame *f, ex_image *img)
{
    const zinc_tensor *t = &f->tensor;
    if (zinc_tensor_check(t, f->size) != 0 || t->dtype_code != ZINC_DTYPE_UINT ||
        t->dtype_bits != 8 || t->dtype_lanes != 1)
        return ZINC_EINVAL;
    memset(img, 0, sizeof(*img));
    img->base = (const uint8_t *)f->data + t->offset;
    if (t->ndim == 2 && (f->fourcc == ZINC_FOURCC_GREY || f->fourcc == 0)) {
        img->channels = 1;
    } else if (t->ndim == 3 && (t->shape[2] == 3 || t->shape[2] == 4) && t->strides[2] == 1) {
        img->channels = (uint32_t)t->shape[2];
    } else {
        return ZINC_EINVAL;
    }
    if (t->shape[0] == 0 || t->shape[1] == 0 || t->shape[0] > 65536 || t->shape[1] > 65536)
        return ZINC_EINVAL;
    img->height = (uint32_t)t->shape[0];
    img->width = (uint32_t)t->shape[1];
    img->row_stride = t->strides[0];
    img->px_stride = t->strides[1];
    return 0;
}
