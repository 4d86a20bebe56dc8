/* SPDX-License-Identifier: MIT */
/*
 * zinc.hpp — the C++ face of <zinc/zinc.h> and <zinc/ring.h>: header-only,
 * C++17 (std::span when compiled as C++20), no state of its own beyond the
 * C handles. docs/cpp.md is the manual.
 *
 * Holding rules, and how this header enforces them:
 *   - Producer, Consumer, Region, WriteFrame and ReadFrame own a C handle or
 *     a claim/hold: they are move-only (copying does not compile) and give it
 *     back in their destructor.
 *   - WriteFrame (from claim) publishes on publish() and aborts in its
 *     destructor if it was not published; publishing twice is an error.
 *   - ReadFrame (from acquire) releases in its destructor; release() says
 *     whether the frame was torn (overwritten while held).
 *   - Using the payload of an empty frame (moved from, published, released)
 *     or an empty handle aborts with a message when ZINC_HPP_CHECKS is 1
 *     (the default unless NDEBUG); otherwise payloads are empty and calls
 *     fail with errc::invalid_argument.
 *   - A frame must not outlive, nor be held across a move of, the Producer
 *     or Consumer it came from (checked under ZINC_HPP_CHECKS).
 *
 * Errors: every fallible call comes in two forms, one taking a
 * std::error_code& (noexcept; the value is the zinc code, e.g. -110, in
 * zinc::category(), comparable with zinc::errc and std::errc) and one
 * throwing zinc::error (a std::system_error carrying the code and
 * zinc_last_error()'s message). zinc::last_error() gives that message after
 * an error_code call.
 *
 * Waiting in event loops: Consumer::fd() is a descriptor for poll/epoll
 * (borrowed: the consumer owns it), zinc::wait_any waits on several
 * consumers at once, mapping() gives the slots' range for registration
 * (CUDA, RDMA, mlock). Sealed anonymous rings: Producer::listen /
 * Producer::fd, Consumer::connect / Consumer::open_fd.
 *
 * Thread-safety: as the C API: one object is used by one thread at a time;
 * different objects may be used concurrently. Objects are not inherited
 * across fork(): a child opens its own and must not run the destructors of
 * its parent's frames (leave with _exit or exec).
 */
#ifndef ZINC_ZINC_HPP
#define ZINC_ZINC_HPP

#include <zinc/ring.h>
#include <zinc/zinc.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<version>)
#include <version>
#endif
#endif
#if defined(__cpp_lib_span)
#include <span>
#endif

#if __cplusplus < 201703L
#error "zinc.hpp needs C++17 or later"
#endif

/* Checks of the holding rules that cost a branch; on by default in debug
 * builds. Define to 0 or 1 before the first include to choose. Every
 * translation unit of a program must see the same value. */
#ifndef ZINC_HPP_CHECKS
#ifdef NDEBUG
#define ZINC_HPP_CHECKS 0
#else
#define ZINC_HPP_CHECKS 1
#endif
#endif

#if defined(__GNUC__)
#define ZINC_HPP_COLD __attribute__((cold, noinline))
#define ZINC_HPP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define ZINC_HPP_COLD
#define ZINC_HPP_UNLIKELY(x) (x)
#endif

#if ZINC_HPP_CHECKS
#define ZINC_HPP_EXPECT(cond, msg) \
    ((cond) ? (void)0 : ::zinc::detail::check_failed(msg, __FILE__, __LINE__))
#else
#define ZINC_HPP_EXPECT(cond, msg) ((void)0)
#endif

namespace zinc {

/* ---- Byte spans -------------------------------------------------------- */

#if defined(__cpp_lib_span)
template <class T>
using span = std::span<T>;
#else
/* The part of std::span (C++20) that zinc hands out: a pointer and a count. */
template <class T>
class span {
public:
    using element_type = T;
    using value_type = std::remove_cv_t<T>;
    using size_type = std::size_t;
    using difference_type = std::ptrdiff_t;
    using pointer = T *;
    using reference = T &;
    using iterator = T *;

    constexpr span() noexcept = default;
    constexpr span(T *p, std::size_t n) noexcept : p_(p), n_(n) {}
    template <class U, class = std::enable_if_t<std::is_convertible_v<U (*)[], T (*)[]>>>
    constexpr span(const span<U> &o) noexcept : p_(o.data()), n_(o.size())
    {
    }

    constexpr T *data() const noexcept { return p_; }
    constexpr std::size_t size() const noexcept { return n_; }
    constexpr std::size_t size_bytes() const noexcept { return n_ * sizeof(T); }
    [[nodiscard]] constexpr bool empty() const noexcept { return n_ == 0; }
    constexpr T &operator[](std::size_t i) const noexcept { return p_[i]; }
    constexpr T &front() const noexcept { return p_[0]; }
    constexpr T &back() const noexcept { return p_[n_ - 1]; }
    constexpr T *begin() const noexcept { return p_; }
    constexpr T *end() const noexcept { return p_ + n_; }
    constexpr span first(std::size_t n) const noexcept { return {p_, n}; }
    constexpr span last(std::size_t n) const noexcept { return {p_ + (n_ - n), n}; }
    constexpr span subspan(std::size_t off, std::size_t n = static_cast<std::size_t>(-1)) const
        noexcept
    {
        return {p_ + off, n == static_cast<std::size_t>(-1) ? n_ - off : n};
    }

private:
    T *p_ = nullptr;
    std::size_t n_ = 0;
};
#endif

using bytes = span<std::byte>;
using const_bytes = span<const std::byte>;

/* ---- Errors ------------------------------------------------------------ */

/* The zinc codes of <zinc/zinc.h> (literal negative errno values). */
enum class errc : int {
    permission_denied = ZINC_EPERM,
    not_found = ZINC_ENOENT,
    interrupted = ZINC_EINTR, /* a signal handler ran while a call slept */
    would_block = ZINC_EAGAIN,
    busy = ZINC_EBUSY,
    exists = ZINC_EEXIST,
    invalid_argument = ZINC_EINVAL,
    no_space = ZINC_ENOSPC,
    producer_gone = ZINC_EPIPE,
    corrupted = ZINC_EBADMSG,
    torn = ZINC_EOVERFLOW,
    too_large = ZINC_EMSGSIZE,
    timed_out = ZINC_ETIMEDOUT,
};

namespace detail {

/* The C++ side's own message for its last failure on this thread (a static
 * string), or null when the last failure came from the C library. Touched
 * only on failure paths. */
inline thread_local const char *cpp_error = nullptr;

[[noreturn]] ZINC_HPP_COLD inline void check_failed(const char *msg, const char *file, int line)
{
    std::fprintf(stderr, "zinc.hpp: %s (%s:%d)\n", msg, file, line);
    std::abort();
}

class category_impl final : public std::error_category {
public:
    constexpr category_impl() noexcept = default;
    const char *name() const noexcept override { return "zinc"; }
    std::string message(int code) const override { return zinc_strerror(code); }
    /* zinc codes are -errno: compare equal to std::errc / the generic
     * category (ec == std::errc::timed_out). */
    std::error_condition default_error_condition(int code) const noexcept override
    {
        if (code < 0 && code > -4096)
            return {-code, std::generic_category()};
        return {code, *this};
    }
    /* -1 says "permission denied" (the shm object's mode), whichever of
     * EPERM and EACCES a caller compares with. */
    bool equivalent(int code, const std::error_condition &cond) const noexcept override
    {
        if (code == ZINC_EPERM &&
            cond == std::make_error_condition(std::errc::permission_denied))
            return true;
        return default_error_condition(code) == cond;
    }
};

inline const category_impl category_instance{};

} // namespace detail

inline const std::error_category &category() noexcept
{
    return detail::category_instance;
}

inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), category()};
}

/* The message that explains the last failure of a zinc call on this thread
 * (zinc_last_error(), or the C++ side's own check); "" if none. Read it
 * before the next zinc call on this thread. */
inline std::string last_error()
{
    const char *s = detail::cpp_error ? detail::cpp_error : zinc_last_error();
    return s ? s : "";
}

/* What happened and what to do, for any zinc code. */
inline std::string strerror(int code)
{
    return category().message(code);
}

/* Thrown by the throwing overloads. code() is in zinc::category(); detail()
 * is zinc_last_error()'s message of the failing call. */
class error : public std::system_error {
public:
    error(std::error_code ec, const char *context, std::string detail)
        : std::system_error(ec, compose(context, detail)), detail_(std::move(detail))
    {
    }
    const std::string &detail() const noexcept { return detail_; }

private:
    static std::string compose(const char *context, const std::string &detail)
    {
        std::string s = context ? context : "zinc";
        if (!detail.empty())
            s += " [" + detail + "]";
        return s;
    }
    std::string detail_;
};

namespace detail {

[[noreturn]] ZINC_HPP_COLD inline void throw_error(int code, const char *context)
{
    throw ::zinc::error(std::error_code(code, category()), context, last_error());
}

/* Failure detected on the C++ side (misuse, type mismatch). */
ZINC_HPP_COLD inline int fail(int code, const char *msg) noexcept
{
    cpp_error = msg;
    return code;
}

/* Result of a C call: on failure its message is zinc_last_error()'s, not
 * an earlier C++-side one. Every C call whose code reaches set_ec or
 * throw_error goes through this. */
inline int c_call(int r) noexcept
{
    if (ZINC_HPP_UNLIKELY(r != 0))
        cpp_error = nullptr;
    return r;
}

/* Store `r` in ec. Success leaves an already clear ec untouched
 * (std::error_code::clear() is an out-of-line call). */
inline void set_ec(std::error_code &ec, int r) noexcept
{
    if (ZINC_HPP_UNLIKELY(r != 0))
        ec.assign(r, category());
    else if (ec)
        ec.clear();
}

} // namespace detail

