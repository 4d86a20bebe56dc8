/* SPDX-License-Identifier: MIT */
/* zinc doctor: can this machine (or container) hold a ring of a given size? */
#include "zinc-tool.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

static const char usage_doctor[] =
    "usage: zinc doctor [--size BYTES] [--json]\n"
    "Check that this machine (or container) can hold a ring of BYTES (default:\n"
    "8 slots of 1920x1080 RGBA): /dev/shm size and free space, permissions, a\n"
    "test create/remove, container limits, transparent huge pages,\n"
    "vm.max_map_count and the open-file limit. Exit 5 if a problem was found.\n"
    "  --size BYTES  ring size to check for (suffixes K, M, G: 64M, 1.5G)\n";

enum level { LV_OK, LV_INFO, LV_WARN, LV_FAIL };

struct doctor {
    bool json, first;
    int worst;
};

static void finding(struct doctor *d, enum level lv, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void finding(struct doctor *d, enum level lv, const char *check, const char *fmt, ...)
{
    static const char *tag[] = {"ok", "info", "warn", "FAIL"};
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if ((int)lv > d->worst)
        d->worst = (int)lv;
    if (d->json) {
        printf("%s{\"check\":\"%s\",\"level\":\"%s\",\"message\":", d->first ? "" : ",", check,
               lv == LV_FAIL ? "fail" : tag[lv]);
        zf_json_str(stdout, msg);
        putchar('}');
        d->first = false;
    } else {
        printf("[%-4s] %-14s %s\n", tag[lv], check, msg);
    }
}

static bool read_line(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool ok = fgets(buf, (int)len, f) != NULL;
    fclose(f);
    if (ok)
        buf[strcspn(buf, "\n")] = 0;
    return ok;
}

/* The huge= option of the tmpfs on /dev/shm ("never" if none); false if
 * /dev/shm is not a tmpfs mount point. */
static bool shm_mount_huge(char *huge, size_t len)
{
    FILE *f = fopen("/proc/self/mounts", "r");
    if (!f)
        return false;
    char dev[256], dir[256], type[64], opts[1024];
    bool found = false;
    while (fscanf(f, "%255s %255s %63s %1023s %*d %*d", dev, dir, type, opts) == 4) {
        if (strcmp(dir, "/dev/shm") != 0 || strcmp(type, "tmpfs") != 0)
            continue;
        found = true; /* the last mount on /dev/shm is the one in force */
        snprintf(huge, len, "never");
        for (char *o = strtok(opts, ","); o; o = strtok(NULL, ","))
            if (!strncmp(o, "huge=", 5))
                snprintf(huge, len, "%s", o + 5);
    }
    fclose(f);
    return found;
}

static bool file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[1024];
    bool hit = false;
    while (!hit && fgets(line, sizeof(line), f))
        hit = strstr(line, needle) != NULL;
    fclose(f);
    return hit;
}

static const char *container_kind(void)
{
    if (access("/.dockerenv", F_OK) == 0)
        return "docker";
    if (access("/run/.containerenv", F_OK) == 0)
        return "podman";
    char env[64];
    FILE *f = fopen("/proc/1/environ", "r");
    if (f) {
        /* systemd-nspawn and LXC set container=... for pid 1 */
        char buf[4096];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        for (size_t i = 0; i < n; i += strlen(buf + i) + 1)
            if (strncmp(buf + i, "container=", 10) == 0) {
                snprintf(env, sizeof(env), "%s", buf + i + 10);
                return strstr(env, "lxc") ? "lxc" : "container";
            }
    }
    if (file_contains("/proc/1/cgroup", "docker") || file_contains("/proc/1/cgroup", "kubepods") ||
        file_contains("/proc/1/cgroup", "containerd"))
        return "container";
    return NULL;
}

struct census {
    unsigned stale, foreign;
    char example[ZINC_NAME_MAX + 1];
};

static void count_name(const struct snapshot *s, void *ctx)
{
    struct census *c = ctx;
    if (s->foreign) {
        c->foreign++;
        if (c->foreign == 1) /* the first one, as an example in the finding */
            snprintf(c->example, sizeof(c->example), "%s", s->name);
        return; /* not ours to call stale */
    }
    if (snap_owner_gone(s) == 1)
        c->stale++;
}

