/* SPDX-License-Identifier: MIT */
/*
 * make-seeds.c — writes the seed corpora of the fuzz targets from objects the
 * library itself creates (valid regions and rings), so that mutations start
 * from bytes that pass validation. Run by `scripts/fuzz.sh --seeds`; the
 * output is committed under fuzz/corpus/.
 * Usage: make-seeds CORPUS_DIR
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zinc/ring.h>

static const char *dir;

/* Dump /dev/shm/zinc_<name> as a fuzz-common.h image: size, option byte,
 * then the bytes up to the last non-zero one. */
static void dump(const char *name, const char *target, const char *seed, uint8_t opt)
{
    char path[512];
    snprintf(path, sizeof(path), "/dev/shm/zinc_%s", name);
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        perror(path);
        exit(1);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *b = malloc(n + 5);
    if (!b || pread(fd, b + 5, n, 0) != (ssize_t)n)
        exit(1);
    close(fd);
    while (n > 0 && b[5 + n - 1] == 0)
        n--;
    uint32_t sz = (uint32_t)st.st_size;
    memcpy(b, &sz, 4); /* little-endian host */
    b[4] = opt;
    snprintf(path, sizeof(path), "%s/%s/%s", dir, target, seed);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n + 5, f) != n + 5 || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    free(b);
}

/* The same with flip masks for the double-fetch class (fuzz-common.h):
 * the `k` masks are appended after the image, so they are its last bytes. */
static void dump_flip(const char *name, const char *target, const char *seed, uint8_t opt,
                      const uint64_t *masks, size_t k)
{
    char path[512];
    snprintf(path, sizeof(path), "/dev/shm/zinc_%s", name);
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        exit(1);
    size_t n = (size_t)st.st_size;
    uint8_t *b = malloc(n + 5 + 8 * k);
    if (!b || pread(fd, b + 5, n, 0) != (ssize_t)n)
        exit(1);
    close(fd);
    while (n > 0 && b[5 + n - 1] == 0)
        n--;
    n = (n + 7) & ~(size_t)7;
    memcpy(b + 5 + n, masks, 8 * k); /* little-endian host */
    uint32_t sz = (uint32_t)st.st_size;
    memcpy(b, &sz, 4);
    b[4] = opt;
    snprintf(path, sizeof(path), "%s/%s/%s", dir, target, seed);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n + 5 + 8 * k, f) != n + 5 + 8 * k || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    free(b);
}

