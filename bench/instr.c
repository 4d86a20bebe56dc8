/* SPDX-License-Identifier: MIT */
/*
 * instr.c — one hot-path operation N times, for instruction counts under
 * valgrind --tool=callgrind (bench/instr.sh). Instruction counts do not
 * depend on the machine's load, so two revisions of the library can be
 * compared on a shared, noisy machine where timings cannot (and where perf
 * has no hardware counters).
 *
 * Usage: instr OP N      OP: claim-publish | every-round | lossy-round |
 *                            acquire-empty
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zinc/ring.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: instr claim-publish|every-round|lossy-round|acquire-empty N\n");
        return 2;
    }
    const char *op = argv[1];
    long n = atol(argv[2]);
    bool round = !strcmp(op, "every-round") || !strcmp(op, "lossy-round");
    bool empty = !strcmp(op, "acquire-empty");
    if (!round && !empty && strcmp(op, "claim-publish") != 0) {
        fprintf(stderr, "instr: unknown operation '%s'\n", op);
        return 2;
    }
    char name[64];
    snprintf(name, sizeof(name), "instr-%d", (int)getpid());
    zinc_ring_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.slot_count = 8;
    cfg.slot_size = 64;
    zinc_producer *p;
    zinc_consumer *c;
    if (zinc_producer_create(name, &cfg, &p) != 0 ||
        zinc_consumer_open(name, !strcmp(op, "every-round") ? ZINC_EVERY : ZINC_LOSSY, &c) != 0) {
        fprintf(stderr, "instr: %s\n", zinc_last_error());
        return 1;
    }
    zinc_frame f, g;
    for (long i = 0; i < n; i++) {
        if (empty) {
            (void)zinc_consumer_acquire(c, &g, 0);
            continue;
        }
        if (zinc_producer_claim(p, &f, 0) != 0)
            return 1;
        f.size = 64;
        if (zinc_producer_publish(p, &f) != 0)
            return 1;
        if (round) {
            if (zinc_consumer_acquire(c, &g, 0) != 0 || zinc_consumer_release(c, &g) != 0)
                return 1;
        }
    }
    zinc_consumer_close(c);
    zinc_producer_close(p);
    return 0;
}
