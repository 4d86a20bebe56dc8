/* SPDX-License-Identifier: MIT */
/* The frame ring through zinc.hpp: RAII and move-only guards, the holding
 * rules, torn-frame reporting, error codes against exceptions, timeouts,
 * typed views, range-for, and real threads and processes on shared memory. */
#include <zinc/zinc.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <type_traits>
#include <vector>

#include "util.hpp"

using namespace std::chrono_literals;

/* ---- The holding rules in the type system (what can be checked while
 * compiling; tests/cpp/compile-fail.cc tries the copies themselves). ---- */
template <class T>
constexpr bool move_only = !std::is_copy_constructible_v<T> && !std::is_copy_assignable_v<T> &&
                           std::is_nothrow_move_constructible_v<T> &&
                           std::is_nothrow_move_assignable_v<T>;
static_assert(move_only<zinc::Producer>);
static_assert(move_only<zinc::Consumer>);
static_assert(move_only<zinc::Region>);
static_assert(move_only<zinc::WriteFrame>);
static_assert(move_only<zinc::ReadFrame>);
static_assert(!std::is_copy_constructible_v<zinc::Consumer::iterator>);
static_assert(std::is_copy_constructible_v<zinc::Descriptor>);
/* A ReadFrame's payload cannot be written through. */
static_assert(std::is_same_v<decltype(std::declval<zinc::ReadFrame &>().data()),
                             zinc::span<const std::byte>>);
static_assert(std::is_same_v<decltype(std::declval<zinc::ReadFrame &>().view<float>()),
                             zinc::TensorView<const float>>);
static_assert(std::is_error_code_enum_v<zinc::errc>);
static_assert(zinc::fourcc_grey == ZINC_FOURCC_GREY && zinc::fourcc_rgb24 == ZINC_FOURCC_RGB24 &&
              zinc::fourcc_rgba32 == ZINC_FOURCC_RGBA32 && zinc::fourcc_nv12 == ZINC_FOURCC_NV12 &&
              zinc::fourcc_pc32f == ZINC_FOURCC_PC32F && zinc::fourcc_raw == ZINC_FOURCC_RAW &&
              zinc::fourcc('T', 'E', 'S', 'T') == ZINC_FOURCC('T', 'E', 'S', 'T'));
#if __cplusplus >= 202002L
static_assert(std::is_same_v<zinc::bytes, std::span<std::byte>>, "C++20: std::span");
#endif

namespace {

class Ring : public ztest::Named {
protected:
    /* A producer and one consumer in `mode`. */
    void open(zinc::Mode mode, std::uint32_t slots = 4, std::uint64_t slot_size = 4096)
    {
        prod = zinc::Producer::create(name(), zinc::Config(slots, slot_size));
        cons = zinc::Consumer::open(name(), mode);
    }
    /* Publish one frame of `n` bytes, each (seq + i) & 0xff. */
    std::uint64_t publish(std::uint64_t n = 64)
    {
        zinc::WriteFrame f = prod.claim(0ns);
        zinc::bytes d = f.data();
        for (std::uint64_t i = 0; i < n; i++)
            d[i] = static_cast<std::byte>((f.seq() + i) & 0xff);
        f.set_size(n);
        std::uint64_t seq = f.seq();
        f.publish();
        return seq;
    }
    static bool payload_ok(const zinc::ReadFrame &f)
    {
        zinc::const_bytes d = f.data();
        for (std::size_t i = 0; i < d.size(); i++)
            if (d[i] != static_cast<std::byte>((f.seq() + i) & 0xff))
                return false;
        return true;
    }
    void TearDown() override
    {
        cons.close();
        prod.close();
        Named::TearDown();
    }

