/**
 * The based4j CUDA backend: kernels for NVIDIA GPUs in CUDA C, launched through the CUDA driver API, which is
 * called with the JDK's foreign-function API. Needs native access: {@code --enable-native-access=dev.based4j.cuda}
 * (or {@code ALL-UNNAMED} on the class path).
 */
module dev.based4j.cuda {
    requires dev.based4j.api;

    provides dev.based4j.spi.BackendProvider with dev.based4j.cuda.CudaBackendProvider;
}
