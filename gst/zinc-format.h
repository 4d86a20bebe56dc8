/* SPDX-License-Identifier: MIT */
/*
 * zinc-format.h — what a frame descriptor means in GStreamer terms: the
 * GstVideoFormat <-> fourcc table, the plane layout kept in zinc_frame.user,
 * and the conversions caps -> descriptor (zincsink) and descriptor -> caps
 * (zincsrc). Every descriptor read from a ring is validated here before a
 * byte of its payload is used.
 */
#ifndef GST_ZINC_FORMAT_H
#define GST_ZINC_FORMAT_H

#include <gst/gst.h>
#include <gst/video/video.h>

#include <zinc/ring.h>

G_BEGIN_DECLS

/* Video formats both elements carry, as a caps list. */
#define GST_ZINC_VIDEO_FORMATS \
    "{ RGBA, BGRA, RGBx, BGRx, RGB, BGR, GRAY8, GRAY16_LE, NV12, I420, YUY2 }"

#define GST_ZINC_TENSOR_MEDIA "application/x-zinc"

/* The plane layout zincsink writes into zinc_frame.user for video frames
 * (host byte order; docs/gstreamer.md). Producers that leave the user
 * bytes alone (examples/camera, the Python adapter) are read from their
 * fourcc and tensor instead. */
#define GST_ZINC_LAYOUT_MAGIC ZINC_FOURCC('Z', 'V', 'L', '1')
typedef struct GstZincLayout {
    guint32 magic;      /* GST_ZINC_LAYOUT_MAGIC */
    guint32 width;
    guint32 height;
    guint16 n_planes;   /* 1..3 */
    guint16 reserved0;
    gint32 fps_n;       /* 0/1: unknown or variable */
    gint32 fps_d;
    guint32 offset[4];  /* bytes from the payload's start to each plane */
    gint32 stride[4];   /* bytes between rows of each plane */
    guint64 reserved1;
} GstZincLayout;

/* fourcc of a video format; 0 if the format is not carried. */
guint32 gst_zinc_fourcc_from_video_format(GstVideoFormat format);
/* Video format of a fourcc; GST_VIDEO_FORMAT_UNKNOWN if none. */
GstVideoFormat gst_zinc_video_format_from_fourcc(guint32 fourcc);

/* zincsink, video: fill f's size, fourcc, tensor and user from the
 * negotiated info and the buffer's plane layout (offset/stride: from its
 * GstVideoMeta, or the info's). FALSE with *err when a plane lies outside
 * `size` bytes. */
gboolean gst_zinc_describe_video(const GstVideoInfo *info, const gsize offset[4],
                                 const gint stride[4], gsize size, zinc_frame *f,
                                 GError **err);

/* application/x-zinc caps, parsed. */
typedef struct GstZincTensorCaps {
    zinc_tensor tensor;  /* shape[0] = 0 when `variable` */
    guint32 fourcc;
    gboolean variable;   /* shape's first dimension is -1: rows = size / row_bytes */
    guint64 row_bytes;   /* bytes per step of the first dimension (variable only) */
    guint64 size;        /* frame bytes when fixed (the tensor's span); 0 when variable or raw */
} GstZincTensorCaps;

/* Parse application/x-zinc caps (fields dtype, shape, strides, offset,
 * fourcc). FALSE with *err on a malformed field. */
gboolean gst_zinc_tensor_caps_parse(const GstStructure *s, GstZincTensorCaps *out,
                                    GError **err);

/* zincsink, tensors: fill f for a buffer of `size` bytes. */
gboolean gst_zinc_describe_tensor(const GstZincTensorCaps *tc, gsize size, zinc_frame *f,
                                  GError **err);

/* zincsrc: what a descriptor read from a ring means. */
typedef struct GstZincFormat {
    gboolean is_video;
    GstVideoInfo info;   /* video: format, size, plane offsets and strides */
    gboolean default_layout; /* video: planes where GStreamer expects them without a meta */
    GstCaps *caps;       /* owned */
} GstZincFormat;

/* Derive caps from a descriptor (a frame's or the stream's). FALSE with
 * *err for a descriptor that does not describe what it claims (bad strides,
 * planes outside the payload, unknown dtype): the caller posts it as an
 * element error. */
gboolean gst_zinc_format_from_desc(const zinc_frame *f, GstZincFormat *out, GError **err);
void gst_zinc_format_clear(GstZincFormat *fmt);

/* Copy a video frame laid out as `src_info` says into `dst_info`'s layout
 * (same format and size; planes checked by gst_zinc_format_from_desc). */
void gst_zinc_copy_planes(const GstVideoInfo *src_info, const guint8 *src,
                          const GstVideoInfo *dst_info, guint8 *dst);

/* The part of a descriptor that decides its caps: two frames with equal
 * keys have equal caps, so zincsrc renegotiates only when the key changes. */
typedef struct GstZincDescKey {
    guint32 fourcc;
    guint32 variable;
    guint64 size;        /* 0 when the size is free (variable tensors) */
    zinc_tensor tensor;  /* shape[0] = 0 when variable */
    guint8 user[ZINC_FRAME_USER_SIZE];
} GstZincDescKey;
void gst_zinc_desc_key(const zinc_frame *f, GstZincDescKey *key);

/* Mapping a pipeline clock's time to CLOCK_MONOTONIC (the ring's clock):
 * GStreamer's default system clock is CLOCK_MONOTONIC itself; another
 * clock is mapped through the offset between the two read now. `seen` is
 * the clock last judged (compared only, never dereferenced). */
typedef struct GstZincClockMap {
    GstClock *seen;
    gboolean is_mono;
} GstZincClockMap;
/* CLOCK_MONOTONIC now, in ns. */
guint64 gst_zinc_mono_now(void);
/* CLOCK_MONOTONIC minus `clock`'s time, now: 0 for a monotonic system clock. */
gint64 gst_zinc_clock_offset(GstZincClockMap *map, GstClock *clock);

/* Error domain of this file's GErrors. */
#define GST_ZINC_ERROR (gst_zinc_error_quark())
GQuark gst_zinc_error_quark(void);

G_END_DECLS

#endif /* GST_ZINC_FORMAT_H */
