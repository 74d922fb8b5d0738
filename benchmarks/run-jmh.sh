#!/usr/bin/env bash
# Runs the JMH benchmarks of docs/performance.md in groups, each written to OUT/<group>.json with the load average
# before and after it in OUT/load.txt. Measurements on a loaded machine are meaningless: with --max-load L a group
# waits (up to --wait seconds) until the 1-minute load average is below L before it starts.
#
#   benchmarks/run-jmh.sh [--out DIR] [--max-load 2.5] [--wait 1800] [--backend cpu] [--jar FILE]
#                         [--anchor FILE] [-i N] [-wi N] [-f N] [GROUP ...]
#
#   --backend NAME  cpu (default), opencl, onnx or cuda (all in benchmarks.jar); one that cannot run here (cuda
#                   without a driver) is skipped with the reason, exit status 0
#   -i N            measurement iterations per benchmark, 1..1000 (default: 3; 5 for the 360M-shaped stacks)
#   -wi N           warm-up iterations per benchmark, 0..1000 (default: 2; 6 for the 360M-shaped stacks)
#   -f N            forks (fresh JVMs) per benchmark, 1..100 (default: 1)
#   --anchor FILE   the compiled benchmarks/c/bandwidth_anchor.c, run before and after the formats group
#
# Groups: machine linear-prefill linear-decode window full-attention fused plumbing stack (default: all), and
# anchors: only the shapes docs/performance.md states targets for (a few minutes), and formats: the 360M-shaped
# decode with its matrices in f32, bf16, f16 and int8, between two runs of the C read/triad anchor (OUT/anchor.txt).
# Every benchmark waits for the backend (Backend.synchronize) at the end of each invocation, so device timings
# are of finished kernels. Quick check of another backend: benchmarks/run-jmh.sh --backend opencl -i 1 -wi 1 -f 1 fused
# Build first: ./mvnw -pl benchmarks -am package -DskipTests   (JAVA_HOME = a JDK 25)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="$root/benchmarks/target/benchmarks.jar"
out="jmh-results"
max_load=""
wait_s=1800
backend="cpu"
anchor=""
iterations=""
warmups=""
forks=""
groups=()

usage_error() {  # message
  echo "run-jmh: $1 (see benchmarks/run-jmh.sh --help)" >&2
  exit 2
}

need_value() {  # the remaining arguments: refuses an option without a value
  [ $# -ge 2 ] || usage_error "$1: expected a value"
}

count() {  # option, value, lowest, highest: refuses what is not a whole number in range
  if ! [[ "$2" =~ ^[0-9]+$ ]] || [ "${#2}" -gt 6 ] || [ "$2" -lt "$3" ] || [ "$2" -gt "$4" ]; then
    usage_error "$1: expected a whole number in $3..$4, got '$2'"
  fi
  printf '%d' "$((10#$2))"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --out) need_value "$@"; out="$2"; shift 2 ;;
    --max-load) need_value "$@"; max_load="$2"; shift 2
      [[ "$max_load" =~ ^[0-9]+(\.[0-9]+)?$ ]] || usage_error "--max-load: expected a load average such as 1.5, got '$max_load'" ;;
    --wait) need_value "$@"; wait_s="$(count --wait "$2" 0 86400)" || exit 2; shift 2 ;;
    --backend) need_value "$@"; backend="$2"; shift 2
      [[ "$backend" =~ ^[A-Za-z0-9._-]+$ ]] || usage_error "--backend: expected a backend name such as cpu or opencl, got '$backend'" ;;
    --jar) need_value "$@"; jar="$2"; shift 2 ;;
    --anchor) need_value "$@"; anchor="$2"; shift 2
      [ -x "$anchor" ] || usage_error "--anchor: expected the compiled bandwidth_anchor, got '$anchor' (not an executable file)" ;;
    -i) need_value "$@"; iterations="$(count -i "$2" 1 1000)" || exit 2; shift 2 ;;
    -wi) need_value "$@"; warmups="$(count -wi "$2" 0 1000)" || exit 2; shift 2 ;;
    -f) need_value "$@"; forks="$(count -f "$2" 1 100)" || exit 2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) usage_error "unknown option '$1'" ;;
    *) groups+=("$1"); shift ;;
  esac
done
[ ${#groups[@]} -gt 0 ] || groups=(machine linear-prefill linear-decode window full-attention fused plumbing stack)
for g in "${groups[@]}"; do
  case "$g" in
    machine|anchors|linear-prefill|linear-decode|window|full-attention|fused|plumbing|stack|formats) ;;
    *) usage_error "unknown group '$g'" ;;
  esac
