/* SPDX-License-Identifier: MIT */
/* zinc gc [PATTERN...]: remove every name whose owner is gone. */
#include "zinc-tool.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char usage_gc[] =
    "usage: zinc gc [PATTERN...] [--dry-run] [--json]\n"
    "Remove every Zinc name in /dev/shm whose owner is gone: rings whose\n"
    "producer closed, died or never finished creating, and plain regions whose\n"
    "creator closed or died. Names with a live owner are never touched, nor\n"
    "foreign ones (another user's, or not a regular file: zinc ls shows them).\n"
    "PATTERNs (shell globs, e.g. 'test-*') restrict it to matching names.\n"
    "Entries of the socket registry nobody listens on any more (anonymous\n"
    "rings whose producer died) are removed too.\n"
    "  --dry-run  only say what would be removed\n"
    "  --json     one JSON object: {\"names\": [...], \"removed\", \"kept\"}\n";

struct gc {
    bool json, dry_run;
    int ret;
    unsigned removed, kept;
};

static void gc_row(struct gc *g, const char *name, const char *kind, const char *action,
                   int rc)
{
    if (g->json) {
        fputs(g->removed + g->kept > 1 ? "," : "", stdout);
        fputs("{\"name\":", stdout);
        zf_json_str(stdout, name);
        fprintf(stdout, ",\"kind\":\"%s\",\"action\":\"%s\",\"code\":%d}", kind, action, rc);
    } else if (strcmp(action, "kept (live)") != 0) {
        printf("%-24s %-7s %s\n", name, kind, action);
    }
}

/* Registry entries whose address nobody listens on: their producer died
 * without closing. An anonymous ring has nothing else to collect (the
 * kernel frees the memfd with its last descriptor). */
static void gc_registry(struct gc *g, char **pat, int npat)
{
    /* A producer killed between writing its entry's temporary link and
     * renaming it leaves ".<hash>.<pid>": gone after a minute, whoever made
     * it (a live producer renames its own within microseconds). */
    char dir[400];
    DIR *d = zinc_socket_registry(dir, sizeof(dir)) == 0 ? opendir(dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[512];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%.100s", dir, e->d_name);
        if (e->d_name[0] != '.' || !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
            lstat(path, &st) != 0 || !S_ISLNK(st.st_mode) || time(NULL) - st.st_mtime < 60)
            continue;
        if (!g->dry_run)
            (void)unlink(path);
    }
    if (d)
        closedir(d);
    struct reg_entry *reg;
    size_t n;
    if (list_registry(pat, npat, &reg, &n) != 0)
        return;
    for (size_t i = 0; i < n; i++) {
        struct stat before, after;
        if (lstat(reg[i].path, &before) != 0)
            continue;
        int fd = zinc_ring_connect(reg[i].address);
        if (fd >= 0) {
            close(fd);
            continue; /* live: ls shows it */
        }
        if (fd != ZINC_ENOENT)
            continue; /* busy, stopped or foreign: never guess */
        /* Only the entry we probed (a new producer may have just replaced it). */
        bool same = lstat(reg[i].path, &after) == 0 && after.st_ino == before.st_ino;
        int rc = 0;
        if (!g->dry_run && same && unlink(reg[i].path) != 0)
            rc = ZINC_EPERM;
        if (!same)
            continue;
        if (rc == 0)
            g->removed++;
        else
            g->kept++;
        gc_row(g, reg[i].address, "socket",
               rc != 0 ? "error" : g->dry_run ? "would remove (nobody listens)"
                                              : "removed (nobody listens)", rc);
    }
    free(reg);
}

static void gc_one(const struct snapshot *s, void *ctx)
{
    struct gc *g = ctx;
    if (s->anon)
        return; /* a live anonymous ring (the registry's dead ones: gc_registry) */
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
    gc_row(g, s->name, snap_kind(s), action, rc);
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
    gc_registry(&g, argv + first, argc - first);
    if (o.json)
        printf("],\"removed\":%u,\"kept\":%u}\n", g.removed, g.kept);
    else
        printf("%s %u name%s, kept %u\n", o.dry_run ? "would remove" : "removed", g.removed,
               g.removed == 1 ? "" : "s", g.kept);
    return g.ret;
}
