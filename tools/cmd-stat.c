/* SPDX-License-Identifier: MIT */
/* zinc stat NAME: a region's header and a ring's geometry and counters. */
#include "zinc-tool.h"

#include <inttypes.h>
#include <stdlib.h>

static const char usage_stat[] =
    "usage: zinc stat NAME|ADDRESS [--json]\n"
    "Show a region's header and, for a frame ring, its geometry, the producer's\n"
    "counters and every consumer's counters, lag and publish->acquire latency\n"
    "percentiles (p50/p90/p99, from the shared log2 histogram: exact to within\n"
    "a factor of two). An ADDRESS (@name, or a path with a '/') is the socket a\n"
    "sealed anonymous ring's producer listens on.\n"
    "  --json   one JSON object\n";

static void json_consumer(FILE *o, const zinc_consumer_stats *c)
{
    fprintf(o, "{\"index\":%u,\"pid\":%d,\"alive\":%s,\"mode\":\"%s\",\"demoted\":%s"
            ",\"evicted\":%s,\"cursor\":%" PRIu64 ",\"lag\":%" PRIu64 ",\"acquired\":%" PRIu64
            ",\"released\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"torn\":%" PRIu64
            ",\"latency_samples\":%" PRIu64 ",\"latency_ns\":{\"p50\":",
            c->index, c->pid, c->alive ? "true" : "false", mode_name(c->mode),
            c->demoted ? "true" : "false", c->evicted ? "true" : "false", c->cursor, c->lag,
            c->acquired, c->released, c->dropped, c->torn, hist_total(c->latency));
    json_num(o, hist_percentile(c->latency, 0.50));
    fputs(",\"p90\":", o);
    json_num(o, hist_percentile(c->latency, 0.90));
    fputs(",\"p99\":", o);
    json_num(o, hist_percentile(c->latency, 0.99));
    fputs("},\"histogram\":[", o);
    for (int i = 0; i < ZINC_LAT_BUCKETS; i++)
        fprintf(o, "%s%" PRIu64, i ? "," : "", c->latency[i]);
    fputs("]}", o);
}

static void stat_json(const struct snapshot *s)
{
    FILE *o = stdout;
    const zinc_region_info *in = &s->info;
    int32_t pid;
    bool alive;
    snap_owner(s, &pid, &alive);
    fprintf(o, "{\"name\":");
    zf_json_str(o, s->name);
    if (s->anon)
        fputs(",\"anonymous\":true", o);
    fprintf(o, ",\"kind\":\"%s\",\"region\":{\"layout\":%u,\"flags\":%u,\"file_size\":%" PRIu64
            ",\"capacity\":%" PRIu64 ",\"data_offset\":%" PRIu64 ",\"ref_count\":%u"
            ",\"owner_pid\":%d,\"owner_alive\":%s,\"notify_seq\":%u,\"created_at_ns\":%" PRIu64
            ",\"name_hash\":\"0x%016" PRIx64 "\"}",
            snap_kind(s), in->version, in->flags, in->file_size, in->capacity, in->data_offset,
            in->ref_count, in->owner_pid, in->owner_alive ? "true" : "false", in->notify_seq,
            in->created_at, in->name_hash);
    fprintf(o, ",\"owner_pid\":%d,\"owner_alive\":%s,\"owner_uid\":%u,\"foreign\":%s", pid,
            alive ? "true" : "false", in->owner_uid, s->foreign ? "true" : "false");
    if (snap_is_ring(s)) {
        const zinc_ring_stats *r = &s->rs;
        char fcc[8];
        uint64_t now = now_ns(CLOCK_MONOTONIC);
        fprintf(o, ",\"ring\":{\"generation\":\"0x%016" PRIx64 "\",\"head\":%" PRIu64
                ",\"slot_count\":%u,\"slot_size\":%" PRIu64 ",\"max_consumers\":%u"
                ",\"ring_bytes\":%" PRIu64 ",\"flags\":%u,\"stream_fourcc\":\"%s\""
                ",\"uptime_ns\":%" PRIu64 ",\"since_last_publish_ns\":",
                r->generation, r->head, r->slot_count, r->slot_size, r->max_consumers,
                r->ring_bytes, r->flags, zf_fourcc(r->stream_fourcc, fcc),
                now > r->created_ns ? now - r->created_ns : 0);
        if (r->last_publish_ns && now >= r->last_publish_ns)
            fprintf(o, "%" PRIu64, now - r->last_publish_ns);
        else
            fputs("null", o);
        fprintf(o, "},\"producer\":{\"pid\":%d,\"alive\":%s,\"state\":\"%s\",\"published\":%" PRIu64
                ",\"aborted\":%" PRIu64 ",\"blocked_ns\":%" PRIu64 ",\"blocked_claims\":%" PRIu64
                ",\"evicted\":%" PRIu64 ",\"demoted\":%" PRIu64 "},\"consumers\":[",
                r->producer_pid, r->producer_alive ? "true" : "false",
                prod_state_name(r->producer_state), r->published, r->aborted, r->blocked_ns,
                r->blocked_claims, r->evicted, r->demoted);
        for (uint32_t i = 0; i < s->ncons; i++) {
            if (i)
                fputc(',', o);
            json_consumer(o, &s->cs[i]);
        }
        fputc(']', o);
    } else if (in->is_ring) {
        fprintf(o, ",\"ring_error\":%d", s->ring_rc);
    }
    fputs("}\n", o);
}

