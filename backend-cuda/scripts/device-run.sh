#!/usr/bin/env bash
# Checks and times the CUDA backend on a machine with an NVIDIA GPU, in one command that finishes in under 8
# minutes. The machine needs the NVIDIA driver and Python with PyTorch (for the anchor), not Java or Maven: run
# prepare-device.sh on a build machine first and copy its folder (default .device/) to the repository root here.
#   backend-cuda/scripts/device-run.sh [DIR]
# Steps, each under its own time limit so that a hang cannot eat the rest:
#   1. the GPU, the driver and every backend's probe (as `based4j info` prints it)
#   2. the conformance kit and the golden cases on `cuda`, the backend's own kernel and engine tests (f32 and f64
#      against the float64 reference, device-side state backups), the probe, settings and PTX tests
#   3. the same kernel tests once more with the kernels compiled by NVRTC (the toolkit's, or PyTorch's) at run time
#      instead of the packaged PTX
#   4. CudaTimings: copy bandwidth, f32 matmul, prefill B=8 H=16 N=8192 f=16 dv=64, decode at batch 1/64/256,
#      window and fused layers, the 360M-shape stack
#   5. the same math in PyTorch (scripts/torch_reference.py) and the table of ratios
# Results go to $OUT when it is set, else ./device-out: run.log, junit/*.xml, cuda-timings.properties,
# performance-table.md.
set -uo pipefail
dir=${1:-.device}
out=${OUT:-$PWD/device-out}
mkdir -p "$out/junit"
log="$out/run.log"
# the runtime travels as an xz archive (see prepare-device.sh): unpack it once per machine
jre=${TMPDIR:-/tmp}/based4j-device-jre
if [ ! -x "$jre/jre/bin/java" ]; then
  mkdir -p "$jre" && tar -C "$jre" -xJf "$dir/jre.tar.xz" 2>/dev/null \
    || python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$dir/jre.tar.xz" "$jre"
fi
java="$jre/jre/bin/java"
flags=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED)
begin=$(date +%s)
say() { printf '\n== %s (t=%ds)\n' "$*" $(( $(date +%s) - begin )) | tee -a "$log"; }
[ -x "$java" ] || { echo "device-run: no Java runtime at $java: run prepare-device.sh on a build machine and copy its $dir here" | tee -a "$log"; exit 1; }

say "GPU and driver"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv 2>&1 | tee -a "$log"
timeout 45 "$java" "${flags[@]}" -cp "$dir/lib/*" dev.based4j.cuda.bench.CudaTimings - probe 2>&1 | tee -a "$log"

# NVRTC for the backend's run-time compilation path: the CUDA toolkit's, else the one PyTorch's wheels carry
nvrtc=$(ls /usr/local/cuda/lib64/libnvrtc.so.[0-9]* 2>/dev/null | head -1)
[ -n "$nvrtc" ] || nvrtc=$(python3 -c 'import glob, os, nvidia
print((sorted(p for d in nvidia.__path__ for p in glob.glob(os.path.join(d, "*", "lib", "libnvrtc.so.*[0-9]"))) + [""])[0])' 2>/dev/null)
[ -n "$nvrtc" ] && export BASED4J_CUDA_NVRTC_LIBRARY="$nvrtc"
echo "NVRTC: ${nvrtc:-not found}" | tee -a "$log"

tests=(--select-class dev.based4j.cuda.CudaConformanceTest --select-class dev.based4j.cuda.CudaKernelsTest
       --select-class dev.based4j.cuda.CudaEngineTest --select-class dev.based4j.cuda.CudaProbeTest
       --select-class dev.based4j.cuda.ProbeDeadlineTest --select-class dev.based4j.cuda.device.KernelImagesTest
       --select-class dev.based4j.cuda.CudaErrorsTest)
say "conformance kit, golden cases and kernel tests on cuda (packaged PTX)"
junit=(-cp "$dir/junit-console.jar:$dir/lib/*" org.junit.platform.console.ConsoleLauncher execute --disable-banner)
timeout 165 "$java" "${flags[@]}" -Xmx16g -Dbased4j.cuda.ptxExpected=nvcc "${junit[@]}" \
   --details=summary --details-theme=ascii \
  --reports-dir "$out/junit" "${tests[@]}" 2>&1 | tail -n 60 | tee -a "$log"
mv "$out/junit/TEST-junit-jupiter.xml" "$out/junit/TEST-ptx.xml" 2>/dev/null

if [ -n "$nvrtc" ]; then
  say "kernel tests with NVRTC-compiled kernels"
  BASED4J_CUDA_KERNELS=nvrtc timeout 75 "$java" "${flags[@]}" -Xmx8g "${junit[@]}" --details=summary --details-theme=ascii \
    --reports-dir "$out/junit" --select-class dev.based4j.cuda.CudaKernelsTest 2>&1 | tail -n 25 | tee -a "$log"
  mv "$out/junit/TEST-junit-jupiter.xml" "$out/junit/TEST-nvrtc.xml" 2>/dev/null
fi
rm -f "$out"/junit/TEST-junit-vintage.xml "$out"/junit/TEST-junit-platform-suite.xml

say "timings (CUDA events)"
timeout 120 "$java" "${flags[@]}" -Xmx24g -cp "$dir/lib/*" dev.based4j.cuda.bench.CudaTimings \
  "$out/cuda-timings.properties" 2>&1 | tee -a "$log"

say "the same math in PyTorch, and the ratios"
PYTHONUNBUFFERED=1 timeout 60 python3 backend-cuda/scripts/torch_reference.py "$out/cuda-timings.properties" \
  "$out/performance-table.md" 2>&1 | tee -a "$log"

say "done"
