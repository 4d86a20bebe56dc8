/* SPDX-License-Identifier: MIT */
/* The parts of the `zinc` tool every subcommand uses (see zinc-tool.h). */
#include "zinc-tool.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *prog = "zinc";

/* ---- formatting ------------------------------------------------------------ */

uint64_t now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const char *human_bytes(uint64_t b, char *buf, size_t len)
{
    static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB"};
    if (b < 1024) {
        snprintf(buf, len, "%" PRIu64 " B", b);
        return buf;
    }
    double v = (double)b / 1024.0;
    size_t u = 0;
    for (; v >= 1024.0 && u + 1 < sizeof(unit) / sizeof(unit[0]); u++)
        v /= 1024.0;
    snprintf(buf, len, "%.1f %s", v, unit[u]);
    return buf;
}

const char *human_ns(double ns, char *buf, size_t len)
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

void json_num(FILE *o, double v)
{
    if (v < 0 || isnan(v) || isinf(v))
        fputs("null", o);
    else
        fprintf(o, "%.1f", v);
}

const char *mode_name(uint32_t m)
{
    switch (m) {
    case ZINC_EVERY: return "every";
    case ZINC_LOSSY: return "lossy";
    case ZINC_LATEST: return "latest";
    default: return "?";
    }
}

const char *prod_state_name(uint32_t s)
{
    switch (s) {
    case ZINC_PRODUCER_CREATING: return "creating";
    case ZINC_PRODUCER_OPEN: return "open";
    case ZINC_PRODUCER_CLOSED: return "closed";
    default: return "?";
    }
}

/*
 * Bucket i holds [2^i, 2^(i+1)) ns, bucket 0 holds [0, 2). Linear
 * interpolation inside the bucket, so the figure is exact to within a
 * factor of two.
 */
