// rescan's CPU microbenchmarks. Run with --benchmark_format=json for machine-readable output;
// bench/report.py turns that JSON into the ratio table of docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <rescan/rescan.hpp>

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("rescan_version", RESCAN_VERSION_STRING);
  benchmark::AddCustomContext("rescan_simd", rescan::detail::simd_instruction_set());
  benchmark::AddCustomContext("rescan_threads", std::to_string(rescan::detail::team_of(rescan::cpu).threads));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
