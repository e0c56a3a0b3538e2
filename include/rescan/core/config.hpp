// Compiler glue shared by every header: host/device annotations, index type, debug checks.
#pragma once

#include <cstddef>

#if defined(__CUDACC__)
#define RESCAN_HOST_DEVICE __host__ __device__
#else
#define RESCAN_HOST_DEVICE
#endif

// Keeps a hot loop out of its caller, so that its loop-carried values get registers of their own.
#if defined(__GNUC__) || defined(__clang__)
#define RESCAN_NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define RESCAN_NOINLINE __declspec(noinline)
#else
#define RESCAN_NOINLINE
#endif

// Inlines a small step into the hot loop that calls it (a lambda GCC otherwise called from the
// unrolled loop of the selective scan's recurrence, once a position).
#if defined(__GNUC__) || defined(__clang__)
#define RESCAN_ALWAYS_INLINE __attribute__((always_inline))
#else
#define RESCAN_ALWAYS_INLINE
#endif

// RESCAN_UNROLL(n) before a loop: unroll it n times, where the compiler reads GCC's pragma (GCC and
// Clang compiling C++). nvcc's front end, which also reads the host code of .cu files, does not know
// the pragma and warns: there the loop is left as it is (the CPU kernels' speed is not at stake in
// a .cu file).
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__)
#define RESCAN_PRAGMA(text) _Pragma(#text)
#define RESCAN_UNROLL(n) RESCAN_PRAGMA(GCC unroll n)
#else
#define RESCAN_UNROLL(n)
#endif

// Bounds checks on view element access: on in debug builds (no NDEBUG), or when the user
// defines RESCAN_BOUNDS_CHECK=1. Device code never checks (no exceptions there).
#if !defined(RESCAN_BOUNDS_CHECK)
#if defined(NDEBUG)
#define RESCAN_BOUNDS_CHECK 0
#else
#define RESCAN_BOUNDS_CHECK 1
#endif
#endif

namespace rescan {

// Signed, so that strides may be negative (a reversed sequence is a view, not a copy).
using index_t = std::ptrdiff_t;

namespace detail {
template <class...>
inline constexpr bool always_false = false;

template <class T>
struct identity_type {
  using type = T;
};
// Keeps a parameter out of template argument deduction (std::type_identity_t before C++20).
template <class T>
using non_deduced = typename identity_type<T>::type;
}  // namespace detail

}  // namespace rescan
