/* SPDX-License-Identifier: MIT */
/*
 * zincsrc — a live GStreamer source that is a ring consumer.
 *
 * Holding rules (the ring lets a consumer hold one frame at a time):
 *  - 'every' mode, copy=auto, a producer that never demotes: the pushed
 *    buffer wraps the slot (read-only). Nothing can tear it: the producer
 *    waits for us. When the next frame is wanted and downstream still holds
 *    the buffer, its bytes are copied out of the slot first (counted in
 *    `copies`) so the slot can be released.
 *  - 'lossy' / 'latest' (or copy=always, or a producer with demote-after):
 *    the producer never waits, so a held slot can be overwritten. The frame
 *    is copied out and then validated (release); a torn copy is dropped,
 *    counted in `torn`, and the next buffer is marked DISCONT.
 */
#include <string.h>
#include <time.h>

#include <gst/base/gstpushsrc.h>
#include <gst/video/video.h>

#include "zinc-address.h"
#include "zinc-format.h"
#include "zinc-memory.h"
#include "zinc-src.h"

GST_DEBUG_CATEGORY_STATIC(zinc_src_debug);
#define GST_CAT_DEFAULT zinc_src_debug

/* One blocking call into the ring lasts at most this long before the
 * unlock flag is looked at again (how late a flush or stop is noticed). */
#define SLICE_NS (20 * GST_MSECOND)
/* How often a source waiting for its ring (or its producer's socket) looks
 * for it (nothing signals a ring's creation to processes not yet attached). */
#define POLL_US (10 * 1000)
/* At stop, how long downstream may keep a slot mapped before the consumer
 * handle is leaked rather than unmapped under it. */
#define STOP_WAIT_US (2 * G_USEC_PER_SEC)

typedef enum { COPY_AUTO, COPY_ALWAYS } GstZincCopy;

enum {
    PROP_0,
    PROP_RING,
    PROP_MODE,
    PROP_WAIT,
    PROP_TIMEOUT,
    PROP_FOLLOW,
    PROP_COPY,
    PROP_COPIES,
    PROP_DROPPED,
    PROP_TORN,
    PROP_FRAMES,
};

/* What a zero-copy buffer's memory shares with the element: freed when
 * the last of them goes, so memory may outlive the element. */
typedef struct GstZincHold {
    gint refs;
    GMutex lock;     /* also counts the maps of the held memory */
    GCond cond;
    gboolean alive;  /* the memory over the held slot exists */
    GstMemory *mem;
} GstZincHold;

struct _GstZincSrc {
    GstPushSrc parent;

    /* properties (object lock) */
    gchar *ring;
    zinc_delivery mode;
    gboolean wait;
    gint64 timeout;
    gboolean follow;
    GstZincCopy copy;
    guint64 copies, dropped, torn, frames; /* atomic */

    /* streaming thread */
    zinc_consumer *c;
    zinc_ring_config cfg;
    guint64 generation;       /* of the ring attached or last left */
    gboolean left;            /* a ring was left (producer gone): skip its generation */
    /* Set by start and cleared by stop under the object lock; unlock()
     * (any thread, e.g. a flushing seek racing stop) takes a reference. */
    GstZincHold *hold;
    gboolean holding;
    zinc_frame held;
    gboolean have_key;
    GstZincDescKey key;
    GstZincFormat fmt;
    gboolean discont;
    gboolean eos_next;
    gboolean reattach_next;
    gint unlocked;
    gboolean video_meta_ok;
    GstBufferPool *copy_pool;
    gsize copy_pool_size;
    GstZincClockMap clock_map;
};

G_DEFINE_TYPE(GstZincSrc, gst_zinc_src, GST_TYPE_PUSH_SRC)

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(GST_ZINC_VIDEO_FORMATS) "; " GST_ZINC_TENSOR_MEDIA));

