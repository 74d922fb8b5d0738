/** The based4j command line. Backends are found at run time through {@link java.util.ServiceLoader}. */
module dev.based4j.examples {
    requires dev.based4j.api;
    requires info.picocli;

    opens dev.based4j.examples to info.picocli;
    exports dev.based4j.examples;

    uses dev.based4j.spi.BackendProvider;
}
