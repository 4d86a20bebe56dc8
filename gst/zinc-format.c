/* SPDX-License-Identifier: MIT */
/* Caps <-> frame descriptor. The descriptor side is shared memory written
 * by another process: everything read from it is checked against the
 * payload size before it becomes caps, a GstVideoInfo or a GstVideoMeta. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zinc-format.h"

G_STATIC_ASSERT(sizeof(GstZincLayout) == ZINC_FRAME_USER_SIZE);

G_DEFINE_QUARK(gst-zinc-error-quark, gst_zinc_error)

/* Largest width or height accepted from a ring (GStreamer's own limit is
 * G_MAXINT; this keeps every plane computation far from overflow). */
#define MAX_DIM 32768u

typedef struct fmt_entry {
    GstVideoFormat format;
    guint32 fourcc;
    guint8 n_planes;
    guint8 bpp;       /* plane 0: bytes per pixel */
    guint8 channels;  /* last tensor dimension; 0 = a 2-D tensor */
    guint8 bits;      /* element size of the tensor */
} fmt_entry;

/* V4L2 names: 'AB24' is R,G,B,A in memory (GStreamer RGBA), 'AR24'
 * B,G,R,A, 'XB24' R,G,B,x, 'XR24' B,G,R,x. */
static const fmt_entry formats[] = {
    {GST_VIDEO_FORMAT_RGBA, ZINC_FOURCC('A', 'B', '2', '4'), 1, 4, 4, 8},
    {GST_VIDEO_FORMAT_BGRA, ZINC_FOURCC('A', 'R', '2', '4'), 1, 4, 4, 8},
    {GST_VIDEO_FORMAT_RGBx, ZINC_FOURCC('X', 'B', '2', '4'), 1, 4, 4, 8},
    {GST_VIDEO_FORMAT_BGRx, ZINC_FOURCC('X', 'R', '2', '4'), 1, 4, 4, 8},
    {GST_VIDEO_FORMAT_RGB, ZINC_FOURCC('R', 'G', 'B', '3'), 1, 3, 3, 8},
    {GST_VIDEO_FORMAT_BGR, ZINC_FOURCC('B', 'G', 'R', '3'), 1, 3, 3, 8},
    {GST_VIDEO_FORMAT_GRAY8, ZINC_FOURCC('G', 'R', 'E', 'Y'), 1, 1, 0, 8},
    {GST_VIDEO_FORMAT_GRAY16_LE, ZINC_FOURCC('Y', '1', '6', ' '), 1, 2, 0, 16},
    {GST_VIDEO_FORMAT_NV12, ZINC_FOURCC('N', 'V', '1', '2'), 2, 1, 0, 8},
    {GST_VIDEO_FORMAT_I420, ZINC_FOURCC('Y', 'U', '1', '2'), 3, 1, 0, 8},
    {GST_VIDEO_FORMAT_YUY2, ZINC_FOURCC('Y', 'U', 'Y', 'V'), 1, 2, 2, 8},
};

static const fmt_entry *entry_by_format(GstVideoFormat format)
{
    for (gsize i = 0; i < G_N_ELEMENTS(formats); i++)
        if (formats[i].format == format)
            return &formats[i];
    return NULL;
}

static const fmt_entry *entry_by_fourcc(guint32 fourcc)
{
    for (gsize i = 0; i < G_N_ELEMENTS(formats); i++)
        if (formats[i].fourcc == fourcc)
            return &formats[i];
    return NULL;
}

guint32 gst_zinc_fourcc_from_video_format(GstVideoFormat format)
{
    const fmt_entry *e = entry_by_format(format);
    return e ? e->fourcc : 0;
}

GstVideoFormat gst_zinc_video_format_from_fourcc(guint32 fourcc)
{
    const fmt_entry *e = entry_by_fourcc(fourcc);
    return e ? e->format : GST_VIDEO_FORMAT_UNKNOWN;
}

