/* SPDX-License-Identifier: MIT */
/*
 * camera — a producer of synthetic video frames, as a capture process would
 * be: colour bars, a grey ramp, a bouncing box and the frame number drawn in
 * big digits, written in place into each ring slot, stamped with the capture
 * time (CLOCK_MONOTONIC) and described as an image (zinc_frame_set_image).
 *
 *   camera --name cam0 --size 1280x720 --fps 30 --seconds 10
 *   camera --socket /run/cam0.sock    (a sealed anonymous ring; docs/rendezvous.md)
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zinc/ring.h>

#include "common.h"

static const char usage[] =
    "usage: camera [OPTIONS]\n"
    "Publish synthetic frames (colour bars, grey ramp, a moving box and the frame\n"
    "number) into a zinc frame ring, at a fixed rate, until stopped.\n"
    "  --name NAME          ring name (default cam0)\n"
    "  --socket ADDRESS     a sealed anonymous ring instead, served on this socket\n"
    "                       (a path, or @name in the abstract namespace)\n"
    "  --size WxH           frame size (default 1920x1080)\n"
    "  --format rgba|rgb24  pixel format (default rgba)\n"
    "  --fps F              frames per second, 0 = as fast as possible (default 30)\n"
    "  --frames N           stop after N frames (the last one is END_OF_STREAM)\n"
    "  --seconds S          stop after S seconds\n"
    "  --slots N            ring slots, a power of two (default 8)\n"
    "  --gop N              keyframe flag every N frames (default 30)\n"
    "  --wait-consumers N   wait for N consumers before the first frame\n"
    "  --wait S             how long --wait-consumers waits (default 10 s)\n"
    "  --hold               after the last frame, keep the ring open until stdin\n"
    "                       closes (for tools that inspect it)\n"
    "  --json               print the summary as JSON\n"
    "  --quiet              no progress line\n"
    "  --help               this text\n"
    "Stop with Ctrl-C: the frame being made is published as END_OF_STREAM.\n";

/* 5x7 digits, one byte per row, bit 4 = leftmost column. */
static const uint8_t font5x7[10][7] = {
    {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e}, {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e},
    {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f}, {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e},
    {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02}, {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e},
    {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e}, {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},
    {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e}, {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c},
};

/* 100% colour bars, left to right. */
static const uint8_t bars[8][3] = {
    {255, 255, 255}, {255, 255, 0}, {0, 255, 255}, {0, 255, 0},
    {255, 0, 255},   {255, 0, 0},   {0, 0, 255},   {0, 0, 0},
};

struct canvas {
    uint8_t *px;
    uint32_t w, h, c; /* c = 3 or 4 bytes per pixel, packed rows */
};

static void fill_rect(const struct canvas *cv, int64_t x0, int64_t y0, int64_t x1, int64_t y1,
                      const uint8_t rgb[3])
{
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > cv->w) x1 = cv->w;
    if (y1 > cv->h) y1 = cv->h;
    for (int64_t y = y0; y < y1; y++) {
        uint8_t *p = cv->px + ((size_t)y * cv->w + (size_t)x0) * cv->c;
        for (int64_t x = x0; x < x1; x++, p += cv->c) {
            p[0] = rgb[0];
            p[1] = rgb[1];
            p[2] = rgb[2];
            if (cv->c == 4)
                p[3] = 255;
        }
    }
}

/* Height of the colour bars; the grey ramp fills the rest. */
static uint32_t bars_height(uint32_t h)
{
    return h * 2 / 3;
}

static void draw_background(const struct canvas *cv)
{
    uint32_t bh = bars_height(cv->h);
    for (int i = 0; i < 8; i++)
        fill_rect(cv, (int64_t)cv->w * i / 8, 0, (int64_t)cv->w * (i + 1) / 8, bh, bars[i]);
    for (uint32_t x = 0; x < cv->w; x++) {
        uint8_t v = (uint8_t)(cv->w > 1 ? (uint64_t)x * 255 / (cv->w - 1) : 0);
        const uint8_t g[3] = {v, v, v};
        fill_rect(cv, x, bh, x + 1, cv->h, g);
    }
}

/* Position on a back-and-forth path over [0, range]. */
static int64_t bounce(uint64_t n, uint64_t speed, uint64_t range)
{
    if (range == 0)
        return 0;
    uint64_t t = (n * speed) % (2 * range);
    return (int64_t)(t < range ? t : 2 * range - t);
}

