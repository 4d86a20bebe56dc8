/* SPDX-License-Identifier: MIT */
/*
 * zinc-tool.h — what the subcommands of the `zinc` tool share: exit codes,
 * option parsing, name handling, and a snapshot of one name read through
 * zinc_inspect() and zinc_ring_stats_read() (read-only: the tool never
 * attaches, so it never disturbs a running pipeline).
 */
#ifndef ZINC_TOOL_H
#define ZINC_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <zinc/ring.h>
#include <zinc/zinc.h>

#include "fmt.h"

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
#define MAX_CONS ZINC_RING_MAX_CONSUMERS

extern const char *prog;

/* The subcommands, one file each (cmd-*.c). argv[0] is the subcommand. */
int cmd_ls(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_doctor(int argc, char **argv);

/* ---- formatting ---- */
uint64_t now_ns(clockid_t clk);
const char *human_bytes(uint64_t b, char *buf, size_t len);
/* Duration in ns; negative or NaN prints "-" (no data). */
const char *human_ns(double ns, char *buf, size_t len);
/* JSON number, or null for "no data" (negative, NaN, infinite). */
void json_num(FILE *o, double v);
const char *mode_name(uint32_t mode);
const char *prod_state_name(uint32_t state);
/* Percentile (0 < p < 1) of a log2 latency histogram; -1 when empty. */
double hist_percentile(const uint64_t *buckets, double p);
uint64_t hist_total(const uint64_t *buckets);

/* ---- errors ---- */
int code_to_exit(int rc);
/* "zinc: <what> 'name': <detail> (rc)" and zinc_strerror's advice. */
void print_zinc_error(const char *what, const char *name, int rc);

/* ---- options ---- */
struct opts {
    bool json, help, force, dry_run, line;
    double interval;
    long count;
    uint64_t size;
    bool size_set;
};

/* Parse argv with the options in `allowed` (letters: j json, f force,
 * d dry-run, i interval, c count, s size, l line) and handle --help and
 * usage errors: operands must number between min_ops and max_ops (-1: any);
 * `operand` names them for the "missing" message (e.g. "NAME"). Returns the
 * index of the first operand, or -1 with *exit_code set (after printing the
 * usage to stdout for --help, to stderr for an error). */
int parse_cmd(int argc, char **argv, const char *allowed, const char *usage,
              const char *operand, int min_ops, int max_ops, struct opts *o, int *exit_code);

/* ---- names ---- */
/* A name given with its /dev/shm prefix is accepted too. */
const char *bare_name(const char *arg);
/* 0, or -1 after saying why the name is invalid. */
int check_name_arg(const char *name);
/* Bare names of the zinc_* objects in /dev/shm matching one of the shell
 * patterns (all if npat is 0), sorted. 0, or -1 after saying why. */
int list_names(char **pat, int npat, char ***out, size_t *n_out);
void free_names(char **v, size_t n);
/* "no Zinc regions in /dev/shm", or that none matches the patterns. */
void print_none_found(char **pat, int npat);

/* ---- one name, read without attaching ---- */
struct snapshot {
    char name[ZINC_NAME_MAX + 1]; /* or, for an anonymous ring, its socket address */
    bool anon;                 /* a sealed anonymous ring, read through its socket */
    int info_rc;               /* zinc_inspect */
    zinc_region_info info;
    int ring_rc;               /* zinc_ring_stats_read, when is_ring */
    zinc_ring_stats rs;
    uint32_t ncons;
    zinc_consumer_stats cs[MAX_CONS];
    uint64_t taken_ns;         /* CLOCK_MONOTONIC */
    /* The name itself (lstat, never opened by the tool): another user's
     * object, or not a regular file (a FIFO, a link...), is "foreign":
     * the library refuses to attach to it, gc and rm leave it alone. */
    bool have_stat;
    bool foreign;
    uint32_t uid;              /* owner of the name */
    const char *file_type;     /* "file", "fifo", "symlink", ... */
};

void snap_read(const char *name, struct snapshot *s);
/* The same for the anonymous ring served on a socket address (zinc_ring_connect). */
void snap_read_address(const char *address, struct snapshot *s);
/* Is this operand a socket address ("@name", or a path with a '/' outside
 * /dev/shm) rather than a name? */
bool is_address(const char *arg);
bool snap_is_ring(const struct snapshot *s);
/* Owner pid and liveness: the producer for a ring, the creator otherwise.
 * A closed producer counts as gone, as the library's stale rules say. */
void snap_owner(const struct snapshot *s, int32_t *pid, bool *alive);
uint32_t snap_alive_consumers(const struct snapshot *s);
/* Why a foreign name is foreign, e.g. "owned by uid 1000", "a fifo". */
const char *snap_foreign_why(const struct snapshot *s, char *buf, size_t len);
/* "region", "ring", "ring?" (unreadable ring) or "invalid". */
const char *snap_kind(const struct snapshot *s);
/* Snapshot each zinc_* name matching the patterns (all if npat is 0), in
 * name order, then each anonymous ring whose address in the socket
 * registry matches, and call fn with it; names removed meanwhile and
 * registry entries nobody listens on are skipped. Returns how many fn
 * saw, or -1 after saying why. */
typedef void (*snapshot_fn)(const struct snapshot *s, void *ctx);
long each_snapshot(char **pat, int npat, snapshot_fn fn, void *ctx);
/* The socket registry (zinc_socket_registry): each entry and the address it
 * points at, those matching the patterns (all if npat is 0), by address. */
struct reg_entry {
    char path[512];
    char address[512];
};
int list_registry(char **pat, int npat, struct reg_entry **out, size_t *n_out);

/* Is this name removable without --force? 1 yes (owner gone), 0 no (live),
 * <0 a zinc code (cannot tell). */
int snap_owner_gone(const struct snapshot *s);
/* Remove a name whose owner looked gone, with the library's own checks for
 * rings (the producer token is re-tested at the moment of removal). */
int snap_remove_gone(const struct snapshot *s);

#endif /* ZINC_TOOL_H */
