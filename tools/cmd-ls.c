/* SPDX-License-Identifier: MIT */
/* zinc ls: every Zinc region and frame ring in /dev/shm, one line each. */
#include "zinc-tool.h"

#include <inttypes.h>
#include <sys/stat.h>

static const char usage_ls[] =
    "usage: zinc ls [PATTERN...] [--json]\n"
    "List every Zinc region and frame ring in /dev/shm: name, kind (region or\n"
    "ring), size, owner pid and whether it is alive, open handles (refs) and\n"
    "attached consumers (alive/entries). A name owned by another user, or that\n"
    "is not a regular file (a FIFO, a link), shows as \"foreign\": the library\n"
    "refuses to attach to it. Then every sealed anonymous ring whose producer\n"
    "listens on a socket registered for this user, by its address (@name or a\n"
    "path). PATTERNs (shell globs, e.g. 'cam*') restrict the list.\n"
    "  --json   one JSON object: {\"regions\": [...]}\n";

static void json_summary(FILE *o, const struct snapshot *s)
{
    int32_t pid;
    bool alive;
    snap_owner(s, &pid, &alive);
    fprintf(o, "{\"name\":");
    zf_json_str(o, s->name);
    fprintf(o, ",\"kind\":\"%s\",\"foreign\":%s,\"file_type\":\"%s\"", snap_kind(s),
            s->foreign ? "true" : "false", s->file_type);
    if (s->have_stat)
        fprintf(o, ",\"owner_uid\":%u", s->uid);
    if (s->anon)
        fputs(",\"anonymous\":true", o);
    if (s->info_rc != 0) {
        fprintf(o, ",\"error\":%d,\"message\":", s->info_rc);
        zf_json_str(o, zinc_strerror(s->info_rc));
        fputc('}', o);
        return;
    }
    fprintf(o, ",\"size\":%" PRIu64 ",\"capacity\":%" PRIu64 ",\"layout\":%u"
            ",\"owner_pid\":%d,\"owner_alive\":%s,\"ref_count\":%u",
            s->info.file_size, s->info.capacity, s->info.version, pid,
            alive ? "true" : "false", s->info.ref_count);
    if (snap_is_ring(s))
        fprintf(o, ",\"producer_state\":\"%s\",\"consumers\":%u,\"consumers_alive\":%u"
                ",\"head\":%" PRIu64,
                prod_state_name(s->rs.producer_state), s->ncons, snap_alive_consumers(s),
                s->rs.head);
    fputc('}', o);
}

#define ROW "%-24s %-7s %10s %8s %-7s %4s %9s\n"

/* An object whose header does not validate keeps the table's columns: its
 * size from the file system, "-" for what only a header could tell. */
static void text_invalid(const struct snapshot *s)
{
    char path[300], sz[32] = "-";
    struct stat st;
    snprintf(path, sizeof(path), SHM_DIR "/" PREFIX "%s", s->name);
    if (stat(path, &st) == 0)
        human_bytes((uint64_t)st.st_size, sz, sizeof(sz));
    printf(ROW, s->name, snap_kind(s), sz, "-", s->foreign ? "foreign" : "-", "-", "-");
}

static void text_row(const struct snapshot *s)
{
    char sz[32], cons[32], pidtxt[16], refs[16];
    int32_t pid;
    bool alive;
    snap_owner(s, &pid, &alive);
    const char *state = alive ? "alive" : "gone";
    if (snap_is_ring(s)) {
        snprintf(cons, sizeof(cons), "%u/%u", snap_alive_consumers(s), s->ncons);
        if (s->rs.producer_state == ZINC_PRODUCER_CLOSED)
            state = "closed";
        else if (!alive)
            state = "dead";
    } else {
        snprintf(cons, sizeof(cons), "-");
        if (!alive)
            state = (s->info.flags & 1) ? "closed" : "dead";
    }
    if (s->foreign)
        state = "foreign"; /* its pid and liveness are its owner's word, unverified */
    snprintf(pidtxt, sizeof(pidtxt), "%d", pid);
    snprintf(refs, sizeof(refs), "%u", s->info.ref_count);
    printf(ROW, s->name, snap_kind(s), human_bytes(s->info.file_size, sz, sizeof(sz)), pidtxt,
           state, refs, cons);
}

struct ls {
    bool json;
    size_t shown, invalid, foreign;
};

static void ls_one(const struct snapshot *s, void *ctx)
{
    struct ls *l = ctx;
    if (l->json) {
        if (l->shown)
            fputc(',', stdout);
        json_summary(stdout, s);
    } else {
        if (l->shown == 0)
            printf(ROW, "NAME", "KIND", "SIZE", "OWNER", "STATE", "REFS", "CONSUMERS");
        if (s->info_rc != 0) {
            text_invalid(s);
            l->invalid += !s->foreign;
        } else {
            text_row(s);
        }
        l->foreign += s->foreign;
    }
    l->shown++;
}

int cmd_ls(int argc, char **argv)
{
    struct opts o;
    int ec;
    int first = parse_cmd(argc, argv, "j", usage_ls, "PATTERN", 0, -1, &o, &ec);
    if (first < 0)
        return ec;
    char **pat = argv + first;
    int npat = argc - first;
    struct ls l = {.json = o.json};
    if (o.json)
        fputs("{\"regions\":[", stdout);
    if (each_snapshot(pat, npat, ls_one, &l) < 0)
        return EXIT_ERROR;
    if (o.json)
        fputs("]}\n", stdout);
    else if (l.shown == 0)
        print_none_found(pat, npat);
    if (!o.json && l.invalid)
        printf("%zu invalid: not a zinc region or ring of a known layout "
               "(zinc stat NAME says why)\n", l.invalid);
    if (!o.json && l.foreign)
        printf("%zu foreign: owned by another user or not a regular file; zinc does not "
               "attach to %s (zinc stat NAME says why)\n", l.foreign,
               l.foreign == 1 ? "it" : "them");
    return EXIT_OKAY;
}
