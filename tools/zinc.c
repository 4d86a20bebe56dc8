/* SPDX-License-Identifier: MIT */
/*
 * zinc — look inside Zinc regions and frame rings from the shell, without
 * attaching to them: ls, stat, top, rm, gc, doctor (one file each,
 * cmd-*.c; what they share is in common.c).
 *
 * Everything is read through zinc_inspect() and zinc_ring_stats_read(), which
 * map read-only and change no counter, so the tool never disturbs a running
 * pipeline. Exit codes are listed in usage() and docs/tools.md.
 */
#include "zinc-tool.h"

#include <string.h>

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
