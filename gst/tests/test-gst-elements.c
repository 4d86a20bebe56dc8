/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of zincsink and zincsrc through the GStreamer API: caps per
 * format, properties, EOS both ways, DISCONT on drops, producer death,
 * follow, caps changes, slots too small, hostile descriptors, zero copy
 * proven (copies, pointers into the ring's mapping) and torn frames under
 * a slow downstream. Each test runs in its own process (Criterion forks)
 * with its own ring names, removed afterwards.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "gst-test-util.h"

#include "../zinc-format.h"

TestSuite(gst, .init = gt_setup, .fini = gt_teardown, .timeout = 60);

static const char *formats[] = {"RGBA", "BGRA", "RGBx", "BGRx", "RGB", "BGR",
                                "GRAY8", "GRAY16_LE", "NV12", "I420", "YUY2"};

/* videotestsrc -> zincsink, zincsrc mode=every -> appsink, against the same
 * frames straight into an appsink: equal caps and equal bytes, per format.
 * The odd width makes GStreamer pad rows, so strides travel too. */
Test(gst, caps_and_bytes_per_format)
{
    for (size_t i = 0; i < G_N_ELEMENTS(formats); i++) {
        char ring[200];
        gt_ring(formats[i], ring, sizeof(ring));
        const char *caps = "width=66,height=50,framerate=30/1";
        GstElement *ref = gt_launch("videotestsrc num-buffers=3 pattern=smpte ! "
                                    "video/x-raw,format=%s,%s ! appsink name=out sync=false",
                                    formats[i], caps);
        GstElement *src = gt_launch("zincsrc ring=%s mode=every ! appsink name=out sync=false",
                                    ring);
        GstElement *snk = gt_launch("videotestsrc num-buffers=3 pattern=smpte ! "
                                    "video/x-raw,format=%s,%s ! zincsink name=z ring=%s "
                                    "wait-consumers=1 sync=false", formats[i], caps, ring);
        gt_play(ref);
        gt_play(src);
        gt_play(snk);
        for (int n = 0; n < 3; n++) {
            GstSample *a = gt_pull(ref, "out"), *b = gt_pull(src, "out");
            cr_assert(a && b, "%s: frame %d missing", formats[i], n);
            GstVideoInfo ia, ib;
            cr_assert(gst_video_info_from_caps(&ia, gst_sample_get_caps(a)));
            cr_assert(gst_video_info_from_caps(&ib, gst_sample_get_caps(b)), "%s: caps %"
                      GST_PTR_FORMAT, formats[i], gst_sample_get_caps(b));
            cr_assert_eq(GST_VIDEO_INFO_FORMAT(&ia), GST_VIDEO_INFO_FORMAT(&ib), "%s", formats[i]);
            cr_assert_eq(ia.width, ib.width);
            cr_assert_eq(ia.height, ib.height);
            cr_assert_eq(ia.fps_n, ib.fps_n);
            cr_assert_eq(ia.fps_d, ib.fps_d);
            cr_assert(gt_same_pixels(a, b), "%s: frame %d differs", formats[i], n);
            gst_sample_unref(a);
            gst_sample_unref(b);
        }
        gchar *text = NULL;
        cr_assert_eq(gt_wait_end(snk, GT_TIMEOUT, &text), GST_MESSAGE_EOS, "%s", text);
        cr_assert_eq(gt_wait_end(src, GT_TIMEOUT, &text), GST_MESSAGE_EOS, "%s", text);
        /* videotestsrc rendered into the slots it was handed: no copy. */
        cr_assert_eq(gt_u64(snk, "z", "copies"), 0, "%s: zincsink copied", formats[i]);
        cr_assert_eq(gt_u64(snk, "z", "frames"), 3);
        gt_stop(ref);
        gt_stop(src);
        gt_stop(snk);
    }
}

Test(gst, properties_defaults_and_round_trip)
{
    GstElement *s = gst_element_factory_make("zincsink", NULL);
    GstElement *r = gst_element_factory_make("zincsrc", NULL);
    cr_assert(s && r, "plugin not found: is GST_PLUGIN_PATH set?");
    guint slots, maxc;
    guint64 slot_size, demote, copies;
    gboolean prefault;
    g_object_get(s, "slots", &slots, "max-consumers", &maxc, "slot-size", &slot_size,
                 "prefault", &prefault, "demote-after", &demote, "copies", &copies, NULL);
    cr_assert_eq(slots, 4);
    cr_assert_eq(maxc, 0);
    cr_assert_eq(slot_size, 0);
    cr_assert_eq(prefault, FALSE);
    cr_assert_eq(demote, 0);
    cr_assert_eq(copies, 0);
    g_object_set(s, "ring", "x", "slots", 16, "max-consumers", 3, "slot-size", (guint64)4096,
                 "prefault", TRUE, "demote-after", (guint64)1000000, NULL);
    gchar *ring;
    g_object_get(s, "ring", &ring, "slots", &slots, "max-consumers", &maxc, "slot-size",
                 &slot_size, "prefault", &prefault, "demote-after", &demote, NULL);
    cr_assert_str_eq(ring, "x");
    cr_assert_eq(slots, 16);
    cr_assert_eq(maxc, 3);
    cr_assert_eq(slot_size, 4096);
    cr_assert(prefault);
    cr_assert_eq(demote, 1000000);
    g_free(ring);

    gint mode, copy;
    gboolean wait, follow;
    gint64 timeout;
    g_object_get(r, "mode", &mode, "wait", &wait, "timeout", &timeout, "follow", &follow,
                 "copy", &copy, NULL);
    cr_assert_eq(mode, ZINC_LATEST);
    cr_assert(wait);
    cr_assert_eq(timeout, -1);
    cr_assert(!follow);
    cr_assert_eq(copy, 0);
    gst_util_set_object_arg(G_OBJECT(r), "mode", "every");
    gst_util_set_object_arg(G_OBJECT(r), "copy", "always");
    g_object_get(r, "mode", &mode, "copy", &copy, NULL);
    cr_assert_eq(mode, ZINC_EVERY);
    cr_assert_eq(copy, 1);
    /* The counters are read-only. */
    GParamSpec *ps = g_object_class_find_property(G_OBJECT_GET_CLASS(r), "torn");
    cr_assert(ps && !(ps->flags & G_PARAM_WRITABLE));
    gst_object_unref(s);
    gst_object_unref(r);
}

/* zincsink's EOS: an END_OF_STREAM frame, then the ring closes (-32). */
Test(gst, sink_eos_is_an_end_of_stream_frame_then_close)
{
    GstElement *snk = gt_launch("videotestsrc num-buffers=2 ! video/x-raw,format=GRAY8,"
                                "width=32,height=8 ! zincsink ring=%s wait-consumers=1 "
                                "sync=false", g_ring);
    gt_play(snk);
    zinc_consumer *c = NULL;
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (zinc_consumer_open(g_ring, ZINC_EVERY, &c) != 0) {
        cr_assert(g_get_monotonic_time() < end, "ring never appeared");
        g_usleep(1000);
    }
    zinc_frame f;
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(zinc_consumer_acquire(c, &f, 5000000000LL), 0);
        cr_assert_eq(f.size, 256);
        cr_assert_eq(f.fourcc, ZINC_FOURCC_GREY);
        cr_assert(!(f.flags & ZINC_FRAME_END_OF_STREAM));
        cr_assert(f.flags & ZINC_FRAME_KEYFRAME);
        cr_assert_eq(zinc_consumer_release(c, &f), 0);
    }
    cr_assert_eq(zinc_consumer_acquire(c, &f, 5000000000LL), 0);
    cr_assert(f.flags & ZINC_FRAME_END_OF_STREAM);
    cr_assert_eq(f.size, 0);
    cr_assert_eq(zinc_consumer_release(c, &f), 0);
    cr_assert_eq(zinc_consumer_acquire(c, &f, 5000000000LL), ZINC_EPIPE);
    cr_assert_eq(gt_wait_end(snk, GT_TIMEOUT, NULL), GST_MESSAGE_EOS);
    zinc_consumer_close(c);
    gt_stop(snk);
}