/* ---- Timeouts ---------------------------------------------------------- */

/* Timeouts are std::chrono durations (any unit coarser than ns converts):
 * 0 = don't wait, zinc::forever = no limit. Negative durations are 0. */
using duration = std::chrono::nanoseconds;
inline constexpr duration forever = duration::max();

namespace detail {
constexpr std::int64_t to_ns(duration t) noexcept
{
    return t == forever ? -1 : t.count() < 0 ? 0 : static_cast<std::int64_t>(t.count());
}
} // namespace detail

/* ---- Names ------------------------------------------------------------- */

/* A NUL-terminated name, from a const char * or a std::string (no copy). */
class cstring_ref {
public:
    cstring_ref(const char *s) noexcept : s_(s) {}
    cstring_ref(const std::string &s) noexcept : s_(s.c_str()) {}
    const char *c_str() const noexcept { return s_; }

private:
    const char *s_;
};

/* ---- File descriptors -------------------------------------------------- */

/* An owned file descriptor, closed in the destructor: what Producer::fd()
 * and zinc::ring_connect() hand out (the caller's to keep or pass on).
 * Move-only. A consumer's own descriptor (Consumer::fd()) is borrowed, a
 * plain int. */
class unique_fd {
public:
    unique_fd() noexcept = default;
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    unique_fd(unique_fd &&o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    unique_fd &operator=(unique_fd &&o) noexcept
    {
        if (this != &o)
            reset(std::exchange(o.fd_, -1));
        return *this;
    }
    unique_fd(const unique_fd &) = delete;
    unique_fd &operator=(const unique_fd &) = delete;
    ~unique_fd() { reset(); }

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    /* Give the descriptor up without closing it. */
    [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
    /* Close the descriptor held (if any) and hold `fd` instead. */
    void reset(int fd = -1) noexcept
    {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

/* ---- Element types ----------------------------------------------------- */

/* DLPack type of an element type T: arithmetic types of 1, 2, 4 or 8 bytes
 * (not bool) and std::byte. */
template <class T>
struct dtype_of {
    using U = std::remove_cv_t<T>;
    static constexpr bool supported =
        std::is_same_v<U, std::byte> ||
        (std::is_arithmetic_v<U> && !std::is_same_v<U, bool> &&
         (sizeof(U) == 1 || sizeof(U) == 2 || sizeof(U) == 4 || sizeof(U) == 8) &&
         !(std::is_floating_point_v<U> && sizeof(U) < 4));
    static constexpr std::uint8_t code =
        std::is_floating_point_v<U> ? ZINC_DTYPE_FLOAT
        : (std::is_integral_v<U> && std::is_signed_v<U>) ? ZINC_DTYPE_INT
                                                          : ZINC_DTYPE_UINT;
    static constexpr std::uint8_t bits = static_cast<std::uint8_t>(sizeof(U) * 8);
};

/* A strided view of T elements in a frame's payload, from its tensor
 * description: shape per dimension, strides in bytes (may be negative).
 * Valid as long as the frame it came from is held. */
template <class T>
class TensorView {
    using byte_type = std::conditional_t<std::is_const_v<T>, const std::byte, std::byte>;

public:
    using element_type = T;

    TensorView() noexcept = default;
    /* `first`: element [0, ..., 0]. The caller checked bounds and alignment. */
    TensorView(byte_type *first, std::uint32_t ndim, const std::uint64_t *shape,
               const std::int64_t *strides) noexcept
        : first_(first), ndim_(ndim)
    {
        for (std::uint32_t d = 0; d < ndim && d < ZINC_TENSOR_MAX_DIMS; d++) {
            shape_[d] = shape[d];
            strides_[d] = strides[d];
        }
    }

    std::uint32_t ndim() const noexcept { return ndim_; }
    std::uint64_t shape(std::uint32_t d) const noexcept
    {
        ZINC_HPP_EXPECT(d < ndim_, "TensorView::shape: dimension out of range");
        return d < ndim_ ? shape_[d] : 1;
    }
    /* Bytes between neighbours along dimension d. */
    std::int64_t stride(std::uint32_t d) const noexcept
    {
        ZINC_HPP_EXPECT(d < ndim_, "TensorView::stride: dimension out of range");
        return d < ndim_ ? strides_[d] : 0;
    }
    /* Number of elements. */
    std::uint64_t size() const noexcept
    {
        std::uint64_t n = ndim_ ? 1 : 0;
        for (std::uint32_t d = 0; d < ndim_; d++)
            n *= shape_[d];
        return n;
    }
    [[nodiscard]] bool empty() const noexcept { return size() == 0; }
    /* Element [0, ..., 0]. */
    T *data() const noexcept { return reinterpret_cast<T *>(first_); }

    /* Element at (i0, i1, ...): as many indices as ndim(), each below its
     * shape (checked under ZINC_HPP_CHECKS). */
    template <class... I>
    T &operator()(I... idx) const noexcept
    {
        static_assert((std::is_integral_v<I> && ...), "indices are integers");
        static_assert(sizeof...(I) >= 1 && sizeof...(I) <= ZINC_TENSOR_MAX_DIMS,
                      "1 to 4 indices");
        const std::uint64_t ix[] = {static_cast<std::uint64_t>(idx)...};
        ZINC_HPP_EXPECT(sizeof...(I) == ndim_, "TensorView: wrong number of indices");
        std::int64_t off = 0;
        for (std::size_t d = 0; d < sizeof...(I); d++) {
            ZINC_HPP_EXPECT(ix[d] < shape_[d], "TensorView: index out of range");
            off += static_cast<std::int64_t>(ix[d]) * strides_[d];
        }
        return *reinterpret_cast<T *>(first_ + off);
    }

    /* Element at `idx`, always bounds-checked: std::out_of_range otherwise. */
    T &at(std::initializer_list<std::uint64_t> idx) const
    {
        if (idx.size() != ndim_)
            throw std::out_of_range("zinc::TensorView::at: wrong number of indices");
        std::int64_t off = 0;
        std::uint32_t d = 0;
        for (std::uint64_t i : idx) {
            if (i >= shape_[d])
                throw std::out_of_range("zinc::TensorView::at: index out of range");
            off += static_cast<std::int64_t>(i) * strides_[d++];
        }
        return *reinterpret_cast<T *>(first_ + off);
    }

    /* Row-major and packed (the last dimension's stride is sizeof(T)). */
    bool contiguous() const noexcept
    {
        std::int64_t want = static_cast<std::int64_t>(sizeof(T));
        for (std::uint32_t d = ndim_; d-- > 0;) {
            if (shape_[d] != 1 && strides_[d] != want)
                return false;
            want *= static_cast<std::int64_t>(shape_[d]);
        }
        return true;
    }
    /* All elements as one span when contiguous(); empty otherwise. */
    span<T> flat() const noexcept
    {
        return contiguous() ? span<T>(data(), static_cast<std::size_t>(size())) : span<T>();
    }

private:
    byte_type *first_ = nullptr;
    std::uint32_t ndim_ = 0;
    std::uint64_t shape_[ZINC_TENSOR_MAX_DIMS] = {};
    std::int64_t strides_[ZINC_TENSOR_MAX_DIMS] = {};
};

namespace detail {

/* Check frame `f`'s description against T and build the view. ndim 0 (raw
 * bytes) is seen as a 1-D array of size / sizeof(T) elements. */
template <class T, class B>
int make_view(const zinc_frame &f, B *payload, TensorView<T> &out) noexcept
{
    static_assert(dtype_of<T>::supported, "element type must be an arithmetic type of 1, 2, 4 "
                                          "or 8 bytes (float or double for floats), or std::byte");
    const zinc_tensor &t = f.tensor;
    if (t.ndim == 0) {
        std::uint64_t n = f.size / sizeof(T);
        std::int64_t st = static_cast<std::int64_t>(sizeof(T));
        if (reinterpret_cast<std::uintptr_t>(payload) % alignof(T) != 0)
            return fail(ZINC_EINVAL, "view: the payload is not aligned for this element type");
        out = TensorView<T>(payload, 1, &n, &st);
        return 0;
    }
    if (int r = c_call(zinc_tensor_check(&t, f.size)); r != 0)
        return r;
    if (t.dtype_lanes != 1 || t.dtype_bits != dtype_of<T>::bits ||
        (t.dtype_code != dtype_of<T>::code &&
         !(std::is_same_v<std::remove_cv_t<T>, std::byte> && t.dtype_code == ZINC_DTYPE_INT)))
        return fail(ZINC_EINVAL, "view: the frame's element type (dtype code, bits, lanes) "
                                 "is not this T");
    B *first = payload + t.offset;
    if (reinterpret_cast<std::uintptr_t>(first) % alignof(T) != 0)
        return fail(ZINC_EINVAL, "view: the first element is not aligned for this element type");
    for (std::uint32_t d = 0; d < t.ndim; d++)
        if (t.shape[d] > 1 && t.strides[d] % static_cast<std::int64_t>(alignof(T)) != 0)
            return fail(ZINC_EINVAL, "view: a stride is not a multiple of the element's "
                                     "alignment");
    out = TensorView<T>(first, t.ndim, t.shape, t.strides);
    return 0;
}

struct uninit_t {
};

} // namespace detail

/* ---- Pixel and point formats -------------------------------------------- */

/* ZINC_FOURCC as a constexpr function (the C macro's casts trip
 * -Wold-style-cast), and the formats the descriptor helpers know. */
constexpr std::uint32_t fourcc(char a, char b, char c, char d) noexcept
{
    return static_cast<std::uint32_t>(static_cast<unsigned char>(a)) |
           static_cast<std::uint32_t>(static_cast<unsigned char>(b)) << 8 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(c)) << 16 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(d)) << 24;
}
inline constexpr std::uint32_t fourcc_raw = 0;
inline constexpr std::uint32_t fourcc_grey = fourcc('G', 'R', 'E', 'Y');   /* 8-bit luma */
inline constexpr std::uint32_t fourcc_rgb24 = fourcc('R', 'G', 'B', '3');  /* V4L2 RGB24 */
inline constexpr std::uint32_t fourcc_rgba32 = fourcc('A', 'B', '2', '4'); /* V4L2 RGBA32 */
inline constexpr std::uint32_t fourcc_nv12 = fourcc('N', 'V', '1', '2');   /* Y + UV planes */
inline constexpr std::uint32_t fourcc_pc32f = fourcc('P', 'C', '3', 'F');  /* N x K float32 */

/* ---- Frame descriptors ------------------------------------------------- */

/* Delivery mode of a consumer (zinc_delivery). */
enum class Mode : int {
    every = ZINC_EVERY,   /* every frame, in order; the producer waits for it */
    lossy = ZINC_LOSSY,   /* in order, skips ahead when lapped (dropped()) */
    latest = ZINC_LATEST, /* always the newest frame not yet seen */
};

/* Read access to a frame's descriptor (a copy taken by the C library, so it
 * stays readable after the frame is released). */
class FrameInfo {
public:
    std::uint64_t seq() const noexcept { return f_.seq; }
    std::uint64_t size() const noexcept { return f_.size; }
    std::uint64_t timestamp_ns() const noexcept { return f_.timestamp_ns; }
    std::uint64_t publish_ns() const noexcept { return f_.publish_ns; }
    std::uint64_t dropped() const noexcept { return f_.dropped; }
    std::uint32_t fourcc() const noexcept { return f_.fourcc; }
    std::uint32_t flags() const noexcept { return f_.flags; }
    bool keyframe() const noexcept { return (f_.flags & ZINC_FRAME_KEYFRAME) != 0; }
    bool end_of_stream() const noexcept { return (f_.flags & ZINC_FRAME_END_OF_STREAM) != 0; }
    bool demoted() const noexcept { return (f_.flags & ZINC_FRAME_DEMOTED) != 0; }
    const zinc_tensor &tensor() const noexcept { return f_.tensor; }
    span<const std::uint8_t> user() const noexcept { return {f_.user, ZINC_FRAME_USER_SIZE}; }
    /* The C descriptor (its data pointer is only valid while the frame is). */
    const zinc_frame &raw() const noexcept { return f_; }

protected:
    FrameInfo() noexcept : f_() {}
    explicit FrameInfo(detail::uninit_t) noexcept {}
    FrameInfo(const FrameInfo &) = default; /* no slicing copies from outside */
    FrameInfo &operator=(const FrameInfo &) = default;
    ~FrameInfo() = default;

    zinc_frame f_;
};

/* Write access to a descriptor: what a producer sets before publishing. */
class FrameDesc : public FrameInfo {
public:
    void set_size(std::uint64_t n) noexcept { f_.size = n; }
    void set_timestamp_ns(std::uint64_t t) noexcept { f_.timestamp_ns = t; }
    void set_fourcc(std::uint32_t fourcc) noexcept { f_.fourcc = fourcc; }
    void set_flags(std::uint32_t flags) noexcept { f_.flags = flags; }
    span<std::uint8_t> user() noexcept { return {f_.user, ZINC_FRAME_USER_SIZE}; }
    using FrameInfo::user;

    /* A packed image (GREY, RGB24, RGBA32, NV12): tensor, fourcc and size.
     * -22 unknown fourcc or zero size, -90 larger than the slot. */
    void set_image(std::uint32_t fourcc, std::uint32_t width, std::uint32_t height)
    {
        if (int r = set_image_raw(fourcc, width, height); r != 0)
            detail::throw_error(r, "zinc::set_image");
    }
    void set_image(std::uint32_t fourcc, std::uint32_t width, std::uint32_t height,
                   std::error_code &ec) noexcept
    {
        detail::set_ec(ec, set_image_raw(fourcc, width, height));
    }

    /* An n x k float32 point cloud (PC32F). */
    void set_points(std::uint64_t n, std::uint32_t k)
    {
        if (int r = set_points_raw(n, k); r != 0)
            detail::throw_error(r, "zinc::set_points");
    }
    void set_points(std::uint64_t n, std::uint32_t k, std::error_code &ec) noexcept
    {
        detail::set_ec(ec, set_points_raw(n, k));
    }

    /* A tensor of T: `shape`, byte `strides` (empty = row-major packed) and
     * the byte offset of element [0, ...]; size becomes the bytes it spans.
     * -22 bad description, -90 larger than the slot. */
    template <class T>
    void set_tensor(std::initializer_list<std::uint64_t> shape,
                    std::initializer_list<std::int64_t> strides = {}, std::uint64_t offset = 0)
    {
        if (int r = set_tensor_raw(make_tensor<T>(shape, strides, offset)); r != 0)
            detail::throw_error(r, "zinc::set_tensor");
    }
    template <class T>
    void set_tensor(std::initializer_list<std::uint64_t> shape,
                    std::initializer_list<std::int64_t> strides, std::uint64_t offset,
                    std::error_code &ec) noexcept
    {
        detail::set_ec(ec, set_tensor_raw(make_tensor<T>(shape, strides, offset)));
    }
    /* Any description, e.g. bfloat16 or lanes > 1. */
    void set_tensor(const zinc_tensor &t)
    {
        if (int r = set_tensor_raw(t); r != 0)
            detail::throw_error(r, "zinc::set_tensor");
    }
    void set_tensor(const zinc_tensor &t, std::error_code &ec) noexcept
    {
        detail::set_ec(ec, set_tensor_raw(t));
    }

protected:
    FrameDesc() noexcept = default;
    explicit FrameDesc(detail::uninit_t u) noexcept : FrameInfo(u) {}
    FrameDesc(const FrameDesc &) = default;
    FrameDesc &operator=(const FrameDesc &) = default;
    ~FrameDesc() = default;

    /* Most bytes the description may span: the slot size for a claimed
     * frame; no limit for a stream descriptor (set_stream checks). */
    std::uint64_t cap_ = UINT64_MAX;

private:
    template <class T>
    static zinc_tensor make_tensor(std::initializer_list<std::uint64_t> shape,
                                   std::initializer_list<std::int64_t> strides,
                                   std::uint64_t offset) noexcept
    {
        static_assert(dtype_of<T>::supported, "element type must be an arithmetic type of 1, "
                                              "2, 4 or 8 bytes, or std::byte");
        zinc_tensor t{};
        t.dtype_code = dtype_of<T>::code;
        t.dtype_bits = dtype_of<T>::bits;
        t.dtype_lanes = 1;
        t.offset = offset;
        /* More than 4 dimensions, or strides not matching: ndim 5 fails the
         * check below. */
        bool bad = shape.size() > ZINC_TENSOR_MAX_DIMS ||
                   (strides.size() != 0 && strides.size() != shape.size());
        t.ndim = bad ? ZINC_TENSOR_MAX_DIMS + 1 : static_cast<std::uint32_t>(shape.size());
        if (bad)
            return t;
        std::uint32_t d = 0;
        for (std::uint64_t s : shape)
            t.shape[d++] = s;
        if (strides.size() != 0) {
            d = 0;
            for (std::int64_t s : strides)
                t.strides[d++] = s;
        } else {
            std::int64_t st = static_cast<std::int64_t>(sizeof(T));
            for (d = t.ndim; d-- > 0;) {
                t.strides[d] = st;
                st *= static_cast<std::int64_t>(t.shape[d]);
            }
        }
        return t;
    }

    int set_image_raw(std::uint32_t fourcc, std::uint32_t w, std::uint32_t h) noexcept
    {
        std::uint64_t size = f_.size;
        f_.size = cap_; /* the C helper checks against f->size */
        int r = detail::c_call(zinc_frame_set_image(&f_, fourcc, w, h));
        if (r != 0)
            f_.size = size;
        return r;
    }
    int set_points_raw(std::uint64_t n, std::uint32_t k) noexcept
    {
        std::uint64_t size = f_.size;
        f_.size = cap_;
        int r = detail::c_call(zinc_frame_set_points(&f_, n, k));
        if (r != 0)
            f_.size = size;
        return r;
    }
    int set_tensor_raw(const zinc_tensor &t) noexcept
    {
        if (t.ndim == 0) {
            f_.tensor = t;
            return 0;
        }
        if (int r = detail::c_call(zinc_tensor_check(&t, UINT64_MAX)); r != 0)
            return r;
        std::uint64_t need = zinc_tensor_span(&t);
        if (need > cap_)
            return detail::fail(ZINC_EMSGSIZE, "set_tensor: the tensor spans more bytes than "
                                               "the slot holds");
        f_.tensor = t;
        f_.size = need;
        return 0;
    }
};

/* A stream descriptor: what a producer announces (Producer::set_stream) and
 * a consumer reads at attach (Consumer::stream). A plain value. */
class Descriptor : public FrameDesc {
public:
    Descriptor() noexcept = default;
    explicit Descriptor(const zinc_frame &f) noexcept { f_ = f; f_.data = nullptr; }
    Descriptor(const Descriptor &) = default;
    Descriptor &operator=(const Descriptor &) = default;
    ~Descriptor() = default;
};

class Producer;
class Consumer;

/* A claimed slot (Producer::claim). Write the payload in place through
 * data() or view<T>(), describe it, then publish(); destroyed unpublished,
 * it aborts the claim. Move-only; empty once published, aborted or moved
 * from. */
class WriteFrame : public FrameDesc {
public:
    WriteFrame() noexcept = default;
    WriteFrame(WriteFrame &&o) noexcept : FrameDesc(o), owner_(std::exchange(o.owner_, nullptr))
    {
    }
    WriteFrame &operator=(WriteFrame &&o) noexcept
    {
        if (this != &o) {
            abort_if_claimed();
            FrameDesc::operator=(o);
            owner_ = std::exchange(o.owner_, nullptr);
        }
        return *this;
    }
    WriteFrame(const WriteFrame &) = delete;
    WriteFrame &operator=(const WriteFrame &) = delete;
    ~WriteFrame() { abort_if_claimed(); }

    /* Whether this frame still holds its claim. */
    explicit operator bool() const noexcept { return owner_ != nullptr; }

    /* The whole slot (slot_size bytes), to write in place. */
    bytes data() const noexcept
    {
        ZINC_HPP_EXPECT(owner_, "WriteFrame::data() on an empty frame (published, aborted "
                                "or moved from)");
        return owner_ ? bytes(static_cast<std::byte *>(f_.data), static_cast<std::size_t>(cap_))
                      : bytes();
    }
    std::uint64_t capacity() const noexcept { return owner_ ? cap_ : 0; }

    /* A typed, writable view from the description set so far (set_tensor,
     * set_image, set_points; raw bytes if none). */
    template <class T>
    TensorView<T> view() const
    {
        TensorView<T> v;
        if (int r = view_raw(v); r != 0)
            detail::throw_error(r, "zinc::WriteFrame::view");
        return v;
    }
    template <class T>
    TensorView<T> view(std::error_code &ec) const noexcept
    {
        TensorView<T> v;
        detail::set_ec(ec, view_raw(v));
        return v;
    }

    /* Publish with this descriptor; the frame is empty afterwards. On
     * failure (-90 size > slot, -22 description outside size) the claim
     * stays open: fix it and publish again, or let it abort. */
    inline void publish();
    inline void publish(std::error_code &ec) noexcept;
    /* Give the slot back unpublished (what the destructor does). */
    inline void abort();
    inline void abort(std::error_code &ec) noexcept;

private:
    friend class Producer;
    explicit WriteFrame(detail::uninit_t u) noexcept : FrameDesc(u) {}
    inline int publish_raw() noexcept;
    inline int abort_raw() noexcept;
    void abort_if_claimed() noexcept
    {
        if (owner_)
            abort_raw();
    }
    template <class T>
    int view_raw(TensorView<T> &v) const noexcept
    {
        ZINC_HPP_EXPECT(owner_, "WriteFrame::view() on an empty frame (published, aborted or "
                                "moved from)");
        if (!owner_)
            return detail::fail(ZINC_EINVAL, "view: the frame is empty (published, aborted or "
                                             "moved from)");
        zinc_frame f = f_;
        if (f.tensor.ndim == 0)
            f.size = cap_; /* raw: the whole slot */
        return detail::make_view(f, static_cast<std::byte *>(f_.data), v);
    }

    Producer *owner_ = nullptr;
};

/* An acquired frame (Consumer::acquire). Read the payload in place through
 * data() or view<T>(); released by release() or the destructor. Move-only;
 * empty once released or moved from. */
class ReadFrame : public FrameInfo {
public:
    ReadFrame() noexcept = default;
    ReadFrame(ReadFrame &&o) noexcept : FrameInfo(o), owner_(std::exchange(o.owner_, nullptr)) {}
    ReadFrame &operator=(ReadFrame &&o) noexcept
    {
        if (this != &o) {
            release_in_destructor();
            FrameInfo::operator=(o);
            owner_ = std::exchange(o.owner_, nullptr);
        }
        return *this;
    }
    ReadFrame(const ReadFrame &) = delete;
    ReadFrame &operator=(const ReadFrame &) = delete;
    ~ReadFrame() { release_in_destructor(); }

    /* Whether this frame is still held. */
    explicit operator bool() const noexcept { return owner_ != nullptr; }

    /* The payload: size() bytes, read-only. */
    const_bytes data() const noexcept
    {
        ZINC_HPP_EXPECT(owner_, "ReadFrame::data() on an empty frame (released or moved from)");
        return owner_ ? const_bytes(static_cast<const std::byte *>(f_.data),
                                    static_cast<std::size_t>(f_.size))
                      : const_bytes();
    }

    /* A typed view from the descriptor: -22 if the frame's dtype is not T,
     * or the elements are not aligned for T. */
    template <class T>
    TensorView<const T> view() const
    {
        TensorView<const T> v;
        if (int r = view_raw(v); r != 0)
            detail::throw_error(r, "zinc::ReadFrame::view");
        return v;
    }
    template <class T>
    TensorView<const T> view(std::error_code &ec) const noexcept
    {
        TensorView<const T> v;
        detail::set_ec(ec, view_raw(v));
        return v;
    }

    /* Release: true if the frame was intact for the whole hold, false if
     * it was torn (overwritten meanwhile: discard what was computed from
     * it). Torn is an expected outcome for LOSSY/LATEST readers, hence a
     * result and not an exception; other failures (an empty frame) throw. */
    [[nodiscard]] inline bool release();
    /* ec = errc::torn when torn; returns whether the frame was intact. */
    inline bool release(std::error_code &ec) noexcept;

private:
    friend class Consumer;
    explicit ReadFrame(detail::uninit_t u) noexcept : FrameInfo(u) {}
    inline int release_raw() noexcept;
    inline void release_in_destructor() noexcept;
    template <class T>
    int view_raw(TensorView<const T> &v) const noexcept
    {
        ZINC_HPP_EXPECT(owner_, "ReadFrame::view() on an empty frame (released or moved from)");
        if (!owner_)
            return detail::fail(ZINC_EINVAL, "view: the frame is empty (released or moved "
                                             "from)");
        return detail::make_view(f_, static_cast<const std::byte *>(f_.data), v);
    }

    Consumer *owner_ = nullptr;
};

/* ---- Producer ---------------------------------------------------------- */

/* Ring geometry and options (zinc_ring_config). */
struct Config {
    std::uint32_t slot_count = 8;  /* power of two, 2..65536 */
    std::uint64_t slot_size = 0;   /* max payload bytes per frame, > 0 */
    std::uint32_t max_consumers = 0; /* 0 = 16; 1..256 */
    std::uint32_t flags = 0;       /* ZINC_RING_* */
    duration spin{0};              /* busy-wait before sleeping; 0 = default */
    duration demote_after{0};      /* demote a blocking EVERY consumer; 0 = never */

    Config() noexcept = default;
    Config(std::uint32_t slots, std::uint64_t slot_bytes) noexcept
        : slot_count(slots), slot_size(slot_bytes)
    {
    }
    zinc_ring_config to_c() const noexcept
    {
        zinc_ring_config c{};
        c.slot_count = slot_count;
        c.max_consumers = max_consumers;
        c.slot_size = slot_size;
        c.flags = flags;
        auto spin_ns = spin.count() < 0 ? 0 : spin.count();
        c.spin_ns = spin_ns > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(spin_ns);
        c.demote_after_ns =
            demote_after.count() < 0 ? 0 : static_cast<std::uint64_t>(demote_after.count());
        return c;
    }
    static Config from_c(const zinc_ring_config &c) noexcept
    {
        Config k(c.slot_count, c.slot_size);
        k.max_consumers = c.max_consumers;
        k.flags = c.flags;
        k.spin = duration(c.spin_ns);
        k.demote_after = duration(static_cast<std::int64_t>(c.demote_after_ns));
        return k;
    }
};

/* The writer of a ring (zinc_producer). Move-only; closes the ring in its
 * destructor (consumers get errc::producer_gone once they drained it). */
class Producer {
public:
    Producer() noexcept = default;
    Producer(Producer &&o) noexcept
        : p_(std::exchange(o.p_, nullptr)), claimed_(std::exchange(o.claimed_, false))
    {
        ZINC_HPP_EXPECT(!claimed_, "Producer moved while a WriteFrame is claimed");
    }
    Producer &operator=(Producer &&o) noexcept
    {
        if (this != &o) {
            ZINC_HPP_EXPECT(!o.claimed_, "Producer moved while a WriteFrame is claimed");
            close();
            p_ = std::exchange(o.p_, nullptr);
            claimed_ = std::exchange(o.claimed_, false);
        }
        return *this;
    }
    Producer(const Producer &) = delete;
    Producer &operator=(const Producer &) = delete;
    ~Producer() { close(); }

    /* Create ring `name`; a name whose producer is gone is replaced, a live
     * one is errc::exists. */
    [[nodiscard]] static Producer create(cstring_ref name, const Config &cfg)
    {
        Producer p;
        if (int r = p.create_raw(name, cfg.to_c()); r != 0)
            detail::throw_error(r, "zinc::Producer::create");
        return p;
    }
    [[nodiscard]] static Producer create(cstring_ref name, const Config &cfg,
                                         std::error_code &ec) noexcept
    {
        Producer p;
        detail::set_ec(ec, p.create_raw(name, cfg.to_c()));
        return p;
    }

    explicit operator bool() const noexcept { return p_ != nullptr; }

    /* The next slot, to write in place. Waits for EVERY consumers up to
     * `timeout` (errc::would_block at 0, errc::timed_out after). One claim
     * at a time: a second one before publish/abort is errc::invalid_argument. */
    [[nodiscard]] WriteFrame claim(duration timeout = forever)
    {
        WriteFrame w(detail::uninit_t{});
        if (int r = claim_raw(w, detail::to_ns(timeout)); r != 0)
            detail::throw_error(r, "zinc::Producer::claim");
        return w;
    }
    [[nodiscard]] WriteFrame claim(duration timeout, std::error_code &ec) noexcept
    {
        WriteFrame w(detail::uninit_t{});
        detail::set_ec(ec, claim_raw(w, detail::to_ns(timeout)));
        return w;
    }

    /* Announce the stream format, read by consumers at attach. */
    void set_stream(const Descriptor &d)
    {
        if (int r = set_stream_raw(d); r != 0)
            detail::throw_error(r, "zinc::Producer::set_stream");
    }
    void set_stream(const Descriptor &d, std::error_code &ec) noexcept
    {
        detail::set_ec(ec, set_stream_raw(d));
    }

    /* Random 64-bit id of this ring instance. */
    std::uint64_t generation() const noexcept
    {
        ZINC_HPP_EXPECT(p_, "Producer::generation() on an empty producer");
        return p_ ? zinc_producer_generation(p_) : 0;
    }
    bool claimed() const noexcept { return claimed_; }

    /* Serve this anonymous ring (Config::flags has ZINC_RING_ANONYMOUS) on a
     * Unix socket until close(): a path ("/run/cam0.sock") or "@name" (the
     * abstract namespace). Consumers of this user attach with
     * Consumer::connect(address). errc::exists if a live producer listens
     * there, errc::invalid_argument for a named ring, a second listen or a
     * bad address, errc::permission_denied for a path we may not create. */
    void listen(cstring_ref address)
    {
        if (int r = listen_raw(address); r != 0)
            detail::throw_error(r, "zinc::Producer::listen");
    }
    void listen(cstring_ref address, std::error_code &ec) noexcept
    {
        detail::set_ec(ec, listen_raw(address));
    }

    /* Stop serving before close(): no new consumer connects; attached ones
     * carry on, and listen() may be called again. errc::invalid_argument if
     * not listening. */
    void unlisten()
    {
        if (int r = unlisten_raw(); r != 0)
            detail::throw_error(r, "zinc::Producer::unlisten");
    }
    void unlisten(std::error_code &ec) noexcept { detail::set_ec(ec, unlisten_raw()); }

    /* A new descriptor of this anonymous ring (its own open file
     * description), for one consumer elsewhere: pass it on (fork,
     * SCM_RIGHTS) and attach there with Consumer::open_fd. Owned by the
     * caller. errc::invalid_argument for a named ring. */
    [[nodiscard]] unique_fd fd()
    {
        int r = fd_raw();
        if (r < 0)
            detail::throw_error(r, "zinc::Producer::fd");
        return unique_fd(r);
    }
    [[nodiscard]] unique_fd fd(std::error_code &ec) noexcept
    {
        int r = fd_raw();
        detail::set_ec(ec, r < 0 ? r : 0);
        return unique_fd(r < 0 ? -1 : r);
    }

    /* The page-aligned range holding every slot's payload, stable for the
     * producer's life (zinc_producer_mapping): register it once with
     * cudaHostRegister, ibv_reg_mr or mlock. Write frames through claim(). */
    bytes mapping() const noexcept
    {
        ZINC_HPP_EXPECT(p_, "Producer::mapping() on an empty producer");
        void *base = nullptr;
        std::size_t len = 0;
        if (zinc_producer_mapping(p_, &base, &len) != 0)
            return {};
        return {static_cast<std::byte *>(base), len};
    }

    /* Close now (what the destructor does); the producer is empty after. */
    void close() noexcept
    {
        ZINC_HPP_EXPECT(!claimed_, "Producer closed while a WriteFrame is claimed: publish or "
                                   "abort it first");
        zinc_producer_close(std::exchange(p_, nullptr));
        claimed_ = false;
    }
    zinc_producer *native_handle() const noexcept { return p_; }

private:
    friend class WriteFrame;
    int create_raw(cstring_ref name, const zinc_ring_config &c) noexcept
    {
        return detail::c_call(zinc_producer_create(name.c_str(), &c, &p_));
    }
    int claim_raw(WriteFrame &w, std::int64_t ns) noexcept
    {
        ZINC_HPP_EXPECT(p_, "Producer::claim() on an empty producer (moved from or closed)");
        int r = zinc_producer_claim(p_, &w.f_, ns);
        if (ZINC_HPP_UNLIKELY(r != 0)) {
            std::memset(&w.f_, 0, sizeof(w.f_));
            return detail::c_call(r);
        }
        w.owner_ = this;
        w.cap_ = w.f_.size;
        claimed_ = true;
        return 0;
    }
    int set_stream_raw(const Descriptor &d) noexcept
    {
        ZINC_HPP_EXPECT(p_, "Producer::set_stream() on an empty producer");
        return detail::c_call(zinc_producer_set_stream(p_, &d.raw()));
    }
    int listen_raw(cstring_ref address) noexcept
    {
        ZINC_HPP_EXPECT(p_, "Producer::listen() on an empty producer");
        return detail::c_call(zinc_producer_listen(p_, address.c_str()));
    }
    int unlisten_raw() noexcept
    {
        ZINC_HPP_EXPECT(p_, "Producer::unlisten() on an empty producer");
        return detail::c_call(zinc_producer_unlisten(p_));
    }
    int fd_raw() noexcept
    {
        ZINC_HPP_EXPECT(p_, "Producer::fd() on an empty producer");
        int r = zinc_producer_fd(p_);
        return r < 0 ? detail::c_call(r) : r;
    }

    zinc_producer *p_ = nullptr;
    bool claimed_ = false;
};

inline int WriteFrame::publish_raw() noexcept
{
    if (!owner_)
        return detail::fail(ZINC_EINVAL, "publish: the frame is empty (already published or "
                                         "aborted, or moved from)");
    int r = zinc_producer_publish(owner_->p_, &f_);
    if (ZINC_HPP_UNLIKELY(r != 0))
        return detail::c_call(r);
    owner_->claimed_ = false;
    owner_ = nullptr;
    return 0;
}

inline int WriteFrame::abort_raw() noexcept
{
    if (!owner_)
        return detail::fail(ZINC_EINVAL, "abort: the frame is empty (already published or "
                                         "aborted, or moved from)");
    int r = detail::c_call(zinc_producer_abort(owner_->p_, &f_));
    owner_->claimed_ = false;
    owner_ = nullptr;
    return r;
}

inline void WriteFrame::publish()
{
    if (int r = publish_raw(); r != 0)
        detail::throw_error(r, "zinc::WriteFrame::publish");
}

inline void WriteFrame::publish(std::error_code &ec) noexcept
{
    detail::set_ec(ec, publish_raw());
}

inline void WriteFrame::abort()
{
    if (int r = abort_raw(); r != 0)
        detail::throw_error(r, "zinc::WriteFrame::abort");
}

inline void WriteFrame::abort(std::error_code &ec) noexcept
{
    detail::set_ec(ec, abort_raw());
}

/* ---- Consumer ---------------------------------------------------------- */

/* A reader of a ring (zinc_consumer). Move-only (not while a frame is
 * held); detaches in its destructor. Range-for iterates frames until the
 * producer is gone. */
class Consumer {
public:
    class iterator;
    struct sentinel {
    };

    Consumer() noexcept = default;
    Consumer(Consumer &&o) noexcept
        : c_(std::exchange(o.c_, nullptr)), held_(std::exchange(o.held_, false)),
          unreported_torn_(std::exchange(o.unreported_torn_, 0))
    {
        ZINC_HPP_EXPECT(!held_, "Consumer moved while a ReadFrame is held");
    }
    Consumer &operator=(Consumer &&o) noexcept
    {
        if (this != &o) {
            ZINC_HPP_EXPECT(!o.held_, "Consumer moved while a ReadFrame is held");
            close();
            c_ = std::exchange(o.c_, nullptr);
            held_ = std::exchange(o.held_, false);
            unreported_torn_ = std::exchange(o.unreported_torn_, 0);
        }
        return *this;
    }
    Consumer(const Consumer &) = delete;
    Consumer &operator=(const Consumer &) = delete;
    ~Consumer() { close(); }

    /* Attach to ring `name` in `mode`. With `wait` > 0, retry (every 10 ms)
     * while the ring does not exist yet, is being created, or is a
     * leftover of a producer that is gone, for up to `wait`. */
    [[nodiscard]] static Consumer open(cstring_ref name, Mode mode = Mode::latest,
                                       duration wait = duration(0))
    {
        Consumer c;
        if (int r = c.open_raw(name, mode, wait); r != 0)
            detail::throw_error(r, "zinc::Consumer::open");
        return c;
    }
    [[nodiscard]] static Consumer open(cstring_ref name, Mode mode, std::error_code &ec) noexcept
    {
        return open(name, mode, duration(0), ec);
    }
    [[nodiscard]] static Consumer open(cstring_ref name, Mode mode, duration wait,
                                       std::error_code &ec) noexcept
    {
        Consumer c;
        detail::set_ec(ec, c.open_raw(name, mode, wait));
        return c;
    }

    /* Attach to the sealed anonymous ring served on `address` (a path, or
     * "@name") by a producer of this user (Producer::listen). With `wait` >
     * 0, retry (every 10 ms) while nobody listens there yet or its backlog
     * is full, for up to `wait`. errc::not_found: nobody listens;
     * errc::permission_denied: the peer is another user; errc::corrupted:
     * not a zinc listener, or a descriptor that is not a sealed ring;
     * errc::timed_out: the listener did not answer within 2 s. */
    [[nodiscard]] static Consumer connect(cstring_ref address, Mode mode = Mode::latest,
                                          duration wait = duration(0))
    {
        Consumer c;
        if (int r = c.connect_raw(address, mode, wait); r != 0)
            detail::throw_error(r, "zinc::Consumer::connect");
        return c;
    }
    [[nodiscard]] static Consumer connect(cstring_ref address, Mode mode,
                                          std::error_code &ec) noexcept
    {
        return connect(address, mode, duration(0), ec);
    }
    [[nodiscard]] static Consumer connect(cstring_ref address, Mode mode, duration wait,
                                          std::error_code &ec) noexcept
    {
        Consumer c;
        detail::set_ec(ec, c.connect_raw(address, mode, wait));
        return c;
    }

    /* Attach to the anonymous ring open on `fd` (from Producer::fd() in
     * another process, or zinc::ring_connect). The descriptor stays the
     * caller's: close it whenever you like. No uid is checked (whoever
     * handed it over vouched for it); the seals are (errc::corrupted). */
    [[nodiscard]] static Consumer open_fd(int fd, Mode mode = Mode::latest)
    {
        Consumer c;
        if (int r = c.open_fd_raw(fd, mode); r != 0)
            detail::throw_error(r, "zinc::Consumer::open_fd");
        return c;
    }
    [[nodiscard]] static Consumer open_fd(int fd, Mode mode, std::error_code &ec) noexcept
    {
        Consumer c;
        detail::set_ec(ec, c.open_fd_raw(fd, mode));
        return c;
    }

    explicit operator bool() const noexcept { return c_ != nullptr; }

    /* The next frame for this consumer's mode, waiting up to `timeout`:
     * errc::would_block at 0, errc::timed_out, errc::producer_gone when the
     * producer is gone and nothing is left, errc::invalid_argument while a
     * frame is already held, errc::corrupted. */
    [[nodiscard]] ReadFrame acquire(duration timeout = forever)
    {
        ReadFrame f(detail::uninit_t{});
        if (int r = acquire_raw(f, detail::to_ns(timeout)); r != 0)
            detail::throw_error(r, "zinc::Consumer::acquire");
        return f;
    }
    [[nodiscard]] ReadFrame acquire(duration timeout, std::error_code &ec) noexcept
    {
        ReadFrame f(detail::uninit_t{});
        detail::set_ec(ec, acquire_raw(f, detail::to_ns(timeout)));
        return f;
    }
    /* A frame if one is ready now, else an empty one; other failures throw. */
    [[nodiscard]] ReadFrame try_acquire()
    {
        ReadFrame f(detail::uninit_t{});
        int r = acquire_raw(f, 0);
        if (r != 0 && r != ZINC_EAGAIN)
            detail::throw_error(r, "zinc::Consumer::try_acquire");
        return f;
    }

    /* The stream descriptor the producer announced, if any. */
    std::optional<Descriptor> stream() const
    {
        std::error_code ec;
        std::optional<Descriptor> d = stream(ec);
        if (ec)
            detail::throw_error(ec.value(), "zinc::Consumer::stream");
        return d;
    }
    std::optional<Descriptor> stream(std::error_code &ec) const noexcept
    {
        ZINC_HPP_EXPECT(c_, "Consumer::stream() on an empty consumer");
        zinc_frame f{};
        int r = detail::c_call(zinc_consumer_stream(c_, &f));
        detail::set_ec(ec, r == ZINC_EAGAIN ? 0 : r);
        if (r != 0)
            return std::nullopt;
        return Descriptor(f);
    }

    /* Ring geometry as created. */
    Config config() const
    {
        zinc_ring_config c{};
        if (int r = config_raw(c); r != 0)
            detail::throw_error(r, "zinc::Consumer::config");
        return Config::from_c(c);
    }
    Config config(std::error_code &ec) const noexcept
    {
        zinc_ring_config c{};
        detail::set_ec(ec, config_raw(c));
        return Config::from_c(c);
    }
    std::uint64_t generation() const noexcept
    {
        ZINC_HPP_EXPECT(c_, "Consumer::generation() on an empty consumer");
        return c_ ? zinc_consumer_generation(c_) : 0;
    }
    /* The mode in force (LOSSY after an EVERY consumer was demoted). */
    Mode mode() const noexcept
    {
        ZINC_HPP_EXPECT(c_, "Consumer::mode() on an empty consumer");
        return static_cast<Mode>(c_ ? zinc_consumer_mode(c_) : ZINC_LATEST);
    }
    /* A descriptor for poll/epoll/select (zinc_consumer_fd), borrowed: the
     * consumer owns it and closes it in close(); never close or read it
     * yourself. Readable whenever acquire(0ns) would answer something
     * other than errc::would_block (a frame, the producer gone,
     * corruption); it stays readable until acquire has answered
     * would_block, so drain with acquire(0ns, ec) (or try_acquire) after
     * each readiness. Made at the first call (one sleeping helper thread
     * per consumer), the same one afterwards. Fails with the code of the
     * system (out of descriptors or memory). */
    int fd()
    {
        int r = fd_raw();
        if (r < 0)
            detail::throw_error(r, "zinc::Consumer::fd");
        return r;
    }
    /* -1 on failure. */
    int fd(std::error_code &ec) noexcept
    {
        int r = fd_raw();
        detail::set_ec(ec, r < 0 ? r : 0);
        return r < 0 ? -1 : r;
    }

    /* The page-aligned range holding every slot's payload, stable for the
     * consumer's life (zinc_consumer_mapping; handles of one ring in one
     * process share it): register it once with cudaHostRegister, ibv_reg_mr
     * or mlock. Read-only, and the producer writes it: read frames through
     * acquire(). */
    const_bytes mapping() const noexcept
    {
        ZINC_HPP_EXPECT(c_, "Consumer::mapping() on an empty consumer");
        void *base = nullptr;
        std::size_t len = 0;
        if (zinc_consumer_mapping(c_, &base, &len) != 0)
            return {};
        return {static_cast<const std::byte *>(base), len};
    }

    /* Whether a ReadFrame of this consumer is held. */
    bool held() const noexcept { return held_; }
    /* Frames released by a ReadFrame destructor (not by release()) that
     * turned out torn: nobody was told, so they are counted here. */
    std::uint64_t unreported_torn() const noexcept { return unreported_torn_; }

    /* Detach now (what the destructor does); the consumer is empty after. */
    void close() noexcept
    {
        ZINC_HPP_EXPECT(!held_, "Consumer closed while a ReadFrame is held: release it first");
        zinc_consumer_close(std::exchange(c_, nullptr));
        held_ = false;
    }
    zinc_consumer *native_handle() const noexcept { return c_; }

    /* for (zinc::ReadFrame &f : consumer): acquire(forever) per step; ends
     * when the producer is gone (errc::producer_gone), throws zinc::error
     * on other failures. A frame the body did not release is released when
     * the next one is requested, and if it was torn that throws
     * zinc::error(errc::torn): release in the body to handle torn frames
     * without leaving the loop. */
    inline iterator begin();
    sentinel end() noexcept { return {}; }

private:
    friend class ReadFrame;
    /* attach() until it succeeds, fails for good, or `wait` is over; the
     * codes `retry` accepts are tried again every 10 ms meanwhile. */
    template <class Attach, class Retry>
    static int attach_waiting(Attach attach, Retry retry, duration wait) noexcept
    {
        using clock = std::chrono::steady_clock;
        const clock::time_point start = wait > duration(0) ? clock::now() : clock::time_point();
        for (;;) {
            int r = attach();
            if (r == 0 || !retry(r) || wait <= duration(0) ||
                (wait != forever && clock::now() - start >= wait))
                return detail::c_call(r);
            const timespec step = {0, 10 * 1000 * 1000}; /* 10 ms */
            nanosleep(&step, nullptr);
        }
    }
    int open_raw(cstring_ref name, Mode mode, duration wait) noexcept
    {
        /* -2 not made yet, -11 being made, -32 its creator died making it
         * (the next producer replaces it). */
        return attach_waiting(
            [&] { return zinc_consumer_open(name.c_str(), static_cast<zinc_delivery>(mode), &c_); },
            [](int r) { return r == ZINC_ENOENT || r == ZINC_EAGAIN || r == ZINC_EPIPE; }, wait);
    }
    int connect_raw(cstring_ref address, Mode mode, duration wait) noexcept
    {
        /* -2 nobody listens yet, -11 the listener's backlog is full. */
        return attach_waiting(
            [&] {
                return zinc_consumer_connect(address.c_str(), static_cast<zinc_delivery>(mode),
                                             &c_);
            },
            [](int r) { return r == ZINC_ENOENT || r == ZINC_EAGAIN; }, wait);
    }
    int open_fd_raw(int fd, Mode mode) noexcept
    {
        return detail::c_call(zinc_consumer_open_fd(fd, static_cast<zinc_delivery>(mode), &c_));
    }
    int fd_raw() noexcept
    {
        ZINC_HPP_EXPECT(c_, "Consumer::fd() on an empty consumer (moved from or closed)");
        int r = zinc_consumer_fd(c_);
        return r < 0 ? detail::c_call(r) : r;
    }
    int acquire_raw(ReadFrame &f, std::int64_t ns) noexcept
    {
        ZINC_HPP_EXPECT(c_, "Consumer::acquire() on an empty consumer (moved from or closed)");
        int r = zinc_consumer_acquire(c_, &f.f_, ns);
        if (ZINC_HPP_UNLIKELY(r != 0)) {
            std::memset(&f.f_, 0, sizeof(f.f_)); /* may hold half a torn read */
            return detail::c_call(r);
        }
        f.owner_ = this;
        held_ = true;
        return 0;
    }
    int config_raw(zinc_ring_config &c) const noexcept
    {
        ZINC_HPP_EXPECT(c_, "Consumer::config() on an empty consumer");
        return detail::c_call(zinc_consumer_config(c_, &c));
    }

    zinc_consumer *c_ = nullptr;
    bool held_ = false;
    std::uint64_t unreported_torn_ = 0;
};

inline int ReadFrame::release_raw() noexcept
{
    if (!owner_)
        return detail::fail(ZINC_EINVAL, "release: the frame is empty (already released, or "
                                         "moved from)");
    int r = detail::c_call(zinc_consumer_release(owner_->c_, &f_));
    owner_->held_ = false;
    owner_ = nullptr;
    return r;
}

inline void ReadFrame::release_in_destructor() noexcept
{
    if (!owner_)
        return;
    Consumer *c = owner_;
    if (release_raw() == ZINC_EOVERFLOW)
        c->unreported_torn_++;
}

inline bool ReadFrame::release()
{
    int r = release_raw();
    if (r == ZINC_EOVERFLOW)
        return false;
    if (r != 0)
        detail::throw_error(r, "zinc::ReadFrame::release");
    return true;
}

inline bool ReadFrame::release(std::error_code &ec) noexcept
{
    int r = release_raw();
    detail::set_ec(ec, r);
    return r == 0;
}

class Consumer::iterator {
public:
    using iterator_category = std::input_iterator_tag;
    using value_type = ReadFrame;
    using difference_type = std::ptrdiff_t;
    using pointer = ReadFrame *;
    using reference = ReadFrame &;

    iterator() noexcept = default;
    explicit iterator(Consumer *c) : c_(c) { advance(); }
    iterator(iterator &&) noexcept = default;
    iterator &operator=(iterator &&) noexcept = default;
    iterator(const iterator &) = delete;
    iterator &operator=(const iterator &) = delete;

    ReadFrame &operator*() const noexcept { return f_; }
    ReadFrame *operator->() const noexcept { return &f_; }
    iterator &operator++()
    {
        advance();
        return *this;
    }
    friend bool operator==(const iterator &it, sentinel) noexcept { return it.c_ == nullptr; }
    friend bool operator!=(const iterator &it, sentinel s) noexcept { return !(it == s); }
    friend bool operator==(sentinel s, const iterator &it) noexcept { return it == s; }
    friend bool operator!=(sentinel s, const iterator &it) noexcept { return !(it == s); }

private:
    void advance()
    {
        if (f_) {
            int r = f_.release_raw();
            if (r == ZINC_EOVERFLOW) {
                detail::cpp_error = "a frame the loop body did not release was torn; release "
                                    "it in the body to handle torn frames in the loop";
                detail::throw_error(r, "zinc::Consumer::iterator");
            }
            if (r != 0)
                detail::throw_error(r, "zinc::Consumer::iterator");
        }
        int r = c_->acquire_raw(f_, -1);
        if (r == ZINC_EPIPE) {
            c_ = nullptr;
            return;
        }
        if (r != 0)
            detail::throw_error(r, "zinc::Consumer::iterator");
    }

    Consumer *c_ = nullptr;
    mutable ReadFrame f_;
};

inline Consumer::iterator Consumer::begin()
{
    return iterator(this);
}

/* ---- Waiting on several rings ------------------------------------------ */

namespace detail {

/* The C handle of what a wait_any list holds. */
inline zinc_consumer *consumer_handle(Consumer &c) noexcept
{
    return c.native_handle();
}
inline zinc_consumer *consumer_handle(Consumer *c) noexcept
{
    return c ? c->native_handle() : nullptr;
}
inline zinc_consumer *consumer_handle(std::reference_wrapper<Consumer> c) noexcept
{
    return c.get().native_handle();
}

inline constexpr std::size_t wait_any_max = 128; /* zinc_wait_any's limit */

template <class It>
int wait_any_raw(It first, std::size_t n, duration timeout) noexcept
{
    if (n > wait_any_max)
        return fail(ZINC_EINVAL, "wait_any: more than 128 consumers");
    zinc_consumer *hs[wait_any_max]; /* no memset: this is a hot path */
    for (std::size_t i = 0; i < n; i++, ++first) {
        hs[i] = consumer_handle(*first);
        ZINC_HPP_EXPECT(hs[i], "wait_any: an empty consumer (moved from or closed)");
    }
    int r = zinc_wait_any(hs, static_cast<std::uint32_t>(n), to_ns(timeout));
    return r < 0 ? c_call(r) : r;
}

template <class Range>
using wait_any_range =
    decltype(consumer_handle(*std::begin(std::declval<Range &>())), std::size(std::declval<Range &>()));

} // namespace detail

/* Wait until one of `cs` (1..128 consumers, of any rings) has something
 * for acquire — a frame, its producer gone, corruption — and return its
 * index in `cs` (zinc_wait_any). A consumer that holds a frame counts as
 * ready at once (its acquire would fail): release before waiting. When
 * several are ready, the one returned least recently comes first, so none
 * is starved. errc::would_block at 0ns with none ready, errc::timed_out,
 * errc::interrupted if a signal handler ran meanwhile (retry, or stop if
 * the handler asked for it), errc::invalid_argument for an empty or too
 * long list. None of the consumers may be used by another thread
 * meanwhile.
 *
 *   std::size_t i = zinc::wait_any({cam, lidar}, 100ms);
 *   std::size_t j = zinc::wait_any(consumers); // a std::vector<zinc::Consumer>
 *
 * Any range of Consumer, Consumer * or std::reference_wrapper<Consumer>
 * with std::size() works. The error_code forms return cs.size() on
 * failure. */
[[nodiscard]] inline std::size_t
wait_any(std::initializer_list<std::reference_wrapper<Consumer>> cs, duration timeout = forever)
{
    int r = detail::wait_any_raw(cs.begin(), cs.size(), timeout);
    if (r < 0)
        detail::throw_error(r, "zinc::wait_any");
    return static_cast<std::size_t>(r);
}
inline std::size_t wait_any(std::initializer_list<std::reference_wrapper<Consumer>> cs,
                            duration timeout, std::error_code &ec) noexcept
{
    int r = detail::wait_any_raw(cs.begin(), cs.size(), timeout);
    detail::set_ec(ec, r < 0 ? r : 0);
    return r < 0 ? cs.size() : static_cast<std::size_t>(r);
}
template <class Range, class = detail::wait_any_range<Range>>
[[nodiscard]] std::size_t wait_any(Range &&cs, duration timeout = forever)
{
    int r = detail::wait_any_raw(std::begin(cs), std::size(cs), timeout);
    if (r < 0)
        detail::throw_error(r, "zinc::wait_any");
    return static_cast<std::size_t>(r);
}
template <class Range, class = detail::wait_any_range<Range>>
std::size_t wait_any(Range &&cs, duration timeout, std::error_code &ec) noexcept
{
    int r = detail::wait_any_raw(std::begin(cs), std::size(cs), timeout);
    detail::set_ec(ec, r < 0 ? r : 0);
    return r < 0 ? static_cast<std::size_t>(std::size(cs)) : static_cast<std::size_t>(r);
}

/* ---- Regions ----------------------------------------------------------- */

/* zinc_create_ex options. */
struct RegionOptions {
    std::uint32_t layout_version = 1; /* 1: data at 64; 2: data at one page */
    bool replace_stale = false;       /* replace a name whose owner is gone */
    bool prefault = false;            /* populate the mapping */
    bool group_access = false;        /* mode 0660, for users who trust our uid
                                         (ZINC_TRUST_UID; "Owners" in zinc.h) */
};

/* A Zinc region (ZincHandle): capacity bytes of shared memory and a
 * notification counter. Move-only; closes in its destructor. */
class Region {
public:
    Region() noexcept = default;
    Region(Region &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    Region &operator=(Region &&o) noexcept
    {
        if (this != &o) {
            close();
            h_ = std::exchange(o.h_, nullptr);
        }
        return *this;
    }
    Region(const Region &) = delete;
    Region &operator=(const Region &) = delete;
    ~Region() { close(); }

    /* Create region `name` with `capacity` data bytes (a page multiple). */
    [[nodiscard]] static Region create(cstring_ref name, std::uintptr_t capacity,
                                       const RegionOptions &o = {})
    {
        Region g;
        if (int r = g.create_raw(name, capacity, o); r != 0)
            detail::throw_error(r, "zinc::Region::create");
        return g;
    }
    [[nodiscard]] static Region create(cstring_ref name, std::uintptr_t capacity,
                                       const RegionOptions &o, std::error_code &ec) noexcept
    {
        Region g;
        detail::set_ec(ec, g.create_raw(name, capacity, o));
        return g;
    }
    [[nodiscard]] static Region open(cstring_ref name)
    {
        Region g;
        if (int r = detail::c_call(zinc_open(name.c_str(), &g.h_)); r != 0)
            detail::throw_error(r, "zinc::Region::open");
        return g;
    }
    [[nodiscard]] static Region open(cstring_ref name, std::error_code &ec) noexcept
    {
        Region g;
        detail::set_ec(ec, detail::c_call(zinc_open(name.c_str(), &g.h_)));
        return g;
    }

    explicit operator bool() const noexcept { return h_ != nullptr; }

    /* The data area (capacity() bytes). */
    bytes data() const noexcept
    {
        ZINC_HPP_EXPECT(h_, "Region::data() on an empty region (moved from or closed)");
        return {reinterpret_cast<std::byte *>(zinc_ptr(h_)),
                static_cast<std::size_t>(zinc_capacity(h_))};
    }
    std::uintptr_t capacity() const noexcept { return zinc_capacity(h_); }
    std::uint32_t layout() const noexcept { return zinc_layout(h_); }
    zinc_region_info info() const
    {
        zinc_region_info i{};
        if (int r = detail::c_call(zinc_region_info_get(h_, &i)); r != 0)
            detail::throw_error(r, "zinc::Region::info");
        return i;
    }

    /* Wake every waiter, in any process. */
    void notify() noexcept
    {
        ZINC_HPP_EXPECT(h_, "Region::notify() on an empty region");
        zinc_notify(h_);
    }
    /* Wait for a notification: true when one came (consumed), false on
     * timeout. Millisecond resolution (rounded up). */
    bool wait(duration timeout = forever)
    {
        std::error_code ec;
        bool got = wait(timeout, ec);
        if (ec)
            detail::throw_error(ec.value(), "zinc::Region::wait");
        return got;
    }
    bool wait(duration timeout, std::error_code &ec) noexcept
    {
        ZINC_HPP_EXPECT(h_, "Region::wait() on an empty region");
        const std::uint64_t chunk = UINT32_MAX - 1; /* ms; UINT32_MAX is not special */
        bool always = timeout == forever;
        std::uint64_t ms = 0;
        if (!always && timeout.count() > 0)
            ms = static_cast<std::uint64_t>(
                std::chrono::ceil<std::chrono::milliseconds>(timeout).count());
        for (;;) {
            std::uint64_t step = always || ms > chunk ? chunk : ms;
            int r = detail::c_call(zinc_wait(h_, static_cast<std::uint32_t>(step)));
            if (r != ZINC_ETIMEDOUT || (!always && ms <= chunk)) {
                detail::set_ec(ec, r == ZINC_ETIMEDOUT ? 0 : r);
                return r == 0;
            }
            if (!always)
                ms -= chunk;
        }
    }
    /* Consume a pending notification: true if there was one. */
    bool try_wait() noexcept
    {
        ZINC_HPP_EXPECT(h_, "Region::try_wait() on an empty region");
        return zinc_try_wait(h_) == 0;
    }

    void close() noexcept { zinc_close(std::exchange(h_, nullptr)); }
    ZincHandle native_handle() const noexcept { return h_; }

private:
    int create_raw(cstring_ref name, std::uintptr_t capacity, const RegionOptions &o) noexcept
    {
        zinc_create_opts c{};
        c.layout_version = o.layout_version;
        c.flags = (o.replace_stale ? ZINC_CREATE_REPLACE_STALE : 0u) |
                  (o.prefault ? ZINC_CREATE_PREFAULT : 0u) |
                  (o.group_access ? ZINC_CREATE_GROUP_ACCESS : 0u);
        return detail::c_call(zinc_create_ex(name.c_str(), capacity, &c, &h_));
    }

    ZincHandle h_ = nullptr;
};

/* ---- Names and observability ------------------------------------------ */

/* Remove a region or ring name whatever its state (mappings stay valid). */
inline void unlink(cstring_ref name)
{
    if (int r = detail::c_call(zinc_unlink(name.c_str())); r != 0)
        detail::throw_error(r, "zinc::unlink");
}
inline void unlink(cstring_ref name, std::error_code &ec) noexcept
{
    detail::set_ec(ec, detail::c_call(zinc_unlink(name.c_str())));
}

/* Region header snapshot, without opening it. owner_uid is the object's
 * owner; foreign is 1 when that uid is not trusted here (another user, not
 * listed in ZINC_TRUST_UID): every attaching call refuses such an object. */
inline zinc_region_info inspect(cstring_ref name)
{
    zinc_region_info i{};
    if (int r = detail::c_call(zinc_inspect(name.c_str(), &i)); r != 0)
        detail::throw_error(r, "zinc::inspect");
    return i;
}
inline zinc_region_info inspect(cstring_ref name, std::error_code &ec) noexcept
{
    zinc_region_info i{};
    detail::set_ec(ec, detail::c_call(zinc_inspect(name.c_str(), &i)));
    return i;
}
/* The same for the object open on `fd` (an anonymous ring's descriptor,
 * e.g. from zinc::ring_connect); errc::corrupted if it is not a region. */
inline zinc_region_info inspect_fd(int fd)
{
    zinc_region_info i{};
    if (int r = detail::c_call(zinc_inspect_fd(fd, &i)); r != 0)
        detail::throw_error(r, "zinc::inspect_fd");
    return i;
}
inline zinc_region_info inspect_fd(int fd, std::error_code &ec) noexcept
{
    zinc_region_info i{};
    detail::set_ec(ec, detail::c_call(zinc_inspect_fd(fd, &i)));
    return i;
}

inline bool name_valid(cstring_ref name) noexcept
{
    return zinc_name_valid(name.c_str()) == 0;
}

/* The upstream Zinc C ABI version this library implements ((1 << 16) | 1). */
inline std::uint32_t version() noexcept
{
    return zinc_version();
}

/* The loaded library's own version, e.g. "0.1.0" (ZINC_VERSION_STRING is
 * the header's, which may differ). */
inline const char *version_string() noexcept
{
    return zinc_version_string();
}

/* Where a ring's producer stands (zinc_ring_stats.producer_state). */
enum class ProducerState : std::uint32_t {
    creating = ZINC_PRODUCER_CREATING, /* not yet open to consumers */
    open = ZINC_PRODUCER_OPEN,         /* publishing, or dead: see producer_alive */
    closed = ZINC_PRODUCER_CLOSED,     /* closed by its producer or a replacement */
};

/* A ring's counters and its consumer entries, read without attaching.
 * ring.owner_uid and ring.foreign say whose it is (see inspect). */
struct RingStats {
    zinc_ring_stats ring{};
    std::vector<zinc_consumer_stats> consumers;

    ProducerState producer_state() const noexcept
    {
        return static_cast<ProducerState>(ring.producer_state);
    }
};

namespace detail {
template <class Read>
RingStats read_stats(Read read, std::error_code &ec)
{
    RingStats s;
    s.consumers.resize(ZINC_RING_MAX_CONSUMERS);
    std::uint32_t n = 0;
    int r = c_call(read(&s.ring, s.consumers.data(), &n));
    set_ec(ec, r);
    s.consumers.resize(r != 0 ? 0 : n < ZINC_RING_MAX_CONSUMERS ? n : ZINC_RING_MAX_CONSUMERS);
    return s;
}
} // namespace detail

inline RingStats ring_stats(cstring_ref name, std::error_code &ec)
{
    return detail::read_stats(
        [&](zinc_ring_stats *rs, zinc_consumer_stats *cs, std::uint32_t *n) {
            return zinc_ring_stats_read(name.c_str(), rs, cs, ZINC_RING_MAX_CONSUMERS, n);
        },
        ec);
}
inline RingStats ring_stats(cstring_ref name)
{
    std::error_code ec;
    RingStats s = ring_stats(name, ec);
    if (ec)
        detail::throw_error(ec.value(), "zinc::ring_stats");
    return s;
}

/* The counters of the anonymous ring open on `fd` (from ring_connect or
 * Producer::fd): errc::corrupted if it is not a sealed ring. */
inline RingStats ring_stats_fd(int fd, std::error_code &ec)
{
    return detail::read_stats(
        [&](zinc_ring_stats *rs, zinc_consumer_stats *cs, std::uint32_t *n) {
            return zinc_ring_stats_read_fd(fd, rs, cs, ZINC_RING_MAX_CONSUMERS, n);
        },
        ec);
}
inline RingStats ring_stats_fd(int fd)
{
    std::error_code ec;
    RingStats s = ring_stats_fd(fd, ec);
    if (ec)
        detail::throw_error(ec.value(), "zinc::ring_stats_fd");
    return s;
}

/* The checked descriptor of the anonymous ring served on `address`,
 * without attaching (zinc_ring_connect): for ring_stats_fd / inspect_fd,
 * or to hand to a sandboxed consumer. Errors as Consumer::connect. */
[[nodiscard]] inline unique_fd ring_connect(cstring_ref address)
{
    int r = zinc_ring_connect(address.c_str());
    if (r < 0)
        detail::throw_error(detail::c_call(r), "zinc::ring_connect");
    return unique_fd(r);
}
[[nodiscard]] inline unique_fd ring_connect(cstring_ref address, std::error_code &ec) noexcept
{
    int r = zinc_ring_connect(address.c_str());
    detail::set_ec(ec, r < 0 ? detail::c_call(r) : 0);
    return unique_fd(r < 0 ? -1 : r);
}

/* The directory where listening producers register their addresses (one
 * symbolic link each, for `zinc ls`): $ZINC_RUNTIME_DIR, else
 * $XDG_RUNTIME_DIR/zinc, else /tmp/zinc-<euid>. */
inline std::string socket_registry(std::error_code &ec)
{
    char buf[4096];
    int r = detail::c_call(zinc_socket_registry(buf, sizeof(buf)));
    detail::set_ec(ec, r);
    return r != 0 ? std::string() : std::string(buf);
}
inline std::string socket_registry()
{
    std::error_code ec;
    std::string s = socket_registry(ec);
    if (ec)
        detail::throw_error(ec.value(), "zinc::socket_registry");
    return s;
}

/* Remove ring `name` if its producer is gone: errc::exists if it is alive,
 * errc::not_found, errc::corrupted (not a ring). */
inline void remove_stale(cstring_ref name)
{
    if (int r = detail::c_call(zinc_ring_remove_stale(name.c_str())); r != 0)
        detail::throw_error(r, "zinc::remove_stale");
}
inline void remove_stale(cstring_ref name, std::error_code &ec) noexcept
{
    detail::set_ec(ec, detail::c_call(zinc_ring_remove_stale(name.c_str())));
}

/* Bytes of shared memory a ring with this configuration needs (0: invalid). */
inline std::uint64_t ring_size(const Config &cfg) noexcept
{
    zinc_ring_config c = cfg.to_c();
    return zinc_ring_size(&c);
}

} // namespace zinc

template <>
struct std::is_error_code_enum<zinc::errc> : std::true_type {
};

#endif /* ZINC_ZINC_HPP */
