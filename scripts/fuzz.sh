#!/usr/bin/env bash
# Fuzzes the examples' file parsers: configures and builds the "fuzz" preset (clang, libFuzzer,
# AddressSanitizer, UBSan; installs clang and its fuzzer runtime when missing), writes small seed
# corpora (a valid IDX file, gzipped and not, and a valid safetensors file with every dtype), then
# runs each target for a bounded time.
#   scripts/fuzz.sh [seconds per target, default 30]
# Exits non-zero on any finding; the input that triggered it is kept in build/fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/install-deps.sh

seconds=${1:-30}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/fuzz.sh [seconds per target, a positive integer; default 30]" >&2
  exit 2
fi

rescan_debian_packages+=(clang libclang-rt-14-dev)
rescan_install_deps
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(rescan_jobs)}"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

build=build/fuzz
corpus=$build/corpus
mkdir -p "$corpus/rescan_fuzz_idx" "$corpus/rescan_fuzz_safetensors" "$build/artifacts"

# Seeds: a 2x3x4 IDX array (raw and gzipped) and 1-D labels; a safetensors file with F32, F64, F16
# and BF16 tensors, a scalar, an empty tensor and metadata.
python3 - "$corpus" <<'PYTHON'
import gzip, json, struct, sys
corpus = sys.argv[1]
def idx(dims, payload):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(payload)
images = idx([2, 3, 4], range(24))
labels = idx([5], [9, 0, 0, 3, 1])
for name, data in {"images.idx": images, "labels.idx": labels,
                   "images.idx.gz": gzip.compress(images, mtime=0), "labels.idx.gz": gzip.compress(labels, mtime=0)}.items():
    open(f"{corpus}/rescan_fuzz_idx/{name}", "wb").write(data)
buffer = struct.pack("<6f", 1, -2, 3.5, 0, 1e-30, float("inf"))
buffer += struct.pack("<2d", 0.1, -1e300)
buffer += struct.pack("<3H", 0x3C00, 0x7BFF, 0x0001)
buffer += struct.pack("<2H", 0x3F80, 0xBF00)
buffer += struct.pack("<f", 42)
header = {"__metadata__": {"format": "pt"},
          "w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
          "d": {"dtype": "F64", "shape": [2], "data_offsets": [24, 40]},
          "h": {"dtype": "F16", "shape": [3, 1], "data_offsets": [40, 46]},
          "b": {"dtype": "BF16", "shape": [2], "data_offsets": [46, 50]},
          "s": {"dtype": "F32", "shape": [], "data_offsets": [50, 54]},
          "e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [54, 54]}}
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
open(f"{corpus}/rescan_fuzz_safetensors/model.safetensors", "wb").write(struct.pack("<Q", len(text)) + text + buffer)
PYTHON

declare -A extra_flags=(
  [rescan_fuzz_idx]="-max_len=4096"
  [rescan_fuzz_safetensors]="-max_len=4096 -dict=examples/common/fuzz/safetensors.dict"
)
failed=()
for target in rescan_fuzz_idx rescan_fuzz_safetensors; do
  echo "==== rescan: fuzzing $target for $seconds s"
  # shellcheck disable=SC2086  # the extra flags are words on purpose
  if ! UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      "$build/examples/common/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$build/artifacts/$target-" ${extra_flags[$target]} \
      "$corpus/$target"; then
    failed+=("$target")
  fi
done
if ((${#failed[@]} > 0)); then
  echo "rescan: fuzzing found problems in: ${failed[*]} (inputs in $build/artifacts/)" >&2
  exit 1
fi
echo "==== rescan: fuzzing found nothing in $seconds s per target"
