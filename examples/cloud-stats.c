/* SPDX-License-Identifier: MIT */
/*
 * cloud-stats — a point-cloud consumer: for every sweep it reads the
 * N x K float32 points in place and computes bounds, mean intensity and the
 * number of occupied voxels; it can export one sweep as a PLY file (binary,
 * x y z intensity) that CloudCompare, MeshLab or Open3D open.
 *
 *   cloud-stats --name lidar0 --voxel 0.5 --ply sweep.ply --json
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
    "usage: cloud-stats [OPTIONS]\n"
    "Attach to a point-cloud ring and compute, per sweep, bounds, mean intensity\n"
    "and occupied voxels; optionally export one sweep as PLY.\n"
    "  --name NAME        ring name (default lidar0)\n"
    "  --mode M           every (default), lossy or latest\n"
    "  --voxel M          voxel edge in metres (default 0.5)\n"
    "  --frames N         stop after N sweeps\n"
    "  --ply FILE         export a sweep as binary PLY (x, y, z, intensity)\n"
    "  --ply-frame K      which sweep to export, counting from 1 (default 1)\n"
    "  --wait S           wait up to S seconds for the ring (default 10)\n"
    "  --json             print the summary as JSON\n"
    "  --quiet            no per-second line\n"
    "  --help             this text\n";

struct stats {
    uint64_t n;
    float lo[3], hi[3];
    double intensity;
    uint64_t voxels;
};

/* Open-addressing set of voxel keys; cleared per sweep. */
struct voxset {
    uint64_t *slot;
    size_t cap; /* power of two */
};

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
}

/* 1 if the key was new. Keys are never 0 (see voxel_key). */
static int voxset_add(struct voxset *s, uint64_t key)
{
    size_t i = mix(key) & (s->cap - 1);
    while (s->slot[i]) {
        if (s->slot[i] == key)
            return 0;
        i = (i + 1) & (s->cap - 1);
    }
    s->slot[i] = key;
    return 1;
}

static uint64_t voxel_key(float x, float y, float z, float inv)
{
    /* 21 bits per axis, biased so that negative indices fit; +1 keeps 0 free. */
    uint64_t ix = (uint64_t)((int64_t)floorf(x * inv) + (1 << 20)) & 0x1fffff;
    uint64_t iy = (uint64_t)((int64_t)floorf(y * inv) + (1 << 20)) & 0x1fffff;
    uint64_t iz = (uint64_t)((int64_t)floorf(z * inv) + (1 << 20)) & 0x1fffff;
    return ((ix << 42) | (iy << 21) | iz) + 1;
}

static float get_f32(const uint8_t *p)
{
    float v;
    memcpy(&v, p, sizeof(v)); /* strides need not keep floats aligned */
    return v;
}

/* Checks the description (float32, 2-D, K >= 3) and fills *st. */
static int analyse(const zinc_frame *f, float voxel, struct voxset *vs, struct stats *st)
{
    const zinc_tensor *t = &f->tensor;
    if (zinc_tensor_check(t, f->size) != 0 || t->ndim != 2 || t->dtype_code != ZINC_DTYPE_FLOAT ||
        t->dtype_bits != 32 || t->dtype_lanes != 1 || t->shape[1] < 3)
        return -1;
    uint64_t n = t->shape[0];
    size_t need = 16;
    while (need < 2 * n)
        need *= 2;
    if (need > vs->cap) {
        free(vs->slot);
        vs->slot = malloc(need * sizeof(*vs->slot));
        vs->cap = vs->slot ? need : 0;
        if (!vs->slot)
            return -1;
    }
    memset(vs->slot, 0, vs->cap * sizeof(*vs->slot));
    memset(st, 0, sizeof(*st));
    st->n = n;
    for (int k = 0; k < 3; k++) {
        st->lo[k] = INFINITY;
        st->hi[k] = -INFINITY;
    }
    const uint8_t *base = (const uint8_t *)f->data + t->offset;
    float inv = 1.0f / voxel;
    bool has_i = t->shape[1] >= 4;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *row = base + (int64_t)i * t->strides[0];
        float p[4];
        for (int k = 0; k < (has_i ? 4 : 3); k++)
            p[k] = get_f32(row + (int64_t)k * t->strides[1]);
        for (int k = 0; k < 3; k++) {
            if (p[k] < st->lo[k]) st->lo[k] = p[k];
            if (p[k] > st->hi[k]) st->hi[k] = p[k];
        }
        if (has_i)
            st->intensity += p[3];
        st->voxels += voxset_add(vs, voxel_key(p[0], p[1], p[2], inv));
    }
    if (n)
        st->intensity /= (double)n;
    return 0;
}

