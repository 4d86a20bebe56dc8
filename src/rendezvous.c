/* SPDX-License-Identifier: MIT */
/*
 * rendezvous.c — how consumers find a sealed anonymous ring: the producer
 * listens on a Unix socket (a path, or "@name" in the abstract namespace)
 * and a listener thread hands each connecting peer of our uid a descriptor
 * of the memfd (SCM_RIGHTS); the consumer checks the peer and the seals
 * before it maps anything. Addresses are registered in a per-user
 * directory for `zinc ls`. The protocol is docs/rendezvous.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ring-internal.h"

/* The one message of the protocol, listener -> client, with the descriptor
 * attached when status is 0 (docs/rendezvous.md). Native byte order: both
 * ends are on one machine. */
#define RDV_MAGIC 0x315644524E49435Aull /* "ZINCRDV1" as little-endian bytes */
#define RDV_VERSION 1u
#define RDV_NAME 256

struct rdv_reply {
    uint64_t magic;
    uint32_t version;
    int32_t status;      /* 0: the descriptor is attached; < 0: a zinc code, none is */
    uint64_t generation; /* of the ring the descriptor holds */
    uint64_t size;       /* of the object */
    char name[RDV_NAME]; /* the ring's name (zinc_producer_create), NUL-terminated */
};
_Static_assert(sizeof(struct rdv_reply) == 288, "the reply is 288 bytes");

/* Every wait of a client is bounded by this (connect, the answer). */
#define RDV_TIMEOUT_S 2
#define RDV_BACKLOG 64
/* A client takes at most this many descriptors; more is a hostile peer. */
#define RDV_MAX_FDS 4
/* How long a producer waits for another one that holds the socket
 * directory's lock (it holds it for a bind and a listen). */
#define DIR_LOCK_NS 1000000000ull

struct zr_listener {
    int sock;            /* listening socket */
    int wake;            /* eventfd: zinc__listener_stop asks the thread to end */
    pthread_t thread;
    struct sockaddr_un sa;
    socklen_t salen;
    bool is_path;
    dev_t dev;           /* the socket file bound (path addresses) */
    ino_t ino;
    int ring_fd;         /* the producer's memfd: valid until the thread is joined */
    struct rdv_reply hello; /* the answer, filled once at listen */
    char address[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
    char target[PATH_MAX]; /* the address with an absolute path (the cwd may change) */
    char entry[PATH_MAX];  /* registry entry, "" if none */
};

/* ---- the uid policy ------------------------------------------------------- */

/* A peer of the rendezvous must run with our effective uid, as a ring in
 * /dev/shm is 0600. This is the one place that decides it for both sides,
 * so that an opt-in for deliberate cross-user sharing plugs in here. */
static int peer_check(int sock, const char *what, const char *label)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);
    if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
        return zinc__fail(-errno, "%s '%s': SO_PEERCRED: %s", what, label, strerror(errno));
    uid_t me = geteuid();
    if (cr.uid == me)
        return ZINC_OK;
    return zinc__fail(ZINC_EPERM, "%s '%s': the peer (pid %d) runs as uid %u, we run as uid "
                      "%u: refused (a ring is shared with the same user only)",
                      what, label, (int)cr.pid, (unsigned)cr.uid, (unsigned)me);
}

/* ---- addresses -------------------------------------------------------------- */

static int parse_address(const char *address, struct sockaddr_un *sa, socklen_t *len,
                         const char *what)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (!address || !address[0])
        return zinc__fail(ZINC_EINVAL, "%s: no socket address", what);
    size_t n = strlen(address);
    if (n > sizeof(sa->sun_path) - 1 || (address[0] == '@' && n < 2))
        return zinc__fail(ZINC_EINVAL, "%s: socket address '%.40s%s' is %s (a path of at "
                          "most %zu bytes, or @name)",
                          what, address, n > 40 ? "..." : "", n < 2 ? "empty" : "too long",
                          sizeof(sa->sun_path) - 1);
    if (address[0] == '@') {
        /* Abstract namespace: a NUL, then the name, not terminated. */
        memcpy(sa->sun_path + 1, address + 1, n - 1);
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        memcpy(sa->sun_path, address, n + 1);
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    return ZINC_OK;
}

/* ---- the registry (zinc ls) --------------------------------------------------- */

