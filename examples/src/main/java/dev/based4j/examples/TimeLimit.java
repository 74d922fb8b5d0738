package dev.based4j.examples;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * The {@code --time-limit} option of the long commands (a picocli mixin): the run stops at its next step once the
 * limit has passed, prints what it finished and exits with status 124.
 */
final class TimeLimit {
    /** The longest limit accepted. */
    static final Duration MAX = Duration.ofDays(365);

    @Option(names = "--time-limit", paramLabel = "DURATION", converter = Converter.class,
            description = "Stop after this long, e.g. 90s, 10m, 2h or PT1H30M; what was finished is printed and the "
                    + "exit status is 124 (default: no limit; Ctrl-C stops any run, status 130).")
    Duration limit;

    /** Starts the limit, if one was given, on {@code control}. */
    void applyTo(RunControl control) {
        if (limit != null) {
            control.limitTime(limit, Converter.text(limit));
        }
    }

    /** Parses durations: a number with {@code ms}, {@code s}, {@code m}, {@code h} or {@code d}, or ISO-8601. */
    static final class Converter implements CommandLine.ITypeConverter<Duration> {
        private static final Pattern SIMPLE = Pattern.compile("(\\d{1,9})\\s*(ms|s|m|h|d)");

        @Override
        public Duration convert(String value) {
            String v = value.strip().toLowerCase(Locale.ROOT);
            Duration d = null;
            Matcher m = SIMPLE.matcher(v);
            if (m.matches()) {
                long n = Long.parseLong(m.group(1));
                d = switch (m.group(2)) {
                    case "ms" -> Duration.ofMillis(n);
                    case "s" -> Duration.ofSeconds(n);
                    case "m" -> Duration.ofMinutes(n);
                    case "h" -> Duration.ofHours(n);
                    default -> Duration.ofDays(n);
                };
            } else if (v.startsWith("p")) {
                try {
                    d = Duration.parse(v.toUpperCase(Locale.ROOT));
                } catch (DateTimeParseException e) {
                    d = null;
                }
            }
            if (d == null) {
                throw new CommandLine.TypeConversionException("expected a duration such as 90s, 10m, 2h or "
                        + "PT1H30M, got '" + value + "'");
            }
            if (d.isNegative() || d.isZero() || d.compareTo(MAX) > 0) {
                throw new CommandLine.TypeConversionException("expected a duration above 0 and at most 365 days, "
                        + "got '" + value + "'");
            }
            return d;
        }

        /** @return a duration as the user would write it */
        static String text(Duration d) {
            if (d.toMillis() % 1000 != 0 || d.toMillis() < 1000) {
                return d.toMillis() + "ms";
            }
            long s = d.toSeconds();
            if (s % 3600 == 0) {
                return s / 3600 + "h";
            }
            return s % 60 == 0 ? s / 60 + "m" : s + "s";
        }
    }
}
