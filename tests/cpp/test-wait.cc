/* SPDX-License-Identifier: MIT */
/* Waiting in event loops through zinc.hpp: Consumer::fd() (borrowed,
 * level-triggered, epoll on it against a producer process), zinc::wait_any
 * over two rings (in one process, and against two producer processes),
 * errc::interrupted from a signal handler, and the payload mappings. */
#include <zinc/zinc.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <thread>
#include <type_traits>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/syscall.h>

#include "util.hpp"

using namespace std::chrono_literals;

static_assert(std::is_same_v<decltype(std::declval<zinc::Consumer &>().fd()), int>,
              "a consumer's descriptor is borrowed: a plain int");
static_assert(std::is_same_v<decltype(std::declval<zinc::Producer &>().fd()), zinc::unique_fd>,
              "a producer's new descriptor is the caller's");
static_assert(std::is_same_v<decltype(std::declval<const zinc::Consumer &>().mapping()),
                             zinc::const_bytes>,
              "a consumer's mapping is read-only");
static_assert(std::is_same_v<decltype(std::declval<const zinc::Producer &>().mapping()),
                             zinc::bytes>);

namespace {

bool readable(int fd, int timeout_ms = 0)
{
    pollfd p = {fd, POLLIN, 0};
    int r;
    do
        r = poll(&p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    return r == 1 && (p.revents & POLLIN);
}

class Wait : public ztest::Named {
protected:
    /* Publish one frame of 8 bytes: its seq. */
    static std::uint64_t publish(zinc::Producer &p)
    {
        zinc::WriteFrame f = p.claim(20s); /* EVERY consumers on a busy machine */
        std::uint64_t seq = f.seq();
        std::memcpy(f.data().data(), &seq, sizeof(seq));
        f.set_size(sizeof(seq));
        f.publish();
        return seq;
    }
    /* acquire(0ns) until would_block; the frames taken. */
    static int drain(zinc::Consumer &c)
    {
        int n = 0;
        std::error_code ec;
        while (zinc::ReadFrame f = c.acquire(0ns, ec)) {
            EXPECT_TRUE(f.release());
            n++;
        }
        EXPECT_EQ(ec, zinc::errc::would_block) << ec.message();
        return n;
    }
};

/* ---- The descriptor ---------------------------------------------------- */

TEST_F(Wait, DescriptorIsBorrowedStableAndLevelTriggered)
{
    zinc::Producer p = zinc::Producer::create(name(), zinc::Config(8, 64));
    zinc::Consumer c = zinc::Consumer::open(name(), zinc::Mode::every);
    const int fd = c.fd();
    ASSERT_GE(fd, 0);
    std::error_code ec;
    EXPECT_EQ(c.fd(ec), fd) << "the same descriptor on every call";
    EXPECT_FALSE(ec);
    EXPECT_FALSE(readable(fd)) << "nothing published";

    publish(p);
    EXPECT_TRUE(readable(fd, 5000)) << "readable after a publish";
    publish(p);
    /* Level-triggered: a frame taken without reaching would_block leaves it
     * readable. */
    zinc::ReadFrame f = c.try_acquire();
    ASSERT_TRUE(f);
    EXPECT_TRUE(f.release());
    EXPECT_TRUE(readable(fd)) << "one frame still pending";
    EXPECT_EQ(drain(c), 1);
    EXPECT_FALSE(readable(fd)) << "acquire answered would_block: not readable";

    /* The producer closes: readable, and acquire says producer_gone. */
    p.close();
    EXPECT_TRUE(readable(fd, 5000)) << "readable once the producer closed";
    zinc::ReadFrame none = c.acquire(0ns, ec);
    EXPECT_EQ(ec, zinc::errc::producer_gone);

    /* The consumer owns it: closing the consumer closes the descriptor. */
    c.close();
    errno = 0;
    EXPECT_EQ(fcntl(fd, F_GETFD), -1);
    EXPECT_EQ(errno, EBADF);
}

/* epoll on the descriptor of an EVERY consumer whose producer is another
 * process: every frame arrives, in order, and the producer's end too. */
TEST_F(Wait, EpollOnTheDescriptorAgainstAProducerProcess)
{
    ztest::Pipe ready, go;
    const std::string n = name();
    const std::uint64_t frames = 300;
    pid_t pid = ztest::fork_run([&] {
        zinc::Producer p = zinc::Producer::create(n, zinc::Config(4, 64));
        ready.send();
        if (go.recv() < 0)
            return 2;
        for (std::uint64_t i = 0; i < frames; i++)
            publish(p);
        return 0; /* p closes: the consumer sees producer_gone */
    });
    ASSERT_GT(pid, 0);
    ASSERT_EQ(ready.recv(), 'x');
    zinc::Consumer c = zinc::Consumer::open(name(), zinc::Mode::every);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    ASSERT_GE(ep, 0);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = 7;
    ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, c.fd(), &ev), 0) << std::strerror(errno);
    go.send();

