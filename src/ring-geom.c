/* SPDX-License-Identifier: MIT */
/* The frame ring's geometry: how a configuration lays out in an object, and
 * the validation of a ring someone else made against that layout. */
#include <errno.h>
#include <stddef.h>
#include <unistd.h>

#include "ring-internal.h"

static uint64_t round_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) / a * a;
}

int zinc__ring_geom(uint32_t slot_count, uint32_t max_consumers, uint64_t slot_size,
                    struct zr_geom *g)
{
    uint64_t page = (uint64_t)zinc__page_size();
    if (slot_count < 2 || slot_count > ZINC_RING_MAX_SLOTS || (slot_count & (slot_count - 1)))
        return ZINC_EINVAL;
    if (max_consumers < 1 || max_consumers > ZINC_RING_MAX_CONSUMERS)
        return ZINC_EINVAL;
    /* 2^46 bytes (64 TiB) of payload in all: far above any /dev/shm, far
     * below any overflow of the sums below. */
    if (slot_size == 0 || slot_size > (1ull << 46))
        return ZINC_EINVAL;
    g->slot_count = slot_count;
    g->max_consumers = max_consumers;
    g->slot_size = slot_size;
    g->slot_stride = round_up(slot_size, page);
    if (g->slot_stride > (1ull << 46) / slot_count)
        return ZINC_EINVAL;
    g->off_consumers = sizeof(struct zr_ctl);
    g->off_descs = g->off_consumers + (uint64_t)max_consumers * sizeof(struct zr_cons);
    g->off_payloads = round_up(g->off_descs + (uint64_t)slot_count * sizeof(struct zr_desc), page);
    g->ring_bytes = g->off_payloads + (uint64_t)slot_count * g->slot_stride;
    return ZINC_OK;
}

ZINC_API uint64_t zinc_ring_size(const zinc_ring_config *cfg)
{
    struct zr_geom g;
    if (!cfg)
        return 0;
    uint32_t mc = cfg->max_consumers ? cfg->max_consumers : ZINC_RING_DEFAULT_CONSUMERS;
    if (zinc__ring_geom(cfg->slot_count, mc, cfg->slot_size, &g) < 0)
        return 0;
    return (uint64_t)zinc__page_size() + g.ring_bytes;
}

bool zinc__ring_probe_fd(int fd, uint64_t data_off)
{
    uint64_t magic = 0;
    return pread(fd, &magic, sizeof(magic), (off_t)data_off) == (ssize_t)sizeof(magic) &&
           magic == ZR_MAGIC;
}

bool zinc__ring_probe(const uint8_t *data, uint64_t len)
{
    if (!data || len < sizeof(uint64_t))
        return false;
    /* Relaxed: a yes/no for zinc_region_info, nothing read after it. */
    return atomic_load_explicit((_Atomic uint64_t *)data, memory_order_relaxed) == ZR_MAGIC;
}

int zinc__ring_config_check(const char *name, const zinc_ring_config *cfg, struct zr_geom *g)
{
    if (!cfg)
        return zinc__fail(ZINC_EINVAL, "ring '%s': config is NULL", name);
    for (size_t i = 0; i < sizeof(cfg->reserved) / sizeof(cfg->reserved[0]); i++)
        if (cfg->reserved[i])
            return zinc__fail(ZINC_EINVAL, "ring '%s': config.reserved must be zero", name);
    if (cfg->flags & ~(ZINC_RING_PREFAULT | ZINC_RING_HUGEPAGES | ZINC_RING_NO_TIMESTAMPS |
                       ZINC_RING_ANONYMOUS | ZINC_RING_GROUP_ACCESS))
        return zinc__fail(ZINC_EINVAL, "ring '%s': unknown config flags 0x%x", name, cfg->flags);
    uint32_t mc = cfg->max_consumers ? cfg->max_consumers : ZINC_RING_DEFAULT_CONSUMERS;
    if (zinc__ring_geom(cfg->slot_count, mc, cfg->slot_size, g) < 0)
        return zinc__fail(ZINC_EINVAL,
                          "ring '%s': invalid config: slot_count %u (power of two, 2..%u), "
                          "max_consumers %u (1..%u), slot_size %llu (> 0)",
                          name, cfg->slot_count, ZINC_RING_MAX_SLOTS, cfg->max_consumers,
                          ZINC_RING_MAX_CONSUMERS, (unsigned long long)cfg->slot_size);
    return ZINC_OK;
}

