/** Guice 7 integration of based4j: {@link dev.based4j.guice.BasedModule}. */
module dev.based4j.guice {
    requires transitive dev.based4j.api;
    requires transitive com.google.guice;
    requires jakarta.inject;

    exports dev.based4j.guice;
    opens dev.based4j.guice to com.google.guice;

    uses dev.based4j.spi.BackendProvider;
}
