#!/usr/bin/env bash
# Compiles every CUDA source of the backend to PTX for each target architecture and packages it as a
# class-path resource, dev/based4j/cuda/ptx/sm_XY/<name>.ptx. Each PTX file is then assembled by ptxas for
# its architecture with warnings as errors, so a kernel that does not build for a target fails the build.
# Called by the Maven profile that is active when nvcc exists (see backend-cuda/pom.xml):
#   compile-kernels.sh NVCC SOURCE_DIR OUTPUT_DIR LOG_DIR ARCH...
set -euo pipefail
nvcc=$1 src=$2 out=$3 logs=$4
shift 4
ptxas="$(dirname "$nvcc")/ptxas"
version=$("$nvcc" --version | sed -n 's/.*release \([0-9][0-9.]*\).*/\1/p')
archs="$*"
mkdir -p "$logs"
# up to date: every PTX newer than every source and than this script
stale=0
for arch in "$@"; do
  for cu in "$src"/*.cu; do
    ptx="$out/sm_$arch/$(basename "$cu" .cu).ptx"
    [ -f "$ptx" ] || { stale=1; continue; }
    for dep in "$src"/*.cu "$src"/*.cuh "$0"; do
      [ "$dep" -nt "$ptx" ] && stale=1
    done
  done
done
if [ "$stale" = 0 ] && [ -f "$out/ptx.properties" ]; then
  echo "compile-kernels: PTX for sm_${archs// /, sm_} is up to date"
  exit 0
fi
pids=()
for arch in "$@"; do
  mkdir -p "$out/sm_$arch"
  for cu in "$src"/*.cu; do
    name=$(basename "$cu" .cu)
    (
      "$nvcc" -ptx -std=c++17 -O3 -arch="compute_$arch" --Werror all-warnings -I"$src" \
        -o "$out/sm_$arch/$name.ptx" "$cu"
      # ptxas report (registers, shared memory, spills) kept for reading; warnings fail the build
      "$ptxas" -arch="sm_$arch" -O3 -v -Werror -o /dev/null "$out/sm_$arch/$name.ptx" \
        > "$logs/$name.sm_$arch.ptxas.txt" 2>&1 || { cat "$logs/$name.sm_$arch.ptxas.txt" >&2; exit 1; }
    ) &
    pids+=($!)
  done
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
[ "$status" = 0 ] || { echo "compile-kernels: a CUDA kernel failed to compile (see above)" >&2; exit 1; }
printf 'nvcc=%s\narchitectures=%s\n' "$version" "$archs" > "$out/ptx.properties"
echo "compile-kernels: PTX for sm_${archs// /, sm_} by nvcc $version in $out"
