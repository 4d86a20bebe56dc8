/* SPDX-License-Identifier: MIT */
/*
 * owner.c — whom a process trusts with its shared memory, and the vetting
 * of a descriptor before anything is read from it. Below every layer (next
 * to sys.c and shm.c): it knows objects, not regions or rings, and works on
 * descriptors, so that an object received over a socket is vetted exactly
 * as one opened by name.
 *
 * /dev/shm is world-writable: any local user can create `zinc_<name>`
 * first, fill it with a well-formed ring, feed forged frames to whoever
 * attaches and truncate it under them. So an object is trusted only when
 * its owner (st_uid) is this process's effective uid, or a uid the user
 * listed in ZINC_TRUST_UID (deliberate sharing between users; see
 * docs/reliability.md, "Sharing between users").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "private.h"

bool zinc__uid_trusted(uid_t uid)
{
    if (uid == geteuid())
        return true;
    /* Read at each call (opens are not hot): a program may set it late. */
    const char *s = getenv("ZINC_TRUST_UID");
    while (s && *s) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (end == s) {
            s++; /* a separator (',' or ' ') or junk: skip it */
            continue;
        }
        if (errno == 0 && v == (unsigned long)uid && (uid_t)v == uid)
            return true;
        s = end;
    }
    return false;
}

const char *zinc__file_type(mode_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return "regular file";
    case S_IFIFO: return "FIFO";
    case S_IFDIR: return "directory";
    case S_IFLNK: return "symbolic link";
    case S_IFSOCK: return "socket";
    case S_IFCHR: return "character device";
    case S_IFBLK: return "block device";
    default: return "special file";
    }
}

int zinc__fd_vet(int fd, const char *name, const char *what, bool foreign_ok, struct stat *st)
{
    if (fstat(fd, st) < 0) {
        int e = errno;
        return zinc__fail(-e, "%s '%s': fstat: %s", what, name, strerror(e));
    }
    bool trusted = zinc__uid_trusted(st->st_uid);
    if (!trusted && (!foreign_ok || !S_ISREG(st->st_mode)))
        return zinc__fail(ZINC_EPERM,
                          "%s '%s': the %s belongs to uid %u, not to this process (euid %u): "
                          "refused (another user may have taken the name first); to share "
                          "with uid %u on purpose, set ZINC_TRUST_UID=%u",
                          what, name, S_ISREG(st->st_mode) ? "object" : zinc__file_type(st->st_mode),
                          (unsigned)st->st_uid, (unsigned)geteuid(), (unsigned)st->st_uid,
                          (unsigned)st->st_uid);
    if (!S_ISREG(st->st_mode))
        return zinc__fail(ZINC_EBADMSG, "%s '%s': the name is a %s, not a shared-memory "
                          "object: refused (never opened for reading or waited on)",
                          what, name, zinc__file_type(st->st_mode));
    return trusted ? 0 : 1;
}
