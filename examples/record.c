/* SPDX-License-Identifier: MIT */
/*
 * record — a consumer that must lose nothing (ZINC_EVERY): it converts every
 * frame to YCbCr and appends it to a YUV4MPEG2 (.y4m) file that ffmpeg, mpv
 * or vlc play as is, and can save one frame as a PPM or PNG snapshot. The
 * frame is released as soon as it is converted, so the producer waits for
 * the conversion only, never for the disk.
 *
 *   record --name cam0 --out cam0.y4m --snapshot frame.png --snapshot-frame 30
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zinc/ring.h>

#include "common.h"

static const char usage[] =
    "usage: record [OPTIONS]\n"
    "Attach to a frame ring as an EVERY consumer (the producer waits for us) and\n"
    "write every frame to a Y4M file; optionally save frame K as PPM or PNG.\n"
    "Accepts GREY, RGB24 and RGBA32 frames.\n"
    "  --name NAME           ring name (default cam0)\n"
    "  --out FILE            Y4M output (default record.y4m; 'none' for no file)\n"
    "  --chroma 420|444      Y4M colour space: C420jpeg (default) or C444\n"
    "  --fps N               frame rate written in the Y4M header (default 30)\n"
    "  --scale N             write the video N times smaller (box filter; default 1)\n"
    "  --frames N            stop after N frames\n"
    "  --snapshot FILE       save one frame as FILE (.ppm or .png)\n"
    "  --snapshot-frame K    which frame to save, counting from 1 (default 1)\n"
    "  --wait S              wait up to S seconds for the ring (default 10)\n"
    "  --json                print the summary as JSON\n"
    "  --quiet               no progress line\n"
    "  --help                this text\n"
    "Stops at END_OF_STREAM, when the producer is gone, or on Ctrl-C.\n";

/* ---- PNG without zlib: stored deflate blocks, CRC-32 and Adler-32 ---------- */

static uint32_t crc_table[256];

