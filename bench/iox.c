/* SPDX-License-Identifier: MIT */
/*
 * iox.c — Eclipse iceoryx 2.0 through its C binding, as a transport of the
 * harness, and the iox-roudi daemon the harness starts and stops.
 *
 * Publisher: WAIT_FOR_CONSUMER; subscriber: BLOCK_PRODUCER with a queue as
 * deep as the zinc ring has slots, so both are lossless with the same
 * buffering. Payloads are loaned 64-byte aligned.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <iceoryx_binding_c/api.h>

/* Mempools: every payload size of the harness, plus room for iceoryx's
 * chunk header and alignment padding. */
static const struct { uint64_t size, count; } pools[] = {
    { 256, 64 },
    { 8192, 64 },
    { (1u << 20) + 4096, 16 },
    { 1600000 + 4096, 16 },
    { 8294400 + 4096, 12 },
    { 33177600 + 4096, 8 },
};

static pid_t roudi_pid = -1;

static void rnap(long ns)
{
    struct timespec ts = { 0, ns };
    nanosleep(&ts, NULL);
}

int zb_iox_start(const char *dir, char *why, size_t whylen)
{
    char cfg[512], logp[512];
    snprintf(cfg, sizeof(cfg), "%s/roudi.toml", dir);
    snprintf(logp, sizeof(logp), "%s/roudi.log", dir);
    FILE *f = fopen(cfg, "w");
    if (!f) {
        snprintf(why, whylen, "cannot write %s: %s", cfg, strerror(errno));
        return -1;
    }
    fprintf(f, "[general]\nversion = 1\n\n[[segment]]\n\n");
    for (size_t i = 0; i < sizeof(pools) / sizeof(pools[0]); i++)
        fprintf(f, "[[segment.mempool]]\nsize = %llu\ncount = %llu\n\n",
                (unsigned long long)pools[i].size, (unsigned long long)pools[i].count);
    fclose(f);

    if (access("/usr/bin/iox-roudi", X_OK) != 0) {
        snprintf(why, whylen, "/usr/bin/iox-roudi not installed (package iceoryx)");
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, whylen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* Stopped cleanly even if the harness dies. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL); /* the harness blocks SIGCHLD */
        int fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execl("/usr/bin/iox-roudi", "iox-roudi", "-c", cfg, "-m", "off", "-l", "info",
              (char *)NULL);
        _exit(127);
    }
    roudi_pid = pid;
    /* Up when it says so in its log (it logs "RouDi is ready for clients"). */
    for (int i = 0; i < 1000; i++) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            roudi_pid = -1;
            snprintf(why, whylen, "iox-roudi exited early (status %d), see %s "
                     "(another RouDi running? stale /tmp/roudi?)", st, logp);
            return -1;
        }
        char buf[8192];
        FILE *lf = fopen(logp, "r");
        if (lf) {
            size_t n = fread(buf, 1, sizeof(buf) - 1, lf);
            buf[n] = 0;
            fclose(lf);
            if (strstr(buf, "RouDi is ready"))
                return 0;
        }
        rnap(10 * 1000 * 1000);
    }
    snprintf(why, whylen, "iox-roudi not ready after 10 s, see %s", logp);
    zb_iox_stop();
    return -1;
}

void zb_iox_stop(void)
{
    if (roudi_pid <= 0)
        return;
    kill(roudi_pid, SIGTERM);
    for (int i = 0; i < 500; i++) {
        if (waitpid(roudi_pid, NULL, WNOHANG) == roudi_pid) {
            roudi_pid = -1;
            return;
        }
        rnap(10 * 1000 * 1000);
    }
    kill(roudi_pid, SIGKILL);
    waitpid(roudi_pid, NULL, 0);
    roudi_pid = -1;
}

struct ist {
    struct zb_job *j;
    iox_pub_storage_t pub_s;
    iox_sub_storage_t sub_s;
    iox_ws_storage_t ws_s;
    iox_pub_t pub;
    iox_sub_t sub;
    iox_ws_t ws;
    const void *held;
};

static void runtime(struct zb_job *j, const char *role, int idx)
{
    /* Unique in the RouDi session even when pids wrap: RouDi mistakes a
     * reused name for a restart, and the old process's teardown hangs. */
    char n[96];
    snprintf(n, sizeof(n), "%s-%s%d-%d", j->name, role, idx, (int)getpid());
    iox_set_loglevel(Iceoryx_LogLevel_Warn);
    iox_runtime_init(n);
}

