/* SPDX-License-Identifier: MIT */
/*
 * zinc — look inside Zinc regions and frame rings from the shell, without
 * attaching to them: ls, stat, top, rm, gc, doctor.
 *
 * Everything is read through zinc_inspect() and zinc_ring_stats_read(), which
 * map read-only and change no counter, so the tool never disturbs a running
 * pipeline. Exit codes are listed in usage() and docs/tools.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <zinc/ring.h>
#include <zinc/zinc.h>

enum {
    EXIT_OKAY = 0,     /* success */
    EXIT_ERROR = 1,    /* an operation failed */
    EXIT_USAGE = 2,    /* bad command line */
    EXIT_NOTFOUND = 3, /* no region/ring of that name */
    EXIT_REFUSED = 4,  /* refused: the owner is alive (use --force) */
    EXIT_PROBLEM = 5,  /* doctor found a problem */
};

#define SHM_DIR "/dev/shm"
#define PREFIX "zinc_"

static const char *prog = "zinc";

/* ---- small helpers --------------------------------------------------------- */

static uint64_t now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *human_bytes(uint64_t b, char *buf, size_t len)
{
    static const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%" PRIu64 " B", b);
    else
        snprintf(buf, len, "%.1f %s", v, unit[u]);
    return buf;
}

/* Duration in ns; negative means "no data". */
static const char *human_ns(double ns, char *buf, size_t len)
{
    if (ns < 0 || isnan(ns))
        snprintf(buf, len, "-");
    else if (ns < 1e3)
        snprintf(buf, len, "%.0f ns", ns);
    else if (ns < 1e6)
        snprintf(buf, len, "%.1f us", ns / 1e3);
    else if (ns < 1e9)
        snprintf(buf, len, "%.2f ms", ns / 1e6);
    else
        snprintf(buf, len, "%.2f s", ns / 1e9);
    return buf;
}

static void json_str(FILE *o, const char *s)
{
    fputc('"', o);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(o, "\\%c", c);
        else if (c < 0x20)
            fprintf(o, "\\u%04x", c);
        else
            fputc(c, o);
    }
    fputc('"', o);
}

/* JSON number, or null for "no data". */
static void json_num(FILE *o, double v)
{
    if (v < 0 || isnan(v) || isinf(v))
        fputs("null", o);
    else
        fprintf(o, "%.1f", v);
}

static const char *mode_name(uint32_t m)
{
    switch (m) {
    case ZINC_EVERY: return "every";
    case ZINC_LOSSY: return "lossy";
    case ZINC_LATEST: return "latest";
    default: return "?";
    }
}

static const char *prod_state_name(uint32_t s)
{
    switch (s) {
    case 0: return "creating";
    case 1: return "open";
    case 2: return "closed";
    default: return "?";
    }
}

static const char *fourcc_str(uint32_t f, char buf[8])
{
    if (f == 0)
        return strcpy(buf, "raw");
    if (f == ZINC_FOURCC_RGBA32)
        return strcpy(buf, "RGBA32");
    if (f == ZINC_FOURCC_RGB24)
        return strcpy(buf, "RGB24");
    if (f == ZINC_FOURCC_PC32F)
        return strcpy(buf, "PC32F");
    for (int i = 0; i < 4; i++) {
        char c = (char)((f >> (8 * i)) & 0xff);
        buf[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    buf[4] = 0;
    return buf;
}

/*
 * Percentile (0 < p < 1) of a log2 histogram: bucket i holds [2^i, 2^(i+1))
 * ns, bucket 0 holds [0, 2). Linear interpolation inside the bucket, so the
 * figure is exact to within a factor of two. -1 when the histogram is empty.
 */
static double hist_percentile(const uint64_t *b, double p)
{
    uint64_t total = 0;
    for (int i = 0; i < ZINC_LAT_BUCKETS; i++)
        total += b[i];
    if (total == 0)
        return -1;
    double target = p * (double)total, cum = 0;
    for (int i = 0; i < ZINC_LAT_BUCKETS; i++) {
        if (b[i] == 0)
            continue;
        if (cum + (double)b[i] >= target) {
            double lo = i == 0 ? 0 : ldexp(1.0, i), hi = ldexp(1.0, i + 1);
            double frac = (target - cum) / (double)b[i];
            return lo + frac * (hi - lo);
        }
        cum += (double)b[i];
    }
    return ldexp(1.0, ZINC_LAT_BUCKETS);
}

static uint64_t hist_total(const uint64_t *b)
{
    uint64_t t = 0;
    for (int i = 0; i < ZINC_LAT_BUCKETS; i++)
        t += b[i];
    return t;
}

static int code_to_exit(int rc)
{
    switch (rc) {
    case 0: return EXIT_OKAY;
    case ZINC_ENOENT: return EXIT_NOTFOUND;
    case ZINC_EINVAL: return EXIT_USAGE;
    case ZINC_EEXIST: return EXIT_REFUSED;
    default: return EXIT_ERROR;
    }
}

static void print_zinc_error(const char *what, const char *name, int rc)
{
    const char *detail = zinc_last_error();
    if (detail && *detail)
        fprintf(stderr, "%s: %s '%s': %s (%d)\n%s: %s\n", prog, what, name, detail, rc, prog,
                zinc_strerror(rc));
    else
        fprintf(stderr, "%s: %s '%s': %s (%d)\n", prog, what, name, zinc_strerror(rc), rc);
}

/* Parse "123", "64M", "1.5G", "512KiB" as bytes. */
static int parse_bytes(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return -1;
    double mul = 1;
    switch (*end) {
    case 0: break;
    case 'k': case 'K': mul = 1024.0; end++; break;
    case 'm': case 'M': mul = 1024.0 * 1024; end++; break;
    case 'g': case 'G': mul = 1024.0 * 1024 * 1024; end++; break;
    case 't': case 'T': mul = 1024.0 * 1024 * 1024 * 1024; end++; break;
    default: return -1;
    }
    if (*end == 'i')
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end)
        return -1;
    v *= mul;
    if (v > 1.8e19)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

/* ---- reading one name ------------------------------------------------------- */

#define MAX_CONS ZINC_RING_MAX_CONSUMERS

struct snapshot {
    char name[ZINC_NAME_MAX + 1];
    int info_rc;               /* zinc_inspect */
    zinc_region_info info;
    int ring_rc;               /* zinc_ring_stats_read, when is_ring */
    zinc_ring_stats rs;
    uint32_t ncons;
    zinc_consumer_stats cs[MAX_CONS];
    uint64_t taken_ns;         /* CLOCK_MONOTONIC */
};

static void snap_read(const char *name, struct snapshot *s)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->info_rc = zinc_inspect(name, &s->info);
    s->ring_rc = ZINC_EBADMSG;
    if (s->info_rc == 0 && s->info.is_ring) {
        s->ring_rc = zinc_ring_stats_read(name, &s->rs, s->cs, MAX_CONS, &s->ncons);
        if (s->ncons > MAX_CONS)
            s->ncons = MAX_CONS;
    }
    s->taken_ns = now_ns(CLOCK_MONOTONIC);
}

static bool snap_is_ring(const struct snapshot *s)
{
    return s->info_rc == 0 && s->info.is_ring && s->ring_rc == 0;
}

/* Owner pid and liveness: the producer for a ring, the creator otherwise.
 * A closed producer counts as gone, as the library's stale rules say. */
static void snap_owner(const struct snapshot *s, int32_t *pid, bool *alive)
{
    if (snap_is_ring(s)) {
        *pid = s->rs.producer_pid;
        *alive = s->rs.producer_alive && s->rs.producer_state != 2;
    } else {
        *pid = s->info.owner_pid;
        *alive = s->info.owner_alive != 0;
    }
}

static uint32_t snap_alive_consumers(const struct snapshot *s)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->ncons; i++)
        n += s->cs[i].alive != 0;
    return n;
}

