/* SPDX-License-Identifier: MIT */
/*
 * multi — one thread reads several rings at once (two cameras and a lidar,
 * say), as a robotics node would: an epoll set over each consumer's
 * descriptor (zinc_consumer_fd) plus a timerfd that prints per-ring rates
 * every interval. With --wait-any it waits with zinc_wait_any instead (no
 * descriptors, one futex_waitv), the rates printed when a wait times out
 * at the interval.
 *
 *   multi --ring cam0 --ring cam1 --ring lidar0
 *   multi --ring cam0 --ring cam1 --wait-any --json
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <zinc/ring.h>

#include "common.h"

static const char usage[] =
    "usage: multi --ring NAME [--ring NAME ...] [OPTIONS]\n"
    "Read several frame rings from one thread: epoll over each consumer's\n"
    "descriptor (zinc_consumer_fd) and a timerfd, or zinc_wait_any with\n"
    "--wait-any. Prints frames per second per ring every interval.\n"
    "  --ring NAME     a ring to read (up to 64; at least one)\n"
    "  --mode M        latest (default), lossy or every\n"
    "  --wait-any      wait with zinc_wait_any instead of epoll\n"
    "  --interval S    seconds between rate lines (default 1)\n"
    "  --seconds S     stop after S seconds (default: when every producer is gone)\n"
    "  --wait S        wait up to S seconds for each ring to appear (default 10)\n"
    "  --json          print the summary as JSON\n"
    "  --quiet         no rate lines\n"
    "  --help          this text\n"
    "Stops when every ring's producer is gone (or sent END_OF_STREAM), after\n"
    "--seconds, or on Ctrl-C.\n";

#define MAX_RINGS 64

struct ring {
    const char *name;
    zinc_consumer *c;
    int fd;
    bool done;
    const char *end;
    uint64_t frames, dropped, torn, last_frames;
    ex_samples lat;
};

/* Take everything the ring has now (acquire(0) until -11), which is also
 * what re-arms its descriptor. Returns false once the ring is finished. */
static bool drain(struct ring *r)
{
    for (;;) {
        zinc_frame f;
        int rc = zinc_consumer_acquire(r->c, &f, 0);
        if (rc == ZINC_EAGAIN)
            return true;
        if (rc == ZINC_EPIPE) {
            r->end = "producer gone";
            return false;
        }
        if (rc != 0) {
            fprintf(stderr, "multi: %s: acquire: %s (%d) %s\n", r->name, zinc_strerror(rc),
                    rc, zinc_last_error());
            r->end = "error";
            return false;
        }
        uint64_t lat = ex_frame_latency(&f, ex_now_ns());
        uint32_t flags = f.flags;
        r->dropped += f.dropped;
        if (zinc_consumer_release(r->c, &f) == ZINC_EOVERFLOW) {
            r->torn++;
        } else {
            r->frames++;
            ex_samples_add(&r->lat, lat);
        }
        if (flags & ZINC_FRAME_END_OF_STREAM) {
            r->end = "end of stream";
            return false;
        }
    }
}

static void report(struct ring *rs, int n, double secs, bool quiet, bool json)
{
    if (quiet || json)
        return;
    fprintf(stderr, "multi:");
    for (int i = 0; i < n; i++) {
        fprintf(stderr, "  %s %.1f fps%s", rs[i].name,
                (double)(rs[i].frames - rs[i].last_frames) / secs, rs[i].done ? " (done)" : "");
        rs[i].last_frames = rs[i].frames;
    }
    fprintf(stderr, "\n");
}

static int finish(struct ring *r)
{
    r->done = true;
    return 1;
}

/* epoll over the descriptors and a timerfd. Returns the number of rings
 * still running when it stopped. */