static void fourcc_text(guint32 fourcc, char out[5])
{
    for (int i = 0; i < 4; i++) {
        char c = (char)((fourcc >> (8 * i)) & 0xff);
        out[i] = g_ascii_isprint(c) ? c : '?';
    }
    out[4] = '\0';
}

/* Bytes of one row of plane p, and the plane's rows. */
static guint64 row_bytes(const fmt_entry *e, guint p, guint64 w)
{
    if (p == 0)
        return e->format == GST_VIDEO_FORMAT_YUY2 ? ((w + 1) & ~(guint64)1) * 2 : w * e->bpp;
    if (e->format == GST_VIDEO_FORMAT_NV12)
        return (w + 1) & ~(guint64)1; /* interleaved U,V pairs */
    return (w + 1) / 2;                /* I420 U or V */
}

static guint64 plane_rows(guint p, guint64 h)
{
    return p == 0 ? h : (h + 1) / 2;
}

/* Every plane inside [0, size), rows no shorter than the pixels they hold. */
static gboolean check_planes(const fmt_entry *e, guint64 w, guint64 h, const guint64 offset[4],
                             const gint64 stride[4], guint64 size, GError **err)
{
    if (w == 0 || h == 0 || w > MAX_DIM || h > MAX_DIM) {
        g_set_error(err, GST_ZINC_ERROR, 0, "image size %" G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT
                    " outside 1..%u", w, h, MAX_DIM);
        return FALSE;
    }
    for (guint p = 0; p < e->n_planes; p++) {
        guint64 rb = row_bytes(e, p, w), rows = plane_rows(p, h);
        if (stride[p] <= 0 || (guint64)stride[p] < rb || (guint64)stride[p] > (1ull << 32)) {
            g_set_error(err, GST_ZINC_ERROR, 0, "plane %u: stride %" G_GINT64_FORMAT
                        " bytes for rows of %" G_GUINT64_FORMAT " bytes", p, stride[p], rb);
            return FALSE;
        }
        guint64 end = offset[p] + (guint64)stride[p] * (rows - 1) + rb; /* < 2^50: no overflow */
        if (offset[p] > (1ull << 40) || end > size) {
            g_set_error(err, GST_ZINC_ERROR, 0, "plane %u: bytes %" G_GUINT64_FORMAT "..%"
                        G_GUINT64_FORMAT " outside the frame's %" G_GUINT64_FORMAT " bytes",
                        p, offset[p], end, size);
            return FALSE;
        }
    }
    return TRUE;
}

gboolean gst_zinc_describe_video(const GstVideoInfo *info, const gsize offset[4],
                                 const gint stride[4], gsize size, zinc_frame *f,
                                 GError **err)
{
    const fmt_entry *e = entry_by_format(GST_VIDEO_INFO_FORMAT(info));
    if (!e) {
        g_set_error(err, GST_ZINC_ERROR, 0, "video format %s is not carried",
                    gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(info)));
        return FALSE;
    }
    guint64 w = (guint64)GST_VIDEO_INFO_WIDTH(info), h = (guint64)GST_VIDEO_INFO_HEIGHT(info);
    guint64 off[4] = {0};
    gint64 str[4] = {0};
    for (guint p = 0; p < e->n_planes; p++) {
        off[p] = offset[p];
        str[p] = stride[p];
    }
    if (!check_planes(e, w, h, off, str, size, err))
        return FALSE;

    GstZincLayout lay;
    memset(&lay, 0, sizeof(lay));
    lay.magic = GST_ZINC_LAYOUT_MAGIC;
    lay.width = (guint32)w;
    lay.height = (guint32)h;
    lay.n_planes = e->n_planes;
    lay.fps_n = GST_VIDEO_INFO_FPS_N(info);
    lay.fps_d = GST_VIDEO_INFO_FPS_D(info);
    for (guint p = 0; p < e->n_planes; p++) {
        lay.offset[p] = (guint32)off[p];
        lay.stride[p] = (gint32)str[p];
    }

    zinc_tensor t;
    memset(&t, 0, sizeof(t));
    t.dtype_code = ZINC_DTYPE_UINT;
    t.dtype_bits = e->bits;
    t.dtype_lanes = 1;
    t.offset = off[0];
    t.shape[0] = h;
    t.shape[1] = w;
    t.strides[0] = str[0];
    t.strides[1] = e->bpp;
    t.ndim = 2;
    if (e->channels) {
        t.ndim = 3;
        t.shape[2] = e->channels;
        t.strides[2] = e->bpp / e->channels;
    } else if (e->format == GST_VIDEO_FORMAT_NV12 && off[1] == off[0] + (guint64)str[0] * h &&
               str[1] == str[0]) {
        /* Y rows then UV rows with one stride: one 2-D array, as
         * zinc_frame_set_image describes NV12. */
        t.shape[0] = h + plane_rows(1, h);
    }
    f->size = size;
    f->fourcc = e->fourcc;
    f->tensor = t;
    memcpy(f->user, &lay, sizeof(lay));
    return TRUE;
}

