/* SPDX-License-Identifier: MIT */
/* Ring names and socket addresses in the `ring` property; see zinc-address.h. */
#include <string.h>

#include "zinc-address.h"

/* Long enough to tell rings apart in messages, far below ZINC_NAME_MAX. */
#define LABEL_MAX 64

gboolean gst_zinc_ring_is_address(const char *ring)
{
    return ring && (ring[0] == '@' || strchr(ring, '/') != NULL);
}

gchar *gst_zinc_address_label(const char *address)
{
    const char *base = address;
    if (base[0] == '@') {
        base++;
    } else {
        const char *slash = strrchr(base, '/');
        if (slash)
            base = slash + 1;
    }
    GString *s = g_string_new(NULL);
    for (const char *c = base; *c && s->len < LABEL_MAX; c++)
        g_string_append_c(s, g_ascii_isalnum(*c) || *c == '_' || *c == '-' ? *c : '-');
    if (s->len == 0)
        g_string_append(s, "anon");
    return g_string_free(s, FALSE);
}
