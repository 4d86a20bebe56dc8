/* SPDX-License-Identifier: MIT */
/*
 * zincsink — a GStreamer sink that is a ring producer.
 *
 * The ring is created when caps first arrive (its slot size is the frame
 * size unless slot-size says otherwise). Upstream elements that render into
 * downstream buffers get slots from the ALLOCATION query's pool and the sink
 * publishes them in place; any other buffer is copied into a slot once and
 * counted in `copies`. EOS publishes an END_OF_STREAM frame and closes the
 * ring. A `ring` that is a socket address ("@cam0", "/run/cam0.sock") makes
 * a sealed anonymous ring instead, which the library's listener thread
 * serves on that socket.
 */
#include <string.h>
#include <time.h>

#include <gst/base/gstbasesink.h>
#include <gst/video/video.h>

#include "zinc-address.h"
#include "zinc-format.h"
#include "zinc-memory.h"
#include "zinc-pool.h"
#include "zinc-producer.h"
#include "zinc-sink.h"

GST_DEBUG_CATEGORY_STATIC(zinc_sink_debug);
#define GST_CAT_DEFAULT zinc_sink_debug

enum {
    PROP_0,
    PROP_RING,
    PROP_SLOTS,
    PROP_MAX_CONSUMERS,
    PROP_SLOT_SIZE,
    PROP_PREFAULT,
    PROP_DEMOTE_AFTER,
    PROP_WAIT_CONSUMERS,
    PROP_SPIN_NS,
    PROP_COPIES,
    PROP_FRAMES,
};

#define DEFAULT_SLOTS 4

/* How long a buffer from elsewhere waits for a pool buffer's claim to be
 * published or given back before the sink reports the mix as an error. */
#define OPEN_CLAIM_WAIT_US (2 * G_USEC_PER_SEC)

struct _GstZincSink {
    GstBaseSink parent;

    /* properties (object lock) */
    gchar *ring;
    guint slots;
    guint max_consumers;
    guint64 slot_size;
    gboolean prefault;
    guint64 demote_after;
    guint wait_consumers;
    guint spin_ns;
    guint64 copies;   /* atomic */
    guint64 frames;   /* atomic */

    /* Written by the streaming thread (and by stop/finalize, when it is
     * gone) under the object lock; that thread reads it without. Any other
     * thread takes a reference under the lock: EOS may close and free the
     * producer while unlock() runs in the application's thread. */
    GstZincProducer *zp;

    /* streaming thread */
    gboolean is_video;
    GstVideoInfo info;
    GstZincTensorCaps tcaps;
    guint64 frame_size; /* 0 when the caps leave it free */
    gint unlocked;
    gboolean consumers_ready; /* wait-consumers met for this ring */
    GstZincClockMap clock_map;
};

G_DEFINE_TYPE(GstZincSink, gst_zinc_sink, GST_TYPE_BASE_SINK)

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(GST_ZINC_VIDEO_FORMATS) "; " GST_ZINC_TENSOR_MEDIA));

/* ---- the ring --------------------------------------------------------------- */

static gboolean ensure_ring(GstZincSink *self)
{
    if (self->zp)
        return TRUE;
    GST_OBJECT_LOCK(self);
    gchar *name = g_strdup(self->ring);
    zinc_ring_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.slot_count = self->slots;
    cfg.max_consumers = self->max_consumers;
    cfg.slot_size = self->slot_size ? self->slot_size : self->frame_size;
    cfg.flags = self->prefault ? ZINC_RING_PREFAULT : 0;
    gchar *address = NULL;
    if (gst_zinc_ring_is_address(name)) {
        address = name;
        name = gst_zinc_address_label(address);
        cfg.flags |= ZINC_RING_ANONYMOUS;
    }
    cfg.demote_after_ns = self->demote_after;
    cfg.spin_ns = self->spin_ns;
    GST_OBJECT_UNLOCK(self);

    if (!name || !*name) {
        GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("No ring name"),
                          ("set the 'ring' property"));
        g_free(name);
        return FALSE;
    }
    if (cfg.slot_size == 0) {
        GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Unknown slot size"),
                          ("the caps leave the frame size free (a shape starting with -1, or "
                           "raw bytes): set 'slot-size'"));
        g_free(name);
        g_free(address);
        return FALSE;
    }
    GError *err = NULL;
    self->consumers_ready = FALSE;
    GstZincProducer *zp = gst_zinc_producer_new(name, &cfg, address, &err);
    GST_OBJECT_LOCK(self);
    self->zp = zp;
    GST_OBJECT_UNLOCK(self);
    if (!zp) {
        if (address)
            GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE, ("Cannot serve a ring on socket "
                              "'%s'", address), ("%s", err->message));
        else
            GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE, ("Cannot create the ring"), ("%s",
                              err->message));
        g_clear_error(&err);
    }
    g_free(name);
    g_free(address);
    return zp != NULL;
}