ZINC_API int zinc_socket_registry(char *buf, size_t len)
{
    if (!buf || !len)
        return zinc__fail(ZINC_EINVAL, "socket_registry: no buffer");
    /* secure_getenv: a set-uid program is not steered by its caller. */
    const char *env = secure_getenv("ZINC_RUNTIME_DIR");
    int n;
    if (env && env[0])
        n = snprintf(buf, len, "%s", env);
    else if ((env = secure_getenv("XDG_RUNTIME_DIR")) && env[0])
        n = snprintf(buf, len, "%s/zinc", env);
    else
        n = snprintf(buf, len, "/tmp/zinc-%u", (unsigned)geteuid());
    if (n < 0 || (size_t)n >= len)
        return zinc__fail(ZINC_EINVAL, "socket_registry: buffer of %zu bytes too small", len);
    return ZINC_OK;
}

/* Best effort: a listener that cannot register still serves; only `zinc
 * ls` will not see it. The directory must be ours and writable by nobody
 * else (in /tmp anyone could have made it first). */
static void registry_add(struct zr_listener *l)
{
    char dir[PATH_MAX - 64];
    if (zinc_socket_registry(dir, sizeof(dir)) < 0)
        return;
    (void)mkdir(dir, 0700);
    struct stat st;
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 022))
        return;
    if (l->is_path && l->target[0] != '/')
        return; /* no absolute path to point at */
    /* One entry per address, named by its hash: a replacement producer on
     * the same address takes over the entry of a dead one. */
    unsigned long long h = (unsigned long long)zinc__fnv1a64(l->target, strlen(l->target));
    char tmp[PATH_MAX];
    snprintf(l->entry, sizeof(l->entry), "%s/%016llx", dir, h);
    snprintf(tmp, sizeof(tmp), "%s/.%016llx.%d", dir, h, (int)getpid());
    (void)unlink(tmp);
    if (symlink(l->target, tmp) < 0 || rename(tmp, l->entry) < 0) {
        (void)unlink(tmp);
        l->entry[0] = '\0';
    }
}

static void registry_remove(struct zr_listener *l)
{
    if (!l->entry[0])
        return;
    char now[PATH_MAX];
    ssize_t n = readlink(l->entry, now, sizeof(now) - 1);
    if (n >= 0) {
        now[n] = '\0';
        if (strcmp(now, l->target) == 0)
            (void)unlink(l->entry);
    }
    l->entry[0] = '\0';
}

/* ---- binding a path --------------------------------------------------------- */

/* Is someone listening on the socket at this address? A refused connection
 * is a socket whose listener is gone (its producer died); anything else
 * (accepted, backlog full, a socket of another type) is kept. */
static bool address_live(const struct sockaddr_un *sa, socklen_t len)
{
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0)
        return true;
    int r = connect(s, (const struct sockaddr *)sa, len);
    int e = errno;
    close(s);
    return r == 0 || (e != ECONNREFUSED && e != ENOENT);
}

/* Lock the directory of a path address against other zinc producers for
 * the probe + unlink + bind + listen of a replacement, so that two
 * replacing producers never both win (one would remove the other's
 * socket). Bounded; -1 when the directory cannot be opened (no lock then:
 * the inode checks still narrow the race to a few instructions). */
static int dir_lock(const char *path, const char *label)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    uint64_t t0 = zinc__now_ns(CLOCK_MONOTONIC);
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if ((errno != EWOULDBLOCK && errno != EINTR) ||
            zinc__now_ns(CLOCK_MONOTONIC) - t0 > DIR_LOCK_NS) {
            close(fd);
            return zinc__fail(ZINC_EAGAIN, "listen '%s': another producer holds the lock of "
                              "the socket's directory; retry", label);
        }
        struct timespec ts = {0, 1000000}; /* 1 ms back-off while it binds */
        nanosleep(&ts, NULL);
    }
    return fd;
}

static int bind_errno(int e, const char *address)
{
    switch (e) {
    case EACCES:
    case EPERM:
        return zinc__fail(ZINC_EPERM, "listen '%s': permission denied", address);
    case ENOENT:
    case ENOTDIR:
        return zinc__fail(ZINC_ENOENT, "listen '%s': the directory does not exist", address);
    case EADDRINUSE:
        return zinc__fail(ZINC_EEXIST, "listen '%s': another producer listens there", address);
    default:
        return zinc__fail(-e, "listen '%s': %s", address, strerror(e));
    }
}

