package dev.based4j.opencl.runtime;

/** Something that owns an OpenCL buffer ({@code cl_mem}) a kernel can take as an argument. */
public interface ClMemory {
    /** @return the {@code cl_mem} handle */
    long memory();
}
