// Must NOT compile: an algorithm front door is called with rescan::cpu, but no backend is included
// (<rescan/rescan.hpp> would bring the CPU one). The compiler must stop at rescan's static_assert,
// which says what to include; ctest checks for that message (test/CMakeLists.txt).
#include <rescan/scan/scan.hpp>

int main() {
  float x[4] = {1, 2, 3, 4};
  rescan::inclusive_scan(rescan::cpu, rescan::make_view(x, 4), rescan::make_view(x, 4));
}