static void close_ring(GstZincSink *self)
{
    GST_OBJECT_LOCK(self);
    GstZincProducer *zp = self->zp;
    self->zp = NULL;
    GST_OBJECT_UNLOCK(self);
    if (!zp)
        return;
    gst_zinc_producer_close(zp);
    gst_zinc_producer_unref(zp);
}

/* The descriptor of a buffer of `size` bytes (video: planes per `meta`). */
static gboolean describe(GstZincSink *self, GstBuffer *buf, gsize size, zinc_frame *f)
{
    GError *err = NULL;
    gboolean ok;
    if (self->is_video) {
        GstVideoMeta *meta = buf ? gst_buffer_get_video_meta(buf) : NULL;
        ok = gst_zinc_describe_video(&self->info, meta ? meta->offset : self->info.offset,
                                     meta ? meta->stride : self->info.stride, size, f, &err);
    } else {
        ok = gst_zinc_describe_tensor(&self->tcaps, size, f, &err);
    }
    if (!ok) {
        GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("Buffer does not match its caps"), ("%s",
                          err->message));
        g_clear_error(&err);
    }
    return ok;
}

static gboolean zsink_set_caps(GstBaseSink *bsink, GstCaps *caps)
{
    GstZincSink *self = GST_ZINC_SINK(bsink);
    GstStructure *s = gst_caps_get_structure(caps, 0);
    GError *err = NULL;
    if (gst_structure_has_name(s, GST_ZINC_TENSOR_MEDIA)) {
        if (!gst_zinc_tensor_caps_parse(s, &self->tcaps, &err)) {
            GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("Bad application/x-zinc caps"), ("%s",
                              err->message));
            g_clear_error(&err);
            return FALSE;
        }
        self->is_video = FALSE;
        self->frame_size = self->tcaps.size;
    } else {
        if (!gst_video_info_from_caps(&self->info, caps))
            return FALSE;
        self->is_video = TRUE;
        self->frame_size = self->info.size;
    }
    if (!ensure_ring(self))
        return FALSE;
    guint64 slot = gst_zinc_producer_slot_size(self->zp);
    if (self->frame_size > slot) {
        GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("Frame larger than the ring's slots"),
                          ("frames of %" G_GUINT64_FORMAT " bytes (%" GST_PTR_FORMAT ") do not "
                           "fit slots of %" G_GUINT64_FORMAT " bytes: set 'slot-size' to the "
                           "largest frame", self->frame_size, caps, slot));
        return FALSE;
    }
    zinc_frame desc;
    memset(&desc, 0, sizeof(desc));
    if (!describe(self, NULL, self->frame_size, &desc))
        return FALSE;
    int rc = gst_zinc_producer_set_stream(self->zp, &desc);
    if (rc != 0) {
        GST_ELEMENT_ERROR(self, RESOURCE, WRITE, ("Cannot set the stream descriptor"),
                          ("%d: %s", rc, zinc_last_error()));
        return FALSE;
    }
    GST_INFO_OBJECT(self, "stream: %" GST_PTR_FORMAT ", %" G_GUINT64_FORMAT " bytes a frame",
                    caps, self->frame_size);
    return TRUE;
}