/* A producer's END_OF_STREAM frame with data: pushed, then EOS. */
Test(gst, src_eos_from_end_of_stream_flag)
{
    GstElement *src = gt_launch("zincsrc ring=%s mode=every ! appsink name=out sync=false",
                                g_ring);
    gt_play(src);
    zinc_producer *p = gt_producer(g_ring, 4, 4096);
    gt_wait_consumers(g_ring, 1);
    gt_publish(p, ZINC_FOURCC_GREY, 16, 4, 1, ZINC_FRAME_KEYFRAME, NULL);
    gt_publish(p, ZINC_FOURCC_GREY, 16, 4, 2, ZINC_FRAME_END_OF_STREAM, NULL);
    GstSample *s1 = gt_pull(src, "out"), *s2 = gt_pull(src, "out");
    cr_assert(s1 && s2);
    cr_assert_eq(gst_buffer_get_size(gst_sample_get_buffer(s2)), 64);
    cr_assert_eq(gt_wait_end(src, GT_TIMEOUT, NULL), GST_MESSAGE_EOS);
    /* Nothing after the flag, although the producer is still there. */
    GstElement *as = gt_get(src, "out");
    cr_assert(gst_app_sink_is_eos(GST_APP_SINK(as)));
    gst_object_unref(as);
    gst_sample_unref(s1);
    gst_sample_unref(s2);
    gt_stop(src);
    zinc_producer_close(p);
}

/* A lossy source behind a blocked downstream is lapped: DISCONT and
 * `dropped`. appsink max-buffers=1 blocks the source's push. */
Test(gst, discont_on_drops)
{
    GstElement *src = gt_launch("zincsrc name=z ring=%s mode=lossy ! appsink name=out "
                                "sync=false max-buffers=1", g_ring);
    gt_play(src);
    zinc_producer *p = gt_producer(g_ring, 4, 4096);
    gt_wait_consumers(g_ring, 1);
    gt_publish(p, ZINC_FOURCC_GREY, 16, 4, 1, ZINC_FRAME_KEYFRAME, NULL);
    GstSample *s = gt_pull(src, "out");
    cr_assert(s);
    gst_sample_unref(s);
    for (int i = 0; i < 20; i++)
        gt_publish(p, ZINC_FOURCC_GREY, 16, 4, (uint8_t)(i + 2), ZINC_FRAME_KEYFRAME, NULL);
    gboolean discont = FALSE;
    for (int i = 0; i < 3 && !discont; i++) {
        s = gt_pull(src, "out");
        cr_assert(s, "no frame %d after the burst", i);
        discont = GST_BUFFER_FLAG_IS_SET(gst_sample_get_buffer(s), GST_BUFFER_FLAG_DISCONT);
        gst_sample_unref(s);
    }
    cr_assert(discont, "no DISCONT after being lapped");
    cr_assert_gt(gt_u64(src, "z", "dropped"), 0);
    zinc_producer_close(p);
    while ((s = gt_pull(src, "out"))) /* drain, then EOS */
        gst_sample_unref(s);
    cr_assert_eq(gt_wait_end(src, GT_TIMEOUT, NULL), GST_MESSAGE_EOS);
    gt_stop(src);
}

