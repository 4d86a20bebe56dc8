/* SPDX-License-Identifier: MIT */
/*
 * inspect.c — zinc_region_info for a name or a handle. Above both layers:
 * the region layer reads its header; whether the data area holds a frame
 * ring, and whether that ring's producer lives, is the ring layer's word.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "region.h"
#include "ring-internal.h"

static int inspect_fd(int fd, const char *name, zinc_region_info *out);

ZINC_API int32_t zinc_region_info_get(ZincHandle h, zinc_region_info *out)
{
    if (!h || !out)
        return zinc__fail(ZINC_EINVAL, "region_info: NULL argument");
    const uint8_t *data;
    uint64_t len;
    int r = zinc__region_info_handle(h, out, &data, &len);
    if (r == 0)
        out->is_ring = zinc__ring_probe(data, len);
    return r;
}

ZINC_API int32_t zinc_inspect(const char *name, zinc_region_info *out)
{
    zinc__clear_error();
    if (!out)
        return zinc__fail(ZINC_EINVAL, "inspect: out is NULL");
    char obj[ZINC_OBJ_NAME_MAX];
    int r = zinc__obj_name(name, obj);
    if (r < 0)
        return r;
    /* Read-only, with pread: another user's object is reported (flagged
     * `foreign`), a FIFO or a link at the name is refused without waiting. */
    struct stat st;
    int fd = zinc__shm_open_existing(obj, name, O_RDONLY, "inspect", true, &st, NULL);
    if (fd < 0)
        return fd;
    r = inspect_fd(fd, name, out);
    close(fd);
    return r;
}

ZINC_API int32_t zinc_inspect_fd(int fd, zinc_region_info *out)
{
    zinc__clear_error();
    if (fd < 0 || !out)
        return zinc__fail(ZINC_EINVAL, "inspect_fd: bad descriptor or out is NULL");
    char label[32];
    snprintf(label, sizeof(label), "fd %d", fd);
    return inspect_fd(fd, label, out);
}

/* The region's header, then the ring's word on it, all through pread. */
static int inspect_fd(int fd, const char *name, zinc_region_info *out)
{
    int r = zinc__region_info_fd(fd, name, out);
    if (r == 0) {
        out->is_ring = zinc__ring_probe_fd(fd, out->data_offset);
        if (out->is_ring) {
            /* A ring's owner is its producer; its kernel-held token is the
             * authority (pids lie across namespaces). */
            int held = zinc__token_held(fd, ZR_TOKEN_PRODUCER);
            if (held >= 0)
                out->owner_alive = held;
        }
    }
    return r;
}