static gboolean zsink_propose_allocation(GstBaseSink *bsink, GstQuery *query)
{
    GstZincSink *self = GST_ZINC_SINK(bsink);
    GstCaps *caps;
    gboolean need_pool;
    gst_query_parse_allocation(query, &caps, &need_pool);
    gst_query_add_allocation_meta(query, GST_VIDEO_META_API_TYPE, NULL);
    if (!caps || !self->zp || self->frame_size == 0 || !need_pool)
        return TRUE;
    guint size = (guint)self->frame_size;
    GstBufferPool *pool = gst_zinc_pool_new(self->zp);
    GstStructure *config = gst_buffer_pool_get_config(pool);
    gst_buffer_pool_config_set_params(config, caps, size, 1, 1);
    if (self->is_video)
        gst_buffer_pool_config_add_option(config, GST_BUFFER_POOL_OPTION_VIDEO_META);
    if (!gst_buffer_pool_set_config(pool, config)) {
        GST_WARNING_OBJECT(self, "slot pool rejected its config: no zero-copy pool offered");
        gst_object_unref(pool);
        return TRUE;
    }
    gst_query_add_allocation_pool(query, pool, size, 1, 1);
    gst_object_unref(pool);
    return TRUE;
}

/* ---- frames ------------------------------------------------------------------ */

/* CLOCK_MONOTONIC of a buffer's PTS: its running time plus the base time
 * is a time of the pipeline clock, which is CLOCK_MONOTONIC itself for
 * GStreamer's default system clock; another clock is mapped through the
 * offset between the two read now. 0 (unknown) without PTS or clock. */
static guint64 timestamp_of(GstZincSink *self, GstBuffer *buf)
{
    GstClockTime pts = GST_BUFFER_PTS(buf);
    if (!GST_CLOCK_TIME_IS_VALID(pts))
        return 0;
    GstBaseSink *bsink = GST_BASE_SINK(self);
    GstClockTime rt = gst_segment_to_running_time(&bsink->segment, GST_FORMAT_TIME, pts);
    GstClock *clock = gst_element_get_clock(GST_ELEMENT(self));
    if (!GST_CLOCK_TIME_IS_VALID(rt) || !clock) {
        if (clock)
            gst_object_unref(clock);
        return 0;
    }
    guint64 t = rt + gst_element_get_base_time(GST_ELEMENT(self));
    t = (guint64)((gint64)t + gst_zinc_clock_offset(&self->clock_map, clock));
    gst_object_unref(clock);
    return t;
}

static GstFlowReturn publish(GstZincSink *self, GstBuffer *buf, zinc_frame *f, gsize size)
{
    zinc_frame claimed = *f;
    if (!describe(self, buf, size, f)) {
        gst_zinc_producer_abort(self->zp, &claimed); /* nothing goes out as good */
        return GST_FLOW_ERROR;
    }
    f->data = claimed.data;
    f->seq = claimed.seq;
    f->timestamp_ns = timestamp_of(self, buf);
    f->flags = 0;
    if (!GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT))
        f->flags |= ZINC_FRAME_KEYFRAME;
    if (GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DISCONT))
        f->flags |= ZINC_FRAME_DISCONTINUITY;
    int rc = gst_zinc_producer_publish(self->zp, f);
    if (rc != 0) {
        GST_ELEMENT_ERROR(self, RESOURCE, WRITE, ("Cannot publish the frame"), ("%d: %s", rc,
                          zinc_last_error()[0] ? zinc_last_error() : zinc_strerror(rc)));
        return GST_FLOW_ERROR;
    }
    __atomic_fetch_add(&self->frames, 1, __ATOMIC_RELAXED);
    return GST_FLOW_OK;
}

/* wait-consumers: poll the ring's consumer table (nothing signals an
 * attach to the producer) until enough live consumers are attached: an
 * entry's attached_ns is set only once its start point is fixed, so a
 * frame published after that cannot fall before its start. */
static GstFlowReturn wait_consumers(GstZincSink *self)
{
    GST_OBJECT_LOCK(self);
    gint want = (gint)self->wait_consumers;
    GST_OBJECT_UNLOCK(self);
    GST_INFO_OBJECT(self, "waiting for %d consumers", want);
    while (gst_zinc_producer_attached(self->zp) < want) {
        if (g_atomic_int_get(&self->unlocked))
            return GST_FLOW_FLUSHING;
        g_usleep(2000);
    }
    self->consumers_ready = TRUE;
    return GST_FLOW_OK;
}

