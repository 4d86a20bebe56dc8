/* SPDX-License-Identifier: MIT */
/*
 * hot-path.c — the four hot calls (claim, publish, acquire, release) N times
 * in one thread, with nothing else around them: a fixed workload for
 * instruction counts under callgrind, which stay exact on a machine too
 * noisy for timings (docs/benchmarks.md, "Hot-path instruction counts").
 *   hot-path [N [TIMESTAMPS]]   (default 100000 frames, timestamps on)
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <zinc/ring.h>

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 100000;
    int ts = argc > 2 ? atoi(argv[2]) : 1;
    char name[64];
    snprintf(name, sizeof(name), "hot-path-%d", (int)getpid());
    zinc_ring_config cfg = {.slot_count = 256, .slot_size = 64,
                            .flags = ts ? 0 : ZINC_RING_NO_TIMESTAMPS};
    zinc_producer *p;
    zinc_consumer *c;
    if (zinc_producer_create(name, &cfg, &p) != 0 ||
        zinc_consumer_open(name, ZINC_EVERY, &c) != 0) {
        fprintf(stderr, "hot-path: %s\n", zinc_last_error());
        return 1;
    }
    for (int i = 0; i < n; i++) {
        zinc_frame f, g;
        if (zinc_producer_claim(p, &f, 0) != 0)
            return 2;
        f.size = 64;
        if (zinc_producer_publish(p, &f) != 0 || zinc_consumer_acquire(c, &g, 0) != 0 ||
            zinc_consumer_release(c, &g) != 0)
            return 3;
    }
    zinc_consumer_close(c);
    zinc_producer_close(p);
    return 0;
}