static void crc_init(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return crc;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static int png_chunk(FILE *fp, const char type[4], const uint8_t *data, size_t n)
{
    uint8_t hdr[8];
    put_be32(hdr, (uint32_t)n);
    memcpy(hdr + 4, type, 4);
    uint32_t crc = crc_update(0xffffffffu, hdr + 4, 4);
    crc = crc_update(crc, data, n) ^ 0xffffffffu;
    uint8_t tail[4];
    put_be32(tail, crc);
    return fwrite(hdr, 1, 8, fp) == 8 && (n == 0 || fwrite(data, 1, n, fp) == n) &&
                   fwrite(tail, 1, 4, fp) == 4
               ? 0
               : -1;
}

/* pix: rows of width * channels bytes (channels 1 = grey, 3 = RGB). */
static int write_png(const char *path, const uint8_t *pix, uint32_t w, uint32_t h,
                     uint32_t channels)
{
    size_t row = (size_t)w * channels + 1; /* filter byte 0 (None) + pixels */
    size_t raw = row * h;
    size_t blocks = (raw + 65534) / 65535;
    size_t zlen = 2 + raw + 5 * blocks + 4;
    uint8_t *z = malloc(zlen), *rawbuf = malloc(raw);
    if (!z || !rawbuf) {
        free(z);
        free(rawbuf);
        return -1;
    }
    for (uint32_t y = 0; y < h; y++) {
        rawbuf[y * row] = 0;
        memcpy(rawbuf + y * row + 1, pix + (size_t)y * w * channels, row - 1);
    }
    /* zlib header: deflate, 32K window, no dictionary, check bits (0x7801). */
    size_t o = 0;
    z[o++] = 0x78;
    z[o++] = 0x01;
    for (size_t off = 0; off < raw; off += 65535) {
        size_t n = raw - off < 65535 ? raw - off : 65535;
        z[o++] = off + n == raw ? 1 : 0; /* BFINAL, BTYPE = 00 (stored) */
        z[o++] = (uint8_t)n;
        z[o++] = (uint8_t)(n >> 8);
        z[o++] = (uint8_t)~n;
        z[o++] = (uint8_t)(~n >> 8);
        memcpy(z + o, rawbuf + off, n);
        o += n;
    }
    uint32_t a = 1, b = 0; /* Adler-32 of the uncompressed data */
    for (size_t i = 0; i < raw; i++) {
        a = (a + rawbuf[i]) % 65521;
        b = (b + a) % 65521;
    }
    put_be32(z + o, (b << 16) | a);
    o += 4;
    free(rawbuf);

    FILE *fp = fopen(path, "wb");
    if (!fp) {
        free(z);
        return -1;
    }
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t ihdr[13];
    put_be32(ihdr, w);
    put_be32(ihdr + 4, h);
    ihdr[8] = 8;                          /* bit depth */
    ihdr[9] = channels == 1 ? 0 : 2;      /* greyscale or truecolour */
    ihdr[10] = ihdr[11] = ihdr[12] = 0;   /* deflate, adaptive filters, no interlace */
    crc_init();
    int rc = fwrite(sig, 1, 8, fp) == 8 && png_chunk(fp, "IHDR", ihdr, 13) == 0 &&
                     png_chunk(fp, "IDAT", z, o) == 0 && png_chunk(fp, "IEND", NULL, 0) == 0
                 ? 0
                 : -1;
    free(z);
    if (fclose(fp) != 0)
        rc = -1;
    return rc;
}

static int write_ppm(const char *path, const uint8_t *pix, uint32_t w, uint32_t h,
                     uint32_t channels)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    size_t n = (size_t)w * h * channels;
    int rc = fprintf(fp, "%s\n%u %u\n255\n", channels == 1 ? "P5" : "P6", w, h) > 0 &&
                     fwrite(pix, 1, n, fp) == n
                 ? 0
                 : -1;
    if (fclose(fp) != 0)
        rc = -1;
    return rc;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

/* ---- RGB -> Y'CbCr (full range, JFIF / BT.601), 16.16 fixed point ---------- */

static inline uint8_t clamp8(int32_t v)
{
    return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

static inline uint8_t to_y(uint32_t r, uint32_t g, uint32_t b)
{
    return clamp8((int32_t)((19595 * r + 38470 * g + 7471 * b + 32768) >> 16));
}

static inline uint8_t to_cb(int32_t r, int32_t g, int32_t b)
{
    return clamp8((-11059 * r - 21709 * g + 32768 * b + (128 << 16) + 32768) >> 16);
}

static inline uint8_t to_cr(int32_t r, int32_t g, int32_t b)
{
    return clamp8((32768 * r - 27439 * g - 5329 * b + (128 << 16) + 32768) >> 16);
}

static inline void rgb_at(const ex_image *img, uint32_t x, uint32_t y, uint32_t *r, uint32_t *g,
                          uint32_t *b)
{
    const uint8_t *p = ex_px(img, x, y);
    if (img->channels == 1) {
        *r = *g = *b = p[0];
    } else {
        *r = p[0];
        *g = p[1];
        *b = p[2];
    }
}

/* Fill the Y, Cb, Cr planes of one Y4M frame. 420: chroma from the mean of
 * each 2x2 block (odd edges use what exists). */
static void convert(const ex_image *img, bool c420, uint8_t *yp, uint8_t *up, uint8_t *vp)
{
    uint32_t w = img->width, h = img->height, r, g, b;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            rgb_at(img, x, y, &r, &g, &b);
            yp[(size_t)y * w + x] = to_y(r, g, b);
            if (!c420) {
                up[(size_t)y * w + x] = to_cb((int32_t)r, (int32_t)g, (int32_t)b);
                vp[(size_t)y * w + x] = to_cr((int32_t)r, (int32_t)g, (int32_t)b);
            }
        }
    if (!c420)
        return;
    uint32_t cw = (w + 1) / 2, ch = (h + 1) / 2;
    for (uint32_t cy = 0; cy < ch; cy++)
        for (uint32_t cx = 0; cx < cw; cx++) {
            uint32_t sr = 0, sg = 0, sb = 0, n = 0;
            for (uint32_t dy = 0; dy < 2 && 2 * cy + dy < h; dy++)
                for (uint32_t dx = 0; dx < 2 && 2 * cx + dx < w; dx++) {
                    rgb_at(img, 2 * cx + dx, 2 * cy + dy, &r, &g, &b);
                    sr += r;
                    sg += g;
                    sb += b;
                    n++;
                }
            int32_t ar = (int32_t)((sr + n / 2) / n), ag = (int32_t)((sg + n / 2) / n),
                    ab = (int32_t)((sb + n / 2) / n);
            up[(size_t)cy * cw + cx] = to_cb(ar, ag, ab);
            vp[(size_t)cy * cw + cx] = to_cr(ar, ag, ab);
        }
}

/* Box-filter `img` down by `scale` into `out` (packed, 1 or 3 channels) and
 * describe the result in *small. */
static void downscale(const ex_image *img, uint32_t scale, uint8_t *out, ex_image *small)
{
    uint32_t c = img->channels == 1 ? 1 : 3;
    uint32_t ow = img->width / scale, oh = img->height / scale, area = scale * scale;
    for (uint32_t y = 0; y < oh; y++)
        for (uint32_t x = 0; x < ow; x++)
            for (uint32_t k = 0; k < c; k++) {
                uint32_t sum = 0;
                for (uint32_t dy = 0; dy < scale; dy++)
                    for (uint32_t dx = 0; dx < scale; dx++)
                        sum += ex_px(img, x * scale + dx, y * scale + dy)[k];
                out[((size_t)y * ow + x) * c + k] = (uint8_t)((sum + area / 2) / area);
            }
    small->base = out;
    small->width = ow;
    small->height = oh;
    small->channels = c;
    small->px_stride = c;
    small->row_stride = (int64_t)ow * c;
}

/* Packed RGB (or grey) copy of the image, for the snapshot. */
static uint8_t *copy_pixels(const ex_image *img, uint32_t *channels)
{
    uint32_t c = img->channels == 1 ? 1 : 3;
    uint8_t *out = malloc((size_t)img->width * img->height * c);
    if (!out)
        return NULL;
    uint8_t *o = out;
    for (uint32_t y = 0; y < img->height; y++)
        for (uint32_t x = 0; x < img->width; x++) {
            const uint8_t *p = ex_px(img, x, y);
            for (uint32_t k = 0; k < c; k++)
                *o++ = p[k];
        }
    *channels = c;
    return out;
}

int main(int argc, char **argv)
{
    const char *name = "cam0", *out = "record.y4m", *snap = NULL;
    uint64_t fps = 30, max_frames = 0, snap_k = 1, scale = 1;
    double wait_s = 10;
    bool c420 = true, json = false, quiet = false;
    enum { O_NAME = 256, O_OUT, O_CHROMA, O_FPS, O_FRAMES, O_SNAP, O_SNAPK, O_WAIT, O_JSON,
           O_QUIET, O_SCALE };
    static const struct option lo[] = {
        {"name", required_argument, NULL, O_NAME}, {"out", required_argument, NULL, O_OUT},
        {"chroma", required_argument, NULL, O_CHROMA}, {"fps", required_argument, NULL, O_FPS},
        {"frames", required_argument, NULL, O_FRAMES},
        {"snapshot", required_argument, NULL, O_SNAP},
        {"snapshot-frame", required_argument, NULL, O_SNAPK},
        {"wait", required_argument, NULL, O_WAIT}, {"json", no_argument, NULL, O_JSON},
        {"quiet", no_argument, NULL, O_QUIET}, {"scale", required_argument, NULL, O_SCALE},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'h': fputs(usage, stdout); return 0;
        case O_NAME: name = optarg; break;
        case O_OUT: out = optarg; break;
        case O_SCALE: bad = ex_parse_u64(optarg, &scale) || scale == 0 || scale > 16; break;
        case O_CHROMA:
            if (!strcmp(optarg, "420")) c420 = true;
            else if (!strcmp(optarg, "444")) c420 = false;
            else bad = 1;
            break;
        case O_FPS: bad = ex_parse_u64(optarg, &fps) || fps == 0 || fps > 1000; break;
        case O_FRAMES: bad = ex_parse_u64(optarg, &max_frames); break;
        case O_SNAP:
            snap = optarg;
            bad = !ends_with(snap, ".ppm") && !ends_with(snap, ".png");
            break;
        case O_SNAPK: bad = ex_parse_u64(optarg, &snap_k) || snap_k == 0; break;
        case O_WAIT: bad = ex_parse_double(optarg, &wait_s); break;
        case O_JSON: json = true; break;
        case O_QUIET: quiet = true; break;
        default: return ex_usage_error(usage);
        }
        if (bad)
            return ex_bad_value("record", lo, c, optarg);
    }
    if (optind != argc)
        return ex_usage_error(usage);
    ex_handle_signals();
    zinc_consumer *cons = NULL;
    int rc = ex_open_consumer("record", name, ZINC_EVERY, wait_s, &cons);
    if (rc != 0)
        return rc;
    FILE *y4m = NULL;
    if (strcmp(out, "none") != 0) {
        y4m = fopen(out, "wb");
        if (!y4m) {
            perror(out);
            zinc_consumer_close(cons);
            return 1;
        }
        setvbuf(y4m, NULL, _IOFBF, 1 << 20);
    }

    uint32_t w = 0, h = 0, ow = 0, oh = 0, snap_c = 0;
    uint8_t *planes = NULL, *snap_px = NULL, *small = NULL;
    size_t ysize = 0, csize = 0;
    uint64_t frames = 0, skipped = 0, torn = 0, dropped = 0, start = 0, last_report = 0;
    bool demoted = false;
    ex_samples lat = {0};
    int ret = 0;
    const char *why = "stopped";
    while (!ex_stop && (!max_frames || frames < max_frames)) {
        zinc_frame f;
        rc = ex_acquire("record", cons, &f, &why);
        if (rc == ZINC_ETIMEDOUT)
            continue;
        if (rc != 0) {
            ret = rc == ZINC_EPIPE ? 0 : 1;
            break;
        }
        if (!start)
            start = last_report = ex_now_ns();
        dropped += f.dropped;
        demoted |= (f.flags & ZINC_FRAME_DEMOTED) != 0;
        uint32_t flags = f.flags;
        ex_image img;
        bool ok = ex_image_from_frame(&f, &img) == 0;
        if (ok && !planes) {
            /* The first frame fixes the geometry of the file. */
            w = img.width;
            h = img.height;
            ow = w / (uint32_t)scale;
            oh = h / (uint32_t)scale;
            if (ow == 0 || oh == 0) {
                fprintf(stderr, "record: --scale %" PRIu64 " leaves nothing of %ux%u\n", scale,
                        w, h);
                zinc_consumer_release(cons, &f);
                ret = 2;
                break;
            }
            ysize = (size_t)ow * oh;
            csize = c420 ? (size_t)((ow + 1) / 2) * ((oh + 1) / 2) : ysize;
            planes = malloc(ysize + 2 * csize);
            small = scale > 1 ? malloc(ysize * 3) : NULL;
            if (!planes || (scale > 1 && !small)) {
                fprintf(stderr, "record: out of memory\n");
                zinc_consumer_release(cons, &f);
                ret = 1;
                break;
            }
            if (y4m)
                fprintf(y4m, "YUV4MPEG2 W%u H%u F%" PRIu64 ":1 Ip A1:1 %s\n", ow, oh, fps,
                        c420 ? "C420jpeg XYSCSS=420JPEG" : "C444 XCOLORRANGE=FULL");
        }
        ok = ok && img.width == w && img.height == h;
        bool take_snap = ok && snap && !snap_px && frames + 1 == snap_k;
        if (ok) {
            ex_image src = img;
            if (scale > 1)
                downscale(&img, (uint32_t)scale, small, &src);
            convert(&src, c420, planes, planes + ysize, planes + ysize + csize);
            if (take_snap)
                snap_px = copy_pixels(&img, &snap_c);
        }
        /* Release before touching the disk: the producer may reuse the slot. */
        if (zinc_consumer_release(cons, &f) == ZINC_EOVERFLOW) {
            torn++; /* only after a demotion to lossy: the copy is not trusted */
            ok = false;
            free(snap_px);
            snap_px = NULL;
        }
        if (!ok) {
            skipped++;
        } else {
            frames++;
            ex_samples_add(&lat, ex_frame_latency(&f, ex_now_ns())); /* capture -> converted */
            if (y4m && (fputs("FRAME\n", y4m) < 0 ||
                        fwrite(planes, 1, ysize + 2 * csize, y4m) != ysize + 2 * csize)) {
                fprintf(stderr, "record: write %s failed\n", out);
                ret = 1;
                break;
            }
        }
        uint64_t now = ex_now_ns();
        if (!quiet && !json && now - last_report >= 1000000000u) {
            fprintf(stderr, "record: %" PRIu64 " frames\n", frames);
            last_report = now;
        }
        if (flags & ZINC_FRAME_END_OF_STREAM) {
            why = "end of stream";
            break;
        }
    }
    if (y4m && fclose(y4m) != 0) {
        fprintf(stderr, "record: write %s failed\n", out);
        ret = 1;
    }
    const char *snap_written = NULL;
    if (snap && snap_px) {
        int wr = ends_with(snap, ".png") ? write_png(snap, snap_px, w, h, snap_c)
                                         : write_ppm(snap, snap_px, w, h, snap_c);
        if (wr != 0) {
            fprintf(stderr, "record: cannot write %s\n", snap);
            ret = 1;
        } else {
            snap_written = snap;
        }
    } else if (snap) {
        fprintf(stderr, "record: frame %" PRIu64 " never came; no snapshot written\n", snap_k);
    }
    double elapsed = start ? (double)(ex_now_ns() - start) / 1e9 : 0;
    if (json) {
        printf("{\"name\":\"%s\",\"frames\":%" PRIu64 ",\"skipped\":%" PRIu64
               ",\"dropped\":%" PRIu64 ",\"torn\":%" PRIu64 ",\"demoted\":%s,\"width\":%u"
               ",\"height\":%u,\"scale\":%" PRIu64 ",\"chroma\":\"%s\",\"seconds\":%.3f"
               ",\"fps\":%.2f,",
               name, frames, skipped, dropped, torn, demoted ? "true" : "false", ow, oh, scale,
               c420 ? "420jpeg" : "444", elapsed, elapsed > 0 ? (double)frames / elapsed : 0.0);
        printf("\"latency_ns\":{\"p50\":%" PRIu64 ",\"p99\":%" PRIu64 "},\"y4m\":",
               ex_samples_pct(&lat, 0.5), ex_samples_pct(&lat, 0.99));
        if (y4m)
            zf_json_str(stdout, out);
        else
            printf("null");
        printf(",\"snapshot\":");
        if (snap_written)
            zf_json_str(stdout, snap_written);
        else
            printf("null");
        printf(",\"end\":\"%s\"}\n", why);
    } else {
        printf("record: %" PRIu64 " frames %ux%u to %s (%" PRIu64 " dropped, %" PRIu64
               " skipped)%s%s (%s)\n",
               frames, ow, oh, y4m ? out : "(no file)", dropped, skipped,
               snap_written ? ", snapshot " : "", snap_written ? snap_written : "", why);
    }
    ex_samples_free(&lat);
    free(planes);
    free(small);
    free(snap_px);
    zinc_consumer_close(cons);
    return ret;
}
