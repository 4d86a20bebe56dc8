/* SPDX-License-Identifier: MIT */
/* The `zinc` GStreamer plugin: zincsink and zincsrc. */
#include <gst/gst.h>

#include <zinc/zinc.h>

#include "zinc-memory.h"
#include "zinc-sink.h"
#include "zinc-src.h"

#ifndef PACKAGE
#define PACKAGE "zinc"
#endif

static gboolean plugin_init(GstPlugin *plugin)
{
    gst_zinc_memory_init_once();
    return gst_element_register(plugin, "zincsink", GST_RANK_NONE, GST_TYPE_ZINC_SINK) &&
           gst_element_register(plugin, "zincsrc", GST_RANK_NONE, GST_TYPE_ZINC_SRC);
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, zinc,
                  "Zero-copy shared-memory frame rings (zinc) as GStreamer elements",
                  plugin_init, ZINC_VERSION_STRING, "MIT", "zinc", "zinc")
