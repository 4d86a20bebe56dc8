/* SPDX-License-Identifier: MIT */
/* What the two C++ examples share: Ctrl-C, the clock, strict option
 * parsing, pacing, latency percentiles. The C examples' helpers
 * (examples/common.c) in C++ clothes; kept small so that each example reads
 * as a real program. */
#ifndef ZINC_EXAMPLES_CPP_COMMON_HPP
#define ZINC_EXAMPLES_CPP_COMMON_HPP

#include <zinc/zinc.hpp>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include <getopt.h>

namespace ex {

/* Set by SIGINT/SIGTERM once handle_signals() ran. */
inline volatile std::sig_atomic_t stop = 0;

inline void handle_signals()
{
    struct sigaction sa;
    std::memset(&sa, 0, sizeof(sa));
    sa.sa_handler = [](int) { stop = 1; };
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

/* CLOCK_MONOTONIC, the clock of timestamp_ns. */
inline std::uint64_t now_ns()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

inline void sleep_ns(std::uint64_t ns)
{
    timespec ts = {static_cast<time_t>(ns / 1000000000u), static_cast<long>(ns % 1000000000u)};
    nanosleep(&ts, nullptr);
}

/* Strict parsers: false on garbage. */
inline bool parse_u64(const char *s, std::uint64_t &out)
{
    if (!s || !*s || *s == '-')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = std::strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    out = v;
    return true;
}

inline bool parse_double(const char *s, double &out)
{
    char *end;
    errno = 0;
    double v = std::strtod(s, &end);
    if (errno || end == s || *end || !std::isfinite(v) || v < 0)
        return false;
    out = v;
    return true;
}

inline bool parse_wxh(const char *s, std::uint32_t &w, std::uint32_t &h)
{
    unsigned a, b;
    char tail;
    if (std::sscanf(s, "%ux%u%c", &a, &b, &tail) != 2 || a == 0 || b == 0 || a > 16384 ||
        b > 16384)
        return false;
    w = a;
    h = b;
    return true;
}

inline bool parse_mode(const char *s, zinc::Mode &out)
{
    if (!std::strcmp(s, "latest"))
        out = zinc::Mode::latest;
    else if (!std::strcmp(s, "lossy"))
        out = zinc::Mode::lossy;
    else if (!std::strcmp(s, "every"))
        out = zinc::Mode::every;
    else
        return false;
    return true;
}

/* Usage errors end an example with exit code 2. */
inline int usage_error(const char *usage)
{
    std::fputs(usage, stderr);
    return 2;
}

inline int bad_value(const char *prog, const option *lo, int id, const char *arg)
{
    while (lo->name && lo->val != id)
        lo++;
    std::fprintf(stderr, "%s: bad value for --%s: '%s'\n", prog, lo->name ? lo->name : "?", arg);
    return 2;
}

/* "what happened (code) detail" of a failed call. */
inline void print_error(const char *prog, const char *what, std::error_code ec)
{
    std::fprintf(stderr, "%s: %s: %s (%d) %s\n", prog, what, ec.message().c_str(), ec.value(),
                 zinc::last_error().c_str());
}

/* Paces a producer: `rate` frames a second (0: as fast as it can) for
 * `seconds` (0: no limit). */
class Pacer {
public:
    Pacer(double rate, double seconds)
        : period_(rate > 0 ? static_cast<std::uint64_t>(1e9 / rate) : 0), start_(now_ns()),
          next_(start_),
          end_(seconds > 0 ? start_ + static_cast<std::uint64_t>(seconds * 1e9) : UINT64_MAX)
    {
    }
    std::uint64_t start() const { return start_; }
    /* Whether a frame made at `now` is the last one the time limit allows
     * (with a rate, the next would be due at next + period). */
    bool last(std::uint64_t now) const
    {
        return period_ ? next_ + period_ >= end_ : now >= end_;
    }
    /* Sleep until the next frame is due. */
    void wait(std::uint64_t now)
    {
        if (!period_)
            return;
        next_ += period_;
        if (next_ + 4 * period_ < now) {
            next_ = now; /* far behind (machine busy): do not burst */
        } else if (next_ > now) {
            timespec ts = {static_cast<time_t>(next_ / 1000000000u),
                           static_cast<long>(next_ % 1000000000u)};
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
        }
    }

private:
    std::uint64_t period_, start_, next_, end_;
};

/* Percentile p in [0, 1] of latency samples, as examples/common.c picks it. */
inline std::uint64_t percentile(std::vector<std::uint64_t> &v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    std::size_t i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

/* Capture (timestamp_ns, or publish_ns if the producer set none) to `now`. */
inline std::uint64_t latency(const zinc::FrameInfo &f, std::uint64_t now)
{
    std::uint64_t ts = f.timestamp_ns() ? f.timestamp_ns() : f.publish_ns();
    return now > ts ? now - ts : 0;
}

/* "RGBA32" style text for a fourcc. */
inline std::string fourcc_name(std::uint32_t f)
{
    if (f == zinc::fourcc_raw)
        return "raw";
    if (f == zinc::fourcc_rgba32)
        return "RGBA32";
    if (f == zinc::fourcc_rgb24)
        return "RGB24";
    std::string s;
    for (int i = 0; i < 4; i++) {
        char c = static_cast<char>((f >> (8 * i)) & 0xff);
        s += (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    return s;
}

} // namespace ex

#endif /* ZINC_EXAMPLES_CPP_COMMON_HPP */