static GType mode_get_type(void)
{
    static gsize type = 0;
    static const GEnumValue values[] = {
        {ZINC_EVERY, "Every frame, in order; the producer waits for this source", "every"},
        {ZINC_LOSSY, "Frames in order; skips ahead when lapped (DISCONT)", "lossy"},
        {ZINC_LATEST, "Always the newest frame", "latest"},
        {0, NULL, NULL},
    };
    if (g_once_init_enter(&type))
        g_once_init_leave(&type, g_enum_register_static("GstZincSrcMode", values));
    return (GType)type;
}

static GType copy_get_type(void)
{
    static gsize type = 0;
    static const GEnumValue values[] = {
        {COPY_AUTO, "Zero copy where nothing can tear it ('every' mode), else copy and "
                    "validate", "auto"},
        {COPY_ALWAYS, "Always copy the frame out of its slot and validate the copy", "always"},
        {0, NULL, NULL},
    };
    if (g_once_init_enter(&type))
        g_once_init_leave(&type, g_enum_register_static("GstZincSrcCopy", values));
    return (GType)type;
}


static void count(guint64 *c, guint64 n)
{
    __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

/* ---- the hold ---------------------------------------------------------------- */

static GstZincHold *hold_new(void)
{
    GstZincHold *h = g_new0(GstZincHold, 1);
    h->refs = 1;
    g_mutex_init(&h->lock);
    g_cond_init(&h->cond);
    return h;
}

static void hold_unref(gpointer p)
{
    GstZincHold *h = p;
    if (!h || !g_atomic_int_dec_and_test(&h->refs))
        return;
    g_mutex_clear(&h->lock);
    g_cond_clear(&h->cond);
    g_free(h);
}

static void held_freed(gpointer owner, GstMemory *mem)
{
    GstZincHold *h = owner;
    g_mutex_lock(&h->lock);
    if (h->mem == mem) {
        h->alive = FALSE;
        h->mem = NULL;
    }
    g_cond_broadcast(&h->cond);
    g_mutex_unlock(&h->lock);
}

/* Release the held frame. If downstream still has the buffer over it, copy
 * its bytes out of the slot first. FALSE if that wait was cancelled or ran
 * past `deadline` (the frame is still held). */
static gboolean release_held(GstZincSrc *self, const gint *cancel, gint64 deadline)
{
    if (!self->holding)
        return TRUE;
    GstZincHold *h = self->hold;
    g_mutex_lock(&h->lock);
    if (h->alive) {
        if (!gst_zinc_memory_detach_locked(h->mem, &h->alive, cancel, deadline)) {
            g_mutex_unlock(&h->lock);
            return FALSE;
        }
        if (h->alive) {
            count(&self->copies, 1);
            GST_DEBUG_OBJECT(self, "downstream still holds frame %" G_GUINT64_FORMAT ": its "
                             "%" G_GUINT64_FORMAT " bytes copied out of the slot", self->held.seq,
                             self->held.size);
        }
        h->alive = FALSE;
        h->mem = NULL;
    }
    g_mutex_unlock(&h->lock);
    int rc = zinc_consumer_release(self->c, &self->held);
    if (rc == ZINC_EOVERFLOW) {
        /* Only after a demotion or eviction, which zero copy is not used with. */
        count(&self->torn, 1);
        GST_WARNING_OBJECT(self, "frame %" G_GUINT64_FORMAT " was overwritten while held",
                           self->held.seq);
    }
    self->holding = FALSE;
    return TRUE;
}

/* ---- attaching ---------------------------------------------------------------- */

static void leave_ring(GstZincSrc *self)
{
    if (!self->c)
        return;
    self->generation = zinc_consumer_generation(self->c);
    self->left = TRUE;
    zinc_consumer_close(self->c);
    self->c = NULL;
    self->discont = TRUE;
}

/* Take a descriptor's caps if they differ from the current ones.
 * GST_FLOW_ERROR (element error posted) for a hostile descriptor. */
static GstFlowReturn update_caps(GstZincSrc *self, const zinc_frame *f)
{
    GstZincDescKey key;
    gst_zinc_desc_key(f, &key);
    if (self->have_key && memcmp(&key, &self->key, sizeof(key)) == 0)
        return GST_FLOW_OK;
    GstZincFormat fmt;
    GError *err = NULL;
    if (!gst_zinc_format_from_desc(f, &fmt, &err)) {
        GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("Bad frame descriptor in the ring"),
                          ("frame %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " bytes): %s",
                           f->seq, f->size, err->message));
        g_clear_error(&err);
        return GST_FLOW_ERROR;
    }
    gboolean same = self->fmt.caps && gst_caps_is_equal(self->fmt.caps, fmt.caps);
    gst_zinc_format_clear(&self->fmt);
    self->fmt = fmt;
    self->key = key;
    self->have_key = TRUE;
    if (same)
        return GST_FLOW_OK;
    GST_INFO_OBJECT(self, "caps from the ring: %" GST_PTR_FORMAT, fmt.caps);
    if (!gst_base_src_negotiate(GST_BASE_SRC(self)))
        return GST_FLOW_NOT_NEGOTIATED;
    return GST_FLOW_OK;
}

