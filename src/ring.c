/* SPDX-License-Identifier: MIT */
/* placeholder while the ring is written */
#include "region.h"
bool zinc__is_ring(const uint8_t *data, uint64_t len) { (void)data; (void)len; return false; }
