/* SPDX-License-Identifier: MIT */
/* The payload range of a producer or consumer handle: what an application
 * registers once with cudaHostRegister, ibv_reg_mr or mlock. */
#include "ring-internal.h"

static int range(const struct zr_map *m, void **base, size_t *len, const char *what)
{
    if (!base || !len)
        return zinc__fail(ZINC_EINVAL, "%s: NULL argument", what);
    /* The payloads start a page multiple into the page-aligned ring base
     * (geometry validated at attach), and each slot stride is a page
     * multiple: the range is page-aligned at both ends. */
    *base = m->payloads;
    *len = (size_t)(m->g.slot_stride * m->g.slot_count);
    return ZINC_OK;
}

ZINC_API int zinc_consumer_mapping(const zinc_consumer *c, void **base, size_t *len)
{
    if (!c)
        return zinc__fail(ZINC_EINVAL, "consumer_mapping: NULL consumer");
    return range(&c->m, base, len, "consumer_mapping");
}

ZINC_API int zinc_producer_mapping(const zinc_producer *p, void **base, size_t *len)
{
    if (!p)
        return zinc__fail(ZINC_EINVAL, "producer_mapping: NULL producer");
    return range(&p->m, base, len, "producer_mapping");
}
