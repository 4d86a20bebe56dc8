/* SPDX-License-Identifier: MIT */
/* A buffer pool over claimed ring slots; see zinc-pool.h. */
#include <gst/video/video.h>

#include "zinc-memory.h"
#include "zinc-pool.h"

GST_DEBUG_CATEGORY_STATIC(zinc_pool_debug);
#define GST_CAT_DEFAULT zinc_pool_debug

struct _GstZincPool {
    GstBufferPool parent;
    GstZincProducer *zp;
    gboolean is_video;
    gboolean add_meta;
    GstVideoInfo info;
    guint size;
    gint flushing;
};

G_DEFINE_TYPE(GstZincPool, gst_zinc_pool, GST_TYPE_BUFFER_POOL)

static const gchar **zpool_get_options(GstBufferPool *pool)
{
    static const gchar *options[] = {GST_BUFFER_POOL_OPTION_VIDEO_META, NULL};
    return options;
}

static gboolean zpool_set_config(GstBufferPool *pool, GstStructure *config)
{
    GstZincPool *self = GST_ZINC_POOL(pool);
    GstCaps *caps;
    guint size, min, max;
    if (!gst_buffer_pool_config_get_params(config, &caps, &size, &min, &max) || !caps)
        return FALSE;
    if (max != 1 || min > 1) {
        GST_DEBUG_OBJECT(pool, "min %u max %u: the ring allows one claimed buffer", min, max);
        return FALSE;
    }
    if (size > gst_zinc_producer_slot_size(self->zp)) {
        GST_DEBUG_OBJECT(pool, "buffers of %u bytes do not fit slots of %" G_GUINT64_FORMAT,
                         size, gst_zinc_producer_slot_size(self->zp));
        return FALSE;
    }
    self->is_video = gst_video_info_from_caps(&self->info, caps);
    self->add_meta = self->is_video &&
                     gst_buffer_pool_config_has_option(config, GST_BUFFER_POOL_OPTION_VIDEO_META);
    self->size = size;
    return GST_BUFFER_POOL_CLASS(gst_zinc_pool_parent_class)->set_config(pool, config);
}

/* Nothing to preallocate: a buffer exists only while its slot is claimed. */
static gboolean zpool_start(GstBufferPool *pool)
{
    return TRUE;
}

static GstFlowReturn zpool_acquire(GstBufferPool *pool, GstBuffer **out,
                                   GstBufferPoolAcquireParams *params)
{
    GstZincPool *self = GST_ZINC_POOL(pool);
    zinc_frame f;
    GError *err = NULL;
    GstFlowReturn ret = gst_zinc_producer_claim(self->zp, TRUE, &f, &self->flushing, -1, &err);
    if (ret != GST_FLOW_OK) {
        if (err)
            GST_ERROR_OBJECT(pool, "%s", err->message);
        g_clear_error(&err);
        return ret;
    }
    GstBuffer *buf = gst_buffer_new();
    gst_buffer_append_memory(buf, gst_zinc_producer_wrap(self->zp, &f, self->size));
    if (self->add_meta) {
        const GstVideoInfo *vi = &self->info;
        gst_buffer_add_video_meta_full(buf, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_INFO_FORMAT(vi),
                                       GST_VIDEO_INFO_WIDTH(vi), GST_VIDEO_INFO_HEIGHT(vi),
                                       GST_VIDEO_INFO_N_PLANES(vi), (gsize *)vi->offset,
                                       (gint *)vi->stride);
    }
    GST_LOG_OBJECT(pool, "slot of frame %" G_GUINT64_FORMAT " out", f.seq);
    *out = buf;
    return GST_FLOW_OK;
}

static void zpool_release(GstBufferPool *pool, GstBuffer *buf)
{
    /* The buffer is not reused: the next acquire claims the next slot.
     * Freeing it frees its slot memory, which aborts the claim if the
     * buffer was never published. */
    gst_buffer_unref(buf);
}

static void zpool_flush_start(GstBufferPool *pool)
{
    GstZincPool *self = GST_ZINC_POOL(pool);
    g_atomic_int_set(&self->flushing, 1);
    gst_zinc_producer_wake(self->zp);
}

static void zpool_flush_stop(GstBufferPool *pool)
{
    g_atomic_int_set(&GST_ZINC_POOL(pool)->flushing, 0);
}

static void zpool_finalize(GObject *obj)
{
    gst_zinc_producer_unref(GST_ZINC_POOL(obj)->zp);
    G_OBJECT_CLASS(gst_zinc_pool_parent_class)->finalize(obj);
}

static void gst_zinc_pool_class_init(GstZincPoolClass *klass)
{
    GstBufferPoolClass *pc = GST_BUFFER_POOL_CLASS(klass);
    G_OBJECT_CLASS(klass)->finalize = zpool_finalize;
    pc->get_options = zpool_get_options;
    pc->set_config = zpool_set_config;
    pc->start = zpool_start;
    pc->acquire_buffer = zpool_acquire;
    pc->release_buffer = zpool_release;
    pc->flush_start = zpool_flush_start;
    pc->flush_stop = zpool_flush_stop;
    GST_DEBUG_CATEGORY_INIT(zinc_pool_debug, "zincpool", 0, "zinc slot buffer pool");
}

static void gst_zinc_pool_init(GstZincPool *self)
{
}

GstBufferPool *gst_zinc_pool_new(GstZincProducer *zp)
{
    GstZincPool *self = g_object_new(GST_TYPE_ZINC_POOL, NULL);
    self->zp = gst_zinc_producer_ref(zp);
    gst_object_ref_sink(self);
    return GST_BUFFER_POOL(self);
}
