/* SPDX-License-Identifier: MIT */
/* zinc top NAME: a live view of a ring, from two snapshots per interval. */
#include "zinc-tool.h"

#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

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
    zf_json_str(o, s->name);
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

int cmd_top(int argc, char **argv)
{
    struct opts o;
    int ec;
    int first = parse_cmd(argc, argv, "jicl", usage_top, "NAME", 1, 1, &o, &ec);
    if (first < 0)
        return ec;
    if (o.json && o.line) {
        fputs(usage_top, stderr);
        return EXIT_USAGE;
    }
    bool addr = is_address(argv[first]); /* an anonymous ring's socket */
    const char *name = addr ? argv[first] : bare_name(argv[first]);
    if (!addr && check_name_arg(name) != 0)
        return EXIT_USAGE;
    struct snapshot *snap = malloc(2 * sizeof(*snap));
    struct rates *r = malloc(sizeof(*r));
    if (!snap || !r) {
        free(snap);
        free(r);
        return EXIT_ERROR;
    }
    struct snapshot *prev = &snap[0], *cur = &snap[1];
    if (addr)
        snap_read_address(name, prev);
    else
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
        if (addr)
            snap_read_address(name, cur);
        else
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

