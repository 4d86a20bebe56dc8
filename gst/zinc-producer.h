/* SPDX-License-Identifier: MIT */
/*
 * zinc-producer.h — one ring's producer, shared by zincsink and the buffer
 * pool it hands upstream. The C API allows one open claim per producer and
 * a handle used by one thread at a time; this object serialises the two
 * threads (upstream acquiring from the pool, the sink publishing) around
 * that single claim, and keeps the mapping alive while any slot memory
 * still points into it.
 */
#ifndef GST_ZINC_PRODUCER_H
#define GST_ZINC_PRODUCER_H

#include <gst/gst.h>

#include <zinc/ring.h>

G_BEGIN_DECLS

typedef struct GstZincProducer GstZincProducer;

/* Create ring `name`. With `address` (cfg->flags has ZINC_RING_ANONYMOUS),
 * the ring is a sealed memfd labelled `name` and served to consumers on
 * that socket address by the library's listener thread (never the
 * caller's). NULL with *err (zinc's code and message). */
GstZincProducer *gst_zinc_producer_new(const char *name, const zinc_ring_config *cfg,
                                       const char *address, GError **err);
GstZincProducer *gst_zinc_producer_ref(GstZincProducer *zp);
void gst_zinc_producer_unref(GstZincProducer *zp);

guint64 gst_zinc_producer_slot_size(const GstZincProducer *zp);

/* Claim the next slot into *f. Waits while another claim is open (a pool
 * buffer upstream) and while EVERY consumers hold the ring, until *cancel
 * turns non-zero (GST_FLOW_FLUSHING). A non-pool claim waits at most
 * `open_wait_us` for a pool claim to close (then GST_FLOW_ERROR with
 * *err). GST_FLOW_EOS once the producer is closed. */
GstFlowReturn gst_zinc_producer_claim(GstZincProducer *zp, gboolean for_pool, zinc_frame *f,
                                      const gint *cancel, gint64 open_wait_us, GError **err);

/* Publish the open claim with f's descriptor (f->seq names it). zinc code. */
int gst_zinc_producer_publish(GstZincProducer *zp, zinc_frame *f);

/* Abort the open claim if it is f's (a frame that will not be published). */
void gst_zinc_producer_abort(GstZincProducer *zp, const zinc_frame *f);

/* The open claim, if `mem` wraps it (zero copy: the sink got a pool buffer). */
gboolean gst_zinc_producer_claimed(GstZincProducer *zp, GstMemory *mem, zinc_frame *f);

/* Slot memory over the claimed frame f, `size` bytes of the slot. */
GstMemory *gst_zinc_producer_wrap(GstZincProducer *zp, const zinc_frame *f, gsize size);

/* Live consumers whose start point is fixed (attached_ns set), read from
 * the ring's table without attaching; a negative zinc code if unreadable. */
gint gst_zinc_producer_attached(GstZincProducer *zp);

int gst_zinc_producer_set_stream(GstZincProducer *zp, const zinc_frame *desc);

/* Wake claims waiting in gst_zinc_producer_claim (after setting *cancel). */
void gst_zinc_producer_wake(GstZincProducer *zp);

/* Close the ring (consumers see the end) as soon as no slot memory is
 * alive; an open pool claim is aborted when its buffer comes back. */
void gst_zinc_producer_close(GstZincProducer *zp);

G_END_DECLS

#endif /* GST_ZINC_PRODUCER_H */
