/* SPDX-License-Identifier: MIT */
/* Slot-backed GstMemory and its allocator (allocation itself is refused:
 * slot memory only comes from a claim or an acquire). Shares point at their
 * root, which holds the bytes, the map count and the owner. */
#include <string.h>

#include "zinc-memory.h"

GST_DEBUG_CATEGORY_STATIC(zinc_memory_debug);
#define GST_CAT_DEFAULT zinc_memory_debug

struct GstZincMemory {
    GstMemory mem;
    guint8 *data;           /* root: the slot, or `copy` after a detach */
    guint8 *copy;           /* root: bytes of its own after a detach */
    gint maps;              /* root: under owner.lock */
    guint64 seq;
    GstZincMemoryOwner owner; /* root only */
};

typedef struct GstZincAllocator {
    GstAllocator parent;
} GstZincAllocator;
typedef struct GstZincAllocatorClass {
    GstAllocatorClass parent_class;
} GstZincAllocatorClass;

static GType gst_zinc_allocator_get_type(void);
G_DEFINE_TYPE(GstZincAllocator, gst_zinc_allocator, GST_TYPE_ALLOCATOR)

static GstAllocator *zinc_allocator;

static GstZincMemory *root_of(GstMemory *mem)
{
    return (GstZincMemory *)(mem->parent ? mem->parent : mem);
}

static GstMemory *zalloc_alloc(GstAllocator *a, gsize size, GstAllocationParams *params)
{
    GST_WARNING("slot memory cannot be allocated, only claimed");
    return NULL;
}

static void zalloc_free(GstAllocator *a, GstMemory *mem)
{
    GstZincMemory *z = (GstZincMemory *)mem;
    if (!mem->parent) {
        if (z->owner.freed)
            z->owner.freed(z->owner.owner, mem);
        g_free(z->copy);
        if (z->owner.owner_unref)
            z->owner.owner_unref(z->owner.owner);
    }
    g_free(z);
}

static gpointer zmem_map(GstMemory *mem, gsize maxsize, GstMapFlags flags)
{
    GstZincMemory *r = root_of(mem);
    if (!r->owner.lock)
        return r->data;
    g_mutex_lock(r->owner.lock);
    r->maps++;
    gpointer p = r->data;
    g_mutex_unlock(r->owner.lock);
    return p;
}

static void zmem_unmap(GstMemory *mem)
{
    GstZincMemory *r = root_of(mem);
    if (!r->owner.lock)
        return;
    g_mutex_lock(r->owner.lock);
    if (--r->maps == 0)
        g_cond_broadcast(r->owner.cond);
    g_mutex_unlock(r->owner.lock);
}

static GstMemory *zmem_share(GstMemory *mem, gssize offset, gssize size)
{
    GstZincMemory *r = root_of(mem);
    if (size == -1)
        size = (gssize)mem->size - offset;
    GstZincMemory *s = g_new0(GstZincMemory, 1);
    /* The share's offset is from the root's start, where map points. */
    gst_memory_init(&s->mem,
                    GST_MINI_OBJECT_FLAGS(mem) | GST_MINI_OBJECT_FLAG_LOCK_READONLY,
                    zinc_allocator, &r->mem, mem->maxsize, mem->align,
                    mem->offset + (gsize)offset, (gsize)size);
    s->seq = r->seq;
    return &s->mem;
}

static GstMemory *zmem_copy(GstMemory *mem, gssize offset, gssize size)
{
    if (size == -1)
        size = (gssize)mem->size > offset ? (gssize)mem->size - offset : 0;
    GstMemory *copy = gst_allocator_alloc(NULL, (gsize)size, NULL);
    GstMapInfo in, out;
    if (!gst_memory_map(mem, &in, GST_MAP_READ)) {
        gst_memory_unref(copy);
        return NULL;
    }
    if (gst_memory_map(copy, &out, GST_MAP_WRITE)) {
        memcpy(out.data, in.data + offset, (gsize)size);
        gst_memory_unmap(copy, &out);
    }
    gst_memory_unmap(mem, &in);
    return copy;
}

