/* SPDX-License-Identifier: MIT */
/*
 * lidar — a producer of point clouds, as a spinning lidar driver would be:
 * every frame is one full revolution of a multi-beam sensor moving through
 * a small synthetic scene (ground, walls, parked boxes, one box circling the
 * sensor), published as N x 4 float32 (x, y, z, intensity) in place
 * (zinc_frame_set_points). Rays that hit nothing within range give no point,
 * so N varies a little from sweep to sweep.
 *
 *   lidar --name lidar0 --points 65536 --rate 10 --sweeps 100
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
    "usage: lidar [OPTIONS]\n"
    "Publish rotating lidar sweeps (N x (x, y, z, intensity) float32 per frame).\n"
    "  --name NAME          ring name (default lidar0)\n"
    "  --points N           rays per sweep, at most N points (default 65536)\n"
    "  --beams N            vertical beams (default 32)\n"
    "  --rate HZ            sweeps per second, 0 = as fast as possible (default 10)\n"
    "  --sweeps N           stop after N sweeps (the last one is END_OF_STREAM)\n"
    "  --seconds S          stop after S seconds\n"
    "  --slots N            ring slots, a power of two (default 8)\n"
    "  --wait-consumers N   wait for N consumers before the first sweep\n"
    "  --wait S             how long --wait-consumers waits (default 10 s)\n"
    "  --json               print the summary as JSON\n"
    "  --quiet              no progress line\n"
    "  --help               this text\n";

#define MAX_RANGE 80.0f
#define SENSOR_Z 1.8f /* sensor height above the ground */

struct box {
    float lo[3], hi[3], reflect;
};

/* Static scene in world coordinates: a 60 x 40 m yard with parked boxes. */
static const struct box scene[] = {
    {{-30, -20.5f, -SENSOR_Z}, {30, -20, 4}, 0.5f},    /* walls */
    {{-30, 20, -SENSOR_Z}, {30, 20.5f, 4}, 0.5f},
    {{-30.5f, -20, -SENSOR_Z}, {-30, 20, 4}, 0.5f},
    {{30, -20, -SENSOR_Z}, {30.5f, 20, 4}, 0.5f},
    {{5, 4, -SENSOR_Z}, {9.5f, 6, -0.3f}, 0.8f},       /* parked "cars" */
    {{-12, -7, -SENSOR_Z}, {-7.5f, -5, -0.3f}, 0.8f},
    {{14, -9, -SENSOR_Z}, {16, -3, 1.2f}, 0.3f},       /* a container */
    {{-4, 10, -SENSOR_Z}, {-3.6f, 10.4f, 3}, 0.9f},    /* a pole */
};
#define N_SCENE (sizeof(scene) / sizeof(scene[0]))

/* Ray (origin o, direction d) against an axis-aligned box: entry distance or
 * INFINITY (slab method). */
static float hit_box(const float o[3], const float d[3], const struct box *b)
{
    float t0 = 0, t1 = MAX_RANGE;
    for (int k = 0; k < 3; k++) {
        if (fabsf(d[k]) < 1e-9f) {
            if (o[k] < b->lo[k] || o[k] > b->hi[k])
                return INFINITY;
            continue;
        }
        float inv = 1.0f / d[k];
        float a = (b->lo[k] - o[k]) * inv, c = (b->hi[k] - o[k]) * inv;
        if (a > c) {
            float t = a;
            a = c;
            c = t;
        }
        if (a > t0) t0 = a;
        if (c < t1) t1 = c;
        if (t0 > t1)
            return INFINITY;
    }
    return t0 > 0 ? t0 : INFINITY;
}

static uint32_t rng_state = 0x2545f491u;

/* xorshift32: small, deterministic sensor noise. */
static float noise(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return (float)(rng_state & 0xffff) / 65535.0f - 0.5f;
}

/* One revolution; writes up to beams * steps points, returns how many. The
 * sensor drives slowly along x (ego motion); points are in the sensor frame. */
