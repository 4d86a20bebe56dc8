/* SPDX-License-Identifier: MIT */
/*
 * camera (C++) — examples/camera.c through <zinc/zinc.hpp>: the same
 * synthetic video frames (colour bars, a grey ramp, a bouncing box and the
 * frame number in big digits), written in place into each slot of the
 * ring, stamped with the capture time and described as an image; the same
 * options and the same summary.
 *
 *   camera-cpp --name cam0 --size 1280x720 --fps 30 --seconds 10
 *   camera-cpp --socket @cam0     (a sealed anonymous ring; docs/rendezvous.md)
 */
#include <zinc/zinc.hpp>

#include <unistd.h>

#include "common.hpp"

namespace {

const char usage[] =
    "usage: camera-cpp [OPTIONS]\n"
    "Publish synthetic frames (colour bars, grey ramp, a moving box and the frame\n"
    "number) into a zinc frame ring, at a fixed rate, until stopped.\n"
    "  --name NAME          ring name (default cam0)\n"
    "  --socket ADDRESS     a sealed anonymous ring instead, served on this socket\n"
    "                       (a path, or @name in the abstract namespace)\n"
    "  --size WxH           frame size (default 1920x1080)\n"
    "  --format rgba|rgb24  pixel format (default rgba)\n"
    "  --fps F              frames per second, 0 = as fast as possible (default 30)\n"
    "  --frames N           stop after N frames (the last one is END_OF_STREAM)\n"
    "  --seconds S          stop after S seconds\n"
    "  --slots N            ring slots, a power of two (default 8)\n"
    "  --gop N              keyframe flag every N frames (default 30)\n"
    "  --wait-consumers N   wait for N consumers before the first frame\n"
    "  --wait S             how long --wait-consumers waits (default 10 s)\n"
    "  --hold               after the last frame, keep the ring open until stdin\n"
    "                       closes (for tools that inspect it)\n"
    "  --json               print the summary as JSON\n"
    "  --quiet              no progress line\n"
    "  --help               this text\n"
    "Stop with Ctrl-C: the frame being made is published as END_OF_STREAM.\n";

/* 5x7 digits, one byte per row, bit 4 = leftmost column. */
const std::uint8_t font5x7[10][7] = {
    {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e}, {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e},
    {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f}, {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e},
    {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02}, {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e},
    {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e}, {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},
    {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e}, {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c},
};

struct Rgb {
    std::uint8_t r, g, b;
};

/* 100% colour bars, left to right. */
const Rgb bars[8] = {{255, 255, 255}, {255, 255, 0}, {0, 255, 255}, {0, 255, 0},
                     {255, 0, 255},   {255, 0, 0},   {0, 0, 255},   {0, 0, 0}};

/* Packed rows of w x h pixels, c = 3 or 4 bytes each, somewhere in memory
 * (a ring slot, or the background kept between frames). */
class Canvas {
public:
    Canvas(std::uint8_t *px, std::uint32_t w, std::uint32_t h, std::uint32_t c)
        : px_(px), w_(w), h_(h), c_(c)
    {
    }
    std::uint32_t w() const { return w_; }
    std::uint32_t h() const { return h_; }