double hist_percentile(const uint64_t *b, double p)
{
    uint64_t total = hist_total(b);
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

uint64_t hist_total(const uint64_t *b)
{
    uint64_t t = 0;
    for (int i = 0; i < ZINC_LAT_BUCKETS; i++)
        t += b[i];
    return t;
}

/* ---- errors ------------------------------------------------------------------ */

int code_to_exit(int rc)
{
    switch (rc) {
    case 0: return EXIT_OKAY;
    case ZINC_ENOENT: return EXIT_NOTFOUND;
    case ZINC_EINVAL: return EXIT_USAGE;
    case ZINC_EEXIST: return EXIT_REFUSED;
    default: return EXIT_ERROR;
    }
}

void print_zinc_error(const char *what, const char *name, int rc)
{
    /* The library's message names its own operation and the object
     * ("inspect 'cam0': ..."): keep only what follows, so the line does not
     * say the name twice. */
    const char *detail = zinc_last_error();
    char quoted[ZINC_NAME_MAX + 8];
    snprintf(quoted, sizeof(quoted), "'%s': ", name);
    const char *tail = detail ? strstr(detail, quoted) : NULL;
    if (tail)
        detail = tail + strlen(quoted);
    if (detail && *detail)
        fprintf(stderr, "%s: %s '%s': %s (%d)\n%s: %s\n", prog, what, name, detail, rc, prog,
                zinc_strerror(rc));
    else
        fprintf(stderr, "%s: %s '%s': %s (%d)\n", prog, what, name, zinc_strerror(rc), rc);
}

/* ---- options ----------------------------------------------------------------- */

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

enum { OPT_JSON = 256, OPT_FORCE, OPT_DRY, OPT_INTERVAL, OPT_COUNT, OPT_SIZE, OPT_LINE };

/* Returns the index of the first operand or -1 on a usage error. */
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

int parse_cmd(int argc, char **argv, const char *allowed, const char *usage,
              const char *operand, int min_ops, int max_ops, struct opts *o, int *exit_code)
{
    int first = parse_opts(argc, argv, allowed, o);
    if (first >= 0 && o->help) {
        fputs(usage, stdout);
        *exit_code = EXIT_OKAY;
        return -1;
    }
    int ops = first >= 0 ? argc - first : 0;
    if (first >= 0 && ops < min_ops)
        fprintf(stderr, "%s %s: missing %s\n", prog, argv[0], operand);
    else if (first >= 0 && max_ops >= 0 && ops > max_ops)
        fprintf(stderr, "%s %s: too many operands (from '%s' on)\n", prog, argv[0],
                argv[first + max_ops]);
    if (first < 0 || ops < min_ops || (max_ops >= 0 && ops > max_ops)) {
        fputs(usage, stderr);
        *exit_code = EXIT_USAGE;
        return -1;
    }
    return first;
}

/* ---- names ------------------------------------------------------------------- */

const char *bare_name(const char *arg)
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

int check_name_arg(const char *name)
{
    if (zinc_name_valid(name) != 0) {
        fprintf(stderr, "%s: '%s' is not a valid name ([A-Za-z0-9_-], 1..%d bytes, "
                "without the zinc_ prefix)\n", prog, name, ZINC_NAME_MAX);
        return -1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool name_selected(const char *name, char **pat, int npat)
{
    if (npat == 0)
        return true;
    for (int i = 0; i < npat; i++)
        if (fnmatch(pat[i], name, 0) == 0)
            return true;
    return false;
}

int list_names(char **pat, int npat, char ***out, size_t *n_out)
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

void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void print_none_found(char **pat, int npat)
{
    if (npat == 0) {
        printf("no Zinc regions in %s\n", SHM_DIR);
        return;
    }
    printf("no Zinc region in %s matches", SHM_DIR);
    for (int i = 0; i < npat; i++)
        printf("%s '%s'", i == 0 ? "" : i == npat - 1 ? " or" : ",", pat[i]);
    putchar('\n');
}

/* ---- one name ---------------------------------------------------------------- */

static const char *type_name(mode_t m)
{
    switch (m & S_IFMT) {
    case S_IFREG: return "file";
    case S_IFIFO: return "fifo";
    case S_IFLNK: return "symlink";
    case S_IFDIR: return "directory";
    case S_IFSOCK: return "socket";
    case S_IFCHR: return "char-device";
    case S_IFBLK: return "block-device";
    default: return "special";
    }
}

void snap_read(const char *name, struct snapshot *s)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", name);
    char path[300];
    struct stat st;
    snprintf(path, sizeof(path), SHM_DIR "/" PREFIX "%s", name);
    s->file_type = "file";
    if (lstat(path, &st) == 0) {
        s->have_stat = true;
        s->uid = (uint32_t)st.st_uid;
        s->file_type = type_name(st.st_mode);
    }
    s->info_rc = zinc_inspect(name, &s->info);
    /* The library's verdict when it could read the header (it knows the
     * ZINC_TRUST_UID list); the name's owner and type otherwise. */
    if (s->info_rc == 0)
        s->foreign = s->info.foreign != 0;
    else if (s->have_stat)
        s->foreign = !S_ISREG(st.st_mode) || st.st_uid != geteuid();
    s->ring_rc = ZINC_EBADMSG;
    if (s->info_rc == 0 && s->info.is_ring) {
        s->ring_rc = zinc_ring_stats_read(name, &s->rs, s->cs, MAX_CONS, &s->ncons);
        if (s->ncons > MAX_CONS)
            s->ncons = MAX_CONS;
    }
    s->taken_ns = now_ns(CLOCK_MONOTONIC);
}

void snap_read_address(const char *address, struct snapshot *s)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", address);
    s->anon = true;
    s->file_type = "memfd"; /* a sealed anonymous ring: no name in /dev/shm */
    s->ring_rc = ZINC_EBADMSG;
    /* The descriptor the producer's listener serves: a read-only look
     * (pread for the header, a mapping of a sealed memfd for the ring). */
    int fd = zinc_ring_connect(address);
    if (fd < 0) {
        s->info_rc = fd;
    } else {
        s->info_rc = zinc_inspect_fd(fd, &s->info);
        if (s->info_rc == 0 && s->info.is_ring) {
            s->ring_rc = zinc_ring_stats_read_fd(fd, &s->rs, s->cs, MAX_CONS, &s->ncons);
            if (s->ncons > MAX_CONS)
                s->ncons = MAX_CONS;
        }
        close(fd);
    }
    s->taken_ns = now_ns(CLOCK_MONOTONIC);
}

bool is_address(const char *arg)
{
    return arg[0] == '@' ||
           (strchr(arg, '/') && strncmp(arg, SHM_DIR "/", strlen(SHM_DIR "/")) != 0);
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct reg_entry *)a)->address, ((const struct reg_entry *)b)->address);
}