/* Attach (waiting if `wait`). In the streaming thread (`negotiate`), caps
 * are set from the stream descriptor at once; from start() they wait for
 * the first frame (the pad is not active yet). */
static GstFlowReturn open_consumer(GstZincSrc *self, gboolean negotiate)
{
    GST_OBJECT_LOCK(self);
    gchar *name = g_strdup(self->ring);
    zinc_delivery mode = self->mode;
    gboolean wait = self->wait || self->left;
    gint64 timeout = self->timeout;
    GST_OBJECT_UNLOCK(self);
    if (!name || !*name) {
        GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("No ring name"), ("set the 'ring' property"));
        return GST_FLOW_ERROR;
    }
    /* A socket address: a sealed anonymous ring, handed over by its
     * producer's listener (every wait in connect is bounded, 2 s). */
    gboolean address = gst_zinc_ring_is_address(name);
    gint64 deadline = timeout >= 0 ? g_get_monotonic_time() + timeout / 1000 : 0;
    GstFlowReturn ret = GST_FLOW_OK;
    for (;;) {
        if (g_atomic_int_get(&self->unlocked)) {
            ret = GST_FLOW_FLUSHING;
            break;
        }
        zinc_consumer *c = NULL;
        int rc = address ? zinc_consumer_connect(name, mode, &c)
                         : zinc_consumer_open(name, mode, &c);
        if (rc == 0 && self->left && zinc_consumer_generation(c) == self->generation) {
            zinc_consumer_close(c); /* the ring we left, not yet removed */
            rc = ZINC_ENOENT;
        }
        if (rc == 0) {
            self->c = c;
            self->generation = zinc_consumer_generation(c);
            zinc_consumer_config(c, &self->cfg);
            self->discont = TRUE;
            GST_INFO_OBJECT(self, "attached to ring '%s' (generation %016" G_GINT64_MODIFIER
                            "x, %u slots of %" G_GUINT64_FORMAT " bytes)", name,
                            self->generation, self->cfg.slot_count, self->cfg.slot_size);
            zinc_frame desc;
            if (negotiate && zinc_consumer_stream(c, &desc) == 0)
                ret = update_caps(self, &desc);
            break;
        }
        /* Not there yet (no ring, nobody listening), still being made, or
         * its maker died: what a replacement may cure. A listener that did
         * not answer in time (-110) is busy, not gone. */
        if (rc != ZINC_ENOENT && rc != ZINC_EAGAIN && rc != ZINC_EPIPE &&
            !(address && rc == ZINC_ETIMEDOUT)) {
            GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("Cannot attach to ring '%s'", name),
                              ("%d: %s", rc, zinc_last_error()[0] ? zinc_last_error()
                                                                   : zinc_strerror(rc)));
            ret = GST_FLOW_ERROR;
            break;
        }
        if (!wait) {
            GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("No ring '%s'", name),
                              ("%d: %s (set wait=true to wait for it)", rc,
                               zinc_last_error()[0] ? zinc_last_error() : zinc_strerror(rc)));
            ret = GST_FLOW_ERROR;
            break;
        }
        gint64 now = g_get_monotonic_time();
        if (deadline && now >= deadline) {
            GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("No ring '%s'", name),
                              ("no %s%s within the timeout of %" G_GINT64_FORMAT " ns",
                               self->left ? "replacement " : "",
                               address ? "producer listened on that socket" : "ring appeared",
                               timeout));
            ret = GST_FLOW_ERROR;
            break;
        }
        g_mutex_lock(&self->hold->lock);
        if (!g_atomic_int_get(&self->unlocked))
            g_cond_wait_until(&self->hold->cond, &self->hold->lock, now + POLL_US);
        g_mutex_unlock(&self->hold->lock);
    }
    g_free(name);
    return ret;
}

