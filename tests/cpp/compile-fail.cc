/* SPDX-License-Identifier: MIT */
/* Misuse that must not compile. tests/cpp/compile-fail.py compiles this
 * file once per case (-DCASE=N, -Werror, as C++17, and as C++20 for the
 * cases marked so, or all with long tests): case 0 is the control and must
 * compile, every other case must fail with a diagnostic matching its
 * `expect:` pattern. */
#include <zinc/zinc.hpp>

#include <utility>

#ifndef CASE
#define CASE 0
#endif

using namespace std::chrono_literals;

void misuse(zinc::Producer &p, zinc::Consumer &c, zinc::ReadFrame &r, zinc::WriteFrame &w,
            zinc::Region &g);

void misuse([[maybe_unused]] zinc::Producer &p, [[maybe_unused]] zinc::Consumer &c,
            [[maybe_unused]] zinc::ReadFrame &r, [[maybe_unused]] zinc::WriteFrame &w,
            [[maybe_unused]] zinc::Region &g)
{
#if CASE == 0 /* control: what is allowed compiles */
    zinc::Producer p2 = std::move(p);
    zinc::Consumer c2 = std::move(c);
    zinc::ReadFrame r2 = std::move(r);
    zinc::WriteFrame w2 = std::move(w);
    zinc::Region g2 = std::move(g);
    for (zinc::ReadFrame &f : c2)
        (void)f.data()[0];
    w2.data()[0] = std::byte{1};
    (void)r2.release();
    zinc::Descriptor d;
    zinc::Descriptor d2 = d;
    (void)d2;
    zinc::unique_fd owned = p2.fd();
    zinc::unique_fd moved = std::move(owned);
    int borrowed = c2.fd();
    (void)borrowed;
    (void)zinc::wait_any({c2}, 0ns);
#elif CASE == 1 /* expect: deleted */
    zinc::Producer p2 = p;
#elif CASE == 2 /* expect: deleted */
    zinc::Consumer c2 = c;
#elif CASE == 3 /* expect: deleted */
    zinc::ReadFrame r2 = r;
#elif CASE == 4 /* expect: deleted */
    zinc::WriteFrame w2 = w;
#elif CASE == 5 /* expect: deleted */
    zinc::Region g2 = g;
#elif CASE == 6 /* expect: deleted */
    zinc::ReadFrame r2;
    r2 = r;
#elif CASE == 7 /* expect: deleted */
    zinc::WriteFrame w2;
    w2 = w;
#elif CASE == 8 /* expect: deleted */
    zinc::Producer p2;
    p2 = p;
#elif CASE == 9 /* expect: deleted */
    zinc::Consumer c2;
    c2 = c;
#elif CASE == 10 /* c++20, expect: deleted */
    for (zinc::ReadFrame f : c) /* a copy of each frame */
        (void)f;
#elif CASE == 11 /* c++20, expect: read-only|cannot assign|not assignable */
    r.data()[0] = std::byte{1};
#elif CASE == 12 /* c++20, expect: read-only|cannot assign|not assignable */
    r.view<float>()(0) = 1.0f;
#elif CASE == 13 /* expect: nodiscard|unused.result|ignoring return value */
    c.acquire(1s);
#elif CASE == 14 /* expect: nodiscard|unused.result|ignoring return value */
    p.claim();
#elif CASE == 15 /* expect: nodiscard|unused.result|ignoring return value */
    r.release();
#elif CASE == 16 /* expect: has no member|no member named */
    r.set_size(1);
#elif CASE == 17 /* expect: has no member|no member named */
    r.publish();
#elif CASE == 18 /* expect: protected */
    const zinc::FrameInfo &i = r;
    zinc::ReadFrame::FrameInfo sliced = i;
#elif CASE == 19 /* c++20, expect: element type */
    (void)r.view<bool>();
#elif CASE == 20 /* expect: deleted */
    auto it = c.begin();
    auto it2 = it;
#elif CASE == 21 /* expect: cannot convert|no viable conversion */
    int fd = p.fd(); /* the producer's new descriptor is owned: unique_fd */
#elif CASE == 22 /* expect: deleted */
    zinc::unique_fd a = p.fd();
    zinc::unique_fd b = a;
#elif CASE == 23 /* expect: nodiscard|unused.result|ignoring return value */
    p.fd(); /* a descriptor nobody keeps */
#elif CASE == 24 /* expect: no matching function|no viable|could not convert */
    const zinc::Consumer &cc = c; /* waiting changes the consumer */
    (void)zinc::wait_any({cc}, 0ns);
#endif
}