/* ---- application/x-zinc ---------------------------------------------------- */

static gboolean parse_dims(const char *s, gint64 out[ZINC_TENSOR_MAX_DIMS], guint *n)
{
    *n = 0;
    if (!s || !*s)
        return FALSE;
    for (;;) {
        if (*n == ZINC_TENSOR_MAX_DIMS)
            return FALSE;
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (end == s || errno)
            return FALSE;
        out[(*n)++] = v;
        if (*end == '\0')
            return TRUE;
        if (*end != 'x' && *end != ',')
            return FALSE;
        s = end + 1;
    }
}

static gboolean parse_dtype(const char *s, zinc_tensor *t)
{
    if (!s)
        return FALSE;
    if (g_str_has_prefix(s, "bf")) {
        t->dtype_code = ZINC_DTYPE_BFLOAT;
        s += 2;
    } else if (*s == 'f' || *s == 'u' || *s == 'i') {
        t->dtype_code = *s == 'f' ? ZINC_DTYPE_FLOAT : *s == 'u' ? ZINC_DTYPE_UINT : ZINC_DTYPE_INT;
        s++;
    } else {
        return FALSE;
    }
    char *end;
    unsigned long bits = strtoul(s, &end, 10);
    if (end == s || (bits != 8 && bits != 16 && bits != 32 && bits != 64))
        return FALSE;
    unsigned long lanes = 1;
    if (*end == 'x') {
        s = end + 1;
        lanes = strtoul(s, &end, 10);
        if (end == s || lanes == 0 || lanes > 64)
            return FALSE;
    }
    if (*end)
        return FALSE;
    t->dtype_bits = (guint8)bits;
    t->dtype_lanes = (guint16)lanes;
    return TRUE;
}

static void dtype_text(const zinc_tensor *t, char *out, gsize n)
{
    const char *code = t->dtype_code == ZINC_DTYPE_BFLOAT ? "bf"
                       : t->dtype_code == ZINC_DTYPE_FLOAT ? "f"
                       : t->dtype_code == ZINC_DTYPE_UINT ? "u" : "i";
    if (t->dtype_lanes > 1)
        g_snprintf(out, n, "%s%ux%u", code, t->dtype_bits, t->dtype_lanes);
    else
        g_snprintf(out, n, "%s%u", code, t->dtype_bits);
}

static guint64 elem_bytes(const zinc_tensor *t)
{
    return (guint64)(t->dtype_bits / 8) * t->dtype_lanes;
}

/* Whether strides are the C-contiguous ones for the shape (from dim 1). */
static gboolean packed_strides(const zinc_tensor *t)
{
    guint64 s = elem_bytes(t);
    for (guint d = t->ndim; d-- > 0;) {
        if (t->strides[d] != (gint64)s)
            return FALSE;
        s *= t->shape[d];
    }
    return TRUE;
}

