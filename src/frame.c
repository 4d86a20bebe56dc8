/* SPDX-License-Identifier: MIT */
/* Descriptor helpers: fill and check tensor descriptions so that producers
 * never hand-compute strides and readers never trust shared bytes. */
#include <string.h>

#include <zinc/ring.h>

#include "private.h"

__extension__ typedef __int128 i128;

static bool dtype_ok(const zinc_tensor *t)
{
    if (t->dtype_lanes == 0 || t->dtype_bits == 0 || t->dtype_bits % 8 != 0)
        return false;
    switch (t->dtype_code) {
    case ZINC_DTYPE_INT:
    case ZINC_DTYPE_UINT:
    case ZINC_DTYPE_FLOAT:
    case ZINC_DTYPE_BFLOAT:
        return true;
    default:
        return false;
    }
}

/* Lowest and highest byte touched by the tensor, relative to offset 0,
 * with overflow checks. Returns false on overflow or a bad description. */
static bool tensor_extent(const zinc_tensor *t, uint64_t *lo_out, uint64_t *hi_out)
{
    if (t->ndim > ZINC_TENSOR_MAX_DIMS || !dtype_ok(t))
        return false;
    uint64_t elem = (uint64_t)(t->dtype_bits / 8) * t->dtype_lanes;
    /* lo/hi as signed 128-bit-safe arithmetic: keep them within int64 by
     * bounding every product. */
    i128 lo = (i128)t->offset, hi = (i128)t->offset;
    for (uint32_t d = 0; d < t->ndim; d++) {
        if (t->shape[d] == 0) {
            *lo_out = t->offset;
            *hi_out = t->offset; /* empty tensor touches nothing */
            return true;
        }
        if (t->shape[d] > ((uint64_t)1 << 48))
            return false;
        i128 span = (i128)t->strides[d] * (i128)(t->shape[d] - 1);
        if (span < 0)
            lo += span;
        else
            hi += span;
    }
    hi += elem;
    if (lo < 0 || hi > (i128)UINT64_MAX)
        return false;
    *lo_out = (uint64_t)lo;
    *hi_out = (uint64_t)hi;
    return true;
}

ZINC_API int zinc_tensor_check(const zinc_tensor *t, uint64_t size)
{
    if (!t)
        return ZINC_EINVAL;
    if (t->ndim == 0)
        return ZINC_OK; /* raw bytes: nothing to check */
    uint64_t lo, hi;
    if (!tensor_extent(t, &lo, &hi))
        return zinc__fail(ZINC_EINVAL, "tensor: bad dtype (code %u bits %u lanes %u), ndim %u, "
                          "or shape/strides overflow",
                          t->dtype_code, t->dtype_bits, t->dtype_lanes, t->ndim);
    if (hi > size)
        return zinc__fail(ZINC_EINVAL,
                          "tensor: elements reach byte %llu but the frame has %llu bytes",
                          (unsigned long long)hi, (unsigned long long)size);
    (void)lo;
    return ZINC_OK;
}

ZINC_API uint64_t zinc_tensor_span(const zinc_tensor *t)
{
    uint64_t lo, hi;
    if (!t || t->ndim == 0 || !tensor_extent(t, &lo, &hi))
        return 0;
    return hi;
}

static void set_u8(zinc_tensor *t)
{
    memset(t, 0, sizeof(*t));
    t->dtype_code = ZINC_DTYPE_UINT;
    t->dtype_bits = 8;
    t->dtype_lanes = 1;
}

ZINC_API int zinc_frame_set_image(zinc_frame *f, uint32_t fourcc, uint32_t width, uint32_t height)
{
    if (!f || width == 0 || height == 0)
        return zinc__fail(ZINC_EINVAL, "set_image: NULL frame or zero size");
    zinc_tensor t;
    set_u8(&t);
    uint64_t w = width, h = height, size;
    switch (fourcc) {
    case ZINC_FOURCC_GREY:
        t.ndim = 2;
        t.shape[0] = h; t.shape[1] = w;
        t.strides[0] = (int64_t)w; t.strides[1] = 1;
        size = w * h;
        break;
    case ZINC_FOURCC_RGB24:
    case ZINC_FOURCC_RGBA32: {
        uint64_t c = fourcc == ZINC_FOURCC_RGB24 ? 3 : 4;
        t.ndim = 3;
        t.shape[0] = h; t.shape[1] = w; t.shape[2] = c;
        t.strides[0] = (int64_t)(w * c); t.strides[1] = (int64_t)c; t.strides[2] = 1;
        size = w * h * c;
        break;
    }
    case ZINC_FOURCC_NV12:
        if (width % 2 || height % 2)
            return zinc__fail(ZINC_EINVAL, "set_image: NV12 needs even width and height");
        /* Y plane (h rows) then interleaved UV (h/2 rows), as one 2-D array. */
        t.ndim = 2;
        t.shape[0] = h + h / 2; t.shape[1] = w;
        t.strides[0] = (int64_t)w; t.strides[1] = 1;
        size = w * (h + h / 2);
        break;
    default:
        return zinc__fail(ZINC_EINVAL, "set_image: unsupported fourcc 0x%08x", fourcc);
    }
    if (size > f->size)
        return zinc__fail(ZINC_EMSGSIZE, "set_image: %ux%u needs %llu bytes, slot has %llu",
                          width, height, (unsigned long long)size,
                          (unsigned long long)f->size);
    f->tensor = t;
    f->fourcc = fourcc;
    f->size = size;
    return ZINC_OK;
}

ZINC_API int zinc_frame_set_points(zinc_frame *f, uint64_t n, uint32_t k)
{
    if (!f || k == 0 || k > 64 || n > ((uint64_t)1 << 40))
        return zinc__fail(ZINC_EINVAL, "set_points: NULL frame, k outside 1..64 or n too large");
    uint64_t size = n * k * 4;
    if (size > f->size)
        return zinc__fail(ZINC_EMSGSIZE, "set_points: %llu x %u floats need %llu bytes, slot "
                          "has %llu",
                          (unsigned long long)n, k, (unsigned long long)size,
                          (unsigned long long)f->size);
    zinc_tensor t;
    memset(&t, 0, sizeof(t));
    t.dtype_code = ZINC_DTYPE_FLOAT;
    t.dtype_bits = 32;
    t.dtype_lanes = 1;
    t.ndim = 2;
    t.shape[0] = n; t.shape[1] = k;
    t.strides[0] = (int64_t)k * 4; t.strides[1] = 4;
    f->tensor = t;
    f->fourcc = ZINC_FOURCC_PC32F;
    f->size = size;
    return ZINC_OK;
}