static GstFlowReturn zsink_render(GstBaseSink *bsink, GstBuffer *buf)
{
    GstZincSink *self = GST_ZINC_SINK(bsink);
    if (!self->zp && !ensure_ring(self))
        return GST_FLOW_ERROR;
    if (!self->consumers_ready && self->wait_consumers) {
        GstFlowReturn ret = wait_consumers(self);
        if (ret != GST_FLOW_OK)
            return ret;
    }
    gsize size = gst_buffer_get_size(buf);
    zinc_frame f;

    /* Zero copy: the buffer is the pool's claimed slot. */
    if (gst_buffer_n_memory(buf) == 1 &&
        gst_zinc_producer_claimed(self->zp, gst_buffer_peek_memory(buf, 0), &f))
        return publish(self, buf, &f, size);

    guint64 slot = gst_zinc_producer_slot_size(self->zp);
    if (size > slot) {
        GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("Frame larger than the ring's slots"),
                          ("a buffer of %" G_GSIZE_FORMAT " bytes does not fit slots of %"
                           G_GUINT64_FORMAT " bytes: set 'slot-size' to the largest frame",
                           size, slot));
        return GST_FLOW_ERROR;
    }
    GError *err = NULL;
    GstFlowReturn ret = gst_zinc_producer_claim(self->zp, FALSE, &f, &self->unlocked,
                                                OPEN_CLAIM_WAIT_US, &err);
    if (ret == GST_FLOW_ERROR) {
        GST_ELEMENT_ERROR(self, RESOURCE, WRITE, ("Cannot claim a slot"), ("%s", err->message));
        g_clear_error(&err);
    }
    if (ret != GST_FLOW_OK)
        return ret;
    gst_buffer_extract(buf, 0, f.data, size);
    guint64 n = __atomic_add_fetch(&self->copies, 1, __ATOMIC_RELAXED);
    GstMemory *m0 = gst_buffer_n_memory(buf) ? gst_buffer_peek_memory(buf, 0) : NULL;
    GST_DEBUG_OBJECT(self, "copy %" G_GUINT64_FORMAT ": a %" G_GSIZE_FORMAT "-byte buffer of "
                     "%u memories (first: %s) copied into frame %" G_GUINT64_FORMAT, n, size,
                     gst_buffer_n_memory(buf), m0 && m0->allocator ? m0->allocator->mem_type :
                     "?", f.seq);
    return publish(self, buf, &f, size);
}

static gboolean send_eos_frame(GstZincSink *self)
{
    if (!self->zp)
        return TRUE;
    zinc_frame f;
    GError *err = NULL;
    GstFlowReturn ret = gst_zinc_producer_claim(self->zp, FALSE, &f, &self->unlocked,
                                                OPEN_CLAIM_WAIT_US, &err);
    if (ret == GST_FLOW_OK) {
        zinc_frame eos = f;
        eos.size = 0;
        memset(&eos.tensor, 0, sizeof(eos.tensor));
        eos.fourcc = 0;
        eos.flags = ZINC_FRAME_END_OF_STREAM;
        eos.timestamp_ns = gst_zinc_mono_now();
        int rc = gst_zinc_producer_publish(self->zp, &eos);
        if (rc != 0)
            GST_WARNING_OBJECT(self, "END_OF_STREAM frame not published (%d): %s", rc,
                               zinc_last_error());
    } else if (err) {
        GST_WARNING_OBJECT(self, "no END_OF_STREAM frame: %s", err->message);
        g_clear_error(&err);
    }
    close_ring(self);
    return TRUE;
}

static gboolean zsink_event(GstBaseSink *bsink, GstEvent *event)
{
    GstZincSink *self = GST_ZINC_SINK(bsink);
    if (GST_EVENT_TYPE(event) == GST_EVENT_EOS)
        send_eos_frame(self);
    return GST_BASE_SINK_CLASS(gst_zinc_sink_parent_class)->event(bsink, event);
}