/* Packed copy of x, y, z, intensity for the PLY export. */
static float *copy_points(const zinc_frame *f, uint64_t *n_out)
{
    const zinc_tensor *t = &f->tensor;
    uint64_t n = t->shape[0];
    float *out = malloc((size_t)(n ? n : 1) * 4 * sizeof(float));
    if (!out)
        return NULL;
    const uint8_t *base = (const uint8_t *)f->data + t->offset;
    for (uint64_t i = 0; i < n; i++)
        for (uint64_t k = 0; k < 4; k++)
            out[4 * i + k] = k < t->shape[1]
                                 ? get_f32(base + (int64_t)i * t->strides[0] +
                                           (int64_t)k * t->strides[1])
                                 : 0.0f;
    *n_out = n;
    return out;
}

static int write_ply(const char *path, const float *pts, uint64_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    int rc = fprintf(fp,
                     "ply\nformat binary_little_endian 1.0\ncomment written by zinc cloud-stats\n"
                     "element vertex %" PRIu64 "\nproperty float x\nproperty float y\n"
                     "property float z\nproperty float intensity\nend_header\n",
                     n) > 0 &&
                     fwrite(pts, 4 * sizeof(float), n, fp) == n
                 ? 0
                 : -1;
    if (fclose(fp) != 0)
        rc = -1;
    return rc;
}

