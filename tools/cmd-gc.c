/* SPDX-License-Identifier: MIT */
/* zinc gc [PATTERN...]: remove every name whose owner is gone. */
#include "zinc-tool.h"

#include <string.h>

static const char usage_gc[] =
    "usage: zinc gc [PATTERN...] [--dry-run] [--json]\n"
    "Remove every Zinc name in /dev/shm whose owner is gone: rings whose\n"
    "producer closed, died or never finished creating, and plain regions whose\n"
    "creator closed or died. Names with a live owner are never touched, nor\n"
    "foreign ones (another user's, or not a regular file: zinc ls shows them).\n"
    "PATTERNs (shell globs, e.g. 'test-*') restrict it to matching names.\n"
    "  --dry-run  only say what would be removed\n"
    "  --json     one JSON object: {\"names\": [...], \"removed\", \"kept\"}\n";

struct gc {
    bool json, dry_run;
    int ret;
    unsigned removed, kept;
};

static void gc_one(const struct snapshot *s, void *ctx)
{
    struct gc *g = ctx;
    int gone = snap_owner_gone(s), rc = 0;
    const char *action;
    bool counts = false; /* removed, or would be */
    if (s->foreign) {
        action = "kept (foreign)"; /* not ours to judge: its owner or root removes it */
    } else if (gone == 1) {
        if (g->dry_run) {
            action = "would remove";
            counts = true;
        } else {
            rc = snap_remove_gone(s);
            action = rc == 0 ? "removed" : rc == ZINC_EEXIST ? "kept (live)" : "error";
            counts = rc == 0;
        }
    } else if (gone == 0) {
        action = "kept (live)";
    } else if (s->info.is_ring || s->info_rc == ZINC_EBADMSG) {
        /* A ring half-made by a creator that died is stale; the library
         * decides (it tests the producer token), we never guess. */
        rc = g->dry_run ? 0 : zinc_ring_remove_stale(s->name);
        action = g->dry_run ? "unreadable (would try)" : rc == 0 ? "removed" : "kept (unreadable)";
        counts = !g->dry_run && rc == 0;
    } else {
        action = "kept (unreadable)";
    }
    if (counts)
        g->removed++;
    else
        g->kept++;
    if (rc != 0 && rc != ZINC_EEXIST && rc != ZINC_EBADMSG && rc != ZINC_ENOENT) {
        print_zinc_error("cannot remove", s->name, rc);
        g->ret = EXIT_ERROR;
    }
    if (g->json) {
        fputs(g->removed + g->kept > 1 ? "," : "", stdout);
        fputs("{\"name\":", stdout);
        zf_json_str(stdout, s->name);
        fprintf(stdout, ",\"kind\":\"%s\",\"action\":\"%s\",\"code\":%d}", snap_kind(s), action,
                rc);
    } else if (strcmp(action, "kept (live)") != 0) {
        printf("%-24s %-7s %s\n", s->name, snap_kind(s), action);
    }
}

int cmd_gc(int argc, char **argv)
{
    struct opts o;
    int ec;
    int first = parse_cmd(argc, argv, "dj", usage_gc, "PATTERN", 0, -1, &o, &ec);
    if (first < 0)
        return ec;
    struct gc g = {.json = o.json, .dry_run = o.dry_run, .ret = EXIT_OKAY};
    if (o.json)
        printf("{\"dry_run\":%s,\"names\":[", o.dry_run ? "true" : "false");
    if (each_snapshot(argv + first, argc - first, gc_one, &g) < 0)
        return EXIT_ERROR;
    if (o.json)
        printf("],\"removed\":%u,\"kept\":%u}\n", g.removed, g.kept);
    else
        printf("%s %u name%s, kept %u\n", o.dry_run ? "would remove" : "removed", g.removed,
               g.removed == 1 ? "" : "s", g.kept);
    return g.ret;
}
