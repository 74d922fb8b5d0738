package dev.based4j;

import java.util.Locale;
import java.util.Optional;

/**
 * One setting of based4j or of a backend: read from its system property first, then its environment variable, else
 * its default. Each module declares its own (the CPU backend its threads, OpenCL its device, a plugin whatever it
 * needs) and lists them through its provider, so {@code based4j info} shows them per backend; code reads settings
 * only through these objects.
 *
 * @param property the system property ({@code based4j.cpu.threads})
 * @param environment the environment variable ({@code BASED4J_CPU_THREADS})
 * @param defaultValue the value when neither is set (may be empty)
 * @param description one sentence: what it does and what the values mean
 */
public record Setting(String property, String environment, String defaultValue, String description) {
    /**
     * Validates.
     *
     * @throws IllegalArgumentException naming the field that is null or blank
     */
    public Setting {
        if (property == null || property.isBlank()) {
            throw new IllegalArgumentException("property: expected a system property name, got " + property);
        }
        if (environment == null || environment.isBlank()) {
            throw new IllegalArgumentException("environment: expected an environment variable name, got "
                    + environment);
        }
        if (defaultValue == null) {
            throw new IllegalArgumentException("defaultValue: expected a value (empty text for none), got null");
        }
        if (description == null || description.isBlank()) {
            throw new IllegalArgumentException("description: expected one sentence, got " + description);
        }
    }

    /** @return the configured value, or empty when neither the property nor the variable is set */
    public Optional<String> configured() {
        String p = System.getProperty(property);
        if (p != null && !p.isBlank()) {
            return Optional.of(p.strip());
        }
        String e = System.getenv(environment);
        if (e != null && !e.isBlank()) {
            return Optional.of(e.strip());
        }
        return Optional.empty();
    }

    /** @return the configured value or the default (may be empty text) */
    public String value() {
        return configured().orElse(defaultValue);
    }

    /** @return where the value comes from, for messages: {@code based4j.cpu.threads (BASED4J_CPU_THREADS)} */
    public String names() {
        return property + " (" + environment + ")";
    }

    /**
     * @return the value as an int in {@code [min, max]}
     * @throws IllegalArgumentException naming the setting, the value and the range when it is not such an integer
     */
    public int intValue(int min, int max) {
        String v = value();
        int n;
        try {
            n = Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(names() + ": expected an integer in " + min + ".." + max + ", got '"
                    + v + "'");
        }
        if (n < min || n > max) {
            throw new IllegalArgumentException(names() + ": expected an integer in " + min + ".." + max + ", got "
                    + n);
        }
        return n;
    }

    /**
     * @return the value as a boolean ({@code true/false/1/0/yes/no/on/off}; empty is false)
     * @throws IllegalArgumentException naming the setting when it is none of these
     */
    public boolean booleanValue() {
        String v = value().toLowerCase(Locale.ROOT);
        return switch (v) {
            case "true", "1", "yes", "on" -> true;
            case "false", "0", "no", "off", "" -> false;
            default -> throw new IllegalArgumentException(names() + ": expected true or false, got '" + v + "'");
        };
    }
}
