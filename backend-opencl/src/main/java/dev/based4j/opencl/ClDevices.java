package dev.based4j.opencl;

import static org.lwjgl.opencl.CL10.*;

import dev.based4j.opencl.runtime.ClCheck;
import java.nio.ByteBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.system.MemoryUtil;

/** Enumerates OpenCL platforms and devices and applies {@link OpenClSettings#DEVICE}. */
final class ClDevices {
    private ClDevices() {}

    /** {@code CL_PLATFORM_NOT_FOUND_KHR}: the ICD loader found no installable client driver. */
    static final int CL_PLATFORM_NOT_FOUND_KHR = -1001;

    private static final Pattern VERSION = Pattern.compile("OpenCL (\\d+)\\.(\\d+)");

    /** A device with its handles. */
    record Handle(long platform, long device, OpenClDevice info) {}

    /** The platforms found: their devices, or why there are none. */
    record Enumeration(List<Handle> devices, int platformCount, String problem) {}

    /** Lists every device of every platform; the ICD loader must be loaded. */
    static Enumeration enumerate() {
        List<Handle> out = new ArrayList<>();
        long[] platforms;
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer count = stack.mallocInt(1);
            int err = clGetPlatformIDs(null, count);
            if (err == CL_PLATFORM_NOT_FOUND_KHR || (err == CL_SUCCESS && count.get(0) == 0)) {
                return new Enumeration(List.of(), 0, "no OpenCL platform: the ICD loader found no driver (nothing usable in"
                        + " /etc/OpenCL/vendors)");
            }
            ClCheck.check(err, "clGetPlatformIDs");
            PointerBuffer ids = stack.mallocPointer(count.get(0));
            ClCheck.check(clGetPlatformIDs(ids, (IntBuffer) null), "clGetPlatformIDs");
            platforms = new long[count.get(0)];
            for (int i = 0; i < platforms.length; i++) {
                platforms[i] = ids.get(i);
            }
        }
        for (int p = 0; p < platforms.length; p++) {
            String platformName = platformString(platforms[p], CL_PLATFORM_NAME);
            long[] devices = deviceIds(platforms[p]);
            for (int d = 0; d < devices.length; d++) {
                out.add(new Handle(platforms[p], devices[d], describe(p, d, platformName, devices[d])));
            }
        }
        return new Enumeration(out, platforms.length,
                out.isEmpty() ? "no OpenCL device on " + platforms.length + " platform(s)" : "");
    }

    private static long[] deviceIds(long platform) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer count = stack.mallocInt(1);
            int err = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, null, count);
            if (err == CL_DEVICE_NOT_FOUND) {
                return new long[0];
            }
            ClCheck.check(err, "clGetDeviceIDs");
            PointerBuffer ids = stack.mallocPointer(count.get(0));
            ClCheck.check(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, ids, (IntBuffer) null), "clGetDeviceIDs");
            long[] out = new long[count.get(0)];
            for (int i = 0; i < out.length; i++) {
                out[i] = ids.get(i);
            }
            return out;
        }
    }

    private static OpenClDevice describe(int p, int d, String platformName, long device) {
        String version = deviceString(device, CL_DEVICE_VERSION);
        String extensions = deviceString(device, CL_DEVICE_EXTENSIONS);
        long type = deviceLong(device, CL_DEVICE_TYPE);
        Matcher m = VERSION.matcher(version);
        // compared as text lengths and digits: a driver's version string is not trusted to fit an int
        boolean usable = m.find() && atLeast12(m.group(1), m.group(2));
        return new OpenClDevice(p, d, platformName, deviceString(device, CL_DEVICE_NAME),
                deviceString(device, CL_DEVICE_VENDOR), typeName(type), version, deviceString(device, CL_DRIVER_VERSION),
                deviceInt(device, CL_DEVICE_MAX_COMPUTE_UNITS), deviceLong(device, CL_DEVICE_GLOBAL_MEM_SIZE),
                deviceLong(device, CL_DEVICE_LOCAL_MEM_SIZE), devicePointer(device, CL_DEVICE_MAX_WORK_GROUP_SIZE),
                extensions.contains("cl_khr_fp64"), usable, false);
    }

    private static boolean atLeast12(String major, String minor) {
        String ma = major.replaceFirst("^0+(?=.)", "");
        String mi = minor.replaceFirst("^0+(?=.)", "");
        if (ma.length() > 1 || ma.charAt(0) > '1') {
            return true;
        }
        return ma.equals("1") && (mi.length() > 1 || mi.charAt(0) >= '2');
    }

    private static String typeName(long type) {
        if ((type & CL_DEVICE_TYPE_GPU) != 0) {
            return "GPU";
        }
        if ((type & CL_DEVICE_TYPE_CPU) != 0) {
            return "CPU";
        }
        if ((type & CL_DEVICE_TYPE_ACCELERATOR) != 0) {
            return "ACCELERATOR";
        }
        return (type & 0x10) != 0 ? "CUSTOM" : "DEFAULT";
    }

    /** The selection rule's result: a device, or why none. */
    record Selection(Handle handle, String problem) {}

    /**
     * Applies {@code setting} (parsed as {@link OpenClSettings#DEVICE}).
     *
     * @throws IllegalArgumentException when {@code setting} is malformed
     */
    static Selection select(List<Handle> devices, String setting) {
        return select(devices, OpenClSettings.parse(setting));
    }

    /**
     * Applies {@code choice}: the default = the first GPU, else the first usable device; {@code P:D} = platform P,
     * device D; a name = the first device whose name (or platform name) contains it, ignoring case.
     */
    static Selection select(List<Handle> devices, OpenClSettings.DeviceChoice choice) {
        String all = devices.stream().map(h -> h.info().id() + " " + h.info().name()).toList().toString();
        Handle found = switch (choice) {
            case OpenClSettings.DeviceChoice.Default d -> {
                Handle gpu = devices.stream().filter(h -> h.info().usable() && h.info().type().equals("GPU"))
                        .findFirst().orElse(null);
                Handle any = devices.stream().filter(h -> h.info().usable()).findFirst().orElse(null);
                yield gpu != null ? gpu : any;
            }
            case OpenClSettings.DeviceChoice.Index i -> devices.stream()
                    .filter(h -> h.info().platformIndex() == i.platform() && h.info().deviceIndex() == i.device())
                    .findFirst().orElse(null);
            case OpenClSettings.DeviceChoice.Name n -> devices.stream()
                    .filter(h -> h.info().name().toLowerCase(Locale.ROOT).contains(n.lowerCase())
                            || h.info().platformName().toLowerCase(Locale.ROOT).contains(n.lowerCase()))
                    .findFirst().orElse(null);
        };
        if (found == null) {
            return new Selection(null, choice instanceof OpenClSettings.DeviceChoice.Default
                    ? "no OpenCL 1.2+ device; devices: " + all
                    : OpenClSettings.DEVICE.property() + "='" + choice.text() + "' matches no OpenCL device; devices: "
                            + all);
        }
        if (!found.info().usable()) {
            return new Selection(null, "OpenCL device " + found.info().id() + " " + found.info().name()
                    + " supports only " + found.info().version() + "; based4j needs OpenCL 1.2 or later");
        }
        return new Selection(found, "");
    }

    /** @return the devices with {@code selected} set according to {@code selection} */
    static List<OpenClDevice> mark(List<Handle> devices, Selection selection) {
        return devices.stream().map(h -> h.info().withSelected(selection.handle() == h)).toList();
    }

    static String platformString(long platform, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            ClCheck.check(clGetPlatformInfo(platform, param, (ByteBuffer) null, size), "clGetPlatformInfo");
            ByteBuffer buf = MemoryUtil.memAlloc((int) size.get(0));
            try {
                ClCheck.check(clGetPlatformInfo(platform, param, buf, null), "clGetPlatformInfo");
                return MemoryUtil.memUTF8(buf, Math.max(0, (int) size.get(0) - 1)).strip();
            } finally {
                MemoryUtil.memFree(buf);
            }
        }
    }

    static String deviceString(long device, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            ClCheck.check(clGetDeviceInfo(device, param, (ByteBuffer) null, size), "clGetDeviceInfo");
            ByteBuffer buf = MemoryUtil.memAlloc((int) size.get(0));
            try {
                ClCheck.check(clGetDeviceInfo(device, param, buf, null), "clGetDeviceInfo");
                return MemoryUtil.memUTF8(buf, Math.max(0, (int) size.get(0) - 1)).strip();
            } finally {
                MemoryUtil.memFree(buf);
            }
        }
    }

    static long deviceLong(long device, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            LongBuffer value = stack.mallocLong(1);
            ClCheck.check(clGetDeviceInfo(device, param, value, null), "clGetDeviceInfo");
            return value.get(0);
        }
    }

    static int deviceInt(long device, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer value = stack.mallocInt(1);
            ClCheck.check(clGetDeviceInfo(device, param, value, null), "clGetDeviceInfo");
            return value.get(0);
        }
    }

    static long devicePointer(long device, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer value = stack.mallocPointer(1);
            ClCheck.check(clGetDeviceInfo(device, param, value, null), "clGetDeviceInfo");
            return value.get(0);
        }
    }
}
