/* SPDX-License-Identifier: MIT */
/*
 * infer (C++) — examples/infer.c through <zinc/zinc.hpp>: a consumer that
 * always works on the freshest frame (LATEST). Per frame it reads the image
 * in place through a typed view, downscales it to grey, runs a Sobel edge
 * filter and measures motion against the previous frame, then reports the
 * latency from capture to result. Same options, same arithmetic (the same
 * results on the same frames), same summary.
 *
 *   infer-cpp --name cam0 --json
 *   infer-cpp --socket @cam0      (a sealed anonymous ring; docs/rendezvous.md)
 */
#include <zinc/zinc.hpp>

#include "common.hpp"

namespace {

const char usage[] =
    "usage: infer-cpp [OPTIONS]\n"
    "Attach to a frame ring as a LATEST consumer (always the newest frame), and\n"
    "for each frame: downscale to grey, Sobel edge magnitude, motion against the\n"
    "previous frame. Reports capture->result latency percentiles at the end.\n"
    "  --name NAME     ring name (default cam0)\n"
    "  --socket ADDR   a sealed anonymous ring instead: connect to its producer's\n"
    "                  socket (a path, or @name)\n"
    "  --mode M        latest (default), lossy or every\n"
    "  --scale N       downscale factor (default 4)\n"
    "  --frames N      stop after N processed frames\n"
    "  --wait S        wait up to S seconds for the ring to appear (default 10)\n"
    "  --json          print the summary as JSON\n"
    "  --quiet         no progress line\n"
    "  --help          this text\n"
    "Stops at END_OF_STREAM, when the producer is gone, or on Ctrl-C.\n";

/* An 8-bit image in a frame: GREY (2-D) or RGB24/RGBA32 (3-D, channels
 * packed), any row and pixel strides. */
struct Image {
    zinc::TensorView<const std::uint8_t> px;
    std::uint32_t width = 0, height = 0, channels = 0;
};

bool image_of(const zinc::ReadFrame &f, Image &img)
{
    std::error_code ec;
    img.px = f.view<std::uint8_t>(ec); /* checks the description, dtype uint8 */
    if (ec || f.tensor().dtype_code != ZINC_DTYPE_UINT)
        return false;
    const zinc::TensorView<const std::uint8_t> &v = img.px;
    if (v.ndim() == 2 && (f.fourcc() == zinc::fourcc_grey || f.fourcc() == zinc::fourcc_raw))
        img.channels = 1;
    else if (v.ndim() == 3 && (v.shape(2) == 3 || v.shape(2) == 4) && v.stride(2) == 1)
        img.channels = static_cast<std::uint32_t>(v.shape(2));
    else
        return false;
    if (v.shape(0) == 0 || v.shape(1) == 0 || v.shape(0) > 65536 || v.shape(1) > 65536)
        return false;
    img.height = static_cast<std::uint32_t>(v.shape(0));
    img.width = static_cast<std::uint32_t>(v.shape(1));
    return true;
}

/* Luma with the BT.601 weights, in 8.8 fixed point. */
inline std::uint32_t luma(const std::uint8_t *p, std::uint32_t channels)
{
    if (channels == 1)
        return p[0];
    return (77u * p[0] + 150u * p[1] + 29u * p[2]) >> 8;
}

class Work {
public:
    /* Mean Sobel magnitude of the downscaled image, and mean absolute
     * change against the previous one. False if the image is too small. */
    bool process(const Image &img, std::uint32_t scale, double &edges, double &motion)
    {
        std::uint32_t sw = img.width / scale, sh = img.height / scale;
        if (sw < 3 || sh < 3)
            return false;
        std::size_t need = std::size_t{sw} * sh;
        if (sw != sw_ || sh != sh_) {
            grey_.assign(need, 0);
            prev_.assign(need, 0);
            sw_ = sw;
            sh_ = sh;
            have_prev_ = false;
        }
        /* Box-filter downscale: average of scale x scale source pixels. */
        const std::uint8_t *base = img.px.data();
        std::int64_t row = img.px.stride(0), col = img.px.stride(1);
        std::uint32_t area = scale * scale;
        for (std::uint32_t y = 0; y < sh; y++) {
            for (std::uint32_t x = 0; x < sw; x++) {
                std::uint32_t sum = 0;
                for (std::uint32_t dy = 0; dy < scale; dy++) {
                    const std::uint8_t *p = base + std::int64_t{y * scale + dy} * row +
                                            std::int64_t{x * scale} * col;
                    for (std::uint32_t dx = 0; dx < scale; dx++, p += col)
                        sum += luma(p, img.channels);
                }
                grey_[std::size_t{y} * sw + x] = static_cast<std::uint8_t>(sum / area);
            }
        }
        double esum = 0;
        for (std::uint32_t y = 1; y + 1 < sh; y++) {
            const std::uint8_t *a = grey_.data() + std::size_t{y - 1} * sw, *b = a + sw,
                               *c = b + sw;
            for (std::uint32_t x = 1; x + 1 < sw; x++) {
                int gx =
                    (a[x + 1] + 2 * b[x + 1] + c[x + 1]) - (a[x - 1] + 2 * b[x - 1] + c[x - 1]);
                int gy = (c[x - 1] + 2 * c[x] + c[x + 1]) - (a[x - 1] + 2 * a[x] + a[x + 1]);
                esum += std::sqrt(static_cast<double>(gx * gx + gy * gy));
            }
        }
        edges = esum / (static_cast<double>(sw - 2) * (sh - 2));
        double msum = 0;
        if (have_prev_)
            for (std::size_t i = 0; i < need; i++)
                msum += std::abs(static_cast<int>(grey_[i]) - static_cast<int>(prev_[i]));
        motion = have_prev_ ? msum / static_cast<double>(need) : 0;
        grey_.swap(prev_);
        have_prev_ = true;
        return true;
    }

private:
    std::uint32_t sw_ = 0, sh_ = 0;
    std::vector<std::uint8_t> grey_, prev_;
    bool have_prev_ = false;
};

/* A socket address ("@name", or a path with a '/') rather than a ring name. */
bool is_address(const std::string &s)
{
    return !s.empty() && (s[0] == '@' || s.find('/') != std::string::npos);
}

/* Attach, retrying while the ring does not exist yet or is being created,
 * for up to wait_s seconds or until Ctrl-C. 0, or the exit code: 3 if the
 * ring never appeared, else 1. */
int open_consumer(const std::string &name, zinc::Mode mode, double wait_s, zinc::Consumer &out)
{
    std::uint64_t end = ex::now_ns() + static_cast<std::uint64_t>(wait_s * 1e9);
    const bool sock = is_address(name);
    for (;;) {
        std::error_code ec;
        out = sock ? zinc::Consumer::connect(name, mode, ec) : zinc::Consumer::open(name, mode, ec);
        if (!ec)
            return 0;
        /* not_found: no producer yet (or nobody listens); would_block: it
         * is creating the ring (or the listener's backlog is full);
         * producer_gone: a leftover name the next producer replaces. */
        bool retry = ec == zinc::errc::not_found || ec == zinc::errc::would_block ||
                     ec == zinc::errc::producer_gone;
        if (!retry || ex::stop || ex::now_ns() >= end) {
            std::fprintf(stderr, "infer-cpp: cannot attach to ring '%s': %s (%d) %s\n",
                         name.c_str(), ec.message().c_str(), ec.value(),
                         zinc::last_error().c_str());
            if (ec == zinc::errc::not_found)
                std::fprintf(stderr, "infer-cpp: start the producer first (e.g. camera %s %s)\n",
                             sock ? "--socket" : "--name", name.c_str());
            return ec == zinc::errc::not_found ? 3 : 1;
        }
        ex::sleep_ns(10 * 1000 * 1000);
    }
}

} // namespace

