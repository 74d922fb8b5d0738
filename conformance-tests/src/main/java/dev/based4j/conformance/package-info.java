/**
 * The conformance suite. One source of checks, two drivers:
 *
 * <ul>
 *   <li>{@link dev.based4j.conformance.Catalogue}: every {@link dev.based4j.conformance.ConformanceCase}, each a
 *       seeded check of one kernel family, layer, state round trip or bad-input rule against the float64
 *       {@link dev.based4j.reference.Reference}, plus the bundled golden cases read by
 *       {@link dev.based4j.conformance.GoldenSet};</li>
 *   <li>{@link dev.based4j.conformance.BackendConformanceKit}: the abstract JUnit 5 kit a backend extends in one
 *       line ({@code createBackend()}), one {@code @Nested} class per family;</li>
 *   <li>{@link dev.based4j.conformance.ConformanceRunner}: the same cases run programmatically (the
 *       {@code based4j conformance} command), returning one {@link dev.based4j.conformance.ResultRow} per case.</li>
 * </ul>
 *
 * A case whose operation, precision or feature map the backend's {@link dev.based4j.Capabilities} leave out is
 * reported skipped with the reason, never passed. Relative error is {@code max|out − ref| / max(1, max|ref|)};
 * tolerances are those of {@code sdk-conventions.md} ({@link dev.based4j.conformance.Tolerances}).
 */
package dev.based4j.conformance;
