/* SPDX-License-Identifier: MIT */
/*
 * region.h — the region layer's internal interface, for the layers built on
 * a region (the frame ring) and for tools. The region layer owns its header
 * and wire format (src/region-layout.h): it initialises and publishes the
 * header, counts handles, and validates what others wrote. It knows
 * nothing of what lives in the data area.
 */
#ifndef ZINC_REGION_INTERNAL_H
#define ZINC_REGION_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "private.h"
#include "region-layout.h"

/* Write every header field but magic (ref_count 1, owner = this process).
 * Nobody may look at them before zinc__region_publish. */
ZINC_HIDDEN void zinc__region_init(struct zinc_hdr *hdr, uint16_t version, uint64_t capacity,
                                   const char *name);
/* Release-store the magic: an opener that sees it sees the header and
 * everything the creator wrote before (the data area included). */
ZINC_HIDDEN void zinc__region_publish(struct zinc_hdr *hdr);

/* Take a handle's reference: false (nothing taken) when the count is 0 (a
 * region being torn down, or garbage) or saturated. */
ZINC_HIDDEN bool zinc__region_ref(struct zinc_hdr *hdr);
/* Give a reference back (never below 0). True when this was the last one
 * and the owner had closed: the caller removes the name then. */
ZINC_HIDDEN bool zinc__region_unref(struct zinc_hdr *hdr);
/* Set the owner-closed bit (the owner's close, before its unref). */
ZINC_HIDDEN void zinc__region_owner_close(struct zinc_hdr *hdr);

/* Read the header once into private memory: every later decision uses the
 * copy, never the shared bytes again. The copy's magic was read with
 * acquire (pairs with zinc__region_publish). */
ZINC_HIDDEN void zinc__region_snapshot(const struct zinc_hdr *hdr, struct zinc_hdr *copy);
/* Read the header of the object open on `fd` into *copy with pread (a
 * truncating peer gives a short read, never a SIGBUS; once the magic is
 * seen the fields are read again after an acquire fence), then its size
 * into *st (fstat, after the magic: a finished object does not grow). An
 * object shorter than a header leaves *copy zeroed. 0 or -errno; the caller
 * validates the copy (zinc__region_validate) or judges a half-made one. */
ZINC_HIDDEN int zinc__region_peek(int fd, const char *name, struct zinc_hdr *copy,
                                  struct stat *st);
/* Validate a header copy against the object's real size (fstat). On
 * success fills the data offset. -74 with a message otherwise. */
ZINC_HIDDEN int zinc__region_validate(const struct zinc_hdr *copy, uint64_t size,
                                      uint64_t *data_off, const char *name);
/* Is the owner of a region gone (closed, dead, pid reused, half-made and
 * abandoned)? `copy` may be NULL for an object smaller than a header; `st`
 * is the object's stat (for the age of a half-made region). */
ZINC_HIDDEN bool zinc__region_owner_gone(const struct zinc_hdr *copy, uint64_t size,
                                         const struct stat *st);
/* Owner closed and no handle left: the last closer did not remove the name
 * (an upstream Zinc handle, whose close ignores the owner-closed bit). */
ZINC_HIDDEN bool zinc__region_dead(const struct zinc_hdr *copy);

/* zinc_region_info of the object open on `fd`, read with pread (a peer
 * truncating it meanwhile gives -74, never a SIGBUS). is_ring is left 0:
 * the layers above fill it (src/inspect.c). */
ZINC_HIDDEN int zinc__region_info_fd(int fd, const char *name, zinc_region_info *out);
/* The same for an open handle, plus its data area for the layers above. */
ZINC_HIDDEN int zinc__region_info_handle(ZincHandle h, zinc_region_info *out,
                                         const uint8_t **data, uint64_t *len);

#endif /* ZINC_REGION_INTERNAL_H */