static void set_packed_strides(zinc_tensor *t)
{
    guint64 s = elem_bytes(t);
    for (guint d = t->ndim; d-- > 0;) {
        t->strides[d] = (gint64)s;
        s *= t->shape[d] ? t->shape[d] : 1;
    }
}

/* A sizes field ("480x640x3") as a string; one size alone ("shape=8") is
 * typed as an integer by the caps parser, so it is accepted as one too.
 * NULL when absent or of another type. */
static const char *dims_field(const GstStructure *s, const char *name, char *buf, gsize n)
{
    gint v;
    if (gst_structure_get_int(s, name, &v)) {
        g_snprintf(buf, n, "%d", v);
        return buf;
    }
    return gst_structure_get_string(s, name);
}

gboolean gst_zinc_tensor_caps_parse(const GstStructure *s, GstZincTensorCaps *out, GError **err)
{
    memset(out, 0, sizeof(*out));
    const char *fcc = gst_structure_get_string(s, "fourcc");
    if (fcc) {
        gsize n = strlen(fcc);
        if (n == 0 || n > 4) {
            g_set_error(err, GST_ZINC_ERROR, 0, "fourcc '%s' is not 1 to 4 characters", fcc);
            return FALSE;
        }
        char c[4] = {' ', ' ', ' ', ' '};
        memcpy(c, fcc, n);
        out->fourcc = ZINC_FOURCC(c[0], c[1], c[2], c[3]);
    }
    const char *dtype = gst_structure_get_string(s, "dtype");
    char shape_buf[24], strides_buf[24];
    const char *shape = dims_field(s, "shape", shape_buf, sizeof(shape_buf));
    if (!dtype && !shape)
        return TRUE; /* raw bytes: ndim 0 */
    zinc_tensor *t = &out->tensor;
    if (!parse_dtype(dtype, t)) {
        g_set_error(err, GST_ZINC_ERROR, 0, "dtype '%s' is not u8/i16/f32/bf16... (bits 8, 16, "
                    "32 or 64, optional xLANES)", dtype ? dtype : "(none)");
        return FALSE;
    }
    gint64 dims[ZINC_TENSOR_MAX_DIMS];
    guint n;
    if (!parse_dims(shape, dims, &n)) {
        g_set_error(err, GST_ZINC_ERROR, 0, "shape '%s' is not 1 to 4 sizes like 480x640x3 "
                    "(the first may be -1)", shape ? shape : "(none)");
        return FALSE;
    }
    t->ndim = n;
    for (guint d = 0; d < n; d++) {
        if (dims[d] == -1 && d == 0) {
            out->variable = TRUE;
            t->shape[0] = 0;
            continue;
        }
        if (dims[d] < 0 || dims[d] > (1ll << 40)) {
            g_set_error(err, GST_ZINC_ERROR, 0, "shape '%s': size %" G_GINT64_FORMAT
                        " out of range", shape, dims[d]);
            return FALSE;
        }
        t->shape[d] = (guint64)dims[d];
    }
    const char *strides = dims_field(s, "strides", strides_buf, sizeof(strides_buf));
    guint64 offset = 0;
    if (gst_structure_has_field(s, "offset") &&
        !gst_structure_get_uint64(s, "offset", &offset)) {
        gint o;
        if (!gst_structure_get_int(s, "offset", &o) || o < 0) {
            g_set_error(err, GST_ZINC_ERROR, 0, "offset is not a non-negative integer");
            return FALSE;
        }
        offset = (guint64)o;
    }
    t->offset = offset;
    set_packed_strides(t);
    if (strides) {
        gint64 st[ZINC_TENSOR_MAX_DIMS];
        guint ns;
        if (!parse_dims(strides, st, &ns) || ns != n) {
            g_set_error(err, GST_ZINC_ERROR, 0, "strides '%s' do not match shape '%s'",
                        strides, shape);
            return FALSE;
        }
        for (guint d = 0; d < n; d++)
            t->strides[d] = st[d];
    }
    if (out->variable) {
        if (offset != 0 || !packed_strides(t) || t->strides[0] <= 0) {
            g_set_error(err, GST_ZINC_ERROR, 0, "a shape starting with -1 needs packed strides "
                        "and offset 0");
            return FALSE;
        }
        out->row_bytes = (guint64)t->strides[0];
        return TRUE;
    }
    /* A fixed tensor must at least describe itself consistently. */
    out->size = zinc_tensor_span(t);
    if (out->size == 0 && zinc_tensor_check(t, G_MAXUINT64) != 0) {
        g_set_error(err, GST_ZINC_ERROR, 0, "tensor (dtype %s, shape %s) is invalid: %s",
                    dtype, shape, zinc_last_error());
        return FALSE;
    }
    return TRUE;
}