    zinc::Producer prod;
    zinc::Consumer cons;
};

TEST_F(Ring, ClaimPublishAcquireRelease)
{
    open(zinc::Mode::every);
    zinc::WriteFrame w = prod.claim();
    ASSERT_TRUE(w);
    EXPECT_TRUE(prod.claimed());
    EXPECT_EQ(w.seq(), 1u);
    EXPECT_EQ(w.capacity(), 4096u);
    EXPECT_EQ(w.data().size(), 4096u);
    std::memcpy(w.data().data(), "hello, zinc", 11);
    w.set_size(11);
    w.set_timestamp_ns(12345);
    w.set_flags(ZINC_FRAME_KEYFRAME);
    w.set_fourcc(ZINC_FOURCC('T', 'E', 'S', 'T'));
    w.user()[0] = 0xab;
    w.user()[63] = 0xcd;
    w.publish();
    EXPECT_FALSE(w);
    EXPECT_FALSE(prod.claimed());

    zinc::ReadFrame r = cons.acquire(1s);
    ASSERT_TRUE(r);
    EXPECT_TRUE(cons.held());
    EXPECT_EQ(r.seq(), 1u);
    EXPECT_EQ(r.size(), 11u);
    EXPECT_EQ(std::memcmp(r.data().data(), "hello, zinc", 11), 0);
    EXPECT_EQ(r.timestamp_ns(), 12345u);
    EXPECT_GT(r.publish_ns(), 0u);
    EXPECT_TRUE(r.keyframe());
    EXPECT_FALSE(r.end_of_stream());
    EXPECT_EQ(r.fourcc(), ZINC_FOURCC('T', 'E', 'S', 'T'));
    EXPECT_EQ(r.user()[0], 0xab);
    EXPECT_EQ(r.user()[63], 0xcd);
    EXPECT_EQ(r.dropped(), 0u);
    EXPECT_TRUE(r.release());
    EXPECT_FALSE(r);
    EXPECT_FALSE(cons.held());
    /* The descriptor copy stays readable after release. */
    EXPECT_EQ(r.seq(), 1u);
}

TEST_F(Ring, WriteFrameAbortsInItsDestructor)
{
    open(zinc::Mode::every);
    {
        zinc::WriteFrame w = prod.claim(0ns);
        EXPECT_EQ(w.seq(), 1u);
        std::memset(w.data().data(), 7, 16);
    }
    EXPECT_FALSE(prod.claimed());
    std::error_code ec;
    zinc::ReadFrame r = cons.acquire(0ns, ec);
    EXPECT_EQ(ec, zinc::errc::would_block);
    EXPECT_FALSE(r);
    /* An aborted claim's seq is reused by the next claim. */
    EXPECT_EQ(publish(), 1u);
    zinc::RingStats st = zinc::ring_stats(name());
    EXPECT_EQ(st.ring.aborted, 1u);
    EXPECT_EQ(st.ring.published, 1u);
}

TEST_F(Ring, ExplicitAbortThenAbortAgainIsAnError)
{
    open(zinc::Mode::every);
    zinc::WriteFrame w = prod.claim(0ns);
    w.abort();
    EXPECT_FALSE(w);
    try {
        w.abort();
        FAIL() << "a second abort did not throw";
    } catch (const zinc::error &e) {
        EXPECT_EQ(e.code(), zinc::errc::invalid_argument);
        EXPECT_NE(e.detail().find("already published or aborted"), std::string::npos)
            << e.detail();
    }
}

TEST_F(Ring, PublishTwiceIsAnErrorInBothForms)
{
    open(zinc::Mode::every);
    zinc::WriteFrame w = prod.claim(0ns);
    w.publish();
    try {
        w.publish();
        FAIL() << "a second publish did not throw";
    } catch (const zinc::error &e) {
        EXPECT_EQ(e.code(), zinc::errc::invalid_argument);
        EXPECT_EQ(e.code(), std::errc::invalid_argument);
        EXPECT_NE(std::string(e.what()).find("already published"), std::string::npos)
            << e.what();
    }
    std::error_code ec;
    w.publish(ec);
    EXPECT_EQ(ec, zinc::errc::invalid_argument);
    EXPECT_NE(zinc::last_error().find("already published"), std::string::npos)
        << zinc::last_error();
    /* Exactly one frame went out. */
    EXPECT_EQ(zinc::ring_stats(name()).ring.published, 1u);
}

TEST_F(Ring, OneClaimAtATime)
{
    open(zinc::Mode::every);
    zinc::WriteFrame a = prod.claim(0ns);
    std::error_code ec;
    zinc::WriteFrame b = prod.claim(0ns, ec);
    EXPECT_EQ(ec, zinc::errc::invalid_argument);
    EXPECT_FALSE(b);
    EXPECT_FALSE(zinc::last_error().empty());
    EXPECT_THROW({ zinc::WriteFrame c = prod.claim(0ns); }, zinc::error);
    /* The first claim is untouched by the refusals. */
    ASSERT_TRUE(a);
    a.set_size(8);
    a.publish();
    zinc::ReadFrame r = cons.acquire(1s);
    EXPECT_EQ(r.seq(), 1u);
}

TEST_F(Ring, OneHeldFrameAtATime)
{
    open(zinc::Mode::every);
    publish();
    publish();
    zinc::ReadFrame a = cons.acquire(1s);
    std::error_code ec;
    zinc::ReadFrame b = cons.acquire(0ns, ec);
    EXPECT_EQ(ec, zinc::errc::invalid_argument);
    EXPECT_FALSE(b);
    EXPECT_TRUE(a.release());
    zinc::ReadFrame c = cons.acquire(1s, ec);
    EXPECT_FALSE(ec);
    EXPECT_EQ(c.seq(), 2u);
}

TEST_F(Ring, ReadFrameReleasesInItsDestructor)
{
    open(zinc::Mode::every);
    publish();
    publish();
    {
        zinc::ReadFrame r = cons.acquire(1s);
        EXPECT_TRUE(payload_ok(r));
        EXPECT_TRUE(cons.held());
    }
    EXPECT_FALSE(cons.held());
    zinc::ReadFrame r = cons.acquire(0ns);
    EXPECT_EQ(r.seq(), 2u);
    zinc::RingStats st = zinc::ring_stats(name());
    ASSERT_EQ(st.consumers.size(), 1u);
    EXPECT_EQ(st.consumers[0].released, 1u);
    EXPECT_EQ(st.consumers[0].acquired, 2u);
}

TEST_F(Ring, ReleaseTwiceIsAnError)
{
    open(zinc::Mode::every);
    publish();
    zinc::ReadFrame r = cons.acquire(1s);
    EXPECT_TRUE(r.release());
    EXPECT_THROW((void)r.release(), zinc::error);
    std::error_code ec;
    EXPECT_FALSE(r.release(ec));
    EXPECT_EQ(ec, zinc::errc::invalid_argument);
    EXPECT_NE(zinc::last_error().find("already released"), std::string::npos);
}

TEST_F(Ring, MovedFramesKeepTheirHoldAndEmptyTheSource)
{
    open(zinc::Mode::every);
    publish();
    zinc::ReadFrame a = cons.acquire(1s);
    zinc::ReadFrame b = std::move(a);
    EXPECT_FALSE(a); // NOLINT(bugprone-use-after-move): the point of the test
    ASSERT_TRUE(b);
    EXPECT_TRUE(payload_ok(b));
    std::error_code ec;
    EXPECT_FALSE(a.release(ec));
    EXPECT_EQ(ec, zinc::errc::invalid_argument);
    EXPECT_TRUE(cons.held());
    zinc::ReadFrame c;
    c = std::move(b);
    EXPECT_TRUE(c.release(ec));
    EXPECT_FALSE(ec);

    zinc::WriteFrame w = prod.claim(0ns);
    zinc::WriteFrame w2(std::move(w));
    EXPECT_FALSE(w);
    w2.publish();
    /* Move-assigning over a claimed frame aborts the old claim. */
    zinc::WriteFrame x = prod.claim(0ns);
    EXPECT_EQ(x.seq(), 3u);
    x = zinc::WriteFrame();
    EXPECT_FALSE(prod.claimed());
    EXPECT_EQ(zinc::ring_stats(name()).ring.aborted, 1u);
}

/* Two slots, a LOSSY reader holding frame 1 while the producer publishes
 * frames 2 and 3: frame 3 goes into frame 1's slot. */
TEST_F(Ring, TornFrameIsReportedByRelease)
{
    open(zinc::Mode::lossy, 2);
    publish();
    zinc::ReadFrame r = cons.acquire(1s);
    ASSERT_EQ(r.seq(), 1u);
    EXPECT_TRUE(payload_ok(r));
    publish();
    publish();
    EXPECT_FALSE(payload_ok(r)); /* overwritten under us */
    EXPECT_FALSE(r.release());

    publish();
    publish();
    zinc::ReadFrame s = cons.acquire(1s);
    publish();
    publish();
    std::error_code ec;
    EXPECT_FALSE(s.release(ec));
    EXPECT_EQ(ec, zinc::errc::torn);
    EXPECT_EQ(ec, std::errc::value_too_large); /* EOVERFLOW */
    EXPECT_EQ(zinc::ring_stats(name()).consumers.at(0).torn, 2u);
    EXPECT_EQ(cons.unreported_torn(), 0u);
}

TEST_F(Ring, TornFrameReleasedByTheDestructorIsCounted)
{
    open(zinc::Mode::latest, 2);
    publish();
    {
        zinc::ReadFrame r = cons.acquire(1s);
        publish();
        publish();
    }
    EXPECT_EQ(cons.unreported_torn(), 1u);
    EXPECT_EQ(zinc::ring_stats(name()).consumers.at(0).torn, 1u);
    /* An intact one is not counted. */
    {
        zinc::ReadFrame r = cons.acquire(1s);
        EXPECT_TRUE(payload_ok(r));
    }
    EXPECT_EQ(cons.unreported_torn(), 1u);
}

TEST_F(Ring, RangeForEndsWhenTheProducerIsGone)
{
    open(zinc::Mode::every, 8);
    for (int i = 0; i < 5; i++)
        publish(100);
    prod.close();
    std::vector<std::uint64_t> seqs;
    for (zinc::ReadFrame &f : cons) {
        EXPECT_TRUE(payload_ok(f));
        seqs.push_back(f.seq());
    }
    EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
    EXPECT_FALSE(cons.held());
    std::error_code ec;
    zinc::ReadFrame r = cons.acquire(0ns, ec);
    EXPECT_EQ(ec, zinc::errc::producer_gone);
}

TEST_F(Ring, RangeForThrowsOnATornFrameTheBodyDidNotRelease)
{
    open(zinc::Mode::lossy, 2);
    publish();
    bool thrown = false;
    try {
        for (zinc::ReadFrame &f : cons) {
            (void)f;
            publish(); /* lap the held frame */
            publish();
        }
    } catch (const zinc::error &e) {
        thrown = true;
        EXPECT_EQ(e.code(), zinc::errc::torn);
        EXPECT_NE(e.detail().find("did not release"), std::string::npos) << e.detail();
    }
    EXPECT_TRUE(thrown);
    EXPECT_FALSE(cons.held());
}

TEST_F(Ring, RangeForWithReleaseInTheBodyHandlesTornFrames)
{
    open(zinc::Mode::lossy, 2);
    publish();
    int torn = 0, frames = 0;
    for (zinc::ReadFrame &f : cons) {
        frames++;
        if (f.seq() < 5) {
            publish();
            publish();
        }
        if (!f.release())
            torn++;
        if (f.seq() >= 5)
            prod.close(); /* ends the loop once drained */
    }
    EXPECT_GE(torn, 2);
    EXPECT_GE(frames, 3);
}

TEST_F(Ring, TimeoutsAsDurations)
{
    EXPECT_EQ(zinc::detail::to_ns(zinc::forever), -1);
    EXPECT_EQ(zinc::detail::to_ns(0ns), 0);
    EXPECT_EQ(zinc::detail::to_ns(-5ms), 0);
    EXPECT_EQ(zinc::detail::to_ns(2s), 2000000000);
    EXPECT_EQ(zinc::detail::to_ns(3us), 3000);

    open(zinc::Mode::every, 2);
    try {
        zinc::ReadFrame r = cons.acquire(0ns);
        FAIL() << "acquire(0ns) on an empty ring returned a frame";
    } catch (const zinc::error &e) {
        EXPECT_EQ(e.code(), zinc::errc::would_block);
    }
    zinc::ReadFrame none = cons.try_acquire();
    EXPECT_FALSE(none);
    std::error_code ec;
    zinc::ReadFrame r = cons.acquire(2ms, ec);
    EXPECT_EQ(ec, zinc::errc::timed_out);
    EXPECT_EQ(ec, std::errc::timed_out);

    /* An EVERY consumer that reads nothing holds the producer back. */
    publish();
    publish();
    zinc::WriteFrame w = prod.claim(0ns, ec);
    EXPECT_EQ(ec, zinc::errc::would_block);
    w = prod.claim(1ms, ec);
    EXPECT_EQ(ec, zinc::errc::timed_out);
    EXPECT_FALSE(w);
    zinc::ReadFrame got = cons.try_acquire();
    ASSERT_TRUE(got);
    EXPECT_TRUE(got.release());
    w = prod.claim(0ns, ec);
    EXPECT_FALSE(ec);
    EXPECT_TRUE(w);
}

TEST_F(Ring, StreamDescriptorConfigGenerationMode)
{
    zinc::Config cfg(4, 640 * 480 * 4);
    cfg.max_consumers = 3;
    cfg.spin = 5us;
    prod = zinc::Producer::create(name(), cfg);
    cons = zinc::Consumer::open(name(), zinc::Mode::latest);
    EXPECT_FALSE(cons.stream().has_value());

    zinc::Descriptor d;
    d.set_image(ZINC_FOURCC_RGBA32, 640, 480);
    d.set_flags(ZINC_FRAME_KEYFRAME);
    prod.set_stream(d);
    std::optional<zinc::Descriptor> s = cons.stream();
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->fourcc(), ZINC_FOURCC_RGBA32);
    EXPECT_EQ(s->size(), 640u * 480 * 4);
    EXPECT_EQ(s->tensor().ndim, 3u);
    EXPECT_EQ(s->tensor().shape[0], 480u);
    EXPECT_EQ(s->tensor().shape[1], 640u);
    EXPECT_EQ(s->tensor().strides[0], 640 * 4);