static void draw_box(const struct canvas *cv, uint64_t n)
{
    static const uint8_t black[3] = {0, 0, 0}, orange[3] = {255, 140, 0};
    uint32_t bh = bars_height(cv->h);
    uint32_t side = cv->h / 6 > 8 ? cv->h / 6 : 8;
    if (side > bh)
        side = bh;
    uint64_t sx = cv->w / 90 ? cv->w / 90 : 1, sy = cv->h / 120 ? cv->h / 120 : 1;
    int64_t x = bounce(n, sx, cv->w > side ? cv->w - side : 0);
    int64_t y = bounce(n, sy, bh > side ? bh - side : 0);
    int64_t b = side / 16 + 1;
    fill_rect(cv, x, y, x + side, y + side, black);
    fill_rect(cv, x + b, y + b, x + side - b, y + side - b, orange);
}

static void draw_number(const struct canvas *cv, uint64_t value)
{
    static const uint8_t black[3] = {0, 0, 0}, white[3] = {255, 255, 255};
    char digits[24];
    int nd = snprintf(digits, sizeof(digits), "%" PRIu64, value);
    int64_t s = cv->h / 80 ? cv->h / 80 : 1; /* pixels per font dot */
    fill_rect(cv, 0, 0, s + (int64_t)nd * 6 * s + s, 9 * s, black);
    for (int i = 0; i < nd; i++) {
        const uint8_t *g = font5x7[digits[i] - '0'];
        int64_t ox = s + (int64_t)i * 6 * s, oy = s;
        for (int r = 0; r < 7; r++)
            for (int col = 0; col < 5; col++)
                if (g[r] & (0x10 >> col))
                    fill_rect(cv, ox + col * s, oy + r * s, ox + (col + 1) * s,
                              oy + (r + 1) * s, white);
    }
}