    void fill(std::int64_t x0, std::int64_t y0, std::int64_t x1, std::int64_t y1, Rgb col) const
    {
        x0 = std::max<std::int64_t>(x0, 0);
        y0 = std::max<std::int64_t>(y0, 0);
        x1 = std::min<std::int64_t>(x1, w_);
        y1 = std::min<std::int64_t>(y1, h_);
        for (std::int64_t y = y0; y < y1; y++) {
            std::uint8_t *p = px_ + (static_cast<std::size_t>(y) * w_ +
                                     static_cast<std::size_t>(x0)) * c_;
            for (std::int64_t x = x0; x < x1; x++, p += c_) {
                p[0] = col.r;
                p[1] = col.g;
                p[2] = col.b;
                if (c_ == 4)
                    p[3] = 255;
            }
        }
    }

private:
    std::uint8_t *px_;
    std::uint32_t w_, h_, c_;
};

/* Height of the colour bars; the grey ramp fills the rest. */
std::uint32_t bars_height(std::uint32_t h)
{
    return h * 2 / 3;
}

void draw_background(const Canvas &cv)
{
    std::uint32_t bh = bars_height(cv.h());
    for (int i = 0; i < 8; i++)
        cv.fill(static_cast<std::int64_t>(cv.w()) * i / 8, 0,
                static_cast<std::int64_t>(cv.w()) * (i + 1) / 8, bh, bars[i]);
    for (std::uint32_t x = 0; x < cv.w(); x++) {
        auto v = static_cast<std::uint8_t>(
            cv.w() > 1 ? static_cast<std::uint64_t>(x) * 255 / (cv.w() - 1) : 0);
        cv.fill(x, bh, x + 1, cv.h(), {v, v, v});
    }
}

/* Position on a back-and-forth path over [0, range]. */
std::int64_t bounce(std::uint64_t n, std::uint64_t speed, std::uint64_t range)
{
    if (range == 0)
        return 0;
    std::uint64_t t = (n * speed) % (2 * range);
    return static_cast<std::int64_t>(t < range ? t : 2 * range - t);
}

void draw_box(const Canvas &cv, std::uint64_t n)
{
    std::uint32_t bh = bars_height(cv.h());
    std::uint32_t side = std::min(std::max(cv.h() / 6, 8u), bh);
    std::uint64_t sx = std::max(cv.w() / 90, 1u), sy = std::max(cv.h() / 120, 1u);
    std::int64_t x = bounce(n, sx, cv.w() > side ? cv.w() - side : 0);
    std::int64_t y = bounce(n, sy, bh > side ? bh - side : 0);
    std::int64_t b = side / 16 + 1;
    cv.fill(x, y, x + side, y + side, {0, 0, 0});
    cv.fill(x + b, y + b, x + side - b, y + side - b, {255, 140, 0});
}

void draw_number(const Canvas &cv, std::uint64_t value)
{
    std::string digits = std::to_string(value);
    auto nd = static_cast<std::int64_t>(digits.size());
    std::int64_t s = std::max(cv.h() / 80, 1u); /* pixels per font dot */
    cv.fill(0, 0, s + nd * 6 * s + s, 9 * s, {0, 0, 0});
    for (std::int64_t i = 0; i < nd; i++) {
        const std::uint8_t *g = font5x7[digits[static_cast<std::size_t>(i)] - '0'];
        std::int64_t ox = s + i * 6 * s, oy = s;
        for (int r = 0; r < 7; r++)
            for (int col = 0; col < 5; col++)
                if (g[r] & (0x10 >> col))
                    cv.fill(ox + col * s, oy + r * s, ox + (col + 1) * s, oy + (r + 1) * s,
                            {255, 255, 255});
    }
}

/* Wait until `n` live consumers are attached to ring `name`, or to the
 * anonymous ring of `p` (read through a descriptor of it). */
bool wait_consumers(zinc::Producer &p, const std::string &name, bool anonymous, std::uint64_t n,
                    double wait_s)
{
    std::uint64_t end = ex::now_ns() + static_cast<std::uint64_t>(wait_s * 1e9);
    std::error_code ec;
    zinc::unique_fd fd;
    if (anonymous && !(fd = p.fd(ec)))
        return false;
    while (!ex::stop) {
        zinc::RingStats st = anonymous ? zinc::ring_stats_fd(fd.get(), ec)
                                       : zinc::ring_stats(name, ec);
        std::uint64_t alive = 0;
        /* attached_ns != 0: its start point is fixed, so the first frame
         * published after this reaches it. */
        for (const zinc_consumer_stats &c : st.consumers)
            alive += c.alive != 0 && c.attached_ns != 0;
        if (!ec && alive >= n)
            return true;
        if (ex::now_ns() >= end)
            break;
        ex::sleep_ns(5 * 1000 * 1000);
    }
    return false;
}

} // namespace