    zinc::Descriptor big;
    big.set_image(ZINC_FOURCC_RGBA32, 1920, 1080);
    std::error_code ec;
    prod.set_stream(big, ec);
    EXPECT_EQ(ec, zinc::errc::invalid_argument);

    zinc::Config got = cons.config();
    EXPECT_EQ(got.slot_count, 4u);
    EXPECT_EQ(got.slot_size, 640u * 480 * 4);
    EXPECT_EQ(got.max_consumers, 3u);
    EXPECT_EQ(got.spin, 5us);
    EXPECT_EQ(cons.generation(), prod.generation());
    EXPECT_NE(prod.generation(), 0u);
    EXPECT_EQ(cons.mode(), zinc::Mode::latest);
    EXPECT_GE(zinc::ring_size(cfg), 4u * 640 * 480 * 4);
    EXPECT_EQ(zinc::ring_size(zinc::Config(3, 64)), 0u); /* not a power of two */
}

TEST_F(Ring, StatsAndRemoveStale)
{
    open(zinc::Mode::every);
    publish();
    zinc::RingStats st = zinc::ring_stats(name());
    EXPECT_EQ(st.ring.published, 1u);
    EXPECT_EQ(st.ring.producer_alive, 1u);
    ASSERT_EQ(st.consumers.size(), 1u);
    EXPECT_EQ(st.consumers[0].alive, 1u);

    std::error_code ec;
    zinc::remove_stale(name(), ec);
    EXPECT_EQ(ec, zinc::errc::exists); /* the producer is alive */
    EXPECT_THROW(zinc::remove_stale(name()), zinc::error);
    zinc::RingStats none = zinc::ring_stats(name() + "-missing", ec);
    EXPECT_EQ(ec, zinc::errc::not_found);
    EXPECT_TRUE(none.consumers.empty());
}

