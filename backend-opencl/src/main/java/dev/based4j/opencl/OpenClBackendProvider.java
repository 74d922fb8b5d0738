package dev.based4j.opencl;

import dev.based4j.Availability;
import dev.based4j.Setting;
import dev.based4j.opencl.runtime.ClLibrary;
import dev.based4j.opencl.runtime.JvmSignalHandlers;
import dev.based4j.spi.BackendProvider;
import dev.based4j.spi.Engine;
import dev.based4j.tensor.DType;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The OpenCL backend's entry point, found by {@link java.util.ServiceLoader}: name {@code opencl}, priority
 * {@value #PRIORITY}. Constructing it loads nothing. {@link #probe()} first checks {@link OpenClSettings#DEVICE}
 * (a malformed value is reported without loading anything), then loads LWJGL and the OpenCL ICD loader (after
 * keeping PoCL's signal handlers out of the process, see {@link dev.based4j.opencl.runtime.DriverEnvironment}),
 * lists the devices and applies the setting.
 */
public final class OpenClBackendProvider implements BackendProvider {
    /** The name users select it by. */
    public static final String NAME = "opencl";

    /**
     * Below the pure-Java CPU backend (100) when nothing is named: which OpenCL device would run cannot be known
     * without loading native code, and on PoCL (OpenCL on the same CPU) the Java backend is the better default.
     */
    public static final int PRIORITY = 50;

    private static final String DRIVER_FIX = "apt-get install pocl-opencl-icd (OpenCL on the CPU), or install your GPU"
            + " vendor's OpenCL driver (its ICD registers itself in /etc/OpenCL/vendors)";

    /** Public for {@link java.util.ServiceLoader}; cheap. */
    public OpenClBackendProvider() {}

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int priority() {
        return PRIORITY;
    }

    @Override
    public String description() {
        return "OpenCL C kernels through LWJGL " + lwjglVersion() + " (any OpenCL 1.2+ device; PoCL on the CPU)";
    }

    private static String lwjglVersion() {
        try {
            var descriptor = org.lwjgl.Version.class.getModule().getDescriptor();
            return descriptor == null ? "3.4" : descriptor.rawVersion().orElse("3.4");
        } catch (LinkageError e) {
            return "3.4 (not on the class path)";
        }
    }

    @Override
    public List<Setting> settings() {
        return OpenClSettings.all();
    }

    @Override
    public Availability probe() {
        try {
            Selected s = select();
            if (s.handle() == null) {
                return s.misconfigured() ? Availability.misconfigured(s.reason(), s.fix())
                        : Availability.unusable(s.reason(), s.fix());
            }
            OpenClDevice d = s.handle().info();
            Set<DType> precisions = d.fp64() ? EnumSet.of(DType.F32, DType.F64) : EnumSet.of(DType.F32);
            return Availability.usable(d.describe(), precisions);
        } catch (RuntimeException | LinkageError e) {
            return Availability.unusable("probing OpenCL failed: " + e, "report this as a bug of backend opencl");
        }
    }

    /**
     * Creates the engine on the device {@link OpenClSettings#DEVICE} selects: one context and one in-order queue.
     *
     * @throws IllegalStateException with the probe's reason and fix when no device can be used
     * @throws OpenClException when OpenCL refuses to create the context or its queue
     */
    @Override
    public Engine<?> create() {
        Selected s = select();
        if (s.handle() == null) {
            throw new IllegalStateException("backend opencl cannot run here: " + s.reason() + "; fix: " + s.fix());
        }
        return OpenClEngine.create(s.handle());
    }

    /** @return {@link #listDevices()}, one line each, for {@code based4j info} */
    @Override
    public List<String> devices() {
        return listDevices().stream().map(Object::toString).toList();
    }

    /**
     * Every OpenCL device of every platform, with the one {@link OpenClSettings#DEVICE} selects marked, for
     * {@code based4j info}. Never throws. Loads OpenCL (as {@link #probe()} does) when the setting is well formed.
     *
     * @return the devices, empty when OpenCL cannot be loaded or has none, or the setting is malformed (then
     *     {@link #probe()} says why)
     */
    public static List<OpenClDevice> listDevices() {
        try {
            OpenClSettings.DeviceChoice choice = OpenClSettings.device();
            if (!ClLibrary.load().loaded()) {
                return List.of();
            }
            ClDevices.Enumeration all = enumerate();
            return ClDevices.mark(all.devices(), ClDevices.select(all.devices(), choice));
        } catch (RuntimeException | LinkageError e) {
            return List.of();
        }
    }

    /** Lists the devices; a driver that initialises its compiler then does not keep its signal handlers. */
    private static ClDevices.Enumeration enumerate() {
        try {
            return ClDevices.enumerate();
        } finally {
            JvmSignalHandlers.restore("device enumeration");
        }
    }

    private record Selected(ClDevices.Handle handle, String reason, String fix, boolean misconfigured) {
        static Selected unusable(String reason, String fix) {
            return new Selected(null, reason, fix, false);
        }
    }

    private static Selected select() {
        OpenClSettings.DeviceChoice choice;
        try {
            // before any native library: a malformed setting must not cost a driver load
            choice = OpenClSettings.device();
        } catch (IllegalArgumentException e) {
            return new Selected(null, e.getMessage(), OpenClSettings.DEVICE_FIX, true);
        }
        ClLibrary.Status lib = ClLibrary.load();
        if (!lib.loaded()) {
            return Selected.unusable(lib.reason(), lib.fix());
        }
        ClDevices.Enumeration all = enumerate();
        if (all.devices().isEmpty()) {
            return Selected.unusable(all.problem(), DRIVER_FIX);
        }
        ClDevices.Selection sel = ClDevices.select(all.devices(), choice);
        if (sel.handle() == null) {
            return Selected.unusable(sel.problem(), OpenClSettings.DEVICE_FIX);
        }
        return new Selected(sel.handle(), "", "", false);
    }
}
