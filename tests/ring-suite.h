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

#endif /* ZINC_TESTS_RING_SUITE_H */
