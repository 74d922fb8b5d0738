package dev.based4j.opencl;

import java.util.Locale;

/**
 * One OpenCL device as {@code based4j info} lists it.
 *
 * @param platformIndex index of its platform in {@code clGetPlatformIDs} order
 * @param deviceIndex index within the platform in {@code clGetDeviceIDs(CL_DEVICE_TYPE_ALL)} order
 * @param platformName {@code CL_PLATFORM_NAME}
 * @param name {@code CL_DEVICE_NAME}
 * @param vendor {@code CL_DEVICE_VENDOR}
 * @param type GPU, CPU, ACCELERATOR, CUSTOM or DEFAULT
 * @param version {@code CL_DEVICE_VERSION}, e.g. {@code OpenCL 3.0 PoCL ...}
 * @param driverVersion {@code CL_DRIVER_VERSION}
 * @param computeUnits {@code CL_DEVICE_MAX_COMPUTE_UNITS}
 * @param globalMemoryBytes {@code CL_DEVICE_GLOBAL_MEM_SIZE}
 * @param localMemoryBytes {@code CL_DEVICE_LOCAL_MEM_SIZE}
 * @param maxWorkGroupSize {@code CL_DEVICE_MAX_WORK_GROUP_SIZE}
 * @param fp64 whether it has {@code cl_khr_fp64}, so the backend computes in F64 there too
 * @param usable whether the backend can run on it (OpenCL 1.2 or later)
 * @param selected whether {@code based4j.opencl.device} (or the default rule) selects it
 */
public record OpenClDevice(int platformIndex, int deviceIndex, String platformName, String name, String vendor,
        String type, String version, String driverVersion, int computeUnits, long globalMemoryBytes,
        long localMemoryBytes, long maxWorkGroupSize, boolean fp64, boolean usable, boolean selected) {

    /** @return {@code platform:device}, the form {@code based4j.opencl.device} accepts */
    public String id() {
        return platformIndex + ":" + deviceIndex;
    }

    /** @return the device in one line, as the backend's {@code device()} and {@code based4j info} show it */
    public String describe() {
        return String.format(Locale.ROOT, "%s %s (%s, %s, %s, %d compute units, %.1f GiB%s)", id(), name, type,
                version, platformName, computeUnits, globalMemoryBytes / (1024.0 * 1024 * 1024),
                fp64 ? ", fp64" : "");
    }

    /** @return {@link #describe()}, marked when selected or too old; the line {@code based4j info} prints */
    @Override
    public String toString() {
        return describe() + (selected ? " [selected]" : "") + (usable ? "" : " [unusable: needs OpenCL 1.2]");
    }

    /** @return a copy with {@code selected} set */
    OpenClDevice withSelected(boolean value) {
        return new OpenClDevice(platformIndex, deviceIndex, platformName, name, vendor, type, version, driverVersion,
                computeUnits, globalMemoryBytes, localMemoryBytes, maxWorkGroupSize, fp64, usable, value);
    }
}