/* ---- Errors ------------------------------------------------------------ */

TEST(ErrorCategory, MessagesAndConditions)
{
    EXPECT_STREQ(zinc::category().name(), "zinc");
    const std::pair<zinc::errc, std::errc> all[] = {
        {zinc::errc::permission_denied, std::errc::permission_denied},
        {zinc::errc::not_found, std::errc::no_such_file_or_directory},
        {zinc::errc::interrupted, std::errc::interrupted},
        {zinc::errc::would_block, std::errc::resource_unavailable_try_again},
        {zinc::errc::busy, std::errc::device_or_resource_busy},
        {zinc::errc::exists, std::errc::file_exists},
        {zinc::errc::invalid_argument, std::errc::invalid_argument},
        {zinc::errc::no_space, std::errc::no_space_on_device},
        {zinc::errc::producer_gone, std::errc::broken_pipe},
        {zinc::errc::corrupted, std::errc::bad_message},
        {zinc::errc::torn, std::errc::value_too_large},
        {zinc::errc::too_large, std::errc::message_size},
        {zinc::errc::timed_out, std::errc::timed_out},
    };
    const int codes[] = {ZINC_EPERM,   ZINC_ENOENT, -4,          ZINC_EAGAIN,    ZINC_EBUSY,
                         ZINC_EEXIST,  ZINC_EINVAL, ZINC_ENOSPC, ZINC_EPIPE,     ZINC_EBADMSG,
                         ZINC_EOVERFLOW, ZINC_EMSGSIZE, ZINC_ETIMEDOUT};
    int i = 0;
    for (auto [z, s] : all) {
        std::error_code ec = z;
        EXPECT_EQ(ec.value(), codes[i++]);
        EXPECT_EQ(&ec.category(), &zinc::category());
        EXPECT_EQ(ec, s) << ec.message();
        EXPECT_FALSE(ec.message().empty());
        EXPECT_EQ(ec.message(), zinc_strerror(ec.value()));
        EXPECT_EQ(zinc::strerror(ec.value()), ec.message());
    }
    std::error_code eperm = zinc::errc::permission_denied;
    EXPECT_EQ(eperm, std::errc::operation_not_permitted); /* EPERM */
    std::error_code eintr = zinc::errc::interrupted;
    EXPECT_NE(eintr.message().find("nterrupted"), std::string::npos) << eintr.message();
    /* Codes outside the list (other -errno values) still compare to errno. */
    std::error_code enomem(-12, zinc::category());
    EXPECT_EQ(enomem, std::errc::not_enough_memory);
    EXPECT_NE(zinc::make_error_code(zinc::errc::busy), zinc::errc::exists);
}

