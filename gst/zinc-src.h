/* SPDX-License-Identifier: MIT */
/* zincsrc: a live GStreamer source that consumes a zinc frame ring. */
#ifndef GST_ZINC_SRC_H
#define GST_ZINC_SRC_H

#include <gst/base/gstpushsrc.h>

G_BEGIN_DECLS

#define GST_TYPE_ZINC_SRC (gst_zinc_src_get_type())
G_DECLARE_FINAL_TYPE(GstZincSrc, gst_zinc_src, GST, ZINC_SRC, GstPushSrc)

G_END_DECLS

#endif /* GST_ZINC_SRC_H */