done
[ -f "$jar" ] || { echo "run-jmh: $jar is missing; build it first (see the header)" >&2; exit 2; }
java_major() {  # feature version of the java binary $1, or 0
  "$1" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}' \
    | awk -F. '{print ($1 == "1") ? $2 : $1}' || echo 0
}
java=""
for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/*; do
  if [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && [ "$(java_major "$candidate/bin/java")" -ge 25 ] 2>/dev/null; then
    java="$candidate/bin/java"; break
  fi
done
[ -n "$java" ] || { echo "run-jmh: needs a JDK 25 or newer (JAVA_HOME or /usr/lib/jvm)" >&2; exit 2; }
# a backend that cannot run here is skipped with its reason (cuda without a driver); an unknown name is an error
check_file="$(mktemp)"
set +e
"$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "$jar" \
  dev.based4j.benchmarks.BackendCheck "$backend" >"$check_file" 2>&1
status=$?
set -e
check="$(grep -v '^WARNING' "$check_file" || true)"
rm -f "$check_file"
case "$status" in
  0) echo "run-jmh: $check" ;;
  3) echo "run-jmh: skipped: $check"; exit 0 ;;
  *) echo "run-jmh: $check" >&2; exit 2 ;;
esac
mkdir -p "$out"
# -i/-wi/-f replace the defaults of every group
short=(-f "${forks:-1}" -wi "${warmups:-2}" -i "${iterations:-3}" -w 1s -r 2s)
# the 360M-shaped stacks run 27 layers of code that the JIT keeps improving for ~15 s: a short warm-up under-reports
long=(-f "${forks:-1}" -wi "${warmups:-6}" -i "${iterations:-5}" -w 3s -r 3s)
timing=("${short[@]}")

load1() { cut -d' ' -f1 /proc/loadavg; }

wait_quiet() {
  [ -n "$max_load" ] || return 0
  local start=$SECONDS
  while awk -v l="$(load1)" -v m="$max_load" 'BEGIN { exit !(l >= m) }'; do
    if [ $((SECONDS - start)) -ge "$wait_s" ]; then
      echo "run-jmh: load $(load1) still >= $max_load after ${wait_s}s; measuring anyway (recorded)" >&2
      return 0
    fi
    sleep 15
  done
}

run() {  # group, then JMH arguments
  local group="$1"; shift
  wait_quiet
  echo "$group start $(date -u +%FT%TZ) load $(cat /proc/loadavg)" >>"$out/load.txt"
  "$java" -jar "$jar" "$@" "${timing[@]}" -p backend="$backend" -rf json -rff "$out/$group.json" \
    | tee "$out/$group.txt" | grep -E '^(Benchmark|[A-Za-z0-9]+Benchmark\.)' | grep -v ':tokens\|:gbyte' || true
  echo "$group end   $(date -u +%FT%TZ) load $(cat /proc/loadavg)" >>"$out/load.txt"
}

anchor_run() {  # the C read and triad bandwidth with 1 thread and 2, appended to OUT/anchor.txt
  [ -n "$anchor" ] || return 0
  { echo "anchor $(date -u +%FT%TZ) load $(cat /proc/loadavg)"; "$anchor" 512 1; "$anchor" 512 2; } >>"$out/anchor.txt"
}

for g in "${groups[@]}"; do
  case "$g" in
    machine) run machine 'PeakFmaBenchmark|TriadBenchmark' ;;
    anchors)
      run anchor-chunked 'LinearAttentionPrefillBenchmark' -p algorithm=CHUNKED -p batch=1 -p seq=8192 -p chunk=32,64 \
        -p threads=2
      run anchor-quadratic 'LinearAttentionPrefillBenchmark' -p algorithm=QUADRATIC -p batch=1 -p seq=2048 -p threads=2
      run anchor-decode 'LinearAttentionDecodeBenchmark' -p batch=1,8 -p threads=1,2
      run anchor-window 'SlidingWindowPrefillBenchmark' -p batch=1 -p seq=2048 -p threads=2
      run anchor-attention 'FullAttentionDecodeBenchmark' -p batch=1 -p context=1024,4096,16384,32768 -p threads=2
      timing=("${long[@]}")
      run anchor-stack 'Stack360mDecodeBenchmark' -p batch=1 -p threads=2
      timing=("${short[@]}") ;;
    linear-prefill)
      run linear-chunked 'LinearAttentionPrefillBenchmark' -p algorithm=CHUNKED -p batch=1,8 -p seq=512,2048,8192 \
        -p chunk=32,64 -p threads=2
      run linear-quadratic 'LinearAttentionPrefillBenchmark' -p algorithm=QUADRATIC -p batch=1,8 -p seq=512,2048 \
        -p threads=2 ;;
    linear-decode) run linear-decode 'LinearAttentionDecodeBenchmark' -p batch=1,8 -p threads=1,2 ;;
    window)
      run window-prefill 'SlidingWindowPrefillBenchmark' -p batch=1,8 -p seq=512,2048,8192 -p threads=2
      run window-decode 'SlidingWindowDecodeBenchmark' -p batch=1,8 -p threads=1,2 ;;
    full-attention)
      run full-attention 'FullAttentionDecodeBenchmark' -p batch=1,8 -p context=1024,4096,16384 -p threads=2
      run full-attention-32k 'FullAttentionDecodeBenchmark' -p batch=1 -p context=32768 -p threads=2 ;;
    fused) run fused 'FusedPrefillBenchmark|FusedDecodeBenchmark' -p batch=1,8 -p seq=2048 -p threads=2 ;;
    plumbing) run plumbing 'MatmulBenchmark|BaseConvBenchmark|PlumbingBenchmark' -p threads=2 ;;
    formats)
      wait_quiet
      anchor_run
      timing=("${long[@]}")
      run stack-formats 'Stack360mDecodeBenchmark' -p batch=1 -p threads=2 -p weights=f32,bf16,f16,int8
      timing=("${short[@]}")
      anchor_run ;;
    stack)
      timing=("${long[@]}")
      run stack-decode 'Stack360mDecodeBenchmark' -p batch=1,8 -p threads=1,2
      timing=("${short[@]}")
      run stack-prefill 'Stack360mPrefillBenchmark' -p seq=512 -p threads=2 ;;
  esac
done
echo "run-jmh: results in $out (JSON per group, load.txt)"