static const char *snap_kind(const struct snapshot *s)
{
    if (s->info_rc != 0)
        return "invalid";
    if (!s->info.is_ring)
        return "region";
    return s->ring_rc == 0 ? "ring" : "ring?";
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Does `name` match one of the shell patterns (all names if none)? */
static bool name_selected(const char *name, char **pat, int npat)
{
    if (npat == 0)
        return true;
    for (int i = 0; i < npat; i++)
        if (fnmatch(pat[i], name, 0) == 0)
            return true;
    return false;
}

/* Bare names of the zinc_* objects in /dev/shm matching `pat`, sorted. */
static int list_names(char **pat, int npat, char ***out, size_t *n_out)
{
    DIR *d = opendir(SHM_DIR);
    if (!d) {
        fprintf(stderr, "%s: cannot read %s: %s\n", prog, SHM_DIR, strerror(errno));
        return -1;
    }
    char **v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) != 0)
            continue;
        const char *bare = e->d_name + strlen(PREFIX);
        if (zinc_name_valid(bare) != 0 || !name_selected(bare, pat, npat))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nv = realloc(v, cap * sizeof(*v));
            if (!nv)
                break;
            v = nv;
        }
        v[n] = strdup(bare);
        if (v[n])
            n++;
    }
    closedir(d);
    if (n)
        qsort(v, n, sizeof(*v), cmp_str);
    *out = v;
    *n_out = n;
    return 0;
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* ---- option parsing shared by the subcommands ---------------------------- */

struct opts {
    bool json, help, force, dry_run, line;
    double interval;
    long count;
    uint64_t size;
    bool size_set;
};

enum { OPT_JSON = 256, OPT_FORCE, OPT_DRY, OPT_INTERVAL, OPT_COUNT, OPT_SIZE, OPT_LINE };

/* Parse argv (argv[0] = subcommand) with the options in `allowed` (a string
 * of letters: j json, f force, d dry-run, i interval, c count, s size,
 * l line). Returns the index of the first operand or -1 on a usage error. */
static int parse_opts(int argc, char **argv, const char *allowed, struct opts *o)
{
    static const struct option all[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"force", no_argument, NULL, OPT_FORCE},
        {"dry-run", no_argument, NULL, OPT_DRY},
        {"interval", required_argument, NULL, OPT_INTERVAL},
        {"count", required_argument, NULL, OPT_COUNT},
        {"size", required_argument, NULL, OPT_SIZE},
        {"line", no_argument, NULL, OPT_LINE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char letters[] = "jfdicsl";
    struct option use[16];
    int k = 0;
    for (int i = 0; all[i].name; i++) {
        if (all[i].val == 'h' || strchr(allowed, letters[all[i].val - OPT_JSON]))
            use[k++] = all[i];
    }
    memset(&use[k], 0, sizeof(use[k]));
    memset(o, 0, sizeof(*o));
    o->interval = 1.0;
    o->count = -1;
    optind = 1;
    opterr = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", use, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'h': o->help = true; break;
        case OPT_JSON: o->json = true; break;
        case OPT_FORCE: o->force = true; break;
        case OPT_DRY: o->dry_run = true; break;
        case OPT_LINE: o->line = true; break;
        case OPT_INTERVAL:
            o->interval = strtod(optarg, &end);
            if (*end || !(o->interval >= 0.05 && o->interval <= 3600)) {
                fprintf(stderr, "%s: --interval wants seconds in [0.05, 3600]\n", prog);
                return -1;
            }
            break;
        case OPT_COUNT:
            o->count = strtol(optarg, &end, 10);
            if (*end || o->count < 1) {
                fprintf(stderr, "%s: --count wants a positive number\n", prog);
                return -1;
            }
            break;
        case OPT_SIZE:
            if (parse_bytes(optarg, &o->size) != 0 || o->size == 0) {
                fprintf(stderr, "%s: --size wants bytes, e.g. 67108864, 64M, 2G\n", prog);
                return -1;
            }
            o->size_set = true;
            break;
        default:
            return -1;
        }
    }
    return optind;
}

/* parse_opts plus the --help and usage-error handling every subcommand
 * shares: operands must number between min_ops and max_ops (-1: any).
 * Returns the index of the first operand, or -1 with *exit_code set (after
 * printing the usage to stdout for --help, to stderr for an error). */
static int parse_cmd(int argc, char **argv, const char *allowed, const char *usage,
                     int min_ops, int max_ops, struct opts *o, int *exit_code)
{
    int first = parse_opts(argc, argv, allowed, o);
    if (first >= 0 && o->help) {
        fputs(usage, stdout);
        *exit_code = EXIT_OKAY;
        return -1;
    }
    int ops = first >= 0 ? argc - first : 0;
    if (first < 0 || ops < min_ops || (max_ops >= 0 && ops > max_ops)) {
        fputs(usage, stderr);
        *exit_code = EXIT_USAGE;
        return -1;
    }
    return first;
}

/* ---- zinc ls ------------------------------------------------------------------ */

static const char usage_ls[] =
    "usage: zinc ls [PATTERN...] [--json]\n"
    "List every Zinc region and frame ring in /dev/shm: name, kind (region or\n"
    "ring), size, owner pid and whether it is alive, open handles (refs) and\n"
    "attached consumers (alive/entries). PATTERNs (shell globs, e.g. 'cam*')\n"
    "restrict the list.\n"
    "  --json   one JSON object: {\"regions\": [...]}\n";