static int iox_prod_open(struct zb_job *j, void **out)
{
    struct ist *s = calloc(1, sizeof(*s));
    s->j = j;
    runtime(j, "pub", 0);
    iox_pub_options_t o;
    iox_pub_options_init(&o);
    o.historyCapacity = 0;
    o.subscriberTooSlowPolicy = ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER;
    s->pub = iox_pub_init(&s->pub_s, "zinc-bench", j->name, "frames", &o);
    *out = s;
    return 0;
}

static void *iox_prod_get(void *st, uint64_t size)
{
    struct ist *s = st;
    void *p = NULL;
    struct zb_spin sp;
    zb_spin_begin(&sp);
    for (;;) {
        enum iox_AllocationResult r = iox_pub_loan_aligned_chunk(s->pub, &p, (uint32_t)size, 64);
        if (r == AllocationResult_SUCCESS)
            return p;
        if (r != AllocationResult_RUNNING_OUT_OF_CHUNKS &&
            r != AllocationResult_TOO_MANY_CHUNKS_ALLOCATED_IN_PARALLEL)
            zb_die(s->j, "iox_pub_loan_aligned_chunk(%llu): result %d",
                   (unsigned long long)size, (int)r);
        zb_spin(s->j, &sp, "iceoryx loan: out of chunks");
    }
}

static int iox_prod_send(void *st, void *buf, uint64_t size)
{
    struct ist *s = st;
    (void)size;
    iox_pub_publish_chunk(s->pub, buf);
    return 0;
}

static void iox_prod_close(void *st)
{
    struct ist *s = st;
    iox_pub_deinit(s->pub);
    iox_runtime_shutdown();
    free(s);
}

static int iox_cons_open(struct zb_job *j, int idx, void **out)
{
    struct ist *s = calloc(1, sizeof(*s));
    s->j = j;
    runtime(j, "sub", idx);
    iox_sub_options_t o;
    iox_sub_options_init(&o);
    o.queueCapacity = j->slots;
    o.historyRequest = 0;
    o.queueFullPolicy = QueueFullPolicy_BLOCK_PRODUCER;
    s->sub = iox_sub_init(&s->sub_s, "zinc-bench", j->name, "frames", &o);
    /* Subscribed only once RouDi has connected us to the offered publisher. */
    uint64_t t0 = zb_now();
    while (iox_sub_get_subscription_state(s->sub) != SubscribeState_SUBSCRIBED) {
        if (zb_now() - t0 > 10000000000ull)
            zb_die(j, "iceoryx subscriber not connected after 10 s");
        rnap(100 * 1000);
    }
    if (j->sleep) {
        s->ws = iox_ws_init(&s->ws_s);
        if (iox_ws_attach_subscriber_state(s->ws, s->sub, SubscriberState_HAS_DATA, 1, NULL) !=
            WaitSetResult_SUCCESS)
            zb_die(j, "iox_ws_attach_subscriber_state failed");
    }
    *out = s;
    return 0;
}

static const void *iox_cons_recv(void *st, uint64_t *dropped)
{
    struct ist *s = st;
    struct zb_spin sp;
    *dropped = 0;
    zb_spin_begin(&sp);
    for (;;) {
        enum iox_ChunkReceiveResult r = iox_sub_take_chunk(s->sub, &s->held);
        if (r == ChunkReceiveResult_SUCCESS)
            return s->held;
        if (r != ChunkReceiveResult_NO_CHUNK_AVAILABLE)
            zb_die(s->j, "iox_sub_take_chunk: result %d", (int)r);
        if (s->ws) {
            iox_notification_info_t ev[2];
            uint64_t missed = 0;
            iox_ws_wait(s->ws, ev, 2, &missed);
        } else {
            zb_spin(s->j, &sp, "iceoryx take: no chunk");
        }
    }
}

static int iox_cons_done(void *st)
{
    struct ist *s = st;
    iox_sub_release_chunk(s->sub, s->held);
    return 0;
}

static void iox_cons_close(void *st)
{
    struct ist *s = st;
    if (s->ws) {
        iox_ws_detach_subscriber_state(s->ws, s->sub, SubscriberState_HAS_DATA);
        iox_ws_deinit(s->ws);
    }
    iox_sub_deinit(s->sub);
    iox_runtime_shutdown();
    free(s);
}

const struct zb_transport zb_tx_iox = {
    .name = "iceoryx", .spin_ok = 1, .sleep_ok = 1,
    .prod_open = iox_prod_open, .prod_get = iox_prod_get,
    .prod_send = iox_prod_send, .prod_close = iox_prod_close,
    .cons_open = iox_cons_open, .cons_recv = iox_cons_recv,
    .cons_done = iox_cons_done, .cons_close = iox_cons_close,
};
