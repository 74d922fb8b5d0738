/** Guice 7 integration: {@link dev.based4j.guice.BasedModule} binds the configured backend. */
package dev.based4j.guice;