/* The producer process dies (no close): frames it published, then EOS. */
Test(gst, producer_death_is_eos)
{
    GstElement *src = gt_launch("zincsrc ring=%s mode=every ! appsink name=out sync=false",
                                g_ring);
    gt_play(src);
    int go[2];
    cr_assert_eq(pipe(go), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        zinc_ring_config cfg = {.slot_count = 4, .slot_size = 4096};
        zinc_producer *p = NULL;
        if (zinc_producer_create(g_ring, &cfg, &p) != 0)
            _exit(2);
        char b;
        if (read(go[0], &b, 1) != 1) /* the source is attached */
            _exit(3);
        for (int i = 0; i < 2; i++) {
            zinc_frame f;
            if (zinc_producer_claim(p, &f, -1) != 0 ||
                zinc_frame_set_image(&f, ZINC_FOURCC_GREY, 16, 4) != 0)
                _exit(4);
            memset(f.data, i, f.size);
            if (zinc_producer_publish(p, &f) != 0)
                _exit(5);
        }
        raise(SIGKILL);
    }
    close(go[0]);
    gt_wait_consumers(g_ring, 1);
    cr_assert_eq(write(go[1], "g", 1), 1);
    close(go[1]);
    GstSample *s1 = gt_pull(src, "out"), *s2 = gt_pull(src, "out");
    cr_assert(s1 && s2, "frames of the dead producer lost");
    gst_sample_unref(s1);
    gst_sample_unref(s2);
    cr_assert_eq(gt_wait_end(src, GT_TIMEOUT, NULL), GST_MESSAGE_EOS);
    int st;
    waitpid(pid, &st, 0);
    cr_assert(WIFSIGNALED(st), "producer child failed: %d", WEXITSTATUS(st));
    gt_stop(src);
}