static gboolean zmem_is_span(GstMemory *a, GstMemory *b, gsize *offset)
{
    return FALSE;
}

static void gst_zinc_allocator_class_init(GstZincAllocatorClass *klass)
{
    GstAllocatorClass *ac = GST_ALLOCATOR_CLASS(klass);
    ac->alloc = zalloc_alloc;
    ac->free = zalloc_free;
}

static void gst_zinc_allocator_init(GstZincAllocator *self)
{
    GstAllocator *a = GST_ALLOCATOR_CAST(self);
    a->mem_type = GST_ZINC_MEMORY_TYPE;
    a->mem_map = zmem_map;
    a->mem_unmap = zmem_unmap;
    a->mem_share = zmem_share;
    a->mem_copy = zmem_copy;
    a->mem_is_span = zmem_is_span;
    GST_OBJECT_FLAG_SET(a, GST_ALLOCATOR_FLAG_CUSTOM_ALLOC);
}

void gst_zinc_memory_init_once(void)
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        GST_DEBUG_CATEGORY_INIT(zinc_memory_debug, "zincmemory", 0, "zinc slot memory");
        zinc_allocator = g_object_new(gst_zinc_allocator_get_type(), NULL);
        gst_object_ref_sink(zinc_allocator);
        /* Registered so that it lives as long as the process, as GStreamer
         * expects of allocators whose memory may outlive an element. */
        gst_allocator_register(GST_ZINC_MEMORY_TYPE, gst_object_ref(zinc_allocator));
        g_once_init_leave(&once, 1);
    }
}

GstMemory *gst_zinc_memory_new(gpointer data, gsize maxsize, gsize size, gboolean readonly,
                               guint64 seq, const GstZincMemoryOwner *owner)
{
    gst_zinc_memory_init_once();
    GstZincMemory *z = g_new0(GstZincMemory, 1);
    gst_memory_init(&z->mem,
                    readonly ? GST_MEMORY_FLAG_READONLY : 0,
                    zinc_allocator, NULL, maxsize, 0, 0, size);
    z->data = data;
    z->seq = seq;
    z->owner = *owner;
    return &z->mem;
}

gboolean gst_zinc_memory_is_slot(GstMemory *mem)
{
    return mem && gst_memory_is_type(mem, GST_ZINC_MEMORY_TYPE);
}

gpointer gst_zinc_memory_owner(GstMemory *mem)
{
    return gst_zinc_memory_is_slot(mem) ? root_of(mem)->owner.owner : NULL;
}

guint64 gst_zinc_memory_seq(GstMemory *mem)
{
    return gst_zinc_memory_is_slot(mem) ? root_of(mem)->seq : 0;
}

gpointer gst_zinc_memory_data(GstMemory *mem)
{
    return gst_zinc_memory_is_slot(mem) ? root_of(mem)->data : NULL;
}

gboolean gst_zinc_memory_detach_locked(GstMemory *mem, const gboolean *alive,
                                       const gint *cancel, gint64 deadline)
{
    GstZincMemory *r = root_of(mem);
    g_return_val_if_fail(r->owner.lock != NULL, FALSE);
    /* While *alive holds under the lock, the memory is not freed: its free
     * callback takes the same lock first. A map holds a reference, so
     * maps > 0 also keeps it alive. */
    while (*alive && r->maps > 0) {
        if (cancel && g_atomic_int_get(cancel))
            return FALSE;
        if (deadline) {
            if (!g_cond_wait_until(r->owner.cond, r->owner.lock, deadline) &&
                r->maps > 0 && *alive)
                return FALSE;
        } else {
            g_cond_wait(r->owner.cond, r->owner.lock);
        }
    }
    if (!*alive || r->copy)
        return TRUE;
    gsize n = r->mem.maxsize;
    r->copy = g_malloc(n);
    memcpy(r->copy, r->data, n);
    r->data = r->copy;
    return TRUE;
}
