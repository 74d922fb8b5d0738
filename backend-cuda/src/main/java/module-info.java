/**
 * The based4j CUDA backend: kernels for NVIDIA GPUs in CUDA C, launched through the CUDA driver API, which is
 * called with the JDK's foreign-function API. Found through {@link java.util.ServiceLoader} as the provider named
 * {@code cuda}. Needs native access: {@code --enable-native-access=dev.based4j.cuda} (or {@code ALL-UNNAMED} on the
 * class path).
 */
module dev.based4j.cuda {
    requires transitive dev.based4j.api;

    // the provider, the settings and the device details (CudaEngine.CudaInfo); device, driver and kernels stay inside
    exports dev.based4j.cuda;

    provides dev.based4j.spi.BackendProvider with dev.based4j.cuda.CudaBackendProvider;
}
