/* SPDX-License-Identifier: MIT */
/* <zinc/zinc.hpp> as the only include (twice: the guard holds), compiled by
 * tests/cpp/meson.build with stricter warnings than the project's own, as
 * C++17 and C++20, -Werror. The function instantiates the templates so that
 * their bodies are checked too; it is never called. */
#include <zinc/zinc.hpp>
#include <zinc/zinc.hpp>

void zinc_hpp_alone(const char *name);

void zinc_hpp_alone(const char *name)
{
    using namespace std::chrono_literals;
    std::error_code ec;
    zinc::Producer p = zinc::Producer::create(name, zinc::Config(4, 4096), ec);
    zinc::Consumer c = zinc::Consumer::open(name, zinc::Mode::every, 1s, ec);
    zinc::WriteFrame w = p.claim(1ms, ec);
    w.set_tensor<float>({2, 3});
    w.set_tensor<std::int16_t>({2, 3}, {6, 2}, 0, ec);
    w.set_image(zinc::fourcc_grey, 4, 4, ec);
    zinc::TensorView<std::uint8_t> wv = w.view<std::uint8_t>();
    wv(1, 2) = 3;
    w.publish(ec);
    zinc::Descriptor d;
    d.set_points(8, 3);
    p.set_stream(d, ec);
    for (zinc::ReadFrame &f : c) {
        zinc::TensorView<const double> v = f.view<double>(ec);
        if (!ec && v.at({0}) > 1.0 && v(0) < 2.0 && v.flat().size() > 0 && f.data().size() > 0)
            (void)f.release(ec);
    }
    std::optional<zinc::Descriptor> s = c.stream(ec);
    (void)s;
    (void)c.config(ec);
    zinc::Region g = zinc::Region::create(name, 4096, zinc::RegionOptions{}, ec);
    g.notify();
    (void)g.wait(5ms, ec);
    (void)g.try_wait();
    zinc::RingStats st = zinc::ring_stats(name, ec);
    zinc::remove_stale(name, ec);
    zinc::unlink(name, ec);
    (void)zinc::inspect(name, ec);
    (void)zinc::ring_size(zinc::Config(2, 64));
    (void)(ec == zinc::errc::torn);
    (void)zinc::last_error();
    (void)st;

    /* Waiting in event loops, anonymous rings. */
    zinc::Config anon(4, 4096);
    anon.flags = ZINC_RING_ANONYMOUS;
    zinc::Producer ap = zinc::Producer::create(name, anon, ec);
    ap.listen("@zinc-hpp-alone", ec);
    zinc::unique_fd pfd = ap.fd(ec);
    zinc::Consumer a = zinc::Consumer::open_fd(pfd.get(), zinc::Mode::every, ec);
    zinc::Consumer b = zinc::Consumer::connect("@zinc-hpp-alone", zinc::Mode::lossy, 1s, ec);
    int fd = a.fd(ec);
    (void)fd;
    std::size_t i = zinc::wait_any({a, b}, 1ms, ec);
    std::vector<zinc::Consumer> many;
    many.push_back(std::move(b));
    i += zinc::wait_any(many, 0ns, ec);
    zinc::Consumer *ptrs[] = {&a};
    i += zinc::wait_any(ptrs, zinc::forever, ec);
    (void)i;
    zinc::const_bytes cm = a.mapping();
    zinc::bytes pm = ap.mapping();
    (void)cm;
    (void)pm;
    zinc::unique_fd rfd = zinc::ring_connect("@zinc-hpp-alone", ec);
    zinc::RingStats rs = zinc::ring_stats_fd(rfd.get(), ec);
    (void)(rs.producer_state() == zinc::ProducerState::open);
    (void)zinc::inspect_fd(rfd.get(), ec);
    (void)zinc::socket_registry(ec);
    (void)zinc::version_string();
    (void)(ec == zinc::errc::interrupted);
    ap.unlisten(ec);
    /* The C header's macros, expanded in C++ (-Wold-style-cast). */
    std::uint32_t cc[] = {ZINC_FOURCC_GREY, ZINC_FOURCC_RGB24, ZINC_FOURCC_RGBA32,
                          ZINC_FOURCC_NV12, ZINC_FOURCC_PC32F, ZINC_FOURCC('Y', 'U', 'Y', 'V')};
    (void)cc;
}
