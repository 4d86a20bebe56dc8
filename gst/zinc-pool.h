/* SPDX-License-Identifier: MIT */
/*
 * zinc-pool.h — the GstBufferPool zincsink answers the ALLOCATION query
 * with: each buffer it hands out is a claimed ring slot, so upstream renders
 * straight into shared memory and the sink only publishes. The ring allows
 * one open claim per producer, hence at most one buffer out at a time
 * (max-buffers 1); a buffer given back unpublished aborts its claim.
 */
#ifndef GST_ZINC_POOL_H
#define GST_ZINC_POOL_H

#include <gst/gst.h>

#include "zinc-producer.h"

G_BEGIN_DECLS

#define GST_TYPE_ZINC_POOL (gst_zinc_pool_get_type())
G_DECLARE_FINAL_TYPE(GstZincPool, gst_zinc_pool, GST, ZINC_POOL, GstBufferPool)

GstBufferPool *gst_zinc_pool_new(GstZincProducer *zp);

G_END_DECLS

#endif /* GST_ZINC_POOL_H */
