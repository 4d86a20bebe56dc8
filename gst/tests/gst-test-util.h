/* SPDX-License-Identifier: MIT */
/*
 * gst-test-util.h — helpers for the Criterion tests of the GStreamer
 * elements: a ring name per test, pipelines from launch lines, waiting for
 * their end on the bus, and waiting for consumers to attach (by reading the
 * ring's consumer table: a condition in shared memory, not a sleep).
 */
#ifndef ZINC_GST_TEST_UTIL_H
#define ZINC_GST_TEST_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <zinc/ring.h>

#define GT_UNUSED __attribute__((unused))
#define GT_TIMEOUT (20 * GST_SECOND) /* any single wait; generous on a loaded machine */

static char g_ring[160];

/* "<base>-<suffix>", unique to this process and test. */
static GT_UNUSED const char *gt_ring(const char *suffix, char *buf, size_t n)
{
    snprintf(buf, n, "%s-%s", g_ring, suffix);
    return buf;
}

static GT_UNUSED void gt_setup(void)
{
    gst_init(NULL, NULL);
    snprintf(g_ring, sizeof(g_ring), "gt%d-%s", (int)getpid(), criterion_current_test->name);
    for (char *p = g_ring; *p; p++)
        if (*p == '_')
            *p = '-';
    if (strlen(g_ring) > 100)
        g_ring[100] = '\0';
}

/* Remove every ring this test may have left (ours are named g_ring...). */
static GT_UNUSED void gt_teardown(void)
{
    const char *suffixes[] = {"", "-a", "-b", "-c", "-0", "-1", "-2", "-3", "-4", "-5",
                              "-6", "-7", "-8", "-9", "-10"};
    char n[200];
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        snprintf(n, sizeof(n), "%s%s", g_ring, suffixes[i]);
        zinc_ring_remove_stale(n);
    }
}

static GT_UNUSED GstElement *gt_launch(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gchar *line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    GError *err = NULL;
    GstElement *p = gst_parse_launch(line, &err);
    cr_assert(p && !err, "cannot parse '%s': %s", line, err ? err->message : "?");
    g_free(line);
    return p;
}

static GT_UNUSED GstElement *gt_get(GstElement *pipe, const char *name)
{
    GstElement *e = gst_bin_get_by_name(GST_BIN(pipe), name);
    cr_assert(e, "no element '%s'", name);
    return e;
}

