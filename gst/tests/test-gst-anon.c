/* SPDX-License-Identifier: MIT */
/*
 * Sealed anonymous rings through the elements: zincsink ring=@name (or a
 * socket path) makes a memfd ring served on that socket, zincsrc ring=@name
 * connects to it. Same bytes as a direct pipeline, nothing in /dev/shm, a
 * source started first waits, EOS and producer death end the source,
 * follow finds the next listener, either side stops mid-stream without
 * hanging, and bad addresses are element errors. Each test has its own
 * abstract name ("@" + its ring name) or socket directory, and a private
 * socket registry (ZINC_RUNTIME_DIR), all removed afterwards.
 */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "gst-test-util.h"

static gchar *g_reg;

/* Listeners register their address for `zinc ls`: in a directory of this
 * test's, so that a killed producer's entry is not left in the user's. */
static void anon_setup(void)
{
    gt_setup();
    GError *err = NULL;
    gchar *dir = g_dir_make_tmp("zinc-gst-reg-XXXXXX", &err);
    cr_assert(dir, "%s", err ? err->message : "?");
    g_reg = g_build_filename(dir, "reg", NULL);
    g_free(dir);
    setenv("ZINC_RUNTIME_DIR", g_reg, 1);
}

static void anon_teardown(void)
{
    GDir *d = g_dir_open(g_reg, 0, NULL);
    const gchar *e;
    while (d && (e = g_dir_read_name(d))) {
        gchar *path = g_build_filename(g_reg, e, NULL);
        unlink(path);
        g_free(path);
    }
    if (d)
        g_dir_close(d);
    rmdir(g_reg);
    gchar *parent = g_path_get_dirname(g_reg);
    rmdir(parent);
    g_free(parent);
    g_clear_pointer(&g_reg, g_free);
    gt_teardown();
}

TestSuite(gst_anon, .init = anon_setup, .fini = anon_teardown, .timeout = 60);

/* "@<this test's ring name>[-suffix]". */
static const char *anon_addr(const char *suffix, char *buf, size_t n)
{
    snprintf(buf, n, "@%s%s%s", g_ring, suffix ? "-" : "", suffix ? suffix : "");
    return buf;
}

/* No object of ours in /dev/shm: an anonymous ring leaves no name there. */
static void assert_nothing_in_dev_shm(void)
{
    DIR *d = opendir("/dev/shm");
    if (!d)
        return; /* no /dev/shm at all: nothing can be there */
    struct dirent *e;
    while ((e = readdir(d)))
        cr_assert_null(strstr(e->d_name, g_ring), "/dev/shm/%s exists", e->d_name);
    closedir(d);
}

/* Wait (polling the element's counter) until `name` counted `n` frames. */
static void wait_frames(GstElement *pipe, const char *name, guint64 n)
{
    gint64 end = g_get_monotonic_time() + GT_TIMEOUT / 1000;
    while (gt_u64(pipe, name, "frames") < n) {
        cr_assert(g_get_monotonic_time() < end, "%s: fewer than %" G_GUINT64_FORMAT " frames",
                  name, n);
        g_usleep(1000);
    }
}

/* A live pair, endless: for the tests that stop one side. */
static GstElement *live_sink(const char *addr)
{
    return gt_launch("videotestsrc is-live=true ! video/x-raw,format=GRAY8,width=64,"
                     "height=16,framerate=200/1 ! zincsink name=z ring=%s", addr);
}

static GstElement *live_src(const char *addr)
{
    return gt_launch("zincsrc name=r ring=%s mode=every ! fakesink sync=false", addr);
}

/* videotestsrc -> zincsink ring=@name, zincsrc ring=@name -> appsink,
 * against the same frames straight into an appsink: equal caps and
 * pixels (RGB at an odd width: padded strides travel too), zero copy in
 * the sink (wait-consumers reads the table through the memfd), EOS on
 * both sides, and no name in /dev/shm. */