/* ---- buffers ------------------------------------------------------------------ */

static GstClockTime pts_of(GstZincSrc *self, const zinc_frame *f)
{
    guint64 ts = f->timestamp_ns ? f->timestamp_ns
                 : f->publish_ns ? f->publish_ns : gst_zinc_mono_now();
    GstClock *clock = gst_element_get_clock(GST_ELEMENT(self));
    if (!clock)
        return GST_CLOCK_TIME_NONE;
    gint64 t = (gint64)ts - gst_zinc_clock_offset(&self->clock_map, clock);
    gst_object_unref(clock);
    gint64 base = (gint64)gst_element_get_base_time(GST_ELEMENT(self));
    return t > base ? (GstClockTime)(t - base) : 0;
}

static GstBuffer *copy_frame(GstZincSrc *self, const zinc_frame *f, gboolean to_default)
{
    GstVideoInfo def;
    gsize size = (gsize)f->size;
    if (to_default) {
        gst_video_info_set_format(&def, GST_VIDEO_INFO_FORMAT(&self->fmt.info),
                                  GST_VIDEO_INFO_WIDTH(&self->fmt.info),
                                  GST_VIDEO_INFO_HEIGHT(&self->fmt.info));
        size = def.size;
    }
    if (size == 0)
        return gst_buffer_new();
    if (!self->copy_pool || self->copy_pool_size != size) {
        if (self->copy_pool) {
            gst_buffer_pool_set_active(self->copy_pool, FALSE);
            gst_object_unref(self->copy_pool);
        }
        /* Reused buffers: no page faults for a fresh allocation per frame. */
        self->copy_pool = gst_buffer_pool_new();
        GstStructure *config = gst_buffer_pool_get_config(self->copy_pool);
        gst_buffer_pool_config_set_params(config, NULL, (guint)size, 0, 0);
        gst_buffer_pool_set_config(self->copy_pool, config);
        gst_buffer_pool_set_active(self->copy_pool, TRUE);
        self->copy_pool_size = size;
    }
    GstBuffer *buf = NULL;
    if (gst_buffer_pool_acquire_buffer(self->copy_pool, &buf, NULL) != GST_FLOW_OK)
        return NULL;
    GstMapInfo map;
    gst_buffer_map(buf, &map, GST_MAP_WRITE);
    if (to_default)
        gst_zinc_copy_planes(&self->fmt.info, f->data, &def, map.data);
    else
        memcpy(map.data, f->data, size);
    gst_buffer_unmap(buf, &map);
    return buf;
}