static void write_raw(const char *target, const char *seed, const uint8_t *b, size_t n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s/%s", dir, target, seed);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void publish(zinc_producer *p, int n)
{
    for (int i = 0; i < n; i++) {
        zinc_frame f;
        if (zinc_producer_claim(p, &f, 0) != 0)
            exit(1);
        memset(f.data, 0x5a, 64);
        f.size = 64;
        if (i & 1)
            zinc_frame_set_image(&f, ZINC_FOURCC_GREY, 8, 8);
        if (zinc_producer_publish(p, &f) != 0)
            exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make-seeds CORPUS_DIR\n");
        return 2;
    }
    dir = argv[1];
    char name[64];
    snprintf(name, sizeof(name), "seedgen_%d", (int)getpid());

    /* Regions: version 1 and version 2, with a notification and a reader. */
    ZincHandle h, o;
    if (zinc_create(name, 4096, &h) != 0)
        return 1;
    zinc_notify(h);
    if (zinc_open(name, &o) != 0)
        return 1;
    dump(name, "region", "v1-4k", 0);
    /* Double-fetch seeds: capacity (word 2) flipped between 4096 and
     * 1 TiB + 4096 (the attack of issue 13), then the size flipped too. */
    uint64_t hm[8] = {0, 0, 1ull << 40, 0, 0, 0, 0, 0};
    dump_flip(name, "region", "v1-4k-capacity-flipped", 1, hm, 8);
    dump_flip(name, "region", "v1-4k-capacity-and-size-flipped", 1 | 2 | (8 << 4), hm, 8);
    uint64_t none[8] = {0};
    dump_flip(name, "region", "v1-4k-size-flipped-to-0", 2, none, 8);
    zinc_close(o);
    zinc_close(h);
    zinc_unlink(name);
    zinc_create_opts opts = {.layout_version = 2};
    if (zinc_create_ex(name, 8192, &opts, &h) != 0)
        return 1;
    dump(name, "region", "v2-8k", 0);
    zinc_close(h);
    zinc_unlink(name);

    /* Rings: fresh, with frames and a stream descriptor, closed. */
    zinc_ring_config cfg = {.slot_count = 2, .max_consumers = 1, .slot_size = 64};
    zinc_producer *p;
    if (zinc_producer_create(name, &cfg, &p) != 0)
        return 1;
    dump(name, "ring-attach", "ring-fresh-every", 0);
    zinc_frame sd;
    memset(&sd, 0, sizeof(sd));
    sd.size = 64;
    zinc_frame_set_image(&sd, ZINC_FOURCC_GREY, 8, 8);
    zinc_producer_set_stream(p, &sd);
    zinc_consumer *c;
    if (zinc_consumer_open(name, ZINC_LATEST, &c) != 0)
        return 1;
    publish(p, 3);
    dump(name, "ring-attach", "ring-3-frames-latest", 2);
    dump(name, "ring-attach", "ring-3-frames-lossy-create", 1 | 4);
    dump(name, "region", "ring-as-region", 0);
    zinc_consumer_close(c);
    zinc_producer_close(p);
    zinc_ring_remove_stale(name);
    zinc_unlink(name);
    cfg.slot_count = 4;
    cfg.max_consumers = 2;
    if (zinc_producer_create(name, &cfg, &p) != 0)
        return 1;
    publish(p, 6);
    dump(name, "ring-attach", "ring-4x2-6-frames", 0);
    /* Double-fetch seeds: region capacity (word 2), ring_bytes (8 + 2),
     * slot_count (8 + 3, low half) and slot_size (8 + 4) flipped while a
     * consumer attaches and reads; then the size flipped to a 16th (the
     * control block gone). */
    uint64_t rm[24] = {0};
    rm[2] = 1ull << 30;
    rm[8 + 2] = 1ull << 30;
    rm[8 + 3] = 4;
    rm[8 + 4] = 1ull << 20;
    dump_flip(name, "ring-attach", "ring-4x2-geometry-flipped", 2 | 8, rm, 24);
    dump_flip(name, "ring-attach", "ring-4x2-geometry-and-size-flipped", 1 | 8 | 16 | (1 << 4),
              rm, 24);
    zinc_producer_close(p);
    zinc_unlink(name);

    /* Acquire: frames before/after attach, no patch, a static patch of the
     * head word (word 16: control line 1), a flipped descriptor lock. */
    const uint8_t a0[] = {0, 2, 3, 0};
    write_raw("ring-acquire", "every-no-patch", a0, sizeof(a0));
    const uint8_t a1[] = {2, 5, 1, 0};
    write_raw("ring-acquire", "latest-no-patch", a1, sizeof(a1));
    const uint8_t a2[] = {1, 0, 6, 1, 16, 0, 9, 0, 0, 0, 0, 0, 0, 0};
    write_raw("ring-acquire", "lossy-head-patched", a2, sizeof(a2));
    /* descriptor 0's lock word: (1024 + 2*512) / 8 = 256 */
    const uint8_t a3[] = {4, 0, 3, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0};
    write_raw("ring-acquire", "every-lock-flipped", a3, sizeof(a3));
    /* descriptor 0's size word (257 + ZD_SIZE) flipped to a huge value */
    const uint8_t a4[] = {1, 1, 2, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0x80};
    write_raw("ring-acquire", "lossy-size-flipped", a4, sizeof(a4));
    return 0;
}
