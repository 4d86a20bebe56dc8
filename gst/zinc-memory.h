/* SPDX-License-Identifier: MIT */
/*
 * zinc-memory.h — GstMemory whose bytes are a ring slot.
 *
 * zincsink's pool wraps claimed slots in it (writable); zincsrc wraps
 * acquired frames in it (read-only). The memory calls its owner back when
 * the last reference goes, which is how a slot follows GStreamer's buffer
 * lifetimes. A read-only slot memory can be "detached": its bytes copied out
 * of the slot into memory of its own once nobody has it mapped, so the slot
 * can be released while downstream still holds the buffer.
 */
#ifndef GST_ZINC_MEMORY_H
#define GST_ZINC_MEMORY_H

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_ZINC_MEMORY_TYPE "ZincSlot"

typedef struct GstZincMemory GstZincMemory;

/* Called once, when the memory is freed, before its bytes go. */
typedef void (*GstZincMemoryFreed)(gpointer owner, GstMemory *mem);

typedef struct GstZincMemoryOwner {
    gpointer owner;
    GstZincMemoryFreed freed;    /* may be NULL */
    GDestroyNotify owner_unref;  /* drops the memory's reference on owner; may be NULL */
    /* Maps are counted under `lock` (NULL: not counted, the memory can't
     * be detached); `cond` is broadcast when the count drops to zero. */
    GMutex *lock;
    GCond *cond;
} GstZincMemoryOwner;

/* Wrap `size` bytes at `data` (of `maxsize`, the slot) for `seq`. */
GstMemory *gst_zinc_memory_new(gpointer data, gsize maxsize, gsize size, gboolean readonly,
                               guint64 seq, const GstZincMemoryOwner *owner);

/* Whether mem is (a share of) a slot memory; its owner and frame seq. */
gboolean gst_zinc_memory_is_slot(GstMemory *mem);
gpointer gst_zinc_memory_owner(GstMemory *mem);
guint64 gst_zinc_memory_seq(GstMemory *mem);
/* Where the memory's bytes are now (the slot, or its own copy). */
gpointer gst_zinc_memory_data(GstMemory *mem);

/* With the owner's lock held: wait until nobody has the memory mapped, then
 * copy its bytes out of the slot. The wait gives up (FALSE) once *cancel is
 * non-zero or `deadline` (g_get_monotonic_time, 0 = none) passes; the
 * owner's cond must be broadcast when *cancel is set. `alive` (under the
 * same lock) turns FALSE if the memory is freed meanwhile: TRUE then. */
gboolean gst_zinc_memory_detach_locked(GstMemory *mem, const gboolean *alive,
                                       const gint *cancel, gint64 deadline);

/* For the plugin's init: registers the allocator. */
void gst_zinc_memory_init_once(void);

G_END_DECLS

#endif /* GST_ZINC_MEMORY_H */