Test(gst_anon, abstract_socket_pair_same_bytes)
{
    char addr[200];
    anon_addr(NULL, addr, sizeof(addr));
    const char *caps = "video/x-raw,format=RGB,width=66,height=50,framerate=30/1";
    GstElement *ref = gt_launch("videotestsrc num-buffers=3 pattern=smpte ! %s ! "
                                "appsink name=out sync=false", caps);
    GstElement *snk = gt_launch("videotestsrc num-buffers=3 pattern=smpte ! %s ! "
                                "zincsink name=z ring=%s wait-consumers=1 sync=false", caps, addr);
    GstElement *src = gt_launch("zincsrc name=r ring=%s mode=every ! appsink name=out "
                                "sync=false", addr);
    gt_play(ref);
    gt_play(snk);
    gt_play(src);
    for (int n = 0; n < 3; n++) {
        GstSample *a = gt_pull(ref, "out"), *b = gt_pull(src, "out");
        cr_assert(a && b, "frame %d missing", n);
        GstVideoInfo ia, ib;
        cr_assert(gst_video_info_from_caps(&ia, gst_sample_get_caps(a)));
        cr_assert(gst_video_info_from_caps(&ib, gst_sample_get_caps(b)));
        cr_assert_eq(GST_VIDEO_INFO_FORMAT(&ia), GST_VIDEO_INFO_FORMAT(&ib));
        cr_assert_eq(ia.width, ib.width);
        cr_assert_eq(ia.height, ib.height);
        cr_assert_eq(ia.fps_n, ib.fps_n);
        cr_assert_eq(ia.fps_d, ib.fps_d);
        cr_assert(gt_same_pixels(a, b), "frame %d differs", n);
        gst_sample_unref(a);
        gst_sample_unref(b);
    }
    assert_nothing_in_dev_shm();
    gchar *text = NULL;
    cr_assert_eq(gt_wait_end(snk, GT_TIMEOUT, &text), GST_MESSAGE_EOS, "%s", text);
    cr_assert_eq(gt_wait_end(src, GT_TIMEOUT, &text), GST_MESSAGE_EOS, "%s", text);
    cr_assert_eq(gt_u64(snk, "z", "copies"), 0);
    cr_assert_eq(gt_u64(snk, "z", "frames"), 3);
    cr_assert_eq(gt_u64(src, "r", "frames"), 3);
    gt_stop(ref);
    gt_stop(src);
    gt_stop(snk);
}

/* A socket path: the file is a 0600 socket while the sink runs and is
 * removed when the sink stops; the source then ends. */
Test(gst_anon, path_socket_pair_and_cleanup)
{
    GError *err = NULL;
    gchar *dir = g_dir_make_tmp("zinc-gst-XXXXXX", &err);
    cr_assert(dir, "%s", err ? err->message : "?");
    gchar *addr = g_build_filename(dir, "cam.sock", NULL);
    GstElement *snk = live_sink(addr);
    GstElement *src = gt_launch("zincsrc ring=%s mode=every ! appsink name=out sync=false",
                                addr);
    gt_play(snk);
    gt_play(src);
    GstSample *s = gt_pull(src, "out");
    cr_assert(s, "no frame over %s", addr);
    cr_assert_eq(gst_buffer_get_size(gst_sample_get_buffer(s)), 1024);
    gst_sample_unref(s);
    struct stat st;
    cr_assert_eq(stat(addr, &st), 0, "%s: %s", addr, strerror(errno));
    cr_assert(S_ISSOCK(st.st_mode));
    cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
    cr_assert(stop_within(snk, GT_TIMEOUT / 1000), "stopping the sink hung");
    gst_object_unref(snk);
    cr_assert_neq(stat(addr, &st), 0, "%s left behind", addr);
    /* appsink's queue may still hold frames: take them until the EOS. */
    GstElement *out = gt_get(src, "out");
    while ((s = gst_app_sink_try_pull_sample(GST_APP_SINK(out), GT_TIMEOUT)))
        gst_sample_unref(s);
    cr_assert(gst_app_sink_is_eos(GST_APP_SINK(out)), "no EOS after the sink stopped");
    gst_object_unref(out);
    gt_stop(src);
    cr_assert_eq(rmdir(dir), 0, "%s: %s", dir, strerror(errno));
    g_free(addr);
    g_free(dir);
}