int main(int argc, char **argv)
{
    using namespace std::chrono_literals;
    std::string name = "cam0", sock;
    std::uint32_t w = 1920, h = 1080, fourcc = zinc::fourcc_rgba32, chans = 4;
    double fps = 30, seconds = 0, wait_s = 10;
    std::uint64_t frames = 0, slots = 8, gop = 30, wait_consumers_n = 0;
    bool json = false, quiet = false, hold = false;
    enum { O_NAME = 256, O_SIZE, O_FORMAT, O_FPS, O_FRAMES, O_SECONDS, O_SLOTS, O_GOP,
           O_WAITC, O_WAIT, O_HOLD, O_JSON, O_QUIET, O_SOCKET };
    static const option lo[] = {
        {"name", required_argument, nullptr, O_NAME}, {"size", required_argument, nullptr, O_SIZE},
        {"format", required_argument, nullptr, O_FORMAT},
        {"fps", required_argument, nullptr, O_FPS},
        {"frames", required_argument, nullptr, O_FRAMES},
        {"seconds", required_argument, nullptr, O_SECONDS},
        {"slots", required_argument, nullptr, O_SLOTS}, {"gop", required_argument, nullptr, O_GOP},
        {"wait-consumers", required_argument, nullptr, O_WAITC},
        {"wait", required_argument, nullptr, O_WAIT}, {"hold", no_argument, nullptr, O_HOLD},
        {"json", no_argument, nullptr, O_JSON}, {"quiet", no_argument, nullptr, O_QUIET},
        {"socket", required_argument, nullptr, O_SOCKET},
        {"help", no_argument, nullptr, 'h'}, {nullptr, 0, nullptr, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", lo, nullptr)) != -1) {
        bool ok = true;
        switch (c) {
        case 'h': std::fputs(usage, stdout); return 0;
        case O_NAME: name = optarg; break;
        case O_SOCKET: sock = optarg; break;
        case O_SIZE: ok = ex::parse_wxh(optarg, w, h); break;
        case O_FORMAT:
            if (!std::strcmp(optarg, "rgba")) {
                fourcc = zinc::fourcc_rgba32;
                chans = 4;
            } else if (!std::strcmp(optarg, "rgb24") || !std::strcmp(optarg, "rgb")) {
                fourcc = zinc::fourcc_rgb24;
                chans = 3;
            } else {
                ok = false;
            }
            break;
        case O_FPS: ok = ex::parse_double(optarg, fps); break;
        case O_FRAMES: ok = ex::parse_u64(optarg, frames); break;
        case O_SECONDS: ok = ex::parse_double(optarg, seconds); break;
        case O_SLOTS: ok = ex::parse_u64(optarg, slots) && slots >= 2 && slots <= 65536; break;
        case O_GOP: ok = ex::parse_u64(optarg, gop) && gop != 0; break;
        case O_WAITC:
            ok = ex::parse_u64(optarg, wait_consumers_n) && wait_consumers_n <= 256;
            break;
        case O_WAIT: ok = ex::parse_double(optarg, wait_s); break;
        case O_HOLD: hold = true; break;
        case O_JSON: json = true; break;
        case O_QUIET: quiet = true; break;
        default: return ex::usage_error(usage);
        }
        if (!ok)
            return ex::bad_value("camera-cpp", lo, c, optarg);
    }
    if (optind != argc)
        return ex::usage_error(usage);

    ex::handle_signals();
    const std::uint64_t frame_bytes = std::uint64_t{w} * h * chans;
    std::error_code ec;
    zinc::Config cfg(static_cast<std::uint32_t>(slots), frame_bytes);
    if (!sock.empty())
        cfg.flags |= ZINC_RING_ANONYMOUS; /* a sealed memfd: nothing in /dev/shm */
    zinc::Producer p = zinc::Producer::create(name, cfg, ec);
    if (ec) {
        std::fprintf(stderr, "camera-cpp: cannot create ring '%s': %s (%d) %s\n", name.c_str(),
                     ec.message().c_str(), ec.value(), zinc::last_error().c_str());
        if (ec == zinc::errc::exists)
            std::fprintf(stderr, "camera-cpp: another producer is running on '%s' (see: zinc ls)\n",
                         name.c_str());
        return 1;
    }
    if (!sock.empty() && (p.listen(sock, ec), ec)) {
        std::fprintf(stderr, "camera-cpp: cannot listen on '%s': %s (%d) %s\n", sock.c_str(),
                     ec.message().c_str(), ec.value(), zinc::last_error().c_str());
        return 1;
    }

    /* Tell consumers what is coming before the first frame. */
    zinc::Descriptor desc;
    desc.set_image(fourcc, w, h, ec);
    if (!ec)
        p.set_stream(desc, ec);
    if (ec)
        ex::print_error("camera-cpp", "set_stream", ec);

    std::vector<std::uint8_t> bg_px(frame_bytes);
    Canvas bg(bg_px.data(), w, h, chans);
    draw_background(bg);
    std::fprintf(stderr, "camera-cpp: ring '%s' ready: %ux%u %s, %" PRIu64 " slots, %.3g fps%s%s\n",
                 name.c_str(), w, h, ex::fourcc_name(fourcc).c_str(), slots, fps,
                 sock.empty() ? "" : ", sealed, served on ", sock.c_str());

    if (wait_consumers_n && !wait_consumers(p, name, !sock.empty(), wait_consumers_n, wait_s) &&
        !ex::stop) {
        std::fprintf(stderr, "camera-cpp: %" PRIu64 " consumer(s) did not attach within %.3g s\n",
                     wait_consumers_n, wait_s);
        return 1;
    }

    ex::Pacer pace(fps, seconds);
    std::uint64_t last_report = pace.start();
    std::uint64_t sent = 0, blocked = 0, keyframes = 0;
    int ret = 0;
    bool last = false;
    while (!last) {
        /* At most 200 ms in the library, so that Ctrl-C is noticed. */
        zinc::WriteFrame f = p.claim(200ms, ec);
        if (ec == zinc::errc::timed_out) {
            /* An EVERY consumer is behind; keep trying unless told to stop. */
            blocked++;
            if (ex::stop)
                break;
            continue;
        }
        if (ec == zinc::errc::interrupted)
            continue; /* Ctrl-C while it slept: the next frame is the last */
        if (ec) {
            ex::print_error("camera-cpp", "claim", ec);
            ret = 1;
            break;
        }
        std::uint64_t captured = ex::now_ns();
        last = ex::stop || (frames && sent + 1 >= frames) || pace.last(captured);
        auto *px = reinterpret_cast<std::uint8_t *>(f.data().data());
        std::memcpy(px, bg_px.data(), frame_bytes);
        Canvas cv(px, w, h, chans);
        draw_box(cv, f.seq());
        draw_number(cv, f.seq());
        f.set_image(fourcc, w, h, ec);
        f.set_timestamp_ns(captured);
        std::uint32_t flags = 0;
        if ((f.seq() - 1) % gop == 0) {
            flags |= ZINC_FRAME_KEYFRAME;
            keyframes++;
        }
        if (last)
            flags |= ZINC_FRAME_END_OF_STREAM;
        f.set_flags(flags);
        if (!ec)
            f.publish(ec);
        if (ec) { /* f aborts the claim as it goes */
            ex::print_error("camera-cpp", "publish", ec);
            ret = 1;
            break;
        }
        sent++;
        std::uint64_t now = ex::now_ns();
        if (!quiet && !json && now - last_report >= 1000000000u) {
            std::fprintf(stderr, "camera-cpp: %" PRIu64 " frames, %.1f fps\n", sent,
                         static_cast<double>(sent) * 1e9 / static_cast<double>(now - pace.start()));
            last_report = now;
        }
        if (!last)
            pace.wait(now);
    }
    double elapsed = static_cast<double>(ex::now_ns() - pace.start()) / 1e9;

    if (hold) {
        /* Keep the ring (and its counters) until whoever started us closes
         * our stdin: tests and scripts inspect it meanwhile. */
        std::fprintf(stderr, "camera-cpp: done, holding '%s' until stdin closes\n", name.c_str());
        char buf[256];
        while (!ex::stop && read(STDIN_FILENO, buf, sizeof(buf)) > 0) {
        }
    }
    double rate = elapsed > 0 ? static_cast<double>(sent) / elapsed : 0.0;
    if (json)
        std::printf("{\"name\":\"%s\",\"frames\":%" PRIu64 ",\"seconds\":%.3f,\"fps\":%.2f,"
                    "\"width\":%u,\"height\":%u,\"format\":\"%s\",\"keyframes\":%" PRIu64
                    ",\"blocked_claims\":%" PRIu64 ",\"generation\":\"0x%016" PRIx64 "\"}\n",
                    name.c_str(), sent, elapsed, rate, w, h, chans == 4 ? "rgba" : "rgb24",
                    keyframes, blocked, p.generation());
    else
        std::printf("camera-cpp: published %" PRIu64 " frames in %.2f s (%.1f fps), %ux%u %s\n",
                    sent, elapsed, rate, w, h, chans == 4 ? "RGBA" : "RGB24");
    return ret;
}
