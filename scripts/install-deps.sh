# shellcheck shell=bash
# Sourced by scripts/demo.sh and scripts/test.sh (not a command of its own): installs the Debian
# packages rescan needs, only those missing. Uses sudo only when not run as root.

rescan_debian_packages=(
  build-essential     # g++, make
  cmake               # >= 3.25 (Debian 12 has 3.25.1)
  libeigen3-dev       # CPU backend
  doctest-dev         # tests
  libbenchmark-dev    # microbenchmarks
  nlohmann-json3-dev  # examples (configs, reports)
  python3             # bench/report.py (the ratio table)
  zlib1g-dev          # examples (gzipped data sets)
  dataset-fashion-mnist  # the Vim example's images (gzipped IDX files)
)

rescan_install_deps() {
  local missing=() package
  for package in "${rescan_debian_packages[@]}"; do
    if ! dpkg -s "$package" 2>/dev/null | grep -q '^Status: install ok installed$'; then
      missing+=("$package")
    fi
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi

  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null; then
      echo "rescan: missing packages: ${missing[*]}; run as root or install sudo" >&2
      return 1
    fi
    sudo=(sudo)
  fi
  echo "rescan: installing ${missing[*]}"
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# Parallel build and test jobs: RESCAN_JOBS, else every core.
rescan_jobs() {
  echo "${RESCAN_JOBS:-$(nproc)}"
}