/* The source starts first and waits for the socket; the sink comes later. */
Test(gst_anon, src_started_before_sink)
{
    char addr[200];
    anon_addr(NULL, addr, sizeof(addr));
    GstElement *src = gt_launch("zincsrc name=r ring=%s mode=every timeout=20000000000 ! "
                                "appsink name=out sync=false", addr);
    gt_play(src); /* its streaming thread now polls the address */
    GstElement *snk = gt_launch("videotestsrc num-buffers=4 pattern=ball ! video/x-raw,"
                                "format=GRAY8,width=32,height=8 ! zincsink ring=%s "
                                "wait-consumers=1 sync=false", addr);
    gt_play(snk);
    for (int n = 0; n < 4; n++) {
        GstSample *s = gt_pull(src, "out");
        cr_assert(s, "frame %d missing", n);
        cr_assert_eq(gst_buffer_get_size(gst_sample_get_buffer(s)), 256);
        gst_sample_unref(s);
    }
    cr_assert_eq(gt_wait_end(src, GT_TIMEOUT, NULL), GST_MESSAGE_EOS);
    cr_assert_eq(gt_u64(src, "r", "frames"), 4);
    gt_stop(snk);
    gt_stop(src);
}

/* Nobody listens: with `timeout` an element error after it, without
 * `wait` a failed state change; both name the address. */