static int run_epoll(struct ring *rs, int n, double interval, uint64_t end, bool quiet, bool json)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (ep < 0 || tfd < 0) {
        perror("multi: epoll/timerfd");
        return n;
    }
    uint64_t iv = (uint64_t)(interval * 1e9);
    struct itimerspec its = { { (time_t)(iv / 1000000000u), (long)(iv % 1000000000u) },
                              { (time_t)(iv / 1000000000u), (long)(iv % 1000000000u) } };
    timerfd_settime(tfd, 0, &its, NULL);
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = UINT32_MAX };
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
    for (int i = 0; i < n; i++) {
        ev.data.u32 = (uint32_t)i;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, rs[i].fd, &ev) < 0) {
            perror("multi: epoll_ctl");
            return n;
        }
    }
    int left = n;
    uint64_t last = ex_now_ns();
    while (left > 0 && !ex_stop && (!end || ex_now_ns() < end)) {
        struct epoll_event evs[MAX_RINGS + 1];
        int k = epoll_wait(ep, evs, MAX_RINGS + 1, 1000);
        if (k < 0 && errno == EINTR)
            continue; /* Ctrl-C: ex_stop is set */
        for (int j = 0; j < k; j++) {
            uint32_t i = evs[j].data.u32;
            if (i == UINT32_MAX) {
                uint64_t ticks;
                if (read(tfd, &ticks, sizeof(ticks)) > 0) {
                    uint64_t now = ex_now_ns();
                    report(rs, n, (double)(now - last) / 1e9, quiet, json);
                    last = now;
                }
                continue;
            }
            if (!rs[i].done && !drain(&rs[i])) {
                left -= finish(&rs[i]);
                epoll_ctl(ep, EPOLL_CTL_DEL, rs[i].fd, NULL);
            }
        }
    }
    close(tfd);
    close(ep);
    return left;
}

/* zinc_wait_any over the rings still running. */
static int run_wait_any(struct ring *rs, int n, double interval, uint64_t end, bool quiet,
                        bool json)
{
    zinc_consumer *cs[MAX_RINGS];
    int idx[MAX_RINGS], left = n;
    uint64_t iv = (uint64_t)(interval * 1e9), last = ex_now_ns(), tick = last + iv;
    while (left > 0 && !ex_stop && (!end || ex_now_ns() < end)) {
        int m = 0;
        for (int i = 0; i < n; i++)
            if (!rs[i].done) {
                idx[m] = i;
                cs[m++] = rs[i].c;
            }
        uint64_t now = ex_now_ns();
        int64_t wait = tick > now ? (int64_t)(tick - now) : 0;
        int k = zinc_wait_any(cs, (uint32_t)m, wait);
        if (k >= 0) {
            struct ring *r = &rs[idx[k]];
            if (!drain(r))
                left -= finish(r);
        } else if (k != ZINC_ETIMEDOUT && k != ZINC_EAGAIN && k != ZINC_EINTR) {
            fprintf(stderr, "multi: wait_any: %s (%d) %s\n", zinc_strerror(k), k,
                    zinc_last_error());
            break;
        }
        now = ex_now_ns();
        if (now >= tick) {
            report(rs, n, (double)(now - last) / 1e9, quiet, json);
            last = now;
            tick = now + iv;
        }
    }
    return left;
}

