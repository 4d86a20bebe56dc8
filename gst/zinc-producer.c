/* SPDX-License-Identifier: MIT */
/* A ring producer shared by zincsink and its pool; see zinc-producer.h. */
#include <string.h>
#include <unistd.h>

#include "zinc-format.h"
#include "zinc-memory.h"
#include "zinc-producer.h"

GST_DEBUG_CATEGORY_STATIC(zinc_producer_debug);
#define GST_CAT_DEFAULT zinc_producer_debug

/* How long one blocking call into the ring lasts before the cancel flag is
 * looked at again: bounds how late a flush or a state change is noticed. */
#define SLICE_NS (20 * GST_MSECOND)

struct GstZincProducer {
    gint refs;
    GMutex lock;        /* every call on `p`, and all fields below */
    GCond cond;         /* a claim closed, or a waiter should look at its cancel flag */
    zinc_producer *p;   /* NULL once closed */
    guint64 slot_size;
    gboolean claim_open;
    gboolean claim_pool; /* the open claim belongs to a pool buffer */
    guint64 claim_id;   /* bumps with every claim: slot memories name theirs */
    zinc_frame claim;
    guint live;         /* slot memories not yet freed */
    gboolean close_wanted;
    gchar *name;        /* immutable */
    /* An anonymous ring's own descriptor, for reading its consumer table
     * (it has no name to read it by); -1 for a named ring. Immutable. */
    int stats_fd;
};

GstZincProducer *gst_zinc_producer_new(const char *name, const zinc_ring_config *cfg,
                                       const char *address, GError **err)
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        GST_DEBUG_CATEGORY_INIT(zinc_producer_debug, "zincproducer", 0, "zinc ring producer");
        g_once_init_leave(&once, 1);
    }
    zinc_producer *p = NULL;
    int rc = zinc_producer_create(name, cfg, &p);
    if (rc != 0) {
        g_set_error(err, GST_ZINC_ERROR, -rc, "cannot create ring '%s' (%d): %s", name, rc,
                    zinc_last_error()[0] ? zinc_last_error() : zinc_strerror(rc));
        return NULL;
    }
    int stats_fd = -1;
    if (address) {
        /* The library's listener thread accepts and answers consumers: the
         * streaming thread never waits for one, and close joins it. */
        rc = zinc_producer_listen(p, address);
        if (rc == 0) {
            stats_fd = zinc_producer_fd(p);
            rc = stats_fd < 0 ? stats_fd : 0;
        }
        if (rc != 0) {
            g_set_error(err, GST_ZINC_ERROR, -rc, "cannot serve ring '%s' on socket '%s' "
                        "(%d): %s", name, address, rc,
                        zinc_last_error()[0] ? zinc_last_error() : zinc_strerror(rc));
            zinc_producer_close(p);
            return NULL;
        }
    }
    GstZincProducer *zp = g_new0(GstZincProducer, 1);
    zp->name = g_strdup(name);
    zp->stats_fd = stats_fd;
    zp->refs = 1;
    g_mutex_init(&zp->lock);
    g_cond_init(&zp->cond);
    zp->p = p;
    zp->slot_size = cfg->slot_size;
    GST_INFO("created ring '%s'%s%s: %u slots of %" G_GUINT64_FORMAT " bytes", name,
             address ? ", anonymous, on socket " : "", address ? address : "",
             cfg->slot_count, cfg->slot_size);
    return zp;
}

GstZincProducer *gst_zinc_producer_ref(GstZincProducer *zp)
{
    g_atomic_int_inc(&zp->refs);
    return zp;
}

void gst_zinc_producer_unref(GstZincProducer *zp)
{
    if (!zp || !g_atomic_int_dec_and_test(&zp->refs))
        return;
    if (zp->p) {
        if (zp->claim_open)
            zinc_producer_abort(zp->p, &zp->claim);
        zinc_producer_close(zp->p);
    }
    if (zp->stats_fd >= 0)
        close(zp->stats_fd);
    g_free(zp->name);
    g_mutex_clear(&zp->lock);
    g_cond_clear(&zp->cond);
    g_free(zp);
}