/* follow=true: the producer goes, a new generation comes, frames go on. */
Test(gst, follow_reattaches_to_the_next_generation)
{
    GstElement *src = gt_launch("zincsrc name=z ring=%s mode=every follow=true ! "
                                "appsink name=out sync=false", g_ring);
    gt_play(src);
    zinc_producer *p = gt_producer(g_ring, 4, 4096);
    uint64_t gen1 = zinc_producer_generation(p);
    gt_wait_consumers(g_ring, 1);
    gt_publish(p, ZINC_FOURCC_GREY, 16, 4, 11, ZINC_FRAME_KEYFRAME, NULL);
    GstSample *s = gt_pull(src, "out");
    cr_assert(s);
    gst_sample_unref(s);
    zinc_producer_close(p);

    /* The replacement waits until the source re-attached to it. */
    p = gt_producer(g_ring, 4, 4096);
    cr_assert_neq(zinc_producer_generation(p), gen1);
    gt_wait_consumers(g_ring, 1);
    gt_publish(p, ZINC_FOURCC_GREY, 32, 2, 22, ZINC_FRAME_KEYFRAME, NULL);
    s = gt_pull(src, "out");
    cr_assert(s, "nothing from the second generation");
    GstBuffer *b = gst_sample_get_buffer(s);
    cr_assert(GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DISCONT));
    GstMapInfo m;
    gst_buffer_map(b, &m, GST_MAP_READ);
    cr_assert_eq(m.data[0], 22);
    gst_buffer_unmap(b, &m);
    GstVideoInfo vi;
    cr_assert(gst_video_info_from_caps(&vi, gst_sample_get_caps(s)));
    cr_assert_eq(vi.width, 32); /* new generation, new caps */
    gst_sample_unref(s);
    /* No EOS in between. */
    GstBus *bus = gst_element_get_bus(src);
    cr_assert_null(gst_bus_pop_filtered(bus, GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    gst_object_unref(bus);
    zinc_producer_close(p);
    gt_stop(src);
}

/* zincsink: caps change mid-stream -> a new stream descriptor. */
Test(gst, sink_caps_change_sets_a_new_stream_descriptor)
{
    GstElement *snk = gt_launch("appsrc name=in format=time ! zincsink ring=%s "
                                "slot-size=65536 wait-consumers=1 sync=false", g_ring);
    gt_play(snk);
    GstElement *in = gt_get(snk, "in");
    GstCaps *c1 = gst_caps_from_string("video/x-raw,format=RGBA,width=64,height=48,"
                                       "framerate=0/1");
    GstCaps *c2 = gst_caps_from_string("video/x-raw,format=RGBA,width=32,height=24,"
                                       "framerate=0/1");
    g_object_set(in, "caps", c1, NULL);
    cr_assert_eq(gst_app_src_push_buffer(GST_APP_SRC(in), gst_buffer_new_allocate(NULL, 64 * 48 * 4,
                 NULL)), GST_FLOW_OK);
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    zinc_consumer *c = NULL;
    while (zinc_consumer_open(g_ring, ZINC_EVERY, &c) != 0) {
        cr_assert(g_get_monotonic_time() < end);
        g_usleep(1000);
    }
    zinc_frame f, d;
    cr_assert_eq(zinc_consumer_acquire(c, &f, 5000000000LL), 0);
    cr_assert_eq(f.tensor.shape[1], 64);
    zinc_consumer_release(c, &f);
    g_object_set(in, "caps", c2, NULL);
    cr_assert_eq(gst_app_src_push_buffer(GST_APP_SRC(in), gst_buffer_new_allocate(NULL, 32 * 24 * 4,
                 NULL)), GST_FLOW_OK);
    cr_assert_eq(zinc_consumer_acquire(c, &f, 5000000000LL), 0);
    cr_assert_eq(f.size, 32 * 24 * 4);
    cr_assert_eq(f.tensor.shape[0], 24);
    cr_assert_eq(f.tensor.shape[1], 32);
    cr_assert_eq(zinc_consumer_stream(c, &d), 0);
    cr_assert_eq(d.size, 32 * 24 * 4);
    cr_assert_eq(d.tensor.shape[1], 32);
    zinc_consumer_release(c, &f);
    gst_app_src_end_of_stream(GST_APP_SRC(in));
    cr_assert_eq(gt_wait_end(snk, GT_TIMEOUT, NULL), GST_MESSAGE_EOS);
    gst_caps_unref(c1);
    gst_caps_unref(c2);
    gst_object_unref(in);
    zinc_consumer_close(c);
    gt_stop(snk);
}

/* zincsrc: the producer changes its frames' format -> new caps downstream. */
Test(gst, src_caps_follow_the_descriptor)
{
    GstElement *src = gt_launch("zincsrc ring=%s mode=every ! appsink name=out sync=false",
                                g_ring);
    gt_play(src);
    zinc_producer *p = gt_producer(g_ring, 4, 1 << 16);
    gt_wait_consumers(g_ring, 1);
    gt_publish(p, ZINC_FOURCC_RGBA32, 64, 48, 1, ZINC_FRAME_KEYFRAME, NULL);
    gt_publish(p, ZINC_FOURCC_RGB24, 32, 24, 2, ZINC_FRAME_KEYFRAME, NULL);
    GstSample *a = gt_pull(src, "out"), *b = gt_pull(src, "out");
    cr_assert(a && b);
    GstVideoInfo ia, ib;
    cr_assert(gst_video_info_from_caps(&ia, gst_sample_get_caps(a)));
    cr_assert(gst_video_info_from_caps(&ib, gst_sample_get_caps(b)));
    cr_assert_eq(GST_VIDEO_INFO_FORMAT(&ia), GST_VIDEO_FORMAT_RGBA);
    cr_assert_eq(ia.width, 64);
    cr_assert_eq(GST_VIDEO_INFO_FORMAT(&ib), GST_VIDEO_FORMAT_RGB);
    cr_assert_eq(ib.width, 32);
    cr_assert_eq(ib.height, 24);
    gst_sample_unref(a);
    gst_sample_unref(b);
    zinc_producer_close(p);
    gt_stop(src);
}

/* A frame larger than the slots: an element error naming both sizes. */
Test(gst, slot_too_small_is_an_error_naming_both_sizes)
{
    GstElement *snk = gt_launch("videotestsrc num-buffers=1 ! video/x-raw,format=RGBA,"
                                "width=64,height=48 ! zincsink ring=%s slot-size=1000 "
                                "sync=false", g_ring);
    gt_play(snk);
    gchar *text = NULL;
    cr_assert_eq(gt_wait_end(snk, GT_TIMEOUT, &text), GST_MESSAGE_ERROR);
    cr_assert(strstr(text, "12288") && strstr(text, "1000"), "%s", text);
    g_free(text);
    gt_stop(snk);

    /* The same after a caps change to a larger frame. */
    snk = gt_launch("appsrc name=in format=time ! zincsink ring=%s sync=false", g_ring);
    gt_play(snk);
    GstElement *in = gt_get(snk, "in");
    GstCaps *c = gst_caps_from_string("video/x-raw,format=GRAY8,width=16,height=16,"
                                      "framerate=0/1");
    g_object_set(in, "caps", c, NULL);
    gst_caps_unref(c);
    gst_app_src_push_buffer(GST_APP_SRC(in), gst_buffer_new_allocate(NULL, 256, NULL));
    c = gst_caps_from_string("video/x-raw,format=GRAY8,width=32,height=32,framerate=0/1");
    g_object_set(in, "caps", c, NULL);
    gst_caps_unref(c);
    gst_app_src_push_buffer(GST_APP_SRC(in), gst_buffer_new_allocate(NULL, 1024, NULL));
    cr_assert_eq(gt_wait_end(snk, GT_TIMEOUT, &text), GST_MESSAGE_ERROR);
    cr_assert(strstr(text, "1024") && strstr(text, "256"), "%s", text);
    g_free(text);
    gst_object_unref(in);
    gt_stop(snk);
}

static void bad_plane_offset(zinc_frame *f)
{
    GstZincLayout lay = {.magic = GST_ZINC_LAYOUT_MAGIC, .width = 16, .height = 4,
                         .n_planes = 1, .offset = {60}, .stride = {16}};
    memcpy(f->user, &lay, sizeof(lay));
}

static void bad_stride(zinc_frame *f)
{
    GstZincLayout lay = {.magic = GST_ZINC_LAYOUT_MAGIC, .width = 16, .height = 4,
                         .n_planes = 1, .offset = {0}, .stride = {-16}};
    memcpy(f->user, &lay, sizeof(lay));
}

static void huge_size(zinc_frame *f)
{
    GstZincLayout lay = {.magic = GST_ZINC_LAYOUT_MAGIC, .width = 0x7fffffff, .height = 0x7fffffff,
                         .n_planes = 1, .offset = {0}, .stride = {0x7fffffff}};
    memcpy(f->user, &lay, sizeof(lay));
}

static void rgba_as_grey_strides(zinc_frame *f)
{
    f->tensor.strides[1] = 3; /* RGBA pixels 3 bytes apart */
    f->tensor.shape[1] = 5;
}

static void nv12_wrong_rows(zinc_frame *f)
{
    f->tensor.shape[0] = 5; /* not height + height/2 */
}

/* Hostile descriptors (valid for the library, wrong as images): an element
 * error that says what is wrong, never a crash or a buffer downstream. */
Test(gst, hostile_descriptor_is_an_element_error)
{
    struct {
        uint32_t fourcc;
        uint32_t w, h;
        void (*tweak)(zinc_frame *);
        const char *expect;
    } cases[] = {
        {ZINC_FOURCC_GREY, 16, 4, bad_plane_offset, "outside"},
        {ZINC_FOURCC_GREY, 16, 4, bad_stride, "stride"},
        {ZINC_FOURCC_GREY, 16, 4, huge_size, "outside 1.."},
        {ZINC_FOURCC_RGBA32, 16, 4, rgba_as_grey_strides, "not an image"},
        {ZINC_FOURCC_NV12, 16, 4, nv12_wrong_rows, "rows"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char ring[200], sfx[8];
        g_snprintf(sfx, sizeof(sfx), "%zu", i);
        gt_ring(sfx, ring, sizeof(ring));
        GstElement *src = gt_launch("zincsrc ring=%s mode=every ! appsink name=out "
                                    "sync=false", ring);
        gt_play(src);
        zinc_producer *p = gt_producer(ring, 4, 4096);
        gt_wait_consumers(ring, 1);
        gt_publish(p, cases[i].fourcc, cases[i].w, cases[i].h, 7, 0, cases[i].tweak);
        gchar *text = NULL;
        cr_assert_eq(gt_wait_end(src, GT_TIMEOUT, &text), GST_MESSAGE_ERROR, "case %zu", i);
        cr_assert(strstr(text, cases[i].expect), "case %zu: %s", i, text);
        g_free(text);
        GstElement *as = gt_get(src, "out");
        GstSample *s = gst_app_sink_try_pull_sample(GST_APP_SINK(as), 0);
        cr_assert_null(s, "case %zu: a hostile frame went downstream", i);
        gst_object_unref(as);
        gt_stop(src);
        zinc_producer_close(p);
    }
}

/* With videotestsrc upstream nothing is copied; buffers from elsewhere
 * (appsrc's own memory) are copied once each and counted. */
Test(gst, sink_zero_copy_proven_by_copies)
{
    GstElement *snk = gt_launch("videotestsrc num-buffers=10 ! video/x-raw,format=RGBA,"
                                "width=320,height=240 ! zincsink name=z ring=%s sync=false",
                                g_ring);
    gt_play(snk);
    cr_assert_eq(gt_wait_end(snk, GT_TIMEOUT, NULL), GST_MESSAGE_EOS);
    cr_assert_eq(gt_u64(snk, "z", "frames"), 10);
    cr_assert_eq(gt_u64(snk, "z", "copies"), 0);
    gt_stop(snk);

    char ring[200];
    snk = gt_launch("appsrc name=in format=time caps=video/x-raw,format=GRAY8,width=8,"
                    "height=8,framerate=0/1 ! zincsink name=z ring=%s sync=false",
                    gt_ring("a", ring, sizeof(ring)));
    gt_play(snk);
    GstElement *in = gt_get(snk, "in");
    for (int i = 0; i < 3; i++)
        gst_app_src_push_buffer(GST_APP_SRC(in), gst_buffer_new_allocate(NULL, 64, NULL));
    gst_app_src_end_of_stream(GST_APP_SRC(in));
    cr_assert_eq(gt_wait_end(snk, GT_TIMEOUT, NULL), GST_MESSAGE_EOS);
    cr_assert_eq(gt_u64(snk, "z", "copies"), 3);
    gst_object_unref(in);
    gt_stop(snk);
}

/* zincsrc's buffer is the slot itself: in one process the producer and the
 * consumer share one mapping, so the buffer's bytes are at the address the
 * producer wrote, which lies in the ring's /dev/shm mapping. Looked at in a
 * probe, i.e. before the source may copy a buffer downstream still holds. */
static GstPadProbeReturn seen_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
    GstMapInfo m;
    if (gst_buffer_map(b, &m, GST_MAP_READ)) {
        void **out = data;
        out[0] = m.data;
        out[1] = GSIZE_TO_POINTER(m.size);
        out[2] = GINT_TO_POINTER(GST_MEMORY_IS_READONLY(gst_buffer_peek_memory(b, 0)));
        gst_buffer_unmap(b, &m);
    }
    return GST_PAD_PROBE_OK;
}

Test(gst, src_buffers_point_into_the_ring)
{
    GstElement *src = gt_launch("zincsrc name=z ring=%s mode=every ! appsink name=out "
                                "sync=false", g_ring);
    void *seen[3] = {NULL, NULL, NULL};
    GstElement *z = gt_get(src, "z");
    GstPad *pad = gst_element_get_static_pad(z, "src");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, seen_probe, seen, NULL);
    gst_object_unref(pad);
    gst_object_unref(z);
    gt_play(src);
    zinc_producer *p = gt_producer(g_ring, 4, 4096);
    gt_wait_consumers(g_ring, 1);
    zinc_frame f;
    cr_assert_eq(zinc_producer_claim(p, &f, -1), 0);
    cr_assert_eq(zinc_frame_set_image(&f, ZINC_FOURCC_GREY, 64, 8), 0);
    memset(f.data, 5, f.size);
    f.flags = ZINC_FRAME_KEYFRAME;
    void *addr = f.data;
    cr_assert_eq(zinc_producer_publish(p, &f), 0);
    GstSample *s = gt_pull(src, "out");
    cr_assert(s);
    cr_assert_eq(seen[0], addr, "the buffer %p is not the slot %p", seen[0], addr);
    cr_assert(seen[2], "slot memory is not read-only");
    gchar *maps = NULL;
    cr_assert(g_file_get_contents("/proc/self/maps", &maps, NULL, NULL));
    gchar *want = g_strdup_printf("/dev/shm/zinc_%s", g_ring);
    gboolean inside = FALSE;
    gchar **lines = g_strsplit(maps, "\n", -1);
    for (gchar **l = lines; *l; l++) {
        unsigned long lo, hi;
        if (strstr(*l, want) && sscanf(*l, "%lx-%lx", &lo, &hi) == 2 &&
            (unsigned long)seen[0] >= lo &&
            (unsigned long)seen[0] + GPOINTER_TO_SIZE(seen[1]) <= hi)
            inside = TRUE;
    }
    cr_assert(inside, "buffer %p not inside a mapping of %s", seen[0], want);
    g_strfreev(lines);
    g_free(want);
    g_free(maps);
    gst_sample_unref(s);
    zinc_producer_close(p);
    gt_stop(src);
}