    std::uint64_t expect = 1, wakeups = 0;
    bool gone = false;
    while (!gone) {
        epoll_event out{};
        int r = epoll_wait(ep, &out, 1, 20000);
        if (r < 0 && errno == EINTR)
            continue;
        ASSERT_EQ(r, 1) << "no readiness within 20 s; next frame " << expect;
        EXPECT_EQ(out.data.u64, 7u);
        wakeups++;
        std::error_code ec;
        for (;;) {
            zinc::ReadFrame f = c.acquire(0ns, ec);
            if (!f)
                break;
            std::uint64_t seq = 0;
            std::memcpy(&seq, f.data().data(), sizeof(seq));
            EXPECT_EQ(f.seq(), expect);
            EXPECT_EQ(seq, expect);
            expect++;
            EXPECT_TRUE(f.release());
        }
        if (ec == zinc::errc::producer_gone)
            gone = true;
        else
            ASSERT_EQ(ec, zinc::errc::would_block) << ec.message();
    }
    close(ep);
    EXPECT_EQ(expect, frames + 1);
    EXPECT_GE(wakeups, 1u);
    EXPECT_EQ(ztest::wait_status(pid), 0);
}

/* ---- wait_any ---------------------------------------------------------- */

TEST_F(Wait, WaitAnyPollTimeoutReadyHeldAndFairness)
{
    const std::string n2 = other_name("-b");
    zinc::Producer pa = zinc::Producer::create(name(), zinc::Config(8, 64));
    zinc::Producer pb = zinc::Producer::create(n2, zinc::Config(8, 64));
    zinc::Consumer a = zinc::Consumer::open(name(), zinc::Mode::every);
    zinc::Consumer b = zinc::Consumer::open(n2, zinc::Mode::every);

    /* Nothing anywhere: would_block at 0, timed_out after a timeout. */
    std::error_code ec;
    EXPECT_EQ(zinc::wait_any({a, b}, 0ns, ec), 2u) << "cs.size() on failure";
    EXPECT_EQ(ec, zinc::errc::would_block);
    EXPECT_EQ(zinc::wait_any({a, b}, 20ms, ec), 2u);
    EXPECT_EQ(ec, zinc::errc::timed_out);
    try {
        (void)zinc::wait_any({a, b}, 0ns);
        ADD_FAILURE() << "no exception";
    } catch (const zinc::error &e) {
        EXPECT_EQ(e.code(), zinc::errc::would_block);
        EXPECT_NE(std::string(e.what()).find("zinc::wait_any"), std::string::npos) << e.what();
    }

    /* A frame on b only. */
    publish(pb);
    EXPECT_EQ(zinc::wait_any({a, b}, 5s), 1u);
    EXPECT_EQ(zinc::wait_any({a, b}, 0ns, ec), 1u) << "still ready: nothing was taken";
    EXPECT_FALSE(ec);
    EXPECT_EQ(drain(b), 1);

    /* A consumer holding a frame counts as ready at once. */
    publish(pa);
    {
        zinc::ReadFrame held = a.acquire(1s);
        EXPECT_EQ(zinc::wait_any({b, a}, 0ns, ec), 1u);
        EXPECT_FALSE(ec);
        EXPECT_TRUE(held.release());
    }
    EXPECT_EQ(zinc::wait_any({a, b}, 0ns, ec), 2u);
    EXPECT_EQ(ec, zinc::errc::would_block) << "a drained, b drained";

    /* Both stay ready: the one returned least recently comes first, so
     * they alternate. */
    publish(pa);
    publish(pb);
    std::size_t first = zinc::wait_any({a, b});
    std::size_t second = zinc::wait_any({a, b});
    std::size_t third = zinc::wait_any({a, b});
    EXPECT_NE(first, second);
    EXPECT_EQ(third, first);

    /* Other ranges: a vector of consumers, an array of pointers. */
    std::vector<zinc::Consumer> v;
    v.push_back(std::move(a));
    v.push_back(std::move(b));
    EXPECT_LT(zinc::wait_any(v, 0ns), 2u);
    zinc::Consumer *ptrs[] = {&v[1]};
    EXPECT_EQ(zinc::wait_any(ptrs, 0ns), 0u);
    EXPECT_EQ(drain(v[0]), 1);
    EXPECT_EQ(drain(v[1]), 1);
    EXPECT_EQ(zinc::wait_any(v, 0ns, ec), 2u);
    EXPECT_EQ(ec, zinc::errc::would_block);

    /* Bad lists: a clear error, never a crash. */
    std::vector<zinc::Consumer *> none;
    EXPECT_EQ(zinc::wait_any(none, 0ns, ec), 0u);
    EXPECT_EQ(ec, zinc::errc::invalid_argument);
    EXPECT_FALSE(zinc::last_error().empty());
    std::vector<zinc::Consumer *> too_many(129, &v[0]);
    EXPECT_EQ(zinc::wait_any(too_many, 0ns, ec), 129u);
    EXPECT_EQ(ec, zinc::errc::invalid_argument);
    EXPECT_NE(zinc::last_error().find("128"), std::string::npos) << zinc::last_error();
    EXPECT_THROW((void)zinc::wait_any(too_many, 0ns), zinc::error);
}

