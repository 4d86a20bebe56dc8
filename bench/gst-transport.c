/* SPDX-License-Identifier: MIT */
/*
 * gst-transport — zincsink/zincsrc against GStreamer's shmsink/shmsrc, two
 * processes, the same source, sink and caps; only the transport pair
 * differs.
 *
 *   producer (child):  videotestsrc ! CAPS ! <zincsink | shmsink>
 *   consumer (parent): <zincsrc | shmsrc ! CAPS> ! fakesink signal-handoffs=true
 *
 * The consumer's handoff callback reads every byte of each frame (a sum),
 * so a transport cannot win by never touching the data. A probe on the
 * producer's sink pad writes CLOCK_MONOTONIC into the frame's first 8 bytes
 * just before the transport takes it (shmsrc carries no timestamps, so the
 * stamp travels in the payload for both); the consumer subtracts it from
 * its own clock on arrival. CPU time is both processes' user + system time
 * from their first frame to their last, divided by the frames.
 *
 * --transport none runs source and sink in one process with no transport
 * between them: the floor both pairs stand on.
 *
 *   gst-transport --transport zinc|shm|none --size WxH --format GRAY8|RGBA
 *                 --frames N [--fps F] [--json]
 *
 * --fps 0 (default): as fast as the pair goes, lossless on both sides
 * (zincsrc mode=every; shmsink's area holds every frame: with a smaller one
 * shmsink 1.22 stalls now and then once the area is full, so it never has
 * to wait here). --fps F: a live
 * source paced at F, zincsrc mode=latest: for latency.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gst/gst.h>

static guint64 now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (guint64)ts.tv_sec * 1000000000u + (guint64)ts.tv_nsec;
}

static double cpu_s(const struct rusage *ru)
{
    return (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 +
           (double)ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
}

/* The producer's CPU time from its first frame on (start-up excluded). */
static struct rusage g_prod_start;
static gboolean g_prod_started;

static GstPadProbeReturn stamp(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
    if (!g_prod_started) {
        getrusage(RUSAGE_SELF, &g_prod_start);
        g_prod_started = TRUE;
    }
    GstMapInfo m;
    /* The buffer is about to be handed to the transport: its memory is
     * the transport's (a ring slot, the shm area) and writable here. */
    if (gst_buffer_map(b, &m, GST_MAP_WRITE)) {
        guint64 t = now_ns();
        memcpy(m.data, &t, sizeof(t));
        gst_buffer_unmap(b, &m);
    }
    return GST_PAD_PROBE_OK;
}

typedef struct {
    guint64 frames, want, first_ns, last_ns, sum;
    guint64 *lat;
    struct rusage r0, r1; /* at the first and the last frame */
    GMainLoop *loop;
} consumer_state;

/* fakesink's handoff, in the streaming thread: the buffer goes back as
 * soon as this returns (appsink would keep the last one referenced). */
static void on_handoff(GstElement *sink, GstBuffer *b, GstPad *pad, gpointer data)
{
    consumer_state *st = data;
    guint64 t = now_ns();
    GstMapInfo m;
    if (gst_buffer_map(b, &m, GST_MAP_READ)) {
        guint64 sent, sum = 0;
        memcpy(&sent, m.data, sizeof(sent));
        const guint64 *w = (const guint64 *)(const void *)m.data;
        for (gsize i = 0; i < m.size / 8; i++)
            sum += w[i];
        st->sum += sum;
        if (st->frames < st->want)
            st->lat[st->frames] = t - sent;
        gst_buffer_unmap(b, &m);
    }
    if (!st->frames) {
        st->first_ns = t;
        getrusage(RUSAGE_SELF, &st->r0);
    }
    st->last_ns = t;
    if (++st->frames == st->want) {
        getrusage(RUSAGE_SELF, &st->r1);
        g_main_loop_quit(st->loop); /* thread-safe */
    }
}

static int cmp_u64(const void *a, const void *b)
{
    guint64 x = *(const guint64 *)a, y = *(const guint64 *)b;
    return x < y ? -1 : x > y;
}

static guint64 *g_frames;

