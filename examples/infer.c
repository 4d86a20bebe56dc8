/* SPDX-License-Identifier: MIT */
/*
 * infer — a consumer that always works on the freshest frame (ZINC_LATEST),
 * as an inference process would: per frame it reads the image in place,
 * downscales it to grey, runs a Sobel edge filter and measures motion
 * against the previous frame, then reports the latency from capture
 * (the producer's timestamp_ns) to result.
 *
 *   infer --name cam0 --json
 *   infer --socket /run/cam0.sock     (a sealed anonymous ring; docs/rendezvous.md)
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zinc/ring.h>

#include "common.h"

static const char usage[] =
    "usage: infer [OPTIONS]\n"
    "Attach to a frame ring as a LATEST consumer (always the newest frame), and\n"
    "for each frame: downscale to grey, Sobel edge magnitude, motion against the\n"
    "previous frame. Reports capture->result latency percentiles at the end.\n"
    "  --name NAME     ring name (default cam0)\n"
    "  --socket ADDR   a sealed anonymous ring instead: connect to its producer's\n"
    "                  socket (a path, or @name)\n"
    "  --mode M        latest (default), lossy or every\n"
    "  --scale N       downscale factor (default 4)\n"
    "  --frames N      stop after N processed frames\n"
    "  --wait S        wait up to S seconds for the ring to appear (default 10)\n"
    "  --json          print the summary as JSON\n"
    "  --quiet         no progress line\n"
    "  --help          this text\n"
    "Stops at END_OF_STREAM, when the producer is gone, or on Ctrl-C.\n";

struct work {
    uint32_t sw, sh; /* downscaled size */
    uint8_t *grey, *prev;
    size_t cap;
    bool have_prev;
};

/* Luma with the BT.601 weights, in 8.8 fixed point. */
static inline uint32_t luma(const uint8_t *p, uint32_t channels)
{
    if (channels == 1)
        return p[0];
    return (77u * p[0] + 150u * p[1] + 29u * p[2]) >> 8;
}

/* Mean Sobel magnitude of the downscaled image, and mean absolute change
 * against the previous one. Returns -1 if the image has an unusable size. */
static int process(const ex_image *img, uint32_t scale, struct work *w, double *edges,
                   double *motion)
{
    uint32_t sw = img->width / scale, sh = img->height / scale;
    if (sw < 3 || sh < 3)
        return -1;
    size_t need = (size_t)sw * sh;
    if (need > w->cap || sw != w->sw || sh != w->sh) {
        free(w->grey);
        free(w->prev);
        w->grey = malloc(need);
        w->prev = malloc(need);
        w->cap = w->grey && w->prev ? need : 0;
        w->sw = sw;
        w->sh = sh;
        w->have_prev = false;
        if (!w->cap)
            return -1;
    }
    /* Box-filter downscale: average of scale x scale source pixels. */
    uint32_t area = scale * scale;
    for (uint32_t y = 0; y < sh; y++) {
        for (uint32_t x = 0; x < sw; x++) {
            uint32_t sum = 0;
            for (uint32_t dy = 0; dy < scale; dy++) {
                const uint8_t *p = ex_px(img, x * scale, y * scale + dy);
                for (uint32_t dx = 0; dx < scale; dx++, p += img->px_stride)
                    sum += luma(p, img->channels);
            }
            w->grey[(size_t)y * sw + x] = (uint8_t)(sum / area);
        }
    }
    double esum = 0;
    for (uint32_t y = 1; y + 1 < sh; y++) {
        const uint8_t *a = w->grey + (size_t)(y - 1) * sw, *b = a + sw, *c = b + sw;
        for (uint32_t x = 1; x + 1 < sw; x++) {
            int gx = (a[x + 1] + 2 * b[x + 1] + c[x + 1]) - (a[x - 1] + 2 * b[x - 1] + c[x - 1]);
            int gy = (c[x - 1] + 2 * c[x] + c[x + 1]) - (a[x - 1] + 2 * a[x] + a[x + 1]);
            esum += sqrt((double)(gx * gx + gy * gy));
        }
    }
    *edges = esum / ((double)(sw - 2) * (sh - 2));
    double msum = 0;
    if (w->have_prev)
        for (size_t i = 0; i < need; i++)
            msum += abs((int)w->grey[i] - (int)w->prev[i]);
    *motion = w->have_prev ? msum / (double)need : 0;
    uint8_t *t = w->prev;
    w->prev = w->grey;
    w->grey = t;
    w->have_prev = true;
    return 0;
}