static uint64_t sweep(float *pts, uint32_t beams, uint32_t steps, uint64_t n)
{
    float pos[3] = {-10.0f + (float)fmod((double)n * 0.2, 20.0), 0, 0};
    double ang = (double)n * 0.15; /* the circling box */
    struct box mover = {{(float)(8 * cos(ang)) - 1, (float)(8 * sin(ang)) - 1, -SENSOR_Z},
                        {(float)(8 * cos(ang)) + 1, (float)(8 * sin(ang)) + 1, 0.2f},
                        0.95f};
    mover.lo[0] += pos[0]; /* it circles the sensor, wherever that is */
    mover.hi[0] += pos[0];
    uint64_t count = 0;
    for (uint32_t s = 0; s < steps; s++) {
        float az = (float)(2.0 * M_PI * s / steps);
        float ca = cosf(az), sa = sinf(az);
        for (uint32_t b = 0; b < beams; b++) {
            /* Beams from -25 to +15 degrees of elevation. */
            float el = (float)((-25.0 + 40.0 * b / (beams > 1 ? beams - 1 : 1)) * M_PI / 180);
            float d[3] = {cosf(el) * ca, cosf(el) * sa, sinf(el)};
            float best = INFINITY, refl = 0;
            if (d[2] < -1e-6f) { /* ground plane z = -SENSOR_Z */
                float t = -SENSOR_Z / d[2];
                if (t < MAX_RANGE) {
                    best = t;
                    refl = 0.2f;
                }
            }
            for (size_t i = 0; i < N_SCENE + 1; i++) {
                struct box bx = i < N_SCENE ? scene[i] : mover;
                bx.lo[0] -= pos[0]; /* world -> sensor frame */
                bx.hi[0] -= pos[0];
                float t = hit_box((const float[3]){0, 0, 0}, d, &bx);
                if (t < best) {
                    best = t;
                    refl = bx.reflect;
                }
            }
            if (!(best < MAX_RANGE))
                continue;
            float r = best + 0.02f * noise(); /* 2 cm range noise */
            float *p = pts + 4 * count++;
            p[0] = d[0] * r;
            p[1] = d[1] * r;
            p[2] = d[2] * r;
            p[3] = refl / (1.0f + 0.002f * r * r) + 0.02f * noise();
        }
    }
    return count;
}

