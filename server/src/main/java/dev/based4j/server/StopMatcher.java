package dev.based4j.server;

import java.util.List;

/**
 * Finds stop strings in text that arrives piece by piece. Text that might be the beginning of a stop string is
 * held back until the next piece decides; the stop string itself and everything after it are never released.
 */
final class StopMatcher {
    private final List<String> stops;
    private final StringBuilder held = new StringBuilder();
    private boolean stopped;

    /** @param stops non-empty strings; may be empty (then text passes through) */
    StopMatcher(List<String> stops) {
        this.stops = List.copyOf(stops);
    }

    /** @return the text that may be released now; after a stop string, nothing more */
    String push(String piece) {
        if (stopped) {
            return "";
        }
        if (stops.isEmpty()) {
            return piece;
        }
        held.append(piece);
        int first = -1;
        for (String s : stops) {
            int i = held.indexOf(s);
            if (i >= 0 && (first < 0 || i < first)) {
                first = i;
            }
        }
        if (first >= 0) {
            stopped = true;
            String out = held.substring(0, first);
            held.setLength(0);
            return out;
        }
        int keep = 0;
        for (String s : stops) {
            for (int k = Math.min(s.length() - 1, held.length()); k > keep; k--) {
                if (held.toString().regionMatches(held.length() - k, s, 0, k)) {
                    keep = k;
                    break;
                }
            }
        }
        String out = held.substring(0, held.length() - keep);
        held.delete(0, held.length() - keep);
        return out;
    }

    /** @return whether a stop string was found */
    boolean stopped() {
        return stopped;
    }

    /** @return the text still held back, at the end of the generation (it turned out to be no stop string) */
    String flush() {
        String out = stopped ? "" : held.toString();
        held.setLength(0);
        return out;
    }
}