/* bind + listen; a path whose socket is dead is replaced. */
static int bind_listen(struct zr_listener *l)
{
    const char *path = l->target;
    for (int round = 0; round < 3; round++) {
        if (bind(l->sock, (struct sockaddr *)&l->sa, l->salen) == 0) {
            struct stat st;
            if (l->is_path && lstat(path, &st) == 0) {
                l->dev = st.st_dev;
                l->ino = st.st_ino;
            }
            if (listen(l->sock, RDV_BACKLOG) == 0)
                return ZINC_OK;
            int e = errno;
            if (l->ino) /* ours, and we hold the directory's lock */
                (void)unlink(path);
            return zinc__fail(-e, "listen '%s': %s", path, strerror(e));
        }
        int e = errno;
        if (e != EADDRINUSE || !l->is_path)
            return bind_errno(e, path);
        struct stat st, st2;
        if (lstat(path, &st) < 0) {
            if (errno == ENOENT)
                continue; /* removed meanwhile */
            return bind_errno(errno, path);
        }
        if (!S_ISSOCK(st.st_mode))
            return zinc__fail(ZINC_EEXIST, "listen '%s': the path exists and is not a socket",
                              path);
        if (address_live(&l->sa, l->salen))
            return zinc__fail(ZINC_EEXIST, "listen '%s': another producer listens there", path);
        /* A dead producer's socket: remove it if it is still the one we
         * probed, then bind again. */
        if (lstat(path, &st2) == 0 && st2.st_dev == st.st_dev && st2.st_ino == st.st_ino &&
            unlink(path) < 0 && errno != ENOENT)
            return bind_errno(errno, path);
    }
    return zinc__fail(ZINC_EEXIST, "listen '%s': the path keeps being taken", path);
}

/* ---- the listener thread -------------------------------------------------------- */

static void serve(struct zr_listener *l, int c)
{
    struct rdv_reply rep = l->hello;
    int fd = -1;
    int r = peer_check(c, "listener", l->address);
    if (r == ZINC_OK) {
        /* A description of its own for each consumer: liveness tokens are
         * locks of an open file description. */
        fd = zinc__anon_reopen(l->ring_fd, O_RDWR);
        r = fd < 0 ? fd : ZINC_OK;
    }
    rep.status = r;
    struct iovec iov = {&rep, sizeof(rep)};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    memset(&ctl, 0, sizeof(ctl));
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        msg.msg_control = ctl.buf;
        msg.msg_controllen = sizeof(ctl.buf);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    }
    /* Never blocks (a fresh connection's buffer takes one message) and
     * never raises SIGPIPE (the peer may be gone already). */
    (void)sendmsg(c, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (fd >= 0)
        close(fd);
}

static void *listener_main(void *arg)
{
    struct zr_listener *l = arg;
    struct pollfd pf[2] = {{.fd = l->sock, .events = POLLIN}, {.fd = l->wake, .events = POLLIN}};
    for (;;) {
        int n = poll(pf, 2, -1);
        if (n < 0 && errno != EINTR)
            (void)poll(&pf[1], 1, 10); /* should not happen: back off 10 ms */
        if (n <= 0)
            continue;
        if (pf[1].revents)
            break;
        if (!(pf[0].revents & POLLIN)) {
            if (pf[0].revents) /* an error on the socket: never spin on it */
                (void)poll(&pf[1], 1, 10);
            continue;
        }
        int c = accept4(l->sock, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0) {
            /* Out of descriptors or memory: the connection stays queued;
             * back off 10 ms (woken at once by a stop) instead of spinning. */
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                (void)poll(&pf[1], 1, 10);
            continue;
        }
        serve(l, c);
        close(c);
    }
    return NULL;
}

/* ---- producer side -------------------------------------------------------------- */

static void listener_free(struct zr_listener *l)
{
    if (l->sock >= 0) {
        zinc__fork_close_del(l->sock);
        close(l->sock);
    }
    if (l->wake >= 0) {
        zinc__fork_close_del(l->wake);
        close(l->wake);
    }
    free(l);
}

/* Remove the socket file if it is still ours (a replacement may have
 * taken the path after a hostile unlink). */