/* Two producer processes, one ring each, EVERY: a single thread waiting on
 * both with wait_any gets every frame of each, in order, and both ends. */
TEST_F(Wait, WaitAnyAcrossTwoRingsOfTwoProducerProcesses)
{
    const std::string names[2] = {name(), other_name("-b")};
    const std::uint64_t frames[2] = {200, 120};
    ztest::Pipe ready[2], go[2];
    pid_t pids[2];
    for (int k = 0; k < 2; k++) {
        const std::string n = names[k];
        const std::uint64_t count = frames[k];
        ztest::Pipe &r = ready[k], &g = go[k];
        pids[k] = ztest::fork_run([&r, &g, n, count] {
            zinc::Producer p = zinc::Producer::create(n, zinc::Config(4, 64));
            r.send();
            if (g.recv() < 0)
                return 2;
            for (std::uint64_t i = 0; i < count; i++)
                publish(p);
            return 0;
        });
        ASSERT_GT(pids[k], 0);
        ASSERT_EQ(ready[k].recv(), 'x');
    }
    zinc::Consumer cs[2] = {zinc::Consumer::open(names[0], zinc::Mode::every),
                            zinc::Consumer::open(names[1], zinc::Mode::every)};
    go[0].send();
    go[1].send();

    std::vector<zinc::Consumer *> live = {&cs[0], &cs[1]};
    std::uint64_t next[2] = {1, 1};
    while (!live.empty()) {
        std::size_t i = zinc::wait_any(live, 20s); /* throws timed_out rather than hang */
        ASSERT_LT(i, live.size());
        const int k = live[i] == &cs[0] ? 0 : 1;
        std::error_code ec;
        zinc::ReadFrame f = live[i]->acquire(0ns, ec);
        if (ec == zinc::errc::producer_gone) {
            live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
            continue;
        }
        if (ec == zinc::errc::would_block)
            continue; /* a readiness with nothing behind it: rare, allowed */
        ASSERT_FALSE(ec) << ec.message();
        std::uint64_t seq = 0;
        std::memcpy(&seq, f.data().data(), sizeof(seq));
        EXPECT_EQ(f.seq(), next[k]);
        EXPECT_EQ(seq, next[k]);
        next[k]++;
        EXPECT_TRUE(f.release());
    }
    EXPECT_EQ(next[0], frames[0] + 1);
    EXPECT_EQ(next[1], frames[1] + 1);
    EXPECT_EQ(ztest::wait_status(pids[0]), 0);
    EXPECT_EQ(ztest::wait_status(pids[1]), 0);
}

