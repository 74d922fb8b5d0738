package dev.based4j.examples;

import dev.based4j.spi.BackendProvider;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;

/**
 * Extra lines for {@code based4j info} from providers that can list their devices. A provider offers them with
 * a public static {@code List<?> listDevices()} method whose elements print themselves; looked up reflectively so
 * the command line does not depend on any backend at compile time.
 */
final class DeviceListings {
    private DeviceListings() {}

    static List<String> describe(BackendProvider provider) {
        List<String> lines = new ArrayList<>();
        try {
            Method m = provider.getClass().getMethod("listDevices");
            Object result = m.invoke(null);
            if (result instanceof List<?> devices) {
                for (Object d : devices) {
                    lines.add("device:     " + d);
                }
            }
        } catch (NoSuchMethodException e) {
            // this provider has no device listing
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            lines.add("devices:    could not be listed (" + e + ")");
        }
        return lines;
    }
}