int list_registry(char **pat, int npat, struct reg_entry **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    char dir[400];
    if (zinc_socket_registry(dir, sizeof(dir)) != 0)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0; /* no producer ever listened: nothing registered */
    struct reg_entry *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue; /* ., .., and entries being written */
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            struct reg_entry *nv = realloc(v, cap * sizeof(*v));
            if (!nv)
                break;
            v = nv;
        }
        snprintf(v[n].path, sizeof(v[n].path), "%s/%.100s", dir, e->d_name);
        ssize_t k = readlink(v[n].path, v[n].address, sizeof(v[n].address) - 1);
        if (k <= 0)
            continue;
        v[n].address[k] = '\0';
        if (name_selected(v[n].address, pat, npat))
            n++;
    }
    closedir(d);
    if (n)
        qsort(v, n, sizeof(*v), cmp_entry);
    *out = v;
    *n_out = n;
    return 0;
}

bool snap_is_ring(const struct snapshot *s)
{
    return s->info_rc == 0 && s->info.is_ring && s->ring_rc == 0;
}

void snap_owner(const struct snapshot *s, int32_t *pid, bool *alive)
{
    if (snap_is_ring(s)) {
        *pid = s->rs.producer_pid;
        *alive = s->rs.producer_alive && s->rs.producer_state != ZINC_PRODUCER_CLOSED;
    } else {
        *pid = s->info.owner_pid;
        *alive = s->info.owner_alive != 0;
    }
}

uint32_t snap_alive_consumers(const struct snapshot *s)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->ncons; i++)
        n += s->cs[i].alive != 0;
    return n;
}

const char *snap_foreign_why(const struct snapshot *s, char *buf, size_t len)
{
    if (strcmp(s->file_type, "file") != 0)
        snprintf(buf, len, "a %s, not a shared-memory object", s->file_type);
    else
        snprintf(buf, len, "owned by uid %u", s->uid);
    return buf;
}

const char *snap_kind(const struct snapshot *s)
{
    if (s->info_rc != 0)
        return "invalid";
    if (!s->info.is_ring)
        return "region";
    return s->ring_rc == 0 ? "ring" : "ring?";
}

long each_snapshot(char **pat, int npat, snapshot_fn fn, void *ctx)
{
    char **names;
    size_t n;
    if (list_names(pat, npat, &names, &n) != 0)
        return -1;
    struct snapshot *s = malloc(sizeof(*s));
    if (!s) {
        fprintf(stderr, "%s: out of memory\n", prog);
        free_names(names, n);
        return -1;
    }
    long seen = 0;
    for (size_t i = 0; i < n; i++) {
        snap_read(names[i], s);
        if (s->info_rc == ZINC_ENOENT)
            continue; /* removed while we listed */
        fn(s, ctx);
        seen++;
    }
    free_names(names, n);
    struct reg_entry *reg;
    if (list_registry(pat, npat, &reg, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            snap_read_address(reg[i].address, s);
            if (s->info_rc == ZINC_ENOENT)
                continue; /* its producer is gone (zinc gc removes the entry) */
            fn(s, ctx);
            seen++;
        }
        free(reg);
    }
    free(s);
    return seen;
}

int snap_owner_gone(const struct snapshot *s)
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

int snap_remove_gone(const struct snapshot *s)
{
    if (s->info_rc == 0 && s->info.is_ring)
        return zinc_ring_remove_stale(s->name);
    return zinc_unlink(s->name);
}