int main(int argc, char **argv)
{
    const char *name = "lidar0";
    uint64_t points = 65536, beams = 32, sweeps = 0, slots = 8, wait_consumers = 0;
    double rate = 10, seconds = 0, wait_s = 10;
    bool json = false, quiet = false;
    enum { O_NAME = 256, O_POINTS, O_BEAMS, O_RATE, O_SWEEPS, O_SECONDS, O_SLOTS, O_WAITC,
           O_WAIT, O_JSON, O_QUIET };
    static const struct option lo[] = {
        {"name", required_argument, NULL, O_NAME}, {"points", required_argument, NULL, O_POINTS},
        {"beams", required_argument, NULL, O_BEAMS}, {"rate", required_argument, NULL, O_RATE},
        {"sweeps", required_argument, NULL, O_SWEEPS},
        {"seconds", required_argument, NULL, O_SECONDS},
        {"slots", required_argument, NULL, O_SLOTS},
        {"wait-consumers", required_argument, NULL, O_WAITC},
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
        case O_POINTS: bad = ex_parse_u64(optarg, &points) || points < 1 || points > (1u << 24); break;
        case O_BEAMS: bad = ex_parse_u64(optarg, &beams) || beams < 1 || beams > 256; break;
        case O_RATE: bad = ex_parse_double(optarg, &rate); break;
        case O_SWEEPS: bad = ex_parse_u64(optarg, &sweeps); break;
        case O_SECONDS: bad = ex_parse_double(optarg, &seconds); break;
        case O_SLOTS: bad = ex_parse_u64(optarg, &slots) || slots < 2 || slots > 65536; break;
        case O_WAITC: bad = ex_parse_u64(optarg, &wait_consumers) || wait_consumers > 256; break;
        case O_WAIT: bad = ex_parse_double(optarg, &wait_s); break;
        case O_JSON: json = true; break;
        case O_QUIET: quiet = true; break;
        default: return ex_usage_error(usage);
        }
        if (bad)
            return ex_bad_value("lidar", lo, c, optarg);
    }
    if (optind != argc)
        return ex_usage_error(usage);
    if (beams > points)
        beams = points;
    uint32_t steps = (uint32_t)(points / beams);
    ex_handle_signals();
    zinc_ring_config cfg = {.slot_count = (uint32_t)slots,
                            .slot_size = (uint64_t)beams * steps * 4 * sizeof(float)};
    zinc_producer *p = NULL;
    int rc = zinc_producer_create(name, &cfg, &p);
    if (rc != 0) {
        fprintf(stderr, "lidar: cannot create ring '%s': %s (%d) %s\n", name, zinc_strerror(rc),
                rc, zinc_last_error());
        return 1;
    }
    zinc_frame desc;
    memset(&desc, 0, sizeof(desc));
    desc.size = cfg.slot_size;
    zinc_frame_set_points(&desc, (uint64_t)beams * steps, 4);
    zinc_producer_set_stream(p, &desc);
    fprintf(stderr, "lidar: ring '%s' ready: %" PRIu64 " beams x %u steps, %.3g Hz\n", name,
            beams, steps, rate);

    int ret = 0;
    if (wait_consumers && ex_wait_consumers(name, (uint32_t)wait_consumers, wait_s) != 0 &&
        !ex_stop) {
        fprintf(stderr, "lidar: consumers did not attach within %.3g s\n", wait_s);
        zinc_producer_close(p);
        return 1;
    }
    ex_pacer pace;
    ex_pacer_start(&pace, rate, seconds);
    uint64_t last_report = pace.start;
    uint64_t sent = 0, total_points = 0;
    bool last = false;
    while (!last) {
        zinc_frame f;
        rc = ex_claim("lidar", p, &f);
        if (rc == ZINC_ETIMEDOUT) {
            if (ex_stop)
                break;
            continue;
        }
        if (rc != 0) {
            ret = 1;
            break;
        }
        uint64_t t = ex_now_ns();
        last = ex_stop || (sweeps && sent + 1 >= sweeps) || ex_pacer_last(&pace, t);
        uint64_t n = sweep(f.data, (uint32_t)beams, steps, f.seq);
        rc = zinc_frame_set_points(&f, n, 4);
        f.timestamp_ns = t;
        f.flags = ZINC_FRAME_KEYFRAME | (last ? ZINC_FRAME_END_OF_STREAM : 0);
        if (ex_publish("lidar", p, &f, rc) != 0) {
            ret = 1;
            break;
        }
        sent++;
        total_points += n;
        uint64_t now = ex_now_ns();
        if (!quiet && !json && now - last_report >= 1000000000u) {
            fprintf(stderr, "lidar: %" PRIu64 " sweeps, the last with %" PRIu64 " points\n", sent,
                    n);
            last_report = now;
        }
        if (!last)
            ex_pacer_wait(&pace, now);
    }
    double elapsed = (double)(ex_now_ns() - pace.start) / 1e9;
    if (json)
        printf("{\"name\":\"%s\",\"sweeps\":%" PRIu64 ",\"points\":%" PRIu64 ",\"seconds\":%.3f"
               ",\"rate\":%.2f}\n",
               name, sent, total_points, elapsed, elapsed > 0 ? (double)sent / elapsed : 0.0);
    else
        printf("lidar: published %" PRIu64 " sweeps (%" PRIu64 " points) in %.2f s\n", sent,
               total_points, elapsed);
    zinc_producer_close(p);
    return ret;
}
