/* SPDX-License-Identifier: MIT */
/*
 * micro-ring.cc — Google Benchmark shims over the C API, one thread:
 * claim+publish, acquire+release per mode, notify/wait, region and ring
 * create/open/close, descriptor helpers. Consumer counts 1, 4 and 16: the
 * extra consumers are LOSSY and never consume, so whatever grows with them
 * is the producer's per-consumer cost.
 */
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>

#include <zinc/ring.h>
#include <zinc/zinc.h>

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

} // namespace

BENCHMARK_MAIN();
