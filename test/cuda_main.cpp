// The doctest runner of rescan_cuda_tests (test/cuda/*.cu hold the test cases). Where no CUDA device
// is visible it prints why and returns 77, which ctest reports as "Skipped" (SKIP_RETURN_CODE).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>

namespace {

constexpr int skip_return_code = 77;

// Options that only print (list tests, help, version) need no device.
bool only_prints(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    if (std::strncmp(arg, "--list", 6) == 0 || std::strncmp(arg, "-l", 2) == 0 || std::strcmp(arg, "--help") == 0 ||
        std::strcmp(arg, "-h") == 0 || std::strcmp(arg, "-?") == 0 || std::strcmp(arg, "--version") == 0 ||
        std::strcmp(arg, "-v") == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (!only_prints(argc, argv)) {
    int devices = 0;
    const cudaError_t status = cudaGetDeviceCount(&devices);
    if (status == cudaErrorNoDevice || status == cudaErrorInsufficientDriver || status == cudaErrorStubLibrary ||
        (status == cudaSuccess && devices == 0)) {
      std::printf("no CUDA device visible: skipping GPU tests (%s)\n",
                  status == cudaSuccess ? "0 devices" : cudaGetErrorString(status));
      return skip_return_code;
    }
    if (status != cudaSuccess) {
      std::printf("cudaGetDeviceCount failed: %s\n", cudaGetErrorString(status));
      return 1;
    }
  }
  doctest::Context context(argc, argv);
  return context.run();
}
