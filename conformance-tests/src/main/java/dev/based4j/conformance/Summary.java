package dev.based4j.conformance;

import java.util.Collection;

/**
 * Counts of a conformance run.
 *
 * @param passed cases that passed
 * @param failed cases that failed
 * @param skipped cases that were skipped
 */
public record Summary(int passed, int failed, int skipped) {
    /** @return the counts of {@code rows} */
    public static Summary of(Collection<ResultRow> rows) {
        int p = 0;
        int f = 0;
        int s = 0;
        for (ResultRow r : rows) {
            switch (r.verdict()) {
                case PASS -> p++;
                case FAIL -> f++;
                case SKIP -> s++;
            }
        }
        return new Summary(p, f, s);
    }

    /** @return whether nothing failed */
    public boolean ok() {
        return failed == 0;
    }

    /** @return {@code N passed, N failed}, with {@code , N skipped} when any were skipped */
    public String line() {
        return passed + " passed, " + failed + " failed" + (skipped > 0 ? ", " + skipped + " skipped" : "");
    }
}