static void unlink_path(struct zr_listener *l)
{
    if (!l->is_path || !l->ino)
        return;
    int dfd = dir_lock(l->target, l->address);
    struct stat st;
    if (lstat(l->target, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
        (void)unlink(l->target);
    if (dfd >= 0)
        close(dfd);
}

ZINC_API int zinc_producer_listen(zinc_producer *p, const char *address)
{
    zinc__clear_error();
    if (!p)
        return zinc__fail(ZINC_EINVAL, "listen: NULL producer");
    struct zr_map *m = &p->m;
    if (!map_anonymous(m))
        return zinc__fail(ZINC_EINVAL, "listen: ring '%s' lives in /dev/shm; only anonymous "
                          "rings (ZINC_RING_ANONYMOUS) are served over a socket (consumers "
                          "open this one by name)", m->name);
    if (map_forked(m))
        return zinc__forked_fail("listen");
    if (p->listener)
        return zinc__fail(ZINC_EINVAL, "listen: ring '%s' already listens on '%s'", m->name,
                          p->listener->address);
    struct zr_listener *l = calloc(1, sizeof(*l));
    if (!l)
        return zinc__fail(-ENOMEM, "listen: out of memory");
    l->sock = l->wake = -1;
    int r = parse_address(address, &l->sa, &l->salen, "listen");
    if (r < 0) {
        free(l);
        return r;
    }
    snprintf(l->address, sizeof(l->address), "%s", address);
    l->is_path = address[0] != '@';
    char cwd[PATH_MAX];
    int n = -1;
    if (l->is_path && address[0] != '/' && getcwd(cwd, sizeof(cwd)))
        n = snprintf(l->target, sizeof(l->target), "%s/%s", cwd, address);
    if (n < 0 || (size_t)n >= sizeof(l->target))
        snprintf(l->target, sizeof(l->target), "%s", address);
    l->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    l->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->sock < 0 || l->wake < 0) {
        r = zinc__fail(-errno, "listen '%s': %s", address, strerror(errno));
        listener_free(l);
        return r;
    }
    zinc__fork_close_add(l->sock);
    zinc__fork_close_add(l->wake);
    /* The socket file is made with the socket inode's mode (less the
     * umask): 0600, as a ring in /dev/shm. The peer check is the authority;
     * the mode keeps other users from even connecting. */
    (void)fchmod(l->sock, 0600);
    int dfd = l->is_path ? dir_lock(l->target, address) : -1;
    if (dfd == ZINC_EAGAIN) {
        listener_free(l);
        return ZINC_EAGAIN;
    }
    r = bind_listen(l);
    if (dfd >= 0)
        close(dfd);
    if (r < 0) {
        listener_free(l);
        return r;
    }
    l->ring_fd = m->fd;
    l->hello.magic = RDV_MAGIC;
    l->hello.version = RDV_VERSION;
    l->hello.generation = m->generation;
    l->hello.size = m->len;
    snprintf(l->hello.name, sizeof(l->hello.name), "%s", m->name);
    /* Signals go to the application's threads, never to ours. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&l->thread, NULL, listener_main, l);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        unlink_path(l);
        listener_free(l);
        return zinc__fail(-e, "listen '%s': cannot start the listener thread: %s", address,
                          strerror(e));
    }
    registry_add(l);
    p->listener = l;
    return ZINC_OK;
}

void zinc__listener_stop(struct zinc_producer *p)
{
    struct zr_listener *l = p->listener;
    if (!l)
        return;
    p->listener = NULL;
    if (map_forked(&p->m)) {
        /* A forked child's copy (listen refuses a forked handle, so the
         * parent made it): the thread is the parent's, and the fork handler
         * closed our copies of the descriptors already. */
        free(l);
        return;
    }
    registry_remove(l);
    uint64_t one = 1;
    while (write(l->wake, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
    pthread_join(l->thread, NULL);
    unlink_path(l);
    listener_free(l); /* connections still queued are reset: their clients get -2 */
}

ZINC_API int zinc_producer_unlisten(zinc_producer *p)
{
    zinc__clear_error();
    if (!p)
        return zinc__fail(ZINC_EINVAL, "unlisten: NULL producer");
    if (map_forked(&p->m))
        return zinc__forked_fail("unlisten");
    if (!p->listener)
        return zinc__fail(ZINC_EINVAL, "unlisten: ring '%s' is not listening", p->m.name);
    zinc__listener_stop(p);
    return ZINC_OK;
}

/* ---- client side ---------------------------------------------------------------- */

static int connect_errno(int e, const char *what, const char *address)
{
    switch (e) {
    case ENOENT:
    case ECONNREFUSED:
        return zinc__fail(ZINC_ENOENT, "%s '%s': nobody listens there (start the producer, "
                          "or check the address)", what, address);
    case EACCES:
    case EPERM:
        return zinc__fail(ZINC_EPERM, "%s '%s': permission denied (a socket of another user?)",
                          what, address);
    case EAGAIN:
    case EINPROGRESS:
    case ETIMEDOUT:
        return zinc__fail(ZINC_EAGAIN, "%s '%s': the listener's backlog stayed full for %d s; "
                          "retry", what, address, RDV_TIMEOUT_S);
    case EPROTOTYPE:
        return zinc__fail(ZINC_EBADMSG, "%s '%s': not a zinc rendezvous socket (another "
                          "socket type)", what, address);
    default:
        return zinc__fail(-e, "%s '%s': %s", what, address, strerror(e));
    }
}

/* Connect, check the peer, take its answer and the descriptor, check the
 * seals. Returns the descriptor or a code; *rep gets the answer. */
static int fetch(const char *address, struct rdv_reply *rep, const char *what)
{
    struct sockaddr_un sa;
    socklen_t salen;
    int r = parse_address(address, &sa, &salen, what);
    if (r < 0)
        return r;
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (s < 0)
        return zinc__fail(-errno, "%s '%s': socket: %s", what, address, strerror(errno));
    /* Bounds both connect (a full backlog) and the answer. */
    struct timeval tv = {RDV_TIMEOUT_S, 0};
    (void)setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    (void)setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int fds[RDV_MAX_FDS];
    int nfds = 0;
    if (connect(s, (struct sockaddr *)&sa, salen) < 0) {
        r = connect_errno(errno, what, address);
        goto out;
    }
    r = peer_check(s, what, address);
    if (r < 0)
        goto out;
    struct iovec iov = {rep, sizeof(*rep)};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * RDV_MAX_FDS)];
    } ctl;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                         .msg_controllen = sizeof(ctl.buf)};
    memset(rep, 0, sizeof(*rep));
    ssize_t n = recvmsg(s, &msg, MSG_CMSG_CLOEXEC);
    int e = errno;
    /* Take every descriptor that came, whatever else is wrong, so that
     * none leaks. */
    if (n >= 0) {
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
            if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
                continue;
            size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < k; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
                if (nfds < RDV_MAX_FDS)
                    fds[nfds++] = fd;
                else
                    close(fd);
            }
        }
    }
    if (n < 0) {
        r = e == EAGAIN || e == EWOULDBLOCK
                ? zinc__fail(ZINC_ETIMEDOUT, "%s '%s': the listener did not answer within %d s",
                             what, address, RDV_TIMEOUT_S)
            : e == ECONNRESET ? zinc__fail(ZINC_ENOENT, "%s '%s': the producer stopped listening",
                                           what, address)
                              : zinc__fail(-e, "%s '%s': %s", what, address, strerror(e));
    } else if (n == 0) {
        r = zinc__fail(ZINC_ENOENT, "%s '%s': the producer stopped listening", what, address);
    } else if ((size_t)n != sizeof(*rep) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
               rep->magic != RDV_MAGIC) {
        r = zinc__fail(ZINC_EBADMSG, "%s '%s': not a zinc rendezvous answer (%zd bytes)", what,
                       address, n);
    } else if (rep->version != RDV_VERSION) {
        r = zinc__fail(ZINC_EBADMSG, "%s '%s': rendezvous protocol version %u, we speak %u",
                       what, address, rep->version, RDV_VERSION);
    } else if (rep->status < 0) {
        r = zinc__fail(rep->status == ZINC_EPERM ? ZINC_EPERM : rep->status,
                       "%s '%s': the producer refused: %s", what, address,
                       zinc_strerror(rep->status));
    } else if (nfds != 1) {
        r = zinc__fail(ZINC_EBADMSG, "%s '%s': the answer carries %d descriptors, not one",
                       what, address, nfds);
    } else {
        rep->name[RDV_NAME - 1] = '\0';
        r = zinc__anon_check(fds[0], address);
        if (r == ZINC_OK) {
            r = fds[0];
            nfds = 0; /* the caller's now */
        }
    }
out:
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
    close(s);
    return r;
}

ZINC_API int zinc_ring_connect(const char *address)
{
    zinc__clear_error();
    struct rdv_reply rep;
    return fetch(address, &rep, "ring_connect");
}

ZINC_API int zinc_consumer_connect(const char *address, zinc_delivery mode, zinc_consumer **out)
{
    if (out)
        *out = NULL;
    zinc__clear_error();
    if (!out)
        return zinc__fail(ZINC_EINVAL, "consumer_connect: out is NULL");
    if ((unsigned)mode > ZINC_LATEST)
        return zinc__fail(ZINC_EINVAL, "consumer_connect: mode %d is not EVERY, LOSSY or "
                          "LATEST", (int)mode);
    struct rdv_reply rep;
    int fd = fetch(address, &rep, "consumer_connect");
    if (fd < 0)
        return fd;
    int r = zinc__consumer_attach(address, fd, mode, out);
    close(fd);
    if (r == ZINC_OK && zinc_consumer_generation(*out) != rep.generation) {
        zinc_consumer_close(*out);
        *out = NULL;
        r = zinc__fail(ZINC_EBADMSG, "consumer_connect '%s': the descriptor holds another ring "
                       "than the listener announced", address);
    }
    return r;
}