int main(int argc, char **argv)
{
    const char *name = "lidar0", *ply = NULL;
    zinc_delivery mode = ZINC_EVERY;
    uint64_t max_frames = 0, ply_k = 1;
    double voxel = 0.5, wait_s = 10;
    bool json = false, quiet = false;
    enum { O_NAME = 256, O_MODE, O_VOXEL, O_FRAMES, O_PLY, O_PLYK, O_WAIT, O_JSON, O_QUIET };
    static const struct option lo[] = {
        {"name", required_argument, NULL, O_NAME}, {"mode", required_argument, NULL, O_MODE},
        {"voxel", required_argument, NULL, O_VOXEL},
        {"frames", required_argument, NULL, O_FRAMES}, {"ply", required_argument, NULL, O_PLY},
        {"ply-frame", required_argument, NULL, O_PLYK},
        {"wait", required_argument, NULL, O_WAIT}, {"json", no_argument, NULL, O_JSON},
        {"quiet", no_argument, NULL, O_QUIET}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'h': fputs(usage, stdout); return 0;
        case O_NAME: name = optarg; break;
        case O_MODE: bad = ex_parse_mode(optarg, &mode); break;
        case O_VOXEL: bad = ex_parse_double(optarg, &voxel) || voxel < 0.01; break;
        case O_FRAMES: bad = ex_parse_u64(optarg, &max_frames); break;
        case O_PLY: ply = optarg; break;
        case O_PLYK: bad = ex_parse_u64(optarg, &ply_k) || ply_k == 0; break;
        case O_WAIT: bad = ex_parse_double(optarg, &wait_s); break;
        case O_JSON: json = true; break;
        case O_QUIET: quiet = true; break;
        default: return ex_usage_error(usage);
        }
        if (bad)
            return ex_bad_value("cloud-stats", lo, c, optarg);
    }
    if (optind != argc)
        return ex_usage_error(usage);
    ex_handle_signals();
    zinc_consumer *cons = NULL;
    int rc = ex_open_consumer("cloud-stats", name, mode, wait_s, &cons);
    if (rc != 0)
        return rc;

    struct voxset vs = {NULL, 0};
    struct stats st, last = {0};
    ex_samples lat = {0};
    float *ply_pts = NULL;
    uint64_t ply_n = 0, frames = 0, points = 0, voxels = 0, dropped = 0, torn = 0, skipped = 0;
    uint64_t last_report = ex_now_ns();
    int ret = 0;
    const char *why = "stopped";
    while (!ex_stop && (!max_frames || frames < max_frames)) {
        zinc_frame f;
        rc = ex_acquire("cloud-stats", cons, &f, &why);
        if (rc == ZINC_ETIMEDOUT)
            continue;
        if (rc != 0) {
            ret = rc == ZINC_EPIPE ? 0 : 1;
            break;
        }
        dropped += f.dropped;
        uint32_t flags = f.flags;
        int ok = analyse(&f, (float)voxel, &vs, &st) == 0;
        bool export_now = ok && ply && !ply_pts && frames + 1 == ply_k;
        if (export_now)
            ply_pts = copy_points(&f, &ply_n);
        uint64_t done = ex_now_ns();
        uint64_t latency = ex_frame_latency(&f, done);
        if (zinc_consumer_release(cons, &f) == ZINC_EOVERFLOW) {
            torn++; /* overwritten while we read it: discard */
            if (export_now) {
                free(ply_pts);
                ply_pts = NULL;
            }
        } else if (!ok) {
            skipped++;
        } else {
            frames++;
            points += st.n;
            voxels += st.voxels;
            last = st;
            ex_samples_add(&lat, latency);
        }
        if (!quiet && !json && done - last_report >= 1000000000u) {
            fprintf(stderr, "cloud-stats: sweep %" PRIu64 ": %" PRIu64 " points, %" PRIu64
                    " voxels, x [%.1f, %.1f] y [%.1f, %.1f] z [%.1f, %.1f]\n",
                    frames, last.n, last.voxels, last.lo[0], last.hi[0], last.lo[1], last.hi[1],
                    last.lo[2], last.hi[2]);
            last_report = done;
        }
        if (flags & ZINC_FRAME_END_OF_STREAM) {
            why = "end of stream";
            break;
        }
    }
    const char *ply_written = NULL;
    if (ply && ply_pts) {
        if (write_ply(ply, ply_pts, ply_n) == 0)
            ply_written = ply;
        else {
            fprintf(stderr, "cloud-stats: cannot write %s\n", ply);
            ret = 1;
        }
    }
    uint64_t p50 = ex_samples_pct(&lat, 0.5), p99 = ex_samples_pct(&lat, 0.99);
    if (json) {
        printf("{\"name\":\"%s\",\"sweeps\":%" PRIu64 ",\"points\":%" PRIu64
               ",\"mean_points\":%.1f,\"mean_voxels\":%.1f,\"voxel_m\":%.3f,\"dropped\":%" PRIu64
               ",\"torn\":%" PRIu64 ",\"skipped\":%" PRIu64,
               name, frames, points, frames ? (double)points / (double)frames : 0.0,
               frames ? (double)voxels / (double)frames : 0.0, voxel, dropped, torn, skipped);
        if (frames)
            printf(",\"last\":{\"points\":%" PRIu64 ",\"voxels\":%" PRIu64
                   ",\"min\":[%.3f,%.3f,%.3f],\"max\":[%.3f,%.3f,%.3f],\"mean_intensity\":%.4f}",
                   last.n, last.voxels, last.lo[0], last.lo[1], last.lo[2], last.hi[0],
                   last.hi[1], last.hi[2], last.intensity);
        printf(",\"latency_ns\":{\"p50\":%" PRIu64 ",\"p99\":%" PRIu64 "},\"ply\":", p50, p99);
        if (ply_written)
        {
            printf("{\"path\":");
            zf_json_str(stdout, ply_written);
            printf(",\"points\":%" PRIu64 "}", ply_n);
        }
        else
            printf("null");
        printf(",\"end\":\"%s\"}\n", why);
    } else {
        printf("cloud-stats: %" PRIu64 " sweeps, %.0f points and %.0f voxels (%.2f m) per sweep, "
               "%" PRIu64 " dropped; latency p50 %.2f ms p99 %.2f ms%s%s (%s)\n",
               frames, frames ? (double)points / (double)frames : 0.0,
               frames ? (double)voxels / (double)frames : 0.0, voxel, dropped, (double)p50 / 1e6,
               (double)p99 / 1e6, ply_written ? "; PLY " : "", ply_written ? ply_written : "",
               why);
    }
    free(vs.slot);
    free(ply_pts);
    ex_samples_free(&lat);
    zinc_consumer_close(cons);
    return ret;
}
