/* SPDX-License-Identifier: MIT */
/* zinc::Region: RAII over a Zinc region, its data span, notify/wait with
 * std::chrono timeouts (across processes), and errors in both forms. */
#include <zinc/zinc.hpp>

#include <gtest/gtest.h>

#include <cstring>

#include "util.hpp"

using namespace std::chrono_literals;

namespace {

class Region : public ztest::Named {
};

TEST_F(Region, CreateOpenShareBytes)
{
    zinc::Region w = zinc::Region::create(name(), 8192);
    ASSERT_TRUE(w);
    EXPECT_EQ(w.capacity(), 8192u);
    EXPECT_EQ(w.data().size(), 8192u);
    EXPECT_EQ(w.layout(), 1u);
    std::memcpy(w.data().data(), "shared", 6);

    zinc::Region r = zinc::Region::open(name());
    EXPECT_EQ(std::memcmp(r.data().data(), "shared", 6), 0);
    EXPECT_EQ(r.info().capacity, 8192u);
    EXPECT_EQ(r.info().owner_alive, 1);
    EXPECT_EQ(zinc::inspect(name()).ref_count, 2u);

    zinc::RegionOptions o;
    o.layout_version = 2;
    zinc::Region v2 = zinc::Region::create(other_name("-v2"), 4096, o);
    EXPECT_EQ(v2.layout(), 2u);
}

TEST_F(Region, ErrorsInBothForms)
{
    std::error_code ec;
    zinc::Region r = zinc::Region::open(name(), ec);
    EXPECT_EQ(ec, zinc::errc::not_found);
    EXPECT_FALSE(r);
    EXPECT_THROW((void)zinc::Region::open(name()), zinc::error);

    zinc::Region a = zinc::Region::create(name(), 4096);
    zinc::Region b = zinc::Region::create(name(), 4096, {}, ec);
    EXPECT_EQ(ec, zinc::errc::exists);
    try {
        zinc::Region c = zinc::Region::create(name(), 4096);
        FAIL() << "created a name that exists";
    } catch (const zinc::error &e) {
        EXPECT_EQ(e.code(), std::errc::file_exists);
    }
    (void)zinc::Region::create("no/slash", 4096, {}, ec);
    EXPECT_EQ(ec, zinc::errc::invalid_argument);
    (void)zinc::Region::create(other_name("-odd"), 100, {}, ec); /* not a page multiple */
    EXPECT_EQ(ec, zinc::errc::invalid_argument);
    EXPECT_FALSE(zinc::last_error().empty());
    EXPECT_FALSE(zinc::name_valid("no/slash"));
    EXPECT_TRUE(zinc::name_valid(name()));
    EXPECT_EQ(zinc::version(), (1u << 16) | 1u);
}

TEST_F(Region, DestructorClosesAndTheNameGoes)
{
    {
        zinc::Region w = zinc::Region::create(name(), 4096);
        zinc::Region moved = std::move(w);
        EXPECT_FALSE(w); // NOLINT(bugprone-use-after-move)
        EXPECT_TRUE(moved);
        EXPECT_NO_THROW((void)zinc::inspect(name()));
    }
    /* Owner closed and no other handle: the name is removed. */
    std::error_code ec;
    (void)zinc::inspect(name(), ec);
    EXPECT_EQ(ec, zinc::errc::not_found);

    zinc::Region w = zinc::Region::create(name(), 4096);
    zinc::unlink(name());
    EXPECT_THROW(zinc::unlink(name()), zinc::error);
}

TEST_F(Region, WaitTimesOutAndTryWaitConsumes)
{
    zinc::Region w = zinc::Region::create(name(), 4096);
    zinc::Region r = zinc::Region::open(name());
    EXPECT_FALSE(r.wait(0ms));
    EXPECT_FALSE(r.wait(2ms));
    EXPECT_FALSE(r.try_wait());
    w.notify();
    w.notify(); /* notifications coalesce */
    EXPECT_TRUE(r.try_wait());
    EXPECT_FALSE(r.try_wait());
    w.notify();
    std::error_code ec;
    EXPECT_TRUE(r.wait(1s, ec));
    EXPECT_FALSE(ec);
    EXPECT_FALSE(r.wait(1ms, ec));
    EXPECT_FALSE(ec); /* a timeout is a result, not an error */
}

/* A child waits forever; this process writes and notifies. */
TEST_F(Region, NotifyWakesAWaiterInAnotherProcess)
{
    zinc::Region w = zinc::Region::create(name(), 4096);
    ztest::Pipe ready;
    const std::string n = name();
    pid_t pid = ztest::fork_run([&] {
        zinc::Region r = zinc::Region::open(n); /* its cursor: notifications from now on */
        ready.send();
        if (!r.wait(zinc::forever))
            return 2;
        return std::memcmp(r.data().data(), "wake up", 7) == 0 ? 0 : 3;
    });
    ASSERT_GT(pid, 0);
    ASSERT_EQ(ready.recv(), 'x');
    std::memcpy(w.data().data(), "wake up", 7);
    w.notify();
    EXPECT_EQ(ztest::wait_status(pid), 0);
}

} // namespace