class Errors : public ztest::Named {
};

TEST_F(Errors, ThrowingAndErrorCodeFormsAgree)
{
    std::string detail;
    try {
        zinc::Consumer c = zinc::Consumer::open(name(), zinc::Mode::every);
        FAIL() << "opened a ring that does not exist";
    } catch (const zinc::error &e) {
        EXPECT_EQ(e.code(), zinc::errc::not_found);
        EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
        detail = e.detail();
        EXPECT_FALSE(detail.empty());
        std::string what = e.what();
        EXPECT_NE(what.find("zinc::Consumer::open"), std::string::npos) << what;
        EXPECT_NE(what.find(detail), std::string::npos) << what;
        EXPECT_NE(what.find(zinc_strerror(ZINC_ENOENT)), std::string::npos) << what;
    }
    std::error_code ec;
    zinc::Consumer c = zinc::Consumer::open(name(), zinc::Mode::every, ec);
    EXPECT_EQ(ec, zinc::errc::not_found);
    EXPECT_FALSE(c);
    EXPECT_EQ(zinc::last_error(), detail);

    /* Bad configuration: a clear code and message, no crash. */
    zinc::Producer p = zinc::Producer::create(name(), zinc::Config(3, 64), ec);
    EXPECT_EQ(ec, zinc::errc::invalid_argument);
    EXPECT_FALSE(p);
    EXPECT_FALSE(zinc::last_error().empty());
    p = zinc::Producer::create("bad/name", zinc::Config(4, 64), ec);
    EXPECT_EQ(ec, zinc::errc::invalid_argument);

    /* A live producer's name. */
    p = zinc::Producer::create(name(), zinc::Config(4, 64), ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_TRUE(p);
    zinc::Producer q = zinc::Producer::create(name(), zinc::Config(4, 64), ec);
    EXPECT_EQ(ec, zinc::errc::exists);
    EXPECT_THROW((void)zinc::Producer::create(name(), zinc::Config(4, 64)), zinc::error);

    /* Success clears ec. */
    c = zinc::Consumer::open(name(), zinc::Mode::every, ec);
    EXPECT_FALSE(ec);
    EXPECT_TRUE(c);
}

TEST_F(Errors, ConsumerOpenWaitsForTheRing)
{
    std::error_code ec;
    zinc::Consumer c = zinc::Consumer::open(name(), zinc::Mode::every, 30ms, ec);
    EXPECT_EQ(ec, zinc::errc::not_found);

    /* A child creates the ring once we are waiting for it. */
    ztest::Pipe go, done;
    const std::string n = name();
    pid_t pid = ztest::fork_run([&] {
        done.close_wr(); /* so that the parent's close is our end of file */
        if (go.recv() < 0)
            return 2;
        zinc::Producer p = zinc::Producer::create(n, zinc::Config(4, 64));
        return done.recv() < 0 ? 0 : 3; /* keep the ring until the parent is done */
    });
    ASSERT_GT(pid, 0);
    go.send();
    c = zinc::Consumer::open(name(), zinc::Mode::every, 30s, ec);
    ASSERT_FALSE(ec) << ec.message() << " " << zinc::last_error();
    done.close_wr();
    EXPECT_EQ(ztest::wait_status(pid), 0);
}

/* ---- Typed views ------------------------------------------------------- */

TEST_F(Ring, ImageViewsOnBothSides)
{
    open(zinc::Mode::every);
    zinc::WriteFrame w = prod.claim(0ns);
    w.set_image(ZINC_FOURCC_RGBA32, 8, 6);
    EXPECT_EQ(w.size(), 8u * 6 * 4);
    zinc::TensorView<std::uint8_t> img = w.view<std::uint8_t>();
    ASSERT_EQ(img.ndim(), 3u);
    EXPECT_EQ(img.shape(0), 6u);
    EXPECT_EQ(img.shape(1), 8u);
    EXPECT_EQ(img.shape(2), 4u);
    EXPECT_TRUE(img.contiguous());
    for (std::uint64_t y = 0; y < 6; y++)
        for (std::uint64_t x = 0; x < 8; x++)
            for (std::uint64_t ch = 0; ch < 4; ch++)
                img(y, x, ch) = static_cast<std::uint8_t>(y * 32 + x * 4 + ch);
    w.publish();

    zinc::ReadFrame r = cons.acquire(1s);
    zinc::TensorView<const std::uint8_t> v = r.view<std::uint8_t>();
    EXPECT_EQ(v(5, 7, 3), 5 * 32 + 7 * 4 + 3);
    EXPECT_EQ(v.at({2, 1, 0}), 2 * 32 + 1 * 4);
    EXPECT_THROW(v.at({6, 0, 0}), std::out_of_range);
    EXPECT_THROW(v.at({0, 0}), std::out_of_range);
    EXPECT_EQ(v.flat().size(), 8u * 6 * 4);
    EXPECT_EQ(v.size(), 8u * 6 * 4);
    /* std::byte sees the same bytes. */
    EXPECT_EQ(r.view<std::byte>()(1, 1, 1), std::byte{32 + 4 + 1});

    /* The wrong element type: a clear error in both forms. */
    EXPECT_THROW(r.view<float>(), zinc::error);
    std::error_code ec;
    zinc::TensorView<const std::int16_t> bad = r.view<std::int16_t>(ec);
    EXPECT_EQ(ec, zinc::errc::invalid_argument);
    EXPECT_NE(zinc::last_error().find("element type"), std::string::npos);
    EXPECT_EQ(bad.size(), 0u);
}

TEST_F(Ring, StridedTensorWithOffsetAndNegativeStride)
{
    open(zinc::Mode::every);
    zinc::WriteFrame w = prod.claim(0ns);
    /* 3 x 4 int16, rows 16 bytes apart (padding), the first row last in
     * memory (negative row stride), starting 64 bytes into the payload. */
    w.set_tensor<std::int16_t>({3, 4}, {-16, 2}, 64);
    EXPECT_EQ(w.size(), 64u + 8);
    w.set_size(64 + 8);
    zinc::TensorView<std::int16_t> t = w.view<std::int16_t>();
    EXPECT_FALSE(t.contiguous());
    EXPECT_TRUE(t.flat().empty());
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 4; x++)
            t(y, x) = static_cast<std::int16_t>(-100 * y + x);
    w.publish();
    zinc::ReadFrame r = cons.acquire(1s);
    zinc::TensorView<const std::int16_t> v = r.view<std::int16_t>();
    EXPECT_EQ(v.stride(0), -16);
    EXPECT_EQ(v(2, 3), -197);
    EXPECT_EQ(v(0, 0), 0);
    /* Row 2 lies 32 bytes before row 0 in the payload. */
    std::int16_t raw;
    std::memcpy(&raw, r.data().data() + 64 - 32 + 6, 2);
    EXPECT_EQ(raw, -197);
}