gboolean gst_zinc_describe_tensor(const GstZincTensorCaps *tc, gsize size, zinc_frame *f,
                                  GError **err)
{
    zinc_tensor t = tc->tensor;
    if (tc->variable) {
        if (size % tc->row_bytes) {
            g_set_error(err, GST_ZINC_ERROR, 0, "buffer of %" G_GSIZE_FORMAT " bytes is not a "
                        "whole number of rows of %" G_GUINT64_FORMAT " bytes", size,
                        tc->row_bytes);
            return FALSE;
        }
        t.shape[0] = size / tc->row_bytes;
    }
    if (t.ndim && zinc_tensor_check(&t, size) != 0) {
        g_set_error(err, GST_ZINC_ERROR, 0, "buffer of %" G_GSIZE_FORMAT " bytes does not hold "
                    "the tensor of the caps: %s", size, zinc_last_error());
        return FALSE;
    }
    f->size = size;
    f->fourcc = tc->fourcc;
    f->tensor = t;
    memset(f->user, 0, sizeof(f->user));
    return TRUE;
}

/* A tensor whose rows can be counted from the size: caps say -1 for the
 * first dimension, so a point cloud whose N changes keeps its caps. */
static gboolean tensor_variable(const zinc_frame *f)
{
    const zinc_tensor *t = &f->tensor;
    return t->ndim > 0 && t->offset == 0 && packed_strides(t) && t->strides[0] > 0 &&
           (guint64)t->strides[0] * t->shape[0] == f->size;
}

/* ---- descriptor -> caps ------------------------------------------------------ */

static gboolean video_from_tensor(const fmt_entry *e, const zinc_frame *f, guint64 *w,
                                  guint64 *h, guint64 off[4], gint64 str[4], GError **err)
{
    const zinc_tensor *t = &f->tensor;
    char fcc[5];
    fourcc_text(f->fourcc, fcc);
    gboolean ok = t->dtype_code == ZINC_DTYPE_UINT && t->dtype_bits == e->bits &&
                  t->dtype_lanes == 1;
    guint want_ndim = e->channels ? 3 : 2;
    ok = ok && t->ndim == want_ndim && t->strides[1] == e->bpp;
    if (ok && e->channels)
        ok = t->shape[2] == e->channels && t->strides[2] == e->bpp / e->channels;
    if (!ok) {
        g_set_error(err, GST_ZINC_ERROR, 0, "fourcc '%s' with a tensor of ndim %u, dtype "
                    "code %u/%u bits and strides %" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                    " is not an image of that format", fcc, t->ndim, t->dtype_code,
                    t->dtype_bits, t->strides[0], t->strides[1]);
        return FALSE;
    }
    *w = t->shape[1];
    *h = t->shape[0];
    off[0] = t->offset;
    str[0] = t->strides[0];
    if (e->n_planes == 1)
        return TRUE;
    /* Planar without a layout: Y rows then the chroma rows, as
     * zinc_frame_set_image describes NV12 (and packed I420 likewise). */
    if (t->shape[0] % 3 || str[0] <= 0) {
        g_set_error(err, GST_ZINC_ERROR, 0, "fourcc '%s': %" G_GUINT64_FORMAT " rows are not "
                    "height + height/2", fcc, t->shape[0]);
        return FALSE;
    }
    *h = t->shape[0] / 3 * 2;
    off[1] = off[0] + (guint64)str[0] * *h;
    if (e->format == GST_VIDEO_FORMAT_NV12) {
        str[1] = str[0];
        return TRUE;
    }
    if ((guint64)str[0] != *w || *w % 2) {
        g_set_error(err, GST_ZINC_ERROR, 0, "fourcc '%s' without a plane layout needs packed "
                    "rows of an even width", fcc);
        return FALSE;
    }
    str[1] = str[2] = str[0] / 2;
    off[2] = off[1] + (guint64)str[1] * (*h / 2);
    return TRUE;
}