static GstFlowReturn zsrc_create(GstPushSrc *psrc, GstBuffer **out)
{
    GstZincSrc *self = GST_ZINC_SRC(psrc);
    if (self->eos_next)
        return GST_FLOW_EOS;
    GST_OBJECT_LOCK(self);
    gboolean follow = self->follow;
    GstZincCopy copy = self->copy;
    GST_OBJECT_UNLOCK(self);

    for (;;) {
        if (self->reattach_next) {
            self->reattach_next = FALSE;
            if (!release_held(self, &self->unlocked, 0))
                return GST_FLOW_FLUSHING;
            leave_ring(self);
        }
        if (!self->c) {
            GstFlowReturn ret = open_consumer(self, TRUE);
            if (ret != GST_FLOW_OK)
                return ret;
        }
        if (!release_held(self, &self->unlocked, 0))
            return GST_FLOW_FLUSHING;
        zinc_frame f;
        int rc = zinc_consumer_acquire(self->c, &f, (int64_t)SLICE_NS);
        if (rc == ZINC_ETIMEDOUT || rc == ZINC_EAGAIN) {
            if (g_atomic_int_get(&self->unlocked))
                return GST_FLOW_FLUSHING;
            continue;
        }
        if (rc == ZINC_EPIPE) {
            GST_INFO_OBJECT(self, "producer gone%s", follow ? ": waiting for a new one" : "");
            leave_ring(self);
            if (follow)
                continue;
            return GST_FLOW_EOS;
        }
        if (rc != 0) {
            GST_ELEMENT_ERROR(self, RESOURCE, READ, ("Cannot read the ring"), ("%d: %s", rc,
                              zinc_last_error()[0] ? zinc_last_error() : zinc_strerror(rc)));
            return GST_FLOW_ERROR;
        }
        if (f.dropped) {
            count(&self->dropped, f.dropped);
            self->discont = TRUE;
        }
        gboolean eos = (f.flags & ZINC_FRAME_END_OF_STREAM) != 0;
        if (eos && f.size == 0) {
            zinc_consumer_release(self->c, &f);
            if (follow) {
                leave_ring(self);
                continue;
            }
            return GST_FLOW_EOS;
        }
        GstFlowReturn ret = update_caps(self, &f);
        if (ret != GST_FLOW_OK) {
            zinc_consumer_release(self->c, &f);
            return ret;
        }
        gboolean to_default = self->fmt.is_video && !self->fmt.default_layout &&
                              !self->video_meta_ok;
        gboolean zero = copy == COPY_AUTO && zinc_consumer_mode(self->c) == ZINC_EVERY &&
                        self->cfg.demote_after_ns == 0 && !to_default;
        GstBuffer *buf;
        if (zero) {
            GstZincMemoryOwner owner = {
                .owner = self->hold,
                .freed = held_freed,
                .owner_unref = hold_unref,
                .lock = &self->hold->lock,
                .cond = &self->hold->cond,
            };
            g_atomic_int_inc(&self->hold->refs);
            GstMemory *mem = gst_zinc_memory_new(f.data, (gsize)f.size, (gsize)f.size, TRUE,
                                                 f.seq, &owner);
            g_mutex_lock(&self->hold->lock);
            self->hold->mem = mem;
            self->hold->alive = TRUE;
            g_mutex_unlock(&self->hold->lock);
            self->held = f;
            self->holding = TRUE;
            buf = gst_buffer_new();
            gst_buffer_append_memory(buf, mem);
        } else {
            buf = copy_frame(self, &f, to_default);
            rc = zinc_consumer_release(self->c, &f);
            if (!buf) {
                GST_ELEMENT_ERROR(self, RESOURCE, READ, ("Cannot allocate a buffer"),
                                  ("%" G_GUINT64_FORMAT " bytes", f.size));
                return GST_FLOW_ERROR;
            }
            if (rc == ZINC_EOVERFLOW) {
                /* Overwritten while we copied: never push it as good. */
                count(&self->torn, 1);
                self->discont = TRUE;
                GST_DEBUG_OBJECT(self, "frame %" G_GUINT64_FORMAT " torn while copied: dropped",
                                 f.seq);
                gst_buffer_unref(buf);
                continue;
            }
            count(&self->copies, 1);
        }
        if (self->fmt.is_video) {
            const GstVideoInfo *vi = &self->fmt.info;
            GstVideoInfo def;
            if (to_default) {
                gst_video_info_set_format(&def, GST_VIDEO_INFO_FORMAT(vi),
                                          GST_VIDEO_INFO_WIDTH(vi), GST_VIDEO_INFO_HEIGHT(vi));
                vi = &def;
            }
            gst_buffer_add_video_meta_full(buf, GST_VIDEO_FRAME_FLAG_NONE,
                                           GST_VIDEO_INFO_FORMAT(vi), GST_VIDEO_INFO_WIDTH(vi),
                                           GST_VIDEO_INFO_HEIGHT(vi), GST_VIDEO_INFO_N_PLANES(vi),
                                           (gsize *)vi->offset, (gint *)vi->stride);
            if (GST_VIDEO_INFO_FPS_N(vi) > 0)
                GST_BUFFER_DURATION(buf) = gst_util_uint64_scale_int(
                    GST_SECOND, GST_VIDEO_INFO_FPS_D(vi), GST_VIDEO_INFO_FPS_N(vi));
        }
        if (self->discont) {
            GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
            self->discont = FALSE;
        }
        if (!(f.flags & ZINC_FRAME_KEYFRAME))
            GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
        GST_BUFFER_PTS(buf) = pts_of(self, &f);
        GST_BUFFER_OFFSET(buf) = f.seq;
        if (eos) {
            if (follow)
                self->reattach_next = TRUE;
            else
                self->eos_next = TRUE;
        }
        count(&self->frames, 1);
        *out = buf;
        return GST_FLOW_OK;
    }
}

