/* SPDX-License-Identifier: MIT */
/* C++ <-> the Python adapter (python/zinc), in separate processes: a C++
 * producer with a Python consumer and a Python producer with a C++
 * consumer, typed tensors (byte strides, padding) both ways, and the same
 * over a sealed anonymous ring served on an abstract socket. The Python
 * side is /usr/bin/python3 with PYTHONPATH and ZINC_LIB from meson. */
#include <zinc/zinc.hpp>

#include <gtest/gtest.h>

#include <cstring>

#include "util.hpp"

using namespace std::chrono_literals;

namespace {

const char *const python = "/usr/bin/python3";

class Python : public ztest::Named {
protected:
    void SetUp() override
    {
        Named::SetUp();
        if (IsSkipped())
            return;
        if (ztest::env("ZINC_CPP_PYTHON") != "1")
            GTEST_SKIP() << "Python interop is off in this build (-Dpython=false, or not run "
                            "through meson test)";
        if (access(python, X_OK) != 0)
            GTEST_SKIP() << python << " not installed";
        ztest::Child probe({python, "-c", "import numpy, zinc; print(zinc.version())"});
        std::string out = probe.rest();
        if (probe.wait() != 0)
            GTEST_SKIP() << python << " cannot import numpy and zinc (apt-get install "
                            "python3-numpy; PYTHONPATH=python)";
    }
};

/* The C++ producer alternates two layouts: a packed 4x6 float32 tensor and
 * a 3x5 uint16 tensor whose rows are 16 bytes apart (padding). */
const char consumer_py[] = R"(
import sys, numpy as np, zinc
name, n = sys.argv[1], int(sys.argv[2])
with zinc.Consumer.open(name, zinc.Mode.EVERY) as c:
    print("attached", flush=True)
    seqs = []
    for f in c:
        with f:
            a = f.numpy()
            if f.seq % 2:
                assert a.dtype == np.float32 and a.shape == (4, 6), (a.dtype, a.shape)
                exp = np.arange(24, dtype=np.float32).reshape(4, 6) + f.seq * 100
            else:
                assert a.dtype == np.uint16 and a.shape == (3, 5), (a.dtype, a.shape)
                assert a.strides == (16, 2), a.strides
                exp = (np.arange(15).reshape(3, 5) * 3 + f.seq).astype(np.uint16)
            assert np.array_equal(a, exp), (f.seq, a, exp)
            assert f.timestamp_ns == 1000 + f.seq
            assert f.user[:4] == b"cpp!"
            seqs.append(f.seq)
            del a
    assert seqs == list(range(1, n + 1)), seqs
    print("ok", len(seqs), flush=True)
)";

TEST_F(Python, CppProducerPythonConsumer)
{
    const int n = 40;
    zinc::Producer p = zinc::Producer::create(name(), zinc::Config(4, 4096));
    ztest::Child py({python, "-c", consumer_py, name(), std::to_string(n)});
    ASSERT_EQ(py.line(), "attached");
    for (int i = 0; i < n; i++) {
        zinc::WriteFrame f = p.claim(30s);
        if (f.seq() % 2) {
            f.set_tensor<float>({4, 6});
            zinc::TensorView<float> v = f.view<float>();
            for (std::uint64_t y = 0; y < 4; y++)
                for (std::uint64_t x = 0; x < 6; x++)
                    v(y, x) = static_cast<float>(y * 6 + x + f.seq() * 100);
        } else {
            f.set_tensor<std::uint16_t>({3, 5}, {16, 2});
            zinc::TensorView<std::uint16_t> v = f.view<std::uint16_t>();
            for (std::uint64_t y = 0; y < 3; y++)
                for (std::uint64_t x = 0; x < 5; x++)
                    v(y, x) = static_cast<std::uint16_t>((y * 5 + x) * 3 + f.seq());
        }
        f.set_timestamp_ns(1000 + f.seq());
        std::memcpy(f.user().data(), "cpp!", 4);
        f.publish();
    }
    p.close(); /* the Python loop ends once it drained the ring */
    EXPECT_EQ(py.line(), "ok " + std::to_string(n));
    EXPECT_EQ(py.wait(), 0);
}

const char producer_py[] = R"(
import sys, numpy as np, zinc
name, n = sys.argv[1], int(sys.argv[2])
with zinc.Producer.create(name, slot_count=4, slot_size=1 << 16) as p:
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(n):
        with p.claim(30) as f:
            a = f.array((8, 5), np.int32)
            a[:] = np.arange(40, dtype=np.int32).reshape(8, 5) * f.seq - 7
            f.timestamp_ns = 5000 + f.seq
            f.user = b"py" + bytes([f.seq % 256])
            if i == n - 1:
                f.flags = zinc.FRAME_END_OF_STREAM
            del a
print("done", flush=True)
)";