/* Every mode, zero copy, downstream keeping buffers (appsink queue): each
 * kept buffer is copied out of its slot before the slot is released, and
 * keeps its bytes although the producer reuses the slot. */
Test(gst, src_every_detaches_buffers_downstream_keeps)
{
    GstElement *src = gt_launch("zincsrc name=z ring=%s mode=every ! appsink name=out "
                                "sync=false", g_ring);
    gt_play(src);
    zinc_producer *p = gt_producer(g_ring, 2, 4096);
    gt_wait_consumers(g_ring, 1);
    GstSample *kept[6];
    for (int i = 0; i < 6; i++) {
        gt_publish(p, ZINC_FOURCC_GREY, 64, 8, (uint8_t)(i + 1), ZINC_FRAME_KEYFRAME, NULL);
        kept[i] = gt_pull(src, "out");
        cr_assert(kept[i]);
    }
    gt_publish(p, ZINC_FOURCC_GREY, 64, 8, 99, ZINC_FRAME_KEYFRAME, NULL);
    GstSample *last = gt_pull(src, "out");
    cr_assert(last);
    for (int i = 0; i < 6; i++) {
        GstMapInfo m;
        gst_buffer_map(gst_sample_get_buffer(kept[i]), &m, GST_MAP_READ);
        for (gsize j = 0; j < m.size; j++)
            cr_assert_eq(m.data[j], i + 1, "kept frame %d changed at byte %zu", i, j);
        gst_buffer_unmap(gst_sample_get_buffer(kept[i]), &m);
        gst_sample_unref(kept[i]);
    }
    gst_sample_unref(last);
    /* 6 kept frames copied; the 7th too if the source already looked for
     * the next frame while we hold it. */
    guint64 copies = gt_u64(src, "z", "copies");
    cr_assert(copies == 6 || copies == 7, "copies %" G_GUINT64_FORMAT, copies);
    zinc_producer_close(p);
    gt_stop(src);
}

