/* SPDX-License-Identifier: MIT */
/* Region internals shared with the ring and tools. */
#ifndef ZINC_REGION_INTERNAL_H
#define ZINC_REGION_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "layout.h"
#include "private.h"

ZINC_HIDDEN bool zinc__region_owner_gone(const struct zinc_hdr *hdr, uint64_t size,
                                         const struct stat *st);
ZINC_HIDDEN int zinc__region_validate(const struct zinc_hdr *hdr, uint64_t size,
                                      uint64_t *data_off, uint64_t *map_len, const char *name);
/* Does this data area start with the ring magic? (ring.c) */
ZINC_HIDDEN bool zinc__is_ring(const uint8_t *data, uint64_t len);

#endif