int main(int argc, char **argv)
{
    using namespace std::chrono_literals;
    std::string name = "cam0";
    zinc::Mode mode = zinc::Mode::latest;
    std::uint64_t scale = 4, max_frames = 0;
    double wait_s = 10;
    bool json = false, quiet = false;
    enum { O_NAME = 256, O_MODE, O_SCALE, O_FRAMES, O_WAIT, O_JSON, O_QUIET, O_SOCKET };
    static const option lo[] = {
        {"name", required_argument, nullptr, O_NAME}, {"mode", required_argument, nullptr, O_MODE},
        {"scale", required_argument, nullptr, O_SCALE},
        {"frames", required_argument, nullptr, O_FRAMES},
        {"wait", required_argument, nullptr, O_WAIT}, {"json", no_argument, nullptr, O_JSON},
        {"quiet", no_argument, nullptr, O_QUIET},
        {"socket", required_argument, nullptr, O_SOCKET}, {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", lo, nullptr)) != -1) {
        bool ok = true;
        switch (c) {
        case 'h': std::fputs(usage, stdout); return 0;
        case O_NAME: name = optarg; break;
        case O_SOCKET:
            name = optarg; /* an address: open_consumer connects */
            ok = is_address(name);
            break;
        case O_MODE: ok = ex::parse_mode(optarg, mode); break;
        case O_SCALE: ok = ex::parse_u64(optarg, scale) && scale != 0 && scale <= 64; break;
        case O_FRAMES: ok = ex::parse_u64(optarg, max_frames); break;
        case O_WAIT: ok = ex::parse_double(optarg, wait_s); break;
        case O_JSON: json = true; break;
        case O_QUIET: quiet = true; break;
        default: return ex::usage_error(usage);
        }
        if (!ok)
            return ex::bad_value("infer-cpp", lo, c, optarg);
    }
    if (optind != argc)
        return ex::usage_error(usage);
    ex::handle_signals();
    zinc::Consumer cons;
    if (int rc = open_consumer(name, mode, wait_s, cons); rc != 0)
        return rc;
    std::error_code ec;
    std::optional<zinc::Descriptor> desc = cons.stream(ec);
    if (desc && desc->tensor().ndim >= 2 && !quiet)
        std::fprintf(stderr, "infer-cpp: attached to '%s': %" PRIu64 "x%" PRIu64 " %s\n",
                     name.c_str(), desc->tensor().shape[1], desc->tensor().shape[0],
                     ex::fourcc_name(desc->fourcc()).c_str());

    Work work;
    std::vector<std::uint64_t> lat;
    std::uint64_t frames = 0, torn = 0, dropped = 0, skipped = 0, start = 0, last_report = 0;
    double edges = 0, motion = 0, edge_sum = 0, motion_max = 0;
    int ret = 0;
    const char *why = "stopped";
    while (!ex::stop && (!max_frames || frames < max_frames)) {
        /* At most 200 ms in the library, so that Ctrl-C is noticed. */
        zinc::ReadFrame f = cons.acquire(200ms, ec);
        if (ec == zinc::errc::timed_out || ec == zinc::errc::interrupted)
            continue; /* the loop looks at Ctrl-C */
        if (ec == zinc::errc::producer_gone) {
            why = "producer gone";
            break;
        }
        if (ec) {
            ex::print_error("infer-cpp", "acquire", ec);
            ret = 1;
            break;
        }
        if (!start)
            start = last_report = ex::now_ns();
        dropped += f.dropped();
        Image img;
        double e = 0, m = 0;
        bool ok = image_of(f, img) && work.process(img, static_cast<std::uint32_t>(scale), e, m);
        std::uint64_t done = ex::now_ns();
        std::uint64_t latency = ex::latency(f, done);
        f.release(ec);
        if (ec == zinc::errc::torn) {
            /* The producer lapped us while we read: the result is garbage. */
            torn++;
        } else if (!ok) {
            skipped++;
        } else {
            frames++;
            edges = e;
            motion = m;
            edge_sum += e;
            motion_max = std::max(motion_max, m);
            lat.push_back(latency);
        }
        if (!quiet && !json && done - last_report >= 1000000000u) {
            std::fprintf(stderr, "infer-cpp: %" PRIu64 " frames, edges %.1f, motion %.2f, "
                         "latency %.2f ms\n", frames, edges, motion,
                         lat.empty() ? 0.0 : static_cast<double>(lat.back()) / 1e6);
            last_report = done;
        }
        if (f.end_of_stream()) {
            why = "end of stream";
            break;
        }
    }
    double elapsed = start ? static_cast<double>(ex::now_ns() - start) / 1e9 : 0;
    double fps = elapsed > 0 ? static_cast<double>(frames) / elapsed : 0;
    double edge_mean = frames ? edge_sum / static_cast<double>(frames) : 0.0;
    std::uint64_t p50 = ex::percentile(lat, 0.50), p90 = ex::percentile(lat, 0.90),
                  p99 = ex::percentile(lat, 0.99), pmax = ex::percentile(lat, 1.0);
    const char *mode_name = mode == zinc::Mode::latest  ? "latest"
                            : mode == zinc::Mode::lossy ? "lossy"
                                                        : "every";
    if (json)
        std::printf("{\"name\":\"%s\",\"mode\":\"%s\",\"frames\":%" PRIu64
                    ",\"dropped\":%" PRIu64 ",\"torn\":%" PRIu64 ",\"skipped\":%" PRIu64
                    ",\"seconds\":%.3f,\"fps\":%.2f,\"edge_mean\":%.3f,\"motion_max\":%.3f"
                    ",\"latency_ns\":{\"p50\":%" PRIu64 ",\"p90\":%" PRIu64 ",\"p99\":%" PRIu64
                    ",\"max\":%" PRIu64 "},\"end\":\"%s\"}\n",
                    name.c_str(), mode_name, frames, dropped, torn, skipped, elapsed, fps,
                    edge_mean, motion_max, p50, p90, p99, pmax, why);
    else
        std::printf("infer-cpp: %" PRIu64 " frames (%.1f fps), %" PRIu64 " skipped as stale, "
                    "%" PRIu64 " torn; mean edge energy %.2f; capture->result latency p50 "
                    "%.2f ms, p99 %.2f ms, max %.2f ms (%s)\n",
                    frames, fps, dropped, torn, edge_mean, static_cast<double>(p50) / 1e6,
                    static_cast<double>(p99) / 1e6, static_cast<double>(pmax) / 1e6, why);
    return ret;
}