static gboolean zsink_unlock(GstBaseSink *bsink)
{
    GstZincSink *self = GST_ZINC_SINK(bsink);
    g_atomic_int_set(&self->unlocked, 1);
    /* The application's thread: the streaming thread may be closing the
     * ring right now (EOS), so wake it through a reference of our own. */
    GST_OBJECT_LOCK(self);
    GstZincProducer *zp = self->zp ? gst_zinc_producer_ref(self->zp) : NULL;
    GST_OBJECT_UNLOCK(self);
    if (zp) {
        gst_zinc_producer_wake(zp);
        gst_zinc_producer_unref(zp);
    }
    return TRUE;
}

static gboolean zsink_unlock_stop(GstBaseSink *bsink)
{
    g_atomic_int_set(&GST_ZINC_SINK(bsink)->unlocked, 0);
    return TRUE;
}

static gboolean zsink_start(GstBaseSink *bsink)
{
    GstZincSink *self = GST_ZINC_SINK(bsink);
    __atomic_store_n(&self->copies, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&self->frames, 0, __ATOMIC_RELAXED);
    self->clock_map.seen = NULL;
    return TRUE;
}

static gboolean zsink_stop(GstBaseSink *bsink)
{
    close_ring(GST_ZINC_SINK(bsink));
    return TRUE;
}

/* ---- properties -------------------------------------------------------------- */

static void zsink_set_property(GObject *obj, guint id, const GValue *v, GParamSpec *pspec)
{
    GstZincSink *self = GST_ZINC_SINK(obj);
    GST_OBJECT_LOCK(self);
    switch (id) {
    case PROP_RING:
        g_free(self->ring);
        self->ring = g_value_dup_string(v);
        break;
    case PROP_SLOTS: self->slots = g_value_get_uint(v); break;
    case PROP_MAX_CONSUMERS: self->max_consumers = g_value_get_uint(v); break;
    case PROP_SLOT_SIZE: self->slot_size = g_value_get_uint64(v); break;
    case PROP_PREFAULT: self->prefault = g_value_get_boolean(v); break;
    case PROP_DEMOTE_AFTER: self->demote_after = g_value_get_uint64(v); break;
    case PROP_WAIT_CONSUMERS: self->wait_consumers = g_value_get_uint(v); break;
    case PROP_SPIN_NS: self->spin_ns = g_value_get_uint(v); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, pspec); break;
    }
    GST_OBJECT_UNLOCK(self);
}

static void zsink_get_property(GObject *obj, guint id, GValue *v, GParamSpec *pspec)
{
    GstZincSink *self = GST_ZINC_SINK(obj);
    GST_OBJECT_LOCK(self);
    switch (id) {
    case PROP_RING: g_value_set_string(v, self->ring); break;
    case PROP_SLOTS: g_value_set_uint(v, self->slots); break;
    case PROP_MAX_CONSUMERS: g_value_set_uint(v, self->max_consumers); break;
    case PROP_SLOT_SIZE: g_value_set_uint64(v, self->slot_size); break;
    case PROP_PREFAULT: g_value_set_boolean(v, self->prefault); break;
    case PROP_DEMOTE_AFTER: g_value_set_uint64(v, self->demote_after); break;
    case PROP_WAIT_CONSUMERS: g_value_set_uint(v, self->wait_consumers); break;
    case PROP_SPIN_NS: g_value_set_uint(v, self->spin_ns); break;
    case PROP_COPIES: g_value_set_uint64(v, __atomic_load_n(&self->copies, __ATOMIC_RELAXED)); break;
    case PROP_FRAMES: g_value_set_uint64(v, __atomic_load_n(&self->frames, __ATOMIC_RELAXED)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, pspec); break;
    }
    GST_OBJECT_UNLOCK(self);
}

static void zsink_finalize(GObject *obj)
{
    GstZincSink *self = GST_ZINC_SINK(obj);
    close_ring(self);
    g_free(self->ring);
    G_OBJECT_CLASS(gst_zinc_sink_parent_class)->finalize(obj);
}