static void stat_text(const struct snapshot *s)
{
    const zinc_region_info *in = &s->info;
    char b1[32], b2[32], b3[32];
    int32_t pid;
    bool alive;
    snap_owner(s, &pid, &alive);
    time_t created = (time_t)(in->created_at / 1000000000u);
    struct tm tm;
    char when[64] = "?";
    if (localtime_r(&created, &tm))
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    printf("%s: %s%s\n", s->name, snap_kind(s),
           s->anon ? " (sealed anonymous ring, served on this socket)" : "");
    printf("  region   layout v%u, %s object, %s data at offset %" PRIu64 ", refs %u, "
           "flags 0x%x\n",
           in->version, human_bytes(in->file_size, b1, sizeof(b1)),
           human_bytes(in->capacity, b2, sizeof(b2)), in->data_offset, in->ref_count,
           in->flags);
    printf("  owner    pid %d, %s; created %s; name hash 0x%016" PRIx64 "\n", pid,
           alive ? "alive" : "gone", when, in->name_hash);
    if (s->foreign)
        printf("  FOREIGN  owned by uid %u, not this user: zinc refuses to attach to it "
               "(ZINC_TRUST_UID=%u trusts it on purpose)\n", in->owner_uid, in->owner_uid);
    if (!in->is_ring) {
        printf("  notify   seq %u\n", in->notify_seq);
        return;
    }
    if (s->ring_rc != 0) {
        printf("  ring     unreadable: %s (%d)\n", zinc_strerror(s->ring_rc), s->ring_rc);
        return;
    }
    const zinc_ring_stats *r = &s->rs;
    uint64_t now = now_ns(CLOCK_MONOTONIC);
    char fcc[8];
    printf("  ring     generation 0x%016" PRIx64 ", %u slots x %s, max %u consumers, "
           "stream %s%s%s%s\n",
           r->generation, r->slot_count, human_bytes(r->slot_size, b1, sizeof(b1)),
           r->max_consumers, zf_fourcc(r->stream_fourcc, fcc),
           r->flags & ZINC_RING_PREFAULT ? ", prefault" : "",
           r->flags & ZINC_RING_HUGEPAGES ? ", hugepages" : "",
           r->flags & ZINC_RING_NO_TIMESTAMPS ? ", no timestamps (no latency figures)" : "");
    printf("  producer pid %d, %s, %s; head %" PRIu64 ", published %" PRIu64 ", aborted %" PRIu64
           "\n",
           r->producer_pid, prod_state_name(r->producer_state),
           r->producer_alive ? "alive" : "dead", r->head, r->published, r->aborted);
    printf("           blocked %" PRIu64 " claims for %s; evicted %" PRIu64 ", demoted %" PRIu64
           "; up %s, last publish %s ago\n",
           r->blocked_claims, human_ns((double)r->blocked_ns, b1, sizeof(b1)), r->evicted,
           r->demoted, human_ns(now > r->created_ns ? (double)(now - r->created_ns) : -1, b2,
                                sizeof(b2)),
           human_ns(r->last_publish_ns && now >= r->last_publish_ns
                        ? (double)(now - r->last_publish_ns) : -1,
                    b3, sizeof(b3)));
    if (s->ncons == 0) {
        printf("  consumers: none attached\n");
        return;
    }
    printf("  %3s %8s %-5s %-6s %10s %6s %9s %6s %9s %9s %9s  %s\n", "#", "PID", "ALIVE",
           "MODE", "ACQUIRED", "LAG", "DROPPED", "TORN", "P50", "P90", "P99", "NOTE");
    for (uint32_t i = 0; i < s->ncons; i++) {
        const zinc_consumer_stats *c = &s->cs[i];
        char p50[32], p90[32], p99[32];
        printf("  %3u %8d %-5s %-6s %10" PRIu64 " %6" PRIu64 " %9" PRIu64 " %6" PRIu64
               " %9s %9s %9s  %s%s\n",
               c->index, c->pid, c->alive ? "yes" : "no", mode_name(c->mode), c->acquired,
               c->lag, c->dropped, c->torn,
               human_ns(hist_percentile(c->latency, 0.50), p50, sizeof(p50)),
               human_ns(hist_percentile(c->latency, 0.90), p90, sizeof(p90)),
               human_ns(hist_percentile(c->latency, 0.99), p99, sizeof(p99)),
               c->demoted ? "demoted " : "", c->evicted ? "evicted" : "");
    }
}

int cmd_stat(int argc, char **argv)
{
    struct opts o;
    int ec;
    int first = parse_cmd(argc, argv, "j", usage_stat, "NAME", 1, 1, &o, &ec);
    if (first < 0)
        return ec;
    bool addr = is_address(argv[first]);
    const char *name = addr ? argv[first] : bare_name(argv[first]);
    if (!addr && check_name_arg(name) != 0)
        return EXIT_USAGE;
    struct snapshot *s = malloc(sizeof(*s));
    if (!s)
        return EXIT_ERROR;
    if (addr)
        snap_read_address(name, s);
    else
        snap_read(name, s);
    int ret = EXIT_OKAY;
    if (s->info_rc != 0) {
        print_zinc_error("cannot inspect", name, s->info_rc);
        ret = code_to_exit(s->info_rc);
    } else if (o.json) {
        stat_json(s);
    } else {
        stat_text(s);
    }
    free(s);
    return ret;
}
