#!/usr/bin/env bash
# Measures every performance target of docs/performance.md in one run, so that each based4j figure can be read as a
# ratio to an anchor taken on the same machine minutes apart: the C anchors (benchmarks/c: read bandwidth, triad,
# the hand-written linear-attention decode), the JMH machine and anchors groups (FMA peak, kernels, the 360M-shaped
# decode, the same decode with bf16, f16 and int8 weights), PyTorch at the same shapes (torch_compare.py, when /usr/bin/python3 has torch), `based4j demo` cold and
# warm, and `based4j bench --json` at the stack targets.
#
#   benchmarks/run-targets.sh [--out DIR] [--max-load 1.0] [--no-torch] [--no-jmh]
#
# Needs gcc with OpenMP, a JDK 25 (JAVA_HOME or /usr/lib/jvm) and the benchmarks jar and command line built:
#   ./mvnw -pl benchmarks,examples -am package -DskipTests
# Run it on a quiet machine: every step records the load average next to its output (OUT/load.txt), and with
# --max-load each JMH group waits for the load to fall below it. Takes about 20 minutes on 2 cores.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="target-run"
max_load=""
torch=1
jmh=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || { echo "run-targets: --out: expected a folder" >&2; exit 2; }; out="$2"; shift 2 ;;
    --max-load) [ $# -ge 2 ] || { echo "run-targets: --max-load: expected a load average" >&2; exit 2; }
      max_load="$2"; shift 2
      [[ "$max_load" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "run-targets: --max-load: expected a load average such as 1.0, got '$max_load'" >&2; exit 2; } ;;
    --no-torch) torch=0; shift ;;
    --no-jmh) jmh=0; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "run-targets: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out="$(cd "$out" && pwd)"
log() { echo "$1 $(date -u +%FT%TZ) load $(cat /proc/loadavg)" >>"$out/load.txt"; echo "run-targets: $1"; }

{ echo "date $(date -u +%FT%TZ)"; uname -srm; nproc; grep -m1 'model name' /proc/cpuinfo || true
  grep -o -m1 -w 'avx512f\|avx2' /proc/cpuinfo | head -1 || true; free -g | head -2; } >"$out/machine.txt"

log "C anchors"
cc="${CC:-gcc}"
"$cc" -O3 -march=native -ffp-contract=fast -fopenmp -o "$out/decode_anchor" "$root/benchmarks/c/decode_anchor.c" -lm
"$cc" -O3 -march=native -fopenmp -o "$out/bandwidth_anchor" "$root/benchmarks/c/bandwidth_anchor.c"
{ "$out/bandwidth_anchor" 1024 1; "$out/bandwidth_anchor" 1024 2; } | tee "$out/anchor-bandwidth.txt"
for layout in 153 273; do
  for batch in 1 8; do
    for threads in 1 2; do
      "$out/decode_anchor" "$batch" "$threads" "$layout" | grep '^decode'
    done
  done
done | tee "$out/anchor-decode.txt"
"$out/decode_anchor" 1 1 153 | grep '^fma' | tee -a "$out/anchor-decode.txt"

if [ "$jmh" = 1 ]; then
  log "JMH machine, anchors and formats"
  "$root/benchmarks/run-jmh.sh" --out "$out/jmh" ${max_load:+--max-load "$max_load"} \
    --anchor "$out/bandwidth_anchor" machine anchors formats
fi

if [ "$torch" = 1 ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  log "PyTorch"
  jmh_files=()
  [ -d "$out/jmh" ] && jmh_files=("$out"/jmh/anchor-*.json)
  /usr/bin/python3 "$root/benchmarks/torch_compare.py" --json "$out/torch.json" \
    ${jmh_files[0]:+--jmh "${jmh_files[@]}"} | tee "$out/torch.txt"
else
  echo "run-targets: PyTorch left out (--no-torch, or /usr/bin/python3 has no torch)" | tee "$out/torch.txt"
fi

log "demo cold and warm"
"$root/based4j" demo --backend cpu >"$out/demo.txt" 2>&1
BASED4J_AOT=0 "$root/based4j" demo --backend cpu --no-warm-up >"$out/demo-no-cache-no-warm-up.txt" 2>&1
"$root/based4j" demo --backend cpu --decode-tokens 2000 >"$out/demo-2000.txt" 2>&1

log "bench"
"$root/based4j" bench --backend cpu --no-progress --contexts 2048,16384 --batches 1,8 \
  --json "$out/bench-cpu.json" >"$out/bench-cpu.txt" 2>&1
log "end"
echo "run-targets: results in $out"
