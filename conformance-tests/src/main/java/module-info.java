/**
 * The based4j conformance suite: a catalogue of checks of every kernel family, layer and state against the
 * float64 reference, a golden-vector runner for any folder in the golden format, the abstract JUnit 5 kit
 * {@link dev.based4j.conformance.BackendConformanceKit} and the programmatic
 * {@link dev.based4j.conformance.ConformanceRunner}.
 */
module dev.based4j.conformance {
    requires transitive dev.based4j.api;
    requires transitive org.junit.jupiter.api;
    requires org.assertj.core;
    requires com.fasterxml.jackson.databind;
    // the JUnit XML report of the conformance runner
    requires java.xml;

    exports dev.based4j.conformance;
    exports dev.based4j.conformance.hardening;
    // JUnit discovers the kit's nested test classes and factories by reflection, also from subclasses elsewhere
    opens dev.based4j.conformance;
    opens dev.based4j.conformance.hardening;

    // whole-model runners of golden tiny_lm cases beyond the kit's own LayerStackGoldenRunner (the command line adds
    // one through the model module)
    uses dev.based4j.conformance.GoldenModelRunner;
}