static void gst_zinc_sink_class_init(GstZincSinkClass *klass)
{
    GObjectClass *oc = G_OBJECT_CLASS(klass);
    GstElementClass *ec = GST_ELEMENT_CLASS(klass);
    GstBaseSinkClass *bc = GST_BASE_SINK_CLASS(klass);
    oc->set_property = zsink_set_property;
    oc->get_property = zsink_get_property;
    oc->finalize = zsink_finalize;

    const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                           GST_PARAM_MUTABLE_READY;
    const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;
    g_object_class_install_property(oc, PROP_RING, g_param_spec_string("ring", "Ring",
        "Name of the ring to create ([A-Za-z0-9_-], required); a ring of that name whose "
        "producer is gone is replaced. Or a Unix socket address, '@name' (abstract "
        "namespace) or a path (anything with a '/'): a sealed anonymous ring (a memfd, "
        "nothing in /dev/shm) whose descriptor is handed to zincsrc/consumers connecting "
        "there; a dead producer's socket file is replaced, a live one is an error", NULL, rw));
    g_object_class_install_property(oc, PROP_SLOTS, g_param_spec_uint("slots", "Slots",
        "Frames the ring holds (a power of two, 2..65536)", 2, ZINC_RING_MAX_SLOTS,
        DEFAULT_SLOTS, rw));
    g_object_class_install_property(oc, PROP_MAX_CONSUMERS, g_param_spec_uint("max-consumers",
        "Max consumers", "Consumers that may attach at once (0 = 16)", 0,
        ZINC_RING_MAX_CONSUMERS, 0, rw));
    g_object_class_install_property(oc, PROP_SLOT_SIZE, g_param_spec_uint64("slot-size",
        "Slot size", "Bytes per slot (0 = the negotiated frame size); a later frame larger "
        "than this is an error", 0, G_MAXUINT64, 0, rw));
    g_object_class_install_property(oc, PROP_PREFAULT, g_param_spec_boolean("prefault",
        "Prefault", "Fault the whole ring in at creation instead of during the first frames",
        FALSE, rw));
    g_object_class_install_property(oc, PROP_DEMOTE_AFTER, g_param_spec_uint64("demote-after",
        "Demote after", "Demote an 'every' consumer that blocks the sink longer than this many "
        "ns to 'lossy' (0 = never)", 0, G_MAXUINT64, 0, rw));
    g_object_class_install_property(oc, PROP_WAIT_CONSUMERS, g_param_spec_uint(
        "wait-consumers", "Wait for consumers", "Hold the first frame of a ring until this "
        "many consumers are attached (0 = don't wait), so that 'every' consumers started "
        "with the pipeline miss nothing", 0, ZINC_RING_MAX_CONSUMERS, 0, rw));
    g_object_class_install_property(oc, PROP_SPIN_NS, g_param_spec_uint("spin-ns", "Spin",
        "How long a waiter on this ring (the sink for a slot, a consumer for a frame) "
        "busy-waits before it sleeps, in ns (0 = the library's default, 20 us); shorter "
        "spends less CPU per frame, longer wakes sooner", 0, 10000000, 0, rw));
    g_object_class_install_property(oc, PROP_COPIES, g_param_spec_uint64("copies", "Copies",
        "Buffers copied into a slot because they were not rendered into one (0 = zero copy)",
        0, G_MAXUINT64, 0, ro));
    g_object_class_install_property(oc, PROP_FRAMES, g_param_spec_uint64("frames", "Frames",
        "Frames published", 0, G_MAXUINT64, 0, ro));

    gst_element_class_add_static_pad_template(ec, &sink_template);
    gst_element_class_set_static_metadata(ec, "Zinc ring sink", "Sink/Video/Network",
        "Publishes buffers into a zinc shared-memory frame ring, in place when upstream "
        "renders into the slots it hands out", "zinc project");

    bc->set_caps = zsink_set_caps;
    bc->propose_allocation = zsink_propose_allocation;
    bc->render = zsink_render;
    bc->event = zsink_event;
    bc->unlock = zsink_unlock;
    bc->unlock_stop = zsink_unlock_stop;
    bc->start = zsink_start;
    bc->stop = zsink_stop;
    GST_DEBUG_CATEGORY_INIT(zinc_sink_debug, "zincsink", 0, "zinc ring sink");
}

static void gst_zinc_sink_init(GstZincSink *self)
{
    self->slots = DEFAULT_SLOTS;
    /* A kept last sample would pin a slot's memory, and with it the ring
     * past EOS (it is closed when no slot memory is left). */
    gst_base_sink_set_last_sample_enabled(GST_BASE_SINK(self), FALSE);
}