int cmd_doctor(int argc, char **argv)
{
    struct opts o;
    int ec;
    if (parse_cmd(argc, argv, "sj", usage_doctor, "", 0, 0, &o, &ec) < 0)
        return ec;
    struct doctor d = {.json = o.json, .first = true, .worst = LV_OK};
    char b1[32], b2[32], b3[32], line[512];
    uint64_t need = o.size;
    if (!o.size_set) {
        zinc_ring_config cfg = {.slot_count = 8, .slot_size = 1920u * 1080u * 4u};
        need = zinc_ring_size(&cfg);
        if (need == 0)
            need = 8ull * 1920 * 1080 * 4;
    }
    if (o.json)
        printf("{\"size\":%" PRIu64 ",\"findings\":[", need);
    else
        printf("zinc doctor: can this machine hold a %s ring?\n", human_bytes(need, b1, sizeof(b1)));

    /* /dev/shm: present, tmpfs, size, free space. */
    struct statvfs vfs;
    struct statfs fs;
    struct stat st;
    const char *ctr = container_kind();
    if (stat(SHM_DIR, &st) != 0 || !S_ISDIR(st.st_mode)) {
        finding(&d, LV_FAIL, "shm", "%s is missing: POSIX shared memory needs a tmpfs there "
                "(mount -t tmpfs -o mode=1777 tmpfs /dev/shm)", SHM_DIR);
    } else if (statvfs(SHM_DIR, &vfs) != 0 || statfs(SHM_DIR, &fs) != 0) {
        finding(&d, LV_FAIL, "shm", "cannot stat %s: %s", SHM_DIR, strerror(errno));
    } else {
        uint64_t total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
        uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
        bool tmpfs = fs.f_type == 0x01021994; /* TMPFS_MAGIC */
        finding(&d, tmpfs ? LV_OK : LV_WARN, "shm-fs", "%s is %s", SHM_DIR,
                tmpfs ? "a tmpfs" : "not a tmpfs: shared memory may be backed by a disk");
        if (avail < need) {
            /* Suggest what is in use now plus the ring plus a quarter, in GiB. */
            double want = ((double)(total - avail) + (double)need) * 1.25;
            unsigned long long gib = (unsigned long long)(want / 1073741824.0) + 1;
            char hint[256];
            if (ctr)
                snprintf(hint, sizeof(hint), "start the container with --shm-size=%llug, or "
                         "share the host's /dev/shm with --ipc=host", gib);
            else
                snprintf(hint, sizeof(hint), "remove stale names (zinc gc) or grow it: "
                         "mount -o remount,size=%lluG /dev/shm", gib);
            finding(&d, LV_FAIL, "shm-space", "%s free of %s, but the ring needs %s: %s",
                    human_bytes(avail, b1, sizeof(b1)), human_bytes(total, b2, sizeof(b2)),
                    human_bytes(need, b3, sizeof(b3)), hint);
        } else if (avail < 2 * need) {
            finding(&d, LV_WARN, "shm-space", "%s free of %s: room for the %s ring, but not "
                    "for a second one", human_bytes(avail, b1, sizeof(b1)),
                    human_bytes(total, b2, sizeof(b2)), human_bytes(need, b3, sizeof(b3)));
        } else {
            finding(&d, LV_OK, "shm-space", "%s free of %s (ring needs %s)",
                    human_bytes(avail, b1, sizeof(b1)), human_bytes(total, b2, sizeof(b2)),
                    human_bytes(need, b3, sizeof(b3)));
        }
        if (ctr && total <= 64ull * 1024 * 1024)
            finding(&d, LV_WARN, "container", "%s has the default 64 MiB of a %s container: "
                    "pass --shm-size=1g (docker/podman run) or set a larger "
                    "emptyDir medium: Memory (Kubernetes)", SHM_DIR, ctr);
        /* Permissions: everyone may create, only owners may remove. */
        if ((st.st_mode & 01777) != 01777)
            finding(&d, LV_WARN, "shm-perms", "%s has mode %04o, expected 1777 "
                    "(chmod 1777 %s) so that every user can create regions",
                    SHM_DIR, (unsigned)(st.st_mode & 07777), SHM_DIR);
        else
            finding(&d, LV_OK, "shm-perms", "%s mode 1777, owned by uid %u", SHM_DIR,
                    (unsigned)st.st_uid);
        if (access(SHM_DIR, W_OK | X_OK) != 0)
            finding(&d, LV_FAIL, "shm-perms", "this user (uid %u) cannot create files in %s",
                    (unsigned)getuid(), SHM_DIR);
    }

    /* A real create/remove round trip through the library. */
    char name[64];
    snprintf(name, sizeof(name), "doctor-%d", (int)getpid());
    ZincHandle h = NULL;
    long page = sysconf(_SC_PAGESIZE);
    int rc = zinc_create(name, (uintptr_t)(page > 0 ? page : 4096), &h);
    if (rc == 0) {
        zinc_close(h);
        zinc_unlink(name); /* close already removed it; -2 is fine */
        finding(&d, LV_OK, "create", "created and removed a test region");
    } else {
        finding(&d, LV_FAIL, "create", "cannot create a region: %s (%d) %s", zinc_strerror(rc),
                rc, zinc_last_error());
    }

    /* Foreign and stale names: visible to ls, removable by gc. */
    struct census c = {0};
    long n = each_snapshot(NULL, 0, count_name, &c);
    if (n >= 0) {
        if (c.stale)
            finding(&d, LV_WARN, "stale", "%u name%s with a gone owner hold shared memory: "
                    "run 'zinc gc'", c.stale, c.stale == 1 ? "" : "s");
        else
            finding(&d, LV_OK, "stale", "%ld Zinc name%s, none stale", n, n == 1 ? "" : "s");
        if (c.foreign)
            finding(&d, LV_WARN, "foreign", "%u name%s (e.g. '%s') belong%s to another user "
                    "or %s not a regular file: zinc refuses to attach to them (-1 or -74), and "
                    "so would a producer of that name here; if it is a squatter, its owner or root removes "
                    "it (zinc rm --force NAME); to share with another user on purpose, see "
                    "ZINC_TRUST_UID in docs/reliability.md", c.foreign,
                    c.foreign == 1 ? "" : "s", c.example, c.foreign == 1 ? "s" : "",
                    c.foreign == 1 ? "is" : "are");
        else if (n > 0)
            finding(&d, LV_OK, "foreign", "every Zinc name belongs to this user");
    }

    if (ctr)
        finding(&d, LV_INFO, "container", "running in a %s container: producer and consumers "
                "in different containers must share IPC (--ipc=host, or --ipc=container:NAME, "
                "or the same /dev/shm volume) and see each other's locks", ctr);

    /* Huge pages for rings (ZINC_RING_HUGEPAGES advises the mapping). On a
     * tmpfs the mount's huge= option decides; the system-wide shmem_enabled
     * governs only anonymous shared memory, except deny and force. */
    char sys_mode[32] = "";
    if (read_line("/sys/kernel/mm/transparent_hugepage/shmem_enabled", line, sizeof(line))) {
        const char *sel = strchr(line, '[');
        if (sel)
            sscanf(sel + 1, "%31[^]]", sys_mode);
    }
    char huge[32] = "never";
    bool on_tmpfs = shm_mount_huge(huge, sizeof(huge));
    if (!sys_mode[0])
        finding(&d, LV_INFO, "hugepages", "no transparent huge page support for shmem here");
    else if (!strcmp(sys_mode, "deny"))
        finding(&d, LV_INFO, "hugepages", "shmem_enabled is deny: no huge pages for any tmpfs, "
                "ZINC_RING_HUGEPAGES has no effect");
    else if (!strcmp(sys_mode, "force") || !strcmp(huge, "always") ||
             !strcmp(huge, "within_size"))
        finding(&d, LV_OK, "hugepages", "/dev/shm gives huge pages to every ring (%s)",
                !strcmp(sys_mode, "force") ? "shmem_enabled force" : huge);
    else if (!strcmp(huge, "advise"))
        finding(&d, LV_OK, "hugepages", "/dev/shm is mounted huge=advise: rings created with "
                "ZINC_RING_HUGEPAGES get huge pages");
    else
        finding(&d, LV_INFO, "hugepages", "%s: ZINC_RING_HUGEPAGES has no effect (as root: "
                "mount -o remount,huge=advise /dev/shm)",
                on_tmpfs ? "/dev/shm is mounted without huge=" : "/dev/shm is not a tmpfs");

    /* Each ring is one mapping per process; each handle holds no fd. */
    if (read_line("/proc/sys/vm/max_map_count", line, sizeof(line))) {
        long v = atol(line);
        finding(&d, v < 65530 ? LV_WARN : LV_OK, "max_map_count", "vm.max_map_count = %ld%s", v,
                v < 65530 ? " (low: sysctl -w vm.max_map_count=262144)" : "");
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        bool low = rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 1024;
        finding(&d, low ? LV_WARN : LV_OK, "nofile", "open files limit %llu%s",
                (unsigned long long)rl.rlim_cur,
                low ? " (each ring handle keeps a descriptor for its liveness lock: "
                      "ulimit -n 4096)" : "");
    }

    int ret = d.worst == LV_FAIL ? EXIT_PROBLEM : EXIT_OKAY;
    if (o.json)
        printf("],\"ok\":%s}\n", ret == EXIT_OKAY ? "true" : "false");
    else
        printf("%s\n", ret == EXIT_OKAY ? "no problem found" : "problems found (see FAIL above)");
    return ret;
}

