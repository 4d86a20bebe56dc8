/* SPDX-License-Identifier: MIT */
/* Text helpers shared by the zinc tool and the example programs, so that
 * both print names and formats the same way. */
#ifndef ZINC_TOOLS_FMT_H
#define ZINC_TOOLS_FMT_H

#include <stdint.h>
#include <stdio.h>

/* Print s as a JSON string: quoted, with '"', '\' and control bytes
 * escaped. Other bytes pass through (names are ASCII). */
void zf_json_str(FILE *o, const char *s);

/* A fourcc as text: "raw" for 0, the name of the ones <zinc/ring.h> defines
 * ("RGBA32", "PC32F", ...), else its four characters ('?' for unprintable
 * bytes). Returns buf. */
const char *zf_fourcc(uint32_t fourcc, char buf[8]);

#endif /* ZINC_TOOLS_FMT_H */