TEST_F(Ring, ViewsRefuseMisalignedAndOversizedTensors)
{
    open(zinc::Mode::every, 4, 256);
    zinc::WriteFrame w = prod.claim(0ns);
    w.set_tensor<float>({4}, {}, 2); /* floats at odd addresses */
    std::error_code ec;
    (void)w.view<float>(ec);
    EXPECT_EQ(ec, zinc::errc::invalid_argument);
    EXPECT_NE(zinc::last_error().find("aligned"), std::string::npos);

    w.set_tensor<double>({64}, {}, 0, ec); /* 512 bytes > 256-byte slot */
    EXPECT_EQ(ec, zinc::errc::too_large);
    w.set_tensor<double>({2, 2}, {8}, 0, ec); /* strides do not match the shape */
    EXPECT_EQ(ec, zinc::errc::invalid_argument);
    EXPECT_THROW(w.set_tensor<std::uint8_t>({1, 1, 1, 1, 1}), zinc::error);
    EXPECT_THROW(w.set_image(ZINC_FOURCC_RGBA32, 100, 100), zinc::error);
    w.set_image(ZINC_FOURCC('X', 'X', 'X', 'X'), 2, 2, ec);
    EXPECT_EQ(ec, zinc::errc::invalid_argument);
    w.set_points(16, 4, ec);
    EXPECT_FALSE(ec);
    EXPECT_EQ(w.size(), 256u);
    EXPECT_EQ(w.fourcc(), ZINC_FOURCC_PC32F);
    zinc::TensorView<float> pts = w.view<float>();
    EXPECT_EQ(pts.shape(0), 16u);
    EXPECT_EQ(pts.shape(1), 4u);
}

