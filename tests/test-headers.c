/* SPDX-License-Identifier: MIT */
/*
 * Each public header compiles alone as C11 and as C++17 (the generated
 * units from test-headers-tu.c.in; a failure there fails the build), and
 * both languages see the same ABI: the same sizes, alignments, offsets and
 * constants, and the same function symbols.
 */
#include <criterion/criterion.h>

#include <stddef.h>
#include <stdint.h>

#include <zinc/ring.h>
#include <zinc/zinc.h>

typedef void (*ht_fn)(void);

#define UNIT(id)                                      \
    size_t ht_##id##_layout(const uint64_t **out);    \
    size_t ht_##id##_functions(const ht_fn **out);
UNIT(zinc_h_c)
UNIT(zinc_h_cpp)
UNIT(ring_h_c)
UNIT(ring_h_cpp)

static void same_layout(size_t (*c)(const uint64_t **), size_t (*cpp)(const uint64_t **),
                        const char *header)
{
    const uint64_t *a, *b;
    size_t na = c(&a), nb = cpp(&b);
    cr_assert_eq(na, nb, "%s: C and C++ units list different items", header);
    cr_assert_gt(na, 10);
    for (size_t i = 0; i < na; i++)
        cr_assert_eq(a[i], b[i], "%s: item %zu is %llu in C, %llu in C++", header, i,
                     (unsigned long long)a[i], (unsigned long long)b[i]);
}

static void same_functions(size_t (*c)(const ht_fn **), size_t (*cpp)(const ht_fn **),
                           const char *header)
{
    const ht_fn *a, *b;
    size_t na = c(&a), nb = cpp(&b);
    cr_assert_eq(na, nb, "%s", header);
    for (size_t i = 0; i < na; i++) {
        cr_assert_not_null(a[i]);
        cr_assert_eq(a[i], b[i], "%s: function %zu differs between C and C++", header, i);
    }
}

Test(headers, zinc_h_same_in_c_and_cpp)
{
    same_layout(ht_zinc_h_c_layout, ht_zinc_h_cpp_layout, "zinc.h");
    same_functions(ht_zinc_h_c_functions, ht_zinc_h_cpp_functions, "zinc.h");
}

Test(headers, ring_h_same_in_c_and_cpp)
{
    same_layout(ht_ring_h_c_layout, ht_ring_h_cpp_layout, "ring.h");
    same_functions(ht_ring_h_c_functions, ht_ring_h_cpp_functions, "ring.h");
}

Test(headers, units_name_the_library_functions)
{
    const ht_fn *f;
    size_t n = ht_zinc_h_cpp_functions(&f);
    cr_assert_geq(n, 18);
    cr_assert_eq(f[0], (ht_fn)zinc_create);
    cr_assert_eq(f[8], (ht_fn)zinc_version);
    cr_assert_eq(f[17], (ht_fn)zinc_last_error);
}

/* The ABI other languages code against (docs/region.md): pinned. */
Test(headers, zinc_h_abi_pinned)
{
    if (sizeof(void *) != 8)
        cr_skip_test("offsets pinned for 64-bit targets");
    cr_assert_eq(sizeof(zinc_create_opts), 56);
    cr_assert_eq(offsetof(zinc_create_opts, flags), 4);
    cr_assert_eq(offsetof(zinc_create_opts, reserved), 8);
    cr_assert_eq(sizeof(zinc_region_info), 96);
    cr_assert_eq(offsetof(zinc_region_info, flags), 2);
    cr_assert_eq(offsetof(zinc_region_info, notify_seq), 4);
    cr_assert_eq(offsetof(zinc_region_info, capacity), 8);
    cr_assert_eq(offsetof(zinc_region_info, data_offset), 16);
    cr_assert_eq(offsetof(zinc_region_info, file_size), 24);
    cr_assert_eq(offsetof(zinc_region_info, ref_count), 32);
    cr_assert_eq(offsetof(zinc_region_info, owner_pid), 36);
    cr_assert_eq(offsetof(zinc_region_info, owner_alive), 40);
    cr_assert_eq(offsetof(zinc_region_info, is_ring), 44);
    cr_assert_eq(offsetof(zinc_region_info, created_at), 48);
    cr_assert_eq(offsetof(zinc_region_info, name_hash), 56);
    cr_assert_eq(offsetof(zinc_region_info, owner_uid), 64);
    cr_assert_eq(offsetof(zinc_region_info, foreign), 68);
    cr_assert_eq(offsetof(zinc_region_info, reserved), 72);
    /* the upstream return codes are literal numbers */
    cr_assert_eq(ZINC_EPERM, -1);
    cr_assert_eq(ZINC_ENOENT, -2);
    cr_assert_eq(ZINC_EAGAIN, -11);
    cr_assert_eq(ZINC_EEXIST, -17);
    cr_assert_eq(ZINC_EINVAL, -22);
    cr_assert_eq(ZINC_EBADMSG, -74);
    cr_assert_eq(ZINC_ETIMEDOUT, -110);
    cr_assert_eq(ZINC_NAME_MAX, 250);
    cr_assert_eq(ZINC_HEADER_SIZE, 64);
}