Test(gst_anon, src_wait_bounded_and_no_wait_fails)
{
    char addr[200];
    anon_addr("none", addr, sizeof(addr));
    GstElement *src = gt_launch("zincsrc ring=%s timeout=100000000 ! fakesink", addr);
    gt_play(src);
    gchar *text = NULL;
    cr_assert_eq(gt_wait_end(src, GT_TIMEOUT, &text), GST_MESSAGE_ERROR);
    cr_assert(strstr(text, "timeout") && strstr(text, "socket") && strstr(text, addr), "%s",
              text);
    g_free(text);
    gt_stop(src);

    src = gt_launch("zincsrc ring=%s wait=false ! fakesink", addr);
    cr_assert_eq(gst_element_set_state(src, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    text = NULL;
    cr_assert_eq(gt_wait_end(src, GT_TIMEOUT, &text), GST_MESSAGE_ERROR);
    cr_assert(strstr(text, addr) && strstr(text, "nobody listens"), "%s", text);
    g_free(text);
    gt_stop(src);
}

/* The producer process (C API, anonymous, listening) dies without
 * closing: the frames it published, then EOS. */
Test(gst_anon, producer_death_is_eos)
{
    char addr[200];
    anon_addr(NULL, addr, sizeof(addr));
    GstElement *src = gt_launch("zincsrc ring=%s mode=every ! appsink name=out sync=false",
                                addr);
    gt_play(src);
    int go[2];
    cr_assert_eq(pipe(go), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        zinc_ring_config cfg = {.slot_count = 4, .slot_size = 4096,
                                .flags = ZINC_RING_ANONYMOUS};
        zinc_producer *p = NULL;
        if (zinc_producer_create(g_ring, &cfg, &p) != 0 || zinc_producer_listen(p, addr) != 0)
            _exit(2);
        char b;
        if (read(go[0], &b, 1) != 1) /* the source is attached */
            _exit(3);
        for (int i = 0; i < 2; i++) {
            zinc_frame f;
            if (zinc_producer_claim(p, &f, -1) != 0 ||
                zinc_frame_set_image(&f, ZINC_FOURCC_GREY, 16, 4) != 0)
                _exit(4);
            memset(f.data, i + 1, f.size);
            if (zinc_producer_publish(p, &f) != 0)
                _exit(5);
        }
        raise(SIGKILL);
    }
    close(go[0]);
    gt_wait_consumers_at(addr, 1);
    cr_assert_eq(write(go[1], "g", 1), 1);
    close(go[1]);
    for (int i = 0; i < 2; i++) {
        GstSample *s = gt_pull(src, "out");
        cr_assert(s, "frame %d of the dead producer lost", i);
        GstMapInfo m;
        cr_assert(gst_buffer_map(gst_sample_get_buffer(s), &m, GST_MAP_READ));
        cr_assert_eq(m.size, 64);
        cr_assert_eq(m.data[0], i + 1);
        gst_buffer_unmap(gst_sample_get_buffer(s), &m);
        gst_sample_unref(s);
    }
    cr_assert_eq(gt_wait_end(src, GT_TIMEOUT, NULL), GST_MESSAGE_EOS);
    int st;
    waitpid(pid, &st, 0);
    cr_assert(WIFSIGNALED(st), "producer child failed: %d", WEXITSTATUS(st));
    gt_stop(src);
}

/* follow=true: the producer closes, a new one listens on the same
 * address, frames go on (new caps, DISCONT) without EOS. */
Test(gst_anon, follow_connects_to_the_next_listener)
{
    char addr[200];
    anon_addr(NULL, addr, sizeof(addr));
    GstElement *src = gt_launch("zincsrc ring=%s mode=every follow=true ! appsink name=out "
                                "sync=false", addr);
    gt_play(src);
    zinc_ring_config cfg = {.slot_count = 4, .slot_size = 4096, .flags = ZINC_RING_ANONYMOUS};
    zinc_producer *p = NULL;
    cr_assert_eq(zinc_producer_create(g_ring, &cfg, &p), 0, "%s", zinc_last_error());
    cr_assert_eq(zinc_producer_listen(p, addr), 0, "%s", zinc_last_error());
    uint64_t gen1 = zinc_producer_generation(p);
    gt_wait_consumers_at(addr, 1);
    gt_publish(p, ZINC_FOURCC_GREY, 16, 4, 11, ZINC_FRAME_KEYFRAME, NULL);
    GstSample *s = gt_pull(src, "out");
    cr_assert(s);
    gst_sample_unref(s);
    zinc_producer_close(p);

    cr_assert_eq(zinc_producer_create(g_ring, &cfg, &p), 0, "%s", zinc_last_error());
    cr_assert_eq(zinc_producer_listen(p, addr), 0, "%s", zinc_last_error());
    cr_assert_neq(zinc_producer_generation(p), gen1);
    gt_wait_consumers_at(addr, 1);
    gt_publish(p, ZINC_FOURCC_GREY, 32, 2, 22, ZINC_FRAME_KEYFRAME, NULL);
    s = gt_pull(src, "out");
    cr_assert(s, "nothing from the second listener");
    GstBuffer *b = gst_sample_get_buffer(s);
    cr_assert(GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DISCONT));
    GstMapInfo m;
    gst_buffer_map(b, &m, GST_MAP_READ);
    cr_assert_eq(m.data[0], 22);
    gst_buffer_unmap(b, &m);
    GstVideoInfo vi;
    cr_assert(gst_video_info_from_caps(&vi, gst_sample_get_caps(s)));
    cr_assert_eq(vi.width, 32);
    gst_sample_unref(s);
    GstBus *bus = gst_element_get_bus(src);
    cr_assert_null(gst_bus_pop_filtered(bus, GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    gst_object_unref(bus);
    zinc_producer_close(p);
    gt_stop(src);
}

/* Stopping the sink mid-stream: bounded, and the source sees EOS. */
Test(gst_anon, stop_sink_mid_stream)
{
    char addr[200];
    anon_addr(NULL, addr, sizeof(addr));
    GstElement *snk = live_sink(addr), *src = live_src(addr);
    gt_play(snk);
    gt_play(src);
    wait_frames(src, "r", 5);
    cr_assert(stop_within(snk, GT_TIMEOUT / 1000), "stopping the sink hung");
    gchar *text = NULL;
    cr_assert_eq(gt_wait_end(src, GT_TIMEOUT, &text), GST_MESSAGE_EOS, "%s", text);
    cr_assert(stop_within(src, GT_TIMEOUT / 1000), "stopping the source hung");
    gst_object_unref(snk);
    gst_object_unref(src);
}

/* Stopping the source mid-stream (an 'every' consumer the sink waits
 * for): bounded, and the sink goes on publishing without it. */
Test(gst_anon, stop_src_mid_stream)
{
    char addr[200];
    anon_addr(NULL, addr, sizeof(addr));
    GstElement *snk = live_sink(addr), *src = live_src(addr);
    gt_play(snk);
    gt_play(src);
    wait_frames(src, "r", 5);
    cr_assert(stop_within(src, GT_TIMEOUT / 1000), "stopping the source hung");
    guint64 n = gt_u64(snk, "z", "frames");
    wait_frames(snk, "z", n + 5);
    GstBus *bus = gst_element_get_bus(snk);
    cr_assert_null(gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR));
    gst_object_unref(bus);
    cr_assert(stop_within(snk, GT_TIMEOUT / 1000), "stopping the sink hung");
    gst_object_unref(snk);
    gst_object_unref(src);
}

/* EOS closes the ring (and joins its listener) in the streaming thread
 * while the application stops the pipeline: as stop_right_after_eos. */
Test(gst_anon, stop_right_after_eos)
{
    char addr[200];
    anon_addr(NULL, addr, sizeof(addr));
    for (int i = 0; i < 50; i++) {
        GstElement *snk = gt_launch("appsrc name=in format=time caps=application/x-zinc,"
                                    "dtype=u8,shape=8x8 ! zincsink name=z ring=%s sync=false",
                                    addr);
        gt_play(snk);
        GstElement *in = gt_get(snk, "in");
        gst_app_src_push_buffer(GST_APP_SRC(in), gst_buffer_new_allocate(NULL, 64, NULL));
        wait_frames(snk, "z", 1);
        gst_app_src_end_of_stream(GST_APP_SRC(in));
        gst_object_unref(in);
        cr_assert(stop_within(snk, GT_TIMEOUT / 1000), "round %d: stopping after EOS hung", i);
        gst_object_unref(snk);
    }
}

/* The sink's error for `ring=addr`, from a one-frame pipeline. */
static gchar *sink_error(const char *addr)
{
    GstElement *snk = gt_launch("videotestsrc num-buffers=1 ! video/x-raw,format=GRAY8,"
                                "width=8,height=8 ! zincsink ring=%s sync=false", addr);
    gst_element_set_state(snk, GST_STATE_PLAYING);
    gchar *text = NULL;
    cr_assert_eq(gt_wait_end(snk, GT_TIMEOUT, &text), GST_MESSAGE_ERROR, "%s: no error", addr);
    gt_stop(snk);
    return text;
}

static gchar *src_error(const char *addr)
{
    GstElement *src = gt_launch("zincsrc ring=%s ! fakesink", addr);
    gst_element_set_state(src, GST_STATE_PLAYING);
    gchar *text = NULL;
    cr_assert_eq(gt_wait_end(src, GT_TIMEOUT, &text), GST_MESSAGE_ERROR, "%s: no error", addr);
    gt_stop(src);
    return text;
}

/* Bad socket addresses: element errors that say what is wrong. */
Test(gst_anon, bad_addresses_are_element_errors)
{
    gchar *t = sink_error("@");
    cr_assert(strstr(t, "'@'") && strstr(t, "empty"), "%s", t);
    g_free(t);
    t = src_error("@");
    cr_assert(strstr(t, "'@'") && strstr(t, "empty"), "%s", t);
    g_free(t);

    char addr[200];
    snprintf(addr, sizeof(addr), "/nonexistent-%s/cam.sock", g_ring);
    t = sink_error(addr);
    cr_assert(strstr(t, addr) && strstr(t, "directory does not exist"), "%s", t);
    g_free(t);

    char lng[160];
    memset(lng, 'x', sizeof(lng) - 1);
    lng[0] = '/';
    lng[sizeof(lng) - 1] = '\0';
    t = sink_error(lng);
    cr_assert(strstr(t, "too long"), "%s", t);
    g_free(t);
    t = src_error(lng);
    cr_assert(strstr(t, "too long"), "%s", t);
    g_free(t);
}

/* A second sink on a live sink's address: an error; the first goes on. */
Test(gst_anon, second_sink_on_a_live_address_is_an_error)
{
    char addr[200];
    anon_addr(NULL, addr, sizeof(addr));
    GstElement *first = live_sink(addr);
    gt_play(first);
    wait_frames(first, "z", 1);
    gchar *t = sink_error(addr);
    cr_assert(strstr(t, addr) && strstr(t, "another producer listens there"), "%s", t);
    g_free(t);
    guint64 n = gt_u64(first, "z", "frames");
    wait_frames(first, "z", n + 2);
    cr_assert(stop_within(first, GT_TIMEOUT / 1000), "stopping the first sink hung");
    gst_object_unref(first);
}

/* After EOS closed the ring (and its listener), the same sink restarted
 * (READY, then PLAYING) makes a new ring on the same address; a following
 * source finds it. */
Test(gst_anon, new_ring_after_eos_listens_on_the_same_address)
{
    char addr[200];
    anon_addr(NULL, addr, sizeof(addr));
    GstElement *snk = gt_launch("appsrc name=in format=time caps=application/x-zinc,dtype=u8,"
                                "shape=8x8 ! zincsink name=z ring=%s wait-consumers=1 "
                                "sync=false", addr);
    GstElement *src = gt_launch("zincsrc ring=%s mode=every follow=true ! appsink name=out "
                                "sync=false", addr);
    gt_play(snk);
    gt_play(src);
    GstElement *in = gt_get(snk, "in");
    for (int round = 0; round < 2; round++) {
        GstBuffer *b = gst_buffer_new_allocate(NULL, 64, NULL);
        gst_buffer_memset(b, 0, (guint8)(round + 1), 64);
        cr_assert_eq(gst_app_src_push_buffer(GST_APP_SRC(in), b), GST_FLOW_OK, "round %d", round);
        GstSample *s = gt_pull(src, "out");
        cr_assert(s, "round %d: no frame", round);
        GstMapInfo m;
        cr_assert(gst_buffer_map(gst_sample_get_buffer(s), &m, GST_MAP_READ));
        cr_assert_eq(m.size, 64);
        cr_assert_eq(m.data[0], round + 1);
        gst_buffer_unmap(gst_sample_get_buffer(s), &m);
        if (round == 1)
            cr_assert(GST_BUFFER_FLAG_IS_SET(gst_sample_get_buffer(s), GST_BUFFER_FLAG_DISCONT));
        gst_sample_unref(s);
        if (round == 1)
            break;
        cr_assert_eq(gst_app_src_end_of_stream(GST_APP_SRC(in)), GST_FLOW_OK);
        cr_assert_eq(gt_wait_end(snk, GT_TIMEOUT, NULL), GST_MESSAGE_EOS);
        cr_assert_neq(gst_element_set_state(snk, GST_STATE_READY), GST_STATE_CHANGE_FAILURE);
        gt_play(snk);
    }
    gst_object_unref(in);
    GstBus *bus = gst_element_get_bus(src);
    cr_assert_null(gst_bus_pop_filtered(bus, GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    gst_object_unref(bus);
    cr_assert(stop_within(snk, GT_TIMEOUT / 1000), "stopping the sink hung");
    cr_assert(stop_within(src, GT_TIMEOUT / 1000), "stopping the source hung");
    gst_object_unref(snk);
    gst_object_unref(src);
}