TEST_F(Ring, RawPayloadsAreByteArrays)
{
    open(zinc::Mode::every);
    publish(40);
    zinc::ReadFrame r = cons.acquire(1s);
    EXPECT_EQ(r.tensor().ndim, 0u);
    zinc::TensorView<const std::uint8_t> b = r.view<std::uint8_t>();
    ASSERT_EQ(b.ndim(), 1u);
    EXPECT_EQ(b.shape(0), 40u);
    EXPECT_EQ(b(39), (1 + 39) & 0xff);
    EXPECT_EQ(r.view<std::uint32_t>().shape(0), 10u);
}

/* ---- Real concurrency -------------------------------------------------- */

/* A producer thread and this thread as an EVERY consumer: every frame
 * arrives, in order, intact. */
TEST_F(Ring, ProducerThreadAndConsumerThread)
{
    open(zinc::Mode::every, 4, 1024);
    const std::uint64_t n = 3000;
    std::thread t([p = std::move(prod), n]() mutable {
        for (std::uint64_t i = 0; i < n; i++) {
            zinc::WriteFrame f = p.claim();
            zinc::TensorView<std::uint64_t> v = f.view<std::uint64_t>();
            for (std::uint64_t k = 0; k < 128; k++)
                v(k) = f.seq() * 1000 + k;
            f.set_size(1024);
            f.publish();
        }
    }); /* p closes when the thread ends: the loop below then ends */
    std::uint64_t expect = 1, bad = 0;
    for (zinc::ReadFrame &f : cons) {
        EXPECT_EQ(f.seq(), expect++);
        zinc::TensorView<const std::uint64_t> v = f.view<std::uint64_t>();
        for (std::uint64_t k = 0; k < 128; k++)
            bad += v(k) != f.seq() * 1000 + k;
        EXPECT_TRUE(f.release());
    }
    t.join();
    EXPECT_EQ(expect, n + 1);
    EXPECT_EQ(bad, 0u);
}

