/* SPDX-License-Identifier: MIT */
/* zincsink: a GStreamer sink that produces a zinc frame ring. */
#ifndef GST_ZINC_SINK_H
#define GST_ZINC_SINK_H

#include <gst/base/gstbasesink.h>

G_BEGIN_DECLS

#define GST_TYPE_ZINC_SINK (gst_zinc_sink_get_type())
G_DECLARE_FINAL_TYPE(GstZincSink, gst_zinc_sink, GST, ZINC_SINK, GstBaseSink)

G_END_DECLS

#endif /* GST_ZINC_SINK_H */
