/* SPDX-License-Identifier: MIT */
/* The C++ examples (examples/cpp) against the C examples, in separate
 * processes: every pairing of camera/camera-cpp with infer/infer-cpp on an
 * EVERY stream must see every frame and compute exactly what C against C
 * computes (same pixels, same arithmetic); a LATEST pairing stopped by
 * SIGTERM; the pairings again over a sealed anonymous ring served on an
 * abstract socket; the same exit codes for bad usage. Registered by
 * examples/cpp/meson.build, which passes the programs' directory. */
#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <string>

#include "util.hpp"

namespace {

struct Programs {
    std::string camera, infer, camera_cpp, infer_cpp;
};

class Interop : public ztest::Named {
protected:
    void SetUp() override
    {
        Named::SetUp();
        if (IsSkipped())
            return;
        std::string dir = ztest::env("ZINC_EXAMPLES_DIR");
        if (dir.empty())
            GTEST_SKIP() << "ZINC_EXAMPLES_DIR not set (run through meson test)";
        progs_ = {dir + "/camera", dir + "/infer", dir + "/cpp/camera-cpp",
                  dir + "/cpp/infer-cpp"};
        for (const std::string &p : {progs_.camera, progs_.infer, progs_.camera_cpp,
                                     progs_.infer_cpp})
            if (access(p.c_str(), X_OK) != 0)
                GTEST_SKIP() << p << " not built";
    }

    struct Run {
        std::string camera_json, infer_json;
        int camera_status = -1, infer_status = -1;
    };

    /* camera --frames n (waits for one consumer) and infer --mode every on
     * ring `ring` (with `sock`: a sealed anonymous ring served on the
     * abstract socket "@ring"), both to the end of the stream. */
    Run pair(const std::string &camera, const std::string &infer, const std::string &ring,
             const std::string &format, int n, bool sock = false)
    {
        Run r;
        const std::string where = sock ? "--socket" : "--name", at = sock ? "@" + ring : ring;
        ztest::Child cam({camera, where, at, "--size", "160x120", "--format", format, "--fps",
                          "0", "--frames", std::to_string(n), "--slots", "4",
                          "--wait-consumers", "1", "--wait", "60", "--json", "--quiet"});
        ztest::Child inf({infer, where, at, "--mode", "every", "--wait", "60", "--json",
                          "--quiet"});
        r.infer_json = inf.line();
        r.infer_status = inf.wait();
        r.camera_json = cam.line();
        r.camera_status = cam.wait();
        return r;
    }

    void expect_complete(const Run &r, int n, const std::string &what)
    {
        SCOPED_TRACE(what + ": camera " + r.camera_json + " infer " + r.infer_json);
        EXPECT_EQ(r.camera_status, 0);
        EXPECT_EQ(r.infer_status, 0);
        EXPECT_EQ(ztest::json_field(r.camera_json, "frames"), std::to_string(n));
        EXPECT_EQ(ztest::json_field(r.infer_json, "frames"), std::to_string(n));
        EXPECT_EQ(ztest::json_field(r.infer_json, "torn"), "0");
        EXPECT_EQ(ztest::json_field(r.infer_json, "skipped"), "0");
        EXPECT_EQ(ztest::json_field(r.infer_json, "dropped"), "0");
        EXPECT_EQ(ztest::json_field(r.infer_json, "end"), "end of stream");
    }