static gboolean on_timeout(gpointer loop)
{
    fprintf(stderr, "gst-transport: timed out after %" G_GUINT64_FORMAT " frames\n",
            g_frames ? *g_frames : 0);
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

static GstElement *launch(const char *line)
{
    GError *err = NULL;
    GstElement *p = gst_parse_launch(line, &err);
    if (!p) {
        fprintf(stderr, "gst-transport: %s: %s\n", line, err ? err->message : "?");
        exit(1);
    }
    return p;
}

int main(int argc, char **argv)
{
    const char *transport = "zinc", *format = "GRAY8";
    guint w = 320, h = 240;
    guint64 frames = 2000;
    double fps = 0;
    gboolean json = FALSE;
    static const struct option lo[] = {
        {"transport", required_argument, NULL, 't'}, {"size", required_argument, NULL, 's'},
        {"format", required_argument, NULL, 'f'}, {"frames", required_argument, NULL, 'n'},
        {"fps", required_argument, NULL, 'r'}, {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 't': transport = optarg; break;
        case 's': if (sscanf(optarg, "%ux%u", &w, &h) != 2) return 2; break;
        case 'f': format = optarg; break;
        case 'n': frames = g_ascii_strtoull(optarg, NULL, 10); break;
        case 'r': fps = g_ascii_strtod(optarg, NULL); break;
        case 'j': json = TRUE; break;
        default:
            fprintf(stderr, "usage: gst-transport --transport zinc|shm --size WxH --format F "
                            "--frames N [--fps F] [--json]\n");
            return 2;
        }
    }
    gboolean zinc = strcmp(transport, "zinc") == 0;
    gboolean none = strcmp(transport, "none") == 0; /* the floor: one process, no transport */
    gboolean live = fps > 0;
    char name[64], caps[256], line[1024];
    g_snprintf(name, sizeof(name), "gstbench%d", (int)getpid());
    g_snprintf(caps, sizeof(caps), "video/x-raw,format=%s,width=%u,height=%u,framerate=%d/1",
               format, w, h, live ? (int)fps : 30); /* 0/1 upsets shmsink (1.22) */
    gsize frame = (gsize)w * h * (strcmp(format, "RGBA") == 0 ? 4 : 1);
    gchar *sock = g_strdup_printf("/tmp/%s.sock", name);
    unlink(sock);

    int ready[2], res[2];
    if (pipe(ready) != 0 || pipe(res) != 0)
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        /* Producer. It starts after the consumer has been set up (zinc
         * waits for it; shmsink waits for a connection). */
        close(ready[1]);
        close(res[0]);
        char b;
        if (read(ready[0], &b, 1) != 1)
            _exit(1);
        if (none) {
            guint64 zero = 0;
            double nocpu = 0;
            if (write(res[1], &zero, sizeof(zero)) != sizeof(zero) ||
                write(res[1], &nocpu, sizeof(nocpu)) != sizeof(nocpu))
                _exit(1);
            _exit(0);
        }
        gst_init(NULL, NULL);
        /* live: a margin, a latest consumer may miss a few */
        guint64 produce = live ? frames + 50 : frames;
        if (zinc)
            g_snprintf(line, sizeof(line), "videotestsrc num-buffers=%" G_GUINT64_FORMAT
                       " pattern=gradient is-live=%d ! %s ! zincsink name=t ring=%s slots=8 "
                       "wait-consumers=1 sync=false %s", produce, live, caps, name,
                       g_getenv("GST_TRANSPORT_ZINCSINK") ? g_getenv("GST_TRANSPORT_ZINCSINK") : "");
        else
            g_snprintf(line, sizeof(line), "videotestsrc num-buffers=%" G_GUINT64_FORMAT
                       " pattern=gradient is-live=%d ! %s ! shmsink name=t socket-path=%s "
                       "shm-size=%zu wait-for-connection=true sync=false", produce, live,
                       caps, sock, frame * (produce + 16));
        GstElement *p = launch(line);
        GstElement *t = gst_bin_get_by_name(GST_BIN(p), "t");
        GstPad *pad = gst_element_get_static_pad(t, "sink");
        if (!g_getenv("GST_TRANSPORT_NO_STAMP"))
            gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, stamp, NULL, NULL);
        gst_element_set_state(p, GST_STATE_PLAYING);
        GstBus *bus = gst_element_get_bus(p);
        GstMessage *m = gst_bus_timed_pop_filtered(bus, 120 * GST_SECOND,
                                                   GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
        int rc = 0;
        if (m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
            GError *err = NULL;
            gst_message_parse_error(m, &err, NULL);
            fprintf(stderr, "gst-transport: producer: %s\n", err->message);
            rc = 1;
        }
        struct rusage end;
        getrusage(RUSAGE_SELF, &end);
        double cpu = cpu_s(&end) - cpu_s(&g_prod_start);
        guint64 copies = 0;
        if (zinc)
            g_object_get(t, "copies", &copies, NULL);
        if (write(res[1], &copies, sizeof(copies)) != sizeof(copies) ||
            write(res[1], &cpu, sizeof(cpu)) != sizeof(cpu))
            rc = 1;
        /* shmsink: stay until the consumer is done with the area. */
        if (!zinc && read(ready[0], &b, 1) < 0)
            rc = 1;
        _exit(rc);
    }
    close(ready[0]);
    close(res[1]);
    signal(SIGPIPE, SIG_IGN); /* the producer may be gone when we say "done" */
    gst_init(&argc, &argv);

    consumer_state st = {.want = frames};
    st.lat = g_new0(guint64, frames);
    st.loop = g_main_loop_new(NULL, FALSE);
    if (none)
        g_snprintf(line, sizeof(line), "videotestsrc num-buffers=%" G_GUINT64_FORMAT
                   " pattern=gradient is-live=%d ! %s ! identity name=t ! fakesink name=out "
                   "sync=false enable-last-sample=false signal-handoffs=true", frames, live,
                   caps);
    else if (zinc)
        g_snprintf(line, sizeof(line), "zincsrc name=t ring=%s mode=%s ! fakesink name=out "
                   "sync=false enable-last-sample=false signal-handoffs=true", name,
                   live ? "latest" : "every");
    else
        g_snprintf(line, sizeof(line), "shmsrc name=t socket-path=%s is-live=true ! %s ! "
                   "fakesink name=out sync=false enable-last-sample=false signal-handoffs=true",
                   sock, caps);
    GstElement *p = launch(line);
    GstElement *out = gst_bin_get_by_name(GST_BIN(p), "out");
    g_signal_connect(out, "handoff", G_CALLBACK(on_handoff), &st);
    if (none) {
        GstElement *t = gst_bin_get_by_name(GST_BIN(p), "t");
        GstPad *pad = gst_element_get_static_pad(t, "sink");
        gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, stamp, NULL, NULL);
        gst_object_unref(pad);
        gst_object_unref(t);
    }
    struct rusage rc;
    if (write(ready[1], "g", 1) != 1)
        return 1;
    /* shmsrc connects at start: wait for shmsink's socket (zincsrc waits
     * for its ring by itself). */
    for (int i = 0; !zinc && !none && i < 10000 && access(sock, F_OK) != 0; i++)
        g_usleep(1000);
    /* shmsink's socket file exists from bind() on, a moment before it
     * listens: a refused connection fails the start, so try again. */
    for (int i = 0; i < 500; i++) {
        if (gst_element_set_state(p, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE)
            break;
        gst_element_set_state(p, GST_STATE_NULL);
        g_usleep(10000);
    }
    g_frames = &st.frames;
    g_timeout_add_seconds(60, on_timeout, st.loop);
    g_main_loop_run(st.loop);
    guint64 src_copies = 0;
    if (zinc) {
        GstElement *t = gst_bin_get_by_name(GST_BIN(p), "t");
        g_object_get(t, "copies", &src_copies, NULL);
        gst_object_unref(t);
    }
    gst_element_set_state(p, GST_STATE_NULL);
    if (write(ready[1], "d", 1) != 1) { /* shmsink may go */ }
    close(ready[1]);
    guint64 sink_copies = 0;
    double prod_cpu = 0;
    if (read(res[0], &sink_copies, sizeof(sink_copies)) != sizeof(sink_copies) ||
        read(res[0], &prod_cpu, sizeof(prod_cpu)) != sizeof(prod_cpu))
        prod_cpu = -1;
    int status;
    wait4(pid, &status, 0, &rc);
    unlink(sock);

    guint64 n = st.frames;
    if (n < 2) {
        fprintf(stderr, "gst-transport: only %" G_GUINT64_FORMAT " frames arrived\n", n);
        return 1;
    }
    double secs = (double)(st.last_ns - st.first_ns) / 1e9;
    double fps_got = (double)(n - 1) / secs;
    /* Both processes, first frame to last (start-up and teardown left out;
     * the producer's span also ends at its last frame). */
    double cpu = (cpu_s(&st.r1) - cpu_s(&st.r0)) + prod_cpu;
    (void)rc;
    qsort(st.lat, n, sizeof(guint64), cmp_u64);
    double p50 = st.lat[n / 2] / 1e3, p99 = st.lat[(n * 99) / 100] / 1e3;
    if (json)
        printf("{\"transport\":\"%s\",\"format\":\"%s\",\"width\":%u,\"height\":%u,"
               "\"frames\":%" G_GUINT64_FORMAT ",\"fps\":%.1f,\"cpu_us_per_frame\":%.2f,"
               "\"lat_p50_us\":%.1f,\"lat_p99_us\":%.1f,\"sink_copies\":%" G_GUINT64_FORMAT
               ",\"src_copies\":%" G_GUINT64_FORMAT "}\n",
               transport, format, w, h, n, fps_got, cpu / (double)n * 1e6, p50, p99,
               sink_copies, src_copies);
    else
        printf("%s %s %ux%u: %" G_GUINT64_FORMAT " frames, %.0f frames/s, %.1f us CPU/frame, "
               "latency p50 %.1f us p99 %.1f us, copies sink %" G_GUINT64_FORMAT " src %"
               G_GUINT64_FORMAT "\n", transport, format, w, h, n, fps_got,
               cpu / (double)n * 1e6, p50, p99, sink_copies, src_copies);
    g_free(st.lat);
    g_free(sock);
    gst_object_unref(out);
    gst_object_unref(p);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