static gboolean video_caps(const fmt_entry *e, const zinc_frame *f, GstZincFormat *out,
                           GError **err)
{
    GstZincLayout lay;
    memcpy(&lay, f->user, sizeof(lay));
    guint64 w, h, off[4] = {0};
    gint64 str[4] = {0};
    gint fps_n = 0, fps_d = 1;
    if (lay.magic == GST_ZINC_LAYOUT_MAGIC) {
        if (lay.n_planes != e->n_planes) {
            g_set_error(err, GST_ZINC_ERROR, 0, "plane layout has %u planes, the format %u",
                        lay.n_planes, e->n_planes);
            return FALSE;
        }
        w = lay.width;
        h = lay.height;
        for (guint p = 0; p < e->n_planes; p++) {
            off[p] = lay.offset[p];
            str[p] = lay.stride[p];
        }
        if (lay.fps_n > 0 && lay.fps_d > 0) {
            fps_n = lay.fps_n;
            fps_d = lay.fps_d;
        }
    } else if (!video_from_tensor(e, f, &w, &h, off, str, err)) {
        return FALSE;
    }
    if (!check_planes(e, w, h, off, str, f->size, err))
        return FALSE;

    GstVideoInfo *info = &out->info;
    gst_video_info_init(info);
    if (!gst_video_info_set_format(info, e->format, (guint)w, (guint)h)) {
        g_set_error(err, GST_ZINC_ERROR, 0, "GStreamer rejects a %" G_GUINT64_FORMAT "x%"
                    G_GUINT64_FORMAT " %s image", w, h, gst_video_format_to_string(e->format));
        return FALSE;
    }
    GST_VIDEO_INFO_FPS_N(info) = fps_n;
    GST_VIDEO_INFO_FPS_D(info) = fps_d;
    out->default_layout = f->size >= info->size;
    for (guint p = 0; p < e->n_planes; p++) {
        if (info->offset[p] != off[p] || info->stride[p] != str[p])
            out->default_layout = FALSE;
        info->offset[p] = (gsize)off[p];
        info->stride[p] = (gint)str[p];
    }
    info->size = (gsize)f->size;
    out->is_video = TRUE;
    out->caps = gst_video_info_to_caps(info);
    return out->caps != NULL;
}