/* ---- base class ------------------------------------------------------------- */

static gboolean zsrc_negotiate(GstBaseSrc *bsrc)
{
    GstZincSrc *self = GST_ZINC_SRC(bsrc);
    /* Caps come from the ring's descriptor; until one is read there is
     * nothing to negotiate (the template must not be fixated). */
    if (!self->fmt.caps)
        return TRUE;
    return gst_base_src_set_caps(bsrc, self->fmt.caps);
}

static gboolean zsrc_decide_allocation(GstBaseSrc *bsrc, GstQuery *query)
{
    GstZincSrc *self = GST_ZINC_SRC(bsrc);
    self->video_meta_ok = gst_query_find_allocation_meta(query, GST_VIDEO_META_API_TYPE, NULL);
    return GST_BASE_SRC_CLASS(gst_zinc_src_parent_class)->decide_allocation(bsrc, query);
}

static gboolean zsrc_stop(GstBaseSrc *bsrc);

static gboolean zsrc_start(GstBaseSrc *bsrc)
{
    GstZincSrc *self = GST_ZINC_SRC(bsrc);
    __atomic_store_n(&self->copies, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&self->dropped, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&self->torn, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&self->frames, 0, __ATOMIC_RELAXED);
    GstZincHold *hold = hold_new();
    GST_OBJECT_LOCK(self);
    self->hold = hold;
    GST_OBJECT_UNLOCK(self);
    self->holding = FALSE;
    self->have_key = FALSE;
    self->left = FALSE;
    self->discont = TRUE;
    self->eos_next = FALSE;
    self->reattach_next = FALSE;
    self->clock_map.seen = NULL;
    g_atomic_int_set(&self->unlocked, 0);
    GST_OBJECT_LOCK(self);
    gboolean wait = self->wait;
    GST_OBJECT_UNLOCK(self);
    /* Without waiting, a missing ring fails the state change itself (and
     * GstBaseSrc calls no stop() after a failed start()). */
    if (!wait && open_consumer(self, FALSE) != GST_FLOW_OK) {
        zsrc_stop(bsrc);
        return FALSE;
    }
    return TRUE;
}

static gboolean zsrc_stop(GstBaseSrc *bsrc)
{
    GstZincSrc *self = GST_ZINC_SRC(bsrc);
    if (self->holding && !release_held(self, NULL, g_get_monotonic_time() + STOP_WAIT_US)) {
        /* Something downstream keeps the slot mapped: unmapping it would
         * crash that reader, so the handle (and its mapping) is leaked. */
        GST_ERROR_OBJECT(self, "a slot is still mapped downstream at stop: leaking the "
                         "consumer handle");
        self->c = NULL;
        self->holding = FALSE;
    }
    if (self->c) {
        zinc_consumer_close(self->c);
        self->c = NULL;
    }
    GST_OBJECT_LOCK(self);
    GstZincHold *hold = self->hold;
    self->hold = NULL;
    GST_OBJECT_UNLOCK(self);
    hold_unref(hold);
    gst_zinc_format_clear(&self->fmt);
    if (self->copy_pool) {
        gst_buffer_pool_set_active(self->copy_pool, FALSE);
        gst_clear_object(&self->copy_pool);
    }
    return TRUE;
}