/* Validate a ring's control block against the object size and fill the
 * map's geometry from a private copy, read with pread (a peer truncating
 * the object meanwhile gives -74, never a SIGBUS). -74 on anything that
 * does not add up. */
int zinc__ring_validate(struct zr_map *m, uint64_t data_off, uint64_t data_len)
{
    const char *name = m->name;
    if (data_len < sizeof(struct zr_ctl))
        return zinc__fail(ZINC_EBADMSG, "ring '%s': data area of %llu bytes is too small", name,
                          (unsigned long long)data_len);
    /* Copy once: a hostile writer may change the bytes while we look. The
     * geometry line is read after its magic is seen, with an acquire fence
     * between (as an acquire load of the magic would): it pairs with the
     * creator's release store of the ring magic, written after the
     * geometry. */
    struct zr_ctl c;
    size_t line = offsetof(struct zr_ctl, pad0);
    if (pread(m->fd, &c, line, (off_t)data_off) != (ssize_t)line)
        return zinc__fail(ZINC_EBADMSG, "ring '%s': control block unreadable (object shrank?)",
                          name);
    uint64_t magic = atomic_load_explicit(&c.magic, memory_order_relaxed);
    if (magic != ZR_MAGIC)
        return zinc__fail(ZINC_EBADMSG, "'%s' is a plain zinc region, not a frame ring "
                          "(ring magic 0x%016llx)", name, (unsigned long long)magic);
    atomic_thread_fence(memory_order_acquire);
    if (pread(m->fd, &c, line, (off_t)data_off) != (ssize_t)line ||
        atomic_load_explicit(&c.magic, memory_order_relaxed) != ZR_MAGIC)
        return zinc__fail(ZINC_EBADMSG, "ring '%s': control block changed while read", name);
    if (c.layout_version != ZR_LAYOUT_VERSION || c.ctl_size != sizeof(struct zr_ctl) ||
        c.consumer_size != sizeof(struct zr_cons) || c.desc_size != sizeof(struct zr_desc))
        return zinc__fail(ZINC_EBADMSG, "ring '%s': layout version %u (sizes %u/%u/%u) is not "
                          "the supported version %u",
                          name, c.layout_version, c.ctl_size, c.consumer_size, c.desc_size,
                          ZR_LAYOUT_VERSION);
    struct zr_geom g;
    if (zinc__ring_geom(c.geom.slot_count, c.geom.max_consumers, c.geom.slot_size, &g) < 0)
        return zinc__fail(ZINC_EBADMSG, "ring '%s': invalid geometry (slots %u, consumers %u, "
                          "slot size %llu)",
                          name, c.geom.slot_count, c.geom.max_consumers, (unsigned long long)c.geom.slot_size);
    if (g.slot_stride != c.geom.slot_stride || g.off_consumers != c.geom.off_consumers ||
        g.off_descs != c.geom.off_descs || g.off_payloads != c.geom.off_payloads ||
        g.ring_bytes != c.geom.ring_bytes)
        return zinc__fail(ZINC_EBADMSG, "ring '%s': part offsets do not add up (stride %llu, "
                          "consumers @%llu, descriptors @%llu, payloads @%llu, %llu bytes)",
                          name, (unsigned long long)c.geom.slot_stride,
                          (unsigned long long)c.geom.off_consumers, (unsigned long long)c.geom.off_descs,
                          (unsigned long long)c.geom.off_payloads, (unsigned long long)c.geom.ring_bytes);
    if (g.ring_bytes > data_len)
        return zinc__fail(ZINC_EBADMSG, "ring '%s': needs %llu bytes but the region holds %llu",
                          name, (unsigned long long)g.ring_bytes,
                          (unsigned long long)data_len);
    m->g = g;
    m->mask = g.slot_count - 1;
    m->generation = c.generation;
    m->flags = c.flags;
    m->spin_ns = c.spin_ns;
    m->demote_after_ns = c.demote_after_ns;
    m->created_ns = c.created_ns;
    if (m->base)
        zinc__ring_parts(m, data_off);
    return ZINC_OK;
}

void zinc__ring_parts(struct zr_map *m, uint64_t data_off)
{
    struct zr_ctl *ctl = (struct zr_ctl *)(m->base + data_off);
    m->ctl = ctl;
    m->cons = (struct zr_cons *)((uint8_t *)ctl + m->g.off_consumers);
    m->descs = (struct zr_desc *)((uint8_t *)ctl + m->g.off_descs);
    m->payloads = (uint8_t *)ctl + m->g.off_payloads;
}