    void all_pairings(const std::string &format, bool sock = false)
    {
        const int n = 40;
        /* The reference is C against C on a named ring, in both cases. */
        Run ref = pair(progs_.camera, progs_.infer, other_name("-cc"), format, n);
        expect_complete(ref, n, "C camera, C infer");
        std::string edges = ztest::json_field(ref.infer_json, "edge_mean");
        std::string motion = ztest::json_field(ref.infer_json, "motion_max");
        ASSERT_FALSE(edges.empty());
        EXPECT_NE(edges, "0.000"); /* the pattern has edges */
        EXPECT_NE(motion, "0.000"); /* and the box moves */

        const std::map<std::string, std::pair<std::string, std::string>> pairs = {
            {"C++ camera, C infer", {progs_.camera_cpp, progs_.infer}},
            {"C camera, C++ infer", {progs_.camera, progs_.infer_cpp}},
            {"C++ camera, C++ infer", {progs_.camera_cpp, progs_.infer_cpp}},
        };
        int i = 0;
        for (const auto &[what, p] : pairs) {
            Run r = pair(p.first, p.second, other_name("-" + std::to_string(i++)), format, n, sock);
            expect_complete(r, n, what);
            /* Same pixels in, same numbers out. */
            EXPECT_EQ(ztest::json_field(r.infer_json, "edge_mean"), edges) << what;
            EXPECT_EQ(ztest::json_field(r.infer_json, "motion_max"), motion) << what;
            EXPECT_EQ(ztest::json_field(r.camera_json, "keyframes"),
                      ztest::json_field(ref.camera_json, "keyframes"))
                << what;
            if (sock) { /* the consumer names the address it connected to */
                EXPECT_EQ(ztest::json_field(r.infer_json, "name").substr(0, 1), "@") << what;
            }
        }
    }

    Programs progs_;
};

TEST_F(Interop, EveryPairingOfCAndCppComputesTheSameRgba)
{
    all_pairings("rgba");
}

TEST_F(Interop, EveryPairingOfCAndCppComputesTheSameRgb24)
{
    all_pairings("rgb24");
}

/* camera --socket @addr, infer --socket @addr: a C producer serving a
 * sealed anonymous ring to a C++ consumer (Consumer::connect), and a C++
 * one (Producer::listen) to a C consumer, with the numbers of C against C. */
TEST_F(Interop, EveryPairingOverAnAbstractSocketComputesTheSameRgba)
{
    all_pairings("rgba", true);
}

/* A paced camera-cpp until SIGTERM, infer-cpp on the newest frames. */
TEST_F(Interop, LatestConsumerAndStoppedProducer)
{
    ztest::Child cam({progs_.camera_cpp, "--name", name(), "--size", "320x240", "--fps", "200",
                      "--json", "--quiet"});
    ztest::Child inf({progs_.infer_cpp, "--name", name(), "--frames", "10", "--wait", "60",
                      "--json", "--quiet"});
    std::string ij = inf.line();
    EXPECT_EQ(inf.wait(), 0) << ij;
    EXPECT_EQ(ztest::json_field(ij, "frames"), "10") << ij;
    EXPECT_EQ(ztest::json_field(ij, "mode"), "latest") << ij;
    EXPECT_EQ(ztest::json_field(ij, "skipped"), "0") << ij;
    /* infer got frames: the camera's signal handlers are in place. */
    kill(cam.pid(), SIGTERM);
    std::string cj = cam.line();
    EXPECT_EQ(cam.wait(), 0) << cj;
    EXPECT_GE(std::stoul(ztest::json_field(cj, "frames").empty()
                             ? "0"
                             : ztest::json_field(cj, "frames")),
              10u)
        << cj;
}

/* Bad usage and a missing ring: the C++ examples exit as the C ones do. */
TEST_F(Interop, UsageErrorsAndMissingRingExitLikeC)
{
    const std::vector<std::vector<std::string>> cases = {
        {"--slots", "3"}, {"--size", "0x10"}, {"--bogus"}, {"extra-argument"}, {"--help"}};
    for (const auto &args : cases) {
        for (const auto &[c, cpp] : {std::pair{progs_.camera, progs_.camera_cpp},
                                     std::pair{progs_.infer, progs_.infer_cpp}}) {
            if (args[0] == "--slots" && c == progs_.infer)
                continue; /* infer has no --slots: covered by --bogus */
            std::vector<std::string> a = {c}, b = {cpp};
            a.insert(a.end(), args.begin(), args.end());
            b.insert(b.end(), args.begin(), args.end());
            ztest::Child x(a), y(b);
            x.rest();
            y.rest();
            EXPECT_EQ(x.wait(), y.wait()) << cpp << " " << args[0];
        }
    }
    ztest::Child c({progs_.infer, "--name", name(), "--wait", "0"});
    ztest::Child cpp({progs_.infer_cpp, "--name", name(), "--wait", "0"});
    EXPECT_EQ(c.wait(), 3);
    EXPECT_EQ(cpp.wait(), 3);
}

} // namespace