static gboolean tensor_caps(const zinc_frame *f, GstZincFormat *out, GError **err)
{
    const zinc_tensor *t = &f->tensor;
    GstStructure *s = gst_structure_new_empty(GST_ZINC_TENSOR_MEDIA);
    if (f->fourcc) {
        char fcc[5];
        fourcc_text(f->fourcc, fcc);
        gst_structure_set(s, "fourcc", G_TYPE_STRING, fcc, NULL);
    }
    if (t->ndim > 0) {
        if (zinc_tensor_check(t, f->size) != 0) {
            g_set_error(err, GST_ZINC_ERROR, 0, "tensor descriptor: %s", zinc_last_error());
            gst_structure_free(s);
            return FALSE;
        }
        char dt[16];
        dtype_text(t, dt, sizeof(dt));
        gboolean variable = tensor_variable(f);
        GString *shape = g_string_new(NULL), *strides = g_string_new(NULL);
        for (guint d = 0; d < t->ndim; d++) {
            if (d == 0 && variable)
                g_string_append(shape, "-1");
            else
                g_string_append_printf(shape, "%s%" G_GUINT64_FORMAT, d ? "x" : "", t->shape[d]);
            g_string_append_printf(strides, "%s%" G_GINT64_FORMAT, d ? "x" : "", t->strides[d]);
        }
        gst_structure_set(s, "dtype", G_TYPE_STRING, dt, "shape", G_TYPE_STRING, shape->str,
                          NULL);
        if (!packed_strides(t))
            gst_structure_set(s, "strides", G_TYPE_STRING, strides->str, NULL);
        if (t->offset)
            gst_structure_set(s, "offset", G_TYPE_UINT64, (guint64)t->offset, NULL);
        g_string_free(shape, TRUE);
        g_string_free(strides, TRUE);
    }
    out->is_video = FALSE;
    out->caps = gst_caps_new_full(s, NULL);
    return TRUE;
}

gboolean gst_zinc_format_from_desc(const zinc_frame *f, GstZincFormat *out, GError **err)
{
    memset(out, 0, sizeof(*out));
    const fmt_entry *e = entry_by_fourcc(f->fourcc);
    if (e)
        return video_caps(e, f, out, err);
    return tensor_caps(f, out, err);
}

void gst_zinc_copy_planes(const GstVideoInfo *src_info, const guint8 *src,
                          const GstVideoInfo *dst_info, guint8 *dst)
{
    const fmt_entry *e = entry_by_format(GST_VIDEO_INFO_FORMAT(src_info));
    if (!e)
        return;
    guint64 w = (guint64)GST_VIDEO_INFO_WIDTH(src_info), h = (guint64)GST_VIDEO_INFO_HEIGHT(src_info);
    for (guint p = 0; p < e->n_planes; p++) {
        guint64 rb = row_bytes(e, p, w), rows = plane_rows(p, h);
        for (guint64 r = 0; r < rows; r++)
            memcpy(dst + dst_info->offset[p] + r * (guint64)dst_info->stride[p],
                   src + src_info->offset[p] + r * (guint64)src_info->stride[p], rb);
    }
}

void gst_zinc_format_clear(GstZincFormat *fmt)
{
    gst_clear_caps(&fmt->caps);
}

void gst_zinc_desc_key(const zinc_frame *f, GstZincDescKey *key)
{
    memset(key, 0, sizeof(*key));
    key->fourcc = f->fourcc;
    key->tensor = f->tensor;
    memcpy(key->user, f->user, sizeof(key->user));
    if (!entry_by_fourcc(f->fourcc) && (f->tensor.ndim == 0 || tensor_variable(f))) {
        key->variable = 1;
        key->tensor.shape[0] = 0; /* rows follow the size: not part of the caps */
    } else {
        key->size = f->size;
    }
}

guint64 gst_zinc_mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (guint64)ts.tv_sec * 1000000000u + (guint64)ts.tv_nsec;
}

gint64 gst_zinc_clock_offset(GstZincClockMap *map, GstClock *clock)
{
    if (clock != map->seen) {
        GstClockType type = GST_CLOCK_TYPE_REALTIME;
        if (GST_IS_SYSTEM_CLOCK(clock))
            g_object_get(clock, "clock-type", &type, NULL);
        map->is_mono = type == GST_CLOCK_TYPE_MONOTONIC;
        map->seen = clock;
    }
    return map->is_mono ? 0 : (gint64)gst_zinc_mono_now() - (gint64)gst_clock_get_time(clock);
}
