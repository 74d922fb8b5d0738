package dev.based4j.opencl;

import dev.based4j.Setting;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The settings of the OpenCL backend, listed by {@code based4j info} under {@code opencl}. */
public final class OpenClSettings {
    private OpenClSettings() {}

    /** Which OpenCL device the backend runs on. */
    public static final Setting DEVICE = new Setting("based4j.opencl.device", "BASED4J_OPENCL_DEVICE", "",
            "OpenCL device: 'P:D' (platform and device index, from 0, as 'based4j info' lists them) or a"
                    + " case-insensitive substring of the device or platform name; empty = first GPU, else first"
                    + " device.");

    /** What to do about a device setting that is malformed or matches no device. */
    static final String DEVICE_FIX = "set " + DEVICE.names() + " to P:D (platform and device index as 'based4j info'"
            + " lists them, e.g. 0:0) or to a substring of a device name, or leave it empty for the first GPU, else"
            + " the first device";

    /** {@code P:D} exactly. */
    private static final Pattern INDEX = Pattern.compile("(\\d+):(\\d+)");
    /** What a user who meant {@code P:D} may have typed: signs, spaces or a missing side around one colon. */
    private static final Pattern INDEX_LIKE = Pattern.compile("[+-]?\\d*\\s*:\\s*[+-]?\\d*");

    /** @return every setting of the OpenCL backend */
    public static List<Setting> all() {
        return List.of(DEVICE);
    }

    /**
     * The device setting, parsed without touching OpenCL (so that a malformed value is reported before any native
     * library is loaded).
     *
     * @return the choice {@link #DEVICE} makes
     * @throws IllegalArgumentException naming the setting, the value and what is expected, when the value looks like
     *     {@code P:D} but is not two indexes in {@code 0..2147483647}
     */
    static DeviceChoice device() {
        return parse(DEVICE.value());
    }

    /**
     * @return the choice {@code value} makes (see {@link #DEVICE})
     * @throws IllegalArgumentException as {@link #device()}
     */
    static DeviceChoice parse(String value) {
        String v = value == null ? "" : value.strip();
        if (v.isEmpty()) {
            return new DeviceChoice.Default();
        }
        Matcher m = INDEX.matcher(v);
        if (m.matches()) {
            try {
                return new DeviceChoice.Index(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), v);
            } catch (NumberFormatException tooLarge) {
                throw malformed(v);
            }
        }
        if (INDEX_LIKE.matcher(v).matches() && v.chars().anyMatch(Character::isDigit)) {
            throw malformed(v);
        }
        return new DeviceChoice.Name(v.toLowerCase(Locale.ROOT), v);
    }

    private static IllegalArgumentException malformed(String v) {
        return new IllegalArgumentException(DEVICE.names() + ": expected P:D with a platform and a device index in 0.."
                + Integer.MAX_VALUE + " (as 'based4j info' lists them), or a substring of a device name, got '" + v
                + "'");
    }

    /** What {@link #DEVICE} asks for. */
    sealed interface DeviceChoice {
        /** @return the setting's text, for messages (empty for the default) */
        String text();

        /** Nothing set: the first GPU, else the first usable device. */
        record Default() implements DeviceChoice {
            @Override
            public String text() {
                return "";
            }
        }

        /** Platform {@code platform}, device {@code device}, in enumeration order. */
        record Index(int platform, int device, String text) implements DeviceChoice {}

        /** The first device whose name or platform name contains {@code lowerCase}. */
        record Name(String lowerCase, String text) implements DeviceChoice {}
    }
}