/* ---- Signals ----------------------------------------------------------- */

std::atomic<int> handled{0};

void on_usr1(int)
{
    handled.fetch_add(1);
}

char thread_state(pid_t tid)
{
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t at = s.rfind(')');
    return at != std::string::npos && at + 2 < s.size() ? s[at + 2] : '?';
}

/* Run `call` in a thread; once it sleeps, signal it (again every 20 ms, in
 * case one lands between two sleeps) until it returns, at most 5 s; then
 * `unblock` so that a call that ignored the signals still ends. */
template <class Call, class Unblock>
void interrupt(Call call, Unblock unblock)
{
    struct sigaction sa {};
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: the program wants to hear of it */
    ASSERT_EQ(sigaction(SIGUSR1, &sa, nullptr), 0);
    handled = 0;
    std::atomic<pid_t> tid{0};
    std::atomic<bool> done{false};
    std::thread t([&] {
        tid = static_cast<pid_t>(syscall(SYS_gettid));
        call();
        done = true;
    });
    while (tid == 0)
        sched_yield();
    auto t0 = std::chrono::steady_clock::now();
    while (thread_state(tid) != 'S' && std::chrono::steady_clock::now() - t0 < 5s)
        sched_yield();
    t0 = std::chrono::steady_clock::now();
    while (!done && std::chrono::steady_clock::now() - t0 < 5s) {
        pthread_kill(t.native_handle(), SIGUSR1);
        auto t1 = std::chrono::steady_clock::now();
        while (!done && std::chrono::steady_clock::now() - t1 < 20ms)
            sched_yield();
    }
    if (!done)
        unblock();
    t.join();
    EXPECT_GT(handled.load(), 0) << "the handler ran";
}

TEST_F(Wait, SignalHandlerEndsAWaitWithInterrupted)
{
    zinc::Producer p = zinc::Producer::create(name(), zinc::Config(8, 64));
    zinc::Consumer c = zinc::Consumer::open(name(), zinc::Mode::latest);

    std::error_code ec;
    interrupt([&] { (void)zinc::wait_any({c}, zinc::forever, ec); }, [&] { publish(p); });
    EXPECT_EQ(ec, zinc::errc::interrupted) << ec.message();
    EXPECT_EQ(ec, std::errc::interrupted);
    EXPECT_NE(ec.message().find("signal"), std::string::npos) << ec.message();
    EXPECT_EQ(drain(c), 0);

    std::error_code thrown;
    interrupt(
        [&] {
            try {
                zinc::ReadFrame f = c.acquire();
            } catch (const zinc::error &e) {
                thrown = e.code();
            }
        },
        [&] { publish(p); });
    EXPECT_EQ(thrown, zinc::errc::interrupted) << thrown.message();
    signal(SIGUSR1, SIG_DFL);
}

/* ---- Mappings ---------------------------------------------------------- */

bool inside(zinc::const_bytes range, const void *p, std::size_t n)
{
    auto *b = static_cast<const std::byte *>(p);
    return b >= range.data() && b + n <= range.data() + range.size();
}

