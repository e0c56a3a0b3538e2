// rescan version. CMake reads the project version from these three lines.
#pragma once

#define RESCAN_VERSION_MAJOR 0
#define RESCAN_VERSION_MINOR 1
#define RESCAN_VERSION_PATCH 0

// Single integer for comparisons: 10000 * major + 100 * minor + patch.
#define RESCAN_VERSION (RESCAN_VERSION_MAJOR * 10000 + RESCAN_VERSION_MINOR * 100 + RESCAN_VERSION_PATCH)

// "major.minor.patch", e.g. for logs and benchmark reports.
#define RESCAN_VERSION_STRINGIFY_(x) #x
#define RESCAN_VERSION_STRINGIFY(x) RESCAN_VERSION_STRINGIFY_(x)
#define RESCAN_VERSION_STRING                                                                   \
  RESCAN_VERSION_STRINGIFY(RESCAN_VERSION_MAJOR) "." RESCAN_VERSION_STRINGIFY(RESCAN_VERSION_MINOR) "." \
      RESCAN_VERSION_STRINGIFY(RESCAN_VERSION_PATCH)