/* latest mode under a fast producer and a deliberately slow downstream:
 * every pushed buffer is whole (all bytes of one frame), whatever tore. */
Test(gst, torn_frames_never_go_downstream)
{
    const uint64_t size = 1 << 20;
    GstElement *src = gt_launch("zincsrc name=z ring=%s mode=latest ! identity "
                                "sleep-time=2000 ! appsink name=out sync=false", g_ring);
    gt_play(src);
    int go[2];
    cr_assert_eq(pipe(go), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        /* Writes each frame's bytes one by one (in 4 KiB steps) as fast as
         * it can over 2 slots, so a reader copying a frame is lapped. */
        zinc_ring_config cfg = {.slot_count = 2, .slot_size = size};
        zinc_producer *p = NULL;
        if (zinc_producer_create(g_ring, &cfg, &p) != 0)
            _exit(2);
        char b;
        if (read(go[0], &b, 1) != 1)
            _exit(3);
        for (uint32_t n = 1; n <= 1500; n++) {
            zinc_frame f;
            if (zinc_producer_claim(p, &f, -1) != 0 ||
                zinc_frame_set_image(&f, ZINC_FOURCC_GREY, 1024, 1024) != 0)
                _exit(4);
            for (uint64_t o = 0; o < size; o += 4096)
                memset((uint8_t *)f.data + o, (int)(n & 0xff), 4096);
            f.flags = n == 1500 ? ZINC_FRAME_END_OF_STREAM : ZINC_FRAME_KEYFRAME;
            if (zinc_producer_publish(p, &f) != 0)
                _exit(5);
        }
        zinc_producer_close(p);
        _exit(0);
    }
    close(go[0]);
    gt_wait_consumers(g_ring, 1);
    cr_assert_eq(write(go[1], "g", 1), 1);
    close(go[1]);
    int frames = 0;
    GstSample *s;
    GstElement *as = gt_get(src, "out");
    while ((s = gst_app_sink_try_pull_sample(GST_APP_SINK(as), GT_TIMEOUT))) {
        GstMapInfo m;
        gst_buffer_map(gst_sample_get_buffer(s), &m, GST_MAP_READ);
        cr_assert_eq(m.size, size);
        for (gsize j = 0; j < m.size; j += 512)
            cr_assert_eq(m.data[j], m.data[0], "torn frame pushed: byte %zu is %u, byte 0 %u",
                         j, m.data[j], m.data[0]);
        gst_buffer_unmap(gst_sample_get_buffer(s), &m);
        gst_sample_unref(s);
        frames++;
    }
    gst_object_unref(as);
    int st;
    waitpid(pid, &st, 0);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "producer child failed");
    cr_assert_gt(frames, 0);
    guint64 torn = gt_u64(src, "z", "torn"), copies = gt_u64(src, "z", "copies");
    cr_assert_eq(copies, (guint64)frames, "latest mode copies every frame it pushes");
    cr_log_info("latest, slow downstream: %d frames pushed, %" G_GUINT64_FORMAT " torn copies "
                "dropped", frames, torn);
    gt_stop(src);
}