int main(int argc, char **argv)
{
    struct ring rs[MAX_RINGS];
    int n = 0;
    zinc_delivery mode = ZINC_LATEST;
    double interval = 1, seconds = 0, wait_s = 10;
    bool json = false, quiet = false, wait_any = false;
    enum { O_RING = 256, O_MODE, O_ANY, O_INTERVAL, O_SECONDS, O_WAIT, O_JSON, O_QUIET };
    static const struct option lo[] = {
        {"ring", required_argument, NULL, O_RING}, {"mode", required_argument, NULL, O_MODE},
        {"wait-any", no_argument, NULL, O_ANY},
        {"interval", required_argument, NULL, O_INTERVAL},
        {"seconds", required_argument, NULL, O_SECONDS},
        {"wait", required_argument, NULL, O_WAIT}, {"json", no_argument, NULL, O_JSON},
        {"quiet", no_argument, NULL, O_QUIET}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(rs, 0, sizeof(rs));
    int c;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'h': fputs(usage, stdout); return 0;
        case O_RING:
            bad = n == MAX_RINGS || zinc_name_valid(optarg) != 0;
            if (!bad)
                rs[n++].name = optarg;
            break;
        case O_MODE: bad = ex_parse_mode(optarg, &mode); break;
        case O_ANY: wait_any = true; break;
        case O_INTERVAL: bad = ex_parse_double(optarg, &interval) || interval <= 0; break;
        case O_SECONDS: bad = ex_parse_double(optarg, &seconds) || seconds < 0; break;
        case O_WAIT: bad = ex_parse_double(optarg, &wait_s); break;
        case O_JSON: json = true; break;
        case O_QUIET: quiet = true; break;
        default: return ex_usage_error(usage);
        }
        if (bad)
            return ex_bad_value("multi", lo, c, optarg);
    }
    if (optind != argc || n == 0)
        return ex_usage_error(usage);
    ex_handle_signals();
    int ret = 0;
    for (int i = 0; i < n && ret == 0; i++) {
        ret = ex_open_consumer("multi", rs[i].name, mode, wait_s, &rs[i].c);
        if (ret == 0 && !wait_any) {
            rs[i].fd = zinc_consumer_fd(rs[i].c);
            if (rs[i].fd < 0) {
                fprintf(stderr, "multi: %s: consumer_fd: %s (%d) %s\n", rs[i].name,
                        zinc_strerror(rs[i].fd), rs[i].fd, zinc_last_error());
                ret = 1;
            }
        }
    }
    uint64_t start = ex_now_ns(), end = seconds > 0 ? start + (uint64_t)(seconds * 1e9) : 0;
    if (ret == 0) {
        int left = wait_any ? run_wait_any(rs, n, interval, end, quiet, json)
                            : run_epoll(rs, n, interval, end, quiet, json);
        (void)left;
    }
    double elapsed = (double)(ex_now_ns() - start) / 1e9;
    if (json) {
        printf("{\"wait\":\"%s\",\"mode\":\"%s\",\"seconds\":%.3f,\"rings\":[",
               wait_any ? "wait_any" : "epoll",
               mode == ZINC_LATEST ? "latest" : mode == ZINC_LOSSY ? "lossy" : "every", elapsed);
        for (int i = 0; i < n; i++) {
            printf("%s{\"name\":", i ? "," : "");
            zf_json_str(stdout, rs[i].name);
            printf(",\"frames\":%" PRIu64 ",\"fps\":%.2f,\"dropped\":%" PRIu64
                   ",\"torn\":%" PRIu64 ",\"latency_ns\":{\"p50\":%" PRIu64 ",\"p99\":%" PRIu64
                   "},\"end\":\"%s\"}",
                   rs[i].frames, elapsed > 0 ? (double)rs[i].frames / elapsed : 0.0,
                   rs[i].dropped, rs[i].torn, ex_samples_pct(&rs[i].lat, 0.5),
                   ex_samples_pct(&rs[i].lat, 0.99), rs[i].end ? rs[i].end : "stopped");
        }
        printf("]}\n");
    } else {
        for (int i = 0; i < n; i++)
            printf("multi: %s: %" PRIu64 " frames (%.1f fps), %" PRIu64 " skipped, %" PRIu64
                   " torn, latency p50 %.2f ms (%s)\n",
                   rs[i].name, rs[i].frames,
                   elapsed > 0 ? (double)rs[i].frames / elapsed : 0.0, rs[i].dropped,
                   rs[i].torn, (double)ex_samples_pct(&rs[i].lat, 0.5) / 1e6,
                   rs[i].end ? rs[i].end : "stopped");
    }
    for (int i = 0; i < n; i++) {
        ex_samples_free(&rs[i].lat);
        zinc_consumer_close(rs[i].c);
    }
    return ret;
}
