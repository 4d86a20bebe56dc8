/* SPDX-License-Identifier: MIT */
/* Helpers shared by the region tests (test-region*.c). Include once, after
 * <criterion/criterion.h>. */
#ifndef ZINC_TESTS_REGION_UTIL_H
#define ZINC_TESTS_REGION_UTIL_H

#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <zinc/zinc.h>

#ifdef REGION_TEST_PREFIX
/* One region name per test: REGION_TEST_PREFIX + pid + tag, removed by
 * cleanup() (the suite's .fini). */
static char name_buf[64];

static inline const char *tname(const char *tag)
{
    snprintf(name_buf, sizeof(name_buf), REGION_TEST_PREFIX "%d_%s", (int)getpid(), tag);
    return name_buf;
}

static inline void cleanup(void)
{
    if (name_buf[0])
        zinc_unlink(name_buf);
}
#endif

static inline void need_shm(void)
{
    if (access("/dev/shm", W_OK) != 0)
        cr_skip_test("/dev/shm is not writable here");
}

/* fork() whose child dies with the test process: a failed assertion must
 * not leave a blocked waiter or owner behind. */
static inline pid_t fork_child(void)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(99);
    }
    return pid;
}

#endif