int main(int argc, char **argv)
{
    const char *name = "cam0", *sock = NULL;
    uint32_t w = 1920, h = 1080, fourcc = ZINC_FOURCC_RGBA32, chans = 4;
    double fps = 30, seconds = 0, wait_s = 10;
    uint64_t frames = 0, slots = 8, gop = 30, wait_consumers = 0;
    bool json = false, quiet = false, hold = false;
    enum { O_NAME = 256, O_SIZE, O_FORMAT, O_FPS, O_FRAMES, O_SECONDS, O_SLOTS, O_GOP,
           O_WAITC, O_WAIT, O_HOLD, O_JSON, O_QUIET, O_SOCKET };
    static const struct option lo[] = {
        {"name", required_argument, NULL, O_NAME}, {"size", required_argument, NULL, O_SIZE},
        {"format", required_argument, NULL, O_FORMAT}, {"fps", required_argument, NULL, O_FPS},
        {"frames", required_argument, NULL, O_FRAMES},
        {"seconds", required_argument, NULL, O_SECONDS},
        {"slots", required_argument, NULL, O_SLOTS}, {"gop", required_argument, NULL, O_GOP},
        {"wait-consumers", required_argument, NULL, O_WAITC},
        {"wait", required_argument, NULL, O_WAIT}, {"hold", no_argument, NULL, O_HOLD},
        {"json", no_argument, NULL, O_JSON}, {"quiet", no_argument, NULL, O_QUIET},
        {"socket", required_argument, NULL, O_SOCKET},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'h': fputs(usage, stdout); return 0;
        case O_NAME: name = optarg; break;
        case O_SOCKET: sock = optarg; break;
        case O_SIZE: bad = ex_parse_wxh(optarg, &w, &h); break;
        case O_FORMAT:
            if (!strcmp(optarg, "rgba")) {
                fourcc = ZINC_FOURCC_RGBA32;
                chans = 4;
            } else if (!strcmp(optarg, "rgb24") || !strcmp(optarg, "rgb")) {
                fourcc = ZINC_FOURCC_RGB24;
                chans = 3;
            } else {
                bad = 1;
            }
            break;
        case O_FPS: bad = ex_parse_double(optarg, &fps); break;
        case O_FRAMES: bad = ex_parse_u64(optarg, &frames); break;
        case O_SECONDS: bad = ex_parse_double(optarg, &seconds); break;
        case O_SLOTS: bad = ex_parse_u64(optarg, &slots) || slots < 2 || slots > 65536; break;
        case O_GOP: bad = ex_parse_u64(optarg, &gop) || gop == 0; break;
        case O_WAITC: bad = ex_parse_u64(optarg, &wait_consumers) || wait_consumers > 256; break;
        case O_WAIT: bad = ex_parse_double(optarg, &wait_s); break;
        case O_HOLD: hold = true; break;
        case O_JSON: json = true; break;
        case O_QUIET: quiet = true; break;
        default: return ex_usage_error(usage);
        }
        if (bad)
            return ex_bad_value("camera", lo, c, optarg);
    }
    if (optind != argc)
        return ex_usage_error(usage);

    ex_handle_signals();
    zinc_ring_config cfg = {
        .slot_count = (uint32_t)slots,
        .slot_size = (uint64_t)w * h * chans,
    };
    zinc_producer *p = NULL;
    int rc = ex_create_producer("camera", name, sock, &cfg, &p);
    if (rc != 0)
        return 1;

    /* Tell consumers what is coming before the first frame. */
    zinc_frame desc;
    memset(&desc, 0, sizeof(desc));
    desc.size = cfg.slot_size;
    zinc_frame_set_image(&desc, fourcc, w, h);
    rc = zinc_producer_set_stream(p, &desc);
    if (rc != 0)
        fprintf(stderr, "camera: set_stream: %s\n", zinc_strerror(rc));

    struct canvas bg = {malloc(cfg.slot_size), w, h, chans};
    if (!bg.px) {
        fprintf(stderr, "camera: out of memory\n");
        zinc_producer_close(p);
        return 1;
    }
    draw_background(&bg);
    char fcc[8];
    fprintf(stderr, "camera: ring '%s' ready: %ux%u %s, %" PRIu64 " slots, %.3g fps%s%s\n", name,
            w, h, zf_fourcc(fourcc, fcc), slots, fps, sock ? ", sealed, served on " : "",
            sock ? sock : "");

    int ret = 0;
    if (wait_consumers &&
        (sock ? ex_wait_consumers_p(p, (uint32_t)wait_consumers, wait_s)
              : ex_wait_consumers(name, (uint32_t)wait_consumers, wait_s)) != 0 &&
        !ex_stop) {
        fprintf(stderr, "camera: %" PRIu64 " consumer(s) did not attach within %.3g s\n",
                wait_consumers, wait_s);
        ret = 1;
        goto out;
    }

    ex_pacer pace;
    ex_pacer_start(&pace, fps, seconds);
    uint64_t last_report = pace.start;
    uint64_t sent = 0, blocked = 0, keyframes = 0;
    bool last = false;
    while (!last) {
        zinc_frame f;
        rc = ex_claim("camera", p, &f);
        if (rc == ZINC_ETIMEDOUT) {
            /* An EVERY consumer is behind; keep trying unless told to stop. */
            blocked++;
            if (ex_stop)
                break;
            continue;
        }
        if (rc != 0) {
            ret = 1;
            break;
        }
        uint64_t captured = ex_now_ns();
        last = ex_stop || (frames && sent + 1 >= frames) || ex_pacer_last(&pace, captured);
        struct canvas cv = {f.data, w, h, chans};
        memcpy(cv.px, bg.px, cfg.slot_size);
        draw_box(&cv, f.seq);
        draw_number(&cv, f.seq);
        rc = zinc_frame_set_image(&f, fourcc, w, h);
        f.timestamp_ns = captured;
        f.flags = 0;
        if ((f.seq - 1) % gop == 0) {
            f.flags |= ZINC_FRAME_KEYFRAME;
            keyframes++;
        }
        if (last)
            f.flags |= ZINC_FRAME_END_OF_STREAM;
        if (ex_publish("camera", p, &f, rc) != 0) {
            ret = 1;
            break;
        }
        sent++;
        uint64_t now = ex_now_ns();
        if (!quiet && !json && now - last_report >= 1000000000u) {
            fprintf(stderr, "camera: %" PRIu64 " frames, %.1f fps\n", sent,
                    (double)sent * 1e9 / (double)(now - pace.start));
            last_report = now;
        }
        if (!last)
            ex_pacer_wait(&pace, now);
    }
    double elapsed = (double)(ex_now_ns() - pace.start) / 1e9;

    if (hold) {
        /* Keep the ring (and its counters) until whoever started us closes
         * our stdin: tests and scripts inspect it meanwhile. */
        fprintf(stderr, "camera: done, holding '%s' until stdin closes\n", name);
        char buf[256];
        while (!ex_stop && read(STDIN_FILENO, buf, sizeof(buf)) > 0) {
        }
    }
    if (json)
        printf("{\"name\":\"%s\",\"frames\":%" PRIu64 ",\"seconds\":%.3f,\"fps\":%.2f,"
               "\"width\":%u,\"height\":%u,\"format\":\"%s\",\"keyframes\":%" PRIu64
               ",\"blocked_claims\":%" PRIu64 ",\"generation\":\"0x%016" PRIx64 "\"}\n",
               name, sent, elapsed, elapsed > 0 ? (double)sent / elapsed : 0.0, w, h,
               chans == 4 ? "rgba" : "rgb24", keyframes, blocked,
               zinc_producer_generation(p));
    else
        printf("camera: published %" PRIu64 " frames in %.2f s (%.1f fps), %ux%u %s\n", sent,
               elapsed, elapsed > 0 ? (double)sent / elapsed : 0.0, w, h,
               chans == 4 ? "RGBA" : "RGB24");
out:
    free(bg.px);
    zinc_producer_close(p);
    return ret;
}