guint64 gst_zinc_producer_slot_size(const GstZincProducer *zp)
{
    return zp->slot_size;
}

static void maybe_close_locked(GstZincProducer *zp)
{
    if (!zp->close_wanted || zp->live > 0 || !zp->p)
        return;
    if (zp->claim_open)
        zinc_producer_abort(zp->p, &zp->claim);
    zp->claim_open = FALSE;
    zinc_producer_close(zp->p);
    zp->p = NULL;
    g_cond_broadcast(&zp->cond);
}

GstFlowReturn gst_zinc_producer_claim(GstZincProducer *zp, gboolean for_pool, zinc_frame *f,
                                      const gint *cancel, gint64 open_wait_us, GError **err)
{
    GstFlowReturn ret = GST_FLOW_OK;
    g_mutex_lock(&zp->lock);
    gint64 give_up = open_wait_us >= 0 ? g_get_monotonic_time() + open_wait_us : 0;
    for (;;) {
        if (!zp->p || zp->close_wanted) {
            ret = GST_FLOW_EOS;
            break;
        }
        if (cancel && g_atomic_int_get(cancel)) {
            ret = GST_FLOW_FLUSHING;
            break;
        }
        if (zp->claim_open) {
            gint64 now = g_get_monotonic_time();
            if (!for_pool && zp->claim_pool && give_up && now >= give_up) {
                g_set_error(err, GST_ZINC_ERROR, 0, "a buffer of zincsink's pool (a claimed "
                            "ring slot) is still held upstream while a buffer from elsewhere "
                            "arrived: the ring allows one claim at a time");
                ret = GST_FLOW_ERROR;
                break;
            }
            g_cond_wait_until(&zp->cond, &zp->lock, now + SLICE_NS / 1000);
            continue;
        }
        int rc = zinc_producer_claim(zp->p, f, (int64_t)SLICE_NS);
        if (rc == 0) {
            zp->claim_open = TRUE;
            zp->claim_pool = for_pool;
            zp->claim_id++;
            zp->claim = *f;
            break;
        }
        if (rc == ZINC_ETIMEDOUT || rc == ZINC_EAGAIN)
            continue; /* EVERY consumers behind: look at the cancel flag, claim again */
        g_set_error(err, GST_ZINC_ERROR, -rc, "claim failed (%d): %s", rc,
                    zinc_last_error()[0] ? zinc_last_error() : zinc_strerror(rc));
        ret = GST_FLOW_ERROR;
        break;
    }
    g_mutex_unlock(&zp->lock);
    return ret;
}

int gst_zinc_producer_publish(GstZincProducer *zp, zinc_frame *f)
{
    g_mutex_lock(&zp->lock);
    int rc;
    if (!zp->p || !zp->claim_open || zp->claim.seq != f->seq) {
        rc = ZINC_EINVAL;
    } else {
        rc = zinc_producer_publish(zp->p, f);
        if (rc != 0) {
            /* Keep the message; abort would overwrite it. */
            GST_WARNING("publish of frame %" G_GUINT64_FORMAT " failed (%d): %s", f->seq, rc,
                        zinc_last_error());
            zinc_producer_abort(zp->p, f);
        }
        zp->claim_open = FALSE;
        g_cond_broadcast(&zp->cond);
    }
    g_mutex_unlock(&zp->lock);
    return rc;
}

void gst_zinc_producer_abort(GstZincProducer *zp, const zinc_frame *f)
{
    g_mutex_lock(&zp->lock);
    if (zp->p && zp->claim_open && zp->claim.seq == f->seq) {
        zinc_producer_abort(zp->p, &zp->claim);
        zp->claim_open = FALSE;
        g_cond_broadcast(&zp->cond);
    }
    g_mutex_unlock(&zp->lock);
}

