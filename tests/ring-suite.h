/* SPDX-License-Identifier: MIT */
/*
 * ring-suite.h — for a Criterion suite of ring tests: `g_name`, a ring name
 * unique to the running test, removed before and after it. Use
 *   TestSuite(x, .init = ru_suite_setup, .fini = ru_suite_teardown);
 * (a suite with more to undo calls ru_suite_teardown from its own .fini).
 */
#ifndef ZINC_TESTS_RING_SUITE_H
#define ZINC_TESTS_RING_SUITE_H

#include <criterion/criterion.h>

#include "ring-util.h"

static char g_name[160];

static RU_UNUSED void ru_suite_setup(void)
{
    ru_name(g_name, sizeof(g_name), criterion_current_test->name);
    ru_cleanup(g_name);
}

static RU_UNUSED void ru_suite_teardown(void)
{
    ru_cleanup(g_name);
}

/* A child process and two pipes: the parent writes `cmd` and reads `evt`
 * (ru_signal / ru_await on each side). */
struct ru_kid {
    pid_t pid;
    int cmd; /* parent writes */
    int evt; /* parent reads */
};

typedef void (*ru_kid_fn)(int cmd, int evt, void *arg);

/* Fork a child that runs fn(cmd, evt, arg) and exits 0; alarm(alarm_s)
 * keeps a broken test from leaving it behind. */
static RU_UNUSED struct ru_kid ru_spawn(ru_kid_fn fn, void *arg, unsigned alarm_s)
{
    int c[2], e[2];
    cr_assert_eq(pipe(c), 0);
    cr_assert_eq(pipe(e), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        alarm(alarm_s);
        close(c[1]);
        close(e[0]);
        fn(c[0], e[1], arg);
        _exit(0);
    }
    close(c[0]);
    close(e[1]);
    return (struct ru_kid){ pid, c[1], e[0] };
}

#endif /* ZINC_TESTS_RING_SUITE_H */