static gboolean zsrc_unlock(GstBaseSrc *bsrc)
{
    GstZincSrc *self = GST_ZINC_SRC(bsrc);
    g_atomic_int_set(&self->unlocked, 1);
    GST_OBJECT_LOCK(self);
    GstZincHold *h = self->hold;
    if (h)
        g_atomic_int_inc(&h->refs);
    GST_OBJECT_UNLOCK(self);
    if (h) {
        g_mutex_lock(&h->lock);
        g_cond_broadcast(&h->cond);
        g_mutex_unlock(&h->lock);
        hold_unref(h);
    }
    return TRUE;
}

static gboolean zsrc_unlock_stop(GstBaseSrc *bsrc)
{
    g_atomic_int_set(&GST_ZINC_SRC(bsrc)->unlocked, 0);
    return TRUE;
}

/* ---- properties --------------------------------------------------------------- */

static void zsrc_set_property(GObject *obj, guint id, const GValue *v, GParamSpec *pspec)
{
    GstZincSrc *self = GST_ZINC_SRC(obj);
    GST_OBJECT_LOCK(self);
    switch (id) {
    case PROP_RING:
        g_free(self->ring);
        self->ring = g_value_dup_string(v);
        break;
    case PROP_MODE: self->mode = (zinc_delivery)g_value_get_enum(v); break;
    case PROP_WAIT: self->wait = g_value_get_boolean(v); break;
    case PROP_TIMEOUT: self->timeout = g_value_get_int64(v); break;
    case PROP_FOLLOW: self->follow = g_value_get_boolean(v); break;
    case PROP_COPY: self->copy = (GstZincCopy)g_value_get_enum(v); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, pspec); break;
    }
    GST_OBJECT_UNLOCK(self);
}

static void zsrc_get_property(GObject *obj, guint id, GValue *v, GParamSpec *pspec)
{
    GstZincSrc *self = GST_ZINC_SRC(obj);
    GST_OBJECT_LOCK(self);
    switch (id) {
    case PROP_RING: g_value_set_string(v, self->ring); break;
    case PROP_MODE: g_value_set_enum(v, (gint)self->mode); break;
    case PROP_WAIT: g_value_set_boolean(v, self->wait); break;
    case PROP_TIMEOUT: g_value_set_int64(v, self->timeout); break;
    case PROP_FOLLOW: g_value_set_boolean(v, self->follow); break;
    case PROP_COPY: g_value_set_enum(v, (gint)self->copy); break;
    case PROP_COPIES: g_value_set_uint64(v, __atomic_load_n(&self->copies, __ATOMIC_RELAXED)); break;
    case PROP_DROPPED: g_value_set_uint64(v, __atomic_load_n(&self->dropped, __ATOMIC_RELAXED)); break;
    case PROP_TORN: g_value_set_uint64(v, __atomic_load_n(&self->torn, __ATOMIC_RELAXED)); break;
    case PROP_FRAMES: g_value_set_uint64(v, __atomic_load_n(&self->frames, __ATOMIC_RELAXED)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, pspec); break;
    }
    GST_OBJECT_UNLOCK(self);
}

static void zsrc_finalize(GObject *obj)
{
    GstZincSrc *self = GST_ZINC_SRC(obj);
    g_free(self->ring);
    G_OBJECT_CLASS(gst_zinc_src_parent_class)->finalize(obj);
}

