/* SPDX-License-Identifier: MIT */
/*
 * micro-ring.cc — Google Benchmark shims over the C API, one thread:
 * claim+publish, acquire+release per mode, notify/wait, region and ring
 * create/open/close, descriptor helpers. Consumer counts 1, 4 and 16: the
 * extra consumers are LOSSY and never consume, so whatever grows with them
 * is the producer's per-consumer cost. BM_Cpp* and BM_CppEc* are
 * claim+publish and acquire+release again through <zinc/zinc.hpp>.
 */
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>

#include <zinc/ring.h>
#include <zinc/zinc.h>
#include <zinc/zinc.hpp>

namespace {

std::string unique_name(const char *tag)
{
    static unsigned n;
    return "zbm_" + std::to_string(getpid()) + "_" + tag + "_" + std::to_string(n++);
}

void fail(benchmark::State &state, const char *what, int r)
{
    std::string msg = std::string(what) + ": " + zinc_strerror(r) + " " + zinc_last_error();
    state.SkipWithError(msg.c_str());
}

/* A ring with `consumers` attached: the first in `mode`, the others LOSSY
 * and idle. */
struct Ring {
    zinc_producer *p = nullptr;
    std::vector<zinc_consumer *> cs;
    std::string name;
    int err = 0;

    Ring(uint32_t slots, uint64_t slot_size, int consumers, zinc_delivery mode, uint32_t flags = 0)
        : name(unique_name("ring"))
    {
        zinc_ring_config cfg;
        std::memset(&cfg, 0, sizeof(cfg));
        cfg.slot_count = slots;
        cfg.slot_size = slot_size;
        cfg.max_consumers = consumers > 0 ? (uint32_t)consumers : 1;
        cfg.flags = flags;
        err = zinc_producer_create(name.c_str(), &cfg, &p);
        for (int i = 0; err == 0 && i < consumers; i++) {
            zinc_consumer *c = nullptr;
            err = zinc_consumer_open(name.c_str(), i == 0 ? mode : ZINC_LOSSY, &c);
            if (err == 0)
                cs.push_back(c);
        }
    }
    ~Ring()
    {
        for (zinc_consumer *c : cs)
            zinc_consumer_close(c);
        zinc_producer_close(p);
        zinc_ring_remove_stale(name.c_str());
    }
    int publish(uint64_t size)
    {
        zinc_frame f;
        int r = zinc_producer_claim(p, &f, 0);
        if (r < 0)
            return r;
        f.size = size;
        return zinc_producer_publish(p, &f);
    }
};

void consumer_args(benchmark::internal::Benchmark *b)
{
    b->ArgName("consumers");
    for (int n : { 0, 1, 4, 16 })
        b->Arg(n);
}

/* claim + publish of a 64-byte frame; nobody sleeps, so no system call. */
void BM_ClaimPublish(benchmark::State &state)
{
    Ring ring(256, 64, (int)state.range(0), ZINC_LOSSY);
    if (ring.err)
        return fail(state, "ring", ring.err);
    for (auto _ : state) {
        zinc_frame f;
        int r = zinc_producer_claim(ring.p, &f, 0);
        *(volatile uint64_t *)f.data = 1;
        f.size = 64;
        r |= zinc_producer_publish(ring.p, &f);
        if (r < 0)
            return fail(state, "claim/publish", r);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClaimPublish)->Apply(consumer_args);

/* acquire + release by one consumer in `mode`, frames published in batches
 * of 128 outside the timed region. Not for LATEST, which would see only the
 * newest of a batch: see BM_RoundTrip minus BM_ClaimPublish. */
void BM_AcquireRelease(benchmark::State &state)
{
    zinc_delivery mode = (zinc_delivery)state.range(0);
    Ring ring(256, 64, (int)state.range(1), mode);
    if (ring.err)
        return fail(state, "ring", ring.err);
    zinc_consumer *c = ring.cs[0];
    const int batch = 128;
    int left = 0;
    for (auto _ : state) {
        if (left == 0) {
            state.PauseTiming();
            for (int i = 0; i < batch; i++)
                if (int r = ring.publish(64); r < 0)
                    return fail(state, "publish", r);
            left = batch;
            state.ResumeTiming();
        }
        zinc_frame f;
        int r = zinc_consumer_acquire(c, &f, 0);
        benchmark::DoNotOptimize(*(volatile uint64_t *)f.data);
        r |= zinc_consumer_release(c, &f);
        if (r < 0)
            return fail(state, "acquire/release", r);
        left--;
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AcquireRelease)
    ->ArgNames({ "mode", "consumers" })
    ->ArgsProduct({ { ZINC_EVERY, ZINC_LOSSY }, { 1, 4, 16 } });

/* claim + publish + acquire + release in one thread, per mode. */
void BM_RoundTrip(benchmark::State &state)
{
    zinc_delivery mode = (zinc_delivery)state.range(0);
    Ring ring(256, 64, (int)state.range(1), mode);
    if (ring.err)
        return fail(state, "ring", ring.err);
    zinc_consumer *c = ring.cs[0];
    for (auto _ : state) {
        int r = ring.publish(64);
        zinc_frame f;
        r |= zinc_consumer_acquire(c, &f, 0);
        r |= zinc_consumer_release(c, &f);
        if (r < 0)
            return fail(state, "round trip", r);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RoundTrip)
    ->ArgNames({ "mode", "consumers" })
    ->ArgsProduct({ { ZINC_EVERY, ZINC_LOSSY, ZINC_LATEST }, { 1, 4, 16 } });

/* acquire with nothing published (timeout 0): the cost of polling. */
void BM_AcquireEmpty(benchmark::State &state)
{
    Ring ring(256, 64, 1, (zinc_delivery)state.range(0));
    if (ring.err)
        return fail(state, "ring", ring.err);
    for (auto _ : state) {
        zinc_frame f;
        int r = zinc_consumer_acquire(ring.cs[0], &f, 0);
        if (r != ZINC_EAGAIN)
            return fail(state, "acquire", r);
    }
}
BENCHMARK(BM_AcquireEmpty)->ArgName("mode")->DenseRange(0, 2);

/* ---- regions: notify / wait ------------------------------------------------ */

struct Region {
    ZincHandle owner = nullptr, peer = nullptr;
    int err;
    std::string name;
    explicit Region(uintptr_t cap = 4096) : name(unique_name("reg"))
    {
        err = zinc_create(name.c_str(), cap, &owner);
        if (err == 0)
            err = zinc_open(name.c_str(), &peer);
    }
    ~Region()
    {
        zinc_close(peer);
        zinc_close(owner);
        zinc_unlink(name.c_str());
    }
};

void BM_NotifyTryWait(benchmark::State &state)
{
    Region reg;
    if (reg.err)
        return fail(state, "region", reg.err);
    for (auto _ : state) {
        zinc_notify(reg.owner);
        int r = zinc_try_wait(reg.peer);
        if (r != 0)
            return fail(state, "try_wait", r);
    }
}
BENCHMARK(BM_NotifyTryWait);

void BM_Notify(benchmark::State &state)
{
    Region reg;
    if (reg.err)
        return fail(state, "region", reg.err);
    for (auto _ : state)
        zinc_notify(reg.owner);
}
BENCHMARK(BM_Notify);

void BM_NotifyWait0(benchmark::State &state)
{
    Region reg;
    if (reg.err)
        return fail(state, "region", reg.err);
    for (auto _ : state) {
        zinc_notify(reg.owner);
        int r = zinc_wait(reg.peer, 0);
        if (r != 0)
            return fail(state, "wait", r);
    }
}
BENCHMARK(BM_NotifyWait0);

void BM_TryWaitEmpty(benchmark::State &state)
{
    Region reg;
    if (reg.err)
        return fail(state, "region", reg.err);
    for (auto _ : state)
        benchmark::DoNotOptimize(zinc_try_wait(reg.peer));
}
BENCHMARK(BM_TryWaitEmpty);

/* ---- create / open / close -------------------------------------------------- */

void BM_RegionCreateClose(benchmark::State &state)
{
    std::string name = unique_name("rcc");
    zinc_create_opts o;
    std::memset(&o, 0, sizeof(o));
    o.flags = state.range(1) ? ZINC_CREATE_PREFAULT : 0;
    for (auto _ : state) {
        ZincHandle h;
        int r = zinc_create_ex(name.c_str(), (uintptr_t)state.range(0), &o, &h);
        if (r != 0)
            return fail(state, "create", r);
        zinc_close(h);
    }
    zinc_unlink(name.c_str());
}
BENCHMARK(BM_RegionCreateClose)
    ->ArgNames({ "bytes", "prefault" })
    ->ArgsProduct({ { 4096, 8294400 }, { 0, 1 } })
    ->Unit(benchmark::kMicrosecond);

void BM_RegionOpenClose(benchmark::State &state)
{
    Region reg;
    if (reg.err)
        return fail(state, "region", reg.err);
    for (auto _ : state) {
        ZincHandle h;
        int r = zinc_open(reg.name.c_str(), &h);
        if (r != 0)
            return fail(state, "open", r);
        zinc_close(h);
    }
}
BENCHMARK(BM_RegionOpenClose)->Unit(benchmark::kMicrosecond);

/* A 4-slot 1080p ring; flags 1 = PREFAULT (the cost moves here). */
void BM_RingCreateClose(benchmark::State &state)
{
    std::string name = unique_name("rgc");
    zinc_ring_config cfg;
    std::memset(&cfg, 0, sizeof(cfg));
    cfg.slot_count = 4;
    cfg.slot_size = (uint64_t)state.range(0);
    cfg.flags = (uint32_t)state.range(1);
    for (auto _ : state) {
        zinc_producer *p;
        int r = zinc_producer_create(name.c_str(), &cfg, &p);
        if (r != 0)
            return fail(state, "producer_create", r);
        zinc_producer_close(p);
    }
    zinc_ring_remove_stale(name.c_str());
}
BENCHMARK(BM_RingCreateClose)
    ->ArgNames({ "slot", "flags" })
    ->ArgsProduct({ { 64, 8294400 }, { 0, ZINC_RING_PREFAULT } })
    ->Unit(benchmark::kMicrosecond);

void BM_ConsumerOpenClose(benchmark::State &state)
{
    Ring ring(16, 4096, 0, ZINC_LOSSY);
    if (ring.err)
        return fail(state, "ring", ring.err);
    for (auto _ : state) {
        zinc_consumer *c;
        int r = zinc_consumer_open(ring.name.c_str(), (zinc_delivery)state.range(0), &c);
        if (r != 0)
            return fail(state, "consumer_open", r);
        zinc_consumer_close(c);
    }
}
BENCHMARK(BM_ConsumerOpenClose)->ArgName("mode")->DenseRange(0, 2)->Unit(benchmark::kMicrosecond);

/* ---- descriptor helpers ----------------------------------------------------- */

void BM_FrameSetImage(benchmark::State &state)
{
    zinc_frame f;
    std::memset(&f, 0, sizeof(f));
    for (auto _ : state) {
        f.size = 8294400;
        int r = zinc_frame_set_image(&f, ZINC_FOURCC_RGBA32, 1920, 1080);
        benchmark::DoNotOptimize(r);
        benchmark::DoNotOptimize(f);
    }
}
BENCHMARK(BM_FrameSetImage);

void BM_FrameSetPoints(benchmark::State &state)
{
    zinc_frame f;
    std::memset(&f, 0, sizeof(f));
    for (auto _ : state) {
        f.size = 1600000;
        int r = zinc_frame_set_points(&f, 100000, 4);
        benchmark::DoNotOptimize(r);
        benchmark::DoNotOptimize(f);
    }
}
BENCHMARK(BM_FrameSetPoints);

void BM_TensorCheck(benchmark::State &state)
{
    zinc_frame f;
    std::memset(&f, 0, sizeof(f));
    f.size = 8294400;
    if (int r = zinc_frame_set_image(&f, ZINC_FOURCC_RGBA32, 1920, 1080); r != 0)
        return fail(state, "set_image", r);
    for (auto _ : state) {
        int r = zinc_tensor_check(&f.tensor, f.size);
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_TensorCheck);

/* ---- the same through zinc.hpp (issue 15) -----------------------------------
 * BM_ClaimPublish and BM_AcquireRelease again, through the C++ API: the
 * throwing forms (BM_Cpp*) and the std::error_code forms (BM_CppEc*). The
 * wrappers must cost nothing measurable: bench/cpp-vs-c.sh compares them. */

/* A ring made and attached through zinc.hpp, as Ring above. */
struct CppRing {
    std::string name;
    zinc::Producer p;
    std::vector<zinc::Consumer> cs;
    std::error_code ec;

    CppRing(int consumers, zinc::Mode mode) : name(unique_name("cpp"))
    {
        zinc::Config cfg(256, 64);
        cfg.max_consumers = consumers > 0 ? static_cast<std::uint32_t>(consumers) : 1;
        p = zinc::Producer::create(name, cfg, ec);
        for (int i = 0; !ec && i < consumers; i++)
            cs.push_back(zinc::Consumer::open(name, i == 0 ? mode : zinc::Mode::lossy, ec));
    }
    ~CppRing()
    {
        cs.clear();
        p.close();
        zinc::remove_stale(name, ec);
    }
};

void fail_cpp(benchmark::State &state, const char *what, const std::error_code &ec)
{
    std::string msg = std::string(what) + ": " + ec.message() + " " + zinc::last_error();
    state.SkipWithError(msg.c_str());
}

void BM_CppClaimPublish(benchmark::State &state)
{
    using namespace std::chrono_literals;
    CppRing ring(static_cast<int>(state.range(0)), zinc::Mode::lossy);
    if (ring.ec)
        return fail_cpp(state, "ring", ring.ec);
    try {
        for (auto _ : state) {
            zinc::WriteFrame f = ring.p.claim(0ns);
            *reinterpret_cast<volatile std::uint64_t *>(f.data().data()) = 1;
            f.set_size(64);
            f.publish();
        }
    } catch (const zinc::error &e) {
        return fail_cpp(state, "claim/publish", e.code());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CppClaimPublish)->Apply(consumer_args);

void BM_CppEcClaimPublish(benchmark::State &state)
{
    using namespace std::chrono_literals;
    CppRing ring(static_cast<int>(state.range(0)), zinc::Mode::lossy);
    if (ring.ec)
        return fail_cpp(state, "ring", ring.ec);
    std::error_code ec;
    for (auto _ : state) {
        zinc::WriteFrame f = ring.p.claim(0ns, ec);
        *reinterpret_cast<volatile std::uint64_t *>(f.data().data()) = 1;
        f.set_size(64);
        f.publish(ec);
        if (ec)
            return fail_cpp(state, "claim/publish", ec);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CppEcClaimPublish)->Apply(consumer_args);

/* Batches of 128 frames published outside the timed region, as
 * BM_AcquireRelease. */
template <bool Ec>
void cpp_acquire_release(benchmark::State &state)
{
    using namespace std::chrono_literals;
    CppRing ring(static_cast<int>(state.range(1)), static_cast<zinc::Mode>(state.range(0)));
    if (ring.ec)
        return fail_cpp(state, "ring", ring.ec);
    zinc::Consumer &c = ring.cs[0];
    const int batch = 128;
    int left = 0;
    std::error_code ec;
    try {
        for (auto _ : state) {
            if (left == 0) {
                state.PauseTiming();
                for (int i = 0; i < batch; i++) {
                    zinc::WriteFrame w = ring.p.claim(0ns);
                    w.set_size(64);
                    w.publish();
                }
                left = batch;
                state.ResumeTiming();
            }
            if constexpr (Ec) {
                zinc::ReadFrame f = c.acquire(0ns, ec);
                benchmark::DoNotOptimize(
                    *reinterpret_cast<const volatile std::uint64_t *>(f.data().data()));
                f.release(ec);
                if (ec)
                    return fail_cpp(state, "acquire/release", ec);
            } else {
                zinc::ReadFrame f = c.acquire(0ns);
                benchmark::DoNotOptimize(
                    *reinterpret_cast<const volatile std::uint64_t *>(f.data().data()));
                if (!f.release())
                    return fail_cpp(state, "release", zinc::errc::torn);
            }
            left--;
        }
    } catch (const zinc::error &e) {
        return fail_cpp(state, "acquire/release", e.code());
    }
    state.SetItemsProcessed(state.iterations());
}

void BM_CppAcquireRelease(benchmark::State &state)
{
    cpp_acquire_release<false>(state);
}
BENCHMARK(BM_CppAcquireRelease)
    ->ArgNames({ "mode", "consumers" })
    ->ArgsProduct({ { ZINC_EVERY, ZINC_LOSSY }, { 1, 4, 16 } });

void BM_CppEcAcquireRelease(benchmark::State &state)
{
    cpp_acquire_release<true>(state);
}
BENCHMARK(BM_CppEcAcquireRelease)
    ->ArgNames({ "mode", "consumers" })
    ->ArgsProduct({ { ZINC_EVERY, ZINC_LOSSY }, { 1, 4, 16 } });

/* C and C++ side by side, for a ratio that the machine's noise does not
 * swamp: each iteration times one block of the C calls, one of the same
 * calls through zinc.hpp's throwing forms and one through its error_code
 * forms, in rotating order, each on a ring of its own with the same
 * geometry. Counters: the minimum and the median ns per operation of each
 * over all blocks, and the C++/C ratios (other processes' turns on the CPU
 * only ever add time, so the minimum is the least disturbed figure). */
struct SideBySide {
    std::vector<double> ns[3]; /* C, C++, C++ error_code */

    template <class Block>
    bool run(benchmark::State &state, Block &&block)
    {
        int turn = 0;
        for (auto _ : state) {
            for (int k = 0; k < 3; k++) {
                int which = (turn + k) % 3;
                double v = block(which);
                if (v < 0)
                    return false;
                ns[which].push_back(v);
            }
            turn++;
        }
        return true;
    }
    static double pct(std::vector<double> v, double p)
    {
        std::sort(v.begin(), v.end());
        return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
    }
    void report(benchmark::State &state) const
    {
        const char *names[3] = { "c", "cpp", "cppec" };
        for (int i = 0; i < 3; i++) {
            state.counters[std::string(names[i]) + "_min_ns"] = pct(ns[i], 0.0);
            state.counters[std::string(names[i]) + "_med_ns"] = pct(ns[i], 0.5);
        }
        for (int i = 1; i < 3; i++) {
            state.counters[std::string(names[i]) + "/c_min"] = pct(ns[i], 0.0) / pct(ns[0], 0.0);
            state.counters[std::string(names[i]) + "/c_med"] = pct(ns[i], 0.5) / pct(ns[0], 0.5);
        }
    }
};

double ns_since(std::chrono::steady_clock::time_point t0, int ops)
{
    std::chrono::duration<double, std::nano> d = std::chrono::steady_clock::now() - t0;
    return d.count() / ops;
}

void BM_CppVsC_ClaimPublish(benchmark::State &state)
{
    using namespace std::chrono_literals;
    Ring c(256, 64, 1, ZINC_LOSSY);
    CppRing cpp(1, zinc::Mode::lossy), cppec(1, zinc::Mode::lossy);
    if (c.err || cpp.ec || cppec.ec)
        return fail(state, "ring", c.err ? c.err : ZINC_EINVAL);
    const int n = 1000;
    std::error_code ec;
    SideBySide sbs;
    bool ok = sbs.run(state, [&](int which) -> double {
        auto t0 = std::chrono::steady_clock::now();
        if (which == 0) {
            for (int i = 0; i < n; i++) {
                zinc_frame f;
                int r = zinc_producer_claim(c.p, &f, 0);
                *(volatile uint64_t *)f.data = 1;
                f.size = 64;
                r |= zinc_producer_publish(c.p, &f);
                if (r < 0)
                    return -1;
            }
        } else if (which == 1) {
            try {
                for (int i = 0; i < n; i++) {
                    zinc::WriteFrame f = cpp.p.claim(0ns);
                    *reinterpret_cast<volatile std::uint64_t *>(f.data().data()) = 1;
                    f.set_size(64);
                    f.publish();
                }
            } catch (const zinc::error &) {
                return -1;
            }
        } else {
            for (int i = 0; i < n; i++) {
                zinc::WriteFrame f = cppec.p.claim(0ns, ec);
                *reinterpret_cast<volatile std::uint64_t *>(f.data().data()) = 1;
                f.set_size(64);
                f.publish(ec);
                if (ec)
                    return -1;
            }
        }
        return ns_since(t0, n);
    });
    if (!ok)
        return fail(state, "claim/publish", ZINC_EINVAL);
    sbs.report(state);
}
BENCHMARK(BM_CppVsC_ClaimPublish)->Iterations(2000)->Unit(benchmark::kMicrosecond);

/* Blocks of 128 acquire+release, the frames published (untimed) just
 * before each block. */
void BM_CppVsC_AcquireRelease(benchmark::State &state)
{
    using namespace std::chrono_literals;
    zinc_delivery mode = (zinc_delivery)state.range(0);
    Ring c(256, 64, 1, mode);
    CppRing cpp(1, static_cast<zinc::Mode>(mode)), cppec(1, static_cast<zinc::Mode>(mode));
    if (c.err || cpp.ec || cppec.ec)
        return fail(state, "ring", c.err ? c.err : ZINC_EINVAL);
    const int n = 128;
    std::error_code ec;
    SideBySide sbs;
    bool ok = sbs.run(state, [&](int which) -> double {
        CppRing &r = which == 1 ? cpp : cppec;
        for (int i = 0; i < n; i++) {
            if (which == 0) {
                if (c.publish(64) < 0)
                    return -1;
            } else {
                zinc::WriteFrame w = r.p.claim(0ns, ec);
                w.set_size(64);
                w.publish(ec);
                if (ec)
                    return -1;
            }
        }
        auto t0 = std::chrono::steady_clock::now();
        if (which == 0) {
            zinc_consumer *cons = c.cs[0];
            for (int i = 0; i < n; i++) {
                zinc_frame f;
                int rc = zinc_consumer_acquire(cons, &f, 0);
                benchmark::DoNotOptimize(*(volatile uint64_t *)f.data);
                rc |= zinc_consumer_release(cons, &f);
                if (rc < 0)
                    return -1;
            }
        } else if (which == 1) {
            try {
                for (int i = 0; i < n; i++) {
                    zinc::ReadFrame f = cpp.cs[0].acquire(0ns);
                    benchmark::DoNotOptimize(
                        *reinterpret_cast<const volatile std::uint64_t *>(f.data().data()));
                    if (!f.release())
                        return -1;
                }
            } catch (const zinc::error &) {
                return -1;
            }
        } else {
            for (int i = 0; i < n; i++) {
                zinc::ReadFrame f = cppec.cs[0].acquire(0ns, ec);
                benchmark::DoNotOptimize(
                    *reinterpret_cast<const volatile std::uint64_t *>(f.data().data()));
                f.release(ec);
                if (ec)
                    return -1;
            }
        }
        return ns_since(t0, n);
    });
    if (!ok)
        return fail(state, "acquire/release", ZINC_EINVAL);
    sbs.report(state);
}
BENCHMARK(BM_CppVsC_AcquireRelease)
    ->ArgName("mode")
    ->Arg(ZINC_EVERY)
    ->Arg(ZINC_LOSSY)
    ->Iterations(2000)
    ->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
