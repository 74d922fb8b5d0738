package dev.based4j.opencl;

import dev.based4j.Settings;
import dev.based4j.opencl.runtime.ClLibrary;
import dev.based4j.Availability;
import dev.based4j.Backend;
import dev.based4j.spi.BackendProvider;
import dev.based4j.tensor.DType;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The OpenCL backend's entry point, found by {@link java.util.ServiceLoader}. Constructing it loads nothing;
 * {@link #probe()} loads LWJGL and the OpenCL ICD loader, lists the devices and applies
 * {@link Settings#OPENCL_DEVICE}.
 */
public final class OpenClBackendProvider implements BackendProvider {
    /** The name users select it by. */
    public static final String NAME = "opencl";

    private static final String DRIVER_FIX = "apt-get install pocl-opencl-icd (OpenCL on the CPU), or install your GPU"
            + " vendor's OpenCL driver (its ICD registers itself in /etc/OpenCL/vendors)";
    private static final String DEVICE_FIX = "set " + Settings.OPENCL_DEVICE.property() + " (environment variable "
            + Settings.OPENCL_DEVICE.environment() + ") to P:D or a substring of a device name listed by"
            + " 'based4j info', or leave it empty for the first GPU, else the first device";

    /** Public for {@link java.util.ServiceLoader}; cheap. */
    public OpenClBackendProvider() {}

    @Override
    public String name() {
        return NAME;
    }

    /**
     * Below the pure-Java CPU backend when nothing is named: which OpenCL device would run cannot be known
     * without loading native code, and on PoCL (OpenCL on the same CPU) the Java backend is the better default.
     */
    @Override
    public int priority() {
        return 50;
    }

    @Override
    public String description() {
        return "OpenCL C kernels through LWJGL " + lwjglVersion() + " (any OpenCL 1.2+ device; PoCL on the CPU)";
    }

    private static String lwjglVersion() {
        return org.lwjgl.Version.class.getModule().getDescriptor() == null ? "3.4"
                : org.lwjgl.Version.class.getModule().getDescriptor().rawVersion().orElse("3.4");
    }

    @Override
    public Availability probe() {
        try {
            Selected s = select();
            if (s.handle() == null) {
                return Availability.unusable(s.reason(), s.fix());
            }
            OpenClDevice d = s.handle().info();
            Set<DType> precisions = d.fp64() ? EnumSet.of(DType.F32, DType.F64) : EnumSet.of(DType.F32);
            return Availability.usable(d.describe(), precisions);
        } catch (RuntimeException | LinkageError e) {
            return Availability.unusable("probing OpenCL failed: " + e, "report this as a bug of backend opencl");
        }
    }

    @Override
    public Backend create() {
        Selected s = select();
        if (s.handle() == null) {
            throw new IllegalStateException("backend opencl cannot run here: " + s.reason() + "; fix: " + s.fix());
        }
        return new OpenClBackend(s.handle());
    }

    /**
     * Every OpenCL device of every platform, with the one {@link Settings#OPENCL_DEVICE} selects marked, for
     * {@code based4j info}. Never throws.
     *
     * @return the devices, empty when OpenCL cannot be loaded or has none (then {@link #probe()} says why)
     */
    public static List<OpenClDevice> listDevices() {
        try {
            if (!ClLibrary.load().loaded()) {
                return List.of();
            }
            ClDevices.Enumeration all = ClDevices.enumerate();
            return ClDevices.mark(all.devices(), ClDevices.select(all.devices(), Settings.OPENCL_DEVICE.value()));
        } catch (RuntimeException | LinkageError e) {
            return List.of();
        }
    }

    private record Selected(ClDevices.Handle handle, String reason, String fix) {}

    private static Selected select() {
        ClLibrary.Status lib = ClLibrary.load();
        if (!lib.loaded()) {
            return new Selected(null, lib.reason(), lib.fix());
        }
        ClDevices.Enumeration all = ClDevices.enumerate();
        if (all.devices().isEmpty()) {
            return new Selected(null, all.problem(), DRIVER_FIX);
        }
        ClDevices.Selection sel = ClDevices.select(all.devices(), Settings.OPENCL_DEVICE.value());
        if (sel.handle() == null) {
            return new Selected(null, sel.problem(), DEVICE_FIX);
        }
        return new Selected(sel.handle(), "", "");
    }
}