static GT_UNUSED void gt_play(GstElement *p)
{
    cr_assert(gst_element_set_state(p, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE,
              "pipeline did not start");
}

/* The first EOS or ERROR on the bus (NULL after `timeout`). Error text
 * goes to *text (message and debug) when not NULL. */
static GT_UNUSED GstMessageType gt_wait_end(GstElement *p, GstClockTime timeout, gchar **text)
{
    GstBus *bus = gst_element_get_bus(p);
    GstMessage *m = gst_bus_timed_pop_filtered(bus, timeout, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    gst_object_unref(bus);
    if (!m)
        return GST_MESSAGE_UNKNOWN;
    GstMessageType t = GST_MESSAGE_TYPE(m);
    if (t == GST_MESSAGE_ERROR && text) {
        GError *err = NULL;
        gchar *dbg = NULL;
        gst_message_parse_error(m, &err, &dbg);
        *text = g_strdup_printf("%s | %s", err->message, dbg ? dbg : "");
        g_error_free(err);
        g_free(dbg);
    }
    gst_message_unref(m);
    return t;
}

static GT_UNUSED void gt_stop(GstElement *p)
{
    if (!p)
        return;
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(p);
}

static GT_UNUSED guint64 gt_u64(GstElement *pipe, const char *name, const char *prop)
{
    GstElement *e = gt_get(pipe, name);
    guint64 v = 0;
    g_object_get(e, prop, &v, NULL);
    gst_object_unref(e);
    return v;
}

/* Wait until ring `name` has `n` live consumers, attached for 50 ms: an
 * entry is alive a moment before its start point is fixed, and the table
 * does not tell when (the same rule as zincsink's wait-consumers). */
static GT_UNUSED void gt_wait_consumers(const char *name, uint32_t n)
{
    static zinc_consumer_stats cs[ZINC_RING_MAX_CONSUMERS];
    gint64 end = g_get_monotonic_time() + GT_TIMEOUT / 1000;
    for (;;) {
        zinc_ring_stats rs;
        uint32_t got = 0, alive = 0;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        if (zinc_ring_stats_read(name, &rs, cs, ZINC_RING_MAX_CONSUMERS, &got) == 0)
            for (uint32_t i = 0; i < got && i < ZINC_RING_MAX_CONSUMERS; i++)
                alive += cs[i].alive && now >= cs[i].attached_ns + 50000000u;
        if (alive >= n)
            return;
        cr_assert(g_get_monotonic_time() < end, "ring %s: %u consumers never attached", name, n);
        g_usleep(1000);
    }
}

/* gt_wait_consumers for the anonymous ring served on socket `address`:
 * its table is read through a descriptor from the listener (waiting for
 * the listener to appear too). */
static GT_UNUSED void gt_wait_consumers_at(const char *address, uint32_t n)
{
    static zinc_consumer_stats cs[ZINC_RING_MAX_CONSUMERS];
    gint64 end = g_get_monotonic_time() + GT_TIMEOUT / 1000;
    for (;;) {
        uint32_t alive = 0;
        int fd = zinc_ring_connect(address);
        if (fd >= 0) {
            zinc_ring_stats rs;
            uint32_t got = 0;
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
            if (zinc_ring_stats_read_fd(fd, &rs, cs, ZINC_RING_MAX_CONSUMERS, &got) == 0)
                for (uint32_t i = 0; i < got && i < ZINC_RING_MAX_CONSUMERS; i++)
                    alive += cs[i].alive && now >= cs[i].attached_ns + 50000000u;
            close(fd);
        }
        if (alive >= n)
            return;
        cr_assert(g_get_monotonic_time() < end, "socket %s: %u consumers never attached",
                  address, n);
        g_usleep(1000);
    }
}

static GT_UNUSED GstSample *gt_pull(GstElement *pipe, const char *sink)
{
    GstElement *e = gt_get(pipe, sink);
    GstSample *s = gst_app_sink_try_pull_sample(GST_APP_SINK(e), GT_TIMEOUT);
    gst_object_unref(e);
    return s;
}

static GT_UNUSED gboolean gt_same_bytes(GstBuffer *a, GstBuffer *b)
{
    GstMapInfo ma, mb;
    cr_assert(gst_buffer_map(a, &ma, GST_MAP_READ) && gst_buffer_map(b, &mb, GST_MAP_READ));
    gboolean same = ma.size == mb.size && memcmp(ma.data, mb.data, ma.size) == 0;
    gst_buffer_unmap(a, &ma);
    gst_buffer_unmap(b, &mb);
    return same;
}

/* Equal pixels, plane by plane, row by row (row padding is not data). */
static GT_UNUSED gboolean gt_same_pixels(GstSample *a, GstSample *b)
{
    GstVideoInfo ia, ib;
    cr_assert(gst_video_info_from_caps(&ia, gst_sample_get_caps(a)));
    cr_assert(gst_video_info_from_caps(&ib, gst_sample_get_caps(b)));
    GstVideoFrame fa, fb;
    cr_assert(gst_video_frame_map(&fa, &ia, gst_sample_get_buffer(a), GST_MAP_READ));
    cr_assert(gst_video_frame_map(&fb, &ib, gst_sample_get_buffer(b), GST_MAP_READ));
    gboolean same = TRUE;
    for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(&fa); p++) {
        gint comp[GST_VIDEO_MAX_COMPONENTS];
        gst_video_format_info_component(fa.info.finfo, p, comp);
        gsize row = (gsize)GST_VIDEO_FRAME_COMP_WIDTH(&fa, comp[0]) *
                    (gsize)GST_VIDEO_FRAME_COMP_PSTRIDE(&fa, comp[0]);
        for (gint r = 0; r < GST_VIDEO_FRAME_COMP_HEIGHT(&fa, comp[0]); r++) {
            const guint8 *ra = (const guint8 *)GST_VIDEO_FRAME_PLANE_DATA(&fa, p) +
                               (gsize)r * GST_VIDEO_FRAME_PLANE_STRIDE(&fa, p);
            const guint8 *rb = (const guint8 *)GST_VIDEO_FRAME_PLANE_DATA(&fb, p) +
                               (gsize)r * GST_VIDEO_FRAME_PLANE_STRIDE(&fb, p);
            if (memcmp(ra, rb, row))
                same = FALSE;
        }
    }
    gst_video_frame_unmap(&fa);
    gst_video_frame_unmap(&fb);
    return same;
}

/* A producer made with the C API, for tests that control every frame. */
static GT_UNUSED zinc_producer *gt_producer(const char *name, uint32_t slots, uint64_t slot_size)
{
    zinc_ring_config cfg = {.slot_count = slots, .slot_size = slot_size};
    zinc_producer *p = NULL;
    int rc = zinc_producer_create(name, &cfg, &p);
    cr_assert_eq(rc, 0, "create %s: %d %s", name, rc, zinc_last_error());
    return p;
}

/* Publish one frame: fill its bytes with `fill`, describe it with `fourcc`
 * w x h (zinc_frame_set_image) unless w == 0, then let `tweak` edit it. */
static GT_UNUSED uint64_t gt_publish(zinc_producer *p, uint32_t fourcc, uint32_t w, uint32_t h,
                                     uint8_t fill, uint32_t flags, void (*tweak)(zinc_frame *))
{
    zinc_frame f;
    cr_assert_eq(zinc_producer_claim(p, &f, 5000000000LL), 0, "claim: %s", zinc_last_error());
    if (w)
        cr_assert_eq(zinc_frame_set_image(&f, fourcc, w, h), 0, "%s", zinc_last_error());
    memset(f.data, fill, f.size);
    f.flags = flags;
    if (tweak)
        tweak(&f);
    int rc = zinc_producer_publish(p, &f);
    cr_assert_eq(rc, 0, "publish: %d %s", rc, zinc_last_error());
    return f.seq;
}

/* set_state(NULL) in a thread of its own, so that a hang fails the test
 * with a message instead of running into Criterion's timeout. */
typedef struct {
    GMutex lock;
    GCond cond;
    GstElement *pipe;
    gboolean done;
} StopJob;

static GT_UNUSED gpointer stop_thread(gpointer data)
{
    StopJob *j = data;
    gst_element_set_state(j->pipe, GST_STATE_NULL);
    g_mutex_lock(&j->lock);
    j->done = TRUE;
    g_cond_signal(&j->cond);
    g_mutex_unlock(&j->lock);
    return NULL;
}

static GT_UNUSED gboolean stop_within(GstElement *pipe, gint64 us)
{
    /* On the heap: after a timeout the thread may still write it. */
    StopJob *j = g_new0(StopJob, 1);
    j->pipe = pipe;
    g_mutex_init(&j->lock);
    g_cond_init(&j->cond);
    GThread *t = g_thread_new("stop", stop_thread, j);
    gint64 end = g_get_monotonic_time() + us;
    g_mutex_lock(&j->lock);
    while (!j->done && g_cond_wait_until(&j->cond, &j->lock, end))
        ;
    gboolean done = j->done;
    g_mutex_unlock(&j->lock);
    if (!done)
        return FALSE; /* the thread and `j` stay: the test fails and its process ends */
    g_thread_join(t);
    g_mutex_clear(&j->lock);
    g_cond_clear(&j->cond);
    g_free(j);
    return TRUE;
}

#endif /* ZINC_GST_TEST_UTIL_H */
