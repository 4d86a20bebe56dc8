/* SPDX-License-Identifier: MIT */
/*
 * zinc-address.h — what the elements' `ring` property names: a ring in
 * /dev/shm ("cam0", [A-Za-z0-9_-]) or the Unix socket address of a sealed
 * anonymous ring ("@cam0" in the abstract namespace, or a path: anything
 * with a '/'). Ring names cannot hold '@' or '/', so the two never mix.
 */
#ifndef GST_ZINC_ADDRESS_H
#define GST_ZINC_ADDRESS_H

#include <gst/gst.h>

G_BEGIN_DECLS

/* TRUE if `ring` is a socket address (starts with '@' or holds a '/'). */
gboolean gst_zinc_ring_is_address(const char *ring);

/* The label an anonymous ring served on `address` carries in messages and
 * /proc/<pid>/fd: the abstract name or the path's last component, with
 * characters a ring name may not hold turned into '-' ("anon" if none is
 * left). g_free it. */
gchar *gst_zinc_address_label(const char *address);

G_END_DECLS

#endif /* GST_ZINC_ADDRESS_H */