TEST_F(Wait, MappingsHoldEverySlotAndAreShared)
{
    const std::uint32_t slots = 4;
    const std::uint64_t slot = 3 * 4096;
    zinc::Producer p = zinc::Producer::create(name(), zinc::Config(slots, slot));
    zinc::Consumer c = zinc::Consumer::open(name(), zinc::Mode::every);
    zinc::bytes pm = p.mapping();
    zinc::const_bytes cm = c.mapping();
    ASSERT_FALSE(pm.empty());
    EXPECT_GE(pm.size(), slots * slot);
    const long page = sysconf(_SC_PAGESIZE);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(pm.data()) % static_cast<std::uintptr_t>(page),
              0u);
    EXPECT_EQ(pm.size() % static_cast<std::size_t>(page), 0u);
    /* Handles of one ring in one process share one mapping. */
    EXPECT_EQ(static_cast<const void *>(cm.data()), static_cast<const void *>(pm.data()));
    EXPECT_EQ(cm.size(), pm.size());

    for (std::uint32_t i = 0; i < 2 * slots; i++) {
        zinc::WriteFrame w = p.claim(1s);
        EXPECT_TRUE(inside(pm, w.data().data(), w.data().size())) << "slot " << i;
        w.data()[0] = static_cast<std::byte>(i);
        w.set_size(1);
        w.publish();
        zinc::ReadFrame r = c.acquire(1s);
        EXPECT_TRUE(inside(cm, r.data().data(), r.data().size())) << "slot " << i;
        EXPECT_EQ(r.data()[0], static_cast<std::byte>(i));
        EXPECT_TRUE(r.release());
    }
    EXPECT_EQ(static_cast<const void *>(p.mapping().data()),
              static_cast<const void *>(pm.data()))
        << "stable for the handle's life";
}

/* ---- Misuse ------------------------------------------------------------ */

#if ZINC_HPP_CHECKS
using WaitDeathTest = Wait;

TEST_F(WaitDeathTest, EmptyConsumersAbortWithAMessage)
{
    zinc::Producer p = zinc::Producer::create(name(), zinc::Config(4, 64));
    zinc::Consumer c = zinc::Consumer::open(name(), zinc::Mode::latest);
    zinc::Consumer moved = std::move(c);
    EXPECT_DEATH((void)zinc::wait_any({moved, c}, 0ns), "wait_any: an empty consumer");
    EXPECT_DEATH((void)c.fd(), "Consumer::fd\\(\\) on an empty consumer");
    EXPECT_DEATH((void)c.mapping(), "Consumer::mapping\\(\\) on an empty consumer");
}
#else
TEST_F(Wait, WithoutChecksEmptyConsumersAreInvalidArguments)
{
    zinc::Producer p = zinc::Producer::create(name(), zinc::Config(4, 64));
    zinc::Consumer c = zinc::Consumer::open(name(), zinc::Mode::latest);
    zinc::Consumer moved = std::move(c);
    std::error_code ec;
    EXPECT_EQ(zinc::wait_any({moved, c}, 0ns, ec), 2u);
    EXPECT_EQ(ec, zinc::errc::invalid_argument);
    EXPECT_NE(zinc::last_error().find("NULL"), std::string::npos) << zinc::last_error();
    EXPECT_EQ(c.fd(ec), -1);
    EXPECT_EQ(ec, zinc::errc::invalid_argument);
    EXPECT_THROW((void)c.fd(), zinc::error);
    EXPECT_TRUE(c.mapping().empty());
    zinc::Producer q = std::move(p);
    EXPECT_TRUE(p.mapping().empty());
    q.listen("@x", ec);
    EXPECT_EQ(ec, zinc::errc::invalid_argument) << "a named ring";
    p.listen("@x", ec);
    EXPECT_EQ(ec, zinc::errc::invalid_argument) << "an empty producer";
}
#endif

} // namespace