/* A forked C++ producer process and this process as an EVERY consumer. */
TEST_F(Ring, ProducerProcessAndRangeFor)
{
    ztest::Pipe ready, go;
    const std::string n = name();
    const int frames = 500;
    pid_t pid = ztest::fork_run([&] {
        zinc::Producer p = zinc::Producer::create(n, zinc::Config(8, 4096));
        ready.send();
        if (go.recv() < 0)
            return 2;
        for (int i = 0; i < frames; i++) {
            zinc::WriteFrame f = p.claim(10s);
            f.set_image(ZINC_FOURCC_GREY, 64, 32);
            zinc::TensorView<std::uint8_t> img = f.view<std::uint8_t>();
            for (std::uint64_t y = 0; y < 32; y++)
                for (std::uint64_t x = 0; x < 64; x++)
                    img(y, x) = static_cast<std::uint8_t>(f.seq() + y * 3 + x);
            if (i == frames - 1)
                f.set_flags(ZINC_FRAME_END_OF_STREAM);
            f.publish();
        }
        return 0;
    });
    ASSERT_GT(pid, 0);
    ASSERT_EQ(ready.recv(), 'x');
    cons = zinc::Consumer::open(name(), zinc::Mode::every);
    go.send();
    int got = 0;
    std::uint64_t bad = 0;
    bool eos = false;
    for (zinc::ReadFrame &f : cons) {
        got++;
        EXPECT_EQ(f.seq(), static_cast<std::uint64_t>(got));
        zinc::TensorView<const std::uint8_t> img = f.view<std::uint8_t>();
        for (std::uint64_t y = 0; y < 32; y++)
            for (std::uint64_t x = 0; x < 64; x++)
                bad += img(y, x) != static_cast<std::uint8_t>(f.seq() + y * 3 + x);
        eos = f.end_of_stream();
    }
    EXPECT_EQ(ztest::wait_status(pid), 0);
    EXPECT_EQ(got, frames);
    EXPECT_EQ(bad, 0u);
    EXPECT_TRUE(eos);
}

/* ---- Debug checks of the holding rules --------------------------------- */

#if ZINC_HPP_CHECKS
using RingDeathTest = Ring;

TEST_F(RingDeathTest, PayloadOfAMovedFromFrameAborts)
{
    open(zinc::Mode::every);
    publish();
    zinc::ReadFrame a = cons.acquire(1s);
    zinc::ReadFrame b = std::move(a);
    EXPECT_DEATH((void)a.data(), "ReadFrame::data\\(\\) on an empty frame");
    EXPECT_DEATH((void)a.view<std::uint8_t>(), "ReadFrame::view\\(\\) on an empty frame");
}

TEST_F(RingDeathTest, PayloadOfAPublishedFrameAborts)
{
    open(zinc::Mode::every);
    zinc::WriteFrame w = prod.claim(0ns);
    w.publish();
    EXPECT_DEATH((void)w.data(), "WriteFrame::data\\(\\) on an empty frame");
}

/* The dying children open handles of their own (handles are not inherited
 * across fork) and use LATEST, which never holds the producer back. */
TEST_F(RingDeathTest, ConsumerDestroyedWhileAFrameIsHeldAborts)
{
    open(zinc::Mode::every);
    publish();
    EXPECT_DEATH(
        {
            zinc::Consumer c = zinc::Consumer::open(name(), zinc::Mode::latest);
            zinc::ReadFrame r = c.acquire(1s);
            c.close();
        },
        "Consumer closed while a ReadFrame is held");
    EXPECT_DEATH(
        {
            zinc::Consumer c = zinc::Consumer::open(name(), zinc::Mode::latest);
            zinc::ReadFrame r = c.acquire(1s);
            zinc::Consumer other = std::move(c);
        },
        "Consumer moved while a ReadFrame is held");
}

TEST_F(RingDeathTest, ProducerDestroyedWhileAFrameIsClaimedAborts)
{
    const std::string n = other_name("-own");
    EXPECT_DEATH(
        {
            zinc::Producer p = zinc::Producer::create(n, zinc::Config(4, 64));
            zinc::WriteFrame w = p.claim(0ns);
            p.close();
        },
        "Producer closed while a WriteFrame is claimed");
}

TEST_F(RingDeathTest, UsingAMovedFromConsumerAborts)
{
    open(zinc::Mode::every);
    zinc::Consumer other = std::move(cons);
    EXPECT_DEATH({ zinc::ReadFrame r = cons.try_acquire(); }, "empty consumer");
    zinc::Producer p2 = std::move(prod);
    EXPECT_DEATH({ zinc::WriteFrame w = prod.claim(0ns); }, "empty producer");
}
#else
/* Without the checks, misuse is a clear error and an empty payload. */
TEST_F(Ring, WithoutChecksMisuseIsAnErrorNotACrash)
{
    open(zinc::Mode::every);
    publish();
    zinc::ReadFrame a = cons.acquire(1s);
    zinc::ReadFrame b = std::move(a);
    EXPECT_TRUE(a.data().empty());
    std::error_code ec;
    (void)a.view<std::uint8_t>(ec);
    EXPECT_EQ(ec, zinc::errc::invalid_argument);
    EXPECT_TRUE(b.release());

    zinc::Consumer other = std::move(cons);
    zinc::ReadFrame r = cons.acquire(0ns, ec);
    EXPECT_EQ(ec, zinc::errc::invalid_argument);
    zinc::Producer p2 = std::move(prod);
    zinc::WriteFrame w = prod.claim(0ns, ec);
    EXPECT_EQ(ec, zinc::errc::invalid_argument);
    EXPECT_TRUE(w.data().empty());
}
#endif

} // namespace
