/* SPDX-License-Identifier: MIT */
/* zinc rm NAME...: remove names, refusing a live owner unless forced. */
#include "zinc-tool.h"

#include <stdlib.h>

static const char usage_rm[] =
    "usage: zinc rm NAME... [--force] [--json]\n"
    "Remove regions or rings by name. A name whose owner (the ring's producer,\n"
    "or the region's creator) is alive is refused (exit 4) unless --force, and\n"
    "so is a foreign one (another user's, or not a regular file);\n"
    "processes that have it mapped keep their mapping.\n"
    "  --json   one JSON object: {\"results\": [{\"name\", \"result\", \"code\"}]}\n";

/* Remove one name; returns the exit code it deserves, and in *rc the zinc
 * code behind it (0 removed, -17 live owner, else why it failed). */
static int rm_one(const char *name, const struct opts *o, struct snapshot *s, int *rc,
                  const char **result)
{
    *rc = 0;
    if (is_address(name)) {
        fprintf(stderr, "%s: '%s' is a socket address: a sealed anonymous ring has no name to "
                "remove; it is gone once its producer and consumers close\n", prog, name);
        *rc = ZINC_EINVAL;
        *result = "not a name";
        return EXIT_USAGE;
    }
    if (check_name_arg(name) != 0) {
        *rc = ZINC_EINVAL;
        *result = "invalid name";
        return EXIT_USAGE;
    }
    snap_read(name, s);
    if (s->info_rc == ZINC_ENOENT) {
        *rc = ZINC_ENOENT;
        *result = "not found";
        if (!o->json)
            print_zinc_error("cannot remove", name, *rc);
        return EXIT_NOTFOUND;
    }
    if (!o->force && s->foreign) {
        char why[96];
        fprintf(stderr, "%s: '%s' is foreign (%s); not removed (use --force)\n", prog, name,
                snap_foreign_why(s, why, sizeof(why)));
        *rc = ZINC_EPERM;
        *result = "refused: foreign";
        return EXIT_REFUSED;
    }
    int gone = snap_owner_gone(s);
    if (!o->force && gone == 0) {
        int32_t pid;
        bool alive;
        snap_owner(s, &pid, &alive);
        fprintf(stderr, "%s: '%s' has a live owner (pid %d); not removed (use --force)\n",
                prog, name, pid);
        *rc = ZINC_EEXIST;
        *result = "refused: live owner";
        return EXIT_REFUSED;
    }
    if (!o->force && gone < 0) {
        fprintf(stderr, "%s: cannot tell who owns '%s' (%s); not removed (use --force)\n",
                prog, name, zinc_strerror(gone));
        *rc = gone;
        *result = "refused: unreadable";
        return EXIT_REFUSED;
    }
    *rc = o->force ? zinc_unlink(name) : snap_remove_gone(s);
    if (*rc == ZINC_EEXIST) {
        fprintf(stderr, "%s: '%s' got a live producer meanwhile; not removed\n", prog, name);
        *result = "refused: live owner";
        return EXIT_REFUSED;
    }
    if (*rc == ZINC_ENOENT) {
        *result = "not found";
    } else if (*rc != 0) {
        *result = "error";
    } else {
        *result = "removed";
        if (!o->json)
            printf("removed %s\n", name);
        return EXIT_OKAY;
    }
    if (!o->json)
        print_zinc_error("cannot remove", name, *rc);
    return code_to_exit(*rc);
}

int cmd_rm(int argc, char **argv)
{
    struct opts o;
    int ec;
    int first = parse_cmd(argc, argv, "fj", usage_rm, "NAME", 1, -1, &o, &ec);
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
        int rc;
        int ex = rm_one(name, &o, s, &rc, &result);
        if (o.json) {
            fprintf(stdout, "%s{\"name\":", i > first ? "," : "");
            zf_json_str(stdout, name);
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