Test(gst, src_without_wait_fails_on_a_missing_ring)
{
    GstElement *src = gt_launch("zincsrc ring=%s wait=false ! fakesink", g_ring);
    cr_assert_eq(gst_element_set_state(src, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    gchar *text = NULL;
    cr_assert_eq(gt_wait_end(src, GT_TIMEOUT, &text), GST_MESSAGE_ERROR);
    cr_assert(strstr(text, g_ring), "%s", text);
    g_free(text);
    gt_stop(src);
}

Test(gst, src_without_wait_reads_an_existing_ring)
{
    zinc_producer *p = gt_producer(g_ring, 4, 4096);
    GstElement *src = gt_launch("zincsrc ring=%s wait=false mode=every ! appsink name=out "
                                "sync=false", g_ring);
    gt_play(src);
    gt_wait_consumers(g_ring, 1);
    gt_publish(p, ZINC_FOURCC_GREY, 16, 4, 3, ZINC_FRAME_KEYFRAME, NULL);
    GstSample *s = gt_pull(src, "out");
    cr_assert(s);
    gst_sample_unref(s);
    zinc_producer_close(p);
    cr_assert_eq(gt_wait_end(src, GT_TIMEOUT, NULL), GST_MESSAGE_EOS);
    gt_stop(src);
}

Test(gst, src_wait_is_bounded_by_timeout)
{
    GstElement *src = gt_launch("zincsrc ring=%s timeout=100000000 ! fakesink", g_ring);
    gt_play(src);
    gchar *text = NULL;
    cr_assert_eq(gt_wait_end(src, GT_TIMEOUT, &text), GST_MESSAGE_ERROR);
    cr_assert(strstr(text, "timeout"), "%s", text);
    g_free(text);
    gt_stop(src);
}

/* Tensors: application/x-zinc caps carry dtype, shape and fourcc; a shape
 * starting with -1 takes its rows from each buffer's size. */
Test(gst, tensor_caps_both_ways)
{
    char ring[200];
    gt_ring("a", ring, sizeof(ring));
    GstElement *snk = gt_launch("appsrc name=in format=time caps=application/x-zinc,"
                                "dtype=f32,shape=-1x4,fourcc=PC3F ! zincsink ring=%s "
                                "slot-size=4096 wait-consumers=1 sync=false", ring);
    GstElement *src = gt_launch("zincsrc ring=%s mode=every ! appsink name=out sync=false",
                                ring);
    gt_play(src);
    gt_play(snk);
    GstElement *in = gt_get(snk, "in");
    for (int n = 1; n <= 3; n++) {
        GstBuffer *b = gst_buffer_new_allocate(NULL, (gsize)n * 16, NULL);
        gst_buffer_memset(b, 0, (guint8)n, (gsize)n * 16);
        gst_app_src_push_buffer(GST_APP_SRC(in), b);
    }
    gst_app_src_end_of_stream(GST_APP_SRC(in));
    GstCaps *first = NULL;
    for (int n = 1; n <= 3; n++) {
        GstSample *s = gt_pull(src, "out");
        cr_assert(s);
        GstStructure *st = gst_caps_get_structure(gst_sample_get_caps(s), 0);
        cr_assert(gst_structure_has_name(st, "application/x-zinc"));
        cr_assert_str_eq(gst_structure_get_string(st, "dtype"), "f32");
        cr_assert_str_eq(gst_structure_get_string(st, "shape"), "-1x4");
        cr_assert_str_eq(gst_structure_get_string(st, "fourcc"), "PC3F");
        cr_assert_eq(gst_buffer_get_size(gst_sample_get_buffer(s)), (gsize)n * 16);
        if (!first)
            first = gst_caps_ref(gst_sample_get_caps(s));
        else /* N changes, the caps do not */
            cr_assert(gst_caps_is_equal(first, gst_sample_get_caps(s)));
        gst_sample_unref(s);
    }
    cr_assert_eq(gt_wait_end(src, GT_TIMEOUT, NULL), GST_MESSAGE_EOS);
    gst_caps_unref(first);
    gst_object_unref(in);
    gt_stop(src);
    gt_stop(snk);

    /* What a C consumer sees of it. */
    gt_ring("b", ring, sizeof(ring));
    snk = gt_launch("appsrc name=in format=time caps=application/x-zinc,dtype=u16,"
                    "shape=3x5,strides=12x2 ! zincsink ring=%s wait-consumers=1 sync=false",
                    ring);
    gt_play(snk);
    in = gt_get(snk, "in");
    gst_app_src_push_buffer(GST_APP_SRC(in), gst_buffer_new_allocate(NULL, 34, NULL));
    zinc_consumer *c = NULL;
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (zinc_consumer_open(ring, ZINC_EVERY, &c) != 0) {
        cr_assert(g_get_monotonic_time() < end);
        g_usleep(1000);
    }
    zinc_frame f;
    cr_assert_eq(zinc_consumer_acquire(c, &f, 5000000000LL), 0);
    cr_assert_eq(f.tensor.ndim, 2);
    cr_assert_eq(f.tensor.dtype_code, ZINC_DTYPE_UINT);
    cr_assert_eq(f.tensor.dtype_bits, 16);
    cr_assert_eq(f.tensor.shape[0], 3);
    cr_assert_eq(f.tensor.shape[1], 5);
    cr_assert_eq(f.tensor.strides[0], 12);
    cr_assert_eq(f.tensor.strides[1], 2);
    cr_assert_eq(f.size, 34);
    zinc_consumer_release(c, &f);
    zinc_consumer_close(c);
    gst_app_src_end_of_stream(GST_APP_SRC(in));
    gst_object_unref(in);
    gt_stop(snk);
}

/* Caps that do not describe a tensor are refused with the reason. */
Test(gst, bad_tensor_caps_are_an_error)
{
    GstElement *snk = gt_launch("appsrc name=in format=time caps=application/x-zinc,"
                                "dtype=q7,shape=4 ! zincsink ring=%s sync=false", g_ring);
    gt_play(snk);
    GstElement *in = gt_get(snk, "in");
    gst_app_src_push_buffer(GST_APP_SRC(in), gst_buffer_new_allocate(NULL, 4, NULL));
    gchar *text = NULL;
    cr_assert_eq(gt_wait_end(snk, GT_TIMEOUT, &text), GST_MESSAGE_ERROR);
    cr_assert(strstr(text, "dtype"), "%s", text);
    g_free(text);
    gst_object_unref(in);
    gt_stop(snk);
}

/* EOS closes the ring in the streaming thread while the application stops
 * the pipeline, whose unlock wakes the ring's waiters: the two met on a
 * producer the EOS had freed (a hang in unlock, about one stop in six).
 * The race cannot be forced from outside, so it is run many times. */
Test(gst, stop_right_after_eos)
{
    const int rounds = getenv("ZINC_LONG_TESTS") && atoi(getenv("ZINC_LONG_TESTS")) ? 2000 : 200;
    for (int i = 0; i < rounds; i++) {
        GstElement *snk = gt_launch("appsrc name=in format=time caps=application/x-zinc,"
                                    "dtype=u8,shape=8x8 ! zincsink name=z ring=%s sync=false", g_ring);
        gt_play(snk);
        GstElement *in = gt_get(snk, "in");
        gst_app_src_push_buffer(GST_APP_SRC(in), gst_buffer_new_allocate(NULL, 64, NULL));
        /* The ring exists and is idle: EOS is the streaming thread's next job. */
        gint64 end = g_get_monotonic_time() + GT_TIMEOUT / 1000;
        while (gt_u64(snk, "z", "frames") < 1) {
            cr_assert(g_get_monotonic_time() < end, "round %d: the frame was never published", i);
            g_usleep(500);
        }
        gst_app_src_end_of_stream(GST_APP_SRC(in));
        gst_object_unref(in);
        cr_assert(stop_within(snk, GT_TIMEOUT / 1000), "round %d: stopping after EOS hung", i);
        gst_object_unref(snk);
    }
}

/* Time: a buffer's PTS becomes timestamp_ns on CLOCK_MONOTONIC (base time
 * plus running time, on GStreamer's default monotonic system clock), and
 * a frame's timestamp_ns becomes the PTS relative to the source's base
 * time. Both exact: the mapping adds no offset of its own. (shape=8: one
 * size, which the caps parser types as an integer, is accepted too.) */
static guint64 g_stamp;
static guint64 mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (guint64)ts.tv_sec * 1000000000u + (guint64)ts.tv_nsec;
}
static void stamp_frame(zinc_frame *f)
{
    f->timestamp_ns = g_stamp;
}

Test(gst, pts_timestamp_mapping)
{
    char ring[200];
    gt_ring("a", ring, sizeof(ring));
    GstElement *snk = gt_launch("appsrc name=in format=time caps=application/x-zinc,"
                                "dtype=u8,shape=8 ! zincsink ring=%s wait-consumers=1 "
                                "sync=false", ring);
    gt_play(snk);
    GstElement *in = gt_get(snk, "in");
    GstBuffer *b = gst_buffer_new_allocate(NULL, 8, NULL);
    GST_BUFFER_PTS(b) = 5 * GST_MSECOND;
    gst_app_src_push_buffer(GST_APP_SRC(in), b);
    zinc_consumer *c = NULL;
    gint64 end = g_get_monotonic_time() + GT_TIMEOUT / 1000;
    while (zinc_consumer_open(ring, ZINC_EVERY, &c) != 0) {
        cr_assert(g_get_monotonic_time() < end, "ring %s never appeared", ring);
        g_usleep(1000);
    }
    zinc_frame f;
    cr_assert_eq(zinc_consumer_acquire(c, &f, 5000000000LL), 0, "%s", zinc_last_error());
    GstClockTime base = gst_element_get_base_time(snk);
    cr_expect_eq(f.timestamp_ns, base + 5 * GST_MSECOND,
                 "timestamp_ns %" G_GUINT64_FORMAT ", base time %" G_GUINT64_FORMAT,
                 f.timestamp_ns, base);
    zinc_consumer_release(c, &f);
    zinc_consumer_close(c);
    gst_app_src_end_of_stream(GST_APP_SRC(in));
    gst_object_unref(in);
    gt_stop(snk);

    GstElement *src = gt_launch("zincsrc ring=%s mode=every ! appsink name=out sync=false",
                                g_ring);
    gt_play(src);
    zinc_producer *p = gt_producer(g_ring, 4, 4096);
    gt_wait_consumers(g_ring, 1);
    g_stamp = mono_ns() + 3 * GST_MSECOND;
    gt_publish(p, ZINC_FOURCC_GREY, 16, 4, 7, ZINC_FRAME_KEYFRAME, stamp_frame);
    GstSample *s = gt_pull(src, "out");
    cr_assert(s);
    base = gst_element_get_base_time(src);
    cr_assert_gt(g_stamp, base);
    cr_expect_eq(GST_BUFFER_PTS(gst_sample_get_buffer(s)), g_stamp - base,
                 "PTS %" G_GUINT64_FORMAT ", timestamp_ns %" G_GUINT64_FORMAT
                 ", base time %" G_GUINT64_FORMAT, GST_BUFFER_PTS(gst_sample_get_buffer(s)),
                 g_stamp, base);
    gst_sample_unref(s);
    zinc_producer_close(p);
    gt_stop(src);
}