int main(int argc, char **argv)
{
    const char *name = "cam0";
    zinc_delivery mode = ZINC_LATEST;
    uint64_t scale = 4, max_frames = 0;
    double wait_s = 10;
    bool json = false, quiet = false;
    enum { O_NAME = 256, O_MODE, O_SCALE, O_FRAMES, O_WAIT, O_JSON, O_QUIET, O_SOCKET };
    static const struct option lo[] = {
        {"name", required_argument, NULL, O_NAME}, {"mode", required_argument, NULL, O_MODE},
        {"scale", required_argument, NULL, O_SCALE},
        {"frames", required_argument, NULL, O_FRAMES},
        {"wait", required_argument, NULL, O_WAIT}, {"json", no_argument, NULL, O_JSON},
        {"quiet", no_argument, NULL, O_QUIET}, {"socket", required_argument, NULL, O_SOCKET},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'h': fputs(usage, stdout); return 0;
        case O_NAME: name = optarg; break;
        case O_SOCKET:
            name = optarg; /* an address: ex_open_consumer connects */
            bad = !(optarg[0] == '@' || strchr(optarg, '/'));
            break;
        case O_MODE: bad = ex_parse_mode(optarg, &mode); break;
        case O_SCALE: bad = ex_parse_u64(optarg, &scale) || scale == 0 || scale > 64; break;
        case O_FRAMES: bad = ex_parse_u64(optarg, &max_frames); break;
        case O_WAIT: bad = ex_parse_double(optarg, &wait_s); break;
        case O_JSON: json = true; break;
        case O_QUIET: quiet = true; break;
        default: return ex_usage_error(usage);
        }
        if (bad)
            return ex_bad_value("infer", lo, c, optarg);
    }
    if (optind != argc)
        return ex_usage_error(usage);
    ex_handle_signals();
    zinc_consumer *cons = NULL;
    int rc = ex_open_consumer("infer", name, mode, wait_s, &cons);
    if (rc != 0)
        return rc;
    zinc_frame desc;
    char fcc[8];
    if (zinc_consumer_stream(cons, &desc) == 0 && desc.tensor.ndim >= 2 && !quiet)
        fprintf(stderr, "infer: attached to '%s': %" PRIu64 "x%" PRIu64 " %s\n", name,
                desc.tensor.shape[1], desc.tensor.shape[0], zf_fourcc(desc.fourcc, fcc));

    struct work w;
    memset(&w, 0, sizeof(w));
    ex_samples lat = {0};
    uint64_t frames = 0, torn = 0, dropped = 0, skipped = 0, start = 0, last_report = 0;
    double edges = 0, motion = 0, edge_sum = 0, motion_max = 0;
    int ret = 0;
    const char *why = "stopped";
    while (!ex_stop && (!max_frames || frames < max_frames)) {
        zinc_frame f;
        rc = ex_acquire("infer", cons, &f, &why);
        if (rc == ZINC_ETIMEDOUT)
            continue;
        if (rc != 0) {
            ret = rc == ZINC_EPIPE ? 0 : 1;
            break;
        }
        if (!start)
            start = last_report = ex_now_ns();
        dropped += f.dropped;
        ex_image img;
        double e = 0, m = 0;
        int ok = ex_image_from_frame(&f, &img) == 0 && process(&img, (uint32_t)scale, &w, &e, &m) == 0;
        uint64_t done = ex_now_ns();
        uint32_t flags = f.flags;
        uint64_t latency = ex_frame_latency(&f, done);
        if (zinc_consumer_release(cons, &f) == ZINC_EOVERFLOW) {
            /* The producer lapped us while we read: the result is garbage. */
            torn++;
        } else if (!ok) {
            skipped++;
        } else {
            frames++;
            edges = e;
            motion = m;
            edge_sum += e;
            if (m > motion_max)
                motion_max = m;
            ex_samples_add(&lat, latency);
        }
        if (!quiet && !json && done - last_report >= 1000000000u) {
            fprintf(stderr, "infer: %" PRIu64 " frames, edges %.1f, motion %.2f, latency %.2f ms\n",
                    frames, edges, motion, lat.n ? (double)lat.v[lat.n - 1] / 1e6 : 0.0);
            last_report = done;
        }
        if (flags & ZINC_FRAME_END_OF_STREAM) {
            why = "end of stream";
            break;
        }
    }
    double elapsed = start ? (double)(ex_now_ns() - start) / 1e9 : 0;
    double fps = elapsed > 0 ? (double)frames / elapsed : 0;
    uint64_t p50 = ex_samples_pct(&lat, 0.50), p90 = ex_samples_pct(&lat, 0.90),
             p99 = ex_samples_pct(&lat, 0.99), pmax = ex_samples_pct(&lat, 1.0);
    if (json) {
        fputs("{\"name\":", stdout);
        zf_json_str(stdout, name); /* a name, or a socket address */
        printf(",\"mode\":\"%s\",\"frames\":%" PRIu64 ",\"dropped\":%" PRIu64
               ",\"torn\":%" PRIu64 ",\"skipped\":%" PRIu64 ",\"seconds\":%.3f,\"fps\":%.2f"
               ",\"edge_mean\":%.3f,\"motion_max\":%.3f,\"latency_ns\":{\"p50\":%" PRIu64
               ",\"p90\":%" PRIu64 ",\"p99\":%" PRIu64 ",\"max\":%" PRIu64 "},\"end\":\"%s\"}\n",
               mode == ZINC_LATEST ? "latest" : mode == ZINC_LOSSY ? "lossy" : "every",
               frames, dropped, torn, skipped, elapsed, fps,
               frames ? edge_sum / (double)frames : 0.0, motion_max, p50, p90, p99, pmax, why);
    } else {
        printf("infer: %" PRIu64 " frames (%.1f fps), %" PRIu64 " skipped as stale, %" PRIu64
               " torn; mean edge energy %.2f; capture->result latency p50 %.2f ms, p99 %.2f ms, "
               "max %.2f ms (%s)\n",
               frames, fps, dropped, torn, frames ? edge_sum / (double)frames : 0.0,
               (double)p50 / 1e6, (double)p99 / 1e6, (double)pmax / 1e6, why);
    }
    ex_samples_free(&lat);
    free(w.grey);
    free(w.prev);
    zinc_consumer_close(cons);
    return ret;
}
