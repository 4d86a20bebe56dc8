/* SPDX-License-Identifier: MIT */
/* Sealed anonymous rings through zinc.hpp: Consumer::connect to a producer
 * process listening on an abstract socket (written against the C API, and
 * against Producer::listen), Producer::fd handed to a forked consumer
 * (Consumer::open_fd), ring_connect with ring_stats_fd / inspect_fd, the
 * socket registry, group access, owners, the library's version, and the
 * errors of each call. */
#include <zinc/zinc.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.hpp"

using namespace std::chrono_literals;

namespace {

class Anon : public ztest::Named {
protected:
    /* "@<name>": an abstract socket address of this test. */
    std::string address(const std::string &suffix = "") const { return "@" + name() + suffix; }

    static zinc::Config anonymous(std::uint32_t slots = 4, std::uint64_t slot = 4096)
    {
        zinc::Config c(slots, slot);
        c.flags |= ZINC_RING_ANONYMOUS;
        return c;
    }
    /* One frame: `n` bytes, each (seq * 3 + i) & 0xff. */
    static void publish(zinc::Producer &p, std::uint64_t n = 256, bool last = false)
    {
        zinc::WriteFrame f = p.claim(20s);
        for (std::uint64_t i = 0; i < n; i++)
            f.data()[i] = static_cast<std::byte>((f.seq() * 3 + i) & 0xff);
        f.set_size(n);
        if (last)
            f.set_flags(ZINC_FRAME_END_OF_STREAM);
        f.publish();
    }
    static bool payload_ok(const zinc::ReadFrame &f)
    {
        for (std::size_t i = 0; i < f.data().size(); i++)
            if (f.data()[i] != static_cast<std::byte>((f.seq() * 3 + i) & 0xff))
                return false;
        return true;
    }
};

/* A producer process written against the C API serves its ring on an
 * abstract socket; this process connects as an EVERY consumer. */
TEST_F(Anon, ConnectToACProducerProcessOnAnAbstractSocket)
{
    ztest::Pipe ready, go;
    const std::string n = name(), addr = address();
    const int frames = 100;
    pid_t pid = ztest::fork_run([&] {
        zinc_ring_config cfg{};
        cfg.slot_count = 4;
        cfg.slot_size = 4096;
        cfg.flags = ZINC_RING_ANONYMOUS;
        zinc_producer *p = nullptr;
        if (zinc_producer_create(n.c_str(), &cfg, &p) != 0 ||
            zinc_producer_listen(p, addr.c_str()) != 0) {
            std::fprintf(stderr, "child: %s\n", zinc_last_error());
            return 3;
        }
        ready.send();
        if (go.recv() < 0)
            return 2;
        for (int i = 0; i < frames; i++) {
            zinc_frame f;
            if (zinc_producer_claim(p, &f, 20000000000) != 0)
                return 4;
            auto *b = static_cast<std::uint8_t *>(f.data);
            for (std::uint64_t k = 0; k < 256; k++)
                b[k] = static_cast<std::uint8_t>((f.seq * 3 + k) & 0xff);
            f.size = 256;
            if (zinc_producer_publish(p, &f) != 0)
                return 5;
        }
        zinc_producer_close(p);
        return 0;
    });
    ASSERT_GT(pid, 0);
    ASSERT_EQ(ready.recv(), 'x');

    zinc::Consumer c = zinc::Consumer::connect(addr, zinc::Mode::every);
    EXPECT_EQ(c.config().slot_count, 4u);
    EXPECT_NE(c.config().flags & ZINC_RING_ANONYMOUS, 0u);
    /* Its counters through a descriptor of our own, without attaching. */
    zinc::unique_fd sfd = zinc::ring_connect(addr);
    ASSERT_TRUE(sfd);
    zinc::RingStats st = zinc::ring_stats_fd(sfd.get());
    EXPECT_EQ(st.producer_state(), zinc::ProducerState::open);
    EXPECT_EQ(st.ring.producer_alive, 1u);
    EXPECT_EQ(st.ring.producer_pid, pid);
    ASSERT_EQ(st.consumers.size(), 1u);
    EXPECT_EQ(st.consumers[0].pid, getpid());
    EXPECT_EQ(st.ring.owner_uid, geteuid());
    EXPECT_EQ(st.ring.foreign, 0u);
    zinc_region_info info = zinc::inspect_fd(sfd.get());
    EXPECT_EQ(info.is_ring, 1u);
    EXPECT_EQ(info.owner_uid, geteuid());
    EXPECT_EQ(info.foreign, 0u);

    go.send();
    int got = 0, bad = 0;
    for (zinc::ReadFrame &f : c) {
        EXPECT_EQ(f.seq(), static_cast<std::uint64_t>(++got));
        bad += !payload_ok(f);
        EXPECT_TRUE(f.release());
    }
    EXPECT_EQ(got, frames);
    EXPECT_EQ(bad, 0);
    EXPECT_EQ(ztest::wait_status(pid), 0);
    /* The descriptor keeps the ring: its producer is now closed. */
    st = zinc::ring_stats_fd(sfd.get());
    EXPECT_EQ(st.producer_state(), zinc::ProducerState::closed);
    EXPECT_EQ(st.ring.published, static_cast<std::uint64_t>(frames));
}

/* Producer::listen in a C++ producer process; Consumer::connect waits for
 * it to start listening. */
TEST_F(Anon, ConnectWaitsForAListenerThatComesLater)
{
    ztest::Pipe go, done;
    const std::string n = name(), addr = address();
    std::error_code ec;
    zinc::Consumer early = zinc::Consumer::connect(addr, zinc::Mode::every, 30ms, ec);
    EXPECT_EQ(ec, zinc::errc::not_found) << "nobody listens yet";
    EXPECT_FALSE(early);

    pid_t pid = ztest::fork_run([&] {
        done.close_wr();
        if (go.recv() < 0)
            return 2;
        zinc::Producer p = zinc::Producer::create(n, anonymous());
        p.listen(addr);
        /* Wait for the consumer to attach, then one frame and the end. */
        zinc::unique_fd fd = p.fd();
        const auto t0 = std::chrono::steady_clock::now();
        for (;;) {
            zinc::RingStats st = zinc::ring_stats_fd(fd.get());
            if (!st.consumers.empty() && st.consumers[0].attached_ns != 0)
                break;
            if (std::chrono::steady_clock::now() - t0 > 30s)
                return 6;
            sched_yield();
        }
        publish(p, 64, true);
        return done.recv() < 0 ? 0 : 3;
    });
    ASSERT_GT(pid, 0);
    go.send();
    zinc::Consumer c = zinc::Consumer::connect(addr, zinc::Mode::every, 30s, ec);
    ASSERT_FALSE(ec) << ec.message() << " " << zinc::last_error();
    zinc::ReadFrame f = c.acquire(20s);
    EXPECT_EQ(f.seq(), 1u);
    EXPECT_TRUE(f.end_of_stream());
    EXPECT_TRUE(payload_ok(f));
    EXPECT_TRUE(f.release());
    done.close_wr();
    EXPECT_EQ(ztest::wait_status(pid), 0);
}

/* Producer::fd: a descriptor for one consumer, inherited by a forked child
 * that attaches with Consumer::open_fd. */
TEST_F(Anon, ProducerDescriptorToAForkedConsumer)
{
    zinc::Producer p = zinc::Producer::create(name(), anonymous());
    zinc::unique_fd fd = p.fd();
    ASSERT_TRUE(fd);
    EXPECT_NE(fcntl(fd.get(), F_GETFD) & FD_CLOEXEC, 0) << "close-on-exec";
    zinc::unique_fd other = p.fd();
    EXPECT_NE(other.get(), fd.get()) << "a new descriptor per call";

    ztest::Pipe attached;
    const int frames = 50;
    const int cfd = fd.get();
    pid_t pid = ztest::fork_run([&] {
        zinc::Consumer c = zinc::Consumer::open_fd(cfd, zinc::Mode::every);
        attached.send();
        int got = 0;
        for (zinc::ReadFrame &f : c) {
            if (f.seq() != static_cast<std::uint64_t>(++got) || !payload_ok(f) || !f.release())
                return 4;
        }
        return got == frames ? 0 : 5;
    });
    ASSERT_GT(pid, 0);
    fd.reset(); /* the child has its own copy */
    ASSERT_EQ(attached.recv(), 'x');
    for (int i = 0; i < frames; i++)
        publish(p);
    p.close();
    EXPECT_EQ(ztest::wait_status(pid), 0);
}

/* open_fd borrows the descriptor: closing it right after changes nothing. */
TEST_F(Anon, OpenFdBorrowsTheDescriptor)
{
    zinc::Producer p = zinc::Producer::create(name(), anonymous());
    zinc::Consumer c;
    {
        zinc::unique_fd fd = p.fd();
        c = zinc::Consumer::open_fd(fd.get(), zinc::Mode::every);
    }
    publish(p);
    zinc::ReadFrame f = c.acquire(5s);
    EXPECT_TRUE(payload_ok(f));
    EXPECT_TRUE(f.release());
    /* unique_fd: release and reset. */
    zinc::unique_fd fd = p.fd();
    int raw = fd.release();
    EXPECT_FALSE(fd);
    EXPECT_GE(fcntl(raw, F_GETFD), 0);
    fd.reset(raw);
    fd = zinc::unique_fd();
    errno = 0;
    EXPECT_EQ(fcntl(raw, F_GETFD), -1);
    EXPECT_EQ(errno, EBADF);
}

TEST_F(Anon, ErrorsAreCodesWithMessages)
{
    std::error_code ec;
    const std::string addr = address();
    /* Nobody listens. */
    zinc::Consumer c = zinc::Consumer::connect(addr, zinc::Mode::every, ec);
    EXPECT_EQ(ec, zinc::errc::not_found);
    EXPECT_FALSE(zinc::last_error().empty());
    EXPECT_THROW((void)zinc::Consumer::connect(addr), zinc::error);
    zinc::unique_fd none = zinc::ring_connect(addr, ec);
    EXPECT_EQ(ec, zinc::errc::not_found);
    EXPECT_FALSE(none);
    EXPECT_THROW((void)zinc::ring_connect(addr), zinc::error);
    c = zinc::Consumer::connect("", zinc::Mode::every, ec);
    EXPECT_EQ(ec, zinc::errc::invalid_argument);

    /* A named ring has no socket and no descriptor to hand out. */
    zinc::Producer named = zinc::Producer::create(name(), zinc::Config(4, 64));
    named.listen(addr, ec);
    EXPECT_EQ(ec, zinc::errc::invalid_argument);
    zinc::unique_fd nfd = named.fd(ec);
    EXPECT_EQ(ec, zinc::errc::invalid_argument);
    EXPECT_FALSE(nfd);
    EXPECT_THROW((void)named.fd(), zinc::error);

    /* Listening: bad addresses, twice, and an address taken. */
    zinc::Producer p = zinc::Producer::create(other_name("-a"), anonymous());
    p.listen("@", ec);
    EXPECT_EQ(ec, zinc::errc::invalid_argument);
    p.listen(addr);
    p.listen(addr + "-2", ec);
    EXPECT_EQ(ec, zinc::errc::invalid_argument) << "already listening";
    zinc::Producer q = zinc::Producer::create(other_name("-b"), anonymous());
    q.listen(addr, ec);
    EXPECT_EQ(ec, zinc::errc::exists);
    EXPECT_THROW(q.listen(addr), zinc::error);

    /* Descriptors that are not sealed rings. */
    c = zinc::Consumer::open_fd(-1, zinc::Mode::every, ec);
    EXPECT_EQ(ec, zinc::errc::invalid_argument);
    int mfd = memfd_create("not-a-ring", MFD_CLOEXEC);
    ASSERT_GE(mfd, 0);
    ASSERT_EQ(ftruncate(mfd, 1 << 20), 0);
    c = zinc::Consumer::open_fd(mfd, zinc::Mode::every, ec);
    EXPECT_EQ(ec, zinc::errc::corrupted) << "an unsealed memfd";
    EXPECT_FALSE(c);
    EXPECT_THROW((void)zinc::Consumer::open_fd(mfd, zinc::Mode::every), zinc::error);
    (void)zinc::ring_stats_fd(mfd, ec);
    EXPECT_EQ(ec, zinc::errc::corrupted);
    (void)zinc::inspect_fd(mfd, ec);
    EXPECT_EQ(ec, zinc::errc::corrupted);
    close(mfd);

    /* Success clears ec. */
    c = zinc::Consumer::connect(addr, zinc::Mode::latest, ec);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_TRUE(c);

    /* unlisten: nobody new connects, the attached consumer stays, and the
     * address is free for another producer; twice is an error. */
    p.unlisten();
    zinc::Consumer late = zinc::Consumer::connect(addr, zinc::Mode::latest, ec);
    EXPECT_EQ(ec, zinc::errc::not_found);
    p.unlisten(ec);
    EXPECT_EQ(ec, zinc::errc::invalid_argument);
    EXPECT_THROW(p.unlisten(), zinc::error);
    q.listen(addr);
    {
        zinc::WriteFrame w = p.claim();
        w.publish();
    }
    zinc::ReadFrame r = c.acquire(std::chrono::milliseconds(0));
    EXPECT_EQ(r.seq(), 1u) << "the consumer of the unlistened ring carries on";
}

std::vector<std::string> list_dir(const std::string &dir)
{
    std::vector<std::string> out;
    if (DIR *d = opendir(dir.c_str())) {
        while (dirent *e = readdir(d))
            if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
                out.push_back(e->d_name);
        closedir(d);
    }
    return out;
}

/* Listeners register their address for `zinc ls` in the registry. */
TEST_F(Anon, ListenerRegistersItsAddress)
{
    char tmpl[] = "/tmp/zinc-cpp-registry-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    const std::string dir = tmpl;
    const char *old = getenv("ZINC_RUNTIME_DIR");
    const std::string saved = old ? old : "";
    setenv("ZINC_RUNTIME_DIR", dir.c_str(), 1);
    EXPECT_EQ(zinc::socket_registry(), dir);

    const std::string addr = address();
    {
        zinc::Producer p = zinc::Producer::create(name(), anonymous());
        p.listen(addr);
        /* One symbolic link per address, pointing at it. */
        std::vector<std::string> entries = list_dir(dir);
        ASSERT_EQ(entries.size(), 1u);
        char target[PATH_MAX] = {0};
        ssize_t len = readlink((dir + "/" + entries[0]).c_str(), target, sizeof(target) - 1);
        ASSERT_GT(len, 0) << entries[0];
        EXPECT_EQ(std::string(target, static_cast<std::size_t>(len)), addr);
    }
    /* Closed: its entry is gone. */
    EXPECT_TRUE(list_dir(dir).empty());

    if (old)
        setenv("ZINC_RUNTIME_DIR", saved.c_str(), 1);
    else
        unsetenv("ZINC_RUNTIME_DIR");
    rmdir(dir.c_str());
}

mode_t shm_mode(const std::string &name)
{
    struct stat st;
    if (stat(("/dev/shm/zinc_" + name).c_str(), &st) != 0)
        return 0;
    return st.st_mode & 0777;
}

/* Group access: 0660 on request, 0600 otherwise; owners are reported. */
TEST_F(Anon, GroupAccessAndOwners)
{
    const std::string r1 = other_name("-r1"), r2 = other_name("-r2");
    zinc::Region plain = zinc::Region::create(r1, 4096);
    EXPECT_EQ(shm_mode(r1), 0600u);
    zinc::RegionOptions o;
    o.group_access = true;
    zinc::Region shared = zinc::Region::create(r2, 4096, o);
    EXPECT_EQ(shm_mode(r2), 0660u);
    EXPECT_EQ(zinc::inspect(r2).owner_uid, geteuid());
    EXPECT_EQ(zinc::inspect(r2).foreign, 0u);

    zinc::Config cfg(4, 64);
    cfg.flags |= ZINC_RING_GROUP_ACCESS;
    zinc::Producer p = zinc::Producer::create(name(), cfg);
    EXPECT_EQ(shm_mode(name()), 0660u);
    zinc::RingStats st = zinc::ring_stats(name());
    EXPECT_EQ(st.producer_state(), zinc::ProducerState::open);
    EXPECT_EQ(st.ring.owner_uid, geteuid());
    EXPECT_EQ(st.ring.foreign, 0u);
}

TEST(Library, VersionStringIsTheHeadersAndTheErrorsKnowInterrupted)
{
    EXPECT_STREQ(zinc::version_string(), ZINC_VERSION_STRING);
    EXPECT_EQ(static_cast<int>(zinc::errc::interrupted), ZINC_EINTR);
    EXPECT_EQ(zinc::strerror(ZINC_EINTR), zinc_strerror(ZINC_EINTR));
}

} // namespace