TEST_F(Python, PythonProducerCppConsumer)
{
    const int n = 30;
    ztest::Child py({python, "-c", producer_py, name(), std::to_string(n)});
    ASSERT_EQ(py.line(), "ready");
    zinc::Consumer c = zinc::Consumer::open(name(), zinc::Mode::every);
    py.send("go");
    std::uint64_t expect = 1;
    bool eos = false;
    for (zinc::ReadFrame &f : c) {
        EXPECT_EQ(f.seq(), expect++);
        zinc::TensorView<const std::int32_t> v = f.view<std::int32_t>();
        ASSERT_EQ(v.ndim(), 2u);
        ASSERT_EQ(v.shape(0), 8u);
        ASSERT_EQ(v.shape(1), 5u);
        EXPECT_TRUE(v.contiguous());
        for (std::uint64_t y = 0; y < 8; y++)
            for (std::uint64_t x = 0; x < 5; x++)
                ASSERT_EQ(v(y, x), static_cast<std::int32_t>((y * 5 + x) * f.seq()) - 7);
        EXPECT_EQ(f.timestamp_ns(), 5000 + f.seq());
        EXPECT_EQ(f.user()[0], 'p');
        EXPECT_EQ(f.user()[2], f.seq() % 256);
        eos = f.end_of_stream();
        EXPECT_TRUE(f.release());
    }
    EXPECT_EQ(expect, static_cast<std::uint64_t>(n) + 1);
    EXPECT_TRUE(eos);
    EXPECT_EQ(py.line(), "done");
    EXPECT_EQ(py.wait(), 0);
}

/* Sealed anonymous rings over an abstract socket, both ways: a Python
 * producer listening (Producer.create(listen=)) and a C++ consumer
 * connecting, then a C++ producer listening (Producer::listen) and a
 * Python consumer connecting (Consumer.connect). */
const char listen_py[] = R"(
import sys, numpy as np, zinc
name, addr, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with zinc.Producer.create(name, slot_count=4, slot_size=4096, listen=addr) as p:
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(n):
        with p.claim(30) as f:
            a = f.array((16,), np.uint16)
            a[:] = np.arange(16, dtype=np.uint16) + f.seq * 10
            if i == n - 1:
                f.flags = zinc.FRAME_END_OF_STREAM
            del a
print("done", flush=True)
)";

TEST_F(Python, PythonProducerListensCppConnects)
{
    const int n = 25;
    const std::string addr = "@" + name();
    ztest::Child py({python, "-c", listen_py, name(), addr, std::to_string(n)});
    ASSERT_EQ(py.line(), "ready");
    zinc::Consumer c = zinc::Consumer::connect(addr, zinc::Mode::every);
    zinc::unique_fd sfd = zinc::ring_connect(addr);
    EXPECT_EQ(zinc::ring_stats_fd(sfd.get()).consumers.size(), 1u);
    py.send("go");
    std::uint64_t expect = 1;
    for (zinc::ReadFrame &f : c) {
        EXPECT_EQ(f.seq(), expect++);
        zinc::TensorView<const std::uint16_t> v = f.view<std::uint16_t>();
        ASSERT_EQ(v.shape(0), 16u);
        for (std::uint64_t i = 0; i < 16; i++)
            ASSERT_EQ(v(i), i + f.seq() * 10);
        EXPECT_TRUE(f.release());
    }
    EXPECT_EQ(expect, static_cast<std::uint64_t>(n) + 1);
    EXPECT_EQ(py.line(), "done");
    EXPECT_EQ(py.wait(), 0);
    EXPECT_EQ(zinc::ring_stats_fd(sfd.get()).producer_state(), zinc::ProducerState::closed);
}

const char connect_py[] = R"(
import sys, zinc
addr, n = sys.argv[1], int(sys.argv[2])
with zinc.Consumer.connect(addr, zinc.Mode.EVERY, timeout=30) as c:
    print("attached", flush=True)
    total = 0
    for f in c:
        with f:
            total += int(f.numpy().astype("int64").sum())
    print("sum", total, flush=True)
)";

TEST_F(Python, CppProducerListensPythonConnects)
{
    const int n = 20;
    const std::string addr = "@" + name();
    zinc::Config cfg(4, 4096);
    cfg.flags |= ZINC_RING_ANONYMOUS;
    zinc::Producer p = zinc::Producer::create(name(), cfg);
    p.listen(addr);
    ztest::Child py({python, "-c", connect_py, addr, std::to_string(n)});
    ASSERT_EQ(py.line(), "attached");
    std::int64_t sum = 0;
    for (int i = 0; i < n; i++) {
        zinc::WriteFrame f = p.claim(30s);
        f.set_tensor<std::int32_t>({10});
        zinc::TensorView<std::int32_t> v = f.view<std::int32_t>();
        for (std::uint64_t k = 0; k < 10; k++) {
            v(k) = static_cast<std::int32_t>(f.seq() * 100 + k);
            sum += v(k);
        }
        f.publish();
    }
    p.close();
    EXPECT_EQ(py.line(), "sum " + std::to_string(sum));
    EXPECT_EQ(py.wait(), 0);
}

} // namespace
