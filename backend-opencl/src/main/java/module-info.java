/**
 * The OpenCL backend of based4j: every kernel of the BASED surface in OpenCL C, driven through LWJGL 3.4 with
 * its FFM memory backend. Runs on any OpenCL 1.2+ device (PoCL on the CPU in CI); F64 where the device has
 * {@code cl_khr_fp64}.
 *
 * <p>On the module path, LWJGL and this module need native access: run with
 * {@code --enable-native-access=org.lwjgl,dev.based4j.opencl} (on the class path
 * {@code --enable-native-access=ALL-UNNAMED}). This module calls libc's {@code setenv} once, before OpenCL is loaded,
 * to keep PoCL's signal handlers out of the JVM; without native access it does not load OpenCL, and says so.
 */
module dev.based4j.opencl {
    requires transitive dev.based4j.api;
    requires org.lwjgl;
    requires org.lwjgl.opencl;
    // the platform's liblwjgl; every natives-<platform> jar declares this same module name
    requires org.lwjgl.natives;

    exports dev.based4j.opencl;

    provides dev.based4j.spi.BackendProvider with dev.based4j.opencl.OpenClBackendProvider;
}
