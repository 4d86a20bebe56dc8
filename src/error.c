/* SPDX-License-Identifier: MIT */
/* Error codes, their messages, and the thread-local detail of the last
 * failing call. */
#include <stdio.h>
#include <string.h>

#include "private.h"

static _Thread_local char last_error[512];
/* Points at last_error or at a static string (the cheap path for codes that
 * hot polling loops return, -11 and -110). */
static _Thread_local const char *last_msg;

int zinc__fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    last_msg = last_error;
    return code;
}

int zinc__fail_static(int code, const char *msg)
{
    last_msg = msg;
    return code;
}

void zinc__clear_error(void)
{
    last_msg = "";
}

ZINC_API const char *zinc_last_error(void)
{
    return last_msg ? last_msg : "";
}

ZINC_API const char *zinc_strerror(int32_t code)
{
    switch (code) {
    case ZINC_OK:
        return "success";
    case ZINC_EPERM:
        return "permission denied, or the object belongs to a user this process does not "
               "trust (another user may hold the name): run as its owner, share on purpose "
               "(group access + ZINC_TRUST_UID), or have its owner or root remove the name";
    case ZINC_ENOENT:
        return "no region or ring of that name: start the producer first, or check the "
               "name (zinc ls lists what exists)";
    case ZINC_EINTR:
        return "interrupted: a signal handler ran while the call waited; retry it, or "
               "stop if the handler asked the program to (for a race-free wait, poll "
               "zinc_consumer_fd with ppoll/epoll_pwait and a signal mask)";
    case ZINC_EAGAIN:
        return "nothing pending right now (or the ring is still being created): "
               "retry, or wait with a timeout";
    case ZINC_EBUSY:
        return "consumer table full: close an idle consumer or create the ring with "
               "a larger max_consumers";
    case ZINC_EEXIST:
        return "name already exists and its owner is alive: pick another name, or "
               "stop the other owner";
    case ZINC_EINVAL:
        return "invalid argument: check the name ([A-Za-z0-9_-], 1..250 bytes), the "
               "sizes, the handle, and the call order (claim/publish, acquire/release)";
    case ZINC_ENOSPC:
        return "not enough free space in /dev/shm for this region or ring: free space "
               "(zinc gc), shrink the ring, or give the container a larger --shm-size";
    case ZINC_EPIPE:
        return "producer gone (closed, dead or replaced) and nothing left to read: "
               "re-open the name to attach to a new producer";
    case ZINC_EBADMSG:
        return "corrupted or incompatible shared memory: the object is not a valid "
               "zinc region/ring of a supported layout version; remove it (zinc rm)";
    case ZINC_EOVERFLOW:
        return "frame overwritten while it was held: discard any result computed "
               "from it (the consumer fell a whole ring behind)";
    case ZINC_EMSGSIZE:
        return "frame larger than its slot: publish fewer bytes, or create the ring "
               "with a larger slot_size";
    case ZINC_ETIMEDOUT:
        return "timed out: nothing happened within the timeout";
    case -12:
        return "out of memory (or the process hit vm.max_map_count): close unused "
               "handles or raise the limit";
    case -24:
        return "too many open files: raise the fd limit (ulimit -n) or close handles";
    default:
        if (code < 0) {
            /* -INT32_MIN overflows: no errno is that large anyway. */
            const char *s = code > -4096 ? strerror(-code) : NULL;
            return s ? s : "system error";
        }
        return "not an error code";
    }
}