gboolean gst_zinc_producer_claimed(GstZincProducer *zp, GstMemory *mem, zinc_frame *f)
{
    if (gst_zinc_memory_owner(mem) != zp)
        return FALSE;
    g_mutex_lock(&zp->lock);
    gboolean ok = zp->claim_open && zp->claim_id == gst_zinc_memory_seq(mem) &&
                  mem->offset == 0;
    if (ok)
        *f = zp->claim;
    g_mutex_unlock(&zp->lock);
    return ok;
}

static void slot_freed(gpointer owner, GstMemory *mem)
{
    GstZincProducer *zp = owner;
    g_mutex_lock(&zp->lock);
    /* A pool buffer dropped without being pushed: give its slot back. */
    if (zp->p && zp->claim_open && zp->claim_id == gst_zinc_memory_seq(mem)) {
        zinc_producer_abort(zp->p, &zp->claim);
        zp->claim_open = FALSE;
        g_cond_broadcast(&zp->cond);
    }
    zp->live--;
    maybe_close_locked(zp);
    g_mutex_unlock(&zp->lock);
}

static void producer_unref_notify(gpointer zp)
{
    gst_zinc_producer_unref(zp);
}

GstMemory *gst_zinc_producer_wrap(GstZincProducer *zp, const zinc_frame *f, gsize size)
{
    g_mutex_lock(&zp->lock);
    zp->live++;
    guint64 id = zp->claim_id;
    g_mutex_unlock(&zp->lock);
    GstZincMemoryOwner owner = {
        .owner = gst_zinc_producer_ref(zp),
        .freed = slot_freed,
        .owner_unref = producer_unref_notify,
    };
    return gst_zinc_memory_new(f->data, (gsize)f->size, size, FALSE, id, &owner);
}

gint gst_zinc_producer_attached(GstZincProducer *zp)
{
    zinc_consumer_stats *cs = g_new(zinc_consumer_stats, ZINC_RING_MAX_CONSUMERS);
    zinc_ring_stats rs;
    guint32 n = 0;
    /* Read with pread, no lock: the table is written by the consumers. */
    int rc = zp->stats_fd >= 0
                 ? zinc_ring_stats_read_fd(zp->stats_fd, &rs, cs, ZINC_RING_MAX_CONSUMERS, &n)
                 : zinc_ring_stats_read(zp->name, &rs, cs, ZINC_RING_MAX_CONSUMERS, &n);
    gint alive = 0;
    for (guint32 i = 0; rc == 0 && i < n && i < ZINC_RING_MAX_CONSUMERS; i++)
        alive += cs[i].alive && cs[i].attached_ns != 0;
    g_free(cs);
    return rc == 0 ? alive : rc;
}

int gst_zinc_producer_set_stream(GstZincProducer *zp, const zinc_frame *desc)
{
    g_mutex_lock(&zp->lock);
    int rc = zp->p ? zinc_producer_set_stream(zp->p, desc) : ZINC_EPIPE;
    g_mutex_unlock(&zp->lock);
    return rc;
}

void gst_zinc_producer_wake(GstZincProducer *zp)
{
    g_mutex_lock(&zp->lock);
    g_cond_broadcast(&zp->cond);
    g_mutex_unlock(&zp->lock);
}

void gst_zinc_producer_close(GstZincProducer *zp)
{
    g_mutex_lock(&zp->lock);
    /* Stop serving now, even if slot memories keep the ring open a while:
     * the address is free for the next ring (data after a flush). */
    if (zp->p && zp->stats_fd >= 0 && !zp->close_wanted)
        (void)zinc_producer_unlisten(zp->p);
    zp->close_wanted = TRUE;
    maybe_close_locked(zp);
    g_cond_broadcast(&zp->cond);
    g_mutex_unlock(&zp->lock);
}