static void gst_zinc_src_class_init(GstZincSrcClass *klass)
{
    GObjectClass *oc = G_OBJECT_CLASS(klass);
    GstElementClass *ec = GST_ELEMENT_CLASS(klass);
    GstBaseSrcClass *bc = GST_BASE_SRC_CLASS(klass);
    GstPushSrcClass *pc = GST_PUSH_SRC_CLASS(klass);
    oc->set_property = zsrc_set_property;
    oc->get_property = zsrc_get_property;
    oc->finalize = zsrc_finalize;

    const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                           GST_PARAM_MUTABLE_READY;
    const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;
    g_object_class_install_property(oc, PROP_RING, g_param_spec_string("ring", "Ring",
        "Name of the ring to read (required); or the Unix socket address of a sealed "
        "anonymous ring's producer, '@name' (abstract namespace) or a path (anything with a "
        "'/'), e.g. zincsink ring=@cam0", NULL, rw));
    g_object_class_install_property(oc, PROP_MODE, g_param_spec_enum("mode", "Mode",
        "Delivery mode of this consumer", mode_get_type(), ZINC_LATEST, rw));
    g_object_class_install_property(oc, PROP_WAIT, g_param_spec_boolean("wait", "Wait",
        "Wait for the ring (or its producer's socket) to appear (bounded by 'timeout'); "
        "false: a missing ring is an error at start", TRUE, rw));
    g_object_class_install_property(oc, PROP_TIMEOUT, g_param_spec_int64("timeout", "Timeout",
        "How long to wait for the ring, or with 'follow' for its replacement, in ns "
        "(-1 = forever)", -1, G_MAXINT64, -1, rw));
    g_object_class_install_property(oc, PROP_FOLLOW, g_param_spec_boolean("follow", "Follow",
        "When the producer is gone (or ends its stream), wait for a new ring of the same name "
        "instead of sending EOS", FALSE, rw));
    g_object_class_install_property(oc, PROP_COPY, g_param_spec_enum("copy", "Copy",
        "auto: buffers wrap the slot in 'every' mode and are copied then validated in "
        "'lossy'/'latest'; always: copy and validate in every mode", copy_get_type(),
        COPY_AUTO, rw));
    g_object_class_install_property(oc, PROP_COPIES, g_param_spec_uint64("copies", "Copies",
        "Frames whose bytes were copied out of their slot (0 = zero copy)", 0, G_MAXUINT64, 0,
        ro));
    g_object_class_install_property(oc, PROP_DROPPED, g_param_spec_uint64("dropped", "Dropped",
        "Frames the ring skipped for this consumer (lossy/latest)", 0, G_MAXUINT64, 0, ro));
    g_object_class_install_property(oc, PROP_TORN, g_param_spec_uint64("torn", "Torn",
        "Frames overwritten while copied, dropped instead of pushed", 0, G_MAXUINT64, 0, ro));
    g_object_class_install_property(oc, PROP_FRAMES, g_param_spec_uint64("frames", "Frames",
        "Buffers pushed", 0, G_MAXUINT64, 0, ro));

    gst_element_class_add_static_pad_template(ec, &src_template);
    gst_element_class_set_static_metadata(ec, "Zinc ring source", "Source/Video/Network",
        "Reads frames from a zinc shared-memory frame ring as a live source, wrapping the "
        "slots where nothing can tear them", "zinc project");

    bc->negotiate = zsrc_negotiate;
    bc->decide_allocation = zsrc_decide_allocation;
    bc->start = zsrc_start;
    bc->stop = zsrc_stop;
    bc->unlock = zsrc_unlock;
    bc->unlock_stop = zsrc_unlock_stop;
    pc->create = zsrc_create;
    GST_DEBUG_CATEGORY_INIT(zinc_src_debug, "zincsrc", 0, "zinc ring source");
}

static void gst_zinc_src_init(GstZincSrc *self)
{
    self->mode = ZINC_LATEST;
    self->wait = TRUE;
    self->timeout = -1;
    gst_base_src_set_live(GST_BASE_SRC(self), TRUE);
    gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_TIME);
}
