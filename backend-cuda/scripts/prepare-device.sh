#!/usr/bin/env bash
# Packs what a machine with an NVIDIA GPU but without Java or Maven needs to check and time the CUDA backend, into
# one ignored folder (default .device/ at the repository root, about 46 MB): a jlink'ed JDK 25 runtime, every
# module's jar with its runtime dependencies, the CUDA backend's test classes with their test dependencies, and the
# JUnit console launcher.
# Run from the repository root on the build machine (it needs nvcc to package the PTX):
#   backend-cuda/scripts/prepare-device.sh [DIR]
# Then copy DIR to the repository root of the GPU machine and run there:
#   backend-cuda/scripts/device-run.sh [DIR]
set -euo pipefail
dir=${1:-.device}
jdk=${JDK25:-${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}}
[ -x "$jdk/bin/jlink" ] || { echo "prepare-device: no JDK 25 at $jdk (set JDK25)" >&2; exit 1; }
[ -f backend-cuda/pom.xml ] || { echo "prepare-device: run from the repository root" >&2; exit 1; }
export JAVA_HOME=$jdk

# keep DIR out of git: .gitignore names .device/; another folder goes to the repository's exclude file
git check-ignore -q "$dir/" 2>/dev/null || echo "/$dir/" >> "$(git rev-parse --git-path info/exclude)"
rm -rf "$dir" && mkdir -p "$dir/lib"

# 1. build the modules, then copy the CUDA backend's runtime and test dependencies (the API, the conformance kit
#    and their libraries); of the CPU backend (a second backend for the cross-backend state cases) only its jar,
#    since it needs nothing but the API. Not examples: it brings ONNX Runtime and the tokenizers, over 70 MB.
./mvnw -q -pl backend-cpu,backend-cuda -am package -DskipTests
#    The model module (the kit's tiny_lm runner) brings DJL's tokenizers with JNA (20 MB); running a model from
#    its weights does not tokenize, so they stay behind.
./mvnw -q -pl backend-cuda -am package dependency:copy-dependencies -DskipTests -DincludeScope=test \
  -DexcludeGroupIds=ai.djl,ai.djl.huggingface,net.java.dev.jna -DoutputDirectory="$PWD/$dir/lib" >/dev/null
for m in api backend-cpu conformance-tests backend-cuda; do
  find "$m/target" -maxdepth 1 -name '*.jar' ! -name '*sources.jar' ! -name '*javadoc.jar' -exec cp {} "$dir/lib/" \;
done
[ -n "$(ls "$dir"/lib/based4j-backend-cuda-*.jar 2>/dev/null)" ] || { echo "prepare-device: no CUDA backend jar" >&2; exit 1; }
unzip -l "$dir"/lib/based4j-backend-cuda-*.jar | grep -q 'ptx/sm_90/linear_attention.ptx' \
  || { echo "prepare-device: the CUDA jar has no PTX (build with nvcc present)" >&2; exit 1; }

# 2. the CUDA backend's test classes as a jar, and the JUnit console launcher of the same JUnit release
"$jdk/bin/jar" cf "$dir/lib/based4j-backend-cuda-tests.jar" -C backend-cuda/target/test-classes .
junit=$(sed -n 's:.*<junit.version>5\.\([0-9.]*\)</junit.version>.*:1.\1:p' pom.xml | head -1)
./mvnw -q dependency:copy -Dartifact="org.junit.platform:junit-platform-console-standalone:$junit" \
  -DoutputDirectory="$PWD/$dir/junit" >/dev/null
mv "$dir"/junit/junit-platform-console-standalone-*.jar "$dir/junit-console.jar" && rmdir "$dir/junit"
# the console launcher brings its own JUnit: drop the separate JUnit jars so one copy of each class remains
rm -f "$dir"/lib/junit-*.jar "$dir"/lib/opentest4j-*.jar "$dir"/lib/apiguardian-*.jar

# 3. a Java runtime with the modules the jars use (java.xml for the JUnit reports, java.sql for Jackson,
#    java.desktop for AssertJ's bean introspection), stored uncompressed and packed as one xz archive: about a
#    third of the size of jlink's own compression, so the folder stays small to copy
rm -rf "$dir/jre.tmp"
"$jdk/bin/jlink" --add-modules java.base,java.logging,java.management,jdk.unsupported,jdk.incubator.vector,java.xml,java.sql,java.desktop \
  --strip-debug --no-header-files --no-man-pages --compress=zip-0 --output "$dir/jre.tmp/jre" 2>/dev/null
tar -C "$dir/jre.tmp" -cf - jre | xz -9 -T0 > "$dir/jre.tar.xz"
rm -rf "$dir/jre.tmp"

du -sh "$dir" | awk '{print "prepare-device: " $1 " in " $2}'
