# Warning flags for rescan's own targets (tests, benchmarks, header check). Consumers of
# rescan::rescan get none of these.
#
#   rescan_target_warnings(<target>)
function(rescan_target_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE "$<$<COMPILE_LANGUAGE:CXX>:-Wall;-Wextra>")
  endif()
  if(CMAKE_CUDA_COMPILER_ID STREQUAL "NVIDIA")
    # Eigen 3.4 marks explicitly defaulted functions __host__ __device__; nvcc 12+ reports that as
    # warning 20012 (16 times) in every .cu file that instantiates an Eigen dense object.
    target_compile_options(${target} PRIVATE "$<$<COMPILE_LANGUAGE:CUDA>:--diag-suppress=20012>")
  endif()
endfunction()

# -O3 -march=native for rescan's own tests and benchmarks when RESCAN_NATIVE is on: they run on the
# machine that built them, so they exercise the widest SIMD path it has (AVX-512 here). The sanitizer
# preset turns it off, so the portable SSE2 path is tested too.
#
#   rescan_native_flags(<target>)
function(rescan_native_flags target)
  if(NOT RESCAN_NATIVE)
    return()
  endif()
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE "$<$<COMPILE_LANGUAGE:CXX>:-O3;-march=native>")
  endif()
  if(CMAKE_CUDA_COMPILER_ID STREQUAL "NVIDIA" AND CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE "$<$<COMPILE_LANGUAGE:CUDA>:-O3;-Xcompiler=-O3,-march=native>")
  endif()
endfunction()
