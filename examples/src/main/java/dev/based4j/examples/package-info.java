/** The {@code based4j} command line: {@link dev.based4j.examples.Based4j} and its subcommands. */
package dev.based4j.examples;