static void json_snapshot_summary(FILE *o, const struct snapshot *s)
{
    int32_t pid;
    bool alive;
    snap_owner(s, &pid, &alive);
    fprintf(o, "{\"name\":");
    json_str(o, s->name);
    fprintf(o, ",\"kind\":\"%s\"", snap_kind(s));
    if (s->info_rc != 0) {
        fprintf(o, ",\"error\":%d,\"message\":", s->info_rc);
        json_str(o, zinc_strerror(s->info_rc));
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

static int cmd_ls(int argc, char **argv)
{
    struct opts o;
    int ec;
    int first = parse_cmd(argc, argv, "j", usage_ls, 0, -1, &o, &ec);
    if (first < 0)
        return ec;
    char **names;
    size_t n;
    if (list_names(argv + first, argc - first, &names, &n) != 0)
        return EXIT_ERROR;
    struct snapshot *s = malloc(sizeof(*s));
    if (!s) {
        free_names(names, n);
        return EXIT_ERROR;
    }
    size_t shown = 0;
    if (o.json)
        fputs("{\"regions\":[", stdout);
    else if (n == 0)
        printf("no Zinc regions in %s\n", SHM_DIR);
    else
        printf("%-24s %-7s %10s %8s %-7s %4s %9s\n", "NAME", "KIND", "SIZE", "OWNER", "STATE",
               "REFS", "CONSUMERS");
    for (size_t i = 0; i < n; i++) {
        snap_read(names[i], s);
        if (s->info_rc == ZINC_ENOENT)
            continue; /* removed while we listed */
        if (o.json) {
            if (shown++)
                fputc(',', stdout);
            json_snapshot_summary(stdout, s);
            continue;
        }
        char sz[32], cons[32];
        int32_t pid;
        bool alive;
        if (s->info_rc != 0) {
            printf("%-24s %-7s %s\n", s->name, "invalid", zinc_strerror(s->info_rc));
            continue;
        }
        snap_owner(s, &pid, &alive);
        const char *state = alive ? "alive" : "gone";
        if (snap_is_ring(s)) {
            snprintf(cons, sizeof(cons), "%u/%u", snap_alive_consumers(s), s->ncons);
            if (s->rs.producer_state == 2)
                state = "closed";
            else if (!alive)
                state = "dead";
        } else {
            snprintf(cons, sizeof(cons), "-");
            if (!alive)
                state = (s->info.flags & 1) ? "closed" : "dead";
        }
        printf("%-24s %-7s %10s %8d %-7s %4u %9s\n", s->name, snap_kind(s),
               human_bytes(s->info.file_size, sz, sizeof(sz)), pid, state,
               s->info.ref_count, cons);
    }
    if (o.json)
        fputs("]}\n", stdout);
    free(s);
    free_names(names, n);
    return EXIT_OKAY;
}

/* ---- zinc stat ------------------------------------------------------------------ */

static const char usage_stat[] =
    "usage: zinc stat NAME [--json]\n"
    "Show a region's header and, for a frame ring, its geometry, the producer's\n"
    "counters and every consumer's counters, lag and publish->acquire latency\n"
    "percentiles (p50/p90/p99, from the shared log2 histogram: exact to within\n"
    "a factor of two).\n"
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
    json_str(o, s->name);
    fprintf(o, ",\"kind\":\"%s\",\"region\":{\"layout\":%u,\"flags\":%u,\"file_size\":%" PRIu64
            ",\"capacity\":%" PRIu64 ",\"data_offset\":%" PRIu64 ",\"ref_count\":%u"
            ",\"owner_pid\":%d,\"owner_alive\":%s,\"notify_seq\":%u,\"created_at_ns\":%" PRIu64
            ",\"name_hash\":\"0x%016" PRIx64 "\"}",
            snap_kind(s), in->version, in->flags, in->file_size, in->capacity, in->data_offset,
            in->ref_count, in->owner_pid, in->owner_alive ? "true" : "false", in->notify_seq,
            in->created_at, in->name_hash);
    fprintf(o, ",\"owner_pid\":%d,\"owner_alive\":%s", pid, alive ? "true" : "false");
    if (snap_is_ring(s)) {
        const zinc_ring_stats *r = &s->rs;
        char fcc[8];
        uint64_t now = now_ns(CLOCK_MONOTONIC);
        fprintf(o, ",\"ring\":{\"generation\":\"0x%016" PRIx64 "\",\"head\":%" PRIu64
                ",\"slot_count\":%u,\"slot_size\":%" PRIu64 ",\"max_consumers\":%u"
                ",\"ring_bytes\":%" PRIu64 ",\"flags\":%u,\"stream_fourcc\":\"%s\""
                ",\"uptime_ns\":%" PRIu64 ",\"since_last_publish_ns\":",
                r->generation, r->head, r->slot_count, r->slot_size, r->max_consumers,
                r->ring_bytes, r->flags, fourcc_str(r->stream_fourcc, fcc),
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
    printf("%s: %s\n", s->name, snap_kind(s));
    printf("  region   layout v%u, %s object, %s data at offset %" PRIu64 ", refs %u, "
           "flags 0x%x\n",
           in->version, human_bytes(in->file_size, b1, sizeof(b1)),
           human_bytes(in->capacity, b2, sizeof(b2)), in->data_offset, in->ref_count,
           in->flags);
    printf("  owner    pid %d, %s; created %s; name hash 0x%016" PRIx64 "\n", pid,
           alive ? "alive" : "gone", when, in->name_hash);
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
           r->max_consumers, fourcc_str(r->stream_fourcc, fcc),
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

static int check_name_arg(const char *name)
{
    if (zinc_name_valid(name) != 0) {
        fprintf(stderr, "%s: '%s' is not a valid name ([A-Za-z0-9_-], 1..%d bytes, "
                "without the zinc_ prefix)\n", prog, name, ZINC_NAME_MAX);
        return -1;
    }
    return 0;
}

/* A name given with its /dev/shm prefix is accepted too. */
static const char *bare_name(const char *arg)
{
    if (strncmp(arg, SHM_DIR "/", strlen(SHM_DIR "/")) == 0)
        arg += strlen(SHM_DIR "/");
    if (strncmp(arg, PREFIX, strlen(PREFIX)) == 0 && zinc_name_valid(arg) == 0) {
        /* "zinc_cam0" is ambiguous only if "zinc_zinc_cam0" exists; prefer the
         * object that exists. */
        char path[300];
        snprintf(path, sizeof(path), SHM_DIR "/" PREFIX "%s", arg);
        if (access(path, F_OK) != 0)
            arg += strlen(PREFIX);
    }
    return arg;
}

static int cmd_stat(int argc, char **argv)
{
    struct opts o;
    int ec;
    int first = parse_cmd(argc, argv, "j", usage_stat, 1, 1, &o, &ec);
    if (first < 0)
        return ec;
    const char *name = bare_name(argv[first]);
    if (check_name_arg(name) != 0)
        return EXIT_USAGE;
    struct snapshot *s = malloc(sizeof(*s));
    if (!s)
        return EXIT_ERROR;
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

/* ---- zinc top ---------------------------------------------------------------------- */

static const char usage_top[] =
    "usage: zinc top NAME [--interval SECONDS] [--count N] [--line | --json]\n"
    "Live view of a frame ring, redrawn every interval: producer frames/s and\n"
    "MB/s (frames/s x slot size), and per consumer frames/s, lag, drops, torn\n"
    "frames and p50/p99 publish->acquire latency over the last interval.\n"
    "Quit with q or Ctrl-C.\n"
    "  --interval S  refresh period in seconds (default 1)\n"
    "  --count N     stop after N refreshes\n"
    "  --line        one status line per refresh instead of a full screen\n"
    "  --json        one JSON object per refresh (one per line)\n";

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static struct termios saved_tty;
static bool tty_raw;

static void tty_restore(void)
{
    if (tty_raw) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
        tty_raw = false;
    }
}

static void tty_setup(void)
{
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tty) != 0)
        return;
    struct termios t = saved_tty;
    t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
        tty_raw = true;
}

/* Wait up to `ns` for q (quit) on a terminal; returns true to quit. */
static bool wait_or_quit(uint64_t ns)
{
    uint64_t end = now_ns(CLOCK_MONOTONIC) + ns;
    while (!stop_flag) {
        uint64_t now = now_ns(CLOCK_MONOTONIC);
        if (now >= end)
            return false;
        int ms = (int)((end - now + 999999) / 1000000);
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        int r = poll(&p, tty_raw ? 1 : 0, ms);
        if (r > 0 && (p.revents & POLLIN)) {
            char c;
            if (read(STDIN_FILENO, &c, 1) == 1 && (c == 'q' || c == 'Q' || c == 3))
                return true;
        }
    }
    return true;
}

struct rates {
    double dt, fps, mbps;
    struct {
        double fps, p50, p99;
        uint64_t ddropped, dtorn;
    } c[MAX_CONS];
};

/* Counters between two snapshots; a consumer is matched by table index and
 * attach time (a reused entry starts from zero). */
static void compute_rates(const struct snapshot *a, const struct snapshot *b, struct rates *r)
{
    r->dt = (double)(b->taken_ns - a->taken_ns) / 1e9;
    if (r->dt <= 0)
        r->dt = 1e-9;
    bool same_ring = a->rs.generation == b->rs.generation;
    uint64_t dp = same_ring ? b->rs.published - a->rs.published : b->rs.published;
    r->fps = (double)dp / r->dt;
    r->mbps = r->fps * (double)b->rs.slot_size / 1e6;
    for (uint32_t i = 0; i < b->ncons; i++) {
        const zinc_consumer_stats *cb = &b->cs[i], *ca = NULL;
        for (uint32_t j = 0; same_ring && j < a->ncons; j++)
            if (a->cs[j].index == cb->index && a->cs[j].attached_ns == cb->attached_ns)
                ca = &a->cs[j];
        uint64_t h[ZINC_LAT_BUCKETS];
        for (int k = 0; k < ZINC_LAT_BUCKETS; k++)
            h[k] = cb->latency[k] - (ca ? ca->latency[k] : 0);
        r->c[i].fps = (double)(cb->acquired - (ca ? ca->acquired : 0)) / r->dt;
        r->c[i].ddropped = cb->dropped - (ca ? ca->dropped : 0);
        r->c[i].dtorn = cb->torn - (ca ? ca->torn : 0);
        r->c[i].p50 = hist_percentile(h, 0.50);
        r->c[i].p99 = hist_percentile(h, 0.99);
    }
}

static void top_screen(const struct snapshot *s, const struct rates *r, double interval)
{
    char b1[32], b2[32], p50[32], p99[32];
    const zinc_ring_stats *rs = &s->rs;
    /* Home, clear to end of screen: a redraw without flicker. */
    fputs("\033[H\033[2J", stdout);
    printf("zinc top - %s   (every %.2g s, q to quit)\n\n", s->name, interval);
    printf("producer pid %d %s/%s   head %" PRIu64 "   %u slots x %s\n", rs->producer_pid,
           prod_state_name(rs->producer_state), rs->producer_alive ? "alive" : "dead",
           rs->head, rs->slot_count, human_bytes(rs->slot_size, b1, sizeof(b1)));
    printf("  %8.1f frames/s  %9.1f MB/s   published %" PRIu64 "  blocked %s  evicted %" PRIu64
           "  demoted %" PRIu64 "\n\n",
           r->fps, r->mbps, rs->published, human_ns((double)rs->blocked_ns, b2, sizeof(b2)),
           rs->evicted, rs->demoted);
    if (s->ncons == 0) {
        printf("no consumers attached\n");
    } else {
        printf("%3s %8s %-6s %-5s %9s %7s %9s %7s %9s %9s %12s\n", "#", "PID", "MODE", "ALIVE",
               "FPS", "LAG", "DROPS", "TORN", "P50", "P99", "ACQUIRED");
        for (uint32_t i = 0; i < s->ncons; i++) {
            const zinc_consumer_stats *c = &s->cs[i];
            printf("%3u %8d %-6s %-5s %9.1f %7" PRIu64 " %9" PRIu64 " %7" PRIu64
                   " %9s %9s %12" PRIu64 "\n",
                   c->index, c->pid, mode_name(c->mode), c->alive ? "yes" : "no", r->c[i].fps,
                   c->lag, r->c[i].ddropped, r->c[i].dtorn,
                   human_ns(r->c[i].p50, p50, sizeof(p50)),
                   human_ns(r->c[i].p99, p99, sizeof(p99)), c->acquired);
        }
        printf("\nDROPS and TORN count the last interval; latency is publish -> acquire.\n");
    }
    fflush(stdout);
}

static void top_line(const struct snapshot *s, const struct rates *r, bool tty)
{
    char p50[32], p99[32];
    printf("%s%s: %6.1f fps %7.1f MB/s head %" PRIu64, tty ? "\r\033[K" : "", s->name, r->fps,
           r->mbps, s->rs.head);
    for (uint32_t i = 0; i < s->ncons; i++) {
        const zinc_consumer_stats *c = &s->cs[i];
        printf(" | %s#%u %.0f fps lag %" PRIu64 " drop %" PRIu64 " p50 %s p99 %s",
               mode_name(c->mode), c->index, r->c[i].fps, c->lag, c->dropped,
               human_ns(r->c[i].p50, p50, sizeof(p50)), human_ns(r->c[i].p99, p99, sizeof(p99)));
    }
    fputs(tty ? "" : "\n", stdout);
    fflush(stdout);
}

static void top_json(const struct snapshot *s, const struct rates *r)
{
    FILE *o = stdout;
    fprintf(o, "{\"name\":");
    json_str(o, s->name);
    fprintf(o, ",\"interval_s\":%.3f,\"head\":%" PRIu64 ",\"published\":%" PRIu64
            ",\"producer_alive\":%s,\"producer_state\":\"%s\",\"fps\":%.2f,\"mb_per_s\":%.2f"
            ",\"consumers\":[",
            r->dt, s->rs.head, s->rs.published, s->rs.producer_alive ? "true" : "false",
            prod_state_name(s->rs.producer_state), r->fps, r->mbps);
    for (uint32_t i = 0; i < s->ncons; i++) {
        const zinc_consumer_stats *c = &s->cs[i];
        fprintf(o, "%s{\"index\":%u,\"pid\":%d,\"mode\":\"%s\",\"alive\":%s,\"fps\":%.2f"
                ",\"lag\":%" PRIu64 ",\"acquired\":%" PRIu64 ",\"dropped\":%" PRIu64
                ",\"torn\":%" PRIu64 ",\"dropped_interval\":%" PRIu64 ",\"torn_interval\":%" PRIu64
                ",\"p50_ns\":",
                i ? "," : "", c->index, c->pid, mode_name(c->mode), c->alive ? "true" : "false",
                r->c[i].fps, c->lag, c->acquired, c->dropped, c->torn, r->c[i].ddropped,
                r->c[i].dtorn);
        json_num(o, r->c[i].p50);
        fputs(",\"p99_ns\":", o);
        json_num(o, r->c[i].p99);
        fputc('}', o);
    }
    fputs("]}\n", o);
    fflush(o);
}

static int cmd_top(int argc, char **argv)
{
    struct opts o;
    int ec;
    int first = parse_cmd(argc, argv, "jicl", usage_top, 1, 1, &o, &ec);
    if (first < 0)
        return ec;
    if (o.json && o.line) {
        fputs(usage_top, stderr);
        return EXIT_USAGE;
    }
    const char *name = bare_name(argv[first]);
    if (check_name_arg(name) != 0)
        return EXIT_USAGE;
    struct snapshot *snap = malloc(2 * sizeof(*snap));
    struct rates *r = malloc(sizeof(*r));
    if (!snap || !r) {
        free(snap);
        free(r);
        return EXIT_ERROR;
    }
    struct snapshot *prev = &snap[0], *cur = &snap[1];
    snap_read(name, prev);
    int ret = EXIT_OKAY;
    if (prev->info_rc != 0 || !snap_is_ring(prev)) {
        if (prev->info_rc != 0)
            print_zinc_error("cannot inspect", name, prev->info_rc);
        else if (!prev->info.is_ring)
            fprintf(stderr, "%s: '%s' is a plain region, not a frame ring\n", prog, name);
        else
            print_zinc_error("cannot read ring", name, prev->ring_rc);
        ret = prev->info_rc ? code_to_exit(prev->info_rc) : EXIT_ERROR;
        goto out;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop; /* no SA_RESTART: poll() returns EINTR at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    bool screen = !o.json && !o.line, tty = isatty(STDOUT_FILENO);
    tty_setup();
    if (screen && tty)
        fputs("\033[?25l", stdout); /* hide the cursor while redrawing */
    uint64_t interval = (uint64_t)(o.interval * 1e9);
    for (long n = 0; o.count < 0 || n < o.count; n++) {
        if (wait_or_quit(interval))
            break;
        snap_read(name, cur);
        if (cur->info_rc != 0 || !snap_is_ring(cur)) {
            if (!o.json)
                printf("%sring '%s' is gone\n", o.line && tty ? "\n" : "", name);
            break;
        }
        compute_rates(prev, cur, r);
        if (o.json)
            top_json(cur, r);
        else if (o.line)
            top_line(cur, r, tty);
        else
            top_screen(cur, r, o.interval);
        struct snapshot *t = prev;
        prev = cur;
        cur = t;
    }
    tty_restore();
    if (screen && tty)
        fputs("\033[?25h", stdout);
    if (o.line && tty)
        fputc('\n', stdout);
    fflush(stdout);
out:
    free(snap);
    free(r);
    return ret;
}

/* ---- zinc rm / gc ---------------------------------------------------------------- */

static const char usage_rm[] =
    "usage: zinc rm NAME... [--force] [--json]\n"
    "Remove regions or rings by name. A name whose owner (the ring's producer,\n"
    "or the region's creator) is alive is refused (exit 4) unless --force;\n"
    "processes that have it mapped keep their mapping.\n";

static const char usage_gc[] =
    "usage: zinc gc [PATTERN...] [--dry-run] [--json]\n"
    "Remove every Zinc name in /dev/shm whose owner is gone: rings whose\n"
    "producer closed, died or never finished creating, and plain regions whose\n"
    "creator closed or died. Names with a live owner are never touched.\n"
    "PATTERNs (shell globs, e.g. 'test-*') restrict it to matching names.\n"
    "  --dry-run  only say what would be removed\n";

/* Is this name removable without --force? 1 yes (owner gone), 0 no (live),
 * <0 a zinc code (cannot tell). */
static int owner_gone(const struct snapshot *s)
{
    if (s->info_rc != 0)
        return s->info_rc;
    if (s->info.is_ring && s->ring_rc != 0)
        return s->ring_rc;
    int32_t pid;
    bool alive;
    snap_owner(s, &pid, &alive);
    return alive ? 0 : 1;
}

/* Remove a name whose owner looked gone, with the library's own checks for
 * rings (the producer token is re-tested at the moment of removal). */
static int remove_gone(const struct snapshot *s)
{
    if (s->info_rc == 0 && s->info.is_ring)
        return zinc_ring_remove_stale(s->name);
    return zinc_unlink(s->name);
}

static int cmd_rm(int argc, char **argv)
{
    struct opts o;
    int ec;
    int first = parse_cmd(argc, argv, "fj", usage_rm, 1, -1, &o, &ec);
    if (first < 0)
        return ec;
    struct snapshot *s = malloc(sizeof(*s));
    if (!s)
        return EXIT_ERROR;
    int ret = EXIT_OKAY;
    if (o.json)
        fputs("{\"results\":[", stdout);
    for (int i = first; i < argc; i++) {
        const char *name = bare_name(argv[i]), *result;
        int rc = 0, ex = EXIT_OKAY;
        if (check_name_arg(name) != 0) {
            ex = EXIT_USAGE;
            result = "invalid name";
            goto report;
        }
        snap_read(name, s);
        int gone = owner_gone(s);
        if (s->info_rc == ZINC_ENOENT) {
            rc = ZINC_ENOENT;
            result = "not found";
        } else if (gone == 0 && !o.force) {
            int32_t pid;
            bool alive;
            snap_owner(s, &pid, &alive);
            fprintf(stderr, "%s: '%s' has a live owner (pid %d); not removed (use --force)\n",
                    prog, name, pid);
            ex = EXIT_REFUSED;
            result = "refused: live owner";
            goto report;
        } else if (gone < 0 && !o.force) {
            fprintf(stderr, "%s: cannot tell who owns '%s' (%s); not removed (use --force)\n",
                    prog, name, zinc_strerror(gone));
            ex = EXIT_REFUSED;
            result = "refused: unreadable";
            goto report;
        } else if (o.force) {
            rc = zinc_unlink(name);
            result = "removed";
        } else {
            rc = remove_gone(s);
            result = "removed";
        }
        if (rc == ZINC_EEXIST) {
            fprintf(stderr, "%s: '%s' got a live producer meanwhile; not removed\n", prog, name);
            ex = EXIT_REFUSED;
            result = "refused: live owner";
        } else if (rc != 0) {
            if (!o.json)
                print_zinc_error("cannot remove", name, rc);
            ex = code_to_exit(rc);
            if (rc != ZINC_ENOENT)
                result = "error";
        } else if (!o.json) {
            printf("removed %s\n", name);
        }
    report:
        if (o.json) {
            fprintf(stdout, "%s{\"name\":", i > first ? "," : "");
            json_str(stdout, name);
            fprintf(stdout, ",\"result\":\"%s\",\"code\":%d}", result, rc);
        }
        if (ex > ret)
            ret = ex;
    }
    if (o.json)
        fputs("]}\n", stdout);
    free(s);
    return ret;
}

static int cmd_gc(int argc, char **argv)
{
    struct opts o;
    int ec;
    int first = parse_cmd(argc, argv, "dj", usage_gc, 0, -1, &o, &ec);
    if (first < 0)
        return ec;
    char **names;
    size_t n;
    if (list_names(argv + first, argc - first, &names, &n) != 0)
        return EXIT_ERROR;
    struct snapshot *s = malloc(sizeof(*s));
    if (!s) {
        free_names(names, n);
        return EXIT_ERROR;
    }
    int ret = EXIT_OKAY;
    unsigned removed = 0, kept = 0;
    bool first_json = true;
    if (o.json)
        fputs("{\"dry_run\":", stdout), fputs(o.dry_run ? "true" : "false", stdout),
            fputs(",\"names\":[", stdout);
    for (size_t i = 0; i < n; i++) {
        snap_read(names[i], s);
        if (s->info_rc == ZINC_ENOENT)
            continue;
        int gone = owner_gone(s), rc = 0;
        const char *action;
        if (gone == 1) {
            if (o.dry_run) {
                action = "would remove";
            } else {
                rc = remove_gone(s);
                action = rc == 0 ? "removed" : rc == ZINC_EEXIST ? "kept (live)" : "error";
            }
        } else if (gone == 0) {
            action = "kept (live)";
        } else if (s->info.is_ring || s->info_rc == ZINC_EBADMSG) {
            /* A ring half-made by a creator that died is stale; the library
             * decides (it tests the producer token), we never guess. */
            rc = o.dry_run ? 0 : zinc_ring_remove_stale(s->name);
            action = o.dry_run ? "unreadable (would try)" : rc == 0 ? "removed" : "kept (unreadable)";
        } else {
            action = "kept (unreadable)";
        }
        if (rc == 0 && (!strcmp(action, "removed") || !strncmp(action, "would", 5)))
            removed++;
        else
            kept++;
        if (rc != 0 && rc != ZINC_EEXIST && rc != ZINC_EBADMSG && rc != ZINC_ENOENT) {
            print_zinc_error("cannot remove", s->name, rc);
            ret = EXIT_ERROR;
        }
        if (o.json) {
            fputs(first_json ? "" : ",", stdout);
            first_json = false;
            fputs("{\"name\":", stdout);
            json_str(stdout, s->name);
            fprintf(stdout, ",\"kind\":\"%s\",\"action\":\"%s\",\"code\":%d}", snap_kind(s),
                    action, rc);
        } else if (strncmp(action, "kept (live)", 11) != 0) {
            printf("%-24s %-7s %s\n", s->name, snap_kind(s), action);
        }
    }
    if (o.json)
        printf("],\"removed\":%u,\"kept\":%u}\n", removed, kept);
    else
        printf("%s %u name%s, kept %u\n", o.dry_run ? "would remove" : "removed", removed,
               removed == 1 ? "" : "s", kept);
    free(s);
    free_names(names, n);
    return ret;
}

/* ---- zinc doctor ------------------------------------------------------------------ */

static const char usage_doctor[] =
    "usage: zinc doctor [--size BYTES] [--json]\n"
    "Check that this machine (or container) can hold a ring of BYTES (default:\n"
    "8 slots of 1920x1080 RGBA): /dev/shm size and free space, permissions, a\n"
    "test create/remove, container limits, transparent huge pages,\n"
    "vm.max_map_count and the open-file limit. Exit 5 if a problem was found.\n"
    "  --size BYTES  ring size to check for (suffixes K, M, G: 64M, 1.5G)\n";

enum level { LV_OK, LV_INFO, LV_WARN, LV_FAIL };

struct doctor {
    bool json, first;
    int worst;
};

static void finding(struct doctor *d, enum level lv, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void finding(struct doctor *d, enum level lv, const char *check, const char *fmt, ...)
{
    static const char *tag[] = {"ok", "info", "warn", "FAIL"};
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if ((int)lv > d->worst)
        d->worst = (int)lv;
    if (d->json) {
        printf("%s{\"check\":\"%s\",\"level\":\"%s\",\"message\":", d->first ? "" : ",", check,
               lv == LV_FAIL ? "fail" : tag[lv]);
        json_str(stdout, msg);
        putchar('}');
        d->first = false;
    } else {
        printf("[%-4s] %-14s %s\n", tag[lv], check, msg);
    }
}

static bool read_line(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool ok = fgets(buf, (int)len, f) != NULL;
    fclose(f);
    if (ok)
        buf[strcspn(buf, "\n")] = 0;
    return ok;
}

/* The huge= option of the tmpfs on /dev/shm ("never" if none); false if
 * /dev/shm is not a tmpfs mount point. */
static bool shm_mount_huge(char *huge, size_t len)
{
    FILE *f = fopen("/proc/self/mounts", "r");
    if (!f)
        return false;
    char dev[256], dir[256], type[64], opts[1024];
    bool found = false;
    while (fscanf(f, "%255s %255s %63s %1023s %*d %*d", dev, dir, type, opts) == 4) {
        if (strcmp(dir, "/dev/shm") != 0 || strcmp(type, "tmpfs") != 0)
            continue;
        found = true; /* the last mount on /dev/shm is the one in force */
        snprintf(huge, len, "never");
        for (char *o = strtok(opts, ","); o; o = strtok(NULL, ","))
            if (!strncmp(o, "huge=", 5))
                snprintf(huge, len, "%s", o + 5);
    }
    fclose(f);
    return found;
}

static bool file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[1024];
    bool hit = false;
    while (!hit && fgets(line, sizeof(line), f))
        hit = strstr(line, needle) != NULL;
    fclose(f);
    return hit;
}

static const char *container_kind(void)
{
    if (access("/.dockerenv", F_OK) == 0)
        return "docker";
    if (access("/run/.containerenv", F_OK) == 0)
        return "podman";
    char env[64];
    FILE *f = fopen("/proc/1/environ", "r");
    if (f) {
        /* systemd-nspawn and LXC set container=... for pid 1 */
        char buf[4096];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        for (size_t i = 0; i < n; i += strlen(buf + i) + 1)
            if (strncmp(buf + i, "container=", 10) == 0) {
                snprintf(env, sizeof(env), "%s", buf + i + 10);
                return strstr(env, "lxc") ? "lxc" : "container";
            }
    }
    if (file_contains("/proc/1/cgroup", "docker") || file_contains("/proc/1/cgroup", "kubepods") ||
        file_contains("/proc/1/cgroup", "containerd"))
        return "container";
    return NULL;
}

static int cmd_doctor(int argc, char **argv)
{
    struct opts o;
    int ec;
    if (parse_cmd(argc, argv, "sj", usage_doctor, 0, 0, &o, &ec) < 0)
        return ec;
    struct doctor d = {.json = o.json, .first = true, .worst = LV_OK};
    char b1[32], b2[32], b3[32], line[512];
    uint64_t need = o.size;
    if (!o.size_set) {
        zinc_ring_config cfg = {.slot_count = 8, .slot_size = 1920u * 1080u * 4u};
        need = zinc_ring_size(&cfg);
        if (need == 0)
            need = 8ull * 1920 * 1080 * 4;
    }
    if (o.json)
        printf("{\"size\":%" PRIu64 ",\"findings\":[", need);
    else
        printf("zinc doctor: can this machine hold a %s ring?\n", human_bytes(need, b1, sizeof(b1)));

    /* /dev/shm: present, tmpfs, size, free space. */
    struct statvfs vfs;
    struct statfs fs;
    struct stat st;
    const char *ctr = container_kind();
    if (stat(SHM_DIR, &st) != 0 || !S_ISDIR(st.st_mode)) {
        finding(&d, LV_FAIL, "shm", "%s is missing: POSIX shared memory needs a tmpfs there "
                "(mount -t tmpfs -o mode=1777 tmpfs /dev/shm)", SHM_DIR);
    } else if (statvfs(SHM_DIR, &vfs) != 0 || statfs(SHM_DIR, &fs) != 0) {
        finding(&d, LV_FAIL, "shm", "cannot stat %s: %s", SHM_DIR, strerror(errno));
    } else {
        uint64_t total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
        uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
        bool tmpfs = fs.f_type == 0x01021994; /* TMPFS_MAGIC */
        finding(&d, tmpfs ? LV_OK : LV_WARN, "shm-fs", "%s is %s", SHM_DIR,
                tmpfs ? "a tmpfs" : "not a tmpfs: shared memory may be backed by a disk");
        if (avail < need) {
            /* Suggest what is in use now plus the ring plus a quarter, in GiB. */
            double want = ((double)(total - avail) + (double)need) * 1.25;
            unsigned long long gib = (unsigned long long)(want / 1073741824.0) + 1;
            char hint[256];
            if (ctr)
                snprintf(hint, sizeof(hint), "start the container with --shm-size=%llug, or "
                         "share the host's /dev/shm with --ipc=host", gib);
            else
                snprintf(hint, sizeof(hint), "remove stale names (zinc gc) or grow it: "
                         "mount -o remount,size=%lluG /dev/shm", gib);
            finding(&d, LV_FAIL, "shm-space", "%s free of %s, but the ring needs %s: %s",
                    human_bytes(avail, b1, sizeof(b1)), human_bytes(total, b2, sizeof(b2)),
                    human_bytes(need, b3, sizeof(b3)), hint);
        } else if (avail < 2 * need) {
            finding(&d, LV_WARN, "shm-space", "%s free of %s: room for the %s ring, but not "
                    "for a second one", human_bytes(avail, b1, sizeof(b1)),
                    human_bytes(total, b2, sizeof(b2)), human_bytes(need, b3, sizeof(b3)));
        } else {
            finding(&d, LV_OK, "shm-space", "%s free of %s (ring needs %s)",
                    human_bytes(avail, b1, sizeof(b1)), human_bytes(total, b2, sizeof(b2)),
                    human_bytes(need, b3, sizeof(b3)));
        }
        if (ctr && total <= 64ull * 1024 * 1024)
            finding(&d, LV_WARN, "container", "%s has the default 64 MiB of a %s container: "
                    "pass --shm-size=1g (docker/podman run) or set a larger "
                    "emptyDir medium: Memory (Kubernetes)", SHM_DIR, ctr);
        /* Permissions: everyone may create, only owners may remove. */
        if ((st.st_mode & 01777) != 01777)
            finding(&d, LV_WARN, "shm-perms", "%s has mode %04o, expected 1777 "
                    "(chmod 1777 %s) so that every user can create regions",
                    SHM_DIR, (unsigned)(st.st_mode & 07777), SHM_DIR);
        else
            finding(&d, LV_OK, "shm-perms", "%s mode 1777, owned by uid %u", SHM_DIR,
                    (unsigned)st.st_uid);
        if (access(SHM_DIR, W_OK | X_OK) != 0)
            finding(&d, LV_FAIL, "shm-perms", "this user (uid %u) cannot create files in %s",
                    (unsigned)getuid(), SHM_DIR);
    }

    /* A real create/remove round trip through the library. */
    char name[64];
    snprintf(name, sizeof(name), "doctor-%d", (int)getpid());
    ZincHandle h = NULL;
    long page = sysconf(_SC_PAGESIZE);
    int rc = zinc_create(name, (uintptr_t)(page > 0 ? page : 4096), &h);
    if (rc == 0) {
        zinc_close(h);
        zinc_unlink(name); /* close already removed it; -2 is fine */
        finding(&d, LV_OK, "create", "created and removed a test region");
    } else {
        finding(&d, LV_FAIL, "create", "cannot create a region: %s (%d) %s", zinc_strerror(rc),
                rc, zinc_last_error());
    }

    /* Foreign and stale names: visible to ls, removable by gc. */
    char **names;
    size_t n;
    if (list_names(NULL, 0, &names, &n) == 0) {
        unsigned stale = 0, foreign = 0;
        for (size_t i = 0; i < n; i++) {
            char path[300];
            snprintf(path, sizeof(path), SHM_DIR "/" PREFIX "%s", names[i]);
            if (stat(path, &st) == 0 && st.st_uid != geteuid())
                foreign++;
            zinc_region_info info;
            if (zinc_inspect(names[i], &info) == 0 && !info.is_ring && !info.owner_alive)
                stale++;
            else if (zinc_inspect(names[i], &info) == 0 && info.is_ring) {
                zinc_ring_stats rs;
                if (zinc_ring_stats_read(names[i], &rs, NULL, 0, NULL) == 0 &&
                    (!rs.producer_alive || rs.producer_state == 2))
                    stale++;
            }
        }
        if (stale)
            finding(&d, LV_WARN, "stale", "%u name%s with a gone owner hold shared memory: "
                    "run 'zinc gc'", stale, stale == 1 ? "" : "s");
        else
            finding(&d, LV_OK, "stale", "%zu Zinc name%s, none stale", n, n == 1 ? "" : "s");
        if (foreign)
            finding(&d, LV_INFO, "ownership", "%u name%s belong%s to another user: only that "
                    "user (or root) can open or remove them", foreign, foreign == 1 ? "" : "s",
                    foreign == 1 ? "s" : "");
        free_names(names, n);
    }

    if (ctr)
        finding(&d, LV_INFO, "container", "running in a %s container: producer and consumers "
                "in different containers must share IPC (--ipc=host, or --ipc=container:NAME, "
                "or the same /dev/shm volume) and see each other's locks", ctr);

    /* Huge pages for rings (ZINC_RING_HUGEPAGES advises the mapping). On a
     * tmpfs the mount's huge= option decides; the system-wide shmem_enabled
     * governs only anonymous shared memory, except deny and force. */
    char sys_mode[32] = "";
    if (read_line("/sys/kernel/mm/transparent_hugepage/shmem_enabled", line, sizeof(line))) {
        const char *sel = strchr(line, '[');
        if (sel)
            sscanf(sel + 1, "%31[^]]", sys_mode);
    }
    char huge[32] = "never";
    bool on_tmpfs = shm_mount_huge(huge, sizeof(huge));
    if (!sys_mode[0])
        finding(&d, LV_INFO, "hugepages", "no transparent huge page support for shmem here");
    else if (!strcmp(sys_mode, "deny"))
        finding(&d, LV_INFO, "hugepages", "shmem_enabled is deny: no huge pages for any tmpfs, "
                "ZINC_RING_HUGEPAGES has no effect");
    else if (!strcmp(sys_mode, "force") || !strcmp(huge, "always") ||
             !strcmp(huge, "within_size"))
        finding(&d, LV_OK, "hugepages", "/dev/shm gives huge pages to every ring (%s)",
                !strcmp(sys_mode, "force") ? "shmem_enabled force" : huge);
    else if (!strcmp(huge, "advise"))
        finding(&d, LV_OK, "hugepages", "/dev/shm is mounted huge=advise: rings created with "
                "ZINC_RING_HUGEPAGES get huge pages");
    else
        finding(&d, LV_INFO, "hugepages", "%s: ZINC_RING_HUGEPAGES has no effect (as root: "
                "mount -o remount,huge=advise /dev/shm)",
                on_tmpfs ? "/dev/shm is mounted without huge=" : "/dev/shm is not a tmpfs");

    /* Each ring is one mapping per process; each handle holds no fd. */
    if (read_line("/proc/sys/vm/max_map_count", line, sizeof(line))) {
        long v = atol(line);
        finding(&d, v < 65530 ? LV_WARN : LV_OK, "max_map_count", "vm.max_map_count = %ld%s", v,
                v < 65530 ? " (low: sysctl -w vm.max_map_count=262144)" : "");
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        bool low = rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 1024;
        finding(&d, low ? LV_WARN : LV_OK, "nofile", "open files limit %llu%s",
                (unsigned long long)rl.rlim_cur,
                low ? " (each ring handle keeps a descriptor for its liveness lock: "
                      "ulimit -n 4096)" : "");
    }

    int ret = d.worst == LV_FAIL ? EXIT_PROBLEM : EXIT_OKAY;
    if (o.json)
        printf("],\"ok\":%s}\n", ret == EXIT_OKAY ? "true" : "false");
    else
        printf("%s\n", ret == EXIT_OKAY ? "no problem found" : "problems found (see FAIL above)");
    return ret;
}

/* ---- main ---------------------------------------------------------------------- */

static void usage(FILE *o)
{
    fprintf(o,
            "usage: zinc COMMAND [OPTIONS]   (zinc COMMAND --help for details)\n"
            "Inspect and manage Zinc shared-memory regions and frame rings.\n\n"
            "commands:\n"
            "  ls               list regions and rings in /dev/shm\n"
            "  stat NAME        header, geometry, counters, latency percentiles\n"
            "  top NAME         live view: fps, MB/s, lag, drops, latency\n"
            "  rm NAME...       remove names (refuses a live owner without --force)\n"
            "  gc               remove every name whose owner is gone\n"
            "  doctor           check /dev/shm, limits and container settings\n"
            "  version          print the library version\n\n"
            "exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 refused (live\n"
            "owner), 5 doctor found a problem\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return EXIT_OKAY;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        uint32_t v = zinc_version();
        printf("zinc %s (Zinc C ABI %u.%u)\n", ZINC_VERSION_STRING, v >> 16, v & 0xffff);
        return EXIT_OKAY;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        {"ls", cmd_ls}, {"stat", cmd_stat}, {"top", cmd_top}, {"rm", cmd_rm},
        {"gc", cmd_gc}, {"doctor", cmd_doctor},
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (!strcmp(cmd, cmds[i].name))
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s'\n", prog, cmd);
    usage(stderr);
    return EXIT_USAGE;
}
