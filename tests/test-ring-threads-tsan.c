/* SPDX-License-Identifier: MIT */
/*
 * test-ring-threads-tsan.c — the threaded ring stress cases as a plain
 * program (no Criterion runner, which crashes under ThreadSanitizer), for
 * the -Db_sanitize=thread build. Exit 0 pass, 1 fail, 77 skip.
 */
#define RT_STANDALONE 1
#include "test-ring-threads.c"
