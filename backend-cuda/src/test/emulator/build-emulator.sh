#!/usr/bin/env bash
# Builds the CPU stand-in for libcuda.so.1 (test double) from emulator.cpp and the backend's .cu sources compiled
# as C++:   build-emulator.sh KERNEL_SOURCE_DIR OUTPUT_LIBRARY
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$1 out=$2
mkdir -p "$(dirname "$out")"
obj=$(dirname "$out")/obj
mkdir -p "$obj"
flags=(-std=c++17 -O2 -fPIC -DB4J_EMULATOR -U_FORTIFY_SOURCE -Wall -Wno-unknown-pragmas -Wno-unused-function
       -I"$here" -I"$src")
stale=0
[ -f "$out" ] || stale=1
for dep in "$here"/*.cpp "$here"/*.h "$src"/*.cu "$src"/*.cuh "$0"; do
  [ -f "$out" ] && [ "$dep" -nt "$out" ] && stale=1
done
if [ "$stale" = 0 ]; then echo "build-emulator: $out is up to date"; exit 0; fi
pids=()
for cu in "$src"/*.cu; do
  g++ "${flags[@]}" -x c++ -c "$cu" -o "$obj/$(basename "$cu" .cu).o" & pids+=($!)
done
g++ "${flags[@]}" -c "$here/emulator.cpp" -o "$obj/emulator.o" & pids+=($!)
for pid in "${pids[@]}"; do wait "$pid"; done
g++ -shared -o "$out" "$obj"/*.o
echo "build-emulator: $out"
